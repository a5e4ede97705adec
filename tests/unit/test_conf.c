/*
 * test_conf: the configuration file of SPEC section 4 (lib/conf.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sys/stat.h>

#include "conf.h"
#include "store_redis.h"

/* The [redis] section of a parsed configuration. */
#define RC(c) ((struct sgw_redis_conf *)sgw_conf_backend(&(c), "redis"))

/* Parses `text` as "x.conf"; the result is also kept in *c and *e. */
static int
parse(const char *text, struct sgw_conf *c, struct sgw_errs *e)
{
	return sgw_conf_parse("x.conf", text, strlen(text), c, e);
}

static void
dump(const struct sgw_errs *e)
{
	for (size_t i = 0; i < e->n; i++)
		fprintf(stderr, "  errs[%zu] = %s\n", i, e->msg[i]);
}

static int
has_msg(const struct sgw_errs *e, const char *needle)
{
	for (size_t i = 0; i < e->n; i++) {
		if (strstr(e->msg[i], needle) != NULL)
			return 1;
	}
	return 0;
}

/* `text` parses, and the result is left in *c for the caller to check. */
static void
ok_text(const char *text, struct sgw_conf *c)
{
	struct sgw_errs e = {0};
	int rc = parse(text, c, &e);

	if (rc != 0) {
		fprintf(stderr, "unexpected failure for:\n%s\n", text);
		dump(&e);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(e.n, 0);
	sgw_errs_clear(&e);
}

/* `text` is refused with a message containing `needle`, and *conf is
 * left zeroed. */
static void
bad_text(const char *text, const char *needle)
{
	static const struct sgw_conf zero;
	struct sgw_conf c;
	struct sgw_errs e = {0};
	int rc = parse(text, &c, &e);

	if (rc != -1 || !has_msg(&e, needle)) {
		fprintf(stderr, "expected \"%s\" for:\n%s\n", needle, text);
		dump(&e);
	}
	assert_int_equal(rc, -1);
	assert_true(has_msg(&e, needle));
	assert_memory_equal(&c, &zero, sizeof(c));
	sgw_errs_clear(&e);
}

static void
test_defaults_equal_spec_values(void **state)
{
	struct sgw_conf c;

	(void)state;
	assert_int_equal(sgw_conf_defaults(&c), 0);
	assert_string_equal(c.listen, "127.0.0.1:9000");
	assert_int_equal(c.listen_addr.is_unix, 0);
	assert_string_equal(c.listen_addr.host, "127.0.0.1");
	assert_int_equal(c.listen_addr.port, 9000);
	assert_int_equal(c.listen_mode, 0660);
	assert_int_equal(c.backlog, 1024);
	assert_int_equal(c.workers, 4);
	assert_int_equal(c.max_requests, 0);
	assert_string_equal(c.allowed_clients, "127.0.0.1");
	assert_int_equal(c.log_level, SGW_LOG_INFO);
	assert_string_equal(c.log_file, "");
	assert_int_equal(c.max_body, 16 * 1024);
	assert_int_equal(c.request_timeout_ms, 5000);
	assert_string_equal(c.user, "");
	assert_string_equal(c.metrics_listen, "");

	assert_string_equal(RC(c)->address, "127.0.0.1:6379");
	assert_string_equal(RC(c)->addr.host, "127.0.0.1");
	assert_int_equal(RC(c)->addr.port, 6379);
	assert_int_equal(RC(c)->nsentinels, 0);
	assert_null(RC(c)->sentinels);
	assert_string_equal(RC(c)->sentinel_master, "mymaster");
	assert_string_equal(RC(c)->username, "");
	assert_string_equal(RC(c)->password, "");
	assert_int_equal(RC(c)->database, 0);
	assert_string_equal(RC(c)->key_prefix, "sgw:");
	assert_int_equal(RC(c)->connect_timeout_ms, 200);
	assert_int_equal(RC(c)->command_timeout_ms, 200);

	assert_int_equal(c.idle_timeout_ms, 30 * 60 * 1000);
	assert_int_equal(c.absolute_timeout_ms, 12LL * 3600 * 1000);
	assert_int_equal(c.remember_me_timeout_ms, 30LL * 86400 * 1000);
	assert_int_equal(c.max_per_user, 0);
	assert_int_equal(c.bind_client, 0);
	assert_string_equal(c.users_file, "/etc/sessiongw/users");
	assert_string_equal(c.secret_file, "/etc/sessiongw/secret");

	assert_string_equal(c.cookie_name, "sgw_session");
	assert_string_equal(c.cookie_domain, "");
	assert_string_equal(c.cookie_path, "/");
	assert_int_equal(c.cookie_secure, 1);
	assert_int_equal(c.same_site, SGW_SAME_SITE_LAX);

	assert_string_equal(c.prefix, "/auth");
	assert_string_equal(c.default_redirect, "/");
	assert_int_equal(c.nredirect_hosts, 0);
	assert_int_equal(c.max_failures, 5);
	assert_int_equal(c.max_client_failures, 50);
	assert_int_equal(c.failure_window_ms, 15 * 60 * 1000);
	assert_int_equal(c.lockout_ms, 15 * 60 * 1000);
	assert_string_equal(c.login_template, "");

	assert_int_equal(c.ntrusted_proxies, 0);
	assert_string_equal(c.login_url, "/auth/login");
	assert_int_equal(c.nrules, 3);
	assert_string_equal(c.rules[0].pattern, "/auth/");
	assert_int_equal(c.rules[0].prefix, 1);
	assert_int_equal(c.rules[0].policy, SGW_POLICY_ANONYMOUS);
	assert_string_equal(c.rules[1].pattern, "/admin/");
	assert_int_equal(c.rules[1].policy, SGW_POLICY_ROLE);
	assert_int_equal(c.rules[1].nroles, 1);
	assert_string_equal(c.rules[1].roles[0], "admin");
	assert_string_equal(c.rules[2].pattern, "/");
	assert_int_equal(c.rules[2].prefix, 1);
	assert_int_equal(c.rules[2].policy, SGW_POLICY_AUTHENTICATED);
	assert_int_equal(c.rules[2].line, 0);
	assert_non_null(c.file);
	sgw_conf_free(&c);
	assert_null(c.listen);
}

static void
test_empty_file_gives_the_defaults(void **state)
{
	struct sgw_conf c, d;

	(void)state;
	ok_text("", &c);
	assert_int_equal(sgw_conf_defaults(&d), 0);
	assert_string_equal(c.file, "x.conf");
	assert_int_equal(c.workers, d.workers);
	assert_int_equal(c.idle_timeout_ms, d.idle_timeout_ms);
	assert_string_equal(c.login_url, d.login_url);
	assert_int_equal(c.nrules, 3);
	sgw_conf_free(&c);
	sgw_conf_free(&d);
}

/* SPEC section 4, byte for byte, including its comment lines. */
static const char spec_sample[] =
    "[server]\n"
    "listen = 127.0.0.1:9000        # IPv4 host:port, or unix:/path\n"
    "listen_mode = 0660             # for unix sockets\n"
    "backlog = 1024\n"
    "workers = 4                    # 1..1024\n"
    "max_requests = 0               # 0 = never recycle\n"
    "allowed_clients = 127.0.0.1    # IPv4 addresses; empty = anyone who\n"
    "                               # can connect (unix sockets: use\n"
    "                               # listen_mode and file ownership)\n"
    "log_level = info               # error | warn | info | debug\n"
    "log_file =                     # empty = stderr\n"
    "max_body = 16k                 # larger login bodies get 413\n"
    "request_timeout = 5s           # a whole request must arrive within it\n"
    "user =                         # when started as root: the workers run\n"
    "                               # as this user after the socket is open\n"
    "metrics_listen =               # host:port of a plain-HTTP listener for\n"
    "                               # GET /metrics (Prometheus); empty = off\n"
    "\n"
    "[redis]\n"
    "address = 127.0.0.1:6379       # host:port or unix:/path\n"
    "sentinels =                    # host:port list; when set, `address` is "
    "ignored\n"
    "sentinel_master = mymaster\n"
    "username =                     # Redis 6+ ACL user\n"
    "password =\n"
    "database = 0\n"
    "key_prefix = sgw:\n"
    "connect_timeout = 200ms\n"
    "command_timeout = 200ms\n"
    "\n"
    "[session]\n"
    "idle_timeout = 30m             # sliding: each valid use extends it\n"
    "absolute_timeout = 12h         # from login, never extended\n"
    "remember_me_timeout = 30d      # absolute lifetime when remember_me is "
    "set\n"
    "max_per_user = 0               # 0 = unlimited; else the oldest is ended\n"
    "bind_client = off              # on: a session is valid only from the\n"
    "                               # client address that logged in\n"
    "users_file = /etc/sessiongw/users\n"
    "secret_file = /etc/sessiongw/secret   # keys that MAC the tokens, one\n"
    "                               # per line (>= 32 bytes, hex or base64);\n"
    "                               # the first signs, all verify, so keys\n"
    "                               # can be rotated; every gateway host\n"
    "                               # sharing a Redis shares this file\n"
    "\n"
    "[cookie]\n"
    "name = sgw_session\n"
    "domain =                       # empty = host-only cookie\n"
    "path = /\n"
    "secure = on\n"
    "same_site = lax                # strict | lax | none (none requires "
    "secure)\n"
    "\n"
    "[login]\n"
    "prefix = /auth                 # where the endpoints of section 5 live\n"
    "default_redirect = /\n"
    "redirect_hosts =               # extra hosts return_to may name\n"
    "max_failures = 5               # failed logins per user name\n"
    "max_client_failures = 50       # failed logins per client address\n"
    "failure_window = 15m\n"
    "lockout = 15m\n"
    "\n"
    "[access]\n"
    "trusted_proxies =              # CIDRs whose X-Forwarded-For is believed\n"
    "login_url = /auth/login        # where unauthenticated browsers are sent\n"
    "rule = /auth/*  anonymous      # may repeat; first match wins\n"
    "rule = /admin/* role:admin\n"
    "rule = /*       authenticated\n";

static void
test_spec_sample_parses_to_the_defaults(void **state)
{
	struct sgw_conf c;

	(void)state;
	ok_text(spec_sample, &c);
	assert_string_equal(c.listen, "127.0.0.1:9000");
	assert_int_equal(c.listen_mode, 0660);
	assert_string_equal(c.allowed_clients, "127.0.0.1");
	assert_string_equal(c.log_file, "");
	assert_string_equal(c.user, "");
	assert_string_equal(c.metrics_listen, "");
	assert_int_equal(RC(c)->nsentinels, 0);
	assert_string_equal(RC(c)->key_prefix, "sgw:");
	assert_string_equal(c.secret_file, "/etc/sessiongw/secret");
	assert_int_equal(c.remember_me_timeout_ms, 30LL * 86400 * 1000);
	assert_string_equal(c.cookie_domain, "");
	assert_int_equal(c.same_site, SGW_SAME_SITE_LAX);
	assert_string_equal(c.prefix, "/auth");
	assert_int_equal(c.lockout_ms, 15 * 60 * 1000);
	assert_string_equal(c.login_url, "/auth/login");
	assert_int_equal(c.nrules, 3);
	assert_string_equal(c.rules[0].pattern, "/auth/");
	assert_int_equal(c.rules[0].line, 63);
	assert_int_equal(c.rules[1].policy, SGW_POLICY_ROLE);
	assert_int_equal(c.rules[2].line, 65);
	sgw_conf_free(&c);
}

static void
test_integers_good_and_out_of_range(void **state)
{
	struct sgw_conf c;

	(void)state;
	ok_text("[server]\nworkers = 1024\nbacklog = 1\nmax_requests = 5000\n"
	        "[redis]\ndatabase = 1000000\n"
	        "[session]\nmax_per_user = 3\n"
	        "[login]\nmax_failures = 1\nmax_client_failures = 7\n",
	    &c);
	assert_int_equal(c.workers, 1024);
	assert_int_equal(c.backlog, 1);
	assert_int_equal(c.max_requests, 5000);
	assert_int_equal(RC(c)->database, 1000000);
	assert_int_equal(c.max_per_user, 3);
	assert_int_equal(c.max_failures, 1);
	assert_int_equal(c.max_client_failures, 7);
	sgw_conf_free(&c);

	bad_text("[server]\n\nworkers = 0\n",
	    "x.conf:3: workers: expected an integer 1..1024, got \"0\"");
	bad_text("[server]\nworkers = 1025\n",
	    "x.conf:2: workers: expected an integer 1..1024, got \"1025\"");
	bad_text("[server]\nworkers = four\n", "x.conf:2: workers: expected");
	bad_text("[server]\nworkers = 4x\n", "x.conf:2: workers: expected");
	bad_text("[server]\nworkers = +4\n", "x.conf:2: workers: expected");
	bad_text("[server]\nworkers = 0x10\n", "x.conf:2: workers: expected");
	bad_text("[server]\nbacklog = 65536\n",
	    "x.conf:2: backlog: expected an integer 1..65535");
	bad_text("[server]\nmax_requests = -1\n",
	    "x.conf:2: max_requests: expected an integer >= 0, got \"-1\"");
	bad_text("[server]\nmax_requests = 99999999999999999999\n",
	    "x.conf:2: max_requests: expected an integer >= 0");
	bad_text("[redis]\ndatabase = 1000001\n",
	    "x.conf:2: database: expected an integer 0..1000000");
	bad_text("[session]\nmax_per_user = -1\n",
	    "x.conf:2: max_per_user: expected an integer >= 0");
	bad_text("[session]\nmax_per_user = 2147483648\n",
	    "x.conf:2: max_per_user: expected an integer >= 0");
	bad_text("[login]\nmax_failures = 0\n",
	    "x.conf:2: max_failures: expected an integer >= 1, got \"0\"");
	bad_text("[login]\nmax_client_failures = 0\n",
	    "x.conf:2: max_client_failures: expected an integer >= 1");
	bad_text(
	    "[server]\nworkers =\n", "x.conf:2: workers: must not be empty");
}

static void
test_duration_parse_units(void **state)
{
	int64_t ms = -1;

	(void)state;
	assert_int_equal(sgw_duration_parse("500ms", &ms), 0);
	assert_int_equal(ms, 500);
	assert_int_equal(sgw_duration_parse("30s", &ms), 0);
	assert_int_equal(ms, 30000);
	assert_int_equal(sgw_duration_parse("15m", &ms), 0);
	assert_int_equal(ms, 15 * 60000);
	assert_int_equal(sgw_duration_parse("12h", &ms), 0);
	assert_int_equal(ms, 12LL * 3600000);
	assert_int_equal(sgw_duration_parse("30d", &ms), 0);
	assert_int_equal(ms, 30LL * 86400000);
	assert_int_equal(sgw_duration_parse("0s", &ms), 0);
	assert_int_equal(ms, 0);
	/* The largest value that still fits, and the first that does not. */
	assert_int_equal(sgw_duration_parse("9223372036854775807ms", &ms), 0);
	assert_int_equal(ms, INT64_MAX);
	ms = 7;
	assert_int_equal(sgw_duration_parse("9223372036854775808ms", &ms), -1);
	assert_int_equal(sgw_duration_parse("106751991167301d", &ms), -1);
	assert_int_equal(
	    sgw_duration_parse("99999999999999999999999s", &ms), -1);
	assert_int_equal(sgw_duration_parse("30", &ms), -1);
	assert_int_equal(sgw_duration_parse("", &ms), -1);
	assert_int_equal(sgw_duration_parse("s", &ms), -1);
	assert_int_equal(sgw_duration_parse("-5s", &ms), -1);
	assert_int_equal(sgw_duration_parse("5 s", &ms), -1);
	assert_int_equal(sgw_duration_parse("5w", &ms), -1);
	assert_int_equal(sgw_duration_parse("5S", &ms), -1);
	assert_int_equal(sgw_duration_parse("1.5h", &ms), -1);
	assert_int_equal(ms, 7); /* untouched on failure */
	assert_int_equal(sgw_duration_parse(NULL, &ms), -1);
}

static void
test_duration_keys_good_and_bad(void **state)
{
	struct sgw_conf c;

	(void)state;
	ok_text("[redis]\nconnect_timeout = 1s\ncommand_timeout = 500ms\n"
	        "[session]\nidle_timeout = 2s\nabsolute_timeout = 3s\n"
	        "remember_me_timeout = 2s\n"
	        "[login]\nfailure_window = 1h\nlockout = 1d\n",
	    &c);
	assert_int_equal(RC(c)->connect_timeout_ms, 1000);
	assert_int_equal(RC(c)->command_timeout_ms, 500);
	assert_int_equal(c.idle_timeout_ms, 2000);
	assert_int_equal(c.absolute_timeout_ms, 3000);
	assert_int_equal(c.remember_me_timeout_ms, 2000);
	assert_int_equal(c.failure_window_ms, 3600000);
	assert_int_equal(c.lockout_ms, 86400000);
	sgw_conf_free(&c);

	bad_text("[redis]\nconnect_timeout = 200\n",
	    "x.conf:2: connect_timeout: expected a duration such as 500ms, "
	    "30s, 15m, 12h or 30d (missing unit), got \"200\"");
	bad_text("[redis]\ncommand_timeout = 0ms\n",
	    "x.conf:2: command_timeout: must be greater than 0, got \"0ms\"");
	bad_text("[login]\nlockout = 99999999999999999999d\n",
	    "x.conf:2: lockout: expected a duration such as 500ms, 30s, 15m, "
	    "12h or 30d (too large)");
	bad_text("[login]\nlockout = 9223372036854775d\n",
	    "x.conf:2: lockout: expected a duration");
	bad_text("[login]\nfailure_window = 3651d\n",
	    "x.conf:2: failure_window: must be at most 3650d");
	bad_text("[login]\nfailure_window = 5w\n",
	    "x.conf:2: failure_window: expected a duration such as 500ms, 30s, "
	    "15m, 12h or 30d (unknown unit)");
}

static void
test_sizes_good_and_bad(void **state)
{
	struct sgw_conf c;

	(void)state;
	ok_text("[server]\nmax_body = 1m\n", &c);
	assert_int_equal(c.max_body, 1024 * 1024);
	sgw_conf_free(&c);
	ok_text("[server]\nmax_body = 16m\n", &c);
	assert_int_equal(c.max_body, 16 * 1024 * 1024);
	sgw_conf_free(&c);
	ok_text("[server]\nmax_body = 4K\n", &c);
	assert_int_equal(c.max_body, 4096);
	sgw_conf_free(&c);
	ok_text("[server]\nmax_body = 100\n", &c);
	assert_int_equal(c.max_body, 100);
	sgw_conf_free(&c);

	bad_text("[server]\nmax_body = 17m\n",
	    "x.conf:2: max_body: expected a size 1..16m (bytes, or with a k or "
	    "m suffix), got \"17m\"");
	bad_text("[server]\nmax_body = 0\n", "x.conf:2: max_body: expected");
	bad_text("[server]\nmax_body = 16kb\n", "x.conf:2: max_body: expected");
	bad_text("[server]\nmax_body = k\n", "x.conf:2: max_body: expected");
	bad_text("[server]\nmax_body = 99999999999999999m\n",
	    "x.conf:2: max_body: expected");
}

static void
test_booleans_are_on_or_off_only(void **state)
{
	struct sgw_conf c;

	(void)state;
	ok_text("[session]\nbind_client = on\n[cookie]\nsecure = off\n", &c);
	assert_int_equal(c.bind_client, 1);
	assert_int_equal(c.cookie_secure, 0);
	sgw_conf_free(&c);
	bad_text("[session]\nbind_client = yes\n",
	    "x.conf:2: bind_client: expected on or off, got \"yes\"");
	bad_text("[session]\nbind_client = 1\n",
	    "x.conf:2: bind_client: expected on or off");
	bad_text("[cookie]\nsecure = ON\n", "x.conf:2: secure: expected on");
}

static void
test_listen_mode_is_octal_up_to_0777(void **state)
{
	struct sgw_conf c;

	(void)state;
	ok_text("[server]\nlisten_mode = 0600\n", &c);
	assert_int_equal(c.listen_mode, 0600);
	sgw_conf_free(&c);
	ok_text("[server]\nlisten_mode = 0777\n", &c);
	assert_int_equal(c.listen_mode, 0777);
	sgw_conf_free(&c);
	bad_text("[server]\nlisten_mode = 01000\n",
	    "x.conf:2: listen_mode: expected an octal mode 0000..0777");
	bad_text("[server]\nlisten_mode = 0680\n",
	    "x.conf:2: listen_mode: expected an octal mode");
	bad_text("[server]\nlisten_mode = rw-rw----\n",
	    "x.conf:2: listen_mode: expected an octal mode");
	bad_text("[server]\nlisten_mode = 00000000000000000000000000001777\n",
	    "x.conf:2: listen_mode: expected an octal mode");
}

static void
test_log_level_and_same_site_words(void **state)
{
	struct sgw_conf c;

	(void)state;
	ok_text(
	    "[server]\nlog_level = debug\n[cookie]\nsame_site = strict\n", &c);
	assert_int_equal(c.log_level, SGW_LOG_DEBUG);
	assert_int_equal(c.same_site, SGW_SAME_SITE_STRICT);
	sgw_conf_free(&c);
	ok_text("[server]\nlog_level = error\n", &c);
	assert_int_equal(c.log_level, SGW_LOG_ERROR);
	sgw_conf_free(&c);
	ok_text("[server]\nlog_level = warn\n[cookie]\nsame_site = none\n", &c);
	assert_int_equal(c.log_level, SGW_LOG_WARN);
	assert_int_equal(c.same_site, SGW_SAME_SITE_NONE);
	sgw_conf_free(&c);
	bad_text("[server]\nlog_level = verbose\n",
	    "x.conf:2: log_level: expected error, warn, info or debug, got "
	    "\"verbose\"");
	bad_text("[cookie]\nsame_site = loose\n",
	    "x.conf:2: same_site: expected strict, lax or none, got \"loose\"");
}

static void
test_listen_is_numeric_ipv4_or_unix(void **state)
{
	struct sgw_conf c;

	(void)state;
	ok_text("[server]\nlisten = 0.0.0.0:9001\n", &c);
	assert_string_equal(c.listen_addr.host, "0.0.0.0");
	assert_int_equal(c.listen_addr.port, 9001);
	sgw_conf_free(&c);
	ok_text("[server]\nlisten = unix:/run/sessiongw.sock\n", &c);
	assert_string_equal(c.listen, "unix:/run/sessiongw.sock");
	assert_int_equal(c.listen_addr.is_unix, 1);
	assert_string_equal(c.listen_addr.path, "/run/sessiongw.sock");
	sgw_conf_free(&c);
	bad_text("[server]\nlisten = localhost:9000\n",
	    "x.conf:2: listen: expected IPv4 host:port or unix:/path (host "
	    "must be a numeric IPv4 address), got \"localhost:9000\"");
	bad_text("[server]\nlisten = 127.0.0.1\n",
	    "x.conf:2: listen: expected IPv4 host:port or unix:/path (missing "
	    ":port)");
	bad_text("[server]\nlisten = 127.0.0.1:65536\n",
	    "x.conf:2: listen: expected IPv4 host:port or unix:/path (port "
	    "must be 1..65535)");
	bad_text("[server]\nlisten = unix:run/sgw.sock\n",
	    "x.conf:2: listen: expected IPv4 host:port or unix:/path (unix "
	    "socket path must be absolute)");
}

static void
test_redis_address_sentinels_and_metrics(void **state)
{
	struct sgw_conf c;

	(void)state;
	ok_text("[redis]\naddress = redis.example.net:6380\n"
	        "sentinels = 10.0.0.1:26379, s2.example.net:26379 "
	        "10.0.0.3:26379\n"
	        "[server]\nmetrics_listen = 127.0.0.1:9100\n",
	    &c);
	assert_string_equal(RC(c)->addr.host, "redis.example.net");
	assert_int_equal(RC(c)->addr.port, 6380);
	assert_int_equal(RC(c)->nsentinels, 3);
	assert_string_equal(RC(c)->sentinels[0].host, "10.0.0.1");
	assert_string_equal(RC(c)->sentinels[1].host, "s2.example.net");
	assert_int_equal(RC(c)->sentinels[2].port, 26379);
	assert_string_equal(c.metrics_addr.host, "127.0.0.1");
	assert_int_equal(c.metrics_addr.port, 9100);
	sgw_conf_free(&c);
	ok_text("[redis]\naddress = unix:/run/redis/redis.sock\n", &c);
	assert_int_equal(RC(c)->addr.is_unix, 1);
	sgw_conf_free(&c);

	bad_text("[redis]\naddress = redis_1:6379\n",
	    "x.conf:2: address: expected host:port or unix:/path (host name "
	    "may hold only letters, digits, '.' and '-')");
	bad_text("[redis]\naddress = 10.0.0.256:6379\n",
	    "x.conf:2: address: expected host:port or unix:/path (not a valid "
	    "IPv4 address)");
	bad_text("[redis]\nsentinels = 10.0.0.1:26379, 10.0.0.2\n",
	    "x.conf:2: sentinels: expected host:port addresses separated by "
	    "commas, \"10.0.0.2\" is not one (missing :port)");
	bad_text("[redis]\nsentinels = unix:/tmp/s.sock\n",
	    "x.conf:2: sentinels: expected host:port addresses");
	bad_text("[server]\nmetrics_listen = unix:/run/m.sock\n",
	    "x.conf:2: metrics_listen: expected IPv4 host:port, got "
	    "\"unix:/run/m.sock\"");
	bad_text("[server]\nmetrics_listen = localhost:9100\n",
	    "x.conf:2: metrics_listen: expected IPv4 host:port");
}

static void
test_address_lists_are_normalised(void **state)
{
	struct sgw_conf c;

	(void)state;
	ok_text(
	    "[server]\nallowed_clients = 127.0.0.1,  10.0.0.2 ,10.0.0.3\n"
	    "[access]\ntrusted_proxies = 10.0.0.0/8, 192.0.2.7\n"
	    "[login]\nredirect_hosts = App.Example.COM, other.example.org\n",
	    &c);
	assert_string_equal(c.allowed_clients, "127.0.0.1,10.0.0.2,10.0.0.3");
	assert_int_equal(c.ntrusted_proxies, 2);
	assert_int_equal(c.trusted_proxies[0].addr, 0x0a000000);
	assert_int_equal(c.trusted_proxies[0].mask, 0xff000000);
	assert_int_equal(c.trusted_proxies[1].mask, 0xffffffff);
	assert_int_equal(c.nredirect_hosts, 2);
	assert_string_equal(c.redirect_hosts[0], "app.example.com");
	assert_string_equal(c.redirect_hosts[1], "other.example.org");
	sgw_conf_free(&c);
	ok_text("[server]\nallowed_clients =\n", &c);
	assert_string_equal(c.allowed_clients, "");
	sgw_conf_free(&c);

	bad_text("[server]\nallowed_clients = 127.0.0.1, 10.0.0\n",
	    "x.conf:2: allowed_clients: expected IPv4 addresses separated by "
	    "commas, \"10.0.0\" is not one");
	bad_text("[server]\nallowed_clients = 10.0.0.0/8\n",
	    "x.conf:2: allowed_clients: expected IPv4 addresses");
	bad_text("[access]\ntrusted_proxies = 10.0.0.0/33\n",
	    "x.conf:2: trusted_proxies: expected IPv4 networks such as "
	    "10.0.0.0/8 or 192.0.2.1, \"10.0.0.0/33\" is not one");
	bad_text("[login]\nredirect_hosts = app.example.com:443\n",
	    "x.conf:2: redirect_hosts: expected host names without a port, "
	    "\"app.example.com:443\" is not one");
}

static void
test_strings_may_be_empty_only_when_the_default_is(void **state)
{
	struct sgw_conf c;

	(void)state;
	ok_text("[server]\nuser = www-data\nlog_file = /var/log/sgw.log\n"
	        "[redis]\nusername = sgw\npassword = s3cret#1\n",
	    &c);
	assert_string_equal(c.user, "www-data");
	assert_string_equal(c.log_file, "/var/log/sgw.log");
	assert_string_equal(RC(c)->username, "sgw");
	assert_string_equal(RC(c)->password, "s3cret#1");
	sgw_conf_free(&c);
	ok_text(
	    "[server]\nuser =\n[redis]\npassword =\n[cookie]\ndomain =\n", &c);
	assert_string_equal(c.user, "");
	assert_string_equal(RC(c)->password, "");
	assert_string_equal(c.cookie_domain, "");
	sgw_conf_free(&c);
	bad_text("[redis]\nsentinel_master =\n",
	    "x.conf:2: sentinel_master: must not be empty");
	bad_text("[redis]\nkey_prefix =\n",
	    "x.conf:2: key_prefix: must not be empty");
	bad_text("[session]\nusers_file =   # none\n",
	    "x.conf:2: users_file: must not be empty");
}

static void
test_paths_prefix_and_cookie_name(void **state)
{
	struct sgw_conf c;

	(void)state;
	ok_text("[login]\nprefix = /sso/\ndefault_redirect = /app/\n"
	        "[access]\nlogin_url = /sso/login\n"
	        "[cookie]\nname = __Host-sid\npath = /\n",
	    &c);
	assert_string_equal(c.prefix, "/sso");
	assert_string_equal(c.default_redirect, "/app/");
	assert_string_equal(c.login_url, "/sso/login");
	assert_string_equal(c.cookie_name, "__Host-sid");
	sgw_conf_free(&c);
	ok_text("[cookie]\ndomain = .Example.COM\n", &c);
	assert_string_equal(c.cookie_domain, ".example.com");
	sgw_conf_free(&c);

	bad_text("[login]\nprefix = /\n",
	    "x.conf:2: prefix: must name a path below \"/\"");
	bad_text("[login]\nprefix = auth\n",
	    "x.conf:2: prefix: expected a path starting with '/', got "
	    "\"auth\"");
	bad_text("[login]\nprefix = /my auth\n",
	    "x.conf:2: prefix: expected a path of printable ASCII without "
	    "blanks");
	bad_text("[login]\nprefix = /auth*\n", "x.conf:2: prefix: '*' and '?'");
	bad_text("[access]\nlogin_url = auth/login\n",
	    "x.conf:2: login_url: expected a path starting with '/'");
	bad_text("[login]\ndefault_redirect = //evil.example/\n",
	    "x.conf:2: default_redirect: must not start with \"//\"");
	bad_text("[cookie]\npath = /a;b\n",
	    "x.conf:2: path: expected a path of printable ASCII");
	bad_text("[cookie]\nname = my session\n",
	    "x.conf:2: name: expected a cookie name of letters");
	bad_text(
	    "[cookie]\nname = sid=1\n", "x.conf:2: name: expected a cookie");
	bad_text("[cookie]\nname =\n", "x.conf:2: name: must not be empty");
	bad_text("[cookie]\ndomain = exa mple.com\n",
	    "x.conf:2: domain: expected a domain name");
}

static void
test_login_url_default_follows_prefix(void **state)
{
	struct sgw_conf c;

	(void)state;
	ok_text("[login]\nprefix = /sso\n", &c);
	assert_string_equal(c.login_url, "/sso/login");
	sgw_conf_free(&c);
	ok_text(
	    "[login]\nprefix = /sso\n[access]\nlogin_url = /elsewhere\n", &c);
	assert_string_equal(c.login_url, "/elsewhere");
	sgw_conf_free(&c);
}

static void
test_cookie_prefix_names_need_matching_attributes(void **state)
{
	(void)state;
	bad_text("[cookie]\nname = __Host-sid\ndomain = example.com\n",
	    "x.conf:3: a cookie name starting with __Host- requires");
	bad_text("[cookie]\nsecure = off\nname = __Secure-sid\n",
	    "x.conf:3: a cookie name starting with __Secure- requires secure");
}

static void
test_unknown_section_and_key(void **state)
{
	(void)state;
	bad_text("[server]\nworkers = 2\n[foo]\nbar = 1\n",
	    "x.conf:3: unknown section [foo]");
	bad_text(
	    "[server]\nfoo = 1\n", "x.conf:2: unknown key \"foo\" in [server]");
	bad_text("[redis]\nworkers = 1\n",
	    "x.conf:2: unknown key \"workers\" in [redis] (it belongs in "
	    "[server])");
	bad_text("workers = 2\n",
	    "x.conf:1: key \"workers\" is outside any [section]");
	bad_text("[server]\nworkers 2\n",
	    "x.conf:2: expected \"key = value\", got \"workers 2\"");
	bad_text("[server\nworkers = 2\n",
	    "x.conf:1: expected \"[section]\", got \"[server\"");
	bad_text("[server]\n = 2\n", "x.conf:2: missing key name before '='");
}

static void
test_keys_in_an_unknown_section_are_not_reported_again(void **state)
{
	struct sgw_conf c;
	struct sgw_errs e = {0};

	(void)state;
	assert_int_equal(
	    parse("[sever]\nworkers = 2\nbacklog = 9\n", &c, &e), -1);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msg[0], "x.conf:1: unknown section [sever]");
	sgw_errs_clear(&e);
}

