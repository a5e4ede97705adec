/*
 * fcgi: the FastCGI protocol a worker speaks. Requests are fed as a web
 * server sends them, whole and a byte at a time; answers are read back
 * record by record.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fcgi.h"

enum {
	BEGIN = 1,
	ABORT = 2,
	END = 3,
	PARAMS = 4,
	STDIN = 5,
	STDOUT = 6,
	DATA = 8,
	GET_VALUES = 9,
	GET_VALUES_RESULT = 10,
	UNKNOWN_TYPE = 11
};

struct bytes {
	unsigned char b[300000];
	size_t n;
};

static void
rec(struct bytes *s, int type, unsigned id, const void *p, size_t len,
    unsigned pad)
{
	unsigned char h[8] = {1, (unsigned char)type, (unsigned char)(id >> 8),
	    (unsigned char)id, (unsigned char)(len >> 8), (unsigned char)len,
	    (unsigned char)pad, 0};

	memcpy(s->b + s->n, h, 8);
	if (len > 0)
		memcpy(s->b + s->n + 8, p, len);
	memset(s->b + s->n + 8 + len, 0xee, pad);
	s->n += 8 + len + pad;
}

static void
begin(struct bytes *s, unsigned id, unsigned role, int keep)
{
	unsigned char b[8] = {(unsigned char)(role >> 8), (unsigned char)role,
	    (unsigned char)keep};

	rec(s, BEGIN, id, b, 8, 0);
}

/* One name-value pair, with a 4-byte length for a long value. */
static size_t
pair(unsigned char *p, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value), n = 0;

	p[n++] = (unsigned char)nl;
	if (vl < 128) {
		p[n++] = (unsigned char)vl;
	} else {
		p[n++] = (unsigned char)(0x80 | vl >> 24);
		p[n++] = (unsigned char)(vl >> 16);
		p[n++] = (unsigned char)(vl >> 8);
		p[n++] = (unsigned char)vl;
	}
	memcpy(p + n, name, nl);
	memcpy(p + n + nl, value, vl);
	return n + nl + vl;
}

/* Feeds n bytes to c in pieces of `step`, collecting the events. */
static int
feed(struct sgw_fcgi *c, const unsigned char *p, size_t n, size_t step,
    enum sgw_fcgi_event *evs, int max)
{
	int got = 0;

	for (size_t off = 0; off < n;) {
		size_t room, k = n - off < step ? n - off : step;
		unsigned char *dst = sgw_fcgi_space(c, k, &room);
		enum sgw_fcgi_event ev;

		assert_non_null(dst);
		assert_true(room >= k);
		memcpy(dst, p + off, k);
		c->in.len += k;
		off += k;
		while ((ev = sgw_fcgi_next(c)) != SGW_FCGI_MORE) {
			assert_true(got < max);
			evs[got++] = ev;
			if (ev == SGW_FCGI_CLOSE)
				return got;
			if (ev == SGW_FCGI_HEAD &&
			    c->role == SGW_FCGI_RESPONDER)
				sgw_fcgi_want_body(c, 16);
		}
	}
	return got;
}

struct seen {
	char names[32][64];
	char values[32][256];
	int n;
};

static void
collect(void *arg, const char *name, size_t nlen, const char *value)
{
	struct seen *s = arg;

	assert_true(s->n < 32 && nlen < 64 && strlen(value) < 256);
	memcpy(s->names[s->n], name, nlen);
	s->names[s->n][nlen] = '\0';
	strcpy(s->values[s->n], value);
	s->n++;
}

/* The record at *off of out: its type, id and content. */
static const unsigned char *
next_rec(
    const struct sgw_fcgi *c, size_t *off, int *type, unsigned *id, size_t *len)
{
	const unsigned char *h = c->out.data + *off;

	assert_true(*off + 8 <= c->out.len);
	assert_int_equal(h[0], 1);
	*type = h[1];
	*id = (unsigned)h[2] << 8 | h[3];
	*len = (size_t)h[4] << 8 | h[5];
	/* Every record we write is padded to a multiple of 8. */
	assert_int_equal((*len + h[6]) % 8, 0);
	*off += 8 + *len + h[6];
	assert_true(*off <= c->out.len);
	return h + 8;
}

