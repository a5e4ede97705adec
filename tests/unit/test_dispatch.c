/*
 * dispatch: routing, the pass/deny decision and every endpoint of SPEC
 * sections 5 and 6, driven with hand-built requests.
 *
 * The store is the shared fake (tests/unit/support/fake_store.c): an
 * in-memory struct sgw_store_ops with the documented semantics that counts
 * the calls to each primitive, so a test can say "this request cost no
 * store call" (a forged token must not reach Redis) and "a check is one
 * get", as well as what the handlers asked the store to do.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"
#include "fake_store.h"
#include "handlers.h"
#include "http.h"
#include "log.h"
#include "runtime.h"
#include "store.h"
#include "timefmt.h"
#include "token.h"
#include "users.h"

#define KEY_LINE                                                               \
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
#define OTHER_KEY_LINE                                                         \
	"f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f\n"

#define CLIENT "192.0.2.10"
#define HOST "example.com"
#define JSON_TYPE "application/json"
#define FORM_TYPE "application/x-www-form-urlencoded"

/* The rules cover each policy; /other matches none. */
static const char base_conf[] = "[login]\n"
                                "prefix = /auth\n"
                                "default_redirect = /home\n"
                                "redirect_hosts = other.example\n"
                                "max_failures = 3\n"
                                "lockout = 1m\n"
                                "[access]\n"
                                "trusted_proxies = 10.0.0.0/8\n"
                                "login_url = /auth/login\n"
                                "rule = /auth/* anonymous\n"
                                "rule = /public/* anonymous\n"
                                "rule = /admin/* role:admin\n"
                                "rule = /closed/* deny\n"
                                "rule = /app/* authenticated\n";
/* ---- the fake store ---- */

/* What the fixture's users file says: a bcrypt hash each (group set-up). */
#define USERS_FMT "alice:%s:admin,dev\nbob:%s:user\n"

static int
total_calls(const struct fake_store *fk)
{
	return fake_store_total_calls(fk);
}

/* ---- fixture ---- */

/* Shared by every test: keys, users (a bcrypt hash each). */
static struct {
	struct sgw_keys keys, other_keys;
	char *hash_a, *hash_b; /* of alice-pw and bob-pw */
} g;

struct fx {
	struct sgw_conf conf;
	struct fake_store *fake;
	struct sgw_users users; /* this test's own: a test may change them */
	struct sgw_ctx ctx;
	struct sgw_response resp;
	char hbuf[1024]; /* the last header() value */
	char lastid[SGW_PUBLIC_ID_HEX];
	int ninserted;
};

/* Puts a session in the fake without counting a call, as a login made
 * moments ago would have (the roles live in the users file, not in the
 * record). Distinct creation times keep "oldest first" meaningful. */
static struct sgw_record *
fake_insert(struct fx *f, const unsigned char hash[SGW_HASH_LEN],
    const char *user, const char *client, int rm)
{
	struct sgw_record r;
	int64_t now = sgw_now_ms();

	memset(&r, 0, sizeof(r));
	snprintf(r.user, sizeof(r.user), "%s", user);
	snprintf(r.client, sizeof(r.client), "%s", client);
	r.created_ms = r.seen_ms = now - 1000 + f->ninserted++;
	r.expires_ms = r.created_ms + 12 * 3600 * 1000LL;
	r.deadline_ms = now + 1800 * 1000LL;
	r.remember_me = rm;
	fake_store_insert(f->fake, hash, &r);
	return fake_store_find(f->fake, hash);
}

static int
group_setup(void **state)
{
	struct sgw_errs errs = {0};
	int rc = -1;

	(void)state;
	/* Handlers log; keep the lines (and their formatting) but not the
	 * noise. */
	sgw_log_open(SGW_LOG_DEBUG, "/dev/null");
	g.hash_a = sgw_users_hash_password("alice-pw", 1);
	g.hash_b = sgw_users_hash_password("bob-pw", 1);
	if (g.hash_a == NULL || g.hash_b == NULL)
		goto done;
	if (sgw_keys_parse(
	        "keys", KEY_LINE, strlen(KEY_LINE), &g.keys, &errs) ||
	    sgw_keys_parse("other", OTHER_KEY_LINE, strlen(OTHER_KEY_LINE),
	        &g.other_keys, &errs))
		goto done;
	rc = 0;
done:
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	sgw_errs_clear(&errs);
	return rc;
}

static int
group_teardown(void **state)
{
	(void)state;
	free(g.hash_a);
	free(g.hash_b);
	sgw_keys_wipe(&g.keys);
	sgw_keys_wipe(&g.other_keys);
	return 0;
}

static int
fx_new(void **state, const char *extra)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct sgw_errs errs = {0};
	char text[2048];

	if (f == NULL || (f->fake = fake_store_new()) == NULL)
		return -1;
	snprintf(text, sizeof(text), "%s%s", base_conf, extra);
	if (sgw_conf_parse("test.conf", text, strlen(text), &f->conf, &errs) !=
	    0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
		sgw_errs_clear(&errs);
		return -1;
	}
	/* The file does not exist, so sgw_users_refresh() never replaces
	 * what a test puts in f->users. */
	snprintf(text, sizeof(text), USERS_FMT, g.hash_a, g.hash_b);
	if (sgw_users_parse("/nonexistent/sgw-test-users", text, strlen(text),
	        &f->users, &errs) != 0) {
		sgw_errs_clear(&errs);
		return -1;
	}
	f->ctx.conf = &f->conf;
	f->ctx.keys = &g.keys;
	f->ctx.users = &f->users;
	f->ctx.store = &f->fake->base;
	sgw_session_policy_from(&f->ctx.policy, &f->conf);
	sgw_limits_from(&f->ctx.limits, &f->conf);
	sgw_cookie_attrs_from(&f->ctx.cookie, &f->conf);
	sgw_redirect_policy_from(&f->ctx.redirect, &f->conf);
	f->ctx.login_page = sgw_builtin_login_page;
	sgw_resp_init(&f->resp);
	*state = f;
	return 0;
}

static int
fx_setup(void **state)
{
	return fx_new(state, "[session]\nbind_client = off\n");
}

static int
fx_setup_bound(void **state)
{
	return fx_new(state, "[session]\nbind_client = on\n");
}

static int
fx_setup_agent(void **state)
{
	return fx_new(state, "[session]\nbind_user_agent = on\n");
}

static int
fx_setup_max2(void **state)
{
	return fx_new(state, "[session]\nmax_per_user = 2\n");
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	if (f == NULL)
		return 0;
	sgw_resp_free(&f->resp);
	sgw_store_close(&f->fake->base);
	sgw_users_free(&f->users);
	sgw_conf_free(&f->conf);
	free(f);
	return 0;
}

/* ---- requests and responses ---- */

static struct sgw_request
request(const char *method, const char *uri)
{
	struct sgw_request q;

	memset(&q, 0, sizeof(q));
	q.role = SGW_ROLE_RESPONDER;
	q.method = method;
	q.request_uri = uri;
	q.host = HOST;
	q.remote_addr = CLIENT;
	return q;
}

static struct sgw_request
authorizer(const char *uri)
{
	struct sgw_request q = request("GET", uri);

	q.role = SGW_ROLE_AUTHORIZER;
	return q;
}

static void
with_body(struct sgw_request *q, const char *type, const char *body)
{
	q->content_type = type;
	q->body = body;
	q->body_len = body != NULL ? strlen(body) : 0;
}

/* Dispatches q into f->resp (a fresh one) and returns the status. */
static int
run(struct fx *f, struct sgw_request *q)
{
	sgw_resp_free(&f->resp);
	sgw_resp_init(&f->resp);
	sgw_dispatch(&f->ctx, q, &f->resp);
	assert_false(f->resp.headers.oom);
	assert_false(f->resp.body.oom);
	return f->resp.status;
}

/* How many times header `name` was sent. */
static int
header_count(const struct fx *f, const char *name)
{
	const char *p = f->resp.headers.data;
	size_t n = strlen(name);
	int count = 0;

	while (p != NULL && *p != '\0') {
		if (strncasecmp(p, name, n) == 0 && p[n] == ':')
			count++;
		p = strstr(p, "\r\n");
		if (p != NULL)
			p += 2;
	}
	return count;
}

/* The value of header `name`, or NULL when absent; it must be sent at
 * most once. */
static const char *
header(struct fx *f, const char *name)
{
	const char *p = f->resp.headers.data;
	size_t n = strlen(name);

	if (header_count(f, name) > 1)
		fail_msg(
		    "header %s sent %d times", name, header_count(f, name));
	while (p != NULL && *p != '\0') {
		const char *end = strstr(p, "\r\n");

		assert_non_null(end);
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1;

			while (*v == ' ')
				v++;
			snprintf(f->hbuf, sizeof(f->hbuf), "%.*s",
			    (int)(end - v), v);
			return f->hbuf;
		}
		p = end + 2;
	}
	return NULL;
}

static void
header_is(struct fx *f, const char *name, const char *want)
{
	const char *v = header(f, name);

	if (v == NULL)
		fail_msg("header %s missing, want \"%s\"", name, want);
	if (strcmp(v, want) != 0)
		fail_msg("header %s: \"%s\", want \"%s\"", name, v, want);
}

static void
header_has(struct fx *f, const char *name, const char *needle)
{
	const char *v = header(f, name);

	if (v == NULL || strstr(v, needle) == NULL)
		fail_msg("header %s: \"%s\" lacks \"%s\"", name,
		    v ? v : "(none)", needle);
}

/* The body as JSON (caller decrefs); fails when it is not. */
static json_t *
body_json(const struct fx *f)
{
	json_error_t err;
	json_t *j =
	    json_loadb(f->resp.body.data != NULL ? f->resp.body.data : "",
	        f->resp.body.len, 0, &err);

	if (j == NULL)
		fail_msg("body is not JSON (%s): %.*s", err.text,
		    (int)f->resp.body.len,
		    f->resp.body.data ? f->resp.body.data : "");
	return j;
}

static void
is_json_error(const struct fx *f)
{
	json_t *j = body_json(f);

	assert_true(json_is_string(json_object_get(j, "error")));
	json_decref(j);
}

static int
body_has(const struct fx *f, const char *needle)
{
	return f->resp.body.data != NULL &&
	    strstr(f->resp.body.data, needle) != NULL;
}

/* A live session in the fake store and the Cookie header that carries
 * its token. */
struct login {
	char cookie[128];
	char token[SGW_TOKEN_LEN + 1];
	unsigned char hash[SGW_HASH_LEN];
	char id[SGW_PUBLIC_ID_HEX];
};

static void
session_for(struct fx *f, struct login *l, const char *user, const char *roles,
    const char *client)
{
	const struct sgw_user *u = sgw_users_find(&f->users, user);

	/* A session's roles are its user's in the users file now: a test
	 * naming others would be testing nothing. */
	if (u == NULL || strcmp(u->roles, roles) != 0)
		fail_msg("session_for(%s, %s): the users file says otherwise",
		    user, roles);
	assert_int_equal(sgw_token_new(&g.keys, l->token, l->hash), 0);
	snprintf(l->cookie, sizeof(l->cookie), "sgw_session=%s", l->token);
	sgw_token_public_id(l->hash, l->id);
	fake_insert(f, l->hash, user, client, 0);
}

static int
alive(struct fx *f, const struct login *l)
{
	return fake_store_find(f->fake, l->hash) != NULL;
}

static void
reset_calls(struct fx *f)
{
	fake_store_reset_calls(f->fake);
}

/* The public id of the session the last login stored. */
static const char *
last_id(struct fx *f)
{
	sgw_token_public_id(f->fake->last_hash, f->lastid);
	return f->lastid;
}

