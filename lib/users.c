/*
 * users: the users file of SPEC section 9 and password verification.
 *
 * The file is operator input: every problem is reported with its line so
 * that one run of `sessiongw -t` lists all of them. Hashes and passwords
 * never appear in a message: a "weak hash" is sometimes a plain-text
 * password.
 */
#include "users.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "fileio.h"

/* A users file is a few hundred kilobytes at most; refusing anything far
 * larger keeps a wrong path (a log, a disk image) from eating memory. */
#define USERS_FILE_MAX (16u * 1024 * 1024)

/* Where the cost sits in a hash, after the prefix. */
enum cost_form {
	COST_FIELD,  /* a field ending in '$': "$y$j9T$" */
	COST_FIXED,  /* costlen bytes: "$2b$10$", "$7$" N r p */
	COST_ROUNDS, /* "rounds=N$", or nothing for the default */
};

/*
 * The strong forms of SPEC section 9, and the length of the encoded hash
 * after the last '$' of each: a shorter or longer one is a truncated or
 * mangled copy that could never match, better refused at load time with
 * its line than found out at the first failed login. The cost is where
 * the setting (scheme and cost, without the salt) ends, which is what
 * makes two hashes cost the same to check.
 */
static const struct {
	const char *prefix;
	size_t tail;
	enum cost_form cost;
	size_t costlen; /* for COST_FIXED */
} strong[] = {
    {"$y$", 43, COST_FIELD, 0},
    {"$gy$", 43, COST_FIELD, 0},
    {"$7$", 43, COST_FIXED, 11},
    {"$2b$", 53, COST_FIXED, 3},
    {"$2y$", 53, COST_FIXED, 3},
    {"$6$", 86, COST_ROUNDS, 0},
    {"$5$", 43, COST_ROUNDS, 0},
};

/* What hash_check() makes of a hash. */
enum hash_verdict {
	HASH_STRONG,
	HASH_CHEAP,     /* well-formed bcrypt below SGW_BCRYPT_MIN_COST */
	HASH_MALFORMED, /* a strong prefix, but not a hash crypt(3) takes */
	HASH_WEAK,      /* another form: weak, unsupported or plain text */
};

/* What the parser carries from line to line. */
struct parse {
	const char *file;      /* for messages */
	struct sgw_errs *errs; /* where problems go, may be NULL */
	unsigned nerr;         /* problems found, counted even if errs drops */
	struct sgw_user *v;    /* users with a valid name, in line order */
	size_t n;
	size_t cap;
};

/* The index in strong[] of the hash's prefix, or -1. */
static int
strong_kind(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof strong / sizeof *strong; i++) {
		size_t pl = strlen(strong[i].prefix);

		if (n >= pl && memcmp(s, strong[i].prefix, pl) == 0)
			return (int)i;
	}
	return -1;
}

/* Bytes that may appear in a crypt(3) string: printable ASCII without
 * space, and without ':' which separates the fields of the file. */
static int
hash_byte_ok(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != ':';
}

