/*
 * worker: one worker's life. Take a connection, let libfcgi read the
 * request, build the request struct, dispatch, write the answer; until
 * told to stop or recycled.
 *
 * The worker accepts connections itself and hands each one to libfcgi
 * (FCGX_Request.ipcFd), for reasons libfcgi cannot serve:
 * - request_timeout (SPEC section 2), so that no peer can hold a worker
 *   by sending half a record, or nothing. A connection waits in the
 *   worker's pending set (epoll, MSG_PEEK) until the head of a request
 *   has arrived, and only then goes to libfcgi, which blocks until it
 *   has read it; a pending connection past its deadline is closed. While
 *   libfcgi reads the rest and while the answer is written, a one-shot
 *   timer runs; when it fires, the SIGALRM handler shuts the connection
 *   down, so whatever libfcgi is blocked in returns.
 * - allowed_clients is checked against this worker's configuration, so a
 *   SIGHUP applies it (libfcgi reads FCGI_WEB_SERVER_ADDRS once).
 * - a graceful stop serves the connections already queued (SPEC section
 *   2): the listening socket is non-blocking, so a stopping worker takes
 *   what is queued, stops at EAGAIN, and serves it.
 *
 * Signals are blocked except in epoll_pwait() (and SIGALRM while the
 * timer runs), so SIGTERM never breaks the reads and writes of a
 * request: libfcgi does not retry on EINTR.
 */
#include "worker.h"

#include <errno.h>
#include <fastcgi.h>
#include <fcntl.h>
#include <fcgiapp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "fcgi_head.h"
#include "handlers.h"
#include "log.h"
#include "metrics.h"
#include "proc.h"
#include "store.h"
#include "timefmt.h"

#define LINGER_MS 1000 /* at most, for a peer to close after our answer */

static volatile sig_atomic_t stopping; /* SIGTERM, SIGINT or SIGUSR2 */
static volatile sig_atomic_t no_drain; /* SIGUSR2: a reload retires us */
static volatile sig_atomic_t reopen_log;
static volatile sig_atomic_t timed_out;
static volatile sig_atomic_t timer_fd = -1; /* what SIGALRM shuts down */

static sigset_t mask_run;  /* every handled signal blocked */
static sigset_t mask_idle; /* only SIGALRM blocked: waiting for work */
static sigset_t alarm_set;

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

/* Cuts the connection that has used up its request_timeout: the blocked
 * read or write returns, and every later one fails at once. */
static void
on_alarm(int sig)
{
	int saved = errno;

	(void)sig;
	timed_out = 1;
	if (timer_fd >= 0)
		shutdown(timer_fd, SHUT_RDWR);
	errno = saved;
}

static void
install_signals(void)
{
	/* The others only arrive while we wait in epoll_pwait(); SIGALRM must
	 * break a blocked read (proc.h sets no SA_RESTART). */
	static const struct sgw_proc_handler h[] = {
	    {SIGTERM, on_term},
	    {SIGINT, on_term},
	    {SIGUSR2, on_term},
	    {SIGUSR1, on_usr1},
	    {SIGALRM, on_alarm},
	};

	sgw_proc_signals(h, sizeof(h) / sizeof(h[0]));
	sigemptyset(&mask_run);
	for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++)
		sigaddset(&mask_run, h[i].sig);
	sigemptyset(&alarm_set);
	sigaddset(&alarm_set, SIGALRM);
	mask_idle = alarm_set;
	sigprocmask(SIG_SETMASK, &mask_run, NULL);
}

/* Lets the signals that arrived while we worked run their handlers. */
static void
take_signals(void)
{
	sigset_t was;

	sigprocmask(SIG_UNBLOCK, &mask_run, &was);
	sigprocmask(SIG_SETMASK, &was, NULL);
	if (reopen_log) {
		reopen_log = 0;
		sgw_log_reopen();
	}
}

