/*
 * credentials: the body of POST /login, as a form or as JSON.
 */
#ifndef SGW_CREDENTIALS_H
#define SGW_CREDENTIALS_H

#include <stddef.h>

struct sgw_credentials {
	char *username;  /* malloc'd; never NULL after success */
	char *password;  /* malloc'd; wiped by sgw_credentials_clear */
	char *return_to; /* malloc'd, or NULL when absent */
	int remember_me; /* form: field == "on"; JSON: true */
	int is_json;     /* the body was JSON (answer in JSON) */
};

enum sgw_body_kind { SGW_BODY_FORM, SGW_BODY_JSON, SGW_BODY_OTHER };

/* Classifies a Content-Type value (NULL = absent), ignoring parameters
 * such as "; charset=utf-8" and case. */
enum sgw_body_kind sgw_body_kind(const char *content_type);

/* Why a login body was refused; the handler picks the HTTP status. */
enum sgw_credentials_rc {
	SGW_CREDENTIALS_OK = 0,
	SGW_CREDENTIALS_MEDIA_TYPE, /* Content-Type missing, or neither form
	                             * nor JSON */
	SGW_CREDENTIALS_MALFORMED,  /* not a well-formed form or JSON object,
	                             * a field of the wrong JSON type, or a
	                             * NUL byte anywhere */
	SGW_CREDENTIALS_MISSING,    /* username or password missing or empty */
	SGW_CREDENTIALS_TOO_LARGE,  /* a field over its cap: username 256
	                             * bytes, password 1024, return_to 2048 */
	SGW_CREDENTIALS_INTERNAL,   /* out of memory, or called without out */
};

/*
 * Parses a login body. Returns SGW_CREDENTIALS_OK, or why not with a
 * static reason in *why. On failure *out holds nothing to free.
 */
enum sgw_credentials_rc sgw_credentials_parse(const char *content_type,
    const char *body, size_t len, struct sgw_credentials *out,
    const char **why);

/* Wipes the password and frees everything; accepts NULL. */
void sgw_credentials_clear(struct sgw_credentials *c);

#endif
