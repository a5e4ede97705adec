/*
 * store: the registry of backends. Opening the configured one, which
 * needs the configuration, is store_open.c: conf.c reads the registry
 * (each backend's key table), so the registry must not need conf.
 *
 * Adding a backend is its own file (store_NAME.c with a descriptor and its
 * key table) plus one line in `registry` below.
 */
#include "store.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

extern const struct sgw_store_backend sgw_store_lmdb;
extern const struct sgw_store_backend sgw_store_postgres;
extern const struct sgw_store_backend sgw_store_redis;

/* In the order sessiongw.conf(5) documents the sections. */
static const struct sgw_store_backend *const registry[] = {
    &sgw_store_lmdb,
    &sgw_store_postgres,
    &sgw_store_redis,
};

const struct sgw_store_backend *const *
sgw_store_backends(size_t *n)
{
	*n = sizeof(registry) / sizeof(registry[0]);
	return registry;
}

const struct sgw_store_backend *
sgw_store_backend_find(const char *name)
{
	for (size_t i = 0;
	     name != NULL && i < sizeof(registry) / sizeof(registry[0]); i++) {
		if (strcmp(registry[i]->name, name) == 0)
			return registry[i];
	}
	return NULL;
}

void
sgw_store_close(struct sgw_store *st)
{
	if (st != NULL)
		st->ops->close(st);
}

int
sgw_store_reads_ahead(const struct sgw_store *st)
{
	return st->ops->get_many != NULL;
}

void
sgw_store_read_ahead(
    struct sgw_store *st, const unsigned char (*hash)[SGW_HASH_LEN], size_t n)
{
	struct sgw_store_ahead *a = &st->ahead;
	int rc;

	a->n = 0;
	if (st->ops->get_many == NULL || n < 2)
		return;
	if (n > SGW_STORE_BATCH_MAX)
		n = SGW_STORE_BATCH_MAX;
	memcpy(a->hash, hash, n * SGW_HASH_LEN);
	memset(a->taken, 0, n);
	if ((rc = st->ops->get_many(st, n, a->hash, a->rec, a->rc)) !=
	    SGW_STORE_OK)
		for (size_t i = 0; i < n; i++)
			a->rc[i] = rc;
	a->n = n;
}

int
sgw_store_get(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN],
    struct sgw_record *out)
{
	struct sgw_store_ahead *a = &st->ahead;

	for (size_t i = 0; i < a->n; i++) {
		if (a->taken[i] || memcmp(a->hash[i], hash, SGW_HASH_LEN) != 0)
			continue;
		a->taken[i] = 1;
		if (a->rc[i] == SGW_STORE_OK)
			*out = a->rec[i];
		return a->rc[i];
	}
	return st->ops->get(st, hash, out);
}

void
sgw_store_ahead_drop(struct sgw_store *st)
{
	st->ahead.n = 0;
}

int
sgw_store_fail(struct sgw_store *st, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->errstr, sizeof(st->errstr), fmt, ap);
	va_end(ap);
	return rc;
}
