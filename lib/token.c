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

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

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
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	if (n % 4 == 1 || b64_decoded_len(n) > outsz)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int d = (int)value[(unsigned char)in[i]] - 1;

		if (d < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)
		return -1;
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
 * OpenSSL 3's one-shot calls (HMAC(), EVP_Digest() with EVP_sha256()) look
 * the algorithm up by name and build a context on every call: an HMAC of
 * 32 bytes cost about 20,000 instructions, of which its two SHA-256 blocks
 * are about 4,000. So a process fetches HMAC and SHA-256 once, keeps one
 * digest context for sgw_sha256, and each set-up key keeps an HMAC context
 * keyed once, re-initialised (not rebuilt) for every token. Processes are
 * single-threaded, so one digest context per process is enough.
 */
static EVP_MAC *hmac_alg;      /* fetched by sgw_keys_setup */
static EVP_MD *sha256_alg;     /* fetched at the first digest */
static EVP_MD_CTX *sha256_ctx; /* reused by every sgw_sha256 */

static int
digest_setup(void)
{
	if (sha256_ctx != NULL)
		return 0;
	if (sha256_alg == NULL &&
	    (sha256_alg = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		return -1;
	if ((sha256_ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	return 0;
}

int
sgw_sha256(const void *data, size_t len, unsigned char out[SGW_HASH_LEN])
{
	unsigned int n = 0;

	if (digest_setup() == 0) {
		if (EVP_DigestInit_ex2(sha256_ctx, sha256_alg, NULL) != 1 ||
		    EVP_DigestUpdate(sha256_ctx, data, len) != 1 ||
		    EVP_DigestFinal_ex(sha256_ctx, out, &n) != 1)
			return -1;
	} else if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1) {
		return -1;
	}
	return n == SGW_HASH_LEN ? 0 : -1;
}

/* The first MAC_LEN bytes of HMAC-SHA256(key i, rnd) into mac: through
 * the key's own context when it is set up, else one-shot. */
static int
token_mac(const struct sgw_keys *keys, size_t i,
    const unsigned char rnd[RAND_LEN], unsigned char mac[MAC_LEN])
{
	EVP_MAC_CTX *ctx = keys->mac[i];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t outlen = 0;
	int rc = -1;

	if (keys->len[i] < SGW_KEY_MINLEN || keys->len[i] > SGW_KEY_MAXLEN)
		goto done;
	if (ctx != NULL) {
		/* No key: start again with the key the context holds. */
		if (EVP_MAC_init(ctx, NULL, 0, NULL) != 1 ||
		    EVP_MAC_update(ctx, rnd, RAND_LEN) != 1 ||
		    EVP_MAC_final(ctx, md, &outlen, sizeof(md)) != 1)
			goto done;
	} else {
		if (HMAC(EVP_sha256(), keys->key[i], (int)keys->len[i], rnd,
		        RAND_LEN, md, &mdlen) == NULL)
			goto done;
		outlen = mdlen;
	}
	if (outlen < MAC_LEN)
		goto done;
	memcpy(mac, md, MAC_LEN);
	rc = 0;
done:
	OPENSSL_cleanse(md, sizeof(md));
	return rc;
}

int
sgw_keys_setup(struct sgw_keys *keys)
{
	EVP_MAC_CTX *made[SGW_KEYS_MAX] = {0};
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
	    OSSL_PARAM_construct_end(),
	};
	size_t i;

	if (keys == NULL || keys->n == 0 || keys->n > SGW_KEYS_MAX)
		return -1;
	if (digest_setup() != 0)
		return -1;
	if (hmac_alg == NULL &&
	    (hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return -1;
	for (i = 0; i < keys->n; i++) {
		if (keys->len[i] < SGW_KEY_MINLEN ||
		    keys->len[i] > SGW_KEY_MAXLEN ||
		    (made[i] = EVP_MAC_CTX_new(hmac_alg)) == NULL ||
		    EVP_MAC_init(made[i], keys->key[i], keys->len[i], params) !=
		        1)
			goto fail;
	}
	/* Set up twice: the new contexts replace the old. */
	for (i = 0; i < SGW_KEYS_MAX; i++) {
		EVP_MAC_CTX_free(keys->mac[i]);
		keys->mac[i] = made[i];
	}
	return 0;
fail:
	for (i = 0; i < SGW_KEYS_MAX; i++)
		EVP_MAC_CTX_free(made[i]);
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
	for (size_t i = 0; i < SGW_KEYS_MAX; i++)
		EVP_MAC_CTX_free(keys->mac[i]);
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
