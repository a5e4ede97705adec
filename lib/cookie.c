/*
 * cookie: reading the Cookie request header, writing Set-Cookie.
 *
 * The Cookie header is whatever the client sent, so the reader trusts
 * neither its spacing nor a terminating NUL; the writer refuses any piece
 * that could end the attribute or the header line early.
 */
#include "cookie.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "chars.h"

static int
is_ws(char c)
{
	return c == ' ' || c == '\t';
}

int
sgw_cookie_next(const char *hdr, size_t len, size_t *pos, const char *name,
    const char **val, size_t *vlen)
{
	size_t nlen, i;

	if (hdr == NULL || pos == NULL || name == NULL || val == NULL ||
	    vlen == NULL)
		return 0;
	nlen = strlen(name);
	if (nlen == 0)
		return 0;
	for (i = *pos; i < len;) {
		size_t ns, eq, ne, vs, ve, end;
		const char *c;

		/* One pair is [i, end); the next starts after the ';'. */
		c = memchr(hdr + i, ';', len - i);
		end = c != NULL ? (size_t)(c - hdr) : len;
		ns = i;
		i = end < len ? end + 1 : len;
		while (ns < end && is_ws(hdr[ns]))
			ns++;
		c = memchr(hdr + ns, '=', end - ns);
		eq = c != NULL ? (size_t)(c - hdr) : end;
		/* Without '=' there is no name to compare (browsers treat it
		 * as a nameless value). */
		if (eq == end)
			continue;
		for (ne = eq; ne > ns && is_ws(hdr[ne - 1]); ne--)
			;
		if (ne - ns != nlen || memcmp(hdr + ns, name, nlen) != 0)
			continue;
		for (vs = eq + 1; vs < end && is_ws(hdr[vs]); vs++)
			;
		for (ve = end; ve > vs && is_ws(hdr[ve - 1]); ve--)
			;
		if (ve - vs >= 2 && hdr[vs] == '"' && hdr[ve - 1] == '"') {
			vs++;
			ve--;
		}
		*pos = i;
		*val = hdr + vs;
		*vlen = ve - vs;
		return 1;
	}
	if (*pos < len)
		*pos = len;
	return 0;
}

/* RFC 6265 cookie-name: an RFC 7230 token. */
static int
valid_name(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (!sgw_is_token_char(c))
			return 0;
	}
	return 1;
}

/* RFC 6265 cookie-octet: no controls, space, '"', ',', ';' or '\'. */
static int
valid_value(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c >= 0x7f || c == '"' || c == ',' ||
		    c == ';' || c == '\\')
			return 0;
	}
	return 1;
}

/* Path and Domain values: any printable character but ';'. */
static int
valid_av(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c >= 0x7f || c == ';')
			return 0;
	}
	return 1;
}

struct buf {
	char *p;
	size_t sz; /* capacity, including the NUL */
	size_t n;  /* characters written */
	int full;  /* something did not fit */
};

static void put(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (b->full)
		return;
	va_start(ap, fmt);
	r = vsnprintf(b->p + b->n, b->sz - b->n, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= b->sz - b->n) {
		b->full = 1;
		return;
	}
	b->n += (size_t)r;
}

void
sgw_cookie_attrs_from(struct sgw_cookie_attrs *a, const struct sgw_conf *conf)
{
	a->name = conf->cookie_name;
	a->domain = conf->cookie_domain;
	a->path = conf->cookie_path;
	a->secure = conf->cookie_secure;
	a->same_site = conf->same_site;
}

int
sgw_cookie_build(char *out, size_t outsz, const struct sgw_cookie_attrs *a,
    const char *token, int64_t max_age_s)
{
	struct buf b = {out, outsz, 0, 0};
	const char *domain, *same_site;

	if (out == NULL || outsz == 0)
		return -1;
	out[0] = '\0';
	if (a == NULL || !valid_name(a->name) || a->path == NULL ||
	    a->path[0] == '\0' || !valid_av(a->path))
		return -1;
	domain = a->domain != NULL ? a->domain : "";
	if (!valid_av(domain) || (token != NULL && !valid_value(token)))
		return -1;
	switch (a->same_site) {
	case SGW_SAME_SITE_STRICT:
		same_site = "Strict";
		break;
	case SGW_SAME_SITE_LAX:
		same_site = "Lax";
		break;
	case SGW_SAME_SITE_NONE:
		same_site = "None";
		break;
	default:
		return -1;
	}

	put(&b, "%s=%s; Path=%s", a->name, token != NULL ? token : "", a->path);
	if (domain[0] != '\0')
		put(&b, "; Domain=%s", domain);
	/* Clearing sends the attributes it was set with, or the browser
	 * keeps the old cookie as a different one. */
	if (token == NULL)
		put(&b, "; Max-Age=0");
	else if (max_age_s >= 0)
		put(&b, "; Max-Age=%" PRId64, max_age_s);
	put(&b, "; HttpOnly");
	if (a->secure)
		put(&b, "; Secure");
	put(&b, "; SameSite=%s", same_site);

	if (b.full || b.n > INT_MAX) {
		out[0] = '\0';
		return -1;
	}
	return (int)b.n;
}
