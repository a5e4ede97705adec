/*
 * fuzz_fcgi: the FastCGI reader a worker puts every byte a peer sends
 * through (gateway/fcgi.c).
 *
 * The first input byte picks how the rest is cut into reads (1 to 256
 * bytes each), as a peer trickling bytes would cut it; the rest is the
 * stream. Each request is taken as the worker takes it: parameters
 * decoded when its head is whole, a body asked for (of a responder), an
 * answer written. Every decoded value must end with its NUL inside the
 * PARAMS buffer, and every length must stay within its bound.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi.h"
#include "fuzz.h"

static struct sgw_fcgi c;

static void
param(void *arg, const char *name, size_t nlen, const char *value)
{
	const struct sgw_fcgi_bytes *p = arg;
	const char *lo = (const char *)p->data, *hi = lo + p->cap;

	CHECK(name >= lo && name + nlen <= hi);
	CHECK(value >= lo && value < hi);
	CHECK(memchr(value, '\0', (size_t)(hi - value)) != NULL);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t step, off = 1;

	if (size < 1)
		return 0;
	step = (size_t)data[0] + 1;
	sgw_fcgi_init(&c);
	while (off < size) {
		size_t room, k = size - off < step ? size - off : step;
		unsigned char *dst = sgw_fcgi_space(&c, k, &room);
		enum sgw_fcgi_event ev;
		int closed = 0;

		if (dst == NULL)
			break;
		CHECK(room >= k);
		memcpy(dst, data + off, k);
		c.in.len += k;
		off += k;
		while (!closed && (ev = sgw_fcgi_next(&c)) != SGW_FCGI_MORE) {
			switch (ev) {
			case SGW_FCGI_HEAD:
				CHECK(c.params.len <= SGW_FCGI_PARAMS_MAX);
				(void)sgw_fcgi_params(&c, param, &c.params);
				if (c.role == SGW_FCGI_RESPONDER && (k & 1)) {
					sgw_fcgi_want_body(&c, 100);
					break;
				}
				sgw_fcgi_stdout(&c, data, size);
				sgw_fcgi_end(&c);
				break;
			case SGW_FCGI_BODY:
				CHECK(c.body.len <= 100);
				CHECK(c.body.data[c.body.len] == '\0');
				sgw_fcgi_stdout(&c, c.body.data, c.body.len);
				sgw_fcgi_end(&c);
				break;
			case SGW_FCGI_TOO_LARGE:
				sgw_fcgi_end(&c);
				closed = 1;
				break;
			default:
				closed = 1;
				break;
			}
		}
		/* What a worker sends is whole records. */
		{
			size_t r = 0;

			while (r + 8 <= c.out.len)
				r += 8 +
				    ((size_t)c.out.data[r + 4] << 8 |
				        c.out.data[r + 5]) +
				    c.out.data[r + 6];
			CHECK(r == c.out.len);
		}
		sgw_fcgi_sent(&c, c.out.len);
		if (closed)
			break;
	}
	sgw_fcgi_free(&c);
	return 0;
}
