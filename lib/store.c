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
	return st->ops->get_many_send != NULL;
}

/* A failure that stands for each session read ahead. */
static void
ahead_failed(struct sgw_store_ahead *a, int rc)
{
	for (size_t i = 0; i < a->n; i++)
		a->rc[i] = rc;
}

int
sgw_store_ahead_start(struct sgw_store *st,
    const unsigned char (*hash)[SGW_HASH_LEN], size_t n, int64_t *deadline_ms)
{
	struct sgw_store_ahead *a = &st->ahead;
	int rc, fd = -1;

	a->n = 0;
	a->pending = 0;
	if (st->ops->get_many_send == NULL || n == 0)
		return -1;
	if (n > SGW_STORE_BATCH_MAX)
		n = SGW_STORE_BATCH_MAX;
	memcpy(a->hash, hash, n * SGW_HASH_LEN);
	memset(a->taken, 0, n);
	a->n = n;
	*deadline_ms = 0;
	if ((rc = st->ops->get_many_send(st, n, a->hash, &fd, deadline_ms)) !=
	    SGW_STORE_OK) {
		ahead_failed(a, rc);
		return -1;
	}
	a->pending = 1;
	if (fd < 0)
		sgw_store_ahead_poll(st, 1);
	return fd;
}

int
sgw_store_ahead_poll(struct sgw_store *st, int wait)
{
	struct sgw_store_ahead *a = &st->ahead;
	int rc;

	if (!a->pending)
		return 1;
	rc = st->ops->get_many_recv(st, a->n, a->hash, a->rec, a->rc, wait);
	if (rc == SGW_STORE_PENDING && !wait)
		return 0;
	a->pending = 0;
	if (rc != SGW_STORE_OK)
		ahead_failed(
		    a, SGW_STORE_FAILED(rc) ? rc : SGW_STORE_UNAVAILABLE);
	return 1;
}

void
sgw_store_read_ahead(
    struct sgw_store *st, const unsigned char (*hash)[SGW_HASH_LEN], size_t n)
{
	int64_t deadline;

	sgw_store_ahead_start(st, hash, n, &deadline);
	sgw_store_ahead_poll(st, 1);
}

int
sgw_store_get_many(struct sgw_store *st, size_t n,
    const unsigned char (*hash)[SGW_HASH_LEN], struct sgw_record *out, int *rc)
{
	int64_t deadline;
	int fd, r;

	if (n > SGW_STORE_BATCH_MAX)
		n = SGW_STORE_BATCH_MAX;
	if ((r = st->ops->get_many_send(st, n, hash, &fd, &deadline)) !=
	    SGW_STORE_OK)
		return r;
	r = st->ops->get_many_recv(st, n, hash, out, rc, 1);
	return r == SGW_STORE_PENDING ? SGW_STORE_UNAVAILABLE : r;
}

int
sgw_store_get(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN],
    struct sgw_record *out)
{
	struct sgw_store_ahead *a = &st->ahead;

	sgw_store_ahead_poll(st, 1);
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
	sgw_store_ahead_poll(st, 1);
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
