/*
 * store_lmdb: the session store in an LMDB environment (liblmdb 0.9.24),
 * one directory shared by every process of the host.
 *
 * Named databases in PATH/data.mdb (integers are unsigned 64-bit; "be64"
 * keys are big-endian with the sign bit flipped, so that memcmp orders
 * them as signed numbers; "le" values are little-endian):
 *
 *   sessions  HASH(32)                     -> a record (encode_record):
 *             version 2, remember_me, created, seen, expires, deadline
 *             (le64 each), agent(16), public id (32 hex digits), user
 *             length (le16), user, client length (1 byte), client;
 *             version 1 (written before 0.2) has no public id
 *   users     USER (DUPSORT, DUPFIXED)     -> be64 created || HASH, so a
 *             user's sessions come back oldest first ("\0" stands for an
 *             empty name: LMDB keys cannot be empty, names hold no NUL)
 *   expiry    be64 deadline || kind || KEY -> empty; kind 's' with a
 *             session's HASH, 'c' with a counter's name. The oldest
 *             deadline is the first key, so a sweep or a count of the
 *             expired reads only what has expired.
 *   data      HASH || NAME                 -> the value, as given
 *   counters  NAME                         -> version 1, le64 value,
 *             le64 deadline
 *   meta      "format"                     -> "1"
 *
 * Every change to a session or counter updates its expiry entry in the
 * same write transaction, so the indexes never disagree with the records.
 *
 * Transactions: each process opens its own environment after fork, with
 * MDB_NOTLS, and keeps one read transaction that it renews for a read and
 * resets after it (a reset transaction pins no pages). A write is one
 * write transaction; LMDB lets one writer in at a time across processes,
 * and readers never wait for it.
 *
 * Durability ([lmdb] sync):
 *   off  MDB_NOSYNC: commits reach the page cache, not the disk. A crash
 *        of sessiongw (a worker killed, even mid-transaction) loses
 *        nothing committed; a crash of the host (power, kernel) may lose
 *        the last transactions before the kernel wrote them back: recent
 *        logins, refreshes, logouts and counter updates. The database
 *        stays consistent: what is lost is whole transactions.
 *   on   every commit is flushed (fdatasync) before the call returns; a
 *        host crash loses nothing that was answered.
 * MDB_WRITEMAP is not used: with it a stray write in the process would
 * land in the database, and a host crash under MDB_NOSYNC could corrupt
 * it instead of only losing the last transactions.
 *
 * Crashes: a process killed inside a read transaction leaves a reader slot
 * that pins old pages until mdb_reader_check() clears it; open and sweep
 * call it, and so does every write once the map is nearly full. The
 * writer lock is a robust mutex on Linux: a writer killed
 * mid-transaction loses that transaction and the next writer proceeds.
 *
 * A full map: writes that add (a new session, data, a new counter) are
 * refused with SGW_STORE_NOSPACE a little before the map is full (see
 * room()), so that refresh, del and sweep, which free as much as they
 * take, still have pages: existing sessions keep working while new logins
 * are refused, until the sweep frees room or map_size is raised.
 */
#include "store_lmdb.h"

#include <errno.h>
#include <grp.h>
#include <lmdb.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"

#define FORMAT "1"
#define RECORD_VERSION 2
#define RECORD_V1 1 /* no public id */
#define ID_LEN (SGW_PUBLIC_ID_HEX - 1)
#define COUNTER_VERSION 1
#define MAX_DBS 8
/* A reader slot per process (MDB_NOTLS, one read transaction each):
 * 1024 workers, as many again while a reload replaces them, the sweeper
 * and subcommands. A slot is 64 bytes of lock.mdb. */
#define MAX_READERS 4096

#define KIND_SESSION 's'
#define KIND_COUNTER 'c'
#define EXPIRY_HEAD 9 /* be64 deadline, kind */
#define EXPIRY_KEY_MAX (EXPIRY_HEAD + SGW_COUNTER_KEY_MAXLEN)
#define INDEX_LEN (8 + SGW_HASH_LEN)
#define DATA_KEY_MAX (SGW_HASH_LEN + SGW_DATA_KEY_MAXLEN)
#define RECORD_FIXED_V1 (1 + 1 + 4 * 8 + SGW_AGENT_LEN + 2 + 1)
#define RECORD_FIXED (RECORD_FIXED_V1 + ID_LEN)
#define RECORD_MAX (RECORD_FIXED + SGW_USER_MAXLEN + SGW_CLIENT_MAXLEN)
#define COUNTER_LEN (1 + 8 + 8)

/* Pages a write that adds must leave free: 1/64 of the map, at least 32
 * and at most 16384 pages (64 MiB of 4 KiB pages). */
#define RESERVE_MIN 32
#define RESERVE_MAX 16384

struct lmdb_store {
	struct sgw_store base;
	MDB_env *env;  /* NULL: not open (see ready()) */
	MDB_txn *rtxn; /* the read transaction, reset when idle */
	MDB_dbi sessions, users, expiry, data, counters, meta;
	enum sgw_store_mode mode; /* CHECK never creates anything */
	unsigned forks;           /* `forks` when env was opened */
	int broken;               /* MDB_PANIC: reopen before the next call */
	char *path;               /* [lmdb] path */
	size_t map_size;          /* [lmdb] map_size, for messages */
	int sync;                 /* [lmdb] sync */
	int made_dbs;             /* this open created the databases */
	uint64_t swept_visited;   /* expiry entries the last sweep read */
	int stale_readers;        /* slots cleared by the last reader check */
};

/* clang-format off */
static const struct sgw_conf_key lmdb_keys[] = {
	/* section name        type         flags  min        max                 default               field */
	{ "lmdb", "path",     SGW_T_STR,   0,     0,         4000,               "/var/lib/sessiongw", offsetof(struct sgw_lmdb_conf, path),     0 },
	{ "lmdb", "map_size", SGW_T_SIZE,  0,     1 << 20,   INT64_C(1) << 40,   "256m",               offsetof(struct sgw_lmdb_conf, map_size), 0 },
	{ "lmdb", "sync",     SGW_T_BOOL,  0,     0,         0,                  "off",                offsetof(struct sgw_lmdb_conf, sync),     0 },
};
/* clang-format on */

static const struct sgw_store_ops lmdb_ops;

/*
 * An LMDB environment must not be used in a process that did not open it
 * (lmdb.h): a child of fork() would share the parent's reader slots and
 * locks. Counting forks in the child lets every call check that for the
 * price of a comparison, where getpid() would be a system call per read.
 */
static volatile unsigned forks;
static pthread_once_t forks_once = PTHREAD_ONCE_INIT;

static void
count_fork(void)
{
	forks++;
}

static void
watch_forks(void)
{
	(void)pthread_atfork(NULL, NULL, count_fork);
}

/* ---- encodings ---- */

static void
put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
get_le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* Big-endian with the sign bit flipped: memcmp order is numeric order. */
static void
put_key64(unsigned char *p, int64_t v)
{
	uint64_t u = (uint64_t)v ^ (UINT64_C(1) << 63);

	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(u >> (56 - 8 * i));
}

static int64_t
get_key64(const unsigned char *p)
{
	uint64_t u = 0;
	int64_t v;

	for (int i = 0; i < 8; i++)
		u = u << 8 | p[i];
	u ^= UINT64_C(1) << 63;
	memcpy(&v, &u, sizeof(v)); /* two's complement, without UB */
	return v;
}

static int64_t
s64(uint64_t u)
{
	int64_t v;

	memcpy(&v, &u, sizeof(v));
	return v;
}

