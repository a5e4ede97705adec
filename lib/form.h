/*
 * form: application/x-www-form-urlencoded bodies and URL percent-coding.
 */
#ifndef SGW_FORM_H
#define SGW_FORM_H

#include <stddef.h>

/*
 * Finds field `name` in a form body of len bytes. Returns 1 and a
 * malloc'd, decoded, NUL-terminated copy in *out (caller frees) when
 * present (the first occurrence wins), 0 when absent, -1 when the body is
 * malformed anywhere (a bad %-escape, a decoded NUL) or on OOM.
 */
int sgw_form_get(const char *body, size_t len, const char *name, char **out);

/* 0 when the whole body is well-formed, else -1. */
int sgw_form_validate(const char *body, size_t len);

/*
 * Percent-decodes len bytes into out (which must hold len + 1 bytes) and
 * NUL-terminates it; `plus` turns '+' into a space (form bodies, not
 * paths). Returns the decoded length, or -1 on a bad escape or a decoded
 * NUL byte.
 */
long sgw_pct_decode(const char *in, size_t len, char *out, int plus);

/*
 * Percent-encodes a NUL-terminated string for a query-string value (every
 * byte but A-Z a-z 0-9 - . _ ~ and '/'). Returns a malloc'd string
 * (caller frees) or NULL on OOM.
 */
char *sgw_pct_encode(const char *in);

/* Escapes & < > " ' for HTML text and attribute values. Malloc'd, caller
 * frees; NULL on OOM. */
char *sgw_html_escape(const char *in);

#endif
