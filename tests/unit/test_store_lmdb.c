/*
 * store_lmdb: the embedded backend, in a temporary directory per test.
 *
 * Besides what every backend promises (store.h), this checks what only an
 * LMDB store can get wrong: the indexes kept with the records, a sweep
 * whose work is what expired, restarts, several processes on one
 * environment, processes killed inside a transaction, a full map, a map
 * grown by another process, and a store carried across fork().
 *
 * Children that must die inside a transaction use raw LMDB calls on the
 * same directory (each in its own process, as lmdb.h requires).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <lmdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "session.h"
#include "store.h"
#include "store_lmdb.h"

#define MIB ((size_t)1 << 20)
#define NOW INT64_C(1800000000000) /* a fixed "now", Unix ms */

struct fx {
	char dir[64];
	struct sgw_lmdb_conf o;
	struct sgw_store *st;
};

/* ---- helpers ---- */

static void
rmtree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char p[512];

	if (d == NULL) {
		(void)unlink(path);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		rmtree(p);
	}
	closedir(d);
	(void)rmdir(path);
}

static int
exists(const char *dir, const char *name)
{
	char p[512];
	struct stat sb;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return stat(p, &sb) == 0;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct sgw_store *
open_store(const struct sgw_lmdb_conf *o, enum sgw_store_mode mode, char *err,
    size_t errlen)
{
	return sgw_store_lmdb.open(NULL, o, mode, err, errlen);
}

static struct sgw_store *
reopen(struct fx *f)
{
	char err[512] = "";

	sgw_store_close(f->st);
	f->st = open_store(&f->o, SGW_STORE_SERVE, err, sizeof(err));
	if (f->st == NULL)
		fail_msg("reopen: %s", err);
	return f->st;
}

/* A distinct hash for each n. */
static void
mkhash(unsigned char h[SGW_HASH_LEN], unsigned n)
{
	memset(h, 0xab, SGW_HASH_LEN);
	h[0] = (unsigned char)(n >> 24);
	h[1] = (unsigned char)(n >> 16);
	h[2] = (unsigned char)(n >> 8);
	h[3] = (unsigned char)n;
}

static void
mkrec(struct sgw_record *r, const char *user, int64_t created, int64_t deadline)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->user, sizeof(r->user), "%s", user);
	snprintf(r->client, sizeof(r->client), "192.0.2.7");
	for (int i = 0; i < SGW_AGENT_LEN; i++)
		r->agent[i] = (unsigned char)(0xf0 + i);
	r->created_ms = created;
	r->seen_ms = created;
	r->expires_ms = created + 12 * 3600 * 1000;
	r->deadline_ms = deadline;
	r->remember_me = 1;
}

static void
put_session(struct sgw_store *st, unsigned n, const char *user, int64_t created,
    int64_t deadline)
{
	unsigned char h[SGW_HASH_LEN];
	struct sgw_record r;

	mkhash(h, n);
	mkrec(&r, user, created, deadline);
	assert_int_equal(st->ops->put(st, h, &r, created), SGW_STORE_OK);
}