static int64_t
add_sat(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

/* The record's bytes into buf (RECORD_MAX). -1 when a string field is
 * not terminated inside its array. */
static int
encode_record(const struct sgw_record *r, unsigned char *buf, size_t *len)
{
	size_t ul = strnlen(r->user, sizeof(r->user));
	size_t cl = strnlen(r->client, sizeof(r->client));
	unsigned char *p = buf;

	if (ul == sizeof(r->user) || cl == sizeof(r->client))
		return -1;
	*p++ = RECORD_VERSION;
	*p++ = r->remember_me != 0;
	put_le64(p, (uint64_t)r->created_ms), p += 8;
	put_le64(p, (uint64_t)r->seen_ms), p += 8;
	put_le64(p, (uint64_t)r->expires_ms), p += 8;
	put_le64(p, (uint64_t)r->deadline_ms), p += 8;
	memcpy(p, r->agent, SGW_AGENT_LEN), p += SGW_AGENT_LEN;
	/* "" (a caller that made none) is kept as zeros. */
	memset(p, 0, ID_LEN);
	memcpy(p, r->id, strnlen(r->id, ID_LEN)), p += ID_LEN;
	*p++ = (unsigned char)(ul & 0xff);
	*p++ = (unsigned char)(ul >> 8);
	memcpy(p, r->user, ul), p += ul;
	*p++ = (unsigned char)cl;
	memcpy(p, r->client, cl), p += cl;
	*len = (size_t)(p - buf);
	return 0;
}

/* The reverse; -1 when v is not a record this code wrote. */
static int
decode_record(const MDB_val *v, struct sgw_record *r)
{
	const unsigned char *p = v->mv_data, *end = p + v->mv_size;
	size_t ul, cl;

	if (v->mv_size < RECORD_FIXED_V1 ||
	    (p[0] != RECORD_VERSION && p[0] != RECORD_V1) ||
	    (p[0] == RECORD_VERSION && v->mv_size < RECORD_FIXED))
		return -1;
	memset(r, 0, sizeof(*r));
	r->remember_me = p[1] != 0;
	p += 2;
	r->created_ms = s64(get_le64(p)), p += 8;
	r->seen_ms = s64(get_le64(p)), p += 8;
	r->expires_ms = s64(get_le64(p)), p += 8;
	r->deadline_ms = s64(get_le64(p)), p += 8;
	memcpy(r->agent, p, SGW_AGENT_LEN), p += SGW_AGENT_LEN;
	if (((const unsigned char *)v->mv_data)[0] == RECORD_VERSION) {
		memcpy(r->id, p, ID_LEN); /* r->id[ID_LEN] is 0 (memset) */
		p += ID_LEN;
	}
	ul = (size_t)p[0] | (size_t)p[1] << 8;
	p += 2;
	if (ul > SGW_USER_MAXLEN || (size_t)(end - p) < ul + 1)
		return -1;
	memcpy(r->user, p, ul), p += ul;
	cl = *p++;
	if (cl > SGW_CLIENT_MAXLEN || (size_t)(end - p) != cl)
		return -1;
	memcpy(r->client, p, cl);
	return 0;
}

static void
encode_counter(unsigned char buf[COUNTER_LEN], int64_t value, int64_t deadline)
{
	buf[0] = COUNTER_VERSION;
	put_le64(buf + 1, (uint64_t)value);
	put_le64(buf + 9, (uint64_t)deadline);
}

static int
decode_counter(const MDB_val *v, int64_t *value, int64_t *deadline)
{
	const unsigned char *p = v->mv_data;

	if (v->mv_size != COUNTER_LEN || p[0] != COUNTER_VERSION)
		return -1;
	*value = s64(get_le64(p + 1));
	*deadline = s64(get_le64(p + 9));
	return 0;
}

static MDB_val
expiry_key(unsigned char buf[EXPIRY_KEY_MAX], int64_t deadline, int kind,
    const void *key, size_t len)
{
	MDB_val k = {EXPIRY_HEAD + len, buf};

	put_key64(buf, deadline);
	buf[8] = (unsigned char)kind;
	memcpy(buf + EXPIRY_HEAD, key, len);
	return k;
}

static MDB_val
user_key(const char *user)
{
	MDB_val k = {strlen(user), (void *)user};

	if (k.mv_size == 0) {
		k.mv_size = 1;
		k.mv_data = (void *)"";
	}
	return k;
}

static MDB_val
index_val(unsigned char buf[INDEX_LEN], int64_t created,
    const unsigned char hash[SGW_HASH_LEN])
{
	MDB_val v = {INDEX_LEN, buf};

	put_key64(buf, created);
	memcpy(buf + 8, hash, SGW_HASH_LEN);
	return v;
}

/* A counter's name as a key: 1..SGW_COUNTER_KEY_MAXLEN bytes, else -1. */
static int
counter_key(const char *name, MDB_val *k)
{
	size_t n = name != NULL ? strnlen(name, SGW_COUNTER_KEY_MAXLEN + 1) : 0;

	if (n == 0 || n > SGW_COUNTER_KEY_MAXLEN)
		return -1;
	k->mv_size = n;
	k->mv_data = (void *)name;
	return 0;
}

/* HASH || NAME, NAME 1..SGW_DATA_KEY_MAXLEN bytes, else -1. */
static int
data_key(unsigned char buf[DATA_KEY_MAX],
    const unsigned char hash[SGW_HASH_LEN], const char *name, MDB_val *k)
{
	size_t n = name != NULL ? strnlen(name, SGW_DATA_KEY_MAXLEN + 1) : 0;

	if (n == 0 || n > SGW_DATA_KEY_MAXLEN)
		return -1;
	memcpy(buf, hash, SGW_HASH_LEN);
	memcpy(buf + SGW_HASH_LEN, name, n);
	k->mv_size = SGW_HASH_LEN + n;
	k->mv_data = buf;
	return 0;
}

/* "256m" as [lmdb] map_size would be written. */
static const char *
fmt_size(size_t n, char *buf, size_t len)
{
	if (n % (1024 * 1024) == 0)
		snprintf(buf, len, "%zum", n / (1024 * 1024));
	else if (n % 1024 == 0)
		snprintf(buf, len, "%zuk", n / 1024);
	else
		snprintf(buf, len, "%zu", n);
	return buf;
}

/* ---- errors ---- */

/* An LMDB error as a store error, with its message in errstr. */
static int
fail_mdb(struct lmdb_store *ls, int rc, const char *what)
{
	char sz[32];

	if (rc == MDB_MAP_FULL)
		return sgw_store_fail(&ls->base, SGW_STORE_NOSPACE,
		    "lmdb: map_size (%s) is full: raise [lmdb] map_size",
		    fmt_size(ls->map_size, sz, sizeof(sz)));
	if (rc == MDB_PANIC)
		ls->broken = 1;
	return sgw_store_fail(&ls->base, SGW_STORE_UNAVAILABLE,
	    "lmdb: %s %s: %s", what, ls->path, mdb_strerror(rc));
}

static int
fail_corrupt(struct lmdb_store *ls, const char *what)
{
	return sgw_store_fail(&ls->base, SGW_STORE_UNAVAILABLE,
	    "lmdb: %s/data.mdb holds a %s this sessiongw cannot read", ls->path,
	    what);
}

/* ---- the environment ---- */

static void
env_close(struct lmdb_store *ls)
{
	if (ls->rtxn != NULL)
		mdb_txn_abort(ls->rtxn);
	ls->rtxn = NULL;
	if (ls->env != NULL)
		mdb_env_close(ls->env);
	ls->env = NULL;
	ls->broken = 0;
}

/* Opens (or, with create, also makes) one named database. */
static int
open_db(
    MDB_txn *txn, const char *name, unsigned flags, int create, MDB_dbi *dbi)
{
	return mdb_dbi_open(txn, name, flags | (create ? MDB_CREATE : 0), dbi);
}

/*
 * Opens ls->path as this process's environment. With create the named
 * databases are made when missing (the files are made by mdb_env_open in
 * any case: callers that must create nothing look before they call).
 * Returns 0, or -1 with the reason in err. Messages for err (open, init)
 * carry no "lmdb: ", which sgw_store_open and its callers add ("store
 * lmdb: ..."); those for errstr do.
 */
static int
env_open(struct lmdb_store *ls, int create, char *err, size_t errlen)
{
	MDB_txn *txn = NULL;
	MDB_val k = {6, (void *)"format"}, v;
	unsigned flags = MDB_NOTLS | (ls->sync ? 0 : MDB_NOSYNC);
	int rc, dead = 0;

	ls->made_dbs = 0;
	if ((rc = mdb_env_create(&ls->env)) != 0) {
		ls->env = NULL;
		snprintf(err, errlen, "%s", mdb_strerror(rc));
		return -1;
	}
	if ((rc = mdb_env_set_maxdbs(ls->env, MAX_DBS)) != 0 ||
	    (rc = mdb_env_set_maxreaders(ls->env, MAX_READERS)) != 0 ||
	    (rc = mdb_env_set_mapsize(ls->env, ls->map_size)) != 0 ||
	    (rc = mdb_env_open(ls->env, ls->path, flags, 0600)) != 0) {
		snprintf(err, errlen, "cannot open %s: %s", ls->path,
		    mdb_strerror(rc));
		goto fail;
	}
	/* Slots left by processes killed inside a read transaction. */
	(void)mdb_reader_check(ls->env, &dead);
	ls->stale_readers = dead;

	if ((rc = mdb_txn_begin(
	         ls->env, NULL, create ? 0 : MDB_RDONLY, &txn)) != 0) {
		snprintf(err, errlen, "cannot read %s: %s", ls->path,
		    mdb_strerror(rc));
		goto fail;
	}
	rc = open_db(txn, "meta", 0, create, &ls->meta);
	if (rc == 0 && (rc = mdb_get(txn, ls->meta, &k, &v)) == MDB_NOTFOUND &&
	    create) {
		v.mv_size = strlen(FORMAT);
		v.mv_data = (void *)FORMAT;
		if ((rc = mdb_put(txn, ls->meta, &k, &v, 0)) == 0)
			ls->made_dbs = 1;
	}
	if (rc == MDB_NOTFOUND) {
		snprintf(err, errlen,
		    "%s/data.mdb holds no sessiongw store "
		    "(sessiongw store init makes one)",
		    ls->path);
		goto fail;
	}
	if (rc == 0 &&
	    (v.mv_size != strlen(FORMAT) ||
	        memcmp(v.mv_data, FORMAT, v.mv_size) != 0)) {
		snprintf(err, errlen,
		    "%s/data.mdb holds store format %.*s; "
		    "this sessiongw knows format %s",
		    ls->path, v.mv_size < 16 ? (int)v.mv_size : 16,
		    (const char *)v.mv_data, FORMAT);
		goto fail;
	}
	if (rc != 0 ||
	    (rc = open_db(txn, "sessions", 0, create, &ls->sessions)) != 0 ||
	    (rc = open_db(txn, "users", MDB_DUPSORT | MDB_DUPFIXED, create,
	         &ls->users)) != 0 ||
	    (rc = open_db(txn, "expiry", 0, create, &ls->expiry)) != 0 ||
	    (rc = open_db(txn, "data", 0, create, &ls->data)) != 0 ||
	    (rc = open_db(txn, "counters", 0, create, &ls->counters)) != 0) {
		snprintf(err, errlen, "cannot open the databases in %s: %s",
		    ls->path, mdb_strerror(rc));
		goto fail;
	}
	/* A commit, even of a read transaction, keeps the handles. */
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0) {
		char sz[32];

		if (rc == MDB_MAP_FULL)
			snprintf(err, errlen,
			    "map_size (%s) is full: raise "
			    "[lmdb] map_size",
			    fmt_size(ls->map_size, sz, sizeof(sz)));
		else
			snprintf(err, errlen, "cannot write to %s: %s",
			    ls->path, mdb_strerror(rc));
		goto fail;
	}
	if ((rc = mdb_txn_begin(ls->env, NULL, MDB_RDONLY, &ls->rtxn)) != 0) {
		snprintf(err, errlen, "cannot read %s: %s", ls->path,
		    mdb_strerror(rc));
		goto fail;
	}
	mdb_txn_reset(ls->rtxn);
	ls->forks = forks;
	return 0;
fail:
	if (txn != NULL)
		mdb_txn_abort(txn);
	env_close(ls);
	return -1;
}

