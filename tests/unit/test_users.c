/*
 * users: the users file, its hashes, password checks and rewrites.
 *
 * crypt_rn is interposed here (the test's definition wins over
 * libcrypt's) so that tests can count the crypt(3) runs a verification
 * makes and see which setting each used.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <crypt.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "users.h"

#define WEAK_ADVICE                                                            \
	"weak or unsupported password hash; re-hash it with `htpasswd -B -C "  \
	"10` or `sessiongw passwd`"

/* --- crypt_rn interposition ------------------------------------------ */

typedef char *(*crypt_rn_fn)(const char *, const char *, void *, int);

static int crypt_calls; /* runs since last reset */
static char crypt_last_setting[CRYPT_OUTPUT_SIZE];
static int crypt_echo_failure; /* echo a setting starting with '*' */

char *
crypt_rn(const char *phrase, const char *setting, void *data, int size)
{
	static crypt_rn_fn real;

	if (real == NULL) {
		void *sym = dlsym(RTLD_NEXT, "crypt_rn");

		if (sym == NULL)
			abort();
		memcpy(&real, &sym, sizeof real);
	}
	crypt_calls++;
	snprintf(crypt_last_setting, sizeof crypt_last_setting, "%s", setting);
	if (crypt_echo_failure && setting[0] == '*' &&
	    strlen(setting) < (size_t)size) {
		/* what libxcrypt hands back on failure, made to equal the
		 * stored string so only the '*' check can refuse it */
		strcpy(data, setting);
		return data;
	}
	return real(phrase, setting, data, size);
}

/* --- fixtures ---------------------------------------------------------- */

/* Low-cost hashes of each kind, made once; bcrypt at the lowest cost
 * the file accepts. */
static char *h_y, *h_2b, *h_6, *h_5;
static char *h_y_default; /* yescrypt at libxcrypt's default cost */

static char *
make_hash(const char *prefix, unsigned long count, const char *pw)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data cd;
	const char *out;
	char *h;

	if (crypt_gensalt_rn(prefix, count, NULL, 0, setting, sizeof setting) ==
	    NULL)
		return NULL;
	memset(&cd, 0, sizeof cd);
	out = crypt_rn(pw, setting, &cd, sizeof cd);
	if (out == NULL || out[0] == '*')
		return NULL;
	h = strdup(out);
	return h;
}

static int
group_setup(void **state)
{
	(void)state;
	h_y = make_hash("$y$", 1, "y-pass");
	h_2b = make_hash("$2b$", 10, "b-pass");
	h_6 = make_hash("$6$", 1000, "6-pass");
	h_5 = make_hash("$5$", 1000, "5-pass");
	h_y_default = make_hash("$y$", 0, "yd-pass");
	if (h_y == NULL || h_2b == NULL || h_6 == NULL || h_5 == NULL ||
	    h_y_default == NULL)
		return -1;
	if (strncmp(h_y, "$y$", 3) != 0 || strncmp(h_2b, "$2b$10$", 7) != 0 ||
	    strncmp(h_6, "$6$rounds=1000$", 15) != 0 ||
	    strncmp(h_5, "$5$rounds=1000$", 15) != 0 ||
	    strncmp(h_y_default, "$y$j9T$", 7) != 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	free(h_y);
	free(h_2b);
	free(h_6);
	free(h_5);
	free(h_y_default);
	return 0;
}

/* Each test that touches files gets its own directory. */
struct dir {
	char path[64];
	char users[128]; /* path/users */
};

static int
dir_setup(void **state)
{
	struct dir *d = calloc(1, sizeof *d);

	if (d == NULL)
		return -1;
	snprintf(d->path, sizeof d->path, "/tmp/sgw_test_users.XXXXXX");
	if (mkdtemp(d->path) == NULL) {
		free(d);
		return -1;
	}
	snprintf(d->users, sizeof d->users, "%s/users", d->path);
	*state = d;
	return 0;
}

static int
dir_teardown(void **state)
{
	struct dir *d = *state;
	DIR *dh = opendir(d->path);
	struct dirent *e;
	char p[512];

	while (dh != NULL && (e = readdir(dh)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof p, "%s/%s", d->path, e->d_name);
		if (unlink(p) < 0)
			rmdir(p);
	}
	if (dh != NULL)
		closedir(dh);
	rmdir(d->path);
	free(d);
	return 0;
}

static void
spit(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(s, 1, strlen(s), f), strlen(s));
	assert_int_equal(fclose(f), 0);
}

/* The file's content, NUL-terminated (tests write no NUL bytes). */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *b = NULL;
	size_t n = 0, cap = 0;
	int c;

	assert_non_null(f);
	while ((c = fgetc(f)) != EOF) {
		if (n + 1 >= cap) {
			cap = cap ? cap * 2 : 256;
			b = realloc(b, cap);
			assert_non_null(b);
		}
		b[n++] = (char)c;
	}
	fclose(f);
	if (b == NULL)
		b = calloc(1, 1);
	assert_non_null(b);
	b[n] = '\0';
	return b;
}

