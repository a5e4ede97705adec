/*
 * redirect: the return_to allow-list of SPEC section 5.
 */
#ifndef SGW_REDIRECT_H
#define SGW_REDIRECT_H

#include "conf.h"

/* Where a login or logout may send the browser (default_redirect and
 * redirect_hosts of the configuration). The strings are borrowed. */
struct sgw_redirect_policy {
	const char *default_redirect; /* "" or NULL: "/" */
	char *const *redirect_hosts;  /* lower-case host names */
	size_t nredirect_hosts;
};

/* Fills p from conf; p borrows conf's strings, so it lives no longer. */
void sgw_redirect_policy_from(
    struct sgw_redirect_policy *p, const struct sgw_conf *conf);

/*
 * Returns return_to when it is safe, else p->default_redirect (p may be
 * NULL: then "/" and no other host). Safe is
 * a path on this site (one leading '/', not "//" or "/\"), or an absolute
 * "https://" URL whose host (compared case-insensitively, without port)
 * is `host` (the request's Host, may be NULL) or one of redirect_hosts.
 * Anything with control characters, spaces, backslashes, user info, or
 * another scheme is refused.
 */
const char *sgw_redirect_choose(const struct sgw_redirect_policy *p,
    const char *return_to, const char *host);

/* 1 when host (may carry ":port", which is ignored) equals `request_host`
 * (also port-stripped) or is in redirect_hosts; case-insensitive. */
int sgw_redirect_host_allowed(const struct sgw_redirect_policy *p,
    const char *host, const char *request_host);

#endif
