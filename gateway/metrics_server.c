/*
 * metrics_server: the plain-HTTP /metrics listener (SPEC section 8), a
 * program of its own exec'd by a child of the master. See
 * metrics_server.h.
 */
#include "metrics_server.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "proc.h"
#include "sweeper.h"
#include "timefmt.h"

#define REQUEST_MAX 8192      /* bytes of a request we read, at most */
#define IO_TIMEOUT_S 2        /* SO_RCVTIMEO / SO_SNDTIMEO per call */
#define CONN_DEADLINE_MS 5000 /* one connection, start to end */

/* Where the metrics server, a program of its own after exec, finds its
 * listening socket and the counters. */
#define CHILD_LISTEN_FD 3
#define CHILD_COUNTERS_FD 4
#define CHILD_ASK_FD 5 /* the scrape pipes to the sweeper (sweeper.h) */
#define CHILD_DONE_FD 6

/* The metrics server's ends of the pipes to the sweeper; -1: none. */
static int scrape_ask = -1, scrape_done = -1;

void
sgw_metrics_set_scrape_pipe(int ask_fd, int done_fd)
{
	scrape_ask = ask_fd;
	scrape_done = done_fd;
}

static void
on_term(int sig)
{
	(void)sig;
	_exit(0);
}

static void
install_signals(void)
{
	/* Nothing to finish: a scrape cut short is simply retried. */
	static const struct sgw_proc_handler h[] = {
	    {SIGTERM, on_term},
	    {SIGINT, on_term},
	};

	sgw_proc_signals(h, sizeof(h) / sizeof(h[0]));
	sgw_proc_unblock_signals();
}