/* A responder POST, fed whole and a byte at a time: one HEAD at the end
 * of PARAMS (split over two records, padded), one BODY at the end of
 * stdin, then an answer that closes the stream and the request. */
static void
responder_request_whole_and_bytewise(void **state)
{
	size_t steps[] = {1, 3, 8, 100000};
	(void)state;

	for (size_t t = 0; t < sizeof(steps) / sizeof(steps[0]); t++) {
		struct bytes *s = calloc(1, sizeof(*s));
		unsigned char p[512];
		size_t n = 0, off = 0, len;
		enum sgw_fcgi_event evs[8];
		struct sgw_fcgi c;
		struct seen seen = {0};
		const unsigned char *r;
		int type, got;
		unsigned id;

		sgw_fcgi_init(&c);
		begin(s, 7, SGW_FCGI_RESPONDER, 0);
		n += pair(p + n, "REQUEST_METHOD", "POST");
		n += pair(p + n, "HTTP_COOKIE", "a=b");
		rec(s, PARAMS, 7, p, 5, 3);
		rec(s, PARAMS, 7, p + 5, n - 5, 0);
		rec(s, PARAMS, 7, NULL, 0, 0);
		rec(s, STDIN, 7, "user=al", 7, 1);
		rec(s, STDIN, 7, "ice", 3, 0);
		rec(s, STDIN, 7, NULL, 0, 0);
		got = feed(&c, s->b, s->n, steps[t], evs, 8);
		assert_int_equal(got, 2);
		assert_int_equal(evs[0], SGW_FCGI_HEAD);
		assert_int_equal(evs[1], SGW_FCGI_BODY);
		assert_int_equal(c.role, SGW_FCGI_RESPONDER);
		assert_int_equal(c.id, 7);
		assert_int_equal(sgw_fcgi_params(&c, collect, &seen), 0);
		assert_int_equal(seen.n, 2);
		assert_string_equal(seen.names[0], "REQUEST_METHOD");
		assert_string_equal(seen.values[0], "POST");
		assert_string_equal(seen.names[1], "HTTP_COOKIE");
		assert_string_equal(seen.values[1], "a=b");
		assert_int_equal(c.body.len, 10);
		assert_string_equal((char *)c.body.data, "user=alice");
		assert_int_equal(c.body_too_large, 0);
		assert_true(sgw_fcgi_busy(&c));

		sgw_fcgi_stdout(&c, "Status: 200 OK\r\n\r\nhi", 20);
		assert_int_equal(sgw_fcgi_end(&c), 0);
		assert_false(sgw_fcgi_busy(&c));
		r = next_rec(&c, &off, &type, &id, &len);
		assert_int_equal(type, STDOUT);
		assert_int_equal(id, 7);
		assert_int_equal(len, 20);
		assert_memory_equal(r, "Status: 200 OK\r\n\r\nhi", 20);
		next_rec(&c, &off, &type, &id, &len);
		assert_int_equal(type, STDOUT);
		assert_int_equal(len, 0);
		r = next_rec(&c, &off, &type, &id, &len);
		assert_int_equal(type, END);
		assert_int_equal(id, 7);
		assert_int_equal(len, 8);
		assert_int_equal(r[4], 0); /* FCGI_REQUEST_COMPLETE */
		assert_int_equal(off, c.out.len);
		sgw_fcgi_sent(&c, 5);
		assert_int_equal(c.out.len, off - 5);
		sgw_fcgi_sent(&c, c.out.len);
		assert_int_equal(c.out.len, 0);
		sgw_fcgi_free(&c);
		free(s);
	}
}

/* An authorizer's request is whole at the end of PARAMS; its stdin, and
 * every record of no request in progress, is dropped; with KEEP_CONN the
 * next request on the connection is read the same way. */
