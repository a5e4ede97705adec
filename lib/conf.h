/*
 * conf: the configuration file of SPEC section 4.
 *
 * One table (conf.c) names every key: section, name, type, range, default
 * and where the value lands in struct sgw_conf. Parsing, defaults, `-t`
 * and the error messages all come from that table.
 */
#ifndef SGW_CONF_H
#define SGW_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cidr.h"
#include "errs.h"

/* An address to listen on or connect to: IPv4 host:port or unix:/path. */
struct sgw_addr {
	int is_unix;      /* 1: `path` is set; 0: `host` and `port` are */
	char host[256];   /* numeric IPv4 or a host name (redis only) */
	int port;         /* 1..65535 */
	char path[108];   /* unix socket path (sun_path size) */
};

enum sgw_policy {
	SGW_POLICY_ANONYMOUS,
	SGW_POLICY_AUTHENTICATED,
	SGW_POLICY_ROLE,
	SGW_POLICY_DENY,
};

struct sgw_rule {
	char *pattern;          /* without the trailing '*' */
	int prefix;             /* 1 when the pattern ended in '*' */
	enum sgw_policy policy;
	char **roles;           /* SGW_POLICY_ROLE: the accepted roles */
	size_t nroles;
	unsigned line;          /* where it was configured (0 = default) */
};

enum sgw_same_site { SGW_SAME_SITE_STRICT, SGW_SAME_SITE_LAX, SGW_SAME_SITE_NONE };
enum sgw_log_level { SGW_LOG_ERROR, SGW_LOG_WARN, SGW_LOG_INFO, SGW_LOG_DEBUG };

/* Durations are milliseconds; sizes are bytes; booleans are 0/1. Strings
 * are owned by the struct and never NULL (an empty value is ""). */
struct sgw_conf {
	char *file; /* the file it was read from */

	/* [server] */
	char *listen;                 /* as written */
	struct sgw_addr listen_addr;  /* parsed */
	mode_t listen_mode;
	int backlog;
	int workers;                  /* 1..1024 */
	int64_t max_requests;         /* 0 = never recycle */
	char *allowed_clients;        /* comma-separated IPv4, "" = anyone */
	enum sgw_log_level log_level;
	char *log_file;               /* "" = stderr */
	size_t max_body;
	char *user;                   /* "" = stay who we are */
	char *metrics_listen;         /* "" = off */
	struct sgw_addr metrics_addr; /* parsed when metrics_listen is set */

	/* [redis] */
	char *redis_address;
	struct sgw_addr redis_addr;
	struct sgw_addr *sentinels; /* from the space/comma separated list */
	size_t nsentinels;
	char *sentinel_master;
	char *redis_username;
	char *redis_password;
	int redis_database;           /* 0..15 is not enforced: 0..1000000 */
	char *key_prefix;
	int64_t connect_timeout_ms;
	int64_t command_timeout_ms;

	/* [session] */
	int64_t idle_timeout_ms;
	int64_t absolute_timeout_ms;
	int64_t remember_me_timeout_ms;
	int max_per_user;             /* 0 = unlimited */
	int bind_client;
	char *users_file;
	char *secret_file;

	/* [cookie] */
	char *cookie_name;
	char *cookie_domain;          /* "" = host-only */
	char *cookie_path;
	int cookie_secure;
	enum sgw_same_site same_site;

	/* [login] */
	char *prefix;                 /* no trailing slash, e.g. "/auth" */
	char *default_redirect;
	char **redirect_hosts;        /* lower-case host names */
	size_t nredirect_hosts;
	int max_failures;
	int max_client_failures;
	int64_t failure_window_ms;
	int64_t lockout_ms;

	/* [access] */
	struct sgw_cidr *trusted_proxies;
	size_t ntrusted_proxies;
	char *login_url;
	struct sgw_rule *rules;       /* first match wins */
	size_t nrules;                /* when none is configured, the SPEC
	                               * defaults: "PREFIX/[*] anonymous",
	                               * "/admin/[*] role:admin" and
	                               * "/[*] authenticated" ([*] is a star) */
	char *login_template;         /* [login] template: "" = built-in page */
};

/*
 * Reads and validates FILE into *conf (which it first fills with the
 * defaults). Returns 0, or -1 with every problem appended to errs as
 * "FILE:LINE: message" (or "FILE: message" when the file cannot be read).
 * On -1 *conf is freed and zeroed. The caller frees *conf with
 * sgw_conf_free().
 */
int sgw_conf_load(const char *file, struct sgw_conf *conf, struct sgw_errs *errs);

/* The same from a buffer; `file` only names it in messages. */
int sgw_conf_parse(const char *file, const char *text, size_t len,
    struct sgw_conf *conf, struct sgw_errs *errs);

/* Fills *conf with the defaults only (no file). Returns 0 or -1 on OOM. */
int sgw_conf_defaults(struct sgw_conf *conf);

/* Frees what *conf owns and zeroes it; accepts a zeroed struct. */
void sgw_conf_free(struct sgw_conf *conf);

/* "127.0.0.1:9000" or "unix:/path" into *out. Returns 0 or -1 with a short
 * reason in *why (a static string). Host names are allowed only when
 * allow_names is set (Redis); listen addresses must be numeric IPv4. */
int sgw_addr_parse(const char *s, int allow_names, struct sgw_addr *out,
    const char **why);

/* Formats an address for messages: "127.0.0.1:9000" or "unix:/path". */
const char *sgw_addr_str(const struct sgw_addr *a, char *buf, size_t len);

/* "500ms", "30s", "15m", "12h", "30d" into milliseconds. -1 when malformed
 * or it overflows. */
int sgw_duration_parse(const char *s, int64_t *ms);

#endif
