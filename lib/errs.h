/*
 * errs: a bounded list of human-readable problems.
 *
 * Parsers in lib/ never log and never exit; they append what went wrong
 * here ("FILE:LINE: message") and return -1. gateway/ decides whether to
 * print, refuse to start, or keep an old configuration.
 */
#ifndef SGW_ERRS_H
#define SGW_ERRS_H

#include <stddef.h>

#define SGW_ERRS_MAX 64

struct sgw_errs {
	char *msg[SGW_ERRS_MAX]; /* owned, NUL-terminated messages */
	size_t n;                /* messages kept */
	size_t dropped;          /* messages beyond SGW_ERRS_MAX */
};

/* Appends a printf-style message. Never fails: on OOM or overflow the
 * message is counted in `dropped`. */
void sgw_errs_add(struct sgw_errs *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Frees every message and resets the list; accepts NULL. */
void sgw_errs_clear(struct sgw_errs *e);

#endif
