/*
 * store_redis: the Redis backend (hiredis 0.14), registered as "redis".
 * Nothing outside it calls it directly: sgw_store_open() does.
 */
#ifndef SGW_STORE_REDIS_H
#define SGW_STORE_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "store.h"

/* The [redis] section. */
struct sgw_redis_conf {
	char *address;              /* as written */
	struct sgw_addr addr;       /* parsed */
	struct sgw_addr *sentinels; /* host:port list; when set, address
	                             * is ignored */
	size_t nsentinels;
	char *sentinel_master;
	char *username; /* Redis 6+ ACL user, "" = none */
	char *password; /* "" = none */
	int database;
	char *key_prefix; /* every key starts with it */
	int64_t connect_timeout_ms;
	int64_t command_timeout_ms;
};

extern const struct sgw_store_backend sgw_store_redis;

#endif
