/*
 * login: the login page (GET) and logging in (POST), SPEC section 5.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cookie.h"
#include "credentials.h"
#include "form.h"
#include "handlers.h"
#include "log.h"
#include "redirect.h"

#define FAILED_MESSAGE "Invalid username or password."

/*
 * Fills the page template: {{action}}, {{return_to}} and {{error}} are
 * replaced by their HTML-escaped values; anything else is copied as is.
 */
static void
render_page(struct sgw_ctx *ctx, struct sgw_response *resp, int status,
    const char *return_to, const char *error)
{
	const char *p = ctx->login_page;
	struct sgw_buf out = {0};
	char action[600];

	snprintf(action, sizeof(action), "%s/login", ctx->conf->prefix);
	while (*p != '\0') {
		const char *open = strstr(p, "{{"), *val = NULL;
		size_t skip = 0;

		if (open == NULL) {
			sgw_buf_add(&out, p, strlen(p));
			break;
		}
		sgw_buf_add(&out, p, (size_t)(open - p));
		if (strncmp(open, "{{action}}", 10) == 0)
			val = action, skip = 10;
		else if (strncmp(open, "{{return_to}}", 13) == 0)
			val = return_to, skip = 13;
		else if (strncmp(open, "{{error}}", 9) == 0)
			val = error, skip = 9;
		if (skip == 0) {
			sgw_buf_add(&out, "{{", 2);
			p = open + 2;
			continue;
		}
		if (val != NULL && val[0] != '\0') {
			char *esc = sgw_html_escape(val);

			if (esc == NULL)
				out.oom = 1;
			else
				sgw_buf_add(&out, esc, strlen(esc));
			free(esc);
		}
		p = open + skip;
	}
	if (out.oom)
		sgw_resp_error(resp, 500, "out of memory");
	else
		sgw_resp_html(
		    resp, status, out.data != NULL ? out.data : "", out.len);
	/* The page may show an error about this very attempt: keep it out of
	 * frames (clickjacking) and caches. */
	sgw_resp_header_str(resp, "X-Frame-Options", "DENY");
	sgw_resp_header(resp, "Content-Security-Policy",
	    "default-src 'none'; style-src 'unsafe-inline'; form-action "
	    "'self'; "
	    "frame-ancestors 'none'");
	sgw_buf_free(&out);
}

void
sgw_handle_login_page(
    struct sgw_ctx *ctx, struct sgw_request *req, struct sgw_response *resp)
{
	char *return_to = NULL;

	if (req->query != NULL &&
	    sgw_form_get(req->query, strlen(req->query), "return_to",
	        &return_to) == -1) {
		sgw_resp_error(resp, 400, "malformed query string");
		return;
	}
	render_page(ctx, resp, 200, return_to, NULL);
	free(return_to);
}

static void
refuse(struct sgw_ctx *ctx, struct sgw_response *resp,
    const struct sgw_credentials *cr, int status, const char *msg)
{
	if (cr->is_json)
		sgw_resp_error(resp, status, msg);
	else
		render_page(ctx, resp, status, cr->return_to, msg);
}

static void
succeed(struct sgw_ctx *ctx, struct sgw_request *req, struct sgw_response *resp,
    const struct sgw_credentials *cr, const struct sgw_user *u,
    const struct sgw_attempt *at)
{
	struct sgw_login who = {
	    .user = u->name,
	    .roles = u->roles,
	    .client = req->client,
	    .agent = req->user_agent,
	    .remember_me = cr->remember_me,
	};
	struct sgw_session s;
	unsigned char hash[SGW_HASH_LEN];
	char token[SGW_TOKEN_LEN + 1], un[SGW_LOG_SAFE_SIZE(SGW_USER_MAXLEN)];
	int64_t now = sgw_now_ms();
	size_t ended = 0, evicted = 0;
	int rc;

	/* No session fixation: a session that came with the login, planted
	 * or not, does not survive it. */
	if (SGW_STORE_FAILED(
	        sgw_ratelimit_succeeded(ctx->store, &ctx->limits, at, now)) ||
	    sgw_end_presented_sessions(ctx, req, &ended) == -1) {
		sgw_resp_unavailable(ctx, resp);
		return;
	}
	if (sgw_token_new(ctx->keys, token, hash) == -1) {
		log_error("login: the random number generator failed");
		sgw_resp_error(resp, 500, "internal error");
		return;
	}
	rc = sgw_session_create(
	    ctx->store, &ctx->policy, hash, &who, now, &s, &evicted);
	if (rc != SGW_STORE_OK) {
		explicit_bzero(token, sizeof(token));
		sgw_resp_unavailable(ctx, resp);
		return;
	}
	resp->login = SGW_LOGIN_SUCCESS;
	resp->sessions_created++;
	sgw_resp_cookie(ctx, resp, token, cr->remember_me);
	explicit_bzero(token, sizeof(token));
	log_info("login ok user=%s client=%s session=%s%s",
	    sgw_log_safe(u->name, un, sizeof(un)), req->client, s.id,
	    cr->remember_me ? " remember_me" : "");
	if (evicted > 0)
		log_info("max_per_user: ended %zu older session%s of user=%s",
		    evicted, evicted == 1 ? "" : "s", un);
	if (cr->is_json) {
		sgw_resp_json(resp, 200,
		    json_pack("{s:s, s:o, s:s, s:o}", "user", s.user, "roles",
		        sgw_roles_json(s.roles), "session_id", s.id,
		        "expires_at", sgw_json_time(s.expires_ms)));
		return;
	}
	sgw_resp_redirect(resp, 303,
	    sgw_redirect_choose(&ctx->redirect, cr->return_to, req->host));
}

