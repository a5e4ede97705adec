/*
 * metrics: the Prometheus text rendering of the counters, the hooks that
 * feed them, and the shared mapping that lets forked children add to the
 * same numbers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http.h"
#include "metrics.h"

static const char *const families[][2] = {
    {"sgw_requests_total", "counter"},
    {"sgw_authz_total", "counter"},
    {"sgw_logins_total", "counter"},
    {"sgw_sessions_created_total", "counter"},
    {"sgw_sessions_active", "gauge"},
    {"sgw_sessions_expired_total", "counter"},
    {"sgw_store_errors_total", "counter"},
    {"sgw_store_cleanup_last_run_timestamp_seconds", "gauge"},
    {"sgw_worker_restarts_total", "counter"},
    {"sgw_workers", "gauge"},
    {"sgw_request_duration_seconds", "histogram"},
};

static char *
render(const struct sgw_metrics *m)
{
	struct sgw_buf b = {0};

	sgw_metrics_render(m, &b);
	assert_false(b.oom);
	assert_non_null(b.data);
	assert_int_equal(b.data[b.len - 1], '\n');
	return b.data;
}

/* 1 when text holds line as a whole line. */
static int
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; p != NULL && *p != '\0';) {
		const char *eol = strchr(p, '\n');
		size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);

		if (len == n && memcmp(p, line, n) == 0)
			return 1;
		p = eol != NULL ? eol + 1 : NULL;
	}
	return 0;
}

static void
expect_line(const char *text, const char *line)
{
	if (!has_line(text, line))
		fail_msg("missing line: %s", line);
}

static size_t
count_prefix(const char *text, const char *prefix)
{
	size_t n = 0, plen = strlen(prefix);

	for (const char *p = text; *p != '\0';) {
		const char *eol = strchr(p, '\n');

		n += strncmp(p, prefix, plen) == 0;
		if (eol == NULL)
			break;
		p = eol + 1;
	}
	return n;
}

/* The value on the line that starts with "series ". */
static unsigned long long
value_of(const char *text, const char *series)
{
	char key[256];
	const char *p;

	snprintf(key, sizeof(key), "\n%s ", series);
	p = strstr(text, key);
	if (p == NULL)
		fail_msg("no series %s", series);
	return strtoull(p + strlen(key), NULL, 10);
}

static void
test_every_family_has_help_and_type(void **state)
{
	struct sgw_metrics m = {0};
	char *text = render(&m);
	char line[256];

	(void)state;
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		char help[128];
		const char *h;

		snprintf(line, sizeof(line), "# TYPE %s %s", families[i][0],
		    families[i][1]);
		expect_line(text, line);
		/* HELP comes first, with some text. */
		snprintf(help, sizeof(help), "# HELP %s ", families[i][0]);
		h = strstr(text, help);
		assert_non_null(h);
		assert_true(h < strstr(text, line));
		assert_true(h[strlen(help)] != '\n');
	}
	free(text);
}

static void
test_every_series_present_when_zero(void **state)
{
	static const char *const endpoints[] = {"login", "logout", "logout-all",
	    "session", "sessions", "data", "check", "healthz", "authorizer",
	    "unknown", "other"};
	static const char *const codes[] = {"200", "204", "302", "303", "400",
	    "401", "403", "404", "405", "409", "413", "415", "429", "500",
	    "503", "other"};
	struct sgw_metrics m = {0};
	char *text = render(&m);
	char line[256];

	(void)state;
	for (size_t e = 0; e < sizeof(endpoints) / sizeof(endpoints[0]); e++)
		for (size_t c = 0; c < sizeof(codes) / sizeof(codes[0]); c++) {
			snprintf(line, sizeof(line),
			    "sgw_requests_total{endpoint=\"%s\",code=\"%s\"} 0",
			    endpoints[e], codes[c]);
			expect_line(text, line);
		}
	assert_int_equal(count_prefix(text, "sgw_requests_total{"), 11 * 16);
	expect_line(text, "sgw_authz_total{result=\"pass\"} 0");
	expect_line(text, "sgw_authz_total{result=\"unauthenticated\"} 0");
	expect_line(text, "sgw_authz_total{result=\"forbidden\"} 0");
	expect_line(text, "sgw_authz_total{result=\"unavailable\"} 0");
	assert_int_equal(count_prefix(text, "sgw_authz_total{"), 4);
	expect_line(text, "sgw_logins_total{result=\"success\"} 0");
	expect_line(text, "sgw_logins_total{result=\"failure\"} 0");
	expect_line(text, "sgw_logins_total{result=\"locked\"} 0");
	assert_int_equal(count_prefix(text, "sgw_logins_total{"), 3);
	expect_line(text, "sgw_sessions_created_total 0");
	expect_line(text, "sgw_store_errors_total{backend=\"none\"} 0");
	expect_line(text, "sgw_sessions_active 0");
	expect_line(text, "sgw_sessions_expired_total 0");
	expect_line(text, "sgw_store_cleanup_last_run_timestamp_seconds 0.000");
	expect_line(text, "sgw_worker_restarts_total 0");
	expect_line(text, "sgw_workers 0");
	assert_int_equal(
	    count_prefix(text, "sgw_request_duration_seconds_bucket{"), 13);
	expect_line(text, "sgw_request_duration_seconds_bucket{le=\"+Inf\"} 0");
	expect_line(text, "sgw_request_duration_seconds_sum 0.000000000");
	expect_line(text, "sgw_request_duration_seconds_count 0");
	free(text);
}

