/*
 * access: path normalisation, rule matching, the pass/deny decision.
 *
 * The path a rule sees must be the path the application will serve, or a
 * rule can be walked around ("/app/../admin/", "//admin", "/%61dmin").
 * So the URI is decoded once and normalised the way a server resolves it,
 * and anything that a server might read differently from us is refused
 * rather than guessed at (SPEC section 4): a NUL or control byte, a
 * backslash that some servers treat as '/', a ';' (servlet containers
 * strip ";params" from a segment before resolving "..", so
 * "/app/..;/admin/" is /admin/ to them), an encoded '%' (decoded once
 * more behind us it is another path), ill-formed UTF-8 (overlong forms
 * such as %c0%af for '/', surrogates, which lenient decoders map to
 * something else), ".." above the root. A refused path is denied by the
 * caller.
 */
#include "access.h"

#include "form.h"

#include <stddef.h>
#include <string.h>

/* Bytes that never belong in a path, raw or decoded. A raw '%' always
 * starts an escape, so a '%' in a decoded path came from "%25". */
static int
forbidden_byte(unsigned char c)
{
	return c < 0x20 || c == 0x7f || c == '\\' || c == ';' || c == '%';
}

/*
 * Whether p[0..n) is well-formed UTF-8 (RFC 3629, Unicode table 3-7): no
 * overlong form, no surrogate (U+D800..U+DFFF), nothing above U+10FFFF,
 * no stray or missing continuation byte. The second byte's range is what
 * rules out the overlong forms and surrogates.
 */
static int
utf8_valid(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = p[i], lo = 0x80, hi = 0xbf;
		size_t len;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else {
			return 0;
		}
		if (n - i < len || p[i + 1] < lo || p[i + 1] > hi)
			return 0;
		for (size_t k = 2; k < len; k++)
			if (p[i + k] < 0x80 || p[i + k] > 0xbf)
				return 0;
		i += len;
	}
	return 1;
}

/*
 * The output under construction: buf[0..len) is the normalised path so
 * far, always starting with '/' and, between segments, ending in '/'.
 * seg is where the current segment starts (just after its '/').
 */
struct normout {
	char *buf;
	size_t size; /* bytes in buf, room for the NUL included */
	size_t len;
	size_t seg;
};

/* Normalising in place only ever writes bytes already read, so this
 * cannot fail today; the check keeps a future edit from overflowing. */
static int
put(struct normout *o, char c)
{
	if (o->len + 1 >= o->size)
		return -1;
	o->buf[o->len++] = c;
	return 0;
}

/*
 * Ends the current segment. A segment made only of `dots` dots (1 or 2)
 * is held back rather than written, because "." and ".." are not names;
 * here it is resolved. Empty segments ("//") vanish. A segment with a
 * name gets its '/'; after a final "." or ".." the '/' before it stays,
 * as a server would resolve "/a/b/.." to "/a/".
 */
static int
end_segment(struct normout *o, unsigned dots)
{
	if (dots == 2) {
		/* Up one level: drop the segment before this one. */
		if (o->seg <= 1)
			return -1;
		o->len = o->seg - 1;
		while (o->len > 0 && o->buf[o->len - 1] != '/')
			o->len--;
		o->seg = o->len;
		return 0;
	}
	if (dots == 1 || o->len == o->seg)
		return 0;
	if (put(o, '/') < 0)
		return -1;
	o->seg = o->len;
	return 0;
}

/*
 * Resolves the decoded path out[0..n) (out[0] is '/') in place: every
 * byte is written at or before where it was read.
 */
static long
resolve(char *out, size_t n, size_t outsz)
{
	struct normout o = {out, outsz, 1, 1};
	unsigned dots = 0; /* dots held back at the start of a segment */

	/* A multi-byte sequence holds no byte below 0x80, so it never
	 * straddles a '/' or a dot: checking it whole first is the same. */
	if (!utf8_valid((const unsigned char *)out, n))
		return -1;
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)out[i];

		if (forbidden_byte(c))
			return -1;
		if (c == '/') {
			if (end_segment(&o, dots) < 0)
				return -1;
			dots = 0;
			continue;
		}
		if (c == '.' && o.len == o.seg && dots < 2) {
			dots++;
			continue;
		}
		/* Not a dot segment after all ("..." or ".x"): write the
		 * dots held back, then the byte. */
		for (; dots > 0; dots--) {
			if (put(&o, '.') < 0)
				return -1;
		}
		if (put(&o, (char)c) < 0)
			return -1;
	}
	if (dots > 0 && end_segment(&o, dots) < 0)
		return -1;
	out[o.len] = '\0';
	return (long)o.len;
}