/* Sends all of data, within the connection's deadline. */
static int
send_all(int c, const char *data, size_t len, int64_t deadline)
{
	while (len > 0) {
		ssize_t n;

		if (sgw_mono_ms() >= deadline)
			return -1;
		n = send(c, data, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static void
answer(int c, int status, const char *reason, const char *type,
    const char *body, size_t len, int64_t deadline)
{
	char head[256];
	int n;

	n = snprintf(head, sizeof(head),
	    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	    "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
	    status, reason, type, len);
	if (n < 0 || (size_t)n >= sizeof(head))
		return;
	if (send_all(c, head, (size_t)n, deadline) == 0)
		send_all(c, body, len, deadline);
}

static int
headers_end(const char *buf, size_t n)
{
	return memmem(buf, n, "\r\n\r\n", 4) != NULL ||
	    memmem(buf, n, "\n\n", 2) != NULL;
}

/* Reads the request until the end of its headers, the buffer is full, the
 * deadline, a timeout or EOF, whichever comes first. Returns the bytes
 * read. */
static size_t
read_request(int c, char *buf, size_t max, int64_t deadline)
{
	size_t n = 0;

	while (n < max && sgw_mono_ms() < deadline) {
		ssize_t got = recv(c, buf + n, max - n, 0);

		if (got == -1 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
		if (headers_end(buf, n))
			break;
	}
	return n;
}

/* "GET /metrics HTTP/1.1", a query string allowed. */
static int
wants_metrics(const char *line, size_t len)
{
	static const char want[] = "GET /metrics";
	size_t n = sizeof(want) - 1;

	return len > n && memcmp(line, want, n) == 0 &&
	    (line[n] == ' ' || line[n] == '?');
}

static void
serve_one(int c, const struct sgw_metrics *m)
{
	static const char text[] = "text/plain; charset=utf-8";
	struct timeval tv = {IO_TIMEOUT_S, 0};
	int64_t deadline = sgw_mono_ms() + CONN_DEADLINE_MS;
	char req[REQUEST_MAX];
	const char *eol;
	size_t n;

	if (setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1)
		return;
	n = read_request(c, req, sizeof(req), deadline);
	if (n == 0)
		return;
	/* A request line is enough (a client may send no headers and close
	 * its side), but a request that fills the buffer is refused. */
	if ((eol = memchr(req, '\n', n)) == NULL ||
	    (n == sizeof(req) && !headers_end(req, n))) {
		answer(
		    c, 400, "Bad Request", text, "bad request\n", 12, deadline);
		return;
	}
	if (!wants_metrics(req, (size_t)(eol - req))) {
		answer(c, 404, "Not Found", text, "not found\n", 10, deadline);
		return;
	}
	{
		struct sgw_buf body = {0};

		/* sgw_sessions_active is read from the store now, by the
		 * sweeper, which holds the store's credentials; this process
		 * does not. Without an answer in time, the last count stands.
		 */
		(void)sgw_sweeper_ask(scrape_ask, scrape_done, 1000);
		sgw_metrics_render(m, &body);
		if (body.oom)
			answer(c, 500, "Internal Server Error", text,
			    "out of memory\n", 14, deadline);
		else
			answer(c, 200, "OK",
			    "text/plain; version=0.0.4; charset=utf-8",
			    body.data, body.len, deadline);
		sgw_buf_free(&body);
	}
}

/*
 * The metrics server talks plain HTTP to whoever reaches metrics_listen,
 * so it must hold no secret. A forked copy of the master would hold the
 * keys, the password hashes and the backend passwords, and the freed
 * buffers they were read from (users.c and conf.c free those unwiped):
 * it runs as a new program instead, which has nothing of the master's
 * memory. Only its socket, the counters and the few settings it uses go
 * over.
 */
void
sgw_metrics_exec(int fd, const struct sgw_conf *conf)
{
	char level[16];
	char *argv[] = {"sessiongw", SGW_METRICS_SERVER_ARG, conf->user, level,
	    conf->log_file, conf->metrics_listen, NULL};
	int lfd, cfd, afd, dfd;

	snprintf(level, sizeof(level), "%d", (int)conf->log_level);
	/* Each first above the target numbers, so that no dup2 can
	 * overwrite another's source; dup2 clears close-on-exec. */
	if ((lfd = fcntl(fd, F_DUPFD_CLOEXEC, 10)) == -1 ||
	    (cfd = fcntl(sgw_metrics_fd(), F_DUPFD_CLOEXEC, 10)) == -1 ||
	    (afd = fcntl(scrape_ask, F_DUPFD_CLOEXEC, 10)) == -1 ||
	    (dfd = fcntl(scrape_done, F_DUPFD_CLOEXEC, 10)) == -1 ||
	    dup2(lfd, CHILD_LISTEN_FD) == -1 ||
	    dup2(cfd, CHILD_COUNTERS_FD) == -1 ||
	    dup2(afd, CHILD_ASK_FD) == -1 || dup2(dfd, CHILD_DONE_FD) == -1) {
		sgw_log_errno(
		    SGW_LOG_ERROR, "metrics server: cannot pass its sockets");
		return;
	}
	execv("/proc/self/exe", argv);
	sgw_log_errno(
	    SGW_LOG_ERROR, "metrics server: cannot run /proc/self/exe");
}

int
sgw_metrics_server_main(int argc, char **argv)
{
	struct sgw_conf conf;
	const struct sgw_metrics *m;
	char *end;
	long level;

	if (argc != 6 || strcmp(argv[1], SGW_METRICS_SERVER_ARG) != 0)
		return 2;
	level = strtol(argv[3], &end, 10);
	if (*end != '\0' || level < SGW_LOG_ERROR || level > SGW_LOG_DEBUG)
		return 2;
	memset(&conf, 0, sizeof(conf));
	conf.user = argv[2];
	conf.log_level = (enum sgw_log_level)level;
	conf.log_file = argv[4];
	conf.metrics_listen = argv[5];
	if (sgw_log_open(conf.log_level, conf.log_file) == -1)
		fprintf(stderr,
		    "sessiongw: metrics server: cannot open log file %s: %s\n",
		    conf.log_file, strerror(errno));
	/* Read-only: the server only renders the counters. */
	m = mmap(NULL, sizeof(*m), PROT_READ, MAP_SHARED, CHILD_COUNTERS_FD, 0);
	close(CHILD_COUNTERS_FD);
	if (m == MAP_FAILED) {
		sgw_log_errno(
		    SGW_LOG_ERROR, "metrics server: cannot map the counters");
		return 1;
	}
	fcntl(CHILD_LISTEN_FD, F_SETFD, FD_CLOEXEC);
	fcntl(CHILD_ASK_FD, F_SETFD, FD_CLOEXEC);
	fcntl(CHILD_DONE_FD, F_SETFD, FD_CLOEXEC);
	sgw_metrics_set_scrape_pipe(CHILD_ASK_FD, CHILD_DONE_FD);
	return sgw_metrics_serve(CHILD_LISTEN_FD, m, &conf);
}

int
sgw_metrics_serve(
    int fd, const struct sgw_metrics *m, const struct sgw_conf *conf)
{
	install_signals();
	/* Tells it apart from the workers in ps and pgrep. */
	prctl(PR_SET_NAME, "sgw-metrics", 0, 0, 0);
	if (sgw_proc_drop_privileges(conf, "metrics server") == -1)
		return 1;
	/* Set after the drop, which clears it: the listening port must not
	 * outlive a master that was killed. */
	prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	log_info("metrics server listening on %s", conf->metrics_listen);
	for (;;) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

		if (c == -1) {
			/* A connection that went away before we took it, or a
			 * signal: take the next one. */
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EPROTO)
				continue;
			sgw_log_errno(SGW_LOG_ERROR, "metrics server: accept");
			return 1;
		}
		serve_one(c, m);
		/* The answer is complete: let the client see EOF before close.
		 */
		shutdown(c, SHUT_WR);
		close(c);
	}
}
