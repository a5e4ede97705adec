/*
 * redirect: return_to may only stay on this site or go to an allowed
 * https host; everything else becomes default_redirect.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "redirect.h"

#define DEFAULT "/home"
#define HOST "app.example.com"

static char *extra_hosts[] = {"sso.example.org", "docs.example.net"};

/* The policy the worker builds once from the configuration. */
static const struct sgw_redirect_policy *
pol(const struct sgw_conf *c)
{
	static struct sgw_redirect_policy p;

	sgw_redirect_policy_from(&p, c);
	return &p;
}

static struct sgw_conf
make_conf(void)
{
	struct sgw_conf conf;

	memset(&conf, 0, sizeof(conf));
	conf.default_redirect = (char *)DEFAULT;
	conf.redirect_hosts = extra_hosts;
	conf.nredirect_hosts = 2;
	return conf;
}

/* Checks that each of `in` comes back as itself (ok) or as DEFAULT. */
static void
check_choices(const char *const *in, size_t n, const char *host, int ok)
{
	struct sgw_conf conf = make_conf();

	for (size_t i = 0; i < n; i++) {
		const char *got = sgw_redirect_choose(pol(&conf), in[i], host);

		if (ok && got != in[i])
			fail_msg("\"%s\" refused (got \"%s\")", in[i], got);
		if (!ok && got != conf.default_redirect)
			fail_msg("\"%s\" accepted", in[i]);
	}
}

static void
choose_accepts_local_paths(void **state)
{
	static const char *const ok[] = {
	    "/",
	    "/app/",
	    "/app/x?y=1&z=%2F%2Fevil.com#frag",
	    "/a/b/../c",
	    "/a//b",
	    "/@evil.com",
	    "/a:b",
	};
	(void)state;
	check_choices(ok, sizeof(ok) / sizeof(ok[0]), HOST, 1);
}

/* "/%2f%2fevil.com" is a path as it stands, but one more decoding
 * downstream would make it "//evil.com": refused, like a bad escape. */
static void
choose_refuses_what_decodes_to_a_network_path(void **state)
{
	static const char *const bad[] = {
	    "/%2f%2fevil.com",
	    "/%2F%2Fevil.com/x",
	    "/%5cevil.com",
	    "/%2F%5Cevil.com",
	    "/%zz",
	};
	(void)state;
	check_choices(bad, sizeof(bad) / sizeof(bad[0]), HOST, 0);
}

static void
choose_refuses_protocol_relative_and_backslash(void **state)
{
	static const char *const bad[] = {
	    "//evil.com",
	    "//evil.com/app",
	    "///evil.com",
	    "/\\evil.com",
	    "\\\\evil.com",
	    "\\/evil.com",
	    "/app\\..\\x",
	    "%2f%2fevil.com",
	    "%2F%2Fevil.com",
	};
	(void)state;
	check_choices(bad, sizeof(bad) / sizeof(bad[0]), HOST, 0);
}

static void
choose_refuses_other_schemes_and_relative(void **state)
{
	static const char *const bad[] = {
	    "javascript:alert(1)",
	    "JavaScript:alert(1)",
	    "data:text/html,<script>alert(1)</script>",
	    "http://app.example.com/",
	    "HTTP://app.example.com/",
	    "ftp://app.example.com/",
	    "https:/app.example.com/",
	    "https:/xapp.example.com/",
	    "https:app.example.com/",
	    "https:\\\\app.example.com/",
	    "https:/\\app.example.com/",
	    "https://",
	    "https:///app.example.com/",
	    "https",
	    "foo",
	    "foo/bar",
	    "app.example.com/x",
	    "?x=1",
	    "#frag",
	    ".",
	    "../x",
	};
	(void)state;
	check_choices(bad, sizeof(bad) / sizeof(bad[0]), HOST, 0);
}

static void
choose_refuses_foreign_https_hosts(void **state)
{
	static const char *const bad[] = {
	    "https://evil.com/",
	    "HTTPS://evil.com/",
	    "https://app.example.com.evil.com/",
	    "https://evilapp.example.com/",
	    "https://app.example.com.",
	    "https://app.example.co/",
	    "https://example.com/",
	};
	(void)state;
	check_choices(bad, sizeof(bad) / sizeof(bad[0]), HOST, 0);
}

