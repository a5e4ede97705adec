/*
 * token: what the cookie carries, and what Redis may know of it.
 *
 *   TOKEN    = base64url(32 random bytes) "." base64url(MAC)
 *   MAC      = first 16 bytes of HMAC-SHA256(key, the 32 random bytes)
 *   hash     = SHA-256(TOKEN)              -> the Redis key (hex)
 *   public id = first 16 bytes of SHA-256("sgw-id" || hash), hex
 *
 * The MAC lets a worker refuse a forged or malformed token without asking
 * Redis; the first key signs, every key verifies (rotation). Redis only
 * ever sees the hash, so a copy of its data lets nobody in; users only
 * ever see the public id, which does not lead back to the hash.
 */
#ifndef SGW_TOKEN_H
#define SGW_TOKEN_H

#include <stddef.h>

#include "errs.h"

#define SGW_KEYS_MAX 16
#define SGW_KEY_MAXLEN 128
#define SGW_KEY_MINLEN 32
#define SGW_TOKEN_LEN 66 /* 43 + 1 + 22 characters */
#define SGW_HASH_LEN 32
#define SGW_HASH_HEX 65      /* 64 hex digits + NUL */
#define SGW_PUBLIC_ID_HEX 33 /* 32 hex digits + NUL */
#define SGW_SECRET_LINE 65   /* 64 hex digits + NUL */

struct sgw_keys {
	unsigned char key[SGW_KEYS_MAX][SGW_KEY_MAXLEN];
	size_t len[SGW_KEYS_MAX];
	size_t n;                           /* >= 1 after a successful load */
	struct sgw_hmac *mac[SGW_KEYS_MAX]; /* HMAC-SHA256 keyed with
	                                     * key[i], made by
	                                     * sgw_keys_setup; NULL before */
};

/* Reads the secret file: one key a line, 64+ hex digits or base64 (either
 * alphabet, padding optional) decoding to 32..128 bytes; '#' comments and
 * blank lines skipped. Returns 0, or -1 with "FILE:LINE: message" in errs.
 * A file with no key is an error. *keys need not be initialised: it is
 * overwritten whole, so a set-up one must be wiped before it is loaded
 * again (its HMAC states would leak). */
int sgw_keys_load(
    const char *file, struct sgw_keys *keys, struct sgw_errs *errs);
int sgw_keys_parse(const char *file, const char *text, size_t len,
    struct sgw_keys *keys, struct sgw_errs *errs);

/*
 * Makes the keys fast to use: each key's padded HMAC blocks absorbed
 * once. A process that checks tokens for a living (a worker) calls it
 * once, after fork; the token functions give the same answers without
 * it, only slower (two more SHA-256 blocks per key per token). Returns
 * 0, or -1 when out of memory (then keys is as it was). The states
 * belong to keys: never copy a set-up struct.
 */
int sgw_keys_setup(struct sgw_keys *keys);
/* Frees what sgw_keys_setup made and overwrites the key material;
 * accepts NULL and a struct that was never set up. */
void sgw_keys_wipe(struct sgw_keys *keys);

/* A new token (NUL-terminated, SGW_TOKEN_LEN chars) and its hash.
 * Returns 0, or -1 when the CSPRNG fails (never falls back). */
int sgw_token_new(const struct sgw_keys *keys, char out[SGW_TOKEN_LEN + 1],
    unsigned char hash[SGW_HASH_LEN]);

/* Checks shape and MAC of len bytes at tok (not NUL-terminated) against
 * every key in constant time per key. Returns 0 and fills hash when valid,
 * -1 otherwise. Does no I/O. */
int sgw_token_check(const struct sgw_keys *keys, const char *tok, size_t len,
    unsigned char hash[SGW_HASH_LEN]);

/* The hash as 64 lower-case hex digits: the store's key for the session. */
void sgw_token_hash_hex(
    const unsigned char hash[SGW_HASH_LEN], char out[SGW_HASH_HEX]);

/* The reverse, for hashes read back from the store: exactly 64 hex
 * digits (either case), else -1. */
int sgw_token_hash_from_hex(
    const char *hex, size_t len, unsigned char hash[SGW_HASH_LEN]);

/* The public session id derived from the hash: 32 hex digits. */
void sgw_token_public_id(
    const unsigned char hash[SGW_HASH_LEN], char out[SGW_PUBLIC_ID_HEX]);

/* SHA-256 of len bytes, on OpenSSL's block functions (token.c says
 * why). 0, or -1 when OpenSSL fails. */
int sgw_sha256(const void *data, size_t len, unsigned char out[SGW_HASH_LEN]);

/* A new random key line for the secret file (64 hex digits). 0 or -1. */
int sgw_secret_new(char out[SGW_SECRET_LINE]);

/* base64url without padding. sgw_b64url_encode writes 4*ceil(n/3) or
 * fewer chars plus NUL and returns the length; out must hold
 * (n * 4 + 2) / 3 + 1 bytes. */
size_t sgw_b64url_encode(const unsigned char *in, size_t n, char *out);

#endif