/* The crypt(3) base-64 alphabet the encoded hash is written in. */
static int
b64_byte_ok(unsigned char c)
{
	return c == '.' || c == '/' || (c >= '0' && c <= '9') ||
	    (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* The cost of a "$2b$NN$..." or "$2y$NN$..." string, or -1 when s is
 * not one. ("$2a$" is not a strong form at any cost.) */
static int
bcrypt_cost(const char *s, size_t n)
{
	if (n < 7 || (memcmp(s, "$2b$", 4) != 0 && memcmp(s, "$2y$", 4) != 0))
		return -1;
	if (s[4] < '0' || s[4] > '9' || s[5] < '0' || s[5] > '9' || s[6] != '$')
		return -1;
	return (s[4] - '0') * 10 + (s[5] - '0');
}

static enum hash_verdict
hash_check(const char *hash)
{
	const char *tail;
	size_t n;
	int k, cs, cost;

	n = strnlen(hash, CRYPT_OUTPUT_SIZE);
	k = strong_kind(hash, n);
	if (k < 0)
		return HASH_WEAK;
	if (n == CRYPT_OUTPUT_SIZE)
		return HASH_MALFORMED;
	for (size_t i = 0; i < n; i++)
		if (!hash_byte_ok((unsigned char)hash[i]))
			return HASH_MALFORMED;
	/* a setting ("$y$j9T$salt") has no '$' after the prefix's own, or
	 * an encoded hash of the wrong length */
	tail = strrchr(hash, '$') + 1;
	if ((size_t)(tail - hash) <= strlen(strong[k].prefix) ||
	    strlen(tail) != strong[k].tail)
		return HASH_MALFORMED;
	for (const char *t = tail; *t != '\0'; t++)
		if (!b64_byte_ok((unsigned char)*t))
			return HASH_MALFORMED;
	/*
	 * The list above is the policy; libxcrypt only says whether it can
	 * compute the string at all. It calls $5$ "legacy" and some costs
	 * "too cheap" by measures of its own; SPEC 9 is ours.
	 */
	cs = crypt_checksalt(hash);
	if (cs == CRYPT_SALT_INVALID || cs == CRYPT_SALT_METHOD_DISABLED)
		return HASH_MALFORMED;
	/* bcrypt's cost is ours to judge: libxcrypt's own default, 5, and
	 * `htpasswd -B`'s, also 5, are cheap enough to brute-force */
	cost = bcrypt_cost(hash, n);
	if (cost >= 0 && cost < SGW_BCRYPT_MIN_COST)
		return HASH_CHEAP;
	return HASH_STRONG;
}

int
sgw_users_hash_strong(const char *hash)
{
	return hash != NULL && hash_check(hash) == HASH_STRONG;
}

/* The length of the hash's setting: scheme and cost, without the salt.
 * The hash is a strong one. */
static size_t
setting_len(const char *hash)
{
	size_t n = strlen(hash), pl, len = n;
	int k = strong_kind(hash, n);
	const char *p, *d;

	if (k < 0)
		return n;
	pl = strlen(strong[k].prefix);
	p = hash + pl;
	switch (strong[k].cost) {
	case COST_FIXED:
		len = pl + strong[k].costlen;
		break;
	case COST_ROUNDS:
		if (strncmp(p, "rounds=", 7) != 0) {
			len = pl; /* the default count */
			break;
		}
		/* FALLTHROUGH */
	case COST_FIELD:
		d = strchr(p, '$');
		len = d != NULL ? (size_t)(d + 1 - hash) : n;
		break;
	}
	return len < n ? len : n;
}

size_t
sgw_users_password_chars(const char *password)
{
	const unsigned char *s = (const unsigned char *)password;
	size_t chars = 0;

	if (s == NULL)
		return 0;
	/*
	 * Overlong forms and surrogates are not told apart: this counts,
	 * it does not validate. A byte that starts no sequence (a Latin-1
	 * 'e' with an accent, a stray continuation byte) still counts, so
	 * that a password in another encoding is judged by its bytes.
	 */
	while (*s != '\0') {
		size_t len = *s >= 0xf0 && *s <= 0xf4 ? 4
		    : *s >= 0xe0 && *s <= 0xef        ? 3
		    : *s >= 0xc2 && *s <= 0xdf        ? 2
		                                      : 1;

		for (size_t i = 1; i < len; i++)
			if ((s[i] & 0xc0) != 0x80) {
				len = 1;
				break;
			}
		s += len;
		chars++;
	}
	return chars;
}

static int
name_valid_n(const char *s, size_t n)
{
	if (n == 0 || n > SGW_USER_MAXLEN || s[0] == '#')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c == 0x7f || c == ':')
			return 0;
	}
	return 1;
}

int
sgw_users_name_valid(const char *name)
{
	if (name == NULL)
		return 0;
	return name_valid_n(name, strnlen(name, SGW_USER_MAXLEN + 1));
}

enum roles_problem {
	ROLES_OK,
	ROLES_EMPTY, /* "", "a,,b", "a," */
	ROLES_BAD,   /* a space, control or non-ASCII byte, or ':' */
	ROLES_TOO_LONG,
};

/*
 * Roles end up in response headers (X-Auth-Roles), JSON and the session
 * record, so they are kept to printable ASCII without spaces; ',' is the
 * separator and ':' would start another field of the file.
 */
static enum roles_problem
roles_check(const char *s, size_t n)
{
	size_t rl = 0;

	if (n > SGW_ROLES_MAXLEN)
		return ROLES_TOO_LONG;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == ',') {
			if (rl == 0)
				return ROLES_EMPTY;
			rl = 0;
			continue;
		}
		if (!hash_byte_ok((unsigned char)s[i]))
			return ROLES_BAD;
		rl++;
	}
	return ROLES_OK;
}

