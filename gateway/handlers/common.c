/*
 * What the handlers share: finding the request's session, the cookie,
 * the standard denials.
 */
#include <string.h>
#include <time.h>

#include "cookie.h"
#include "handlers.h"
#include "log.h"
#include "redirect.h"
#include "timefmt.h"

void
sgw_users_refresh(struct sgw_ctx *ctx, int now_or_throttled)
{
	struct sgw_users fresh = {0};
	struct sgw_errs errs = {0};
	int64_t now = sgw_mono_ms();

	/* The file is the truth at every check (SPEC section 9), but a
	 * stat per request would cost more than the check itself: a change
	 * is seen within a second. */
	if (now_or_throttled == SGW_USERS_THROTTLED &&
	    ctx->users_checked_ms != 0 && now - ctx->users_checked_ms < 1000)
		return;
	ctx->users_checked_ms = now;
	if (!sgw_users_changed(ctx->users))
		return;
	if (sgw_users_load(ctx->users->file, &fresh, &errs) == -1) {
		for (size_t i = 0; i < errs.n; i++)
			log_error(
			    "%s (keeping the users read before)", errs.msg[i]);
		sgw_errs_clear(&errs);
		return;
	}
	log_info("users file %s re-read: %zu users", fresh.file, fresh.n);
	sgw_users_free(ctx->users);
	*ctx->users = fresh;
}

/* The first presented token whose MAC holds, as its hash. */
static int
find_token(struct sgw_ctx *ctx, const struct sgw_request *req,
    unsigned char hash[SGW_HASH_LEN])
{
	const char *val;
	size_t pos = 0, vlen, len;

	if (req->cookie == NULL)
		return 0;
	len = strlen(req->cookie);
	for (;;) {
		if (sgw_cookie_next(req->cookie, len, &pos,
		        ctx->conf->cookie_name, &val, &vlen) != 1)
			return 0;
		/* A forged or malformed token stops here: no store access. */
		if (sgw_token_check(ctx->keys, val, vlen, hash) == 0)
			return 1;
	}
}

int
sgw_request_token(struct sgw_ctx *ctx, struct sgw_request *req,
    unsigned char hash[SGW_HASH_LEN])
{
	req->token = find_token(ctx, req, req->token_hash) ? 1 : -1;
	if (req->token == 1)
		memcpy(hash, req->token_hash, SGW_HASH_LEN);
	return req->token == 1;
}

int
sgw_request_session(struct sgw_ctx *ctx, const struct sgw_request *req,
    struct sgw_session *s, unsigned char hash[SGW_HASH_LEN])
{
	struct sgw_asker who = {
	    .client = req->client, .agent = req->user_agent};
	int rc;

	/* Found already when the worker read the session ahead. */
	if (req->token == 1)
		memcpy(hash, req->token_hash, SGW_HASH_LEN);
	else if (req->token == -1 || !find_token(ctx, req, hash))
		return 0;
	sgw_users_refresh(ctx, SGW_USERS_THROTTLED);
	rc = sgw_session_check(
	    ctx->store, &ctx->policy, ctx->users, hash, &who, sgw_now_ms(), s);
	if (SGW_STORE_FAILED(rc))
		return -1;
	if (who.bound != SGW_BOUND_NONE) {
		char u[SGW_LOG_SAFE_SIZE(SGW_USER_MAXLEN)];
		char c[SGW_LOG_SAFE_SIZE(SGW_CLIENT_MAXLEN)];

		log_warnx("session of user=%s refused for client=%s: bound to "
		          "another %s",
		    sgw_log_safe(who.bound_user, u, sizeof(u)),
		    sgw_log_safe(req->client, c, sizeof(c)),
		    who.bound == SGW_BOUND_CLIENT ? "address" : "User-Agent");
	}
	return rc == SGW_STORE_OK;
}

int
sgw_end_presented_sessions(
    struct sgw_ctx *ctx, const struct sgw_request *req, size_t *ended)
{
	unsigned char hash[SGW_HASH_LEN];
	const char *val;
	size_t pos = 0, vlen, len;