static void
test_duplicate_key_names_the_first_line(void **state)
{
	(void)state;
	bad_text("[server]\n\n\nworkers = 2\nbacklog = 9\nworkers = 3\n",
	    "x.conf:6: \"workers\" set twice (first on line 4)");
	/* A section may be opened again, but a key still counts once. */
	bad_text("[server]\nworkers = 2\n[redis]\n[server]\nworkers = 3\n",
	    "x.conf:5: \"workers\" set twice (first on line 2)");
}

static void
test_rules_patterns_policies_and_roles(void **state)
{
	struct sgw_conf c;

	(void)state;
	ok_text("[access]\n"
	        "rule = /auth/*   anonymous\n"
	        "rule = /health   anonymous\n"
	        "rule = /ops/*    role:admin,ops,on-call\n"
	        "rule = /private* deny\n"
	        "rule = /*\tauthenticated\n",
	    &c);
	assert_int_equal(c.nrules, 5);
	assert_string_equal(c.rules[0].pattern, "/auth/");
	assert_int_equal(c.rules[0].prefix, 1);
	assert_int_equal(c.rules[0].line, 2);
	assert_string_equal(c.rules[1].pattern, "/health");
	assert_int_equal(c.rules[1].prefix, 0);
	assert_int_equal(c.rules[2].policy, SGW_POLICY_ROLE);
	assert_int_equal(c.rules[2].nroles, 3);
	assert_string_equal(c.rules[2].roles[0], "admin");
	assert_string_equal(c.rules[2].roles[1], "ops");
	assert_string_equal(c.rules[2].roles[2], "on-call");
	assert_string_equal(c.rules[3].pattern, "/private");
	assert_int_equal(c.rules[3].prefix, 1);
	assert_int_equal(c.rules[3].policy, SGW_POLICY_DENY);
	assert_null(c.rules[3].roles);
	assert_string_equal(c.rules[4].pattern, "/");
	assert_int_equal(c.rules[4].policy, SGW_POLICY_AUTHENTICATED);
	assert_int_equal(c.rules[4].line, 6);
	sgw_conf_free(&c);

	bad_text("[access]\nrule = /a*b anonymous\n",
	    "x.conf:2: rule: '*' may only end a pattern, got \"/a*b "
	    "anonymous\"");
	bad_text("[access]\nrule = admin/* deny\n",
	    "x.conf:2: rule: the pattern must be a path starting with '/'");
	bad_text("[access]\nrule = /admin/*\n",
	    "x.conf:2: rule: expected \"PATTERN POLICY\", got \"/admin/*\"");
	bad_text("[access]\nrule = /admin/* role:admin, ops\n",
	    "x.conf:2: rule: expected \"PATTERN POLICY\"");
	bad_text("[access]\nrule = /admin/* admins\n",
	    "x.conf:2: rule: expected a policy anonymous, authenticated, deny "
	    "or role:NAME[,NAME...], got \"/admin/* admins\"");
	bad_text("[access]\nrule = /admin/* role:\n",
	    "x.conf:2: rule: expected role:NAME[,NAME...] with no empty name");
	bad_text("[access]\nrule = /admin/* role:a,,b\n",
	    "x.conf:2: rule: expected role:NAME[,NAME...] with no empty name");
	bad_text("[access]\nrule =\n", "x.conf:2: rule: must not be empty");
}

