/*
 * store contract: what store.h promises, checked once for every backend.
 *
 * One set of cases over struct sgw_store *, run as one cmocka group per
 * backend in `backends` below: the fake of tests/unit/support always;
 * Redis against a private redis-server the group starts on a free
 * loopback port; lmdb in a temporary directory per test; PostgreSQL
 * against a private server (or SGW_TEST_PG_CONNINFO). A backend that is
 * not built (the stand-ins of lib/store_stubs.c) or cannot run here is
 * skipped with the reason, so the suite stays green until it lands and
 * runs for real from then on.
 *
 * Adding a backend is a factory (how to open a fresh, empty store for one
 * test; how to start and stop what the group needs) and one line in the
 * table.
 *
 * Time: the policy and the counters take "now" from the caller. Backends
 * that count lifetimes themselves (Redis TTLs) see real time, so the cases
 * use short lifetimes (300 ms) and sleep; for the others the case moves
 * its own clock and nothing sleeps.
 *
 * Besides the primitives, the session policy (session.c) and regulation
 * (ratelimit.c) run on each backend, since SPEC section 7 says that
 * everything of sections 5 and 6 holds on every one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf.h"
#include "fake_store.h"
#include "ratelimit.h"
#include "pg_server.h"
#include "redis_server.h"
#include "session.h"
#include "store.h"
#include "timefmt.h"
#include "token.h"
#include "users.h"

#define SHORT 300 /* ms: a lifetime a case waits out */
#define PAST (SHORT + 100)
/* ms: a lifetime that must still run when the case looks right after
 * making it, even on a loaded host, and is then waited out. */
#define ROOMY 1000
#define PAST_ROOMY (ROOMY + 100)

struct fx;

/* How a backend is set up for the suite. */
struct backend {
	const char *name;
	int real_time; /* counts lifetimes itself: sleep, do not move now */
	int keeps_id;  /* gives a record's public id back (else "") */
	/* Once per group: start what the backend needs. 0, or -1 with the
	 * reason in why (the group's cases are then skipped). May be NULL. */
	int (*start)(char *why, size_t whylen);
	void (*stop)(void);
	/* A fresh, empty store for one case, or NULL with the reason. */
	struct sgw_store *(*open)(struct fx *f, char *why, size_t whylen);
	/* After the store is closed (remove files). May be NULL. */
	void (*done)(struct fx *f);
	/* Looks behind the interface, for what it cannot show; NULL when the
	 * backend has no way. lose: the store forgets a session by itself
	 * (a TTL), leaving its index entry. index_len: entries in user's
	 * index, live or not. */
	void (*lose)(struct fx *f, const unsigned char hash[SGW_HASH_LEN]);
	long long (*index_len)(struct fx *f, const char *user);
};

/* Per case. */
struct fx {
	const struct backend *b;
	struct sgw_store *st;
	struct sgw_conf conf; /* for backends opened from a configuration */
	int64_t vnow;         /* the case's clock (not real_time) */
	unsigned n;           /* this case's number in the run */
	char dir[64];         /* lmdb: the environment's directory */
	char prefix[40];      /* redis key_prefix, postgres table_prefix */
	redisContext *raw;    /* redis: a plain connection for the hooks */
};

/* The run. */
static struct {
	const struct backend *b; /* the group being run */
	char skip[600]; /* why its cases cannot run, "" when they can */
	unsigned next;
	char *hash; /* a password hash for the users table */
	struct redis_server redis;
	struct {
		struct pg_server srv; /* a private server, when srv.dir[0] */
		char conninfo[256];
	} pg;
} g;

/* ---- the clock ---- */

static int64_t
now(struct fx *f)
{
	return f->b->real_time ? sgw_now_ms() : f->vnow;
}

static void
advance(struct fx *f, int64_t ms)
{
	if (f->b->real_time)
		test_msleep(ms);
	else
		f->vnow += ms;
}

/* ---- factories ---- */

/* Opens the store a configuration text names, keeping the conf in f. */
static struct sgw_store *
open_conf(struct fx *f, const char *text, char *why, size_t whylen)
{
	struct sgw_errs errs = {0};
	struct sgw_store *st = NULL;

	if (sgw_conf_parse(
	        "contract.conf", text, strlen(text), &f->conf, &errs) != 0) {
		snprintf(why, whylen, "configuration: %s",
		    errs.n > 0 ? errs.msg[0] : "does not parse");
		goto done;
	}
	if ((st = sgw_store_open(&f->conf, SGW_STORE_SERVE, &errs)) == NULL)
		snprintf(why, whylen, "%s",
		    errs.n > 0 ? errs.msg[0] : "cannot open");
done:
	sgw_errs_clear(&errs);
	return st;
}

/* fake */

static struct sgw_store *
fake_open(struct fx *f, char *why, size_t whylen)
{
	struct fake_store *fk = fake_store_new();

	(void)f;
	if (fk == NULL)
		snprintf(why, whylen, "out of memory");
	return fk != NULL ? &fk->base : NULL;
}

static void
fake_lose(struct fx *f, const unsigned char hash[SGW_HASH_LEN])
{
	fake_store_forget((struct fake_store *)f->st, hash);
}

static long long
fake_index_len(struct fx *f, const char *user)
{
	return (long long)fake_store_index_len(
	    (struct fake_store *)f->st, user);
}

/* redis */

static int
redis_start(char *why, size_t whylen)
{
	return redis_server_start(&g.redis, why, whylen);
}

static void
redis_stop(void)
{
	redis_server_stop(&g.redis);
}

static struct sgw_store *
redis_open(struct fx *f, char *why, size_t whylen)
{
	char text[512];

	snprintf(f->prefix, sizeof(f->prefix), "c%u:", f->n);
	snprintf(text, sizeof(text),
	    "[store]\nbackend = redis\n[redis]\naddress = 127.0.0.1:%d\n"
	    "key_prefix = %s\nconnect_timeout = 500ms\ncommand_timeout = "
	    "500ms\n",
	    g.redis.port, f->prefix);
	if ((f->raw = redis_server_connect(g.redis.port)) == NULL ||
	    f->raw->err != 0) {
		snprintf(why, whylen, "raw connection to redis failed");
		return NULL;
	}
	return open_conf(f, text, why, whylen);
}

static void
redis_done(struct fx *f)
{
	if (f->raw != NULL)
		redisFree(f->raw);
	f->raw = NULL;
}

static long long
redis_int(struct fx *f, const char *fmt, ...)
{
	va_list ap;
	redisReply *r;
	long long v;

	va_start(ap, fmt);
	r = redisvCommand(f->raw, fmt, ap);
	va_end(ap);
	if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
		if (r != NULL)
			freeReplyObject(r);
		fail_msg("raw redis \"%s\": no integer reply", fmt);
	}
	v = r->integer;
	freeReplyObject(r);
	return v;
}

static void
redis_lose(struct fx *f, const unsigned char hash[SGW_HASH_LEN])
{
	char hex[SGW_HASH_HEX];

	/* What a TTL does: the session key goes, the index member stays. */
	sgw_token_hash_hex(hash, hex);
	assert_int_equal(redis_int(f, "DEL %ss:%s", f->prefix, hex), 1);
}