/* Starts the request timer for connection fd: ms from now, it is cut. */
static void
arm(int fd, int64_t ms)
{
	struct itimerval it = {{0, 0}, {0, 0}};

	/* An all-zero it_value would disarm instead. */
	if (ms < 1)
		ms = 1;
	it.it_value.tv_sec = (time_t)(ms / 1000);
	it.it_value.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	timer_fd = fd;
	timed_out = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	sigprocmask(SIG_UNBLOCK, &alarm_set, NULL);
}

/* Stops the timer. A SIGALRM that fired before it was blocked again is
 * taken here, so it cannot cut the next connection. */
static void
disarm(void)
{
	struct itimerval off = {{0, 0}, {0, 0}};
	struct timespec zero = {0, 0};

	sigprocmask(SIG_BLOCK, &alarm_set, NULL);
	setitimer(ITIMER_REAL, &off, NULL);
	while (sigtimedwait(&alarm_set, NULL, &zero) == SIGALRM)
		timed_out = 1;
	timer_fd = -1;
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
	int c, one = 1;

	if ((c = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC)) ==
	    -1) {
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
		/* Answers are written in one go: no Nagle delay (as libfcgi).
		 */
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	return c;
}

/*
 * Ends a connection: half-close, then read what the peer still sends
 * until it closes too, for at most LINGER_MS (and what the request timer
 * leaves). Closing with unread data would send a reset, which can make
 * the peer drop the answer it has not read yet.
 */
static void
end_connection(int fd)
{
	char trash[1024];
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int64_t until = sgw_mono_ms() + LINGER_MS, now;

	if (shutdown(fd, SHUT_WR) == 0) {
		while ((now = sgw_mono_ms()) < until &&
		    poll(&p, 1, (int)(until - now)) > 0 &&
		    read(fd, trash, sizeof(trash)) > 0)
			;
	}
	close(fd);
}

/* FCGI_END_REQUEST with FCGI_UNKNOWN_ROLE: the answer the FastCGI
 * specification gives to a role we do not play (FILTER, or any number). */
static void
refuse_role(int fd, int request_id, int role)
{
	FCGI_EndRequestRecord rec;

	memset(&rec, 0, sizeof(rec));
	rec.header.version = FCGI_VERSION_1;
	rec.header.type = FCGI_END_REQUEST;
	rec.header.requestIdB1 = (unsigned char)(request_id >> 8);
	rec.header.requestIdB0 = (unsigned char)request_id;
	rec.header.contentLengthB0 = sizeof(rec.body);
	rec.body.protocolStatus = FCGI_UNKNOWN_ROLE;
	if (write(fd, &rec, sizeof(rec)) != (ssize_t)sizeof(rec))
		log_debug("worker: cannot refuse FastCGI role %d: %s", role,
		    strerror(errno));
	log_info(
	    "refused FastCGI role %d: only RESPONDER and AUTHORIZER are served",
	    role);
}

/*
 * Connections whose request is still arriving. A worker takes a
 * connection as soon as it is queued, but hands it to libfcgi (which
 * blocks until it has read the request) only once the head of a request,
 * up to the end of its PARAMS, is in the socket: it looks with MSG_PEEK.
 * So a peer that sends half a request, or nothing, holds a slot here and
 * not the worker, and the requests behind it are served as they arrive.
 * A kept connection comes back here between its requests. Each has until
 * its deadline (request_timeout from the accept or from the end of the
 * last answer) to deliver; then it is closed.
 */
#define PENDING_MAX 64 /* connections one worker holds */
#define PEEK_MAX                                                               \
	16384              /* what it looks at for a request head: a           \
	                    * longer head goes to libfcgi when this much       \
	                    * is there (the timer still bounds it), and        \
	                    * a peer trickling bytes costs at most this        \
	                    * much copying per byte */
#define SERVE_MIN_MS 100   /* what a request whose head came in time gets */
#define RETIRE_WAIT_MS 500 /* for pending heads, when retired or recycled */

struct pending {
	int fd;
	int64_t deadline; /* monotonic ms */
	int answered;     /* requests answered on it before (kept) */
	int ready;        /* a request head is there, or all a peek can see */
};

