/*
 * access: normalisation (the path a rule sees), matching, the decision.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "access.h"

struct norm_case {
	const char *in;
	const char *want; /* NULL: must be refused */
};

static void
check_norm(const struct norm_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char out[SGW_PATH_MAX];
		long r;

		memset(out, 'X', sizeof(out));
		r = sgw_path_normalise(
		    c[i].in, strlen(c[i].in), out, sizeof(out));
		if (c[i].want == NULL) {
			if (r != -1)
				fail_msg("\"%s\": want refusal, got \"%s\"",
				    c[i].in, out);
			/* Never a half-normalised path to misuse. */
			if (out[0] != '\0')
				fail_msg("\"%s\": refused, out is \"%.20s\"",
				    c[i].in, out);
			continue;
		}
		if (r < 0)
			fail_msg(
			    "\"%s\": refused, want \"%s\"", c[i].in, c[i].want);
		if (strcmp(out, c[i].want) != 0 ||
		    (size_t)r != strlen(c[i].want))
			fail_msg("\"%s\": got \"%s\" (%ld), want \"%s\"",
			    c[i].in, out, r, c[i].want);
	}
}

static void
normalise_resolves_dot_segments(void **state)
{
	static const struct norm_case c[] = {
	    {"/", "/"},
	    {"/a/b", "/a/b"},
	    {"/a/b/", "/a/b/"},
	    {"/a/./b", "/a/b"},
	    {"/./", "/"},
	    {"/.", "/"},
	    {"/a/.", "/a/"},
	    {"/a/b/..", "/a/"},
	    {"/a/b/../", "/a/"},
	    {"/a/../admin/", "/admin/"},
	    {"/a/b/../../admin", "/admin"},
	    {"/app/../admin/x", "/admin/x"},
	    {"/a/./../b/./c/..", "/b/"},
	    {"/a/..", "/"},
	    /* Dots that are not a whole segment are names. */
	    {"/a/...", "/a/..."},
	    {"/a/.../b", "/a/.../b"},
	    {"/a/..b", "/a/..b"},
	    {"/a/b..", "/a/b.."},
	    {"/a/.b", "/a/.b"},
	    {"/.well-known/x", "/.well-known/x"},
	    {"/a.", "/a."},
	};
	(void)state;
	check_norm(c, sizeof(c) / sizeof(c[0]));
}

static void
normalise_collapses_slashes(void **state)
{
	static const struct norm_case c[] = {
	    {"//admin", "/admin"},
	    {"///admin//x///", "/admin/x/"},
	    {"/a//../admin", "/admin"},
	    {"//", "/"},
	};
	(void)state;
	check_norm(c, sizeof(c) / sizeof(c[0]));
}

static void
normalise_decodes_before_resolving(void **state)
{
	static const struct norm_case c[] = {
	    {"/%61dmin/", "/admin/"},
	    {"/a/%2e%2e/admin", "/admin"},
	    {"/a/%2E%2e/admin/", "/admin/"},
	    {"/a/.%2e/admin", "/admin"},
	    {"/a/%2e/b", "/a/b"},
	    {"/a%2f..%2fadmin", "/admin"},
	    {"/a%2F%2Fb", "/a/b"},
	    /* must start with a raw '/' */
	    {"%2fadmin", NULL},
	    /* decoded once only (and an encoded '%' is refused) */
	    {"/%252e%252e/x", NULL},
	    {"/a+b", "/a+b"},
	    {"/caf%C3%A9", "/caf\xc3\xa9"},
	    {"/%3f", "/?"},
	    {"/%23x", "/#x"},
	};
	(void)state;
	check_norm(c, sizeof(c) / sizeof(c[0]));
}

static void
normalise_drops_query_and_fragment(void **state)
{
	static const struct norm_case c[] = {
	    {"/a?x=1", "/a"},
	    {"/a/?x=/../..", "/a/"},
	    {"/a#frag", "/a"},
	    {"/a#f?x", "/a"},
	    {"/a?x#f", "/a"},
	    {"/a/..?x", "/"},
	    {"/?", "/"},
	    {"?x", NULL},
	    {"#x", NULL},
	    /* An escape may not straddle the query. */
	    {"/a%2?x", NULL},
	};
	(void)state;
	check_norm(c, sizeof(c) / sizeof(c[0]));
}

