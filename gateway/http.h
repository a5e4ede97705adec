/*
 * http: the small request and response structs every handler sees.
 *
 * worker.c builds a struct sgw_request from the FastCGI parameters once;
 * handlers answer by filling a struct sgw_response, which worker.c writes
 * back. Handlers never see FastCGI, so tests drive them with hand-built
 * requests.
 */
#ifndef SGW_HTTP_H
#define SGW_HTTP_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"
#include "outcome.h"
#include "store.h"

enum sgw_role { SGW_ROLE_RESPONDER, SGW_ROLE_AUTHORIZER };

/* Every pointer borrows from the FastCGI parameters (or a test's
 * literals); NULL when the parameter is absent. */
struct sgw_request {
	enum sgw_role role;
	const char *method;       /* REQUEST_METHOD */
	const char *request_uri;  /* REQUEST_URI, raw, with query */
	const char *document_uri; /* DOCUMENT_URI (nginx, lighttpd) */
	const char *script_name;  /* SCRIPT_NAME */
	const char *path_info;    /* PATH_INFO */
	const char *query;        /* QUERY_STRING */
	const char *host;         /* HTTP_HOST */
	const char *cookie;       /* HTTP_COOKIE */
	const char *content_type; /* CONTENT_TYPE */
	const char *accept;       /* HTTP_ACCEPT */
	const char *origin;       /* HTTP_ORIGIN */
	const char *orig_uri;     /* HTTP_X_ORIGINAL_URI (nginx auth_request) */
	const char *orig_method;  /* HTTP_X_ORIGINAL_METHOD */
	const char *remote_addr;  /* REMOTE_ADDR */
	const char *forwarded;    /* HTTP_X_FORWARDED_FOR */
	const char *user_agent;   /* HTTP_USER_AGENT */
	const char *body;         /* the body read so far (responder only) */
	size_t body_len;
	int body_too_large; /* more than max_body bytes arrived */
	/* The hash of the first token presented whose MAC holds, when the
	 * worker looked for it before dispatching (sgw_request_token): 0
	 * not looked for, 1 found, -1 none. sgw_request_session uses it. */
	int token;
	unsigned char token_hash[SGW_HASH_LEN];

	/* Filled by dispatch. */
	char client[SGW_CLIENT_MAXLEN + 1]; /* the client's address */
	char endpoint[512];                 /* the responder path, no query */
};

/*
 * Builds q from a request's FastCGI parameters in one pass: begin with
 * the role of its BEGIN_REQUEST, one call per parameter (a name of n
 * bytes, a NUL-terminated value that q borrows), done at the end. Of a
 * parameter sent twice the first copy counts (nginx sends one set after
 * `include fastcgi_params` twice). done makes a missing REQUEST_METHOD
 * "GET".
 */
void sgw_request_begin(struct sgw_request *q, enum sgw_role role);
void sgw_request_param(
    struct sgw_request *q, const char *name, size_t n, const char *value);
void sgw_request_done(struct sgw_request *q);

struct sgw_response {
	int status;
	struct sgw_buf headers; /* "Name: value\r\n" lines, no Status */
	struct sgw_buf body;
	/* What happened, for the worker to count (metrics.h): handlers
	 * record it here and never count themselves. */
	enum sgw_endpoint endpoint;  /* set by dispatch; SGW_ENDPOINT_OTHER */
	enum sgw_authz_result authz; /* check, authorizer; SGW_AUTHZ_NONE */
	enum sgw_login_result login; /* login; SGW_LOGIN_NONE */
	unsigned sessions_created;   /* sessions this request made */
	unsigned store_errors;       /* store failures it ran into */
};

void sgw_resp_init(struct sgw_response *r);
void sgw_resp_free(struct sgw_response *r);
/* Adds a header line, formatted in place; a value holding CR, LF or NUL
 * (callers pass values they built or validated) drops the header. */
void sgw_resp_header(struct sgw_response *r, const char *name, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));
/* The same for a value used as it is. */
void sgw_resp_header_str(
    struct sgw_response *r, const char *name, const char *value);
/* Sets status and a JSON body (takes the reference of obj). */
void sgw_resp_json(struct sgw_response *r, int status, json_t *obj);
/* Sets status and {"error": msg}. */
void sgw_resp_error(struct sgw_response *r, int status, const char *msg);
/* Sets status and an HTML body. */
void sgw_resp_html(
    struct sgw_response *r, int status, const char *html, size_t len);
/* 303 See Other to location (already validated). */
void sgw_resp_redirect(
    struct sgw_response *r, int status, const char *location);

/* The standard reason phrase for a status. */
const char *sgw_status_text(int status);

#endif
