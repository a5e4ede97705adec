/*
 * store: where sessions, their data and the counters of login regulation
 * live. One interface, several backends (lmdb, redis, postgres), chosen by
 * name from the registry in store.c.
 *
 * A backend only stores: it keeps records under the keys it is given and
 * reads them back. What a record means (when a session has expired, when
 * it is refreshed, how many a user may hold, when a login is locked out)
 * is decided once, above this interface, in session.c and ratelimit.c, so
 * every backend behaves the same.
 *
 * The contract every backend keeps:
 *
 *   - Opened after fork, never before. A store belongs to the process that
 *     opened it (an LMDB environment, a hiredis context and a libpq
 *     connection all do); each worker, the sweeper and each subcommand
 *     opens its own through sgw_store_open().
 *   - "Now" is the caller's clock: every call that needs the time takes
 *     now_ms (Unix time in milliseconds, CLOCK_REALTIME of the gateway
 *     host). Hosts that share a store keep their clocks in step (NTP); a
 *     skew of S shifts every lifetime by at most S. A backend never reads
 *     a clock of its own, except that Redis counts its TTLs itself.
 *   - Every call returns an enum sgw_store_rc. The errors are
 *     SGW_STORE_UNAVAILABLE (cannot reach or open the store),
 *     SGW_STORE_TIMEOUT (no answer within the configured time) and
 *     SGW_STORE_NOSPACE (the store is full: an LMDB map, a disk); each
 *     leaves a message in errstr, and the gateway answers every one of
 *     them with 503 (fail closed). A backend recovers by itself: the call
 *     after an error reconnects or reopens as needed.
 *   - A store never sees a token, only its SHA-256 (hash below).
 */
#ifndef SGW_STORE_H
#define SGW_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "errs.h"
#include "token.h"
#include "users.h"

struct sgw_conf;
struct sgw_conf_key;

#define SGW_CLIENT_MAXLEN 64
#define SGW_AGENT_LEN 16 /* bytes of SHA-256(User-Agent) a session keeps */
#define SGW_DATA_KEY_MAXLEN 64
#define SGW_DATA_VALUE_MAX 4096
#define SGW_DATA_MAX_KEYS 64
#define SGW_COUNTER_KEY_MAXLEN (SGW_USER_MAXLEN + 16) /* "f:u:" + a user */

enum sgw_store_rc {
	SGW_STORE_OK = 0,
	SGW_STORE_NOTFOUND = 1,     /* no such session, key or counter */
	SGW_STORE_FULL = 2,         /* data: the session has max_keys keys */
	SGW_STORE_UNAVAILABLE = -1, /* cannot reach or open the store */
	SGW_STORE_TIMEOUT = -2,     /* no answer in time */
	SGW_STORE_NOSPACE = -3,     /* the store is full (LMDB map_size) */
};

/* 1 for the three errors above: answer 503. */
#define SGW_STORE_FAILED(rc) ((rc) < 0)

/*
 * One session as stored. The policy fills it and reads it back; the
 * backend keeps every field as it was given.
 */
struct sgw_record {
	char user[SGW_USER_MAXLEN + 1];
	char client[SGW_CLIENT_MAXLEN + 1]; /* address that logged in */
	unsigned char agent[SGW_AGENT_LEN]; /* SHA-256(User-Agent), cut */
	int64_t created_ms;                 /* Unix ms */
	int64_t seen_ms;                    /* last refresh */
	int64_t expires_ms;                 /* absolute end, never moves */
	int64_t deadline_ms;                /* the store may forget it from
	                                     * then on: min(seen + idle,
	                                     * expires) when written */
	int remember_me;                    /* 0 or 1 */
	/* The public id (sgw_token_public_id of the hash), made once when
	 * the session is: a check need not hash again to show it. A
	 * backend that keeps none gives "" back, and it is computed. */
	char id[SGW_PUBLIC_ID_HEX];
};

/* A record with the hash it is stored under (user_sessions). */
struct sgw_stored {
	unsigned char hash[SGW_HASH_LEN];
	struct sgw_record rec;
};

struct sgw_store;

