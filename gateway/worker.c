/*
 * worker: one worker's life. Take connections, read FastCGI requests off
 * them (fcgi.c), build the request struct, dispatch, write the answer;
 * until told to stop or recycled.
 *
 * Every socket is non-blocking and the worker waits in one epoll set, the
 * way nginx does, so that:
 * - no peer can hold a worker (SPEC section 2, request_timeout): a
 *   connection whose request is still arriving is one of up to
 *   SGW_FCGI_CONNS_MAX the worker holds, and the requests on the others
 *   are served as they complete. One that has not delivered a whole
 *   request by its deadline (request_timeout from the accept, or from
 *   the end of the last answer on a kept connection) is closed. An
 *   answer the peer does not read is given request_timeout too.
 * - allowed_clients is checked against this worker's configuration, so a
 *   SIGHUP applies it.
 * - a graceful stop serves the connections already queued (SPEC section
 *   2): a stopping worker takes what is queued, stops at EAGAIN, and
 *   serves it.
 * - an answered connection that is not kept is closed at once when the
 *   peer has sent the whole request, its stdin included, and so has
 *   nothing more to send (sgw_fcgi_quiet). Otherwise it is half closed
 *   and read until the peer closes too (for LINGER_MS at most): closing
 *   with unread data would send a reset, which can make the peer drop the
 *   answer it has not read yet. The worker serves others meanwhile.
 *
 * A new connection is read at once: a web server sends its request as
 * soon as it has connected, so a check usually costs accept4, one recv,
 * one send and close.
 *
 * A request is served start to end once it is whole: the store calls
 * block, bounded by the store's own timeouts. With a store that reads
 * ahead (Redis, PostgreSQL), the requests that became whole at one
 * wakeup are served together, after their sessions were read in one
 * round trip (serve_waiting; docs/DESIGN.md "Reading sessions ahead").
 * Then one worker leads: the others leave it the connections that come
 * while it waits for the store, so that it takes them together (lead.h).
 * Signals are blocked except in epoll_pwait().
 */
#include "worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fcgi.h"
#include "handlers.h"
#include "lead.h"
#include "log.h"
#include "metrics.h"
#include "proc.h"
#include "store.h"
#include "timefmt.h"

#define LINGER_MS 1000     /* at most, for a peer to close after our answer */
#define RETIRE_WAIT_MS 500 /* for requests on the way, when retired */
#define READ_CHUNK 4096    /* room for each read */
#define ACCEPT_BATCH 8     /* connections taken at a wakeup, reading ahead */

static volatile sig_atomic_t stopping; /* SIGTERM, SIGINT or SIGUSR2 */
static volatile sig_atomic_t no_drain; /* SIGUSR2: a reload retires us */
static volatile sig_atomic_t reopen_log;

static sigset_t mask_run;  /* every handled signal blocked */
static sigset_t mask_idle; /* none blocked: waiting for work */

static void
on_term(int sig)
{
	stopping = 1;
	if (sig == SIGUSR2)
		no_drain = 1;
}

static void
on_usr1(int sig)
{
	(void)sig;
	reopen_log = 1;
}

static void
install_signals(void)
{
	/* They only arrive while we wait in epoll_pwait(). */
	static const struct sgw_proc_handler h[] = {
	    {SIGTERM, on_term},
	    {SIGINT, on_term},
	    {SIGUSR2, on_term},
	    {SIGUSR1, on_usr1},
	};

	sgw_proc_signals(h, sizeof(h) / sizeof(h[0]));
	sigemptyset(&mask_run);
	for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++)
		sigaddset(&mask_run, h[i].sig);
	sigemptyset(&mask_idle);
	sigprocmask(SIG_SETMASK, &mask_run, NULL);
}