/* Names in the directory besides "." and "..", joined by '/'. */
static void
dir_listing(const char *path, char *out, size_t outsz)
{
	DIR *dh = opendir(path);
	struct dirent *e;

	assert_non_null(dh);
	out[0] = '\0';
	while ((e = readdir(dh)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		strncat(out, "/", outsz - strlen(out) - 1);
		strncat(out, e->d_name, outsz - strlen(out) - 1);
	}
	closedir(dh);
}

static int
parse_str(const char *text, struct sgw_users *u, struct sgw_errs *e)
{
	return sgw_users_parse("users", text, strlen(text), u, e);
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

/* A malloc'd printf; tests free it. */
static char *
fmt(const char *f, ...)
{
	va_list ap;
	char *s = NULL;
	int r;

	va_start(ap, f);
	r = vasprintf(&s, f, ap);
	va_end(ap);
	assert_true(r >= 0);
	return s;
}

/* Parses text expecting failure with exactly the messages given. */
static void
expect_errors(const char *text, const char *const *want, size_t nwant)
{
	struct sgw_users u;
	struct sgw_errs e = {0};

	memset(&u, 0xa5, sizeof u);
	assert_int_equal(parse_str(text, &u, &e), -1);
	if (e.n != nwant)
		for (size_t i = 0; i < e.n; i++)
			print_message("  got: %s\n", e.msg[i]);
	assert_int_equal(e.n, nwant);
	for (size_t i = 0; i < nwant; i++)
		assert_string_equal(e.msg[i], want[i]);
	/* *users is left zeroed on failure */
	assert_null(u.v);
	assert_int_equal(u.n, 0);
	assert_null(u.dummy_hash);
	assert_null(u.file);
	sgw_errs_clear(&e);
}

/* --- parsing ----------------------------------------------------------- */

static void
parse_accepts_every_strong_kind_with_roles_and_htpasswd_lines(void **state)
{
	struct sgw_users u;
	struct sgw_errs e = {0};
	char *text;
	(void)state;

	text = fmt("ylva:%s:admin,ops\n"
	           "bert:%s\n"
	           "sixt:%s:staff\n"
	           "fift:%s\n",
	    h_y, h_2b, h_6, h_5);
	assert_int_equal(parse_str(text, &u, &e), 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(u.n, 4);
	assert_string_equal(u.v[0].name, "ylva");
	assert_string_equal(u.v[0].hash, h_y);
	assert_string_equal(u.v[0].roles, "admin,ops");
	assert_int_equal(u.v[0].line, 1);
	assert_string_equal(u.v[1].name, "bert");
	assert_string_equal(u.v[1].hash, h_2b);
	assert_string_equal(u.v[1].roles, "");
	assert_int_equal(u.v[1].line, 2);
	assert_string_equal(u.v[2].name, "sixt");
	assert_string_equal(u.v[2].hash, h_6);
	assert_string_equal(u.v[2].roles, "staff");
	assert_string_equal(u.v[3].name, "fift");
	assert_string_equal(u.v[3].hash, h_5);
	assert_string_equal(u.v[3].roles, "");
	assert_int_equal(u.v[3].line, 4);
	assert_string_equal(u.file, "users");
	sgw_users_free(&u);
	free(text);
}

static void
find_returns_the_named_user_only(void **state)
{
	struct sgw_users u;
	char *text;
	(void)state;

	text = fmt("alice:%s\nbob:%s\n", h_2b, h_2b);
	assert_int_equal(parse_str(text, &u, NULL), 0);
	assert_ptr_equal(sgw_users_find(&u, "bob"), &u.v[1]);
	assert_ptr_equal(sgw_users_find(&u, "alice"), &u.v[0]);
	assert_null(sgw_users_find(&u, "bo"));
	assert_null(sgw_users_find(&u, "bobby"));
	assert_null(sgw_users_find(&u, "Alice"));
	assert_null(sgw_users_find(&u, NULL));
	sgw_users_free(&u);
	free(text);
}

static void
comments_blank_lines_crlf_and_missing_final_newline_are_accepted(void **state)
{
	struct sgw_users u;
	struct sgw_errs e = {0};
	char *text;
	(void)state;

	text = fmt("# users of the test\r\n"
	           "\r\n"
	           "   \t\n"
	           "  # indented comment\n"
	           "alice:%s:admin\r\n"
	           "\n"
	           "bob:%s",
	    h_2b, h_y);
	assert_int_equal(parse_str(text, &u, &e), 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(u.n, 2);
	assert_string_equal(u.v[0].name, "alice");
	/* the CR of a CRLF line is not part of the roles (or the hash) */
	assert_string_equal(u.v[0].roles, "admin");
	assert_int_equal(u.v[0].line, 5);
	assert_string_equal(u.v[1].name, "bob");
	assert_string_equal(u.v[1].hash, h_y);
	assert_int_equal(u.v[1].line, 7);
	assert_non_null(sgw_users_verify(&u, "alice", "b-pass"));
	sgw_users_free(&u);
	free(text);

	/* a CRLF hash line without roles: the CR must not end up in the hash */
	text = fmt("carol:%s\r\n", h_2b);
	assert_int_equal(parse_str(text, &u, &e), 0);
	assert_string_equal(u.v[0].hash, h_2b);
	assert_non_null(sgw_users_verify(&u, "carol", "b-pass"));
	sgw_users_free(&u);
	free(text);
}

static void
weak_hashes_are_refused_with_their_line(void **state)
{
	static const char *const weak[] = {
	    "$apr1$abcdefgh$0123456789abcdefghijkl", /* htpasswd -m */
	    "$1$abcdefgh$0123456789abcdefghijkl",    /* md5crypt */
	    "abJnggxhB/yWI",                         /* DES */
	    "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",     /* htpasswd -s */
	    "plaintextpassword",                     /* htpasswd -p */
	    "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
	    "_J9..CCCCXBrJUJV154M", /* BSDi DES */
	    "$sha1$40000$jtNX3nZ2$hBNaIXkt4wBI2o5rsi8KejSjNqIq",
	    "", /* no hash at all */
	};
	const size_t nweak = sizeof weak / sizeof *weak;
	struct sgw_users u;
	struct sgw_errs e = {0};
	char text[2048] = "# weak ones follow\n";
	char want[256];
	(void)state;

	for (size_t i = 0; i < nweak; i++) {
		size_t l = strlen(text);

		snprintf(text + l, sizeof text - l, "u%zu:%s\n", i, weak[i]);
	}
	assert_int_equal(parse_str(text, &u, &e), -1);
	assert_int_equal(e.n, nweak);
	for (size_t i = 0; i < nweak; i++) {
		snprintf(want, sizeof want, "users:%zu: user \"u%zu\": %s",
		    i + 2, i, WEAK_ADVICE);
		assert_string_equal(e.msg[i], want);
	}
	assert_null(u.v);
	sgw_errs_clear(&e);
}

static void
weak_hash_messages_never_contain_the_hash(void **state)
{
	struct sgw_users u;
	struct sgw_errs e = {0};
	(void)state;

	assert_int_equal(parse_str("bob:Tr0ub4dor&3\n"
	                           "eve:$1$abcdefgh$0123456789abcdefghijkl\n"
	                           "mal:$y$ has spaces\n",
	                     &u, &e),
	    -1);
	assert_int_equal(e.n, 3);
	for (size_t i = 0; i < e.n; i++) {
		assert_null(strstr(e.msg[i], "Tr0ub4dor"));
		assert_null(strstr(e.msg[i], "0123456789"));
		assert_null(strstr(e.msg[i], "spaces"));
	}
	sgw_errs_clear(&e);
}

static void
strong_prefix_with_bad_bytes_or_length_is_a_malformed_hash(void **state)
{
	static const char *const want[] = {
	    "users:1: user \"a\": malformed password hash",
	    "users:2: user \"b\": malformed password hash",
	    "users:3: user \"c\": malformed password hash",
	    "users:4: user \"d\": malformed password hash",
	};
	char *text;
	(void)state;

	/* the last two: a hash cut short by a bad copy, and a setting */
	text = fmt("a:$y$j9T$has spaces\n"
	           "b:$6$salt\x01$x\n"
	           "c:%.*s\n"
	           "d:$y$j9T$abcdefghijklmnopqrstuv:admin\n",
	    (int)strlen(h_2b) - 1, h_2b);
	expect_errors(text, want, 4);
	free(text);
}

static void
malformed_line_without_colon_is_refused(void **state)
{
	static const char *const want[] = {
	    "users:2: malformed line: expected USER:HASH[:ROLE[,ROLE...]]",
	};
	char *text;
	(void)state;

	text = fmt("alice:%s\njust-a-name\n", h_2b);
	expect_errors(text, want, 1);
	free(text);
}

static void
invalid_user_names_are_refused(void **state)
{
	char longname[SGW_USER_MAXLEN + 2];
	char *text, *want[6];
	(void)state;

	memset(longname, 'x', SGW_USER_MAXLEN + 1);
	longname[SGW_USER_MAXLEN + 1] = '\0';
	text = fmt(":%s\n"
	           "bad name:%s\n"
	           "tab\tname:%s\n"
	           "ctl\x01:%s\n"
	           "del\x7f:%s\n"
	           "%s:%s\n",
	    h_2b, h_2b, h_2b, h_2b, h_2b, longname, h_2b);
	for (unsigned i = 0; i < 6; i++)
		want[i] = fmt("users:%u: invalid user name (1 to %d bytes, no "
		              "':', whitespace or control characters, not "
		              "starting with '#')",
		    i + 1, SGW_USER_MAXLEN);
	expect_errors(text, (const char *const *)want, 6);
	for (unsigned i = 0; i < 6; i++)
		free(want[i]);
	free(text);
}

static void
longest_valid_name_is_accepted(void **state)
{
	char name[SGW_USER_MAXLEN + 1];
	struct sgw_users u;
	char *text;
	(void)state;

	memset(name, 'n', SGW_USER_MAXLEN);
	name[SGW_USER_MAXLEN] = '\0';
	text = fmt("%s:%s\n", name, h_2b);
	assert_int_equal(parse_str(text, &u, NULL), 0);
	assert_string_equal(u.v[0].name, name);
	sgw_users_free(&u);
	free(text);
}

static void
empty_roles_are_refused(void **state)
{
	char *text, *want[4];
	(void)state;

	text =
	    fmt("a:%s:\nb:%s:x,,y\nc:%s:,x\nd:%s:x,\n", h_2b, h_2b, h_2b, h_2b);
	for (unsigned i = 0; i < 4; i++)
		want[i] =
		    fmt("users:%u: user \"%c\": empty role", i + 1, 'a' + i);
	expect_errors(text, (const char *const *)want, 4);
	for (unsigned i = 0; i < 4; i++)
		free(want[i]);
	free(text);
}

static void
roles_with_spaces_or_colons_are_refused(void **state)
{
	char *text, *want[3];
	(void)state;

	text = fmt("a:%s:admin, ops\nb:%s:site admin\nc:%s:admin:extra\n", h_2b,
	    h_2b, h_2b);
	for (unsigned i = 0; i < 3; i++)
		want[i] = fmt("users:%u: user \"%c\": invalid role: roles are "
		              "printable ASCII, comma-separated, without "
		              "spaces",
		    i + 1, 'a' + i);
	expect_errors(text, (const char *const *)want, 3);
	for (unsigned i = 0; i < 3; i++)
		free(want[i]);
	free(text);
}

static void
duplicate_user_names_the_first_definition(void **state)
{
	static const char *const want[] = {
	    "users:4: user \"bob\" already defined on line 2",
	    "users:5: user \"alice\" already defined on line 1",
	    "users:6: user \"bob\" already defined on line 2",
	};
	char *text;
	(void)state;

	text = fmt("alice:%s\nbob:%s\n#\nbob:%s\nalice:%s\nbob:%s\n", h_2b,
	    h_2b, h_2b, h_2b, h_2b);
	expect_errors(text, want, 3);
	free(text);
}

static void
all_problems_are_collected_in_one_pass(void **state)
{
	static const char *const want[] = {
	    "users:2: user \"weak\": " WEAK_ADVICE,
	    "users:3: malformed line: expected USER:HASH[:ROLE[,ROLE...]]",
	    "users:5: user \"roles\": empty role",
	    "users:6: NUL byte in line",
	    "users:7: user \"ok\" already defined on line 1",
	};
	char text[1024];
	size_t n;
	struct sgw_users u;
	struct sgw_errs e = {0};
	(void)state;

	n = (size_t)snprintf(text, sizeof text,
	    "ok:%s\nweak:$1$x$y\nnocolon\n\nroles:%s:a,\nnul:%s\nok:%s\n", h_2b,
	    h_2b, h_2b, h_2b);
	/* put a NUL byte into line 6, after "nul:" */
	text[strstr(text, "nul:") - text + 5] = '\0';
	assert_int_equal(sgw_users_parse("users", text, n, &u, &e), -1);
	assert_int_equal(e.n, 5);
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(e.msg[i], want[i]);
	sgw_errs_clear(&e);
}

static void
file_larger_than_the_limit_is_refused(void **state)
{
	const size_t big = 16u * 1024 * 1024 + 1;
	char *text = malloc(big);
	struct sgw_users u;
	struct sgw_errs e = {0};
	(void)state;

	assert_non_null(text);
	memset(text, '\n', big);
	assert_int_equal(sgw_users_parse("users", text, big, &u, &e), -1);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msg[0], "users: larger than 16777216 bytes");
	/* one byte less is only blank lines, and fine */
	assert_int_equal(sgw_users_parse("users", text, big - 1, &u, &e), 0);
	assert_int_equal(u.n, 0);
	sgw_users_free(&u);
	sgw_errs_clear(&e);
	free(text);
}

/* --- hash and name predicates ------------------------------------------ */

static void
hash_strong_accepts_only_the_strong_list(void **state)
{
	char *gy = make_hash("$gy$", 1, "x");
	char *y2 = make_hash("$2y$", 10, "x");
	char *b9 = make_hash("$2b$", 9, "x");
	char *y9 = make_hash("$2y$", 9, "x");
	char *s7 = make_hash("$7$", 6, "x");
	const char *yes[] = {h_y, h_2b, h_6, h_5, gy, y2, s7};
	char *trunc_2b = fmt("%.*s", (int)strlen(h_2b) - 1, h_2b);
	char *trunc_y = fmt("%.*s", (int)strlen(h_y) - 1, h_y);
	char *long_6 = fmt("%sx", h_6);
	char *bad_b64 = fmt("%.*s_", (int)strlen(h_5) - 1, h_5);
	const char *no[] = {
	    "$apr1$abcdefgh$0123456789abcdefghijkl",
	    "$1$abcdefgh$0123456789abcdefghijkl",
	    "abJnggxhB/yWI",
	    "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",
	    "plaintext",
	    "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
	    "",
	    "$y",
	    "y$j9T$abc",
	    "$6$salt:more",
	    "$6$salt more",
	    "$6$salt\nmore",
	    "$y$j9T$\xc3\xa9",
	    "$y$j9T$abcdefghijklmnopqrstuv", /* a setting, no hash */
	    "$6$",
	    "$2b$04$",
	    b9, /* well-formed, but cheaper than SGW_BCRYPT_MIN_COST */
	    y9,
	    trunc_2b,
	    trunc_y,
	    long_6,
	    bad_b64,
	};
	(void)state;

	assert_non_null(gy);
	assert_non_null(y2);
	assert_non_null(b9);
	assert_non_null(y9);
	assert_non_null(s7);
	for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
		if (sgw_users_hash_strong(yes[i]) != 1)
			fail_msg("refused strong hash #%zu", i);
	for (size_t i = 0; i < sizeof no / sizeof *no; i++)
		if (sgw_users_hash_strong(no[i]) != 0)
			fail_msg("accepted weak hash #%zu", i);
	assert_int_equal(sgw_users_hash_strong(NULL), 0);
	free(gy);
	free(y2);
	free(b9);
	free(y9);
	free(s7);
	free(trunc_2b);
	free(trunc_y);
	free(long_6);
	free(bad_b64);
}

static void
name_valid_follows_the_header(void **state)
{
	char name[SGW_USER_MAXLEN + 2];
	(void)state;

	assert_int_equal(sgw_users_name_valid("alice"), 1);
	assert_int_equal(sgw_users_name_valid("a.b-c_d@example.org"), 1);
	assert_int_equal(sgw_users_name_valid("a#b"), 1);
	assert_int_equal(sgw_users_name_valid("j\xc3\xbcrgen"), 1);
	assert_int_equal(sgw_users_name_valid(""), 0);
	assert_int_equal(sgw_users_name_valid("#alice"), 0);
	assert_int_equal(sgw_users_name_valid("a:b"), 0);
	assert_int_equal(sgw_users_name_valid("a b"), 0);
	assert_int_equal(sgw_users_name_valid("a\tb"), 0);
	assert_int_equal(sgw_users_name_valid("a\nb"), 0);
	assert_int_equal(sgw_users_name_valid("a\rb"), 0);
	assert_int_equal(sgw_users_name_valid("a\x7f"), 0);
	assert_int_equal(sgw_users_name_valid(NULL), 0);
	memset(name, 'a', sizeof name - 1);
	name[SGW_USER_MAXLEN] = '\0';
	assert_int_equal(sgw_users_name_valid(name), 1);
	name[SGW_USER_MAXLEN] = 'a';
	name[SGW_USER_MAXLEN + 1] = '\0';
	assert_int_equal(sgw_users_name_valid(name), 0);
}

/* --- verification ------------------------------------------------------ */

static void
verify_right_password_returns_the_user_for_every_kind(void **state)
{
	struct sgw_users u;
	char *text;
	(void)state;

	text = fmt("ylva:%s\nbert:%s\nsixt:%s\nfift:%s\n", h_y, h_2b, h_6, h_5);
	assert_int_equal(parse_str(text, &u, NULL), 0);
	assert_ptr_equal(sgw_users_verify(&u, "ylva", "y-pass"), &u.v[0]);
	assert_ptr_equal(sgw_users_verify(&u, "bert", "b-pass"), &u.v[1]);
	assert_ptr_equal(sgw_users_verify(&u, "sixt", "6-pass"), &u.v[2]);
	assert_ptr_equal(sgw_users_verify(&u, "fift", "5-pass"), &u.v[3]);
	sgw_users_free(&u);
	free(text);
}

static void
verify_wrong_password_returns_null(void **state)
{
	struct sgw_users u;
	char *text;
	(void)state;

	text = fmt("ylva:%s\nbert:%s\nsixt:%s\nfift:%s\n", h_y, h_2b, h_6, h_5);
	assert_int_equal(parse_str(text, &u, NULL), 0);
	/* another user's password, a prefix, an extension, the empty one */
	assert_null(sgw_users_verify(&u, "ylva", "b-pass"));
	assert_null(sgw_users_verify(&u, "bert", "b-pas"));
	assert_null(sgw_users_verify(&u, "sixt", "6-pass "));
	assert_null(sgw_users_verify(&u, "fift", ""));
	assert_null(sgw_users_verify(&u, "bert", NULL));
	/* and the stored hash itself is not a password */
	assert_null(sgw_users_verify(&u, "bert", h_2b));
	sgw_users_free(&u);
	free(text);
}

static void
verify_known_user_runs_one_crypt_against_its_hash(void **state)
{
	struct sgw_users u;
	char *text;
	(void)state;

	/* bob's yescrypt is the costliest setting here, so no padding */
	text = fmt("alice:%s\nbob:%s\n", h_y_default, h_y);
	assert_int_equal(parse_str(text, &u, NULL), 0);
	crypt_calls = 0;
	assert_null(sgw_users_verify(&u, "alice", "wrong"));
	assert_int_equal(crypt_calls, 1);
	assert_string_equal(crypt_last_setting, h_y_default);
	sgw_users_free(&u);
	free(text);
}

static void
verify_unknown_user_runs_one_crypt_against_the_dummy(void **state)
{
	struct sgw_users u;
	char *text;
	(void)state;

	text = fmt("alice:%s\nbob:%s\n", h_2b, h_y);
	assert_int_equal(parse_str(text, &u, NULL), 0);
	crypt_calls = 0;
	/* even with a user's real password */
	assert_null(sgw_users_verify(&u, "mallory", "b-pass"));
	assert_int_equal(crypt_calls, 1);
	assert_string_equal(crypt_last_setting, u.dummy_hash);
	crypt_calls = 0;
	assert_null(sgw_users_verify(&u, "", ""));
	assert_int_equal(crypt_calls, 1);
	assert_string_equal(crypt_last_setting, u.dummy_hash);
	sgw_users_free(&u);
	free(text);
}

/* The setting (scheme and cost, no salt) of a test hash: bcrypt's
 * "$2b$NN$", the others' first three '$'-ended fields ("$y$j75$",
 * "$6$rounds=1000$"). */
static char *
setting_of(const char *h)
{
	const char *p = h;

	if (strncmp(h, "$2", 2) == 0)
		return fmt("%.7s", h);
	for (int i = 0; i < 2 && p != NULL; i++)
		p = strchr(p + 1, '$');
	assert_non_null(p);
	return fmt("%.*s", (int)(p - h + 1), h);
}

static void
assert_same_setting(const char *dummy, const char *like)
{
	char *a = setting_of(dummy), *b = setting_of(like);

	assert_string_equal(a, b);
	free(a);
	free(b);
}

static void
dummy_hash_has_the_costliest_users_kind_and_cost(void **state)
{
	struct sgw_users u;
	char *text;
	(void)state;

	text = fmt("alice:%s\nbob:%s\n", h_2b, h_y);
	assert_int_equal(parse_str(text, &u, NULL), 0);
	assert_non_null(u.dummy_hash);
	assert_int_equal(strncmp(u.dummy_hash, "$2b$10$", 7), 0);
	assert_int_equal(strlen(u.dummy_hash), strlen(h_2b));
	assert_string_not_equal(u.dummy_hash, h_2b);
	assert_int_equal(sgw_users_hash_strong(u.dummy_hash), 1);
	sgw_users_free(&u);
	free(text);

	/* the order of the lines does not matter: bcrypt at cost 10 costs
	 * more than yescrypt at the test's low cost */
	text = fmt("bob:%s\nalice:%s\n", h_y, h_2b);
	assert_int_equal(parse_str(text, &u, NULL), 0);
	assert_int_equal(strncmp(u.dummy_hash, "$2b$10$", 7), 0);
	sgw_users_free(&u);
	free(text);

	/* yescrypt at the low cost of the test hash: same parameters */
	text = fmt("bob:%s\ncarl:%s\n", h_y, h_y);
	assert_int_equal(parse_str(text, &u, NULL), 0);
	assert_int_equal(strncmp(u.dummy_hash, h_y, strlen("$y$j75$")), 0);
	assert_string_not_equal(u.dummy_hash, h_y);
	sgw_users_free(&u);
	free(text);
}

static void
dummy_hash_has_the_setting_of_a_one_setting_file(void **state)
{
	const char *kinds[] = {h_y, h_y_default, h_2b, h_6, h_5};
	struct sgw_users u;
	char *text;
	(void)state;

	for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
		text = fmt("a:%s\nb:%s\n", kinds[i], kinds[i]);
		assert_int_equal(parse_str(text, &u, NULL), 0);
		assert_same_setting(u.dummy_hash, kinds[i]);
		assert_int_equal(sgw_users_hash_strong(u.dummy_hash), 1);
		/* one setting: nothing to pad */
		assert_int_equal(u.v[0].pad_rounds, 0);
		assert_int_equal(u.v[1].pad_rounds, 0);
		sgw_users_free(&u);
		free(text);
	}
}

static void
mixed_file_dummy_is_of_the_costliest_setting_and_cheaper_users_pad(void **state)
{
	struct sgw_users u;
	char *text, *layouts[3];
	(void)state;

	/* costliest first, in the middle, last */
	layouts[0] = fmt("bert:%s\nylva:%s\nsixt:%s\nfift:%s\nyann:%s\n", h_2b,
	    h_y, h_6, h_5, h_y_default);
	layouts[1] = fmt("ylva:%s\nsixt:%s\nbert:%s\nfift:%s\nyann:%s\n", h_y,
	    h_6, h_2b, h_5, h_y_default);
	layouts[2] = fmt("ylva:%s\nsixt:%s\nfift:%s\nyann:%s\nbert:%s\n", h_y,
	    h_6, h_5, h_y_default, h_2b);
	for (size_t l = 0; l < 3; l++) {
		const struct sgw_user *bert, *other[4];

		text = layouts[l];
		assert_int_equal(parse_str(text, &u, NULL), 0);
		assert_same_setting(u.dummy_hash, h_2b);
		bert = sgw_users_find(&u, "bert");
		other[0] = sgw_users_find(&u, "ylva");
		other[1] = sgw_users_find(&u, "sixt");
		other[2] = sgw_users_find(&u, "fift");
		other[3] = sgw_users_find(&u, "yann");
		assert_int_equal(bert->pad_rounds, 0);
		/* bcrypt at cost 10 takes tens of milliseconds; a 1000-round
		 * SHA-crypt under one. At under a microsecond a round, the
		 * pads are thousands of rounds, and the cheaper the hash,
		 * the longer its pad. */
		for (size_t i = 0; i < 4; i++)
			assert_true(other[i]->pad_rounds > 5000);
		assert_true(other[0]->pad_rounds > other[3]->pad_rounds);
		assert_true(other[1]->pad_rounds > other[3]->pad_rounds);
		assert_true(u.pad_salt[0] != '\0');
		sgw_users_free(&u);
		free(text);
	}
}

/* Process CPU seconds of the quickest of three verifications. */
static double
verify_cpu(const struct sgw_users *u, const char *name, const char *pw)
{
	double best = 1e9;

	for (int i = 0; i < 3; i++) {
		struct timespec a, b;
		double t;

		assert_int_equal(
		    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a), 0);
		assert_null(sgw_users_verify(u, name, pw));
		assert_int_equal(
		    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b), 0);
		t = (double)(b.tv_sec - a.tv_sec) +
		    (double)(b.tv_nsec - a.tv_nsec) / 1e9;
		if (t < best)
			best = t;
	}
	return best;
}

