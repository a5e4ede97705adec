/*
 * ratelimit: login regulation over the store's counters (SPEC section 5,
 * issue 7 item 8), on the fake store with a clock the test moves.
 *
 * An attempt is counted before its password is verified, so attempts "in
 * flight" at once are simulated by calling sgw_ratelimit_begin several
 * times before any outcome: however many race, at most max_failures of
 * them may verify.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_store.h"
#include "ratelimit.h"
#include "store.h"

#define T0 1800000000000LL /* some Unix ms; the fake reads no clock */
#define LOCKOUT 60000
#define WINDOW 900000

struct fx {
	struct fake_store *fake;
	struct sgw_store *st;
	struct sgw_limits l;
	int64_t now;
};

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL || (f->fake = fake_store_new()) == NULL)
		return -1;
	f->st = &f->fake->base;
	f->l.max_failures = 3;
	f->l.max_client_failures = 5;
	f->l.window_ms = WINDOW;
	f->l.lockout_ms = LOCKOUT;
	f->now = T0;
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	if (f != NULL)
		sgw_store_close(f->st);
	free(f);
	return 0;
}

/* Begins an attempt; returns its retry (0: may verify). */
static int64_t
begin(struct fx *f, struct sgw_attempt *a, const char *user, const char *client)
{
	int64_t retry = -1;

	memset(a, 0, sizeof(*a));
	a->user = user;
	a->client = client;
	if (sgw_ratelimit_begin(f->st, &f->l, a, f->now, &retry) !=
	    SGW_STORE_OK)
		fail_msg("begin: %s", f->st->errstr);
	assert_true(retry >= 0);
	return retry;
}

/* One whole failed attempt; returns what failed said (> 0: locked out
 * now), or the begin's retry when it was refused before verifying. */
static int64_t
fail_once(struct fx *f, const char *user, const char *client)
{
	struct sgw_attempt a;
	int64_t retry = begin(f, &a, user, client);

	if (retry > 0)
		return retry;
	assert_int_equal(sgw_ratelimit_failed(f->st, &f->l, &a, f->now, &retry),
	    SGW_STORE_OK);
	return retry;
}

static int64_t
counter(struct fx *f, const char *key)
{
	return fake_store_counter(f->fake, key, f->now);
}

static void
racing_attempts_verify_at_most_max_failures(void **state)
{
	struct fx *f = *state;
	enum { N = 10 };
	struct sgw_attempt a[N];
	int64_t retry[N];
	int allowed = 0;

	/* Ten attempts for one user name in flight before any outcome. */
	for (int i = 0; i < N; i++) {
		retry[i] = begin(f, &a[i], "alice", "192.0.2.1");
		allowed += retry[i] == 0;
		if (retry[i] != 0 && retry[i] != LOCKOUT)
			fail_msg(
			    "attempt %d: retry %lld", i, (long long)retry[i]);
	}
	assert_int_equal(allowed, f->l.max_failures);
	/* The first ones are the ones let through. */
	for (int i = 0; i < N; i++)
		assert_int_equal(retry[i] == 0, i < f->l.max_failures);

	/* They all fail: the one at the limit locks the user out. */
	for (int i = 0; i < N; i++) {
		int64_t r = -1;

		if (retry[i] != 0)
			continue;
		assert_int_equal(
		    sgw_ratelimit_failed(f->st, &f->l, &a[i], f->now, &r),
		    SGW_STORE_OK);
		assert_int_equal(
		    r, a[i].nuser >= f->l.max_failures ? LOCKOUT : 0);
	}
	assert_int_equal(counter(f, "l:u:alice"), 1);
	{
		struct sgw_attempt b;

		f->now += 1000;
		assert_int_equal(
		    begin(f, &b, "alice", "192.0.2.99"), LOCKOUT - 1000);
	}

	/* Per client address the same, across user names. */
	allowed = 0;
	for (int i = 0; i < N; i++) {
		char user[16];

		snprintf(user, sizeof(user), "u%d", i);
		allowed += begin(f, &a[i], user, "198.51.100.7") == 0;
	}
	assert_int_equal(allowed, f->l.max_client_failures);
}