static struct sgw_lmdb_stat
stat_of(struct sgw_store *st)
{
	struct sgw_lmdb_stat s;

	assert_int_equal(sgw_store_lmdb_stat(st, &s), SGW_STORE_OK);
	return s;
}

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[512] = "";

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/sgw-lmdb-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	f->o.path = f->dir;
	f->o.map_size = 64 * MIB;
	f->o.sync = 0;
	if ((f->st = open_store(&f->o, SGW_STORE_SERVE, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "open: %s\n", err);
		rmtree(f->dir);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	sgw_store_close(f->st);
	rmtree(f->dir);
	free(f);
	return 0;
}

/* Waits for a child and returns its exit status, or -1 when it did not
 * exit normally. */
static int
reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- the descriptor ---- */

static void
descriptor_has_the_lmdb_section(void **state)
{
	const struct sgw_conf_key *k = sgw_store_lmdb.keys;
	char why[256];
	struct sgw_lmdb_conf rel = {
	    .path = "var/lib/sessiongw", .map_size = MIB};

	(void)state;
	assert_string_equal(sgw_store_lmdb.name, "lmdb");
	assert_int_equal(sgw_store_lmdb.nkeys, 3);
	assert_int_equal(
	    sgw_store_lmdb.conf_size, sizeof(struct sgw_lmdb_conf));
	assert_null(sgw_store_lmdb.wipe);
	assert_string_equal(k[0].section, "lmdb");
	assert_string_equal(k[0].name, "path");
	assert_int_equal(k[0].type, SGW_T_STR);
	assert_string_equal(k[0].def, "/var/lib/sessiongw");
	assert_int_equal(k[0].max, 4000);
	assert_int_equal(k[0].off, offsetof(struct sgw_lmdb_conf, path));
	assert_string_equal(k[1].name, "map_size");
	assert_int_equal(k[1].type, SGW_T_SIZE);
	assert_string_equal(k[1].def, "256m");
	assert_int_equal(k[1].min, 1 << 20);
	assert_int_equal(k[1].max, INT64_C(1) << 40);
	assert_int_equal(k[1].off, offsetof(struct sgw_lmdb_conf, map_size));
	assert_string_equal(k[2].name, "sync");
	assert_int_equal(k[2].type, SGW_T_BOOL);
	assert_string_equal(k[2].def, "off");
	assert_int_equal(k[2].off, offsetof(struct sgw_lmdb_conf, sync));
	assert_int_equal(sgw_store_lmdb.validate(&rel, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "absolute"));
	rel.path = "/var/lib/sessiongw";
	assert_int_equal(sgw_store_lmdb.validate(&rel, why, sizeof(why)), 0);
}

/* ---- sessions ---- */

static void
put_then_get_returns_every_field(void **state)
{
	struct fx *f = *state;
	struct sgw_store *st = f->st;
	unsigned char h[SGW_HASH_LEN], other[SGW_HASH_LEN];
	struct sgw_record in, out;
	char longuser[SGW_USER_MAXLEN + 1];

	mkhash(h, 1);
	mkhash(other, 2);
	mkrec(&in, "alice", NOW, NOW + 1000);
	in.remember_me = 1;
	in.expires_ms = -5; /* signed values survive */
	assert_int_equal(st->ops->put(st, h, &in, NOW), SGW_STORE_OK);
	memset(&out, 0x55, sizeof(out));
	assert_int_equal(st->ops->get(st, h, &out), SGW_STORE_OK);
	assert_string_equal(out.user, "alice");
	assert_string_equal(out.client, "192.0.2.7");
	assert_memory_equal(out.agent, in.agent, SGW_AGENT_LEN);
	assert_int_equal(out.created_ms, NOW);
	assert_int_equal(out.seen_ms, NOW);
	assert_int_equal(out.expires_ms, -5);
	assert_int_equal(out.deadline_ms, NOW + 1000);
	assert_int_equal(out.remember_me, 1);
	assert_int_equal(st->ops->get(st, other, &out), SGW_STORE_NOTFOUND);

	/* The longest user and client, and empty ones. */
	memset(longuser, 'u', SGW_USER_MAXLEN);
	longuser[SGW_USER_MAXLEN] = '\0';
	mkrec(&in, longuser, NOW, NOW + 1000);
	memset(in.client, 'c', SGW_CLIENT_MAXLEN);
	in.client[SGW_CLIENT_MAXLEN] = '\0';
	in.remember_me = 0;
	assert_int_equal(st->ops->put(st, other, &in, NOW), SGW_STORE_OK);
	assert_int_equal(st->ops->get(st, other, &out), SGW_STORE_OK);
	assert_string_equal(out.user, longuser);
	assert_string_equal(out.client, in.client);
	assert_int_equal(out.remember_me, 0);
	mkrec(&in, "", NOW, NOW + 1000);
	in.client[0] = '\0';
	assert_int_equal(st->ops->put(st, other, &in, NOW), SGW_STORE_OK);
	assert_int_equal(st->ops->get(st, other, &out), SGW_STORE_OK);
	assert_string_equal(out.user, "");
	assert_string_equal(out.client, "");
}

static void
get_returns_a_record_past_its_deadline(void **state)
{
	struct fx *f = *state;
	unsigned char h[SGW_HASH_LEN];
	struct sgw_record r;

	put_session(f->st, 1, "alice", NOW - 5000, NOW - 1000);
	mkhash(h, 1);
	assert_int_equal(f->st->ops->get(f->st, h, &r), SGW_STORE_OK);
	assert_int_equal(r.deadline_ms, NOW - 1000);
}

static void
put_over_an_existing_hash_replaces_it_whole(void **state)
{
	struct fx *f = *state;
	struct sgw_store *st = f->st;
	unsigned char h[SGW_HASH_LEN];
	struct sgw_stored *v = NULL;
	struct sgw_record r;
	size_t n = 9;
	char *val = NULL;
	size_t len;

	mkhash(h, 1);
	put_session(st, 1, "alice", NOW, NOW + 1000);
	assert_int_equal(
	    st->ops->data_put(st, h, "k", "v", 1, 64), SGW_STORE_OK);
	put_session(st, 1, "bob", NOW + 1, NOW + 2000);
	assert_int_equal(st->ops->get(st, h, &r), SGW_STORE_OK);
	assert_string_equal(r.user, "bob");
	assert_int_equal(
	    st->ops->user_sessions(st, "alice", &v, &n), SGW_STORE_OK);
	assert_int_equal(n, 0);
	assert_null(v);
	assert_int_equal(
	    st->ops->data_get(st, h, "k", &val, &len), SGW_STORE_NOTFOUND);
	assert_int_equal(stat_of(st).expiry_index, 1);
	assert_int_equal(stat_of(st).user_index, 1);
}

static void
refresh_moves_the_deadline_and_never_recreates(void **state)
{
	struct fx *f = *state;
	struct sgw_store *st = f->st;
	unsigned char h[SGW_HASH_LEN], gone[SGW_HASH_LEN];
	struct sgw_record r;
	size_t swept;
	int more;

	mkhash(h, 1);
	mkhash(gone, 2);
	put_session(st, 1, "alice", NOW, NOW + 1000);
	assert_int_equal(
	    st->ops->refresh(st, h, NOW + 500, NOW + 1500, NOW + 500),
	    SGW_STORE_OK);
	assert_int_equal(st->ops->get(st, h, &r), SGW_STORE_OK);
	assert_int_equal(r.seen_ms, NOW + 500);
	assert_int_equal(r.deadline_ms, NOW + 1500);
	assert_int_equal(r.created_ms, NOW);
	assert_string_equal(r.user, "alice");
	/* One expiry entry, at the new deadline. */
	assert_int_equal(stat_of(st).expiry_index, 1);
	assert_int_equal(
	    st->ops->sweep(st, NOW + 1000, 100, &swept, &more), SGW_STORE_OK);
	assert_int_equal(swept, 0);
	assert_int_equal(st->ops->get(st, h, &r), SGW_STORE_OK);

	/* Absent, past its deadline, deleted: NOTFOUND, and nothing made. */
	assert_int_equal(st->ops->refresh(st, gone, NOW, NOW + 1000, NOW),
	    SGW_STORE_NOTFOUND);
	assert_int_equal(st->ops->get(st, gone, &r), SGW_STORE_NOTFOUND);
	assert_int_equal(
	    st->ops->refresh(st, h, NOW + 1500, NOW + 3000, NOW + 1500),
	    SGW_STORE_NOTFOUND);
	assert_int_equal(st->ops->get(st, h, &r), SGW_STORE_OK);
	assert_int_equal(r.deadline_ms, NOW + 1500);
	assert_int_equal(st->ops->del(st, h), SGW_STORE_OK);
	assert_int_equal(
	    st->ops->refresh(st, h, NOW, NOW + 1000, NOW), SGW_STORE_NOTFOUND);
	assert_int_equal(st->ops->get(st, h, &r), SGW_STORE_NOTFOUND);
	assert_int_equal(stat_of(st).sessions, 0);
	assert_int_equal(stat_of(st).expiry_index, 0);
}

static void
del_removes_the_session_its_data_and_index_entries(void **state)
{
	struct fx *f = *state;
	struct sgw_store *st = f->st;
	unsigned char h[SGW_HASH_LEN], h2[SGW_HASH_LEN];
	struct sgw_lmdb_stat s;
	struct sgw_stored *v = NULL;
	size_t n;

	mkhash(h, 1);
	mkhash(h2, 2);
	put_session(st, 1, "alice", NOW, NOW + 1000);
	put_session(st, 2, "alice", NOW + 1, NOW + 1000);
	assert_int_equal(
	    st->ops->data_put(st, h, "a", "1", 1, 64), SGW_STORE_OK);
	assert_int_equal(
	    st->ops->data_put(st, h, "b", "2", 1, 64), SGW_STORE_OK);
	assert_int_equal(
	    st->ops->data_put(st, h2, "a", "3", 1, 64), SGW_STORE_OK);
	assert_int_equal(st->ops->del(st, h), SGW_STORE_OK);
	assert_int_equal(st->ops->del(st, h), SGW_STORE_NOTFOUND);
	s = stat_of(st);
	assert_int_equal(s.sessions, 1);
	assert_int_equal(s.user_index, 1);
	assert_int_equal(s.expiry_index, 1);
	assert_int_equal(s.data, 1); /* only the other session's */
	assert_int_equal(
	    st->ops->user_sessions(st, "alice", &v, &n), SGW_STORE_OK);
	assert_int_equal(n, 1);
	assert_memory_equal(v[0].hash, h2, SGW_HASH_LEN);
	free(v);
}

static void
user_sessions_lists_oldest_first_and_only_the_user(void **state)
{
	struct fx *f = *state;
	struct sgw_store *st = f->st;
	struct sgw_stored *v = NULL;
	unsigned char h[SGW_HASH_LEN];
	size_t n = 7;

	put_session(st, 1, "alice", NOW + 30, NOW + 1000);
	put_session(st, 2, "alice", NOW + 10, NOW + 1000);
	put_session(st, 3, "bob", NOW, NOW + 1000);
	put_session(st, 4, "alice", NOW + 20, NOW - 1); /* past its deadline */
	put_session(st, 5, "alicea", NOW, NOW + 1000);
	assert_int_equal(
	    st->ops->user_sessions(st, "alice", &v, &n), SGW_STORE_OK);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].rec.created_ms, NOW + 10);
	assert_int_equal(v[1].rec.created_ms, NOW + 20);
	assert_int_equal(v[2].rec.created_ms, NOW + 30);
	mkhash(h, 2);
	assert_memory_equal(v[0].hash, h, SGW_HASH_LEN);
	mkhash(h, 1);
	assert_memory_equal(v[2].hash, h, SGW_HASH_LEN);
	assert_string_equal(v[2].rec.user, "alice");
	assert_string_equal(v[2].rec.client, "192.0.2.7");
	free(v);
	v = NULL;
	assert_int_equal(
	    st->ops->user_sessions(st, "carol", &v, &n), SGW_STORE_OK);
	assert_int_equal(n, 0);
	assert_null(v);
}

