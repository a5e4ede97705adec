/*
 * metrics: counters in shared memory and the plain-HTTP /metrics
 * listener (SPEC section 8).
 */
#include "metrics.h"
#include "sweeper.h"

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
#include "proc.h"
#include "timefmt.h"

#define REQUEST_MAX 8192      /* bytes of a request we read, at most */
#define IO_TIMEOUT_S 2        /* SO_RCVTIMEO / SO_SNDTIMEO per call */
#define CONN_DEADLINE_MS 5000 /* one connection, start to end */

/* The metrics server's ends of the pipes to the sweeper; -1: none. */
static int scrape_ask = -1, scrape_done = -1;

/* The statuses the handlers send (see sgw_status_text); the last column
 * is "other". */
static const int codes[SGW_METRICS_CODES - 1] = {
	200, 204, 302, 303, 400, 401, 403, 404, 405, 409, 413, 415, 429, 500, 503,
};
#define CODE_OTHER (SGW_METRICS_CODES - 1)

static const char *const authz_results[SGW_METRICS_AUTHZ_N] = {
	"pass", "unauthenticated", "forbidden", "unavailable",
};

static const char *const login_results[SGW_METRICS_LOGIN_N] = {
	"success", "failure", "locked",
};

/* Upper bounds of the duration buckets in nanoseconds, so a request is
 * sorted with integer comparisons; the labels are the same values in
 * seconds, written out so that they print exactly. */
static const uint64_t bucket_ns[SGW_METRICS_BUCKETS - 1] = {
	500000, 1000000, 2500000, 5000000, 10000000, 25000000, 50000000,
	100000000, 250000000, 500000000, 1000000000, 2500000000,
};
static const char *const bucket_le[SGW_METRICS_BUCKETS] = {
	"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
	"0.25", "0.5", "1", "2.5", "+Inf",
};

/* Where the metrics server, a program of its own after exec, finds its
 * listening socket and the counters. */
#define CHILD_LISTEN_FD 3
#define CHILD_COUNTERS_FD 4
#define CHILD_ASK_FD 5  /* the scrape pipes to the sweeper (sweeper.h) */
#define CHILD_DONE_FD 6

static struct sgw_metrics *counters;
static struct sgw_metrics *made;  /* the last mapping sgw_metrics_new made */
static int made_fd = -1;          /* ...and its memfd */

struct sgw_metrics *
sgw_metrics_new(void)
{
	/* A memfd, not an anonymous mapping: forked children share it all
	 * the same, and the metrics server, which is exec'd, maps it again
	 * from the fd. It starts zeroed. */
	int fd = memfd_create("sgw-metrics", MFD_CLOEXEC);
	void *p = MAP_FAILED;

	if (fd == -1)
		return NULL;
	if (ftruncate(fd, sizeof(struct sgw_metrics)) == 0)
		p = mmap(NULL, sizeof(struct sgw_metrics), PROT_READ | PROT_WRITE,
		    MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		int saved = errno;

		close(fd);
		errno = saved;
		return NULL;
	}
	if (made_fd != -1)
		close(made_fd);
	made = p;
	made_fd = fd;
	return p;
}

void
sgw_metrics_free(struct sgw_metrics *m)
{
	if (m == NULL)
		return;
	if (m == made) {
		close(made_fd);
		made = NULL;
		made_fd = -1;
	}
	munmap(m, sizeof(*m));
}

void
sgw_metrics_attach(struct sgw_metrics *m)
{
	counters = m;
}

