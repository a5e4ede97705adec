/*
 * store_lmdb: the embedded session store, an LMDB environment in a
 * directory shared by every process of one host (liblmdb 0.9.24).
 *
 * The backend is reached through its descriptor, sgw_store_lmdb, like
 * every other (store.h). This header adds what only this backend has:
 * its options struct, which the configuration fills from the [lmdb] rows
 * of the descriptor, and a look at its databases for tests and for
 * operators.
 */
#ifndef SGW_STORE_LMDB_H
#define SGW_STORE_LMDB_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* [lmdb]: allocated and filled by the configuration (conf_size bytes),
 * freed with it; open() only reads it. */
struct sgw_lmdb_conf {
	char *path;      /* the environment's directory */
	size_t map_size; /* bytes the data file may grow to */
	int sync;        /* 1: flush every commit; 0: MDB_NOSYNC */
};

extern const struct sgw_store_backend sgw_store_lmdb;

/* What an lmdb store holds and what its last sweep did. */
struct sgw_lmdb_stat {
	uint64_t sessions; /* entries in each named database */
	uint64_t user_index;
	uint64_t expiry_index;
	uint64_t data;
	uint64_t counters;
	unsigned expiry_depth;  /* B-tree depth of the expiry index */
	uint64_t swept_visited; /* expiry entries the last sweep read */
	int stale_readers;      /* reader slots of dead processes cleared by
	                         * the last open or sweep */
	size_t map_size;        /* the map this process has, in bytes */
	size_t map_used;        /* bytes up to the last page in use */
};

/* Fills *out for st, which must be an lmdb store. Returns an
 * enum sgw_store_rc (errors leave a message in st->errstr). */
int sgw_store_lmdb_stat(struct sgw_store *st, struct sgw_lmdb_stat *out);

#endif