static long long
redis_index_len(struct fx *f, const char *user)
{
	return redis_int(f, "ZCARD %su:%s", f->prefix, user);
}

/* lmdb */

static struct sgw_store *
lmdb_open(struct fx *f, char *why, size_t whylen)
{
	char text[512];

	snprintf(f->dir, sizeof(f->dir), "/tmp/sgw-contract-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		snprintf(why, whylen, "mkdtemp: %s", strerror(errno));
		f->dir[0] = '\0';
		return NULL;
	}
	snprintf(text, sizeof(text),
	    "[store]\nbackend = lmdb\n[lmdb]\npath = %s\nmap_size = 16m\n",
	    f->dir);
	return open_conf(f, text, why, whylen);
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
lmdb_done(struct fx *f)
{
	if (f->dir[0] != '\0')
		nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	f->dir[0] = '\0';
}

/* Whether a backend opens at all here: a stand-in does not. */
static int
probe(struct sgw_store *(*open)(struct fx *, char *, size_t),
    void (*done)(struct fx *), char *why, size_t whylen)
{
	struct fx f = {.b = g.b, .n = 0};
	struct sgw_store *st = open(&f, why, whylen);

	sgw_store_close(st);
	sgw_conf_free(&f.conf);
	if (done != NULL)
		done(&f);
	return st != NULL ? 0 : -1;
}

static int
lmdb_start(char *why, size_t whylen)
{
	char err[512] = "";

	if (probe(lmdb_open, lmdb_done, err, sizeof(err)) == 0)
		return 0;
	snprintf(why, whylen, "not built, or cannot open here (%s)", err);
	return -1;
}

/* postgres: a private server as test_store_pg makes one (initdb as the
 * postgres user, pg_ctl on a free loopback port), unless
 * SGW_TEST_PG_CONNINFO names a scratch database to use instead (its
 * tables, one set per case, are then left behind). */

static struct sgw_store *
pg_open(struct fx *f, char *why, size_t whylen)
{
	char text[768];

	snprintf(f->prefix, sizeof(f->prefix), "c%u_%u_",
	    (unsigned)getpid() % 100000, f->n);
	snprintf(text, sizeof(text),
	    "[store]\nbackend = postgres\n[postgres]\nconninfo = %s\n"
	    "table_prefix = %s\ncreate_tables = on\ncommand_timeout = 2s\n",
	    g.pg.conninfo[0] != '\0' ? g.pg.conninfo : "host=127.0.0.1 port=1",
	    f->prefix);
	return open_conf(f, text, why, whylen);
}

static void
pg_stop(void)
{
	pg_server_remove(&g.pg.srv);
}

static int
pg_start(char *why, size_t whylen)
{
	const char *env = getenv("SGW_TEST_PG_CONNINFO");
	struct fx f = {.n = 0};
	struct sgw_errs errs = {0};

	/* Not built (a stand-in without its [postgres] keys): say so before
	 * starting anything. */
	static const char probe_text[] =
	    "[postgres]\nconninfo = host=127.0.0.1 port=1 dbname=x\n";

	if (sgw_conf_parse("contract.conf", probe_text, strlen(probe_text),
	        &f.conf, &errs) != 0) {
		snprintf(why, whylen, "backend not built (configuration: %s)",
		    errs.n > 0 ? errs.msg[0] : "?");
		sgw_errs_clear(&errs);
		return -1;
	}
	sgw_conf_free(&f.conf);
	if (env != NULL && env[0] != '\0') {
		snprintf(g.pg.conninfo, sizeof(g.pg.conninfo), "%s", env);
		return 0;
	}
	if (pg_server_available(why, whylen) == -1) {
		size_t n = strlen(why);

		snprintf(why + n, whylen - n, "; set SGW_TEST_PG_CONNINFO");
		return -1;
	}
	alarm(120);
	if (pg_server_start(&g.pg.srv, why, whylen) == -1) {
		alarm(0);
		pg_stop();
		return -1;
	}
	alarm(0);
	pg_server_conninfo(
	    &g.pg.srv, "sessiongw", g.pg.conninfo, sizeof(g.pg.conninfo));
	return 0;
}

/* clang-format off */
static const struct backend backends[] = {
	{ "fake",     0, 1, NULL,        NULL,       fake_open,  NULL,       fake_lose,  fake_index_len },
	{ "redis",    1, 1, redis_start, redis_stop, redis_open, redis_done, redis_lose, redis_index_len },
	{ "lmdb",     0, 1, lmdb_start,  NULL,       lmdb_open,  lmdb_done,  NULL,       NULL },
	{ "postgres", 0, 0, pg_start,    pg_stop,    pg_open,    NULL,       NULL,       NULL },
};
/* clang-format on */

/* ---- fixture ---- */

static int
group_setup(void **state)
{
	(void)state;
	g.skip[0] = '\0';
	if (g.b->start != NULL && g.b->start(g.skip, sizeof(g.skip)) == -1 &&
	    g.skip[0] == '\0')
		snprintf(g.skip, sizeof(g.skip), "cannot start");
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	if (g.skip[0] == '\0' && g.b->stop != NULL)
		g.b->stop();
	return 0;
}

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char why[600] = "";

	if (f == NULL)
		return -1;
	*state = f;
	f->b = g.b;
	f->n = ++g.next;
	f->vnow = sgw_now_ms();
	if (g.skip[0] != '\0')
		return 0;
	alarm(60);
	if ((f->st = g.b->open(f, why, sizeof(why))) == NULL) {
		fprintf(stderr, "%s: open: %s\n", g.b->name, why);
		return -1;
	}
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	if (f == NULL)
		return 0;
	sgw_store_close(f->st);
	sgw_conf_free(&f->conf);
	if (f->b->done != NULL)
		f->b->done(f);
	free(f);
	alarm(0);
	return 0;
}

/* Every case starts here: the fixture, or a skip with the reason. */
static struct fx *
need(void **state)
{
	if (g.skip[0] != '\0') {
		print_message("skipped: %s: %s\n", g.b->name, g.skip);
		skip();
	}
	return *state;
}

/* ---- helpers ---- */

static void
new_hash(unsigned char hash[SGW_HASH_LEN])
{
	/* Random: a store never sees anything but uniformly random hashes. */
	static struct sgw_keys keys;
	static int have;
	char tok[SGW_TOKEN_LEN + 1];

	if (!have) {
		static const char line[] = "000102030405060708090a0b0c0d0e0f101"
		                           "112131415161718191a1b1c1d1e1f\n";
		struct sgw_errs errs = {0};

		assert_int_equal(
		    sgw_keys_parse("k", line, strlen(line), &keys, &errs), 0);
		have = 1;
	}
	assert_int_equal(sgw_token_new(&keys, tok, hash), 0);
}

/* A record of user made at t, live for idle (deadline) and life
 * (absolute end). */
