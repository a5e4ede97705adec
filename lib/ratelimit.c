/*
 * ratelimit: login regulation over store counters. See ratelimit.h.
 *
 * Counters (keys as the store sees them, under its prefix):
 *   f:u:USER, f:c:ADDR   attempts in the window (lifetime failure_window)
 *   l:u:USER, l:c:ADDR   lockouts (lifetime lockout)
 */
#include "ratelimit.h"

#include <stdio.h>

#include "conf.h"

void
sgw_limits_from(struct sgw_limits *l, const struct sgw_conf *conf)
{
	l->max_failures = conf->max_failures;
	l->max_client_failures = conf->max_client_failures;
	l->window_ms = conf->failure_window_ms;
	l->lockout_ms = conf->lockout_ms;
}

static void
key(char *out, const char *kind, const char *name)
{
	snprintf(out, SGW_COUNTER_KEY_MAXLEN + 1, "%s%s", kind, name);
}

/* The remaining lockout of one counter key, 0 when none. */
static int
locked(struct sgw_store *st, const char *kind, const char *name, int64_t now,
    int64_t *left)
{
	char k[SGW_COUNTER_KEY_MAXLEN + 1];
	int64_t v;

	key(k, kind, name);
	return st->ops->counter_get(st, k, now, &v, left);
}

/* The longer remaining lockout of the attempt's user and client, 0 when
 * neither is locked out. */
static int
locked_for(struct sgw_store *st, const struct sgw_attempt *a, int64_t now,
    int64_t *left)
{
	int64_t lu = 0, lc = 0;
	int rc;

	*left = 0;
	if ((rc = locked(st, "l:u:", a->user, now, &lu)) != SGW_STORE_OK ||
	    (a->client[0] != '\0' &&
	        (rc = locked(st, "l:c:", a->client, now, &lc)) != SGW_STORE_OK))
		return rc;
	*left = lu > lc ? lu : lc;
	return SGW_STORE_OK;
}

/* Takes one attempt back from a window's counter. Below 0 the counter
 * went away since the attempt was counted (a lockout spent it, or its
 * window ended), so there was nothing to take back, and a negative count
 * would be credit for an extra failure in the next window. */
static int
forgive(struct sgw_store *st, const struct sgw_limits *l, const char *kind,
    const char *name, int64_t now)
{
	char k[SGW_COUNTER_KEY_MAXLEN + 1];
	int64_t v;
	int rc;

	key(k, kind, name);
	if ((rc = st->ops->counter_add(st, k, -1, l->window_ms, now, &v)) !=
	    SGW_STORE_OK)
		return rc;
	return v < 0 ? st->ops->counter_del(st, k) : SGW_STORE_OK;
}

int
sgw_ratelimit_begin(struct sgw_store *st, const struct sgw_limits *l,
    struct sgw_attempt *a, int64_t now, int64_t *retry_ms)
{
	char k[SGW_COUNTER_KEY_MAXLEN + 1];
	int rc, by_client = a->client[0] != '\0';

	*retry_ms = 0;
	a->nuser = a->nclient = 0;
	if ((rc = locked_for(st, a, now, retry_ms)) != SGW_STORE_OK ||
	    *retry_ms > 0)
		return rc;
	key(k, "f:u:", a->user);
	if ((rc = st->ops->counter_add(
	         st, k, 1, l->window_ms, now, &a->nuser)) != SGW_STORE_OK)
		return rc;
	if (by_client) {
		key(k, "f:c:", a->client);
		if ((rc = st->ops->counter_add(st, k, 1, l->window_ms, now,
		         &a->nclient)) != SGW_STORE_OK)
			return rc;
	}
	/* More attempts in flight than the limit allows: the ones past it
	 * are refused unverified. The lockout itself starts when a
	 * verified attempt fails at the limit (sgw_ratelimit_failed). */
	if (a->nuser > l->max_failures ||
	    (by_client && a->nclient > l->max_client_failures)) {
		*retry_ms = l->lockout_ms;
		return SGW_STORE_OK;
	}
	/* A racing attempt may have locked out between the read above and
	 * this count. Its lockout spent the window's count, so this attempt
	 * counted afresh from 1 and would be verified past the limit. The
	 * lock is set before the count is spent (lock()), so it is there to
	 * be read now: this attempt is refused and taken back, as if the
	 * first read had found the lock. */
	if ((rc = locked_for(st, a, now, retry_ms)) != SGW_STORE_OK ||
	    *retry_ms == 0)
		return rc;
	if ((rc = forgive(st, l, "f:u:", a->user, now)) != SGW_STORE_OK ||
	    (by_client &&
	        (rc = forgive(st, l, "f:c:", a->client, now)) != SGW_STORE_OK))
		return rc;
	a->nuser = a->nclient = 0;
	return SGW_STORE_OK;
}

static int
lock(struct sgw_store *st, const struct sgw_limits *l, const char *name,
    const char *fkind, const char *lkind, int64_t now)
{
	char k[SGW_COUNTER_KEY_MAXLEN + 1];
	int rc;

	key(k, lkind, name);
	if ((rc = st->ops->counter_set(st, k, 1, l->lockout_ms, now)) !=
	    SGW_STORE_OK)
		return rc;
	key(k, fkind, name);
	return st->ops->counter_del(st, k);
}

int
sgw_ratelimit_failed(struct sgw_store *st, const struct sgw_limits *l,
    const struct sgw_attempt *a, int64_t now, int64_t *retry_ms)
{
	int rc;

	*retry_ms = 0;
	if (a->nuser >= l->max_failures) {
		if ((rc = lock(st, l, a->user, "f:u:", "l:u:", now)) !=
		    SGW_STORE_OK)
			return rc;
		*retry_ms = l->lockout_ms;
	}
	if (a->client[0] != '\0' && a->nclient >= l->max_client_failures) {
		if ((rc = lock(st, l, a->client, "f:c:", "l:c:", now)) !=
		    SGW_STORE_OK)
			return rc;
		*retry_ms = l->lockout_ms;
	}
	return SGW_STORE_OK;
}

int
sgw_ratelimit_succeeded(struct sgw_store *st, const struct sgw_limits *l,
    const struct sgw_attempt *a, int64_t now)
{
	char k[SGW_COUNTER_KEY_MAXLEN + 1];
	int rc;

	key(k, "f:u:", a->user);
	if ((rc = st->ops->counter_del(st, k)) != SGW_STORE_OK)
		return rc;
	if (a->client[0] == '\0' || a->nclient == 0)
		return SGW_STORE_OK;
	return forgive(st, l, "f:c:", a->client, now);
}
