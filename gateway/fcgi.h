/*
 * fcgi: the FastCGI protocol (version 1) as a worker speaks it, on one
 * connection, with no I/O of its own: the worker puts the bytes it reads
 * in, takes the requests out and sends what piles up in `out`.
 *
 * One request at a time on a connection (FCGI_MPXS_CONNS is 0); a
 * BEGIN_REQUEST for a second one is answered with FCGI_CANT_MPX_CONN, a
 * role other than RESPONDER and AUTHORIZER with FCGI_UNKNOWN_ROLE, an
 * FCGI_GET_VALUES with what it asks for, any other management record with
 * FCGI_UNKNOWN_TYPE. Records of no request in progress (the rest of a
 * body nobody asked for, an authorizer's empty stdin) are dropped. Every
 * length is bounded: PARAMS by SGW_FCGI_PARAMS_MAX, the body by what the
 * caller asks for, and a record is at most 8 + 65535 + 255 bytes.
 *
 * Why not libfcgi: it blocks in every read, so a worker could not hold a
 * connection that is still sending while it serves another (SPEC section
 * 2, request_timeout); it allocates for every parameter; and a
 * hand-made PARAMS record aborts it (INTEGRATION.md). nginx, lighttpd and
 * php-fpm each carry their own few hundred lines for the same reasons.
 */
#ifndef SGW_FCGI_H
#define SGW_FCGI_H

#include <stddef.h>

#define SGW_FCGI_PARAMS_MAX (128 * 1024) /* the PARAMS stream of a request */
#define SGW_FCGI_CONNS_MAX 64            /* connections one worker holds */
#define SGW_FCGI_RESPONDER 1
#define SGW_FCGI_AUTHORIZER 2

struct sgw_fcgi_bytes {
	unsigned char *data; /* malloc'd */
	size_t len, cap;
};

struct sgw_fcgi {
	struct sgw_fcgi_bytes in;  /* read, not yet taken apart */
	size_t pos;                /* in.data[0..pos) is taken apart */
	struct sgw_fcgi_bytes out; /* to send: answers, management replies */
	int oom;                   /* an allocation failed: close */

	/* The request in progress (id != 0). */
	unsigned id;
	unsigned role; /* SGW_FCGI_RESPONDER or SGW_FCGI_AUTHORIZER */
	int keep;      /* FCGI_KEEP_CONN: the connection outlives it */
	int head;      /* PARAMS has ended */
	int want_body; /* the caller reads stdin, up to body_max */
	size_t body_max;
	int body_done; /* stdin has ended, or passed body_max */
	int body_too_large;
	struct sgw_fcgi_bytes params; /* the PARAMS stream */
	struct sgw_fcgi_bytes body;   /* stdin, at most body_max + 1 bytes */
	size_t stdout_at;             /* out offset of the open STDOUT record */
	int stdin_ended;              /* its empty STDIN record came */

	unsigned last_id;  /* the request answered last */
	int last_complete; /* ... and its stdin had ended */
};

enum sgw_fcgi_event {
	SGW_FCGI_MORE,      /* nothing to do until more bytes arrive */
	SGW_FCGI_HEAD,      /* a request's parameters are all here */
	SGW_FCGI_BODY,      /* the body asked for is all here (or too long) */
	SGW_FCGI_TOO_LARGE, /* PARAMS passed SGW_FCGI_PARAMS_MAX */
	SGW_FCGI_CLOSE,     /* not FastCGI, or an aborted request without
	                     * FCGI_KEEP_CONN, or out of memory: send `out`
	                     * and close */
};

void sgw_fcgi_init(struct sgw_fcgi *c);
void sgw_fcgi_free(struct sgw_fcgi *c);
/* Ready for a new connection; small buffers are kept for it. */
void sgw_fcgi_reset(struct sgw_fcgi *c);

/* Room for at least `want` more bytes at in.data + in.len (the caller
 * reads into it and adds to in.len). NULL when out of memory. */
unsigned char *sgw_fcgi_space(struct sgw_fcgi *c, size_t want, size_t *room);

/* Takes the whole records that have arrived apart until one makes an
 * event. After HEAD, the caller either answers at once or calls
 * sgw_fcgi_want_body and goes on until BODY. */
enum sgw_fcgi_event sgw_fcgi_next(struct sgw_fcgi *c);

/* Calls fn for each parameter of the request whose HEAD came, in the
 * order sent; names are not NUL-terminated, values are. Returns -1 when
 * the PARAMS stream is not a list of name-value pairs: then the calls
 * made so far describe no request. Once per request: it decodes in
 * place. */
int sgw_fcgi_params(struct sgw_fcgi *c,
    void (*fn)(void *arg, const char *name, size_t nlen, const char *value),
    void *arg);

/* The request's body is read, up to max bytes (max + 1 tells "more"). */
void sgw_fcgi_want_body(struct sgw_fcgi *c, size_t max);

/* The answer: appended to the STDOUT stream, which sgw_fcgi_end closes,
 * together with the request (FCGI_END_REQUEST, FCGI_REQUEST_COMPLETE).
 * sgw_fcgi_end returns whether the connection is kept. */
void sgw_fcgi_stdout(struct sgw_fcgi *c, const void *data, size_t len);
int sgw_fcgi_end(struct sgw_fcgi *c);

/* A request is in progress (begun and not ended): what a kept connection
 * must not have when it is closed for being idle. */
int sgw_fcgi_busy(const struct sgw_fcgi *c);

/* The peer has nothing more to send: no request in progress, nothing
 * unread, and the stdin of the last one ended. Closing then cannot reset
 * the connection under an answer the peer has not read yet, so there is
 * no need to linger for its close. (A web server sends nothing after a
 * request's stdin unless it keeps the connection.) */
int sgw_fcgi_quiet(const struct sgw_fcgi *c);

/* Drops what was sent (the first n bytes of out). */
void sgw_fcgi_sent(struct sgw_fcgi *c, size_t n);

#endif