static void
failed_check_of_a_cheaper_user_costs_what_an_unknown_name_costs(void **state)
{
	struct sgw_users u;
	char *text, *pad;
	double unknown, cheap, costly;
	(void)state;

	text = fmt("ylva:%s\nbert:%s\n", h_y, h_2b);
	assert_int_equal(parse_str(text, &u, NULL), 0);
	assert_true(u.v[0].pad_rounds > 0);

	/* a wrong password: the user's own hash, then the pad */
	pad = fmt("$5$rounds=%lu$%s", u.v[0].pad_rounds, u.pad_salt);
	crypt_calls = 0;
	assert_null(sgw_users_verify(&u, "ylva", "wrong"));
	assert_int_equal(crypt_calls, 2);
	assert_string_equal(crypt_last_setting, pad);
	free(pad);
	/* the right one needs no pad */
	crypt_calls = 0;
	assert_non_null(sgw_users_verify(&u, "ylva", "y-pass"));
	assert_int_equal(crypt_calls, 1);
	assert_string_equal(crypt_last_setting, h_y);
	/* the costliest user and an unknown name: one crypt each */
	crypt_calls = 0;
	assert_null(sgw_users_verify(&u, "bert", "wrong"));
	assert_int_equal(crypt_calls, 1);
	crypt_calls = 0;
	assert_null(sgw_users_verify(&u, "nobody", "wrong"));
	assert_int_equal(crypt_calls, 1);
	assert_string_equal(crypt_last_setting, u.dummy_hash);

	/* and the time agrees: unpadded, ylva would cost a few percent of
	 * an unknown name (the bounds are wide for a shared machine; the
	 * gap was 30-fold) */
	unknown = verify_cpu(&u, "nobody", "wrong");
	cheap = verify_cpu(&u, "ylva", "wrong");
	costly = verify_cpu(&u, "bert", "wrong");
	if (cheap < 0.5 * unknown || cheap > 2.0 * unknown ||
	    costly < 0.5 * unknown || costly > 2.0 * unknown)
		fail_msg("unknown %.1f ms, cheaper user %.1f ms, costliest "
		         "user %.1f ms",
		    unknown * 1e3, cheap * 1e3, costly * 1e3);
	sgw_users_free(&u);
	free(text);
}