static void
normalise_refuses_unsafe_paths(void **state)
{
	static const struct norm_case c[] = {
	    {"", NULL},
	    {"a/b", NULL},
	    {"*", NULL},
	    {"http://host/admin", NULL},
	    {"/..", NULL},
	    {"/../", NULL},
	    {"/../admin", NULL},
	    {"/a/../../admin", NULL},
	    {"/%2e%2e/admin", NULL},
	    {"/.%2E/", NULL},
	    {"/a/..%2f..%2fadmin", NULL},
	    {"/a%00", NULL},
	    {"/a%00.html", NULL},
	    {"/a%0a", NULL},
	    {"/a%0D%0Ax", NULL},
	    {"/a%1f", NULL},
	    {"/a%7f", NULL},
	    {"/a\tb", NULL},
	    {"/a\x7f", NULL},
	    {"/a\\..\\admin", NULL},
	    {"/a%5c..%5cadmin", NULL},
	    {"/a%5Cb", NULL},
	    {"/%zz", NULL},
	    {"/%g0", NULL},
	    {"/%0g", NULL},
	    {"/%", NULL},
	    {"/%2", NULL},
	    {"/a%", NULL},
	};
	(void)state;
	check_norm(c, sizeof(c) / sizeof(c[0]));
}

/*
 * SPEC section 4: what another server could read differently is refused,
 * raw or encoded. Tomcat, Jetty and Spring strip ";params" from each
 * segment before resolving "..", so "/app/..;/admin/" is /admin/ to them;
 * "%25" decoded once more by the application is another path; a NUL
 * cuts C strings; ill-formed UTF-8 (overlong "/" as %c0%af, surrogates)
 * is read as '/' or '.' or replaced by some decoders.
 */
static void
normalise_refuses_what_servers_read_differently(void **state)
{
	static const struct norm_case c[] = {
	    /* ';' raw and encoded, anywhere in a segment */
	    {"/app/..;/admin/", NULL},
	    {"/auth/..;/admin/", NULL},
	    {"/app/..%3b/admin/", NULL},
	    {"/app/..%3B/admin/", NULL},
	    {"/app/x;jsessionid=1", NULL},
	    {"/app;/x", NULL},
	    {"/;", NULL},
	    {"/app/a;b?x=1", NULL},
	    /* backslash raw and encoded */
	    {"/app\\..\\admin", NULL},
	    {"/app/%5C", NULL},
	    /* an encoded '%' */
	    {"/app/a%25b", NULL},
	    {"/app/%25", NULL},
	    {"/app/%2561dmin", NULL},
	    /* NUL raw (inside the length: normalise_refuses_raw_nul_inside_len)
	     * and encoded */
	    {"/app/%00", NULL},
	    {"/app/a%00b/", NULL},
	    /* ill-formed UTF-8, encoded ... */
	    {"/app/%c0%af", NULL},             /* overlong '/' */
	    {"/app/%C0%AE%C0%AE/admin", NULL}, /* overlong ".." */
	    {"/app/%c1%bf", NULL},             /* overlong, C1 lead */
	    {"/app/%e0%80%af", NULL},          /* overlong, 3 bytes */
	    {"/app/%e0%9f%bf", NULL},          /* overlong, 3 bytes, top */
	    {"/app/%f0%80%80%af", NULL},       /* overlong, 4 bytes */
	    {"/app/%f0%8f%bf%bf", NULL},       /* overlong, 4 bytes, top */
	    {"/app/%ed%a0%80", NULL},          /* surrogate U+D800 */
	    {"/app/%ed%bf%bf", NULL},          /* surrogate U+DFFF */
	    {"/app/%ed%a0%bd%ed%b8%80", NULL}, /* CESU-8 pair */
	    {"/app/%f4%90%80%80", NULL},       /* past U+10FFFF */
	    {"/app/%f5%80%80%80", NULL},
	    {"/app/%ff", NULL},
	    {"/app/%fe", NULL},
	    {"/app/%80", NULL}, /* lone continuation */
	    {"/app/%bf/x", NULL},
	    {"/app/%c3", NULL}, /* truncated */
	    {"/app/%c3/", NULL},
	    {"/app/%e2%82", NULL},
	    {"/app/%f0%9f%98", NULL},
	    {"/app/%c3%a9%a9", NULL}, /* one continuation too many */
	    /* ... and raw */
	    {"/app/\xc0\xaf", NULL},
	    {"/app/\xed\xa0\x80", NULL},
	    {"/app/\xff", NULL},
	    {"/app/\x80", NULL},
	    {"/app/\xc3", NULL},
	    {"/app/\xe2\x82/x", NULL},
	    /* a raw lead byte completed by an encoded one is still checked
	     * on the decoded bytes */
	    {"/app/\xc0%af", NULL},
	};
	static const struct norm_case ok[] = {
	    /* Well-formed UTF-8 passes, raw or encoded, at every length and
	     * at the edges of each range. */
	    {"/caf%c3%a9", "/caf\xc3\xa9"},
	    {"/caf\xc3\xa9", "/caf\xc3\xa9"},
	    {"/caf\xc3%a9", "/caf\xc3\xa9"},
	    {"/%c2%80", "/\xc2\x80"},
	    {"/%df%bf", "/\xdf\xbf"},
	    {"/%e0%a0%80", "/\xe0\xa0\x80"},
	    {"/%e2%80%a8", "/\xe2\x80\xa8"},
	    {"/%ed%9f%bf", "/\xed\x9f\xbf"},
	    {"/%ee%80%80", "/\xee\x80\x80"},
	    {"/%ef%bf%bd", "/\xef\xbf\xbd"},
	    {"/%f0%90%80%80", "/\xf0\x90\x80\x80"},
	    {"/%f0%9f%98%80/x", "/\xf0\x9f\x98\x80/x"},
	    {"/%f4%8f%bf%bf", "/\xf4\x8f\xbf\xbf"},
	    /* a ';' or '%' in the query is not the path's */
	    {"/app/x?a=1;b=%25", "/app/x"},
	    {"/app/x#a;b", "/app/x"},
	};
	(void)state;
	check_norm(c, sizeof(c) / sizeof(c[0]));
	check_norm(ok, sizeof(ok) / sizeof(ok[0]));
}