static void line_error(struct parse *p, unsigned line, const char *name,
    size_t namelen, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* One problem on one line, prefixed with the user when the name is
 * valid (and so safe to print). */
static void
line_error(struct parse *p, unsigned line, const char *name, size_t namelen,
    const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	p->nerr++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (name != NULL)
		sgw_errs_add(p->errs, "%s:%u: user \"%.*s\": %s", p->file, line,
		    (int)namelen, name, msg);
	else
		sgw_errs_add(p->errs, "%s:%u: %s", p->file, line, msg);
}

static void
user_clear(struct sgw_user *u)
{
	free(u->name);
	free(u->hash);
	free(u->roles);
	memset(u, 0, sizeof *u);
}

/* Keeps a user with a valid name; hash and roles are kept only when
 * valid (a bad line fails the whole file, but the name is still needed
 * to report duplicates). Returns -1 on OOM. */
static int
keep_user(struct parse *p, unsigned line, const char *name, size_t namelen,
    const char *hash, size_t hashlen, const char *roles, size_t roleslen)
{
	struct sgw_user *u;

	if (p->n == p->cap) {
		size_t cap = p->cap == 0 ? 16 : p->cap * 2;
		struct sgw_user *v = reallocarray(p->v, cap, sizeof *v);

		if (v == NULL)
			return -1;
		p->v = v;
		p->cap = cap;
	}
	u = &p->v[p->n];
	memset(u, 0, sizeof *u);
	u->line = line;
	u->name = strndup(name, namelen);
	if (hash != NULL)
		u->hash = strndup(hash, hashlen);
	if (roles != NULL)
		u->roles = strndup(roles, roleslen);
	if (u->name == NULL || (hash != NULL && u->hash == NULL) ||
	    (roles != NULL && u->roles == NULL)) {
		user_clear(u);
		return -1;
	}
	p->n++;
	return 0;
}

/* A line holding only spaces and tabs, or whose first other byte is '#'. */
static int
line_is_ignored(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i == n || s[i] == '#';
}

/* One line, without its "\n" or "\r\n". Returns -1 on OOM only. */
static int
parse_line(struct parse *p, unsigned line, const char *s, size_t n)
{
	const char *colon, *hash, *roles = NULL, *name = NULL;
	size_t namelen, hashlen, roleslen = 0;
	char hbuf[CRYPT_OUTPUT_SIZE];
	enum hash_verdict verdict;
	int hash_ok, roles_ok = 1;

	if (memchr(s, '\0', n) != NULL) {
		line_error(p, line, NULL, 0, "NUL byte in line");
		return 0;
	}
	if (line_is_ignored(s, n))
		return 0;
	colon = memchr(s, ':', n);
	if (colon == NULL) {
		line_error(p, line, NULL, 0,
		    "malformed line: expected USER:HASH[:ROLE[,ROLE...]]");
		return 0;
	}
	namelen = (size_t)(colon - s);
	if (name_valid_n(s, namelen))
		name = s;
	else
		line_error(p, line, NULL, 0,
		    "invalid user name (1 to %d bytes, no ':', whitespace or "
		    "control characters, not starting with '#')",
		    SGW_USER_MAXLEN);

	hash = colon + 1;
	hashlen = n - namelen - 1;
	colon = memchr(hash, ':', hashlen);
	if (colon != NULL) {
		roles = colon + 1;
		roleslen = hashlen - (size_t)(roles - hash);
		hashlen = (size_t)(colon - hash);
	}

	verdict = strong_kind(hash, hashlen) >= 0 ? HASH_MALFORMED : HASH_WEAK;
	if (hashlen < sizeof hbuf) {
		memcpy(hbuf, hash, hashlen);
		hbuf[hashlen] = '\0';
		verdict = hash_check(hbuf);
		explicit_bzero(hbuf, sizeof hbuf);
	}
	hash_ok = verdict == HASH_STRONG;
	switch (verdict) {
	case HASH_STRONG:
		break;
	case HASH_CHEAP:
		line_error(p, line, name, namelen,
		    "weak password hash: bcrypt cost %d is below %d; "
		    "re-hash it with `htpasswd -B -C %d` or `sessiongw "
		    "passwd -B`",
		    bcrypt_cost(hash, hashlen), SGW_BCRYPT_MIN_COST,
		    SGW_BCRYPT_COST);
		break;
	case HASH_MALFORMED:
		line_error(p, line, name, namelen, "malformed password hash");
		break;
	case HASH_WEAK:
		line_error(p, line, name, namelen,
		    "weak or unsupported password hash; re-hash it with "
		    "`htpasswd -B -C %d` or `sessiongw passwd`",
		    SGW_BCRYPT_COST);
		break;
	}

	if (roles != NULL) {
		roles_ok = 0;
		switch (roles_check(roles, roleslen)) {
		case ROLES_OK:
			roles_ok = 1;
			break;
		case ROLES_EMPTY:
			line_error(p, line, name, namelen, "empty role");
			break;
		case ROLES_BAD:
			line_error(p, line, name, namelen,
			    "invalid role: roles are printable ASCII, "
			    "comma-separated, without spaces");
			break;
		case ROLES_TOO_LONG:
			line_error(p, line, name, namelen,
			    "roles longer than %d bytes", SGW_ROLES_MAXLEN);
			break;
		}
	}

	if (name == NULL)
		return 0;
	return keep_user(p, line, name, namelen, hash_ok ? hash : NULL, hashlen,
	    roles_ok ? (roles != NULL ? roles : "") : NULL, roleslen);
}

static int
user_ptr_cmp(const void *a, const void *b)
{
	const struct sgw_user *ua = *(const struct sgw_user *const *)a;
	const struct sgw_user *ub = *(const struct sgw_user *const *)b;
	int c = strcmp(ua->name, ub->name);

	if (c != 0)
		return c;
	return ua->line < ub->line ? -1 : ua->line > ub->line;
}

/*
 * Reports every user defined twice, in line order, naming the first
 * definition. Sorting keeps this O(n log n) for large files. Returns -1
 * on OOM.
 */
static int
report_duplicates(struct parse *p)
{
	const struct sgw_user **s = NULL;
	unsigned *first = NULL;
	int rc = -1;

	if (p->n < 2)
		return 0;
	s = calloc(p->n, sizeof *s);
	first = calloc(p->n, sizeof *first);
	if (s == NULL || first == NULL)
		goto fail;
	for (size_t i = 0; i < p->n; i++)
		s[i] = &p->v[i];
	qsort(s, p->n, sizeof *s, user_ptr_cmp);
	for (size_t i = 1, g = 0; i < p->n; i++) {
		if (strcmp(s[g]->name, s[i]->name) != 0)
			g = i;
		else
			first[s[i] - p->v] = s[g]->line;
	}
	for (size_t i = 0; i < p->n; i++)
		if (first[i] != 0) {
			p->nerr++;
			sgw_errs_add(p->errs,
			    "%s:%u: user \"%s\" already defined on line %u",
			    p->file, p->v[i].line, p->v[i].name, first[i]);
		}
	rc = 0;
fail:
	free(s);
	free(first);
	return rc;
}

/* One crypt(3) run; the result is wiped with the scratch area. */
static int
crypt_matches(const char *password, const char *setting)
{
	struct crypt_data *cd;
	const char *out;
	size_t n;
	int ok = 0;

	cd = calloc(1, sizeof *cd);
	if (cd == NULL)
		return 0;
	out = crypt_rn(password, setting, cd, (int)sizeof *cd);
	/* '*' starts libxcrypt's failure token, which must never match */
	if (out != NULL && out[0] != '*') {
		n = strlen(setting);
		ok = strlen(out) == n && CRYPTO_memcmp(out, setting, n) == 0;
	}
	explicit_bzero(cd, sizeof *cd);
	free(cd);
	return ok;
}

/*
 * Failed checks must cost the same whoever is asked about, so that the
 * time taken does not tell an unknown name from a wrong password.
 *
 * With one setting (scheme and cost) in the file, a dummy hash of that
 * setting is enough: an unknown name runs one crypt(3) exactly as costly
 * as any user's. But files mix settings (yescrypt users next to lines
 * from `htpasswd -B`, or old $6$ hashes), and the costs then differ
 * tenfold. So:
 *   - the users are grouped by setting, and one crypt(3) of a random
 *     password is timed for each (thread CPU time, which other processes
 *     disturb less than the clock on the wall); the run of the costliest
 *     setting gives the dummy, so the timing is free with one setting;
 *   - an unknown name is checked against that dummy;
 *   - when the check of a user of a cheaper setting fails, one
 *     sha256crypt of pad_rounds rounds follows: its cost is linear in
 *     the rounds, so it fills the gap to the costliest to within one
 *     millisecond, where more runs of the user's own setting could only
 *     add whole multiples of it.
 * Successes are not padded: whoever logs in knows the user exists.
 * Load on the machine slows the schemes unevenly (yescrypt is bound by
 * memory, the others by the CPU), so the padding is close, not exact.
 */
#define PAD_CALIBRATION_ROUNDS 5000
/* What the pads hash: a sha-crypt round costs more for a longer phrase,
 * so the pads hash this fixed one, not the password, to cost what the
 * calibration measured whatever the password's length. */
#define PAD_PHRASE "0123456789abcdef0123456789abcdef"
/* Files written by people hold a handful of settings. Timing each one
 * costs a login's worth of CPU at every load, so a file with more (each
 * user's own $6$ rounds, say) gets the first SETTINGS_MAX timed and the
 * users of the others no pad. */
#define SETTINGS_MAX 32
#define SHA_ROUNDS_MIN 1000 /* sha-crypt's own bounds */
#define SHA_ROUNDS_MAX 999999999

/* One setting of the file. */
struct setting {
	size_t user; /* the first user with it, whose hash is the setting */
	size_t len;  /* of the setting in that hash */
	double cpu;  /* seconds one crypt(3) of it took */
	char *out;   /* owned: that run's result, a hash of a random password */
};

static double
cpu_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A random password of hex digits, for runs whose result is no secret
 * anyone could match. Returns 0 or -1. */
static int
random_password(char *pw, size_t size)
{
	unsigned char rnd[16];
	ssize_t got;

	if (size < 2 * sizeof rnd + 1)
		return -1;
	do
		got = getrandom(rnd, sizeof rnd, 0);
	while (got < 0 && errno == EINTR);
	if (got != (ssize_t)sizeof rnd)
		return -1;
	for (size_t i = 0; i < sizeof rnd; i++)
		snprintf(pw + 2 * i, 3, "%02x", rnd[i]);
	explicit_bzero(rnd, sizeof rnd);
	return 0;
}

/* One timed crypt(3): its result (caller frees) or NULL, and the CPU
 * seconds it took in *cpu. */
static char *
timed_crypt(const char *pw, const char *setting, double *cpu)
{
	struct crypt_data *cd;
	const char *out;
	char *res = NULL;
	double t0;

	cd = calloc(1, sizeof *cd);
	if (cd == NULL)
		return NULL;
	t0 = cpu_now();
	out = crypt_rn(pw, setting, cd, (int)sizeof *cd);
	*cpu = cpu_now() - t0;
	if (out != NULL && out[0] != '*')
		res = strdup(out);
	explicit_bzero(cd, sizeof *cd);
	free(cd);
	return res;
}

/*
 * Sets dummy_hash, pad_salt and every user's pad_rounds, as the block
 * above says. Returns 0, or -1 with a message in errs.
 */
static int
equalize(struct sgw_users *u, struct sgw_errs *errs)
{
	struct setting *set = NULL;
	size_t *which = NULL, nset = 0, max = 0;
	char pw[33], gen[CRYPT_GENSALT_OUTPUT_SIZE], *pad = NULL;
	double padcpu = 0, per_round;
	int rc = -1;

	if (random_password(pw, sizeof pw) < 0) {
		sgw_errs_add(
		    errs, "%s: the random number generator failed", u->file);
		return -1;
	}
	if (u->n == 0) {
		/* nobody to look like: libxcrypt's default yescrypt */
		if (crypt_gensalt_rn("$y$", 0, NULL, 0, gen, sizeof gen) ==
		        NULL ||
		    (u->dummy_hash = timed_crypt(pw, gen, &padcpu)) == NULL)
			goto nohash;
		rc = 0;
		goto done;
	}
	set = calloc(u->n < SETTINGS_MAX ? u->n : SETTINGS_MAX, sizeof *set);
	which = calloc(u->n, sizeof *which);
	if (set == NULL || which == NULL)
		goto oom;
	for (size_t i = 0; i < u->n; i++) {
		const char *h = u->v[i].hash;
		size_t len = setting_len(h), k;

		for (k = 0; k < nset; k++)
			if (set[k].len == len &&
			    memcmp(u->v[set[k].user].hash, h, len) == 0)
				break;
		if (k == nset && nset == SETTINGS_MAX) {
			which[i] = SIZE_MAX; /* see SETTINGS_MAX */
			continue;
		}
		if (k == nset) {
			set[nset].user = i;
			set[nset].len = len;
			nset++;
		}
		which[i] = k;
	}
	/* with several settings, each is timed twice and the quicker run
	 * kept: a run that shared its core with another process's burst
	 * would otherwise make its setting look costlier than it is */
	for (int pass = 0; pass < (nset > 1 ? 2 : 1); pass++) {
		for (size_t k = 0; k < nset; k++) {
			const struct sgw_user *r = &u->v[set[k].user];
			double t;
			char *out = timed_crypt(pw, r->hash, &t);

			if (out == NULL) {
				/* crypt(3) refused a hash crypt_checksalt
				 * took */
				sgw_errs_add(errs,
				    "%s:%u: user \"%s\": malformed "
				    "password hash",
				    u->file, r->line, r->name);
				goto done;
			}
			if (pass == 0 || t < set[k].cpu)
				set[k].cpu = t;
			free(set[k].out);
			set[k].out = out;
		}
	}
	for (size_t k = 1; k < nset; k++)
		if (set[k].cpu > set[max].cpu)
			max = k;
	u->dummy_hash = set[max].out;
	set[max].out = NULL;
	if (nset == 1) {
		rc = 0;
		goto done;
	}

	/* the cost of one sha256crypt round, and the salt of the pads; the
	 * quicker of two runs, as the first also pays for cold caches */
	if (crypt_gensalt_rn("$5$", PAD_CALIBRATION_ROUNDS, NULL, 0, gen,
	        sizeof gen) == NULL ||
	    strlen(strrchr(gen, '$') + 1) >= sizeof u->pad_salt)
		goto nohash;
	for (int i = 0; i < 2; i++) {
		double t;

		free(pad);
		if ((pad = timed_crypt(PAD_PHRASE, gen, &t)) == NULL)
			goto nohash;
		if (i == 0 || t < padcpu)
			padcpu = t;
	}
	snprintf(u->pad_salt, sizeof u->pad_salt, "%s", strrchr(gen, '$') + 1);
	per_round = padcpu / PAD_CALIBRATION_ROUNDS;
	for (size_t i = 0; i < u->n; i++) {
		double gap, r;

		if (which[i] == SIZE_MAX)
			continue;
		gap = set[max].cpu - set[which[i]].cpu;
		if (per_round <= 0 || gap <= 0)
			continue;
		r = gap / per_round;
		/* below the least sha-crypt runs, the gap is under a
		 * millisecond: smaller than the noise of a login */
		if (r < SHA_ROUNDS_MIN)
			continue;
		u->v[i].pad_rounds =
		    r > SHA_ROUNDS_MAX ? SHA_ROUNDS_MAX : (unsigned long)r;
	}
	rc = 0;
	goto done;
nohash:
	sgw_errs_add(errs, "%s: cannot make a password hash", u->file);
	goto done;
oom:
	sgw_errs_add(errs, "%s: out of memory", u->file);
done:
	for (size_t k = 0; set != NULL && k < nset; k++)
		free(set[k].out);
	free(set);
	free(which);
	free(pad);
	explicit_bzero(pw, sizeof pw);
	return rc;
}

/* The pad of a failed check: pad_rounds of sha256crypt, result unused. */
static void
pad_check(const struct sgw_users *users, unsigned long rounds)
{
	char setting[64];

	if (rounds == 0 || users->pad_salt[0] == '\0')
		return;
	snprintf(setting, sizeof setting, "$5$rounds=%lu$%s", rounds,
	    users->pad_salt);
	(void)crypt_matches(PAD_PHRASE, setting);
}

void
sgw_users_free(struct sgw_users *users)
{
	if (users == NULL)
		return;
	for (size_t i = 0; i < users->n; i++)
		user_clear(&users->v[i]);
	free(users->v);
	free(users->dummy_hash);
	free(users->file);
	memset(users, 0, sizeof *users);
}

int
sgw_users_parse(const char *file, const char *text, size_t len,
    struct sgw_users *users, struct sgw_errs *errs)
{
	struct parse p = {.file = file != NULL ? file : "-", .errs = errs};
	struct sgw_users out = {0};
	size_t off = 0, n;
	const char *s;
	unsigned line = 0;
	int rc = -1, oom = 0;

	memset(users, 0, sizeof *users);
	if (len > USERS_FILE_MAX || (text == NULL && len != 0)) {
		sgw_errs_add(
		    errs, "%s: larger than %u bytes", p.file, USERS_FILE_MAX);
		goto fail;
	}
	while (sgw_line_next(text, len, &off, &s, &n)) {
		line++;
		if (n > 0 && s[n - 1] == '\r')
			n--;
		if (parse_line(&p, line, s, n) < 0) {
			oom = 1;
			goto fail;
		}
	}
	if (report_duplicates(&p) < 0) {
		oom = 1;
		goto fail;
	}
	if (p.nerr > 0)
		goto fail;

	out.v = p.v;
	out.n = p.n;
	p.v = NULL;
	p.n = 0;
	out.file = strdup(p.file);
	if (out.file == NULL) {
		oom = 1;
		goto fail;
	}
	if (equalize(&out, errs) < 0)
		goto fail;
	*users = out;
	memset(&out, 0, sizeof out);
	rc = 0;
fail:
	if (oom)
		sgw_errs_add(errs, "%s: out of memory", p.file);
	for (size_t i = 0; i < p.n; i++)
		user_clear(&p.v[i]);
	free(p.v);
	sgw_users_free(&out);
	return rc;
}

int
sgw_users_load(const char *file, struct sgw_users *users, struct sgw_errs *errs)
{
	struct sgw_file f;
	int rc;

	memset(users, 0, sizeof *users);
	if (file == NULL) {
		sgw_errs_add(errs, "no users file");
		return -1;
	}
	if (sgw_file_read(file, USERS_FILE_MAX, SGW_FILE_REGULAR, &f) < 0) {
		sgw_errs_add(errs, "%s: %s", file, f.errstr);
		return -1;
	}
	rc = sgw_users_parse(file, f.buf, f.len, users, errs);
	sgw_file_free(&f);
	if (rc < 0)
		return -1;
	users->dev = f.st.st_dev;
	users->ino = f.st.st_ino;
	users->mtime = f.st.st_mtim;
	users->size = f.st.st_size;
	return 0;
}

int
sgw_users_changed(const struct sgw_users *users)
{
	struct stat st;

	if (users == NULL || users->file == NULL)
		return 0;
	if (stat(users->file, &st) < 0)
		return 0;
	return st.st_dev != users->dev || st.st_ino != users->ino ||
	    st.st_mtim.tv_sec != users->mtime.tv_sec ||
	    st.st_mtim.tv_nsec != users->mtime.tv_nsec ||
	    st.st_size != users->size;
}

const struct sgw_user *
sgw_users_find(const struct sgw_users *users, const char *name)
{
	if (users == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < users->n; i++)
		if (strcmp(users->v[i].name, name) == 0)
			return &users->v[i];
	return NULL;
}

const struct sgw_user *
sgw_users_verify(
    const struct sgw_users *users, const char *name, const char *password)
{
	const struct sgw_user *u;
	const char *setting;
	int ok;

	if (users == NULL || name == NULL || password == NULL)
		return NULL;
	u = sgw_users_find(users, name);
	/* one crypt either way, and a pad after a cheaper hash fails (see
	 * equalize()), so the time does not tell the two apart */
	setting = u != NULL ? u->hash : users->dummy_hash;
	if (setting == NULL)
		return NULL;
	ok = crypt_matches(password, setting);
	if (u != NULL && !ok)
		pad_check(users, u->pad_rounds);
	return u != NULL && ok ? u : NULL;
}

char *
sgw_users_hash_password(const char *password, int bcrypt)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char *out;
	char *hash = NULL;

	if (password == NULL)
		return NULL;
	if (crypt_gensalt_rn(bcrypt ? "$2b$" : "$y$",
	        bcrypt ? SGW_BCRYPT_COST : 0, NULL, 0, setting,
	        sizeof setting) == NULL)
		return NULL;
	cd = calloc(1, sizeof *cd);
	if (cd == NULL)
		return NULL;
	out = crypt_rn(password, setting, cd, (int)sizeof *cd);
	if (out != NULL && out[0] != '*' && sgw_users_hash_strong(out))
		hash = strdup(out);
	explicit_bzero(cd, sizeof *cd);
	free(cd);
	return hash;
}

