/*
 * token: shape, MAC, rotation, hash and public id, and the keys file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "token.h"

/* Documented construction, computed independently with Python:
 * key = bytes 0..31, random part = 32 zero bytes. */
static const char kat_token[] =
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.QWxTkrnzbfGI6Q6xTRe_DQ";
static const char kat_hash_hex[] =
    "e90b1c9eadf7b2201f6dda16bfab86e4d18b5dcc2b262d346c7664c47ed69550";
static const char kat_public_id[] = "04fd899712d393fbf00768d8189de9c2";

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void
keys_one(struct sgw_keys *k, unsigned char base)
{
	memset(k, 0, sizeof(*k));
	for (size_t i = 0; i < 32; i++)
		k->key[0][i] = (unsigned char)(base + i);
	k->len[0] = 32;
	k->n = 1;
}

static int
is_lower_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return 0;
	return 1;
}

static void
new_token_verifies_and_hash_matches(void **state)
{
	struct sgw_keys k;
	char tok[SGW_TOKEN_LEN + 1];
	unsigned char h1[SGW_HASH_LEN], h2[SGW_HASH_LEN];

	(void)state;
	keys_one(&k, 7);
	assert_int_equal(sgw_token_new(&k, tok, h1), 0);
	assert_int_equal(sgw_token_check(&k, tok, strlen(tok), h2), 0);
	assert_memory_equal(h1, h2, SGW_HASH_LEN);
}

static void
new_token_has_documented_shape(void **state)
{
	struct sgw_keys k;
	char tok[SGW_TOKEN_LEN + 1];
	unsigned char h[SGW_HASH_LEN];

	(void)state;
	keys_one(&k, 1);
	assert_int_equal(sgw_token_new(&k, tok, h), 0);
	assert_int_equal(strlen(tok), SGW_TOKEN_LEN);
	assert_int_equal(tok[43], '.');
	for (size_t i = 0; i < SGW_TOKEN_LEN; i++)
		if (i != 43)
			assert_non_null(strchr(b64url_alphabet, tok[i]));
}

static int
cmp_tok(const void *a, const void *b)
{
	return memcmp(a, b, SGW_TOKEN_LEN + 1);
}

static void
thousand_tokens_are_unique(void **state)
{
	struct sgw_keys k;
	char(*toks)[SGW_TOKEN_LEN + 1] = calloc(1000, sizeof(*toks));
	unsigned char h[SGW_HASH_LEN];

	(void)state;
	assert_non_null(toks);
	keys_one(&k, 3);
	for (size_t i = 0; i < 1000; i++)
		assert_int_equal(sgw_token_new(&k, toks[i], h), 0);
	qsort(toks, 1000, sizeof(*toks), cmp_tok);
	for (size_t i = 1; i < 1000; i++)
		assert_int_not_equal(
		    memcmp(toks[i - 1], toks[i], SGW_TOKEN_LEN), 0);
	free(toks);
}

static void
known_answer_token_verifies_with_documented_hash_and_id(void **state)
{
	struct sgw_keys k;
	unsigned char h[SGW_HASH_LEN];
	char hex[SGW_HASH_HEX], id[SGW_PUBLIC_ID_HEX];

	(void)state;
	keys_one(&k, 0);
	assert_int_equal(sgw_token_check(&k, kat_token, SGW_TOKEN_LEN, h), 0);
	sgw_token_hash_hex(h, hex);
	assert_string_equal(hex, kat_hash_hex);
	sgw_token_public_id(h, id);
	assert_string_equal(id, kat_public_id);
}