static void
test_counters_after_increments(void **state)
{
	struct sgw_metrics m = {0};
	char *text;

	(void)state;
	sgw_metrics_attach(&m);
	sgw_metrics_request(SGW_ENDPOINT_LOGIN, 200, 1000);
	sgw_metrics_request(SGW_ENDPOINT_LOGIN, 200, 1000);
	sgw_metrics_request(SGW_ENDPOINT_LOGIN, 401, 1000);
	sgw_metrics_request(SGW_ENDPOINT_CHECK, 503, 1000);
	sgw_metrics_request(SGW_ENDPOINT_AUTHORIZER, 302, 1000);
	/* Labels outside the fixed sets cannot make new series. */
	sgw_metrics_request((enum sgw_endpoint)99, 299, 1000);
	sgw_metrics_request((enum sgw_endpoint) - 1, 200, 1000);
	sgw_metrics_authz(SGW_METRICS_AUTHZ_PASS);
	sgw_metrics_authz(SGW_METRICS_AUTHZ_PASS);
	sgw_metrics_authz(SGW_METRICS_AUTHZ_UNAUTHENTICATED);
	sgw_metrics_authz(SGW_METRICS_AUTHZ_FORBIDDEN);
	sgw_metrics_authz(SGW_METRICS_AUTHZ_UNAVAILABLE);
	sgw_metrics_login(SGW_METRICS_LOGIN_SUCCESS);
	sgw_metrics_login(SGW_METRICS_LOGIN_FAILURE);
	sgw_metrics_login(SGW_METRICS_LOGIN_FAILURE);
	sgw_metrics_login(SGW_METRICS_LOGIN_LOCKED);
	sgw_metrics_session_created();
	sgw_metrics_store_error();
	sgw_metrics_store_error();
	sgw_metrics_sessions_expired(3);
	sgw_metrics_set_active(12);
	sgw_metrics_cleanup_ran(1700000000123);
	sgw_metrics_set_backend(&m, "lmdb");
	sgw_metrics_worker_restart();
	sgw_metrics_set_workers(7);
	sgw_metrics_set_workers(4);
	sgw_metrics_attach(NULL);
	/* Detached: the hooks count nothing. */
	sgw_metrics_login(SGW_METRICS_LOGIN_SUCCESS);
	sgw_metrics_request(SGW_ENDPOINT_LOGIN, 200, 1000);

	text = render(&m);
	expect_line(
	    text, "sgw_requests_total{endpoint=\"login\",code=\"200\"} 2");
	expect_line(
	    text, "sgw_requests_total{endpoint=\"login\",code=\"401\"} 1");
	expect_line(
	    text, "sgw_requests_total{endpoint=\"check\",code=\"503\"} 1");
	expect_line(
	    text, "sgw_requests_total{endpoint=\"authorizer\",code=\"302\"} 1");
	expect_line(
	    text, "sgw_requests_total{endpoint=\"other\",code=\"other\"} 1");
	expect_line(
	    text, "sgw_requests_total{endpoint=\"other\",code=\"200\"} 1");
	assert_int_equal(count_prefix(text, "sgw_requests_total{"), 11 * 16);
	assert_null(strstr(text, "evil"));
	expect_line(text, "sgw_authz_total{result=\"pass\"} 2");
	expect_line(text, "sgw_authz_total{result=\"unauthenticated\"} 1");
	expect_line(text, "sgw_authz_total{result=\"forbidden\"} 1");
	expect_line(text, "sgw_authz_total{result=\"unavailable\"} 1");
	expect_line(text, "sgw_logins_total{result=\"success\"} 1");
	expect_line(text, "sgw_logins_total{result=\"failure\"} 2");
	expect_line(text, "sgw_logins_total{result=\"locked\"} 1");
	expect_line(text, "sgw_sessions_created_total 1");
	expect_line(text, "sgw_store_errors_total{backend=\"lmdb\"} 2");
	expect_line(text, "sgw_sessions_expired_total 3");
	expect_line(text, "sgw_sessions_active 12");
	expect_line(text,
	    "sgw_store_cleanup_last_run_timestamp_seconds 1700000000.123");
	expect_line(text, "sgw_worker_restarts_total 1");
	expect_line(text, "sgw_workers 4");
	expect_line(text, "sgw_request_duration_seconds_count 7");
	free(text);
}

