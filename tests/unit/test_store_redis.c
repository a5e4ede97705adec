/*
 * store_redis: what only the Redis backend has to show, against a real
 * redis-server.
 *
 * What every backend promises is test_store_contract's, which runs on
 * Redis too; here is what Redis holds (key names, TTLs, never a token),
 * key_prefix isolation, ACL users and databases, and how the backend lives
 * with a Redis that is unreachable, stopped, restarted, loses its scripts
 * or drops the connection.
 *
 * The group set-up starts a private redis-server on a free loopback port
 * (tests/unit/support/redis_server.c); every test gets a fresh key
 * prefix, so tests never see each other's keys. A raw hiredis connection
 * looks at what the store left in Redis, because what Redis holds is part
 * of the contract (SPEC section 7).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "ratelimit.h"
#include "redis_server.h"
#include "session.h"
#include "store.h"
#include "store_redis.h"
#include "timefmt.h"
#include "token.h"
#include "users.h"

#define KEY_LINE                                                               \
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
#define CMD_TIMEOUT_MS 200

/* The private redis-server the whole group shares. */
static struct {
	struct redis_server srv;
	struct sgw_keys keys;
	struct sgw_users users;
	unsigned next_prefix;
} g;

/* Per test: its own conf (own prefix), store and raw connection. */
struct fx {
	struct sgw_conf conf;
	struct sgw_store *st;
	redisContext *raw;
	char prefix[32];
};

/* ---- helpers ---- */

static int
group_setup(void **state)
{
	struct sgw_errs errs = {0};
	char why[256], text[512], *h;

	(void)state;
	if (sgw_keys_parse(
	        "keys", KEY_LINE, strlen(KEY_LINE), &g.keys, &errs) != 0) {
		sgw_errs_clear(&errs);
		return -1;
	}
	if ((h = sgw_users_hash_password("pw-alice", 1)) == NULL)
		return -1;
	snprintf(
	    text, sizeof(text), "alice:%s:admin\nbob:%s\nfrank:%s\n", h, h, h);
	free(h);
	if (sgw_users_parse("/nonexistent/users", text, strlen(text), &g.users,
	        &errs) != 0) {
		sgw_errs_clear(&errs);
		return -1;
	}
	if (redis_server_start(&g.srv, why, sizeof(why)) == -1) {
		fprintf(stderr, "%s\n", why);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	redis_server_stop(&g.srv);
	sgw_keys_wipe(&g.keys);
	sgw_users_free(&g.users);
	return 0;
}

/*
 * A redis store on port with key_prefix prefix, plus extra [redis] lines.
 * Returns it, or NULL with the reason in why (conf is filled either way
 * and must be freed).
 */
static struct sgw_store *
store_for(struct sgw_conf *conf, int port, const char *prefix,
    const char *extra, char *why, size_t whylen)
{
	struct sgw_errs errs = {0};
	struct sgw_store *st = NULL;
	char text[1024];

	snprintf(text, sizeof(text),
	    "[store]\nbackend = redis\n[redis]\naddress = 127.0.0.1:%d\n"
	    "key_prefix = %s\nconnect_timeout = %dms\ncommand_timeout = "
	    "%dms\n%s",
	    port, prefix, CMD_TIMEOUT_MS, CMD_TIMEOUT_MS,
	    extra != NULL ? extra : "");
	if (sgw_conf_parse("redis.conf", text, strlen(text), conf, &errs) == 0)
		st = sgw_store_open(conf, SGW_STORE_SERVE, &errs);
	if (st == NULL)
		snprintf(why, whylen, "%s",
		    errs.n > 0 ? errs.msg[0] : "cannot open");
	sgw_errs_clear(&errs);
	return st;
}

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char why[512];

	if (f == NULL)
		return -1;
	*state = f;
	snprintf(f->prefix, sizeof(f->prefix), "t%u:", ++g.next_prefix);
	if ((f->st = store_for(&f->conf, g.srv.port, f->prefix, NULL, why,
	         sizeof(why))) == NULL ||
	    (f->raw = redis_server_connect(g.srv.port)) == NULL ||
	    f->raw->err != 0) {
		fprintf(stderr, "fixture set-up failed: %s\n",
		    f->st == NULL ? why : "raw");
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
	if (f->raw != NULL)
		redisFree(f->raw);
	sgw_conf_free(&f->conf);
	free(f);
	return 0;
}

/* A raw command; fails the test when Redis does not answer. */
static redisReply *
raw(struct fx *f, const char *fmt, ...)
{
	va_list ap;
	redisReply *r;

	va_start(ap, fmt);
	r = redisvCommand(f->raw, fmt, ap);
	va_end(ap);
	if (r == NULL)
		fail_msg("raw command \"%s\" failed: %s", fmt, f->raw->errstr);
	if (r->type == REDIS_REPLY_ERROR) {
		char msg[256];

		snprintf(msg, sizeof(msg), "%s", r->str);
		freeReplyObject(r);
		fail_msg("raw command \"%s\": %s", fmt, msg);
	}
	return r;
}

static long long
raw_int(struct fx *f, const char *fmt, ...)
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
		fail_msg("raw command \"%s\": no integer reply", fmt);
	}
	v = r->integer;
	freeReplyObject(r);
	return v;
}

static void
near_ms(int64_t got, int64_t want, int64_t tol, const char *what)
{
	if (got < want - tol || got > want + tol)
		fail_msg("%s: got %lld, want %lld +- %lld", what,
		    (long long)got, (long long)want, (long long)tol);
}

static void
new_hash(unsigned char hash[SGW_HASH_LEN], char tok[SGW_TOKEN_LEN + 1])
{
	char t[SGW_TOKEN_LEN + 1];

	assert_int_equal(
	    sgw_token_new(&g.keys, tok != NULL ? tok : t, hash), 0);
}

static struct sgw_session_policy
policy(int64_t idle_ms, int64_t life_ms, int maxn)
{
	struct sgw_session_policy p = {
	    .idle_ms = idle_ms,
	    .absolute_ms = life_ms,
	    .remember_ms = life_ms,
	    .max_per_user = maxn,
	};

	return p;
}

/* Creates a session for user through the policy; fails the test unless
 * it worked. */
static void
make(struct fx *f, unsigned char hash[SGW_HASH_LEN], const char *user,
    int64_t idle_ms, int64_t life_ms, int maxn, struct sgw_session *out)
{
	struct sgw_session_policy p = policy(idle_ms, life_ms, maxn);
	struct sgw_login who = {
	    .user = user, .roles = "", .client = "127.0.0.1"};
	struct sgw_session s;

	new_hash(hash, NULL);
	if (sgw_session_create(f->st, &p, hash, &who, sgw_now_ms(),
	        out != NULL ? out : &s, NULL) != SGW_STORE_OK)
		fail_msg("create: %s", f->st->errstr);
}

