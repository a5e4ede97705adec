/*
 * cookie: finding our cookie in hostile Cookie headers; Set-Cookie lines.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cookie.h"

#define NAME "sgw_session"

/* The values of NAME in hdr (len bytes), each in brackets, so that an
 * empty value ("[]") differs from none (""). */
/* The attributes the worker builds once from the configuration. */
static const struct sgw_cookie_attrs *
attrs(const struct sgw_conf *c)
{
	static struct sgw_cookie_attrs a;

	sgw_cookie_attrs_from(&a, c);
	return &a;
}

static void
values(const char *hdr, size_t len, char *out, size_t outsz)
{
	size_t pos = 0, vlen, o = 0;
	const char *v;

	out[0] = '\0';
	while (sgw_cookie_next(hdr, len, &pos, NAME, &v, &vlen)) {
		assert_true(v >= hdr && v + vlen <= hdr + len);
		assert_true(o + vlen + 3 < outsz);
		out[o++] = '[';
		memcpy(out + o, v, vlen);
		o += vlen;
		out[o++] = ']';
		out[o] = '\0';
	}
	assert_true(pos <= len);
}

#define assert_values(hdr, want)                                               \
	do {                                                                   \
		char got_[256];                                                \
		values((hdr), strlen(hdr), got_, sizeof(got_));                \
		assert_string_equal(got_, (want));                             \
	} while (0)

static void
finds_value_among_several_cookies(void **state)
{
	(void)state;
	assert_values("a=1; sgw_session=tok; b=2", "[tok]");
	assert_values("sgw_session=tok", "[tok]");
	assert_values("a=1; b=2", "");
	assert_values("", "");
}

static void
tolerates_missing_and_extra_spaces(void **state)
{
	(void)state;
	assert_values("a=1;sgw_session=tok;b=2", "[tok]");
	assert_values("  \t sgw_session = tok \t ;b=2", "[tok]");
	assert_values("a=1;\tsgw_session=tok\t", "[tok]");
}

static void
skips_empty_pairs_and_pairs_without_equals(void **state)
{
	(void)state;
	assert_values(";;a=1;; ;sgw_session=tok;;", "[tok]");
	assert_values("sgw_session; sgw_session=tok", "[tok]");
	assert_values("sgw_session", "");
	assert_values("=sgw_session; sgw_session=", "[]");
}

static void
strips_double_quotes(void **state)
{
	(void)state;
	assert_values("sgw_session=\"tok\"", "[tok]");
	assert_values("sgw_session=\"\"", "[]");
	/* A lone quote is not a quoted value: kept as sent. */
	assert_values("sgw_session=\"tok", "[\"tok]");
}

static void
returns_every_value_of_a_repeated_name_in_order(void **state)
{
	(void)state;
	assert_values("sgw_session=one; a=1; sgw_session=two", "[one][two]");
}

static void
does_not_match_names_sharing_a_prefix_or_suffix(void **state)
{
	(void)state;
	assert_values("xsgw_session=bad; sgw_session2=bad; sgw_sessio=bad", "");
	assert_values("SGW_SESSION=bad; sgw_session=ok", "[ok]");
	assert_values("a=sgw_session=bad", "");
}

static void
reads_no_further_than_len(void **state)
{
	static const char hdr[] = "a=1; sgw_session=tokXYZ; sgw_session=late";
	size_t len = strlen("a=1; sgw_session=tok");
	char *copy = malloc(len); /* no NUL: ASan catches a read past len */
	char got[64];

	(void)state;
	assert_non_null(copy);
	memcpy(copy, hdr, len);
	values(copy, len, got, sizeof(got));
	assert_string_equal(got, "[tok]");
	/* A cut inside the name finds nothing. */
	values(copy, strlen("a=1; sgw_sess"), got, sizeof(got));
	assert_string_equal(got, "");
	free(copy);
}

static void
start_position_past_end_finds_nothing(void **state)
{
	const char *v = NULL;
	size_t vlen = 0, pos = 100;

	(void)state;
	assert_int_equal(
	    sgw_cookie_next("sgw_session=tok", 15, &pos, NAME, &v, &vlen), 0);
	pos = 0;
	assert_int_equal(
	    sgw_cookie_next("sgw_session=tok", 15, &pos, "", &v, &vlen), 0);
}

static void
conf_init(struct sgw_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->cookie_name = "sgw_session";
	c->cookie_path = "/";
	c->cookie_domain = "";
	c->cookie_secure = 1;
	c->same_site = SGW_SAME_SITE_LAX;
}

static void
build_session_cookie_has_no_max_age(void **state)
{
	struct sgw_conf c;
	char out[256];
	const char *want = "sgw_session=abc.def; Path=/; HttpOnly; Secure; "
	                   "SameSite=Lax";

	(void)state;
	conf_init(&c);
	assert_int_equal(
	    sgw_cookie_build(out, sizeof(out), attrs(&c), "abc.def", -1),
	    (int)strlen(want));
	assert_string_equal(out, want);
}