static struct sgw_record
rec_at(const char *user, int64_t t, int64_t idle, int64_t life)
{
	struct sgw_record r;

	memset(&r, 0, sizeof(r));
	snprintf(r.user, sizeof(r.user), "%s", user);
	snprintf(r.client, sizeof(r.client), "192.0.2.7");
	for (int i = 0; i < SGW_AGENT_LEN; i++)
		r.agent[i] = (unsigned char)(0xa0 + i);
	r.created_ms = r.seen_ms = t;
	r.expires_ms = t + life;
	r.deadline_ms = t + (idle < life ? idle : life);
	return r;
}

static void
put(struct fx *f, const unsigned char hash[SGW_HASH_LEN],
    const struct sgw_record *r)
{
	if (f->st->ops->put(f->st, hash, r, now(f)) != SGW_STORE_OK)
		fail_msg("put: %s", f->st->errstr);
}

static void
same_record(const struct sgw_record *got, const struct sgw_record *want)
{
	assert_string_equal(got->user, want->user);
	assert_string_equal(got->client, want->client);
	assert_memory_equal(got->agent, want->agent, SGW_AGENT_LEN);
	assert_int_equal(got->created_ms, want->created_ms);
	assert_int_equal(got->seen_ms, want->seen_ms);
	assert_int_equal(got->expires_ms, want->expires_ms);
	assert_int_equal(got->deadline_ms, want->deadline_ms);
	assert_int_equal(got->remember_me, want->remember_me);
	/* The public id as put (which may be ""), or "" from a backend
	 * that keeps none: the policy computes it then. */
	assert_string_equal(got->id, g.b->keeps_id ? want->id : "");
}

static int
get(struct fx *f, const unsigned char hash[SGW_HASH_LEN],
    struct sgw_record *out)
{
	struct sgw_record r;

	return f->st->ops->get(f->st, hash, out != NULL ? out : &r);
}

/* ---- sessions ---- */

static void
put_get_keeps_every_field(void **state)
{
	struct fx *f = need(state);
	unsigned char h[3][SGW_HASH_LEN], unknown[SGW_HASH_LEN];
	struct sgw_record r[3], got;
	int64_t t = now(f);

	/* The longest user name, a full client field, agent bytes of every
	 * kind (NUL and 0xff among them), four distinct times. */
	r[0] = rec_at("", t, 60000, 120000);
	memset(r[0].user, 'u', SGW_USER_MAXLEN);
	r[0].user[SGW_USER_MAXLEN] = '\0';
	r[0].user[0] = 'A';
	r[0].user[SGW_USER_MAXLEN - 1] = 'Z';
	memset(r[0].client, '9', SGW_CLIENT_MAXLEN);
	r[0].client[SGW_CLIENT_MAXLEN] = '\0';
	for (int i = 0; i < SGW_AGENT_LEN; i++)
		r[0].agent[i] = (unsigned char)(i * 17);
	r[0].agent[3] = 0x00;
	r[0].agent[9] = 0xff;
	r[0].seen_ms = t + 5;
	r[0].deadline_ms = t + 50000;
	r[0].remember_me = 1;
	/* Nothing special: empty client, a zero agent (no User-Agent),
	 * remember_me off. */
	r[1] = rec_at("bob", t - 10, 60000, 120000);
	r[1].client[0] = '\0';
	memset(r[1].agent, 0, SGW_AGENT_LEN);
	/* A name with spaces, UTF-8 and characters a key syntax might
	 * treat specially. */
	r[2] = rec_at("Jos\xc3\xa9 *?[x]:{y}\\ 100%", t, 60000, 120000);
	r[2].remember_me = 1;
	for (int i = 0; i < 3; i++) {
		new_hash(h[i]);
		/* The third has no public id (a caller that made none). */
		if (i < 2)
			sgw_token_public_id(h[i], r[i].id);
		put(f, h[i], &r[i]);
	}
	for (int i = 0; i < 3; i++) {
		memset(&got, 0x5a, sizeof(got));
		assert_int_equal(get(f, h[i], &got), SGW_STORE_OK);
		same_record(&got, &r[i]);
	}
	new_hash(unknown);
	assert_int_equal(get(f, unknown, NULL), SGW_STORE_NOTFOUND);
}

static void
refresh_moves_times_and_never_creates(void **state)
{
	struct fx *f = need(state);
	unsigned char h[SGW_HASH_LEN], gone[SGW_HASH_LEN];
	struct sgw_record r, got, want;
	struct sgw_stored *v = NULL;
	size_t n = 9;
	int64_t t = now(f);

	new_hash(h);
	r = rec_at("alice", t, 60000, 120000);
	put(f, h, &r);
	assert_int_equal(
	    f->st->ops->refresh(f->st, h, t + 1000, t + 61000, now(f)),
	    SGW_STORE_OK);
	want = r;
	want.seen_ms = t + 1000;
	want.deadline_ms = t + 61000;
	assert_int_equal(get(f, h, &got), SGW_STORE_OK);
	same_record(&got, &want);

	/* A refresh never brings a session back, nor makes one. */
	new_hash(gone);
	assert_int_equal(f->st->ops->refresh(f->st, gone, t, t + 60000, now(f)),
	    SGW_STORE_NOTFOUND);
	assert_int_equal(get(f, gone, NULL), SGW_STORE_NOTFOUND);
	assert_int_equal(f->st->ops->del(f->st, h), SGW_STORE_OK);
	assert_int_equal(f->st->ops->refresh(f->st, h, t, t + 60000, now(f)),
	    SGW_STORE_NOTFOUND);
	assert_int_equal(get(f, h, NULL), SGW_STORE_NOTFOUND);
	assert_int_equal(
	    f->st->ops->user_sessions(f->st, "alice", &v, &n), SGW_STORE_OK);
	assert_int_equal(n, 0);
	assert_null(v);
}

static void
del_removes_session_data_and_index_entry(void **state)
{
	struct fx *f = need(state);
	const struct sgw_store_ops *o;
	unsigned char h[SGW_HASH_LEN], other[SGW_HASH_LEN];
	struct sgw_record r;
	struct sgw_stored *v = NULL;
	char *val = NULL;
	size_t n = 0, len = 0;
	int64_t t = now(f);

	o = f->st->ops;
	new_hash(h);
	new_hash(other);
	r = rec_at("alice", t, 60000, 120000);
	put(f, h, &r);
	put(f, other, &r);
	assert_int_equal(o->data_put(f->st, h, "k", "v", 1, SGW_DATA_MAX_KEYS),
	    SGW_STORE_OK);
	assert_int_equal(o->del(f->st, h), SGW_STORE_OK);
	assert_int_equal(get(f, h, NULL), SGW_STORE_NOTFOUND);
	assert_int_equal(o->del(f->st, h), SGW_STORE_NOTFOUND);
	assert_int_equal(
	    o->data_get(f->st, h, "k", &val, &len), SGW_STORE_NOTFOUND);
	assert_null(val);
	assert_int_equal(
	    o->user_sessions(f->st, "alice", &v, &n), SGW_STORE_OK);
	assert_int_equal(n, 1);
	assert_memory_equal(v[0].hash, other, SGW_HASH_LEN);
	free(v);
	if (f->b->index_len != NULL)
		assert_int_equal(f->b->index_len(f, "alice"), 1);
	/* The other session is untouched. */
	assert_int_equal(get(f, other, NULL), SGW_STORE_OK);

	/* Data does not come back with a new session under the same hash. */
	put(f, h, &r);
	assert_int_equal(
	    o->data_get(f->st, h, "k", &val, &len), SGW_STORE_NOTFOUND);
}

