/*
 * clientaddr: X-Forwarded-For is believed only through trusted proxies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "clientaddr.h"

/* Trusted: 10.0.0.0/8 and 192.168.1.1. */
static struct sgw_cidr proxies[2];

static struct sgw_conf
make_conf(void)
{
	struct sgw_conf conf;

	memset(&conf, 0, sizeof(conf));
	conf.trusted_proxies = proxies;
	conf.ntrusted_proxies = 2;
	return conf;
}

static int
setup(void **state)
{
	(void)state;
	if (sgw_cidr_parse("10.0.0.0/8", &proxies[0]) < 0 ||
	    sgw_cidr_parse("192.168.1.1", &proxies[1]) < 0)
		return -1;
	return 0;
}

/* The client address for remote/xff, or "(error)". */
static const char *
client(const char *remote, const char *xff)
{
	static char out[64];
	struct sgw_conf conf = make_conf();

	memset(out, 'X', sizeof(out));
	if (sgw_client_addr(conf.trusted_proxies, conf.ntrusted_proxies, remote,
	        xff, out, sizeof(out)) < 0)
		return "(error)";
	return out;
}

static void
untrusted_peer_spoofed_xff_is_ignored(void **state)
{
	(void)state;
	assert_string_equal(client("203.0.113.5", "1.2.3.4"), "203.0.113.5");
	assert_string_equal(
	    client("203.0.113.5", "10.0.0.1, 1.2.3.4"), "203.0.113.5");
	assert_string_equal(client("203.0.113.5", NULL), "203.0.113.5");
	/* Next to a trusted network is not inside it. */
	assert_string_equal(client("11.0.0.1", "1.2.3.4"), "11.0.0.1");
	assert_string_equal(client("192.168.1.2", "1.2.3.4"), "192.168.1.2");
}

static void
trusted_peer_gives_right_most_untrusted(void **state)
{
	(void)state;
	assert_string_equal(client("10.0.0.1", "198.51.100.7"), "198.51.100.7");
	/* The client may prepend whatever it likes; only the entry the
	 * proxy appended counts. */
	assert_string_equal(
	    client("10.0.0.1", "6.6.6.6, 198.51.100.7"), "198.51.100.7");
	assert_string_equal(
	    client("10.0.0.1", "6.6.6.6,198.51.100.7"), "198.51.100.7");
	assert_string_equal(
	    client("192.168.1.1", " 198.51.100.7 "), "198.51.100.7");
	assert_string_equal(
	    client("10.0.0.1", "6.6.6.6,\t198.51.100.7\t"), "198.51.100.7");
}

static void
chain_of_trusted_proxies_is_walked(void **state)
{
	(void)state;
	assert_string_equal(
	    client("10.0.0.1", "6.6.6.6, 198.51.100.7, 10.1.1.1, 192.168.1.1"),
	    "198.51.100.7");
	assert_string_equal(
	    client("192.168.1.1", "198.51.100.7, 10.9.9.9"), "198.51.100.7");
}

static void
all_trusted_gives_left_most(void **state)
{
	(void)state;
	assert_string_equal(
	    client("10.0.0.1", "10.0.0.9, 10.0.0.8"), "10.0.0.9");
	assert_string_equal(client("10.0.0.1", "192.168.1.1"), "192.168.1.1");
}

static void
malformed_entry_stops_walk_at_last_good(void **state)
{
	static const char *const junk[] = {
	    "unknown",
	    "1.2.3.4:5678",
	    "::1",
	    "2001:db8::1",
	    "1.2.3",
	    "1.2.3.4.5",
	    "010.0.0.1",
	    "1.2.3.4 5.6.7.8",
	    "[1.2.3.4]",
	    "999.1.1.1",
	    "1.2.3.4/8",
	};
	char xff[128];
	(void)state;

	/* The malformed entry is never the answer: the last good address
	 * to its right is. Here that is remote_addr itself ... */
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		const char *got;

		snprintf(xff, sizeof(xff), "6.6.6.6, %s", junk[i]);
		got = client("10.0.0.1", xff);
		if (strcmp(got, "10.0.0.1") != 0)
			fail_msg("XFF \"%s\": got \"%s\"", xff, got);
	}
	/* ... here the trusted hop after it. */
	assert_string_equal(
	    client("10.0.0.1", "6.6.6.6, bogus, 10.2.2.2"), "10.2.2.2");
	/* A malformed entry left of the client does not matter. */
	assert_string_equal(
	    client("10.0.0.1", "bogus, 198.51.100.7"), "198.51.100.7");
	/* Empty items are malformed too. */
	assert_string_equal(client("10.0.0.1", "6.6.6.6,"), "10.0.0.1");
	assert_string_equal(
	    client("10.0.0.1", "6.6.6.6,,10.2.2.2"), "10.2.2.2");
	assert_string_equal(client("10.0.0.1", ",10.2.2.2"), "10.2.2.2");
	/* Far too long for an address. */
	assert_string_equal(
	    client("10.0.0.1", "6.6.6.6, 1111111111111111111111111111111"),
	    "10.0.0.1");
}

