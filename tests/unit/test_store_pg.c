/*
 * store_pg: the PostgreSQL backend against a real PostgreSQL 15.
 *
 * The group set-up makes a private server itself (initdb into a temporary
 * directory as the `postgres` user, pg_ctl on a free loopback port, a
 * database sessiongw), so ctest needs nothing started by hand; the tests
 * are skipped, with the reason, when that cannot be done here (not root,
 * no server binaries). Every test gets its own table prefix, so tests
 * never see each other's rows, and a raw libpq connection looks at what
 * the store left in the tables, since the tables are part of the contract
 * (SPEC section 7).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "store.h"
#include "pg_server.h"
#include "redis_server.h" /* test_msleep, test_free_port */
#include "store_pg.h"
#include "timefmt.h"

#define CMD_TIMEOUT_MS 200

static const struct sgw_store_backend *const B = &sgw_store_postgres;

/* The private server the whole group shares. */
static struct {
	const char *skip; /* why the tests cannot run here, or NULL */
	struct pg_server srv;
	unsigned next_prefix;
} g;

/* Per test: its own prefix, options, store and raw connection. */
struct fx {
	char prefix[16];
	char conninfo[256];
	struct sgw_postgres_conf pc;
	struct sgw_store *st;
	PGconn *raw;
};

/* ---- helpers ---- */

static PGconn *
raw_connect(const char *db)
{
	char ci[256];
	PGconn *c;

	pg_server_conninfo(&g.srv, db, ci, sizeof(ci));
	c = PQconnectdb(ci);
	if (PQstatus(c) != CONNECTION_OK) {
		PQfinish(c);
		return NULL;
	}
	return c;
}

static int
pg_start(void)
{
	if (pg_server_boot(&g.srv) == 0)
		return 0;
	pg_server_dump(&g.srv, "cmd.log");
	pg_server_dump(&g.srv, "log");
	return -1;
}

static int
pg_stop(void)
{
	return pg_server_halt(&g.srv);
}

/* A hang must fail the run, not block CI: leave no server behind. */
static void
on_alarm(int sig)
{
	static const char msg[] = "test_store_pg: a call hung\n";

	(void)sig;
	if (g.srv.postmaster > 0)
		kill(g.srv.postmaster, SIGQUIT);
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(1);
}

static int
group_setup(void **state)
{
	static char why[256];
	struct sigaction sa = {0};

	(void)state;
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	if (pg_server_available(why, sizeof(why)) == -1) {
		g.skip = why;
		return 0;
	}
	alarm(120);
	if (pg_server_start(&g.srv, why, sizeof(why)) == -1) {
		fprintf(stderr, "%s\n", why);
		return -1;
	}
	alarm(0);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	if (g.skip != NULL)
		return 0;
	pg_server_remove(&g.srv);
	return 0;
}

static void
fx_opts(struct fx *f, int create)
{
	f->pc.conninfo = f->conninfo;
	f->pc.table_prefix = f->prefix;
	f->pc.create_tables = create;
	f->pc.connect_timeout_ms = 2000;
	f->pc.command_timeout_ms = CMD_TIMEOUT_MS;
}