/* allowed_clients: comma-separated IPv4 addresses, "" = anyone. */
static int
peer_allowed(const char *list, const struct sockaddr_in *sin)
{
	uint32_t peer = ntohl(sin->sin_addr.s_addr);
	const char *p = list;

	if (list[0] == '\0')
		return 1;
	while (*p != '\0') {
		char one[16];
		size_t n = strcspn(p, ",");
		uint32_t a;

		if (n < sizeof(one)) {
			memcpy(one, p, n);
			one[n] = '\0';
			if (sgw_ipv4_parse(one, &a) == 0 && a == peer)
				return 1;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

enum take { TAKE_NONE = -1, TAKE_AGAIN = -2, TAKE_FAIL = -3 };

/*
 * The next connection from the (non-blocking) listening socket. Returns
 * its fd, or TAKE_NONE (nothing queued, or another worker was quicker),
 * TAKE_AGAIN (one that went away or was refused: try again), TAKE_FAIL
 * (the listening socket is broken: logged).
 */
static int
take_connection(int lfd, const struct sgw_conf *conf)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int c;

	if ((c = accept4(lfd, (struct sockaddr *)&ss, &len,
	         SOCK_CLOEXEC | SOCK_NONBLOCK)) == -1) {
		switch (errno) {
		case EAGAIN:
#if EWOULDBLOCK != EAGAIN
		case EWOULDBLOCK:
#endif
			/* Another worker was quicker. */
			return TAKE_NONE;
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
		case ENETDOWN:
		case ENOPROTOOPT:
		case EHOSTDOWN:
		case ENONET:
		case EHOSTUNREACH:
		case EOPNOTSUPP:
		case ENETUNREACH:
			return TAKE_AGAIN;
		default:
			/* Exit non-zero: the master replaces us. */
			sgw_log_errno(SGW_LOG_ERROR, "worker: accept failed");
			return TAKE_FAIL;
		}
	}
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;

		if (!peer_allowed(conf->allowed_clients, sin)) {
			static int64_t last;
			char ip[INET_ADDRSTRLEN];

			/* Once a second at most: anyone can connect. */
			if (sgw_mono_ms() - last >= 1000) {
				last = sgw_mono_ms();
				log_warnx("refused a connection from %s: not "
				          "in allowed_clients",
				    inet_ntop(AF_INET, &sin->sin_addr, ip,
				        sizeof(ip)));
			}
			close(c);
			return TAKE_AGAIN;
		}
	}
	return c;
}

/*
 * The connections a worker holds: each has a FastCGI parser and, between
 * the head of its request and the answer, the request itself (whose
 * strings borrow from the parser's buffers). Slots do not move: epoll
 * holds pointers to them.
 */
struct conn {
	int fd;           /* -1: the slot is free */
	int lingering;    /* answered and half-closed */
	int closing;      /* answered, not kept: ends once read to the end */
	int nodelay;      /* TCP_NODELAY is set (kept connections) */
	int answered;     /* requests answered on it */
	int waiting;      /* a whole request, for serve_waiting */
	int64_t whole_ns; /* monotonic ns: when that request became whole */
	size_t at;        /* its place in live[] */
	int64_t deadline; /* monotonic ms: a whole request, or the close */
	struct sgw_fcgi f;
	struct sgw_request q;
};

static struct conn conns[SGW_FCGI_CONNS_MAX];
static struct conn *live[SGW_FCGI_CONNS_MAX]; /* the slots in use */
static struct conn *spare[SGW_FCGI_CONNS_MAX];
static size_t nconns, nspare;
static int epfd = -1;
/* While a wakeup's events are read, whole requests wait in waiting[] to
 * be served together, their sessions read ahead in one round trip
 * (store.h). Only with a store that reads ahead. */
static int deferring;
static struct conn *waiting[SGW_FCGI_CONNS_MAX];
static size_t nwaiting;
static int listen_watched; /* the listening socket is in epfd's interest */

static void
conn_close(struct conn *c)
{
	/* close() takes it out of the epoll set. */
	close(c->fd);
	c->fd = -1;
	sgw_fcgi_reset(&c->f);
	live[c->at] = live[--nconns];
	live[c->at]->at = c->at;
	spare[nspare++] = c;
}

/* Half-closes c and waits for the peer's end (see above). */
static void
conn_linger(struct conn *c)
{
	if (shutdown(c->fd, SHUT_WR) == -1) {
		conn_close(c);
		return;
	}
	c->lingering = 1;
	c->deadline = sgw_mono_ms() + LINGER_MS;
}

/* Ends c, answered and not kept: at once when the peer has nothing more
 * to send (sgw_fcgi_quiet), else by lingering. */
static void
conn_finish(struct conn *c)
{
	if (sgw_fcgi_quiet(&c->f))
		conn_close(c);
	else
		conn_linger(c);
}

/* Sends what c's parser has for the peer, within request_timeout.
 * Returns 0, or -1 when the peer went away or would not read it. */
static int
conn_flush(struct conn *c, int64_t timeout_ms)
{
	struct sgw_fcgi *f = &c->f;
	int64_t until = sgw_mono_ms() + timeout_ms;
	size_t off = 0;

	while (off < f->out.len) {
		ssize_t n = send(c->fd, f->out.data + off, f->out.len - off,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		struct pollfd p = {.fd = c->fd, .events = POLLOUT};
		int64_t left;
		struct timespec ts;

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK)
			break;
		if ((left = until - sgw_mono_ms()) <= 0) {
			log_info("closed a connection that did not read its "
			         "answer within request_timeout");
			break;
		}
		ts.tv_sec = (time_t)(left / 1000);
		ts.tv_nsec = (long)(left % 1000) * 1000000;
		if (ppoll(&p, 1, &ts, &mask_run) == -1 && errno != EINTR)
			break;
	}
	sgw_fcgi_sent(f, off);
	return f->out.len == 0 ? 0 : -1;
}

/* "Status: 200 OK" and its CRLF, without a printf. */
static void
status_line(struct sgw_fcgi *f, int status)
{
	char line[64] = "Status: ";
	const char *text;
	size_t n;

	if (status < 100 || status > 599)
		status = 500;
	text = sgw_status_text(status);
	line[8] = (char)('0' + status / 100);
	line[9] = (char)('0' + status / 10 % 10);
	line[10] = (char)('0' + status % 10);
	line[11] = ' ';
	n = strlen(text);
	if (n > sizeof(line) - 14)
		n = sizeof(line) - 14;
	memcpy(line + 12, text, n);
	memcpy(line + 12 + n, "\r\n", 2);
	sgw_fcgi_stdout(f, line, 12 + n + 2);
}

/* The authorizer's 200 carries Status and Variable-* only: Apache hands
 * any other header of a 200 on to the client. */
static void
write_response(
    struct sgw_fcgi *f, const struct sgw_request *q, struct sgw_response *resp)
{
	static const char no_store[] = "Cache-Control: no-store\r\n\r\n";
	int authz_pass = q->role == SGW_ROLE_AUTHORIZER && resp->status == 200;

	if (resp->headers.oom || resp->body.oom) {
		sgw_resp_free(resp);
		sgw_resp_init(resp);
		sgw_resp_error(resp, 500, "internal error");
	}
	status_line(f, resp->status);
	sgw_fcgi_stdout(f, resp->headers.data, resp->headers.len);
	if (authz_pass)
		sgw_fcgi_stdout(f, "\r\n", 2);
	else
		sgw_fcgi_stdout(f, no_store, sizeof(no_store) - 1);
	if (!authz_pass && strcmp(q->method, "HEAD") != 0)
		sgw_fcgi_stdout(f, resp->body.data, resp->body.len);
}

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Counts the answer once it is written (write_response may turn it into
 * a 500). */
static void
count_answer(
    struct sgw_ctx *ctx, const struct sgw_response *resp, int64_t started)
{
	static const enum sgw_metrics_authz authz[] = {
	    [SGW_AUTHZ_PASS] = SGW_METRICS_AUTHZ_PASS,
	    [SGW_AUTHZ_UNAUTHENTICATED] = SGW_METRICS_AUTHZ_UNAUTHENTICATED,
	    [SGW_AUTHZ_FORBIDDEN] = SGW_METRICS_AUTHZ_FORBIDDEN,
	    [SGW_AUTHZ_UNAVAILABLE] = SGW_METRICS_AUTHZ_UNAVAILABLE,
	};
	static const enum sgw_metrics_login login[] = {
	    [SGW_LOGIN_SUCCESS] = SGW_METRICS_LOGIN_SUCCESS,
	    [SGW_LOGIN_FAILURE] = SGW_METRICS_LOGIN_FAILURE,
	    [SGW_LOGIN_LOCKED] = SGW_METRICS_LOGIN_LOCKED,
	};

	sgw_metrics_request(resp->endpoint, resp->status, mono_ns() - started);
	if (resp->authz != SGW_AUTHZ_NONE)
		sgw_metrics_authz(authz[resp->authz]);
	if (resp->login != SGW_LOGIN_NONE)
		sgw_metrics_login(login[resp->login]);
	for (unsigned i = 0; i < resp->sessions_created; i++)
		sgw_metrics_session_created();
	for (unsigned i = 0; i < resp->store_errors; i++)
		sgw_metrics_store_error();
	if (ctx->store->expired > 0) {
		sgw_metrics_sessions_expired(ctx->store->expired);
		ctx->store->expired = 0;
	}
}

struct worker {
	struct sgw_ctx ctx;
	int64_t served;
	long drained;
	int recycle;           /* max_requests reached */
	struct sgw_lead *lead; /* NULL: no lead (lead.h) */
	int leading;           /* at the last look */
	int caught_up;         /* its last accepts emptied the queue */
	int passed_over;       /* woken for a connection, it left it (lead) */
	pid_t pid;
};

static void
take_param(void *arg, const char *name, size_t n, const char *value)
{
	sgw_request_param(arg, name, n, value);
}

/* Answers c's request with resp, sends it, and ends the connection unless
 * it is kept. Returns 0 when c is still open for its next request. */
static int
answer(struct worker *w, struct conn *c, struct sgw_response *resp,
    int64_t started)
{
	const struct sgw_conf *conf = w->ctx.conf;
	int keep;

	write_response(&c->f, &c->q, resp);
	count_answer(&w->ctx, resp, started);
	log_debug("%s %s -> %d (%s) client=%s",
	    c->q.role == SGW_ROLE_AUTHORIZER ? "AUTHORIZER" : c->q.method,
	    sgw_endpoint_name(resp->endpoint), resp->status,
	    c->q.role == SGW_ROLE_AUTHORIZER ? "authorizer" : "responder",
	    c->q.client);
	sgw_resp_free(resp);
	keep = sgw_fcgi_end(&c->f);
	c->answered++;
	w->drained += stopping;
	if (conf->max_requests > 0 && ++w->served >= conf->max_requests &&
	    !w->recycle) {
		log_info("worker recycled after %lld requests",
		    (long long)w->served);
		w->recycle = 1;
	}
	if (c->f.oom || conn_flush(c, conf->request_timeout_ms) == -1) {
		conn_close(c);
		return -1;
	}
	if (!keep || stopping || w->recycle) {
		/* Ended when what is left of the request has been read
		 * (conn_process). */
		c->closing = 1;
		return 0;
	}
	if (!c->nodelay) {
		int one = 1;

		/* The next answer must not wait for the acknowledgement
		 * of this one (Nagle). Fails harmlessly on a unix socket. */
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->nodelay = 1;
	}
	c->deadline = sgw_mono_ms() + conf->request_timeout_ms;
	return 0;
}

/* Serves c's request, timed from `started` (its duration in the metrics:
 * for a request that waited, its part of the read ahead too). */
static int
serve(struct worker *w, struct conn *c, int64_t started)
{
	struct sgw_response resp;

	sgw_resp_init(&resp);
	sgw_dispatch(&w->ctx, &c->q, &resp);
	return answer(w, c, &resp, started);
}

/* c's request is whole: served now (as serve), or put in waiting[]
 * (returns 1: c is left as it is until serve_waiting). */
static int
take_request(struct worker *w, struct conn *c)
{
	if (!deferring)
		return serve(w, c, mono_ns());
	c->waiting = 1;
	c->whole_ns = mono_ns();
	waiting[nwaiting++] = c;
	return 1;
}

/* c->q, empty, in the role of c's BEGIN_REQUEST. */
static void
begin_request(struct conn *c)
{
	sgw_request_begin(&c->q,
	    c->f.role == SGW_FCGI_AUTHORIZER ? SGW_ROLE_AUTHORIZER
	                                     : SGW_ROLE_RESPONDER);
}

/* A PARAMS stream over SGW_FCGI_PARAMS_MAX: 431, and the connection goes
 * (the rest of the stream is still on the way). */
static void
refuse_head(struct worker *w, struct conn *c)
{
	struct sgw_response resp;

	begin_request(c);
	sgw_request_done(&c->q);
	sgw_resp_init(&resp);
	sgw_resp_error(&resp, 431, "request header fields too large");
	log_info("refused a request whose FastCGI parameters pass %d bytes",
	    SGW_FCGI_PARAMS_MAX);
	c->f.keep = 0;
	answer(w, c, &resp, mono_ns());
}

/*
 * Serves what has arrived on c: every whole request, in turn. Returns 0
 * when c is still open (waiting for more), -1 when it was closed or is
 * lingering.
 */
static int
conn_process(struct worker *w, struct conn *c)
{
	for (;;) {
		struct sgw_fcgi *f = &c->f;
		enum sgw_fcgi_event ev = sgw_fcgi_next(f);

		if (c->closing && ev != SGW_FCGI_MORE) {
			/* More than the answered request on a connection
			 * that is not kept: nothing to serve. */
			conn_linger(c);
			return -1;
		}
		switch (ev) {
		case SGW_FCGI_MORE:
			if (c->closing) {
				conn_finish(c);
				return -1;
			}
			/* Management replies, if any. */
			if (f->out.len > 0 &&
			    conn_flush(c, w->ctx.conf->request_timeout_ms) ==
			        -1) {
				conn_close(c);
				return -1;
			}
			return 0;
		case SGW_FCGI_CLOSE:
			conn_flush(c, w->ctx.conf->request_timeout_ms);
			conn_linger(c);
			return -1;
		case SGW_FCGI_TOO_LARGE:
			refuse_head(w, c);
			if (c->fd != -1)
				conn_linger(c);
			return -1;
		case SGW_FCGI_HEAD:
			begin_request(c);
			if (sgw_fcgi_params(f, take_param, &c->q) == -1) {
				log_info("closed a connection whose FastCGI "
				         "parameters are malformed");
				conn_linger(c);
				return -1;
			}
			sgw_request_done(&c->q);
			/* An authorizer never reads stdin: lighttpd sends none
			 * when the original request has a body. */
			if (c->q.role == SGW_ROLE_RESPONDER &&
			    strcmp(c->q.method, "GET") != 0 &&
			    strcmp(c->q.method, "HEAD") != 0) {
				sgw_fcgi_want_body(f, w->ctx.conf->max_body);
				continue;
			}
			break;
		case SGW_FCGI_BODY:
			c->q.body = f->body.data != NULL
			    ? (const char *)f->body.data
			    : "";
			c->q.body_len = f->body.len;
			c->q.body_too_large = f->body_too_large;
			break;
		}
		switch (take_request(w, c)) {
		case -1:
			return -1;
		case 1:
			return 0;
		}
	}
}

/* c is readable: reads once and serves what is whole. Returns as
 * conn_process does. */
static int
conn_read(struct worker *w, struct conn *c)
{
	unsigned char *p;
	size_t room;
	ssize_t n;

	if (c->waiting)
		return 0;
	if (c->lingering) {
		char trash[4096];

		while ((n = recv(c->fd, trash, sizeof(trash), 0)) > 0)
			;
		if (n == 0 ||
		    (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			conn_close(c);
		return -1;
	}
	if ((p = sgw_fcgi_space(&c->f, READ_CHUNK, &room)) == NULL) {
		log_error("worker: out of memory");
		conn_close(c);
		return -1;
	}
	n = recv(c->fd, p, room, 0);
	if (n > 0) {
		c->f.in.len += (size_t)n;
		return conn_process(w, c);
	}
	if (n == -1 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	/* Closed or reset before a whole request: nobody to answer. */
	conn_close(c);
	return -1;
}

/*
 * Takes fd in (or closes it when every slot is taken). What it has sent
 * is read at once: a web server sends its request as soon as it has
 * connected, so it is usually whole when the connection is accepted, and
 * is then answered and closed without the connection ever entering the
 * epoll set.
 */
static void
conn_add(struct worker *w, int fd, int64_t deadline)
{
	struct conn *c;
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP};

	if (nspare == 0) {
		close(fd);
		return;
	}
	c = spare[--nspare];
	c->fd = fd;
	c->lingering = c->closing = c->nodelay = c->waiting = 0;
	c->answered = 0;
	c->deadline = deadline;
	c->at = nconns;
	live[nconns++] = c;
	if (conn_read(w, c) == -1 && c->fd == -1)
		return;
	ev.data.ptr = c;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
		conn_close(c);
		return;
	}
}

/*
 * Serves the requests waiting[] holds, in the order they became whole,
 * after reading the sessions they present in one round trip; then what
 * else each connection holds.
 */
static void
serve_waiting(struct worker *w)
{
	unsigned char hash[SGW_STORE_BATCH_MAX][SGW_HASH_LEN];
	size_t n = 0;

	if (nwaiting == 0)
		return; /* every wakeup of a store that does not read ahead */
	for (size_t i = 0; i < nwaiting && n < SGW_STORE_BATCH_MAX; i++)
		n += sgw_request_token(&w->ctx, &waiting[i]->q, hash[n]);
	sgw_store_read_ahead(w->ctx.store, hash, n);
	if (n >= 2)
		log_debug("read %zu sessions ahead in one round trip", n);
	for (size_t i = 0; i < nwaiting; i++) {
		struct conn *c = waiting[i];

		c->waiting = 0;
		if (serve(w, c, c->whole_ns) == 0)
			conn_process(w, c);
	}
	nwaiting = 0;
	sgw_store_ahead_drop(w->ctx.store);
}

/* Closes the connections past their deadline; with `idle_kept`, also the
 * kept ones that have nothing on the way (a stop). One that became whole
 * while the worker was busy with another is served first. */
static void
expire(struct worker *w, int idle_kept)
{
	int64_t now = sgw_mono_ms();

	/* Backwards: a close moves the last one into its place. */
	for (size_t i = nconns; i-- > 0;) {
		struct conn *c = live[i];

		if (c->lingering) {
			if (now >= c->deadline)
				conn_close(c);
			continue;
		}
		if (idle_kept && c->answered > 0 && !sgw_fcgi_busy(&c->f)) {
			conn_close(c);
			continue;
		}
		if (now < c->deadline)
			continue;
		if (conn_read(w, c) == -1 || sgw_mono_ms() < c->deadline)
			continue; /* closed, or served and kept */
		if (c->answered > 0 && !sgw_fcgi_busy(&c->f))
			/* What a web server's keepalive cache does. */
			log_debug("closed a kept connection idle for "
			          "request_timeout");
		else
			log_info(
			    "closed a connection that sent no whole request "
			    "within request_timeout");
		conn_close(c);
	}
}

/* The listening socket in the epoll set, or not. EPOLLEXCLUSIVE: a new
 * connection wakes one idle worker, not all of them (each would try
 * accept4 and all but one would find nothing); it cannot be modified,
 * only removed and added again. */
static int
watch_listen(int lfd, int on)
{
	struct epoll_event ev = {
	    .events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = NULL};

	if (on == listen_watched)
		return 0;
	if (epoll_ctl(epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, lfd, &ev) == -1)
		return -1;
	listen_watched = on;
	return 0;
}

/*
 * Waits for work and does it: a connection to take (when `accepting`),
 * bytes on a held one, a deadline (until, or a held one's), or a signal.
 * Returns TAKE_FAIL when the listening socket is broken, else 0.
 */
static int
wait_work(struct worker *w, int lfd, int accepting, int64_t until)
{
	const struct sgw_conf *conf = w->ctx.conf;
	struct epoll_event ev[16];
	int64_t next = until, now = sgw_mono_ms(), hold = 0;
	int n, timeout, leading = 0;
	int reads_ahead = sgw_store_reads_ahead(w->ctx.store);
	int led = w->lead != NULL && reads_ahead;

	/* Stopping, a lead steps down at once: nobody waits for it. */
	if (led && until != 0)
		sgw_lead_gone(w->lead, w->pid);
	else if (led) {
		hold = sgw_lead_hold_off(w->lead, w->pid, mono_ns(), &leading);
		if (leading && !w->leading)
			log_debug("leads the workers: takes new connections "
			          "first");
		w->leading = leading;
	}
	if (watch_listen(lfd,
	        accepting && hold == 0 && nconns < SGW_FCGI_CONNS_MAX) == -1) {
		sgw_log_errno(SGW_LOG_ERROR, "worker: epoll");
		return TAKE_FAIL;
	}
	/* Listening again, it is told of what it left (level-triggered). */
	if (listen_watched)
		w->passed_over = 0;
	for (size_t i = 0; i < nconns; i++)
		if (next <= 0 || live[i]->deadline < next)
			next = live[i]->deadline;
	if (hold > 0) { /* look again then */
		int64_t then = now + (hold + 999999) / 1000000;

		if (next <= 0 || then < next)
			next = then;
	}
	if (next <= 0)
		timeout = -1;
	else
		timeout = next <= now        ? 0
		    : next - now > INT32_MAX ? INT32_MAX
		                             : (int)(next - now);
	if (leading && w->caught_up)
		sgw_lead_waiting(w->lead);
	n = epoll_pwait(epfd, ev, 16, timeout, &mask_idle);
	if (leading)
		sgw_lead_back(w->lead, mono_ns());
	deferring = reads_ahead;
	for (int k = 0; k < n; k++) {
		struct conn *c = ev[k].data.ptr;

		if (c == NULL) {
			/* One at a time, so that idle workers share them;
			 * a few when their sessions are read together. */
			int take = deferring ? ACCEPT_BATCH : 1;
			int lead_now;

			/* The lead went to the store since this worker
			 * started waiting: the connection is left to it
			 * (the next wait does not listen). */
			if (led && !leading &&
			    sgw_lead_hold_off(
			        w->lead, w->pid, mono_ns(), &lead_now) > 0) {
				w->passed_over = 1;
				continue;
			}

			/* Caught up once the queue is empty; a lead that
			 * is not falls behind, and the others join in. */
			w->caught_up = 0;
			for (int i = 0; i < take && nconns < SGW_FCGI_CONNS_MAX;
			     i++) {
				int fd = take_connection(lfd, conf);

				if (fd == TAKE_FAIL) {
					deferring = 0;
					serve_waiting(w);
					return TAKE_FAIL;
				}
				if (fd == TAKE_NONE) {
					w->caught_up = 1;
					break;
				}
				if (fd >= 0)
					conn_add(w, fd,
					    sgw_mono_ms() +
					        conf->request_timeout_ms);
			}
			continue;
		}
		/* A slot closed and taken again in this round has its own
		 * event coming; a closed one has none to serve. */
		if (c->fd != -1)
			conn_read(w, c);
	}
	deferring = 0;
	serve_waiting(w);
	expire(w, 0);
	return 0;
}

/* Tells the master this worker is up, so that its death is not taken for
 * a crash loop (master.c). */
static void
report_ready(int ready_fd)
{
	pid_t pid = getpid();

	if (ready_fd < 0)
		return;
	if (write(ready_fd, &pid, sizeof(pid)) != (ssize_t)sizeof(pid))
		log_debug("worker: cannot report ready: %s", strerror(errno));
	close(ready_fd);
}

int
sgw_worker_run(int fd, int ready_fd, struct sgw_runtime *rt,
    unsigned generation, struct sgw_lead *lead)
{
	const struct sgw_conf *conf = &rt->conf;
	struct worker w = {
	    .ctx =
	        {
	            .conf = conf,
	            .keys = &rt->keys,
	            .users = &rt->users,
	            .login_page = rt->login_page,
	        },
	    .lead = lead,
	    .caught_up = 1,
	    .pid = getpid(),
	};
	struct sgw_errs errs = {0};
	int64_t drain_until = 0;
	int rc = 1;

	for (size_t i = 0; i < SGW_FCGI_CONNS_MAX; i++) {
		conns[i].fd = -1;
		sgw_fcgi_init(&conns[i].f);
		spare[nspare++] = &conns[SGW_FCGI_CONNS_MAX - 1 - i];
	}
	install_signals();
	if (sgw_proc_drop_privileges(conf, "worker") == -1)
		return 1;
	sgw_session_policy_from(&w.ctx.policy, conf);
	sgw_limits_from(&w.ctx.limits, conf);
	/* Once per worker: each key's HMAC state, absorbed. This copy of
	 * the keys is the worker's own (fork). */
	if (sgw_keys_setup(&rt->keys) == -1) {
		log_error("worker: cannot set up the keys' HMAC states");
		goto done;
	}
	sgw_cookie_attrs_from(&w.ctx.cookie, conf);
	sgw_redirect_policy_from(&w.ctx.redirect, conf);
	/* After fork and after dropping privileges: a store belongs to the
	 * process that opened it, and its files to the workers' user. */
	if ((w.ctx.store = sgw_store_open(conf, SGW_STORE_SERVE, &errs)) ==
	    NULL) {
		for (size_t i = 0; i < errs.n; i++)
			log_error("worker: %s", errs.msg[i]);
		sgw_errs_clear(&errs);
		goto done;
	}
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    watch_listen(fd, 1) == -1) {
		sgw_log_errno(SGW_LOG_ERROR, "worker: epoll");
		goto done;
	}
	log_info("worker started (generation %u)", generation);
	report_ready(ready_fd);
	for (;;) {
		int take_queue;
		int64_t now;

		if (reopen_log) {
			reopen_log = 0;
			sgw_log_reopen();
		}
		now = sgw_mono_ms();
		/* Stopping: what is held is served, and what is queued too,
		 * within one request_timeout, so that a queue of idle peers
		 * cannot keep the gateway up. Retired by a reload or
		 * recycled, a worker takes nothing new and gives the requests
		 * on the way RETIRE_WAIT_MS at most: until it has gone, the
		 * master does not start its replacement. Idle kept
		 * connections are closed at once. */
		if ((stopping || w.recycle) && drain_until == 0) {
			int64_t wait = conf->request_timeout_ms;

			if ((no_drain || w.recycle) && wait > RETIRE_WAIT_MS)
				wait = RETIRE_WAIT_MS;
			drain_until = now + wait;
			for (size_t i = 0; i < nconns; i++)
				if (!live[i]->lingering &&
				    live[i]->deadline > drain_until)
					live[i]->deadline = drain_until;
			expire(&w, 1);
		}
		if (drain_until != 0 && now >= drain_until)
			break;
		take_queue = stopping && !no_drain && !w.recycle;
		/* EPOLLEXCLUSIVE woke this worker alone for a connection it
		 * left to the lead; leaving, it will not look again, and the
		 * others were not told: it takes what is queued now rather
		 * than strand it until the next connection comes. */
		if (take_queue || (drain_until != 0 && w.passed_over)) {
			int c;

			w.passed_over = 0;
			/* Refused peers are taken too: bounded in time. */
			while (nconns < SGW_FCGI_CONNS_MAX &&
			    sgw_mono_ms() < drain_until &&
			    (c = take_connection(fd, conf)) != TAKE_NONE) {
				if (c == TAKE_FAIL)
					goto done;
				if (c >= 0)
					conn_add(&w, c, drain_until);
			}
		}
		if (drain_until != 0 && nconns == 0)
			break;
		if (wait_work(&w, fd, drain_until == 0 || take_queue,
		        drain_until) == TAKE_FAIL)
			goto done;
	}
	rc = 0;
	if (stopping && !no_drain)
		log_info(
		    "worker exiting: served %ld queued connections", w.drained);
	else
		log_info("worker exiting");
done:
	/* Leaving, a lead steps down now: until the master reaps it, the
	 * others would hold off for a worker that takes nothing. */
	sgw_lead_gone(w.lead, w.pid);
	while (nconns > 0)
		conn_close(live[nconns - 1]);
	for (size_t i = 0; i < SGW_FCGI_CONNS_MAX; i++)
		sgw_fcgi_free(&conns[i].f);
	if (epfd != -1)
		close(epfd);
	sgw_store_close(w.ctx.store);
	return rc;
}
