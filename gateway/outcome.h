/*
 * outcome: what a request was and what came of it, in words that both
 * the response (http.h) and the counters (metrics.h) use, so that
 * neither includes the other for them. dispatch and the handlers write
 * them into the response; the worker reads them and counts.
 */
#ifndef SGW_OUTCOME_H
#define SGW_OUTCOME_H

/* The endpoint dispatch chose: the `endpoint` label of
 * sgw_requests_total (SPEC section 8) and of the log lines. */
/* In the order sgw_metrics_render writes the series. */
enum sgw_endpoint {
	SGW_ENDPOINT_LOGIN,      /* "login" */
	SGW_ENDPOINT_LOGOUT,     /* "logout" */
	SGW_ENDPOINT_LOGOUT_ALL, /* "logout-all" */
	SGW_ENDPOINT_SESSION,    /* "session" */
	SGW_ENDPOINT_SESSIONS,   /* "sessions" */
	SGW_ENDPOINT_DATA,       /* "data" */
	SGW_ENDPOINT_CHECK,      /* "check" */
	SGW_ENDPOINT_HEALTHZ,    /* "healthz" */
	SGW_ENDPOINT_AUTHORIZER, /* "authorizer" */
	SGW_ENDPOINT_UNKNOWN,    /* "unknown": no such path */
	SGW_ENDPOINT_OTHER,      /* "other": nothing dispatched */
	SGW_ENDPOINT_N
};

/* The label of ep; "other" for a value out of range. A static string. */
const char *sgw_endpoint_name(enum sgw_endpoint ep);

/* An access decision (check, authorizer): sgw_authz_total. */
enum sgw_authz_result {
	SGW_AUTHZ_NONE, /* no decision was made */
	SGW_AUTHZ_PASS,
	SGW_AUTHZ_UNAUTHENTICATED,
	SGW_AUTHZ_FORBIDDEN,
	SGW_AUTHZ_UNAVAILABLE,
};

/* A login attempt: sgw_logins_total. */
enum sgw_login_result {
	SGW_LOGIN_NONE, /* no attempt was judged */
	SGW_LOGIN_SUCCESS,
	SGW_LOGIN_FAILURE,
	SGW_LOGIN_LOCKED,
};

#endif