static void
normalise_refuses_raw_nul_inside_len(void **state)
{
	char out[64];
	(void)state;

	/* A NUL inside the given length is not an end of string. */
	assert_int_equal(
	    sgw_path_normalise("/a\0/admin", 9, out, sizeof(out)), -1);
	/* ... and bytes past len are not read, not even to finish an
	 * escape. */
	assert_int_equal(sgw_path_normalise("/a%2f", 4, out, sizeof(out)), -1);
	assert_int_equal(sgw_path_normalise("/a%2f", 5, out, sizeof(out)), 3);
	assert_string_equal(out, "/a/");
	assert_int_equal(
	    sgw_path_normalise("/abc/def", 4, out, sizeof(out)), 4);
	assert_string_equal(out, "/abc");
}

/*
 * The bound is on the path as received (before '?' or '#'), plus its NUL:
 * it is decoded into out before it is resolved.
 */
static void
normalise_is_bounded_by_outsz(void **state)
{
	char out[8];
	char big[SGW_PATH_MAX + 16];
	char res[SGW_PATH_MAX];
	(void)state;

	/* "/abcdef" is 7 bytes plus the NUL: fits exactly. */
	assert_int_equal(sgw_path_normalise("/abcdef", 7, out, 8), 7);
	assert_string_equal(out, "/abcdef");
	assert_int_equal(sgw_path_normalise("/abcdefg", 8, out, 8), -1);
	assert_string_equal(out, "");
	assert_int_equal(sgw_path_normalise("/abcdef/", 8, out, 8), -1);
	assert_int_equal(sgw_path_normalise("/", 1, out, 2), 1);
	assert_int_equal(sgw_path_normalise("/", 1, out, 1), -1);
	assert_int_equal(sgw_path_normalise("/", 1, out, 0), -1);
	assert_int_equal(sgw_path_normalise("/", 1, NULL, 8), -1);
	assert_int_equal(sgw_path_normalise(NULL, 1, out, 8), -1);

	/* The query and fragment do not count ... */
	assert_int_equal(
	    sgw_path_normalise("/abcdef?a-long-query", 20, out, 8), 7);
	assert_string_equal(out, "/abcdef");
	assert_int_equal(
	    sgw_path_normalise("/abcdef#a-long-frag", 19, out, 8), 7);
	/* ... the path does, even when it resolves shorter. */
	assert_int_equal(sgw_path_normalise("/ab/../c", 8, out, 8), -1);
	assert_int_equal(sgw_path_normalise("/ab/../", 7, out, 8), 1);
	assert_string_equal(out, "/");
	assert_int_equal(sgw_path_normalise("/%61bcde", 8, out, 8), -1);
	assert_int_equal(sgw_path_normalise("/%61bcd", 7, out, 8), 5);
	assert_string_equal(out, "/abcd");

	/* Overlong: SGW_PATH_MAX bytes leave no room for the NUL. */
	big[0] = '/';
	memset(big + 1, 'a', sizeof(big) - 1);
	assert_int_equal(
	    sgw_path_normalise(big, SGW_PATH_MAX - 1, res, sizeof(res)),
	    SGW_PATH_MAX - 1);
	assert_int_equal(strlen(res), SGW_PATH_MAX - 1);
	assert_int_equal(
	    sgw_path_normalise(big, SGW_PATH_MAX, res, sizeof(res)), -1);
	assert_int_equal(
	    sgw_path_normalise(big, sizeof(big), res, sizeof(res)), -1);
}

