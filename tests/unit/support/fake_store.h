/*
 * fake_store: an in-memory struct sgw_store for the unit tests.
 *
 * Every op of struct sgw_store_ops with the semantics store.h documents:
 * records kept as given, a user index read oldest first and pruned of
 * entries whose session is gone, per-session data with max_keys, counters
 * whose lifetimes are measured against the now_ms each call is given (the
 * fake never reads a clock), active and sweep. Like a real backend, `get`
 * and `user_sessions` return records past their deadline until something
 * removes them: the policy above must check the times itself.
 *
 * On top, what tests need to say what a request cost and to play a broken
 * store: a counter of calls per op, a `down` switch (every op fails with
 * SGW_STORE_UNAVAILABLE and a message in errstr), `ping_down`, failing
 * chosen ops only (`fail_ops`), the last record `put`, and a hook that
 * runs once before a chosen op (`before`: a race played step by step).
 */
#ifndef SGW_FAKE_STORE_H
#define SGW_FAKE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* One per op of struct sgw_store_ops (close is not counted). */
enum fake_op {
	OP_PUT,
	OP_GET,
	OP_REFRESH,
	OP_DEL,
	OP_USER_SESSIONS,
	OP_DATA_GET,
	OP_DATA_PUT,
	OP_DATA_DEL,
	OP_COUNTER_ADD,
	OP_COUNTER_GET,
	OP_COUNTER_SET,
	OP_COUNTER_DEL,
	OP_PING,
	OP_ACTIVE,
	OP_SWEEP,
	OP_GET_MANY,
	OP_N
};

#define FAKE_MAX_SESSIONS 256
#define FAKE_MAX_INDEX 512
#define FAKE_MAX_COUNTERS 128

struct fake_data {
	int used;
	char key[SGW_DATA_KEY_MAXLEN + 1];
	char *val; /* malloc'd, NUL-terminated */
	size_t len;
};

struct fake_sess {
	int used;
	unsigned char hash[SGW_HASH_LEN];
	struct sgw_record rec;
	struct fake_data data[SGW_DATA_MAX_KEYS];
};

/* An entry of a user's index; it may outlive its session (a session the
 * store forgot by itself), as a Redis sorted set member does. */
struct fake_index {
	int used;
	char user[SGW_USER_MAXLEN + 1];
	unsigned char hash[SGW_HASH_LEN];
	int64_t created_ms; /* the sort key */
	uint64_t seq;       /* ties: the order of insertion */
};

struct fake_counter {
	int used;
	char key[SGW_COUNTER_KEY_MAXLEN + 1];
	int64_t value;
	int64_t until_ms; /* absent from then on */
};

struct fake_store {
	struct sgw_store base; /* first: callers see only this */
	struct fake_sess sess[FAKE_MAX_SESSIONS];
	struct fake_index index[FAKE_MAX_INDEX];
	struct fake_counter counters[FAKE_MAX_COUNTERS];
	uint64_t seq;

	/* Test hooks. */
	int calls[OP_N];        /* calls per op since the last reset */
	int down;               /* every op answers UNAVAILABLE */
	int ping_down;          /* only ping does */
	unsigned fail_ops;      /* these ops do too: a bit (1u << op)
	                         * for each */
	size_t capacity;        /* put answers NOSPACE beyond it
	                         * (FAKE_MAX_SESSIONS by default) */
	int nput;               /* records put so far */
	struct sgw_record last; /* the last record put */
	unsigned char last_hash[SGW_HASH_LEN];
	/* Called before an op of kind before_op does anything, once (it is
	 * cleared first): another worker's step between two of the
	 * caller's calls. */
	void (*before)(struct fake_store *f, void *arg);
	enum fake_op before_op;
	void *before_arg;
};

/* A new, empty fake; close it with sgw_store_close() (or ops->close). */
struct fake_store *fake_store_new(void);

/* The calls of every op added up, and setting them all back to 0. */
int fake_store_total_calls(const struct fake_store *f);
void fake_store_reset_calls(struct fake_store *f);

/* The record stored under hash, or NULL: what a test reads or changes
 * behind the store's back. No call is counted. */
struct sgw_record *fake_store_find(
    struct fake_store *f, const unsigned char hash[SGW_HASH_LEN]);

/* Stores rec under hash and in its user's index, as put does, without
 * counting a call. Fails the test when the fake is full. */
void fake_store_insert(struct fake_store *f,
    const unsigned char hash[SGW_HASH_LEN], const struct sgw_record *rec);

/* Drops the session (and its data) but not its index entry: a session
 * that a backend forgot by itself (a Redis TTL). No call is counted. */
void fake_store_forget(
    struct fake_store *f, const unsigned char hash[SGW_HASH_LEN]);

/* How many index entries user has, live or not. */
size_t fake_store_index_len(const struct fake_store *f, const char *user);

/* A counter's value at now_ms (0 when absent). No call is counted. */
int64_t fake_store_counter(
    const struct fake_store *f, const char *key, int64_t now_ms);

#endif