static void
authorizer_kept_connection(void **state)
{
	struct bytes *s = calloc(1, sizeof(*s));
	unsigned char p[64];
	size_t n = pair(p, "REQUEST_URI", "/app/");
	enum sgw_fcgi_event evs[8];
	struct sgw_fcgi c;
	int got;
	(void)state;

	sgw_fcgi_init(&c);
	begin(s, 1, SGW_FCGI_AUTHORIZER, 1);
	rec(s, PARAMS, 1, p, n, 0);
	rec(s, PARAMS, 1, NULL, 0, 0);
	got = feed(&c, s->b, s->n, 1, evs, 8);
	assert_int_equal(got, 1);
	assert_int_equal(evs[0], SGW_FCGI_HEAD);
	assert_int_equal(c.role, SGW_FCGI_AUTHORIZER);
	assert_int_equal(c.keep, 1);
	assert_int_equal(sgw_fcgi_end(&c), 1);
	c.out.len = 0;

	s->n = 0;
	rec(s, STDIN, 1, NULL, 0, 0);        /* the last one's stdin */
	rec(s, PARAMS, 9, p, n, 0);          /* no such request */
	rec(s, DATA, 1, "x", 1, 7);          /* FILTER data */
	begin(s, 2, SGW_FCGI_AUTHORIZER, 1); /* the next request */
	rec(s, PARAMS, 2, p, n, 0);
	rec(s, PARAMS, 2, NULL, 0, 0);
	got = feed(&c, s->b, s->n, 5, evs, 8);
	assert_int_equal(got, 1);
	assert_int_equal(evs[0], SGW_FCGI_HEAD);
	assert_int_equal(c.id, 2);
	assert_int_equal(c.out.len, 0); /* nothing said about the strays */
	sgw_fcgi_free(&c);
	free(s);
}

/* FILTER and any other role: FCGI_END_REQUEST with FCGI_UNKNOWN_ROLE, and
 * the connection closes unless it is kept. */
static void
unknown_role_is_refused(void **state)
{
	unsigned roles[] = {3, 0, 7, 65535};
	(void)state;

	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		for (int keep = 0; keep <= 1; keep++) {
			struct bytes *s = calloc(1, sizeof(*s));
			enum sgw_fcgi_event evs[4];
			struct sgw_fcgi c;
			const unsigned char *r;
			size_t off = 0, len;
			int type, got;
			unsigned id;

			sgw_fcgi_init(&c);
			begin(s, 3, roles[i], keep);
			got = feed(&c, s->b, s->n, 100, evs, 4);
			assert_int_equal(got, keep ? 0 : 1);
			if (!keep)
				assert_int_equal(evs[0], SGW_FCGI_CLOSE);
			r = next_rec(&c, &off, &type, &id, &len);
			assert_int_equal(type, END);
			assert_int_equal(id, 3);
			assert_int_equal(r[4], 3); /* FCGI_UNKNOWN_ROLE */
			assert_int_equal(c.id, 0);
			sgw_fcgi_free(&c);
			free(s);
		}
	}
}

/* Management records: GET_VALUES answered with what it asks for that we
 * know; any other type with FCGI_UNKNOWN_TYPE; a second BEGIN_REQUEST
 * while one is in progress with FCGI_CANT_MPX_CONN. */