static void
bcrypt_below_cost_10_is_refused_with_its_line(void **state)
{
	char *b9 = make_hash("$2b$", 9, "x");
	char *y9 = make_hash("$2y$", 9, "x");
	char *b5 = make_hash("$2b$", 5, "x");
	struct sgw_users u;
	char *text, *want[3];
	(void)state;

	assert_non_null(b9);
	assert_non_null(y9);
	assert_non_null(b5);
	text = fmt(
	    "ok:%s\nnine:%s\ny:%s\n# htpasswd -B\nfive:%s\n", h_2b, b9, y9, b5);
	want[0] = fmt("users:2: user \"nine\": weak password hash: bcrypt cost "
	              "9 is below 10; re-hash it with `htpasswd -B -C 10` or "
	              "`sessiongw passwd -B`");
	want[1] = fmt("users:3: user \"y\": weak password hash: bcrypt cost 9 "
	              "is below 10; re-hash it with `htpasswd -B -C 10` or "
	              "`sessiongw passwd -B`");
	want[2] = fmt("users:5: user \"five\": weak password hash: bcrypt cost "
	              "5 is below 10; re-hash it with `htpasswd -B -C 10` or "
	              "`sessiongw passwd -B`");
	expect_errors(text, (const char *const *)want, 3);
	for (size_t i = 0; i < 3; i++)
		free(want[i]);
	free(text);

	/* cost 10, $2b$ or $2y$, is accepted */
	free(y9);
	y9 = make_hash("$2y$", 10, "y-ten");
	assert_non_null(y9);
	text = fmt("ok:%s\ny:%s\n", h_2b, y9);
	assert_int_equal(parse_str(text, &u, NULL), 0);
	assert_int_equal(u.n, 2);
	assert_non_null(sgw_users_verify(&u, "y", "y-ten"));
	sgw_users_free(&u);
	free(text);

	/* and sgw_users_file_set refuses to write a cheap one */
	assert_int_equal(sgw_users_hash_strong(b9), 0);
	assert_int_equal(sgw_users_hash_strong(y9), 1);
	free(b9);
	free(y9);
	free(b5);
}