static void
user_sessions_oldest_first_and_pruned(void **state)
{
	struct fx *f = need(state);
	unsigned char h[4][SGW_HASH_LEN];
	struct sgw_record r[4];
	struct sgw_stored *v = NULL;
	static const int order[] = {2, 0, 3, 1}; /* not the order of age */
	size_t n = 0;
	int64_t t = now(f);

	for (int i = 0; i < 4; i++) {
		new_hash(h[i]);
		r[i] = rec_at("carol", t - 1000 + 10 * i, 60000, 120000);
		r[i].remember_me = i == 1;
		snprintf(r[i].client, sizeof(r[i].client), "10.0.0.%d", i + 1);
	}
	for (int i = 0; i < 4; i++)
		put(f, h[order[i]], &r[order[i]]);
	{
		unsigned char d[SGW_HASH_LEN];
		struct sgw_record rd = rec_at("dave", t, 60000, 120000);

		new_hash(d);
		put(f, d, &rd);
	}
	assert_int_equal(
	    f->st->ops->user_sessions(f->st, "carol", &v, &n), SGW_STORE_OK);
	assert_int_equal(n, 4);
	for (int i = 0; i < 4; i++) {
		assert_memory_equal(v[i].hash, h[i], SGW_HASH_LEN);
		same_record(&v[i].rec, &r[i]);
	}
	free(v);
	v = NULL;

	/* An entry whose session went by itself is dropped on the way. */
	if (f->b->lose != NULL) {
		f->b->lose(f, h[1]);
		assert_int_equal(
		    f->st->ops->user_sessions(f->st, "carol", &v, &n),
		    SGW_STORE_OK);
		assert_int_equal(n, 3);
		assert_memory_equal(v[0].hash, h[0], SGW_HASH_LEN);
		assert_memory_equal(v[1].hash, h[2], SGW_HASH_LEN);
		assert_memory_equal(v[2].hash, h[3], SGW_HASH_LEN);
		free(v);
		v = NULL;
		if (f->b->index_len != NULL)
			assert_int_equal(f->b->index_len(f, "carol"), 3);
	}

	n = 7;
	assert_int_equal(
	    f->st->ops->user_sessions(f->st, "nobody", &v, &n), SGW_STORE_OK);
	assert_int_equal(n, 0);
	assert_null(v);
}

/* ---- data ---- */

static void
data_round_trip_and_limits(void **state)
{
	struct fx *f = need(state);
	const struct sgw_store_ops *o;
	unsigned char h[SGW_HASH_LEN], gone[SGW_HASH_LEN];
	static const char bin[] = "a\0b\0\0c";
	static char big[SGW_DATA_VALUE_MAX];
	char *val = NULL, key[SGW_DATA_KEY_MAXLEN + 1];
	struct sgw_record r;
	size_t len = 0;

	o = f->st->ops;
	new_hash(h);
	r = rec_at("alice", now(f), 60000, 120000);
	put(f, h, &r);
	assert_int_equal(
	    o->data_get(f->st, h, "k", &val, &len), SGW_STORE_NOTFOUND);
	assert_null(val);
	assert_int_equal(o->data_put(f->st, h, "k", "v1", 2, SGW_DATA_MAX_KEYS),
	    SGW_STORE_OK);
	assert_int_equal(o->data_get(f->st, h, "k", &val, &len), SGW_STORE_OK);
	assert_int_equal(len, 2);
	assert_memory_equal(val, "v1", 3); /* NUL-terminated */
	free(val);
	/* Replacing a key, with a shorter value. */
	assert_int_equal(o->data_put(f->st, h, "k", "w", 1, SGW_DATA_MAX_KEYS),
	    SGW_STORE_OK);
	assert_int_equal(o->data_get(f->st, h, "k", &val, &len), SGW_STORE_OK);
	assert_int_equal(len, 1);
	assert_memory_equal(val, "w", 2);
	free(val);

	/* Binary, with NULs; 4 KiB of every byte value; empty. */
	assert_int_equal(
	    o->data_put(f->st, h, "bin", bin, sizeof(bin), SGW_DATA_MAX_KEYS),
	    SGW_STORE_OK);
	assert_int_equal(
	    o->data_get(f->st, h, "bin", &val, &len), SGW_STORE_OK);
	assert_int_equal(len, sizeof(bin));
	assert_memory_equal(val, bin, sizeof(bin));
	free(val);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 % 256);
	assert_int_equal(
	    o->data_put(f->st, h, "big", big, sizeof(big), SGW_DATA_MAX_KEYS),
	    SGW_STORE_OK);
	assert_int_equal(
	    o->data_get(f->st, h, "big", &val, &len), SGW_STORE_OK);
	assert_int_equal(len, sizeof(big));
	assert_memory_equal(val, big, sizeof(big));
	assert_int_equal(val[len], '\0');
	free(val);
	assert_int_equal(
	    o->data_put(f->st, h, "empty", "", 0, SGW_DATA_MAX_KEYS),
	    SGW_STORE_OK);
	assert_int_equal(
	    o->data_get(f->st, h, "empty", &val, &len), SGW_STORE_OK);
	assert_int_equal(len, 0);
	assert_non_null(val);
	assert_int_equal(val[0], '\0');
	free(val);

	assert_int_equal(o->data_del(f->st, h, "k"), SGW_STORE_OK);
	assert_int_equal(
	    o->data_get(f->st, h, "k", &val, &len), SGW_STORE_NOTFOUND);
	assert_int_equal(o->data_del(f->st, h, "k"), SGW_STORE_NOTFOUND);
	for (const char *k = "bin"; k != NULL; k = strcmp(k, "bin") == 0 ? "big"
	         : strcmp(k, "big") == 0 ? "empty"
	                                 : NULL)
		assert_int_equal(o->data_del(f->st, h, k), SGW_STORE_OK);

	/* max_keys keys fit, one more distinct does not, replacing does.
	 * The longest key is a key like another. */
	for (int i = 0; i < SGW_DATA_MAX_KEYS; i++) {
		if (i == 0) {
			memset(key, 'K', SGW_DATA_KEY_MAXLEN);
			key[SGW_DATA_KEY_MAXLEN] = '\0';
		} else {
			snprintf(key, sizeof(key), "k%d", i);
		}
		if (o->data_put(f->st, h, key, "x", 1, SGW_DATA_MAX_KEYS) !=
		    SGW_STORE_OK)
			fail_msg("put %s: %s", key, f->st->errstr);
	}
	assert_int_equal(
	    o->data_put(f->st, h, "one-too-many", "x", 1, SGW_DATA_MAX_KEYS),
	    SGW_STORE_FULL);
	assert_int_equal(o->data_get(f->st, h, "one-too-many", &val, &len),
	    SGW_STORE_NOTFOUND);
	assert_int_equal(
	    o->data_put(f->st, h, "k5", "new", 3, SGW_DATA_MAX_KEYS),
	    SGW_STORE_OK);
	assert_int_equal(o->data_get(f->st, h, "k5", &val, &len), SGW_STORE_OK);
	assert_memory_equal(val, "new", 3);
	free(val);
	/* Room again after a delete. */
	assert_int_equal(o->data_del(f->st, h, "k7"), SGW_STORE_OK);
	assert_int_equal(
	    o->data_put(f->st, h, "one-too-many", "x", 1, SGW_DATA_MAX_KEYS),
	    SGW_STORE_OK);

	/* max_keys is the caller's. */
	new_hash(h);
	put(f, h, &r);
	for (int i = 0; i < 3; i++) {
		snprintf(key, sizeof(key), "s%d", i);
		assert_int_equal(
		    o->data_put(f->st, h, key, "x", 1, 3), SGW_STORE_OK);
	}
	assert_int_equal(
	    o->data_put(f->st, h, "s3", "x", 1, 3), SGW_STORE_FULL);
	assert_int_equal(o->data_put(f->st, h, "s1", "y", 1, 3), SGW_STORE_OK);

	/* A session that is not there has no data and gets none. */
	new_hash(gone);
	assert_int_equal(
	    o->data_put(f->st, gone, "k", "v", 1, SGW_DATA_MAX_KEYS),
	    SGW_STORE_NOTFOUND);
	assert_int_equal(get(f, gone, NULL), SGW_STORE_NOTFOUND);
	assert_int_equal(
	    o->data_get(f->st, gone, "k", &val, &len), SGW_STORE_NOTFOUND);
	assert_int_equal(o->data_del(f->st, gone, "k"), SGW_STORE_NOTFOUND);
}

