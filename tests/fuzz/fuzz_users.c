/*
 * fuzz_users: the users file parser (sgw_users_parse).
 *
 * The input is the file's contents, an exact-size heap copy without a
 * NUL. The target is the parser, not crypt(3), which is a system library
 * the fuzzer cannot see into. But a parse that succeeds runs crypt(3)
 * once on each setting (scheme and cost) its users have, to time them
 * and make the dummy hash (on a default yescrypt setting when the file
 * defines no user); when there are several, twice on each, plus two
 * 5000-round SHA-256 runs. The cost of a run is written in the hash itself:
 * "$2b$31$" is 2^31 bcrypt rounds, "$6$rounds=999999999$" a billion SHA-512
 * rounds, and yescrypt or scrypt parameters can ask for gigabytes. Such an
 * input would stall the fuzzer (or trip its RSS limit) without saying anything
 * about the parser, so inputs carrying a cost above the default settings are
 * skipped; see too_costly(). The hashes themselves are still parsed when
 * cheap, and crypt_checksalt() (what the parser calls per line) does not
 * compute a hash at all. The input is capped at 4 KiB for the same
 * reason: a file of thousands of lines says nothing a short one does not.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "errs.h"
#include "users.h"
#include "fuzz.h"

#define INPUT_MAX 4096

/* Highest costs let through; each costs tens of milliseconds at most. */
#define BCRYPT_COST_MAX                                                        \
	10                   /* 2^10 rounds, ~65 ms: the least the             \
	                      * parser accepts (a cheaper hash is              \
	                      * refused before any crypt(3) run) */
#define SHA_ROUNDS_MAX 5000  /* libxcrypt's default for $5$ and $6$ */
#define YESCRYPT_NLOG_MAX 11 /* "$y$j9T$", the default, ~25 ms */
#define YESCRYPT_R_MAX 30    /* 'T' */
#define SCRYPT_NLOG_MAX 12   /* "$7$A": N = 2^13 */
#define SCRYPT_RP_MAX 8      /* r * p */

/* crypt(3)'s base-64 digit value, or -1. */
static int
itoa64(unsigned char c)
{
	static const char a[] =
	    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	const char *p = c != '\0' ? strchr(a, c) : NULL;

	return p != NULL ? (int)(p - a) : -1;
}

/* The 30-bit little-endian number in 5 base-64 digits (scrypt r, p). */
static long
itoa64_u30(const uint8_t *s)
{
	long v = 0;

	for (int i = 0; i < 5; i++) {
		int d = itoa64(s[i]);

		if (d < 0)
			return -1;
		v |= (long)d << (6 * i);
	}
	return v;
}

/* The cost of the hash setting at s (n bytes left) is above the limits. */
static int
setting_costly(const uint8_t *s, size_t n)
{
	if (n >= 4 &&
	    (memcmp(s, "$2b$", 4) == 0 || memcmp(s, "$2y$", 4) == 0)) {
		if (n < 6 || s[4] < '0' || s[4] > '9' || s[5] < '0' ||
		    s[5] > '9')
			return 0; /* not a cost: crypt(3) refuses it at once */
		return (s[4] - '0') * 10 + (s[5] - '0') > BCRYPT_COST_MAX;
	}
	if ((n >= 3 && memcmp(s, "$y$", 3) == 0) ||
	    (n >= 4 && memcmp(s, "$gy$", 4) == 0)) {
		/* Only the plain "$y$" flags, N and r, no further
		 * parameters: "j" N r "$". */
		const uint8_t *p = s + (s[1] == 'g' ? 4 : 3);
		size_t left = n - (size_t)(p - s);

		return left < 4 || p[0] != 'j' || p[3] != '$' ||
		    itoa64(p[1]) < 0 || itoa64(p[1]) > YESCRYPT_NLOG_MAX ||
		    itoa64(p[2]) < 0 || itoa64(p[2]) > YESCRYPT_R_MAX;
	}
	if (n >= 3 && memcmp(s, "$7$", 3) == 0) {
		long r, p;

		if (n < 14 || itoa64(s[3]) < 0 ||
		    itoa64(s[3]) > SCRYPT_NLOG_MAX)
			return 1;
		r = itoa64_u30(s + 4);
		p = itoa64_u30(s + 9);
		return r < 0 || p < 0 || r * p > SCRYPT_RP_MAX;
	}
	if (n >= 7 && memcmp(s, "rounds=", 7) == 0) {
		/* libxcrypt reads the count with strtoul, which takes a sign
		 * ("-1" is the largest count there is): only plain digits. */
		long v = 0;
		size_t i = 7;

		if (i >= n || s[i] < '0' || s[i] > '9')
			return 1;
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
			v = v * 10 + (s[i] - '0');
			if (v > SHA_ROUNDS_MAX)
				return 1;
		}
		return 0;
	}
	return 0;
}

/*
 * Any hash setting anywhere in the input: a superset of the first
 * user's hash, whose line and field would take the parser to find.
 */
static int
too_costly(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < size; i++) {
		if ((data[i] == '$' || data[i] == 'r') &&
		    setting_costly(data + i, size - i))
			return 1;
	}
	return 0;
}

static void
check_users(const struct sgw_users *u)
{
	CHECK(u->n == 0 || u->v != NULL);
	CHECK(u->dummy_hash != NULL && u->file != NULL);
	for (size_t i = 0; i < u->n; i++) {
		const struct sgw_user *x = &u->v[i];

		CHECK(x->name != NULL && x->hash != NULL && x->roles != NULL);
		CHECK(sgw_users_name_valid(x->name));
		CHECK(sgw_users_hash_strong(x->hash));
		/* No user twice: the name finds this very entry. */
		CHECK(sgw_users_find(u, x->name) == x);
		CHECK(strpbrk(x->roles, ": \t\r\n") == NULL);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sgw_errs errs = {0};
	struct sgw_users users;
	char *text;

	if (size > INPUT_MAX || too_costly(data, size))
		return 0;
	if ((text = malloc(size)) == NULL)
		return 0;
	if (size > 0)
		memcpy(text, data, size);
	if (sgw_users_parse("users", text, size, &users, &errs) == 0) {
		check_users(&users);
		sgw_users_free(&users);
	} else {
		/* Refused: nothing kept, and each reason reported. */
		CHECK(users.v == NULL && users.n == 0 &&
		    users.dummy_hash == NULL);
		CHECK(errs.n + errs.dropped > 0);
	}
	sgw_errs_clear(&errs);
	free(text);
	return 0;
}