static void
flipping_any_single_character_fails(void **state)
{
	static const char extra[] = ".=+/ %\"\x7f\x80";
	struct sgw_keys k;
	char tok[SGW_TOKEN_LEN + 1];
	unsigned char h[SGW_HASH_LEN];
	size_t tried = 0;

	(void)state;
	keys_one(&k, 0);
	for (size_t i = 0; i < SGW_TOKEN_LEN; i++) {
		char repl[sizeof(b64url_alphabet) + sizeof(extra)];

		snprintf(repl, sizeof(repl), "%s%s", b64url_alphabet, extra);
		for (size_t j = 0; repl[j] != '\0'; j++) {
			memcpy(tok, kat_token, sizeof(tok));
			if (tok[i] == repl[j])
				continue;
			tok[i] = repl[j];
			assert_int_equal(
			    sgw_token_check(&k, tok, SGW_TOKEN_LEN, h), -1);
			tried++;
		}
	}
	/* Every position, every other character. */
	assert_true(tried >= SGW_TOKEN_LEN * (sizeof(b64url_alphabet) - 2));
}

static void
non_canonical_trailing_bits_fail(void **state)
{
	struct sgw_keys k;
	char tok[SGW_TOKEN_LEN + 1];
	unsigned char h[SGW_HASH_LEN];

	(void)state;
	keys_one(&k, 0);
	/* 'A' -> 'B' in the last digit of each part only sets bits that
	 * encode nothing: same bytes, different spelling. */
	memcpy(tok, kat_token, sizeof(tok));
	tok[42] = 'B';
	assert_int_equal(sgw_token_check(&k, tok, SGW_TOKEN_LEN, h), -1);
	memcpy(tok, kat_token, sizeof(tok));
	assert_int_equal(tok[65], 'Q');
	tok[65] = 'R';
	assert_int_equal(sgw_token_check(&k, tok, SGW_TOKEN_LEN, h), -1);
}

static void
wrong_lengths_fail_and_len_bounds_the_read(void **state)
{
	struct sgw_keys k;
	char buf[SGW_TOKEN_LEN + 8];
	unsigned char h[SGW_HASH_LEN];

	(void)state;
	keys_one(&k, 0);
	memset(buf, 'A', sizeof(buf));
	memcpy(buf, kat_token, SGW_TOKEN_LEN);
	/* Not NUL-terminated at len: only len bytes count. */
	assert_int_equal(sgw_token_check(&k, buf, SGW_TOKEN_LEN, h), 0);
	assert_int_equal(sgw_token_check(&k, buf, SGW_TOKEN_LEN + 1, h), -1);
	assert_int_equal(sgw_token_check(&k, buf, SGW_TOKEN_LEN - 1, h), -1);
	assert_int_equal(sgw_token_check(&k, buf, 0, h), -1);
	assert_int_equal(sgw_token_check(&k, NULL, SGW_TOKEN_LEN, h), -1);
}

static void
padded_or_misplaced_dot_fails(void **state)
{
	struct sgw_keys k;
	char tok[SGW_TOKEN_LEN + 1];
	unsigned char h[SGW_HASH_LEN];

	(void)state;
	keys_one(&k, 0);
	/* Dot one place to the left, length kept. */
	memcpy(tok, kat_token, sizeof(tok));
	tok[42] = '.';
	tok[43] = 'A';
	assert_int_equal(sgw_token_check(&k, tok, SGW_TOKEN_LEN, h), -1);
	/* Padding in place of the last MAC digit. */
	memcpy(tok, kat_token, sizeof(tok));
	tok[65] = '=';
	assert_int_equal(sgw_token_check(&k, tok, SGW_TOKEN_LEN, h), -1);
}

static void
wrong_key_fails_and_hash_is_cleared(void **state)
{
	struct sgw_keys a, b;
	char tok[SGW_TOKEN_LEN + 1];
	unsigned char h[SGW_HASH_LEN], zero[SGW_HASH_LEN] = {0};

	(void)state;
	keys_one(&a, 1);
	keys_one(&b, 2);
	assert_int_equal(sgw_token_new(&a, tok, h), 0);
	memset(h, 0xaa, sizeof(h));
	assert_int_equal(sgw_token_check(&b, tok, SGW_TOKEN_LEN, h), -1);
	assert_memory_equal(h, zero, SGW_HASH_LEN);
}