/*
 * The path is decoded into `out` (sgw_pct_decode, so there is one
 * decoder) and resolved there, without allocating. That is why the bound
 * is on the path as received, before the query: decoding needs its length
 * plus the NUL, even when the result would be shorter.
 */
long
sgw_path_normalise(const char *uri, size_t len, char *out, size_t outsz)
{
	size_t end = 0;
	long n;

	if (uri == NULL || out == NULL || outsz == 0)
		return -1;
	out[0] = '\0';
	/* The query string and fragment are not part of the path. */
	while (end < len && uri[end] != '?' && uri[end] != '#')
		end++;
	/* The raw first byte: "%2fadmin" is not a path. */
	if (end == 0 || uri[0] != '/' || end >= outsz)
		return -1;
	n = sgw_pct_decode(uri, end, out, 0);
	if (n >= 0)
		n = resolve(out, (size_t)n, outsz);
	if (n < 0)
		out[0] = '\0';
	return n;
}

long
sgw_path_resolve(const char *path, size_t len, char *out, size_t outsz)
{
	long n;

	if (path == NULL || out == NULL || outsz == 0)
		return -1;
	out[0] = '\0';
	if (len == 0 || path[0] != '/' || len >= outsz)
		return -1;
	memcpy(out, path, len);
	out[len] = '\0';
	n = resolve(out, len, outsz);
	if (n < 0)
		out[0] = '\0';
	return n;
}

/* Whether `pattern` (its '*' already removed) matches `path`. */
static int
rule_matches(const struct sgw_rule *r, const char *path)
{
	size_t plen;

	if (r->pattern == NULL)
		return 0;
	if (!r->prefix)
		return strcmp(path, r->pattern) == 0;
	plen = strlen(r->pattern);
	if (strncmp(path, r->pattern, plen) == 0)
		return 1;
	/* A pattern "/admin/" with '*' also covers "/admin" itself, or
	 * the directory could be reached without its trailing slash. */
	return plen > 1 && r->pattern[plen - 1] == '/' &&
	    strlen(path) == plen - 1 &&
	    strncmp(path, r->pattern, plen - 1) == 0;
}

const struct sgw_rule *
sgw_access_match(const struct sgw_rule *rules, size_t nrules, const char *path)
{
	if (path == NULL || rules == NULL)
		return NULL;
	for (size_t i = 0; i < nrules; i++) {
		if (rule_matches(&rules[i], path))
			return &rules[i];
	}
	return NULL;
}

/*
 * Whether the comma-separated list `roles` holds one of the rule's roles.
 * Entries compare exactly: "admin" is not "Admin", " admin" or "admins".
 */
static int
has_role(const struct sgw_rule *rule, const char *roles)
{
	const char *p = roles;

	if (roles == NULL || rule->roles == NULL)
		return 0;
	for (;;) {
		size_t n = strcspn(p, ",");

		for (size_t j = 0; n > 0 && j < rule->nroles; j++) {
			const char *want = rule->roles[j];

			if (want != NULL && strlen(want) == n &&
			    memcmp(p, want, n) == 0)
				return 1;
		}
		if (p[n] == '\0')
			return 0;
		p += n + 1;
	}
}

enum sgw_verdict
sgw_access_decide(
    const struct sgw_rule *rule, int has_session, const char *roles)
{
	if (rule == NULL)
		return SGW_VERDICT_FORBIDDEN;
	switch (rule->policy) {
	case SGW_POLICY_ANONYMOUS:
		return SGW_VERDICT_PASS;
	case SGW_POLICY_AUTHENTICATED:
		return has_session ? SGW_VERDICT_PASS
		                   : SGW_VERDICT_UNAUTHENTICATED;
	case SGW_POLICY_ROLE:
		if (!has_session)
			return SGW_VERDICT_UNAUTHENTICATED;
		return has_role(rule, roles) ? SGW_VERDICT_PASS
		                             : SGW_VERDICT_FORBIDDEN;
	case SGW_POLICY_DENY:
		break;
	}
	/* deny, and any value the enum does not name: fail closed. */
	return SGW_VERDICT_FORBIDDEN;
}

int
sgw_access_wants_session(const struct sgw_rule *rule)
{
	if (rule == NULL)
		return 0;
	switch (rule->policy) {
	case SGW_POLICY_ANONYMOUS:
	case SGW_POLICY_AUTHENTICATED:
	case SGW_POLICY_ROLE:
		return 1;
	case SGW_POLICY_DENY:
		break;
	}
	return 0;
}
