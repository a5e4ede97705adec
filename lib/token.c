/*
 * token: session tokens, the hash Redis sees, the id users see, and the
 * keys that MAC the tokens.
 *
 * Randomness comes straight from the kernel (getrandom(2)) rather than a
 * user-space DRBG: the workers are forked from one master, and the kernel
 * is the one generator whose state no fork can duplicate. There is no
 * fallback: when the kernel cannot give us bytes, no token is made.
 */
#include "token.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP,
 * but stay, and are the cheap way to a hash of one or two blocks: see
 * below. nginx suppresses the warnings the same way. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "chars.h"
#include "fileio.h"

#define RAND_LEN 32               /* random bytes in a token */
#define MAC_LEN 16                /* truncated HMAC-SHA256 */
#define RAND_B64 43               /* base64url characters for RAND_LEN */
#define MAC_B64 22                /* base64url characters for MAC_LEN */
#define KEYS_FILE_MAX (64 * 1024) /* far beyond 16 keys of 128 bytes */

static const char hexdigits[] = "0123456789abcdef";
static const char b64url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Each base64url character's value plus one, 0 for every other byte:
 * a table rather than comparisons, for the 65 characters of every check.
 * The entries are written once and shared by both tables below. */
/* clang-format off */
#define B64URL_VALUES \
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6, ['G'] = 7, ['H'] = 8, \
	['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, \
	['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24, \
	['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32, \
	['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, \
	['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, \
	['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56, \
	['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['-'] = 63, ['_'] = 64,
static const unsigned char b64url_value[256] = {B64URL_VALUES};

/* The same for key files, which may come from `openssl rand -base64`:
 * both alphabets. */
static const unsigned char b64any_value[256] = {
	B64URL_VALUES
	['+'] = 63, ['/'] = 64,
};
/* clang-format on */

/* Bytes that n unpadded base64 characters stand for (n % 4 != 1). */
static size_t
b64_decoded_len(size_t n)
{
	return n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
}

/*
 * Decodes n unpadded base64 characters into out (outsz bytes). Returns
 * the byte count, or -1 on a character outside the alphabet, a length no
 * encoder produces (n % 4 == 1), too little room, or leftover bits that
 * are not zero: those would be a second spelling of the same bytes, and a
 * token must have exactly one.
 */
static long
b64_decode(const char *in, size_t n, const unsigned char value[256],
    unsigned char *out, size_t outsz)
{
	const unsigned char *u = (const unsigned char *)in;
	size_t i = 0, o = 0;
	uint32_t v;

	if (n % 4 == 1 || b64_decoded_len(n) > outsz)
		return -1;
	/* Four characters make three bytes; each table entry is its value
	 * plus one, so a zero (not in the alphabet) makes d negative. */
	for (; i + 4 <= n; i += 4, o += 3) {
		int a = value[u[i]] - 1, b = value[u[i + 1]] - 1;
		int c = value[u[i + 2]] - 1, d = value[u[i + 3]] - 1;

		if ((a | b | c | d) < 0)
			return -1;
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 |
		    (uint32_t)d;
		out[o] = (unsigned char)(v >> 16);
		out[o + 1] = (unsigned char)(v >> 8);
		out[o + 2] = (unsigned char)v;
	}
	if (n - i >= 2) {
		int a = value[u[i]] - 1, b = value[u[i + 1]] - 1;
		int c = n - i == 3 ? value[u[i + 2]] - 1 : 0;

		if ((a | b | c) < 0)
			return -1;
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
		/* The bits past the last whole byte must be zero. */
		if (n - i == 2 && (v & 0xffff) != 0)
			return -1;
		if (n - i == 3 && (v & 0xff) != 0)
			return -1;
		out[o++] = (unsigned char)(v >> 16);
		if (n - i == 3)
			out[o++] = (unsigned char)(v >> 8);
	}
	return (long)o;
}

size_t
sgw_b64url_encode(const unsigned char *in, size_t n, char *out)
{
	size_t i = 0, o = 0;

	for (; n - i >= 3; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];

		out[o++] = b64url_chars[v >> 18 & 63];
		out[o++] = b64url_chars[v >> 12 & 63];
		out[o++] = b64url_chars[v >> 6 & 63];
		out[o++] = b64url_chars[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		out[o++] = b64url_chars[v >> 18 & 63];
		out[o++] = b64url_chars[v >> 12 & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		out[o++] = b64url_chars[v >> 18 & 63];
		out[o++] = b64url_chars[v >> 12 & 63];
		out[o++] = b64url_chars[v >> 6 & 63];
	}
	out[o] = '\0';
	return o;
}

/* out holds 2 * n + 1 bytes. */
static void
hex_encode(const unsigned char *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexdigits[in[i] >> 4];
		out[2 * i + 1] = hexdigits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* The kernel's CSPRNG or nothing. */
static int
random_bytes(unsigned char *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom(buf + got, n - got, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			OPENSSL_cleanse(buf, n);
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

/*
 * A check hashes two or three short strings: the token's MAC (two SHA-256
 * blocks, with the key's padded blocks absorbed once per key), the token
 * for the store's key (two) and the hash for the public id (one). Through
 * EVP every one of them costs more in provider dispatch, context copies
 * and allocations than its blocks do (about 1,500 instructions each, with
 * the algorithm fetched once), so they go to the SHA-256 block functions
 * directly. HMAC is RFC 2104 over them; the unit tests check it against
 * OpenSSL's own HMAC().
 */
struct sgw_hmac {
	SHA256_CTX inner; /* after (key ^ ipad) */
	SHA256_CTX outer; /* after (key ^ opad) */
};

int
sgw_sha256(const void *data, size_t len, unsigned char out[SGW_HASH_LEN])
{
	SHA256_CTX c;
	int ok = SHA256_Init(&c) == 1 && SHA256_Update(&c, data, len) == 1 &&
	    SHA256_Final(out, &c) == 1;

	OPENSSL_cleanse(&c, sizeof(c));
	return ok ? 0 : -1;
}

/* The padded key blocks of HMAC-SHA256, absorbed. */
static int
hmac_key(struct sgw_hmac *h, const unsigned char *key, size_t len)
{
	unsigned char k[SHA256_CBLOCK] = {0}, pad[SHA256_CBLOCK];
	int ok;

	/* A key longer than a block is its hash (RFC 2104, section 2). */
	if (len > SHA256_CBLOCK)
		ok = sgw_sha256(key, len, k) == 0;
	else {
		memcpy(k, key, len);
		ok = 1;
	}
	for (size_t i = 0; i < SHA256_CBLOCK; i++)
		pad[i] = k[i] ^ 0x36;
	ok = ok && SHA256_Init(&h->inner) == 1 &&
	    SHA256_Update(&h->inner, pad, sizeof(pad)) == 1;
	for (size_t i = 0; i < SHA256_CBLOCK; i++)
		pad[i] = k[i] ^ 0x5c;
	ok = ok && SHA256_Init(&h->outer) == 1 &&
	    SHA256_Update(&h->outer, pad, sizeof(pad)) == 1;
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(pad, sizeof(pad));
	return ok ? 0 : -1;
}

/* The first MAC_LEN bytes of HMAC-SHA256(key i, rnd) into mac: from the
 * key's absorbed blocks when it is set up, else from the key. */
static int
token_mac(const struct sgw_keys *keys, size_t i,
    const unsigned char rnd[RAND_LEN], unsigned char mac[MAC_LEN])
{
	struct sgw_hmac once;
	const struct sgw_hmac *h = keys->mac[i];
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256_CTX c;
	int ok;

	if (keys->len[i] < SGW_KEY_MINLEN || keys->len[i] > SGW_KEY_MAXLEN)
		return -1;
	if (h == NULL) {
		if (hmac_key(&once, keys->key[i], keys->len[i]) != 0)
			return -1;
		h = &once;
	}
	c = h->inner;
	ok = SHA256_Update(&c, rnd, RAND_LEN) == 1 && SHA256_Final(md, &c) == 1;
	c = h->outer;
	ok = ok && SHA256_Update(&c, md, sizeof(md)) == 1 &&
	    SHA256_Final(md, &c) == 1;
	if (ok)
		memcpy(mac, md, MAC_LEN);
	OPENSSL_cleanse(md, sizeof(md));
	OPENSSL_cleanse(&c, sizeof(c));
	if (h == &once)
		OPENSSL_cleanse(&once, sizeof(once));
	return ok ? 0 : -1;
}

int
sgw_keys_setup(struct sgw_keys *keys)
{
	struct sgw_hmac *made[SGW_KEYS_MAX] = {0};
	size_t i;

	if (keys == NULL || keys->n == 0 || keys->n > SGW_KEYS_MAX)
		return -1;
	for (i = 0; i < keys->n; i++) {
		if (keys->len[i] < SGW_KEY_MINLEN ||
		    keys->len[i] > SGW_KEY_MAXLEN ||
		    (made[i] = malloc(sizeof(*made[i]))) == NULL ||
		    hmac_key(made[i], keys->key[i], keys->len[i]) != 0)
			goto fail;
	}
	/* Set up twice: the new states replace the old. */
	for (i = 0; i < SGW_KEYS_MAX; i++) {
		if (keys->mac[i] != NULL) {
			OPENSSL_cleanse(keys->mac[i], sizeof(*keys->mac[i]));
			free(keys->mac[i]);
		}
		keys->mac[i] = made[i];
	}
	return 0;
fail:
	for (i = 0; i < SGW_KEYS_MAX; i++) {
		if (made[i] != NULL) {
			OPENSSL_cleanse(made[i], sizeof(*made[i]));
			free(made[i]);
		}
	}
	return -1;
}

int
sgw_token_new(const struct sgw_keys *keys, char out[SGW_TOKEN_LEN + 1],
    unsigned char hash[SGW_HASH_LEN])
{
	unsigned char rnd[RAND_LEN], mac[MAC_LEN];
	int rc = -1;

	if (keys == NULL || keys->n == 0 || keys->n > SGW_KEYS_MAX)
		goto done;
	if (random_bytes(rnd, sizeof(rnd)) != 0)
		goto done;
	/* The first key signs; the others only verify (rotation). */
	if (token_mac(keys, 0, rnd, mac) != 0)
		goto done;
	sgw_b64url_encode(rnd, RAND_LEN, out);
	out[RAND_B64] = '.';
	sgw_b64url_encode(mac, MAC_LEN, out + RAND_B64 + 1);
	if (sgw_sha256(out, SGW_TOKEN_LEN, hash) != 0)
		goto done;
	rc = 0;
done:
	OPENSSL_cleanse(rnd, sizeof(rnd));
	OPENSSL_cleanse(mac, sizeof(mac));
	if (rc != 0) {
		OPENSSL_cleanse(out, SGW_TOKEN_LEN + 1);
		out[0] = '\0';
	}
	return rc;
}

int
sgw_token_check(const struct sgw_keys *keys, const char *tok, size_t len,
    unsigned char hash[SGW_HASH_LEN])
{
	unsigned char rnd[RAND_LEN], mac[MAC_LEN], want[MAC_LEN];
	int match = 0, rc = -1;

	if (hash != NULL)
		memset(hash, 0, SGW_HASH_LEN);
	/* Shape first: anything an encoder of ours cannot have written is
	 * refused before a key is touched. */
	if (keys == NULL || tok == NULL || hash == NULL ||
	    len != SGW_TOKEN_LEN || tok[RAND_B64] != '.')
		return -1;
	if (b64_decode(tok, RAND_B64, b64url_value, rnd, sizeof(rnd)) !=
	    RAND_LEN)
		return -1;
	if (b64_decode(tok + RAND_B64 + 1, MAC_B64, b64url_value, mac,
	        sizeof(mac)) != MAC_LEN)
		return -1;
	if (keys->n == 0 || keys->n > SGW_KEYS_MAX)
		goto done;

	/* Every key is tried, matched or not, so the time taken does not
	 * tell which key (if any) signed the token. */
	for (size_t i = 0; i < keys->n; i++) {
		if (token_mac(keys, i, rnd, want) != 0)
			goto done;
		match |= CRYPTO_memcmp(want, mac, MAC_LEN) == 0;
	}
	if (!match)
		goto done;
	if (sgw_sha256(tok, len, hash) != 0)
		goto done;
	rc = 0;
done:
	OPENSSL_cleanse(want, sizeof(want));
	return rc;
}

void
sgw_token_hash_hex(
    const unsigned char hash[SGW_HASH_LEN], char out[SGW_HASH_HEX])
{
	hex_encode(hash, SGW_HASH_LEN, out);
}

int
sgw_token_hash_from_hex(
    const char *hex, size_t len, unsigned char hash[SGW_HASH_LEN])
{
	if (len != 2 * SGW_HASH_LEN)
		return -1;
	for (size_t i = 0; i < SGW_HASH_LEN; i++) {
		int hi = sgw_hex_digit((unsigned char)hex[2 * i]);
		int lo = sgw_hex_digit((unsigned char)hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		hash[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

void
sgw_token_public_id(
    const unsigned char hash[SGW_HASH_LEN], char out[SGW_PUBLIC_ID_HEX])
{
	static const char label[] = "sgw-id";
	unsigned char buf[sizeof(label) - 1 + SGW_HASH_LEN];
	unsigned char md[SGW_HASH_LEN];

	/* A domain label keeps the id from being the hash of anything else
	 * we compute; SHA-256 keeps it from leading back to the hash. */
	memcpy(buf, label, sizeof(label) - 1);
	memcpy(buf + sizeof(label) - 1, hash, SGW_HASH_LEN);
	if (sgw_sha256(buf, sizeof(buf), md) != 0) {
		/* Cannot happen with the default provider; an id of zeros
		 * names no session rather than a wrong one. */
		memset(md, 0, sizeof(md));
	}
	hex_encode(md, (SGW_PUBLIC_ID_HEX - 1) / 2, out);
}

int
sgw_secret_new(char out[SGW_SECRET_LINE])
{
	unsigned char key[(SGW_SECRET_LINE - 1) / 2];

	if (random_bytes(key, sizeof(key)) != 0) {
		out[0] = '\0';
		return -1;
	}
	hex_encode(key, sizeof(key), out);
	OPENSSL_cleanse(key, sizeof(key));
	return 0;
}

void
sgw_keys_wipe(struct sgw_keys *keys)
{
	if (keys == NULL)
		return;
	for (size_t i = 0; i < SGW_KEYS_MAX; i++) {
		if (keys->mac[i] != NULL) {
			OPENSSL_cleanse(keys->mac[i], sizeof(*keys->mac[i]));
			free(keys->mac[i]);
		}
	}
	OPENSSL_cleanse(keys, sizeof(*keys));
}

/* Loading overwrites: *keys may be uninitialised, so nothing in it is
 * freed (see token.h). */
static void
keys_clear(struct sgw_keys *keys)
{
	OPENSSL_cleanse(keys, sizeof(*keys));
	memset(keys->mac, 0, sizeof(keys->mac));
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/*
 * One line of the secret file, already trimmed, into the next free slot.
 * A line of hex digits only is hex: random base64 of 32+ bytes is made of
 * hex digits alone with negligible probability, while a short hex key read
 * as base64 would be accepted with the wrong length and half the entropy
 * the operator thinks it has.
 */
static int
key_line(const char *file, unsigned line, const char *s, size_t n,
    struct sgw_keys *keys, struct sgw_errs *errs)
{
	unsigned char *dst;
	size_t i, pad = 0, dlen;
	int is_hex;

	if (keys->n >= SGW_KEYS_MAX) {
		sgw_errs_add(errs, "%s:%u: too many keys (at most %d)", file,
		    line, SGW_KEYS_MAX);
		return -1;
	}
	dst = keys->key[keys->n];

	for (i = 0; i < n && sgw_hex_digit((unsigned char)s[i]) >= 0; i++)
		;
	is_hex = i == n;
	if (is_hex) {
		if (n % 2 != 0) {
			sgw_errs_add(errs,
			    "%s:%u: odd number of hex digits "
			    "in secret key",
			    file, line);
			return -1;
		}
		dlen = n / 2;
	} else {
		/* Padding is optional, but when present it must be right. */
		while (pad < n && pad < 2 && s[n - 1 - pad] == '=')
			pad++;
		if (pad > 0 && n % 4 != 0)
			goto notkey;
		n -= pad;
		for (i = 0; i < n; i++)
			if (b64any_value[(unsigned char)s[i]] == 0)
				goto notkey;
		if (n % 4 == 1)
			goto notkey;
		dlen = b64_decoded_len(n);
	}
	if (dlen < SGW_KEY_MINLEN) {
		sgw_errs_add(errs,
		    "%s:%u: secret key too short (%zu bytes, "
		    "need at least %d)",
		    file, line, dlen, SGW_KEY_MINLEN);
		return -1;
	}
	if (dlen > SGW_KEY_MAXLEN) {
		sgw_errs_add(errs,
		    "%s:%u: secret key too long (%zu bytes, "
		    "at most %d)",
		    file, line, dlen, SGW_KEY_MAXLEN);
		return -1;
	}
	if (is_hex) {
		for (i = 0; i < dlen; i++)
			dst[i] = (unsigned char)(sgw_hex_digit(
			                             (unsigned char)s[2 * i])
			        << 4 |
			    sgw_hex_digit((unsigned char)s[2 * i + 1]));
	} else if (b64_decode(s, n, b64any_value, dst, SGW_KEY_MAXLEN) !=
	    (long)dlen) {
		/* Only non-zero leftover bits get here. */
		OPENSSL_cleanse(dst, SGW_KEY_MAXLEN);
		goto notkey;
	}
	keys->len[keys->n++] = dlen;
	return 0;
notkey:
	sgw_errs_add(
	    errs, "%s:%u: secret key is neither hex nor base64", file, line);
	return -1;
}

int
sgw_keys_parse(const char *file, const char *text, size_t len,
    struct sgw_keys *keys, struct sgw_errs *errs)
{
	size_t pos = 0, n;
	const char *s;
	unsigned line = 0;
	int bad = 0;

	if (keys == NULL)
		return -1;
	keys_clear(keys);
	while (sgw_line_next(text, len, &pos, &s, &n)) {
		line++;
		while (n > 0 && is_blank(*s)) {
			s++;
			n--;
		}
		while (n > 0 && is_blank(s[n - 1]))
			n--;
		if (n == 0 || *s == '#')
			continue;
		if (key_line(file, line, s, n, keys, errs) != 0)
			bad = 1;
	}
	if (!bad && keys->n == 0) {
		sgw_errs_add(errs, "%s: no key", file);
		bad = 1;
	}
	if (bad) {
		keys_clear(keys);
		return -1;
	}
	return 0;
}

int
sgw_keys_load(const char *file, struct sgw_keys *keys, struct sgw_errs *errs)
{
	struct sgw_file f;
	int rc;

	if (file == NULL || keys == NULL)
		return -1;
	keys_clear(keys);
	/* Whoever can read the keys can forge every session: SGW_FILE_SECRET
	 * refuses a file others may access, and leaves no copy behind. */
	if (sgw_file_read(file, KEYS_FILE_MAX, SGW_FILE_SECRET, &f) < 0) {
		if (f.err == SGW_FILE_TOO_LARGE)
			sgw_errs_add(errs, "%s: too large (more than %d bytes)",
			    file, KEYS_FILE_MAX);
		else
			sgw_errs_add(errs, "%s: %s", file, f.errstr);
		return -1;
	}
	rc = sgw_keys_parse(file, f.buf, f.len, keys, errs);
	sgw_file_free(&f);
	return rc;
}
