/*
 * conf: the configuration file of SPEC section 4.
 *
 * Every key is one row of `keys` below: section, name, type, flags, range,
 * default text and where the value lands in struct sgw_conf. Defaults are
 * not written twice: each row's default text goes through the same setter
 * as a value read from a file, so a default can never be something the
 * parser would refuse, and adding a key is one row (plus its field).
 *
 * The parser keeps going after a problem so that `sessiongw -t` shows the
 * operator every mistake at once, each as "FILE:LINE: message".
 */
#include "conf.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chars.h"
#include "fileio.h"

#define KIB ((int64_t)1024)
#define MIB (1024 * KIB)
#define SEC ((int64_t)1000)
#define MINUTE (60 * SEC)
#define HOUR (60 * MINUTE)
#define DAY (24 * HOUR)

/* Durations are added to "now" and handed to Redis as PX values; ten
 * years keeps every such sum far from overflow and is longer than any
 * browser keeps a cookie. */
#define DURATION_MAX (3650 * DAY)
/* No sensible value is this long; the bound keeps a wrong file given to
 * -c from turning into huge allocations and messages. */
#define VALUE_MAX 16384
#define FILE_MAX (1024 * 1024)
/* How much of a bad value a message repeats, and the room that takes
 * once every byte may become "\xNN". */
#define SHOW_MAX 64
#define SHOW_LEN (SHOW_MAX * 4 + 8)
#define WHY_LEN 512
#define MSG_LEN 1024

#define F(field) offsetof(struct sgw_conf, field)

/* clang-format off */
static const struct sgw_conf_key global_keys[] = {
	/* section    name                   type         flags               min  max           default                   field                    parsed or count */
	{ "server",  "listen",              SGW_T_ADDR,      0,                  0,   0,            "127.0.0.1:9000",         F(listen),               F(listen_addr) },
	{ "server",  "listen_mode",         SGW_T_MODE,      0,                  0,   0777,         "0660",                   F(listen_mode),          0 },
	{ "server",  "backlog",             SGW_T_INT,       0,                  1,   65535,        "1024",                   F(backlog),              0 },
	{ "server",  "workers",             SGW_T_INT,       0,                  1,   1024,         "4",                      F(workers),              0 },
	{ "server",  "max_requests",        SGW_T_INT64,     0,                  0,   INT64_MAX,    "0",                      F(max_requests),         0 },
	{ "server",  "allowed_clients",     SGW_T_IPV4LIST,  SGW_K_EMPTY,            0,   0,            "127.0.0.1",              F(allowed_clients),      0 },
	{ "server",  "log_level",           SGW_T_LOGLEVEL,  0,                  0,   0,            "info",                   F(log_level),            0 },
	{ "server",  "log_file",            SGW_T_STR,       SGW_K_EMPTY,            0,   4095,            "",                       F(log_file),             0 },
	{ "server",  "max_body",            SGW_T_SIZE,      0,                  1,   16 * MIB,     "16k",                    F(max_body),             0 },
	{ "server",  "request_timeout",     SGW_T_DURATION,  0,                  1,   DURATION_MAX, "5s",                     F(request_timeout_ms),   0 },
	{ "server",  "user",                SGW_T_STR,       SGW_K_EMPTY,            0,   32,            "",                       F(user),                 0 },
	{ "server",  "metrics_listen",      SGW_T_ADDR,      SGW_K_EMPTY | SGW_K_NOUNIX, 0,   0,            "",                       F(metrics_listen),       F(metrics_addr) },
	{ "store",   "backend",             SGW_T_STR,   0,                  0,   32,           "lmdb",                   F(store_backend),        0 },
	{ "store",   "cleanup_interval",    SGW_T_DURATION, 0,               1,   DURATION_MAX, "1m",                     F(cleanup_interval_ms),  0 },
	{ "session", "idle_timeout",        SGW_T_DURATION,  0,                  1,   DURATION_MAX, "30m",                    F(idle_timeout_ms),      0 },
	{ "session", "absolute_timeout",    SGW_T_DURATION,  0,                  1,   DURATION_MAX, "12h",                    F(absolute_timeout_ms),  0 },
	{ "session", "remember_me_timeout", SGW_T_DURATION,  0,                  1,   DURATION_MAX, "30d",                    F(remember_me_timeout_ms), 0 },
	{ "session", "max_per_user",        SGW_T_INT,       0,                  0,   INT_MAX,      "0",                      F(max_per_user),         0 },
	{ "session", "bind_client",         SGW_T_BOOL,      0,                  0,   0,            "off",                    F(bind_client),          0 },
	{ "session", "bind_user_agent",     SGW_T_BOOL,      0,                  0,   0,            "off",                    F(bind_user_agent),      0 },
	{ "session", "users_file",          SGW_T_STR,       0,                  0,   4095,            "/etc/sessiongw/users",   F(users_file),           0 },
	{ "session", "secret_file",         SGW_T_STR,       0,                  0,   4095,            "/etc/sessiongw/secret",  F(secret_file),          0 },
	{ "cookie",  "name",                SGW_T_TOKEN,     0,                  0,   64,            "sgw_session",            F(cookie_name),          0 },
	{ "cookie",  "domain",              SGW_T_DOMAIN,    SGW_K_EMPTY,            0,   0,            "",                       F(cookie_domain),        0 },
	{ "cookie",  "path",                SGW_T_PATH,      0,                  0,   256,            "/",                      F(cookie_path),          0 },
	{ "cookie",  "secure",              SGW_T_BOOL,      0,                  0,   0,            "on",                     F(cookie_secure),        0 },
	{ "cookie",  "same_site",           SGW_T_SAMESITE,  0,                  0,   0,            "lax",                    F(same_site),            0 },
	{ "login",   "prefix",              SGW_T_PREFIX,    0,                  0,   128,            "/auth",                  F(prefix),               0 },
	{ "login",   "default_redirect",    SGW_T_PATH,      0,                  0,   2048,            "/",                      F(default_redirect),     0 },
	{ "login",   "redirect_hosts",      SGW_T_HOSTLIST,  SGW_K_EMPTY,            0,   0,            "",                       F(redirect_hosts),       F(nredirect_hosts) },
	{ "login",   "max_failures",        SGW_T_INT,       0,                  1,   INT_MAX,      "5",                      F(max_failures),         0 },
	{ "login",   "max_client_failures", SGW_T_INT,       0,                  1,   INT_MAX,      "50",                     F(max_client_failures),  0 },
	{ "login",   "failure_window",      SGW_T_DURATION,  0,                  1,   DURATION_MAX, "15m",                    F(failure_window_ms),    0 },
	{ "login",   "lockout",             SGW_T_DURATION,  0,                  1,   DURATION_MAX, "15m",                    F(lockout_ms),           0 },
	{ "login",   "template",            SGW_T_STR,       SGW_K_EMPTY,            0,   4095,            "",                       F(login_template),       0 },
	{ "access",  "trusted_proxies",     SGW_T_CIDRLIST,  SGW_K_EMPTY,            0,   0,            "",                       F(trusted_proxies),      F(ntrusted_proxies) },
	{ "access",  "login_url",           SGW_T_PATH,      0,                  0,   2048,            "/auth/login",            F(login_url),            0 },
	/* No default row text: the default rules depend on [login] prefix,
	 * so they are installed after the file is read (default_rules()). */
	{ "access",  "rule",                SGW_T_RULE,      SGW_K_REPEAT,           0,   0,            NULL,                     F(rules),                F(nrules) },
};
/* clang-format on */