/* "2026-11-21T23:41:04Z" */
static void
is_rfc3339(json_t *v)
{
	const char *s = json_string_value(v);
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";

	if (s == NULL || strlen(s) != sizeof(shape) - 1)
		fail_msg("not an RFC 3339 time: %s", s ? s : "(not a string)");
	for (size_t i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i])
		                    : s[i] != shape[i])
			fail_msg("not an RFC 3339 time: %s", s);
}

/* ---- routing ---- */

static void
routing_reaches_each_endpoint(void **state)
{
	struct fx *f = *state;
	struct sgw_request q;
	struct login a;

	q = request("GET", "/auth/login");
	assert_int_equal(run(f, &q), 200);
	assert_true(body_has(f, "<form"));
	q = request("HEAD", "/auth/login");
	assert_int_equal(run(f, &q), 200);
	assert_true(body_has(f, "<form"));
	assert_int_equal(total_calls(f->fake), 0);

	/* POST /login reads the body: none is a 415. */
	q = request("POST", "/auth/login");
	assert_int_equal(run(f, &q), 415);

	q = request("POST", "/auth/logout");
	assert_int_equal(run(f, &q), 200);
	header_has(f, "Set-Cookie", "Max-Age=0");

	q = request("POST", "/auth/logout-all");
	assert_int_equal(run(f, &q), 401);

	q = request("GET", "/auth/session");
	assert_int_equal(run(f, &q), 401);
	q = request("GET", "/auth/sessions");
	assert_int_equal(run(f, &q), 401);

	q = request("GET", "/auth/healthz");
	assert_int_equal(run(f, &q), 200);
	assert_int_equal(f->fake->calls[OP_PING], 1);
	q = request("HEAD", "/auth/healthz");
	assert_int_equal(run(f, &q), 200);
	assert_int_equal(f->fake->calls[OP_PING], 2);

	/* With a session each one shows its own work. */
	session_for(f, &a, "alice", "admin,dev", CLIENT);
	reset_calls(f);
	q = request("GET", "/auth/session");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 200);
	assert_int_equal(f->fake->calls[OP_GET], 1);
	q = request("GET", "/auth/sessions");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 200);
	assert_int_equal(f->fake->calls[OP_USER_SESSIONS], 1);
	q = request("PUT", "/auth/session/data/k");
	q.cookie = a.cookie;
	with_body(&q, "application/octet-stream", "v");
	assert_int_equal(run(f, &q), 204);
	assert_int_equal(f->fake->calls[OP_DATA_PUT], 1);
	q = request("GET", "/auth/session/data/k");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 200);
	assert_int_equal(f->fake->calls[OP_DATA_GET], 1);
	q = request("HEAD", "/auth/session/data/k");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 200);
	assert_int_equal(f->fake->calls[OP_DATA_GET], 2);
	q = request("DELETE", "/auth/session/data/k");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 204);
	assert_int_equal(f->fake->calls[OP_DATA_DEL], 1);
	q = request(
	    "DELETE", "/auth/sessions/0123456789abcdef0123456789abcdef");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 404);
	/* The user's own sessions are looked through; none has that id. */
	assert_int_equal(f->fake->calls[OP_USER_SESSIONS], 2);
	assert_int_equal(f->fake->calls[OP_DEL], 0);
	q = request("POST", "/auth/logout-all");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 200);
	assert_int_equal(f->fake->calls[OP_USER_SESSIONS], 3);
	assert_int_equal(f->fake->calls[OP_DEL], 1);
	assert_false(alive(f, &a));

	/* /check answers for any method: nginx's subrequest carries the
	 * original request's. */
	q = request("POST", "/auth/check");
	q.request_uri = "/app/x";
	q.document_uri = "/auth/check";
	assert_int_equal(run(f, &q), 401);
	q.request_uri = "/public/x";
	assert_int_equal(run(f, &q), 200);
}

static void
unknown_paths_are_404(void **state)
{
	struct fx *f = *state;
	static const char *const paths[] = {
	    "/auth/nope",
	    "/auth",
	    "/auth/",
	    "/auth/sessions/a/b",
	    "/auth/session/data/",
	    "/auth/session/data/a/b",
	    "/auth/sessions/",
	    "/authx/login",
	    "/other/login",
	    "/login",
	    "/",
	    "/auth/login/x",
	};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct sgw_request q = request("GET", paths[i]);

		if (run(f, &q) != 404)
			fail_msg("%s: %d, want 404", paths[i], f->resp.status);
		is_json_error(f);
	}
	assert_int_equal(total_calls(f->fake), 0);
}

static void
wrong_method_is_405_with_allow(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *method, *path, *allow;
	} c[] = {
	    {"PUT", "/auth/login", "GET, HEAD, POST"},
	    {"DELETE", "/auth/login", "GET, HEAD, POST"},
	    {"GET", "/auth/logout", "POST"},
	    {"GET", "/auth/logout-all", "POST"},
	    {"POST", "/auth/session", "GET, HEAD"},
	    {"DELETE", "/auth/session", "GET, HEAD"},
	    {"POST", "/auth/sessions", "GET, HEAD"},
	    {"GET", "/auth/sessions/0123456789abcdef0123456789abcdef",
	        "DELETE"},
	    {"POST", "/auth/session/data/k", "GET, HEAD, PUT, DELETE"},
	    {"POST", "/auth/healthz", "GET, HEAD"},
	};
	struct login a;

	session_for(f, &a, "alice", "admin,dev", CLIENT);
	reset_calls(f);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct sgw_request q = request(c[i].method, c[i].path);

		q.cookie = a.cookie;
		if (run(f, &q) != 405)
			fail_msg("%s %s: %d, want 405", c[i].method, c[i].path,
			    f->resp.status);
		header_is(f, "Allow", c[i].allow);
		is_json_error(f);
	}
	assert_int_equal(total_calls(f->fake), 0);
}

static void
endpoint_precedence_follows_spec(void **state)
{
	struct fx *f = *state;
	struct sgw_request q;

	/* DOCUMENT_URI beats SCRIPT_NAME + PATH_INFO and REQUEST_URI. */
	q = request("GET", "/auth/login");
	q.document_uri = "/auth/healthz";
	q.script_name = "/auth";
	q.path_info = "/session";
	assert_int_equal(run(f, &q), 200);
	assert_int_equal(f->fake->calls[OP_PING], 1);

	/* SCRIPT_NAME + PATH_INFO beat REQUEST_URI. */
	q = request("GET", "/auth/login");
	q.script_name = "/auth";
	q.path_info = "/healthz";
	assert_int_equal(run(f, &q), 200);
	assert_int_equal(f->fake->calls[OP_PING], 2);
	/* An empty DOCUMENT_URI is absent. */
	q.document_uri = "";
	assert_int_equal(run(f, &q), 200);
	assert_int_equal(f->fake->calls[OP_PING], 3);
	/* SCRIPT_NAME alone is the whole path. */
	q.path_info = NULL;
	q.script_name = "/auth/healthz";
	assert_int_equal(run(f, &q), 200);
	assert_int_equal(f->fake->calls[OP_PING], 4);

	/* REQUEST_URI last, without its query, normalised. */
	q = request("GET", "/auth/healthz?x=/auth/login");
	assert_int_equal(run(f, &q), 200);
	assert_int_equal(f->fake->calls[OP_PING], 5);
	q = request("GET", "/auth/x/../healthz");
	assert_int_equal(run(f, &q), 200);
	assert_int_equal(f->fake->calls[OP_PING], 6);
	q = request("GET", "/auth/%68ealthz");
	assert_int_equal(run(f, &q), 200);
	assert_int_equal(f->fake->calls[OP_PING], 7);

	/* DOCUMENT_URI outside the prefix is 404 whatever REQUEST_URI says. */
	q = request("GET", "/auth/healthz");
	q.document_uri = "/index.php";
	assert_int_equal(run(f, &q), 404);
	assert_int_equal(f->fake->calls[OP_PING], 7);
	/* No path at all. */
	q = request("GET", NULL);
	assert_int_equal(run(f, &q), 404);
}

/* ---- the decision ---- */

static void
authorizer_decides_on_request_uri(void **state)
{
	struct fx *f = *state;
	struct sgw_request q;

	/* No routing in the authorizer role: /auth/healthz is a path to
	 * decide on (anonymous), not the health endpoint. */
	q = authorizer("/auth/healthz");
	assert_int_equal(run(f, &q), 200);
	assert_int_equal(f->fake->calls[OP_PING], 0);
	assert_int_equal(f->resp.headers.len, 0);

	/* DOCUMENT_URI and SCRIPT_NAME do not route it either. */
	q = authorizer("/app/x");
	q.document_uri = "/auth/healthz";
	q.script_name = "/auth/login";
	assert_int_equal(run(f, &q), 401);
	assert_int_equal(f->fake->calls[OP_PING], 0);

	/* X-Original-URI is the client's to set here: ignored. */
	q = authorizer("/app/x");
	q.orig_uri = "/public/x";
	assert_int_equal(run(f, &q), 401);
	q = authorizer("/public/x");
	q.orig_uri = "/app/x";
	assert_int_equal(run(f, &q), 200);
}

static void
check_uses_original_uri(void **state)
{
	struct fx *f = *state;
	struct sgw_request q;

	q = request("GET", "/app/x");
	q.document_uri = "/auth/check";
	assert_int_equal(run(f, &q), 401);
	q.orig_uri = "/public/x";
	assert_int_equal(run(f, &q), 200);

	q = request("GET", "/public/x");
	q.document_uri = "/auth/check";
	assert_int_equal(run(f, &q), 200);
	q.orig_uri = "/app/x";
	assert_int_equal(run(f, &q), 401);
	q.orig_uri = "/closed/x";
	assert_int_equal(run(f, &q), 403);
}

static void
pass_carries_identity(void **state)
{
	struct fx *f = *state;
	struct sgw_request q;
	struct login a;

	session_for(f, &a, "alice", "admin,dev", CLIENT);
	q = authorizer("/app/x");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 200);
	header_is(f, "Variable-REMOTE_USER", "alice");
	header_is(f, "Variable-SGW_USER", "alice");
	header_is(f, "Variable-SGW_ROLES", "admin,dev");
	header_is(f, "Variable-SGW_SESSION_ID", a.id);
	/* Apache hands any other header of an authorizer's 200 to the
	 * client: only Variable-* may be there. */
	for (const char *p = f->resp.headers.data; p != NULL && *p != '\0';) {
		if (strncmp(p, "Variable-", 9) != 0)
			fail_msg("authorizer 200 sends %.20s", p);
		p = strstr(p, "\r\n");
		p = p != NULL ? p + 2 : NULL;
	}

	q = request("GET", "/app/x");
	q.document_uri = "/auth/check";
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 200);
	header_is(f, "X-Auth-User", "alice");
	header_is(f, "X-Auth-Roles", "admin,dev");
	header_is(f, "X-Auth-Session-Id", a.id);
	assert_null(header(f, "Variable-SGW_USER"));
	assert_null(header(f, "Set-Cookie"));

	/* anonymous passes identity when there is a session, none without. */
	q = authorizer("/public/x");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 200);
	header_is(f, "Variable-SGW_USER", "alice");
	q.cookie = NULL;
	assert_int_equal(run(f, &q), 200);
	assert_null(header(f, "Variable-SGW_USER"));
	assert_null(header(f, "Variable-REMOTE_USER"));
}

