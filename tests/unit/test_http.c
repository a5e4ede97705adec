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

#include <stdio.h>
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
	assert_string_equal(
	    r.headers.data, "Content-Type: application/json\r\n");
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

/* A length no buffer could hold is out of memory, asked of no realloc,
 * not a sum that wraps around to "it fits". */
static void
impossible_length_is_out_of_memory(void **state)
{
	struct sgw_buf b = {0};
	(void)state;

	sgw_buf_add(&b, "abc", 3);
	wrapped_calls = 0;
	assert_null(sgw_buf_extend(&b, SIZE_MAX - 2));
	assert_true(b.oom);
	assert_int_equal(wrapped_calls, 0);
	assert_int_equal(b.len, 3);
	assert_string_equal(b.data, "abc");
	sgw_buf_free(&b);
	assert_null(sgw_buf_extend(&b, SIZE_MAX / 2));
	assert_true(b.oom);
	assert_int_equal(wrapped_calls, 0);
	sgw_buf_free(&b);
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

/* The parameters in one pass: each name to its field, the first copy of
 * a repeated one (nginx repeats what is set after fastcgi_params), names
 * that only begin like a known one ignored. */
/* The parameters as "NAME=value" strings, one call each, as worker.c
 * makes them from the PARAMS stream. */
static void
from_env(struct sgw_request *q, enum sgw_role role, char *const *env)
{
	sgw_request_begin(q, role);
	for (char *const *e = env; e != NULL && *e != NULL; e++) {
		const char *eq = strchr(*e, '=');

		if (eq != NULL)
			sgw_request_param(q, *e, (size_t)(eq - *e), eq + 1);
	}
	sgw_request_done(q);
}

static void
params_in_one_pass_first_copy_wins(void **state)
{
	char *env[] = {"REQUEST_METHOD=POST", "REQUEST_URI=/a?b=c",
	    "DOCUMENT_URI=/auth/check", "SCRIPT_NAME=/s", "PATH_INFO=/p",
	    "QUERY_STRING=b=c", "HTTP_HOST=example.com",
	    "HTTP_COOKIE=sgw=1; x=2", "CONTENT_TYPE=text/plain",
	    "HTTP_ACCEPT=text/html", "HTTP_ORIGIN=https://o",
	    "HTTP_X_ORIGINAL_URI=/app/x", "HTTP_X_ORIGINAL_METHOD=PUT",
	    "REMOTE_ADDR=192.0.2.1", "HTTP_X_FORWARDED_FOR=198.51.100.7",
	    "HTTP_USER_AGENT=ua/1", "HTTP_COOKIE=second",
	    "REMOTE_ADDR=10.0.0.1", "HTTP_COOKIES=no", "REMOTE_ADD=no",
	    "HTTP_HOSTX=no", "=empty name", "NOEQUALS", "CONTENT_LENGTH=5",
	    NULL};
	struct sgw_request q;
	(void)state;

	from_env(&q, SGW_ROLE_RESPONDER, env);
	assert_int_equal(q.role, SGW_ROLE_RESPONDER);
	assert_string_equal(q.method, "POST");
	assert_string_equal(q.request_uri, "/a?b=c");
	assert_string_equal(q.document_uri, "/auth/check");
	assert_string_equal(q.script_name, "/s");
	assert_string_equal(q.path_info, "/p");
	assert_string_equal(q.query, "b=c");
	assert_string_equal(q.host, "example.com");
	assert_string_equal(q.cookie, "sgw=1; x=2");
	assert_string_equal(q.content_type, "text/plain");
	assert_string_equal(q.accept, "text/html");
	assert_string_equal(q.origin, "https://o");
	assert_string_equal(q.orig_uri, "/app/x");
	assert_string_equal(q.orig_method, "PUT");
	assert_string_equal(q.remote_addr, "192.0.2.1");
	assert_string_equal(q.forwarded, "198.51.100.7");
	assert_string_equal(q.user_agent, "ua/1");
	assert_null(q.body);
}

static void
params_absent_role_and_method(void **state)
{
	char *authz[] = {"FCGI_ROLE=RESPONDER", NULL};
	char *other[] = {"HTTP_COOKIE=", "=empty name", NULL};
	struct sgw_request q;
	(void)state;

	/* The role is the BEGIN_REQUEST's, never a parameter's. */
	from_env(&q, SGW_ROLE_AUTHORIZER, authz);
	assert_int_equal(q.role, SGW_ROLE_AUTHORIZER);
	assert_string_equal(q.method, "GET");
	assert_null(q.cookie);
	assert_null(q.request_uri);
	from_env(&q, SGW_ROLE_RESPONDER, other);
	assert_int_equal(q.role, SGW_ROLE_RESPONDER);
	assert_string_equal(q.cookie, "");
	from_env(&q, SGW_ROLE_RESPONDER, NULL);
	assert_int_equal(q.role, SGW_ROLE_RESPONDER);
	assert_string_equal(q.method, "GET");
	assert_null(q.cookie);
}

/* The hand-built error body is what jansson's compact form would say. */
static void
error_body_is_jansson_compact(void **state)
{
	static const char *const msgs[] = {
	    "not logged in",
	    "forbidden",
	    "not found",
	    "",
	    "a \"quoted\" back\\slash",
	    "tab\there, newline\nthere, \x01 and \x1f",
	    "caf\xc3\xa9 / slash",
	};
	(void)state;

	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		struct sgw_response r;
		json_t *o = json_pack("{s:s}", "error", msgs[i]);
		char *want = json_dumps(o, JSON_COMPACT);

		assert_non_null(want);
		sgw_resp_init(&r);
		sgw_resp_error(&r, 403, msgs[i]);
		assert_int_equal(r.status, 403);
		assert_int_equal(strlen(r.body.data), strlen(want) + 1);
		assert_memory_equal(r.body.data, want, strlen(want));
		assert_string_equal(r.body.data + strlen(want), "\n");
		/* And it parses back to the message. */
		{
			json_t *back = json_loads(r.body.data, 0, NULL);

			assert_non_null(back);
			assert_string_equal(
			    json_string_value(json_object_get(back, "error")),
			    msgs[i]);
			json_decref(back);
		}
		assert_string_equal(
		    r.headers.data, "Content-Type: application/json\r\n");
		sgw_resp_free(&r);
		free(want);
		json_decref(o);
	}
}

