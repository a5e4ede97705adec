/*
 * handlers: one function per endpoint, plus what they share.
 */
#ifndef SGW_HANDLERS_H
#define SGW_HANDLERS_H

#include "conf.h"
#include "cookie.h"
#include "http.h"
#include "ratelimit.h"
#include "redirect.h"
#include "session.h"
#include "store.h"
#include "token.h"
#include "users.h"

/* What every handler may use; owned by the worker. */
struct sgw_ctx {
	const struct sgw_conf *conf;
	const struct sgw_keys *keys;
	struct sgw_users *users; /* re-read when the file changes */
	struct sgw_store *store;
	struct sgw_session_policy policy;    /* from conf */
	struct sgw_limits limits;            /* from conf */
	struct sgw_cookie_attrs cookie;      /* from conf */
	struct sgw_redirect_policy redirect; /* from conf */
	int64_t users_checked_ms;            /* when the users file was last
	                                      * looked at (monotonic) */
	const char *login_page;              /* the login page template */
};

/* Routes a request by role and path (SPEC section 6) and fills resp. */
void sgw_dispatch(
    struct sgw_ctx *ctx, struct sgw_request *req, struct sgw_response *resp);

/* The AUTHORIZER role and GET {prefix}/check share one decision. */
void sgw_handle_authorize(struct sgw_ctx *ctx, struct sgw_request *req,
    struct sgw_response *resp, int authorizer);

void sgw_handle_login_page(
    struct sgw_ctx *, struct sgw_request *, struct sgw_response *);
void sgw_handle_login(
    struct sgw_ctx *, struct sgw_request *, struct sgw_response *);
void sgw_handle_logout(
    struct sgw_ctx *, struct sgw_request *, struct sgw_response *);
void sgw_handle_logout_all(
    struct sgw_ctx *, struct sgw_request *, struct sgw_response *);
void sgw_handle_session(
    struct sgw_ctx *, struct sgw_request *, struct sgw_response *);
void sgw_handle_sessions(
    struct sgw_ctx *, struct sgw_request *, struct sgw_response *);
void sgw_handle_session_delete(struct sgw_ctx *, struct sgw_request *,
    struct sgw_response *, const char *id);
void sgw_handle_data(struct sgw_ctx *, struct sgw_request *,
    struct sgw_response *, const char *key);
void sgw_handle_health(
    struct sgw_ctx *, struct sgw_request *, struct sgw_response *);

/* The hash of the first value of the session cookie whose MAC verifies:
 * 1 with hash filled, 0 when there is none. For the worker, which asks
 * before dispatching, to read the session ahead: what it finds is kept in
 * req, and sgw_request_session takes it from there. */
int sgw_request_token(struct sgw_ctx *ctx, struct sgw_request *req,
    unsigned char hash[SGW_HASH_LEN]);

/*
 * The request's session: the first value of the session cookie whose MAC
 * verifies (a forged one costs no store access) is looked up, and only
 * that one, however many the header holds (SPEC section 7: one lookup per
 * request). Returns 1 with *s and hash filled, 0 when there is none, -1
 * when the store failed (answer 503).
 */
int sgw_request_session(struct sgw_ctx *ctx, const struct sgw_request *req,
    struct sgw_session *s, unsigned char hash[SGW_HASH_LEN]);

/* The same for endpoints that need a session: returns 1 when there is
 * one, else answers 401 (none) or 503 (store failure) and returns 0. */
int sgw_require_session(struct sgw_ctx *ctx, const struct sgw_request *req,
    struct sgw_response *resp, struct sgw_session *s,
    unsigned char hash[SGW_HASH_LEN]);

/* For requests that change state: answers 403 and returns 1 when the
 * Origin names another site (sgw_cross_site), else returns 0. */
int sgw_refuse_cross_site(const struct sgw_ctx *ctx,
    const struct sgw_request *req, struct sgw_response *resp);

/* Ends every session whose token (with a valid MAC) came with the
 * request; *ended gets how many were live. -1 when the store failed. */
int sgw_end_presented_sessions(
    struct sgw_ctx *ctx, const struct sgw_request *req, size_t *ended);

/* Re-reads the users file when it changed; a broken new file is logged
 * and the old users kept. A login looks at the file every time (a new
 * password works at once); a check at most once a second. */
enum { SGW_USERS_NOW, SGW_USERS_THROTTLED };
void sgw_users_refresh(struct sgw_ctx *ctx, int now_or_throttled);

/* 401 with WWW-Authenticate and a JSON body. */
void sgw_resp_unauthenticated(struct sgw_response *resp);
/* 503 for a store failure, logged once with the store's reason. */
void sgw_resp_unavailable(struct sgw_ctx *ctx, struct sgw_response *resp);
/* Adds Set-Cookie for a new token (NULL clears the cookie). */
void sgw_resp_cookie(struct sgw_ctx *ctx, struct sgw_response *resp,
    const char *token, int remember_me);
/* 1 when a POST's Origin names another site (-> 403), else 0. */
int sgw_cross_site(const struct sgw_ctx *ctx, const struct sgw_request *req);
/* Session times and identity as the JSON of GET /session. */
json_t *sgw_session_json(const struct sgw_session *s);
/* "a,b" as ["a", "b"]. */
json_t *sgw_roles_json(const char *roles);
/* "2026-11-21T23:41:04Z" as a JSON string. */
json_t *sgw_json_time(int64_t ms);

#endif