static void
rotation_old_key_still_verifies_new_key_signs(void **state)
{
	struct sgw_keys a, b, ba;
	char tok[SGW_TOKEN_LEN + 1], tok2[SGW_TOKEN_LEN + 1];
	unsigned char h[SGW_HASH_LEN];

	(void)state;
	keys_one(&a, 1);
	keys_one(&b, 2);
	ba = b;
	memcpy(ba.key[1], a.key[0], 32);
	ba.len[1] = 32;
	ba.n = 2;
	assert_int_equal(sgw_token_new(&a, tok, h), 0);
	assert_int_equal(sgw_token_check(&ba, tok, SGW_TOKEN_LEN, h), 0);
	/* After rotation the first key (B) signs, so A alone refuses. */
	assert_int_equal(sgw_token_new(&ba, tok2, h), 0);
	assert_int_equal(sgw_token_check(&b, tok2, SGW_TOKEN_LEN, h), 0);
	assert_int_equal(sgw_token_check(&a, tok2, SGW_TOKEN_LEN, h), -1);
}

static void
empty_key_set_signs_and_verifies_nothing(void **state)
{
	struct sgw_keys k;
	char tok[SGW_TOKEN_LEN + 1];
	unsigned char h[SGW_HASH_LEN];

	(void)state;
	memset(&k, 0, sizeof(k));
	assert_int_equal(sgw_token_new(&k, tok, h), -1);
	assert_int_equal(sgw_token_check(&k, kat_token, SGW_TOKEN_LEN, h), -1);
}

static void
hash_and_public_id_deterministic_distinct_hex(void **state)
{
	unsigned char h[SGW_HASH_LEN];
	char hex1[SGW_HASH_HEX], hex2[SGW_HASH_HEX];
	char id1[SGW_PUBLIC_ID_HEX], id2[SGW_PUBLIC_ID_HEX];

	(void)state;
	for (size_t i = 0; i < sizeof(h); i++)
		h[i] = (unsigned char)(i * 37 + 11);
	sgw_token_hash_hex(h, hex1);
	sgw_token_hash_hex(h, hex2);
	sgw_token_public_id(h, id1);
	sgw_token_public_id(h, id2);
	assert_string_equal(hex1, hex2);
	assert_string_equal(id1, id2);
	assert_true(is_lower_hex(hex1, 64));
	assert_true(is_lower_hex(id1, 32));
	/* The id is not a prefix of the hash: it must not lead back. */
	assert_int_not_equal(memcmp(hex1, id1, 32), 0);
	/* Known answer for an all-zero hash (SHA-256("sgw-id" || 0^32)). */
	memset(h, 0, sizeof(h));
	sgw_token_public_id(h, id1);
	assert_string_equal(id1, "e2b5e447819535afce6925c101568a5b");
}

static void
b64url_encode_vectors(void **state)
{
	char out[64];
	const unsigned char fb[] = {0xfb, 0xff};

	(void)state;
	assert_int_equal(
	    sgw_b64url_encode((const unsigned char *)"", 0, out), 0);
	assert_string_equal(out, "");
	assert_int_equal(
	    sgw_b64url_encode((const unsigned char *)"f", 1, out), 2);
	assert_string_equal(out, "Zg");
	assert_int_equal(
	    sgw_b64url_encode((const unsigned char *)"fo", 2, out), 3);
	assert_string_equal(out, "Zm8");
	assert_int_equal(
	    sgw_b64url_encode((const unsigned char *)"foo", 3, out), 4);
	assert_string_equal(out, "Zm9v");
	assert_int_equal(sgw_b64url_encode(fb, 2, out), 3);
	assert_string_equal(out, "-_8");
}