static struct pending pend[PENDING_MAX];
static size_t npend;
static int epfd = -1;
static int listen_watched; /* the listening socket is in epfd's interest */
static unsigned char peekbuf[PEEK_MAX];

/* Looks at what p has sent. Returns 0, or -1 when it is done for: closed
 * or reset before a request head. */
static int
pending_look(struct pending *p)
{
	ssize_t n =
	    recv(p->fd, peekbuf, sizeof(peekbuf), MSG_PEEK | MSG_DONTWAIT);

	if (n > 0) {
		p->ready = sgw_fcgi_head_complete(peekbuf, (size_t)n) ||
		    (size_t)n == sizeof(peekbuf);
		return 0;
	}
	if (n == -1 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	return -1;
}

static void
pending_remove(size_t i)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, pend[i].fd, NULL);
	pend[i] = pend[--npend];
}

/* Closes pend[i]: nothing was answered on it since the last answer, so
 * there is nothing to linger for. */
static void
pending_close(size_t i, int expired)
{
	if (expired && pend[i].answered > 0)
		/* What a web server's keepalive cache does. */
		log_debug("closed a kept connection idle for request_timeout");
	else if (expired)
		log_info(
		    "closed a connection that sent no whole request within "
		    "request_timeout");
	close(pend[i].fd);
	pend[i] = pend[--npend];
}

/* Takes fd into the pending set (or closes it when that is full). */
static void
pending_add(int fd, int64_t deadline, int answered)
{
	struct epoll_event ev = {
	    .events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.fd = fd};

	if (npend == PENDING_MAX ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
		close(fd);
		return;
	}
	pend[npend++] = (struct pending){fd, deadline, answered, 0};
	/* Edge-triggered: what arrived before the add is looked at now. */
	if (pending_look(&pend[npend - 1]) == -1) {
		pending_remove(npend - 1);
		close(fd);
	}
}

/* The pending connection to serve next: ready, and the oldest deadline. */
static int
pending_next(void)
{
	int best = -1;

	for (size_t i = 0; i < npend; i++)
		if (pend[i].ready &&
		    (best == -1 || pend[i].deadline < pend[best].deadline))
			best = (int)i;
	return best;
}

/* Closes the pending connections past their deadline; with `idle_kept`,
 * also the kept ones that have nothing on the way (a stop). */
static void
pending_expire(int idle_kept)
{
	int64_t now = sgw_mono_ms();

	for (size_t i = npend; i-- > 0;) {
		if (pend[i].ready)
			continue;
		if (now >= pend[i].deadline)
			pending_close(i, 1);
		else if (idle_kept && pend[i].answered > 0)
			pending_close(i, 0);
	}
}

static void
watch_listen(int lfd, int on)
{
	struct epoll_event ev = {.events = on ? EPOLLIN : 0, .data.fd = lfd};

	if (on != listen_watched &&
	    epoll_ctl(epfd, EPOLL_CTL_MOD, lfd, &ev) == 0)
		listen_watched = on;
}

/*
 * Waits until there is work: a connection to take (when `accepting`), a
 * pending request head, a deadline (until, or a pending one's), or a
 * signal. Returns TAKE_FAIL when the listening socket is broken, else 0.
 */
static int
wait_work(int lfd, const struct sgw_conf *conf, int accepting, int64_t until)
{
	struct epoll_event ev[16];
	int64_t next = until, now = sgw_mono_ms();
	int n, timeout;

	watch_listen(lfd, accepting && npend < PENDING_MAX);
	for (size_t i = 0; i < npend; i++)
		if (next <= 0 || pend[i].deadline < next)
			next = pend[i].deadline;
	if (next <= 0)
		timeout = -1;
	else
		timeout = next <= now        ? 0
		    : next - now > INT32_MAX ? INT32_MAX
		                             : (int)(next - now);
	n = epoll_pwait(epfd, ev, 16, timeout, &mask_idle);
	for (int k = 0; k < n; k++) {
		size_t i;

		if (ev[k].data.fd == lfd) {
			/* One at a time, so that idle workers share them. */
			int c = take_connection(lfd, conf);

			if (c == TAKE_FAIL)
				return TAKE_FAIL;
			if (c >= 0)
				pending_add(c,
				    sgw_mono_ms() + conf->request_timeout_ms,
				    0);
			continue;
		}
		for (i = 0; i < npend && pend[i].fd != ev[k].data.fd; i++)
			;
		if (i == npend)
			continue;
		if (pending_look(&pend[i]) == -1 ||
		    (!pend[i].ready &&
		        (ev[k].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))))
			pending_close(i, 0);
	}
	pending_expire(0);
	return 0;
}