/* ---- counters ---- */

static void
counters_add_get_set_del(void **state)
{
	struct fx *f = need(state);
	const struct sgw_store_ops *o;
	char longkey[SGW_COUNTER_KEY_MAXLEN + 1];
	int64_t v = -1, ttl = -1;

	o = f->st->ops;
	/* Absent: 0 and 0. */
	assert_int_equal(
	    o->counter_get(f->st, "f:u:alice", now(f), &v, &ttl), SGW_STORE_OK);
	assert_int_equal(v, 0);
	assert_int_equal(ttl, 0);

	/* A new counter starts from 0 and lives ttl from now. */
	assert_int_equal(
	    o->counter_add(f->st, "f:u:alice", 1, 60000, now(f), &v),
	    SGW_STORE_OK);
	assert_int_equal(v, 1);
	assert_int_equal(
	    o->counter_get(f->st, "f:u:alice", now(f), &v, &ttl), SGW_STORE_OK);
	assert_int_equal(v, 1);
	assert_true(ttl > 60000 - 10000 && ttl <= 60000);

	/* An existing one keeps its lifetime, whatever ttl the add gives. */
	advance(f, 100);
	assert_int_equal(
	    o->counter_add(f->st, "f:u:alice", 2, 3600000, now(f), &v),
	    SGW_STORE_OK);
	assert_int_equal(v, 3);
	assert_int_equal(
	    o->counter_add(f->st, "f:u:alice", -1, 3600000, now(f), &v),
	    SGW_STORE_OK);
	assert_int_equal(v, 2);
	assert_int_equal(
	    o->counter_get(f->st, "f:u:alice", now(f), &v, &ttl), SGW_STORE_OK);
	assert_int_equal(v, 2);
	assert_true(ttl > 0 && ttl <= 60000 - 100);

	/* set: that value, for that long, whatever it was. */
	assert_int_equal(o->counter_set(f->st, "f:u:alice", 7, 120000, now(f)),
	    SGW_STORE_OK);
	assert_int_equal(
	    o->counter_get(f->st, "f:u:alice", now(f), &v, &ttl), SGW_STORE_OK);
	assert_int_equal(v, 7);
	assert_true(ttl > 60000 && ttl <= 120000);
	assert_int_equal(
	    o->counter_set(f->st, "l:u:bob", 1, 60000, now(f)), SGW_STORE_OK);
	assert_int_equal(
	    o->counter_get(f->st, "l:u:bob", now(f), &v, &ttl), SGW_STORE_OK);
	assert_int_equal(v, 1);

	/* del: gone, and others stay; deleting what is absent is OK. */
	assert_int_equal(o->counter_del(f->st, "f:u:alice"), SGW_STORE_OK);
	assert_int_equal(
	    o->counter_get(f->st, "f:u:alice", now(f), &v, &ttl), SGW_STORE_OK);
	assert_int_equal(v, 0);
	assert_int_equal(ttl, 0);
	assert_int_equal(o->counter_del(f->st, "f:u:alice"), SGW_STORE_OK);
	assert_int_equal(
	    o->counter_get(f->st, "l:u:bob", now(f), &v, &ttl), SGW_STORE_OK);
	assert_int_equal(v, 1);
	/* After a del, an add starts over with its own lifetime. */
	assert_int_equal(
	    o->counter_add(f->st, "f:u:alice", 5, 60000, now(f), &v),
	    SGW_STORE_OK);
	assert_int_equal(v, 5);

	/* The longest key the policy makes. */
	memset(longkey, 'c', SGW_COUNTER_KEY_MAXLEN);
	longkey[SGW_COUNTER_KEY_MAXLEN] = '\0';
	memcpy(longkey, "f:u:", 4);
	assert_int_equal(
	    o->counter_add(f->st, longkey, 1, 60000, now(f), &v), SGW_STORE_OK);
	assert_int_equal(
	    o->counter_add(f->st, longkey, 1, 60000, now(f), &v), SGW_STORE_OK);
	assert_int_equal(v, 2);
}

static void
counters_expire(void **state)
{
	struct fx *f = need(state);
	const struct sgw_store_ops *o;
	int64_t v = -1, ttl = -1;

	o = f->st->ops;
	assert_int_equal(
	    o->counter_add(f->st, "f:c:10.0.0.1", 1, SHORT, now(f), &v),
	    SGW_STORE_OK);
	assert_int_equal(
	    o->counter_add(f->st, "f:c:10.0.0.1", 1, SHORT, now(f), &v),
	    SGW_STORE_OK);
	assert_int_equal(
	    o->counter_set(f->st, "l:c:10.0.0.1", 1, SHORT, now(f)),
	    SGW_STORE_OK);
	assert_int_equal(
	    o->counter_add(f->st, "f:c:long", 1, 60000, now(f), &v),
	    SGW_STORE_OK);
	advance(f, PAST);
	/* Past their lifetime: absent, whether swept or not. */
	assert_int_equal(
	    o->counter_get(f->st, "f:c:10.0.0.1", now(f), &v, &ttl),
	    SGW_STORE_OK);
	assert_int_equal(v, 0);
	assert_int_equal(ttl, 0);
	assert_int_equal(
	    o->counter_get(f->st, "l:c:10.0.0.1", now(f), &v, &ttl),
	    SGW_STORE_OK);
	assert_int_equal(v, 0);
	assert_int_equal(ttl, 0);
	/* An add on an expired counter starts from 0, with a new life. */
	assert_int_equal(
	    o->counter_add(f->st, "f:c:10.0.0.1", 1, 60000, now(f), &v),
	    SGW_STORE_OK);
	assert_int_equal(v, 1);
	assert_int_equal(
	    o->counter_get(f->st, "f:c:10.0.0.1", now(f), &v, &ttl),
	    SGW_STORE_OK);
	assert_true(ttl > SHORT);
	assert_int_equal(
	    o->counter_get(f->st, "f:c:long", now(f), &v, &ttl), SGW_STORE_OK);
	assert_int_equal(v, 1);
}