static void
management_and_multiplexing(void **state)
{
	struct bytes *s = calloc(1, sizeof(*s));
	unsigned char q[64];
	size_t n = 0, off = 0, len;
	enum sgw_fcgi_event evs[4];
	struct sgw_fcgi c;
	const unsigned char *r;
	int type;
	unsigned id;
	(void)state;

	n += pair(q + n, "FCGI_MPXS_CONNS", "");
	n += pair(q + n, "NO_SUCH", "");
	n += pair(q + n, "FCGI_MAX_CONNS", "");
	sgw_fcgi_init(&c);
	rec(s, GET_VALUES, 0, q, n, 0);
	rec(s, 42, 0, NULL, 0, 0);
	begin(s, 1, SGW_FCGI_RESPONDER, 0);
	begin(s, 2, SGW_FCGI_RESPONDER, 0);
	assert_int_equal(feed(&c, s->b, s->n, 2, evs, 4), 0);
	r = next_rec(&c, &off, &type, &id, &len);
	assert_int_equal(type, GET_VALUES_RESULT);
	assert_int_equal(id, 0);
	assert_int_equal(len, 2 + 15 + 1 + 2 + 14 + 2);
	assert_memory_equal(r,
	    "\x0f\x01"
	    "FCGI_MPXS_CONNS0",
	    18);
	assert_memory_equal(r + 18,
	    "\x0e\x02"
	    "FCGI_MAX_CONNS"
	    "64",
	    18);
	r = next_rec(&c, &off, &type, &id, &len);
	assert_int_equal(type, UNKNOWN_TYPE);
	assert_int_equal(r[0], 42);
	r = next_rec(&c, &off, &type, &id, &len);
	assert_int_equal(type, END);
	assert_int_equal(id, 2);
	assert_int_equal(r[4], 1); /* FCGI_CANT_MPX_CONN */
	assert_int_equal(off, c.out.len);
	assert_int_equal(c.id, 1); /* the first goes on */
	sgw_fcgi_free(&c);
	free(s);
}

/* What is not FastCGI, or a PARAMS stream that is not name-value pairs
 * (lengths past its end, a 4-byte length near INT_MAX that once aborted
 * libfcgi), is refused without a crash and without a parameter seen. */
static void
malformed_input_is_refused(void **state)
{
	static const unsigned char bad[][8] = {
	    {0x7f, 1, 0, 4, 0x7f, 0xff, 0xff, 0xff}, /* INT_MAX name */
	    {2, 1, 'A', 'B'},                        /* value past end */
	    {0x80, 0, 0},                            /* cut length */
	};
	static const size_t badlen[] = {8, 4, 3};
	(void)state;

	for (size_t i = 0; i < 3; i++) {
		struct bytes *s = calloc(1, sizeof(*s));
		enum sgw_fcgi_event evs[4];
		struct sgw_fcgi c;
		struct seen seen = {0};
		unsigned char ok[32];
		size_t n = pair(ok, "A", "b");

		memcpy(ok + n, bad[i], badlen[i]);
		sgw_fcgi_init(&c);
		begin(s, 1, SGW_FCGI_AUTHORIZER, 0);
		rec(s, PARAMS, 1, ok, n + badlen[i], 0);
		rec(s, PARAMS, 1, NULL, 0, 0);
		assert_int_equal(feed(&c, s->b, s->n, 100, evs, 4), 1);
		assert_int_equal(evs[0], SGW_FCGI_HEAD);
		assert_int_equal(sgw_fcgi_params(&c, collect, &seen), -1);
		assert_int_equal(seen.n, 0);
		sgw_fcgi_free(&c);
		free(s);
	}

	/* HTTP sent to the FastCGI port, and a short BEGIN_REQUEST. */
	{
		static const char http[] = "GET / HTTP/1.1\r\n\r\n";
		struct bytes *s = calloc(1, sizeof(*s));
		enum sgw_fcgi_event evs[4];
		struct sgw_fcgi c;

		sgw_fcgi_init(&c);
		assert_int_equal(feed(&c, (const unsigned char *)http,
		                     sizeof(http) - 1, 100, evs, 4),
		    1);
		assert_int_equal(evs[0], SGW_FCGI_CLOSE);
		sgw_fcgi_free(&c);
		sgw_fcgi_init(&c);
		rec(s, BEGIN, 1, "\0\1", 2, 0);
		assert_int_equal(feed(&c, s->b, s->n, 100, evs, 4), 1);
		assert_int_equal(evs[0], SGW_FCGI_CLOSE);
		sgw_fcgi_free(&c);
		free(s);
	}
}

/* PARAMS past SGW_FCGI_PARAMS_MAX: TOO_LARGE, once; a body past what the
 * caller asked for: BODY at once, cut, marked too large. */