static void
secret_new_is_64_hex_and_a_valid_key(void **state)
{
	char a[SGW_SECRET_LINE], b[SGW_SECRET_LINE];
	struct sgw_keys k;
	struct sgw_errs e = {0};

	(void)state;
	assert_int_equal(sgw_secret_new(a), 0);
	assert_int_equal(sgw_secret_new(b), 0);
	assert_true(is_lower_hex(a, 64));
	assert_string_not_equal(a, b);
	assert_int_equal(sgw_keys_parse("s", a, strlen(a), &k, &e), 0);
	assert_int_equal(k.n, 1);
	assert_int_equal(k.len[0], 32);
	for (size_t i = 0; i < 32; i++) {
		unsigned int byte;

		assert_int_equal(sscanf(a + 2 * i, "%2x", &byte), 1);
		assert_int_equal(k.key[0][i], byte);
	}
	sgw_errs_clear(&e);
}

static void
keys_parse_hex_base64_comments(void **state)
{
	/* hex of 0..31; standard base64 of bytes 100..147 (48 bytes, with
	 * '+' and '/'); base64url of 0xfb 0xff repeated (40 bytes, padded). */
	static const char text[] =
	    "# current key first\n"
	    "\n"
	    "  "
	    "000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F  "
	    "\r\n"
	    "\t# an old one\n"
	    "ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoOEhYaHiImKi4yNjo+QkZKT\n"
	    "-__7__v_-__7__v_-__7__v_-__7__v_-__7__v_-__7__v_-__7_w==";
	struct sgw_keys k;
	struct sgw_errs e = {0};

	(void)state;
	assert_int_equal(sgw_keys_parse("f", text, strlen(text), &k, &e), 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(k.n, 3);
	assert_int_equal(k.len[0], 32);
	for (size_t i = 0; i < 32; i++)
		assert_int_equal(k.key[0][i], i);
	assert_int_equal(k.len[1], 48);
	for (size_t i = 0; i < 48; i++)
		assert_int_equal(k.key[1][i], 100 + i);
	assert_int_equal(k.len[2], 40);
	for (size_t i = 0; i < 40; i++)
		assert_int_equal(k.key[2][i], i % 2 ? 0xff : 0xfb);
	sgw_keys_wipe(&k);
	assert_int_equal(k.n, 0);
	assert_int_equal(k.key[0][1], 0);
}

static void
keys_parse_short_key_names_line(void **state)
{
	static const char text[] =
	    "# k\n"
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
	    "00112233445566778899aabbccddeeff\n";
	struct sgw_keys k;
	struct sgw_errs e = {0};

	(void)state;
	assert_int_equal(sgw_keys_parse("sec", text, strlen(text), &k, &e), -1);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msg[0],
	    "sec:3: secret key too short (16 bytes, need at least 32)");
	/* Nothing half-loaded survives a failure. */
	assert_int_equal(k.n, 0);
	sgw_errs_clear(&e);
}

static void
keys_parse_rejects_garbage_odd_hex_and_long(void **state)
{
	char text[512];
	size_t n = 0;
	struct sgw_keys k;
	struct sgw_errs e = {0};

	(void)state;
	n += (size_t)snprintf(text + n, sizeof(text) - n, "not a key!\n");
	memset(text + n, 'a', 65); /* 65 hex digits */
	n += 65;
	text[n++] = '\n';
	memset(text + n, 'a', 258); /* 258 hex digits = 129 bytes */
	n += 258;
	text[n++] = '\n';
	/* A valid 48-byte base64 key, but with padding it does not need. */
	n += (size_t)snprintf(text + n, sizeof(text) - n, "%s",
	    "ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoOEhYaHiImKi4yNjo+"
	    "QkZKT=");
	assert_true(n < sizeof(text));
	assert_int_equal(sgw_keys_parse("x", text, n, &k, &e), -1);
	assert_int_equal(e.n, 4);
	assert_string_equal(
	    e.msg[0], "x:1: secret key is neither hex nor base64");
	assert_string_equal(
	    e.msg[1], "x:2: odd number of hex digits in secret key");
	assert_string_equal(
	    e.msg[2], "x:3: secret key too long (129 bytes, at most 128)");
	assert_string_equal(
	    e.msg[3], "x:4: secret key is neither hex nor base64");
	assert_int_equal(k.n, 0);
	sgw_errs_clear(&e);
}