/* A file whose index names a session that is gone (as an older or
 * damaged file might): the listing drops the entry. */
static void
user_sessions_drops_index_entries_without_a_session(void **state)
{
	struct fx *f = *state;
	struct sgw_stored *v = NULL;
	unsigned char h[SGW_HASH_LEN];
	size_t n;
	pid_t pid;

	put_session(f->st, 1, "alice", NOW, NOW + 1000);
	put_session(f->st, 2, "alice", NOW + 1, NOW + 1000);
	mkhash(h, 1);
	/* A child removes the session record alone, behind the store. */
	if ((pid = fork()) == 0) {
		MDB_env *env;
		MDB_txn *txn;
		MDB_dbi dbi;
		MDB_val k = {SGW_HASH_LEN, h};

		if (mdb_env_create(&env) != 0 ||
		    mdb_env_set_maxdbs(env, 8) != 0 ||
		    mdb_env_open(env, f->dir, MDB_NOTLS, 0600) != 0 ||
		    mdb_txn_begin(env, NULL, 0, &txn) != 0 ||
		    mdb_dbi_open(txn, "sessions", 0, &dbi) != 0 ||
		    mdb_del(txn, dbi, &k, NULL) != 0 ||
		    mdb_txn_commit(txn) != 0)
			_exit(1);
		mdb_env_close(env);
		_exit(0);
	}
	assert_int_equal(reap(pid), 0);
	assert_int_equal(stat_of(f->st).user_index, 2);
	assert_int_equal(
	    f->st->ops->user_sessions(f->st, "alice", &v, &n), SGW_STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].rec.created_ms, NOW + 1);
	free(v);
	assert_int_equal(stat_of(f->st).user_index, 1);
}

/* A session written by 0.1 (record version 1, no public id) is still
 * read, and its public id is computed from the hash. */
static void
a_version_1_record_is_still_read(void **state)
{
	struct fx *f = *state;
	struct sgw_session_policy p = {.idle_ms = 60000};
	struct sgw_session s;
	struct sgw_record r;
	unsigned char h[SGW_HASH_LEN], v1[64] = {1, 1};
	char want[SGW_PUBLIC_ID_HEX];
	size_t n = 2;
	pid_t pid;

	mkhash(h, 7);
	put_session(f->st, 1, "alice", NOW, NOW + 1000); /* makes the dbs */
	for (int i = 0; i < 4; i++) /* created, seen, expires, deadline */
		for (int b = 0; b < 8; b++)
			v1[n++] = (unsigned char)((uint64_t)(NOW + 1000 * i) >>
			    (8 * b));
	memset(v1 + n, 0xab, SGW_AGENT_LEN), n += SGW_AGENT_LEN;
	v1[n++] = 3, v1[n++] = 0;
	memcpy(v1 + n, "bob", 3), n += 3;
	v1[n++] = 2;
	memcpy(v1 + n, "::", 2), n += 2;
	if ((pid = fork()) == 0) {
		MDB_env *env;
		MDB_txn *txn;
		MDB_dbi dbi;
		MDB_val k = {SGW_HASH_LEN, h}, v = {n, v1};

		if (mdb_env_create(&env) != 0 ||
		    mdb_env_set_maxdbs(env, 8) != 0 ||
		    mdb_env_open(env, f->dir, MDB_NOTLS, 0600) != 0 ||
		    mdb_txn_begin(env, NULL, 0, &txn) != 0 ||
		    mdb_dbi_open(txn, "sessions", 0, &dbi) != 0 ||
		    mdb_put(txn, dbi, &k, &v, 0) != 0 ||
		    mdb_txn_commit(txn) != 0)
			_exit(1);
		mdb_env_close(env);
		_exit(0);
	}
	assert_int_equal(reap(pid), 0);
	assert_int_equal(f->st->ops->get(f->st, h, &r), SGW_STORE_OK);
	assert_string_equal(r.user, "bob");
	assert_string_equal(r.client, "::");
	assert_int_equal(r.remember_me, 1);
	assert_int_equal(r.seen_ms, NOW + 1000);
	assert_int_equal(r.deadline_ms, NOW + 3000);
	assert_string_equal(r.id, "");
	sgw_session_from_record(&s, &r, h, &p);
	sgw_token_public_id(h, want);
	assert_string_equal(s.id, want);
}

/* ---- data ---- */

static void
data_put_get_del(void **state)
{
	struct fx *f = *state;
	struct sgw_store *st = f->st;
	unsigned char h[SGW_HASH_LEN], none[SGW_HASH_LEN];
	char *val = NULL, big[SGW_DATA_VALUE_MAX];
	size_t len = 99;

	mkhash(h, 1);
	mkhash(none, 2);
	put_session(st, 1, "alice", NOW, NOW + 1000);
	assert_int_equal(
	    st->ops->data_get(st, h, "k", &val, &len), SGW_STORE_NOTFOUND);
	assert_null(val);
	assert_int_equal(
	    st->ops->data_put(st, h, "k", "a\0b", 3, 64), SGW_STORE_OK);
	assert_int_equal(
	    st->ops->data_get(st, h, "k", &val, &len), SGW_STORE_OK);
	assert_int_equal(len, 3);
	assert_memory_equal(val, "a\0b", 4); /* NUL-terminated too */
	free(val);
	/* Replacing, an empty value, the largest value. */
	assert_int_equal(
	    st->ops->data_put(st, h, "k", "", 0, 64), SGW_STORE_OK);
	assert_int_equal(
	    st->ops->data_get(st, h, "k", &val, &len), SGW_STORE_OK);
	assert_int_equal(len, 0);
	assert_string_equal(val, "");
	free(val);
	memset(big, 'x', sizeof(big));
	assert_int_equal(
	    st->ops->data_put(st, h, "k", big, sizeof(big), 64), SGW_STORE_OK);
	assert_int_equal(
	    st->ops->data_get(st, h, "k", &val, &len), SGW_STORE_OK);
	assert_int_equal(len, sizeof(big));
	assert_memory_equal(val, big, sizeof(big));
	free(val);
	assert_int_equal(st->ops->data_del(st, h, "k"), SGW_STORE_OK);
	assert_int_equal(st->ops->data_del(st, h, "k"), SGW_STORE_NOTFOUND);
	assert_int_equal(
	    st->ops->data_get(st, h, "k", &val, &len), SGW_STORE_NOTFOUND);

	/* No session: NOTFOUND for all three, and nothing stored. */
	assert_int_equal(
	    st->ops->data_put(st, none, "k", "v", 1, 64), SGW_STORE_NOTFOUND);
	assert_int_equal(
	    st->ops->data_get(st, none, "k", &val, &len), SGW_STORE_NOTFOUND);
	assert_int_equal(st->ops->data_del(st, none, "k"), SGW_STORE_NOTFOUND);
	assert_int_equal(stat_of(st).data, 0);
}

