/*
 * fcgi_head: when a worker may hand a connection to libfcgi. Every prefix
 * of a whole request but the last must say "not yet", so that a peer
 * sending half a request never reaches the blocking reader.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "fcgi_head.h"

/* Appends one record of type t, request id 1, with len bytes of content
 * and pad bytes of padding; returns the new length. */
static size_t
rec(unsigned char *b, size_t at, int t, const void *content, size_t len,
    int pad)
{
	unsigned char h[8] = {1, (unsigned char)t, 0, 1,
	    (unsigned char)(len >> 8), (unsigned char)len, (unsigned char)pad,
	    0};

	memcpy(b + at, h, 8);
	if (len > 0)
		memcpy(b + at + 8, content, len);
	memset(b + at + 8 + len, 0xee, (size_t)pad);
	return at + 8 + len + (size_t)pad;
}

static size_t
begin(unsigned char *b, size_t at, int role)
{
	unsigned char body[8] = {
	    (unsigned char)(role >> 8), (unsigned char)role, 1};

	return rec(b, at, 1, body, sizeof(body), 0);
}

/* A responder request as nginx sends it: BEGIN, PARAMS (two records, one
 * padded), the empty PARAMS record, the empty STDIN record. */
static size_t
request(unsigned char *b, int role, size_t *head_end)
{
	static const char p1[] = "\x0e\x03REQUEST_METHODGET";
	static const char p2[] = "\x0c\x0b"
	                         "DOCUMENT_URI/auth/check";
	size_t n = begin(b, 0, role);

	n = rec(b, n, 4, p1, sizeof(p1) - 1, 5);
	n = rec(b, n, 4, p2, sizeof(p2) - 1, 0);
	n = rec(b, n, 4, NULL, 0, 0);
	*head_end = n;
	return rec(b, n, 5, NULL, 0, 0);
}

static void
test_whole_head_only_at_the_end_of_params(void **state)
{
	unsigned char b[512];
	size_t head, n;

	(void)state;
	for (int role = 1; role <= 2; role++) {
		n = request(b, role, &head);
		for (size_t k = 0; k < head; k++) {
			/* An exact-size copy: nothing past k may be read. */
			unsigned char *p = malloc(k > 0 ? k : 1);

			memcpy(p, b, k);
			assert_int_equal(sgw_fcgi_head_complete(p, k), 0);
			free(p);
		}
		assert_int_equal(sgw_fcgi_head_complete(b, head), 1);
		assert_int_equal(sgw_fcgi_head_complete(b, n), 1);
	}
}

static void
test_get_values_is_no_head(void **state)
{
	static const char q[] = "\x0e\x00"
	                        "FCGI_MAX_CONNS";
	unsigned char b[512];
	size_t n = 0, head;

	(void)state;
	/* Management records have request id 0; a stream of them is no
	 * request. */
	for (int i = 0; i < 5; i++) {
		n = rec(b, n, 9, q, sizeof(q) - 1, 0);
		b[n - (sizeof(q) - 1) - 8 + 3] = 0;
	}
	assert_int_equal(sgw_fcgi_head_complete(b, n), 0);
	/* ...but a request after them is. */
	n += request(b + n, 1, &head);
	assert_int_equal(sgw_fcgi_head_complete(b, n), 1);
}

static void
test_refused_roles_are_a_head_at_once(void **state)
{
	unsigned char b[64];
	size_t n;

	(void)state;
	n = begin(b, 0, 3);
	assert_int_equal(sgw_fcgi_head_complete(b, n), 1);
	assert_int_equal(
	    sgw_fcgi_head_complete(b, 10), 1); /* the role bytes are enough */
	assert_int_equal(sgw_fcgi_head_complete(b, 9), 0);
	n = begin(b, 0, 0x0101);
	assert_int_equal(sgw_fcgi_head_complete(b, n), 1);
	n = begin(b, 0, 1);
	assert_int_equal(sgw_fcgi_head_complete(b, n), 0);
}

static void
test_not_fastcgi_is_handed_over(void **state)
{
	static const unsigned char http[] = "GET / HTTP/1.1\r\n";
	unsigned char b[64];
	size_t n;

	(void)state;
	assert_int_equal(sgw_fcgi_head_complete(http, sizeof(http) - 1), 1);
	n = begin(b, 0, 1);
	b[n] = 2; /* a second record of another version */
	assert_int_equal(sgw_fcgi_head_complete(b, n + 8), 1);
	assert_int_equal(sgw_fcgi_head_complete(b, 0), 0);
	assert_int_equal(sgw_fcgi_head_complete(b, 7), 0);
}

static void
test_lengths_near_the_limit(void **state)
{
	/* A PARAMS record announcing 65535 bytes and 255 of padding, of
	 * which little has come: not a head, and no read past n. */
	unsigned char h[16] = {1, 4, 0, 1, 0xff, 0xff, 0xff, 0};

	(void)state;
	assert_int_equal(sgw_fcgi_head_complete(h, sizeof(h)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_whole_head_only_at_the_end_of_params),
	    cmocka_unit_test(test_get_values_is_no_head),
	    cmocka_unit_test(test_refused_roles_are_a_head_at_once),
	    cmocka_unit_test(test_not_fastcgi_is_handed_over),
	    cmocka_unit_test(test_lengths_near_the_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