static void
lengths_are_bounded(void **state)
{
	struct bytes *s = calloc(1, sizeof(*s));
	static unsigned char big[60000];
	enum sgw_fcgi_event evs[8];
	struct sgw_fcgi c;
	int got;
	(void)state;

	memset(big, 'x', sizeof(big));
	sgw_fcgi_init(&c);
	begin(s, 1, SGW_FCGI_AUTHORIZER, 0);
	for (int i = 0; i < 3; i++)
		rec(s, PARAMS, 1, big, sizeof(big), 0);
	rec(s, PARAMS, 1, NULL, 0, 0);
	got = feed(&c, s->b, s->n, 4096, evs, 8);
	assert_int_equal(got, 1);
	assert_int_equal(evs[0], SGW_FCGI_TOO_LARGE);
	assert_true(c.params.len <= SGW_FCGI_PARAMS_MAX);
	sgw_fcgi_free(&c);

	s->n = 0;
	sgw_fcgi_init(&c);
	begin(s, 1, SGW_FCGI_RESPONDER, 0);
	rec(s, PARAMS, 1, NULL, 0, 0);
	rec(s, STDIN, 1, big, 10, 0);
	rec(s, STDIN, 1, big, 10, 0); /* 20 > 16 (feed asks for 16) */
	rec(s, STDIN, 1, big, 10, 0);
	rec(s, STDIN, 1, NULL, 0, 0);
	got = feed(&c, s->b, s->n, 7, evs, 8);
	assert_int_equal(got, 2);
	assert_int_equal(evs[1], SGW_FCGI_BODY);
	assert_int_equal(c.body.len, 16);
	assert_int_equal(c.body_too_large, 1);
	sgw_fcgi_free(&c);
	free(s);
}

/* An answer longer than a record's 65535 bytes goes out in several STDOUT
 * records, whose contents make the answer again. */
static void
long_answer_is_split(void **state)
{
	struct bytes *s = calloc(1, sizeof(*s));
	size_t total = 150000, off = 0, len, got = 0;
	unsigned char *ans = malloc(total);
	enum sgw_fcgi_event evs[4];
	struct sgw_fcgi c;
	int type, nrec = 0;
	unsigned id;
	(void)state;

	for (size_t i = 0; i < total; i++)
		ans[i] = (unsigned char)(i * 7);
	sgw_fcgi_init(&c);
	begin(s, 5, SGW_FCGI_AUTHORIZER, 0);
	rec(s, PARAMS, 5, NULL, 0, 0);
	assert_int_equal(feed(&c, s->b, s->n, 100, evs, 4), 1);
	sgw_fcgi_stdout(&c, ans, 100);
	sgw_fcgi_stdout(&c, ans + 100, total - 100);
	sgw_fcgi_end(&c);
	for (;;) {
		const unsigned char *r = next_rec(&c, &off, &type, &id, &len);

		assert_int_equal(id, 5);
		if (type == END)
			break;
		assert_int_equal(type, STDOUT);
		assert_true(got + len <= total);
		assert_memory_equal(r, ans + got, len);
		got += len;
		nrec++;
	}
	assert_int_equal(got, total);
	assert_int_equal(nrec, 4); /* 3 with content, 1 empty */
	sgw_fcgi_free(&c);
	free(ans);
	free(s);
}

/* FCGI_ABORT_REQUEST ends the request in progress (END_REQUEST), and the
 * connection unless it is kept. */
static void
abort_ends_the_request(void **state)
{
	(void)state;

	for (int keep = 0; keep <= 1; keep++) {
		struct bytes *s = calloc(1, sizeof(*s));
		enum sgw_fcgi_event evs[4];
		struct sgw_fcgi c;
		size_t off = 0, len;
		int type, got;
		unsigned id;

		sgw_fcgi_init(&c);
		begin(s, 4, SGW_FCGI_RESPONDER, keep);
		rec(s, ABORT, 4, NULL, 0, 0);
		got = feed(&c, s->b, s->n, 100, evs, 4);
		assert_int_equal(got, keep ? 0 : 1);
		next_rec(&c, &off, &type, &id, &len);
		assert_int_equal(type, END);
		assert_int_equal(id, 4);
		assert_false(sgw_fcgi_busy(&c));
		sgw_fcgi_free(&c);
		free(s);
	}
}