static void
data_put_is_full_at_max_keys_but_replaces(void **state)
{
	struct fx *f = *state;
	struct sgw_store *st = f->st;
	unsigned char h[SGW_HASH_LEN], h2[SGW_HASH_LEN];
	char key[16];

	mkhash(h, 1);
	mkhash(h2, 2);
	put_session(st, 1, "alice", NOW, NOW + 1000);
	put_session(st, 2, "alice", NOW, NOW + 1000);
	for (int i = 0; i < SGW_DATA_MAX_KEYS; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(
		    st->ops->data_put(st, h, key, "v", 1, SGW_DATA_MAX_KEYS),
		    SGW_STORE_OK);
	}
	assert_int_equal(
	    st->ops->data_put(st, h, "one-more", "v", 1, SGW_DATA_MAX_KEYS),
	    SGW_STORE_FULL);
	assert_int_equal(
	    st->ops->data_put(st, h, "k7", "new", 3, SGW_DATA_MAX_KEYS),
	    SGW_STORE_OK);
	/* Another session's keys do not count. */
	assert_int_equal(
	    st->ops->data_put(st, h2, "k", "v", 1, SGW_DATA_MAX_KEYS),
	    SGW_STORE_OK);
	assert_int_equal(
	    st->ops->data_put(st, h2, "k2", "v", 1, 1), SGW_STORE_FULL);
	assert_int_equal(
	    st->ops->data_put(st, h2, "k", "w", 1, 1), SGW_STORE_OK);
	assert_int_equal(st->ops->data_del(st, h, "k0"), SGW_STORE_OK);
	assert_int_equal(
	    st->ops->data_put(st, h, "one-more", "v", 1, SGW_DATA_MAX_KEYS),
	    SGW_STORE_OK);
	assert_int_equal(stat_of(st).data, SGW_DATA_MAX_KEYS + 1);
}

/* ---- counters ---- */

static void
counters_add_get_set_del(void **state)
{
	struct fx *f = *state;
	struct sgw_store *st = f->st;
	int64_t v = -1, ttl = -1;

	/* Absent: OK with zeros, as a lockout that is not there reads. */
	assert_int_equal(
	    st->ops->counter_get(st, "f:u:alice", NOW, &v, &ttl), SGW_STORE_OK);
	assert_int_equal(v, 0);
	assert_int_equal(ttl, 0);
	assert_int_equal(
	    st->ops->counter_add(st, "f:u:alice", 1, 60000, NOW, &v),
	    SGW_STORE_OK);
	assert_int_equal(v, 1);
	/* An existing counter keeps its lifetime. */
	assert_int_equal(
	    st->ops->counter_add(st, "f:u:alice", 2, 99999, NOW + 10000, &v),
	    SGW_STORE_OK);
	assert_int_equal(v, 3);
	assert_int_equal(
	    st->ops->counter_get(st, "f:u:alice", NOW + 20000, &v, &ttl),
	    SGW_STORE_OK);
	assert_int_equal(v, 3);
	assert_int_equal(ttl, 40000);
	/* Past its lifetime it is absent, even unswept, and starts again. */
	assert_int_equal(
	    st->ops->counter_get(st, "f:u:alice", NOW + 60000, &v, &ttl),
	    SGW_STORE_OK);
	assert_int_equal(v, 0);
	assert_int_equal(ttl, 0);
	assert_int_equal(
	    st->ops->counter_add(st, "f:u:alice", 5, 1000, NOW + 60000, &v),
	    SGW_STORE_OK);
	assert_int_equal(v, 5);
	assert_int_equal(
	    st->ops->counter_get(st, "f:u:alice", NOW + 60000, &v, &ttl),
	    SGW_STORE_OK);
	assert_int_equal(ttl, 1000);
	assert_int_equal(stat_of(st).expiry_index, 1);
	/* set: whatever it was. */
	assert_int_equal(
	    st->ops->counter_set(st, "f:u:alice", 42, 5000, NOW + 60000),
	    SGW_STORE_OK);
	assert_int_equal(
	    st->ops->counter_get(st, "f:u:alice", NOW + 61000, &v, &ttl),
	    SGW_STORE_OK);
	assert_int_equal(v, 42);
	assert_int_equal(ttl, 4000);
	assert_int_equal(
	    st->ops->counter_set(st, "l:u:alice", 1, 5000, NOW), SGW_STORE_OK);
	assert_int_equal(
	    st->ops->counter_add(st, "neg", -3, 5000, NOW, &v), SGW_STORE_OK);
	assert_int_equal(v, -3);
	assert_int_equal(stat_of(st).counters, 3);
	assert_int_equal(stat_of(st).expiry_index, 3);
	assert_int_equal(st->ops->counter_del(st, "f:u:alice"), SGW_STORE_OK);
	assert_int_equal(st->ops->counter_del(st, "f:u:alice"), SGW_STORE_OK);
	v = ttl = -1;
	assert_int_equal(
	    st->ops->counter_get(st, "f:u:alice", NOW, &v, &ttl), SGW_STORE_OK);
	assert_int_equal(v, 0);
	assert_int_equal(ttl, 0);
	assert_int_equal(stat_of(st).counters, 2);
	assert_int_equal(stat_of(st).expiry_index, 2);
	/* A key no add could make. */
	assert_true(
	    SGW_STORE_FAILED(st->ops->counter_add(st, "", 1, 1000, NOW, &v)));
}

/* ---- active and sweep ---- */

static void
active_counts_sessions_before_their_deadline(void **state)
{
	struct fx *f = *state;
	struct sgw_store *st = f->st;
	uint64_t n = 99;
	size_t swept;
	int more;

	assert_int_equal(st->ops->active(st, NOW, &n), SGW_STORE_OK);
	assert_int_equal(n, 0);
	for (unsigned i = 0; i < 10; i++)
		put_session(st, i, "alice", NOW, NOW + 100 * (int64_t)i);
	assert_int_equal(
	    st->ops->counter_add(st, "c", 1, 1, NOW - 50, &(int64_t){0}),
	    SGW_STORE_OK);
	/* Deadlines NOW .. NOW+900: at NOW+500, six are due (0..500). */
	assert_int_equal(st->ops->active(st, NOW + 500, &n), SGW_STORE_OK);
	assert_int_equal(n, 4);
	assert_int_equal(st->ops->active(st, NOW - 1, &n), SGW_STORE_OK);
	assert_int_equal(n, 10);
	assert_int_equal(
	    st->ops->sweep(st, NOW + 500, 100, &swept, &more), SGW_STORE_OK);
	assert_int_equal(swept, 6);
	assert_int_equal(st->ops->active(st, NOW + 500, &n), SGW_STORE_OK);
	assert_int_equal(n, 4);
}