static void
no_session_is_401_or_login_redirect(void **state)
{
	struct fx *f = *state;
	struct sgw_request q;

	q = authorizer("/app/x");
	assert_int_equal(run(f, &q), 401);
	header_is(f, "WWW-Authenticate", "Cookie realm=\"sessiongw\"");
	header_is(f, "Content-Type", "application/json");
	is_json_error(f);

	/* A browser meeting the authorizer is sent to log in, with the
	 * whole original URI (query included) percent-encoded. */
	q = authorizer("/app/x?a=1&b=2");
	q.accept = "text/html,application/xhtml+xml,*/*;q=0.8";
	assert_int_equal(run(f, &q), 302);
	header_is(
	    f, "Location", "/auth/login?return_to=/app/x%3Fa%3D1%26b%3D2");
	assert_null(header(f, "WWW-Authenticate"));

	/* /check never redirects: nginx would turn it into a 500. */
	q = request("GET", "/app/x");
	q.document_uri = "/auth/check";
	q.accept = "text/html";
	assert_int_equal(run(f, &q), 401);
	header_is(f, "WWW-Authenticate", "Cookie realm=\"sessiongw\"");
	assert_null(header(f, "Location"));
	is_json_error(f);

	/* A valid token whose session the store no longer has. */
	{
		struct login a;

		session_for(f, &a, "alice", "admin,dev", CLIENT);
		fake_store_forget(f->fake, a.hash);
		q = authorizer("/app/x");
		q.cookie = a.cookie;
		assert_int_equal(run(f, &q), 401);
		assert_int_equal(f->fake->calls[OP_GET], 1);
	}
}

static void
forbidden_cases_are_403(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = {
	    "/app/%zz",
	    "/../app/x",
	    "/app/%00x",
	    "app/x",
	    "/app\\x",
	    "",
	};
	struct sgw_request q;
	struct login a, b;

	session_for(f, &a, "alice", "admin,dev", CLIENT);
	session_for(f, &b, "bob", "user", CLIENT);
	q = authorizer("/admin/x");
	q.cookie = b.cookie;
	assert_int_equal(run(f, &q), 403);
	is_json_error(f);
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 200);
	/* "/admin" is under "/admin/" + star too. */
	q = authorizer("/admin");
	q.cookie = b.cookie;
	assert_int_equal(run(f, &q), 403);
	/* The path is normalised before matching. */
	q = authorizer("/app/../admin/x");
	q.cookie = b.cookie;
	assert_int_equal(run(f, &q), 403);

	/* deny and no rule: 403 with or without a session, no store call. */
	reset_calls(f);
	q = authorizer("/closed/x");
	assert_int_equal(run(f, &q), 403);
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 403);
	q = authorizer("/other");
	assert_int_equal(run(f, &q), 403);
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 403);
	q = request("GET", "/other");
	q.document_uri = "/auth/check";
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 403);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		q = authorizer(bad[i]);
		q.cookie = a.cookie;
		if (run(f, &q) != 403)
			fail_msg(
			    "\"%s\": %d, want 403", bad[i], f->resp.status);
	}
	q = authorizer(NULL);
	assert_int_equal(run(f, &q), 403);
	assert_int_equal(total_calls(f->fake), 0);
}

static void
store_failure_is_503_never_200(void **state)
{
	struct fx *f = *state;
	struct sgw_request q;
	struct login a;

	session_for(f, &a, "alice", "admin,dev", CLIENT);
	f->fake->down = 1;
	q = authorizer("/app/x");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 503);
	is_json_error(f);
	/* Even where an anonymous request would pass: the identity it
	 * would carry is unknown. */
	q = authorizer("/public/x");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 503);
	q = request("GET", "/app/x");
	q.document_uri = "/auth/check";
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 503);

	/* Every endpoint that needs the store says 503 too. */
	q = request("GET", "/auth/session");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 503);
	q = request("GET", "/auth/sessions");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 503);
	q = request("POST", "/auth/logout");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 503);
	q = request("POST", "/auth/logout-all");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 503);
	q = request("GET", "/auth/session/data/k");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 503);
	q = request("POST", "/auth/login");
	with_body(&q, JSON_TYPE,
	    "{\"username\":\"alice\",\"password\":\"alice-pw\"}");
	assert_int_equal(run(f, &q), 503);
	assert_null(header(f, "Set-Cookie"));

	/* Back up: the same session passes again. */
	f->fake->down = 0;
	q = authorizer("/app/x");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 200);
}

static void
forged_tokens_cost_no_store_call(void **state)
{
	struct fx *f = *state;
	struct sgw_request q;
	struct login a;
	char forged[160], other[SGW_TOKEN_LEN + 1], cookie[160];
	unsigned char h[SGW_HASH_LEN];
	size_t n;

	session_for(f, &a, "alice", "admin,dev", CLIENT);
	reset_calls(f);

	/* The right shape, a wrong MAC (its last character changed). */
	snprintf(forged, sizeof(forged), "%s", a.cookie);
	n = strlen(forged);
	forged[n - 1] = forged[n - 1] == 'A' ? 'B' : 'A';
	q = authorizer("/app/x");
	q.cookie = forged;
	assert_int_equal(run(f, &q), 401);

	/* A real token, but signed with a key we do not have. */
	assert_int_equal(sgw_token_new(&g.other_keys, other, h), 0);
	snprintf(cookie, sizeof(cookie), "sgw_session=%s", other);
	q.cookie = cookie;
	assert_int_equal(run(f, &q), 401);

	q.cookie = "sgw_session=garbage; other=1";
	assert_int_equal(run(f, &q), 401);
	q = request("GET", "/auth/session");
	q.cookie = "sgw_session=%%%; sgw_session=";
	assert_int_equal(run(f, &q), 401);
	assert_int_equal(total_calls(f->fake), 0);

	/* Among several values the valid one is found, and only it costs a
	 * call. */
	snprintf(
	    cookie, sizeof(cookie), "sgw_session=garbage; x=y; %s", a.cookie);
	q = authorizer("/app/x");
	q.cookie = cookie;
	assert_int_equal(run(f, &q), 200);
	assert_int_equal(total_calls(f->fake), 1);
}

/* ---- login ---- */

static void
login_success_creates_session_and_cookie(void **state)
{
	struct fx *f = *state;
	struct sgw_request q;
	unsigned char h[SGW_HASH_LEN];
	const char *c;
	char tok[SGW_TOKEN_LEN + 1];
	json_t *j;
	size_t n;

	q = request("POST", "/auth/login");
	with_body(&q, "application/json; charset=utf-8",
	    "{\"username\":\"alice\",\"password\":\"alice-pw\"}");
	assert_int_equal(run(f, &q), 200);
	assert_int_equal(f->fake->calls[OP_PUT], 1);
	/* The success cleared the user's counter (counted before the
	 * password was verified). */
	assert_int_equal(f->fake->calls[OP_COUNTER_DEL], 1);
	assert_int_equal(
	    fake_store_counter(f->fake, "f:u:alice", sgw_now_ms()), 0);
	assert_string_equal(f->fake->last.user, "alice");
	assert_string_equal(f->fake->last.client, CLIENT);
	assert_int_equal(f->fake->last.remember_me, 0);
	assert_int_equal(f->fake->last.expires_ms - f->fake->last.created_ms,
	    f->conf.absolute_timeout_ms);
	assert_int_equal(f->fake->last.deadline_ms - f->fake->last.created_ms,
	    f->conf.idle_timeout_ms);

	/* The cookie carries a token of ours for that very session. */
	c = header(f, "Set-Cookie");
	assert_non_null(c);
	assert_true(strncmp(c, "sgw_session=", 12) == 0);
	n = strcspn(c + 12, ";");
	assert_true(n < sizeof(tok));
	memcpy(tok, c + 12, n);
	tok[n] = '\0';
	assert_int_equal(sgw_token_check(&g.keys, tok, n, h), 0);
	assert_non_null(fake_store_find(f->fake, h));
	assert_memory_equal(h, f->fake->last_hash, SGW_HASH_LEN);
	assert_non_null(strstr(c, "; Path=/"));
	assert_non_null(strstr(c, "; HttpOnly"));
	assert_non_null(strstr(c, "; Secure"));
	assert_non_null(strstr(c, "; SameSite=Lax"));
	assert_null(strstr(c, "Max-Age"));

	j = body_json(f);
	assert_string_equal(
	    json_string_value(json_object_get(j, "user")), "alice");
	assert_int_equal(json_array_size(json_object_get(j, "roles")), 2);
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(j, "roles"), 0)),
	    "admin");
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(j, "roles"), 1)),
	    "dev");
	assert_string_equal(
	    json_string_value(json_object_get(j, "session_id")), last_id(f));
	is_rfc3339(json_object_get(j, "expires_at"));
	json_decref(j);

	/* remember_me: the longer lifetime and a persistent cookie. */
	q = request("POST", "/auth/login");
	with_body(&q, JSON_TYPE,
	    "{\"username\":\"bob\",\"password\":\"bob-pw\",\"remember_me\":"
	    "true}");
	assert_int_equal(run(f, &q), 200);
	assert_int_equal(f->fake->last.remember_me, 1);
	assert_int_equal(f->fake->last.expires_ms - f->fake->last.created_ms,
	    f->conf.remember_me_timeout_ms);
	header_has(f, "Set-Cookie", "; Max-Age=2592000");

	/* A form post is sent on: 303 to a safe return_to. */
	q = request("POST", "/auth/login");
	with_body(&q, FORM_TYPE,
	    "username=alice&password=alice-pw&remember_me=on&return_to=%2Fapp%"
	    "2Fpage%3Fx%3D1");
	assert_int_equal(run(f, &q), 303);
	header_is(f, "Location", "/app/page?x=1");
	assert_int_equal(f->fake->last.remember_me, 1);
	assert_int_equal(header_count(f, "Set-Cookie"), 1);
	assert_int_equal(f->fake->calls[OP_PUT], 3);
}

static void
login_ends_presented_session(void **state)
{
	struct fx *f = *state;
	struct sgw_request q;
	struct login old, other;
	char cookie[300];

	session_for(f, &old, "alice", "admin,dev", CLIENT);
	session_for(f, &other, "bob", "user", CLIENT);
	snprintf(cookie, sizeof(cookie), "%s; %s", old.cookie, other.cookie);
	q = request("POST", "/auth/login");
	q.cookie = cookie;
	with_body(&q, JSON_TYPE,
	    "{\"username\":\"alice\",\"password\":\"alice-pw\"}");
	assert_int_equal(run(f, &q), 200);
	/* Every session the request carried is ended, whoever's it was. */
	assert_false(alive(f, &old));
	assert_false(alive(f, &other));
	assert_int_equal(f->fake->calls[OP_DEL], 2);
	assert_int_equal(f->fake->calls[OP_PUT], 1);
	/* The new cookie is not the old one. */
	assert_non_null(header(f, "Set-Cookie"));
	assert_null(strstr(f->hbuf, old.token));
}