/* The store can be used now: it belongs to this process and is open. */
static int
ready(struct lmdb_store *ls)
{
	char why[sizeof(ls->base.errstr) - 8];

	if (ls->env != NULL && ls->forks != forks)
		return sgw_store_fail(&ls->base, SGW_STORE_UNAVAILABLE,
		    "lmdb: %s was opened before a fork: each process must open "
		    "its own store",
		    ls->path);
	if (ls->broken)
		env_close(ls);
	if (ls->env != NULL)
		return SGW_STORE_OK;
	if (ls->mode == SGW_STORE_CHECK)
		return sgw_store_fail(&ls->base, SGW_STORE_UNAVAILABLE,
		    "lmdb: %s holds no database yet", ls->path);
	if (env_open(ls, 1, why, sizeof(why)) == -1)
		return sgw_store_fail(
		    &ls->base, SGW_STORE_UNAVAILABLE, "lmdb: %s", why);
	return SGW_STORE_OK;
}

/* The read transaction, renewed. End it with rend(). */
static int
rbegin(struct lmdb_store *ls, MDB_txn **txn)
{
	int rc;

	if ((rc = ready(ls)) != SGW_STORE_OK)
		return rc;
	rc = mdb_txn_renew(ls->rtxn);
	if (rc == MDB_MAP_RESIZED) {
		/* Another process grew the map (a reload with a larger
		 * map_size): adopt its size. */
		if ((rc = mdb_env_set_mapsize(ls->env, 0)) == 0)
			rc = mdb_txn_renew(ls->rtxn);
	} else if (rc != 0 && rc != MDB_PANIC) {
		/* A slot that is no longer ours: start from a new one. */
		mdb_txn_abort(ls->rtxn);
		ls->rtxn = NULL;
		if ((rc = mdb_txn_begin(
		         ls->env, NULL, MDB_RDONLY, &ls->rtxn)) != 0)
			ls->broken = 1;
	}
	if (rc != 0)
		return fail_mdb(ls, rc, "cannot read");
	*txn = ls->rtxn;
	return SGW_STORE_OK;
}

static void
rend(struct lmdb_store *ls)
{
	mdb_txn_reset(ls->rtxn);
}

/*
 * Is the last page in use within reserve pages of the end of the map?
 * *pages, *used and *reserve get the figures, in pages.
 */
static int
near_full(struct lmdb_store *ls, size_t *pages, size_t *used, size_t *reserve)
{
	MDB_envinfo info;
	MDB_stat ms;

	if (mdb_env_info(ls->env, &info) != 0 ||
	    mdb_env_stat(ls->env, &ms) != 0)
		return 0;
	*pages = info.me_mapsize / ms.ms_psize;
	*used = info.me_last_pgno + 1;
	*reserve = *pages / 64;
	if (*reserve < RESERVE_MIN)
		*reserve = RESERVE_MIN;
	if (*reserve > RESERVE_MAX)
		*reserve = RESERVE_MAX;
	return *used + *reserve > *pages;
}

static int
wbegin(struct lmdb_store *ls, MDB_txn **txn)
{
	size_t pages, used, reserve;
	int dead;

	int rc;

	*txn = NULL;
	if ((rc = ready(ls)) != SGW_STORE_OK)
		return rc;
	if (ls->mode == SGW_STORE_CHECK)
		return sgw_store_fail(&ls->base, SGW_STORE_UNAVAILABLE,
		    "lmdb: %s is open to be checked, not written", ls->path);
	/* Near the end of the map, a reader slot left by a killed process
	 * would keep freed pages from being reused until the next sweep:
	 * clear such slots now rather than run out. */
	if (near_full(ls, &pages, &used, &reserve))
		(void)mdb_reader_check(ls->env, &dead);
	rc = mdb_txn_begin(ls->env, NULL, 0, txn);
	if (rc == MDB_MAP_RESIZED &&
	    (rc = mdb_env_set_mapsize(ls->env, 0)) == 0)
		rc = mdb_txn_begin(ls->env, NULL, 0, txn);
	if (rc != 0) {
		*txn = NULL;
		return fail_mdb(ls, rc, "cannot write to");
	}
	return SGW_STORE_OK;
}

/* Commits *txn (which is gone afterwards, whatever happened). */
static int
wcommit(struct lmdb_store *ls, MDB_txn **txn)
{
	int rc = mdb_txn_commit(*txn);

	*txn = NULL;
	return rc == 0 ? SGW_STORE_OK : fail_mdb(ls, rc, "cannot write to");
}