static struct sgw_store *
open_store(struct fx *f, enum sgw_store_mode mode, char *err, size_t errlen)
{
	return B->open(NULL, &f->pc, mode, err, errlen);
}

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[512] = "";

	if (f == NULL)
		return -1;
	*state = f;
	if (g.skip != NULL)
		return 0;
	alarm(60);
	snprintf(f->prefix, sizeof(f->prefix), "t%u_", ++g.next_prefix);
	snprintf(f->conninfo, sizeof(f->conninfo),
	    "host=127.0.0.1 port=%d user=sgw dbname=sessiongw "
	    "application_name=sgwtest_%s",
	    g.srv.port, f->prefix);
	fx_opts(f, 1);
	if ((f->raw = raw_connect("sessiongw")) == NULL) {
		fprintf(stderr, "raw connection failed\n");
		return -1;
	}
	if ((f->st = open_store(f, SGW_STORE_SERVE, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "open: %s\n", err);
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
	if (f->st != NULL)
		f->st->ops->close(f->st);
	if (f->raw != NULL)
		PQfinish(f->raw);
	free(f);
	alarm(0);
	return 0;
}

static struct fx *
need_pg(void **state)
{
	if (g.skip != NULL) {
		print_message("skipped: %s\n", g.skip);
		skip();
	}
	return *state;
}

/* A raw query that must succeed; the first value of the first row, as
 * text ("" when there is none), in a static buffer. */
static const char *
q(struct fx *f, const char *fmt, ...)
{
	static char val[256];
	char sql[1024];
	va_list ap;
	PGresult *r;
	ExecStatusType st;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	r = PQexec(f->raw, sql);
	st = PQresultStatus(r);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
		fail_msg("%s: %s", sql, PQresultErrorMessage(r));
	snprintf(val, sizeof(val), "%s",
	    st == PGRES_TUPLES_OK && PQntuples(r) > 0 ? PQgetvalue(r, 0, 0)
	                                              : "");
	PQclear(r);
	return val;
}

static void
hash_of(unsigned char h[SGW_HASH_LEN], unsigned n)
{
	for (int i = 0; i < SGW_HASH_LEN; i++)
		h[i] = (unsigned char)(n * 31 + (unsigned)i);
}

static struct sgw_record
rec_of(const char *user, int64_t created, int64_t deadline, int64_t expires)
{
	struct sgw_record r = {0};

	snprintf(r.user, sizeof(r.user), "%s", user);
	snprintf(r.client, sizeof(r.client), "192.0.2.7");
	for (int i = 0; i < SGW_AGENT_LEN; i++)
		r.agent[i] = (unsigned char)(0xa0 + i);
	r.created_ms = created;
	r.seen_ms = created;
	r.deadline_ms = deadline;
	r.expires_ms = expires;
	r.remember_me = 1;
	return r;
}

#define NOW 1800000000000LL /* a fixed "now": times are the caller's */

static void
put_one(struct fx *f, unsigned n, const char *user, int64_t created,
    int64_t deadline, int64_t expires)
{
	unsigned char h[SGW_HASH_LEN];
	struct sgw_record r = rec_of(user, created, deadline, expires);

	hash_of(h, n);
	assert_int_equal(f->st->ops->put(f->st, h, &r, NOW), SGW_STORE_OK);
}

/* ---- sessions ---- */

static void
put_then_get_returns_every_field(void **state)
{
	struct fx *f = need_pg(state);
	unsigned char h[SGW_HASH_LEN], other[SGW_HASH_LEN];
	struct sgw_record in = rec_of("alice", NOW, NOW + 60000, NOW + 3600000),
	                  out;

	in.seen_ms = NOW + 5;
	in.remember_me = 1;
	hash_of(h, 1);
	hash_of(other, 2);
	assert_int_equal(f->st->ops->put(f->st, h, &in, NOW), SGW_STORE_OK);
	memset(&out, 0x55, sizeof(out));
	assert_int_equal(f->st->ops->get(f->st, h, &out), SGW_STORE_OK);
	assert_string_equal(out.user, "alice");
	assert_string_equal(out.client, "192.0.2.7");
	assert_memory_equal(out.agent, in.agent, SGW_AGENT_LEN);
	assert_true(out.created_ms == NOW && out.seen_ms == NOW + 5);
	assert_true(
	    out.deadline_ms == NOW + 60000 && out.expires_ms == NOW + 3600000);
	assert_int_equal(out.remember_me, 1);
	assert_int_equal(
	    f->st->ops->get(f->st, other, &out), SGW_STORE_NOTFOUND);
	/* The row is keyed by the hash as given. */
	assert_string_equal(
	    q(f, "SELECT encode(hash, 'hex') FROM %ssessions", f->prefix),
	    "1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e");
}

static void
get_returns_a_record_past_its_deadline(void **state)
{
	struct fx *f = need_pg(state);
	unsigned char h[SGW_HASH_LEN];
	struct sgw_record out;

	/* The policy decides what expired; the store only stores. */
	put_one(f, 1, "alice", NOW - 10000, NOW - 1, NOW + 10000);
	hash_of(h, 1);
	assert_int_equal(f->st->ops->get(f->st, h, &out), SGW_STORE_OK);
	assert_true(out.deadline_ms == NOW - 1);
}

static void
refresh_sets_times_and_never_recreates(void **state)
{
	struct fx *f = need_pg(state);
	unsigned char h[SGW_HASH_LEN];
	struct sgw_record out;

	put_one(f, 1, "alice", NOW, NOW + 1000, NOW + 9000);
	hash_of(h, 1);
	assert_int_equal(
	    f->st->ops->refresh(f->st, h, NOW + 500, NOW + 1500, NOW + 500),
	    SGW_STORE_OK);
	assert_int_equal(f->st->ops->get(f->st, h, &out), SGW_STORE_OK);
	assert_true(out.seen_ms == NOW + 500 && out.deadline_ms == NOW + 1500);
	assert_true(out.created_ms == NOW && out.expires_ms == NOW + 9000);
	assert_int_equal(f->st->ops->del(f->st, h), SGW_STORE_OK);
	assert_int_equal(
	    f->st->ops->refresh(f->st, h, NOW + 600, NOW + 1600, NOW + 600),
	    SGW_STORE_NOTFOUND);
	assert_int_equal(f->st->ops->get(f->st, h, &out), SGW_STORE_NOTFOUND);
	assert_string_equal(
	    q(f, "SELECT count(*) FROM %ssessions", f->prefix), "0");
}

static void
del_ends_session_and_its_data(void **state)
{
	struct fx *f = need_pg(state);
	unsigned char h[SGW_HASH_LEN];

	put_one(f, 1, "alice", NOW, NOW + 1000, NOW + 9000);
	hash_of(h, 1);
	assert_int_equal(
	    f->st->ops->data_put(f->st, h, "k", "v", 1, 64), SGW_STORE_OK);
	assert_string_equal(
	    q(f, "SELECT count(*) FROM %sdata", f->prefix), "1");
	assert_int_equal(f->st->ops->del(f->st, h), SGW_STORE_OK);
	assert_int_equal(f->st->ops->del(f->st, h), SGW_STORE_NOTFOUND);
	assert_string_equal(
	    q(f, "SELECT count(*) FROM %sdata", f->prefix), "0");
}

static void
user_sessions_are_the_users_oldest_first(void **state)
{
	struct fx *f = need_pg(state);
	struct sgw_stored *v = (void *)1;
	unsigned char h[SGW_HASH_LEN];
	size_t n = 99;

	put_one(f, 1, "alice", NOW + 300, NOW + 1000, NOW + 9000);
	put_one(f, 2, "alice", NOW + 100, NOW + 1000, NOW + 9000);
	put_one(f, 3, "bob", NOW, NOW + 1000, NOW + 9000);
	put_one(
	    f, 4, "alice", NOW + 200, NOW - 1, NOW + 9000); /* past deadline */
	assert_int_equal(
	    f->st->ops->user_sessions(f->st, "alice", &v, &n), SGW_STORE_OK);
	assert_int_equal(n, 3);
	hash_of(h, 2);
	assert_memory_equal(v[0].hash, h, SGW_HASH_LEN);
	assert_true(v[0].rec.created_ms == NOW + 100);
	hash_of(h, 4);
	assert_memory_equal(v[1].hash, h, SGW_HASH_LEN);
	hash_of(h, 1);
	assert_memory_equal(v[2].hash, h, SGW_HASH_LEN);
	assert_string_equal(v[2].rec.user, "alice");
	free(v);
	assert_int_equal(
	    f->st->ops->user_sessions(f->st, "carol", &v, &n), SGW_STORE_OK);
	assert_int_equal(n, 0);
	assert_null(v);
}

/* ---- data ---- */

static void
data_round_trip_and_limits(void **state)
{
	struct fx *f = need_pg(state);
	const struct sgw_store_ops *o = f->st->ops;
	unsigned char h[SGW_HASH_LEN], gone[SGW_HASH_LEN];
	char *val = NULL;
	size_t len = 0;

	put_one(f, 1, "alice", NOW, NOW + 1000, NOW + 9000);
	hash_of(h, 1);
	hash_of(gone, 2);
	assert_int_equal(
	    o->data_put(f->st, gone, "k", "v", 1, 3), SGW_STORE_NOTFOUND);
	assert_int_equal(
	    o->data_get(f->st, gone, "k", &val, &len), SGW_STORE_NOTFOUND);
	assert_int_equal(o->data_del(f->st, gone, "k"), SGW_STORE_NOTFOUND);
	assert_int_equal(
	    o->data_get(f->st, h, "k1", &val, &len), SGW_STORE_NOTFOUND);
	assert_null(val);
	/* Values are bytes: a NUL inside is kept. */
	assert_int_equal(
	    o->data_put(f->st, h, "k1", "a\0b", 3, 3), SGW_STORE_OK);
	assert_int_equal(o->data_get(f->st, h, "k1", &val, &len), SGW_STORE_OK);
	assert_int_equal(len, 3);
	assert_memory_equal(val, "a\0b", 4);
	free(val);
	assert_int_equal(
	    o->data_put(f->st, h, "k1", "new", 3, 3), SGW_STORE_OK);
	assert_int_equal(o->data_get(f->st, h, "k1", &val, &len), SGW_STORE_OK);
	assert_string_equal(val, "new");
	free(val);
	assert_int_equal(o->data_put(f->st, h, "k2", "", 0, 3), SGW_STORE_OK);
	assert_int_equal(o->data_put(f->st, h, "k3", "3", 1, 3), SGW_STORE_OK);
	/* Three other keys: full; replacing one of the three is not. */
	assert_int_equal(
	    o->data_put(f->st, h, "k4", "4", 1, 3), SGW_STORE_FULL);
	assert_int_equal(o->data_put(f->st, h, "k3", "33", 2, 3), SGW_STORE_OK);
	assert_int_equal(o->data_get(f->st, h, "k2", &val, &len), SGW_STORE_OK);
	assert_int_equal(len, 0);
	free(val);
	assert_int_equal(o->data_del(f->st, h, "k1"), SGW_STORE_OK);
	assert_int_equal(o->data_del(f->st, h, "k1"), SGW_STORE_NOTFOUND);
	assert_int_equal(o->data_put(f->st, h, "k4", "4", 1, 3), SGW_STORE_OK);
	assert_string_equal(
	    q(f, "SELECT count(*) FROM %sdata", f->prefix), "3");
}

/* Puts of different keys racing for the last places of one session:
 * never more than max_keys. */
static void
data_put_limit_holds_under_concurrency(void **state)
{
	struct fx *f = need_pg(state);
	unsigned char h[SGW_HASH_LEN];
	pid_t kids[4];
	int full = 0;

	put_one(f, 1, "alice", NOW, NOW + 1000, NOW + 9000);
	hash_of(h, 1);
	for (int k = 0; k < 4; k++) {
		if ((kids[k] = fork()) == 0) {
			char err[256];
			struct sgw_store *st =
			    open_store(f, SGW_STORE_SERVE, err, sizeof(err));
			int bad = st == NULL;

			for (int i = 0; st != NULL && i < 10; i++) {
				char key[16];
				int rc;

				snprintf(key, sizeof(key), "c%d_%d", k, i);
				rc = st->ops->data_put(st, h, key, "x", 1, 5);
				if (rc != SGW_STORE_OK &&
				    rc != SGW_STORE_FULL) {
					fprintf(stderr, "data_put %s: %d %s\n",
					    key, rc, st->errstr);
					bad = 1;
				}
			}
			if (st != NULL)
				st->ops->close(st);
			_exit(bad);
		}
		assert_true(kids[k] > 0);
	}
	for (int k = 0; k < 4; k++) {
		int status;

		assert_int_equal(waitpid(kids[k], &status, 0), kids[k]);
		full |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	}
	assert_int_equal(full, 0);
	assert_string_equal(
	    q(f, "SELECT count(*) FROM %sdata", f->prefix), "5");
}

/* ---- counters ---- */

static void
counters_add_keep_their_lifetime_and_expire(void **state)
{
	struct fx *f = need_pg(state);
	const struct sgw_store_ops *o = f->st->ops;
	int64_t v = -1, ttl = -1;

	assert_int_equal(
	    o->counter_get(f->st, "f:u:alice", NOW, &v, &ttl), SGW_STORE_OK);
	assert_true(v == 0 && ttl == 0);
	assert_int_equal(o->counter_add(f->st, "f:u:alice", 1, 60000, NOW, &v),
	    SGW_STORE_OK);
	assert_true(v == 1);
	/* A live counter keeps the end it was given. */
	assert_int_equal(
	    o->counter_add(f->st, "f:u:alice", 2, 99999, NOW + 1000, &v),
	    SGW_STORE_OK);
	assert_true(v == 3);
	assert_int_equal(
	    o->counter_get(f->st, "f:u:alice", NOW + 2000, &v, &ttl),
	    SGW_STORE_OK);
	assert_true(v == 3 && ttl == 58000);
	/* At its end it is gone, and starts again from 0. */
	assert_int_equal(
	    o->counter_get(f->st, "f:u:alice", NOW + 60000, &v, &ttl),
	    SGW_STORE_OK);
	assert_true(v == 0 && ttl == 0);
	assert_int_equal(
	    o->counter_add(f->st, "f:u:alice", 5, 1000, NOW + 60000, &v),
	    SGW_STORE_OK);
	assert_true(v == 5);
	assert_int_equal(
	    o->counter_get(f->st, "f:u:alice", NOW + 60000, &v, &ttl),
	    SGW_STORE_OK);
	assert_true(v == 5 && ttl == 1000);
	/* set replaces value and lifetime; del is OK twice. */
	assert_int_equal(
	    o->counter_set(f->st, "f:u:alice", 42, 5000, NOW), SGW_STORE_OK);
	assert_int_equal(
	    o->counter_get(f->st, "f:u:alice", NOW, &v, &ttl), SGW_STORE_OK);
	assert_true(v == 42 && ttl == 5000);
	assert_int_equal(
	    o->counter_add(f->st, "f:c:192.0.2.1", -1, 5000, NOW, &v),
	    SGW_STORE_OK);
	assert_true(v == -1);
	assert_int_equal(o->counter_del(f->st, "f:u:alice"), SGW_STORE_OK);
	assert_int_equal(o->counter_del(f->st, "f:u:alice"), SGW_STORE_OK);
	assert_int_equal(
	    o->counter_get(f->st, "f:u:alice", NOW, &v, &ttl), SGW_STORE_OK);
	assert_true(v == 0 && ttl == 0);
}

/* ---- active, sweep ---- */

static void
active_counts_sessions_before_their_deadline(void **state)
{
	struct fx *f = need_pg(state);
	uint64_t n = 99;

	assert_int_equal(f->st->ops->active(f->st, NOW, &n), SGW_STORE_OK);
	assert_int_equal(n, 0);
	put_one(f, 1, "alice", NOW, NOW + 1000, NOW + 9000);
	put_one(f, 2, "alice", NOW, NOW, NOW + 9000); /* ends now */
	put_one(f, 3, "bob", NOW, NOW + 5000, NOW + 5000);
	assert_int_equal(f->st->ops->active(f->st, NOW, &n), SGW_STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(
	    f->st->ops->active(f->st, NOW + 1000, &n), SGW_STORE_OK);
	assert_int_equal(n, 1);
}

static void
sweep_removes_expired_in_bounded_batches(void **state)
{
	struct fx *f = need_pg(state);
	const struct sgw_store_ops *o = f->st->ops;
	unsigned char h[SGW_HASH_LEN];
	size_t gone = 0;
	int more = 0;
	int64_t v;

	/* 12 past their absolute end, 13 gone idle, 5 live. */
	for (unsigned i = 0; i < 12; i++)
		put_one(
		    f, 100 + i, "a", NOW - 9000, NOW - 100 - i, NOW - 100 - i);
	for (unsigned i = 0; i < 13; i++)
		put_one(f, 200 + i, "b", NOW - 9000, NOW - i, NOW + 9000);
	for (unsigned i = 0; i < 5; i++)
		put_one(f, 300 + i, "c", NOW - 9000, NOW + 1 + i, NOW + 9000);
	hash_of(h, 200);
	assert_int_equal(o->data_put(f->st, h, "k", "v", 1, 64), SGW_STORE_OK);
	assert_int_equal(
	    o->counter_add(f->st, "old", 1, 10, NOW - 100, &v), SGW_STORE_OK);
	assert_int_equal(
	    o->counter_add(f->st, "live", 1, 10000, NOW, &v), SGW_STORE_OK);

	assert_int_equal(o->sweep(f->st, NOW, 10, &gone, &more), SGW_STORE_OK);
	assert_int_equal(gone, 10);
	assert_int_equal(more, 1);
	/* Oldest first: the first batch took sessions past their end. */
	assert_string_equal(
	    q(f, "SELECT count(*) FROM %ssessions WHERE user_name = 'a'",
	        f->prefix),
	    "2");
	assert_int_equal(o->sweep(f->st, NOW, 10, &gone, &more), SGW_STORE_OK);
	assert_int_equal(gone, 10);
	assert_int_equal(more, 1);
	assert_int_equal(o->sweep(f->st, NOW, 10, &gone, &more), SGW_STORE_OK);
	assert_int_equal(gone, 5);
	assert_int_equal(more, 0);
	assert_int_equal(o->sweep(f->st, NOW, 10, &gone, &more), SGW_STORE_OK);
	assert_int_equal(gone, 0);
	assert_int_equal(more, 0);
	assert_string_equal(
	    q(f,
	        "SELECT string_agg(DISTINCT user_name, ',') FROM "
	        "%ssessions",
	        f->prefix),
	    "c");
	assert_string_equal(
	    q(f, "SELECT count(*) FROM %ssessions", f->prefix), "5");
	assert_string_equal(
	    q(f, "SELECT count(*) FROM %sdata", f->prefix), "0");
	assert_string_equal(
	    q(f, "SELECT string_agg(key, ',') FROM %scounters", f->prefix),
	    "live");
}

static void
sweep_says_more_when_exactly_max_are_left(void **state)
{
	struct fx *f = need_pg(state);
	size_t gone = 0;
	int more = 1;

	for (unsigned i = 0; i < 4; i++)
		put_one(f, 100 + i, "a", NOW - 9000, NOW - 1, NOW + 9000);
	assert_int_equal(
	    f->st->ops->sweep(f->st, NOW, 4, &gone, &more), SGW_STORE_OK);
	assert_int_equal(gone, 4);
	assert_int_equal(more, 0);
}

/* ---- HOT ---- */

static void
refresh_is_a_heap_only_update(void **state)
{
	struct fx *f = need_pg(state);
	unsigned char h[SGW_HASH_LEN];
	long upd = 0, hot = 0;
	const int n = 300;

	for (unsigned i = 0; i < 50; i++)
		put_one(f, i, "alice", NOW, NOW + 1000, NOW + 90000000);
	for (int i = 0; i < n; i++) {
		hash_of(h, (unsigned)i % 50);
		assert_int_equal(f->st->ops->refresh(f->st, h, NOW + i,
		                     NOW + 1000 + i, NOW + i),
		    SGW_STORE_OK);
	}
	/* A backend sends its table statistics when it ends (and at most
	 * once a second before that): close the store, then wait for them. */
	f->st->ops->close(f->st);
	f->st = NULL;
	for (int i = 0; i < 100 && upd < n; i++) {
		upd = atol(q(f,
		    "SELECT coalesce(n_tup_upd, 0) FROM pg_stat_user_tables "
		    "WHERE relname = '%ssessions'",
		    f->prefix));
		hot = atol(q(f,
		    "SELECT coalesce(n_tup_hot_upd, 0) FROM "
		    "pg_stat_user_tables "
		    "WHERE relname = '%ssessions'",
		    f->prefix));
		if (upd < n)
			test_msleep(50);
	}
	print_message("refreshes: %ld updates, %ld of them HOT\n", upd, hot);
	assert_int_equal(upd, n);
	assert_int_equal(hot, n);
}

/* ---- the schema ---- */

static int
table_exists(struct fx *f, const char *prefix, const char *name)
{
	return strcmp(
	           q(f, "SELECT to_regclass('%s%s') IS NOT NULL", prefix, name),
	           "t") == 0;
}

static void
concurrent_opens_create_the_schema_once(void **state)
{
	struct fx *f = need_pg(state);
	int go[2], status, bad = 0;
	pid_t kids[4];
	char c = 'x';

	/* A prefix nobody has used: the opens below race to create it. */
	snprintf(f->prefix, sizeof(f->prefix), "race%u_", ++g.next_prefix);
	assert_int_equal(pipe(go), 0);
	for (int k = 0; k < 4; k++) {
		if ((kids[k] = fork()) == 0) {
			char err[512] = "", b;
			struct sgw_store *st;

			close(go[1]);
			if (read(go[0], &b, 1) != 0)
				_exit(3);
			st = open_store(f, SGW_STORE_SERVE, err, sizeof(err));
			if (st == NULL) {
				fprintf(stderr, "open %d: %s\n", k, err);
				_exit(1);
			}
			if (st->ops->ping(st) != SGW_STORE_OK)
				_exit(2);
			st->ops->close(st);
			_exit(0);
		}
		assert_true(kids[k] > 0);
	}
	close(go[0]);
	(void)c;
	close(go[1]); /* every child's read returns 0 now: go */
	for (int k = 0; k < 4; k++) {
		assert_int_equal(waitpid(kids[k], &status, 0), kids[k]);
		bad |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	}
	assert_int_equal(bad, 0);
	assert_string_equal(
	    q(f, "SELECT count(*) || ':' || max(version) FROM %sschema",
	        f->prefix),
	    "1:1");
	assert_true(table_exists(f, f->prefix, "sessions"));
	assert_true(table_exists(f, f->prefix, "data"));
	assert_true(table_exists(f, f->prefix, "counters"));
}

static void
unknown_schema_version_is_refused(void **state)
{
	struct fx *f = need_pg(state);
	char err[512] = "";
	struct sgw_store *st;

	q(f, "UPDATE %sschema SET version = 7", f->prefix);
	st = open_store(f, SGW_STORE_SERVE, err, sizeof(err));
	assert_null(st);
	print_message("version 7: %s\n", err);
	assert_non_null(strstr(err, "schema version 7 in "));
	assert_non_null(strstr(err,
	    "schema is not one this sessiongw knows (1); "
	    "refusing to start"));
	st = open_store(f, SGW_STORE_CHECK, err, sizeof(err));
	assert_null(st);
	assert_non_null(strstr(err, "schema version 7"));
	/* A worker already running refuses too, once it reconnects. */
	q(f,
	    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
	    "application_name = 'sgwtest_%s'",
	    f->prefix);
	assert_true(SGW_STORE_FAILED(f->st->ops->ping(f->st)) ||
	    SGW_STORE_FAILED(f->st->ops->ping(f->st)));
	assert_non_null(strstr(f->st->errstr, "schema version 7"));
}

static void
create_tables_off_needs_the_tables(void **state)
{
	struct fx *f = need_pg(state);
	char err[512] = "";
	struct sgw_store *st;

	snprintf(f->prefix, sizeof(f->prefix), "none%u_", ++g.next_prefix);
	fx_opts(f, 0);
	st = open_store(f, SGW_STORE_SERVE, err, sizeof(err));
	assert_null(st);
	print_message("create_tables = off: %s\n", err);
	assert_non_null(strstr(err, "missing tables "));
	assert_non_null(strstr(err, "sessions"));
	assert_non_null(strstr(err, "sessiongw store init"));
	st = open_store(f, SGW_STORE_CHECK, err, sizeof(err));
	assert_null(st);
	assert_non_null(strstr(err, "missing tables "));
	assert_false(table_exists(f, f->prefix, "sessions"));
	assert_false(table_exists(f, f->prefix, "schema"));
}

static void
check_mode_creates_nothing_and_finds_wrong_shapes(void **state)
{
	struct fx *f = need_pg(state);
	char err[512] = "";
	struct sgw_store *st;

	/* create_tables = on: -t is happy that start-up will make them. */
	snprintf(f->prefix, sizeof(f->prefix), "chk%u_", ++g.next_prefix);
	st = open_store(f, SGW_STORE_CHECK, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(st->ops->ping(st), SGW_STORE_OK);
	st->ops->close(st);
	assert_false(table_exists(f, f->prefix, "sessions"));
	assert_false(table_exists(f, f->prefix, "schema"));
	/* A table of the wrong shape. */
	q(f,
	    "CREATE TABLE %scounters (key text PRIMARY KEY, value text, "
	    "expires_ms bigint)",
	    f->prefix);
	st = open_store(f, SGW_STORE_CHECK, err, sizeof(err));
	assert_null(st);
	print_message("wrong shape: %s\n", err);
	assert_non_null(strstr(err, "counters.value is text, not bigint"));
	st = open_store(f, SGW_STORE_SERVE, err, sizeof(err));
	assert_null(st);
	assert_non_null(strstr(err, "counters.value is text, not bigint"));
	/* The right columns without the key the statements need: preparing
	 * them says so. */
	q(f, "DROP TABLE %scounters", f->prefix);
	q(f,
	    "CREATE TABLE %scounters (key text NOT NULL, value bigint, "
	    "expires_ms bigint)",
	    f->prefix);
	st = open_store(f, SGW_STORE_SERVE, err, sizeof(err));
	assert_null(st);
	print_message("no key: %s\n", err);
	assert_non_null(strstr(err, "counters has no unique key on (key)"));
	/* Data that would outlive its session. */
	q(f, "DROP TABLE %scounters", f->prefix);
	q(f, "DROP TABLE %sdata", f->prefix);
	q(f,
	    "CREATE TABLE %sdata (hash bytea, key text, value bytea, "
	    "PRIMARY KEY (hash, key))",
	    f->prefix);
	st = open_store(f, SGW_STORE_SERVE, err, sizeof(err));
	assert_null(st);
	print_message("no cascade: %s\n", err);
	assert_non_null(strstr(err, "data has no foreign key to "));
	assert_string_equal(
	    q(f, "SELECT count(*) FROM %sschema", f->prefix), "1");
}

static void
init_creates_once_and_then_has_nothing_to_do(void **state)
{
	struct fx *f = need_pg(state);
	char report[512] = "", err[512] = "", want[512];
	struct sgw_store *st;

	snprintf(f->prefix, sizeof(f->prefix), "init%u_", ++g.next_prefix);
	fx_opts(f, 0);
	assert_int_equal(
	    B->init(NULL, &f->pc, report, sizeof(report), err, sizeof(err)), 0);
	print_message("init: %s\n", report);
	snprintf(want, sizeof(want),
	    "created tables %1$ssessions, %1$sdata, "
	    "%1$scounters, %1$sschema (version 1)",
	    f->prefix);
	assert_string_equal(report, want);
	if (B->init(NULL, &f->pc, report, sizeof(report), err, sizeof(err)) !=
	    0)
		fail_msg("init again: %s", err);
	print_message("init again: %s\n", report);
	assert_non_null(strstr(report, "nothing to do"));
	assert_string_equal(
	    q(f, "SELECT count(*) FROM %sschema", f->prefix), "1");
	/* create_tables = off is happy now. */
	st = open_store(f, SGW_STORE_SERVE, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(st->ops->ping(st), SGW_STORE_OK);
	st->ops->close(st);
}

static void
no_right_to_create_tables_fails_the_open(void **state)
{
	struct fx *f = need_pg(state);
	char err[512] = "";
	struct sgw_store *st;

	/* PostgreSQL 15 lets only the database owner create in public. */
	q(f,
	    "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE "
	    "rolname = 'weak') THEN CREATE ROLE weak LOGIN; END IF; END $$");
	snprintf(f->prefix, sizeof(f->prefix), "weak%u_", ++g.next_prefix);
	snprintf(f->conninfo, sizeof(f->conninfo),
	    "host=127.0.0.1 port=%d user=weak dbname=sessiongw", g.srv.port);
	st = open_store(f, SGW_STORE_SERVE, err, sizeof(err));
	assert_null(st);
	print_message("no CREATE: %s\n", err);
	assert_non_null(strstr(err, "permission denied"));
}

/* ---- failures ---- */

static void
unreachable_server_is_an_error_never_ok(void **state)
{
	struct fx *f = need_pg(state);
	char err[512] = "";
	struct sgw_store *st;
	struct sgw_record out;
	unsigned char h[SGW_HASH_LEN];
	int64_t v;
	int port = test_free_port();

	snprintf(f->conninfo, sizeof(f->conninfo),
	    "host=127.0.0.1 port=%d user=sgw dbname=sessiongw password=hunter2",
	    port);
	/* As sgw_store_check asks: the open succeeds (the configuration
	 * is not wrong), the ping says the server does not answer. */
	st = open_store(f, SGW_STORE_CHECK, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(st->ops->ping(st), SGW_STORE_UNAVAILABLE);
	print_message("unreachable: %s\n", st->errstr);
	assert_non_null(strstr(st->errstr, "cannot connect"));
	assert_null(strstr(st->errstr, "hunter2"));
	st->ops->close(st);
	/* A worker starts anyway and answers 503 until the server is there. */
	st = open_store(f, SGW_STORE_SERVE, err, sizeof(err));
	assert_non_null(st);
	hash_of(h, 1);
	assert_int_equal(st->ops->get(st, h, &out), SGW_STORE_UNAVAILABLE);
	assert_int_equal(st->ops->ping(st), SGW_STORE_UNAVAILABLE);
	assert_int_equal(st->ops->counter_add(st, "k", 1, 1000, NOW, &v),
	    SGW_STORE_UNAVAILABLE);
	assert_null(strstr(st->errstr, "hunter2"));
	st->ops->close(st);
}

static void
restarted_server_is_found_again(void **state)
{
	struct fx *f = need_pg(state);
	const struct sgw_store_ops *o = f->st->ops;
	unsigned char h[SGW_HASH_LEN];
	struct sgw_record out;
	int64_t v = 0;

	put_one(f, 1, "alice", NOW, NOW + 100000, NOW + 900000);
	hash_of(h, 1);
	PQfinish(f->raw);
	f->raw = NULL;

	/* Stopped: errors, never OK. */
	assert_int_equal(pg_stop(), 0);
	assert_int_equal(o->get(f->st, h, &out), SGW_STORE_UNAVAILABLE);
	print_message("stopped: %s\n", f->st->errstr);
	assert_int_equal(o->ping(f->st), SGW_STORE_UNAVAILABLE);
	assert_int_equal(
	    o->refresh(f->st, h, NOW, NOW + 1, NOW), SGW_STORE_UNAVAILABLE);
	assert_int_equal(o->counter_add(f->st, "n", 1, 100000, NOW, &v),
	    SGW_STORE_UNAVAILABLE);
	/* Back: the same store works without being reopened. */
	assert_int_equal(pg_start(), 0);
	assert_int_equal(o->get(f->st, h, &out), SGW_STORE_OK);
	assert_string_equal(out.user, "alice");

	/* Restarted under a live connection: a get is sent again on a new
	 * connection and succeeds at once... */
	assert_int_equal(pg_stop(), 0);
	assert_int_equal(pg_start(), 0);
	assert_int_equal(o->get(f->st, h, &out), SGW_STORE_OK);
	/* ...a counter_add is not (it may have run): it fails, the next
	 * one works, and the failed one did not count. */
	assert_int_equal(pg_stop(), 0);
	assert_int_equal(pg_start(), 0);
	assert_int_equal(o->counter_add(f->st, "n", 1, 100000, NOW, &v),
	    SGW_STORE_UNAVAILABLE);
	assert_int_equal(
	    o->counter_add(f->st, "n", 1, 100000, NOW, &v), SGW_STORE_OK);
	assert_true(v == 1);
	f->raw = raw_connect("sessiongw");
	assert_non_null(f->raw);
}

static void
statement_timeout_is_timeout(void **state)
{
	struct fx *f = need_pg(state);
	const struct sgw_store_ops *o = f->st->ops;
	unsigned char h[SGW_HASH_LEN];
	struct sgw_record out;
	int64_t t0, took;

	put_one(f, 1, "alice", NOW, NOW + 100000, NOW + 900000);
	hash_of(h, 1);
	/* Another session holds the row: the refresh waits for the lock
	 * until statement_timeout cancels it. */
	q(f, "BEGIN");
	q(f, "SELECT 1 FROM %ssessions FOR UPDATE", f->prefix);
	t0 = sgw_mono_ms();
	assert_int_equal(o->refresh(f->st, h, NOW + 1, NOW + 100001, NOW + 1),
	    SGW_STORE_TIMEOUT);
	took = sgw_mono_ms() - t0;
	print_message(
	    "locked row: %s after %lld ms\n", f->st->errstr, (long long)took);
	assert_true(
	    took >= CMD_TIMEOUT_MS - 10 && took < CMD_TIMEOUT_MS + 1000);
	/* Reads are not blocked by the lock. */
	assert_int_equal(o->get(f->st, h, &out), SGW_STORE_OK);
	q(f, "ROLLBACK");
	assert_int_equal(
	    o->refresh(f->st, h, NOW + 1, NOW + 100001, NOW + 1), SGW_STORE_OK);
}

/* The store's own backend, stopped (SIGSTOP): it answers nothing until
 * the caller sends it SIGCONT. */
static pid_t
stop_backend(struct fx *f)
{
	pid_t backend = atoi(q(f,
	    "SELECT pid FROM pg_stat_activity WHERE "
	    "application_name = 'sgwtest_%s'",
	    f->prefix));

	assert_true(backend > 0);
	assert_int_equal(kill(backend, SIGSTOP), 0);
	return backend;
}

static void
silent_server_times_out_and_recovers(void **state)
{
	struct fx *f = need_pg(state);
	const struct sgw_store_ops *o = f->st->ops;
	unsigned char h[SGW_HASH_LEN];
	struct sgw_record out;
	int64_t t0, took;
	pid_t backend;

	put_one(f, 1, "alice", NOW, NOW + 100000, NOW + 900000);
	hash_of(h, 1);
	/* A backend that answers nothing at all: statement_timeout cannot
	 * help, the client-side deadline must. */
	backend = stop_backend(f);
	t0 = sgw_mono_ms();
	assert_int_equal(o->get(f->st, h, &out), SGW_STORE_TIMEOUT);
	took = sgw_mono_ms() - t0;
	kill(backend, SIGCONT);
	print_message("silent backend: %s after %lld ms\n", f->st->errstr,
	    (long long)took);
	assert_true(took >= CMD_TIMEOUT_MS && took < CMD_TIMEOUT_MS + 1000);
	if (o->get(f->st, h, &out) != SGW_STORE_OK)
		fail_msg("after SIGCONT: %s", f->st->errstr);
}

/* A batch of reads (the worker reading ahead) waits as one read does,
 * not once per session. */
static void
silent_server_fails_a_batch_within_one_timeout(void **state)
{
	struct fx *f = need_pg(state);
	unsigned char h[SGW_STORE_BATCH_MAX][SGW_HASH_LEN];
	struct sgw_record out[SGW_STORE_BATCH_MAX];
	int rc[SGW_STORE_BATCH_MAX];
	int64_t t0, took;
	pid_t backend;

	for (int i = 0; i < SGW_STORE_BATCH_MAX; i++) {
		put_one(f, i + 1, "alice", NOW, NOW + 100000, NOW + 900000);
		hash_of(h[i], i + 1);
	}
	assert_int_equal(
	    f->st->ops->get_many(f->st, SGW_STORE_BATCH_MAX, h, out, rc),
	    SGW_STORE_OK);
	for (int i = 0; i < SGW_STORE_BATCH_MAX; i++)
		assert_int_equal(rc[i], SGW_STORE_OK);
	backend = stop_backend(f);
	t0 = sgw_mono_ms();
	assert_int_equal(
	    f->st->ops->get_many(f->st, SGW_STORE_BATCH_MAX, h, out, rc),
	    SGW_STORE_TIMEOUT);
	took = sgw_mono_ms() - t0;
	kill(backend, SIGCONT);
	print_message("silent backend, %d reads: %s after %lld ms\n",
	    SGW_STORE_BATCH_MAX, f->st->errstr, (long long)took);
	assert_true(took >= CMD_TIMEOUT_MS && took < CMD_TIMEOUT_MS + 1000);
	if (f->st->ops->get_many(f->st, 2, h, out, rc) != SGW_STORE_OK)
		fail_msg("after SIGCONT: %s", f->st->errstr);
	assert_int_equal(rc[0], SGW_STORE_OK);
	assert_int_equal(rc[1], SGW_STORE_OK);
}

/* ---- configuration ---- */

static const struct sgw_conf_key *
key_named(const char *name)
{
	for (size_t i = 0; i < B->nkeys; i++) {
		if (strcmp(B->keys[i].name, name) == 0)
			return &B->keys[i];
	}
	return NULL;
}

static void
config_rows_validate_and_wipe(void **state)
{
	const struct sgw_conf_key *k;
	char ci[] = "host=127.0.0.1 password=hunter2 dbname=x";
	char bad[] = "host=127.0.0.1 password hunter2";
	char prefix[64] = "sgw_", why[256];
	struct sgw_postgres_conf pc = {.conninfo = ci, .table_prefix = prefix};

	(void)state;
	assert_string_equal(B->name, "postgres");
	assert_int_equal(B->conf_size, sizeof(struct sgw_postgres_conf));
	assert_non_null(k = key_named("conninfo"));
	assert_string_equal(k->section, "postgres");
	assert_true(k->flags & SGW_K_SECRET);
	assert_string_equal(k->def, "host=127.0.0.1 dbname=sessiongw");
	assert_int_equal(k->off, offsetof(struct sgw_postgres_conf, conninfo));
	assert_non_null(k = key_named("table_prefix"));
	assert_string_equal(k->def, "sgw_");
	assert_non_null(k = key_named("create_tables"));
	assert_int_equal(k->type, SGW_T_BOOL);
	assert_non_null(k = key_named("connect_timeout"));
	assert_string_equal(k->def, "2s");
	assert_non_null(k = key_named("command_timeout"));
	assert_string_equal(k->def, "200ms");
	assert_int_equal(k->min, 1);

	assert_int_equal(B->validate(&pc, why, sizeof(why)), 0);
	snprintf(prefix, sizeof(prefix), "_ok_9");
	assert_int_equal(B->validate(&pc, why, sizeof(why)), 0);
	const char *wrong[] = {"", "9x", "Sgw_", "sgw-", "a b", "sgw;drop",
	    "abcdefghijklmnopqrstuvwxyz0123456"};
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		snprintf(prefix, sizeof(prefix), "%s", wrong[i]);
		assert_int_equal(B->validate(&pc, why, sizeof(why)), -1);
		assert_non_null(strstr(why, "table_prefix"));
	}
	snprintf(prefix, sizeof(prefix), "sgw_");
	pc.conninfo = bad;
	assert_int_equal(B->validate(&pc, why, sizeof(why)), -1);
	assert_null(strstr(why, "hunter2"));
	pc.conninfo = ci;
	B->wipe(&pc);
	assert_null(strstr(ci, "hunter2"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(config_rows_validate_and_wipe),
	    T(put_then_get_returns_every_field),
	    T(get_returns_a_record_past_its_deadline),
	    T(refresh_sets_times_and_never_recreates),
	    T(del_ends_session_and_its_data),
	    T(user_sessions_are_the_users_oldest_first),
	    T(data_round_trip_and_limits),
	    T(data_put_limit_holds_under_concurrency),
	    T(counters_add_keep_their_lifetime_and_expire),
	    T(active_counts_sessions_before_their_deadline),
	    T(sweep_removes_expired_in_bounded_batches),
	    T(sweep_says_more_when_exactly_max_are_left),
	    T(refresh_is_a_heap_only_update),
	    T(concurrent_opens_create_the_schema_once),
	    T(unknown_schema_version_is_refused),
	    T(create_tables_off_needs_the_tables),
	    T(check_mode_creates_nothing_and_finds_wrong_shapes),
	    T(init_creates_once_and_then_has_nothing_to_do),
	    T(no_right_to_create_tables_fails_the_open),
	    T(unreachable_server_is_an_error_never_ok),
	    T(restarted_server_is_found_again),
	    T(statement_timeout_is_timeout),
	    T(silent_server_times_out_and_recovers),
	    T(silent_server_fails_a_batch_within_one_timeout),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