static void
login_failure_does_not_tell_why(void **state)
{
	struct fx *f = *state;
	struct sgw_request q;
	char *unknown = NULL, *wrong = NULL;

	/* JSON */
	q = request("POST", "/auth/login");
	with_body(
	    &q, JSON_TYPE, "{\"username\":\"nobody\",\"password\":\"x\"}");
	assert_int_equal(run(f, &q), 401);
	is_json_error(f);
	unknown = strdup(f->resp.body.data);
	with_body(&q, JSON_TYPE, "{\"username\":\"alice\",\"password\":\"x\"}");
	assert_int_equal(run(f, &q), 401);
	wrong = strdup(f->resp.body.data);
	assert_string_equal(unknown, wrong);
	free(unknown);
	free(wrong);
	assert_null(header(f, "Set-Cookie"));

	/* Form: the page again, with the same generic message. */
	with_body(&q, FORM_TYPE, "username=nobody&password=x&return_to=%2Fapp");
	assert_int_equal(run(f, &q), 401);
	assert_true(body_has(f, "<form"));
	assert_true(body_has(f, "value=\"/app\""));
	unknown = strdup(f->resp.body.data);
	with_body(&q, FORM_TYPE, "username=alice&password=x&return_to=%2Fapp");
	assert_int_equal(run(f, &q), 401);
	wrong = strdup(f->resp.body.data);
	assert_string_equal(unknown, wrong);
	free(unknown);
	free(wrong);

	/* Four failures counted: each attempt for its user name and the
	 * client address, none of them at a limit. */
	assert_int_equal(f->fake->calls[OP_COUNTER_ADD], 8);
	assert_int_equal(
	    fake_store_counter(f->fake, "f:u:nobody", sgw_now_ms()), 2);
	assert_int_equal(
	    fake_store_counter(f->fake, "f:u:alice", sgw_now_ms()), 2);
	assert_int_equal(
	    fake_store_counter(f->fake, "f:c:" CLIENT, sgw_now_ms()), 4);
	assert_int_equal(f->fake->calls[OP_COUNTER_SET], 0);
	assert_int_equal(f->fake->calls[OP_PUT], 0);
}

static void
login_refuses_bad_bodies(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *type, *body;
		int status;
	} c[] = {
	    {NULL, "username=alice&password=alice-pw", 415},
	    {"text/plain", "username=alice&password=alice-pw", 415},
	    {JSON_TYPE, "{\"username\":\"alice\"", 400},
	    {JSON_TYPE, "[1]", 400},
	    {JSON_TYPE, "{\"username\":\"alice\"}", 400},
	    {JSON_TYPE, "{\"username\":\"alice\",\"password\":7}", 400},
	    {FORM_TYPE, "username=alice&password=%zz", 400},
	    {FORM_TYPE, "username=alice", 400},
	    {FORM_TYPE, "", 400},
	};
	char longname[257 + 1], body[512];
	struct sgw_request q;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		q = request("POST", "/auth/login");
		with_body(&q, c[i].type, c[i].body);
		if (run(f, &q) != c[i].status)
			fail_msg("case %zu: %d, want %d", i, f->resp.status,
			    c[i].status);
	}
	/* a field over its cap is a bad request too */
	q = request("POST", "/auth/login");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	snprintf(body, sizeof(body), "username=%s&password=alice-pw", longname);
	with_body(&q, FORM_TYPE, body);
	assert_int_equal(run(f, &q), 400);
	q = request("POST", "/auth/login");
	with_body(&q, JSON_TYPE,
	    "{\"username\":\"alice\",\"password\":\"alice-pw\"}");
	q.body_too_large = 1;
	assert_int_equal(run(f, &q), 413);
	assert_int_equal(total_calls(f->fake), 0);
}

static void
login_refuses_cross_site_posts(void **state)
{
	struct fx *f = *state;
	struct sgw_request q;

	q = request("POST", "/auth/login");
	with_body(&q, JSON_TYPE,
	    "{\"username\":\"alice\",\"password\":\"alice-pw\"}");
	q.origin = "https://evil.example";
	assert_int_equal(run(f, &q), 403);
	q.origin = "null";
	assert_int_equal(run(f, &q), 403);
	q.origin = "https://example.com.evil.example";
	assert_int_equal(run(f, &q), 403);
	assert_int_equal(total_calls(f->fake), 0);

	/* The same host with a port (nginx's $host has none), a listed
	 * host, no Origin at all: allowed. */
	q.origin = "https://example.com:8443";
	assert_int_equal(run(f, &q), 200);
	q.origin = "http://EXAMPLE.com";
	assert_int_equal(run(f, &q), 200);
	q.origin = "https://other.example";
	assert_int_equal(run(f, &q), 200);
	q.origin = NULL;
	assert_int_equal(run(f, &q), 200);
	assert_int_equal(f->fake->calls[OP_PUT], 4);

	/* The other state-changing endpoints refuse the same way. */
	{
		static const char *const m[][2] = {
		    {"POST", "/auth/logout"},
		    {"POST", "/auth/logout-all"},
		    {"DELETE",
		        "/auth/sessions/0123456789abcdef0123456789abcdef"},
		    {"PUT", "/auth/session/data/k"},
		    {"DELETE", "/auth/session/data/k"},
		};
		struct login a;

		session_for(f, &a, "alice", "admin,dev", CLIENT);
		reset_calls(f);
		for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
			q = request(m[i][0], m[i][1]);
			q.cookie = a.cookie;
			q.origin = "https://evil.example";
			if (run(f, &q) != 403)
				fail_msg("%s %s: %d, want 403", m[i][0],
				    m[i][1], f->resp.status);
		}
		assert_int_equal(total_calls(f->fake), 0);
		assert_true(alive(f, &a));
	}
}

static void
login_lockout_is_429(void **state)
{
	struct fx *f = *state;
	struct sgw_request q;
	const char *ra;

	q = request("POST", "/auth/login");
	with_body(
	    &q, JSON_TYPE, "{\"username\":\"alice\",\"password\":\"nope\"}");
	for (int i = 0; i < 3; i++)
		assert_int_equal(run(f, &q), 401);
	/* Locked: even the right password gets 429, and no session. */
	with_body(&q, JSON_TYPE,
	    "{\"username\":\"alice\",\"password\":\"alice-pw\"}");
	assert_int_equal(run(f, &q), 429);
	is_json_error(f);
	ra = header(f, "Retry-After");
	assert_non_null(ra);
	assert_true(atoi(ra) > 0 && atoi(ra) <= 60);
	assert_null(header(f, "Set-Cookie"));
	assert_int_equal(f->fake->calls[OP_PUT], 0);
	/* A form post gets the page with 429. */
	with_body(&q, FORM_TYPE, "username=alice&password=alice-pw");
	assert_int_equal(run(f, &q), 429);
	assert_true(body_has(f, "<form"));
	assert_non_null(header(f, "Retry-After"));

	/* Another user is not locked. */
	with_body(
	    &q, JSON_TYPE, "{\"username\":\"bob\",\"password\":\"bob-pw\"}");
	assert_int_equal(run(f, &q), 200);
}

static void
login_return_to_must_be_safe(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *enc, *want;
	} c[] = {
	    {"%2Fapp%2Fpage", "/app/page"},
	    {"https%3A%2F%2Fexample.com%2Fx", "https://example.com/x"},
	    {"https%3A%2F%2Fother.example%2Fx", "https://other.example/x"},
	    {"%2F%2Fevil.example%2Fx", "/home"},
	    {"%2F%5Cevil.example", "/home"},
	    {"https%3A%2F%2Fevil.example%2F", "/home"},
	    {"http%3A%2F%2Fexample.com%2Fx", "/home"},
	    {"javascript%3Aalert(1)", "/home"},
	    {"", "/home"},
	};
	char body[256];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct sgw_request q = request("POST", "/auth/login");

		snprintf(body, sizeof(body),
		    "username=alice&password=alice-pw&return_to=%s", c[i].enc);
		with_body(&q, FORM_TYPE, body);
		assert_int_equal(run(f, &q), 303);
		header_is(f, "Location", c[i].want);
	}
	/* No return_to at all. */
	{
		struct sgw_request q = request("POST", "/auth/login");

		with_body(&q, FORM_TYPE, "username=alice&password=alice-pw");
		assert_int_equal(run(f, &q), 303);
		header_is(f, "Location", "/home");
	}
}

static void
login_page_carries_return_to(void **state)
{
	struct fx *f = *state;
	struct sgw_request q =
	    request("GET", "/auth/login?return_to=%2Fapp%2F%3Cx%3E");

	q.query = "return_to=%2Fapp%2F%3Cx%3E";
	assert_int_equal(run(f, &q), 200);
	header_has(f, "Content-Type", "text/html");
	/* Escaped for HTML, so a return_to cannot inject markup. */
	assert_true(body_has(f, "value=\"/app/&lt;x&gt;\""));
	assert_true(body_has(f, "action=\"/auth/login\""));
	assert_false(body_has(f, "{{"));
	q.query = "return_to=%zz";
	assert_int_equal(run(f, &q), 400);
}

/* ---- logout ---- */

static void
logout_is_idempotent(void **state)
{
	struct fx *f = *state;
	struct sgw_request q;
	struct login a, b;
	json_t *j;

	q = request("POST", "/auth/logout");
	assert_int_equal(run(f, &q), 200);
	header_has(f, "Set-Cookie", "sgw_session=;");
	header_has(f, "Set-Cookie", "Max-Age=0");
	j = body_json(f);
	assert_true(json_is_false(json_object_get(j, "logged_out")));
	json_decref(j);
	assert_int_equal(f->fake->calls[OP_DEL], 0);

	session_for(f, &a, "alice", "admin,dev", CLIENT);
	session_for(f, &b, "alice", "admin,dev", CLIENT);
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 200);
	j = body_json(f);
	assert_true(json_is_true(json_object_get(j, "logged_out")));
	json_decref(j);
	assert_false(alive(f, &a));
	assert_true(alive(f, &b));
	header_has(f, "Set-Cookie", "Max-Age=0");
	/* Again: nothing left to end, still a success. */
	assert_int_equal(run(f, &q), 200);
	header_has(f, "Set-Cookie", "Max-Age=0");

	/* A form post is sent on. */
	with_body(&q, FORM_TYPE, "return_to=%2Fbye");
	assert_int_equal(run(f, &q), 303);
	header_is(f, "Location", "/bye");
	with_body(&q, FORM_TYPE, "return_to=%2F%2Fevil.example");
	assert_int_equal(run(f, &q), 303);
	header_is(f, "Location", "/home");
}

static void
logout_all_ends_every_session_of_the_user(void **state)
{
	struct fx *f = *state;
	struct sgw_request q;
	struct login a1, a2, b;
	json_t *j;

	q = request("POST", "/auth/logout-all");
	assert_int_equal(run(f, &q), 401);
	header_is(f, "WWW-Authenticate", "Cookie realm=\"sessiongw\"");
	assert_int_equal(f->fake->calls[OP_USER_SESSIONS], 0);
	assert_int_equal(f->fake->calls[OP_DEL], 0);

	session_for(f, &a1, "alice", "admin,dev", CLIENT);
	session_for(f, &a2, "alice", "admin,dev", "198.51.100.1");
	session_for(f, &b, "bob", "user", CLIENT);
	q.cookie = a1.cookie;
	assert_int_equal(run(f, &q), 200);
	j = body_json(f);
	assert_int_equal(json_integer_value(json_object_get(j, "ended")), 2);
	json_decref(j);
	header_has(f, "Set-Cookie", "Max-Age=0");
	assert_false(alive(f, &a1));
	assert_false(alive(f, &a2));
	assert_true(alive(f, &b));
}

/* ---- session endpoints ---- */