static void
keys_parse_empty_is_no_key(void **state)
{
	static const char text[] = "# nothing here\n\n   \n";
	struct sgw_keys k;
	struct sgw_errs e = {0};

	(void)state;
	assert_int_equal(
	    sgw_keys_parse("empty", text, strlen(text), &k, &e), -1);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msg[0], "empty: no key");
	sgw_errs_clear(&e);
}

/* A temp file holding text with the given mode; path into buf. */
static void
temp_file(char *buf, size_t n, const char *text, mode_t mode)
{
	int fd;

	snprintf(buf, n, "/tmp/sgw_test_token_XXXXXX");
	fd = mkstemp(buf);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void
keys_load_private_file(void **state)
{
	char path[64];
	struct sgw_keys k;
	struct sgw_errs e = {0};

	(void)state;
	temp_file(path, sizeof(path),
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	    "\n",
	    0640);
	assert_int_equal(sgw_keys_load(path, &k, &e), 0);
	assert_int_equal(k.n, 1);
	assert_int_equal(k.key[0][31], 31);
	unlink(path);
	sgw_errs_clear(&e);
}

static void
keys_load_refuses_world_readable_file(void **state)
{
	char path[64], want[160];
	struct sgw_keys k;
	struct sgw_errs e = {0};

	(void)state;
	temp_file(path, sizeof(path),
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	    "\n",
	    0644);
	assert_int_equal(sgw_keys_load(path, &k, &e), -1);
	assert_int_equal(k.n, 0);
	assert_int_equal(e.n, 1);
	snprintf(want, sizeof(want),
	    "%s: must not be accessible by others (chmod 600 or 640)", path);
	assert_string_equal(e.msg[0], want);
	unlink(path);
	sgw_errs_clear(&e);
}

static void
keys_load_missing_file_says_why(void **state)
{
	struct sgw_keys k;
	struct sgw_errs e = {0};

	(void)state;
	assert_int_equal(sgw_keys_load("/nonexistent/sgw/secret", &k, &e), -1);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msg[0],
	    "/nonexistent/sgw/secret: cannot read: "
	    "No such file or directory");
	sgw_errs_clear(&e);
}

/* The store hands hashes back as hex: only the exact 64-digit form of a
 * hash is read back, and it is the same hash. */
static void
hash_from_hex_round_trips_and_refuses_the_rest(void **state)
{
	unsigned char hash[SGW_HASH_LEN], back[SGW_HASH_LEN];
	char hex[SGW_HASH_HEX];

	(void)state;
	for (size_t i = 0; i < SGW_HASH_LEN; i++)
		hash[i] = (unsigned char)(i * 37 + 5);
	sgw_token_hash_hex(hash, hex);
	assert_int_equal(sgw_token_hash_from_hex(hex, 64, back), 0);
	assert_memory_equal(hash, back, SGW_HASH_LEN);
	assert_int_equal(sgw_token_hash_from_hex(hex, 63, back), -1);
	assert_int_equal(sgw_token_hash_from_hex(hex, 62, back), -1);
	hex[10] = 'g';
	assert_int_equal(sgw_token_hash_from_hex(hex, 64, back), -1);
	hex[10] = ' ';
	assert_int_equal(sgw_token_hash_from_hex(hex, 64, back), -1);
}

/*
 * What the set-up path (sgw_keys_setup) must agree with: OpenSSL's
 * one-shot calls, made here rather than through token.c. A token is made
 * by hand from its random part and key (the construction of token.h).
 */
static void
ref_token(const unsigned char *key, size_t keylen, const unsigned char rnd[32],
    char tok[SGW_TOKEN_LEN + 1])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	assert_non_null(HMAC(EVP_sha256(), key, (int)keylen, rnd, 32, mac, &n));
	assert_int_equal(n, 32);
	assert_int_equal(sgw_b64url_encode(rnd, 32, tok), 43);
	tok[43] = '.';
	assert_int_equal(sgw_b64url_encode(mac, 16, tok + 44), 22);
}

