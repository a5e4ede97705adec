/*
 * fuzz_token: the session token check and the secret file parser.
 *
 * The input is first a cookie value as a client might send it (an
 * exact-size heap copy, no NUL) checked against two fixed keys, then the
 * contents of a secret file. Seeds hold tokens signed with the fixed keys
 * below, so the fuzzer starts from tokens that pass.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "errs.h"
#include "token.h"
#include "fuzz.h"

/* The seeds in corpus/fuzz_token/ were signed with these (either key). */
static const char fixed_keys[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
    "# the previous key, still accepted\n"
    "f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f\n";

static struct sgw_keys keys;

static int
b64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* A token made with these keys must pass, with the hash of its text. */
static void
round_trip(const struct sgw_keys *k)
{
	char tok[SGW_TOKEN_LEN + 1];
	unsigned char made[SGW_HASH_LEN], checked[SGW_HASH_LEN];

	CHECK(sgw_token_new(k, tok, made) == 0);
	CHECK(strlen(tok) == SGW_TOKEN_LEN);
	CHECK(sgw_token_check(k, tok, SGW_TOKEN_LEN, checked) == 0);
	CHECK(memcmp(made, checked, SGW_HASH_LEN) == 0);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sgw_errs errs = {0};

	(void)argc;
	(void)argv;
	if (sgw_keys_parse("fixed", fixed_keys, sizeof(fixed_keys) - 1, &keys,
	        &errs) != 0 ||
	    keys.n != 2)
		abort();
	round_trip(&keys);
	return 0;
}

static void
check_token(const char *tok, size_t len)
{
	unsigned char hash[SGW_HASH_LEN], want[SGW_HASH_LEN];
	static const unsigned char zero[SGW_HASH_LEN];
	char hex[SGW_HASH_HEX], id[SGW_PUBLIC_ID_HEX];
	unsigned int n = 0;

	memset(hash, 0xa5, sizeof(hash));
	if (sgw_token_check(&keys, tok, len, hash) != 0) {
		CHECK(memcmp(hash, zero, sizeof(hash)) == 0);
		return;
	}
	/* Only what sgw_token_new writes: 43 + '.' + 22 base64url
	 * characters, and in its one spelling (the unused low bits of the
	 * last character of each part are zero). */
	CHECK(len == SGW_TOKEN_LEN && tok[43] == '.');
	for (size_t i = 0; i < len; i++)
		CHECK(i == 43 || b64url_char(tok[i]));
	CHECK(strchr("AEIMQUYcgkosw048", tok[42]) != NULL);
	CHECK(strchr("AQgw", tok[65]) != NULL);
	CHECK(EVP_Digest(tok, len, want, &n, EVP_sha256(), NULL) == 1 &&
	    n == SGW_HASH_LEN && memcmp(hash, want, SGW_HASH_LEN) == 0);
	sgw_token_hash_hex(hash, hex);
	CHECK(strlen(hex) == SGW_HASH_HEX - 1);
	sgw_token_public_id(hash, id);
	CHECK(strlen(id) == SGW_PUBLIC_ID_HEX - 1);
}

static void
check_keys(const char *text, size_t len)
{
	struct sgw_errs errs = {0};
	struct sgw_keys *k = malloc(sizeof(*k));

	if (k == NULL)
		return;
	if (sgw_keys_parse("fuzz", text, len, k, &errs) == 0) {
		CHECK(k->n >= 1 && k->n <= SGW_KEYS_MAX);
		for (size_t i = 0; i < k->n; i++)
			CHECK(k->len[i] >= SGW_KEY_MINLEN &&
			    k->len[i] <= SGW_KEY_MAXLEN);
		round_trip(k);
	} else {
		/* Refused: nothing kept, and a reason for the operator. */
		CHECK(k->n == 0);
		CHECK(errs.n + errs.dropped > 0);
	}
	sgw_keys_wipe(k);
	sgw_errs_clear(&errs);
	free(k);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size);

	if (buf == NULL)
		return 0;
	if (size > 0)
		memcpy(buf, data, size);
	check_token(buf, size);
	check_keys(buf, size);
	free(buf);
	return 0;
}