static void
wabort(MDB_txn **txn)
{
	if (*txn != NULL)
		mdb_txn_abort(*txn);
	*txn = NULL;
}

/*
 * May a write that adds to the store go ahead? Each write copies the pages
 * it changes, so refresh, del and sweep need free pages too, even though
 * they free as many as they take. Writes that add are refused while less
 * than a reserve is left: past the last page in use, plus the freed pages
 * LMDB reuses first (counted only near the end of the map, since reading
 * the free list is not free). Returns 0 or MDB_MAP_FULL.
 */
static int
room(struct lmdb_store *ls)
{
	MDB_cursor *c = NULL;
	MDB_val k, v;
	MDB_txn *txn;
	size_t pages, used, reserve, freed = 0;

	if (!near_full(ls, &pages, &used, &reserve))
		return 0;
	/* LMDB reads its free list (database 0) only in a read transaction;
	 * with MDB_NOTLS one may run beside this process's write. Not
	 * through rbegin(): nothing here may reopen the environment. When
	 * the count cannot be had, the write goes ahead and meets
	 * MDB_MAP_FULL itself if it must. */
	if ((txn = ls->rtxn) == NULL || mdb_txn_renew(txn) != 0)
		return 0;
	if (mdb_cursor_open(txn, 0, &c) == 0) {
		while (mdb_cursor_get(c, &k, &v, MDB_NEXT) == 0 &&
		    used + reserve > pages + freed) {
			size_t n; /* an ID list: its first word is its length */

			if (v.mv_size >= sizeof(n)) {
				memcpy(&n, v.mv_data, sizeof(n));
				freed += n;
			}
		}
		mdb_cursor_close(c);
	}
	mdb_txn_reset(txn);
	return used + reserve <= pages + freed ? 0 : MDB_MAP_FULL;
}

/* ---- the steps of a write, inside its transaction ---- */

static int
ignore_notfound(int rc)
{
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Removes every data key of a session (at most max_keys of them). */
static int
drop_data(
    struct lmdb_store *ls, MDB_txn *txn, const unsigned char hash[SGW_HASH_LEN])
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	if ((rc = mdb_cursor_open(txn, ls->data, &c)) != 0)
		return rc;
	for (;;) {
		k.mv_size = SGW_HASH_LEN;
		k.mv_data = (void *)hash;
		if ((rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE)) != 0)
			break;
		if (k.mv_size < SGW_HASH_LEN ||
		    memcmp(k.mv_data, hash, SGW_HASH_LEN) != 0)
			break;
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			break;
	}
	mdb_cursor_close(c);
	return ignore_notfound(rc);
}

/*
 * Removes the session stored under hash as *val (just read in this
 * transaction), its index entries and its data. A record that cannot be
 * read takes its index entries with it only as far as they can be found;
 * user_sessions and sweep drop what is left.
 */
static int
drop_session(struct lmdb_store *ls, MDB_txn *txn,
    const unsigned char hash[SGW_HASH_LEN], const MDB_val *val)
{
	unsigned char ebuf[EXPIRY_KEY_MAX], ibuf[INDEX_LEN];
	MDB_val k = {SGW_HASH_LEN, (void *)hash}, ek, uk, iv;
	struct sgw_record r;
	int rc;

	if (decode_record(val, &r) == 0) {
		uk = user_key(r.user);
		iv = index_val(ibuf, r.created_ms, hash);
		if ((rc = ignore_notfound(mdb_del(txn, ls->users, &uk, &iv))) !=
		    0)
			return rc;
		ek = expiry_key(
		    ebuf, r.deadline_ms, KIND_SESSION, hash, SGW_HASH_LEN);
		if ((rc = ignore_notfound(
		         mdb_del(txn, ls->expiry, &ek, NULL))) != 0)
			return rc;
	}
	if ((rc = drop_data(ls, txn, hash)) != 0)
		return rc;
	return ignore_notfound(mdb_del(txn, ls->sessions, &k, NULL));
}

/* ---- sessions ---- */

static int
lmdb_put(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN],
    const struct sgw_record *rec, int64_t now_ms)
{
	struct lmdb_store *ls = (struct lmdb_store *)st;
	unsigned char buf[RECORD_MAX], ebuf[EXPIRY_KEY_MAX], ibuf[INDEX_LEN];
	MDB_val k = {SGW_HASH_LEN, (void *)hash}, v, old, ek, uk, iv;
	MDB_txn *txn;
	size_t len;
	int rc;

	(void)now_ms;
	if (encode_record(rec, buf, &len) == -1)
		return sgw_store_fail(st, SGW_STORE_UNAVAILABLE,
		    "lmdb: a record whose user or client is not a string");
	if ((rc = wbegin(ls, &txn)) != SGW_STORE_OK)
		return rc;
	if ((rc = room(ls)) != 0)
		goto fail;
	/* A new session under a hash already stored replaces it whole. */
	rc = mdb_get(txn, ls->sessions, &k, &old);
	if (rc == 0)
		rc = drop_session(ls, txn, hash, &old);
	if ((rc = ignore_notfound(rc)) != 0)
		goto fail;
	v.mv_size = len;
	v.mv_data = buf;
	uk = user_key(rec->user);
	iv = index_val(ibuf, rec->created_ms, hash);
	ek = expiry_key(
	    ebuf, rec->deadline_ms, KIND_SESSION, hash, SGW_HASH_LEN);
	old.mv_size = 0;
	old.mv_data = (void *)"";
	if ((rc = mdb_put(txn, ls->sessions, &k, &v, 0)) != 0 ||
	    (rc = mdb_put(txn, ls->users, &uk, &iv, 0)) != 0 ||
	    (rc = mdb_put(txn, ls->expiry, &ek, &old, 0)) != 0)
		goto fail;
	return wcommit(ls, &txn);
fail:
	wabort(&txn);
	return fail_mdb(ls, rc, "cannot write to");
}

static int
lmdb_get(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN],
    struct sgw_record *out)
{
	struct lmdb_store *ls = (struct lmdb_store *)st;
	MDB_val k = {SGW_HASH_LEN, (void *)hash}, v;
	MDB_txn *txn;
	int rc;

	if ((rc = rbegin(ls, &txn)) != SGW_STORE_OK)
		return rc;
	rc = mdb_get(txn, ls->sessions, &k, &v);
	if (rc == 0)
		rc = decode_record(&v, out) == 0 ? SGW_STORE_OK
		                                 : fail_corrupt(ls, "session");
	else if (rc == MDB_NOTFOUND)
		rc = SGW_STORE_NOTFOUND;
	else
		rc = fail_mdb(ls, rc, "cannot read");
	rend(ls);
	return rc;
}

static int
lmdb_refresh(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN],
    int64_t seen_ms, int64_t deadline_ms, int64_t now_ms)
{
	struct lmdb_store *ls = (struct lmdb_store *)st;
	unsigned char buf[RECORD_MAX], ebuf[EXPIRY_KEY_MAX];
	MDB_val k = {SGW_HASH_LEN, (void *)hash}, v, ek,
	        empty = {0, (void *)""};
	struct sgw_record r;
	MDB_txn *txn;
	size_t len;
	int rc;

	if ((rc = wbegin(ls, &txn)) != SGW_STORE_OK)
		return rc;
	if ((rc = mdb_get(txn, ls->sessions, &k, &v)) != 0)
		goto fail;
	if (decode_record(&v, &r) == -1) {
		wabort(&txn);
		return fail_corrupt(ls, "session");
	}
	/* Past its deadline the session is gone, as it would be from a
	 * store with TTLs, even before the sweep has removed it. */
	if (r.deadline_ms <= now_ms) {
		rc = MDB_NOTFOUND;
		goto fail;
	}
	if (r.deadline_ms != deadline_ms) {
		ek = expiry_key(
		    ebuf, r.deadline_ms, KIND_SESSION, hash, SGW_HASH_LEN);
		if ((rc = ignore_notfound(
		         mdb_del(txn, ls->expiry, &ek, NULL))) != 0)
			goto fail;
		ek = expiry_key(
		    ebuf, deadline_ms, KIND_SESSION, hash, SGW_HASH_LEN);
		if ((rc = mdb_put(txn, ls->expiry, &ek, &empty, 0)) != 0)
			goto fail;
	}
	r.seen_ms = seen_ms;
	r.deadline_ms = deadline_ms;
	(void)encode_record(&r, buf, &len); /* decoded, so well-formed */
	v.mv_size = len;
	v.mv_data = buf;
	if ((rc = mdb_put(txn, ls->sessions, &k, &v, 0)) != 0)
		goto fail;
	return wcommit(ls, &txn);
fail:
	wabort(&txn);
	return rc == MDB_NOTFOUND ? SGW_STORE_NOTFOUND
	                          : fail_mdb(ls, rc, "cannot write to");
}