static void
build_remember_me_cookie_with_domain_and_strict(void **state)
{
	struct sgw_conf c;
	char out[256];

	(void)state;
	conf_init(&c);
	c.cookie_domain = "example.com";
	c.cookie_path = "/app";
	c.same_site = SGW_SAME_SITE_STRICT;
	assert_true(
	    sgw_cookie_build(out, sizeof(out), attrs(&c), "t", 2592000) > 0);
	assert_string_equal(out,
	    "sgw_session=t; Path=/app; Domain=example.com; "
	    "Max-Age=2592000; HttpOnly; Secure; SameSite=Strict");
}

static void
build_without_secure_and_same_site_none(void **state)
{
	struct sgw_conf c;
	char out[256];

	(void)state;
	conf_init(&c);
	c.cookie_secure = 0;
	c.same_site = SGW_SAME_SITE_NONE;
	assert_true(sgw_cookie_build(out, sizeof(out), attrs(&c), "t", -1) > 0);
	assert_string_equal(
	    out, "sgw_session=t; Path=/; HttpOnly; SameSite=None");
}

static void
clearing_keeps_attributes_with_max_age_zero(void **state)
{
	struct sgw_conf c;
	char out[256];

	(void)state;
	conf_init(&c);
	c.cookie_domain = "example.com";
	/* max_age_s is ignored when clearing: always Max-Age=0. */
	assert_true(
	    sgw_cookie_build(out, sizeof(out), attrs(&c), NULL, 3600) > 0);
	assert_string_equal(out,
	    "sgw_session=; Path=/; Domain=example.com; "
	    "Max-Age=0; HttpOnly; Secure; SameSite=Lax");
	assert_true(
	    sgw_cookie_build(out, sizeof(out), attrs(&c), NULL, -1) > 0);
	assert_string_equal(out,
	    "sgw_session=; Path=/; Domain=example.com; "
	    "Max-Age=0; HttpOnly; Secure; SameSite=Lax");
}

static void
build_refuses_small_buffer_without_truncating(void **state)
{
	struct sgw_conf c;
	char out[256];
	int n;

	(void)state;
	conf_init(&c);
	n = sgw_cookie_build(out, sizeof(out), attrs(&c), "abc", -1);
	assert_true(n > 0);
	/* Exactly enough (with the NUL) works; one byte less does not. */
	assert_int_equal(
	    sgw_cookie_build(out, (size_t)n + 1, attrs(&c), "abc", -1), n);
	memset(out, 'x', sizeof(out));
	assert_int_equal(
	    sgw_cookie_build(out, (size_t)n, attrs(&c), "abc", -1), -1);
	assert_string_equal(out, "");
	assert_int_equal(sgw_cookie_build(out, 0, attrs(&c), "abc", -1), -1);
}

static void
build_refuses_values_that_would_inject_attributes(void **state)
{
	struct sgw_conf c;
	char out[256];

	(void)state;
	conf_init(&c);
	assert_int_equal(
	    sgw_cookie_build(out, sizeof(out), attrs(&c), "a; Domain=x", -1),
	    -1);
	assert_int_equal(
	    sgw_cookie_build(out, sizeof(out), attrs(&c), "a;Domain=x", -1),
	    -1);
	assert_int_equal(
	    sgw_cookie_build(out, sizeof(out), attrs(&c), "a\r\nX: y", -1), -1);
	c.cookie_path = "/;Secure";
	assert_int_equal(
	    sgw_cookie_build(out, sizeof(out), attrs(&c), "a", -1), -1);
	conf_init(&c);
	c.cookie_name = "bad name";
	assert_int_equal(
	    sgw_cookie_build(out, sizeof(out), attrs(&c), "a", -1), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(finds_value_among_several_cookies),
	    cmocka_unit_test(tolerates_missing_and_extra_spaces),
	    cmocka_unit_test(skips_empty_pairs_and_pairs_without_equals),
	    cmocka_unit_test(strips_double_quotes),
	    cmocka_unit_test(returns_every_value_of_a_repeated_name_in_order),
	    cmocka_unit_test(does_not_match_names_sharing_a_prefix_or_suffix),
	    cmocka_unit_test(reads_no_further_than_len),
	    cmocka_unit_test(start_position_past_end_finds_nothing),
	    cmocka_unit_test(build_session_cookie_has_no_max_age),
	    cmocka_unit_test(build_remember_me_cookie_with_domain_and_strict),
	    cmocka_unit_test(build_without_secure_and_same_site_none),
	    cmocka_unit_test(clearing_keeps_attributes_with_max_age_zero),
	    cmocka_unit_test(build_refuses_small_buffer_without_truncating),
	    cmocka_unit_test(build_refuses_values_that_would_inject_attributes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