static void
password_chars_counts_utf8_characters_not_bytes(void **state)
{
	(void)state;
	assert_int_equal(sgw_users_password_chars(NULL), 0);
	assert_int_equal(sgw_users_password_chars(""), 0);
	assert_int_equal(sgw_users_password_chars("1234567"), 7);
	assert_int_equal(sgw_users_password_chars("12345678"), 8);
	/* 7 two-byte characters are 14 bytes, and still too few */
	assert_int_equal(sgw_users_password_chars("\xc3\xa9\xc3\xa9\xc3\xa9"
	                                          "\xc3\xa9\xc3\xa9\xc3\xa9"
	                                          "\xc3\xa9"),
	    7);
	/* 8 euro signs (3 bytes each), 8 emoji (4 bytes each) */
	assert_int_equal(
	    sgw_users_password_chars("\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
	                             "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
	                             "\xe2\x82\xac\xe2\x82\xac"),
	    8);
	assert_int_equal(sgw_users_password_chars(
	                     "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
	                     "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
	                     "\xf0\x9f\x98\x80\xf0\x9f\x98\x80"),
	    8);
	assert_int_equal(sgw_users_password_chars("ab\xe2\x82\xac"
	                                          "cd"),
	    5);
	/* bytes that are no UTF-8 count one each: Latin-1, a cut sequence */
	assert_int_equal(sgw_users_password_chars("caf\xe9"), 4);
	assert_int_equal(sgw_users_password_chars("\xe2\x82"), 2);
	assert_int_equal(sgw_users_password_chars("\x80\x80"), 2);
}