static void
choose_refuses_tricky_authorities(void **state)
{
	static const char *const bad[] = {
	    "https://user@app.example.com/",
	    "https://app.example.com@evil.com/",
	    "https://app.example.com:443@evil.com/",
	    "https://user:pw@app.example.com/",
	    "https://app.example.com%2f@evil.com/",
	    "https://app.example.com%40evil.com/",
	    "https://app.example.com\\@evil.com/",
	    "https://[::1]/",
	    "https://app.example.com:/",
	    "https://app.example.com:x/",
	    "https://app.example.com:123456/",
	    "https://app.example.com;evil.com/",
	    "https://app.example.com&evil.com/",
	    "https://app_example.com/",
	};
	(void)state;
	check_choices(bad, sizeof(bad) / sizeof(bad[0]), HOST, 0);
}

static void
choose_refuses_whitespace_and_control_bytes(void **state)
{
	static const char *const bad[] = {
	    "/app\tx",
	    "/app\nx",
	    "/app\rx",
	    "/app x",
	    " /app",
	    "/app ",
	    "\t//evil.com",
	    "/\t/evil.com",
	    "ht\ttps://app.example.com/",
	    "https://app.example.com/\nSet-Cookie:x=y",
	    "https://app.example.com/x\r\nLocation:https://evil.com",
	    "/\x7f",
	    "/caf\xc3\xa9",
	    "/\x01",
	};
	(void)state;
	check_choices(bad, sizeof(bad) / sizeof(bad[0]), HOST, 0);
}

static void
choose_accepts_request_host_any_case_and_port(void **state)
{
	static const char *const ok[] = {
	    "https://app.example.com",
	    "https://app.example.com/",
	    "https://APP.Example.COM/x",
	    "HTTPS://app.example.com/x",
	    "hTtPs://app.example.com/x",
	    "https://app.example.com:8443/x",
	    "https://app.example.com?x=1",
	    "https://app.example.com#x",
	    "https://app.example.com/x#@evil.com",
	    "https://app.example.com/?next=https://evil.com",
	};
	(void)state;
	check_choices(ok, sizeof(ok) / sizeof(ok[0]), HOST, 1);
	/* The request's Host may carry a port and any case too. */
	check_choices(
	    ok, sizeof(ok) / sizeof(ok[0]), "APP.example.com:8443", 1);
}

static void
choose_https_to_host_allowed_when_host_is_request_host(void **state)
{
	struct sgw_conf conf = make_conf();
	const char *u = "https://HOST:8443/x";
	(void)state;

	assert_ptr_equal(sgw_redirect_choose(pol(&conf), u, "host"), u);
	assert_ptr_equal(sgw_redirect_choose(pol(&conf), u, "host:80"), u);
	assert_ptr_equal(
	    sgw_redirect_choose(pol(&conf), u, "other"), conf.default_redirect);
}

static void
choose_accepts_redirect_hosts(void **state)
{
	static const char *const ok[] = {
	    "https://sso.example.org/",
	    "https://SSO.example.org:444/cb?x=1",
	    "https://docs.example.net",
	};
	static const char *const bad[] = {
	    "https://example.org/",
	    "https://x.sso.example.org/",
	    "https://sso.example.org.evil.com/",
	    "http://sso.example.org/",
	};
	struct sgw_conf conf = make_conf();
	(void)state;

	check_choices(ok, sizeof(ok) / sizeof(ok[0]), HOST, 1);
	check_choices(ok, sizeof(ok) / sizeof(ok[0]), NULL, 1);
	check_choices(bad, sizeof(bad) / sizeof(bad[0]), HOST, 0);
	/* Only the first nredirect_hosts count. */
	conf.nredirect_hosts = 1;
	assert_ptr_equal(
	    sgw_redirect_choose(pol(&conf), "https://docs.example.net/", NULL),
	    conf.default_redirect);
}

static void
choose_with_null_host_allows_only_paths_and_listed_hosts(void **state)
{
	struct sgw_conf conf = make_conf();
	(void)state;

	assert_ptr_equal(
	    sgw_redirect_choose(pol(&conf), "https://app.example.com/", NULL),
	    conf.default_redirect);
	assert_ptr_equal(
	    sgw_redirect_choose(pol(&conf), "https://app.example.com/", ""),
	    conf.default_redirect);
	assert_string_equal(
	    sgw_redirect_choose(pol(&conf), "/app/", NULL), "/app/");
}

