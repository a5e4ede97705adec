/*
 * log: what a user name becomes in a log line (sgw_log_safe), and how a
 * line that is too long ends.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "users.h"

#define MARK "\\..."

static void
is_safe(const char *in, const char *want)
{
	char out[256];

	sgw_log_safe(in, out, sizeof(out));
	if (strcmp(out, want) != 0)
		fail_msg("\"%s\": got \"%s\", want \"%s\"", in ? in : "(null)",
		    out, want);
}

static void
plain_names_are_kept(void **state)
{
	(void)state;
	is_safe("alice", "alice");
	is_safe("a.b-c_d@example.com", "a.b-c_d@example.com");
	is_safe(NULL, "-");
	is_safe("", "");
	/* Well-formed UTF-8 that shows as itself is kept. */
	is_safe("caf\xc3\xa9", "caf\xc3\xa9");
	is_safe("\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac");
	is_safe("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");
	is_safe("\xc2\xa1", "\xc2\xa1");
}

static void
ascii_that_could_forge_a_line_is_escaped(void **state)
{
	(void)state;
	is_safe("a\nb", "a\\x0ab");
	is_safe("a\r\n2026-11-21T00:00:00Z info [1] login ok user=root",
	    "a\\x0d\\x0a2026-11-21T00:00:00Z\\x20info\\x20[1]\\x20login"
	    "\\x20ok\\x20user=root");
	is_safe("alice client=10.0.0.1", "alice\\x20client=10.0.0.1");
	is_safe("a\tb\x1b[31m", "a\\x09b\\x1b[31m");
	is_safe("q\"b", "q\\x22b");
	/* A raw backslash is always an escape's, so none can fake one. */
	is_safe("a\\x0ab", "a\\x5cx0ab");
	is_safe("a\x7f", "a\\x7f");
}

static void
unicode_line_breaks_and_c1_are_escaped(void **state)
{
	(void)state;
	is_safe("a\xe2\x80\xa8"
	        "b",
	    "a\\u2028b"); /* LINE SEPARATOR */
	is_safe("a\xe2\x80\xa9"
	        "b",
	    "a\\u2029b"); /* PARAGRAPH SEPARATOR */
	is_safe("a\xc2\x85"
	        "b",
	    "a\\u0085b"); /* NEXT LINE */
	is_safe("\xc2\x80", "\\u0080");
	is_safe("\xc2\x9b[31m", "\\u009b[31m"); /* CSI */
	is_safe("\xc2\x9f", "\\u009f");
	/* Spaces that are not ' ', invisible and bidi formatting. */
	is_safe("a\xc2\xa0"
	        "b",
	    "a\\u00a0b");
	is_safe("a\xe2\x80\x83"
	        "b",
	    "a\\u2003b");
	is_safe("a\xe3\x80\x80"
	        "b",
	    "a\\u3000b");
	is_safe("a\xe2\x80\x8b"
	        "b",
	    "a\\u200bb");
	is_safe("a\xe2\x80\xae"
	        "nimda",
	    "a\\u202enimda"); /* RLO */
	is_safe("\xe2\x81\xa6", "\\u2066");
	is_safe("\xef\xbb\xbf"
	        "x",
	    "\\ufeffx");
}

static void
ill_formed_utf8_is_escaped_byte_by_byte(void **state)
{
	(void)state;
	is_safe("\xc0\xaf", "\\xc0\\xaf");          /* overlong */
	is_safe("\xe0\x80\x8a", "\\xe0\\x80\\x8a"); /* overlong newline */
	is_safe("\xed\xa0\x80", "\\xed\\xa0\\x80"); /* surrogate */
	is_safe("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");
	is_safe("\xff\xfe", "\\xff\\xfe");
	is_safe("a\x80"
	        "b",
	    "a\\x80b");
	/* A truncated sequence, then good text. */
	is_safe("\xe2\x80"
	        "ab",
	    "\\xe2\\x80ab");
	is_safe("\xc3", "\\xc3");
	is_safe("\xc3\xa9\xa9", "\xc3\xa9\\xa9");
}

static void
long_names_are_cut_with_a_mark(void **state)
{
	char in[300], out[64];
	(void)state;

	memset(in, 'a', sizeof(in));
	in[sizeof(in) - 1] = '\0';
	sgw_log_safe(in, out, sizeof(out));
	assert_int_equal(strlen(out), 63);
	assert_string_equal(out + 59, MARK);
	assert_int_equal(strspn(out, "a"), 59);

	/* Exactly full: no mark. One more: the mark. */
	in[63] = '\0';
	sgw_log_safe(in, out, sizeof(out));
	assert_int_equal(strlen(out), 63);
	assert_int_equal(strspn(out, "a"), 63);
	in[63] = 'a';
	in[64] = '\0';
	sgw_log_safe(in, out, sizeof(out));
	assert_string_equal(out + 59, MARK);

	/* Tiny buffers stay terminated. */
	sgw_log_safe("abcdef", out, 1);
	assert_string_equal(out, "");
	sgw_log_safe("abcdef", out, 3);
	assert_int_equal(strlen(out), 2);
	sgw_log_safe("abcd", out, 5);
	assert_string_equal(out, "abcd");
	sgw_log_safe("abcde", out, 5);
	assert_string_equal(out, MARK);
	assert_string_equal(sgw_log_safe("x", NULL, 8), "");
}

