/*
 * cidr: strict IPv4 text, networks and membership.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cidr.h"

static void
ipv4_parse_accepts_dotted_quads(void **state)
{
	static const struct {
		const char *s;
		uint32_t want;
	} ok[] = {
	    {"0.0.0.0", 0x00000000u},
	    {"127.0.0.1", 0x7f000001u},
	    {"10.1.2.3", 0x0a010203u},
	    {"255.255.255.255", 0xffffffffu},
	    {"192.168.100.9", 0xc0a86409u},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint32_t a = 0xdeadbeefu;

		if (sgw_ipv4_parse(ok[i].s, &a) != 0 || a != ok[i].want)
			fail_msg("\"%s\": got %#x", ok[i].s, (unsigned)a);
	}
}

/*
 * Among them, forms that inet_aton(3) reads differently from everyone
 * else: "010.0.0.1" is octal 8.0.0.1 to it, "2130706433" is 127.0.0.1.
 */
static void
ipv4_parse_refuses_anything_else(void **state)
{
	static const char *const bad[] = {
	    "",
	    "1.2.3",
	    "1.2.3.4.5",
	    "1.2.3.",
	    ".1.2.3",
	    "1..2.3",
	    "256.0.0.1",
	    "1.2.3.256",
	    "1.2.3.1000",
	    "+1.2.3.4",
	    "1.+2.3.4",
	    "-1.2.3.4",
	    "1.2.3.4 ",
	    " 1.2.3.4",
	    "1.2.3.4/32",
	    "1.2.3.4:80",
	    "0x7f.0.0.1",
	    "010.0.0.1",
	    "1.2.3.04",
	    "0000.0.0.1",
	    "::1",
	    "::ffff:127.0.0.1",
	    "2130706433",
	    "127.1",
	    "a.b.c.d",
	};
	uint32_t a = 0;
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (sgw_ipv4_parse(bad[i], &a) != -1)
			fail_msg("\"%s\" accepted", bad[i]);
	}
	assert_int_equal(sgw_ipv4_parse(NULL, &a), -1);
	assert_int_equal(sgw_ipv4_parse("1.2.3.4", NULL), -1);
}

static void
cidr_parse_masks_the_address(void **state)
{
	struct sgw_cidr c;
	(void)state;

	assert_int_equal(sgw_cidr_parse("10.1.2.3/8", &c), 0);
	assert_int_equal(c.addr, 0x0a000000u);
	assert_int_equal(c.mask, 0xff000000u);

	assert_int_equal(sgw_cidr_parse("192.168.1.77/26", &c), 0);
	assert_int_equal(c.addr, 0xc0a80140u);
	assert_int_equal(c.mask, 0xffffffc0u);
}

static void
cidr_parse_bare_address_is_slash_32(void **state)
{
	struct sgw_cidr c;
	(void)state;

	assert_int_equal(sgw_cidr_parse("10.1.2.3", &c), 0);
	assert_int_equal(c.addr, 0x0a010203u);
	assert_int_equal(c.mask, 0xffffffffu);
	assert_int_equal(sgw_cidr_parse("10.1.2.3/32", &c), 0);
	assert_int_equal(c.mask, 0xffffffffu);
}

static void
cidr_parse_slash_0_matches_everything(void **state)
{
	struct sgw_cidr c;
	(void)state;

	assert_int_equal(sgw_cidr_parse("1.2.3.4/0", &c), 0);
	assert_int_equal(c.addr, 0u);
	assert_int_equal(c.mask, 0u);
	assert_int_equal(sgw_cidr_contains(&c, 1, "203.0.113.9"), 1);
}

static void
cidr_parse_refuses_bad_prefixes(void **state)
{
	static const char *const bad[] = {
	    "10.0.0.0/33",
	    "10.0.0.0/",
	    "10.0.0.0/-1",
	    "10.0.0.0/+8",
	    "10.0.0.0/08",
	    "10.0.0.0/8/8",
	    "10.0.0.0/8 ",
	    "10.0.0.0/a",
	    "10.0.0/8",
	    "/8",
	    "",
	    "10.0.0.0/100",
	    "::1/128",
	    "255.255.255.255255/8",
	};
	struct sgw_cidr c;
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (sgw_cidr_parse(bad[i], &c) != -1)
			fail_msg("\"%s\" accepted", bad[i]);
	}
	assert_int_equal(sgw_cidr_parse(NULL, &c), -1);
	assert_int_equal(sgw_cidr_parse("10.0.0.0/8", NULL), -1);
}

static void
cidr_contains_checks_every_network(void **state)
{
	struct sgw_cidr v[2];
	(void)state;

	assert_int_equal(sgw_cidr_parse("10.0.0.0/8", &v[0]), 0);
	assert_int_equal(sgw_cidr_parse("192.168.1.0/24", &v[1]), 0);
	assert_int_equal(sgw_cidr_contains(v, 2, "10.255.0.1"), 1);
	assert_int_equal(sgw_cidr_contains(v, 2, "192.168.1.200"), 1);
	assert_int_equal(sgw_cidr_contains(v, 2, "192.168.2.1"), 0);
	assert_int_equal(sgw_cidr_contains(v, 2, "11.0.0.1"), 0);
	/* Only the first n networks count. */
	assert_int_equal(sgw_cidr_contains(v, 1, "192.168.1.200"), 0);
}

static void
cidr_contains_refuses_non_ipv4(void **state)
{
	struct sgw_cidr all;
	(void)state;

	assert_int_equal(sgw_cidr_parse("0.0.0.0/0", &all), 0);
	assert_int_equal(sgw_cidr_contains(&all, 1, "::1"), 0);
	assert_int_equal(sgw_cidr_contains(&all, 1, "::ffff:10.0.0.1"), 0);
	assert_int_equal(sgw_cidr_contains(&all, 1, "10.0.0.1 "), 0);
	assert_int_equal(sgw_cidr_contains(&all, 1, ""), 0);
	assert_int_equal(sgw_cidr_contains(&all, 1, NULL), 0);
	assert_int_equal(sgw_cidr_contains(NULL, 1, "10.0.0.1"), 0);
	assert_int_equal(sgw_cidr_contains(&all, 0, "10.0.0.1"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(ipv4_parse_accepts_dotted_quads),
	    cmocka_unit_test(ipv4_parse_refuses_anything_else),
	    cmocka_unit_test(cidr_parse_masks_the_address),
	    cmocka_unit_test(cidr_parse_bare_address_is_slash_32),
	    cmocka_unit_test(cidr_parse_slash_0_matches_everything),
	    cmocka_unit_test(cidr_parse_refuses_bad_prefixes),
	    cmocka_unit_test(cidr_contains_checks_every_network),
	    cmocka_unit_test(cidr_contains_refuses_non_ipv4),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
