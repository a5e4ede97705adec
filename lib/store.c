/*
 * store: the registry of backends, and opening the configured one.
 *
 * Adding a backend is its own file (store_NAME.c with a descriptor and its
 * key table) plus one line in `registry` below.
 */
#include "store.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"

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
	for (size_t i = 0; name != NULL && i < sizeof(registry) / sizeof(registry[0]);
	    i++) {
		if (strcmp(registry[i]->name, name) == 0)
			return registry[i];
	}
	return NULL;
}

struct sgw_store *
sgw_store_open(const struct sgw_conf *conf, enum sgw_store_mode mode,
    struct sgw_errs *errs)
{
	const struct sgw_store_backend *b = sgw_store_backend_find(conf->store_backend);
	struct sgw_store *st;
	char err[512] = "";

	if (b == NULL) {
		sgw_errs_add(errs, "store: unknown backend \"%s\"", conf->store_backend);
		return NULL;
	}
	st = b->open(conf, sgw_conf_backend(conf, b->name), mode, err, sizeof(err));
	if (st == NULL) {
		sgw_errs_add(errs, "store %s: %s", b->name,
		    err[0] != '\0' ? err : "cannot open");
		return NULL;
	}
	st->backend = b->name;
	return st;
}

int
sgw_store_check(const struct sgw_conf *conf, struct sgw_errs *errs)
{
	struct sgw_store *st = sgw_store_open(conf, SGW_STORE_CHECK, errs);
	int rc = 0;

	if (st == NULL)
		return -1;
	if (st->ops->ping(st) != SGW_STORE_OK) {
		size_t n = strlen(st->backend);
		const char *why = st->errstr;

		/* errstr names its backend already ("redis: ..."). */
		if (strncmp(why, st->backend, n) == 0 && strncmp(why + n, ": ", 2) == 0)
			why += n + 2;
		sgw_errs_add(errs, "store %s: %s", st->backend, why);
		rc = 1;
	}
	sgw_store_close(st);
	return rc;
}

void
sgw_store_close(struct sgw_store *st)
{
	if (st != NULL)
		st->ops->close(st);
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