/* A path the web server decoded already is resolved, not decoded. */
static void
resolve_does_not_decode(void **state)
{
	static const struct {
		const char *in, *want;
	} c[] = {
	    {"/auth/check", "/auth/check"},
	    {"//auth/./x/../check", "/auth/check"},
	    {"/a/b/..", "/a/"},
	    {"/caf\xc3\xa9", "/caf\xc3\xa9"},
	    {"/a b", "/a b"},
	    /* '?' and '#' are bytes of a decoded path, not its end */
	    {"/auth/check?", "/auth/check?"},
	    {"/a#b", "/a#b"},
	    /* what would decode to something else is refused, not decoded */
	    {"/auth/chec%6b", NULL},
	    {"/auth/%2e%2e/x", NULL},
	    {"/a%2fb", NULL},
	    {"/%", NULL},
	    /* and the rest as for sgw_path_normalise */
	    {"/app/..;/admin/", NULL},
	    {"/a\\b", NULL},
	    {"/a\x01", NULL},
	    {"/a/\xc0\xaf", NULL},
	    {"/a/\xed\xa0\x80", NULL},
	    {"/..", NULL},
	    {"a", NULL},
	    {"", NULL},
	};
	char out[64];
	(void)state;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		long r;

		memset(out, 'X', sizeof(out));
		r = sgw_path_resolve(
		    c[i].in, strlen(c[i].in), out, sizeof(out));
		if (c[i].want == NULL) {
			if (r != -1 || out[0] != '\0')
				fail_msg("\"%s\": want refusal, got %ld \"%s\"",
				    c[i].in, r, out);
		} else if (r != (long)strlen(c[i].want) ||
		    strcmp(out, c[i].want) != 0) {
			fail_msg("\"%s\": got %ld \"%s\", want \"%s\"", c[i].in,
			    r, r >= 0 ? out : "", c[i].want);
		}
	}
	/* A NUL inside len, bounds, NULL. */
	assert_int_equal(sgw_path_resolve("/a\0b", 4, out, sizeof(out)), -1);
	assert_int_equal(sgw_path_resolve("/abc", 4, out, 4), -1);
	assert_int_equal(sgw_path_resolve("/abc", 4, out, 5), 4);
	assert_int_equal(sgw_path_resolve("/abc", 2, out, 5), 2);
	assert_string_equal(out, "/a");
	assert_int_equal(sgw_path_resolve(NULL, 1, out, 5), -1);
	assert_int_equal(sgw_path_resolve("/", 1, NULL, 5), -1);
	assert_int_equal(sgw_path_resolve("/", 1, out, 0), -1);
}