/* ---- active, ping, sweep ---- */

static void
active_counts_live_sessions(void **state)
{
	struct fx *f = need(state);
	unsigned char h[4][SGW_HASH_LEN];
	struct sgw_record r;
	uint64_t n = 99;

	assert_int_equal(f->st->ops->ping(f->st), SGW_STORE_OK);
	assert_int_equal(f->st->ops->active(f->st, now(f), &n), SGW_STORE_OK);
	assert_int_equal(n, 0);
	for (int i = 0; i < 4; i++) {
		new_hash(h[i]);
		r = rec_at(i < 2 ? "alice" : "bob", now(f),
		    i == 3 ? ROOMY : 60000, 120000);
		put(f, h[i], &r);
	}
	assert_int_equal(f->st->ops->active(f->st, now(f), &n), SGW_STORE_OK);
	assert_int_equal(n, 4);
	advance(f, PAST_ROOMY);
	assert_int_equal(f->st->ops->active(f->st, now(f), &n), SGW_STORE_OK);
	assert_int_equal(n, 3);
	assert_int_equal(f->st->ops->del(f->st, h[0]), SGW_STORE_OK);
	assert_int_equal(f->st->ops->active(f->st, now(f), &n), SGW_STORE_OK);
	assert_int_equal(n, 2);
}

static void
sweep_removes_what_expired_oldest_first(void **state)
{
	struct fx *f = need(state);
	const struct sgw_store_ops *o;
	unsigned char live[SGW_HASH_LEN], b[SGW_HASH_LEN], c[SGW_HASH_LEN];
	struct sgw_record r;
	struct sgw_stored *v = NULL;
	size_t n = 0, swept = 99;
	int64_t val, ttl;
	int more = -1;

	o = f->st->ops;
	if (o->sweep == NULL) {
		print_message("skipped: %s: its entries expire by themselves "
		              "(sweep is NULL)\n",
		    f->b->name);
		skip();
	}
	new_hash(live);
	new_hash(b);
	new_hash(c);
	r = rec_at("alice", now(f), 60000, 120000);
	put(f, live, &r);
	r = rec_at("alice", now(f), 100, 120000);
	put(f, b, &r);
	r = rec_at("alice", now(f), 200, 120000);
	put(f, c, &r);
	assert_int_equal(
	    o->counter_add(f->st, "f:u:alice", 1, 250, now(f), &val),
	    SGW_STORE_OK);
	assert_int_equal(
	    o->counter_add(f->st, "f:u:bob", 1, 60000, now(f), &val),
	    SGW_STORE_OK);
	/* Nothing is due yet. */
	assert_int_equal(
	    o->sweep(f->st, now(f), 100, &swept, &more), SGW_STORE_OK);
	assert_int_equal(swept, 0);
	assert_int_equal(more, 0);
	advance(f, PAST);

	/* At most max, oldest first, and says that more is left. */
	assert_int_equal(
	    o->sweep(f->st, now(f), 1, &swept, &more), SGW_STORE_OK);
	assert_int_equal(swept, 1);
	assert_int_equal(more, 1);
	assert_int_equal(get(f, b, NULL), SGW_STORE_NOTFOUND);
	assert_int_equal(
	    o->sweep(f->st, now(f), 100, &swept, &more), SGW_STORE_OK);
	assert_int_equal(swept, 1);
	assert_int_equal(more, 0);
	assert_int_equal(get(f, c, NULL), SGW_STORE_NOTFOUND);
	assert_int_equal(get(f, live, NULL), SGW_STORE_OK);
	assert_int_equal(
	    o->user_sessions(f->st, "alice", &v, &n), SGW_STORE_OK);
	assert_int_equal(n, 1);
	assert_memory_equal(v[0].hash, live, SGW_HASH_LEN);
	free(v);
	assert_int_equal(o->counter_get(f->st, "f:u:alice", now(f), &val, &ttl),
	    SGW_STORE_OK);
	assert_int_equal(val, 0);
	assert_int_equal(
	    o->counter_get(f->st, "f:u:bob", now(f), &val, &ttl), SGW_STORE_OK);
	assert_int_equal(val, 1);
	assert_int_equal(
	    o->sweep(f->st, now(f), 100, &swept, &more), SGW_STORE_OK);
	assert_int_equal(swept, 0);
}

/* ---- the policy on the backend ---- */

static struct sgw_users users;

static struct sgw_session_policy
policy(int64_t idle, int64_t life, int max_per_user)
{
	struct sgw_session_policy p = {
	    .idle_ms = idle,
	    .absolute_ms = life,
	    .remember_ms = life * 2,
	    .max_per_user = max_per_user,
	};

	return p;
}

static void
create(struct fx *f, const struct sgw_session_policy *p,
    unsigned char h[SGW_HASH_LEN], const char *user, struct sgw_session *out,
    size_t *evicted)
{
	struct sgw_login who = {
	    .user = user, .roles = "r", .client = "192.0.2.1", .agent = "UA"};
	struct sgw_session s;

	new_hash(h);
	if (sgw_session_create(f->st, p, h, &who, now(f),
	        out != NULL ? out : &s, evicted) != SGW_STORE_OK)
		fail_msg("create: %s", f->st->errstr);
}

static int
check(struct fx *f, const struct sgw_session_policy *p,
    const unsigned char h[SGW_HASH_LEN], struct sgw_session *out)
{
	struct sgw_asker who = {.client = "192.0.2.1", .agent = "UA"};
	struct sgw_session s;

	return sgw_session_check(
	    f->st, p, &users, h, &who, now(f), out != NULL ? out : &s);
}