	*ended = 0;
	if (req->cookie == NULL)
		return 0;
	len = strlen(req->cookie);
	while (sgw_cookie_next(req->cookie, len, &pos, ctx->conf->cookie_name,
	           &val, &vlen) == 1) {
		int rc;

		if (sgw_token_check(ctx->keys, val, vlen, hash) != 0)
			continue;
		rc = sgw_session_end(ctx->store, hash);
		if (SGW_STORE_FAILED(rc))
			return -1;
		*ended += rc == SGW_STORE_OK;
	}
	return 0;
}

int
sgw_require_session(struct sgw_ctx *ctx, const struct sgw_request *req,
    struct sgw_response *resp, struct sgw_session *s,
    unsigned char hash[SGW_HASH_LEN])
{
	switch (sgw_request_session(ctx, req, s, hash)) {
	case 1:
		return 1;
	case 0:
		sgw_resp_unauthenticated(resp);
		return 0;
	default:
		sgw_resp_unavailable(ctx, resp);
		return 0;
	}
}

int
sgw_refuse_cross_site(const struct sgw_ctx *ctx, const struct sgw_request *req,
    struct sgw_response *resp)
{
	if (!sgw_cross_site(ctx, req))
		return 0;
	sgw_resp_error(resp, 403, "cross-site request refused");
	return 1;
}

void
sgw_resp_unauthenticated(struct sgw_response *resp)
{
	sgw_resp_error(resp, 401, "not logged in");
	sgw_resp_header_str(
	    resp, "WWW-Authenticate", "Cookie realm=\"sessiongw\"");
}

void
sgw_resp_unavailable(struct sgw_ctx *ctx, struct sgw_response *resp)
{
	log_error("%s", ctx->store->errstr);
	resp->store_errors++;
	sgw_resp_error(resp, 503, "session store unavailable");
	sgw_resp_header_str(resp, "Retry-After", "1");
}

void
sgw_resp_cookie(struct sgw_ctx *ctx, struct sgw_response *resp,
    const char *token, int remember_me)
{
	char c[1024];
	int64_t max_age =
	    remember_me ? ctx->conf->remember_me_timeout_ms / 1000 : -1;

	if (sgw_cookie_build(c, sizeof(c), &ctx->cookie, token, max_age) < 0) {
		resp->headers.oom = 1; /* cannot happen with a valid config */
		return;
	}
	sgw_resp_header_str(resp, "Set-Cookie", c);
}

/* Host without its port: "example.com:8080" -> "example.com". */
static void
host_only(const char *in, char *out, size_t outsz)
{
	size_t n = strcspn(in, ":/");

	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, in, n);
	out[n] = '\0';
}

int
sgw_cross_site(const struct sgw_ctx *ctx, const struct sgw_request *req)
{
	const char *o = req->origin, *host;
	char h[256];

	if (o == NULL || o[0] == '\0')
		return 0;
	/* "null" (sandboxed frames, some redirects) names no site: refuse. */
	if (strncmp(o, "https://", 8) == 0)
		host = o + 8;
	else if (strncmp(o, "http://", 7) == 0)
		host = o + 7;
	else
		return 1;
	host_only(host, h, sizeof(h));
	if (req->host == NULL)
		return !sgw_redirect_host_allowed(&ctx->redirect, h, "");
	return !sgw_redirect_host_allowed(&ctx->redirect, h, req->host);
}

json_t *
sgw_json_time(int64_t ms)
{
	char t[SGW_RFC3339_LEN];

	return json_string(sgw_rfc3339(ms, t));
}

json_t *
sgw_roles_json(const char *roles)
{
	json_t *a = json_array();
	const char *p = roles;

	while (a != NULL && p != NULL && *p != '\0') {
		size_t n = strcspn(p, ",");

		if (n > 0)
			json_array_append_new(a, json_stringn(p, n));
		p += n;
		if (*p == ',')
			p++;
	}
	return a;
}

json_t *
sgw_session_json(const struct sgw_session *s)
{
	return json_pack("{s:s, s:o, s:s, s:o, s:o, s:o, s:b}", "user", s->user,
	    "roles", sgw_roles_json(s->roles), "session_id", s->id,
	    "created_at", sgw_json_time(s->created_ms), "expires_at",
	    sgw_json_time(s->expires_ms), "idle_expires_at",
	    sgw_json_time(s->idle_expires_ms), "remember_me", s->remember_me);
}
