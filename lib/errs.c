#include "errs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void
sgw_errs_add(struct sgw_errs *e, const char *fmt, ...)
{
	va_list ap;
	char *m = NULL;

	if (e == NULL)
		return;
	if (e->n >= SGW_ERRS_MAX) {
		e->dropped++;
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	if (m == NULL) {
		e->dropped++;
		return;
	}
	e->msg[e->n++] = m;
}

void
sgw_errs_clear(struct sgw_errs *e)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < e->n; i++)
		free(e->msg[i]);
	e->n = 0;
	e->dropped = 0;
}
