/*
 * health: GET /healthz says whether this worker reaches its store.
 */
#include "handlers.h"
#include "log.h"

void
sgw_handle_health(
    struct sgw_ctx *ctx, struct sgw_request *req, struct sgw_response *resp)
{
	(void)req;
	if (ctx->store->ops->ping(ctx->store) != SGW_STORE_OK) {
		log_warnx("healthz: %s", ctx->store->errstr);
		resp->store_errors++;
		resp->status = 503;
		sgw_buf_add(&resp->body, "unavailable\n", 12);
	} else {
		resp->status = 200;
		sgw_buf_add(&resp->body, "ok\n", 3);
	}
	sgw_resp_header_str(resp, "Content-Type", "text/plain");
}