static void
test_default_rules_follow_a_custom_prefix(void **state)
{
	struct sgw_conf c;

	(void)state;
	ok_text("[login]\nprefix = /sso/\n", &c);
	assert_int_equal(c.nrules, 3);
	assert_string_equal(c.rules[0].pattern, "/sso/");
	assert_int_equal(c.rules[0].prefix, 1);
	assert_int_equal(c.rules[0].policy, SGW_POLICY_ANONYMOUS);
	assert_int_equal(c.rules[0].line, 0);
	assert_string_equal(c.rules[1].pattern, "/admin/");
	assert_string_equal(c.rules[1].roles[0], "admin");
	assert_string_equal(c.rules[2].pattern, "/");
	assert_int_equal(c.rules[2].policy, SGW_POLICY_AUTHENTICATED);
	sgw_conf_free(&c);

	/* One configured rule replaces all three defaults. */
	ok_text("[access]\nrule = /* deny\n", &c);
	assert_int_equal(c.nrules, 1);
	assert_int_equal(c.rules[0].policy, SGW_POLICY_DENY);
	sgw_conf_free(&c);
}

static void
test_cross_key_checks(void **state)
{
	(void)state;
	bad_text("[session]\nabsolute_timeout = 10m\nidle_timeout = 1h\n",
	    "x.conf:3: absolute_timeout (10m) must be at least idle_timeout "
	    "(1h)");
	bad_text("[session]\nidle_timeout = 1h\nabsolute_timeout = 10m\n",
	    "x.conf:3: absolute_timeout (10m) must be at least idle_timeout");
	/* remember_me_timeout left at 30d, idle_timeout set: its line. */
	bad_text("[session]\nidle_timeout = 31d\nabsolute_timeout = 40d\n",
	    "x.conf:2: remember_me_timeout (30d) must be at least "
	    "idle_timeout (31d)");
	bad_text("[cookie]\nsame_site = none\nsecure = off\n",
	    "x.conf:3: same_site = none requires secure = on");
	bad_text("[cookie]\nsecure = off\n\nsame_site = none\n",
	    "x.conf:4: same_site = none requires secure = on");

	struct sgw_conf c;

	ok_text("[session]\nidle_timeout = 5s\nabsolute_timeout = 5s\n"
	        "remember_me_timeout = 5s\n[cookie]\nsame_site = none\n",
	    &c);
	sgw_conf_free(&c);
}