static void
session_shows_identity_and_times(void **state)
{
	struct fx *f = *state;
	struct sgw_request q = request("GET", "/auth/session");
	const struct sgw_record *e;
	char t[SGW_RFC3339_LEN];
	int64_t idle_end;
	struct login a;
	json_t *j, *roles;

	session_for(f, &a, "alice", "admin,dev", CLIENT);
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 200);
	header_is(f, "Content-Type", "application/json");
	e = fake_store_find(f->fake, a.hash);
	assert_non_null(e);
	/* Ends idle_timeout after its last use, never past its absolute
	 * end. */
	idle_end = e->seen_ms + f->conf.idle_timeout_ms;
	if (idle_end > e->expires_ms)
		idle_end = e->expires_ms;
	j = body_json(f);
	assert_string_equal(
	    json_string_value(json_object_get(j, "user")), "alice");
	roles = json_object_get(j, "roles");
	assert_true(json_is_array(roles));
	assert_int_equal(json_array_size(roles), 2);
	assert_string_equal(
	    json_string_value(json_array_get(roles, 0)), "admin");
	assert_string_equal(json_string_value(json_array_get(roles, 1)), "dev");
	assert_string_equal(
	    json_string_value(json_object_get(j, "session_id")), a.id);
	is_rfc3339(json_object_get(j, "created_at"));
	is_rfc3339(json_object_get(j, "expires_at"));
	is_rfc3339(json_object_get(j, "idle_expires_at"));
	assert_string_equal(json_string_value(json_object_get(j, "created_at")),
	    sgw_rfc3339(e->created_ms, t));
	assert_string_equal(json_string_value(json_object_get(j, "expires_at")),
	    sgw_rfc3339(e->expires_ms, t));
	assert_string_equal(
	    json_string_value(json_object_get(j, "idle_expires_at")),
	    sgw_rfc3339(idle_end, t));
	assert_true(json_is_false(json_object_get(j, "remember_me")));
	assert_int_equal(json_object_size(j), 7);
	json_decref(j);
	/* The session never carries the token or the hash out. */
	assert_false(body_has(f, a.token));
}

static void
sessions_lists_and_marks_current(void **state)
{
	struct fx *f = *state;
	struct sgw_request q = request("GET", "/auth/sessions");
	struct login a1, a2, b;
	json_t *j, *v;

	session_for(f, &a1, "alice", "admin,dev", CLIENT);
	session_for(f, &b, "bob", "user", CLIENT);
	session_for(f, &a2, "alice", "admin,dev", "198.51.100.1");
	q.cookie = a2.cookie;
	assert_int_equal(run(f, &q), 200);
	j = body_json(f);
	v = json_object_get(j, "sessions");
	assert_int_equal(json_array_size(v), 2);
	for (size_t i = 0; i < 2; i++) {
		json_t *s = json_array_get(v, i);
		const struct login *want = i == 0 ? &a1 : &a2;

		assert_string_equal(
		    json_string_value(json_object_get(s, "session_id")),
		    want->id);
		is_rfc3339(json_object_get(s, "created_at"));
		is_rfc3339(json_object_get(s, "last_seen_at"));
		is_rfc3339(json_object_get(s, "expires_at"));
		assert_string_equal(
		    json_string_value(json_object_get(s, "client")),
		    i == 0 ? CLIENT : "198.51.100.1");
		assert_true(json_is_boolean(json_object_get(s, "current")));
		assert_int_equal(
		    json_is_true(json_object_get(s, "current")), i == 1);
	}
	json_decref(j);
}

static void
delete_session_by_id(void **state)
{
	struct fx *f = *state;
	struct sgw_request q;
	struct login a1, a2, b;
	char path[128];

	session_for(f, &a1, "alice", "admin,dev", CLIENT);
	session_for(f, &a2, "alice", "admin,dev", CLIENT);
	session_for(f, &b, "bob", "user", CLIENT);

	/* Another user's id is as unknown as a made-up one. */
	snprintf(path, sizeof(path), "/auth/sessions/%s", b.id);
	q = request("DELETE", path);
	q.cookie = a1.cookie;
	assert_int_equal(run(f, &q), 404);
	assert_true(alive(f, &b));
	q = request(
	    "DELETE", "/auth/sessions/0123456789abcdef0123456789abcdef");
	q.cookie = a1.cookie;
	assert_int_equal(run(f, &q), 404);
	/* Not an id at all: no store call for it. */
	reset_calls(f);
	q = request("DELETE", "/auth/sessions/xyz");
	q.cookie = a1.cookie;
	assert_int_equal(run(f, &q), 404);
	assert_int_equal(f->fake->calls[OP_USER_SESSIONS], 0);
	assert_int_equal(f->fake->calls[OP_DEL], 0);

	/* Own other session: 204, and the current cookie stays. */
	snprintf(path, sizeof(path), "/auth/sessions/%s", a2.id);
	q = request("DELETE", path);
	q.cookie = a1.cookie;
	assert_int_equal(run(f, &q), 204);
	assert_false(alive(f, &a2));
	assert_true(alive(f, &a1));
	assert_null(header(f, "Set-Cookie"));
	/* Own current session: 204 and the cookie is cleared. */
	snprintf(path, sizeof(path), "/auth/sessions/%s", a1.id);
	q = request("DELETE", path);
	q.cookie = a1.cookie;
	assert_int_equal(run(f, &q), 204);
	assert_false(alive(f, &a1));
	header_has(f, "Set-Cookie", "Max-Age=0");
	/* Without a session: 401. */
	q = request("DELETE", path);
	assert_int_equal(run(f, &q), 401);
}

/* ---- data ---- */

static void
data_endpoints(void **state)
{
	struct fx *f = *state;
	struct sgw_request q;
	struct login a;
	char big[SGW_DATA_VALUE_MAX + 2], path[128];
	static const char bin[] = "a\0b";

	session_for(f, &a, "alice", "admin,dev", CLIENT);

	q = request("GET", "/auth/session/data/k");
	assert_int_equal(run(f, &q), 401);
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 404);
	is_json_error(f);
	q.method = "DELETE";
	assert_int_equal(run(f, &q), 404);

	q = request("PUT", "/auth/session/data/k");
	q.cookie = a.cookie;
	q.body = bin;
	q.body_len = sizeof(bin);
	assert_int_equal(run(f, &q), 204);
	assert_int_equal(f->resp.body.len, 0);
	q.method = "GET";
	assert_int_equal(run(f, &q), 200);
	assert_int_equal(f->resp.body.len, sizeof(bin));
	assert_memory_equal(f->resp.body.data, bin, sizeof(bin));
	header_is(f, "Content-Type", "application/octet-stream");
	q.method = "DELETE";
	assert_int_equal(run(f, &q), 204);
	q.method = "GET";
	assert_int_equal(run(f, &q), 404);

	/* Keys: [A-Za-z0-9_.-]{1,64}. */
	reset_calls(f);
	q = request("PUT", "/auth/session/data/bad$key");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 400);
	q = request("GET", "/auth/session/data/a%20b");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 400);
	memset(path, 0, sizeof(path));
	snprintf(path, sizeof(path), "/auth/session/data/");
	memset(path + strlen(path), 'k', 65);
	q = request("GET", path);
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 400);
	path[strlen(path) - 1] = '\0';
	assert_int_equal(run(f, &q), 404);
	q = request("GET", "/auth/session/data/A-z_0.9");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 404);
	assert_int_equal(f->fake->calls[OP_DATA_GET], 2);
	assert_int_equal(f->fake->calls[OP_DATA_PUT], 0);

	/* Values up to 4 KiB. */
	memset(big, 'v', sizeof(big));
	q = request("PUT", "/auth/session/data/big");
	q.cookie = a.cookie;
	q.body = big;
	q.body_len = SGW_DATA_VALUE_MAX + 1;
	assert_int_equal(run(f, &q), 413);
	q.body_len = SGW_DATA_VALUE_MAX;
	q.body_too_large = 1;
	assert_int_equal(run(f, &q), 413);
	q.body_too_large = 0;
	assert_int_equal(run(f, &q), 204);

	/* 64 keys; the 65th is a conflict, overwriting is not. */
	for (int i = 1; i < SGW_DATA_MAX_KEYS; i++) {
		snprintf(path, sizeof(path), "/auth/session/data/k%d", i);
		q = request("PUT", path);
		q.cookie = a.cookie;
		with_body(&q, NULL, "x");
		if (run(f, &q) != 204)
			fail_msg("PUT %s: %d", path, f->resp.status);
	}
	q = request("PUT", "/auth/session/data/one-more");
	q.cookie = a.cookie;
	with_body(&q, NULL, "x");
	assert_int_equal(run(f, &q), 409);
	is_json_error(f);
	q = request("PUT", "/auth/session/data/k5");
	q.cookie = a.cookie;
	with_body(&q, NULL, "y");
	assert_int_equal(run(f, &q), 204);

	/* A session that went away in between: 401 before any data call. */
	fake_store_forget(f->fake, a.hash);
	reset_calls(f);
	assert_int_equal(run(f, &q), 401);
	assert_int_equal(f->fake->calls[OP_DATA_PUT], 0);
}

/* ---- client binding ---- */

static void
bound_session_from_elsewhere_is_none(void **state)
{
	struct fx *f = *state;
	struct sgw_request q;
	struct login a;

	session_for(f, &a, "alice", "admin,dev", CLIENT);
	q = request("GET", "/auth/session");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 200);
	q.remote_addr = "192.0.2.99";
	assert_int_equal(run(f, &q), 401);
	q = authorizer("/app/x");
	q.cookie = a.cookie;
	q.remote_addr = "192.0.2.99";
	assert_int_equal(run(f, &q), 401);
	/* Counted as none, not ended: from its own address it still works. */
	q.remote_addr = CLIENT;
	assert_int_equal(run(f, &q), 200);

	/* Behind a trusted proxy the client is X-Forwarded-For's. */
	q.remote_addr = "10.1.2.3";
	q.forwarded = "203.0.113.5, " CLIENT;
	assert_int_equal(run(f, &q), 200);
	q.forwarded = CLIENT ", 192.0.2.99";
	assert_int_equal(run(f, &q), 401);
	/* An untrusted peer's X-Forwarded-For is not believed. */
	q.remote_addr = "192.0.2.99";
	q.forwarded = CLIENT;
	assert_int_equal(run(f, &q), 401);
	/* A login through the proxy records the forwarded address. */
	q = request("POST", "/auth/login");
	q.remote_addr = "10.1.2.3";
	q.forwarded = "198.51.100.7";
	with_body(
	    &q, JSON_TYPE, "{\"username\":\"bob\",\"password\":\"bob-pw\"}");
	assert_int_equal(run(f, &q), 200);
	assert_string_equal(f->fake->last.client, "198.51.100.7");
}

static void
unbound_session_works_from_anywhere(void **state)
{
	struct fx *f = *state;
	struct sgw_request q;
	struct login a;

	session_for(f, &a, "alice", "admin,dev", CLIENT);
	q = authorizer("/app/x");
	q.cookie = a.cookie;
	q.remote_addr = "192.0.2.99";
	assert_int_equal(run(f, &q), 200);
}

/* ---- the users file is the truth (SPEC section 9) ---- */

/* Replaces the fixture's users with text (USERS_FMT-like, hashes filled
 * in by the caller), as a re-read of a changed file would. */
static void
set_users(struct fx *f, const char *text)
{
	struct sgw_users fresh = {0};
	struct sgw_errs errs = {0};

	if (sgw_users_parse("/nonexistent/sgw-test-users", text, strlen(text),
	        &fresh, &errs) != 0) {
		sgw_errs_clear(&errs);
		fail_msg("users text does not parse");
	}
	sgw_users_free(&f->users);
	f->users = fresh;
}