/*
 * However the buffer size falls, a cut never splits an escape or a UTF-8
 * character: the text before the mark is a prefix of the whole result
 * that ends on a piece boundary.
 */
static void
cuts_fall_between_whole_characters(void **state)
{
	static const char *const in[] = {
	    "ab\ncd\xe2\x80\xa8"
	    "ef\xc3\xa9gh\xff"
	    "ij\xf0\x9f\x98\x80kl\xc2\x85",
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe6\x97\xa5\xe6\x9c\xac",
	    "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a",
	};
	(void)state;

	for (size_t t = 0; t < sizeof(in) / sizeof(in[0]); t++) {
		char full[256];

		sgw_log_safe(in[t], full, sizeof(full));
		for (size_t sz = 5; sz <= strlen(full) + 1; sz++) {
			char out[256];
			size_t n, p;
			const char *bs;

			sgw_log_safe(in[t], out, sz);
			n = strlen(out);
			assert_true(n < sz);
			if (strlen(full) < sz) {
				assert_string_equal(out, full);
				continue;
			}
			if (n < 4 || strcmp(out + n - 4, MARK) != 0)
				fail_msg(
				    "size %zu: \"%s\" has no mark", sz, out);
			p = n - 4;
			assert_memory_equal(out, full, p);
			/* The next byte of the whole result starts a piece. */
			assert_true(((unsigned char)full[p] & 0xc0) != 0x80);
			/* The last escape before the cut is complete. */
			out[p] = '\0';
			if ((bs = strrchr(out, '\\')) != NULL)
				assert_true(
				    strlen(bs) >= (bs[1] == 'u' ? 6u : 4u));
		}
	}
}

/* SGW_LOG_SAFE_SIZE(n) holds the worst n-byte name whole. */
static void
safe_size_holds_any_name(void **state)
{
	char in[SGW_USER_MAXLEN + 1], out[SGW_LOG_SAFE_SIZE(SGW_USER_MAXLEN)];
	(void)state;

	memset(in, '\n', SGW_USER_MAXLEN);
	in[SGW_USER_MAXLEN] = '\0';
	sgw_log_safe(in, out, sizeof(out));
	assert_int_equal(strlen(out), 4 * SGW_USER_MAXLEN);
	assert_null(strstr(out, MARK));
	for (size_t i = 0; i + 1 < SGW_USER_MAXLEN; i += 2) {
		in[i] = '\xc2';
		in[i + 1] = '\x85';
	}
	sgw_log_safe(in, out, sizeof(out));
	assert_int_equal(strlen(out), 3 * SGW_USER_MAXLEN);
	assert_null(strstr(out, MARK));
}

/* A whole log line that is too long is cut with the mark too, on a
 * UTF-8 boundary, and still ends in one newline. */
static void
long_lines_end_with_a_mark(void **state)
{
	char path[] = "/tmp/sgw-test-log.XXXXXX";
	char *big = malloc(4000), line[4096];
	int fd = mkstemp(path);
	FILE *fp;
	size_t n;
	(void)state;

	assert_non_null(big);
	assert_true(fd >= 0);
	close(fd);
	/* Two-byte characters, so a cut at a fixed offset would split one
	 * half the time. */
	for (size_t i = 0; i + 1 < 3999; i += 2) {
		big[i] = '\xc3';
		big[i + 1] = '\xa9';
	}
	big[3998] = '\0';
	assert_int_equal(sgw_log_open(SGW_LOG_INFO, path), 0);
	sgw_log(SGW_LOG_INFO, "short line");
	sgw_log(SGW_LOG_INFO, "long %s", big);
	sgw_log_open(SGW_LOG_INFO, NULL);
	assert_non_null(fp = fopen(path, "r"));
	assert_non_null(fgets(line, sizeof(line), fp));
	assert_non_null(strstr(line, "short line\n"));
	assert_null(strstr(line, MARK));
	assert_non_null(fgets(line, sizeof(line), fp));
	n = strlen(line);
	assert_true(n > 1000 && n < 2048);
	assert_string_equal(line + n - 5, MARK "\n");
	/* Before the mark: whole characters only. */
	assert_int_equal((unsigned char)line[n - 7], 0xc3);
	assert_int_equal((unsigned char)line[n - 6], 0xa9);
	assert_null(fgets(line, sizeof(line), fp));
	fclose(fp);
	unlink(path);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(plain_names_are_kept),
	    cmocka_unit_test(ascii_that_could_forge_a_line_is_escaped),
	    cmocka_unit_test(unicode_line_breaks_and_c1_are_escaped),
	    cmocka_unit_test(ill_formed_utf8_is_escaped_byte_by_byte),
	    cmocka_unit_test(long_names_are_cut_with_a_mark),
	    cmocka_unit_test(cuts_fall_between_whole_characters),
	    cmocka_unit_test(safe_size_holds_any_name),
	    cmocka_unit_test(long_lines_end_with_a_mark),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