/* ---- matching ---- */

static struct sgw_rule *
rule(
    struct sgw_rule *r, const char *pattern, int prefix, enum sgw_policy policy)
{
	memset(r, 0, sizeof(*r));
	r->pattern = (char *)pattern;
	r->prefix = prefix;
	r->policy = policy;
	return r;
}

static void
match_prefix_pattern_covers_directory_and_below(void **state)
{
	struct sgw_rule r[1];
	struct sgw_conf conf;
	(void)state;

	memset(&conf, 0, sizeof(conf));
	rule(&r[0], "/admin/", 1, SGW_POLICY_DENY);
	conf.rules = r;
	conf.nrules = 1;

	assert_ptr_equal(
	    sgw_access_match(conf.rules, conf.nrules, "/admin"), &r[0]);
	assert_ptr_equal(
	    sgw_access_match(conf.rules, conf.nrules, "/admin/"), &r[0]);
	assert_ptr_equal(
	    sgw_access_match(conf.rules, conf.nrules, "/admin/x"), &r[0]);
	assert_ptr_equal(
	    sgw_access_match(conf.rules, conf.nrules, "/admin/x/y/"), &r[0]);
	assert_null(sgw_access_match(conf.rules, conf.nrules, "/adminx"));
	assert_null(sgw_access_match(conf.rules, conf.nrules, "/admi"));
	assert_null(sgw_access_match(conf.rules, conf.nrules, "/"));
	assert_null(sgw_access_match(conf.rules, conf.nrules, "/x/admin/"));
	/* Case matters: paths are case-sensitive on the servers we front. */
	assert_null(sgw_access_match(conf.rules, conf.nrules, "/Admin/"));
}

static void
match_prefix_without_slash_is_a_plain_prefix(void **state)
{
	struct sgw_rule r[1];
	struct sgw_conf conf;
	(void)state;

	memset(&conf, 0, sizeof(conf));
	rule(&r[0], "/foo", 1, SGW_POLICY_DENY);
	conf.rules = r;
	conf.nrules = 1;

	assert_ptr_equal(
	    sgw_access_match(conf.rules, conf.nrules, "/foo"), &r[0]);
	assert_ptr_equal(
	    sgw_access_match(conf.rules, conf.nrules, "/foobar"), &r[0]);
	assert_ptr_equal(
	    sgw_access_match(conf.rules, conf.nrules, "/foo/x"), &r[0]);
	assert_null(sgw_access_match(conf.rules, conf.nrules, "/fo"));
}

static void
match_root_star_matches_everything(void **state)
{
	struct sgw_rule r[1];
	struct sgw_conf conf;
	(void)state;

	memset(&conf, 0, sizeof(conf));
	rule(&r[0], "/", 1, SGW_POLICY_AUTHENTICATED);
	conf.rules = r;
	conf.nrules = 1;

	assert_ptr_equal(sgw_access_match(conf.rules, conf.nrules, "/"), &r[0]);
	assert_ptr_equal(
	    sgw_access_match(conf.rules, conf.nrules, "/anything/at/all"),
	    &r[0]);
}

static void
match_exact_pattern_matches_only_itself(void **state)
{
	struct sgw_rule r[1];
	struct sgw_conf conf;
	(void)state;

	memset(&conf, 0, sizeof(conf));
	rule(&r[0], "/status", 0, SGW_POLICY_ANONYMOUS);
	conf.rules = r;
	conf.nrules = 1;

	assert_ptr_equal(
	    sgw_access_match(conf.rules, conf.nrules, "/status"), &r[0]);
	assert_null(sgw_access_match(conf.rules, conf.nrules, "/status/"));
	assert_null(sgw_access_match(conf.rules, conf.nrules, "/statusx"));
	assert_null(sgw_access_match(conf.rules, conf.nrules, "/statu"));

	rule(&r[0], "/dir/", 0, SGW_POLICY_ANONYMOUS);
	assert_ptr_equal(
	    sgw_access_match(conf.rules, conf.nrules, "/dir/"), &r[0]);
	assert_null(sgw_access_match(conf.rules, conf.nrules, "/dir"));
	assert_null(sgw_access_match(conf.rules, conf.nrules, "/dir/x"));
}

