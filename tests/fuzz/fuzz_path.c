/*
 * fuzz_path: what the gateway decides from request metadata.
 *
 *   - the whole input as a request URI (exact-size heap copy, no NUL):
 *     sgw_path_normalise, then the access rules of a fixed configuration;
 *     and as an already decoded path for sgw_path_resolve;
 *   - the input split at its first NUL or newline into two C strings, used
 *     as return_to and Host for sgw_redirect_choose, and as REMOTE_ADDR and
 *     X-Forwarded-For for sgw_client_addr.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "access.h"
#include "clientaddr.h"
#include "conf.h"
#include "errs.h"
#include "form.h"
#include "redirect.h"
#include "fuzz.h"

#define SMALL_OUT 16

static const char conf_text[] =
    "[login]\n"
    "prefix = /auth\n"
    "default_redirect = /home\n"
    "redirect_hosts = app.example.com, Other.Example.org\n"
    "[access]\n"
    "trusted_proxies = 10.0.0.0/8, 127.0.0.1\n"
    "rule = /auth/* anonymous\n"
    "rule = /admin/* role:admin,ops\n"
    "rule = /public anonymous\n"
    "rule = /private/* deny\n"
    "rule = /* authenticated\n";

static struct sgw_conf conf;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sgw_errs errs = {0};

	(void)argc;
	(void)argv;
	if (sgw_conf_parse(
	        "fuzz", conf_text, sizeof(conf_text) - 1, &conf, &errs) != 0 ||
	    conf.nrules != 5)
		abort();
	sgw_errs_clear(&errs);
	return 0;
}

/*
 * Well-formed UTF-8, written out again here from RFC 3629's grammar
 * rather than taken from the library: UTF8-2 = %xC2-DF UTF8-tail, UTF8-3
 * = %xE0 %xA0-BF tail / %xE1-EC 2tail / %xED %x80-9F tail / %xEE-EF
 * 2tail, UTF8-4 = %xF0 %x90-BF 2tail / %xF1-F3 3tail / %xF4 %x80-8F 2tail.
 */
static int
is_utf8(const unsigned char *p)
{
	while (*p != '\0') {
		unsigned char c = *p;
		int tail;

		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			tail = 1;
		else if (c >= 0xe0 && c <= 0xef)
			tail = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			tail = 3;
		else
			return 0;
		if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) ||
		    (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
			return 0;
		for (int k = 1; k <= tail; k++)
			if ((p[k] & 0xc0) != 0x80)
				return 0;
		p += 1 + tail;
	}
	return 1;
}

/* The shape every normalised path has. */
static void
check_normal(const char *p, long n)
{
	CHECK(n >= 1 && strlen(p) == (size_t)n && p[0] == '/');
	CHECK(strstr(p, "//") == NULL);
	CHECK(strstr(p, "/./") == NULL && strstr(p, "/../") == NULL);
	CHECK(!(n >= 2 && strcmp(p + n - 2, "/.") == 0));
	CHECK(!(n >= 3 && strcmp(p + n - 3, "/..") == 0));
	for (const char *q = p; *q != '\0'; q++)
		CHECK((unsigned char)*q >= 0x20 && *q != 0x7f && *q != '\\');
	/* What another server could read differently (SPEC section 4):
	 * path parameters, an encoded '%', ill-formed UTF-8. */
	CHECK(strchr(p, ';') == NULL && strchr(p, '%') == NULL);
	CHECK(is_utf8((const unsigned char *)p));
}

/*
 * Normalising is idempotent. The result is decoded text, so the bytes
 * that mean something to the normaliser ('%', '?', '#') are escaped
 * again first; the escaped path must come back unchanged.
 */
static void
check_idempotent(const char *p, size_t n)
{
	char *esc = malloc(3 * n + 1), *again = malloc(3 * n + 1);
	size_t e = 0;
	long m;

	if (esc == NULL || again == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '%' || p[i] == '?' || p[i] == '#') {
			static const char hex[] = "0123456789ABCDEF";

			esc[e++] = '%';
			esc[e++] = hex[(unsigned char)p[i] >> 4];
			esc[e++] = hex[(unsigned char)p[i] & 15];
		} else {
			esc[e++] = p[i];
		}
	}
	m = sgw_path_normalise(esc, e, again, 3 * n + 1);
	CHECK(m == (long)n && memcmp(again, p, n + 1) == 0);
out:
	free(esc);
	free(again);
}

static void
check_access(const char *path)
{
	const struct sgw_rule *r =
	    sgw_access_match(conf.rules, conf.nrules, path);
	enum sgw_verdict v;

	/* The last rule is "/[*] authenticated": every path matches one. */
	CHECK(r != NULL && r >= conf.rules && r < conf.rules + conf.nrules);
	CHECK(sgw_access_decide(NULL, 1, "admin") == SGW_VERDICT_FORBIDDEN);
	CHECK(sgw_access_decide(r, 0, NULL) != SGW_VERDICT_PASS ||
	    r->policy == SGW_POLICY_ANONYMOUS);
	v = sgw_access_decide(r, 1, "user,admins, admin");
	CHECK(v == SGW_VERDICT_PASS || v == SGW_VERDICT_FORBIDDEN);
	/* However the URI was spelt, what normalises into /admin needs the
	 * role, and /private is closed. */
	if (strcmp(path, "/admin") == 0 || strncmp(path, "/admin/", 7) == 0) {
		CHECK(v == SGW_VERDICT_FORBIDDEN);
		CHECK(sgw_access_decide(r, 1, "user,ops") == SGW_VERDICT_PASS);
	}
	if (strcmp(path, "/private") == 0 || strncmp(path, "/private/", 9) == 0)
		CHECK(
		    sgw_access_decide(r, 1, "admin") == SGW_VERDICT_FORBIDDEN);
	(void)sgw_access_wants_session(r);
}

