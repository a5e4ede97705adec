/*
 * form: application/x-www-form-urlencoded bodies and URL percent-coding.
 *
 * Form bodies carry passwords, so field names are compared while decoding
 * (no copy) and only the wanted value is decoded, straight into the buffer
 * handed to the caller; a decode that fails wipes what it wrote.
 */
#include "form.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chars.h"

/*
 * The byte that starts at in[*i], advancing *i past it. -1 on a '%' not
 * followed by two hex digits, or on a byte that decodes to NUL (which
 * would silently cut a C string short).
 */
static int
decode_one(const char *in, size_t len, size_t *i, int plus)
{
	unsigned char c = (unsigned char)in[*i];

	if (c == '%') {
		int hi, lo;

		if (len - *i < 3 ||
		    (hi = sgw_hex_digit((unsigned char)in[*i + 1])) < 0 ||
		    (lo = sgw_hex_digit((unsigned char)in[*i + 2])) < 0)
			return -1;
		c = (unsigned char)(hi << 4 | lo);
		*i += 2;
	} else if (c == '+' && plus) {
		c = ' ';
	}
	(*i)++;
	return c == '\0' ? -1 : c;
}

long
sgw_pct_decode(const char *in, size_t len, char *out, int plus)
{
	size_t i = 0, o = 0;

	if (in == NULL || out == NULL || len > LONG_MAX)
		return -1;
	while (i < len) {
		int c = decode_one(in, len, &i, plus);

		if (c < 0) {
			explicit_bzero(out, o);
			out[0] = '\0';
			return -1;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (long)o;
}

/*
 * A '%' escape needs two hex digits, and neither '&' nor '=' is one, so
 * no escape can straddle a separator: the body is well-formed exactly
 * when it decodes as one run of bytes.
 */
int
sgw_form_validate(const char *body, size_t len)
{
	size_t i = 0;

	if (body == NULL)
		return len == 0 ? 0 : -1;
	while (i < len)
		if (decode_one(body, len, &i, 1) < 0)
			return -1;
	return 0;
}

/* 1 when the (valid) encoded bytes decode to exactly `name`. */
static int
decoded_equals(const char *in, size_t len, const char *name)
{
	size_t i = 0, k = 0;

	while (i < len) {
		int c = decode_one(in, len, &i, 1);

		if (c < 0 || name[k] == '\0' || (unsigned char)name[k] != c)
			return 0;
		k++;
	}
	return name[k] == '\0';
}

int
sgw_form_get(const char *body, size_t len, const char *name, char **out)
{
	size_t pos = 0;

	if (out == NULL)
		return -1;
	*out = NULL;
	if (name == NULL || sgw_form_validate(body, len) != 0)
		return -1;
	while (pos < len) {
		const char *pair = body + pos;
		const char *amp = memchr(pair, '&', len - pos);
		size_t plen = amp != NULL ? (size_t)(amp - pair) : len - pos;
		const char *eq = memchr(pair, '=', plen);
		size_t nlen = eq != NULL ? (size_t)(eq - pair) : plen;
		const char *vp = eq != NULL ? eq + 1 : pair + plen;
		size_t vlen = eq != NULL ? plen - nlen - 1 : 0;
		char *v;

		pos += plen + (amp != NULL);
		if (plen == 0 || !decoded_equals(pair, nlen, name))
			continue;
		if ((v = malloc(vlen + 1)) == NULL)
			return -1;
		if (sgw_pct_decode(vp, vlen, v, 1) < 0) {
			/* Validated above; kept so a change there fails
			 * closed. */
			free(v);
			return -1;
		}
		*out = v;
		return 1;
	}
	return 0;
}

static int
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~' || c == '/';
}

char *
sgw_pct_encode(const char *in)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n, need = 1;
	char *out, *o;

	if (in == NULL)
		return NULL;
	for (n = 0; in[n] != '\0'; n++)
		need += unreserved((unsigned char)in[n]) ? 1 : 3;
	if (n > (SIZE_MAX - 1) / 3 || (out = malloc(need)) == NULL)
		return NULL;
	for (o = out; *in != '\0'; in++) {
		unsigned char c = (unsigned char)*in;

		if (unreserved(c)) {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

/* The replacement for c, or NULL when c stands for itself. */
static const char *
html_entity(char c)
{
	switch (c) {
	case '&':
		return "&amp;";
	case '<':
		return "&lt;";
	case '>':
		return "&gt;";
	case '"':
		return "&quot;";
	case '\'':
		return "&#39;";
	default:
		return NULL;
	}
}

char *
sgw_html_escape(const char *in)
{
	size_t n, need = 1;
	const char *e;
	char *out, *o;

	if (in == NULL)
		return NULL;
	/* Each byte grows to at most 6, so the sum cannot overflow unless
	 * the string fills a sixth of the address space. */
	for (n = 0; in[n] != '\0'; n++) {
		e = html_entity(in[n]);
		need += e != NULL ? strlen(e) : 1;
	}
	if (n > (SIZE_MAX - 1) / 6 || (out = malloc(need)) == NULL)
		return NULL;
	for (o = out; *in != '\0'; in++) {
		if ((e = html_entity(*in)) != NULL) {
			size_t el = strlen(e);

			memcpy(o, e, el);
			o += el;
		} else {
			*o++ = *in;
		}
	}
	*o = '\0';
	return out;
}