static void
ref_sha256(const void *data, size_t len, unsigned char out[32])
{
	unsigned int n = 0;

	assert_int_equal(EVP_Digest(data, len, out, &n, EVP_sha256(), NULL), 1);
	assert_int_equal(n, 32);
}

static void
ref_public_id(const unsigned char hash[32], char out[SGW_PUBLIC_ID_HEX])
{
	unsigned char buf[6 + 32], md[32];

	memcpy(buf, "sgw-id", 6);
	memcpy(buf + 6, hash, 32);
	ref_sha256(buf, sizeof(buf), md);
	for (size_t i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Four keys of different lengths, the first from base. */
static void
keys_four(struct sgw_keys *k, unsigned char base)
{
	static const size_t lens[] = {32, 47, 64, 128};

	memset(k, 0, sizeof(*k));
	for (size_t i = 0; i < 4; i++) {
		for (size_t j = 0; j < lens[i]; j++)
			k->key[i][j] = (unsigned char)(base + 31 * i + j * 7);
		k->len[i] = lens[i];
	}
	k->n = 4;
}

static void
setup_path_gives_the_one_shot_macs_hashes_and_ids(void **state)
{
	struct sgw_keys fast, slow;
	unsigned char rnd[32], h[SGW_HASH_LEN], want[SGW_HASH_LEN];
	char tok[SGW_TOKEN_LEN + 1], id[SGW_PUBLIC_ID_HEX],
	    want_id[SGW_PUBLIC_ID_HEX];

	(void)state;
	keys_four(&fast, 9);
	keys_four(&slow, 9);
	assert_int_equal(sgw_keys_setup(&fast), 0);
	for (size_t i = 0; i < fast.n; i++)
		assert_non_null(fast.mac[i]);
	/* Hundreds of uses of the same HMAC states, every key in turn: a
	 * state copied for each token must not carry anything
	 * from the one before. */
	for (size_t round = 0; round < 400; round++) {
		size_t key = round % fast.n;

		for (size_t j = 0; j < sizeof(rnd); j++)
			rnd[j] = (unsigned char)(round * 13 + j * 101);
		ref_token(fast.key[key], fast.len[key], rnd, tok);
		ref_sha256(tok, SGW_TOKEN_LEN, want);
		assert_int_equal(
		    sgw_token_check(&fast, tok, SGW_TOKEN_LEN, h), 0);
		assert_memory_equal(h, want, SGW_HASH_LEN);
		assert_int_equal(
		    sgw_token_check(&slow, tok, SGW_TOKEN_LEN, h), 0);
		assert_memory_equal(h, want, SGW_HASH_LEN);
		sgw_token_public_id(h, id);
		ref_public_id(want, want_id);
		assert_string_equal(id, want_id);
		/* The same random part under a key not in the set. */
		rnd[0] ^= 1;
		ref_token(
		    (const unsigned char *)"another key of thirty-two bytes!",
		    32, rnd, tok);
		assert_int_equal(
		    sgw_token_check(&fast, tok, SGW_TOKEN_LEN, h), -1);
	}
	/* A token the set-up keys make is the one-shot construction. */
	for (size_t round = 0; round < 50; round++) {
		char again[SGW_TOKEN_LEN + 1];
		unsigned char made[SGW_HASH_LEN];
		unsigned char buf[48];
		int n;
		char b64[45];

		assert_int_equal(sgw_token_new(&fast, tok, made), 0);
		/* Its random part back, through OpenSSL's own base64. */
		for (size_t j = 0; j < 43; j++)
			b64[j] = tok[j] == '-' ? '+'
			    : tok[j] == '_'    ? '/'
			                       : tok[j];
		b64[43] = '=';
		b64[44] = '\0';
		n = EVP_DecodeBlock(buf, (const unsigned char *)b64, 44);
		assert_int_equal(n, 33);
		ref_token(fast.key[0], fast.len[0], buf, again);
		assert_string_equal(tok, again);
		ref_sha256(tok, SGW_TOKEN_LEN, want);
		assert_memory_equal(made, want, SGW_HASH_LEN);
	}
	/* Set up again: the new states replace the old ones. */
	assert_int_equal(sgw_keys_setup(&fast), 0);
	assert_int_equal(
	    sgw_token_check(&fast, kat_token, SGW_TOKEN_LEN, h), -1);
	sgw_keys_wipe(&fast);
	for (size_t i = 0; i < SGW_KEYS_MAX; i++)
		assert_null(fast.mac[i]);
	sgw_keys_wipe(&slow);
}

static void
setup_keeps_the_known_answer_and_refuses_no_keys(void **state)
{
	struct sgw_keys k;
	unsigned char h[SGW_HASH_LEN];
	char hex[SGW_HASH_HEX], id[SGW_PUBLIC_ID_HEX];

	(void)state;
	memset(&k, 0, sizeof(k));
	assert_int_equal(sgw_keys_setup(&k), -1);
	keys_one(&k, 0);
	assert_int_equal(sgw_keys_setup(&k), 0);
	assert_int_equal(sgw_token_check(&k, kat_token, SGW_TOKEN_LEN, h), 0);
	sgw_token_hash_hex(h, hex);
	assert_string_equal(hex, kat_hash_hex);
	sgw_token_public_id(h, id);
	assert_string_equal(id, kat_public_id);
	sgw_keys_wipe(&k);
}

static void
sha256_of_every_length_is_sha256(void **state)
{
	unsigned char data[300], got[SGW_HASH_LEN], want[SGW_HASH_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7 + 3);
	/* Every length across several blocks, one after the other. */
	for (size_t len = 0; len <= sizeof(data); len++) {
		assert_int_equal(sgw_sha256(data, len, got), 0);
		ref_sha256(data, len, want);
		assert_memory_equal(got, want, SGW_HASH_LEN);
	}
	/* FIPS 180-2, "abc". */
	assert_int_equal(sgw_sha256("abc", 3, got), 0);
	{
		char hex[SGW_HASH_HEX];

		sgw_token_hash_hex(got, hex);
		assert_string_equal(hex,
		    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f2"
		    "0015ad");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(hash_from_hex_round_trips_and_refuses_the_rest),
	    cmocka_unit_test(new_token_verifies_and_hash_matches),
	    cmocka_unit_test(new_token_has_documented_shape),
	    cmocka_unit_test(thousand_tokens_are_unique),
	    cmocka_unit_test(
	        known_answer_token_verifies_with_documented_hash_and_id),
	    cmocka_unit_test(flipping_any_single_character_fails),
	    cmocka_unit_test(non_canonical_trailing_bits_fail),
	    cmocka_unit_test(wrong_lengths_fail_and_len_bounds_the_read),
	    cmocka_unit_test(padded_or_misplaced_dot_fails),
	    cmocka_unit_test(wrong_key_fails_and_hash_is_cleared),
	    cmocka_unit_test(rotation_old_key_still_verifies_new_key_signs),
	    cmocka_unit_test(empty_key_set_signs_and_verifies_nothing),
	    cmocka_unit_test(hash_and_public_id_deterministic_distinct_hex),
	    cmocka_unit_test(b64url_encode_vectors),
	    cmocka_unit_test(secret_new_is_64_hex_and_a_valid_key),
	    cmocka_unit_test(keys_parse_hex_base64_comments),
	    cmocka_unit_test(keys_parse_short_key_names_line),
	    cmocka_unit_test(keys_parse_rejects_garbage_odd_hex_and_long),
	    cmocka_unit_test(keys_parse_empty_is_no_key),
	    cmocka_unit_test(keys_load_private_file),
	    cmocka_unit_test(keys_load_refuses_world_readable_file),
	    cmocka_unit_test(keys_load_missing_file_says_why),
	    cmocka_unit_test(setup_path_gives_the_one_shot_macs_hashes_and_ids),
	    cmocka_unit_test(setup_keeps_the_known_answer_and_refuses_no_keys),
	    cmocka_unit_test(sha256_of_every_length_is_sha256),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
