/*
 * buf: a growable byte buffer. See buf.h.
 */
#include "buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for n more bytes and a NUL. 0, or -1 with b->oom set. */
static int
buf_reserve(struct sgw_buf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->oom)
		return -1;
	/* No size could hold it; the sums below cannot wrap after this. */
	if (n >= SIZE_MAX / 2 - b->len) {
		b->oom = 1;
		return -1;
	}
	if (b->len + n + 1 <= b->cap)
		return 0;
	for (cap = b->cap ? b->cap : 256; cap < b->len + n + 1; cap *= 2)
		;
	if ((p = realloc(b->data, cap)) == NULL) {
		b->oom = 1;
		return -1;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

void
sgw_buf_add(struct sgw_buf *b, const void *data, size_t len)
{
	if (buf_reserve(b, len) != 0)
		return;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

char *
sgw_buf_extend(struct sgw_buf *b, size_t n)
{
	char *p;

	if (buf_reserve(b, n) != 0)
		return NULL;
	p = b->data + b->len;
	b->len += n;
	b->data[b->len] = '\0';
	return p;
}

/* Formats straight into the buffer, growing it at most once: no
 * allocation of its own (a response used to cost two vasprintf per
 * header). */
void
sgw_buf_vaddf(struct sgw_buf *b, const char *fmt, va_list ap)
{
	va_list again;
	size_t room;
	int n;

	if (buf_reserve(b, 0) != 0)
		return;
	room = b->cap - b->len;
	va_copy(again, ap);
	n = vsnprintf(b->data + b->len, room, fmt, ap);
	if (n >= 0 && (size_t)n >= room && buf_reserve(b, (size_t)n) == 0)
		n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, again);
	va_end(again);
	if (n < 0 || b->oom || b->len + (size_t)n >= b->cap) {
		b->oom = 1;
		if (b->data != NULL)
			b->data[b->len] = '\0';
		return;
	}
	b->len += (size_t)n;
}

void
sgw_buf_addf(struct sgw_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sgw_buf_vaddf(b, fmt, ap);
	va_end(ap);
}

void
sgw_buf_free(struct sgw_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}
