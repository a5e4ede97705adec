/*
 * fake_store: an in-memory store for the unit tests. See fake_store.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_store.h"

/* Counts the call; non-zero when the fake plays "the store is down". */
static int
called(struct fake_store *f, enum fake_op op)
{
	if (f->before != NULL && f->before_op == op) {
		void (*before)(struct fake_store *, void *) = f->before;

		f->before = NULL;
		before(f, f->before_arg);
	}
	f->calls[op]++;
	if (f->down || (f->fail_ops & (1u << op)) != 0) {
		sgw_store_fail(&f->base, SGW_STORE_UNAVAILABLE, "fake: down");
		return 1;
	}
	return 0;
}

static struct fake_sess *
sess_find(struct fake_store *f, const unsigned char hash[SGW_HASH_LEN])
{
	for (size_t i = 0; i < FAKE_MAX_SESSIONS; i++)
		if (f->sess[i].used &&
		    memcmp(f->sess[i].hash, hash, SGW_HASH_LEN) == 0)
			return &f->sess[i];
	return NULL;
}

static size_t
sess_count(const struct fake_store *f)
{
	size_t n = 0;

	for (size_t i = 0; i < FAKE_MAX_SESSIONS; i++)
		n += f->sess[i].used != 0;
	return n;
}

static void
sess_clear(struct fake_sess *e)
{
	for (size_t i = 0; i < SGW_DATA_MAX_KEYS; i++)
		free(e->data[i].val);
	memset(e, 0, sizeof(*e));
}

static void
index_drop(struct fake_store *f, const unsigned char hash[SGW_HASH_LEN])
{
	for (size_t i = 0; i < FAKE_MAX_INDEX; i++)
		if (f->index[i].used &&
		    memcmp(f->index[i].hash, hash, SGW_HASH_LEN) == 0)
			memset(&f->index[i], 0, sizeof(f->index[i]));
}

/* Stores rec under hash; -1 when there is no room (nothing changed). */
static int
store_rec(struct fake_store *f, const unsigned char hash[SGW_HASH_LEN],
    const struct sgw_record *given)
{
	struct fake_sess *e = sess_find(f, hash);
	struct fake_index *x = NULL;
	/* A copy first: given may be the very record about to be cleared
	 * (a test moving a session with fake_store_find + insert). */
	struct sgw_record copy = *given;
	const struct sgw_record *rec = &copy;

	if (e == NULL) {
		if (sess_count(f) >= f->capacity)
			return -1;
		for (size_t i = 0; i < FAKE_MAX_SESSIONS && e == NULL; i++)
			if (!f->sess[i].used)
				e = &f->sess[i];
	}
	/* A put under a hash that exists replaces the session whole, data
	 * and index entry included (as Redis's DEL + HSET does). */
	index_drop(f, hash);
	for (size_t i = 0; i < FAKE_MAX_INDEX && x == NULL; i++)
		if (!f->index[i].used)
			x = &f->index[i];
	if (e == NULL || x == NULL)
		return -1;
	sess_clear(e);
	e->used = 1;
	memcpy(e->hash, hash, SGW_HASH_LEN);
	e->rec = *rec;
	x->used = 1;
	memcpy(x->user, rec->user, sizeof(x->user));
	x->user[sizeof(x->user) - 1] = '\0';
	memcpy(x->hash, hash, SGW_HASH_LEN);
	x->created_ms = rec->created_ms;
	x->seq = ++f->seq;
	return 0;
}

static int
f_put(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN],
    const struct sgw_record *rec, int64_t now)
{
	struct fake_store *f = (struct fake_store *)st;

	(void)now;
	if (called(f, OP_PUT))
		return SGW_STORE_UNAVAILABLE;
	if (store_rec(f, hash, rec) == -1)
		return sgw_store_fail(st, SGW_STORE_NOSPACE, "fake: full");
	f->nput++;
	f->last = *rec;
	memcpy(f->last_hash, hash, SGW_HASH_LEN);
	return SGW_STORE_OK;
}

