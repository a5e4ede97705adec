/*
 * redirect: the return_to allow-list of SPEC section 5.
 *
 * return_to comes from whoever wrote the link to the login page, so it is
 * an open-redirect vector unless it is pinned to this site. Browsers are
 * generous readers: "//evil", "/\evil", "https:evil", a tab inside the
 * scheme or "https://good@evil" all leave the site. Rather than follow
 * every browser's parser, we accept two narrow shapes and refuse the rest:
 *
 *   /PATH                  one '/', then anything but '/'
 *   https://HOST[:PORT]    then the end, or '/', '?' or '#' and anything
 *
 * and, in both, only printable ASCII other than space and backslash. The
 * value is used as it is: the login handler has already decoded it once,
 * and decoding it again would make "%2f%2fevil" into "//evil".
 */
#include "redirect.h"

#include "chars.h"
#include "form.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* RFC 1035: a host name is at most 253 characters. */
#define HOST_MAX 253

/* Case-insensitive comparison of a[0..alen) and b[0..blen), in ASCII
 * whatever the locale. */
static int
host_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return 0;
	for (size_t i = 0; i < alen; i++) {
		if (sgw_ascii_lower(a[i]) != sgw_ascii_lower(b[i]))
			return 0;
	}
	return 1;
}

/*
 * The length of the host in "host[:port]", or 0 when there is no host or
 * what follows ':' is not a (possibly empty) run of digits. A bracketed
 * IPv6 literal keeps its brackets.
 */
static size_t
host_part(const char *s)
{
	size_t n;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL)
			return 0;
		n = (size_t)(close - s) + 1;
	} else {
		n = strcspn(s, ":");
	}
	if (s[n] == ':') {
		if (strspn(s + n + 1, "0123456789") != strlen(s + n + 1))
			return 0;
	} else if (s[n] != '\0') {
		return 0;
	}
	return n;
}

int
sgw_redirect_host_allowed(const struct sgw_redirect_policy *conf,
    const char *host, const char *request_host)
{
	size_t hlen;

	if (host == NULL || (hlen = host_part(host)) == 0)
		return 0;
	/* A malformed request host has length 0, so it matches nothing. */
	if (request_host != NULL &&
	    host_equal(host, hlen, request_host, host_part(request_host)))
		return 1;
	if (conf == NULL || conf->redirect_hosts == NULL)
		return 0;
	for (size_t i = 0; i < conf->nredirect_hosts; i++) {
		const char *h = conf->redirect_hosts[i];

		if (h != NULL && h[0] != '\0' &&
		    host_equal(host, hlen, h, strlen(h)))
			return 1;
	}
	return 0;
}

/* Printable ASCII but space and backslash. */
static int
all_bytes_safe(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x21 || c >= 0x7f || c == '\\')
			return 0;
	}
	return 1;
}

/* Whether the absolute URL s ("https://" already checked) names an
 * allowed host. */
static int
https_url_allowed(const struct sgw_redirect_policy *conf, const char *s,
    const char *request_host)
{
	const char *auth = s + strlen("https://");
	char host[HOST_MAX + 1];
	size_t hlen = 0, p;

	while (sgw_is_host_char(auth[hlen]))
		hlen++;
	if (hlen == 0 || hlen > HOST_MAX)
		return 0;
	p = hlen;
	if (auth[p] == ':') {
		size_t digits = strspn(auth + p + 1, "0123456789");

		if (digits == 0 || digits > 5)
			return 0;
		p += 1 + digits;
	}
	/* Anything else here ('@', '[', '%', ...) means the authority is
	 * not the plain host we read, so the URL is refused. */
	if (auth[p] != '\0' && auth[p] != '/' && auth[p] != '?' &&
	    auth[p] != '#')
		return 0;
	memcpy(host, auth, hlen);
	host[hlen] = '\0';
	return sgw_redirect_host_allowed(conf, host, request_host);
}

/*
 * "/%2F%2Fevil.example" is a harmless path as it stands, but a proxy or
 * application that decodes the Location once more would turn it into a
 * network-path reference. Refuse what decodes to "//" or "/\", and what
 * does not decode at all.
 */
static int
decodes_to_network_path(const char *s)
{
	size_t n = strlen(s);
	char *d = malloc(n + 1);
	int bad;

	if (d == NULL)
		return 1;
	bad = sgw_pct_decode(s, n, d, 0) < 0 || d[1] == '/' || d[1] == '\\';
	free(d);
	return bad;
}

static int
return_to_safe(const struct sgw_redirect_policy *conf, const char *s,
    const char *request_host)
{
	if (s == NULL || s[0] == '\0' || !all_bytes_safe(s))
		return 0;
	if (s[0] == '/')
		return s[1] != '/' && !decodes_to_network_path(s);
	if (host_equal(s, strnlen(s, 8), "https://", 8))
		return https_url_allowed(conf, s, request_host);
	return 0;
}

void
sgw_redirect_policy_from(
    struct sgw_redirect_policy *p, const struct sgw_conf *conf)
{
	p->default_redirect = conf->default_redirect;
	p->redirect_hosts = conf->redirect_hosts;
	p->nredirect_hosts = conf->nredirect_hosts;
}

const char *
sgw_redirect_choose(const struct sgw_redirect_policy *conf,
    const char *return_to, const char *host)
{
	const char *fallback = "/";

	/* Without a configured default, "/" is the one safe place left. */
	if (conf != NULL && conf->default_redirect != NULL &&
	    conf->default_redirect[0] != '\0')
		fallback = conf->default_redirect;
	return return_to_safe(conf, return_to, host) ? return_to : fallback;
}