static void
test_histogram_buckets_are_cumulative(void **state)
{
	static const char *const le[] = {"0.0005", "0.001", "0.0025", "0.005",
	    "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"};
	/* What each bucket must hold after the requests below. */
	static const unsigned long long want[] = {
	    2, 3, 3, 4, 4, 4, 4, 4, 4, 4, 5, 6, 7};
	struct sgw_metrics m = {0};
	unsigned long long prev = 0, total = 0, sum = 0;
	char *text, series[128];

	(void)state;
	sgw_metrics_attach(&m);
	sgw_metrics_request(SGW_ENDPOINT_CHECK, 200, 100000); /* 0.1 ms */
	sgw_metrics_request(
	    SGW_ENDPOINT_CHECK, 200, 500000); /* on the bound: le="0.0005" */
	sgw_metrics_request(
	    SGW_ENDPOINT_CHECK, 200, 500001); /* just above it */
	sgw_metrics_request(SGW_ENDPOINT_CHECK, 200, 3000000); /* 3 ms */
	sgw_metrics_request(
	    SGW_ENDPOINT_CHECK, 200, 1000000000); /* 1 s, on the bound */
	sgw_metrics_request(SGW_ENDPOINT_CHECK, 200, 2000000000); /* 2 s */
	sgw_metrics_request(
	    SGW_ENDPOINT_CHECK, 200, 10000000000LL); /* 10 s: +Inf only */
	sgw_metrics_attach(NULL);
	sum = 100000ULL + 500000 + 500001 + 3000000 + 1000000000 + 2000000000 +
	    10000000000ULL;

	text = render(&m);
	for (size_t i = 0; i < sizeof(le) / sizeof(le[0]); i++) {
		unsigned long long v;

		snprintf(series, sizeof(series),
		    "sgw_request_duration_seconds_bucket{le=\"%s\"}", le[i]);
		v = value_of(text, series);
		assert_int_equal(v, want[i]);
		assert_true(v >= prev);
		prev = v;
	}
	total = value_of(text, "sgw_request_duration_seconds_count");
	assert_int_equal(total, 7);
	assert_int_equal(prev, total); /* +Inf == _count */
	expect_line(text, "sgw_request_duration_seconds_sum 13.004100001");
	assert_int_equal(sum, 13004100001ULL);
	/* The histogram comes last: bucket lines, then _sum, then _count. */
	assert_true(strstr(text, "le=\"+Inf\"") < strstr(text, "_sum "));
	assert_true(strstr(text, "_sum ") < strstr(text, "_count "));
	free(text);
}

static void
test_negative_duration_counts_as_zero(void **state)
{
	struct sgw_metrics m = {0};
	char *text;

	(void)state;
	sgw_metrics_attach(&m);
	sgw_metrics_request(SGW_ENDPOINT_HEALTHZ, 200, -5);
	sgw_metrics_attach(NULL);
	text = render(&m);
	expect_line(
	    text, "sgw_request_duration_seconds_bucket{le=\"0.0005\"} 1");
	expect_line(text, "sgw_request_duration_seconds_sum 0.000000000");
	free(text);
}

/* What the master relies on: children forked after sgw_metrics_new add
 * to the counters the parent (and so the metrics server) reads. */
static void
test_shared_mapping_survives_fork(void **state)
{
	struct sgw_metrics *m = sgw_metrics_new();
	int status;
	pid_t pid;
	char *text;

	(void)state;
	assert_non_null(m);
	assert_int_equal(m->sessions_created, 0);
	sgw_metrics_attach(m);
	for (int i = 0; i < 3; i++) {
		pid = fork();
		assert_true(pid != -1);
		if (pid == 0) {
			for (int k = 0; k < 1000; k++)
				sgw_metrics_request(
				    SGW_ENDPOINT_CHECK, 200, 1000);
			sgw_metrics_login(SGW_METRICS_LOGIN_SUCCESS);
			_exit(0);
		}
	}
	for (int i = 0; i < 3; i++) {
		assert_true(wait(&status) > 0);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	sgw_metrics_attach(NULL);
	text = render(m);
	expect_line(
	    text, "sgw_requests_total{endpoint=\"check\",code=\"200\"} 3000");
	expect_line(text, "sgw_logins_total{result=\"success\"} 3");
	expect_line(text, "sgw_request_duration_seconds_count 3000");
	free(text);
	sgw_metrics_free(m);
	sgw_metrics_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_family_has_help_and_type),
	    cmocka_unit_test(test_every_series_present_when_zero),
	    cmocka_unit_test(test_counters_after_increments),
	    cmocka_unit_test(test_histogram_buckets_are_cumulative),
	    cmocka_unit_test(test_negative_duration_counts_as_zero),
	    cmocka_unit_test(test_shared_mapping_survives_fork),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