/* The check of a request, with the policy the session was made with. */
static int
check(struct fx *f, const unsigned char hash[SGW_HASH_LEN], int64_t idle_ms,
    int64_t life_ms, struct sgw_session *out)
{
	struct sgw_session_policy p = policy(idle_ms, life_ms, 0);
	struct sgw_asker who = {.client = "127.0.0.1"};
	struct sgw_session s;

	return sgw_session_check(f->st, &p, &g.users, hash, &who, sgw_now_ms(),
	    out != NULL ? out : &s);
}

static struct sgw_record
rec_now(const char *user, int64_t idle_ms, int64_t life_ms)
{
	struct sgw_record r;
	int64_t t = sgw_now_ms();

	memset(&r, 0, sizeof(r));
	snprintf(r.user, sizeof(r.user), "%s", user);
	snprintf(r.client, sizeof(r.client), "127.0.0.1");
	r.created_ms = r.seen_ms = t;
	r.expires_ms = t + life_ms;
	r.deadline_ms = t + (idle_ms < life_ms ? idle_ms : life_ms);
	return r;
}

static long long
session_exists(struct fx *f, const unsigned char hash[SGW_HASH_LEN])
{
	char hex[SGW_HASH_HEX];

	sgw_token_hash_hex(hash, hex);
	return raw_int(f, "EXISTS %ss:%s", f->prefix, hex);
}

static long long
session_pttl(struct fx *f, const unsigned char hash[SGW_HASH_LEN])
{
	char hex[SGW_HASH_HEX];

	sgw_token_hash_hex(hash, hex);
	return raw_int(f, "PTTL %ss:%s", f->prefix, hex);
}

/* ---- what Redis holds ---- */

/* Field a is the agent, then the public id; a session written by 0.1
 * has the agent alone, and is read with no id (the policy computes it). */
static void
agent_field_carries_the_public_id(void **state)
{
	struct fx *f = *state;
	struct sgw_record r, got;
	unsigned char hash[SGW_HASH_LEN];
	char hex[SGW_HASH_HEX];
	redisReply *q;

	new_hash(hash, NULL);
	sgw_token_hash_hex(hash, hex);
	memset(&r, 0, sizeof(r));
	strcpy(r.user, "alice");
	memset(r.agent, 0x61, SGW_AGENT_LEN);
	r.created_ms = r.seen_ms = sgw_now_ms();
	r.expires_ms = r.deadline_ms = r.seen_ms + 60000;
	sgw_token_public_id(hash, r.id);
	assert_int_equal(
	    f->st->ops->put(f->st, hash, &r, r.seen_ms), SGW_STORE_OK);
	q = raw(f, "HGET %ss:%s a", f->prefix, hex);
	assert_int_equal(q->type, REDIS_REPLY_STRING);
	assert_int_equal(q->len, SGW_AGENT_LEN + 32);
	assert_memory_equal(q->str + SGW_AGENT_LEN, r.id, 32);
	freeReplyObject(q);
	assert_int_equal(f->st->ops->get(f->st, hash, &got), SGW_STORE_OK);
	assert_string_equal(got.id, r.id);
	assert_memory_equal(got.agent, r.agent, SGW_AGENT_LEN);

	freeReplyObject(
	    raw(f, "HSET %ss:%s a aaaaaaaaaaaaaaaa", f->prefix, hex));
	assert_int_equal(f->st->ops->get(f->st, hash, &got), SGW_STORE_OK);
	assert_string_equal(got.id, "");
	assert_memory_equal(got.agent, r.agent, SGW_AGENT_LEN);
}

static void
redis_holds_hash_not_token(void **state)
{
	struct fx *f = *state;
	struct sgw_session_policy p = policy(60000, 120000, 0);
	struct sgw_login who = {
	    .user = "alice", .roles = "", .client = "127.0.0.1", .agent = "UA"};
	struct sgw_session s;
	unsigned char hash[SGW_HASH_LEN];
	char tok[SGW_TOKEN_LEN + 1], hex[SGW_HASH_HEX], want_s[128],
	    want_u[128];
	size_t randlen;
	redisReply *r;

	new_hash(hash, tok);
	randlen = strcspn(tok, ".");
	sgw_token_hash_hex(hash, hex);
	assert_int_equal(
	    sgw_session_create(f->st, &p, hash, &who, sgw_now_ms(), &s, NULL),
	    SGW_STORE_OK);
	snprintf(want_s, sizeof(want_s), "%ss:%s", f->prefix, hex);
	snprintf(want_u, sizeof(want_u), "%su:alice", f->prefix);

	r = raw(f, "KEYS %s*", f->prefix);
	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	assert_int_equal(r->elements, 2);
	for (size_t i = 0; i < r->elements; i++) {
		const char *k = r->element[i]->str;

		if (strcmp(k, want_s) != 0 && strcmp(k, want_u) != 0)
			fail_msg("unexpected key %s", k);
	}
	freeReplyObject(r);

	/* Neither the token nor its random part is anywhere in the session. */
	r = raw(f, "HGETALL %s", want_s);
	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	assert_int_equal(r->elements, 16); /* u c a ct ls ab dl rm */
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *e = r->element[i];

		if (memmem(e->str, e->len, tok, randlen) != NULL)
			fail_msg("field %zu holds the token", i);
	}
	freeReplyObject(r);
	r = raw(f, "ZRANGE %s 0 -1", want_u);
	assert_int_equal(r->elements, 1);
	assert_string_equal(r->element[0]->str, hex);
	freeReplyObject(r);
}

static void
a_sessions_lifetime_is_its_ttl(void **state)
{
	struct fx *f = *state;
	unsigned char h[SGW_HASH_LEN];
	struct sgw_record r = rec_now("alice", 60000, 120000);
	int64_t t;

	new_hash(h, NULL);
	assert_int_equal(
	    f->st->ops->put(f->st, h, &r, sgw_now_ms()), SGW_STORE_OK);
	/* Tolerances of seconds: a loaded host may stall between the call
	 * and the look, and the values told apart are tens of seconds. */
	near_ms(session_pttl(f, h), 60000, 3000, "PTTL after put");
	t = sgw_now_ms();
	assert_int_equal(
	    f->st->ops->refresh(f->st, h, t, t + 30000, t), SGW_STORE_OK);
	near_ms(session_pttl(f, h), 30000, 3000, "PTTL after refresh");
	/* Counters are plain keys with a TTL too. */
	{
		int64_t v;

		assert_int_equal(f->st->ops->counter_add(f->st, "f:u:alice", 1,
		                     45000, sgw_now_ms(), &v),
		    SGW_STORE_OK);
		near_ms(raw_int(f, "PTTL %sf:u:alice", f->prefix), 45000, 3000,
		    "counter PTTL");
		assert_int_equal(f->st->ops->counter_set(f->st, "l:u:alice", 1,
		                     15000, sgw_now_ms()),
		    SGW_STORE_OK);
		near_ms(raw_int(f, "PTTL %sl:u:alice", f->prefix), 15000, 3000,
		    "lockout PTTL");
	}
}

