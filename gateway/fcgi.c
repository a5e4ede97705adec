#include "fcgi.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* The FastCGI specification, version 1. */
#define HEADER_LEN 8
#define VERSION_1 1
#define CHUNK 65528 /* a STDOUT record's content: 8 * 8191, no padding */
#define STR(x) STR_(x)
#define STR_(x) #x

enum {
	BEGIN_REQUEST = 1,
	ABORT_REQUEST = 2,
	END_REQUEST = 3,
	PARAMS = 4,
	STDIN = 5,
	STDOUT = 6,
	GET_VALUES = 9,
	GET_VALUES_RESULT = 10,
	UNKNOWN_TYPE = 11,
};

enum { KEEP_CONN = 1 };
enum { REQUEST_COMPLETE = 0, CANT_MPX_CONN = 1, UNKNOWN_ROLE = 3 };

#define NO_STDOUT SIZE_MAX

static void reset_request(struct sgw_fcgi *c);

static int
reserve(struct sgw_fcgi *c, struct sgw_fcgi_bytes *b, size_t more)
{
	size_t cap;
	unsigned char *p;

	if (more <= b->cap - b->len)
		return 0;
	if (more > SIZE_MAX / 2 - b->len) {
		c->oom = 1;
		return -1;
	}
	for (cap = b->cap ? b->cap : 1024; cap - b->len < more; cap *= 2)
		;
	if ((p = realloc(b->data, cap)) == NULL) {
		c->oom = 1;
		return -1;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

static void
add(struct sgw_fcgi *c, struct sgw_fcgi_bytes *b, const void *p, size_t n)
{
	if (n > 0 && reserve(c, b, n) == 0) {
		memcpy(b->data + b->len, p, n);
		b->len += n;
	}
}

static void
header(unsigned char h[HEADER_LEN], int type, unsigned id, size_t clen,
    unsigned pad)
{
	h[0] = VERSION_1;
	h[1] = (unsigned char)type;
	h[2] = (unsigned char)(id >> 8);
	h[3] = (unsigned char)id;
	h[4] = (unsigned char)(clen >> 8);
	h[5] = (unsigned char)clen;
	h[6] = (unsigned char)pad;
	h[7] = 0;
}

/* A record with content of at most 255 bytes, padded to a multiple of 8. */
static void
put_record(
    struct sgw_fcgi *c, int type, unsigned id, const void *content, size_t clen)
{
	unsigned char r[HEADER_LEN + 255 + 7] = {0};
	unsigned pad = (unsigned)(-clen & 7);

	header(r, type, id, clen, pad);
	if (clen > 0)
		memcpy(r + HEADER_LEN, content, clen);
	add(c, &c->out, r, HEADER_LEN + clen + pad);
}

static void
end_request(struct sgw_fcgi *c, unsigned id, int protocol_status)
{
	unsigned char body[8] = {0};

	body[4] = (unsigned char)protocol_status;
	put_record(c, END_REQUEST, id, body, sizeof(body));
}

void
sgw_fcgi_init(struct sgw_fcgi *c)
{
	memset(c, 0, sizeof(*c));
	c->stdout_at = NO_STDOUT;
}

void
sgw_fcgi_free(struct sgw_fcgi *c)
{
	free(c->in.data);
	free(c->out.data);
	free(c->params.data);
	free(c->body.data);
	sgw_fcgi_init(c);
}

void
sgw_fcgi_reset(struct sgw_fcgi *c)
{
	reset_request(c);
	c->last_id = 0;
	c->last_complete = 0;
	c->in.len = 0;
	c->pos = 0;
	c->out.len = 0;
	c->oom = 0;
	if (c->in.cap > 16384 || c->out.cap > 16384) {
		free(c->in.data);
		free(c->out.data);
		c->in = c->out = (struct sgw_fcgi_bytes){0};
	}
}

unsigned char *
sgw_fcgi_space(struct sgw_fcgi *c, size_t want, size_t *room)
{
	/* What is taken apart goes; a record still arriving moves to the
	 * front (at most one, so the buffer stays below 64 KiB + want). */
	if (c->pos > 0) {
		memmove(c->in.data, c->in.data + c->pos, c->in.len - c->pos);
		c->in.len -= c->pos;
		c->pos = 0;
	}
	if (reserve(c, &c->in, want) == -1)
		return NULL;
	*room = c->in.cap - c->in.len;
	return c->in.data + c->in.len;
}

/* The request is over: ready for the next one on the connection. */
static void
reset_request(struct sgw_fcgi *c)
{
	c->id = 0;
	c->role = 0;
	c->keep = 0;
	c->head = 0;
	c->want_body = 0;
	c->body_max = 0;
	c->body_done = 0;
	c->body_too_large = 0;
	c->params.len = 0;
	c->body.len = 0;
	c->stdout_at = NO_STDOUT;
	c->stdin_ended = 0;
	/* A large request's buffers are not kept for the next one. */
	if (c->params.cap > 16384) {
		free(c->params.data);
		c->params = (struct sgw_fcgi_bytes){0};
	}
	if (c->body.cap > 16384) {
		free(c->body.data);
		c->body = (struct sgw_fcgi_bytes){0};
	}
}

/* A name-value length at p (1 or 4 bytes), or -1 past end. */
static int
nv_len(const unsigned char **p, const unsigned char *end, size_t *len)
{
	if (*p >= end)
		return -1;
	if (**p < 0x80) {
		*len = *(*p)++;
		return 0;
	}
	if (end - *p < 4)
		return -1;
	*len = (size_t)((*p)[0] & 0x7f) << 24 | (size_t)(*p)[1] << 16 |
	    (size_t)(*p)[2] << 8 | (*p)[3];
	*p += 4;
	return 0;
}

/* The next pair at *p: its name and value (borrowed). -1 when malformed. */
static int
nv_pair(const unsigned char **p, const unsigned char *end,
    const unsigned char **name, size_t *nlen, const unsigned char **value,
    size_t *vlen)
{
	if (nv_len(p, end, nlen) == -1 || nv_len(p, end, vlen) == -1 ||
	    *nlen > (size_t)(end - *p) || *vlen > (size_t)(end - *p) - *nlen)
		return -1;
	*name = *p;
	*value = *p + *nlen;
	*p += *nlen + *vlen;
	return 0;
}

/* FCGI_GET_VALUES: what it asks for of what we know (every name and
 * value is shorter than 128 bytes: one length byte each). */
static void
get_values(struct sgw_fcgi *c, const unsigned char *q, size_t n)
{
	static const struct {
		const char *name, *value;
	} known[] = {
	    {"FCGI_MAX_CONNS", STR(SGW_FCGI_CONNS_MAX)},
	    {"FCGI_MAX_REQS", STR(SGW_FCGI_CONNS_MAX)},
	    {"FCGI_MPXS_CONNS", "0"},
	};
	const unsigned char *end = q + n, *name, *value;
	unsigned char reply[255];
	size_t len = 0, nlen, vlen;

	while (q < end && nv_pair(&q, end, &name, &nlen, &value, &vlen) == 0) {
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
			size_t kn = strlen(known[i].name);
			size_t kv = strlen(known[i].value);

			if (nlen != kn ||
			    memcmp(name, known[i].name, kn) != 0 ||
			    len + 2 + kn + kv > sizeof(reply))
				continue;
			reply[len++] = (unsigned char)kn;
			reply[len++] = (unsigned char)kv;
			memcpy(reply + len, known[i].name, kn);
			len += kn;
			memcpy(reply + len, known[i].value, kv);
			len += kv;
		}
	}
	put_record(c, GET_VALUES_RESULT, 0, reply, len);
}

static enum sgw_fcgi_event
management(struct sgw_fcgi *c, int type, const unsigned char *p, size_t n)
{
	if (type == GET_VALUES) {
		get_values(c, p, n);
	} else {
		unsigned char body[8] = {(unsigned char)type};

		put_record(c, UNKNOWN_TYPE, 0, body, sizeof(body));
	}
	return SGW_FCGI_MORE;
}

static enum sgw_fcgi_event
begin(struct sgw_fcgi *c, unsigned id, const unsigned char *p, size_t n)
{
	unsigned role;

	if (n < 8)
		return SGW_FCGI_CLOSE;
	if (c->id != 0) {
		end_request(c, id, CANT_MPX_CONN);
		return SGW_FCGI_MORE;
	}
	role = (unsigned)p[0] << 8 | p[1];
	if (role != SGW_FCGI_RESPONDER && role != SGW_FCGI_AUTHORIZER) {
		end_request(c, id, UNKNOWN_ROLE);
		log_info("refused FastCGI role %u: only RESPONDER and "
		         "AUTHORIZER are served",
		    role);
		return p[2] & KEEP_CONN ? SGW_FCGI_MORE : SGW_FCGI_CLOSE;
	}
	c->id = id;
	c->role = role;
	c->keep = p[2] & KEEP_CONN;
	return SGW_FCGI_MORE;
}

static enum sgw_fcgi_event
params(struct sgw_fcgi *c, const unsigned char *p, size_t n)
{
	if (c->head)
		return SGW_FCGI_MORE;
	if (n == 0) {
		c->head = 1;
		return SGW_FCGI_HEAD;
	}
	if (n > SGW_FCGI_PARAMS_MAX - c->params.len) {
		/* The answer is the caller's; what is still on the way is
		 * dropped with the request. */
		c->head = 1;
		return SGW_FCGI_TOO_LARGE;
	}
	add(c, &c->params, p, n);
	return c->oom ? SGW_FCGI_CLOSE : SGW_FCGI_MORE;
}

/* The body ends with a NUL (not counted), for the form parser. */
static enum sgw_fcgi_event
terminate_body(struct sgw_fcgi *c)
{
	if (reserve(c, &c->body, 1) == -1)
		return SGW_FCGI_CLOSE;
	c->body.data[c->body.len] = '\0';
	return SGW_FCGI_BODY;
}

static enum sgw_fcgi_event
body(struct sgw_fcgi *c, const unsigned char *p, size_t n)
{
	size_t keep;

	if (n == 0)
		c->stdin_ended = 1;
	if (!c->head || !c->want_body || c->body_done)
		return SGW_FCGI_MORE;
	if (n == 0) {
		c->body_done = 1;
		return terminate_body(c);
	}
	/* body_max + 1 bytes at most: the one more says "too large". */
	keep = c->body_max + 1 - c->body.len;
	if (keep > n)
		keep = n;
	add(c, &c->body, p, keep);
	if (c->oom)
		return SGW_FCGI_CLOSE;
	if (c->body.len > c->body_max) {
		c->body.len = c->body_max;
		c->body_too_large = 1;
		c->body_done = 1;
		return terminate_body(c);
	}
	return SGW_FCGI_MORE;
}

enum sgw_fcgi_event
sgw_fcgi_next(struct sgw_fcgi *c)
{
	while (!c->oom && c->in.len - c->pos >= HEADER_LEN) {
		const unsigned char *h = c->in.data + c->pos,
		                    *p = h + HEADER_LEN;
		int type = h[1];
		unsigned id = (unsigned)h[2] << 8 | h[3];
		size_t n = (size_t)h[4] << 8 | h[5];
		enum sgw_fcgi_event ev = SGW_FCGI_MORE;

		if (h[0] != VERSION_1)
			return SGW_FCGI_CLOSE;
		if (c->in.len - c->pos < HEADER_LEN + n + h[6])
			break;
		c->pos += HEADER_LEN + n + h[6];
		if (id == 0)
			ev = management(c, type, p, n);
		else if (type == BEGIN_REQUEST)
			ev = begin(c, id, p, n);
		else if (id != c->id) {
			/* Of no request in progress: dropped. The end of the
			 * last one's stdin is noted (sgw_fcgi_quiet). */
			if (type == STDIN && n == 0 && id == c->last_id)
				c->last_complete = 1;
		} else if (type == PARAMS)
			ev = params(c, p, n);
		else if (type == STDIN)
			ev = body(c, p, n);
		else if (type == ABORT_REQUEST) {
			int keep = c->keep;

			end_request(c, id, REQUEST_COMPLETE);
			reset_request(c);
			ev = keep ? SGW_FCGI_MORE : SGW_FCGI_CLOSE;
		}
		if (ev != SGW_FCGI_MORE)
			return ev;
	}
	return c->oom ? SGW_FCGI_CLOSE : SGW_FCGI_MORE;
}

/* The two lengths of the pair at *p, checked against end; *p moves to
 * its name. -1 when they do not fit. */
static inline int
nv_lens(const unsigned char **p, const unsigned char *end, size_t *nlen,
    size_t *vlen)
{
	/* Nearly every pair has two one-byte lengths. */
	if (end - *p >= 2 && ((*p)[0] | (*p)[1]) < 0x80) {
		*nlen = (*p)[0];
		*vlen = (*p)[1];
		*p += 2;
	} else if (nv_len(p, end, nlen) == -1 || nv_len(p, end, vlen) == -1)
		return -1;
	if (*nlen > (size_t)(end - *p) || *vlen > (size_t)(end - *p) - *nlen)
		return -1;
	return 0;
}

int
sgw_fcgi_params(struct sgw_fcgi *c,
    void (*fn)(void *arg, const char *name, size_t nlen, const char *value),
    void *arg)
{
	unsigned char *p, *end;
	size_t nlen, vlen;

	if (c->params.len == 0)
		return 0;
	/* Room for the NUL after the last value. */
	if (reserve(c, &c->params, 1) == -1)
		return -1;
	p = c->params.data;
	end = p + c->params.len;
	c->params.len = 0;
	if (nv_lens((const unsigned char **)&p, end, &nlen, &vlen) == -1)
		return -1;
	/* In place, without a copy: a value's NUL goes on the first length
	 * byte of the next pair, once that pair's lengths are read. */
	for (;;) {
		unsigned char *name = p, *value = p + nlen,
		              *next = value + vlen;
		size_t nl = nlen;

		if (next < end) {
			p = next;
			if (nv_lens((const unsigned char **)&p, end, &nlen,
			        &vlen) == -1)
				return -1;
		}
		*next = '\0';
		fn(arg, (const char *)name, nl, (const char *)value);
		if (next == end)
			return 0;
	}
}

void
sgw_fcgi_want_body(struct sgw_fcgi *c, size_t max)
{
	c->want_body = 1;
	c->body_max = max;
}

/* Writes the header of the open STDOUT record, padded to 8. */
static void
close_stdout(struct sgw_fcgi *c)
{
	size_t clen;
	unsigned pad;

	if (c->stdout_at == NO_STDOUT || c->oom)
		return;
	clen = c->out.len - c->stdout_at - HEADER_LEN;
	pad = (unsigned)(-clen & 7);
	header(c->out.data + c->stdout_at, STDOUT, c->id, clen, pad);
	if (reserve(c, &c->out, pad) == 0) {
		memset(c->out.data + c->out.len, 0, pad);
		c->out.len += pad;
	}
	c->stdout_at = NO_STDOUT;
}

void
sgw_fcgi_stdout(struct sgw_fcgi *c, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len > 0 && !c->oom) {
		size_t room, n;

		if (c->stdout_at == NO_STDOUT) {
			if (reserve(c, &c->out, HEADER_LEN + len) == -1)
				return;
			c->stdout_at = c->out.len;
			c->out.len += HEADER_LEN;
		}
		room = CHUNK - (c->out.len - c->stdout_at - HEADER_LEN);
		n = len < room ? len : room;
		add(c, &c->out, p, n);
		p += n;
		len -= n;
		if (n == room)
			close_stdout(c);
	}
}

int
sgw_fcgi_end(struct sgw_fcgi *c)
{
	int keep = c->keep;

	close_stdout(c);
	put_record(c, STDOUT, c->id, NULL, 0);
	end_request(c, c->id, REQUEST_COMPLETE);
	c->last_id = c->id;
	c->last_complete = c->stdin_ended;
	reset_request(c);
	return keep;
}

int
sgw_fcgi_quiet(const struct sgw_fcgi *c)
{
	return c->id == 0 && c->pos == c->in.len && c->last_id != 0 &&
	    c->last_complete;
}

int
sgw_fcgi_busy(const struct sgw_fcgi *c)
{
	return c->id != 0 || c->pos < c->in.len;
}

void
sgw_fcgi_sent(struct sgw_fcgi *c, size_t n)
{
	if (n >= c->out.len) {
		c->out.len = 0;
		return;
	}
	memmove(c->out.data, c->out.data + n, c->out.len - n);
	c->out.len -= n;
}
