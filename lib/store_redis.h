/*
 * store_redis: the Redis backend of the store interface (hiredis 0.14).
 *
 * One connection per process, made lazily (so a worker starts even while
 * Redis is down) and re-made after any I/O error, with the command
 * timeout re-applied after every reconnect. With sentinels configured the
 * master is looked up on every (re)connect and on a READONLY reply.
 */
#ifndef SGW_STORE_REDIS_H
#define SGW_STORE_REDIS_H

#include "conf.h"
#include "store.h"

/* A new Redis store for conf (which must outlive it). Does not connect
 * yet. Returns NULL on OOM. Free with store->ops->free(store). */
struct sgw_store *sgw_store_redis_new(const struct sgw_conf *conf);

#endif
