/*
 * store: where sessions, their data and the login failure counters live.
 *
 * Handlers talk to this interface only, so another backend can sit beside
 * Redis (store_redis.c) without touching them. Every call returns one of
 * enum sgw_store_rc; SGW_STORE_ERROR means "the store could not answer"
 * (the caller fails closed with 503) and leaves a message in errstr.
 */
#ifndef SGW_STORE_H
#define SGW_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "token.h"
#include "users.h"

#define SGW_ROLES_MAXLEN 1024
#define SGW_CLIENT_MAXLEN 64
#define SGW_DATA_KEY_MAXLEN 64
#define SGW_DATA_VALUE_MAX 4096
#define SGW_DATA_MAX_KEYS 64

enum sgw_store_rc {
	SGW_STORE_OK = 0,
	SGW_STORE_NOTFOUND = 1, /* no such (live) session, key or id */
	SGW_STORE_FULL = 2,     /* data: SGW_DATA_MAX_KEYS keys already */
	SGW_STORE_ERROR = -1,   /* unreachable, timed out, bad reply */
};

struct sgw_session {
	char user[SGW_USER_MAXLEN + 1];
	char roles[SGW_ROLES_MAXLEN + 1];  /* comma-separated */
	char client[SGW_CLIENT_MAXLEN + 1]; /* address that logged in */
	char id[SGW_PUBLIC_ID_HEX];        /* public id */
	int64_t created_ms;                /* Unix time, milliseconds */
	int64_t last_seen_ms;
	int64_t expires_ms;                /* absolute end */
	int64_t idle_expires_ms;           /* end if unused from now on */
	int remember_me;
};

/* What a new session is made of. */
struct sgw_session_params {
	const char *user;
	const char *roles;
	const char *client;
	int remember_me;
	int64_t idle_ms;     /* idle timeout */
	int64_t lifetime_ms; /* absolute or remember-me timeout */
	int max_per_user;    /* 0 = unlimited; else the oldest are ended */
};

/* Login regulation limits. */
struct sgw_limits {
	int max_failures;
	int max_client_failures;
	int64_t window_ms;
	int64_t lockout_ms;
};

struct sgw_store;

struct sgw_store_ops {
	/* Stores a new session under hash; fills *out. */
	int (*create)(struct sgw_store *, const unsigned char hash[SGW_HASH_LEN],
	    const struct sgw_session_params *, struct sgw_session *out);
	/* Reads the session and, when at least min_step_ms have passed since
	 * the last refresh, slides its idle expiry (never past the absolute
	 * end), all in one round trip. NOTFOUND when gone or expired. */
	int (*touch)(struct sgw_store *, const unsigned char hash[SGW_HASH_LEN],
	    int64_t idle_ms, int64_t min_step_ms, struct sgw_session *out);
	/* Ends one session (OK even when it was already gone). */
	int (*destroy)(struct sgw_store *, const unsigned char hash[SGW_HASH_LEN]);
	/* Ends user's session with public id `id`, or all of them when id
	 * is NULL; *count gets how many ended. NOTFOUND when id is given and
	 * is not one of the user's live sessions. */
	int (*destroy_user)(struct sgw_store *, const char *user, const char *id,
	    size_t *count);
	/* The user's live sessions, oldest first, pruning dead index
	 * entries on the way. *out is malloc'd (caller frees), *n its size. */
	int (*list)(struct sgw_store *, const char *user, struct sgw_session **out,
	    size_t *n);
	/* Per-session data. get: malloc'd *val (caller frees). put: FULL when
	 * the session already holds SGW_DATA_MAX_KEYS other keys. NOTFOUND
	 * when the session is gone (or, for get/del, the key is absent). */
	int (*data_get)(struct sgw_store *, const unsigned char hash[SGW_HASH_LEN],
	    const char *key, char **val, size_t *len);
	int (*data_put)(struct sgw_store *, const unsigned char hash[SGW_HASH_LEN],
	    const char *key, const char *val, size_t len);
	int (*data_del)(struct sgw_store *, const unsigned char hash[SGW_HASH_LEN],
	    const char *key);
	/* Login regulation: *retry_ms > 0 when user or client is locked out
	 * (the longer of the two), else 0. */
	int (*login_locked)(struct sgw_store *, const char *user, const char *client,
	    int64_t *retry_ms);
	/* Counts a failure for user and client; locks either out once its
	 * limit is reached within the window. *retry_ms as above. */
	int (*login_failed)(struct sgw_store *, const char *user, const char *client,
	    const struct sgw_limits *, int64_t *retry_ms);
	/* A success clears the user's counter. */
	int (*login_succeeded)(struct sgw_store *, const char *user);
	/* OK when the backend answers. */
	int (*ping)(struct sgw_store *);
	void (*free)(struct sgw_store *);
};

struct sgw_store {
	const struct sgw_store_ops *ops;
	char errstr[256]; /* the last SGW_STORE_ERROR, for the log */
};

#endif
