/*
 * store_pg: the session store over PostgreSQL (libpq), SPEC section 7.
 *
 * Its [postgres] section is its own: the rows of the key table in
 * store_pg.c land in a struct sgw_postgres_conf that the configuration
 * allocates (sgw_conf_backend(conf, "postgres")).
 */
#ifndef SGW_STORE_PG_H
#define SGW_STORE_PG_H

#include <stdint.h>

#include "store.h"

#define SGW_PG_PREFIX_MAXLEN 32
#define SGW_PG_CONNINFO_MAXLEN 4000

struct sgw_postgres_conf {
	char *conninfo;             /* libpq keyword/value string or URI;
	                             * secret: it may hold a password */
	char *table_prefix;         /* [a-z_][a-z0-9_]*, at most 32 bytes */
	int create_tables;          /* create missing tables at open */
	int64_t connect_timeout_ms; /* the whole connect, our own deadline */
	int64_t command_timeout_ms; /* statement_timeout, plus a client-side
	                             * deadline a little longer */
};

extern const struct sgw_store_backend sgw_store_postgres;

#endif