static int
lmdb_del(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN])
{
	struct lmdb_store *ls = (struct lmdb_store *)st;
	MDB_val k = {SGW_HASH_LEN, (void *)hash}, v;
	MDB_txn *txn;
	int rc;

	if ((rc = wbegin(ls, &txn)) != SGW_STORE_OK)
		return rc;
	if ((rc = mdb_get(txn, ls->sessions, &k, &v)) != 0 ||
	    (rc = drop_session(ls, txn, hash, &v)) != 0)
		goto fail;
	return wcommit(ls, &txn);
fail:
	wabort(&txn);
	return rc == MDB_NOTFOUND ? SGW_STORE_NOTFOUND
	                          : fail_mdb(ls, rc, "cannot write to");
}

/* Drops index entries whose session has gone (see user_sessions). */
static void
prune_index(struct lmdb_store *ls, const char *user,
    const unsigned char (*stale)[INDEX_LEN], size_t n)
{
	MDB_val uk = user_key(user), iv, v;
	MDB_txn *txn;
	struct sgw_record r;
	int rc = 0;

	if (wbegin(ls, &txn) != SGW_STORE_OK)
		return;
	for (size_t i = 0; i < n && rc == 0; i++) {
		MDB_val k = {SGW_HASH_LEN, (void *)(stale[i] + 8)};

		/* Made again since it was read? Then the entry is right. */
		if (mdb_get(txn, ls->sessions, &k, &v) == 0 &&
		    decode_record(&v, &r) == 0 && strcmp(r.user, user) == 0 &&
		    r.created_ms == get_key64(stale[i]))
			continue;
		iv.mv_size = INDEX_LEN;
		iv.mv_data = (void *)stale[i];
		rc = ignore_notfound(mdb_del(txn, ls->users, &uk, &iv));
	}
	if (rc == 0)
		(void)wcommit(ls, &txn);
	wabort(&txn);
}

static int
lmdb_user_sessions(
    struct sgw_store *st, const char *user, struct sgw_stored **out, size_t *n)
{
	struct lmdb_store *ls = (struct lmdb_store *)st;
	struct sgw_stored *vec = NULL;
	unsigned char(*stale)[INDEX_LEN] = NULL;
	MDB_val uk = user_key(user), iv, v;
	MDB_cursor *c = NULL;
	MDB_txn *txn;
	size_t count = 0, got = 0, nstale = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = rbegin(ls, &txn)) != SGW_STORE_OK)
		return rc;
	if ((rc = mdb_cursor_open(txn, ls->users, &c)) != 0)
		goto fail;
	if ((rc = mdb_cursor_get(c, &uk, &iv, MDB_SET_KEY)) == MDB_NOTFOUND) {
		rc = 0;
		goto done;
	}
	if (rc != 0 || (rc = mdb_cursor_count(c, &count)) != 0)
		goto fail;
	if ((vec = calloc(count, sizeof(*vec))) == NULL ||
	    (stale = calloc(count, sizeof(*stale))) == NULL) {
		rc = ENOMEM;
		goto fail;
	}
	/* Duplicates come in memcmp order of be64 created || hash: oldest
	 * first. */
	for (; rc == 0 && got + nstale < count;
	     rc = mdb_cursor_get(c, &uk, &iv, MDB_NEXT_DUP)) {
		MDB_val k = {SGW_HASH_LEN, NULL};
		struct sgw_stored *s = &vec[got];

		if (iv.mv_size != INDEX_LEN)
			continue;
		k.mv_data = (unsigned char *)iv.mv_data + 8;
		if (mdb_get(txn, ls->sessions, &k, &v) == 0 &&
		    decode_record(&v, &s->rec) == 0 &&
		    strcmp(s->rec.user, user) == 0) {
			memcpy(s->hash, k.mv_data, SGW_HASH_LEN);
			got++;
		} else {
			memcpy(stale[nstale++], iv.mv_data, INDEX_LEN);
		}
	}
	if ((rc = ignore_notfound(rc)) != 0)
		goto fail;
done:
	mdb_cursor_close(c);
	rend(ls);
	/* The index is kept with the sessions in every write, so stale
	 * entries mean an older or damaged file; dropping them is a repair
	 * that may wait for the next listing if it fails now. */
	if (nstale > 0)
		prune_index(
		    ls, user, (const unsigned char(*)[INDEX_LEN])stale, nstale);
	free(stale);
	if (got == 0) {
		free(vec);
		vec = NULL;
	}
	*out = vec;
	*n = got;
	return SGW_STORE_OK;
fail:
	if (c != NULL)
		mdb_cursor_close(c);
	rend(ls);
	free(vec);
	free(stale);
	if (rc == ENOMEM)
		return sgw_store_fail(
		    st, SGW_STORE_UNAVAILABLE, "lmdb: out of memory");
	return fail_mdb(ls, rc, "cannot read");
}

/* ---- per-session data ---- */

static int
lmdb_data_get(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN],
    const char *key, char **val, size_t *len)
{
	struct lmdb_store *ls = (struct lmdb_store *)st;
	unsigned char dbuf[DATA_KEY_MAX];
	MDB_val k = {SGW_HASH_LEN, (void *)hash}, dk, v;
	MDB_txn *txn;
	int rc;

	*val = NULL;
	*len = 0;
	if ((rc = rbegin(ls, &txn)) != SGW_STORE_OK)
		return rc;
	if ((rc = mdb_get(txn, ls->sessions, &k, &v)) != 0)
		goto done;
	if (data_key(dbuf, hash, key, &dk) == -1) {
		rc = MDB_NOTFOUND; /* a name no put can have made */
		goto done;
	}
	if ((rc = mdb_get(txn, ls->data, &dk, &v)) != 0)
		goto done;
	if ((*val = malloc(v.mv_size + 1)) == NULL) {
		rend(ls);
		return sgw_store_fail(
		    st, SGW_STORE_UNAVAILABLE, "lmdb: out of memory");
	}
	memcpy(*val, v.mv_data, v.mv_size);
	(*val)[v.mv_size] = '\0';
	*len = v.mv_size;
done:
	rend(ls);
	if (rc == 0)
		return SGW_STORE_OK;
	return rc == MDB_NOTFOUND ? SGW_STORE_NOTFOUND
	                          : fail_mdb(ls, rc, "cannot read");
}

static int
lmdb_data_put(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN],
    const char *key, const void *val, size_t len, size_t max_keys)
{
	struct lmdb_store *ls = (struct lmdb_store *)st;
	unsigned char dbuf[DATA_KEY_MAX];
	MDB_val k = {SGW_HASH_LEN, (void *)hash}, dk, v;
	MDB_cursor *c;
	MDB_txn *txn;
	size_t have = 0;
	int rc;

	if (data_key(dbuf, hash, key, &dk) == -1)
		return sgw_store_fail(st, SGW_STORE_UNAVAILABLE,
		    "lmdb: a data key must be 1..%d bytes",
		    SGW_DATA_KEY_MAXLEN);
	if ((rc = wbegin(ls, &txn)) != SGW_STORE_OK)
		return rc;
	if ((rc = mdb_get(txn, ls->sessions, &k, &v)) != 0)
		goto fail;
	if ((rc = mdb_get(txn, ls->data, &dk, &v)) == MDB_NOTFOUND) {
		/* A new key: count the others, at most max_keys of them. */
		MDB_val ck = {SGW_HASH_LEN, (void *)hash};

		if ((rc = mdb_cursor_open(txn, ls->data, &c)) != 0)
			goto fail;
		for (rc = mdb_cursor_get(c, &ck, &v, MDB_SET_RANGE);
		     rc == 0 && have < max_keys && ck.mv_size > SGW_HASH_LEN &&
		     memcmp(ck.mv_data, hash, SGW_HASH_LEN) == 0;
		     rc = mdb_cursor_get(c, &ck, &v, MDB_NEXT))
			have++;
		mdb_cursor_close(c);
		if ((rc = ignore_notfound(rc)) != 0)
			goto fail;
		if (have >= max_keys) {
			wabort(&txn);
			return SGW_STORE_FULL;
		}
	} else if (rc != 0)
		goto fail;
	if ((rc = room(ls)) != 0)
		goto fail;
	v.mv_size = len;
	v.mv_data = len > 0 ? (void *)val : (void *)"";
	if ((rc = mdb_put(txn, ls->data, &dk, &v, 0)) != 0)
		goto fail;
	return wcommit(ls, &txn);
fail:
	wabort(&txn);
	return rc == MDB_NOTFOUND ? SGW_STORE_NOTFOUND
	                          : fail_mdb(ls, rc, "cannot write to");
}