static void
test_a_bad_value_does_not_cause_a_second_cross_key_error(void **state)
{
	struct sgw_conf c;
	struct sgw_errs e = {0};

	(void)state;
	assert_int_equal(parse("[session]\nidle_timeout = 0s\n", &c, &e), -1);
	assert_int_equal(e.n, 1);
	assert_true(has_msg(&e, "x.conf:2: idle_timeout: must be greater"));
	sgw_errs_clear(&e);
}

static void
test_crlf_and_no_final_newline(void **state)
{
	struct sgw_conf c;

	(void)state;
	ok_text("[server]\r\nworkers = 7\r\nuser = nobody\r\n[access]\r\n"
	        "rule = /* deny",
	    &c);
	assert_int_equal(c.workers, 7);
	assert_string_equal(c.user, "nobody");
	assert_int_equal(c.nrules, 1);
	assert_string_equal(c.rules[0].pattern, "/");
	assert_int_equal(c.rules[0].line, 5);
	sgw_conf_free(&c);
	ok_text("\xef\xbb\xbf[server]\nworkers = 9", &c);
	assert_int_equal(c.workers, 9);
	sgw_conf_free(&c);
	bad_text("[server]\r\nworkers = 0", "x.conf:2: workers: expected");
}

static void
test_several_errors_are_collected_in_one_pass(void **state)
{
	struct sgw_conf c;
	struct sgw_errs e = {0};

	(void)state;
	assert_int_equal(parse("[server]\n"
	                       "workers = 0\n"
	                       "bogus = 1\n"
	                       "[redis]\n"
	                       "connect_timeout = 5\n"
	                       "[cookie]\n"
	                       "secure = maybe\n",
	                     &c, &e),
	    -1);
	assert_int_equal(e.n, 4);
	assert_non_null(strstr(e.msg[0], "x.conf:2: workers:"));
	assert_non_null(strstr(e.msg[1], "x.conf:3: unknown key \"bogus\""));
	assert_non_null(strstr(e.msg[2], "x.conf:5: connect_timeout:"));
	assert_non_null(strstr(e.msg[3], "x.conf:7: secure:"));
	assert_null(c.listen);
	sgw_errs_clear(&e);
}

