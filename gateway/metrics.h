/*
 * metrics: the counters of SPEC section 8 (the listener that serves
 * them is metrics_server.h).
 *
 * The counters live in one shared mapping (of a memfd) that the master
 * makes before it forks anything, so every worker of every generation adds to
 * the same numbers and a reload does not reset them. Each counter is a
 * uint64_t changed with relaxed __atomic operations and no lock, so a
 * worker killed in the middle of a request cannot leave anything held.
 *
 * The label sets are fixed (SPEC section 8): every series exists from the
 * start, and nothing a client sends can create a new one.
 */
#ifndef SGW_METRICS_H
#define SGW_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "outcome.h"

#define SGW_METRICS_ENDPOINTS                                                  \
	SGW_ENDPOINT_N         /* resp->endpoint, set by dispatch */
#define SGW_METRICS_CODES 16   /* the statuses we send, then "other" */
#define SGW_METRICS_BUCKETS 13 /* 12 bounds, then +Inf */

enum sgw_metrics_authz {
	SGW_METRICS_AUTHZ_PASS,
	SGW_METRICS_AUTHZ_UNAUTHENTICATED,
	SGW_METRICS_AUTHZ_FORBIDDEN,
	SGW_METRICS_AUTHZ_UNAVAILABLE,
	SGW_METRICS_AUTHZ_N
};

enum sgw_metrics_login {
	SGW_METRICS_LOGIN_SUCCESS,
	SGW_METRICS_LOGIN_FAILURE,
	SGW_METRICS_LOGIN_LOCKED,
	SGW_METRICS_LOGIN_N
};

/* Read and written only through __atomic builtins. */
struct sgw_metrics {
	uint64_t requests[SGW_METRICS_ENDPOINTS][SGW_METRICS_CODES];
	uint64_t authz[SGW_METRICS_AUTHZ_N];
	uint64_t logins[SGW_METRICS_LOGIN_N];
	uint64_t sessions_created;
	uint64_t store_errors;
	uint64_t sessions_expired;
	uint64_t sessions_active;     /* gauge; the sweeper sets it */
	uint64_t cleanup_last_run_ms; /* gauge; Unix ms, 0 = never */
	char backend[16];             /* the store's name, set once
	                               * before any fork */
	uint64_t worker_restarts;
	uint64_t workers;                       /* gauge; the master sets it */
	uint64_t duration[SGW_METRICS_BUCKETS]; /* per bucket, not cumulative */
	uint64_t duration_ns;                   /* the histogram's _sum */
};

/* Zeroed counters in a MAP_SHARED anonymous mapping, so children forked
 * afterwards share them. NULL with errno on failure. Free with
 * sgw_metrics_free (each process that no longer needs them may). */
struct sgw_metrics *sgw_metrics_new(void);
/* Unmaps; accepts NULL. */
void sgw_metrics_free(struct sgw_metrics *m);
/* The memfd behind the last sgw_metrics_new (-1: none), which the
 * metrics server maps again after exec. Still owned by this module. */
int sgw_metrics_fd(void);

/* The counters the hooks below add to in this process (inherited across
 * fork). NULL, the default, makes every hook a no-op: subcommands and
 * unit tests of the handlers count nothing. The caller keeps ownership. */
void sgw_metrics_attach(struct sgw_metrics *m);

/* The hooks. Each is one relaxed atomic operation. */
/* A request answered: endpoint is resp->endpoint (a value out of range
 * counts as "other"), status the HTTP status, ns how long it took. */
void sgw_metrics_request(enum sgw_endpoint endpoint, int status, int64_t ns);
void sgw_metrics_authz(enum sgw_metrics_authz result);
void sgw_metrics_login(enum sgw_metrics_login result);
void sgw_metrics_session_created(void);
void sgw_metrics_store_error(void);
void sgw_metrics_sessions_expired(uint64_t n);
void sgw_metrics_set_active(uint64_t n);
void sgw_metrics_cleanup_ran(int64_t unix_ms);
/* Names the store backend in sgw_store_errors_total{backend}. */
void sgw_metrics_set_backend(struct sgw_metrics *m, const char *name);
void sgw_metrics_worker_restart(void);
void sgw_metrics_set_workers(size_t n);

/* Appends m in the Prometheus text format 0.0.4 (# HELP and # TYPE for
 * every family, every series even when 0). Check out->oom. */
void sgw_metrics_render(const struct sgw_metrics *m, struct sgw_buf *out);

#endif
