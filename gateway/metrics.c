/*
 * metrics: the counters in shared memory, their hooks and their text
 * (SPEC section 8). The listener is metrics_server.c.
 */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The statuses the handlers send (see sgw_status_text); the last column
 * is "other". */
static const int codes[SGW_METRICS_CODES - 1] = {
    200,
    204,
    302,
    303,
    400,
    401,
    403,
    404,
    405,
    409,
    413,
    415,
    429,
    500,
    503,
};
#define CODE_OTHER (SGW_METRICS_CODES - 1)

static const char *const authz_results[SGW_METRICS_AUTHZ_N] = {
    "pass",
    "unauthenticated",
    "forbidden",
    "unavailable",
};

static const char *const login_results[SGW_METRICS_LOGIN_N] = {
    "success",
    "failure",
    "locked",
};

/* Upper bounds of the duration buckets in nanoseconds, so a request is
 * sorted with integer comparisons; the labels are the same values in
 * seconds, written out so that they print exactly. */
static const uint64_t bucket_ns[SGW_METRICS_BUCKETS - 1] = {
    500000,
    1000000,
    2500000,
    5000000,
    10000000,
    25000000,
    50000000,
    100000000,
    250000000,
    500000000,
    1000000000,
    2500000000,
};
static const char *const bucket_le[SGW_METRICS_BUCKETS] = {
    "0.0005",
    "0.001",
    "0.0025",
    "0.005",
    "0.01",
    "0.025",
    "0.05",
    "0.1",
    "0.25",
    "0.5",
    "1",
    "2.5",
    "+Inf",
};

static struct sgw_metrics *counters;
static struct sgw_metrics *made; /* the last mapping sgw_metrics_new made */
static int made_fd = -1;         /* ...and its memfd */

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
		p = mmap(NULL, sizeof(struct sgw_metrics),
		    PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
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

int
sgw_metrics_fd(void)
{
	return made_fd;
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
	add(&counters->requests[endpoint_index(endpoint)][code_index(status)],
	    1);
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
		__atomic_store_n(
		    &counters->sessions_active, n, __ATOMIC_RELAXED);
}

void
sgw_metrics_cleanup_ran(int64_t unix_ms)
{
	if (counters != NULL)
		__atomic_store_n(&counters->cleanup_last_run_ms,
		    (uint64_t)unix_ms, __ATOMIC_RELAXED);
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
		__atomic_store_n(
		    &counters->workers, (uint64_t)n, __ATOMIC_RELAXED);
}

static void
family(
    struct sgw_buf *out, const char *name, const char *type, const char *help)
{
	sgw_buf_addf(
	    out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
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
			sgw_buf_addf(out,
			    "sgw_requests_total{endpoint=\"%s\",code=\"%s\"} "
			    "%llu\n",
			    sgw_endpoint_name((enum sgw_endpoint)e), code,
			    (unsigned long long)get(&m->requests[e][c]));
		}
	}
	family(out, "sgw_authz_total", "counter",
	    "Access decisions of the authorizer role and /check, by result.");
	for (size_t i = 0; i < SGW_METRICS_AUTHZ_N; i++)
		sgw_buf_addf(out, "sgw_authz_total{result=\"%s\"} %llu\n",
		    authz_results[i], (unsigned long long)get(&m->authz[i]));
	family(
	    out, "sgw_logins_total", "counter", "Login attempts, by result.");
	for (size_t i = 0; i < SGW_METRICS_LOGIN_N; i++)
		sgw_buf_addf(out, "sgw_logins_total{result=\"%s\"} %llu\n",
		    login_results[i], (unsigned long long)get(&m->logins[i]));
	family(
	    out, "sgw_sessions_created_total", "counter", "Sessions created.");
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
	    "Session store failures answered with 503, and failed health "
	    "pings.");
	sgw_buf_addf(out, "sgw_store_errors_total{backend=\"%s\"} %llu\n",
	    m->backend[0] != '\0' ? m->backend : "none",
	    (unsigned long long)get(&m->store_errors));
	if (strcmp(m->backend, "redis") != 0) {
		uint64_t t = get(&m->cleanup_last_run_ms);

		/* Redis expires by itself and has no sweep to report. */
		family(out, "sgw_store_cleanup_last_run_timestamp_seconds",
		    "gauge",
		    "When the sweeper last removed expired sessions (0: not "
		    "yet).");
		sgw_buf_addf(out,
		    "sgw_store_cleanup_last_run_timestamp_seconds "
		    "%llu.%03llu\n",
		    (unsigned long long)(t / 1000),
		    (unsigned long long)(t % 1000));
	}
	family(out, "sgw_worker_restarts_total", "counter",
	    "Workers replaced after they died or were recycled.");
	sgw_buf_addf(out, "sgw_worker_restarts_total %llu\n",
	    (unsigned long long)get(&m->worker_restarts));
	family(out, "sgw_workers", "gauge",
	    "Worker processes alive, of all generations.");
	sgw_buf_addf(
	    out, "sgw_workers %llu\n", (unsigned long long)get(&m->workers));

	/* Buckets are stored apart and summed here, so the cumulative counts
	 * never decrease and +Inf is _count by construction, even while
	 * workers keep adding. */
	family(out, "sgw_request_duration_seconds", "histogram",
	    "Time to decide and write a response.");
	for (size_t b = 0; b < SGW_METRICS_BUCKETS; b++) {
		total += get(&m->duration[b]);
		sgw_buf_addf(out,
		    "sgw_request_duration_seconds_bucket{le=\"%s\"} %llu\n",
		    bucket_le[b], (unsigned long long)total);
	}
	sum = get(&m->duration_ns);
	sgw_buf_addf(out, "sgw_request_duration_seconds_sum %llu.%09llu\n",
	    (unsigned long long)(sum / 1000000000),
	    (unsigned long long)(sum % 1000000000));
	sgw_buf_addf(out, "sgw_request_duration_seconds_count %llu\n",
	    (unsigned long long)total);
}
