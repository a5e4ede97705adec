/*
 * chars: the shared character classes, whatever the locale.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "chars.h"

static void
hex_digit_takes_both_cases_and_nothing_else(void **state)
{
	(void)state;
	assert_int_equal(sgw_hex_digit('0'), 0);
	assert_int_equal(sgw_hex_digit('9'), 9);
	assert_int_equal(sgw_hex_digit('a'), 10);
	assert_int_equal(sgw_hex_digit('F'), 15);
	assert_int_equal(sgw_hex_digit('g'), -1);
	assert_int_equal(sgw_hex_digit('G'), -1);
	assert_int_equal(sgw_hex_digit('/'), -1);
	assert_int_equal(sgw_hex_digit(':'), -1);
	assert_int_equal(sgw_hex_digit(0), -1);
	assert_int_equal(sgw_hex_digit(0xe9), -1);
}

static void
host_char_is_letters_digits_dot_and_dash(void **state)
{
	(void)state;
	for (int c = 1; c < 256; c++) {
		int want = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-';

		if (sgw_is_host_char((char)c) != want)
			fail_msg("byte 0x%02x", c);
	}
}

static void
lower_touches_ascii_capitals_only(void **state)
{
	char s[] = "Hello, WORLD-42 \xc3\x89";

	(void)state;
	assert_int_equal(sgw_ascii_lower('A'), 'a');
	assert_int_equal(sgw_ascii_lower('Z'), 'z');
	assert_int_equal(sgw_ascii_lower('@'), '@');
	assert_int_equal(sgw_ascii_lower('['), '[');
	assert_int_equal(sgw_ascii_lower('a'), 'a');
	sgw_ascii_lower_str(s);
	/* the bytes of a UTF-8 capital are no ASCII capitals */
	assert_string_equal(s, "hello, world-42 \xc3\x89");
}

/* RFC 7230: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" /
 * "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA */
static void
token_char_is_rfc7230_tchar(void **state)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";

	(void)state;
	for (int c = 1; c < 256; c++) {
		int want = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr(extra, c) != NULL;

		if (sgw_is_token_char((unsigned char)c) != want)
			fail_msg("byte 0x%02x", c);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(hex_digit_takes_both_cases_and_nothing_else),
	    cmocka_unit_test(host_char_is_letters_digits_dot_and_dash),
	    cmocka_unit_test(lower_touches_ascii_capitals_only),
	    cmocka_unit_test(token_char_is_rfc7230_tchar),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