static void
match_first_rule_wins(void **state)
{
	struct sgw_rule r[3];
	struct sgw_conf conf;
	(void)state;

	memset(&conf, 0, sizeof(conf));
	rule(&r[0], "/auth/", 1, SGW_POLICY_ANONYMOUS);
	rule(&r[1], "/admin/", 1, SGW_POLICY_ROLE);
	rule(&r[2], "/", 1, SGW_POLICY_AUTHENTICATED);
	conf.rules = r;
	conf.nrules = 3;

	assert_ptr_equal(
	    sgw_access_match(conf.rules, conf.nrules, "/auth/login"), &r[0]);
	assert_ptr_equal(
	    sgw_access_match(conf.rules, conf.nrules, "/admin/users"), &r[1]);
	assert_ptr_equal(
	    sgw_access_match(conf.rules, conf.nrules, "/admin"), &r[1]);
	assert_ptr_equal(
	    sgw_access_match(conf.rules, conf.nrules, "/app/"), &r[2]);

	/* A broad rule first shadows the narrower ones after it. */
	rule(&r[0], "/", 1, SGW_POLICY_DENY);
	assert_ptr_equal(
	    sgw_access_match(conf.rules, conf.nrules, "/auth/login"), &r[0]);
	assert_ptr_equal(
	    sgw_access_match(conf.rules, conf.nrules, "/admin/users"), &r[0]);
}

static void
match_no_rule_is_null(void **state)
{
	struct sgw_rule r[2];
	struct sgw_conf conf;
	(void)state;

	memset(&conf, 0, sizeof(conf));
	rule(&r[0], "/a/", 1, SGW_POLICY_ANONYMOUS);
	rule(&r[1], "/b", 0, SGW_POLICY_ANONYMOUS);
	conf.rules = r;
	conf.nrules = 2;

	assert_null(sgw_access_match(conf.rules, conf.nrules, "/c"));
	assert_null(sgw_access_match(conf.rules, conf.nrules, "/b/"));
	assert_null(sgw_access_match(conf.rules, conf.nrules, NULL));
	assert_null(sgw_access_match(NULL, 0, "/a/"));

	/* Only the first nrules count. */
	conf.nrules = 1;
	assert_null(sgw_access_match(conf.rules, conf.nrules, "/b"));
	conf.nrules = 0;
	assert_null(sgw_access_match(conf.rules, conf.nrules, "/a/"));
}

/* ---- the decision ---- */