/* What the integration test's 50 racers found once in CI: attempt B
 * reads no lockout; before B counts, attempt A fails at the limit, locks
 * out and spends the window's count; B then counts afresh from 1. B must
 * still be refused, unverified, and leave no count behind. */
struct lock_between {
	struct fx *f;
	struct sgw_attempt *at_limit;
	int64_t retry;
};

static void
fail_at_the_limit(struct fake_store *fake, void *arg)
{
	struct lock_between *lb = arg;

	(void)fake;
	assert_int_equal(sgw_ratelimit_failed(lb->f->st, &lb->f->l,
	                     lb->at_limit, lb->f->now, &lb->retry),
	    SGW_STORE_OK);
}

static void
lockout_between_read_and_count_still_refuses(void **state)
{
	struct fx *f = *state;
	struct sgw_attempt a[3], b;
	struct lock_between lb = {.f = f, .at_limit = &a[2]};

	for (int i = 0; i < 3; i++)
		assert_int_equal(begin(f, &a[i], "alice", "192.0.2.1"), 0);
	/* The first two fail below the limit. */
	for (int i = 0; i < 2; i++) {
		int64_t r = -1;

		assert_int_equal(
		    sgw_ratelimit_failed(f->st, &f->l, &a[i], f->now, &r),
		    SGW_STORE_OK);
		assert_int_equal(r, 0);
	}
	/* B's first counter_add is where the third one's failure lands. */
	f->fake->before = fail_at_the_limit;
	f->fake->before_op = OP_COUNTER_ADD;
	f->fake->before_arg = &lb;
	f->now += 1000;
	assert_int_equal(begin(f, &b, "alice", "192.0.2.2"), LOCKOUT);
	assert_null(f->fake->before);
	assert_int_equal(lb.retry, LOCKOUT);
	/* Taken back: the lockout's end starts a clean window. */
	assert_int_equal(counter(f, "f:u:alice"), 0);
	assert_int_equal(counter(f, "f:c:192.0.2.2"), 0);
	f->now += LOCKOUT;
	assert_int_equal(begin(f, &b, "alice", "192.0.2.2"), 0);
	assert_int_equal(b.nuser, 1);

	/* The same for a client address locked out by a racing attempt of
	 * another user name. */
	f->l.max_failures = 100;
	f->l.max_client_failures = 1;
	assert_int_equal(begin(f, &a[0], "carol", "10.2.2.2"), 0);
	lb.at_limit = &a[0];
	f->fake->before = fail_at_the_limit;
	assert_int_equal(begin(f, &b, "dave", "10.2.2.2"), LOCKOUT);
	assert_int_equal(lb.retry, LOCKOUT);
	assert_int_equal(counter(f, "f:u:dave"), 0);
	assert_int_equal(counter(f, "f:c:10.2.2.2"), 0);
}

static void
racing_success_clears_the_user(void **state)
{
	struct fx *f = *state;
	struct sgw_attempt a[3];
	int64_t r;

	for (int i = 0; i < 3; i++)
		assert_int_equal(begin(f, &a[i], "alice", "192.0.2.1"), 0);
	assert_int_equal(counter(f, "f:u:alice"), 3);
	/* One of the three was the right password. */
	assert_int_equal(
	    sgw_ratelimit_succeeded(f->st, &f->l, &a[1], f->now), SGW_STORE_OK);
	assert_int_equal(counter(f, "f:u:alice"), 0);
	/* Another one that was in flight fails afterwards: below the
	 * limit, nothing locks. */
	assert_int_equal(sgw_ratelimit_failed(f->st, &f->l, &a[0], f->now, &r),
	    SGW_STORE_OK);
	assert_int_equal(r, 0);
	assert_int_equal(counter(f, "l:u:alice"), 0);
	/* A fresh attempt counts from the cleared counter. */
	assert_int_equal(begin(f, &a[0], "alice", "192.0.2.1"), 0);
	assert_int_equal(a[0].nuser, 1);
}