static void
sweep_removes_exactly_what_expired(void **state)
{
	struct fx *f = *state;
	struct sgw_store *st = f->st;
	unsigned char h[SGW_HASH_LEN];
	struct sgw_stored *v = NULL;
	struct sgw_lmdb_stat s;
	struct sgw_record r;
	int64_t val, ttl;
	size_t swept, n, total = 0, calls = 0;
	int more;

	/* 20 sessions of alice: even ones due by NOW, each with data. */
	for (unsigned i = 0; i < 20; i++) {
		mkhash(h, i);
		put_session(st, i, "alice", NOW - 100000 + i,
		    i % 2 == 0 ? NOW - (int64_t)i : NOW + 1 + i);
		assert_int_equal(
		    st->ops->data_put(st, h, "a", "1", 1, 64), SGW_STORE_OK);
		assert_int_equal(
		    st->ops->data_put(st, h, "b", "2", 1, 64), SGW_STORE_OK);
	}
	/* Three counters due (one exactly at NOW), one not. */
	assert_int_equal(
	    st->ops->counter_set(st, "c1", 1, 10, NOW - 100), SGW_STORE_OK);
	assert_int_equal(
	    st->ops->counter_set(st, "c2", 1, 10, NOW - 10), SGW_STORE_OK);
	assert_int_equal(
	    st->ops->counter_set(st, "c3", 1, 0, NOW), SGW_STORE_OK);
	assert_int_equal(
	    st->ops->counter_set(st, "c4", 1, 1, NOW), SGW_STORE_OK);

	/* Batches of 4: 13 due entries take four calls, "more" on three. */
	do {
		assert_int_equal(
		    st->ops->sweep(st, NOW, 4, &swept, &more), SGW_STORE_OK);
		total += swept;
		calls++;
		assert_true(calls <= 4);
	} while (more);
	assert_int_equal(calls, 4);
	assert_int_equal(total, 10);
	assert_int_equal(
	    st->ops->sweep(st, NOW, 4, &swept, &more), SGW_STORE_OK);
	assert_int_equal(swept, 0);
	assert_int_equal(more, 0);

	s = stat_of(st);
	assert_int_equal(s.sessions, 10);
	assert_int_equal(s.user_index, 10);
	assert_int_equal(s.data, 20);
	assert_int_equal(s.counters, 1);
	assert_int_equal(s.expiry_index, 11);
	for (unsigned i = 0; i < 20; i++) {
		mkhash(h, i);
		assert_int_equal(st->ops->get(st, h, &r),
		    i % 2 == 0 ? SGW_STORE_NOTFOUND : SGW_STORE_OK);
	}
	assert_int_equal(
	    st->ops->user_sessions(st, "alice", &v, &n), SGW_STORE_OK);
	assert_int_equal(n, 10);
	free(v);
	assert_int_equal(
	    st->ops->counter_get(st, "c4", NOW, &val, &ttl), SGW_STORE_OK);
	assert_int_equal(val, 1);
	assert_int_equal(
	    st->ops->counter_get(st, "c3", NOW - 1, &val, &ttl), SGW_STORE_OK);
	assert_int_equal(val, 0); /* swept: gone even for an earlier "now" */

	/* max 0 removes nothing and says whether something is due. */
	assert_int_equal(
	    st->ops->sweep(st, NOW + 5, 0, &swept, &more), SGW_STORE_OK);
	assert_int_equal(swept, 0);
	assert_int_equal(more, 1);
}

/*
 * The sweep's work is what expired: 1,000 due sessions among 1,000 live
 * ones, then among 100,000 live ones. Both read 1,001 expiry entries (the
 * thousand, and the first live one that stops the walk); the figures show
 * the time and the depth of the expiry index, which grows with log(n).
 */
static void
sweep_cost_does_not_grow_with_live_sessions(void **state)
{
	struct fx *f = *state;
	struct sgw_store *st = f->st;
	static const unsigned live[] = {1000, 100000};
	unsigned next = 0;

	for (size_t round = 0; round < 2; round++) {
		struct sgw_lmdb_stat s;
		size_t swept = 0;
		int more;
		double t0, t1;

		while (stat_of(st).sessions < live[round]) {
			put_session(
			    st, next, "live", NOW, NOW + 3600000 + next);
			next++;
		}
		for (unsigned i = 0; i < 1000; i++, next++)
			put_session(st, next, "dead", NOW - 100000,
			    NOW - 1000 + i % 100);
		t0 = now_s();
		assert_int_equal(
		    st->ops->sweep(st, NOW, 1000, &swept, &more), SGW_STORE_OK);
		t1 = now_s();
		s = stat_of(st);
		assert_int_equal(swept, 1000);
		assert_int_equal(more, 0);
		assert_int_equal(s.swept_visited, 1001);
		assert_int_equal(s.sessions, live[round]);
		print_message(
		    "sweep: 1000 expired among %u live: %llu expiry entries "
		    "read, expiry index depth %u, %.2f ms\n",
		    live[round], (unsigned long long)s.swept_visited,
		    s.expiry_depth, (t1 - t0) * 1e3);
	}
}

/* ---- lifetime of the environment ---- */

static void
sessions_survive_close_and_reopen(void **state)
{
	struct fx *f = *state;
	unsigned char h[SGW_HASH_LEN];
	struct sgw_record r;
	int64_t v, ttl;
	char *val = NULL;
	size_t len;

	mkhash(h, 1);
	put_session(f->st, 1, "alice", NOW, NOW + 1000);
	assert_int_equal(
	    f->st->ops->data_put(f->st, h, "k", "v", 1, 64), SGW_STORE_OK);
	assert_int_equal(
	    f->st->ops->counter_add(f->st, "f:u:alice", 2, 5000, NOW, &v),
	    SGW_STORE_OK);
	reopen(f);
	assert_int_equal(f->st->ops->get(f->st, h, &r), SGW_STORE_OK);
	assert_string_equal(r.user, "alice");
	assert_int_equal(
	    f->st->ops->data_get(f->st, h, "k", &val, &len), SGW_STORE_OK);
	assert_string_equal(val, "v");
	free(val);
	assert_int_equal(
	    f->st->ops->counter_get(f->st, "f:u:alice", NOW, &v, &ttl),
	    SGW_STORE_OK);
	assert_int_equal(v, 2);
	/* sync = on opens the same store. */
	f->o.sync = 1;
	reopen(f);
	assert_int_equal(f->st->ops->get(f->st, h, &r), SGW_STORE_OK);
	put_session(f->st, 2, "alice", NOW, NOW + 1000);
	assert_int_equal(stat_of(f->st).sessions, 2);
}

static void
two_processes_see_each_others_writes(void **state)
{
	struct fx *f = *state;
	unsigned char mine[SGW_HASH_LEN], theirs[SGW_HASH_LEN];
	struct sgw_record r;
	int to_child[2], to_parent[2];
	char c;
	pid_t pid;

	mkhash(mine, 1);
	mkhash(theirs, 2);
	assert_int_equal(pipe(to_child), 0);
	assert_int_equal(pipe(to_parent), 0);
	if ((pid = fork()) == 0) {
		/* The child's own environment, opened after the fork. */
		char err[512];
		struct sgw_store *st =
		    open_store(&f->o, SGW_STORE_SERVE, err, sizeof(err));
		struct sgw_record rec;
		int ok;

		if (st == NULL)
			_exit(2);
		mkrec(&rec, "bob", NOW, NOW + 1000);
		if (st->ops->put(st, theirs, &rec, NOW) != SGW_STORE_OK ||
		    write(to_parent[1], "p", 1) != 1 ||
		    read(to_child[0], &c, 1) != 1)
			_exit(3);
		ok = st->ops->get(st, mine, &rec) == SGW_STORE_OK &&
		    strcmp(rec.user, "alice") == 0;
		sgw_store_close(st);
		_exit(ok ? 0 : 4);
	}
	assert_int_equal(read(to_parent[0], &c, 1), 1);
	assert_int_equal(f->st->ops->get(f->st, theirs, &r), SGW_STORE_OK);
	assert_string_equal(r.user, "bob");
	put_session(f->st, 1, "alice", NOW, NOW + 1000);
	assert_int_equal(write(to_child[1], "g", 1), 1);
	assert_int_equal(reap(pid), 0);
	close(to_child[0]), close(to_child[1]);
	close(to_parent[0]), close(to_parent[1]);
}

/* A child opens the environment with raw LMDB, begins a transaction
 * (write: puts a session record), says so, and waits to be killed. */