#define NGLOBAL (sizeof(global_keys) / sizeof(global_keys[0]))
/* Room for the global rows and every backend's. */
#define NKEYS_MAX 128

/*
 * Every row, global and per backend, in documentation order: the global
 * rows up to [store], then each backend's section, then the rest. A row
 * of a backend's table lands in that backend's options struct (owner is
 * its registry index); a global row in struct sgw_conf (owner -1).
 */
static const struct sgw_conf_key *keys_all[NKEYS_MAX];
static int owner_of[NKEYS_MAX];
static size_t nkeys;

static void
build_keys(void)
{
	const struct sgw_store_backend *const *bv;
	size_t nb, i = 0;

	if (nkeys > 0)
		return;
	bv = sgw_store_backends(&nb);
	for (; i < NGLOBAL && strcmp(global_keys[i].section, "session") != 0;
	     i++) {
		owner_of[nkeys] = -1;
		keys_all[nkeys++] = &global_keys[i];
	}
	for (size_t b = 0; b < nb; b++) {
		for (size_t j = 0; j < bv[b]->nkeys && nkeys < NKEYS_MAX; j++) {
			owner_of[nkeys] = (int)b;
			keys_all[nkeys++] = &bv[b]->keys[j];
		}
	}
	for (; i < NGLOBAL && nkeys < NKEYS_MAX; i++) {
		owner_of[nkeys] = -1;
		keys_all[nkeys++] = &global_keys[i];
	}
}

const struct sgw_conf_key *const *
sgw_conf_keys(size_t *n)
{
	build_keys();
	*n = nkeys;
	return keys_all;
}

/* Where row i's value lives in conf. */
static void *
base_of(struct sgw_conf *c, size_t i)
{
	if (owner_of[i] < 0)
		return c;
	return c->backend_opts != NULL ? c->backend_opts[owner_of[i]] : NULL;
}

void *
sgw_conf_backend(const struct sgw_conf *conf, const char *name)
{
	const struct sgw_store_backend *const *bv;
	size_t nb;

	bv = sgw_store_backends(&nb);
	for (size_t b = 0; b < nb && conf->backend_opts != NULL; b++) {
		if (strcmp(bv[b]->name, name) == 0)
			return conf->backend_opts[b];
	}
	return NULL;
}

/* Each backend's options struct, zeroed, before any row is set. */
static int
alloc_backends(struct sgw_conf *c)
{
	size_t nb;
	const struct sgw_store_backend *const *bv = sgw_store_backends(&nb);

	if ((c->backend_opts = calloc(nb > 0 ? nb : 1, sizeof(void *))) == NULL)
		return -1;
	for (size_t b = 0; b < nb; b++) {
		if ((c->backend_opts[b] = calloc(1, bv[b]->conf_size)) == NULL)
			return -1;
	}
	return 0;
}

#define NKEYS (build_keys(), nkeys)
#define keys(i) (*keys_all[i])

/* One value on its way into the struct. */
struct val {
	const char *v;     /* trimmed, NUL-terminated */
	char q[SHOW_LEN];  /* v quoted for messages */
	unsigned line;     /* 0 for defaults */
	char why[WHY_LEN]; /* what is wrong, when a setter fails */
};

/* One pass over a file. */
struct ctx {
	const char *file;
	struct sgw_errs *errs;
	unsigned nerr;                /* problems found in this pass */
	const char *section;          /* current section; NULL before any */
	int section_bad;              /* inside an unknown [section] */
	unsigned seen[NKEYS_MAX];     /* line a key was first set on, 0 = not */
	unsigned char bad[NKEYS_MAX]; /* the key's value was refused */
};

static void *
field(void *c, size_t off)
{
	return (char *)c + off;
}

/*
 * Writes v for a message: printable ASCII as is, anything else as \xNN,
 * at most SHOW_MAX bytes of it, in double quotes when `quote` is set. The
 * file is the operator's, but `-t` prints to a terminal, so bytes that a
 * terminal would act on are never passed through.
 */