static void
removed_user_is_refused_and_ended(void **state)
{
	struct fx *f = *state;
	struct sgw_request q;
	struct login a, b;
	char text[512];

	session_for(f, &a, "alice", "admin,dev", CLIENT);
	session_for(f, &b, "bob", "user", CLIENT);
	q = authorizer("/app/x");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 200);

	/* alice leaves the file: her session is refused at its next use,
	 * and ended there (one get, one del). */
	snprintf(text, sizeof(text), "bob:%s:user\n", g.hash_b);
	set_users(f, text);
	reset_calls(f);
	assert_int_equal(run(f, &q), 401);
	assert_int_equal(f->fake->calls[OP_GET], 1);
	assert_int_equal(f->fake->calls[OP_DEL], 1);
	assert_false(alive(f, &a));
	assert_int_equal(fake_store_index_len(f->fake, "alice"), 0);
	/* Not an expiry: sgw_sessions_expired_total does not count it. */
	assert_int_equal(f->fake->base.expired, 0);
	/* The others are untouched. */
	q.cookie = b.cookie;
	assert_int_equal(run(f, &q), 200);
	header_is(f, "Variable-SGW_USER", "bob");

	/* Back in the file, alice must log in again: nothing is revived. */
	snprintf(text, sizeof(text), USERS_FMT, g.hash_a, g.hash_b);
	set_users(f, text);
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 401);
	q = request("GET", "/auth/session");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 401);
}

static void
removed_user_is_seen_through_the_file(void **state)
{
	struct fx *f = *state;
	char dir[] = "/tmp/sgw-users-XXXXXX", path[64], text[512];
	struct sgw_errs errs = {0};
	struct sgw_request q;
	struct login a;
	FILE *fp;

	/* The same through a real file: the handler re-reads it when it
	 * changed (looked at once a second at most; the test skips the
	 * wait by clearing users_checked_ms). */
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/users", dir);
	snprintf(text, sizeof(text), USERS_FMT, g.hash_a, g.hash_b);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
	sgw_users_free(&f->users);
	if (sgw_users_load(path, &f->users, &errs) != 0) {
		sgw_errs_clear(&errs);
		fail_msg("cannot load %s", path);
	}
	session_for(f, &a, "alice", "admin,dev", CLIENT);
	q = authorizer("/admin/x");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 200);

	/* Demoted in the file: the next look at it brings the new roles. */
	snprintf(text, sizeof(text), "alice:%s:dev\nbob:%s:user\n", g.hash_a,
	    g.hash_b);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
	/* Looked at once a second at most: right after a request the
	 * change is not seen yet... */
	assert_int_equal(run(f, &q), 200);
	/* ...and is at the next look. */
	f->ctx.users_checked_ms = 0;
	assert_int_equal(run(f, &q), 403);
	q = authorizer("/app/x");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 200);
	header_is(f, "Variable-SGW_ROLES", "dev");

	/* A broken file is not the truth: the users read before stay. */
	assert_non_null(fp = fopen(path, "w"));
	fputs("alice:$apr1$weak$hash:admin\n", fp);
	fclose(fp);
	f->ctx.users_checked_ms = 0;
	assert_int_equal(run(f, &q), 200);
	header_is(f, "Variable-SGW_ROLES", "dev");

	/* Removed from the file: refused and ended. */
	snprintf(text, sizeof(text), "bob:%s:user\n", g.hash_b);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
	f->ctx.users_checked_ms = 0;
	assert_int_equal(run(f, &q), 401);
	assert_false(alive(f, &a));

	unlink(path);
	rmdir(dir);
}

static void
changed_roles_apply_at_next_check(void **state)
{
	struct fx *f = *state;
	struct sgw_request q;
	struct login a, b;
	char text[512];
	json_t *j, *roles;

	session_for(f, &a, "alice", "admin,dev", CLIENT);
	session_for(f, &b, "bob", "user", CLIENT);
	q = authorizer("/admin/x");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 200);
	header_is(f, "Variable-SGW_ROLES", "admin,dev");
	q.cookie = b.cookie;
	assert_int_equal(run(f, &q), 403);

	/* alice is demoted, bob promoted: the sessions they hold now carry
	 * the file's roles, not those they logged in with. */
	snprintf(text, sizeof(text), "alice:%s:dev\nbob:%s:user,admin\n",
	    g.hash_a, g.hash_b);
	set_users(f, text);
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 403);
	q.cookie = b.cookie;
	assert_int_equal(run(f, &q), 200);
	header_is(f, "Variable-SGW_ROLES", "user,admin");
	q = request("GET", "/app/x");
	q.document_uri = "/auth/check";
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 200);
	header_is(f, "X-Auth-Roles", "dev");
	q = request("GET", "/auth/session");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 200);
	j = body_json(f);
	roles = json_object_get(j, "roles");
	assert_int_equal(json_array_size(roles), 1);
	assert_string_equal(json_string_value(json_array_get(roles, 0)), "dev");
	json_decref(j);
	/* A change of roles ends nothing. */
	assert_true(alive(f, &a));
	assert_true(alive(f, &b));
	assert_int_equal(f->fake->calls[OP_DEL], 0);
}

/* ---- one lookup per request, whatever the Cookie header holds ---- */

static void
many_cookies_cost_one_lookup(void **state)
{
	struct fx *f = *state;
	enum { NDEAD = 95 };
	static char dead[NDEAD * (SGW_TOKEN_LEN + 16)];
	static char header_buf[sizeof(dead) + 512];
	struct sgw_request q;
	struct login a;
	size_t off = 0;

	session_for(f, &a, "alice", "admin,dev", CLIENT);
	/* 95 tokens with valid MACs whose sessions are gone (never stored,
	 * or ended). */
	for (int i = 0; i < NDEAD; i++) {
		char tok[SGW_TOKEN_LEN + 1];
		unsigned char h[SGW_HASH_LEN];
		int n;

		assert_int_equal(sgw_token_new(&g.keys, tok, h), 0);
		n = snprintf(dead + off, sizeof(dead) - off, "%ssgw_session=%s",
		    i > 0 ? "; " : "", tok);
		assert_true(n > 0 && (size_t)n < sizeof(dead) - off);
		off += (size_t)n;
	}

	/* The live one at the end: only the first MAC-valid token is
	 * looked up, so this is one get, and no session. */
	snprintf(header_buf, sizeof(header_buf), "%s; %s", dead, a.cookie);
	reset_calls(f);
	q = authorizer("/app/x");
	q.cookie = header_buf;
	assert_int_equal(run(f, &q), 401);
	assert_int_equal(f->fake->calls[OP_GET], 1);
	assert_int_equal(total_calls(f->fake), 1);
	q = request("GET", "/auth/session");
	q.cookie = header_buf;
	assert_int_equal(run(f, &q), 401);
	assert_int_equal(total_calls(f->fake), 2);

	/* Forged values cost nothing and do not count as the first; the
	 * live one first answers for the request, still one get. */
	snprintf(header_buf, sizeof(header_buf),
	    "sgw_session=garbage; sgw_session=%.*sAA; %s; %s",
	    SGW_TOKEN_LEN - 2, a.token, a.cookie, dead);
	reset_calls(f);
	q = authorizer("/app/x");
	q.cookie = header_buf;
	assert_int_equal(run(f, &q), 200);
	header_is(f, "Variable-SGW_SESSION_ID", a.id);
	assert_int_equal(f->fake->calls[OP_GET], 1);
	assert_int_equal(total_calls(f->fake), 1);
}

/* ---- logout ends every valid session the request presents ---- */

static void
logout_ends_every_presented_session(void **state)
{
	struct fx *f = *state;
	struct sgw_request q;
	struct login victim, tossed;
	char cookie[300];
	json_t *j;

	/* A cookie tossed in front of the victim's own (a sibling domain can
	 * set one): logging out must not leave the victim's session alive
	 * behind it. */
	session_for(f, &victim, "alice", "admin,dev", CLIENT);
	session_for(f, &tossed, "bob", "user", "198.51.100.1");
	snprintf(
	    cookie, sizeof(cookie), "%s; %s", tossed.cookie, victim.cookie);
	reset_calls(f);
	q = request("POST", "/auth/logout");
	q.cookie = cookie;
	assert_int_equal(run(f, &q), 200);
	j = body_json(f);
	assert_true(json_is_true(json_object_get(j, "logged_out")));
	json_decref(j);
	assert_false(alive(f, &tossed));
	assert_false(alive(f, &victim));
	assert_int_equal(f->fake->calls[OP_DEL], 2);
	header_has(f, "Set-Cookie", "Max-Age=0");
	q = authorizer("/app/x");
	q.cookie = victim.cookie;
	assert_int_equal(run(f, &q), 401);
}

/* ---- User-Agent binding (SPEC section 4) ---- */

/* Logs user in over POST /login with User-Agent agent (may be NULL) and
 * fills l from the cookie it got. */
static void
login_as(struct fx *f, struct login *l, const char *user, const char *pw,
    const char *agent)
{
	struct sgw_request q = request("POST", "/auth/login");
	char body[256];
	const char *c;
	size_t n;

	snprintf(body, sizeof(body),
	    "{\"username\":\"%s\",\"password\":\"%s\"}", user, pw);
	with_body(&q, JSON_TYPE, body);
	q.user_agent = agent;
	if (run(f, &q) != 200)
		fail_msg("login %s: %d", user, f->resp.status);
	c = header(f, "Set-Cookie");
	assert_non_null(c);
	assert_true(strncmp(c, "sgw_session=", 12) == 0);
	n = strcspn(c + 12, ";");
	assert_true(n <= SGW_TOKEN_LEN);
	memcpy(l->token, c + 12, n);
	l->token[n] = '\0';
	assert_int_equal(sgw_token_check(&g.keys, l->token, n, l->hash), 0);
	snprintf(l->cookie, sizeof(l->cookie), "sgw_session=%s", l->token);
	sgw_token_public_id(l->hash, l->id);
}

#define UA_A "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"
#define UA_B "Mozilla/5.0 (Windows NT 10.0) Chrome/126.0"

static void
agent_bound_session_needs_its_agent(void **state)
{
	struct fx *f = *state;
	static const unsigned char zero[SGW_AGENT_LEN];
	struct sgw_request q;
	struct login a;

	login_as(f, &a, "alice", "alice-pw", UA_A);
	/* A digest is kept, not the header. */
	assert_memory_not_equal(f->fake->last.agent, zero, SGW_AGENT_LEN);
	assert_memory_not_equal(f->fake->last.agent, UA_A, SGW_AGENT_LEN);

	q = request("GET", "/auth/session");
	q.cookie = a.cookie;
	q.user_agent = UA_A;
	assert_int_equal(run(f, &q), 200);
	q.user_agent = UA_B;
	assert_int_equal(run(f, &q), 401);
	q.user_agent = NULL;
	assert_int_equal(run(f, &q), 401);
	q = authorizer("/app/x");
	q.cookie = a.cookie;
	q.user_agent = UA_B;
	assert_int_equal(run(f, &q), 401);
	/* Refused, not ended: with its own User-Agent it still works. */
	assert_true(alive(f, &a));
	q.user_agent = UA_A;
	assert_int_equal(run(f, &q), 200);

	/* A login without User-Agent is bound to having none. */
	login_as(f, &a, "bob", "bob-pw", NULL);
	q = authorizer("/app/x");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 200);
	q.user_agent = UA_A;
	assert_int_equal(run(f, &q), 401);
}

static void
unbound_agent_is_not_checked(void **state)
{
	struct fx *f = *state;
	struct sgw_request q;
	struct login a;

	login_as(f, &a, "alice", "alice-pw", UA_A);
	q = authorizer("/app/x");
	q.cookie = a.cookie;
	q.user_agent = UA_B;
	assert_int_equal(run(f, &q), 200);
	q.user_agent = NULL;
	assert_int_equal(run(f, &q), 200);
}

/* ---- the policy: max_per_user, expiry, the refresh throttle ---- */

