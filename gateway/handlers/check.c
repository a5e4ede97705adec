/*
 * check: "may this request pass?" (SPEC section 6), for the FastCGI
 * AUTHORIZER role and for nginx's auth_request target {prefix}/check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "form.h"
#include "handlers.h"
#include "log.h"

static int
accepts_html(const char *accept)
{
	return accept != NULL && strstr(accept, "text/html") != NULL;
}

/* Identity for the application. The authorizer role may send nothing
 * but Status and Variable-* on a 200 (Apache passes anything else on to
 * the client); /check answers with headers for auth_request_set. */
static void
pass(struct sgw_response *resp, const struct sgw_session *s, int authorizer)
{
	resp->status = 200;
	if (s == NULL)
		return;
	if (authorizer) {
		sgw_resp_header_str(resp, "Variable-REMOTE_USER", s->user);
		sgw_resp_header_str(resp, "Variable-SGW_USER", s->user);
		sgw_resp_header_str(resp, "Variable-SGW_ROLES", s->roles);
		sgw_resp_header_str(resp, "Variable-SGW_SESSION_ID", s->id);
	} else {
		sgw_resp_header_str(resp, "X-Auth-User", s->user);
		sgw_resp_header_str(resp, "X-Auth-Roles", s->roles);
		sgw_resp_header_str(resp, "X-Auth-Session-Id", s->id);
	}
}

/* Browsers meeting the authorizer are sent to log in; Apache and lighttpd
 * hand a denial to the client as it is. nginx cannot take a redirect
 * from auth_request (it becomes a 500), so /check always says 401. */
static void
unauthenticated(struct sgw_ctx *ctx, struct sgw_request *req,
    struct sgw_response *resp, const char *uri, int authorizer)
{
	const char *login = ctx->conf->login_url;
	char *enc = NULL, *loc = NULL;

	if (authorizer && accepts_html(req->accept) &&
	    (enc = sgw_pct_encode(uri)) != NULL &&
	    asprintf(&loc, "%s%creturn_to=%s", login,
	        strchr(login, '?') != NULL ? '&' : '?', enc) >= 0) {
		sgw_resp_redirect(resp, 302, loc);
		sgw_resp_header_str(resp, "Content-Type", "text/plain");
	} else {
		loc = NULL;
		sgw_resp_unauthenticated(resp);
	}
	free(enc);
	free(loc);
}

void
sgw_handle_authorize(struct sgw_ctx *ctx, struct sgw_request *req,
    struct sgw_response *resp, int authorizer)
{
	const struct sgw_rule *rule = NULL;
	struct sgw_session s;
	unsigned char hash[SGW_HASH_LEN];
	char path[SGW_PATH_MAX];
	const char *uri;
	int found = 0;

	/* The authorizer trusts REQUEST_URI only: lighttpd passes client
	 * headers through, so X-Original-URI could be the client's. For
	 * nginx the configuration overwrites X-Original-URI itself. */
	uri = authorizer || req->orig_uri == NULL ? req->request_uri
	                                          : req->orig_uri;
	if (uri == NULL ||
	    sgw_path_normalise(uri, strlen(uri), path, sizeof(path)) < 0 ||
	    (rule = sgw_access_match(
	         ctx->conf->rules, ctx->conf->nrules, path)) == NULL ||
	    rule->policy == SGW_POLICY_DENY) {
		resp->authz = SGW_AUTHZ_FORBIDDEN;
		sgw_resp_error(resp, 403, "forbidden");
		return;
	}
	if (sgw_access_wants_session(rule)) {
		found = sgw_request_session(ctx, req, &s, hash);
		if (found == -1) {
			resp->authz = SGW_AUTHZ_UNAVAILABLE;
			sgw_resp_unavailable(ctx, resp);
			return;
		}
	}
	switch (sgw_access_decide(rule, found, found ? s.roles : NULL)) {
	case SGW_VERDICT_PASS:
		resp->authz = SGW_AUTHZ_PASS;
		pass(resp, found ? &s : NULL, authorizer);
		break;
	case SGW_VERDICT_UNAUTHENTICATED:
		resp->authz = SGW_AUTHZ_UNAUTHENTICATED;
		unauthenticated(ctx, req, resp, uri, authorizer);
		break;
	case SGW_VERDICT_FORBIDDEN:
		resp->authz = SGW_AUTHZ_FORBIDDEN;
		sgw_resp_error(resp, 403, "forbidden");
		break;
	}
}