static void
check_path(const uint8_t *data, size_t size)
{
	char *uri = malloc(size), *small = malloc(SMALL_OUT);
	char *large = malloc(SGW_PATH_MAX);
	long ns, nl;

	if (uri == NULL || small == NULL || large == NULL)
		goto out;
	if (size > 0)
		memcpy(uri, data, size);
	/* The input as an already decoded path (DOCUMENT_URI). */
	nl = sgw_path_resolve(uri, size, large, SGW_PATH_MAX);
	CHECK(nl < SGW_PATH_MAX);
	if (nl >= 0)
		check_normal(large, nl);
	else
		CHECK(large[0] == '\0');
	ns = sgw_path_normalise(uri, size, small, SMALL_OUT);
	nl = sgw_path_normalise(uri, size, large, SGW_PATH_MAX);
	CHECK(ns < SMALL_OUT && nl < SGW_PATH_MAX);
	if (ns >= 0) {
		/* What fits the small buffer comes out the same in the
		 * large one. */
		CHECK(nl == ns && strcmp(small, large) == 0);
	} else {
		CHECK(small[0] == '\0');
	}
	if (nl < 0) {
		CHECK(large[0] == '\0');
		goto out;
	}
	/* A raw ';' or backslash in the path part is never let through. */
	for (size_t i = 0; i < size && uri[i] != '?' && uri[i] != '#'; i++)
		CHECK(uri[i] != ';' && uri[i] != '\\');
	check_normal(large, nl);
	check_idempotent(large, (size_t)nl);
	check_access(large);
	/* A normalised path is already decoded: resolving it again (as
	 * for DOCUMENT_URI) changes nothing. */
	CHECK(sgw_path_resolve(large, (size_t)nl, small, SMALL_OUT) ==
	    (nl < SMALL_OUT ? nl : -1));
out:
	free(uri);
	free(small);
	free(large);
}

/* What a returned return_to must look like, checked without the
 * library's helpers. */
static void
check_redirect(const char *rt, const char *host)
{
	struct sgw_redirect_policy pol;
	const char *got;
	size_t hl;

	sgw_redirect_policy_from(&pol, &conf);
	got = sgw_redirect_choose(&pol, rt, host);
	CHECK(got == rt || got == conf.default_redirect);
	if (got != rt)
		return;
	for (const char *p = rt; *p != '\0'; p++)
		CHECK((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f &&
		    *p != '\\');
	if (rt[0] == '/') {
		size_t n = strlen(rt);
		char *d = malloc(n + 1);

		CHECK(rt[1] != '/');
		/* Decoded once more (by a proxy, say), still on this site. */
		if (d != NULL) {
			CHECK(sgw_pct_decode(rt, n, d, 0) >= 1 && d[1] != '/' &&
			    d[1] != '\\');
			free(d);
		}
		return;
	}
	CHECK(strncasecmp(rt, "https://", 8) == 0);
	rt += 8;
	hl = strcspn(rt, ":/?#");
	CHECK(hl > 0 && memchr(rt, '@', hl) == NULL);
	if (host != NULL) {
		size_t rl = strcspn(host, ":");

		if (rl == hl && strncasecmp(rt, host, hl) == 0)
			return;
	}
	for (size_t i = 0; i < conf.nredirect_hosts; i++) {
		if (strlen(conf.redirect_hosts[i]) == hl &&
		    strncasecmp(rt, conf.redirect_hosts[i], hl) == 0)
			return;
	}
	CHECK(0);
}

/* The client address is REMOTE_ADDR or one X-Forwarded-For entry, and
 * an untrusted peer is always taken at its word. */
static void
check_client(const char *remote, const char *xff)
{
	static const size_t sizes[] = {1, 8, 16, 64};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *out = malloc(sizes[i]);
		int r;

		if (out == NULL)
			return;
		r = sgw_client_addr(conf.trusted_proxies, conf.ntrusted_proxies,
		    remote, xff, out, sizes[i]);
		if (r == 0) {
			CHECK(strlen(out) < sizes[i] && out[0] != '\0');
			CHECK(strcmp(out, remote) == 0 ||
			    (xff != NULL && strstr(xff, out) != NULL));
			if (!sgw_cidr_contains(conf.trusted_proxies,
			        conf.ntrusted_proxies, remote))
				CHECK(strcmp(out, remote) == 0);
		} else {
			CHECK(r == -1);
		}
		free(out);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cut = 0;
	char *first = NULL, *second = NULL;

	check_path(data, size);

	while (cut < size && data[cut] != '\0' && data[cut] != '\n')
		cut++;
	if ((first = malloc(cut + 1)) == NULL)
		goto out;
	memcpy(first, data, cut);
	first[cut] = '\0';
	if (cut < size) {
		size_t rest = size - cut - 1;

		if ((second = malloc(rest + 1)) == NULL)
			goto out;
		memcpy(second, data + cut + 1, rest);
		second[rest] = '\0';
	}
	check_redirect(first, second);
	check_client(first, second);
out:
	free(first);
	free(second);
	return 0;
}
