/*
 * form: urlencoded bodies, percent-coding, HTML escaping.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "form.h"

/* sgw_form_get on a copy of s without its NUL, so that ASan sees any
 * read past len. */
static int
get(const char *s, const char *name, char **out)
{
	size_t len = strlen(s);
	char *copy = malloc(len > 0 ? len : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, s, len);
	r = sgw_form_get(copy, len, name, out);
	free(copy);
	return r;
}

#define assert_field(body, name, want)                                         \
	do {                                                                   \
		char *v_ = NULL;                                               \
		assert_int_equal(get((body), (name), &v_), 1);                 \
		assert_non_null(v_);                                           \
		assert_string_equal(v_, (want));                               \
		free(v_);                                                      \
	} while (0)

#define assert_absent(body, name)                                              \
	do {                                                                   \
		char *v_ = (char *)1;                                          \
		assert_int_equal(get((body), (name), &v_), 0);                 \
		assert_null(v_);                                               \
	} while (0)

#define assert_malformed(body, name)                                           \
	do {                                                                   \
		char *v_ = (char *)1;                                          \
		assert_int_equal(get((body), (name), &v_), -1);                \
		assert_null(v_);                                               \
		assert_int_equal(sgw_form_validate((body), strlen(body)), -1); \
	} while (0)

static void
get_finds_fields_and_decodes(void **state)
{
	(void)state;
	assert_field("username=alice&password=s3cret", "username", "alice");
	assert_field("username=alice&password=s3cret", "password", "s3cret");
	assert_field("password=a+b%20c%2B%26%3D", "password", "a b c+&=");
	assert_field("p=%C3%A9t%c3%a9", "p", "\xc3\xa9t\xc3\xa9");
}

static void
get_decodes_names_too(void **state)
{
	(void)state;
	assert_field("user%6Eame=bob", "username", "bob");
	assert_field("return+to=x", "return to", "x");
	assert_absent("usernam=bob&usernamee=bob", "username");
}

static void
get_first_occurrence_wins(void **state)
{
	(void)state;
	assert_field("a=1&a=2", "a", "1");
}

static void
get_ignores_empty_pairs_and_pair_without_equals_is_empty(void **state)
{
	(void)state;
	assert_field("&&a=1&&", "a", "1");
	assert_field("remember_me&a=1", "remember_me", "");
	assert_field("x=&y=2", "x", "");
	assert_field("k=v=w", "k", "v=w");
	assert_absent("", "a");
	assert_absent("&&&", "a");
}

static void
get_refuses_bad_escapes_anywhere(void **state)
{
	(void)state;
	assert_malformed("a=1&b=%zz", "a");
	assert_malformed("a=%4", "a");
	assert_malformed("a=%", "a");
	assert_malformed("a%=1", "a");
	assert_malformed("a=1&b=%00", "a");
	assert_malformed("a%00b=1", "a");
}

static void
validate_accepts_well_formed_bodies(void **state)
{
	(void)state;
	assert_int_equal(sgw_form_validate("", 0), 0);
	assert_int_equal(sgw_form_validate("a=1&b=%41+&c", 12), 0);
	/* Bounded by len: the bad escape lies beyond it. */
	assert_int_equal(sgw_form_validate("a=1%zz", 3), 0);
	assert_int_equal(sgw_form_validate("a=\0", 3), -1);
}

static void
pct_decode_plus_only_when_asked(void **state)
{
	char out[32];

	(void)state;
	assert_int_equal(sgw_pct_decode("a+b%2Fc", 7, out, 1), 5);
	assert_string_equal(out, "a b/c");
	assert_int_equal(sgw_pct_decode("a+b%2Fc", 7, out, 0), 5);
	assert_string_equal(out, "a+b/c");
	assert_int_equal(sgw_pct_decode("", 0, out, 0), 0);
	assert_string_equal(out, "");
}

static void
pct_decode_rejects_bad_escape_and_nul_and_wipes(void **state)
{
	char out[32];

	(void)state;
	memset(out, 'x', sizeof(out));
	assert_int_equal(sgw_pct_decode("secret%g0", 9, out, 0), -1);
	/* What was decoded before the fault is not left behind. */
	assert_memory_equal(out, "\0\0\0\0\0\0", 6);
	assert_int_equal(out[6], 'x');
	assert_int_equal(sgw_pct_decode("a%00", 4, out, 0), -1);
	assert_int_equal(sgw_pct_decode("a\0b", 3, out, 0), -1);
	assert_int_equal(sgw_pct_decode("%1", 2, out, 0), -1);
}

static void
pct_encode_keeps_unreserved_and_slash(void **state)
{
	char *s;

	(void)state;
	s = sgw_pct_encode("/app/x?a=1&b=2 c#d");
	assert_non_null(s);
	assert_string_equal(s, "/app/x%3Fa%3D1%26b%3D2%20c%23d");
	free(s);
	s = sgw_pct_encode("AZaz09-._~\xc3\xa9%+");
	assert_non_null(s);
	assert_string_equal(s, "AZaz09-._~%C3%A9%25%2B");
	free(s);
	s = sgw_pct_encode("");
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
}

static void
pct_encode_round_trips_through_decode(void **state)
{
	const char *in = "/a b/?&=%+\x01\xff";
	char *enc, out[64];

	(void)state;
	enc = sgw_pct_encode(in);
	assert_non_null(enc);
	assert_int_equal(
	    sgw_pct_decode(enc, strlen(enc), out, 0), (long)strlen(in));
	assert_string_equal(out, in);
	free(enc);
}

static void
html_escape_all_five(void **state)
{
	char *s;

	(void)state;
	s = sgw_html_escape("<a href=\"x\" title='y'>&amp;</a>");
	assert_non_null(s);
	assert_string_equal(s,
	    "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;"
	    "&amp;amp;&lt;/a&gt;");
	free(s);
	s = sgw_html_escape("plain");
	assert_non_null(s);
	assert_string_equal(s, "plain");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(get_finds_fields_and_decodes),
	    cmocka_unit_test(get_decodes_names_too),
	    cmocka_unit_test(get_first_occurrence_wins),
	    cmocka_unit_test(
	        get_ignores_empty_pairs_and_pair_without_equals_is_empty),
	    cmocka_unit_test(get_refuses_bad_escapes_anywhere),
	    cmocka_unit_test(validate_accepts_well_formed_bodies),
	    cmocka_unit_test(pct_decode_plus_only_when_asked),
	    cmocka_unit_test(pct_decode_rejects_bad_escape_and_nul_and_wipes),
	    cmocka_unit_test(pct_encode_keeps_unreserved_and_slash),
	    cmocka_unit_test(pct_encode_round_trips_through_decode),
	    cmocka_unit_test(html_escape_all_five),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