static int
lmdb_data_del(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN],
    const char *key)
{
	struct lmdb_store *ls = (struct lmdb_store *)st;
	unsigned char dbuf[DATA_KEY_MAX];
	MDB_val k = {SGW_HASH_LEN, (void *)hash}, dk, v;
	MDB_txn *txn;
	int rc;

	if ((rc = wbegin(ls, &txn)) != SGW_STORE_OK)
		return rc;
	if ((rc = mdb_get(txn, ls->sessions, &k, &v)) != 0)
		goto fail;
	if (data_key(dbuf, hash, key, &dk) == -1) {
		rc = MDB_NOTFOUND;
		goto fail;
	}
	if ((rc = mdb_del(txn, ls->data, &dk, NULL)) != 0)
		goto fail;
	return wcommit(ls, &txn);
fail:
	wabort(&txn);
	return rc == MDB_NOTFOUND ? SGW_STORE_NOTFOUND
	                          : fail_mdb(ls, rc, "cannot write to");
}

/* ---- counters ---- */

/* Writes a counter and moves its expiry entry from old (when it had one,
 * *had) to deadline. */
static int
write_counter(struct lmdb_store *ls, MDB_txn *txn, const MDB_val *k,
    int64_t value, int64_t deadline, int had, int64_t old)
{
	unsigned char buf[COUNTER_LEN], ebuf[EXPIRY_KEY_MAX];
	MDB_val v = {COUNTER_LEN, buf}, ek, empty = {0, (void *)""};
	int rc;

	if (had && old != deadline) {
		ek =
		    expiry_key(ebuf, old, KIND_COUNTER, k->mv_data, k->mv_size);
		if ((rc = ignore_notfound(
		         mdb_del(txn, ls->expiry, &ek, NULL))) != 0)
			return rc;
	}
	if (!had || old != deadline) {
		ek = expiry_key(
		    ebuf, deadline, KIND_COUNTER, k->mv_data, k->mv_size);
		if ((rc = mdb_put(txn, ls->expiry, &ek, &empty, 0)) != 0)
			return rc;
	}
	encode_counter(buf, value, deadline);
	return mdb_put(txn, ls->counters, (MDB_val *)k, &v, 0);
}

/* The counter under k in txn: 1 and its fields, 0 when there is none, or
 * an LMDB error (negative) or -1 when it cannot be read. */
static int
read_counter(struct lmdb_store *ls, MDB_txn *txn, MDB_val *k, int64_t *value,
    int64_t *deadline, int *err)
{
	MDB_val v;
	int rc = mdb_get(txn, ls->counters, k, &v);

	*err = 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0) {
		*err = rc;
		return -1;
	}
	if (decode_counter(&v, value, deadline) == -1) {
		*err = MDB_CORRUPTED;
		return -1;
	}
	return 1;
}

static int
bad_counter_key(struct sgw_store *st)
{
	return sgw_store_fail(st, SGW_STORE_UNAVAILABLE,
	    "lmdb: a counter key must be 1..%d bytes", SGW_COUNTER_KEY_MAXLEN);
}

static int
lmdb_counter_add(struct sgw_store *st, const char *key, int64_t delta,
    int64_t ttl_ms, int64_t now_ms, int64_t *value)
{
	struct lmdb_store *ls = (struct lmdb_store *)st;
	MDB_val k;
	MDB_txn *txn;
	int64_t v = 0, deadline = 0, old = 0;
	int rc, had, err;

	*value = 0;
	if (counter_key(key, &k) == -1)
		return bad_counter_key(st);
	if ((rc = wbegin(ls, &txn)) != SGW_STORE_OK)
		return rc;
	if ((had = read_counter(ls, txn, &k, &v, &old, &err)) == -1) {
		rc = err;
		goto fail;
	}
	if (had && old > now_ms) {
		/* Alive: it keeps the lifetime it was given. */
		v = add_sat(v, delta);
		deadline = old;
	} else {
		/* Absent, or past its lifetime (so absent, even unswept). */
		if ((rc = room(ls)) != 0)
			goto fail;
		v = delta;
		deadline = add_sat(now_ms, ttl_ms);
	}
	if ((rc = write_counter(ls, txn, &k, v, deadline, had, old)) != 0)
		goto fail;
	if ((rc = wcommit(ls, &txn)) == SGW_STORE_OK)
		*value = v;
	return rc;
fail:
	wabort(&txn);
	return rc == MDB_CORRUPTED ? fail_corrupt(ls, "counter")
	                           : fail_mdb(ls, rc, "cannot write to");
}

static int
lmdb_counter_get(struct sgw_store *st, const char *key, int64_t now_ms,
    int64_t *value, int64_t *ttl_ms)
{
	struct lmdb_store *ls = (struct lmdb_store *)st;
	MDB_val k;
	MDB_txn *txn;
	int64_t v = 0, deadline = 0;
	int rc, had, err;

	*value = 0;
	*ttl_ms = 0;
	if (counter_key(key, &k) == -1)
		return SGW_STORE_OK; /* absent: no add can have made it */
	if ((rc = rbegin(ls, &txn)) != SGW_STORE_OK)
		return rc;
	had = read_counter(ls, txn, &k, &v, &deadline, &err);
	rend(ls);
	if (had == -1)
		return err == MDB_CORRUPTED ? fail_corrupt(ls, "counter")
		                            : fail_mdb(ls, err, "cannot read");
	/* Absent, or past its lifetime: zeros, and OK (store.h). */
	if (had == 0 || deadline <= now_ms)
		return SGW_STORE_OK;
	*value = v;
	*ttl_ms = deadline - now_ms;
	return SGW_STORE_OK;
}

static int
lmdb_counter_set(struct sgw_store *st, const char *key, int64_t value,
    int64_t ttl_ms, int64_t now_ms)
{
	struct lmdb_store *ls = (struct lmdb_store *)st;
	MDB_val k;
	MDB_txn *txn;
	int64_t v, old = 0;
	int rc, had, err;

	if (counter_key(key, &k) == -1)
		return bad_counter_key(st);
	if ((rc = wbegin(ls, &txn)) != SGW_STORE_OK)
		return rc;
	if ((had = read_counter(ls, txn, &k, &v, &old, &err)) == -1) {
		rc = err;
		goto fail;
	}
	if ((rc = room(ls)) != 0 ||
	    (rc = write_counter(
	         ls, txn, &k, value, add_sat(now_ms, ttl_ms), had, old)) != 0)
		goto fail;
	return wcommit(ls, &txn);
fail:
	wabort(&txn);
	return rc == MDB_CORRUPTED ? fail_corrupt(ls, "counter")
	                           : fail_mdb(ls, rc, "cannot write to");
}

