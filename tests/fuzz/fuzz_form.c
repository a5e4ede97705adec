/*
 * fuzz_form: application/x-www-form-urlencoded bodies and percent-coding.
 *
 * The input is a request body: an exact-size heap copy without a NUL, as
 * the gateway hands it over. The encoders take C strings, so they get a
 * separate NUL-terminated copy (cut at the first NUL, as C would).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "fuzz.h"

static const char *const names[] = {
    "username",
    "password",
    "return_to",
    "remember_me",
    "a",
    "user name",
    "",
};

/* Decodes in both modes; both agree on validity and length, and agree
 * with sgw_form_validate, which uses '+' mode. */
static void
decode(const char *body, size_t len, int valid)
{
	char *out[2] = {malloc(len + 1), malloc(len + 1)};
	long n[2];

	if (out[0] == NULL || out[1] == NULL)
		goto out;
	for (int plus = 0; plus < 2; plus++) {
		n[plus] = sgw_pct_decode(body, len, out[plus], plus);
		CHECK(n[plus] >= -1 && n[plus] <= (long)len);
		if (n[plus] >= 0)
			CHECK(strlen(out[plus]) == (size_t)n[plus]);
		else
			CHECK(out[plus][0] == '\0');
	}
	CHECK(n[0] == n[1]);
	CHECK((n[1] >= 0) == valid);
	/* '+' is the only byte the modes read differently. */
	for (long i = 0; i < n[0]; i++)
		CHECK(out[0][i] == out[1][i] ||
		    (out[0][i] == '+' && out[1][i] == ' '));
out:
	free(out[0]);
	free(out[1]);
}

/* sgw_pct_encode: only unreserved bytes and escapes, and it decodes back
 * to its input. */
static void
encode(const char *s)
{
	char *enc = sgw_pct_encode(s), *back;
	size_t n;

	if (enc == NULL)
		return;
	n = strlen(enc);
	for (const char *p = enc; *p != '\0'; p++)
		CHECK(strchr(
		          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		          "0123456789-._~/%",
		          *p) != NULL);
	if ((back = malloc(n + 1)) != NULL) {
		CHECK(sgw_pct_decode(enc, n, back, 0) == (long)strlen(s));
		CHECK(strcmp(back, s) == 0);
		free(back);
	}
	free(enc);
}

/* sgw_html_escape: no markup character survives, and undoing the five
 * entities gives the input back. */
static void
escape(const char *s)
{
	static const struct {
		const char *entity;
		char c;
	} ent[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'},
	    {"&quot;", '"'}, {"&#39;", '\''}};
	char *esc = sgw_html_escape(s);
	const char *p, *q = s;

	if (esc == NULL)
		return;
	CHECK(strpbrk(esc, "<>\"'") == NULL);
	for (p = esc; *p != '\0'; q++) {
		if (*p != '&') {
			CHECK(*p++ == *q);
			continue;
		}
		size_t i = 0;

		while (i < sizeof(ent) / sizeof(ent[0]) &&
		    strncmp(p, ent[i].entity, strlen(ent[i].entity)) != 0)
			i++;
		CHECK(i < sizeof(ent) / sizeof(ent[0]) && ent[i].c == *q);
		p += strlen(ent[i].entity);
	}
	CHECK(*q == '\0');
	free(esc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = malloc(size);
	char *str = malloc(size + 1);
	int valid;

	if (body == NULL || str == NULL)
		goto out;
	if (size > 0)
		memcpy(body, data, size);
	valid = sgw_form_validate(body, size) == 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *v = (char *)1;
		int r = sgw_form_get(body, size, names[i], &v);

		if (!valid) {
			CHECK(r == -1 && v == NULL);
			continue;
		}
		CHECK(r == 0 || r == 1);
		CHECK((r == 1) == (v != NULL));
		if (v != NULL)
			CHECK(strlen(v) <= size);
		free(v);
	}
	decode(body, size, valid);

	memcpy(str, data, size);
	str[size] = '\0';
	encode(str);
	escape(str);
out:
	free(body);
	free(str);
	return 0;
}