static void
absolute_end_is_never_extended(void **state)
{
	struct fx *f = *state;
	unsigned char hash[SGW_HASH_LEN];
	struct sgw_session c, t;
	int ok = 0;

	/* Uses every 300 ms for 2 s: at least 2 of them however loaded the
	 * host, each one a chance to run the TTL past the absolute end. */
	make(f, hash, "alice", 1600, 2000, 0, &c);
	while (sgw_now_ms() + 300 < c.created_ms + 2000) {
		int64_t before;
		long long pttl;

		test_msleep(300);
		if (check(f, hash, 1600, 2000, &t) != SGW_STORE_OK)
			break;
		ok++;
		assert_int_equal(t.expires_ms, c.expires_ms);
		assert_true(t.idle_expires_ms <= c.expires_ms);
		/* Redis's clock at PTTL is at or after `before`, so the key
		 * may live at most expires - before. */
		before = sgw_now_ms();
		pttl = session_pttl(f, hash);
		if (pttl > c.expires_ms - before + 5)
			fail_msg(
			    "PTTL %lld ms runs past the absolute end (%lld ms "
			    "away)",
			    pttl, (long long)(c.expires_ms - before));
	}
	assert_true(ok >= 2);
	test_msleep(c.created_ms + 2100 - sgw_now_ms());
	assert_int_equal(check(f, hash, 1600, 2000, NULL), SGW_STORE_NOTFOUND);
	assert_int_equal(session_exists(f, hash), 0);
}

static void
check_within_a_tenth_does_not_rewrite(void **state)
{
	struct fx *f = *state;
	unsigned char hash[SGW_HASH_LEN];
	struct sgw_session c, t;
	char hex[SGW_HASH_HEX];
	redisReply *r;

	make(f, hash, "alice", 60000, 120000, 0, &c);
	sgw_token_hash_hex(hash, hex);
	test_msleep(30);
	/* 30 ms of a 60 s idle timeout: no write. */
	assert_int_equal(check(f, hash, 60000, 120000, &t), SGW_STORE_OK);
	assert_int_equal(t.last_seen_ms, c.created_ms);
	r = raw(f, "HGET %ss:%s ls", f->prefix, hex);
	assert_int_equal(strtoll(r->str, NULL, 10), c.created_ms);
	freeReplyObject(r);
	/* The TTL was not refreshed either: 30 ms of it are used up. */
	assert_true(session_pttl(f, hash) <= 60000 - 25);

	/* With an idle timeout whose tenth has passed the same check does
	 * refresh: the check above can fail. */
	assert_int_equal(check(f, hash, 250, 120000, &t), SGW_STORE_OK);
	assert_true(t.last_seen_ms >= c.created_ms + 30);
	r = raw(f, "HGET %ss:%s ls", f->prefix, hex);
	assert_int_equal(strtoll(r->str, NULL, 10), t.last_seen_ms);
	freeReplyObject(r);
	assert_true(session_pttl(f, hash) <= 250);
}

static void
expired_session_is_not_revived(void **state)
{
	struct fx *f = *state;
	unsigned char hash[SGW_HASH_LEN];
	char hex[SGW_HASH_HEX];
	int64_t t;

	/* Idle end passed: the key is gone (its TTL), and neither a check
	 * nor a refresh brings it back. */
	make(f, hash, "alice", 200, 60000, 0, NULL);
	test_msleep(350);
	assert_int_equal(session_exists(f, hash), 0);
	assert_int_equal(check(f, hash, 200, 60000, NULL), SGW_STORE_NOTFOUND);
	t = sgw_now_ms();
	assert_int_equal(f->st->ops->refresh(f->st, hash, t, t + 60000, t),
	    SGW_STORE_NOTFOUND);
	assert_int_equal(session_exists(f, hash), 0);

	/* Absolute end passed while the key still lingers (a clock step, a
	 * replica's late expiry): still gone, and the check removes it. */
	make(f, hash, "alice", 60000, 120000, 0, NULL);
	sgw_token_hash_hex(hash, hex);
	freeReplyObject(raw(f, "HSET %ss:%s ab %lld", f->prefix, hex,
	    (long long)(sgw_now_ms() - 1)));
	assert_int_equal(
	    check(f, hash, 60000, 120000, NULL), SGW_STORE_NOTFOUND);
	assert_int_equal(session_exists(f, hash), 0);
	assert_int_equal(raw_int(f, "ZCARD %su:alice", f->prefix), 0);
}

/* sgw_sessions_expired_total on Redis: a session Redis expired by its TTL
 * leaves its member in the user's index, and the next read of the index
 * counts it (a session ended on purpose takes its member with it). */
static void
ttl_expiries_are_counted_when_the_index_is_read(void **state)
{
	struct fx *f = *state;
	unsigned char a[SGW_HASH_LEN], b[SGW_HASH_LEN];
	struct sgw_stored *v = NULL;
	size_t n = 0;

	make(f, a, "gina", 200, 60000, 0, NULL);
	make(f, b, "gina", 60000, 120000, 0, NULL);
	assert_int_equal(sgw_session_end(f->st, b), SGW_STORE_OK);
	test_msleep(350);
	f->st->expired = 0;
	assert_int_equal(
	    f->st->ops->user_sessions(f->st, "gina", &v, &n), SGW_STORE_OK);
	assert_int_equal(n, 0);
	assert_null(v);
	assert_int_equal(f->st->expired, 1);
	/* Counted once: the member is gone now. */
	assert_int_equal(
	    f->st->ops->user_sessions(f->st, "gina", &v, &n), SGW_STORE_OK);
	assert_int_equal(f->st->expired, 1);
}

static void
max_per_user_never_ends_the_new_one(void **state)
{
	struct fx *f = *state;
	unsigned char h[3][SGW_HASH_LEN];

	/* Two logins in one millisecond: the new session may sort first
	 * among equal scores. Scores put after it stand for that; it must
	 * still be an older one that ends. */
	make(f, h[0], "frank", 60000, 120000, 2, NULL);
	make(f, h[1], "frank", 60000, 120000, 2, NULL);
	for (int i = 0; i < 2; i++) {
		char hex[SGW_HASH_HEX];

		sgw_token_hash_hex(h[i], hex);
		assert_int_equal(
		    raw_int(f, "ZADD %su:frank XX CH %lld %s", f->prefix,
		        (long long)sgw_now_ms() + 60000 + i, hex),
		    1);
	}
	make(f, h[2], "frank", 60000, 120000, 2, NULL);
	assert_int_equal(check(f, h[2], 60000, 120000, NULL), SGW_STORE_OK);
	assert_int_equal(
	    check(f, h[0], 60000, 120000, NULL), SGW_STORE_NOTFOUND);
	assert_int_equal(check(f, h[1], 60000, 120000, NULL), SGW_STORE_OK);
	assert_int_equal(raw_int(f, "ZCARD %su:frank", f->prefix), 2);
}