static void
test_trailing_comments(void **state)
{
	struct sgw_conf c;

	(void)state;
	ok_text("# leading\n"
	        "[server]   # the server\n"
	        "workers = 8\t# eight\n"
	        "  # indented comment\n"
	        "user = a#b   # '#' without a blank before it is data\n",
	    &c);
	assert_int_equal(c.workers, 8);
	assert_string_equal(c.user, "a#b");
	sgw_conf_free(&c);
}

static void
test_nul_byte_is_refused(void **state)
{
	static const char text[] = "[server]\nworkers = 4\0\nbacklog = 5\n";
	struct sgw_conf c;
	struct sgw_errs e = {0};

	(void)state;
	assert_int_equal(
	    sgw_conf_parse("x.conf", text, sizeof(text) - 1, &c, &e), -1);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msg[0], "x.conf:2: NUL byte");
	sgw_errs_clear(&e);
}

static void
test_long_values_are_bounded(void **state)
{
	size_t n = 100000;
	char *text = malloc(n + 64);
	struct sgw_conf c;
	struct sgw_errs e = {0};

	(void)state;
	assert_non_null(text);
	strcpy(text, "[server]\nuser = ");
	memset(text + strlen(text), 'a', n);
	strcpy(text + 16 + n, "\n");
	assert_int_equal(parse(text, &c, &e), -1);
	assert_true(has_msg(&e, "x.conf:2: user: longer than 16384 bytes"));
	sgw_errs_clear(&e);

	/* A long bad value is quoted only in part. */
	strcpy(text, "[server]\nworkers = ");
	memset(text + strlen(text), '9', 5000);
	strcpy(text + 19 + 5000, "\n");
	assert_int_equal(parse(text, &c, &e), -1);
	assert_int_equal(e.n, 1);
	assert_true(has_msg(&e, "x.conf:2: workers: expected"));
	assert_true(has_msg(&e, "...\""));
	assert_true(strlen(e.msg[0]) < 200);
	sgw_errs_clear(&e);
	free(text);
}

