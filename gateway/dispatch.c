/*
 * dispatch: role + path -> handler (SPEC section 6, items 1-3).
 */
#include <stdio.h>
#include <string.h>

#include "access.h"
#include "clientaddr.h"
#include "handlers.h"

/*
 * The responder's own path: DOCUMENT_URI (nginx, lighttpd), else
 * SCRIPT_NAME + PATH_INFO (Apache mod_proxy_fcgi), else REQUEST_URI
 * without its query. The web server has decoded the first two already,
 * so they are only normalised: decoding them again would make the public
 * "/auth/chec%256b" (nginx's $uri "/auth/chec%6b") the internal /check.
 * REQUEST_URI is raw and is decoded once, like any rule path.
 */
static int
endpoint_of(const struct sgw_request *req, char *out, size_t outsz)
{
	char raw[SGW_PATH_MAX];
	size_t len;
	int n;

	/* nginx's case, on every check: resolved where it lies. */
	if (req->document_uri != NULL && req->document_uri[0] != '\0') {
		if ((len = strnlen(req->document_uri, sizeof(raw))) >=
		    sizeof(raw))
			return -1;
		return sgw_path_resolve(req->document_uri, len, out, outsz) < 0
		    ? -1
		    : 0;
	}
	if (req->script_name != NULL && req->script_name[0] != '\0')
		n = snprintf(raw, sizeof(raw), "%s%s", req->script_name,
		    req->path_info != NULL ? req->path_info : "");
	else if (req->request_uri != NULL)
		return sgw_path_normalise(req->request_uri,
		           strlen(req->request_uri), out, outsz) < 0
		    ? -1
		    : 0;
	else
		return -1;
	if (n < 0 || (size_t)n >= sizeof(raw))
		return -1;
	return sgw_path_resolve(raw, (size_t)n, out, outsz) < 0 ? -1 : 0;
}

static int
is(const char *method, const char *want)
{
	return method != NULL && strcmp(method, want) == 0;
}

/* GET also answers HEAD (the worker drops the body). */
static int
is_get(const char *method)
{
	return is(method, "GET") || is(method, "HEAD");
}

static void
not_allowed(struct sgw_response *resp, const char *allow)
{
	sgw_resp_error(resp, 405, "method not allowed");
	sgw_resp_header_str(resp, "Allow", allow);
}

/* A path segment that names one thing: no further '/'. */
static const char *
one_segment(const char *rest, const char *head)
{
	size_t n = strlen(head);

	if (strncmp(rest, head, n) != 0 || rest[n] == '\0' ||
	    strchr(rest + n, '/') != NULL)
		return NULL;
	return rest + n;
}

void
sgw_dispatch(
    struct sgw_ctx *ctx, struct sgw_request *req, struct sgw_response *resp)
{
	const char *prefix = ctx->conf->prefix;
	size_t plen = strlen(prefix);
	const char *m = req->method, *rest, *arg;

	if (sgw_client_addr(ctx->conf->trusted_proxies,
	        ctx->conf->ntrusted_proxies, req->remote_addr, req->forwarded,
	        req->client, sizeof(req->client)) == -1)
		req->client[0] = '\0';

	if (req->role == SGW_ROLE_AUTHORIZER) {
		resp->endpoint = SGW_ENDPOINT_AUTHORIZER;
		sgw_handle_authorize(ctx, req, resp, 1);
		return;
	}
	if (endpoint_of(req, req->endpoint, sizeof(req->endpoint)) == -1 ||
	    strncmp(req->endpoint, prefix, plen) != 0 ||
	    (req->endpoint[plen] != '/' && req->endpoint[plen] != '\0')) {
		resp->endpoint = SGW_ENDPOINT_UNKNOWN;
		sgw_resp_error(resp, 404, "not found");
		return;
	}
	rest = req->endpoint + plen;

	if (strcmp(rest, "/check") == 0) {
		/* nginx's auth_request subrequest carries the main request's
		 * method: every method is the check. */
		resp->endpoint = SGW_ENDPOINT_CHECK;
		sgw_handle_authorize(ctx, req, resp, 0);
	} else if (strcmp(rest, "/login") == 0) {
		resp->endpoint = SGW_ENDPOINT_LOGIN;
		if (is_get(m))
			sgw_handle_login_page(ctx, req, resp);
		else if (is(m, "POST"))
			sgw_handle_login(ctx, req, resp);
		else
			not_allowed(resp, "GET, HEAD, POST");
	} else if (strcmp(rest, "/logout") == 0) {
		resp->endpoint = SGW_ENDPOINT_LOGOUT;
		if (is(m, "POST"))
			sgw_handle_logout(ctx, req, resp);
		else
			not_allowed(resp, "POST");
	} else if (strcmp(rest, "/logout-all") == 0) {
		resp->endpoint = SGW_ENDPOINT_LOGOUT_ALL;
		if (is(m, "POST"))
			sgw_handle_logout_all(ctx, req, resp);
		else
			not_allowed(resp, "POST");
	} else if (strcmp(rest, "/session") == 0) {
		resp->endpoint = SGW_ENDPOINT_SESSION;
		if (is_get(m))
			sgw_handle_session(ctx, req, resp);
		else
			not_allowed(resp, "GET, HEAD");
	} else if (strcmp(rest, "/sessions") == 0) {
		resp->endpoint = SGW_ENDPOINT_SESSIONS;
		if (is_get(m))
			sgw_handle_sessions(ctx, req, resp);
		else
			not_allowed(resp, "GET, HEAD");
	} else if ((arg = one_segment(rest, "/sessions/")) != NULL) {
		resp->endpoint = SGW_ENDPOINT_SESSIONS;
		if (is(m, "DELETE"))
			sgw_handle_session_delete(ctx, req, resp, arg);
		else
			not_allowed(resp, "DELETE");
	} else if ((arg = one_segment(rest, "/session/data/")) != NULL) {
		resp->endpoint = SGW_ENDPOINT_DATA;
		if (is_get(m) || is(m, "PUT") || is(m, "DELETE"))
			sgw_handle_data(ctx, req, resp, arg);
		else
			not_allowed(resp, "GET, HEAD, PUT, DELETE");
	} else if (strcmp(rest, "/healthz") == 0) {
		resp->endpoint = SGW_ENDPOINT_HEALTHZ;
		if (is_get(m))
			sgw_handle_health(ctx, req, resp);
		else
			not_allowed(resp, "GET, HEAD");
	} else {
		resp->endpoint = SGW_ENDPOINT_UNKNOWN;
		sgw_resp_error(resp, 404, "not found");
	}
}