struct sgw_store_ops {
	/* Stores a new session under hash and adds it to its user's
	 * index. NOSPACE when there is no room for it. */
	int (*put)(struct sgw_store *, const unsigned char hash[SGW_HASH_LEN],
	    const struct sgw_record *, int64_t now_ms);
	/* Reads one session: OK and *out, or NOTFOUND. May return a record
	 * whose deadline has passed (the policy checks the times). One
	 * round trip, or one read transaction. */
	int (*get)(struct sgw_store *, const unsigned char hash[SGW_HASH_LEN],
	    struct sgw_record *out);
	/* Reads n sessions (2 <= n <= SGW_STORE_BATCH_MAX) in one round
	 * trip: rc[i] is OK with out[i], or NOTFOUND. Returns OK, or an
	 * error that stands for all of them. NULL for a backend whose
	 * reads cost no round trip (LMDB). */
	int (*get_many)(struct sgw_store *, size_t n,
	    const unsigned char (*hash)[SGW_HASH_LEN], struct sgw_record *out,
	    int *rc);
	/* Sets seen_ms and deadline_ms of an existing session. NOTFOUND
	 * when it is gone: a refresh never brings a session back. */
	int (*refresh)(struct sgw_store *,
	    const unsigned char hash[SGW_HASH_LEN], int64_t seen_ms,
	    int64_t deadline_ms, int64_t now_ms);
	/* Removes a session, its data and its index entry. OK when it was
	 * there, NOTFOUND when it was not. */
	int (*del)(struct sgw_store *, const unsigned char hash[SGW_HASH_LEN]);
	/* Every session in user's index, oldest first, as a malloc'd array
	 * (*out, *n; the caller frees *out, which is NULL when *n is 0).
	 * Index entries whose session is gone are dropped on the way, so
	 * the index never outgrows the user's sessions. Records past their
	 * deadline may be included. */
	int (*user_sessions)(struct sgw_store *, const char *user,
	    struct sgw_stored **out, size_t *n);

	/* Per-session data, NOTFOUND when the session (or, for get and
	 * del, the key) is absent. get: *val is malloc'd and NUL-terminated
	 * (the caller frees it), *len its length. put: FULL when the
	 * session already holds max_keys other keys. */
	int (*data_get)(struct sgw_store *,
	    const unsigned char hash[SGW_HASH_LEN], const char *key, char **val,
	    size_t *len);
	int (*data_put)(struct sgw_store *,
	    const unsigned char hash[SGW_HASH_LEN], const char *key,
	    const void *val, size_t len, size_t max_keys);
	int (*data_del)(struct sgw_store *,
	    const unsigned char hash[SGW_HASH_LEN], const char *key);

	/* Counters with a lifetime (keys are short text the policy makes,
	 * at most SGW_COUNTER_KEY_MAXLEN bytes). A counter whose lifetime
	 * has passed is absent. add: atomically adds delta and sets *value
	 * to the result; a counter that did not exist starts from 0 and
	 * lives ttl_ms from now, an existing one keeps its lifetime. */
	int (*counter_add)(struct sgw_store *, const char *key, int64_t delta,
	    int64_t ttl_ms, int64_t now_ms, int64_t *value);
	/* *value and the lifetime left (*ttl_ms), both 0 when absent. */
	int (*counter_get)(struct sgw_store *, const char *key, int64_t now_ms,
	    int64_t *value, int64_t *ttl_ms);
	/* Sets a counter to value for ttl_ms from now, whatever it was. */
	int (*counter_set)(struct sgw_store *, const char *key, int64_t value,
	    int64_t ttl_ms, int64_t now_ms);
	/* Removes a counter (OK whether or not it was there). */
	int (*counter_del)(struct sgw_store *, const char *key);

	/* OK when the store answers. */
	int (*ping)(struct sgw_store *);
	/* How many sessions are live (deadline after now) in this store:
	 * under this gateway's prefix on a shared server. */
	int (*active)(struct sgw_store *, int64_t now_ms, uint64_t *n);
	/* Removes sessions and counters whose deadline is at or before
	 * now, at most max of them, oldest first; *sessions gets how many
	 * sessions went, *more is set when some are left. NULL for a
	 * backend whose entries expire by themselves (Redis). */
	int (*sweep)(struct sgw_store *, int64_t now_ms, size_t max,
	    size_t *sessions, int *more);
	/* Closes the store and frees it; accepts NULL. */
	void (*close)(struct sgw_store *);
};

#define SGW_STORE_BATCH_MAX 16 /* sessions read ahead at once, at most */

/* Sessions read ahead by sgw_store_read_ahead, each for one sgw_store_get. */
struct sgw_store_ahead {
	size_t n;
	unsigned char hash[SGW_STORE_BATCH_MAX][SGW_HASH_LEN];
	struct sgw_record rec[SGW_STORE_BATCH_MAX];
	int rc[SGW_STORE_BATCH_MAX];
	unsigned char taken[SGW_STORE_BATCH_MAX];
};