static void
test_control_bytes_in_messages_are_escaped(void **state)
{
	(void)state;
	bad_text("[server]\nworkers = \x1b[31m\n",
	    "workers: expected an integer 1..1024, got \"\\x1b[31m\"");
}

static void
test_addr_parse_cases(void **state)
{
	struct sgw_addr a;
	const char *why = NULL;
	char path[200];

	(void)state;
	assert_int_equal(sgw_addr_parse("127.0.0.1:9000", 0, &a, &why), 0);
	assert_int_equal(a.is_unix, 0);
	assert_string_equal(a.host, "127.0.0.1");
	assert_int_equal(a.port, 9000);
	assert_int_equal(sgw_addr_parse("10.1.2.3:1", 0, &a, &why), 0);
	assert_int_equal(a.port, 1);
	assert_int_equal(sgw_addr_parse("10.1.2.3:65535", 0, &a, &why), 0);
	assert_int_equal(a.port, 65535);
	assert_int_equal(sgw_addr_parse("unix:/run/x.sock", 0, &a, &why), 0);
	assert_int_equal(a.is_unix, 1);
	assert_string_equal(a.path, "/run/x.sock");
	assert_int_equal(sgw_addr_parse("redis-1.local:6379", 1, &a, &why), 0);
	assert_string_equal(a.host, "redis-1.local");

	assert_int_equal(sgw_addr_parse("redis-1.local:6379", 0, &a, &why), -1);
	assert_string_equal(why, "host must be a numeric IPv4 address");
	assert_int_equal(sgw_addr_parse("127.0.0.1:0", 0, &a, &why), -1);
	assert_string_equal(why, "port must be 1..65535");
	assert_int_equal(sgw_addr_parse("127.0.0.1:65536", 0, &a, &why), -1);
	assert_int_equal(sgw_addr_parse("127.0.0.1:", 0, &a, &why), -1);
	assert_int_equal(sgw_addr_parse("127.0.0.1:-1", 0, &a, &why), -1);
	assert_int_equal(sgw_addr_parse("127.0.0.1:+80", 0, &a, &why), -1);
	assert_int_equal(sgw_addr_parse(":9000", 1, &a, &why), -1);
	assert_string_equal(why, "missing host");
	assert_int_equal(sgw_addr_parse("127.0.0.1", 0, &a, &why), -1);
	assert_string_equal(why, "missing :port");
	assert_int_equal(sgw_addr_parse("", 1, &a, &why), -1);
	assert_int_equal(sgw_addr_parse("unix:", 0, &a, &why), -1);
	assert_int_equal(sgw_addr_parse("unix:x.sock", 0, &a, &why), -1);
	assert_string_equal(why, "unix socket path must be absolute");
	assert_int_equal(sgw_addr_parse("[::1]:6379", 1, &a, &why), -1);
	assert_int_equal(sgw_addr_parse("-bad:6379", 1, &a, &why), -1);
	assert_int_equal(sgw_addr_parse("1.2.3.4.5:6379", 1, &a, &why), -1);

	/* sun_path holds 107 bytes and the NUL. */
	memcpy(path, "unix:/", 6);
	memset(path + 6, 'p', 106);
	path[112] = '\0';
	assert_int_equal(sgw_addr_parse(path, 0, &a, &why), 0);
	assert_int_equal(strlen(a.path), 107);
	path[112] = 'p';
	path[113] = '\0';
	assert_int_equal(sgw_addr_parse(path, 0, &a, &why), -1);
	assert_non_null(strstr(why, "too long"));
}