static void
policy_create_check_list_end(void **state)
{
	struct fx *f = need(state);
	struct sgw_session_policy p = policy(60000, 120000, 0);
	struct sgw_session c, s, *v = NULL;
	unsigned char h[3][SGW_HASH_LEN];
	size_t n = 0, ended = 9;

	create(f, &p, h[0], "alice", &c, NULL);
	assert_int_equal(check(f, &p, h[0], &s), SGW_STORE_OK);
	assert_string_equal(s.user, "alice");
	/* The roles are the users file's, not the login's. */
	assert_string_equal(s.roles, "admin,dev");
	assert_string_equal(s.id, c.id);
	assert_int_equal(s.created_ms, c.created_ms);
	assert_int_equal(s.expires_ms, c.created_ms + 120000);
	assert_true(s.idle_expires_ms >= c.created_ms + 60000);

	advance(f, 5);
	create(f, &p, h[1], "alice", NULL, NULL);
	advance(f, 5);
	create(f, &p, h[2], "bob", NULL, NULL);
	assert_int_equal(
	    sgw_session_list(f->st, &p, "alice", now(f), &v, NULL, &n),
	    SGW_STORE_OK);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].id, c.id);
	free(v);

	/* Another user's id ends nothing. */
	sgw_session_from_record(&s, &(struct sgw_record){0}, h[2], &p);
	assert_int_equal(
	    sgw_session_end_user(f->st, &p, "alice", s.id, now(f), &ended),
	    SGW_STORE_NOTFOUND);
	assert_int_equal(ended, 0);
	assert_int_equal(check(f, &p, h[2], NULL), SGW_STORE_OK);
	/* One by its id, then all of them. */
	assert_int_equal(
	    sgw_session_end_user(f->st, &p, "alice", c.id, now(f), &ended),
	    SGW_STORE_OK);
	assert_int_equal(ended, 1);
	assert_int_equal(check(f, &p, h[0], NULL), SGW_STORE_NOTFOUND);
	assert_int_equal(check(f, &p, h[1], NULL), SGW_STORE_OK);
	assert_int_equal(
	    sgw_session_end_user(f->st, &p, "alice", c.id, now(f), &ended),
	    SGW_STORE_NOTFOUND);
	assert_int_equal(
	    sgw_session_end_user(f->st, &p, "alice", NULL, now(f), &ended),
	    SGW_STORE_OK);
	assert_int_equal(ended, 1);
	assert_int_equal(check(f, &p, h[1], NULL), SGW_STORE_NOTFOUND);
	assert_int_equal(check(f, &p, h[2], NULL), SGW_STORE_OK);
	assert_int_equal(sgw_session_end(f->st, h[2]), SGW_STORE_OK);
	assert_int_equal(sgw_session_end(f->st, h[2]), SGW_STORE_NOTFOUND);

	/* A user no longer in the users file has no session. */
	create(f, &p, h[0], "mallory", NULL, NULL);
	assert_int_equal(check(f, &p, h[0], NULL), SGW_STORE_NOTFOUND);
	assert_int_equal(get(f, h[0], NULL), SGW_STORE_NOTFOUND);
}

static void
policy_max_per_user(void **state)
{
	struct fx *f = need(state);
	struct sgw_session_policy p = policy(60000, 120000, 2);
	unsigned char h[4][SGW_HASH_LEN];
	size_t evicted = 9;

	for (int i = 0; i < 3; i++) {
		create(f, &p, h[i], "alice", NULL, &evicted);
		assert_int_equal(evicted, i == 2 ? 1 : 0);
		advance(f, 3);
	}
	assert_int_equal(check(f, &p, h[0], NULL), SGW_STORE_NOTFOUND);
	assert_int_equal(check(f, &p, h[1], NULL), SGW_STORE_OK);
	assert_int_equal(check(f, &p, h[2], NULL), SGW_STORE_OK);
	if (f->b->index_len != NULL)
		assert_int_equal(f->b->index_len(f, "alice"), 2);
	/* 0 is unlimited. */
	p.max_per_user = 0;
	create(f, &p, h[3], "alice", NULL, &evicted);
	assert_int_equal(evicted, 0);
	assert_int_equal(check(f, &p, h[1], NULL), SGW_STORE_OK);
}

static void
policy_expiry(void **state)
{
	/* Lifetimes with room for a loaded host where time is real: each
	 * wait is half an idle timeout away from the end it tests. */
	enum { IDLE = 500, STEP = IDLE / 2 };
	struct fx *f = need(state);
	struct sgw_session_policy p = policy(IDLE, 60000, 0);
	unsigned char a[SGW_HASH_LEN], b[SGW_HASH_LEN];
	struct sgw_session c, s, *v = NULL;
	size_t n = 0;

	/* Idle: each use slides the end (a tenth of idle has passed, so
	 * every check here refreshes). */
	create(f, &p, a, "alice", NULL, NULL);
	create(f, &p, b, "alice", NULL, NULL);
	for (int i = 0; i < 3; i++) {
		advance(f, STEP);
		if (check(f, &p, a, NULL) != SGW_STORE_OK)
			fail_msg("check %d: gone after %d ms of use", i,
			    (i + 1) * STEP);
	}
	/* b was not used: gone, not revived, and ended (as it is found on
	 * the way, by get or by list). */
	assert_int_equal(check(f, &p, b, NULL), SGW_STORE_NOTFOUND);
	assert_int_equal(get(f, b, NULL), SGW_STORE_NOTFOUND);
	advance(f, IDLE + STEP);
	assert_int_equal(
	    sgw_session_list(f->st, &p, "alice", now(f), &v, NULL, &n),
	    SGW_STORE_OK);
	assert_int_equal(n, 0);
	assert_null(v);
	assert_int_equal(check(f, &p, a, NULL), SGW_STORE_NOTFOUND);
	assert_int_equal(get(f, a, NULL), SGW_STORE_NOTFOUND);
	/* Where the store still held them, the policy ended them and
	 * counted them. */
	if (!f->b->real_time)
		assert_int_equal(f->st->expired, 2);

	/* Absolute: never extended by use. */
	p = policy(IDLE, IDLE + 2 * STEP / 3, 0);
	create(f, &p, a, "bob", &c, NULL);
	advance(f, IDLE - STEP / 2);
	assert_int_equal(check(f, &p, a, &s), SGW_STORE_OK);
	assert_int_equal(s.expires_ms, c.expires_ms);
	assert_int_equal(s.idle_expires_ms, c.expires_ms);
	advance(f, STEP + STEP / 2);
	assert_int_equal(check(f, &p, a, NULL), SGW_STORE_NOTFOUND);
	assert_int_equal(get(f, a, NULL), SGW_STORE_NOTFOUND);
}