/* The answer to a body sgw_credentials_parse refused. */
static int
credentials_status(enum sgw_credentials_rc rc)
{
	switch (rc) {
	case SGW_CREDENTIALS_MEDIA_TYPE:
		return 415;
	case SGW_CREDENTIALS_INTERNAL:
		return 500;
	case SGW_CREDENTIALS_OK:
	case SGW_CREDENTIALS_MALFORMED:
	case SGW_CREDENTIALS_MISSING:
	case SGW_CREDENTIALS_TOO_LARGE:
		break;
	}
	return 400;
}

void
sgw_handle_login(
    struct sgw_ctx *ctx, struct sgw_request *req, struct sgw_response *resp)
{
	struct sgw_credentials cr = {0};
	struct sgw_attempt at = {0};
	const struct sgw_user *u;
	const char *why = NULL;
	char un[SGW_LOG_SAFE_SIZE(SGW_USER_MAXLEN)];
	int64_t retry = 0, now;
	int rc;

	if (sgw_refuse_cross_site(ctx, req, resp))
		return;
	if (req->body_too_large) {
		sgw_resp_error(resp, 413, "request body too large");
		return;
	}
	rc = sgw_credentials_parse(
	    req->content_type, req->body, req->body_len, &cr, &why);
	if (rc != SGW_CREDENTIALS_OK) {
		sgw_resp_error(resp, credentials_status(rc),
		    why != NULL ? why : "bad request");
		return;
	}
	sgw_log_safe(cr.username, un, sizeof(un));
	sgw_users_refresh(ctx, SGW_USERS_NOW);

	/* The attempt is counted before the password is verified, so that
	 * racing attempts cannot verify more than the limit allows. */
	at.user = cr.username;
	at.client = req->client;
	now = sgw_now_ms();
	if (sgw_ratelimit_begin(ctx->store, &ctx->limits, &at, now, &retry) !=
	    SGW_STORE_OK) {
		sgw_resp_unavailable(ctx, resp);
		goto done;
	}
	if (retry > 0) {
		log_warnx("login locked user=%s client=%s", un, req->client);
		resp->login = SGW_LOGIN_LOCKED;
		refuse(ctx, resp, &cr, 429,
		    "too many failed logins; try again later");
		sgw_resp_header(resp, "Retry-After", "%lld",
		    (long long)((retry + 999) / 1000));
		goto done;
	}
	u = sgw_users_verify(ctx->users, cr.username, cr.password);
	if (u == NULL) {
		if (sgw_ratelimit_failed(ctx->store, &ctx->limits, &at,
		        sgw_now_ms(), &retry) != SGW_STORE_OK) {
			sgw_resp_unavailable(ctx, resp);
			goto done;
		}
		log_info("login failed user=%s client=%s%s", un, req->client,
		    retry > 0 ? " (now locked out)" : "");
		resp->login = SGW_LOGIN_FAILURE;
		refuse(ctx, resp, &cr, 401, FAILED_MESSAGE);
		goto done;
	}
	succeed(ctx, req, resp, &cr, u, &at);
done:
	sgw_credentials_clear(&cr);
}
