/*
 * cookie: reading the Cookie request header, writing Set-Cookie.
 */
#ifndef SGW_COOKIE_H
#define SGW_COOKIE_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

/*
 * Iterates over the values of cookie `name` in a Cookie header of `len`
 * bytes (not NUL-terminated; RFC 6265 "a=b; c=d", tolerating missing or
 * extra spaces, empty pairs, and values in double quotes, which are
 * stripped). *pos starts at 0. Returns 1 with *val and *vlen set (pointing
 * into hdr) for the next value of that name, 0 when there is none left.
 * A header can carry the same name several times (a parent domain's
 * cookie, say); callers try each.
 */
int sgw_cookie_next(const char *hdr, size_t len, size_t *pos, const char *name,
    const char **val, size_t *vlen);

/* The attributes of the session cookie ([cookie] of the configuration).
 * The strings are borrowed. */
struct sgw_cookie_attrs {
	const char *name;   /* cookie_name */
	const char *domain; /* cookie_domain; NULL or "" = host-only */
	const char *path;   /* cookie_path */
	int secure;         /* cookie_secure */
	enum sgw_same_site same_site; /* same_site */
};

/* Fills a from conf; a borrows conf's strings, so it lives no longer. */
void sgw_cookie_attrs_from(
    struct sgw_cookie_attrs *a, const struct sgw_conf *conf);

/*
 * Builds a Set-Cookie value (without "Set-Cookie: ") into out:
 *   NAME=TOKEN; Path=P[; Domain=D][; Max-Age=N]; HttpOnly[; Secure]; SameSite=S
 * token NULL clears the cookie (empty value, Max-Age=0). max_age_s < 0
 * means a browser-session cookie (no Max-Age). Returns the length, or -1
 * when out is too small.
 */
int sgw_cookie_build(char *out, size_t outsz, const struct sgw_cookie_attrs *a,
    const char *token, int64_t max_age_s);

#endif