static void
decide_table_covers_every_policy(void **state)
{
	static char *admin_roles[] = {"admin", "ops"};
	struct sgw_rule anon, authd, role, deny;
	const struct {
		const struct sgw_rule *r;
		int has_session;
		const char *roles;
		enum sgw_verdict want;
	} t[] = {
	    /* no rule matched */
	    {NULL, 0, NULL, SGW_VERDICT_FORBIDDEN},
	    {NULL, 1, "admin", SGW_VERDICT_FORBIDDEN},
	    {&anon, 0, NULL, SGW_VERDICT_PASS},
	    {&anon, 1, "", SGW_VERDICT_PASS},
	    {&anon, 1, "admin", SGW_VERDICT_PASS},
	    {&authd, 0, NULL, SGW_VERDICT_UNAUTHENTICATED},
	    {&authd, 0, "admin", SGW_VERDICT_UNAUTHENTICATED},
	    {&authd, 1, "", SGW_VERDICT_PASS},
	    {&authd, 1, NULL, SGW_VERDICT_PASS},
	    {&role, 0, NULL, SGW_VERDICT_UNAUTHENTICATED},
	    /* roles without a session do not count */
	    {&role, 0, "admin", SGW_VERDICT_UNAUTHENTICATED},
	    {&role, 1, "admin", SGW_VERDICT_PASS},
	    {&role, 1, "ops", SGW_VERDICT_PASS},
	    {&role, 1, "user,ops", SGW_VERDICT_PASS},
	    {&role, 1, "user,admin,x", SGW_VERDICT_PASS},
	    {&role, 1, "user", SGW_VERDICT_FORBIDDEN},
	    {&role, 1, "", SGW_VERDICT_FORBIDDEN},
	    {&role, 1, NULL, SGW_VERDICT_FORBIDDEN},
	    {&role, 1, "Admin", SGW_VERDICT_FORBIDDEN},
	    {&role, 1, "admins", SGW_VERDICT_FORBIDDEN},
	    {&role, 1, "adm", SGW_VERDICT_FORBIDDEN},
	    {&role, 1, " admin", SGW_VERDICT_FORBIDDEN},
	    {&role, 1, "user,,", SGW_VERDICT_FORBIDDEN},
	    {&role, 1, "admin,ops", SGW_VERDICT_PASS},
	    {&role, 1, "xadmin,opsx", SGW_VERDICT_FORBIDDEN},
	    {&deny, 0, NULL, SGW_VERDICT_FORBIDDEN},
	    {&deny, 1, "admin", SGW_VERDICT_FORBIDDEN},
	};
	(void)state;

	rule(&anon, "/", 1, SGW_POLICY_ANONYMOUS);
	rule(&authd, "/", 1, SGW_POLICY_AUTHENTICATED);
	rule(&role, "/", 1, SGW_POLICY_ROLE);
	role.roles = admin_roles;
	role.nroles = 2;
	rule(&deny, "/", 1, SGW_POLICY_DENY);

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		enum sgw_verdict v =
		    sgw_access_decide(t[i].r, t[i].has_session, t[i].roles);

		if (v != t[i].want)
			fail_msg("case %zu (session %d, roles \"%s\"): got %d,"
			         " want %d",
			    i, t[i].has_session,
			    t[i].roles ? t[i].roles : "(null)", (int)v,
			    (int)t[i].want);
	}
}

static void
decide_role_rule_counts_only_its_first_nroles(void **state)
{
	static char *roles[] = {"admin", "ops"};
	struct sgw_rule r;
	(void)state;

	rule(&r, "/", 1, SGW_POLICY_ROLE);
	r.roles = roles;
	r.nroles = 1;
	assert_int_equal(
	    sgw_access_decide(&r, 1, "ops"), SGW_VERDICT_FORBIDDEN);
	assert_int_equal(sgw_access_decide(&r, 1, "admin"), SGW_VERDICT_PASS);
	/* A role rule with no roles lets nobody through. */
	r.roles = NULL;
	r.nroles = 0;
	assert_int_equal(
	    sgw_access_decide(&r, 1, "admin"), SGW_VERDICT_FORBIDDEN);
}

static void
wants_session_for_all_but_deny(void **state)
{
	struct sgw_rule r;
	(void)state;

	assert_int_equal(
	    sgw_access_wants_session(rule(&r, "/", 1, SGW_POLICY_ANONYMOUS)),
	    1);
	assert_int_equal(sgw_access_wants_session(
	                     rule(&r, "/", 1, SGW_POLICY_AUTHENTICATED)),
	    1);
	assert_int_equal(
	    sgw_access_wants_session(rule(&r, "/", 1, SGW_POLICY_ROLE)), 1);
	assert_int_equal(
	    sgw_access_wants_session(rule(&r, "/", 1, SGW_POLICY_DENY)), 0);
	assert_int_equal(sgw_access_wants_session(NULL), 0);
}

/* The whole path from URI to verdict, as the check endpoint runs it. */
static enum sgw_verdict
verdict_for(const struct sgw_conf *conf, const char *uri, int has_session,
    const char *roles)
{
	char path[SGW_PATH_MAX];

	if (sgw_path_normalise(uri, strlen(uri), path, sizeof(path)) < 0)
		return sgw_access_decide(NULL, has_session, roles);
	return sgw_access_decide(
	    sgw_access_match(conf->rules, conf->nrules, path), has_session,
	    roles);
}