static void
policy_ratelimit(void **state)
{
	struct fx *f = need(state);
	struct sgw_limits l = {.max_failures = 3,
	    .max_client_failures = 100,
	    .window_ms = 60000,
	    .lockout_ms = ROOMY};
	struct sgw_attempt a[5];
	int64_t retry = -1, v, ttl;
	int allowed = 0;

	/* Five in flight: three may verify. */
	for (int i = 0; i < 5; i++) {
		a[i] = (struct sgw_attempt){
		    .user = "alice", .client = "192.0.2.1"};
		assert_int_equal(
		    sgw_ratelimit_begin(f->st, &l, &a[i], now(f), &retry),
		    SGW_STORE_OK);
		allowed += retry == 0;
	}
	assert_int_equal(allowed, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(
		    sgw_ratelimit_failed(f->st, &l, &a[i], now(f), &retry),
		    SGW_STORE_OK);
		assert_int_equal(retry, i == 2 ? ROOMY : 0);
	}
	a[0] = (struct sgw_attempt){.user = "alice", .client = "192.0.2.2"};
	assert_int_equal(sgw_ratelimit_begin(f->st, &l, &a[0], now(f), &retry),
	    SGW_STORE_OK);
	assert_true(retry > 0 && retry <= ROOMY);
	advance(f, PAST_ROOMY);
	assert_int_equal(sgw_ratelimit_begin(f->st, &l, &a[0], now(f), &retry),
	    SGW_STORE_OK);
	assert_int_equal(retry, 0);

	/* A success clears the user's counter. */
	assert_int_equal(
	    sgw_ratelimit_succeeded(f->st, &l, &a[0], now(f)), SGW_STORE_OK);
	assert_int_equal(
	    f->st->ops->counter_get(f->st, "f:u:alice", now(f), &v, &ttl),
	    SGW_STORE_OK);
	assert_int_equal(v, 0);
	for (int i = 0; i < 2; i++) {
		a[1] = (struct sgw_attempt){
		    .user = "alice", .client = "192.0.2.1"};
		assert_int_equal(
		    sgw_ratelimit_begin(f->st, &l, &a[1], now(f), &retry),
		    SGW_STORE_OK);
		assert_int_equal(retry, 0);
		assert_int_equal(a[1].nuser, i + 1);
		assert_int_equal(
		    sgw_ratelimit_failed(f->st, &l, &a[1], now(f), &retry),
		    SGW_STORE_OK);
		assert_int_equal(retry, 0);
	}
}

/* ---- reading ahead ---- */

static void
get_many_reads_as_get_does(void **state)
{
	struct fx *f = need(state);
	unsigned char h[3][SGW_HASH_LEN], ask[5][SGW_HASH_LEN];
	struct sgw_record r[3], out[5];
	int rc[5];
	int64_t t = now(f);

	if (f->st->ops->get_many == NULL) {
		/* A read costs no round trip: nothing to read ahead. */
		print_message("%s has no get_many\n", f->b->name);
		assert_false(sgw_store_reads_ahead(f->st));
		return;
	}
	assert_true(sgw_store_reads_ahead(f->st));
	for (int i = 0; i < 3; i++) {
		new_hash(h[i]);
		r[i] = rec_at(i == 2 ? "bob" : "alice", t + i, 60000, 120000);
		r[i].remember_me = i == 1;
		put(f, h[i], &r[i]);
	}
	/* Duplicates and an unknown session among them, in any order. */
	memcpy(ask[0], h[0], SGW_HASH_LEN);
	new_hash(ask[1]);
	memcpy(ask[2], h[1], SGW_HASH_LEN);
	memcpy(ask[3], h[0], SGW_HASH_LEN);
	memcpy(ask[4], h[2], SGW_HASH_LEN);
	if (f->st->ops->get_many(f->st, 5, ask, out, rc) != SGW_STORE_OK)
		fail_msg("get_many: %s", f->st->errstr);
	assert_int_equal(rc[0], SGW_STORE_OK);
	same_record(&out[0], &r[0]);
	assert_int_equal(rc[1], SGW_STORE_NOTFOUND);
	assert_int_equal(rc[2], SGW_STORE_OK);
	same_record(&out[2], &r[1]);
	assert_int_equal(rc[3], SGW_STORE_OK);
	same_record(&out[3], &r[0]);
	assert_int_equal(rc[4], SGW_STORE_OK);
	same_record(&out[4], &r[2]);
}

/* What was read ahead is what each get would have read then, once. */
static void
read_ahead_answers_each_get_once(void **state)
{
	struct fx *f = need(state);
	unsigned char h[2][SGW_HASH_LEN], ask[3][SGW_HASH_LEN];
	struct sgw_record r[2], got;
	int64_t t = now(f);

	for (int i = 0; i < 2; i++) {
		new_hash(h[i]);
		r[i] = rec_at("alice", t + i, 60000, 120000);
		put(f, h[i], &r[i]);
	}
	memcpy(ask[0], h[0], SGW_HASH_LEN);
	memcpy(ask[1], h[0], SGW_HASH_LEN);
	memcpy(ask[2], h[1], SGW_HASH_LEN);

	/* One session alone is not read ahead. */
	sgw_store_read_ahead(f->st, ask, 1);
	assert_int_equal(f->st->ops->del(f->st, h[0]), SGW_STORE_OK);
	assert_int_equal(sgw_store_get(f->st, h[0], &got), SGW_STORE_NOTFOUND);
	sgw_store_ahead_drop(f->st);
	put(f, h[0], &r[0]);

	sgw_store_read_ahead(f->st, ask, 3);
	/* Ended after the read: what each request of the batch saw. */
	assert_int_equal(f->st->ops->del(f->st, h[0]), SGW_STORE_OK);
	if (!sgw_store_reads_ahead(f->st)) {
		assert_int_equal(
		    sgw_store_get(f->st, h[0], &got), SGW_STORE_NOTFOUND);
		return;
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(
		    sgw_store_get(f->st, h[0], &got), SGW_STORE_OK);
		same_record(&got, &r[0]);
	}
	/* Both copies taken: the store is asked. */
	assert_int_equal(sgw_store_get(f->st, h[0], &got), SGW_STORE_NOTFOUND);
	/* Dropped: h[1]'s record is not used any more. */
	sgw_store_ahead_drop(f->st);
	assert_int_equal(f->st->ops->del(f->st, h[1]), SGW_STORE_OK);
	assert_int_equal(sgw_store_get(f->st, h[1], &got), SGW_STORE_NOTFOUND);
}

/* ---- the run ---- */

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(put_get_keeps_every_field),
	    T(refresh_moves_times_and_never_creates),
	    T(del_removes_session_data_and_index_entry),
	    T(user_sessions_oldest_first_and_pruned),
	    T(data_round_trip_and_limits),
	    T(counters_add_get_set_del),
	    T(counters_expire),
	    T(active_counts_live_sessions),
	    T(sweep_removes_what_expired_oldest_first),
	    T(policy_create_check_list_end),
	    T(policy_max_per_user),
	    T(policy_expiry),
	    T(policy_ratelimit),
	    T(get_many_reads_as_get_does),
	    T(read_ahead_answers_each_get_once),
	};
	struct sgw_errs errs = {0};
	char text[512];
	int failed = 0;

	g.hash = sgw_users_hash_password("contract-pw", 1);
	snprintf(text, sizeof(text), "alice:%s:admin,dev\nbob:%s:user\n",
	    g.hash != NULL ? g.hash : "", g.hash != NULL ? g.hash : "");
	if (g.hash == NULL ||
	    sgw_users_parse(
	        "/nonexistent/users", text, strlen(text), &users, &errs)) {
		fprintf(stderr, "cannot make the users table\n");
		return 1;
	}
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		g.b = &backends[i];
		print_message("[ BACKEND  ] %s\n", g.b->name);
		failed += _cmocka_run_group_tests(g.b->name, tests,
		    sizeof(tests) / sizeof(tests[0]), group_setup,
		    group_teardown);
	}
	sgw_users_free(&users);
	free(g.hash);
	return failed != 0;
}