static void
add(uint64_t *c, uint64_t n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

static uint64_t
get(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

static size_t
endpoint_index(enum sgw_endpoint endpoint)
{
	if ((unsigned)endpoint >= SGW_ENDPOINT_N)
		return SGW_ENDPOINT_OTHER;
	return (size_t)endpoint;
}

static size_t
code_index(int status)
{
	for (size_t i = 0; i < CODE_OTHER; i++)
		if (codes[i] == status)
			return i;
	return CODE_OTHER;
}

void
sgw_metrics_request(enum sgw_endpoint endpoint, int status, int64_t ns)
{
	uint64_t d = ns > 0 ? (uint64_t)ns : 0;
	size_t b = 0;

	if (counters == NULL)
		return;
	while (b < SGW_METRICS_BUCKETS - 1 && d > bucket_ns[b])
		b++;
	add(&counters->requests[endpoint_index(endpoint)][code_index(status)], 1);
	add(&counters->duration[b], 1);
	add(&counters->duration_ns, d);
}

void
sgw_metrics_authz(enum sgw_metrics_authz result)
{
	if (counters != NULL && result < SGW_METRICS_AUTHZ_N)
		add(&counters->authz[result], 1);
}

void
sgw_metrics_login(enum sgw_metrics_login result)
{
	if (counters != NULL && result < SGW_METRICS_LOGIN_N)
		add(&counters->logins[result], 1);
}

void
sgw_metrics_session_created(void)
{
	if (counters != NULL)
		add(&counters->sessions_created, 1);
}

void
sgw_metrics_store_error(void)
{
	if (counters != NULL)
		add(&counters->store_errors, 1);
}

void
sgw_metrics_sessions_expired(uint64_t n)
{
	if (counters != NULL)
		add(&counters->sessions_expired, n);
}

void
sgw_metrics_set_active(uint64_t n)
{
	if (counters != NULL)
		__atomic_store_n(&counters->sessions_active, n, __ATOMIC_RELAXED);
}

void
sgw_metrics_cleanup_ran(int64_t unix_ms)
{
	if (counters != NULL)
		__atomic_store_n(&counters->cleanup_last_run_ms, (uint64_t)unix_ms,
		    __ATOMIC_RELAXED);
}

void
sgw_metrics_set_scrape_pipe(int ask_fd, int done_fd)
{
	scrape_ask = ask_fd;
	scrape_done = done_fd;
}

void
sgw_metrics_set_backend(struct sgw_metrics *m, const char *name)
{
	if (m != NULL)
		snprintf(m->backend, sizeof(m->backend), "%s", name);
}

void
sgw_metrics_worker_restart(void)
{
	if (counters != NULL)
		add(&counters->worker_restarts, 1);
}

void
sgw_metrics_set_workers(size_t n)
{
	if (counters != NULL)
		__atomic_store_n(&counters->workers, (uint64_t)n, __ATOMIC_RELAXED);
}

static void
family(struct sgw_buf *out, const char *name, const char *type,
    const char *help)
{
	sgw_buf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
sgw_metrics_render(const struct sgw_metrics *m, struct sgw_buf *out)
{
	uint64_t total = 0, sum;

	family(out, "sgw_requests_total", "counter",
	    "FastCGI requests answered, by endpoint and HTTP status.");
	for (size_t e = 0; e < SGW_METRICS_ENDPOINTS; e++) {
		for (size_t c = 0; c < SGW_METRICS_CODES; c++) {
			char code[16] = "other";

			if (c < CODE_OTHER)
				snprintf(code, sizeof(code), "%d", codes[c]);
			sgw_buf_addf(out, "sgw_requests_total{endpoint=\"%s\",code=\"%s\"} %llu\n",
			    sgw_endpoint_name((enum sgw_endpoint)e), code,
			    (unsigned long long)get(&m->requests[e][c]));
		}
	}
	family(out, "sgw_authz_total", "counter",
	    "Access decisions of the authorizer role and /check, by result.");
	for (size_t i = 0; i < SGW_METRICS_AUTHZ_N; i++)
		sgw_buf_addf(out, "sgw_authz_total{result=\"%s\"} %llu\n",
		    authz_results[i], (unsigned long long)get(&m->authz[i]));
	family(out, "sgw_logins_total", "counter", "Login attempts, by result.");
	for (size_t i = 0; i < SGW_METRICS_LOGIN_N; i++)
		sgw_buf_addf(out, "sgw_logins_total{result=\"%s\"} %llu\n",
		    login_results[i], (unsigned long long)get(&m->logins[i]));
	family(out, "sgw_sessions_created_total", "counter", "Sessions created.");
	sgw_buf_addf(out, "sgw_sessions_created_total %llu\n",
	    (unsigned long long)get(&m->sessions_created));
	family(out, "sgw_sessions_active", "gauge",
	    "Live sessions in this gateway's store, as last read from it.");
	sgw_buf_addf(out, "sgw_sessions_active %llu\n",
	    (unsigned long long)get(&m->sessions_active));
	family(out, "sgw_sessions_expired_total", "counter",
	    "Sessions that ended by a timeout (found expired or swept).");
	sgw_buf_addf(out, "sgw_sessions_expired_total %llu\n",
	    (unsigned long long)get(&m->sessions_expired));
	family(out, "sgw_store_errors_total", "counter",
	    "Session store failures answered with 503, and failed health pings.");
	sgw_buf_addf(out, "sgw_store_errors_total{backend=\"%s\"} %llu\n",
	    m->backend[0] != '\0' ? m->backend : "none",
	    (unsigned long long)get(&m->store_errors));
	if (strcmp(m->backend, "redis") != 0) {
		uint64_t t = get(&m->cleanup_last_run_ms);

		/* Redis expires by itself and has no sweep to report. */
		family(out, "sgw_store_cleanup_last_run_timestamp_seconds", "gauge",
		    "When the sweeper last removed expired sessions (0: not yet).");
		sgw_buf_addf(out,
		    "sgw_store_cleanup_last_run_timestamp_seconds %llu.%03llu\n",
		    (unsigned long long)(t / 1000), (unsigned long long)(t % 1000));
	}
	family(out, "sgw_worker_restarts_total", "counter",
	    "Workers replaced after they died or were recycled.");
	sgw_buf_addf(out, "sgw_worker_restarts_total %llu\n",
	    (unsigned long long)get(&m->worker_restarts));
	family(out, "sgw_workers", "gauge", "Worker processes alive, of all generations.");
	sgw_buf_addf(out, "sgw_workers %llu\n", (unsigned long long)get(&m->workers));

	/* Buckets are stored apart and summed here, so the cumulative counts
	 * never decrease and +Inf is _count by construction, even while
	 * workers keep adding. */
	family(out, "sgw_request_duration_seconds", "histogram",
	    "Time to decide and write a response.");
	for (size_t b = 0; b < SGW_METRICS_BUCKETS; b++) {
		total += get(&m->duration[b]);
		sgw_buf_addf(out, "sgw_request_duration_seconds_bucket{le=\"%s\"} %llu\n",
		    bucket_le[b], (unsigned long long)total);
	}
	sum = get(&m->duration_ns);
	sgw_buf_addf(out, "sgw_request_duration_seconds_sum %llu.%09llu\n",
	    (unsigned long long)(sum / 1000000000), (unsigned long long)(sum % 1000000000));
	sgw_buf_addf(out, "sgw_request_duration_seconds_count %llu\n",
	    (unsigned long long)total);
}

/* ---- the metrics server ---- */

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
	    {SIGTERM, on_term}, {SIGINT, on_term},
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
	return memmem(buf, n, "\r\n\r\n", 4) != NULL || memmem(buf, n, "\n\n", 2) != NULL;
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
		answer(c, 400, "Bad Request", text, "bad request\n", 12, deadline);
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
		 * does not. Without an answer in time, the last count stands. */
		(void)sgw_sweeper_ask(scrape_ask, scrape_done, 1000);
		sgw_metrics_render(m, &body);
		if (body.oom)
			answer(c, 500, "Internal Server Error", text, "out of memory\n", 14,
			    deadline);
		else
			answer(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8",
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
	    (cfd = fcntl(made_fd, F_DUPFD_CLOEXEC, 10)) == -1 ||
	    (afd = fcntl(scrape_ask, F_DUPFD_CLOEXEC, 10)) == -1 ||
	    (dfd = fcntl(scrape_done, F_DUPFD_CLOEXEC, 10)) == -1 ||
	    dup2(lfd, CHILD_LISTEN_FD) == -1 || dup2(cfd, CHILD_COUNTERS_FD) == -1 ||
	    dup2(afd, CHILD_ASK_FD) == -1 || dup2(dfd, CHILD_DONE_FD) == -1) {
		sgw_log_errno(SGW_LOG_ERROR, "metrics server: cannot pass its sockets");
		return;
	}
	execv("/proc/self/exe", argv);
	sgw_log_errno(SGW_LOG_ERROR, "metrics server: cannot run /proc/self/exe");
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
		fprintf(stderr, "sessiongw: metrics server: cannot open log file %s: %s\n",
		    conf.log_file, strerror(errno));
	/* Read-only: the server only renders the counters. */
	m = mmap(NULL, sizeof(*m), PROT_READ, MAP_SHARED, CHILD_COUNTERS_FD, 0);
	close(CHILD_COUNTERS_FD);
	if (m == MAP_FAILED) {
		sgw_log_errno(SGW_LOG_ERROR, "metrics server: cannot map the counters");
		return 1;
	}
	fcntl(CHILD_LISTEN_FD, F_SETFD, FD_CLOEXEC);
	fcntl(CHILD_ASK_FD, F_SETFD, FD_CLOEXEC);
	fcntl(CHILD_DONE_FD, F_SETFD, FD_CLOEXEC);
	sgw_metrics_set_scrape_pipe(CHILD_ASK_FD, CHILD_DONE_FD);
	return sgw_metrics_serve(CHILD_LISTEN_FD, m, &conf);
}

int
sgw_metrics_serve(int fd, const struct sgw_metrics *m,
    const struct sgw_conf *conf)
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
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			sgw_log_errno(SGW_LOG_ERROR, "metrics server: accept");
			return 1;
		}
		serve_one(c, m);
		/* The answer is complete: let the client see EOF before close. */
		shutdown(c, SHUT_WR);
		close(c);
	}
}