/* Writes all of buf, through short writes and signals. */
static int
write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/* fsync of the directory holding file, so that the rename is durable. */
static int
sync_dir(const char *file)
{
	const char *slash = strrchr(file, '/');
	char *dir;
	int fd, rc, err;

	if (slash == NULL)
		dir = strdup(".");
	else if (slash == file)
		dir = strdup("/");
	else
		dir = strndup(file, (size_t)(slash - file));
	if (dir == NULL) {
		errno = ENOMEM;
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	err = errno;
	free(dir);
	if (fd < 0) {
		errno = err;
		return -1;
	}
	rc = fsync(fd);
	err = errno;
	close(fd);
	errno = err;
	return rc;
}

/*
 * The first line defining user: *start and *end bound its text without
 * the line ending, *roles its roles (NULL when it has none). Returns 0
 * when found, -1 when not.
 */
static int
find_user_line(const char *text, size_t len, const char *user, size_t *start,
    size_t *end, const char **roles, size_t *roleslen)
{
	size_t ul = strlen(user), off = 0, n;
	const char *s, *c;

	while (sgw_line_next(text, len, &off, &s, &n)) {
		if (n > 0 && s[n - 1] == '\r')
			n--;
		if (n > ul && s[ul] == ':' && memcmp(s, user, ul) == 0 &&
		    !line_is_ignored(s, n)) {
			*start = (size_t)(s - text);
			*end = *start + n;
			c = memchr(s + ul + 1, ':', n - ul - 1);
			*roles = c != NULL ? c + 1 : NULL;
			*roleslen = c != NULL ? (size_t)(s + n - (c + 1)) : 0;
			return 0;
		}
	}
	return -1;
}

int
sgw_users_file_set(const char *file, const char *user, const char *hash,
    const char *roles, int *replaced, struct sgw_errs *errs)
{
	struct sgw_file of = {0};
	char *old = NULL, *tmp = NULL, *line = NULL;
	size_t oldlen = 0, start = 0, end = 0, oldroleslen = 0;
	const char *oldroles = NULL;
	struct stat st = {0}, tst;
	mode_t mode = 0640;
	int fd = -1, rc = -1, exists = 1, found, created = 0, renamed = 0, len;

	if (replaced != NULL)
		*replaced = 0;
	if (file == NULL) {
		sgw_errs_add(errs, "no users file");
		return -1;
	}
	if (!sgw_users_name_valid(user)) {
		sgw_errs_add(errs,
		    "%s: invalid user name (1 to %d bytes, no ':', "
		    "whitespace or control characters, not starting "
		    "with '#')",
		    file, SGW_USER_MAXLEN);
		return -1;
	}
	if (!sgw_users_hash_strong(hash)) {
		sgw_errs_add(errs,
		    "%s: refusing a weak or unsupported password hash", file);
		return -1;
	}
	if (roles != NULL && roles[0] != '\0' &&
	    roles_check(roles, strlen(roles)) != ROLES_OK) {
		sgw_errs_add(errs,
		    "%s: invalid roles: printable ASCII, "
		    "comma-separated, no spaces or empty roles, at "
		    "most %d bytes",
		    file, SGW_ROLES_MAXLEN);
		return -1;
	}
	if (sgw_file_read(file, USERS_FILE_MAX, SGW_FILE_REGULAR, &of) == 0) {
		old = of.buf;
		oldlen = of.len;
		st = of.st;
		mode = st.st_mode & 07777;
	} else if (of.err == SGW_FILE_ERRNO && of.err_no == ENOENT) {
		exists = 0;
	} else {
		sgw_errs_add(errs, "%s: %s", file, of.errstr);
		return -1;
	}

	found = exists &&
	    find_user_line(
	        old, oldlen, user, &start, &end, &oldroles, &oldroleslen) == 0;
	if (roles == NULL && found && oldroles != NULL)
		len = asprintf(&line, "%s:%s:%.*s", user, hash,
		    (int)oldroleslen, oldroles);
	else if (roles != NULL && roles[0] != '\0')
		len = asprintf(&line, "%s:%s:%s", user, hash, roles);
	else
		len = asprintf(&line, "%s:%s", user, hash);
	if (len < 0) {
		line = NULL;
		errno = ENOMEM;
		goto fail;
	}
	if (asprintf(&tmp, "%s.tmp.%ld", file, (long)getpid()) < 0) {
		tmp = NULL;
		errno = ENOMEM;
		goto fail;
	}

	/* O_EXCL: a leftover of the same name is not ours to overwrite */
	fd = open(
	    tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		goto fail;
	created = 1;
	/* the mode and owner of the file it replaces, whatever the umask:
	 * a root-run `sessiongw passwd` must not take the file away from
	 * the daemon's group */
	if (fchmod(fd, mode) < 0 || fstat(fd, &tst) < 0)
		goto fail;
	if (exists && (tst.st_uid != st.st_uid || tst.st_gid != st.st_gid) &&
	    fchown(fd, st.st_uid, st.st_gid) < 0)
		goto fail;

	if (found) {
		/* [start, end) excludes the line ending, which stays */
		if (write_all(fd, old, start) < 0 ||
		    write_all(fd, line, (size_t)len) < 0 ||
		    write_all(fd, old + end, oldlen - end) < 0)
			goto fail;
	} else {
		if (write_all(fd, old, oldlen) < 0 ||
		    (oldlen > 0 && old[oldlen - 1] != '\n' &&
		        write_all(fd, "\n", 1) < 0) ||
		    write_all(fd, line, (size_t)len) < 0 ||
		    write_all(fd, "\n", 1) < 0)
			goto fail;
	}
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, file) < 0)
		goto fail;
	renamed = 1;
	/* the new line is in place even if the directory sync fails, and
	 * the caller may have sessions to end because of it */
	if (replaced != NULL)
		*replaced = found;
	if (sync_dir(file) < 0)
		goto fail;
	rc = 0;
fail:
	if (rc < 0)
		sgw_errs_add(
		    errs, "%s: cannot write: %s", file, strerror(errno));
	if (fd >= 0)
		close(fd);
	if (created && !renamed)
		unlink(tmp);
	free(tmp);
	free(line);
	sgw_file_free(&of);
	return rc;
}