static void
test_addr_str_formats_both_kinds(void **state)
{
	struct sgw_addr a;
	char buf[160];
	char small[6];

	(void)state;
	assert_int_equal(sgw_addr_parse("127.0.0.1:9000", 0, &a, NULL), 0);
	assert_string_equal(
	    sgw_addr_str(&a, buf, sizeof(buf)), "127.0.0.1:9000");
	assert_int_equal(sgw_addr_parse("unix:/run/s", 0, &a, NULL), 0);
	assert_string_equal(sgw_addr_str(&a, buf, sizeof(buf)), "unix:/run/s");
	assert_string_equal(sgw_addr_str(&a, small, sizeof(small)), "unix:");
}

static void
test_load_missing_file(void **state)
{
	struct sgw_conf c;
	struct sgw_errs e = {0};

	(void)state;
	assert_int_equal(sgw_conf_load("/nonexistent/sgw.conf", &c, &e), -1);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msg[0],
	    "/nonexistent/sgw.conf: cannot read: "
	    "No such file or directory");
	assert_null(c.file);
	assert_null(c.listen);
	sgw_errs_clear(&e);
}

/* Writes text to a new temporary file; the caller unlinks `path`. */
static void
write_temp(char *path, const char *text)
{
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
}

static void
test_load_real_file(void **state)
{
	char path[] = "/tmp/test_conf_XXXXXX";
	struct sgw_conf c;
	struct sgw_errs e = {0};

	(void)state;
	write_temp(
	    path, "[server]\nworkers = 3\n[session]\nbind_client = on\n");
	assert_int_equal(sgw_conf_load(path, &c, &e), 0);
	assert_int_equal(e.n, 0);
	assert_string_equal(c.file, path);
	assert_int_equal(c.workers, 3);
	assert_int_equal(c.bind_client, 1);
	sgw_conf_free(&c);
	assert_null(c.file);
	unlink(path);

	strcpy(path, "/tmp/test_conf_XXXXXX");
	write_temp(path, "[server]\nworkers = 0\n");
	assert_int_equal(sgw_conf_load(path, &c, &e), -1);
	assert_int_equal(e.n, 1);
	assert_true(strncmp(e.msg[0], path, strlen(path)) == 0);
	assert_non_null(strstr(e.msg[0], ":2: workers: expected"));
	assert_null(c.file);
	unlink(path);
	sgw_errs_clear(&e);
}

