/*
 * buf: a growable byte buffer, for what is built a piece at a time (a
 * response header block, a body, the /metrics text). An append that
 * cannot allocate sets oom and makes every later append a no-op, so a
 * caller checks once, at the end.
 */
#ifndef SGW_BUF_H
#define SGW_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct sgw_buf {
	char *data; /* malloc'd, NUL-terminated when len > 0 */
	size_t len;
	size_t cap;
	int oom; /* an append failed; the buffer is incomplete */
};

/* Append len bytes of data (or a printf-formatted string). */
void sgw_buf_add(struct sgw_buf *b, const void *data, size_t len);
void sgw_buf_addf(struct sgw_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends n bytes for the caller to fill (and the NUL after them):
 * where they start, or NULL when out of memory (b->oom). */
char *sgw_buf_extend(struct sgw_buf *b, size_t n);
/* Frees the data and zeroes *b, which can then be used again. */
/* The same with a va_list. */
void sgw_buf_vaddf(struct sgw_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
void sgw_buf_free(struct sgw_buf *b);

#endif