static void
no_users_gives_a_yescrypt_dummy_and_verifies_nobody(void **state)
{
	struct sgw_users u;
	struct sgw_errs e = {0};
	(void)state;

	assert_int_equal(parse_str("# nobody yet\n\n", &u, &e), 0);
	assert_int_equal(u.n, 0);
	assert_non_null(u.dummy_hash);
	assert_int_equal(strncmp(u.dummy_hash, "$y$", 3), 0);
	crypt_calls = 0;
	assert_null(sgw_users_verify(&u, "anyone", "anything"));
	assert_int_equal(crypt_calls, 1);
	sgw_users_free(&u);
}

static void
verify_refuses_the_crypt_failure_token(void **state)
{
	struct sgw_user v = {.name = (char *)"eve",
	    .hash = (char *)"*0",
	    .roles = (char *)"",
	    .line = 1};
	struct sgw_users u = {.v = &v, .n = 1, .dummy_hash = (char *)"*0"};
	(void)state;

	/* crypt "succeeds" with a result equal to the stored string, as a
	 * hand-edited "*0" hash would: it must still be refused */
	crypt_echo_failure = 1;
	crypt_calls = 0;
	assert_null(sgw_users_verify(&u, "eve", "x"));
	assert_int_equal(crypt_calls, 1);
	crypt_echo_failure = 0;
}

/* --- hashing ------------------------------------------------------------ */

static void
hash_password_yescrypt_by_default_and_verifies(void **state)
{
	struct sgw_users u;
	char *h = sgw_users_hash_password("correct horse", 0);
	char *h2 = sgw_users_hash_password("correct horse", 0);
	char *text;
	(void)state;

	assert_non_null(h);
	assert_non_null(h2);
	assert_int_equal(strncmp(h, "$y$", 3), 0);
	assert_int_equal(sgw_users_hash_strong(h), 1);
	/* a fresh salt each time */
	assert_string_not_equal(h, h2);
	text = fmt("alice:%s\n", h);
	assert_int_equal(parse_str(text, &u, NULL), 0);
	assert_non_null(sgw_users_verify(&u, "alice", "correct horse"));
	assert_null(sgw_users_verify(&u, "alice", "correct horsE"));
	sgw_users_free(&u);
	free(text);
	free(h);
	free(h2);
}

static void
hash_password_bcrypt_when_asked_and_verifies(void **state)
{
	struct sgw_users u;
	char *h = sgw_users_hash_password("battery staple", 1);
	char *text;
	(void)state;

	assert_non_null(h);
	assert_int_equal(strncmp(h, "$2b$", 4), 0);
	/* cost 10 or more: two digits, then '$' */
	assert_true(h[4] >= '0' && h[4] <= '9' && h[5] >= '0' && h[5] <= '9');
	assert_int_equal(h[6], '$');
	assert_true((h[4] - '0') * 10 + (h[5] - '0') >= 10);
	assert_int_equal(sgw_users_hash_strong(h), 1);
	text = fmt("bob:%s\n", h);
	assert_int_equal(parse_str(text, &u, NULL), 0);
	assert_non_null(sgw_users_verify(&u, "bob", "battery staple"));
	assert_null(sgw_users_verify(&u, "bob", "battery stapl"));
	sgw_users_free(&u);
	free(text);
	free(h);
	assert_null(sgw_users_hash_password(NULL, 0));
}

/* --- loading and reloading ---------------------------------------------- */

static void
load_reads_the_file_and_its_identity(void **state)
{
	struct dir *d = *state;
	struct sgw_users u;
	struct sgw_errs e = {0};
	struct stat st;
	char *text;

	text = fmt("alice:%s:admin\n", h_2b);
	spit(d->users, text);
	assert_int_equal(stat(d->users, &st), 0);
	assert_int_equal(sgw_users_load(d->users, &u, &e), 0);
	assert_int_equal(u.n, 1);
	assert_string_equal(u.v[0].roles, "admin");
	assert_string_equal(u.file, d->users);
	assert_true(u.dev == st.st_dev);
	assert_true(u.ino == st.st_ino);
	assert_true(u.size == st.st_size);
	assert_true(u.mtime.tv_sec == st.st_mtim.tv_sec);
	assert_true(u.mtime.tv_nsec == st.st_mtim.tv_nsec);
	assert_int_equal(sgw_users_changed(&u), 0);
	sgw_users_free(&u);
	free(text);
}

static void
load_reports_unreadable_files(void **state)
{
	struct dir *d = *state;
	struct sgw_users u;
	struct sgw_errs e = {0};
	char *want;

	assert_int_equal(sgw_users_load(d->users, &u, &e), -1);
	assert_int_equal(e.n, 1);
	want = fmt("%s: cannot read: No such file or directory", d->users);
	assert_string_equal(e.msg[0], want);
	free(want);
	sgw_errs_clear(&e);

	assert_int_equal(sgw_users_load(d->path, &u, &e), -1);
	assert_int_equal(e.n, 1);
	want = fmt("%s: cannot read: not a regular file", d->path);
	assert_string_equal(e.msg[0], want);
	free(want);
	sgw_errs_clear(&e);

	/* a problem inside carries the path and the line */
	spit(d->users, "\nbob:$1$x$y\n");
	assert_int_equal(sgw_users_load(d->users, &u, &e), -1);
	assert_int_equal(e.n, 1);
	want = fmt("%s:2: user \"bob\": %s", d->users, WEAK_ADVICE);
	assert_string_equal(e.msg[0], want);
	assert_null(u.file);
	free(want);
	sgw_errs_clear(&e);
}

static void
changed_sees_rewrites_in_place_and_by_rename(void **state)
{
	struct dir *d = *state;
	struct sgw_users u;
	struct sgw_errs e = {0};
	char *text;
	FILE *f;

	text = fmt("alice:%s\n", h_2b);
	spit(d->users, text);
	assert_int_equal(sgw_users_load(d->users, &u, &e), 0);
	assert_int_equal(sgw_users_changed(&u), 0);

	/* sgw_users_file_set renames a new file over it */
	assert_int_equal(
	    sgw_users_file_set(d->users, "bob", h_y, NULL, NULL, &e), 0);
	assert_int_equal(sgw_users_changed(&u), 1);
	sgw_users_free(&u);

	assert_int_equal(sgw_users_load(d->users, &u, &e), 0);
	assert_int_equal(sgw_users_changed(&u), 0);
	/* an edit in place keeps the inode but not the size */
	f = fopen(d->users, "a");
	assert_non_null(f);
	fputs("# more\n", f);
	fclose(f);
	assert_int_equal(sgw_users_changed(&u), 1);
	sgw_users_free(&u);

	assert_int_equal(sgw_users_load(d->users, &u, &e), 0);
	/* a file that went away is not a change to act on */
	assert_int_equal(unlink(d->users), 0);
	assert_int_equal(sgw_users_changed(&u), 0);
	sgw_users_free(&u);
	free(text);
	assert_int_equal(e.n, 0);
}

/* --- rewriting ------------------------------------------------------------ */