static const char *
show(const char *v, char *buf, int quote)
{
	size_t o = 0, i;

	if (quote)
		buf[o++] = '"';
	for (i = 0; v[i] != '\0' && i < SHOW_MAX; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (ch < 0x20 || ch >= 0x7f) {
			snprintf(buf + o, SHOW_LEN - o, "\\x%02x", ch);
			o += 4;
			continue;
		}
		if (quote && (ch == '"' || ch == '\\'))
			buf[o++] = '\\';
		buf[o++] = (char)ch;
	}
	if (v[i] != '\0') {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	if (quote)
		buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

static int fail(struct val *in, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Records why a value was refused; returns -1 for the setter to pass on. */
static int
fail(struct val *in, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(in->why, sizeof(in->why), fmt, ap);
	va_end(ap);
	return -1;
}

static void report(struct ctx *x, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Adds "FILE:LINE: message" (or "FILE: message" for line 0). */
static void
report(struct ctx *x, unsigned line, const char *fmt, ...)
{
	char msg[MSG_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	x->nerr++;
	if (line > 0)
		sgw_errs_add(x->errs, "%s:%u: %s", x->file, line, msg);
	else
		sgw_errs_add(x->errs, "%s: %s", x->file, msg);
}

/* The next item of s separated by any of `seps`, NUL-terminated in place;
 * NULL when none is left. */
static char *
next_item(char **cur, const char *seps)
{
	char *s = *cur + strspn(*cur, seps);
	char *e;

	if (*s == '\0') {
		*cur = s;
		return NULL;
	}
	e = s + strcspn(s, seps);
	if (*e != '\0')
		*e++ = '\0';
	*cur = e;
	return s;
}

static size_t
count_items(const char *s, const char *seps)
{
	size_t n = 0;

	for (;;) {
		s += strspn(s, seps);
		if (*s == '\0')
			return n;
		n++;
		s += strcspn(s, seps);
	}
}

/* Lists may be written "a,b", "a, b" or "a b". */
#define LIST_SEPS ", \t"

static int
has_control(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	}
	return 0;
}

/*
 * A DNS name or a dotted quad: letters, digits, '.', '-', starting with a
 * letter or digit. Something made only of digits and dots must be a valid
 * IPv4 address, so a mistyped "10.0.0.256" is refused here instead of
 * failing a DNS lookup at run time.
 */
static const char *
host_problem(const char *s)
{
	size_t n = strlen(s);
	uint32_t ip;

	if (n == 0)
		return "missing host";
	if (n > 253)
		return "host name too long";
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
	        (s[0] >= '0' && s[0] <= '9')))
		return "host name must start with a letter or digit";
	for (size_t i = 0; i < n; i++) {
		if (!sgw_is_host_char(s[i]))
			return "host name may hold only letters, digits, '.' "
			       "and '-'";
	}
	if (strspn(s, "0123456789.") == n && sgw_ipv4_parse(s, &ip) < 0)
		return "not a valid IPv4 address";
	return NULL;
}

/* Digits only, into *out; -1 on anything else or overflow. */
static int
parse_digits(const char *s, size_t n, int64_t *out)
{
	int64_t v = 0;

	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = s[i] - '0';
		if (v > (INT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* A decimal integer with an optional '-' and nothing else around it. */
static int
parse_int(const char *s, int64_t *out)
{
	const char *d = s[0] == '-' ? s + 1 : s;
	char *end;
	long long v;

	/* strtoll would also take leading blanks, '+' and "0x". */
	if (*d < '0' || *d > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

static int
parse_duration(const char *s, int64_t *ms, const char **why)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {
	    {"ms", 1},
	    {"s", SEC},
	    {"m", MINUTE},
	    {"h", HOUR},
	    {"d", DAY},
	};
	size_t n = strspn(s, "0123456789");
	int64_t v;

	if (n == 0) {
		*why = "not a number";
		return -1;
	}
	if (parse_digits(s, n, &v) < 0) {
		*why = "too large";
		return -1;
	}
	if (s[n] == '\0') {
		*why = "missing unit";
		return -1;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(s + n, units[i].unit) != 0)
			continue;
		if (v > INT64_MAX / units[i].ms) {
			*why = "too large";
			return -1;
		}
		*ms = v * units[i].ms;
		return 0;
	}
	*why = "unknown unit";
	return -1;
}

int
sgw_duration_parse(const char *s, int64_t *ms)
{
	const char *why;
	int64_t v;

	if (s == NULL || ms == NULL || parse_duration(s, &v, &why) < 0)
		return -1;
	*ms = v;
	return 0;
}

/* The largest unit that states ms exactly: 90000 is "90s", 7200000 "2h". */
static const char *
fmt_duration(int64_t ms, char *buf, size_t len)
{
	if (ms != 0 && ms % DAY == 0)
		snprintf(buf, len, "%" PRId64 "d", ms / DAY);
	else if (ms != 0 && ms % HOUR == 0)
		snprintf(buf, len, "%" PRId64 "h", ms / HOUR);
	else if (ms != 0 && ms % MINUTE == 0)
		snprintf(buf, len, "%" PRId64 "m", ms / MINUTE);
	else if (ms != 0 && ms % SEC == 0)
		snprintf(buf, len, "%" PRId64 "s", ms / SEC);
	else
		snprintf(buf, len, "%" PRId64 "ms", ms);
	return buf;
}

static const char *
fmt_size(int64_t n, char *buf, size_t len)
{
	if (n != 0 && n % MIB == 0)
		snprintf(buf, len, "%" PRId64 "m", n / MIB);
	else if (n != 0 && n % KIB == 0)
		snprintf(buf, len, "%" PRId64 "k", n / KIB);
	else
		snprintf(buf, len, "%" PRId64, n);
	return buf;
}

int
sgw_addr_parse(
    const char *s, int allow_names, struct sgw_addr *out, const char **why)
{
	const char *ignored;
	struct sgw_addr a;
	const char *colon, *problem;
	size_t hlen;
	int64_t port;
	uint32_t ip;

	if (why == NULL)
		why = &ignored;
	if (s == NULL || out == NULL || s[0] == '\0') {
		*why = "empty address";
		return -1;
	}
	memset(&a, 0, sizeof(a));
	if (strncmp(s, "unix:", 5) == 0) {
		const char *path = s + 5;
		size_t plen = strlen(path);

		if (plen == 0) {
			*why = "missing unix socket path";
			return -1;
		}
		if (path[0] != '/') {
			*why = "unix socket path must be absolute";
			return -1;
		}
		if (plen >= sizeof(a.path)) {
			*why = "unix socket path too long (107 bytes at most)";
			return -1;
		}
		a.is_unix = 1;
		memcpy(a.path, path, plen + 1);
		*out = a;
		return 0;
	}
	colon = strrchr(s, ':');
	if (colon == NULL) {
		*why = "missing :port";
		return -1;
	}
	if (parse_digits(colon + 1, strlen(colon + 1), &port) < 0 || port < 1 ||
	    port > 65535) {
		*why = "port must be 1..65535";
		return -1;
	}
	hlen = (size_t)(colon - s);
	if (hlen == 0) {
		*why = "missing host";
		return -1;
	}
	if (hlen >= sizeof(a.host)) {
		*why = "host name too long";
		return -1;
	}
	memcpy(a.host, s, hlen);
	a.host[hlen] = '\0';
	if (!allow_names) {
		if (sgw_ipv4_parse(a.host, &ip) < 0) {
			*why = "host must be a numeric IPv4 address";
			return -1;
		}
	} else if ((problem = host_problem(a.host)) != NULL) {
		*why = problem;
		return -1;
	}
	a.port = (int)port;
	*out = a;
	return 0;
}

const char *
sgw_addr_str(const struct sgw_addr *a, char *buf, size_t len)
{
	if (buf == NULL || len == 0)
		return buf;
	if (a == NULL)
		snprintf(buf, len, "(none)");
	else if (a->is_unix)
		snprintf(buf, len, "unix:%s", a->path);
	else
		snprintf(buf, len, "%s:%d", a->host, a->port);
	return buf;
}

/* Setters: each turns in->v into the row's field, or fails with in->why
 * and leaves the field as it was. */

static int
replace_str(void *c, size_t off, const char *v, struct val *in)
{
	char **sp = field(c, off);
	char *dup = strdup(v);

	if (dup == NULL)
		return fail(in, "out of memory");
	free(*sp);
	*sp = dup;
	return 0;
}

static int
set_str(void *c, const struct sgw_conf_key *k, struct val *in)
{
	return replace_str(c, k->off, in->v, in);
}

/*
 * A local path: it ends up in a Location header or a cookie's Path, so
 * printable ASCII without blanks or ';' (which would end a cookie
 * attribute), and never "//" or "/\", which browsers read as another site.
 */
static int
check_path(struct val *in)
{
	const char *v = in->v;

	if (v[0] != '/')
		return fail(
		    in, "expected a path starting with '/', got %s", in->q);
	if (v[1] == '/' || v[1] == '\\')
		return fail(in,
		    "must not start with \"//\" or \"/\\\" "
		    "(a browser reads that as another site), "
		    "got %s",
		    in->q);
	for (; *v != '\0'; v++) {
		unsigned char ch = (unsigned char)*v;

		if (ch <= ' ' || ch >= 0x7f || ch == ';')
			return fail(in,
			    "expected a path of printable ASCII "
			    "without blanks or ';', got %s",
			    in->q);
	}
	return 0;
}

static int
set_path(void *c, const struct sgw_conf_key *k, struct val *in)
{
	if (check_path(in) < 0)
		return -1;
	return replace_str(c, k->off, in->v, in);
}

/* Request paths are compared as "<prefix>/...", so the prefix is kept
 * without its trailing '/'. */
static int
set_prefix(void *c, const struct sgw_conf_key *k, struct val *in)
{
	char **sp = field(c, k->off);
	char *dup;
	size_t n;

	if (check_path(in) < 0)
		return -1;
	if (strpbrk(in->v, "*?") != NULL)
		return fail(
		    in, "'*' and '?' have no place in a prefix, got %s", in->q);
	n = strlen(in->v);
	while (n > 0 && in->v[n - 1] == '/')
		n--;
	if (n == 0)
		return fail(in,
		    "must name a path below \"/\" (such as /auth), "
		    "got %s",
		    in->q);
	if ((dup = strndup(in->v, n)) == NULL)
		return fail(in, "out of memory");
	free(*sp);
	*sp = dup;
	return 0;
}

/* RFC 6265 cookie-name: an RFC 2616 token. */
static int
set_token(void *c, const struct sgw_conf_key *k, struct val *in)
{
	for (const char *p = in->v; *p != '\0'; p++) {
		unsigned char ch = (unsigned char)*p;

		if (!sgw_is_token_char(ch))
			return fail(in,
			    "expected a cookie name of letters, "
			    "digits and !#$%%&'*+-.^_`|~, got %s",
			    in->q);
	}
	return replace_str(c, k->off, in->v, in);
}

/* A cookie Domain: a host name, maybe with the old leading '.'. */
static int
set_domain(void *c, const struct sgw_conf_key *k, struct val *in)
{
	const char *problem = NULL;
	char **sp = field(c, k->off);
	char *dup;

	if (in->v[0] != '\0') {
		problem = host_problem(in->v[0] == '.' ? in->v + 1 : in->v);
		if (problem != NULL)
			return fail(in, "expected a domain name (%s), got %s",
			    problem, in->q);
	}
	if ((dup = strdup(in->v)) == NULL)
		return fail(in, "out of memory");
	sgw_ascii_lower_str(dup);
	free(*sp);
	*sp = dup;
	return 0;
}

static int
set_addr(void *c, const struct sgw_conf_key *k, struct val *in)
{
	int names = (k->flags & SGW_K_NAMES) != 0;
	const char *what = (k->flags & SGW_K_NOUNIX) ? "IPv4 host:port"
	    : names                                  ? "host:port or unix:/path"
	            : "IPv4 host:port or unix:/path";
	struct sgw_addr a;
	const char *why;

	memset(&a, 0, sizeof(a));
	if (in->v[0] != '\0') {
		if (sgw_addr_parse(in->v, names, &a, &why) < 0)
			return fail(
			    in, "expected %s (%s), got %s", what, why, in->q);
		if (a.is_unix && (k->flags & SGW_K_NOUNIX))
			return fail(in, "expected %s, got %s", what, in->q);
	}
	if (replace_str(c, k->off, in->v, in) < 0)
		return -1;
	memcpy(field(c, k->off2), &a, sizeof(a));
	return 0;
}

static int
set_duration(void *c, const struct sgw_conf_key *k, struct val *in)
{
	char lim[32];
	const char *why;
	int64_t ms;

	if (parse_duration(in->v, &ms, &why) < 0)
		return fail(in,
		    "expected a duration such as 500ms, 30s, 15m, "
		    "12h or 30d (%s), got %s",
		    why, in->q);
	if (ms < k->min)
		return k->min == 1
		    ? fail(in, "must be greater than 0, got %s", in->q)
		    : fail(in, "must be at least %s, got %s",
		          fmt_duration(k->min, lim, sizeof(lim)), in->q);
	if (ms > k->max)
		return fail(in, "must be at most %s, got %s",
		    fmt_duration(k->max, lim, sizeof(lim)), in->q);
	*(int64_t *)field(c, k->off) = ms;
	return 0;
}

static int
set_size(void *c, const struct sgw_conf_key *k, struct val *in)
{
	size_t n = strspn(in->v, "0123456789");
	char lo[32], hi[32];
	int64_t v, mult = 1;
	const char *unit = in->v + n;

	if (strcmp(unit, "k") == 0 || strcmp(unit, "K") == 0)
		mult = KIB;
	else if (strcmp(unit, "m") == 0 || strcmp(unit, "M") == 0)
		mult = MIB;
	else if (*unit != '\0')
		mult = 0;
	if (mult == 0 || parse_digits(in->v, n, &v) < 0 ||
	    v > INT64_MAX / mult || v * mult < k->min || v * mult > k->max)
		return fail(in,
		    "expected a size %s..%s (bytes, or with a k or "
		    "m suffix), got %s",
		    fmt_size(k->min, lo, sizeof(lo)),
		    fmt_size(k->max, hi, sizeof(hi)), in->q);
	*(size_t *)field(c, k->off) = (size_t)(v * mult);
	return 0;
}

/* "1..1024", or ">= 1" when only the type bounds it. */
static int
fail_int(const struct sgw_conf_key *k, struct val *in)
{
	if (k->max == INT_MAX || k->max == INT64_MAX)
		return fail(in, "expected an integer >= %" PRId64 ", got %s",
		    k->min, in->q);
	return fail(in, "expected an integer %" PRId64 "..%" PRId64 ", got %s",
	    k->min, k->max, in->q);
}

static int
set_int(void *c, const struct sgw_conf_key *k, struct val *in)
{
	int64_t v;

	if (parse_int(in->v, &v) < 0 || v < k->min || v > k->max)
		return fail_int(k, in);
	*(int *)field(c, k->off) = (int)v;
	return 0;
}

static int
set_int64(void *c, const struct sgw_conf_key *k, struct val *in)
{
	int64_t v;

	if (parse_int(in->v, &v) < 0 || v < k->min || v > k->max)
		return fail_int(k, in);
	*(int64_t *)field(c, k->off) = v;
	return 0;
}

/* The index of v in a NULL-terminated word list, or -1. */
static int
pick(const char *v, const char *const *words)
{
	for (int i = 0; words[i] != NULL; i++) {
		if (strcmp(v, words[i]) == 0)
			return i;
	}
	return -1;
}

static int
set_bool(void *c, const struct sgw_conf_key *k, struct val *in)
{
	static const char *const words[] = {"off", "on", NULL};
	int i = pick(in->v, words);

	if (i < 0)
		return fail(in, "expected on or off, got %s", in->q);
	*(int *)field(c, k->off) = i;
	return 0;
}

static int
set_mode(void *c, const struct sgw_conf_key *k, struct val *in)
{
	int64_t v = 0;
	const char *p;

	for (p = in->v; *p >= '0' && *p <= '7'; p++) {
		v = v * 8 + (*p - '0');
		if (v > k->max)
			break;
	}
	if (p == in->v || *p != '\0' || v > k->max)
		return fail(in,
		    "expected an octal mode 0000..0777 such as "
		    "0660, got %s",
		    in->q);
	*(mode_t *)field(c, k->off) = (mode_t)v;
	return 0;
}

static int
set_loglevel(void *c, const struct sgw_conf_key *k, struct val *in)
{
	/* In the order of enum sgw_log_level. */
	static const char *const words[] = {
	    "error", "warn", "info", "debug", NULL};
	int i = pick(in->v, words);

	if (i < 0)
		return fail(
		    in, "expected error, warn, info or debug, got %s", in->q);
	*(enum sgw_log_level *)field(c, k->off) = (enum sgw_log_level)i;
	return 0;
}

static int
set_samesite(void *c, const struct sgw_conf_key *k, struct val *in)
{
	/* In the order of enum sgw_same_site. */
	static const char *const words[] = {"strict", "lax", "none", NULL};
	int i = pick(in->v, words);

	if (i < 0)
		return fail(in, "expected strict, lax or none, got %s", in->q);
	*(enum sgw_same_site *)field(c, k->off) = (enum sgw_same_site)i;
	return 0;
}

/* Kept as text, "a,b,c", because that is what libfcgi's
 * FCGI_WEB_SERVER_ADDRS takes. */
static int
set_ipv4list(void *c, const struct sgw_conf_key *k, struct val *in)
{
	char **sp = field(c, k->off);
	char *copy, *cur, *item, *out;
	char shown[SHOW_LEN];
	size_t o = 0;
	uint32_t ip;
	int rc = -1;

	copy = strdup(in->v);
	/* Joined with single commas it is never longer than as written. */
	out = malloc(strlen(in->v) + 1);
	if (copy == NULL || out == NULL) {
		fail(in, "out of memory");
		goto out;
	}
	cur = copy;
	while ((item = next_item(&cur, LIST_SEPS)) != NULL) {
		size_t n = strlen(item);

		if (sgw_ipv4_parse(item, &ip) < 0) {
			fail(in,
			    "expected IPv4 addresses separated by commas, "
			    "%s is not one",
			    show(item, shown, 1));
			goto out;
		}
		if (o > 0)
			out[o++] = ',';
		memcpy(out + o, item, n);
		o += n;
	}
	out[o] = '\0';
	free(*sp);
	*sp = out;
	out = NULL;
	rc = 0;
out:
	free(copy);
	free(out);
	return rc;
}

static void
free_strv(char **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * The list keys that become arrays (trusted_proxies, redirect_hosts,
 * sentinels) share one shape: count the items, parse each into its slot,
 * and hand back a new array only when every item was good, so a bad value
 * leaves the old one in place. `parse` reports its own problem; `drop`
 * (NULL when slots own nothing) frees what a parsed slot holds.
 */
struct list_kind {
	size_t size; /* of one slot */
	int (*parse)(const struct sgw_conf_key *k, struct val *in, char *item,
	    void *slot);
	void (*drop)(void *slot);
};

static void
free_slots(const struct list_kind *kind, char *v, size_t n)
{
	if (v != NULL && kind->drop != NULL)
		for (size_t i = 0; i < n; i++)
			kind->drop(v + i * kind->size);
	free(v);
}

static int
parse_array(const struct sgw_conf_key *k, struct val *in,
    const struct list_kind *kind, void **out, size_t *nout)
{
	size_t n = count_items(in->v, LIST_SEPS), i = 0;
	char *copy, *cur, *item, *v = NULL;
	int rc = -1;

	copy = strdup(in->v);
	if (copy == NULL || (n > 0 && (v = calloc(n, kind->size)) == NULL)) {
		fail(in, "out of memory");
		goto out;
	}
	cur = copy;
	while ((item = next_item(&cur, LIST_SEPS)) != NULL) {
		if (kind->parse(k, in, item, v + i * kind->size) == -1)
			goto out;
		i++;
	}
	*out = v;
	*nout = n;
	v = NULL;
	rc = 0;
out:
	free(copy);
	free_slots(kind, v, i);
	return rc;
}

static int
parse_cidr_item(
    const struct sgw_conf_key *k, struct val *in, char *item, void *slot)
{
	char shown[SHOW_LEN];

	(void)k;
	if (sgw_cidr_parse(item, slot) == 0)
		return 0;
	return fail(in,
	    "expected IPv4 networks such as 10.0.0.0/8 or "
	    "192.0.2.1, %s is not one",
	    show(item, shown, 1));
}

static int
parse_host_item(
    const struct sgw_conf_key *k, struct val *in, char *item, void *slot)
{
	char **sp = slot, shown[SHOW_LEN];
	const char *problem;

	(void)k;
	if ((problem = host_problem(item)) != NULL)
		return fail(in,
		    "expected host names without a port, %s is "
		    "not one (%s)",
		    show(item, shown, 1), problem);
	if ((*sp = strdup(item)) == NULL)
		return fail(in, "out of memory");
	/* Host names compare without regard to case. */
	sgw_ascii_lower_str(*sp);
	return 0;
}

static void
drop_host_item(void *slot)
{
	free(*(char **)slot);
}

static int
parse_addr_item(
    const struct sgw_conf_key *k, struct val *in, char *item, void *slot)
{
	struct sgw_addr *a = slot;
	char shown[SHOW_LEN];
	const char *why = NULL;

	/* sgw_addr_parse sets why only when it fails. */
	if (sgw_addr_parse(item, (k->flags & SGW_K_NAMES) != 0, a, &why) == 0 &&
	    a->is_unix)
		why = "unix sockets are not supported here";
	if (why == NULL)
		return 0;
	return fail(in,
	    "expected host:port addresses separated by "
	    "commas, %s is not one (%s)",
	    show(item, shown, 1), why);
}

static const struct list_kind cidr_list = {
    sizeof(struct sgw_cidr), parse_cidr_item, NULL};
static const struct list_kind host_list = {
    sizeof(char *), parse_host_item, drop_host_item};
static const struct list_kind addr_list = {
    sizeof(struct sgw_addr), parse_addr_item, NULL};

static int
set_cidrlist(void *c, const struct sgw_conf_key *k, struct val *in)
{
	struct sgw_cidr **vp = field(c, k->off);
	size_t *np = field(c, k->off2), n;
	void *v;

	if (parse_array(k, in, &cidr_list, &v, &n) == -1)
		return -1;
	free(*vp);
	*vp = v;
	*np = n;
	return 0;
}

static int
set_hostlist(void *c, const struct sgw_conf_key *k, struct val *in)
{
	char ***vp = field(c, k->off);
	size_t *np = field(c, k->off2), n;
	void *v;

	if (parse_array(k, in, &host_list, &v, &n) == -1)
		return -1;
	free_strv(*vp, *np);
	*vp = v;
	*np = n;
	return 0;
}

static int
set_addrlist(void *c, const struct sgw_conf_key *k, struct val *in)
{
	struct sgw_addr **vp = field(c, k->off);
	size_t *np = field(c, k->off2), n;
	void *v;

	if (parse_array(k, in, &addr_list, &v, &n) == -1)
		return -1;
	free(*vp);
	*vp = v;
	*np = n;
	return 0;
}

static void
free_rule(struct sgw_rule *r)
{
	free(r->pattern);
	free_strv(r->roles, r->nroles);
	memset(r, 0, sizeof(*r));
}

static int
parse_roles(struct sgw_rule *r, const char *list, struct val *in)
{
	const char *p = list;
	size_t n = 1;

	for (const char *q = list; *q != '\0'; q++)
		n += *q == ',';
	if ((r->roles = calloc(n, sizeof(*r->roles))) == NULL)
		return fail(in, "out of memory");
	for (;;) {
		size_t len = strcspn(p, ",");

		if (len == 0)
			return fail(in,
			    "expected role:NAME[,NAME...] with no "
			    "empty name, got %s",
			    in->q);
		if ((r->roles[r->nroles] = strndup(p, len)) == NULL)
			return fail(in, "out of memory");
		r->nroles++;
		if (p[len] == '\0')
			return 0;
		p += len + 1;
	}
}

/* "PATTERN POLICY": appends one rule; rules keep their order because the
 * first match wins. */
static int
set_rule(void *c, const struct sgw_conf_key *k, struct val *in)
{
	struct sgw_rule **vp = field(c, k->off), *grown;
	size_t *np = field(c, k->off2);
	struct sgw_rule r;
	char *copy, *cur, *pat, *pol, *star;
	int rc = -1;

	memset(&r, 0, sizeof(r));
	if ((copy = strdup(in->v)) == NULL) {
		fail(in, "out of memory");
		goto out;
	}
	cur = copy;
	pat = next_item(&cur, " \t");
	pol = next_item(&cur, " \t");
	if (pat == NULL || pol == NULL || next_item(&cur, " \t") != NULL) {
		fail(in, "expected \"PATTERN POLICY\", got %s", in->q);
		goto out;
	}
	if (pat[0] != '/' || has_control(pat)) {
		fail(in, "the pattern must be a path starting with '/', got %s",
		    in->q);
		goto out;
	}
	if ((star = strchr(pat, '*')) != NULL) {
		if (star[1] != '\0') {
			fail(in, "'*' may only end a pattern, got %s", in->q);
			goto out;
		}
		*star = '\0';
		r.prefix = 1;
	}
	if (strcmp(pol, "anonymous") == 0) {
		r.policy = SGW_POLICY_ANONYMOUS;
	} else if (strcmp(pol, "authenticated") == 0) {
		r.policy = SGW_POLICY_AUTHENTICATED;
	} else if (strcmp(pol, "deny") == 0) {
		r.policy = SGW_POLICY_DENY;
	} else if (strncmp(pol, "role:", 5) == 0 && !has_control(pol)) {
		r.policy = SGW_POLICY_ROLE;
		if (parse_roles(&r, pol + 5, in) < 0)
			goto out;
	} else {
		fail(in,
		    "expected a policy anonymous, authenticated, deny or "
		    "role:NAME[,NAME...], got %s",
		    in->q);
		goto out;
	}
	r.line = in->line;
	if ((r.pattern = strdup(pat)) == NULL ||
	    (grown = realloc(*vp, (*np + 1) * sizeof(**vp))) == NULL) {
		fail(in, "out of memory");
		goto out;
	}
	*vp = grown;
	grown[(*np)++] = r;
	memset(&r, 0, sizeof(r));
	rc = 0;
out:
	free(copy);
	free_rule(&r);
	return rc;
}

typedef int setter(void *, const struct sgw_conf_key *, struct val *);

static setter *const setters[] = {
    [SGW_T_STR] = set_str,
    [SGW_T_PATH] = set_path,
    [SGW_T_PREFIX] = set_prefix,
    [SGW_T_TOKEN] = set_token,
    [SGW_T_DOMAIN] = set_domain,
    [SGW_T_ADDR] = set_addr,
    [SGW_T_DURATION] = set_duration,
    [SGW_T_SIZE] = set_size,
    [SGW_T_INT] = set_int,
    [SGW_T_INT64] = set_int64,
    [SGW_T_BOOL] = set_bool,
    [SGW_T_MODE] = set_mode,
    [SGW_T_LOGLEVEL] = set_loglevel,
    [SGW_T_SAMESITE] = set_samesite,
    [SGW_T_IPV4LIST] = set_ipv4list,
    [SGW_T_CIDRLIST] = set_cidrlist,
    [SGW_T_HOSTLIST] = set_hostlist,
    [SGW_T_ADDRLIST] = set_addrlist,
    [SGW_T_RULE] = set_rule,
};
_Static_assert(sizeof(setters) / sizeof(setters[0]) == SGW_T_NTYPES,
    "one setter per key type");

/* The checks every value gets, then the row's setter. */
static int
set_value(void *c, const struct sgw_conf_key *k, const char *v, unsigned line,
    struct val *in)
{
	in->v = v;
	in->line = line;
	in->why[0] = '\0';
	show(v, in->q, 1);
	if (strnlen(v, VALUE_MAX + 1) > VALUE_MAX)
		return fail(in, "longer than %d bytes", VALUE_MAX);
	if (v[0] == '\0' && !(k->flags & SGW_K_EMPTY))
		return fail(in, "must not be empty");
	/* Strings that end up in keys, cookies or paths have a bound, so a
	 * value that -t accepts cannot overflow what is built from it. */
	if (k->type <= SGW_T_DOMAIN && k->max > 0 && strlen(v) > (size_t)k->max)
		return fail(in, "longer than %lld bytes", (long long)k->max);
	return setters[k->type](c, k, in);
}

static size_t
find_key(const char *section, const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		if (strcmp(keys(i).section, section) == 0 &&
		    strcmp(keys(i).name, name) == 0)
			break;
	}
	return i;
}

static const char *
find_section(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++) {
		if (strcmp(keys(i).section, name) == 0)
			return keys(i).section;
	}
	return NULL;
}

/* Frees what one row owns and zeroes it. */
static void
unset(void *c, const struct sgw_conf_key *k)
{
	void *p = field(c, k->off);

	switch (k->type) {
	case SGW_T_STR:
	case SGW_T_PATH:
	case SGW_T_PREFIX:
	case SGW_T_TOKEN:
	case SGW_T_DOMAIN:
	case SGW_T_ADDR:
	case SGW_T_IPV4LIST:
		free(*(char **)p);
		*(char **)p = NULL;
		break;
	case SGW_T_CIDRLIST:
	case SGW_T_ADDRLIST:
		free(*(void **)p);
		*(void **)p = NULL;
		*(size_t *)field(c, k->off2) = 0;
		break;
	case SGW_T_HOSTLIST:
		free_strv(*(char ***)p, *(size_t *)field(c, k->off2));
		*(char ***)p = NULL;
		*(size_t *)field(c, k->off2) = 0;
		break;
	case SGW_T_RULE: {
		struct sgw_rule *r = *(struct sgw_rule **)p;
		size_t *np = field(c, k->off2);

		for (size_t i = 0; r != NULL && i < *np; i++)
			free_rule(&r[i]);
		free(r);
		*(struct sgw_rule **)p = NULL;
		*np = 0;
		break;
	}
	default:
		break;
	}
}

void
sgw_conf_free(struct sgw_conf *conf)
{
	if (conf == NULL)
		return;
	for (size_t i = 0; i < NKEYS; i++) {
		if (base_of(conf, i) != NULL)
			unset(base_of(conf, i), &keys(i));
	}
	if (conf->backend_opts != NULL) {
		size_t nb;

		(void)sgw_store_backends(&nb);
		for (size_t b = 0; b < nb; b++)
			free(conf->backend_opts[b]);
		free(conf->backend_opts);
	}
	free(conf->file);
	memset(conf, 0, sizeof(*conf));
}

/* Every row's default, through its setter. */
static int
apply_defaults(struct sgw_conf *c)
{
	struct val in;

	if (alloc_backends(c) < 0)
		return -1;
	for (size_t i = 0; i < NKEYS; i++) {
		if (keys(i).def != NULL &&
		    set_value(base_of(c, i), &keys(i), keys(i).def, 0, &in) < 0)
			return -1;
	}
	return 0;
}

/* SPEC section 4's rules, with the login endpoints under the configured
 * prefix so that a moved prefix still lets people log in. */
static int
default_rules(struct sgw_conf *c, struct val *in)
{
	const struct sgw_conf_key *k = &keys(find_key("access", "rule"));
	char *mine = NULL;
	int rc = -1;

	if (asprintf(&mine, "%s/* anonymous", c->prefix) < 0) {
		mine = NULL;
		fail(in, "out of memory");
		goto out;
	}
	if (set_value(c, k, mine, 0, in) < 0 ||
	    set_value(c, k, "/admin/* role:admin", 0, in) < 0 ||
	    set_value(c, k, "/* authenticated", 0, in) < 0)
		goto out;
	rc = 0;
out:
	free(mine);
	return rc;
}

int
sgw_conf_defaults(struct sgw_conf *conf)
{
	struct val in;

	memset(conf, 0, sizeof(*conf));
	if (apply_defaults(conf) < 0 || default_rules(conf, &in) < 0 ||
	    (conf->file = strdup("")) == NULL) {
		sgw_conf_free(conf);
		return -1;
	}
	return 0;
}

static unsigned
line_of(const struct ctx *x, const char *section, const char *name)
{
	return x->seen[find_key(section, name)];
}

static int
is_bad(const struct ctx *x, const char *section, const char *name)
{
	return x->bad[find_key(section, name)];
}

static unsigned
later(unsigned a, unsigned b)
{
	return a > b ? a : b;
}

/* A timeout that must not be shorter than idle_timeout. */
static void
check_at_least_idle(
    struct ctx *x, const struct sgw_conf *c, const char *name, int64_t ms)
{
	char a[32], b[32];

	if (is_bad(x, "session", name) ||
	    is_bad(x, "session", "idle_timeout") || ms >= c->idle_timeout_ms)
		return;
	report(x,
	    later(line_of(x, "session", name),
	        line_of(x, "session", "idle_timeout")),
	    "%s (%s) must be at least idle_timeout (%s)", name,
	    fmt_duration(ms, a, sizeof(a)),
	    fmt_duration(c->idle_timeout_ms, b, sizeof(b)));
}

/*
 * Browsers silently drop a cookie whose name promises what its attributes
 * do not keep (RFC 6265bis "cookie prefixes"); better to say so now than
 * to debug logins that never stick.
 */
static void
check_cookie_prefix(struct ctx *x, const struct sgw_conf *c)
{
	unsigned line = later(
	    later(line_of(x, "cookie", "name"), line_of(x, "cookie", "secure")),
	    later(
	        line_of(x, "cookie", "path"), line_of(x, "cookie", "domain")));

	if (strncasecmp(c->cookie_name, "__Host-", 7) == 0 &&
	    (!c->cookie_secure || strcmp(c->cookie_path, "/") != 0 ||
	        c->cookie_domain[0] != '\0'))
		report(x, line,
		    "a cookie name starting with __Host- requires secure = on, "
		    "path = / and an empty domain");
	else if (strncasecmp(c->cookie_name, "__Secure-", 9) == 0 &&
	    !c->cookie_secure)
		report(x, line,
		    "a cookie name starting with __Secure- requires secure = "
		    "on");
}

/* An operator's page that cannot be read should stop start-up, not turn
 * every login into an error page. */
static void
check_template(struct ctx *x, const struct sgw_conf *c)
{
	const char *path = c->login_template;
	struct stat st;
	char shown[SHOW_LEN];
	int fd, err = 0;

	if (path[0] == '\0')
		return;
	/* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
	 * writer, and `-t` would hang. Only a regular file is a page. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
		err = errno;
	else if (fstat(fd, &st) < 0)
		err = errno;
	else if (S_ISDIR(st.st_mode))
		err = EISDIR;
	if (err != 0)
		report(x, line_of(x, "login", "template"),
		    "template: cannot read %s: %s", show(path, shown, 0),
		    strerror(err));
	else if (!S_ISREG(st.st_mode))
		report(x, line_of(x, "login", "template"),
		    "template: %s is not a regular file", show(path, shown, 0));
	if (fd >= 0)
		close(fd);
}

void
sgw_conf_wipe_secrets(struct sgw_conf *conf)
{
	for (size_t i = 0; i < NKEYS; i++) {
		char **sp;

		if (!(keys(i).flags & SGW_K_SECRET) ||
		    keys(i).type != SGW_T_STR || base_of(conf, i) == NULL)
			continue;
		sp = field(base_of(conf, i), keys(i).off);
		if (*sp != NULL)
			explicit_bzero(*sp, strlen(*sp));
	}
}

/* [store] backend names a registered backend; each backend's section
 * passes the checks only the whole section can make. */
static void
check_store(struct ctx *x, struct sgw_conf *c)
{
	const struct sgw_store_backend *const *bv;
	char names[128] = "", why[WHY_LEN], shown[SHOW_LEN];
	size_t nb;

	bv = sgw_store_backends(&nb);
	for (size_t b = 0; b < nb; b++) {
		unsigned line = 0;

		snprintf(names + strlen(names), sizeof(names) - strlen(names),
		    "%s%s", b > 0 ? ", " : "", bv[b]->name);
		if (bv[b]->validate == NULL ||
		    bv[b]->validate(c->backend_opts[b], why, sizeof(why)) == 0)
			continue;
		for (size_t i = 0; i < NKEYS; i++) {
			if (owner_of[i] == (int)b && x->seen[i] > line)
				line = x->seen[i];
		}
		report(x, line, "[%s] %s", bv[b]->name, why);
	}
	if (!is_bad(x, "store", "backend") &&
	    sgw_store_backend_find(c->store_backend) == NULL)
		report(x, line_of(x, "store", "backend"),
		    "backend: unknown store %s (one of %s)",
		    show(c->store_backend, shown, 1), names);
}

/* What only the whole file can tell. */
static void
finish(struct ctx *x, struct sgw_conf *c)
{
	struct val in;

	/* login_url's default lives under the prefix, like the default
	 * rules: moving the prefix should not strand unauthenticated
	 * browsers on a 404. */
	if (!line_of(x, "access", "login_url") &&
	    line_of(x, "login", "prefix") && !is_bad(x, "login", "prefix")) {
		char *url = NULL;

		if (asprintf(&url, "%s/login", c->prefix) < 0)
			url = NULL;
		if (url == NULL ||
		    set_value(c, &keys(find_key("access", "login_url")), url, 0,
		        &in) < 0)
			report(x, line_of(x, "login", "prefix"),
			    "login_url: %s",
			    url == NULL ? "out of memory" : in.why);
		free(url);
	}
	if (!line_of(x, "access", "rule") && default_rules(c, &in) < 0)
		report(x, line_of(x, "login", "prefix"), "rule: %s", in.why);

	check_at_least_idle(x, c, "absolute_timeout", c->absolute_timeout_ms);
	check_at_least_idle(
	    x, c, "remember_me_timeout", c->remember_me_timeout_ms);
	if (c->same_site == SGW_SAME_SITE_NONE && !c->cookie_secure &&
	    !is_bad(x, "cookie", "same_site") && !is_bad(x, "cookie", "secure"))
		report(x,
		    later(line_of(x, "cookie", "same_site"),
		        line_of(x, "cookie", "secure")),
		    "same_site = none requires secure = on (browsers refuse "
		    "such cookies otherwise)");
	check_cookie_prefix(x, c);
	check_template(x, c);
	check_store(x, c);
}

static char *
trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* '#' starts a comment at the start of a line or after a blank, so that
 * "key = value   # note" works while a value may still hold a '#'. */
static void
strip_comment(char *s)
{
	for (char *p = s; *p != '\0'; p++) {
		if (*p == '#' && (p == s || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			return;
		}
	}
}

static void
parse_section(struct ctx *x, char *s, unsigned line)
{
	char shown[SHOW_LEN];
	size_t n = strlen(s);
	char *name;

	if (n < 2 || s[n - 1] != ']') {
		report(x, line, "expected \"[section]\", got %s",
		    show(s, shown, 1));
		x->section = NULL;
		x->section_bad = 1;
		return;
	}
	s[n - 1] = '\0';
	name = trim(s + 1);
	x->section = find_section(name);
	x->section_bad = x->section == NULL;
	if (x->section == NULL)
		report(x, line, "unknown section [%s]", show(name, shown, 0));
}

static void
parse_key(struct ctx *x, struct sgw_conf *c, char *s, unsigned line)
{
	char shown[SHOW_LEN];
	char *eq = strchr(s, '='), *name, *value;
	struct val in;
	size_t i, j;

	if (eq == NULL) {
		report(x, line, "expected \"key = value\", got %s",
		    show(s, shown, 1));
		return;
	}
	*eq = '\0';
	name = trim(s);
	value = trim(eq + 1);
	if (name[0] == '\0') {
		report(x, line, "missing key name before '='");
		return;
	}
	/* The [section] line already said what is wrong; a complaint per
	 * key below it would bury that. */
	if (x->section_bad)
		return;
	if (x->section == NULL) {
		report(x, line, "key \"%s\" is outside any [section]",
		    show(name, shown, 0));
		return;
	}
	if ((i = find_key(x->section, name)) == NKEYS) {
		for (j = 0; j < NKEYS && strcmp(keys(j).name, name) != 0; j++)
			;
		if (j < NKEYS)
			report(x, line,
			    "unknown key \"%s\" in [%s] (it belongs in [%s])",
			    keys(j).name, x->section, keys(j).section);
		else
			report(x, line, "unknown key \"%s\" in [%s]",
			    show(name, shown, 0), x->section);
		return;
	}
	if (x->seen[i] && !(keys(i).flags & SGW_K_REPEAT)) {
		report(x, line, "\"%s\" set twice (first on line %u)",
		    keys(i).name, x->seen[i]);
		return;
	}
	if (!x->seen[i])
		x->seen[i] = line;
	if (set_value(base_of(c, i), &keys(i), value, line, &in) < 0) {
		x->bad[i] = 1;
		report(x, line, "%s: %s", keys(i).name, in.why);
	}
}

/* One line, NUL-terminated in place, without its '\n'. */
static void
parse_line(struct ctx *x, struct sgw_conf *c, char *s, size_t n, unsigned line)
{
	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (memchr(s, '\0', n) != NULL) {
		report(x, line, "NUL byte");
		return;
	}
	s[n] = '\0';
	strip_comment(s);
	s = trim(s);
	if (s[0] == '\0')
		return;
	if (s[0] == '[')
		parse_section(x, s, line);
	else
		parse_key(x, c, s, line);
}

int
sgw_conf_parse(const char *file, const char *text, size_t len,
    struct sgw_conf *conf, struct sgw_errs *errs)
{
	struct ctx *x = NULL;
	char *buf = NULL;
	const char *l;
	size_t pos = 0, n;
	unsigned line = 0;

	memset(conf, 0, sizeof(*conf));
	if (file == NULL)
		file = "(config)";
	if (text == NULL)
		len = 0;
	/* A private copy, so each line can be cut and NUL-terminated in
	 * place whatever the caller's buffer holds. */
	x = calloc(1, sizeof(*x));
	buf = malloc(len + 1);
	if (x == NULL || buf == NULL || apply_defaults(conf) < 0) {
		sgw_errs_add(errs, "%s: out of memory", file);
		goto fail;
	}
	x->file = file;
	x->errs = errs;
	if (len > 0)
		memcpy(buf, text, len);
	buf[len] = '\0';
	/* Windows editors start UTF-8 files with a byte order mark. */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (sgw_line_next(buf, len, &pos, &l, &n))
		parse_line(x, conf, buf + (l - buf), n, ++line);
	finish(x, conf);
	if ((conf->file = strdup(file)) == NULL)
		report(x, 0, "out of memory");
	if (x->nerr > 0)
		goto fail;
	free(buf);
	free(x);
	return 0;
fail:
	free(buf);
	free(x);
	sgw_conf_free(conf);
	return -1;
}

int
sgw_conf_load(const char *file, struct sgw_conf *conf, struct sgw_errs *errs)
{
	struct sgw_file f;
	int rc;

	memset(conf, 0, sizeof(*conf));
	/* Not SGW_FILE_REGULAR: -c /dev/stdin (a pipe) is read too. */
	if (sgw_file_read(file, FILE_MAX, 0, &f) < 0) {
		sgw_errs_add(
		    errs, "%s: %s", file != NULL ? file : "(null)", f.errstr);
		return -1;
	}
	rc = sgw_conf_parse(file, f.buf, f.len, conf, errs);
	sgw_file_free(&f);
	return rc;
}