static void
success_clears_the_users_counter(void **state)
{
	struct fx *f = *state;
	struct sgw_attempt a;

	for (int i = 0; i < 2; i++)
		assert_int_equal(fail_once(f, "bob", "192.0.2.1"), 0);
	assert_int_equal(counter(f, "f:u:bob"), 2);
	assert_int_equal(counter(f, "f:c:192.0.2.1"), 2);
	assert_int_equal(begin(f, &a, "bob", "192.0.2.1"), 0);
	assert_int_equal(
	    sgw_ratelimit_succeeded(f->st, &f->l, &a, f->now), SGW_STORE_OK);
	assert_int_equal(counter(f, "f:u:bob"), 0);
	/* The client's attempt is forgiven; its earlier failures stay. */
	assert_int_equal(counter(f, "f:c:192.0.2.1"), 2);

	/* Failures start over: two more do not lock, the third does. */
	for (int i = 0; i < 2; i++)
		assert_int_equal(fail_once(f, "bob", "192.0.2.1"), 0);
	assert_int_equal(fail_once(f, "bob", "192.0.2.1"), LOCKOUT);
}

static void
failures_at_the_limit_lock_out_until_lockout_passes(void **state)
{
	struct fx *f = *state;
	struct sgw_attempt a;

	assert_int_equal(fail_once(f, "alice", "192.0.2.1"), 0);
	assert_int_equal(fail_once(f, "alice", "192.0.2.1"), 0);
	assert_int_equal(counter(f, "l:u:alice"), 0);
	assert_int_equal(fail_once(f, "alice", "192.0.2.1"), LOCKOUT);
	assert_int_equal(counter(f, "l:u:alice"), 1);
	/* The window's count is spent by the lockout. */
	assert_int_equal(counter(f, "f:u:alice"), 0);

	/* Locked: refused before verifying (whatever the password), from
	 * any address, with the time left. */
	assert_int_equal(begin(f, &a, "alice", "192.0.2.1"), LOCKOUT);
	f->now += LOCKOUT / 2;
	assert_int_equal(begin(f, &a, "alice", "203.0.113.9"), LOCKOUT / 2);
	assert_int_equal(begin(f, &a, "alice", ""), LOCKOUT / 2);
	/* Another user is not locked. */
	assert_int_equal(begin(f, &a, "bob", "192.0.2.1"), 0);

	/* lockout later it is over. */
	f->now = T0 + LOCKOUT;
	assert_int_equal(begin(f, &a, "alice", "192.0.2.1"), 0);
	assert_int_equal(counter(f, "l:u:alice"), 0);
}

static void
old_failures_leave_the_window(void **state)
{
	struct fx *f = *state;

	assert_int_equal(fail_once(f, "alice", "192.0.2.1"), 0);
	assert_int_equal(fail_once(f, "alice", "192.0.2.1"), 0);
	f->now += WINDOW;
	/* Without the window this would be the third failure. */
	assert_int_equal(fail_once(f, "alice", "192.0.2.1"), 0);
	assert_int_equal(counter(f, "f:u:alice"), 1);
	/* A counter keeps the lifetime it started with: more failures do
	 * not stretch the window. */
	f->now += WINDOW - 1;
	assert_int_equal(fail_once(f, "alice", "192.0.2.1"), 0);
	f->now += 1;
	assert_int_equal(counter(f, "f:u:alice"), 0);
	assert_int_equal(fail_once(f, "alice", "192.0.2.1"), 0);
	assert_int_equal(fail_once(f, "alice", "192.0.2.1"), 0);
	assert_int_equal(fail_once(f, "alice", "192.0.2.1"), LOCKOUT);
}

