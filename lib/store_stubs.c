/* Temporary: stand-ins for the backends being written, removed when they land. */
#include <stddef.h>
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

#include "conf.h"
struct stub_conf { char *a, *b, *c; int d; int64_t e, f; size_t g; };
#define S(x) offsetof(struct stub_conf, x)
static const struct sgw_conf_key lk[] = {
	{"lmdb", "path", SGW_T_STR, 0, 0, 0, "/var/lib/sessiongw", S(a), 0},
	{"lmdb", "map_size", SGW_T_SIZE, 0, 1, 1LL << 40, "256m", S(g), 0},
	{"lmdb", "sync", SGW_T_BOOL, 0, 0, 0, "off", S(d), 0},
};
static const struct sgw_conf_key pk[] = {
	{"postgres", "conninfo", SGW_T_STR, 0, 0, 0, "host=127.0.0.1 dbname=sessiongw", S(a), 0},
	{"postgres", "table_prefix", SGW_T_STR, 0, 0, 0, "sgw_", S(b), 0},
	{"postgres", "create_tables", SGW_T_BOOL, 0, 0, 0, "on", S(d), 0},
	{"postgres", "connect_timeout", SGW_T_DURATION, 0, 1, 1LL << 40, "2s", S(e), 0},
	{"postgres", "command_timeout", SGW_T_DURATION, 0, 1, 1LL << 40, "200ms", S(f), 0},
};
const struct sgw_store_backend sgw_store_lmdb = {
    .name = "lmdb", .keys = lk, .nkeys = 3, .conf_size = sizeof(struct stub_conf), .open = stub_open, .init = stub_init};
const struct sgw_store_backend sgw_store_postgres = {
    .name = "postgres", .keys = pk, .nkeys = 5, .conf_size = sizeof(struct stub_conf), .open = stub_open, .init = stub_init};
