/* Temporary: stand-ins for the backends being written, removed when they land. */
#include <stdio.h>

#include "store.h"

static struct sgw_store *
stub_open(const struct sgw_conf *conf, const void *opts, enum sgw_store_mode mode,
    char *err, size_t errlen)
{
	(void)conf;
	(void)opts;
	(void)mode;
	snprintf(err, errlen, "not built yet");
	return NULL;
}

static int
stub_init(const struct sgw_conf *conf, const void *opts, char *report,
    size_t reportlen, char *err, size_t errlen)
{
	(void)conf;
	(void)opts;
	(void)report;
	(void)reportlen;
	snprintf(err, errlen, "not built yet");
	return -1;
}

const struct sgw_store_backend sgw_store_lmdb = {
    .name = "lmdb", .conf_size = 1, .open = stub_open, .init = stub_init};
const struct sgw_store_backend sgw_store_postgres = {
    .name = "postgres", .conf_size = 1, .open = stub_open, .init = stub_init};
