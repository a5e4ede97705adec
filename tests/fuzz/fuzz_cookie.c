/*
 * fuzz_cookie: the Cookie request header reader and the Set-Cookie writer.
 *
 * The input is a Cookie header exactly as a client might send it: an
 * exact-size heap copy without a NUL, so ASan sees any read past its end.
 * The same bytes, NUL-terminated, are also the token text handed to
 * sgw_cookie_build, whose output goes into exact-size buffers of several
 * sizes: a write past any of them is a finding.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "cookie.h"
#include "errs.h"
#include "fuzz.h"

/* The built-in defaults, and one with every optional attribute set. */
static struct sgw_conf conf_default, conf_full;

static const char conf_full_text[] = "[cookie]\n"
                                     "name = SID\n"
                                     "domain = .Example.COM\n"
                                     "path = /app\n"
                                     "secure = off\n"
                                     "same_site = strict\n";

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sgw_errs errs = {0};

	(void)argc;
	(void)argv;
	if (sgw_conf_defaults(&conf_default) != 0 ||
	    sgw_conf_parse("fuzz", conf_full_text, sizeof(conf_full_text) - 1,
	        &conf_full, &errs) != 0)
		abort();
	sgw_errs_clear(&errs);
	return 0;
}

/* Walks every value of `name` and checks each points inside the header. */
static void
walk(const char *hdr, size_t len, const char *name)
{
	size_t pos = 0, prev = 0, rounds = 0;
	const char *val;
	size_t vlen;

	while (sgw_cookie_next(hdr, len, &pos, name, &val, &vlen) == 1) {
		CHECK(val >= hdr && val <= hdr + len);
		CHECK(vlen <= (size_t)(hdr + len - val));
		CHECK(memchr(val, ';', vlen) == NULL);
		/* Each value consumes at least its own "name=" pair. */
		CHECK(pos > prev && pos <= len);
		CHECK(++rounds <= len);
		prev = pos;
	}
	CHECK(pos <= len);
}

/* RFC 6265 cookie-octet, checked apart from the library's own test. */
static int
cookie_octet(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '"' && c != ',' && c != ';' &&
	    c != '\\';
}

/*
 * Builds the cookie into exact-size buffers of several sizes. A build
 * that fits in the largest must fit in every buffer longer than its
 * result, and be refused by every shorter one.
 */
static void
build(const struct sgw_conf *conf, const char *token, int64_t max_age)
{
	static const size_t sizes[] = {1, 2, 17, 64, 97, 128, 255, 4096};
	size_t big = 8192 + (token != NULL ? strlen(token) : 0);
	char *ref = malloc(big);
	struct sgw_cookie_attrs a;
	int want;

	if (ref == NULL)
		return;
	sgw_cookie_attrs_from(&a, conf);
	want = sgw_cookie_build(ref, big, &a, token, max_age);
	if (want >= 0) {
		size_t nlen = strlen(conf->cookie_name);

		CHECK((size_t)want == strlen(ref));
		CHECK(strncmp(ref, conf->cookie_name, nlen) == 0 &&
		    ref[nlen] == '=');
		if (token != NULL) {
			for (const char *t = token; *t != '\0'; t++)
				CHECK(cookie_octet((unsigned char)*t));
		} else {
			CHECK(strstr(ref, "; Max-Age=0;") != NULL);
		}
		/* Nothing may end the header line early. */
		CHECK(strpbrk(ref, "\r\n") == NULL);
	} else {
		CHECK(ref[0] == '\0');
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *out = malloc(sizes[i]);
		int r;

		if (out == NULL)
			break;
		r = sgw_cookie_build(out, sizes[i], &a, token, max_age);
		if (want >= 0 && (size_t)want < sizes[i]) {
			CHECK(r == want && strcmp(out, ref) == 0);
		} else {
			CHECK(r == -1 && out[0] == '\0');
		}
		free(out);
	}
	free(ref);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *hdr = malloc(size);
	char *tok = malloc(size + 1);
	char own[64];
	const char *eq;
	int64_t max_age = -1;

	if (hdr == NULL || tok == NULL)
		goto out;
	if (size > 0)
		memcpy(hdr, data, size);
	walk(hdr, size, "sgw_session");
	walk(hdr, size, "SID");
	/* A name taken from the input itself ("name=..." up to '='), so that
	 * matches are frequent whatever the fuzzer writes. */
	eq = memchr(hdr, '=', size);
	if (eq != NULL && eq > hdr && (size_t)(eq - hdr) < sizeof(own)) {
		memcpy(own, hdr, (size_t)(eq - hdr));
		own[eq - hdr] = '\0';
		if (own[0] != '\0')
			walk(hdr, size, own);
	}

	memcpy(tok, data, size);
	tok[size] = '\0';
	if (size >= sizeof(max_age))
		memcpy(&max_age, data, sizeof(max_age));
	build(&conf_default, tok, -1);
	build(&conf_full, tok, max_age);
	build(&conf_full, tok, INT64_MAX);
	build(&conf_default, NULL, 0);
out:
	free(hdr);
	free(tok);
	return 0;
}
