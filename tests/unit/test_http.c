/*
 * http: the response builders, and what they do when memory runs out.
 *
 * This program is linked with -Wl,--wrap=realloc (tests/CMakeLists.txt),
 * so the realloc calls of the gateway's own objects (sgw_buf_add) go
 * through __wrap_realloc below and can be made to fail; libc, jansson and
 * cmocka keep their own allocator.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "http.h"

void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);

static int fail_realloc; /* non-zero: every wrapped realloc fails */
static int wrapped_calls;

void *
__wrap_realloc(void *p, size_t n)
{
	wrapped_calls++;
	if (fail_realloc)
		return NULL;
	return __real_realloc(p, n);
}

static int
reset(void **state)
{
	(void)state;
	fail_realloc = 0;
	wrapped_calls = 0;
	return 0;
}

/* The hook is in place: without it the OOM tests prove nothing. */
static void
realloc_is_wrapped(void **state)
{
	struct sgw_buf b = {0};
	(void)state;

	sgw_buf_add(&b, "abc", 3);
	assert_true(wrapped_calls > 0);
	assert_false(b.oom);
	assert_int_equal(b.len, 3);
	assert_string_equal(b.data, "abc");
	sgw_buf_free(&b);
}

static void
json_body_ends_in_newline(void **state)
{
	struct sgw_response r;
	(void)state;

	sgw_resp_init(&r);
	sgw_resp_json(&r, 200, json_pack("{s:s}", "user", "alice"));
	assert_int_equal(r.status, 200);
	assert_false(r.body.oom);
	assert_string_equal(r.body.data, "{\"user\":\"alice\"}\n");
	assert_int_equal(r.body.len, strlen(r.body.data));
	assert_string_equal(r.headers.data, "Content-Type: application/json\r\n");
	sgw_resp_free(&r);
}

/*
 * set_body used to write the body's NUL through a NULL pointer when its
 * allocation failed. Now the response is marked incomplete and becomes
 * a 500, which worker.c answers with a fresh body.
 */
static void
json_out_of_memory_is_500_not_a_crash(void **state)
{
	struct sgw_response r;
	json_t *obj = json_pack("{s:s}", "error", "not found");
	(void)state;

	assert_non_null(obj);
	sgw_resp_init(&r);
	fail_realloc = 1;
	sgw_resp_json(&r, 404, obj);
	fail_realloc = 0;
	assert_true(wrapped_calls > 0);
	assert_int_equal(r.status, 500);
	assert_true(r.body.oom);
	sgw_resp_free(&r);

	/* The same through sgw_resp_error. */
	sgw_resp_init(&r);
	fail_realloc = 1;
	sgw_resp_error(&r, 401, "not logged in");
	fail_realloc = 0;
	assert_int_equal(r.status, 500);
	assert_true(r.body.oom);
	sgw_resp_free(&r);
}

static void
html_out_of_memory_is_500(void **state)
{
	struct sgw_response r;
	(void)state;

	sgw_resp_init(&r);
	fail_realloc = 1;
	sgw_resp_html(&r, 200, "<p>hi</p>", 9);
	fail_realloc = 0;
	assert_int_equal(r.status, 500);
	assert_true(r.body.oom);
	sgw_resp_free(&r);
}

/* A body that had room once and then cannot grow is still marked. */
static void
append_out_of_memory_keeps_what_was_there(void **state)
{
	struct sgw_buf b = {0};
	char big[1024];
	(void)state;

	memset(big, 'x', sizeof(big));
	sgw_buf_add(&b, "abc", 3);
	fail_realloc = 1;
	sgw_buf_add(&b, big, sizeof(big));
	assert_true(b.oom);
	assert_int_equal(b.len, 3);
	assert_string_equal(b.data, "abc");
	/* Further appends do nothing, even ones that would fit. */
	fail_realloc = 0;
	sgw_buf_add(&b, "d", 1);
	assert_int_equal(b.len, 3);
	sgw_buf_free(&b);
	assert_null(b.data);
	assert_false(b.oom);
}

static void
header_out_of_memory_is_marked(void **state)
{
	struct sgw_response r;
	(void)state;

	sgw_resp_init(&r);
	fail_realloc = 1;
	sgw_resp_header(&r, "Retry-After", "%d", 1);
	fail_realloc = 0;
	assert_true(r.headers.oom);
	sgw_resp_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(realloc_is_wrapped, reset),
	    cmocka_unit_test_setup(json_body_ends_in_newline, reset),
	    cmocka_unit_test_setup(json_out_of_memory_is_500_not_a_crash, reset),
	    cmocka_unit_test_setup(html_out_of_memory_is_500, reset),
	    cmocka_unit_test_setup(append_out_of_memory_keeps_what_was_there, reset),
	    cmocka_unit_test_setup(header_out_of_memory_is_marked, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