static void
client_limit_counts_across_user_names(void **state)
{
	struct fx *f = *state;
	struct sgw_attempt a;
	char user[16];

	f->l.max_failures = 100;
	f->l.max_client_failures = 3;
	for (int i = 0; i < 3; i++) {
		snprintf(user, sizeof(user), "u%d", i);
		assert_int_equal(
		    fail_once(f, user, "10.9.9.9"), i == 2 ? LOCKOUT : 0);
	}
	assert_int_equal(counter(f, "l:c:10.9.9.9"), 1);
	assert_int_equal(begin(f, &a, "someone", "10.9.9.9"), LOCKOUT);
	assert_int_equal(begin(f, &a, "someone", "10.9.9.8"), 0);

	/* No client address: only the user name is counted. */
	f->l.max_client_failures = 1;
	fake_store_reset_calls(f->fake);
	assert_int_equal(fail_once(f, "carol", ""), 0);
	assert_int_equal(counter(f, "f:c:"), 0);
	assert_int_equal(counter(f, "l:c:"), 0);
	assert_int_equal(f->fake->calls[OP_COUNTER_ADD], 1);
	assert_int_equal(begin(f, &a, "dave", ""), 0);
}

static void
forgiving_a_spent_attempt_gives_no_credit(void **state)
{
	struct fx *f = *state;
	struct sgw_attempt a, b, c;
	int n = 0;

	f->l.max_failures = 100;
	f->l.max_client_failures = 3;
	/* Three attempts from one address in flight; the third fails at the
	 * limit and locks the address out, which spends its count. */
	assert_int_equal(begin(f, &a, "alice", "10.1.1.1"), 0);
	assert_int_equal(begin(f, &b, "bob", "10.1.1.1"), 0);
	assert_int_equal(begin(f, &c, "carol", "10.1.1.1"), 0);
	{
		int64_t r = 0;

		assert_int_equal(
		    sgw_ratelimit_failed(f->st, &f->l, &c, f->now, &r),
		    SGW_STORE_OK);
		assert_int_equal(r, LOCKOUT);
	}
	/* The first then succeeds: its attempt is no longer counted, so
	 * there is nothing to forgive. */
	assert_int_equal(
	    sgw_ratelimit_succeeded(f->st, &f->l, &a, f->now), SGW_STORE_OK);
	assert_true(counter(f, "f:c:10.1.1.1") >= 0);

	/* After the lockout, still within the window: the address has its
	 * max_client_failures failures, not one more. */
	f->now += LOCKOUT;
	while (n < 10 && fail_once(f, "dave", "10.1.1.1") == 0)
		n++;
	assert_int_equal(n, f->l.max_client_failures - 1);
}

static void
store_errors_pass_through(void **state)
{
	struct fx *f = *state;
	struct sgw_attempt a = {.user = "alice", .client = "192.0.2.1"};
	int64_t retry = -1;

	assert_int_equal(begin(f, &a, "alice", "192.0.2.1"), 0);
	f->fake->down = 1;
	assert_int_equal(sgw_ratelimit_begin(f->st, &f->l, &a, f->now, &retry),
	    SGW_STORE_UNAVAILABLE);
	assert_true(f->st->errstr[0] != '\0');
	a.nuser = f->l.max_failures;
	assert_int_equal(sgw_ratelimit_failed(f->st, &f->l, &a, f->now, &retry),
	    SGW_STORE_UNAVAILABLE);
	assert_int_equal(sgw_ratelimit_succeeded(f->st, &f->l, &a, f->now),
	    SGW_STORE_UNAVAILABLE);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(racing_attempts_verify_at_most_max_failures),
	    T(lockout_between_read_and_count_still_refuses),
	    T(racing_success_clears_the_user),
	    T(success_clears_the_users_counter),
	    T(failures_at_the_limit_lock_out_until_lockout_passes),
	    T(old_failures_leave_the_window),
	    T(client_limit_counts_across_user_names),
	    T(forgiving_a_spent_attempt_gives_no_credit),
	    T(store_errors_pass_through),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