static void
traversal_cannot_reach_admin_without_role(void **state)
{
	static char *admin[] = {"admin"};
	struct sgw_rule r[3];
	struct sgw_conf conf;
	static const char *const sneaky[] = {
	    "/admin",
	    "/admin/",
	    "//admin/",
	    "/app/../admin/",
	    "/app/%2e%2e/admin",
	    "/%61dmin/x",
	    "/app%2f..%2fadmin",
	    "/./admin",
	    "/admin/./x?y",
	};
	(void)state;

	memset(&conf, 0, sizeof(conf));
	rule(&r[0], "/auth/", 1, SGW_POLICY_ANONYMOUS);
	rule(&r[1], "/admin/", 1, SGW_POLICY_ROLE);
	r[1].roles = admin;
	r[1].nroles = 1;
	rule(&r[2], "/", 1, SGW_POLICY_AUTHENTICATED);
	conf.rules = r;
	conf.nrules = 3;

	for (size_t i = 0; i < sizeof(sneaky) / sizeof(sneaky[0]); i++) {
		if (verdict_for(&conf, sneaky[i], 1, "user") !=
		    SGW_VERDICT_FORBIDDEN)
			fail_msg("\"%s\" passed without the role", sneaky[i]);
		if (verdict_for(&conf, sneaky[i], 1, "admin") !=
		    SGW_VERDICT_PASS)
			fail_msg("\"%s\" refused with the role", sneaky[i]);
	}
	/* Unnormalisable paths are forbidden even to admins. */
	assert_int_equal(verdict_for(&conf, "/../admin/", 1, "admin"),
	    SGW_VERDICT_FORBIDDEN);
	assert_int_equal(
	    verdict_for(&conf, "/auth/%00", 0, NULL), SGW_VERDICT_FORBIDDEN);
	assert_int_equal(
	    verdict_for(&conf, "/auth/login", 0, NULL), SGW_VERDICT_PASS);
	assert_int_equal(verdict_for(&conf, "/auth/../app/", 0, NULL),
	    SGW_VERDICT_UNAUTHENTICATED);

	/* Servlet path parameters: "/app/..;/admin/" is /admin/ to Tomcat,
	 * "/auth/..;/admin/" too. Neither may pass as the rule its first
	 * segment names: refused for everyone, with or without a session. */
	static const char *const servlet[] = {
	    "/app/..;/admin/",
	    "/auth/..;/admin/",
	    "/auth/..;/app/",
	    "/auth/..%3b/admin/",
	    "/auth;x/../admin/",
	    "/app/%c0%ae%c0%ae/admin",
	    "/auth/a%25b",
	    "/auth/%c0%af",
	};
	for (size_t i = 0; i < sizeof(servlet) / sizeof(servlet[0]); i++) {
		if (verdict_for(&conf, servlet[i], 0, NULL) !=
		        SGW_VERDICT_FORBIDDEN ||
		    verdict_for(&conf, servlet[i], 1, "user") !=
		        SGW_VERDICT_FORBIDDEN ||
		    verdict_for(&conf, servlet[i], 1, "admin") !=
		        SGW_VERDICT_FORBIDDEN)
			fail_msg(
			    "\"%s\" is not forbidden to everyone", servlet[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(normalise_resolves_dot_segments),
	    cmocka_unit_test(normalise_collapses_slashes),
	    cmocka_unit_test(normalise_decodes_before_resolving),
	    cmocka_unit_test(normalise_drops_query_and_fragment),
	    cmocka_unit_test(normalise_refuses_unsafe_paths),
	    cmocka_unit_test(normalise_refuses_what_servers_read_differently),
	    cmocka_unit_test(normalise_refuses_raw_nul_inside_len),
	    cmocka_unit_test(normalise_is_bounded_by_outsz),
	    cmocka_unit_test(resolve_does_not_decode),
	    cmocka_unit_test(match_prefix_pattern_covers_directory_and_below),
	    cmocka_unit_test(match_prefix_without_slash_is_a_plain_prefix),
	    cmocka_unit_test(match_root_star_matches_everything),
	    cmocka_unit_test(match_exact_pattern_matches_only_itself),
	    cmocka_unit_test(match_first_rule_wins),
	    cmocka_unit_test(match_no_rule_is_null),
	    cmocka_unit_test(decide_table_covers_every_policy),
	    cmocka_unit_test(decide_role_rule_counts_only_its_first_nroles),
	    cmocka_unit_test(wants_session_for_all_but_deny),
	    cmocka_unit_test(traversal_cannot_reach_admin_without_role),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
