/*
 * store_open: opening and checking the store the configuration names
 * (declared in store.h). Apart from store.c, whose registry conf.c
 * reads, so that conf and store do not include each other.
 */
#include "store.h"

#include <stdio.h>
#include <string.h>

#include "conf.h"

struct sgw_store *
sgw_store_open(const struct sgw_conf *conf, enum sgw_store_mode mode,
    struct sgw_errs *errs)
{
	const struct sgw_store_backend *b =
	    sgw_store_backend_find(conf->store_backend);
	struct sgw_store *st;
	char err[512] = "";

	if (b == NULL) {
		sgw_errs_add(
		    errs, "store: unknown backend \"%s\"", conf->store_backend);
		return NULL;
	}
	st = b->open(
	    conf, sgw_conf_backend(conf, b->name), mode, err, sizeof(err));
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
		if (strncmp(why, st->backend, n) == 0 &&
		    strncmp(why + n, ": ", 2) == 0)
			why += n + 2;
		sgw_errs_add(errs, "store %s: %s", st->backend, why);
		rc = 1;
	}
	sgw_store_close(st);
	return rc;
}