static int
lmdb_counter_del(struct sgw_store *st, const char *key)
{
	struct lmdb_store *ls = (struct lmdb_store *)st;
	unsigned char ebuf[EXPIRY_KEY_MAX];
	MDB_val k, ek;
	MDB_txn *txn;
	int64_t v, old = 0;
	int rc, had, err;

	if (counter_key(key, &k) == -1)
		return SGW_STORE_OK;
	if ((rc = wbegin(ls, &txn)) != SGW_STORE_OK)
		return rc;
	had = read_counter(ls, txn, &k, &v, &old, &err);
	if (had == 0) {
		wabort(&txn);
		return SGW_STORE_OK;
	}
	/* One that cannot be read goes too, with its entry left to the
	 * sweep. */
	if (had == 1) {
		ek = expiry_key(ebuf, old, KIND_COUNTER, k.mv_data, k.mv_size);
		if ((rc = ignore_notfound(
		         mdb_del(txn, ls->expiry, &ek, NULL))) != 0)
			goto fail;
	}
	if ((rc = mdb_del(txn, ls->counters, &k, NULL)) != 0)
		goto fail;
	return wcommit(ls, &txn);
fail:
	wabort(&txn);
	return fail_mdb(ls, rc, "cannot write to");
}

/* ---- upkeep ---- */

static int
lmdb_ping(struct sgw_store *st)
{
	struct lmdb_store *ls = (struct lmdb_store *)st;
	MDB_txn *txn;
	int rc;

	/* Checked before anything was made: the directory is what counts. */
	if (ls->env == NULL && ls->mode == SGW_STORE_CHECK) {
		if (access(ls->path, W_OK | X_OK) == -1)
			return sgw_store_fail(st, SGW_STORE_UNAVAILABLE,
			    "lmdb: cannot open %s: %s", ls->path,
			    strerror(errno));
		return SGW_STORE_OK;
	}
	if ((rc = rbegin(ls, &txn)) != SGW_STORE_OK)
		return rc;
	rend(ls);
	return SGW_STORE_OK;
}

static int
lmdb_active(struct sgw_store *st, int64_t now_ms, uint64_t *n)
{
	struct lmdb_store *ls = (struct lmdb_store *)st;
	MDB_cursor *c = NULL;
	MDB_stat ms;
	MDB_val k, v;
	MDB_txn *txn;
	uint64_t expired = 0;
	int rc;

	*n = 0;
	if ((rc = rbegin(ls, &txn)) != SGW_STORE_OK)
		return rc;
	/* Every stored session, less those already past their deadline:
	 * the oldest end of the expiry index, up to now. */
	if ((rc = mdb_stat(txn, ls->sessions, &ms)) != 0 ||
	    (rc = mdb_cursor_open(txn, ls->expiry, &c)) != 0)
		goto done;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		const unsigned char *p = k.mv_data;

		if (k.mv_size < EXPIRY_HEAD || get_key64(p) > now_ms)
			break;
		expired += p[8] == KIND_SESSION;
	}
	rc = ignore_notfound(rc);
	*n = ms.ms_entries > expired ? ms.ms_entries - expired : 0;
done:
	if (c != NULL)
		mdb_cursor_close(c);
	rend(ls);
	return rc == 0 ? SGW_STORE_OK : fail_mdb(ls, rc, "cannot read");
}

/* A session whose expiry entry came due: removed (*gone = 1) when its
 * record says so too, kept when the entry was a leftover. Returns 0 or an
 * LMDB error. */
static int
expire_session(struct lmdb_store *ls, MDB_txn *txn, const unsigned char *hash,
    int64_t now_ms, int *gone)
{
	MDB_val k = {SGW_HASH_LEN, (void *)hash}, v;
	struct sgw_record r;
	int rc;

	*gone = 0;
	if ((rc = mdb_get(txn, ls->sessions, &k, &v)) != 0)
		return ignore_notfound(rc);
	if (decode_record(&v, &r) == 0 && r.deadline_ms > now_ms)
		return 0;
	if ((rc = drop_session(ls, txn, hash, &v)) != 0)
		return rc;
	*gone = 1;
	return 0;
}

static int
expire_counter(struct lmdb_store *ls, MDB_txn *txn, const unsigned char *name,
    size_t len, int64_t now_ms)
{
	MDB_val k = {len, (void *)name};
	int64_t v, deadline;
	int had, err;

	if ((had = read_counter(ls, txn, &k, &v, &deadline, &err)) == -1 &&
	    err != MDB_CORRUPTED)
		return err;
	if (had == 0 || (had == 1 && deadline > now_ms))
		return 0;
	return ignore_notfound(mdb_del(txn, ls->counters, &k, NULL));
}

/*
 * Walks the expiry index from its oldest end, removing what is due, in
 * one write transaction of at most max removals: the work is what has
 * expired, whatever else is stored, and no writer waits longer than one
 * bounded batch. Each step takes the first key again rather than trusting
 * a cursor across the deletes it makes.
 */
static int
lmdb_sweep(struct sgw_store *st, int64_t now_ms, size_t max, size_t *sessions,
    int *more)
{
	struct lmdb_store *ls = (struct lmdb_store *)st;
	unsigned char kbuf[EXPIRY_KEY_MAX];
	MDB_cursor *c = NULL;
	MDB_val k, v;
	MDB_txn *txn;
	size_t done = 0, gone = 0, klen;
	uint64_t visited = 0;
	int rc, dead = 0;

	*sessions = 0;
	*more = 0;
	if ((rc = ready(ls)) != SGW_STORE_OK)
		return rc;
	(void)mdb_reader_check(ls->env, &dead);
	ls->stale_readers = dead;
	if ((rc = wbegin(ls, &txn)) != SGW_STORE_OK)
		return rc;
	if ((rc = mdb_cursor_open(txn, ls->expiry, &c)) != 0)
		goto fail;
	while ((rc = mdb_cursor_get(c, &k, &v, MDB_FIRST)) == 0) {
		visited++;
		if (k.mv_size >= EXPIRY_HEAD && k.mv_size <= EXPIRY_KEY_MAX &&
		    get_key64(k.mv_data) > now_ms)
			break;
		if (done == max) {
			*more = 1;
			break;
		}
		klen = k.mv_size <= EXPIRY_KEY_MAX ? k.mv_size : 0;
		memcpy(kbuf, k.mv_data, klen); /* the delete moves the page */
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			goto fail;
		done++;
		if (klen == EXPIRY_HEAD + SGW_HASH_LEN &&
		    kbuf[8] == KIND_SESSION) {
			int went;

			if ((rc = expire_session(ls, txn, kbuf + EXPIRY_HEAD,
			         now_ms, &went)) != 0)
				goto fail;
			gone += went;
		} else if (klen > EXPIRY_HEAD && kbuf[8] == KIND_COUNTER) {
			if ((rc = expire_counter(ls, txn, kbuf + EXPIRY_HEAD,
			         klen - EXPIRY_HEAD, now_ms)) != 0)
				goto fail;
		}
	}
	if ((rc = ignore_notfound(rc)) != 0)
		goto fail;
	mdb_cursor_close(c);
	c = NULL;
	ls->swept_visited = visited;
	if ((rc = wcommit(ls, &txn)) != SGW_STORE_OK) {
		*more = 0;
		return rc;
	}
	*sessions = gone;
	return SGW_STORE_OK;
fail:
	if (c != NULL)
		mdb_cursor_close(c);
	wabort(&txn);
	*more = 0;
	return fail_mdb(ls, rc, "cannot sweep");
}

static void
lmdb_close(struct sgw_store *st)
{
	struct lmdb_store *ls = (struct lmdb_store *)st;

	if (ls == NULL)
		return;
	/* In a child of fork() the environment is the parent's: aborting
	 * its read transaction would free the parent's reader slot. Leave
	 * it to exit(). */
	if (ls->forks == forks)
		env_close(ls);
	free(ls->path);
	free(ls);
}