/* Headers are formatted in place, past the buffer's first size too, and a
 * value with CR, LF or NUL leaves no trace. */
static void
headers_in_place_and_injection_dropped(void **state)
{
	struct sgw_response r;
	char big[1000], want[1100];
	(void)state;

	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	sgw_resp_init(&r);
	sgw_resp_header(&r, "Retry-After", "%d", 7);
	sgw_resp_header_str(&r, "X-Auth-User", "alice");
	sgw_resp_header(&r, "X-Bad", "a\r\nSet-Cookie: %s", "x");
	sgw_resp_header_str(&r, "X-Bad", "b\nc");
	sgw_resp_header(&r, "X-Nul", "a%cb", '\0');
	sgw_resp_header(&r, "X-Big", "%s!", big);
	snprintf(want, sizeof(want),
	    "Retry-After: 7\r\nX-Auth-User: alice\r\nX-Big: %s!\r\n", big);
	assert_false(r.headers.oom);
	assert_string_equal(r.headers.data, want);
	assert_int_equal(r.headers.len, strlen(want));
	sgw_resp_free(&r);
}

static void
buf_addf_grows_once(void **state)
{
	struct sgw_buf b = {0};
	char big[600];
	(void)state;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	sgw_buf_addf(&b, "%s", "head ");
	sgw_buf_addf(&b, "%s|%d", big, 42);
	assert_false(b.oom);
	assert_int_equal(b.len, 5 + 599 + 3);
	assert_memory_equal(b.data, "head xxx", 8);
	assert_string_equal(b.data + b.len - 3, "|42");
	/* Out of memory while growing: marked, and what was there kept. */
	fail_realloc = 1;
	sgw_buf_addf(&b, "%s%s", big, big);
	fail_realloc = 0;
	assert_true(b.oom);
	assert_int_equal(b.len, 5 + 599 + 3);
	assert_string_equal(b.data + b.len - 3, "|42");
	sgw_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(realloc_is_wrapped, reset),
	    cmocka_unit_test_setup(json_body_ends_in_newline, reset),
	    cmocka_unit_test_setup(
	        json_out_of_memory_is_500_not_a_crash, reset),
	    cmocka_unit_test_setup(html_out_of_memory_is_500, reset),
	    cmocka_unit_test_setup(
	        append_out_of_memory_keeps_what_was_there, reset),
	    cmocka_unit_test_setup(impossible_length_is_out_of_memory, reset),
	    cmocka_unit_test_setup(header_out_of_memory_is_marked, reset),
	    cmocka_unit_test_setup(params_in_one_pass_first_copy_wins, reset),
	    cmocka_unit_test_setup(params_absent_role_and_method, reset),
	    cmocka_unit_test_setup(error_body_is_jansson_compact, reset),
	    cmocka_unit_test_setup(
	        headers_in_place_and_injection_dropped, reset),
	    cmocka_unit_test_setup(buf_addf_grows_once, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