/* Reads the body, at most max_body + 1 bytes: more means 413. Never
 * sized by CONTENT_LENGTH alone (nginx may send it twice); stdin ends
 * with its own end-of-stream record. */
static void
read_body(FCGX_Stream *in, char *buf, size_t max, struct sgw_request *req)
{
	size_t n = 0;
	int got;

	while (n <= max &&
	    (got = FCGX_GetStr(buf + n, (int)(max + 1 - n), in)) > 0)
		n += (size_t)got;
	req->body = buf;
	req->body_len = n > max ? max : n;
	req->body_too_large = n > max;
	buf[req->body_len] = '\0';
}

/* "Status: 200 OK" and its CRLF, without a printf. */
static void
status_line(FCGX_Stream *out, int status)
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
	FCGX_PutStr(line, (int)(12 + n + 2), out);
}

/* The authorizer's 200 carries Status and Variable-* only: Apache hands
 * any other header of a 200 on to the client. */
static void
write_response(
    FCGX_Request *r, const struct sgw_request *q, struct sgw_response *resp)
{
	FCGX_Stream *out = r->out;
	int authz_pass = q->role == SGW_ROLE_AUTHORIZER && resp->status == 200;

	if (resp->headers.oom || resp->body.oom) {
		sgw_resp_free(resp);
		sgw_resp_init(resp);
		sgw_resp_error(resp, 500, "internal error");
	}
	status_line(out, resp->status);
	if (resp->headers.len > 0)
		FCGX_PutStr(resp->headers.data, (int)resp->headers.len, out);
	if (!authz_pass)
		FCGX_PutS("Cache-Control: no-store\r\n", out);
	FCGX_PutS("\r\n", out);
	if (!authz_pass && resp->body.len > 0 && strcmp(q->method, "HEAD") != 0)
		FCGX_PutStr(resp->body.data, (int)resp->body.len, out);
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

/*
 * Serves the request libfcgi has read the head of: reads the body while
 * the timer still runs, then decides with the timer off, then writes the
 * answer with the timer on again (a peer that does not read cannot hold
 * us either). Returns 0, or -1 when the request did not arrive in time
 * and was dropped unanswered.
 */
static int
serve(struct sgw_ctx *ctx, FCGX_Request *r, char *bodybuf, int conn)
{
	struct sgw_request q;
	struct sgw_response resp;
	int64_t started;

	sgw_request_from_params(&q, r->envp);
	/* An authorizer never reads stdin: lighttpd sends none when the
	 * original request has a body, and a read would block forever. */
	if (q.role == SGW_ROLE_RESPONDER && strcmp(q.method, "GET") != 0 &&
	    strcmp(q.method, "HEAD") != 0)
		read_body(r->in, bodybuf, ctx->conf->max_body, &q);
	disarm();
	if (timed_out) {
		log_info(
		    "closed a connection that sent no whole request within "
		    "request_timeout");
		return -1;
	}
	sgw_resp_init(&resp);
	started = mono_ns();
	sgw_dispatch(ctx, &q, &resp);
	arm(conn, ctx->conf->request_timeout_ms);
	write_response(r, &q, &resp);
	count_answer(ctx, &resp, started);
	log_debug("%s %s -> %d (%s) client=%s",
	    q.role == SGW_ROLE_AUTHORIZER ? "AUTHORIZER" : q.method,
	    sgw_endpoint_name(resp.endpoint), resp.status,
	    q.role == SGW_ROLE_AUTHORIZER ? "authorizer" : "responder",
	    q.client);
	sgw_resp_free(&resp);
	/* On a kept connection libfcgi reads the next request where this
	 * one's stdin ends: what is left of it (a GET's empty record, the
	 * rest of a body over max_body) must be read, or the next request
	 * meets a stray STDIN record and libfcgi drops the connection. The
	 * answer goes out first, in case the peer waits for it. Never as an
	 * authorizer (see above). */
	if (q.role == SGW_ROLE_RESPONDER && r->keepConnection) {
		FCGX_FFlush(r->out);
		while (FCGX_GetStr(
		           bodybuf, (int)ctx->conf->max_body + 1, r->in) > 0)
			;
	}
	return 0;
}

/* libfcgi's side of the connection: its fd is closed without shutdown or
 * drain (detached), because conn still holds the socket and ends it. */
static void
drop_request(FCGX_Request *r)
{
	r->detached = 1;
	FCGX_Free(r, 1);
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
sgw_worker_run(
    int fd, int ready_fd, struct sgw_runtime *rt, unsigned generation)
{
	const struct sgw_conf *conf = &rt->conf;
	struct sgw_ctx ctx = {
	    .conf = conf,
	    .keys = &rt->keys,
	    .users = &rt->users,
	    .login_page = rt->login_page,
	};
	FCGX_Request r;
	struct sgw_errs errs = {0};
	char *bodybuf = NULL;
	int64_t served = 0, drain_until = 0;
	long drained = 0;
	int conn = -1;    /* the socket of the connection in hand */
	int answered = 0; /* requests answered on it */
	int recycle = 0;  /* max_requests reached */
	int rc = 1;

	install_signals();
	if (sgw_proc_drop_privileges(conf, "worker") == -1)
		return 1;
	sgw_session_policy_from(&ctx.policy, conf);
	sgw_limits_from(&ctx.limits, conf);
	/* Once per worker: an HMAC context per key and the SHA-256 that every
	 * check uses, instead of OpenSSL looking them up again per token.
	 * This copy of the keys is the worker's own (fork). */
	if (sgw_keys_setup(&rt->keys) == -1) {
		log_error("worker: cannot set up the keys' HMAC contexts");
		goto done;
	}
	sgw_cookie_attrs_from(&ctx.cookie, conf);
	sgw_redirect_policy_from(&ctx.redirect, conf);
	/* After fork and after dropping privileges: a store belongs to the
	 * process that opened it, and its files to the workers' user. */
	if ((ctx.store = sgw_store_open(conf, SGW_STORE_SERVE, &errs)) ==
	    NULL) {
		for (size_t i = 0; i < errs.n; i++)
			log_error("worker: %s", errs.msg[i]);
		sgw_errs_clear(&errs);
		goto done;
	}
	/* -1: libfcgi never accepts by itself; it reads the connections
	 * this loop hands it in r.ipcFd. */
	if ((bodybuf = malloc(conf->max_body + 1)) == NULL ||
	    FCGX_InitRequest(&r, -1, 0) != 0) {
		log_error("worker: out of memory");
		goto done;
	}
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, fd,
	        &(struct epoll_event){.events = EPOLLIN, .data.fd = fd}) ==
	        -1) {
		sgw_log_errno(SGW_LOG_ERROR, "worker: epoll");
		goto done;
	}
	listen_watched = 1;
	report_ready(ready_fd);
	log_info("worker started (generation %u)", generation);
	for (;;) {
		int64_t now, limit;
		int got, i;

		if (reopen_log) {
			reopen_log = 0;
			sgw_log_reopen();
		}
		now = sgw_mono_ms();
		/* Stopping: what is pending is served, and what is queued
		 * too, within one request_timeout, so that a queue of idle
		 * peers cannot keep the gateway up. Retired by a reload or
		 * recycled, a worker takes nothing new and gives the pending
		 * ones RETIRE_WAIT_MS at most: until it has gone, the master
		 * does not start its replacement. Idle kept connections are
		 * closed at once. */
		if ((stopping || recycle) && drain_until == 0) {
			int64_t wait = conf->request_timeout_ms;

			if ((no_drain || recycle) && wait > RETIRE_WAIT_MS)
				wait = RETIRE_WAIT_MS;
			drain_until = now + wait;
			pending_expire(1);
		}
		if (drain_until != 0 && now >= drain_until)
			break;
		if ((i = pending_next()) == -1) {
			int take_queue = stopping && !no_drain && !recycle;

			if (take_queue) {
				int c;

				/* Refused peers are taken too: bounded in time.
				 */
				while (npend < PENDING_MAX &&
				    sgw_mono_ms() < drain_until &&
				    (c = take_connection(fd, conf)) !=
				        TAKE_NONE) {
					if (c == TAKE_FAIL)
						goto done;
					if (c >= 0)
						pending_add(c, drain_until, 0);
				}
			}
			if (drain_until != 0 && npend == 0)
				break;
			if (pending_next() == -1 &&
			    wait_work(fd, conf, drain_until == 0 || take_queue,
			        drain_until) == TAKE_FAIL)
				goto done;
			continue;
		}
		limit = pend[i].deadline - now;
		if (limit < SERVE_MIN_MS)
			limit = SERVE_MIN_MS;
		conn = pend[i].fd;
		answered = pend[i].answered;
		pending_remove((size_t)i);
		if ((r.ipcFd = fcntl(conn, F_DUPFD_CLOEXEC, 0)) == -1) {
			sgw_log_errno(SGW_LOG_ERROR, "worker: dup");
			close(conn);
			conn = -1;
			continue;
		}
		drained += stopping;
		/* FCGX_Accept_r first finishes "the previous request", which
		 * closes the connection unless it was kept; the BEGIN_REQUEST
		 * of this one sets the flag again. */
		r.keepConnection = 1;
		arm(conn, limit);
		r.detached = 1;
		got = FCGX_Accept_r(&r);
		if (got < 0 ||
		    (r.role != FCGI_RESPONDER && r.role != FCGI_AUTHORIZER)) {
			/* libfcgi gave the connection up (the peer closed it,
			 * sent something that is not FastCGI, or the timer cut
			 * it), or the role is one we do not play; libfcgi
			 * closes a connection with an unknown role silently. */
			if (r.isBeginProcessed && !timed_out &&
			    r.role != FCGI_RESPONDER &&
			    r.role != FCGI_AUTHORIZER)
				refuse_role(conn, r.requestId, r.role);
			else if (timed_out)
				log_info("closed a connection that sent no "
				         "whole request "
				         "within request_timeout");
			if (r.ipcFd >= 0)
				drop_request(&r);
			end_connection(conn);
			conn = -1;
			disarm();
			take_signals();
			continue;
		}
		if (serve(&ctx, &r, bodybuf, conn) == -1) {
			drop_request(&r);
			end_connection(conn);
			conn = -1;
			take_signals();
			continue;
		}
		answered++;
		take_signals();
		if (conf->max_requests > 0 && ++served >= conf->max_requests &&
		    !recycle) {
			log_info("worker recycled after %lld requests",
			    (long long)served);
			recycle = 1;
		}
		if (stopping || recycle)
			r.keepConnection = 0;
		r.detached = 1;
		FCGX_Finish_r(&r);
		if (r.ipcFd < 0) {
			end_connection(conn);
		} else {
			/* Kept: it waits for its next request among the
			 * pending ones, and the worker serves others. */
			close(r.ipcFd);
			r.ipcFd = -1;
			pending_add(conn,
			    sgw_mono_ms() + conf->request_timeout_ms, answered);
		}
		conn = -1;
		disarm();
	}
	rc = 0;
	if (stopping && !no_drain)
		log_info(
		    "worker exiting: served %ld queued connections", drained);
	else
		log_info("worker exiting");
done:
	if (conn != -1) {
		drop_request(&r);
		end_connection(conn);
		disarm();
	}
	while (npend > 0)
		pending_close(npend - 1, 0);
	if (epfd != -1)
		close(epfd);
	sgw_store_close(ctx.store);
	free(bodybuf);
	return rc;
}