static void
test_login_template_must_be_readable(void **state)
{
	char path[] = "/tmp/test_conf_tpl_XXXXXX";
	char text[128];
	struct sgw_conf c;

	(void)state;
	write_temp(path, "<html></html>\n");
	snprintf(text, sizeof(text), "[login]\ntemplate = %s\n", path);
	ok_text(text, &c);
	assert_string_equal(c.login_template, path);
	sgw_conf_free(&c);
	unlink(path);

	bad_text("[login]\n\ntemplate = /nonexistent/login.html\n",
	    "x.conf:3: template: cannot read /nonexistent/login.html: No such "
	    "file or directory");
	bad_text("[login]\ntemplate = /tmp\n",
	    "x.conf:2: template: cannot read /tmp: Is a directory");
}

/* A FIFO would block a plain open() until a writer came: -t must not
 * hang on it, and it is no page anyway. */
static void
test_login_template_fifo_is_refused_without_blocking(void **state)
{
	char dir[] = "/tmp/test_conf_fifo_XXXXXX";
	char path[64], text[128], want[160];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/page", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	snprintf(text, sizeof(text), "[login]\ntemplate = %s\n", path);
	snprintf(want, sizeof(want),
	    "x.conf:2: template: %s is not a regular file", path);
	alarm(5); /* a blocking open fails the test instead of hanging it */
	bad_text(text, want);
	alarm(0);
	unlink(path);
	rmdir(dir);
}

/* Issue 8: each backend's section is its own table, [store] names one of
 * them, and text that ends up in keys, cookies or paths has a bound that
 * -t enforces (a 1 KB key_prefix once made distinct sessions collide). */
static void
test_store_sections_and_string_bounds(void **state)
{
	struct sgw_conf c;
	char text[1400], big[1100];

	(void)state;
	ok_text("[store]\nbackend = postgres\ncleanup_interval = 30s\n"
	        "[lmdb]\npath = /srv/sgw\nmap_size = 1m\nsync = on\n"
	        "[postgres]\nconninfo = host=db dbname=x\ntable_prefix = gw_\n",
	    &c);
	assert_string_equal(c.store_backend, "postgres");
	assert_int_equal(c.cleanup_interval_ms, 30000);
	assert_non_null(sgw_conf_backend(&c, "lmdb"));
	assert_non_null(sgw_conf_backend(&c, "postgres"));
	assert_non_null(sgw_conf_backend(&c, "redis"));
	assert_null(sgw_conf_backend(&c, "memcached"));
	sgw_conf_free(&c);
	ok_text("", &c);
	assert_string_equal(c.store_backend, "lmdb");
	assert_int_equal(c.bind_user_agent, 0);
	sgw_conf_free(&c);
	bad_text("[store]\nbackend = memcached\n",
	    "x.conf:2: backend: unknown store \"memcached\" (one of lmdb, "
	    "postgres, redis)");
	bad_text("[lmdb]\naddress = 127.0.0.1:6379\n",
	    "x.conf:2: unknown key \"address\" in [lmdb] (it belongs in "
	    "[redis])");
	bad_text(
	    "[store]\ncleanup_interval = 0s\n", "x.conf:2: cleanup_interval:");
	bad_text("[session]\nbind_user_agent = maybe\n",
	    "x.conf:2: bind_user_agent:");

	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(text, sizeof(text), "[redis]\nkey_prefix = %.129s\n", big);
	bad_text(text, "x.conf:2: key_prefix: longer than 128 bytes");
	snprintf(text, sizeof(text), "[redis]\nkey_prefix = %.128s\n", big);
	ok_text(text, &c);
	sgw_conf_free(&c);
	snprintf(text, sizeof(text), "[cookie]\nname = %.65s\n", big);
	bad_text(text, "x.conf:2: name: longer than 64 bytes");
	snprintf(text, sizeof(text), "[cookie]\npath = /%.256s\n", big);
	bad_text(text, "x.conf:2: path: longer than 256 bytes");
	snprintf(text, sizeof(text), "[login]\nprefix = /%.128s\n", big);
	bad_text(text, "x.conf:2: prefix: longer than 128 bytes");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults_equal_spec_values),
	    cmocka_unit_test(test_empty_file_gives_the_defaults),
	    cmocka_unit_test(test_spec_sample_parses_to_the_defaults),
	    cmocka_unit_test(test_integers_good_and_out_of_range),
	    cmocka_unit_test(test_duration_parse_units),
	    cmocka_unit_test(test_duration_keys_good_and_bad),
	    cmocka_unit_test(test_sizes_good_and_bad),
	    cmocka_unit_test(test_booleans_are_on_or_off_only),
	    cmocka_unit_test(test_listen_mode_is_octal_up_to_0777),
	    cmocka_unit_test(test_log_level_and_same_site_words),
	    cmocka_unit_test(test_listen_is_numeric_ipv4_or_unix),
	    cmocka_unit_test(test_redis_address_sentinels_and_metrics),
	    cmocka_unit_test(test_store_sections_and_string_bounds),
	    cmocka_unit_test(test_address_lists_are_normalised),
	    cmocka_unit_test(
	        test_strings_may_be_empty_only_when_the_default_is),
	    cmocka_unit_test(test_paths_prefix_and_cookie_name),
	    cmocka_unit_test(test_login_url_default_follows_prefix),
	    cmocka_unit_test(test_cookie_prefix_names_need_matching_attributes),
	    cmocka_unit_test(test_unknown_section_and_key),
	    cmocka_unit_test(
	        test_keys_in_an_unknown_section_are_not_reported_again),
	    cmocka_unit_test(test_duplicate_key_names_the_first_line),
	    cmocka_unit_test(test_rules_patterns_policies_and_roles),
	    cmocka_unit_test(test_default_rules_follow_a_custom_prefix),
	    cmocka_unit_test(test_cross_key_checks),
	    cmocka_unit_test(
	        test_a_bad_value_does_not_cause_a_second_cross_key_error),
	    cmocka_unit_test(test_crlf_and_no_final_newline),
	    cmocka_unit_test(test_several_errors_are_collected_in_one_pass),
	    cmocka_unit_test(test_trailing_comments),
	    cmocka_unit_test(test_nul_byte_is_refused),
	    cmocka_unit_test(test_long_values_are_bounded),
	    cmocka_unit_test(test_control_bytes_in_messages_are_escaped),
	    cmocka_unit_test(test_addr_parse_cases),
	    cmocka_unit_test(test_addr_str_formats_both_kinds),
	    cmocka_unit_test(test_load_missing_file),
	    cmocka_unit_test(test_load_real_file),
	    cmocka_unit_test(test_login_template_must_be_readable),
	    cmocka_unit_test(
	        test_login_template_fifo_is_refused_without_blocking),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
