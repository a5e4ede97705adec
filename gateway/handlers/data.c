/*
 * data: GET, PUT, DELETE /session/data/{key}: a few small values an
 * application keeps with the session (SPEC section 5).
 */
#include <stdlib.h>
#include <string.h>

#include "handlers.h"

static int
key_valid(const char *key)
{
	size_t n = strspn(key,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_."
	    "-");

	return n >= 1 && n <= SGW_DATA_KEY_MAXLEN && key[n] == '\0';
}

void
sgw_handle_data(struct sgw_ctx *ctx, struct sgw_request *req,
    struct sgw_response *resp, const char *key)
{
	struct sgw_store *st = ctx->store;
	struct sgw_session s;
	unsigned char hash[SGW_HASH_LEN];
	const char *m = req->method;
	char *val = NULL;
	size_t len = 0;
	int rc;

	if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0 &&
	    sgw_refuse_cross_site(ctx, req, resp))
		return;
	if (!sgw_require_session(ctx, req, resp, &s, hash))
		return;
	if (!key_valid(key)) {
		sgw_resp_error(resp, 400, "invalid key");
		return;
	}
	if (strcmp(m, "PUT") == 0) {
		if (req->body_too_large || req->body_len > SGW_DATA_VALUE_MAX) {
			sgw_resp_error(resp, 413, "value too large");
			return;
		}
		rc = st->ops->data_put(
		    st, hash, key, req->body, req->body_len, SGW_DATA_MAX_KEYS);
	} else if (strcmp(m, "DELETE") == 0) {
		rc = st->ops->data_del(st, hash, key);
	} else {
		rc = st->ops->data_get(st, hash, key, &val, &len);
	}
	switch (rc) {
	case SGW_STORE_OK:
		if (val != NULL) {
			resp->status = 200;
			sgw_buf_add(&resp->body, val, len);
			sgw_resp_header_str(
			    resp, "Content-Type", "application/octet-stream");
			/* The application's bytes: never sniffed into HTML
			 * that would run on the gateway's origin. */
			sgw_resp_header_str(
			    resp, "X-Content-Type-Options", "nosniff");
		} else {
			resp->status = 204;
		}
		break;
	case SGW_STORE_NOTFOUND:
		sgw_resp_error(resp, 404, "no such key");
		break;
	case SGW_STORE_FULL:
		sgw_resp_error(resp, 409, "too many keys");
		break;
	default:
		sgw_resp_unavailable(ctx, resp);
	}
	free(val);
}