int
sgw_store_lmdb_stat(struct sgw_store *st, struct sgw_lmdb_stat *out)
{
	struct lmdb_store *ls = (struct lmdb_store *)st;
	MDB_dbi dbi[5];
	uint64_t *field[5] = {&out->sessions, &out->user_index,
	    &out->expiry_index, &out->data, &out->counters};
	MDB_envinfo info;
	MDB_stat ms;
	MDB_txn *txn;
	int rc;

	memset(out, 0, sizeof(*out));
	if (st->ops != &lmdb_ops)
		return sgw_store_fail(
		    st, SGW_STORE_UNAVAILABLE, "not an lmdb store");
	if ((rc = rbegin(ls, &txn)) != SGW_STORE_OK)
		return rc;
	dbi[0] = ls->sessions, dbi[1] = ls->users, dbi[2] = ls->expiry;
	dbi[3] = ls->data, dbi[4] = ls->counters;
	for (size_t i = 0; i < 5; i++) {
		if ((rc = mdb_stat(txn, dbi[i], &ms)) != 0) {
			rend(ls);
			return fail_mdb(ls, rc, "cannot read");
		}
		*field[i] = ms.ms_entries;
		if (dbi[i] == ls->expiry)
			out->expiry_depth = ms.ms_depth;
	}
	rend(ls);
	(void)mdb_env_info(ls->env, &info);
	(void)mdb_env_stat(ls->env, &ms);
	out->swept_visited = ls->swept_visited;
	out->stale_readers = ls->stale_readers;
	out->map_size = info.me_mapsize;
	out->map_used = (info.me_last_pgno + 1) * ms.ms_psize;
	return SGW_STORE_OK;
}

/* ---- the descriptor ---- */

static int
lmdb_validate(const void *opts, char *why, size_t whylen)
{
	const struct sgw_lmdb_conf *o = opts;

	if (o->path == NULL || o->path[0] != '/') {
		snprintf(why, whylen,
		    "[lmdb] path must be an absolute path, got \"%s\"",
		    o->path != NULL ? o->path : "");
		return -1;
	}
	return 0;
}

static struct lmdb_store *
new_store(const struct sgw_lmdb_conf *o, enum sgw_store_mode mode, char *err,
    size_t errlen)
{
	struct lmdb_store *ls;

	(void)pthread_once(&forks_once, watch_forks);
	if (o == NULL || o->path == NULL || o->path[0] == '\0') {
		snprintf(err, errlen, "no [lmdb] path");
		return NULL;
	}
	if ((ls = calloc(1, sizeof(*ls))) == NULL ||
	    (ls->path = strdup(o->path)) == NULL) {
		free(ls);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ls->base.ops = &lmdb_ops;
	ls->base.backend = "lmdb";
	ls->mode = mode;
	ls->map_size = o->map_size;
	ls->sync = o->sync;
	ls->forks = forks;
	return ls;
}

/* Is PATH/NAME there? */
static int
has_file(const char *dir, const char *name)
{
	char p[4096 + 16];
	struct stat sb;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return stat(p, &sb) == 0;
}

/* The directory, made when missing and asked to (mode 0700: only the
 * gateway's user reads the sessions). 1 when made, 0 when there, -1 with
 * the reason in err. */
static int
directory(const char *path, int make, char *err, size_t errlen)
{
	struct stat sb;

	if (stat(path, &sb) == -1) {
		if (errno != ENOENT || !make) {
			snprintf(err, errlen, "cannot open %s: %s%s", path,
			    strerror(errno),
			    errno == ENOENT ? " (sessiongw store init makes it)"
			                    : "");
			return -1;
		}
		if (mkdir(path, 0700) == -1) {
			snprintf(err, errlen, "cannot create %s: %s", path,
			    strerror(errno));
			return -1;
		}
		return 1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "%s is not a directory", path);
		return -1;
	}
	if (access(path, W_OK | X_OK) == -1) {
		snprintf(
		    err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static struct sgw_store *
lmdb_open(const struct sgw_conf *conf, const void *opts,
    enum sgw_store_mode mode, char *err, size_t errlen)
{
	struct lmdb_store *ls;

	(void)conf;
	if ((ls = new_store(opts, mode, err, errlen)) == NULL)
		return NULL;
	if (directory(ls->path, mode == SGW_STORE_SERVE, err, errlen) == -1)
		goto fail;
	/* sessiongw -t makes nothing: with no files yet, the directory
	 * being writable is all there is to check. */
	if (mode == SGW_STORE_CHECK &&
	    (!has_file(ls->path, "data.mdb") ||
	        !has_file(ls->path, "lock.mdb")))
		return &ls->base;
	if (env_open(ls, mode == SGW_STORE_SERVE, err, errlen) == -1)
		goto fail;
	return &ls->base;
fail:
	lmdb_close(&ls->base);
	return NULL;
}

/* Gives what init made to the workers' user when run as root. Returns 1
 * when it changed an owner, 0 when none needed it, -1 with err. */
static int
give_to_user(
    const struct sgw_conf *conf, const char *path, char *err, size_t errlen)
{
	static const char *const names[] = {"", "/data.mdb", "/lock.mdb"};
	const struct passwd *pw;
	char p[4096 + 16];
	struct stat sb;
	int changed = 0;

	if (geteuid() != 0 || conf == NULL || conf->user == NULL ||
	    conf->user[0] == '\0')
		return 0;
	if ((pw = getpwnam(conf->user)) == NULL) {
		snprintf(err, errlen, "no such user \"%s\" ([server] user)",
		    conf->user);
		return -1;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, names[i]);
		if (stat(p, &sb) == -1 ||
		    (sb.st_uid == pw->pw_uid && sb.st_gid == pw->pw_gid))
			continue;
		if (chown(p, pw->pw_uid, pw->pw_gid) == -1) {
			snprintf(err, errlen, "cannot give %s to %s: %s", p,
			    conf->user, strerror(errno));
			return -1;
		}
		changed = 1;
	}
	return changed;
}

static int
lmdb_init(const struct sgw_conf *conf, const void *opts, char *report,
    size_t reportlen, char *err, size_t errlen)
{
	struct lmdb_store *ls;
	char files[64] = "";
	int made_dir, had_data, had_lock, owned, rc = -1;

	if ((ls = new_store(opts, SGW_STORE_SERVE, err, errlen)) == NULL)
		return -1;
	if ((made_dir = directory(ls->path, 1, err, errlen)) == -1)
		goto done;
	had_data = has_file(ls->path, "data.mdb");
	had_lock = has_file(ls->path, "lock.mdb");
	if (env_open(ls, 1, err, errlen) == -1)
		goto done;
	if ((owned = give_to_user(conf, ls->path, err, errlen)) == -1)
		goto done;
	snprintf(files, sizeof(files), "%s%s%s", had_data ? "" : "data.mdb",
	    !had_data && !had_lock ? ", " : "", had_lock ? "" : "lock.mdb");
	if (made_dir)
		snprintf(report, reportlen, "created %s (%s)", ls->path, files);
	else if (files[0] != '\0')
		snprintf(
		    report, reportlen, "created %s in %s", files, ls->path);
	else if (ls->made_dbs)
		snprintf(report, reportlen,
		    "created the sessiongw databases in "
		    "%s/data.mdb",
		    ls->path);
	else if (owned)
		snprintf(
		    report, reportlen, "gave %s to %s", ls->path, conf->user);
	else
		snprintf(
		    report, reportlen, "nothing to do: %s is ready", ls->path);
	if (owned && (made_dir || files[0] != '\0' || ls->made_dbs)) {
		size_t n = strlen(report);

		snprintf(
		    report + n, reportlen - n, ", owned by %s", conf->user);
	}
	rc = 0;
done:
	lmdb_close(&ls->base);
	return rc;
}

static const struct sgw_store_ops lmdb_ops = {
    .put = lmdb_put,
    .get = lmdb_get,
    .refresh = lmdb_refresh,
    .del = lmdb_del,
    .user_sessions = lmdb_user_sessions,
    .data_get = lmdb_data_get,
    .data_put = lmdb_data_put,
    .data_del = lmdb_data_del,
    .counter_add = lmdb_counter_add,
    .counter_get = lmdb_counter_get,
    .counter_set = lmdb_counter_set,
    .counter_del = lmdb_counter_del,
    .ping = lmdb_ping,
    .active = lmdb_active,
    .sweep = lmdb_sweep,
    .close = lmdb_close,
};

const struct sgw_store_backend sgw_store_lmdb = {
    .name = "lmdb",
    .keys = lmdb_keys,
    .nkeys = sizeof(lmdb_keys) / sizeof(lmdb_keys[0]),
    .conf_size = sizeof(struct sgw_lmdb_conf),
    .validate = lmdb_validate,
    .open = lmdb_open,
    .init = lmdb_init,
    .wipe = NULL,
};