static int
f_get(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN],
    struct sgw_record *out)
{
	struct fake_store *f = (struct fake_store *)st;
	struct fake_sess *e;

	if (called(f, OP_GET))
		return SGW_STORE_UNAVAILABLE;
	if ((e = sess_find(f, hash)) == NULL)
		return SGW_STORE_NOTFOUND;
	*out = e->rec;
	return SGW_STORE_OK;
}

static int
f_get_many(struct sgw_store *st, size_t n,
    const unsigned char (*hash)[SGW_HASH_LEN], struct sgw_record *out, int *rc)
{
	struct fake_store *f = (struct fake_store *)st;

	if (called(f, OP_GET_MANY))
		return SGW_STORE_UNAVAILABLE;
	for (size_t i = 0; i < n; i++) {
		struct fake_sess *e = sess_find(f, hash[i]);

		rc[i] = e != NULL ? SGW_STORE_OK : SGW_STORE_NOTFOUND;
		if (e != NULL)
			out[i] = e->rec;
	}
	return SGW_STORE_OK;
}

static int
f_refresh(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN],
    int64_t seen, int64_t deadline, int64_t now)
{
	struct fake_store *f = (struct fake_store *)st;
	struct fake_sess *e;

	(void)now;
	if (called(f, OP_REFRESH))
		return SGW_STORE_UNAVAILABLE;
	if ((e = sess_find(f, hash)) == NULL)
		return SGW_STORE_NOTFOUND;
	e->rec.seen_ms = seen;
	e->rec.deadline_ms = deadline;
	return SGW_STORE_OK;
}

static int
f_del(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN])
{
	struct fake_store *f = (struct fake_store *)st;
	struct fake_sess *e;

	if (called(f, OP_DEL))
		return SGW_STORE_UNAVAILABLE;
	index_drop(f, hash);
	if ((e = sess_find(f, hash)) == NULL)
		return SGW_STORE_NOTFOUND;
	sess_clear(e);
	return SGW_STORE_OK;
}

static int
index_cmp(const void *a, const void *b)
{
	const struct fake_index *x = *(const struct fake_index *const *)a;
	const struct fake_index *y = *(const struct fake_index *const *)b;

	if (x->created_ms != y->created_ms)
		return x->created_ms < y->created_ms ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int
f_user_sessions(struct sgw_store *st, const char *user,
    struct sgw_stored **outp, size_t *np)
{
	struct fake_store *f = (struct fake_store *)st;
	struct fake_index *mine[FAKE_MAX_INDEX];
	struct sgw_stored *v;
	size_t m = 0, n = 0;

	*outp = NULL;
	*np = 0;
	if (called(f, OP_USER_SESSIONS))
		return SGW_STORE_UNAVAILABLE;
	for (size_t i = 0; i < FAKE_MAX_INDEX; i++)
		if (f->index[i].used && strcmp(f->index[i].user, user) == 0)
			mine[m++] = &f->index[i];
	if (m == 0)
		return SGW_STORE_OK;
	qsort(mine, m, sizeof(mine[0]), index_cmp);
	if ((v = calloc(m, sizeof(*v))) == NULL)
		return sgw_store_fail(
		    st, SGW_STORE_UNAVAILABLE, "fake: out of memory");
	for (size_t i = 0; i < m; i++) {
		struct fake_sess *e = sess_find(f, mine[i]->hash);

		if (e == NULL) {
			/* The session went by itself: its entry goes now. */
			memset(mine[i], 0, sizeof(*mine[i]));
			continue;
		}
		memcpy(v[n].hash, e->hash, SGW_HASH_LEN);
		v[n].rec = e->rec;
		n++;
	}
	if (n == 0) {
		free(v);
		v = NULL;
	}
	*outp = v;
	*np = n;
	return SGW_STORE_OK;
}

static struct fake_data *
data_find(struct fake_sess *e, const char *key)
{
	for (size_t i = 0; i < SGW_DATA_MAX_KEYS; i++)
		if (e->data[i].used && strcmp(e->data[i].key, key) == 0)
			return &e->data[i];
	return NULL;
}

static int
f_data_get(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN],
    const char *key, char **val, size_t *len)
{
	struct fake_store *f = (struct fake_store *)st;
	struct fake_sess *e;
	struct fake_data *d;

	*val = NULL;
	*len = 0;
	if (called(f, OP_DATA_GET))
		return SGW_STORE_UNAVAILABLE;
	if ((e = sess_find(f, hash)) == NULL || (d = data_find(e, key)) == NULL)
		return SGW_STORE_NOTFOUND;
	if ((*val = malloc(d->len + 1)) == NULL)
		return sgw_store_fail(
		    st, SGW_STORE_UNAVAILABLE, "fake: out of memory");
	memcpy(*val, d->val, d->len + 1);
	*len = d->len;
	return SGW_STORE_OK;
}

