/*
 * logout: POST /logout (this session) and POST /logout-all (every
 * session of this user).
 */
#include <stdlib.h>
#include <string.h>

#include "cookie.h"
#include "credentials.h"
#include "form.h"
#include "handlers.h"
#include "log.h"
#include "redirect.h"

/* A form post (a browser without JavaScript) is sent on with 303; any
 * other client gets JSON. */
static void
answer(struct sgw_ctx *ctx, struct sgw_request *req, struct sgw_response *resp,
    json_t *body)
{
	char *return_to = NULL;

	if (sgw_body_kind(req->content_type) != SGW_BODY_FORM) {
		sgw_resp_json(resp, 200, body);
		return;
	}
	json_decref(body);
	if (req->body != NULL &&
	    sgw_form_get(req->body, req->body_len, "return_to", &return_to) ==
	        -1)
		return_to = NULL;
	sgw_resp_redirect(resp, 303,
	    sgw_redirect_choose(&ctx->redirect, return_to, req->host));
	free(return_to);
}

void
sgw_handle_logout(
    struct sgw_ctx *ctx, struct sgw_request *req, struct sgw_response *resp)
{
	struct sgw_session s;
	unsigned char hash[SGW_HASH_LEN];
	size_t ended = 0;
	int found;
	char un[SGW_LOG_SAFE_SIZE(SGW_USER_MAXLEN)];

	if (sgw_refuse_cross_site(ctx, req, resp))
		return;
	/* Who is logging out, for the log; then every session the request
	 * presents ends, so a tossed cookie in front of the user's own
	 * cannot keep the user's session alive. */
	found = sgw_request_session(ctx, req, &s, hash);
	if (found == -1 || sgw_end_presented_sessions(ctx, req, &ended) == -1) {
		sgw_resp_unavailable(ctx, resp);
		return;
	}
	if (found == 1)
		log_info("logout user=%s client=%s session=%s",
		    sgw_log_safe(s.user, un, sizeof(un)), req->client, s.id);
	if (ended > (size_t)(found == 1))
		log_info("logout client=%s ended %zu session%s", req->client,
		    ended, ended == 1 ? "" : "s");
	/* Idempotent: no session is still a success, and the cookie is
	 * cleared either way. */
	sgw_resp_cookie(ctx, resp, NULL, 0);
	answer(ctx, req, resp,
	    json_pack("{s:b}", "logged_out", found == 1 || ended > 0));
}

void
sgw_handle_logout_all(
    struct sgw_ctx *ctx, struct sgw_request *req, struct sgw_response *resp)
{
	struct sgw_session s;
	unsigned char hash[SGW_HASH_LEN];
	size_t n = 0;
	char un[SGW_LOG_SAFE_SIZE(SGW_USER_MAXLEN)];

	if (sgw_refuse_cross_site(ctx, req, resp))
		return;
	if (!sgw_require_session(ctx, req, resp, &s, hash))
		return;
	if (sgw_session_end_user(ctx->store, &ctx->policy, s.user, NULL,
	        sgw_now_ms(), &n) != SGW_STORE_OK) {
		sgw_resp_unavailable(ctx, resp);
		return;
	}
	log_info("logout-all user=%s client=%s ended=%zu",
	    sgw_log_safe(s.user, un, sizeof(un)), req->client, n);
	sgw_resp_cookie(ctx, resp, NULL, 0);
	answer(ctx, req, resp, json_pack("{s:I}", "ended", (json_int_t)n));
}
