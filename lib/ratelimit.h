/*
 * ratelimit: login regulation (SPEC section 5), written once over the
 * store's counters so that every backend, and every gateway host sharing
 * one, regulates the same way.
 *
 * An attempt is counted before the password is verified, atomically, and
 * forgiven when it succeeds: so however many attempts race, at most
 * max_failures of them are ever verified per window for a user name (and
 * max_client_failures for a client address). A lockout spends the count;
 * the lockouts are read again after counting, so an attempt that counted
 * afresh behind a racing lockout is refused too.
 */
#ifndef SGW_RATELIMIT_H
#define SGW_RATELIMIT_H

#include <stdint.h>

#include "store.h"

struct sgw_conf;

struct sgw_limits {
	int max_failures;        /* per user name */
	int max_client_failures; /* per client address */
	int64_t window_ms;
	int64_t lockout_ms;
};

/* One attempt, between sgw_ratelimit_begin and its outcome. */
struct sgw_attempt {
	const char *user;
	const char *client; /* "" when unknown: not regulated by address */
	int64_t nuser;      /* this attempt's number in the window */
	int64_t nclient;
};

void sgw_limits_from(struct sgw_limits *l, const struct sgw_conf *conf);

/*
 * Counts an attempt. *retry_ms > 0 (the time until it may be tried again)
 * when it must be refused with 429 and not verified; 0 when the password
 * may be verified now.
 */
int sgw_ratelimit_begin(struct sgw_store *st, const struct sgw_limits *l,
    struct sgw_attempt *a, int64_t now_ms, int64_t *retry_ms);

/* The verification failed: once the limit is reached, locks out the
 * user (or client) for lockout_ms. *retry_ms > 0 when that happened. */
int sgw_ratelimit_failed(struct sgw_store *st, const struct sgw_limits *l,
    const struct sgw_attempt *a, int64_t now_ms, int64_t *retry_ms);

/* The verification succeeded: the user's counter is cleared and the
 * client's attempt forgiven. */
int sgw_ratelimit_succeeded(struct sgw_store *st, const struct sgw_limits *l,
    const struct sgw_attempt *a, int64_t now_ms);

#endif
