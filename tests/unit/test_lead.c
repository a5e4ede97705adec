/*
 * lead: which worker takes new connections first with a store that reads
 * ahead (gateway/lead.h), with pids and a clock the test makes up.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lead.h"

#define T0 5000000000LL /* some monotonic ns */
#define A 101
#define B 102
#define C 103

static int
setup(void **state)
{
	*state = sgw_lead_new();
	return *state == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	sgw_lead_free(*state);
	return 0;
}

/* who's hold-off at now, asserting that who does not lead. */
static int64_t
hold(struct sgw_lead *l, pid_t who, int64_t now)
{
	int leading = -1;
	int64_t h = sgw_lead_hold_off(l, who, now, &leading);

	assert_int_equal(leading, 0);
	return h;
}

static void
first_to_look_leads(void **state)
{
	struct sgw_lead *l = *state;
	int leading = 0;

	assert_int_equal(sgw_lead_hold_off(l, A, T0, &leading), 0);
	assert_int_equal(leading, 1);
	/* And keeps leading, whatever the time. */
	assert_int_equal(
	    sgw_lead_hold_off(l, A, T0 + 10 * SGW_LEAD_GONE_NS, &leading), 0);
	assert_int_equal(leading, 1);
}

static void
others_wait_for_a_busy_lead_up_to_the_bound(void **state)
{
	struct sgw_lead *l = *state;
	int leading;

	sgw_lead_hold_off(l, A, T0, &leading);
	sgw_lead_waiting(l);
	/* Waiting for work too: B takes what it is woken for. */
	assert_int_equal(hold(l, B, T0 + 5000), 0);
	/* A is back from its wait at T0 + 1000, busy. */
	sgw_lead_back(l, T0 + 1000);
	assert_int_equal(hold(l, B, T0 + 1000), SGW_LEAD_AWAY_NS);
	assert_int_equal(hold(l, C, T0 + 1000 + SGW_LEAD_AWAY_NS / 4),
	    SGW_LEAD_AWAY_NS - SGW_LEAD_AWAY_NS / 4);
	/* Away for the bound: the others take new connections. */
	assert_int_equal(hold(l, B, T0 + 1000 + SGW_LEAD_AWAY_NS), 0);
	assert_int_equal(hold(l, C, T0 + 1000 + SGW_LEAD_GONE_NS - 1), 0);
	/* Caught up and waited again, then busy: held off again. */
	sgw_lead_waiting(l);
	sgw_lead_back(l, T0 + SGW_LEAD_GONE_NS);
	assert_int_equal(
	    hold(l, B, T0 + SGW_LEAD_GONE_NS + 10), SGW_LEAD_AWAY_NS - 10);
}

static void
a_lead_that_falls_behind_gets_help(void **state)
{
	struct sgw_lead *l = *state;
	int leading;

	sgw_lead_hold_off(l, A, T0, &leading);
	sgw_lead_waiting(l);
	sgw_lead_back(l, T0 + 1000);
	/* More queued than it took: it comes back without having waited,
	 * so it is still away from T0 + 1000. */
	sgw_lead_back(l, T0 + 1000 + SGW_LEAD_AWAY_NS / 2);
	assert_int_equal(
	    hold(l, B, T0 + 1000 + SGW_LEAD_AWAY_NS / 2), SGW_LEAD_AWAY_NS / 2);
	sgw_lead_back(l, T0 + 1000 + SGW_LEAD_AWAY_NS);
	assert_int_equal(hold(l, B, T0 + 1000 + SGW_LEAD_AWAY_NS), 0);
	/* It keeps coming back, so it still leads, however long. */
	for (int64_t t = T0 + 2 * SGW_LEAD_AWAY_NS;
	     t < T0 + 3 * SGW_LEAD_GONE_NS; t += SGW_LEAD_GONE_NS / 4) {
		sgw_lead_back(l, t);
		assert_int_equal(hold(l, B, t + 1), 0);
	}
	assert_int_equal(sgw_lead_hold_off(l, A, T0, &leading), 0);
	assert_int_equal(leading, 1);
}

static void
a_lead_away_too_long_is_replaced(void **state)
{
	struct sgw_lead *l = *state;
	int leading;

	sgw_lead_hold_off(l, A, T0, &leading);
	sgw_lead_back(l, T0);
	assert_int_equal(hold(l, B, T0 + SGW_LEAD_GONE_NS - 1), 0);
	/* Not back from a wait for SGW_LEAD_GONE_NS: B leads. */
	assert_int_equal(
	    sgw_lead_hold_off(l, B, T0 + SGW_LEAD_GONE_NS, &leading), 0);
	assert_int_equal(leading, 1);
	/* The new lead gets its own time: C waits for B now. */
	assert_int_equal(
	    hold(l, C, T0 + SGW_LEAD_GONE_NS + 100), SGW_LEAD_AWAY_NS - 100);
	/* A, back, no longer leads. */
	assert_int_equal(
	    hold(l, A, T0 + SGW_LEAD_GONE_NS + 100), SGW_LEAD_AWAY_NS - 100);
}

static void
a_lead_that_is_gone_is_replaced_at_once(void **state)
{
	struct sgw_lead *l = *state;
	int leading;

	sgw_lead_hold_off(l, A, T0, &leading);
	/* Killed while it waited for work: its flag says waiting still. */
	sgw_lead_waiting(l);
	/* Another pid going does not change anything. */
	sgw_lead_gone(l, C);
	assert_int_equal(hold(l, B, T0 + 1), 0);
	sgw_lead_gone(l, A); /* the master reaped it */
	assert_int_equal(sgw_lead_hold_off(l, B, T0 + 2, &leading), 0);
	assert_int_equal(leading, 1);
	/* Busy from its claim, not waiting as A was. */
	assert_int_equal(hold(l, C, T0 + 2), SGW_LEAD_AWAY_NS);
	/* Stepping down (stopping) works the same way. */
	sgw_lead_gone(l, B);
	assert_int_equal(sgw_lead_hold_off(l, C, T0 + 3, &leading), 0);
	assert_int_equal(leading, 1);
	sgw_lead_gone(NULL, C); /* no lead at all: nothing to do */
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(first_to_look_leads),
	    T(others_wait_for_a_busy_lead_up_to_the_bound),
	    T(a_lead_that_falls_behind_gets_help),
	    T(a_lead_away_too_long_is_replaced),
	    T(a_lead_that_is_gone_is_replaced_at_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