static void
choose_refuses_null_and_empty(void **state)
{
	struct sgw_conf conf = make_conf();
	(void)state;

	assert_ptr_equal(
	    sgw_redirect_choose(pol(&conf), NULL, HOST), conf.default_redirect);
	assert_ptr_equal(
	    sgw_redirect_choose(pol(&conf), "", HOST), conf.default_redirect);
}

static void
choose_falls_back_to_root_without_default(void **state)
{
	struct sgw_conf conf;
	(void)state;

	memset(&conf, 0, sizeof(conf));
	assert_string_equal(
	    sgw_redirect_choose(pol(&conf), "//evil.com", HOST), "/");
	assert_string_equal(sgw_redirect_choose(NULL, "//evil.com", HOST), "/");
	assert_string_equal(sgw_redirect_choose(NULL, "/x", HOST), "/x");
	conf.default_redirect = (char *)"";
	assert_string_equal(
	    sgw_redirect_choose(pol(&conf), "//evil.com", HOST), "/");
}

static void
host_allowed_ignores_port_and_case(void **state)
{
	struct sgw_conf conf = make_conf();
	(void)state;

	assert_int_equal(sgw_redirect_host_allowed(
	                     pol(&conf), "app.example.com", "app.example.com"),
	    1);
	assert_int_equal(sgw_redirect_host_allowed(pol(&conf),
	                     "App.Example.Com:8443", "app.example.com"),
	    1);
	assert_int_equal(sgw_redirect_host_allowed(pol(&conf),
	                     "app.example.com", "APP.EXAMPLE.COM:80"),
	    1);
	assert_int_equal(
	    sgw_redirect_host_allowed(pol(&conf), "[::1]:8080", "[::1]"), 1);
	assert_int_equal(sgw_redirect_host_allowed(pol(&conf),
	                     "SSO.example.org:1", "app.example.com"),
	    1);
	assert_int_equal(
	    sgw_redirect_host_allowed(pol(&conf), "docs.example.net", NULL), 1);
}

static void
host_allowed_refuses_other_hosts(void **state)
{
	struct sgw_conf conf = make_conf();
	(void)state;

	assert_int_equal(sgw_redirect_host_allowed(
	                     pol(&conf), "evil.com", "app.example.com"),
	    0);
	assert_int_equal(sgw_redirect_host_allowed(
	                     pol(&conf), "app.example.co", "app.example.com"),
	    0);
	assert_int_equal(sgw_redirect_host_allowed(pol(&conf),
	                     "app.example.com.evil.com", "app.example.com"),
	    0);
	assert_int_equal(
	    sgw_redirect_host_allowed(pol(&conf), "app.example.com", NULL), 0);
	assert_int_equal(
	    sgw_redirect_host_allowed(pol(&conf), NULL, "app.example.com"), 0);
	assert_int_equal(sgw_redirect_host_allowed(pol(&conf), "", ""), 0);
	assert_int_equal(
	    sgw_redirect_host_allowed(pol(&conf), ":80", ":80"), 0);
	/* Junk after the colon is not a port to ignore. */
	assert_int_equal(sgw_redirect_host_allowed(pol(&conf),
	                     "app.example.com:x@evil.com", "app.example.com"),
	    0);
	assert_int_equal(
	    sgw_redirect_host_allowed(pol(&conf), "[::1", "[::1"), 0);
	assert_int_equal(sgw_redirect_host_allowed(
	                     NULL, "sso.example.org", "app.example.com"),
	    0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(choose_accepts_local_paths),
	    cmocka_unit_test(choose_refuses_protocol_relative_and_backslash),
	    cmocka_unit_test(choose_refuses_what_decodes_to_a_network_path),
	    cmocka_unit_test(choose_refuses_other_schemes_and_relative),
	    cmocka_unit_test(choose_refuses_foreign_https_hosts),
	    cmocka_unit_test(choose_refuses_tricky_authorities),
	    cmocka_unit_test(choose_refuses_whitespace_and_control_bytes),
	    cmocka_unit_test(choose_accepts_request_host_any_case_and_port),
	    cmocka_unit_test(
	        choose_https_to_host_allowed_when_host_is_request_host),
	    cmocka_unit_test(choose_accepts_redirect_hosts),
	    cmocka_unit_test(
	        choose_with_null_host_allows_only_paths_and_listed_hosts),
	    cmocka_unit_test(choose_refuses_null_and_empty),
	    cmocka_unit_test(choose_falls_back_to_root_without_default),
	    cmocka_unit_test(host_allowed_ignores_port_and_case),
	    cmocka_unit_test(host_allowed_refuses_other_hosts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