static void
max_per_user_evicts_the_oldest(void **state)
{
	struct fx *f = *state;
	struct sgw_request q;
	struct login l[3], later[2];

	for (int i = 0; i < 3; i++)
		login_as(f, &l[i], "alice", "alice-pw", NULL);
	assert_false(alive(f, &l[0]));
	assert_true(alive(f, &l[1]));
	assert_true(alive(f, &l[2]));
	assert_int_equal(fake_store_index_len(f->fake, "alice"), 2);
	q = authorizer("/app/x");
	q.cookie = l[0].cookie;
	assert_int_equal(run(f, &q), 401);
	q.cookie = l[2].cookie;
	assert_int_equal(run(f, &q), 200);

	/* Never the new one: bob's two sessions sort after it (made "in
	 * the same millisecond" on a host whose clock is ahead). */
	for (int i = 0; i < 2; i++) {
		struct sgw_record moved;

		session_for(f, &later[i], "bob", "user", CLIENT);
		moved = *fake_store_find(f->fake, later[i].hash);
		moved.created_ms = moved.seen_ms = sgw_now_ms() + 60000 + i;
		/* The index sorts by the creation time it was given. */
		fake_store_insert(f->fake, later[i].hash, &moved);
	}
	login_as(f, &l[0], "bob", "bob-pw", NULL);
	assert_true(alive(f, &l[0]));
	assert_false(alive(f, &later[0]));
	assert_true(alive(f, &later[1]));
	assert_int_equal(fake_store_index_len(f->fake, "bob"), 2);
}

static void
unlimited_sessions_per_user(void **state)
{
	struct fx *f = *state;
	struct login l[4];

	for (int i = 0; i < 4; i++)
		login_as(f, &l[i], "alice", "alice-pw", NULL);
	for (int i = 0; i < 4; i++)
		assert_true(alive(f, &l[i]));
	assert_int_equal(f->fake->calls[OP_DEL], 0);
}

static void
expired_sessions_are_ended_and_counted(void **state)
{
	struct fx *f = *state;
	const int64_t idle = f->conf.idle_timeout_ms;
	struct sgw_request q;
	struct login a, b, c;
	struct sgw_record *r;
	json_t *j;

	/* Unused for longer than idle_timeout; the store still returns it
	 * (its deadline is the store's business, the policy decides). */
	session_for(f, &a, "alice", "admin,dev", CLIENT);
	r = fake_store_find(f->fake, a.hash);
	r->seen_ms = sgw_now_ms() - idle - 1;
	r->deadline_ms = sgw_now_ms() + 60000;
	reset_calls(f);
	q = request("GET", "/auth/session");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 401);
	assert_int_equal(f->fake->calls[OP_GET], 1);
	assert_int_equal(f->fake->calls[OP_DEL], 1);
	assert_int_equal(f->fake->calls[OP_REFRESH], 0);
	assert_false(alive(f, &a));
	assert_int_equal(f->fake->base.expired, 1);

	/* Past its absolute end, however recently used: gone, not revived
	 * by a refresh. */
	session_for(f, &b, "alice", "admin,dev", CLIENT);
	r = fake_store_find(f->fake, b.hash);
	r->expires_ms = sgw_now_ms() - 1;
	r->seen_ms = sgw_now_ms() - idle / 2;
	q = authorizer("/app/x");
	q.cookie = b.cookie;
	assert_int_equal(run(f, &q), 401);
	assert_false(alive(f, &b));
	assert_int_equal(f->fake->calls[OP_REFRESH], 0);
	assert_int_equal(f->fake->base.expired, 2);

	/* Found by GET /sessions: left out of the list and ended. */
	session_for(f, &a, "alice", "admin,dev", CLIENT);
	session_for(f, &c, "alice", "admin,dev", CLIENT);
	r = fake_store_find(f->fake, c.hash);
	r->seen_ms = sgw_now_ms() - idle - 1;
	q = request("GET", "/auth/sessions");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 200);
	j = body_json(f);
	assert_int_equal(json_array_size(json_object_get(j, "sessions")), 1);
	assert_string_equal(
	    json_string_value(json_object_get(
	        json_array_get(json_object_get(j, "sessions"), 0),
	        "session_id")),
	    a.id);
	json_decref(j);
	assert_false(alive(f, &c));
	assert_true(alive(f, &a));
	assert_int_equal(f->fake->base.expired, 3);
	assert_int_equal(fake_store_index_len(f->fake, "alice"), 1);
}

static void
refresh_is_throttled_and_capped(void **state)
{
	struct fx *f = *state;
	const int64_t idle = f->conf.idle_timeout_ms;
	struct sgw_request q;
	struct sgw_record *r;
	struct login a;
	int64_t before;

	/* Used a moment ago: a check is one get and no write. */
	session_for(f, &a, "alice", "admin,dev", CLIENT);
	reset_calls(f);
	q = authorizer("/app/x");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 200);
	assert_int_equal(f->fake->calls[OP_REFRESH], 0);

	/* A tenth of idle_timeout since the last refresh: the idle end
	 * slides (one write). */
	r = fake_store_find(f->fake, a.hash);
	r->seen_ms = sgw_now_ms() - idle / 10 - 1000;
	before = sgw_now_ms();
	assert_int_equal(run(f, &q), 200);
	assert_int_equal(f->fake->calls[OP_REFRESH], 1);
	r = fake_store_find(f->fake, a.hash);
	assert_true(r->seen_ms >= before);
	assert_int_equal(r->deadline_ms, r->seen_ms + idle);
	/* Right after: no second write. */
	assert_int_equal(run(f, &q), 200);
	assert_int_equal(f->fake->calls[OP_REFRESH], 1);
	assert_int_equal(f->fake->calls[OP_GET], 3);

	/* Never past the absolute end. */
	r->expires_ms = sgw_now_ms() + 5000;
	r->seen_ms = sgw_now_ms() - idle / 2;
	assert_int_equal(run(f, &q), 200);
	assert_int_equal(f->fake->calls[OP_REFRESH], 2);
	r = fake_store_find(f->fake, a.hash);
	assert_int_equal(r->deadline_ms, r->expires_ms);
}

static void
full_store_refuses_logins_and_serves_sessions(void **state)
{
	struct fx *f = *state;
	struct sgw_request q;
	struct login a;

	session_for(f, &a, "alice", "admin,dev", CLIENT);
	f->fake->capacity = 1;
	q = request("POST", "/auth/login");
	with_body(
	    &q, JSON_TYPE, "{\"username\":\"bob\",\"password\":\"bob-pw\"}");
	assert_int_equal(run(f, &q), 503);
	assert_null(header(f, "Set-Cookie"));
	q = authorizer("/app/x");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 200);
}

/* Fails op alone for one request; the answer must be 503. */
static void
fails_closed(
    struct fx *f, struct sgw_request *q, enum fake_op op, const char *what)
{
	f->fake->fail_ops = 1u << op;
	reset_calls(f);
	if (run(f, q) != 503)
		fail_msg("%s with op %d failing: %d, want 503", what, (int)op,
		    f->resp.status);
	if (f->fake->calls[op] == 0)
		fail_msg("%s: op %d was not called: the case tests nothing",
		    what, (int)op);
	assert_null(header(f, "Set-Cookie"));
	f->fake->fail_ops = 0;
}

static void
every_store_failure_on_the_way_is_503(void **state)
{
	struct fx *f = *state;
	static const enum fake_op login_ops[] = {
	    OP_COUNTER_GET,
	    OP_COUNTER_ADD,
	    OP_COUNTER_DEL,
	    OP_DEL,
	    OP_PUT,
	    OP_USER_SESSIONS,
	};
	struct sgw_request q;
	struct sgw_record *r;
	struct login a, old;
	char text[512];

	/* The check: the refresh after a good get is part of it. */
	session_for(f, &a, "alice", "admin,dev", CLIENT);
	r = fake_store_find(f->fake, a.hash);
	r->seen_ms = sgw_now_ms() - f->conf.idle_timeout_ms / 2;
	q = authorizer("/app/x");
	q.cookie = a.cookie;
	fails_closed(f, &q, OP_REFRESH, "check with a refresh due");
	/* Ending an expired session, or one of a removed user. */
	r->seen_ms = sgw_now_ms() - f->conf.idle_timeout_ms - 1;
	fails_closed(f, &q, OP_DEL, "check of an expired session");
	r->seen_ms = sgw_now_ms();
	snprintf(text, sizeof(text), "bob:%s:user\n", g.hash_b);
	set_users(f, text);
	fails_closed(f, &q, OP_DEL, "check of a removed user's session");
	snprintf(text, sizeof(text), USERS_FMT, g.hash_a, g.hash_b);
	set_users(f, text);
	assert_int_equal(run(f, &q), 200);

	/* Every step of a login, a session presented with it. */
	session_for(f, &old, "alice", "admin,dev", CLIENT);
	for (size_t i = 0; i < sizeof(login_ops) / sizeof(login_ops[0]); i++) {
		q = request("POST", "/auth/login");
		q.cookie = old.cookie;
		with_body(&q, JSON_TYPE,
		    "{\"username\":\"alice\",\"password\":\"alice-pw\"}");
		fails_closed(f, &q, login_ops[i], "login");
	}
	/* A failed login at the limit sets the lockout. */
	q = request("POST", "/auth/login");
	with_body(
	    &q, JSON_TYPE, "{\"username\":\"bob\",\"password\":\"nope\"}");
	assert_int_equal(run(f, &q), 401);
	assert_int_equal(run(f, &q), 401);
	fails_closed(f, &q, OP_COUNTER_SET, "failed login at the limit");

	/* The endpoints behind a session. */
	q = request("POST", "/auth/logout");
	q.cookie = a.cookie;
	fails_closed(f, &q, OP_DEL, "logout");
	q = request("POST", "/auth/logout-all");
	q.cookie = a.cookie;
	fails_closed(f, &q, OP_USER_SESSIONS, "logout-all");
	q = request("GET", "/auth/sessions");
	q.cookie = a.cookie;
	fails_closed(f, &q, OP_USER_SESSIONS, "sessions");
	q = request(
	    "DELETE", "/auth/sessions/0123456789abcdef0123456789abcdef");
	q.cookie = a.cookie;
	fails_closed(f, &q, OP_USER_SESSIONS, "delete a session");
	q = request("GET", "/auth/session/data/k");
	q.cookie = a.cookie;
	fails_closed(f, &q, OP_DATA_GET, "data get");
	q = request("PUT", "/auth/session/data/k");
	q.cookie = a.cookie;
	with_body(&q, "application/octet-stream", "v");
	fails_closed(f, &q, OP_DATA_PUT, "data put");
	q.method = "DELETE";
	fails_closed(f, &q, OP_DATA_DEL, "data delete");
	/* Nothing was lost on the way: the session still passes. */
	q = authorizer("/app/x");
	q.cookie = a.cookie;
	assert_int_equal(run(f, &q), 200);
}

/* ---- health ---- */

static void
healthz_follows_store_ping(void **state)
{
	struct fx *f = *state;
	struct sgw_request q = request("GET", "/auth/healthz");

	assert_int_equal(run(f, &q), 200);
	assert_true(
	    f->resp.body.len >= 2 && strncmp(f->resp.body.data, "ok", 2) == 0);
	f->fake->ping_down = 1;
	assert_int_equal(run(f, &q), 503);
	assert_false(body_has(f, "ok"));
	f->fake->ping_down = 0;
	assert_int_equal(run(f, &q), 200);
	assert_int_equal(f->fake->calls[OP_PING], 3);
	assert_int_equal(total_calls(f->fake), 3);
}

/*
 * A worker holding several whole requests reads their sessions ahead in
 * one round trip (store.h): the checks then take those records and do no
 * get of their own, and a failed read ahead is a 503 for each without
 * asking the store again.
 */