static int
f_data_put(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN],
    const char *key, const void *val, size_t len, size_t max_keys)
{
	struct fake_store *f = (struct fake_store *)st;
	struct fake_sess *e;
	struct fake_data *d;
	char *copy;

	if (called(f, OP_DATA_PUT))
		return SGW_STORE_UNAVAILABLE;
	if ((e = sess_find(f, hash)) == NULL)
		return SGW_STORE_NOTFOUND;
	if (strlen(key) > SGW_DATA_KEY_MAXLEN)
		return SGW_STORE_NOTFOUND;
	if ((d = data_find(e, key)) == NULL) {
		size_t held = 0;

		for (size_t i = 0; i < SGW_DATA_MAX_KEYS; i++)
			held += e->data[i].used != 0;
		if (held >= max_keys || held >= SGW_DATA_MAX_KEYS)
			return SGW_STORE_FULL;
		for (size_t i = 0; i < SGW_DATA_MAX_KEYS && d == NULL; i++)
			if (!e->data[i].used)
				d = &e->data[i];
	}
	if ((copy = malloc(len + 1)) == NULL)
		return sgw_store_fail(
		    st, SGW_STORE_UNAVAILABLE, "fake: out of memory");
	if (len > 0)
		memcpy(copy, val, len);
	copy[len] = '\0';
	free(d->val);
	d->used = 1;
	snprintf(d->key, sizeof(d->key), "%s", key);
	d->val = copy;
	d->len = len;
	return SGW_STORE_OK;
}

static int
f_data_del(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN],
    const char *key)
{
	struct fake_store *f = (struct fake_store *)st;
	struct fake_sess *e;
	struct fake_data *d;

	if (called(f, OP_DATA_DEL))
		return SGW_STORE_UNAVAILABLE;
	if ((e = sess_find(f, hash)) == NULL || (d = data_find(e, key)) == NULL)
		return SGW_STORE_NOTFOUND;
	free(d->val);
	memset(d, 0, sizeof(*d));
	return SGW_STORE_OK;
}

/* The live counter called key at now, or NULL; a dead one is freed on
 * the way. */
static struct fake_counter *
counter_find(struct fake_store *f, const char *key, int64_t now)
{
	for (size_t i = 0; i < FAKE_MAX_COUNTERS; i++) {
		struct fake_counter *c = &f->counters[i];

		if (!c->used || strcmp(c->key, key) != 0)
			continue;
		if (now >= c->until_ms) {
			memset(c, 0, sizeof(*c));
			return NULL;
		}
		return c;
	}
	return NULL;
}

static struct fake_counter *
counter_new(struct fake_store *f, const char *key)
{
	for (size_t i = 0; i < FAKE_MAX_COUNTERS; i++) {
		struct fake_counter *c = &f->counters[i];

		if (!c->used) {
			c->used = 1;
			snprintf(c->key, sizeof(c->key), "%s", key);
			return c;
		}
	}
	return NULL;
}