static void
empty_xff_gives_remote_addr(void **state)
{
	(void)state;
	assert_string_equal(client("10.0.0.1", ""), "10.0.0.1");
	assert_string_equal(client("10.0.0.1", "   "), "10.0.0.1");
	assert_string_equal(client("10.0.0.1", NULL), "10.0.0.1");
}

static void
ipv6_remote_is_never_trusted(void **state)
{
	struct sgw_cidr all;
	struct sgw_conf conf = make_conf();
	char out[64];
	(void)state;

	assert_string_equal(
	    client("2001:db8::1", "198.51.100.7"), "2001:db8::1");
	assert_string_equal(
	    client("::ffff:10.0.0.1", "198.51.100.7"), "::ffff:10.0.0.1");
	/* Not even when every IPv4 address is trusted. */
	assert_int_equal(sgw_cidr_parse("0.0.0.0/0", &all), 0);
	conf.trusted_proxies = &all;
	conf.ntrusted_proxies = 1;
	assert_int_equal(
	    sgw_client_addr(conf.trusted_proxies, conf.ntrusted_proxies, "::1",
	        "198.51.100.7", out, sizeof(out)),
	    0);
	assert_string_equal(out, "::1");
}

static void
no_trusted_proxies_trusts_nobody(void **state)
{
	struct sgw_conf conf;
	char out[64];
	(void)state;

	memset(&conf, 0, sizeof(conf));
	assert_int_equal(
	    sgw_client_addr(conf.trusted_proxies, conf.ntrusted_proxies,
	        "10.0.0.1", "198.51.100.7", out, sizeof(out)),
	    0);
	assert_string_equal(out, "10.0.0.1");
	assert_int_equal(sgw_client_addr(NULL, 0, "10.0.0.1", "198.51.100.7",
	                     out, sizeof(out)),
	    0);
	assert_string_equal(out, "10.0.0.1");
}

static void
bad_arguments_and_small_buffers_fail(void **state)
{
	struct sgw_conf conf = make_conf();
	char out[16];
	(void)state;

	assert_int_equal(
	    sgw_client_addr(conf.trusted_proxies, conf.ntrusted_proxies, NULL,
	        NULL, out, sizeof(out)),
	    -1);
	assert_int_equal(sgw_client_addr(conf.trusted_proxies,
	                     conf.ntrusted_proxies, "", NULL, out, sizeof(out)),
	    -1);
	assert_int_equal(sgw_client_addr(conf.trusted_proxies,
	                     conf.ntrusted_proxies, "1.2.3.4", NULL, NULL, 16),
	    -1);
	assert_int_equal(sgw_client_addr(conf.trusted_proxies,
	                     conf.ntrusted_proxies, "1.2.3.4", NULL, out, 0),
	    -1);
	/* "1.2.3.4" needs 8 bytes. */
	assert_int_equal(sgw_client_addr(conf.trusted_proxies,
	                     conf.ntrusted_proxies, "1.2.3.4", NULL, out, 7),
	    -1);
	assert_int_equal(sgw_client_addr(conf.trusted_proxies,
	                     conf.ntrusted_proxies, "1.2.3.4", NULL, out, 8),
	    0);
	assert_string_equal(out, "1.2.3.4");
	/* The chosen XFF entry must fit too. */
	assert_int_equal(
	    sgw_client_addr(conf.trusted_proxies, conf.ntrusted_proxies,
	        "10.0.0.1", "198.51.100.77", out, 13),
	    -1);
	assert_int_equal(
	    sgw_client_addr(conf.trusted_proxies, conf.ntrusted_proxies,
	        "10.0.0.1", "198.51.100.77", out, 14),
	    0);
	assert_string_equal(out, "198.51.100.77");
	/* An IPv6 peer that does not fit is an error, not a truncation. */
	assert_int_equal(
	    sgw_client_addr(conf.trusted_proxies, conf.ntrusted_proxies,
	        "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff", NULL, out,
	        sizeof(out)),
	    -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(untrusted_peer_spoofed_xff_is_ignored),
	    cmocka_unit_test(trusted_peer_gives_right_most_untrusted),
	    cmocka_unit_test(chain_of_trusted_proxies_is_walked),
	    cmocka_unit_test(all_trusted_gives_left_most),
	    cmocka_unit_test(malformed_entry_stops_walk_at_last_good),
	    cmocka_unit_test(empty_xff_gives_remote_addr),
	    cmocka_unit_test(ipv6_remote_is_never_trusted),
	    cmocka_unit_test(no_trusted_proxies_trusts_nobody),
	    cmocka_unit_test(bad_arguments_and_small_buffers_fail),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
