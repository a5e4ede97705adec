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
	int is_unix;    /* 1: `path` is set; 0: `host` and `port` are */
	char host[256]; /* numeric IPv4 or a host name (redis only) */
	int port;       /* 1..65535 */
	char path[108]; /* unix socket path (sun_path size) */
};

enum sgw_policy {
	SGW_POLICY_ANONYMOUS,
	SGW_POLICY_AUTHENTICATED,
	SGW_POLICY_ROLE,
	SGW_POLICY_DENY,
};

struct sgw_rule {
	char *pattern; /* without the trailing '*' */
	int prefix;    /* 1 when the pattern ended in '*' */
	enum sgw_policy policy;
	char **roles; /* SGW_POLICY_ROLE: the accepted roles */
	size_t nroles;
	unsigned line; /* where it was configured (0 = default) */
};

enum sgw_same_site {
	SGW_SAME_SITE_STRICT,
	SGW_SAME_SITE_LAX,
	SGW_SAME_SITE_NONE
};
enum sgw_log_level { SGW_LOG_ERROR, SGW_LOG_WARN, SGW_LOG_INFO, SGW_LOG_DEBUG };

struct sgw_conf;

/*
 * The rows of a configuration table. lib/conf.c holds the table of the
 * sections every gateway has; each store backend holds the rows of its
 * own section (struct sgw_store_backend), whose offsets point into that
 * backend's options struct instead of struct sgw_conf.
 */
enum sgw_conf_type {
	SGW_T_STR,      /* any text; max, when set, is the longest in bytes */
	SGW_T_PATH,     /* a local URL path: "/..." */
	SGW_T_PREFIX,   /* a path stored without its trailing '/' */
	SGW_T_TOKEN,    /* an RFC 6265 cookie name */
	SGW_T_DOMAIN,   /* a cookie domain, lower-cased */
	SGW_T_ADDR,     /* host:port or unix:/path, kept as text and parsed */
	SGW_T_DURATION, /* int64_t milliseconds */
	SGW_T_SIZE,     /* size_t bytes, with k or m */
	SGW_T_INT,      /* int */
	SGW_T_INT64,    /* int64_t */
	SGW_T_BOOL,     /* int 0/1 from on/off */
	SGW_T_MODE,     /* mode_t, octal */
	SGW_T_LOGLEVEL, /* enum sgw_log_level */
	SGW_T_SAMESITE, /* enum sgw_same_site */
	SGW_T_IPV4LIST, /* IPv4 addresses, kept as "a,b,c" */
	SGW_T_CIDRLIST, /* struct sgw_cidr array + count */
	SGW_T_HOSTLIST, /* lower-case char * array + count */
	SGW_T_ADDRLIST, /* struct sgw_addr array + count (host:port only) */
	SGW_T_RULE,     /* appends one struct sgw_rule */
	SGW_T_NTYPES
};

#define SGW_K_EMPTY 0x01  /* an empty value is allowed */
#define SGW_K_REPEAT 0x02 /* may appear more than once; each line adds */
#define SGW_K_NAMES 0x04  /* addresses: host names, not only numeric IPv4 */
#define SGW_K_NOUNIX 0x08 /* addresses: host:port only */
#define SGW_K_SECRET 0x10 /* wiped in processes that must not hold it */

struct sgw_conf_key {
	const char *section;
	const char *name;
	enum sgw_conf_type type;
	unsigned flags;  /* SGW_K_* */
	int64_t min;     /* numbers and durations: the accepted range */
	int64_t max;     /* ...; strings: the longest value, 0 = VALUE_MAX */
	const char *def; /* parsed like a file's value; NULL: no default */
	size_t off;      /* the field in the table's struct */
	size_t off2;     /* SGW_T_ADDR: the parsed address; lists: the count */
};

/* Every key the configuration knows, global and per backend, in the
 * order `sessiongw.conf(5)` documents them; n gets the count. Each
 * element points at a row of some table. */
const struct sgw_conf_key *const *sgw_conf_keys(size_t *n);

/* The options struct of the backend called name (a struct
 * sgw_<name>_conf), or NULL when no such backend is registered. */
void *sgw_conf_backend(const struct sgw_conf *conf, const char *name);

/* Wipes every key marked SGW_K_SECRET (passwords) in place. */
void sgw_conf_wipe_secrets(struct sgw_conf *conf);

/* Durations are milliseconds; sizes are bytes; booleans are 0/1. Strings
 * are owned by the struct and never NULL (an empty value is ""). */
struct sgw_conf {
	char *file; /* the file it was read from */

	/* [server] */
	char *listen;                /* as written */
	struct sgw_addr listen_addr; /* parsed */
	mode_t listen_mode;
	int backlog;
	int workers;           /* 1..1024 */
	int64_t max_requests;  /* 0 = never recycle */
	char *allowed_clients; /* comma-separated IPv4, "" = anyone */
	enum sgw_log_level log_level;
	char *log_file; /* "" = stderr */
	size_t max_body;
	int64_t request_timeout_ms; /* a whole request must arrive within it */
	char *user;                 /* "" = stay who we are */
	char *metrics_listen;       /* "" = off */
	struct sgw_addr metrics_addr; /* parsed when metrics_listen is set */

	/* [store] */
	char *store_backend;         /* a name from the store registry */
	int64_t cleanup_interval_ms; /* the sweeper's period */
	void **backend_opts;         /* one options struct per registered
	                              * backend, in registry order: see
	                              * sgw_conf_backend() */

	/* [session] */
	int64_t idle_timeout_ms;
	int64_t absolute_timeout_ms;
	int64_t remember_me_timeout_ms;
	int max_per_user; /* 0 = unlimited */
	int bind_client;
	int bind_user_agent;
	char *users_file;
	char *secret_file;

	/* [cookie] */
	char *cookie_name;
	char *cookie_domain; /* "" = host-only */
	char *cookie_path;
	int cookie_secure;
	enum sgw_same_site same_site;

	/* [login] */
	char *prefix; /* no trailing slash, e.g. "/auth" */
	char *default_redirect;
	char **redirect_hosts; /* lower-case host names */
	size_t nredirect_hosts;
	int max_failures;
	int max_client_failures;
	int64_t failure_window_ms;
	int64_t lockout_ms;

	/* [access] */
	struct sgw_cidr *trusted_proxies;
	size_t ntrusted_proxies;
	char *login_url;
	struct sgw_rule *rules; /* first match wins */
	size_t nrules;          /* when none is configured, the SPEC
	                         * defaults: "PREFIX/[*] anonymous",
	                         * "/admin/[*] role:admin" and
	                         * "/[*] authenticated" ([*] is a star) */
	char *login_template;   /* [login] template: "" = built-in page */
};

/*
 * Reads and validates FILE into *conf (which it first fills with the
 * defaults). Returns 0, or -1 with every problem appended to errs as
 * "FILE:LINE: message" (or "FILE: message" when the file cannot be read).
 * On -1 *conf is freed and zeroed. The caller frees *conf with
 * sgw_conf_free().
 */
int sgw_conf_load(
    const char *file, struct sgw_conf *conf, struct sgw_errs *errs);

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
int sgw_addr_parse(
    const char *s, int allow_names, struct sgw_addr *out, const char **why);

/* Formats an address for messages: "127.0.0.1:9000" or "unix:/path". */
const char *sgw_addr_str(const struct sgw_addr *a, char *buf, size_t len);

/* "500ms", "30s", "15m", "12h", "30d" into milliseconds. -1 when malformed
 * or it overflows. */
int sgw_duration_parse(const char *s, int64_t *ms);

#endif
