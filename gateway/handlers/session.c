/*
 * session: GET /session, GET /sessions, DELETE /sessions/{id}.
 */
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "log.h"

void
sgw_handle_session(
    struct sgw_ctx *ctx, struct sgw_request *req, struct sgw_response *resp)
{
	struct sgw_session s;
	unsigned char hash[SGW_HASH_LEN];

	if (sgw_require_session(ctx, req, resp, &s, hash))
		sgw_resp_json(resp, 200, sgw_session_json(&s));
}

void
sgw_handle_sessions(
    struct sgw_ctx *ctx, struct sgw_request *req, struct sgw_response *resp)
{
	struct sgw_session s, *v = NULL;
	unsigned char hash[SGW_HASH_LEN];
	json_t *list;
	size_t n = 0;

	if (!sgw_require_session(ctx, req, resp, &s, hash))
		return;
	if (sgw_session_list(ctx->store, &ctx->policy, s.user, sgw_now_ms(), &v,
	        NULL, &n) != SGW_STORE_OK) {
		sgw_resp_unavailable(ctx, resp);
		return;
	}
	list = json_array();
	for (size_t i = 0; i < n && list != NULL; i++)
		json_array_append_new(list,
		    json_pack("{s:s, s:o, s:o, s:o, s:s, s:b}", "session_id",
		        v[i].id, "created_at", sgw_json_time(v[i].created_ms),
		        "last_seen_at", sgw_json_time(v[i].last_seen_ms),
		        "expires_at", sgw_json_time(v[i].expires_ms), "client",
		        v[i].client, "current", strcmp(v[i].id, s.id) == 0));
	free(v);
	sgw_resp_json(resp, 200, json_pack("{s:o}", "sessions", list));
}

static int
is_public_id(const char *id)
{
	size_t n = strspn(id, "0123456789abcdef");

	return n == SGW_PUBLIC_ID_HEX - 1 && id[n] == '\0';
}

void
sgw_handle_session_delete(struct sgw_ctx *ctx, struct sgw_request *req,
    struct sgw_response *resp, const char *id)
{
	struct sgw_session s;
	unsigned char hash[SGW_HASH_LEN];
	size_t n = 0;
	char un[SGW_LOG_SAFE_SIZE(SGW_USER_MAXLEN)];
	int rc;

	if (sgw_refuse_cross_site(ctx, req, resp))
		return;
	if (!sgw_require_session(ctx, req, resp, &s, hash))
		return;
	if (!is_public_id(id)) {
		sgw_resp_error(resp, 404, "no such session");
		return;
	}
	/* Only the user's own sessions are found: another user's id is as
	 * unknown as a made-up one. */
	rc = sgw_session_end_user(
	    ctx->store, &ctx->policy, s.user, id, sgw_now_ms(), &n);
	if (SGW_STORE_FAILED(rc)) {
		sgw_resp_unavailable(ctx, resp);
		return;
	}
	if (rc != SGW_STORE_OK) {
		sgw_resp_error(resp, 404, "no such session");
		return;
	}
	log_info("revoke user=%s client=%s session=%s",
	    sgw_log_safe(s.user, un, sizeof(un)), req->client, id);
	if (strcmp(id, s.id) == 0)
		sgw_resp_cookie(ctx, resp, NULL, 0);
	resp->status = 204;
}