static void
checks_take_the_sessions_read_ahead(void **state)
{
	struct fx *f = *state;
	struct login a, b;
	unsigned char h[3][SGW_HASH_LEN];
	struct sgw_request qa = authorizer("/app/x");
	struct sgw_request qb = authorizer("/app/y");
	struct sgw_request qf = authorizer("/app/z");

	session_for(f, &a, "alice", "admin,dev", CLIENT);
	session_for(f, &b, "bob", "user", CLIENT);
	qa.cookie = a.cookie;
	qb.cookie = b.cookie;
	qf.cookie = "sgw_session=forged";
	reset_calls(f);
	assert_int_equal(sgw_request_token(&f->ctx, &qa, h[0]), 1);
	assert_memory_equal(h[0], a.hash, SGW_HASH_LEN);
	assert_int_equal(sgw_request_token(&f->ctx, &qb, h[1]), 1);
	assert_int_equal(sgw_request_token(&f->ctx, &qf, h[2]), 0);
	sgw_store_read_ahead(f->ctx.store, h, 2);
	assert_int_equal(f->fake->calls[OP_GET_MANY], 1);
	assert_int_equal(run(f, &qb), 200);
	header_is(f, "Variable-SGW_USER", "bob");
	assert_int_equal(run(f, &qa), 200);
	header_is(f, "Variable-SGW_USER", "alice");
	header_is(f, "Variable-SGW_SESSION_ID", a.id);
	assert_int_equal(run(f, &qf), 401);
	assert_int_equal(f->fake->calls[OP_GET], 0);
	assert_int_equal(total_calls(f->fake), 1);
	sgw_store_ahead_drop(f->ctx.store);

	/* Each record is taken once: a second check of the same session
	 * asks the store itself. */
	qa = authorizer("/app/x");
	qa.cookie = a.cookie;
	assert_int_equal(run(f, &qa), 200);
	assert_int_equal(f->fake->calls[OP_GET], 1);

	/* The read ahead failed: each check fails closed, at once. */
	qa = authorizer("/app/x");
	qa.cookie = a.cookie;
	qb = authorizer("/app/y");
	qb.cookie = b.cookie;
	assert_int_equal(sgw_request_token(&f->ctx, &qa, h[0]), 1);
	assert_int_equal(sgw_request_token(&f->ctx, &qb, h[1]), 1);
	f->fake->down = 1;
	sgw_store_read_ahead(f->ctx.store, h, 2);
	f->fake->down = 0;
	reset_calls(f);
	assert_int_equal(run(f, &qa), 503);
	assert_int_equal(run(f, &qb), 503);
	assert_int_equal(total_calls(f->fake), 0);
	sgw_store_ahead_drop(f->ctx.store);
	qa = authorizer("/app/x");
	qa.cookie = a.cookie;
	assert_int_equal(run(f, &qa), 200);
	assert_int_equal(total_calls(f->fake), 1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

/* ==== issue 7 (access hardening): kept apart from the tests above, and
 * using only their fixture, so the store interface can change under
 * them. ==== */

/*
 * DOCUMENT_URI, SCRIPT_NAME and PATH_INFO arrive decoded by the web
 * server: decoding them again made the public "/auth/chec%256b" (nginx's
 * $uri "/auth/chec%6b") the internal /check, which believes the client's
 * own X-Original-URI. Only REQUEST_URI is raw and is decoded, once.
 */
static void
endpoint_is_decoded_once(void **state)
{
	struct fx *f = *state;
	struct sgw_request q;
	static const char *const doc[] = {
	    "/auth/chec%6b", /* /auth/chec%256b */
	    "/auth/%63heck", /* /auth/%2563heck */
	    "/auth/%63%68%65%63%6b",
	    "/auth/%2e/check",    /* /auth/%252e/check */
	    "/auth/x/..%2fcheck", /* /auth/x/..%252fcheck */
	    "/auth/x%2f..%2fcheck",
	    "/auth/%68ealthz",
	    "/auth/check?", /* a '?' in $uri came from %3F */
	    "/auth/check%3f",
	};

	for (size_t i = 0; i < sizeof(doc) / sizeof(doc[0]); i++) {
		/* A client's forged X-Original-URI names an open path. */
		q = request("GET", "/app/x");
		q.document_uri = doc[i];
		q.orig_uri = "/public/x";
		if (run(f, &q) != 404)
			fail_msg("DOCUMENT_URI %s: %d, want 404", doc[i],
			    f->resp.status);
		assert_string_equal(
		    sgw_endpoint_name(f->resp.endpoint), "unknown");
		assert_null(header(f, "X-Auth-User"));
		/* The same through SCRIPT_NAME + PATH_INFO (Apache). */
		q.document_uri = NULL;
		q.script_name = "/auth";
		q.path_info = doc[i] + strlen("/auth");
		if (run(f, &q) != 404)
			fail_msg("SCRIPT_NAME /auth PATH_INFO %s: %d, want 404",
			    q.path_info, f->resp.status);
		q.script_name = doc[i];
		q.path_info = NULL;
		if (run(f, &q) != 404)
			fail_msg("SCRIPT_NAME %s: %d, want 404", doc[i],
			    f->resp.status);
	}
	assert_int_equal(total_calls(f->fake), 0);

	/* REQUEST_URI alone is raw: decoded once, not twice. */
	q = request("GET", "/auth/%2563heck");
	q.orig_uri = "/public/x";
	assert_int_equal(run(f, &q), 404);
	q = request("GET", "/auth/%2568ealthz");
	assert_int_equal(run(f, &q), 404);
	assert_int_equal(f->fake->calls[OP_PING], 0);
	q = request("GET", "/auth/%68ealthz");
	assert_int_equal(run(f, &q), 200);
	assert_int_equal(f->fake->calls[OP_PING], 1);

	/* The real names still route, and are still normalised. */
	q = request("GET", "/app/x");
	q.document_uri = "/auth/check";
	q.orig_uri = "/public/x";
	assert_int_equal(run(f, &q), 200);
	assert_string_equal(sgw_endpoint_name(f->resp.endpoint), "check");
	q.document_uri = "/auth//x/../check";
	assert_int_equal(run(f, &q), 200);
	assert_string_equal(sgw_endpoint_name(f->resp.endpoint), "check");
	q = request("GET", "/auth/login");
	q.script_name = "/auth";
	q.path_info = "/healthz";
	assert_int_equal(run(f, &q), 200);
	assert_int_equal(f->fake->calls[OP_PING], 2);
	/* What a path may not hold it may not hold here either. */
	q.path_info = "/healthz;x";
	assert_int_equal(run(f, &q), 404);
	q.path_info = "/h\xc0\xafz";
	assert_int_equal(run(f, &q), 404);
}

/*
 * A stored value is the application's bytes, served as
 * application/octet-stream: a browser must not sniff it into HTML (a
 * value "<script>..." would run on the gateway's origin).
 */
static void
data_get_is_not_sniffed(void **state)
{
	struct fx *f = *state;
	struct sgw_request q;
	struct login a;

	session_for(f, &a, "alice", "admin,dev", CLIENT);
	q = request("PUT", "/auth/session/data/page");
	q.cookie = a.cookie;
	with_body(&q, NULL, "<html><script>alert(1)</script>");
	assert_int_equal(run(f, &q), 204);
	q.method = "GET";
	assert_int_equal(run(f, &q), 200);
	header_is(f, "Content-Type", "application/octet-stream");
	header_is(f, "X-Content-Type-Options", "nosniff");
	q.method = "HEAD";
	assert_int_equal(run(f, &q), 200);
	header_is(f, "X-Content-Type-Options", "nosniff");
}

/*
 * The handlers' log buffers hold a whole user name (up to
 * SGW_USER_MAXLEN bytes) escaped: it used to be cut at 63 bytes without a
 * mark, and U+2028 / U+0085 went into the line raw.
 */
static void
log_lines_hold_whole_escaped_names(void **state)
{
	struct fx *f = *state;
	struct sgw_request q;
	char path[] = "/tmp/sgw-test-dispatch-log.XXXXXX";
	char name[256], body[512], want[512], log[8192];
	int fd = mkstemp(path);
	FILE *fp;
	size_t n;

	assert_true(fd >= 0);
	close(fd);
	/* 200 bytes, then a line separator, a NEXT LINE and a forged field,
	 * as JSON escapes. */
	memset(name, 'x', 200);
	name[200] = '\0';
	snprintf(body, sizeof(body),
	    "{\"username\":\"%s\\u2028\\u0085 user=root\",\"password\":\"no\"}",
	    name);
	snprintf(want, sizeof(want),
	    "login failed user=%s\\u2028\\u0085\\x20user=root client=" CLIENT,
	    name);
	assert_int_equal(sgw_log_open(SGW_LOG_DEBUG, path), 0);
	q = request("POST", "/auth/login");
	with_body(&q, JSON_TYPE, body);
	assert_int_equal(run(f, &q), 401);
	sgw_log_open(SGW_LOG_DEBUG, "/dev/null");

	assert_non_null(fp = fopen(path, "r"));
	n = fread(log, 1, sizeof(log) - 1, fp);
	log[n] = '\0';
	fclose(fp);
	unlink(path);
	if (strstr(log, want) == NULL)
		fail_msg("log lacks \"%s\":\n%s", want, log);
	assert_null(strstr(log, "\xe2\x80\xa8"));
	assert_null(strstr(log, "\xc2\x85"));
}

/* ==== end of issue 7 block ==== */

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(routing_reaches_each_endpoint),
	    T(unknown_paths_are_404),
	    T(wrong_method_is_405_with_allow),
	    T(endpoint_precedence_follows_spec),
	    T(authorizer_decides_on_request_uri),
	    T(check_uses_original_uri),
	    T(pass_carries_identity),
	    T(no_session_is_401_or_login_redirect),
	    T(forbidden_cases_are_403),
	    T(store_failure_is_503_never_200),
	    T(forged_tokens_cost_no_store_call),
	    T(login_success_creates_session_and_cookie),
	    T(login_ends_presented_session),
	    T(login_failure_does_not_tell_why),
	    T(login_refuses_bad_bodies),
	    T(login_refuses_cross_site_posts),
	    T(login_lockout_is_429),
	    T(login_return_to_must_be_safe),
	    T(login_page_carries_return_to),
	    T(logout_is_idempotent),
	    T(logout_all_ends_every_session_of_the_user),
	    T(session_shows_identity_and_times),
	    T(sessions_lists_and_marks_current),
	    T(delete_session_by_id),
	    T(data_endpoints),
	    cmocka_unit_test_setup_teardown(
	        bound_session_from_elsewhere_is_none, fx_setup_bound,
	        fx_teardown),
	    T(unbound_session_works_from_anywhere),
	    T(healthz_follows_store_ping),
	    T(removed_user_is_refused_and_ended),
	    T(removed_user_is_seen_through_the_file),
	    T(changed_roles_apply_at_next_check),
	    T(many_cookies_cost_one_lookup),
	    T(checks_take_the_sessions_read_ahead),
	    T(logout_ends_every_presented_session),
	    cmocka_unit_test_setup_teardown(agent_bound_session_needs_its_agent,
	        fx_setup_agent, fx_teardown),
	    T(unbound_agent_is_not_checked),
	    cmocka_unit_test_setup_teardown(
	        max_per_user_evicts_the_oldest, fx_setup_max2, fx_teardown),
	    T(unlimited_sessions_per_user),
	    T(expired_sessions_are_ended_and_counted),
	    T(refresh_is_throttled_and_capped),
	    T(full_store_refuses_logins_and_serves_sessions),
	    T(every_store_failure_on_the_way_is_503),
	    /* issue 7: access hardening */
	    T(endpoint_is_decoded_once),
	    T(data_get_is_not_sniffed),
	    T(log_lines_hold_whole_escaped_names),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