static void
index_outlives_every_session(void **state)
{
	struct fx *f = *state;
	unsigned char h[SGW_HASH_LEN];

	/* Long then short: the short one must not cut the index's TTL. */
	make(f, h, "dave", 10000, 100000, 0, NULL);
	make(f, h, "dave", 5000, 5000, 0, NULL);
	assert_true(raw_int(f, "PTTL %su:dave", f->prefix) >= 100000 - 100);

	/* Short then long: the long one must lengthen it. */
	make(f, h, "erin", 5000, 5000, 0, NULL);
	assert_true(raw_int(f, "PTTL %su:erin", f->prefix) >= 5000 - 100);
	make(f, h, "erin", 10000, 100000, 0, NULL);
	assert_true(raw_int(f, "PTTL %su:erin", f->prefix) >= 100000 - 100);
}

/* ---- key_prefix, ACL users, databases ---- */

static void
key_prefix_isolates_gateways(void **state)
{
	struct fx *f = *state;
	struct sgw_conf ca, cb;
	struct sgw_store *a, *b;
	struct sgw_record r = rec_now("bob", 60000, 120000);
	struct sgw_stored *v = NULL;
	unsigned char h[SGW_HASH_LEN];
	char why[512], pa[64], pb[64];
	uint64_t n = 99;
	size_t nv = 9;
	int64_t val, ttl;

	/* A prefix with glob characters, and one its glob would match. */
	snprintf(pa, sizeof(pa), "%sg*[x]:", f->prefix);
	snprintf(pb, sizeof(pb), "%sgAx:", f->prefix);
	memset(&ca, 0, sizeof(ca));
	memset(&cb, 0, sizeof(cb));
	a = store_for(&ca, g.srv.port, pa, NULL, why, sizeof(why));
	b = store_for(&cb, g.srv.port, pb, NULL, why, sizeof(why));
	assert_non_null(a);
	assert_non_null(b);
	new_hash(h, NULL);
	assert_int_equal(b->ops->put(b, h, &r, sgw_now_ms()), SGW_STORE_OK);
	assert_int_equal(
	    b->ops->counter_add(b, "f:u:bob", 1, 60000, sgw_now_ms(), &val),
	    SGW_STORE_OK);

	/* a sees none of b's. */
	assert_int_equal(a->ops->get(a, h, &r), SGW_STORE_NOTFOUND);
	assert_int_equal(
	    a->ops->user_sessions(a, "bob", &v, &nv), SGW_STORE_OK);
	assert_int_equal(nv, 0);
	assert_int_equal(
	    a->ops->counter_get(a, "f:u:bob", sgw_now_ms(), &val, &ttl),
	    SGW_STORE_OK);
	assert_int_equal(val, 0);
	assert_int_equal(a->ops->active(a, sgw_now_ms(), &n), SGW_STORE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(a->ops->del(a, h), SGW_STORE_NOTFOUND);
	assert_int_equal(b->ops->active(b, sgw_now_ms(), &n), SGW_STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(b->ops->get(b, h, &r), SGW_STORE_OK);
	/* Every key b made starts with its prefix. */
	{
		redisReply *k = raw(f, "KEYS %s*", f->prefix);

		assert_int_equal(k->elements, 3);
		for (size_t i = 0; i < k->elements; i++)
			assert_true(
			    strncmp(k->element[i]->str, pb, strlen(pb)) == 0);
		freeReplyObject(k);
	}
	sgw_store_close(a);
	sgw_store_close(b);
	sgw_conf_free(&ca);
	sgw_conf_free(&cb);
}

static void
acl_user_and_database(void **state)
{
	struct fx *f = *state;
	struct sgw_conf c;
	struct sgw_store *st;
	struct sgw_record r = rec_now("alice", 60000, 120000);
	unsigned char h[SGW_HASH_LEN];
	char why[512], extra[256], user[32], hex[SGW_HASH_HEX];
	int64_t val;
	uint64_t n;

	/* A user that may touch only this gateway's keys: any key the store
	 * made outside its prefix would be a NOPERM error. */
	snprintf(user, sizeof(user), "sgw%u", g.next_prefix);
	freeReplyObject(raw(
	    f, "ACL SETUSER %s on >pw-%s ~%s* +@all", user, user, f->prefix));
	snprintf(extra, sizeof(extra),
	    "username = %s\npassword = pw-%s\ndatabase = 3\n", user, user);
	memset(&c, 0, sizeof(c));
	assert_non_null(
	    st = store_for(&c, g.srv.port, f->prefix, extra, why, sizeof(why)));
	new_hash(h, NULL);
	sgw_token_hash_hex(h, hex);
	if (st->ops->put(st, h, &r, sgw_now_ms()) != SGW_STORE_OK)
		fail_msg("put as %s: %s", user, st->errstr);
	assert_int_equal(st->ops->get(st, h, &r), SGW_STORE_OK);
	assert_int_equal(
	    st->ops->counter_add(st, "f:u:alice", 1, 60000, sgw_now_ms(), &val),
	    SGW_STORE_OK);
	assert_int_equal(st->ops->active(st, sgw_now_ms(), &n), SGW_STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(st->ops->del(st, h), SGW_STORE_OK);
	assert_int_equal(st->ops->put(st, h, &r, sgw_now_ms()), SGW_STORE_OK);
	/* In database 3, not 0. */
	assert_int_equal(session_exists(f, h), 0);
	freeReplyObject(raw(f, "SELECT 3"));
	assert_int_equal(session_exists(f, h), 1);
	freeReplyObject(raw(f, "SELECT 0"));
	sgw_store_close(st);
	sgw_conf_free(&c);

	/* A wrong password is an error that says so, not a hang. */
	snprintf(
	    extra, sizeof(extra), "username = %s\npassword = wrong\n", user);
	memset(&c, 0, sizeof(c));
	assert_non_null(
	    st = store_for(&c, g.srv.port, f->prefix, extra, why, sizeof(why)));
	assert_int_equal(st->ops->get(st, h, &r), SGW_STORE_UNAVAILABLE);
	if (strstr(st->errstr, "WRONGPASS") == NULL &&
	    strstr(st->errstr, "AUTH") == NULL)
		fail_msg("errstr: %s", st->errstr);
	assert_int_equal(st->ops->ping(st), SGW_STORE_UNAVAILABLE);
	sgw_store_close(st);
	sgw_conf_free(&c);

	/* A user that may not DEL: clearing a counter fails, and says why,
	 * rather than leaving it while answering OK. */
	freeReplyObject(
	    raw(f, "ACL SETUSER %s resetpass >pw-%s -del", user, user));
	snprintf(extra, sizeof(extra), "username = %s\npassword = pw-%s\n",
	    user, user);
	memset(&c, 0, sizeof(c));
	assert_non_null(
	    st = store_for(&c, g.srv.port, f->prefix, extra, why, sizeof(why)));
	assert_int_equal(
	    st->ops->counter_add(st, "f:u:bob", 1, 60000, sgw_now_ms(), &val),
	    SGW_STORE_OK);
	assert_int_equal(
	    st->ops->counter_del(st, "f:u:bob"), SGW_STORE_UNAVAILABLE);
	if (strstr(st->errstr, "NOPERM") == NULL)
		fail_msg("counter_del refused: \"%s\"", st->errstr);
	assert_int_equal(raw_int(f, "EXISTS %sf:u:bob", f->prefix), 1);
	sgw_store_close(st);
	sgw_conf_free(&c);
	freeReplyObject(raw(f, "ACL DELUSER %s", user));
}

/* A server of its own with requirepass: that is the default user's
 * password, which the shared server's raw connections must not need. */
static struct redis_server rp_srv;

static int
rp_setup(void **state)
{
	static const char *const args[] = {
	    "--requirepass", "s3cret pass", NULL};
	char why[256];

	(void)state;
	if (redis_server_start_with(&rp_srv, args, why, sizeof(why)) == -1) {
		fprintf(stderr, "%s\n", why);
		return -1;
	}
	return 0;
}

static int
rp_teardown(void **state)
{
	(void)state;
	redis_server_stop(&rp_srv);
	return 0;
}

/* A store on the requirepass server with extra [redis] lines; the
 * result of a get through it (errstr copied to err). */
static int
rp_get(const char *extra, const unsigned char h[SGW_HASH_LEN], int put_first,
    char *err, size_t errlen)
{
	struct sgw_conf c;
	struct sgw_store *st;
	struct sgw_record r = rec_now("alice", 60000, 120000);
	char why[512];
	int rc;

	memset(&c, 0, sizeof(c));
	if ((st = store_for(&c, rp_srv.port, "rp:", extra, why, sizeof(why))) ==
	    NULL) {
		sgw_conf_free(&c);
		snprintf(err, errlen, "%s", why);
		return -100;
	}
	rc = put_first ? st->ops->put(st, h, &r, sgw_now_ms()) : SGW_STORE_OK;
	if (rc == SGW_STORE_OK)
		rc = st->ops->get(st, h, &r);
	snprintf(err, errlen, "%s", st->errstr);
	sgw_store_close(st);
	sgw_conf_free(&c);
	return rc;
}

static void
requirepass_password_alone(void **state)
{
	unsigned char h[SGW_HASH_LEN];
	char err[600];

	(void)state;
	new_hash(h, NULL);
	if (rp_get("password = s3cret pass\n", h, 1, err, sizeof(err)) !=
	    SGW_STORE_OK)
		fail_msg("put and get with the password: %s", err);
	/* Without it, or with a wrong one: an error that says why. */
	assert_int_equal(
	    rp_get(NULL, h, 0, err, sizeof(err)), SGW_STORE_UNAVAILABLE);
	if (strstr(err, "NOAUTH") == NULL)
		fail_msg("no password: \"%s\"", err);
	assert_int_equal(rp_get("password = nope\n", h, 0, err, sizeof(err)),
	    SGW_STORE_UNAVAILABLE);
	if (strstr(err, "WRONGPASS") == NULL &&
	    strstr(err, "invalid password") == NULL)
		fail_msg("wrong password: \"%s\"", err);
}

/* ---- failures of Redis itself ---- */

static void
unreachable_redis_is_an_error(void **state)
{
	struct sgw_conf conf;
	struct sgw_errs errs = {0};
	struct sgw_store *st;
	struct sgw_record r = rec_now("alice", 60000, 120000);
	struct sgw_stored *v = (struct sgw_stored *)1;
	unsigned char h[SGW_HASH_LEN];
	char why[512];
	int64_t val, ttl, t0;
	size_t n = 7;
	int port = test_free_port();

	(void)state;
	assert_true(port > 0);
	memset(&conf, 0, sizeof(conf));
	/* A worker opens it anyway (it connects lazily)... */
	assert_non_null(
	    st = store_for(&conf, port, "x:", NULL, why, sizeof(why)));
	new_hash(h, NULL);
	t0 = sgw_mono_ms();
	assert_int_equal(st->ops->get(st, h, &r), SGW_STORE_UNAVAILABLE);
	assert_true(st->errstr[0] != '\0');
	st->errstr[0] = '\0';
	assert_int_equal(
	    st->ops->put(st, h, &r, sgw_now_ms()), SGW_STORE_UNAVAILABLE);
	assert_true(st->errstr[0] != '\0');
	assert_int_equal(
	    st->ops->user_sessions(st, "alice", &v, &n), SGW_STORE_UNAVAILABLE);
	assert_null(v);
	assert_int_equal(n, 0);
	assert_int_equal(
	    st->ops->counter_get(st, "l:u:alice", sgw_now_ms(), &val, &ttl),
	    SGW_STORE_UNAVAILABLE);
	assert_int_equal(
	    st->ops->counter_add(st, "f:u:alice", 1, 1000, sgw_now_ms(), &val),
	    SGW_STORE_UNAVAILABLE);
	assert_int_equal(st->ops->ping(st), SGW_STORE_UNAVAILABLE);
	assert_true(sgw_mono_ms() - t0 < 1000);
	sgw_store_close(st);

	/* ...but sessiongw -t says at once that it cannot be reached (and
	 * a starting gateway that it is configured right: 1, not -1). */
	assert_int_equal(sgw_store_check(&conf, &errs), 1);
	assert_int_equal(errs.n, 1);
	assert_non_null(strstr(errs.msg[0], "store redis:"));
	sgw_errs_clear(&errs);
	sgw_conf_free(&conf);
}

/* A read of n sessions (get, or get_many when n > 1) with redis
 * stopped: a timeout within about command_timeout, whatever n is. */
static void
stopped_read_times_out(
    struct fx *f, const unsigned char (*h)[SGW_HASH_LEN], size_t n)
{
	struct sgw_record r[SGW_STORE_BATCH_MAX];
	int found[SGW_STORE_BATCH_MAX];
	int64_t t0, dt;
	int rc;

	assert_int_equal(kill(g.srv.pid, SIGSTOP), 0);
	t0 = sgw_mono_ms();
	rc = n == 1 ? f->st->ops->get(f->st, h[0], r)
	            : f->st->ops->get_many(f->st, n, h, r, found);
	dt = sgw_mono_ms() - t0;
	assert_int_equal(kill(g.srv.pid, SIGCONT), 0);
	assert_int_equal(rc, SGW_STORE_TIMEOUT);
	assert_true(f->st->errstr[0] != '\0');
	if (dt < CMD_TIMEOUT_MS / 2 || dt >= 1000)
		fail_msg(
		    "a read of %zu took %lld ms with command_timeout %d ms", n,
		    (long long)dt, CMD_TIMEOUT_MS);
}

static void
stopped_redis_times_out_and_recovers(void **state)
{
	struct fx *f = *state;
	unsigned char h[SGW_HASH_LEN];
	struct sgw_record r;

	make(f, h, "alice", 60000, 120000, 0, NULL);
	alarm(5);
	stopped_read_times_out(f, &h, 1);
	/* The same store object works again once Redis does. */
	assert_int_equal(f->st->ops->get(f->st, h, &r), SGW_STORE_OK);
	/* And the new connection has the timeout too (hiredis forgets it
	 * on reconnect): it times out again instead of hanging. */
	stopped_read_times_out(f, &h, 1);
	assert_int_equal(f->st->ops->get(f->st, h, &r), SGW_STORE_OK);
	alarm(0);
}

static void
restarted_redis_is_found_again(void **state)
{
	struct fx *f = *state;
	struct sgw_record r = rec_now("alice", 60000, 120000);
	unsigned char old[SGW_HASH_LEN], h[SGW_HASH_LEN];

	make(f, old, "alice", 60000, 120000, 0, NULL);
	assert_int_equal(redis_server_restart(&g.srv), 0);
	redisFree(f->raw);
	assert_non_null(f->raw = redis_server_connect(g.srv.port));
	assert_int_equal(f->raw->err, 0);

	/* The store's connection is dead; the very next call still works
	 * (a put may be sent again on a new connection). */
	new_hash(h, NULL);
	if (f->st->ops->put(f->st, h, &r, sgw_now_ms()) != SGW_STORE_OK)
		fail_msg("put after restart: %s", f->st->errstr);
	assert_int_equal(f->st->ops->get(f->st, h, &r), SGW_STORE_OK);
	/* No persistence: what was there before is gone, not an error. */
	assert_int_equal(f->st->ops->get(f->st, old, &r), SGW_STORE_NOTFOUND);
	assert_int_equal(f->st->ops->ping(f->st), SGW_STORE_OK);
}

/* Makes Redis close every connection but the raw one. */
static void
kill_store_connection(struct fx *f)
{
	assert_true(raw_int(f, "CLIENT KILL TYPE normal SKIPME yes") >= 1);
}

static void
counter_add_is_not_sent_twice(void **state)
{
	struct fx *f = *state;
	const struct sgw_store_ops *o = f->st->ops;
	struct sgw_record r = rec_now("alice", 60000, 120000);
	unsigned char h[SGW_HASH_LEN];
	int64_t v = -1;
	redisReply *c;
	int ok = 0, failed = 0;

	/* issue 7 item 11: an increment that may have run before the
	 * connection broke is not sent again, or one failed login could
	 * count twice. Redis closes the store's connection between two
	 * calls; the next add fails (an error, not a silent retry), and the
	 * counter holds exactly one increment per add that succeeded. */
	for (int i = 0; i < 4; i++) {
		int rc = o->counter_add(
		    f->st, "f:u:alice", 1, 60000, sgw_now_ms(), &v);

		if (rc == SGW_STORE_OK) {
			ok++;
			assert_int_equal(v, ok);
		} else {
			assert_int_equal(rc, SGW_STORE_UNAVAILABLE);
			assert_true(f->st->errstr[0] != '\0');
			failed++;
		}
		if (i == 1)
			kill_store_connection(f);
	}
	assert_int_equal(failed, 1);
	assert_int_equal(ok, 3);
	c = raw(f, "GET %sf:u:alice", f->prefix);
	assert_int_equal(c->type, REDIS_REPLY_STRING);
	assert_int_equal(strtoll(c->str, NULL, 10), ok);
	freeReplyObject(c);

	/* A read, harmless to repeat, is sent again on a new connection:
	 * the caller never sees the broken one. */
	new_hash(h, NULL);
	assert_int_equal(o->put(f->st, h, &r, sgw_now_ms()), SGW_STORE_OK);
	kill_store_connection(f);
	assert_int_equal(o->get(f->st, h, &r), SGW_STORE_OK);
	kill_store_connection(f);
	assert_int_equal(
	    o->counter_get(f->st, "f:u:alice", sgw_now_ms(), &v, &v),
	    SGW_STORE_OK);
}

/* The calls of one command since CONFIG RESETSTAT, from INFO
 * commandstats (0 when it did not run). */
static long long
calls_of(struct fx *f, const char *cmd)
{
	redisReply *r = raw(f, "INFO commandstats");
	char needle[64];
	const char *p;
	long long n = 0;

	snprintf(needle, sizeof(needle), "cmdstat_%s:calls=", cmd);
	if ((p = strstr(r->str, needle)) != NULL)
		n = strtoll(p + strlen(needle), NULL, 10);
	freeReplyObject(r);
	return n;
}

static void
check_path_runs_no_script(void **state)
{
	struct fx *f = *state;
	unsigned char h[SGW_HASH_LEN];
	struct sgw_record r;

	make(f, h, "alice", 60000, 120000, 0, NULL);
	freeReplyObject(raw(f, "CONFIG RESETSTAT"));
	assert_int_equal(f->st->ops->get(f->st, h, &r), SGW_STORE_OK);
	/* A check with no refresh due is that one get. */
	assert_int_equal(check(f, h, 60000, 120000, NULL), SGW_STORE_OK);
	assert_int_equal(calls_of(f, "hmget"), 2);
	assert_int_equal(calls_of(f, "evalsha"), 0);
	assert_int_equal(calls_of(f, "eval"), 0);
	assert_int_equal(calls_of(f, "hgetall"), 0);
	/* The check above can fail: a write does run a script (a tenth of
	 * this idle timeout has passed). */
	test_msleep(30);
	assert_int_equal(check(f, h, 250, 120000, NULL), SGW_STORE_OK);
	assert_true(calls_of(f, "evalsha") + calls_of(f, "eval") >= 1);
}

static void
flush_scripts(struct fx *f)
{
	freeReplyObject(raw(f, "SCRIPT FLUSH"));
}

static void
every_operation_survives_script_flush(void **state)
{
	struct fx *f = *state;
	const struct sgw_store_ops *o = f->st->ops;
	struct sgw_record r = rec_now("alice", 60000, 120000);
	struct sgw_stored *v = NULL;
	unsigned char h[SGW_HASH_LEN];
	char *val = NULL;
	size_t len, n;
	int64_t x, ttl, t;
	uint64_t active;

	new_hash(h, NULL);
	flush_scripts(f);
	assert_int_equal(o->put(f->st, h, &r, sgw_now_ms()), SGW_STORE_OK);
	flush_scripts(f);
	assert_int_equal(o->get(f->st, h, &r), SGW_STORE_OK);
	flush_scripts(f);
	t = sgw_now_ms();
	assert_int_equal(o->refresh(f->st, h, t, t + 60000, t), SGW_STORE_OK);
	flush_scripts(f);
	assert_int_equal(
	    o->user_sessions(f->st, "alice", &v, &n), SGW_STORE_OK);
	assert_int_equal(n, 1);
	free(v);
	flush_scripts(f);
	assert_int_equal(o->data_put(f->st, h, "k", "v", 1, SGW_DATA_MAX_KEYS),
	    SGW_STORE_OK);
	flush_scripts(f);
	assert_int_equal(o->data_get(f->st, h, "k", &val, &len), SGW_STORE_OK);
	free(val);
	flush_scripts(f);
	assert_int_equal(o->data_del(f->st, h, "k"), SGW_STORE_OK);
	flush_scripts(f);
	assert_int_equal(
	    o->counter_add(f->st, "f:u:alice", 1, 60000, sgw_now_ms(), &x),
	    SGW_STORE_OK);
	assert_int_equal(x, 1);
	flush_scripts(f);
	assert_int_equal(
	    o->counter_get(f->st, "f:u:alice", sgw_now_ms(), &x, &ttl),
	    SGW_STORE_OK);
	assert_int_equal(x, 1);
	flush_scripts(f);
	assert_int_equal(
	    o->counter_set(f->st, "l:u:alice", 1, 60000, sgw_now_ms()),
	    SGW_STORE_OK);
	flush_scripts(f);
	assert_int_equal(o->counter_del(f->st, "l:u:alice"), SGW_STORE_OK);
	flush_scripts(f);
	assert_int_equal(o->active(f->st, sgw_now_ms(), &active), SGW_STORE_OK);
	assert_int_equal(active, 1);
	flush_scripts(f);
	assert_int_equal(o->del(f->st, h), SGW_STORE_OK);
	assert_int_equal(session_exists(f, h), 0);
	flush_scripts(f);
	assert_int_equal(o->ping(f->st), SGW_STORE_OK);
}

/* The check's HMGET is written by hand (store_redis.c): it must name the
 * key put wrote, for key lengths of two and three digits and the longest
 * prefix a configuration accepts. */
static void
hand_written_hmget_reads_every_prefix(void **state)
{
	struct fx *f = *state;
	char prefixes[3][160];

	snprintf(prefixes[0], sizeof(prefixes[0]), "%sa:", f->prefix);
	snprintf(prefixes[1], sizeof(prefixes[1]), "%s%s", f->prefix,
	    "thirty-four-bytes-of-prefix-here:");
	snprintf(prefixes[2], sizeof(prefixes[2]), "%s", f->prefix);
	memset(prefixes[2] + strlen(f->prefix), 'p', 128 - strlen(f->prefix));
	prefixes[2][128] = '\0';
	for (size_t i = 0; i < 3; i++) {
		struct sgw_conf c;
		struct sgw_store *st;
		struct sgw_record r = rec_now("henry", 60000, 120000), back;
		unsigned char h[SGW_HASH_LEN], other[SGW_HASH_LEN];
		char why[512], hex[SGW_HASH_HEX];
		redisReply *u;

		memset(&c, 0, sizeof(c));
		st = store_for(
		    &c, g.srv.port, prefixes[i], NULL, why, sizeof(why));
		assert_non_null(st);
		new_hash(h, NULL);
		new_hash(other, NULL);
		r.remember_me = 1;
		snprintf(r.client, sizeof(r.client), "192.0.2.%zu", i);
		assert_int_equal(
		    st->ops->put(st, h, &r, sgw_now_ms()), SGW_STORE_OK);
		assert_int_equal(st->ops->get(st, h, &back), SGW_STORE_OK);
		assert_string_equal(back.user, "henry");
		assert_string_equal(back.client, r.client);
		assert_memory_equal(back.agent, r.agent, SGW_AGENT_LEN);
		assert_int_equal(back.created_ms, r.created_ms);
		assert_int_equal(back.seen_ms, r.seen_ms);
		assert_int_equal(back.expires_ms, r.expires_ms);
		assert_int_equal(back.deadline_ms, r.deadline_ms);
		assert_int_equal(back.remember_me, 1);
		assert_int_equal(
		    st->ops->get(st, other, &back), SGW_STORE_NOTFOUND);
		/* The key is the documented one. */
		sgw_token_hash_hex(h, hex);
		u = raw(f, "HGET %ss:%s u", prefixes[i], hex);
		assert_int_equal(u->type, REDIS_REPLY_STRING);
		assert_string_equal(u->str, "henry");
		freeReplyObject(u);
		sgw_store_close(st);
		sgw_conf_free(&c);
	}
}

/* ---- reading ahead: the HMGETs of a batch go together ---- */

/* Redis's count of read events (INFO stats): one per read of a client's
 * socket, so one per round trip of a client that waits for its replies. */
static long long
reads_processed(struct fx *f)
{
	redisReply *r = raw(f, "INFO stats");
	const char *p = strstr(r->str, "total_reads_processed:");
	long long n = p != NULL ? strtoll(p + 22, NULL, 10) : -1;

	freeReplyObject(r);
	if (n < 0)
		fail_msg("INFO stats has no total_reads_processed");
	return n;
}

/* Each of the n sessions, read with get, is what get_many read. */
static void
batch_reads_as_get(struct fx *f, size_t n,
    const unsigned char (*h)[SGW_HASH_LEN], const struct sgw_record *out,
    const int *rc)
{
	for (size_t i = 0; i < n; i++) {
		struct sgw_record one;

		assert_int_equal(rc[i], f->st->ops->get(f->st, h[i], &one));
		if (rc[i] != SGW_STORE_OK)
			continue;
		assert_string_equal(out[i].user, one.user);
		assert_string_equal(out[i].client, one.client);
		assert_memory_equal(out[i].agent, one.agent, SGW_AGENT_LEN);
		assert_string_equal(out[i].id, one.id);
		assert_int_equal(out[i].created_ms, one.created_ms);
		assert_int_equal(out[i].seen_ms, one.seen_ms);
		assert_int_equal(out[i].expires_ms, one.expires_ms);
		assert_int_equal(out[i].deadline_ms, one.deadline_ms);
		assert_int_equal(out[i].remember_me, one.remember_me);
	}
}

static void
a_batch_is_one_round_trip(void **state)
{
	struct fx *f = *state;
	const struct sgw_store_ops *o = f->st->ops;
	unsigned char h[SGW_STORE_BATCH_MAX][SGW_HASH_LEN];
	struct sgw_record out[SGW_STORE_BATCH_MAX], one;
	int rc[SGW_STORE_BATCH_MAX], found = 0;
	long long r0, apart, together;

	for (int i = 0; i < SGW_STORE_BATCH_MAX; i++) {
		char user[16];

		snprintf(user, sizeof(user), "user%d", i);
		if (i % 5 == 3)
			new_hash(h[i], NULL); /* never stored */
		else
			make(f, h[i], user, 60000, 120000, 0, NULL);
	}
	assert_int_equal(o->ping(f->st), SGW_STORE_OK);
	r0 = reads_processed(f);
	for (int i = 0; i < SGW_STORE_BATCH_MAX; i++)
		(void)o->get(f->st, h[i], &one);
	apart = reads_processed(f) - r0;
	r0 = reads_processed(f);
	if (o->get_many(f->st, SGW_STORE_BATCH_MAX, h, out, rc) != SGW_STORE_OK)
		fail_msg("get_many: %s", f->st->errstr);
	together = reads_processed(f) - r0;
	print_message("%d sessions: %lld reads of Redis one by one, %lld "
	              "together (INFO's own included)\n",
	    SGW_STORE_BATCH_MAX, apart, together);
	assert_true(apart >= SGW_STORE_BATCH_MAX);
	assert_true(together <= 2);
	for (int i = 0; i < SGW_STORE_BATCH_MAX; i++) {
		char user[16];

		snprintf(user, sizeof(user), "user%d", i);
		assert_int_equal(
		    rc[i], i % 5 == 3 ? SGW_STORE_NOTFOUND : SGW_STORE_OK);
		if (rc[i] == SGW_STORE_OK) {
			assert_string_equal(out[i].user, user);
			found++;
		}
	}
	assert_int_equal(found, SGW_STORE_BATCH_MAX - 3);
	batch_reads_as_get(f, SGW_STORE_BATCH_MAX, h, out, rc);
}

/* Replies the check's own buffer does not take are read by hiredis, and
 * read as get reads them: 16 replies of over 1 KiB each (over the 16 KiB
 * buffer), and a field of over 1 KiB. Two replies of 1 KiB fit. */
static void
long_replies_are_read_as_get_reads_them(void **state)
{
	struct fx *f = *state;
	unsigned char h[SGW_STORE_BATCH_MAX][SGW_HASH_LEN],
	    two[2][SGW_HASH_LEN];
	struct sgw_record out[SGW_STORE_BATCH_MAX];
	int rc[SGW_STORE_BATCH_MAX];
	char big[2001], hex[SGW_HASH_HEX];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (int i = 0; i < SGW_STORE_BATCH_MAX; i++) {
		make(f, h[i], "alice", 60000, 120000, 0, NULL);
		sgw_token_hash_hex(h[i], hex);
		/* 1,000 bytes of agent field each: a valid session whose
		 * reply is about 1,130 bytes. */
		freeReplyObject(raw(
		    f, "HSET %ss:%s a %b", f->prefix, hex, big, (size_t)1000));
	}
	for (size_t n = 2; n <= SGW_STORE_BATCH_MAX; n += 14) {
		if (f->st->ops->get_many(f->st, n, h, out, rc) != SGW_STORE_OK)
			fail_msg("get_many %zu: %s", n, f->st->errstr);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(rc[i], SGW_STORE_OK);
		assert_memory_equal(out[n - 1].agent, big, SGW_AGENT_LEN);
		batch_reads_as_get(f, n, h, out, rc);
	}
	/* A client of 2,000 bytes: a session no get accepts. */
	make(f, two[0], "bob", 60000, 120000, 0, NULL);
	memcpy(two[1], h[0], SGW_HASH_LEN);
	sgw_token_hash_hex(two[0], hex);
	freeReplyObject(raw(f, "HSET %ss:%s c %s", f->prefix, hex, big));
	if (f->st->ops->get_many(f->st, 2, two, out, rc) != SGW_STORE_OK)
		fail_msg("get_many: %s", f->st->errstr);
	assert_int_equal(rc[0], SGW_STORE_NOTFOUND);
	assert_int_equal(rc[1], SGW_STORE_OK);
	assert_string_equal(out[1].user, "alice");
	batch_reads_as_get(f, 2, two, out, rc);
}

/* An error reply fails the whole batch with Redis's words; the replies
 * still due are not taken for what is asked next. */
static void
an_error_reply_fails_the_batch_and_nothing_after(void **state)
{
	struct fx *f = *state;
	unsigned char h[3][SGW_HASH_LEN];
	struct sgw_record out[3], one;
	int rc[3];
	char hex[SGW_HASH_HEX];

	make(f, h[0], "alice", 60000, 120000, 0, NULL);
	make(f, h[1], "bob", 60000, 120000, 0, NULL);
	make(f, h[2], "carol", 60000, 120000, 0, NULL);
	sgw_token_hash_hex(h[1], hex);
	freeReplyObject(raw(f, "DEL %ss:%s", f->prefix, hex));
	freeReplyObject(raw(f, "SET %ss:%s not-a-hash", f->prefix, hex));
	assert_int_equal(
	    f->st->ops->get_many(f->st, 3, h, out, rc), SGW_STORE_UNAVAILABLE);
	assert_non_null(strstr(f->st->errstr, "WRONGTYPE"));
	assert_int_equal(f->st->ops->get(f->st, h[0], &one), SGW_STORE_OK);
	assert_string_equal(one.user, "alice");
	assert_int_equal(f->st->ops->get(f->st, h[2], &one), SGW_STORE_OK);
	assert_string_equal(one.user, "carol");
}

/* A batch waits for a stopped Redis as one get does, then recovers. */
static void
stopped_redis_fails_a_batch_within_one_timeout(void **state)
{
	struct fx *f = *state;
	unsigned char h[SGW_STORE_BATCH_MAX][SGW_HASH_LEN];
	struct sgw_record out[SGW_STORE_BATCH_MAX];
	int rc[SGW_STORE_BATCH_MAX];

	for (int i = 0; i < SGW_STORE_BATCH_MAX; i++)
		make(f, h[i], "alice", 60000, 120000, 0, NULL);
	alarm(5);
	stopped_read_times_out(f, h, SGW_STORE_BATCH_MAX);
	if (f->st->ops->get_many(f->st, SGW_STORE_BATCH_MAX, h, out, rc) !=
	    SGW_STORE_OK)
		fail_msg("after SIGCONT: %s", f->st->errstr);
	batch_reads_as_get(f, SGW_STORE_BATCH_MAX, h, out, rc);
	alarm(0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(redis_holds_hash_not_token),
	    T(agent_field_carries_the_public_id),
	    T(hand_written_hmget_reads_every_prefix),
	    T(a_sessions_lifetime_is_its_ttl),
	    T(absolute_end_is_never_extended),
	    T(check_within_a_tenth_does_not_rewrite),
	    T(expired_session_is_not_revived),
	    T(max_per_user_never_ends_the_new_one),
	    T(index_outlives_every_session),
	    T(ttl_expiries_are_counted_when_the_index_is_read),
	    T(key_prefix_isolates_gateways),
	    T(acl_user_and_database),
	    cmocka_unit_test_setup_teardown(
	        requirepass_password_alone, rp_setup, rp_teardown),
	    cmocka_unit_test(unreachable_redis_is_an_error),
	    T(stopped_redis_times_out_and_recovers),
	    T(restarted_redis_is_found_again),
	    T(counter_add_is_not_sent_twice),
	    T(check_path_runs_no_script),
	    T(every_operation_survives_script_flush),
	    T(a_batch_is_one_round_trip),
	    T(long_replies_are_read_as_get_reads_them),
	    T(an_error_reply_fails_the_batch_and_nothing_after),
	    T(stopped_redis_fails_a_batch_within_one_timeout),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