struct sgw_store {
	const struct sgw_store_ops *ops;
	const char *backend; /* "lmdb", "redis", "postgres" */
	char errstr[256];    /* why the last call failed, for the log */
	uint64_t expired;    /* sessions the policy found expired and
	                      * ended; the gateway reads and resets it for
	                      * sgw_sessions_expired_total */
	struct sgw_store_ahead ahead;
};

/* How sgw_store_open is used. */
enum sgw_store_mode {
	SGW_STORE_SERVE, /* a worker or the sweeper: create what is missing
	                  * when the backend is told to (create_tables) */
	SGW_STORE_CHECK, /* sessiongw -t and start-up: open and check what
	                  * does not change by itself (a directory, a schema),
	                  * create nothing; a server that cannot be reached is
	                  * not a reason to fail here (ping tells) */
};

/*
 * A backend's entry in the registry. Its configuration section is named
 * after it ([lmdb], [redis], [postgres]); its keys are rows of the table
 * `keys`, whose offsets point into a struct of conf_size bytes that the
 * configuration allocates for it (sgw_conf_backend()).
 */
struct sgw_store_backend {
	const char *name;
	const struct sgw_conf_key *keys;
	size_t nkeys;
	size_t conf_size;
	/* Checks that only the whole section can tell (may be NULL):
	 * returns 0, or -1 with a message in why. */
	int (*validate)(const void *opts, char *why, size_t whylen);
	/* A new store, or NULL with the reason in err. */
	struct sgw_store *(*open)(const struct sgw_conf *conf, const void *opts,
	    enum sgw_store_mode mode, char *err, size_t errlen);
	/* sessiongw store init: makes what the store needs (tables, a
	 * directory) and says what it did in report, or that nothing was
	 * needed. Returns 0, or -1 with the reason in err. */
	int (*init)(const struct sgw_conf *conf, const void *opts, char *report,
	    size_t reportlen, char *err, size_t errlen);
	/* Wipes what is secret in opts (passwords), for processes that
	 * must not hold it. May be NULL. */
	void (*wipe)(void *opts);
	/* 1 when entries expire by themselves (Redis TTLs): no sweeper is
	 * needed, only counting for the metrics. */
	int expires_by_itself;
};

/* The registry: every backend, in a fixed order; n gets the count. */
const struct sgw_store_backend *const *sgw_store_backends(size_t *n);
/* The backend called name, or NULL. */
const struct sgw_store_backend *sgw_store_backend_find(const char *name);

/*
 * Opens the store that conf's [store] backend names. Returns it, or NULL
 * with one message in errs ("store lmdb: cannot open /x: ..."). The
 * caller closes it with sgw_store_close().
 */
struct sgw_store *sgw_store_open(const struct sgw_conf *conf,
    enum sgw_store_mode mode, struct sgw_errs *errs);
void sgw_store_close(struct sgw_store *st);

/*
 * What -t and start-up ask of the store: 0 when it opens and answers;
 * -1 when it cannot be used as configured (a directory that cannot be
 * written, a schema this sessiongw does not know): the gateway refuses to
 * start; 1 when it is configured right but does not answer now (a server
 * down): -t reports it, and a starting gateway says so and serves 503
 * until the store is back. Each problem goes into errs.
 */
int sgw_store_check(const struct sgw_conf *conf, struct sgw_errs *errs);

/*
 * Reading ahead: a worker holding several whole requests reads their
 * sessions in one round trip (get_many) before it serves them, one after
 * the other. Each read is what that request's own get would have read at
 * that moment; the requests are concurrent (each on its own connection),
 * so serving them from it is as if each had been read first.
 *
 * sgw_store_read_ahead reads hash[0..n-1] (n at most SGW_STORE_BATCH_MAX;
 * duplicates are read once per copy) when the backend has get_many and n
 * is at least 2, and does nothing otherwise. A failure stands for each of
 * them: each get answers it at once instead of waiting for the store
 * again. sgw_store_get takes a read-ahead record of hash, each at most
 * once, else asks the backend. sgw_store_ahead_drop forgets what was not
 * taken: call it when the requests read for have been served.
 */
int sgw_store_reads_ahead(const struct sgw_store *st);
void sgw_store_read_ahead(
    struct sgw_store *st, const unsigned char (*hash)[SGW_HASH_LEN], size_t n);
int sgw_store_get(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN],
    struct sgw_record *out);
void sgw_store_ahead_drop(struct sgw_store *st);

/* Copies a message into st->errstr and returns rc (for backends). */
int sgw_store_fail(struct sgw_store *st, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