static void
file_set_creates_a_missing_file_with_mode_0640(void **state)
{
	struct dir *d = *state;
	struct sgw_errs e = {0};
	struct stat st;
	char *want, *got, listing[256];
	int replaced = -1;
	mode_t old = umask(077);

	/* with umask 077 a plain open() would give 0600 */
	assert_int_equal(
	    sgw_users_file_set(d->users, "alice", h_2b, "admin", &replaced, &e),
	    0);
	umask(old);
	assert_int_equal(e.n, 0);
	assert_int_equal(replaced, 0);
	assert_int_equal(stat(d->users, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	want = fmt("alice:%s:admin\n", h_2b);
	got = slurp(d->users);
	assert_string_equal(got, want);
	dir_listing(d->path, listing, sizeof listing);
	assert_string_equal(listing, "/users");
	free(want);
	free(got);
}

static void
file_set_appends_to_an_empty_file_and_adds_a_missing_newline(void **state)
{
	struct dir *d = *state;
	struct sgw_errs e = {0};
	char *want, *got;
	int replaced = -1;

	spit(d->users, "");
	assert_int_equal(
	    sgw_users_file_set(d->users, "alice", h_2b, NULL, &replaced, &e),
	    0);
	assert_int_equal(replaced, 0);
	want = fmt("alice:%s\n", h_2b);
	got = slurp(d->users);
	assert_string_equal(got, want);
	free(want);
	free(got);

	spit(d->users, "# no newline at the end");
	assert_int_equal(
	    sgw_users_file_set(d->users, "bob", h_y, "ops,dev", &replaced, &e),
	    0);
	assert_int_equal(replaced, 0);
	want = fmt("# no newline at the end\nbob:%s:ops,dev\n", h_y);
	got = slurp(d->users);
	assert_string_equal(got, want);
	free(want);
	free(got);
	assert_int_equal(e.n, 0);
}

static void
file_set_replace_keeps_every_other_byte(void **state)
{
	struct dir *d = *state;
	struct sgw_errs e = {0};
	char *before, *after, *want, *got;
	int replaced = 0;

	/* comments, blanks, CRLF and LF lines, a near-miss name, a bob in a
	 * comment, and a last line without a newline */
	before = fmt("# users\r\n"
	             "\n"
	             "alice:%s:admin\r\n"
	             "#bob:commented-out\n"
	             "bobby:%s\n",
	    h_2b, h_2b);
	after = fmt("\r\n"
	            "  \t\n"
	            "carol:%s",
	    h_y);
	got = fmt("%sbob:%s:ops,dev\r\n%s", before, h_6, after);
	spit(d->users, got);
	free(got);

	assert_int_equal(
	    sgw_users_file_set(d->users, "bob", h_y, NULL, &replaced, &e), 0);
	assert_int_equal(replaced, 1);
	want = fmt("%sbob:%s:ops,dev\r\n%s", before, h_y, after);
	got = slurp(d->users);
	assert_string_equal(got, want);
	free(want);
	free(got);

	/* new roles replace the old; "" removes them */
	assert_int_equal(
	    sgw_users_file_set(d->users, "bob", h_2b, "admin", &replaced, &e),
	    0);
	assert_int_equal(replaced, 1);
	want = fmt("%sbob:%s:admin\r\n%s", before, h_2b, after);
	got = slurp(d->users);
	assert_string_equal(got, want);
	free(want);
	free(got);

	assert_int_equal(
	    sgw_users_file_set(d->users, "bob", h_2b, "", &replaced, &e), 0);
	want = fmt("%sbob:%s\r\n%s", before, h_2b, after);
	got = slurp(d->users);
	assert_string_equal(got, want);
	free(want);
	free(got);

	/* the last line, which has no newline, stays without one */
	assert_int_equal(
	    sgw_users_file_set(d->users, "carol", h_6, NULL, &replaced, &e), 0);
	assert_int_equal(replaced, 1);
	want = fmt("%sbob:%s\r\n\r\n  \t\ncarol:%s", before, h_2b, h_6);
	got = slurp(d->users);
	assert_string_equal(got, want);
	free(want);
	free(got);
	assert_int_equal(e.n, 0);
	free(before);
	free(after);
}

static void
file_set_result_loads_and_verifies(void **state)
{
	struct dir *d = *state;
	struct sgw_users u;
	struct sgw_errs e = {0};
	char *h = sgw_users_hash_password("new secret", 1);

	assert_non_null(h);
	spit(d->users, "# staff\n");
	assert_int_equal(
	    sgw_users_file_set(d->users, "alice", h_2b, "admin", NULL, &e), 0);
	assert_int_equal(
	    sgw_users_file_set(d->users, "alice", h, NULL, NULL, &e), 0);
	assert_int_equal(sgw_users_load(d->users, &u, &e), 0);
	assert_int_equal(u.n, 1);
	assert_string_equal(u.v[0].roles, "admin");
	assert_non_null(sgw_users_verify(&u, "alice", "new secret"));
	assert_null(sgw_users_verify(&u, "alice", "b-pass"));
	sgw_users_free(&u);
	free(h);
	assert_int_equal(e.n, 0);
}

static void
file_set_keeps_the_file_mode(void **state)
{
	struct dir *d = *state;
	struct sgw_errs e = {0};
	struct stat st;
	static const mode_t modes[] = {0600, 0604, 0640, 0444};

	spit(d->users, "");
	for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
		assert_int_equal(chmod(d->users, modes[i]), 0);
		assert_int_equal(
		    sgw_users_file_set(d->users, "alice", h_2b, NULL, NULL, &e),
		    0);
		assert_int_equal(stat(d->users, &st), 0);
		assert_int_equal(st.st_mode & 07777, modes[i]);
	}
	assert_int_equal(e.n, 0);
}

static void
file_set_leaves_no_temporary_files(void **state)
{
	struct dir *d = *state;
	struct sgw_errs e = {0};
	char listing[256];

	spit(d->users, "# x\n");
	assert_int_equal(
	    sgw_users_file_set(d->users, "alice", h_2b, NULL, NULL, &e), 0);
	assert_int_equal(
	    sgw_users_file_set(d->users, "alice", h_y, "a", NULL, &e), 0);
	assert_int_equal(
	    sgw_users_file_set(d->users, "bob", h_y, NULL, NULL, &e), 0);
	dir_listing(d->path, listing, sizeof listing);
	assert_string_equal(listing, "/users");
	assert_int_equal(e.n, 0);
}

static void
file_set_refuses_bad_input_and_leaves_the_file_alone(void **state)
{
	struct dir *d = *state;
	struct sgw_errs e = {0};
	char *orig, *got, *want, listing[256];
	int replaced = -1;

	orig = fmt("alice:%s\n", h_2b);
	spit(d->users, orig);

	assert_int_equal(
	    sgw_users_file_set(d->users, "bad name", h_2b, NULL, &replaced, &e),
	    -1);
	assert_int_equal(replaced, 0);
	assert_int_equal(
	    sgw_users_file_set(d->users, "alice",
	        "$1$abcdefgh$0123456789abcdefghijkl", NULL, NULL, &e),
	    -1);
	assert_int_equal(
	    sgw_users_file_set(d->users, "alice", h_2b, "a b", NULL, &e), -1);
	assert_int_equal(
	    sgw_users_file_set(d->users, "alice", h_2b, "a,", NULL, &e), -1);
	/* a hash carrying a newline would add a line of its own */
	want = fmt("%s\nmallory:%s", h_2b, h_2b);
	assert_int_equal(
	    sgw_users_file_set(d->users, "alice", want, NULL, NULL, &e), -1);
	free(want);
	assert_int_equal(e.n, 5);
	want = fmt("%s: invalid user name (1 to %d bytes, no ':', whitespace "
	           "or control characters, not starting with '#')",
	    d->users, SGW_USER_MAXLEN);
	assert_string_equal(e.msg[0], want);
	free(want);
	want =
	    fmt("%s: refusing a weak or unsupported password hash", d->users);
	assert_string_equal(e.msg[1], want);
	assert_string_equal(e.msg[4], want);
	free(want);
	want = fmt("%s: invalid roles: printable ASCII, comma-separated, no "
	           "spaces or empty roles, at most 1024 bytes",
	    d->users);
	assert_string_equal(e.msg[2], want);
	assert_string_equal(e.msg[3], want);
	free(want);

	got = slurp(d->users);
	assert_string_equal(got, orig);
	dir_listing(d->path, listing, sizeof listing);
	assert_string_equal(listing, "/users");
	free(got);
	free(orig);
	sgw_errs_clear(&e);
}

static void
file_set_reports_write_errors_as_cannot_write(void **state)
{
	struct dir *d = *state;
	struct sgw_errs e = {0};
	char path[256], *want;

	snprintf(path, sizeof path, "%s/no/such/dir/users", d->path);
	assert_int_equal(
	    sgw_users_file_set(path, "alice", h_2b, NULL, NULL, &e), -1);
	assert_int_equal(e.n, 1);
	want = fmt("%s: cannot write: No such file or directory", path);
	assert_string_equal(e.msg[0], want);
	free(want);
	sgw_errs_clear(&e);

	assert_int_equal(
	    sgw_users_file_set(d->path, "alice", h_2b, NULL, NULL, &e), -1);
	assert_int_equal(e.n, 1);
	want = fmt("%s: cannot read: not a regular file", d->path);
	assert_string_equal(e.msg[0], want);
	free(want);
	sgw_errs_clear(&e);
}

/*
 * A write that fails half-way (here: the file size limit) must leave the
 * old file as it was and no temporary file behind. Run in a child so the
 * limit cannot touch anything else of the test run.
 */
static void
file_set_failed_write_keeps_the_old_file_and_no_temporary(void **state)
{
	struct dir *d = *state;
	char *orig, *got, listing[256];
	size_t n = 0;
	pid_t pid;
	int status;

	orig = calloc(1, 8192 + 1);
	assert_non_null(orig);
	while (n + 12 < 8192)
		n += (size_t)sprintf(orig + n, "# padding.\n");
	spit(d->users, orig);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl;
		struct sgw_errs e = {0};
		char *want = fmt("%s: cannot write: File too large", d->users);
		int rc, ok;

		signal(SIGXFSZ, SIG_IGN);
		getrlimit(RLIMIT_FSIZE, &rl);
		rl.rlim_cur = 4096;
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
			_exit(3);
		rc =
		    sgw_users_file_set(d->users, "alice", h_2b, NULL, NULL, &e);
		ok = rc == -1 && e.n == 1 && strcmp(e.msg[0], want) == 0;
		if (!ok && e.n > 0)
			fprintf(stderr, "child got: %s\n", e.msg[0]);
		free(want);
		sgw_errs_clear(&e);
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	got = slurp(d->users);
	assert_string_equal(got, orig);
	dir_listing(d->path, listing, sizeof listing);
	assert_string_equal(listing, "/users");
	free(got);
	free(orig);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
	        parse_accepts_every_strong_kind_with_roles_and_htpasswd_lines),
	    cmocka_unit_test(find_returns_the_named_user_only),
	    cmocka_unit_test(
	        comments_blank_lines_crlf_and_missing_final_newline_are_accepted),
	    cmocka_unit_test(weak_hashes_are_refused_with_their_line),
	    cmocka_unit_test(weak_hash_messages_never_contain_the_hash),
	    cmocka_unit_test(
	        strong_prefix_with_bad_bytes_or_length_is_a_malformed_hash),
	    cmocka_unit_test(malformed_line_without_colon_is_refused),
	    cmocka_unit_test(invalid_user_names_are_refused),
	    cmocka_unit_test(longest_valid_name_is_accepted),
	    cmocka_unit_test(empty_roles_are_refused),
	    cmocka_unit_test(roles_with_spaces_or_colons_are_refused),
	    cmocka_unit_test(duplicate_user_names_the_first_definition),
	    cmocka_unit_test(all_problems_are_collected_in_one_pass),
	    cmocka_unit_test(file_larger_than_the_limit_is_refused),
	    cmocka_unit_test(hash_strong_accepts_only_the_strong_list),
	    cmocka_unit_test(name_valid_follows_the_header),
	    cmocka_unit_test(
	        verify_right_password_returns_the_user_for_every_kind),
	    cmocka_unit_test(verify_wrong_password_returns_null),
	    cmocka_unit_test(verify_known_user_runs_one_crypt_against_its_hash),
	    cmocka_unit_test(
	        verify_unknown_user_runs_one_crypt_against_the_dummy),
	    cmocka_unit_test(dummy_hash_has_the_costliest_users_kind_and_cost),
	    cmocka_unit_test(dummy_hash_has_the_setting_of_a_one_setting_file),
	    cmocka_unit_test(
	        mixed_file_dummy_is_of_the_costliest_setting_and_cheaper_users_pad),
	    cmocka_unit_test(
	        failed_check_of_a_cheaper_user_costs_what_an_unknown_name_costs),
	    cmocka_unit_test(bcrypt_below_cost_10_is_refused_with_its_line),
	    cmocka_unit_test(password_chars_counts_utf8_characters_not_bytes),
	    cmocka_unit_test(
	        no_users_gives_a_yescrypt_dummy_and_verifies_nobody),
	    cmocka_unit_test(verify_refuses_the_crypt_failure_token),
	    cmocka_unit_test(hash_password_yescrypt_by_default_and_verifies),
	    cmocka_unit_test(hash_password_bcrypt_when_asked_and_verifies),
	    cmocka_unit_test_setup_teardown(
	        load_reads_the_file_and_its_identity, dir_setup, dir_teardown),
	    cmocka_unit_test_setup_teardown(
	        load_reports_unreadable_files, dir_setup, dir_teardown),
	    cmocka_unit_test_setup_teardown(
	        changed_sees_rewrites_in_place_and_by_rename, dir_setup,
	        dir_teardown),
	    cmocka_unit_test_setup_teardown(
	        file_set_creates_a_missing_file_with_mode_0640, dir_setup,
	        dir_teardown),
	    cmocka_unit_test_setup_teardown(
	        file_set_appends_to_an_empty_file_and_adds_a_missing_newline,
	        dir_setup, dir_teardown),
	    cmocka_unit_test_setup_teardown(
	        file_set_replace_keeps_every_other_byte, dir_setup,
	        dir_teardown),
	    cmocka_unit_test_setup_teardown(
	        file_set_result_loads_and_verifies, dir_setup, dir_teardown),
	    cmocka_unit_test_setup_teardown(
	        file_set_keeps_the_file_mode, dir_setup, dir_teardown),
	    cmocka_unit_test_setup_teardown(
	        file_set_leaves_no_temporary_files, dir_setup, dir_teardown),
	    cmocka_unit_test_setup_teardown(
	        file_set_refuses_bad_input_and_leaves_the_file_alone, dir_setup,
	        dir_teardown),
	    cmocka_unit_test_setup_teardown(
	        file_set_reports_write_errors_as_cannot_write, dir_setup,
	        dir_teardown),
	    cmocka_unit_test_setup_teardown(
	        file_set_failed_write_keeps_the_old_file_and_no_temporary,
	        dir_setup, dir_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