static int
f_counter_add(struct sgw_store *st, const char *key, int64_t delta,
    int64_t ttl_ms, int64_t now, int64_t *value)
{
	struct fake_store *f = (struct fake_store *)st;
	struct fake_counter *c;

	*value = 0;
	if (called(f, OP_COUNTER_ADD))
		return SGW_STORE_UNAVAILABLE;
	if ((c = counter_find(f, key, now)) == NULL) {
		if ((c = counter_new(f, key)) == NULL)
			return sgw_store_fail(
			    st, SGW_STORE_NOSPACE, "fake: counters full");
		c->value = 0;
		c->until_ms = now + ttl_ms;
	}
	c->value += delta;
	*value = c->value;
	return SGW_STORE_OK;
}

static int
f_counter_get(struct sgw_store *st, const char *key, int64_t now,
    int64_t *value, int64_t *ttl_ms)
{
	struct fake_store *f = (struct fake_store *)st;
	struct fake_counter *c;

	*value = *ttl_ms = 0;
	if (called(f, OP_COUNTER_GET))
		return SGW_STORE_UNAVAILABLE;
	if ((c = counter_find(f, key, now)) != NULL) {
		*value = c->value;
		*ttl_ms = c->until_ms - now;
	}
	return SGW_STORE_OK;
}

static int
f_counter_set(struct sgw_store *st, const char *key, int64_t value,
    int64_t ttl_ms, int64_t now)
{
	struct fake_store *f = (struct fake_store *)st;
	struct fake_counter *c;

	if (called(f, OP_COUNTER_SET))
		return SGW_STORE_UNAVAILABLE;
	if ((c = counter_find(f, key, now)) == NULL &&
	    (c = counter_new(f, key)) == NULL)
		return sgw_store_fail(
		    st, SGW_STORE_NOSPACE, "fake: counters full");
	c->value = value;
	c->until_ms = now + ttl_ms;
	return SGW_STORE_OK;
}

static int
f_counter_del(struct sgw_store *st, const char *key)
{
	struct fake_store *f = (struct fake_store *)st;

	if (called(f, OP_COUNTER_DEL))
		return SGW_STORE_UNAVAILABLE;
	for (size_t i = 0; i < FAKE_MAX_COUNTERS; i++)
		if (f->counters[i].used && strcmp(f->counters[i].key, key) == 0)
			memset(&f->counters[i], 0, sizeof(f->counters[i]));
	return SGW_STORE_OK;
}

static int
f_ping(struct sgw_store *st)
{
	struct fake_store *f = (struct fake_store *)st;

	if (called(f, OP_PING))
		return SGW_STORE_UNAVAILABLE;
	if (f->ping_down)
		return sgw_store_fail(
		    st, SGW_STORE_UNAVAILABLE, "fake: no pong");
	return SGW_STORE_OK;
}

static int
f_active(struct sgw_store *st, int64_t now, uint64_t *n)
{
	struct fake_store *f = (struct fake_store *)st;

	*n = 0;
	if (called(f, OP_ACTIVE))
		return SGW_STORE_UNAVAILABLE;
	for (size_t i = 0; i < FAKE_MAX_SESSIONS; i++)
		*n += f->sess[i].used && f->sess[i].rec.deadline_ms > now;
	return SGW_STORE_OK;
}

/* Something sweep may remove: a session or a counter, with its end. */
struct due {
	int64_t at;
	struct fake_sess *sess;
	struct fake_counter *counter;
};

static int
due_cmp(const void *a, const void *b)
{
	const struct due *x = a, *y = b;

	return x->at < y->at ? -1 : x->at > y->at;
}

static int
f_sweep(
    struct sgw_store *st, int64_t now, size_t max, size_t *sessions, int *more)
{
	struct fake_store *f = (struct fake_store *)st;
	struct due due[FAKE_MAX_SESSIONS + FAKE_MAX_COUNTERS];
	size_t n = 0;

