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

/*
 * Parses a login body. Returns 0 on success, or an HTTP status with a
 * static reason in *why: 415 for a missing or unsupported Content-Type,
 * 400 for a malformed body, a missing or empty username or password, a
 * field of the wrong JSON type, or a NUL byte anywhere. Fields are capped
 * (username 256 bytes, password 1024, return_to 2048) -> 400 beyond.
 * On failure *out holds nothing to free.
 */
int sgw_credentials_parse(const char *content_type, const char *body,
    size_t len, struct sgw_credentials *out, const char **why);

/* Wipes the password and frees everything; accepts NULL. */
void sgw_credentials_clear(struct sgw_credentials *c);

#endif