/* Quiet, so closed without lingering: a request answered whose stdin has
 * ended, with nothing after it. Not while the stdin of a GET answered at
 * its head is still on the way, nor after an authorizer's request (which
 * has none), nor with anything unread. */
static void
quiet_after_the_whole_request(void **state)
{
	struct bytes *s = calloc(1, sizeof(*s));
	unsigned char p[64];
	size_t n = pair(p, "REQUEST_METHOD", "GET");
	enum sgw_fcgi_event evs[4];
	struct sgw_fcgi c;
	(void)state;

	sgw_fcgi_init(&c);
	assert_false(sgw_fcgi_quiet(&c)); /* nothing answered yet */
	begin(s, 1, SGW_FCGI_RESPONDER, 0);
	rec(s, PARAMS, 1, p, n, 0);
	rec(s, PARAMS, 1, NULL, 0, 0);
	/* A responder's HEAD: feed() asks for a body, which a GET is
	 * answered without, so the answer is given here at the head. */
	assert_int_equal(feed(&c, s->b, s->n, 100, evs, 4), 1);
	assert_int_equal(sgw_fcgi_end(&c), 0);
	assert_false(sgw_fcgi_quiet(&c)); /* its stdin still to come */
	s->n = 0;
	rec(s, STDIN, 1, NULL, 0, 0);
	assert_int_equal(feed(&c, s->b, s->n, 100, evs, 4), 0);
	assert_true(sgw_fcgi_quiet(&c));
	s->n = 0;
	rec(s, STDIN, 9, NULL, 0, 0); /* of no request: still quiet */
	assert_int_equal(feed(&c, s->b, s->n, 100, evs, 4), 0);
	assert_true(sgw_fcgi_quiet(&c));
	s->n = 0;
	rec(s, STDIN, 1, "x", 1, 0);
	{
		size_t room;
		unsigned char *d = sgw_fcgi_space(&c, 4, &room);

		memcpy(d, s->b, 4); /* half a record, unread */
		c.in.len += 4;
	}
	assert_false(sgw_fcgi_quiet(&c));
	sgw_fcgi_free(&c);

	/* A POST answered at its BODY: stdin has ended. */
	sgw_fcgi_init(&c);
	s->n = 0;
	n = pair(p, "REQUEST_METHOD", "POST");
	begin(s, 2, SGW_FCGI_RESPONDER, 0);
	rec(s, PARAMS, 2, p, n, 0);
	rec(s, PARAMS, 2, NULL, 0, 0);
	rec(s, STDIN, 2, "a=b", 3, 5);
	rec(s, STDIN, 2, NULL, 0, 0);
	assert_int_equal(feed(&c, s->b, s->n, 3, evs, 4), 2);
	assert_int_equal(evs[1], SGW_FCGI_BODY);
	sgw_fcgi_end(&c);
	assert_true(sgw_fcgi_quiet(&c));
	sgw_fcgi_free(&c);

	/* An authorizer: no stdin ever, so never known to be over. */
	sgw_fcgi_init(&c);
	s->n = 0;
	begin(s, 3, SGW_FCGI_AUTHORIZER, 0);
	rec(s, PARAMS, 3, NULL, 0, 0);
	assert_int_equal(feed(&c, s->b, s->n, 100, evs, 4), 1);
	sgw_fcgi_end(&c);
	assert_false(sgw_fcgi_quiet(&c));
	sgw_fcgi_free(&c);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(responder_request_whole_and_bytewise),
	    cmocka_unit_test(authorizer_kept_connection),
	    cmocka_unit_test(unknown_role_is_refused),
	    cmocka_unit_test(management_and_multiplexing),
	    cmocka_unit_test(malformed_input_is_refused),
	    cmocka_unit_test(lengths_are_bounded),
	    cmocka_unit_test(long_answer_is_split),
	    cmocka_unit_test(abort_ends_the_request),
	    cmocka_unit_test(quiet_after_the_whole_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