	*sessions = 0;
	*more = 0;
	if (called(f, OP_SWEEP))
		return SGW_STORE_UNAVAILABLE;
	for (size_t i = 0; i < FAKE_MAX_SESSIONS; i++)
		if (f->sess[i].used && f->sess[i].rec.deadline_ms <= now)
			due[n++] = (struct due){
			    f->sess[i].rec.deadline_ms, &f->sess[i], NULL};
	for (size_t i = 0; i < FAKE_MAX_COUNTERS; i++)
		if (f->counters[i].used && f->counters[i].until_ms <= now)
			due[n++] = (struct due){
			    f->counters[i].until_ms, NULL, &f->counters[i]};
	qsort(due, n, sizeof(due[0]), due_cmp);
	for (size_t i = 0; i < n && i < max; i++) {
		if (due[i].sess != NULL) {
			index_drop(f, due[i].sess->hash);
			sess_clear(due[i].sess);
			(*sessions)++;
		} else {
			memset(due[i].counter, 0, sizeof(*due[i].counter));
		}
	}
	*more = n > max;
	return SGW_STORE_OK;
}

static void
f_close(struct sgw_store *st)
{
	struct fake_store *f = (struct fake_store *)st;

	if (f == NULL)
		return;
	for (size_t i = 0; i < FAKE_MAX_SESSIONS; i++)
		sess_clear(&f->sess[i]);
	free(f);
}

static const struct sgw_store_ops fake_ops = {
    .put = f_put,
    .get = f_get,
    .get_many = f_get_many,
    .refresh = f_refresh,
    .del = f_del,
    .user_sessions = f_user_sessions,
    .data_get = f_data_get,
    .data_put = f_data_put,
    .data_del = f_data_del,
    .counter_add = f_counter_add,
    .counter_get = f_counter_get,
    .counter_set = f_counter_set,
    .counter_del = f_counter_del,
    .ping = f_ping,
    .active = f_active,
    .sweep = f_sweep,
    .close = f_close,
};

struct fake_store *
fake_store_new(void)
{
	struct fake_store *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->base.ops = &fake_ops;
	f->base.backend = "fake";
	f->capacity = FAKE_MAX_SESSIONS;
	return f;
}

int
fake_store_total_calls(const struct fake_store *f)
{
	int n = 0;

	for (int i = 0; i < OP_N; i++)
		n += f->calls[i];
	return n;
}

void
fake_store_reset_calls(struct fake_store *f)
{
	memset(f->calls, 0, sizeof(f->calls));
}

struct sgw_record *
fake_store_find(struct fake_store *f, const unsigned char hash[SGW_HASH_LEN])
{
	struct fake_sess *e = sess_find(f, hash);

	return e != NULL ? &e->rec : NULL;
}

void
fake_store_insert(struct fake_store *f, const unsigned char hash[SGW_HASH_LEN],
    const struct sgw_record *rec)
{
	if (store_rec(f, hash, rec) == -1)
		fail_msg("fake store full");
}

void
fake_store_forget(struct fake_store *f, const unsigned char hash[SGW_HASH_LEN])
{
	struct fake_sess *e = sess_find(f, hash);

	if (e != NULL)
		sess_clear(e);
}

size_t
fake_store_index_len(const struct fake_store *f, const char *user)
{
	size_t n = 0;

	for (size_t i = 0; i < FAKE_MAX_INDEX; i++)
		n += f->index[i].used && strcmp(f->index[i].user, user) == 0;
	return n;
}

int64_t
fake_store_counter(const struct fake_store *f, const char *key, int64_t now)
{
	for (size_t i = 0; i < FAKE_MAX_COUNTERS; i++) {
		const struct fake_counter *c = &f->counters[i];

		if (c->used && strcmp(c->key, key) == 0 && now < c->until_ms)
			return c->value;
	}
	return 0;
}