static pid_t
child_dying_in_txn(
    const char *dir, int write_txn, const unsigned char hash[SGW_HASH_LEN])
{
	int p[2];
	char c;
	pid_t pid;

	if (pipe(p) == -1)
		return -1;
	if ((pid = fork()) == 0) {
		MDB_env *env;
		MDB_txn *txn;
		MDB_dbi dbi;
		MDB_val k = {SGW_HASH_LEN, (void *)hash}, v = {3, "bad"}, d;

		close(p[0]);
		if (mdb_env_create(&env) != 0 ||
		    mdb_env_set_maxdbs(env, 8) != 0 ||
		    mdb_env_open(env, dir, MDB_NOTLS | MDB_NOSYNC, 0600) != 0 ||
		    mdb_txn_begin(
		        env, NULL, write_txn ? 0 : MDB_RDONLY, &txn) != 0 ||
		    mdb_dbi_open(txn, "sessions", 0, &dbi) != 0)
			_exit(1);
		if (write_txn ? mdb_put(txn, dbi, &k, &v, 0) != 0
		              : mdb_get(txn, dbi, &k, &d) != 0)
			_exit(1);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	if (pid == -1 || read(p[0], &c, 1) != 1) {
		close(p[0]);
		if (pid > 0) {
			kill(pid, SIGKILL);
			(void)reap(pid);
		}
		return -1;
	}
	close(p[0]);
	return pid;
}

static void
a_reader_killed_in_its_transaction_is_cleared(void **state)
{
	struct fx *f = *state;
	unsigned char h[SGW_HASH_LEN];
	struct sgw_record r;
	size_t swept;
	int more;
	pid_t pid, holder;

	mkhash(h, 1);
	put_session(f->st, 1, "alice", NOW, NOW + 1000);
	assert_true((pid = child_dying_in_txn(f->dir, 0, h)) > 0);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(reap(pid), -1);
	assert_int_equal(
	    f->st->ops->sweep(f->st, NOW, 100, &swept, &more), SGW_STORE_OK);
	assert_int_equal(stat_of(f->st).stale_readers, 1);
	/* Usable: it writes and reads, and a second check finds nothing. */
	put_session(f->st, 2, "alice", NOW, NOW + 1000);
	assert_int_equal(f->st->ops->get(f->st, h, &r), SGW_STORE_OK);
	assert_int_equal(
	    f->st->ops->sweep(f->st, NOW, 100, &swept, &more), SGW_STORE_OK);
	assert_int_equal(stat_of(f->st).stale_readers, 0);
	/* A process that opens the store later clears them too. (While
	 * another process holds the environment: the first one to open it
	 * alone starts a fresh reader table anyway.) */
	assert_true((holder = child_dying_in_txn(f->dir, 0, h)) > 0);
	assert_true((pid = child_dying_in_txn(f->dir, 0, h)) > 0);
	kill(pid, SIGKILL);
	(void)reap(pid);
	reopen(f);
	assert_int_equal(stat_of(f->st).stale_readers, 1);
	kill(holder, SIGKILL);
	(void)reap(holder);
}

static void
a_writer_killed_in_its_transaction_leaves_the_store_usable(void **state)
{
	struct fx *f = *state;
	unsigned char h[SGW_HASH_LEN];
	struct sgw_record r;
	pid_t pid;

	mkhash(h, 7);
	put_session(f->st, 1, "alice", NOW, NOW + 1000);
	assert_true((pid = child_dying_in_txn(f->dir, 1, h)) > 0);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(reap(pid), -1);
	/* The writer lock is taken over; the dead write never happened. */
	put_session(f->st, 2, "alice", NOW, NOW + 1000);
	assert_int_equal(f->st->ops->get(f->st, h, &r), SGW_STORE_NOTFOUND);
	mkhash(h, 2);
	assert_int_equal(f->st->ops->get(f->st, h, &r), SGW_STORE_OK);
	assert_int_equal(stat_of(f->st).sessions, 2);
}

static void
a_full_map_refuses_new_writes_and_keeps_serving(void **state)
{
	struct fx *f = *state;
	struct sgw_store *st;
	unsigned char h[SGW_HASH_LEN], first[SGW_HASH_LEN];
	struct sgw_record r, rec;
	char big[SGW_DATA_VALUE_MAX];
	unsigned n = 0;
	int rc = SGW_STORE_OK;
	int64_t v;
	char *huge;
	pid_t pid;

	memset(big, 'x', sizeof(big));
	sgw_store_close(f->st);
	f->st = NULL;
	rmtree(f->dir);
	assert_int_equal(mkdir(f->dir, 0700), 0);
	f->o.map_size = MIB;
	st = reopen(f);
	mkhash(first, 0);
	/* LMDB's own MDB_MAP_FULL: one value larger than the map. */
	put_session(st, 0, "alice", NOW, NOW + 1000);
	if ((huge = malloc(2 * MIB)) == NULL)
		fail();
	memset(huge, 'z', 2 * MIB);
	assert_int_equal(
	    st->ops->data_put(st, first, "huge", huge, 2 * MIB, 64),
	    SGW_STORE_NOSPACE);
	free(huge);
	assert_string_equal(
	    st->errstr, "lmdb: map_size (1m) is full: raise [lmdb] map_size");
	assert_int_equal(st->ops->get(st, first, &r), SGW_STORE_OK);
	/* Then the reserve: filled with sessions and data. */
	while (n < 1000) {
		mkhash(h, n);
		mkrec(&rec, "alice", NOW + n, NOW + 1000);
		if ((rc = st->ops->put(st, h, &rec, NOW)) != SGW_STORE_OK)
			break;
		n++;
		if ((rc = st->ops->data_put(
		         st, h, "k", big, sizeof(big), 64)) != SGW_STORE_OK)
			break;
	}
	assert_int_equal(rc, SGW_STORE_NOSPACE);
	assert_string_equal(
	    st->errstr, "lmdb: map_size (1m) is full: raise [lmdb] map_size");
	assert_true(n > 10);
	mkhash(h, n + 1);
	assert_int_equal(st->ops->put(st, h, &rec, NOW), SGW_STORE_NOSPACE);
	assert_int_equal(st->ops->counter_add(st, "f:u:new", 1, 1000, NOW, &v),
	    SGW_STORE_NOSPACE);

	/* Existing sessions: read and refreshed, again and again, even with
	 * a reader killed in its transaction pinning an old snapshot. */
	assert_true((pid = child_dying_in_txn(f->dir, 0, first)) > 0);
	kill(pid, SIGKILL);
	(void)reap(pid);
	for (int i = 0; i < 500; i++) {
		assert_int_equal(st->ops->get(st, first, &r), SGW_STORE_OK);
		assert_int_equal(st->ops->refresh(st, first, NOW + i,
		                     NOW + 1000 + i, NOW + i),
		    SGW_STORE_OK);
	}
	/* Ending sessions frees room for new ones. */
	for (unsigned i = 1; i < n / 2; i++) {
		mkhash(h, i);
		assert_int_equal(st->ops->del(st, h), SGW_STORE_OK);
	}
	mkhash(h, n + 1);
	assert_int_equal(st->ops->put(st, h, &rec, NOW), SGW_STORE_OK);
	assert_int_equal(
	    st->ops->data_put(st, h, "k", big, sizeof(big), 64), SGW_STORE_OK);
}

/* A reload with a larger map_size: the new processes grow the file, the
 * old ones adopt the larger map instead of failing. */
static void
a_map_grown_by_another_process_is_adopted(void **state)
{
	struct fx *f = *state;
	char big[SGW_DATA_VALUE_MAX];
	unsigned char h[SGW_HASH_LEN];
	struct sgw_record r;
	char *val = NULL;
	size_t len;
	pid_t pid;

	memset(big, 'y', sizeof(big));
	sgw_store_close(f->st);
	f->st = NULL;
	rmtree(f->dir);
	assert_int_equal(mkdir(f->dir, 0700), 0);
	f->o.map_size = MIB;
	reopen(f);
	put_session(f->st, 0, "alice", NOW, NOW + 1000);
	if ((pid = fork()) == 0) {
		struct sgw_lmdb_conf o = f->o;
		char err[512];
		struct sgw_store *st;

		o.map_size = 8 * MIB;
		if ((st = open_store(&o, SGW_STORE_SERVE, err, sizeof(err))) ==
		    NULL)
			_exit(2);
		for (unsigned i = 1; i <= 600; i++) {
			unsigned char hh[SGW_HASH_LEN];
			struct sgw_record rec;

			mkhash(hh, i);
			mkrec(&rec, "bob", NOW, NOW + 1000);
			if (st->ops->put(st, hh, &rec, NOW) != SGW_STORE_OK ||
			    st->ops->data_put(st, hh, "k", big, sizeof(big),
			        64) != SGW_STORE_OK)
				_exit(3);
		}
		sgw_store_close(st);
		_exit(0);
	}
	assert_int_equal(reap(pid), 0);
	mkhash(h, 600);
	assert_int_equal(f->st->ops->get(f->st, h, &r), SGW_STORE_OK);
	assert_int_equal(
	    f->st->ops->data_get(f->st, h, "k", &val, &len), SGW_STORE_OK);
	assert_int_equal(len, sizeof(big));
	free(val);
	put_session(f->st, 1000, "alice", NOW, NOW + 1000);
	assert_true(stat_of(f->st).map_size >= 8 * MIB);
}

/* A store carried into a child of fork() refuses to work there, and the
 * child's close leaves the parent's reader slot alone. */
static void
a_store_used_after_fork_refuses(void **state)
{
	struct fx *f = *state;
	unsigned char h[SGW_HASH_LEN];
	struct sgw_record r;
	pid_t pid;

	mkhash(h, 1);
	put_session(f->st, 1, "alice", NOW, NOW + 1000);
	if ((pid = fork()) == 0) {
		int rc = f->st->ops->get(f->st, h, &r);
		int ok = rc == SGW_STORE_UNAVAILABLE &&
		    strstr(f->st->errstr, "fork") != NULL;

		sgw_store_close(f->st);
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(reap(pid), 0);
	assert_int_equal(f->st->ops->get(f->st, h, &r), SGW_STORE_OK);
	put_session(f->st, 2, "alice", NOW, NOW + 1000);
	assert_int_equal(f->st->ops->get(f->st, h, &r), SGW_STORE_OK);
}

/* ---- open modes and init ---- */

static void
serve_creates_the_directory_and_check_creates_nothing(void **state)
{
	struct fx *f = *state;
	struct sgw_lmdb_conf o = f->o;
	struct sgw_store *st;
	char sub[128], err[512] = "";
	struct stat sb;

	snprintf(sub, sizeof(sub), "%s/new", f->dir);
	o.path = sub;

	/* Check: a directory that does not exist is a problem. */
	assert_null(open_store(&o, SGW_STORE_CHECK, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot open "));
	assert_non_null(strstr(err, "No such file or directory"));
	assert_int_equal(stat(sub, &sb), -1);

	/* Check: an empty directory is fine, and stays empty. */
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_non_null(st = open_store(&o, SGW_STORE_CHECK, err, sizeof(err)));
	assert_int_equal(st->ops->ping(st), SGW_STORE_OK);
	assert_true(SGW_STORE_FAILED(st->ops->get(
	    st, (unsigned char[SGW_HASH_LEN]){0}, &(struct sgw_record){0})));
	sgw_store_close(st);
	assert_false(exists(sub, "data.mdb"));
	assert_false(exists(sub, "lock.mdb"));
	assert_int_equal(rmdir(sub), 0);

	/* Serve: makes the directory (0700) and the files. */
	assert_non_null(st = open_store(&o, SGW_STORE_SERVE, err, sizeof(err)));
	assert_int_equal(stat(sub, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	assert_true(exists(sub, "data.mdb"));
	assert_true(exists(sub, "lock.mdb"));
	put_session(st, 1, "alice", NOW, NOW + 1000);
	sgw_store_close(st);

	/* Check on a made store opens it, reads it, writes nothing. */
	assert_non_null(st = open_store(&o, SGW_STORE_CHECK, err, sizeof(err)));
	assert_int_equal(st->ops->ping(st), SGW_STORE_OK);
	assert_int_equal(stat_of(st).sessions, 1);
	assert_int_equal(st->ops->del(st, (unsigned char[SGW_HASH_LEN]){0}),
	    SGW_STORE_UNAVAILABLE);
	sgw_store_close(st);

	/* A file where the directory should be. */
	snprintf(sub, sizeof(sub), "%s/new/data.mdb", f->dir);
	o.path = sub;
	assert_null(open_store(&o, SGW_STORE_SERVE, err, sizeof(err)));
	assert_non_null(strstr(err, "is not a directory"));
}

/* As a user who may not write the directory (as root: in a child that
 * becomes nobody). */
static void
an_unwritable_directory_is_reported(void **state)
{
	struct fx *f = *state;
	struct sgw_lmdb_conf o = f->o;
	char sub[128];
	pid_t pid;

	snprintf(sub, sizeof(sub), "%s/ro", f->dir);
	assert_int_equal(mkdir(sub, 0500), 0);
	o.path = sub;
	if ((pid = fork()) == 0) {
		char err[512] = "", want[256];
		const struct passwd *pw = getpwnam("nobody");

		if (geteuid() == 0 &&
		    (pw == NULL || chmod(f->dir, 0755) == -1 ||
		        setgid(pw->pw_gid) == -1 || setuid(pw->pw_uid) == -1))
			_exit(2);
		snprintf(want, sizeof(want),
		    "cannot open %s: Permission denied", sub);
		if (open_store(&o, SGW_STORE_CHECK, err, sizeof(err)) != NULL ||
		    strcmp(err, want) != 0)
			_exit(3);
		if (open_store(&o, SGW_STORE_SERVE, err, sizeof(err)) != NULL ||
		    strcmp(err, want) != 0)
			_exit(4);
		_exit(0);
	}
	assert_int_equal(reap(pid), 0);
	assert_false(exists(sub, "data.mdb"));
}

static void
init_makes_the_store_once_and_says_so(void **state)
{
	struct fx *f = *state;
	struct sgw_lmdb_conf o = f->o;
	char sub[128], report[512], want[512], err[512] = "";
	struct sgw_store *st;

	snprintf(sub, sizeof(sub), "%s/init", f->dir);
	o.path = sub;
	assert_int_equal(sgw_store_lmdb.init(NULL, &o, report, sizeof(report),
	                     err, sizeof(err)),
	    0);
	snprintf(want, sizeof(want), "created %s (data.mdb, lock.mdb)", sub);
	assert_string_equal(report, want);
	assert_true(exists(sub, "data.mdb"));
	assert_true(exists(sub, "lock.mdb"));
	assert_int_equal(sgw_store_lmdb.init(NULL, &o, report, sizeof(report),
	                     err, sizeof(err)),
	    0);
	snprintf(want, sizeof(want), "nothing to do: %s is ready", sub);
	assert_string_equal(report, want);

	/* An existing empty directory. */
	rmtree(sub);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(sgw_store_lmdb.init(NULL, &o, report, sizeof(report),
	                     err, sizeof(err)),
	    0);
	snprintf(want, sizeof(want), "created data.mdb, lock.mdb in %s", sub);
	assert_string_equal(report, want);

	/* What init made, -t accepts. */
	assert_non_null(st = open_store(&o, SGW_STORE_CHECK, err, sizeof(err)));
	assert_int_equal(st->ops->ping(st), SGW_STORE_OK);
	sgw_store_close(st);

	/* A parent that does not exist. */
	snprintf(sub, sizeof(sub), "%s/no/such", f->dir);
	assert_int_equal(sgw_store_lmdb.init(NULL, &o, report, sizeof(report),
	                     err, sizeof(err)),
	    -1);
	snprintf(want, sizeof(want),
	    "cannot create %s: No such file or directory", sub);
	assert_string_equal(err, want);
}

/* Run as root, init gives the store to [server] user, who runs the
 * workers that will open it. */
static void
init_as_root_gives_the_store_to_the_workers_user(void **state)
{
	struct fx *f = *state;
	struct sgw_lmdb_conf o = f->o;
	struct sgw_conf conf;
	const struct passwd *pw = getpwnam("nobody");
	char sub[128], report[512], want[512], err[512] = "";
	struct stat sb;

	if (geteuid() != 0 || pw == NULL)
		skip();
	memset(&conf, 0, sizeof(conf));
	conf.user = "nobody";
	snprintf(sub, sizeof(sub), "%s/owned", f->dir);
	o.path = sub;
	assert_int_equal(sgw_store_lmdb.init(&conf, &o, report, sizeof(report),
	                     err, sizeof(err)),
	    0);
	snprintf(want, sizeof(want),
	    "created %s (data.mdb, lock.mdb), owned by nobody", sub);
	assert_string_equal(report, want);
	assert_int_equal(stat(sub, &sb), 0);
	assert_int_equal(sb.st_uid, pw->pw_uid);
	snprintf(want, sizeof(want), "%s/data.mdb", sub);
	assert_int_equal(stat(want, &sb), 0);
	assert_int_equal(sb.st_uid, pw->pw_uid);
	assert_int_equal(sgw_store_lmdb.init(&conf, &o, report, sizeof(report),
	                     err, sizeof(err)),
	    0);
	snprintf(want, sizeof(want), "nothing to do: %s is ready", sub);
	assert_string_equal(report, want);
	conf.user = "no-such-user-here";
	assert_int_equal(sgw_store_lmdb.init(&conf, &o, report, sizeof(report),
	                     err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "no such user"));
}

/* A file written by a future sessiongw, or an LMDB file that is not ours,
 * is refused, not reused. */
static void
a_foreign_store_is_refused(void **state)
{
	struct fx *f = *state;
	char err[512] = "";
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = {6, "format"}, v = {2, "99"};

	sgw_store_close(f->st);
	f->st = NULL;
	/* Sequential, so this process never has the environment twice. */
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, f->dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	assert_null(open_store(&f->o, SGW_STORE_SERVE, err, sizeof(err)));
	assert_non_null(strstr(err, "store format 99"));
	assert_null(open_store(&f->o, SGW_STORE_CHECK, err, sizeof(err)));
	assert_non_null(strstr(err, "store format 99"));
}

/* ---- through the configuration ---- */

static void
the_lmdb_section_reaches_open_through_the_configuration(void **state)
{
	struct fx *f = *state;
	struct sgw_conf conf;
	struct sgw_errs errs = {0};
	const struct sgw_lmdb_conf *o;
	struct sgw_store *st;
	char text[512], want[512];

	snprintf(text, sizeof(text),
	    "[store]\nbackend = lmdb\n"
	    "[lmdb]\npath = %s\nmap_size = 2m\nsync = on\n",
	    f->dir);
	assert_int_equal(
	    sgw_conf_parse("x.conf", text, strlen(text), &conf, &errs), 0);
	assert_non_null(o = sgw_conf_backend(&conf, "lmdb"));
	assert_string_equal(o->path, f->dir);
	assert_int_equal(o->map_size, 2 * MIB);
	assert_int_equal(o->sync, 1);
	sgw_store_close(f->st); /* one environment per process */
	f->st = NULL;
	assert_non_null(st = sgw_store_open(&conf, SGW_STORE_SERVE, &errs));
	assert_string_equal(st->backend, "lmdb");
	assert_int_equal(stat_of(st).map_size, 2 * MIB);
	put_session(st, 1, "alice", NOW, NOW + 1000);
	sgw_store_close(st);
	sgw_conf_free(&conf);

	/* What -t prints comes through sgw_store_open, prefixed once. */
	snprintf(text, sizeof(text), "[lmdb]\npath = %s/none\n", f->dir);
	assert_int_equal(
	    sgw_conf_parse("x.conf", text, strlen(text), &conf, &errs), 0);
	assert_null(sgw_store_open(&conf, SGW_STORE_CHECK, &errs));
	assert_int_equal(errs.n, 1);
	snprintf(want, sizeof(want),
	    "store lmdb: cannot open %s/none: No such file or directory "
	    "(sessiongw store init makes it)",
	    f->dir);
	assert_string_equal(errs.msg[0], want);
	sgw_errs_clear(&errs);
	sgw_conf_free(&conf);

	/* The defaults, and the range of map_size. */
	assert_int_equal(sgw_conf_parse("x.conf", "", 0, &conf, &errs), 0);
	o = sgw_conf_backend(&conf, "lmdb");
	assert_string_equal(o->path, "/var/lib/sessiongw");
	assert_int_equal(o->map_size, 256 * MIB);
	assert_int_equal(o->sync, 0);
	sgw_conf_free(&conf);
	snprintf(text, sizeof(text), "[lmdb]\nmap_size = 512k\n");
	assert_int_equal(
	    sgw_conf_parse("x.conf", text, strlen(text), &conf, &errs), -1);
	assert_true(errs.n >= 1);
	assert_non_null(strstr(errs.msg[0], "x.conf:2:"));
	sgw_errs_clear(&errs);
	snprintf(text, sizeof(text), "[lmdb]\npath = relative/dir\n");
	assert_int_equal(
	    sgw_conf_parse("x.conf", text, strlen(text), &conf, &errs), -1);
	assert_true(errs.n >= 1);
	assert_non_null(strstr(errs.msg[0], "absolute"));
	sgw_errs_clear(&errs);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(descriptor_has_the_lmdb_section),
	    T(put_then_get_returns_every_field),
	    T(get_returns_a_record_past_its_deadline),
	    T(put_over_an_existing_hash_replaces_it_whole),
	    T(refresh_moves_the_deadline_and_never_recreates),
	    T(del_removes_the_session_its_data_and_index_entries),
	    T(user_sessions_lists_oldest_first_and_only_the_user),
	    T(user_sessions_drops_index_entries_without_a_session),
	    T(a_version_1_record_is_still_read),
	    T(data_put_get_del),
	    T(data_put_is_full_at_max_keys_but_replaces),
	    T(counters_add_get_set_del),
	    T(active_counts_sessions_before_their_deadline),
	    T(sweep_removes_exactly_what_expired),
	    T(sweep_cost_does_not_grow_with_live_sessions),
	    T(sessions_survive_close_and_reopen),
	    T(two_processes_see_each_others_writes),
	    T(a_reader_killed_in_its_transaction_is_cleared),
	    T(a_writer_killed_in_its_transaction_leaves_the_store_usable),
	    T(a_full_map_refuses_new_writes_and_keeps_serving),
	    T(a_map_grown_by_another_process_is_adopted),
	    T(a_store_used_after_fork_refuses),
	    T(serve_creates_the_directory_and_check_creates_nothing),
	    T(an_unwritable_directory_is_reported),
	    T(init_makes_the_store_once_and_says_so),
	    T(init_as_root_gives_the_store_to_the_workers_user),
	    T(a_foreign_store_is_refused),
	    T(the_lmdb_section_reaches_open_through_the_configuration),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
