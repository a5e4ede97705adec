/*
 * store_pg: the session store over PostgreSQL (libpq 15).
 *
 * Tables (P = table_prefix, "sgw_" by default):
 *
 *   P sessions  hash bytea primary key, user_name, client, agent,
 *               created_ms, seen_ms, expires_ms, deadline_ms, remember_me;
 *               fillfactor 70. Indexed: hash (the key), (user_name,
 *               created_ms) for user_sessions, expires_ms for the sweep.
 *               All three never change once a row is written, so a
 *               refresh (seen_ms, deadline_ms) is a heap-only (HOT)
 *               update: no index is touched and the new version stays on
 *               the page the 30% of free room keeps for it.
 *   P data      (hash, key) primary key, value bytea; hash references
 *               the session ON DELETE CASCADE, so ending a session ends
 *               its data in the same statement.
 *   P counters  key text primary key, value, expires_ms (indexed for the
 *               sweep); fillfactor 70, since adding to a live counter
 *               only changes its value and can be HOT as well.
 *   P schema    one row: the version of this layout (SCHEMA_VERSION).
 *
 * The column is user_name, not "user": USER is a reserved word, and an
 * operator's `SELECT user FROM sgw_sessions` would quietly answer
 * current_user.
 *
 * One connection per process, made when the store is opened (each worker
 * opens its own, after fork) or, when the server cannot be reached then,
 * by the first call that finds it again. Connecting has its own deadline
 * (connect_timeout, kept by polling PQconnectPoll: libpq's connect_timeout
 * keyword counts whole seconds and the non-blocking API ignores it), then
 * sets statement_timeout = command_timeout for the session, checks (or
 * creates) the tables and prepares every statement in one pipeline.
 * statement_timeout cancels a statement the server is slow to finish
 * (waiting on a lock, say); a server that does not answer at all (a
 * stopped process, a dead network) is caught by a client-side deadline a
 * little longer than command_timeout, after which the connection is
 * dropped, since it is left mid-query. A broken connection is dropped
 * too and the next call connects again: a fresh PQconnectStartParams
 * rather than PQreset, because PQreset blocks with libpq's own idea of the
 * timeout. Statements that are safe to repeat (the reads, refresh,
 * data_put, counter_set, counter_del, ping) are retried once on a new
 * connection when the old one turns out to be broken, so the first check
 * after a server restart does not fail; put, del, data_del, counter_add
 * and the sweep never are: a lost answer does not say whether they ran.
 *
 * Every value travels in binary (bytea and int8 as bytes), so nothing is
 * quoted or escaped by hand. Table names are the only text put into SQL,
 * and table_prefix is checked to be [a-z_][a-z0-9_]* first.
 */
#include "store_pg.h"
#include "timefmt.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"

#define SCHEMA_VERSION 1
#define MAXP 9                /* most parameters of one statement */
#define SQL_MAX 4096          /* one statement with the prefix filled in */
#define HOUR_MS (3600 * 1000) /* the longest timeout we accept */
#define SLOW_MS (10 * 1000)   /* active and sweep: see S_SLOW */

/* Type OIDs from pg_type.dat (catalog/pg_type_d.h ships with the server
 * headers only). */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_TEXT 25

/* Internal: the connection is gone (the statement may or may not have
 * run). Never returned to callers, who see SGW_STORE_UNAVAILABLE. */
#define BROKEN (-100)

/* ---- configuration ---- */

#define PF(field) offsetof(struct sgw_postgres_conf, field)

/* clang-format off */
static const struct sgw_conf_key pg_keys[] = {
	/* section     name               type            flags         min  max                     default                            field */
	{ "postgres", "conninfo",        SGW_T_STR,      SGW_K_SECRET, 0,   SGW_PG_CONNINFO_MAXLEN, "host=127.0.0.1 dbname=sessiongw", PF(conninfo),           0 },
	{ "postgres", "table_prefix",    SGW_T_STR,      0,            0,   SGW_PG_PREFIX_MAXLEN,   "sgw_",                            PF(table_prefix),       0 },
	{ "postgres", "create_tables",   SGW_T_BOOL,     0,            0,   0,                      "on",                              PF(create_tables),      0 },
	{ "postgres", "connect_timeout", SGW_T_DURATION, 0,            1,   HOUR_MS,                "2s",                              PF(connect_timeout_ms), 0 },
	{ "postgres", "command_timeout", SGW_T_DURATION, 0,            1,   HOUR_MS,                "200ms",                           PF(command_timeout_ms), 0 },
};
/* clang-format on */

static int
prefix_ok(const char *p)
{
	size_t n = strlen(p);

	if (n == 0 || n > SGW_PG_PREFIX_MAXLEN)
		return 0;
	if (!((p[0] >= 'a' && p[0] <= 'z') || p[0] == '_'))
		return 0;
	for (size_t i = 1; i < n; i++) {
		if (!((p[i] >= 'a' && p[i] <= 'z') ||
		        (p[i] >= '0' && p[i] <= '9') || p[i] == '_'))
			return 0;
	}
	return 1;
}

static int
pg_validate(const void *opts, char *why, size_t whylen)
{
	const struct sgw_postgres_conf *pc = opts;
	PQconninfoOption *o;
	char *perr = NULL;

	if (!prefix_ok(pc->table_prefix)) {
		snprintf(why, whylen,
		    "table_prefix must match [a-z_][a-z0-9_]* "
		    "and be at most %d bytes",
		    SGW_PG_PREFIX_MAXLEN);
		return -1;
	}
	/* libpq's own message may quote a piece of the string, and the
	 * string may hold a password: say only that it is wrong. */
	if ((o = PQconninfoParse(pc->conninfo, &perr)) == NULL) {
		PQfreemem(perr);
		snprintf(why, whylen,
		    "conninfo is not a libpq connection string "
		    "or URI (not repeated here: it may hold a password)");
		return -1;
	}
	PQconninfoFree(o);
	return 0;
}

static void
pg_wipe(void *opts)
{
	struct sgw_postgres_conf *pc = opts;

	if (pc != NULL && pc->conninfo != NULL)
		explicit_bzero(pc->conninfo, strlen(pc->conninfo));
}

/* ---- statements ---- */

enum stmt {
	S_GET,
	S_PUT,
	S_REFRESH,
	S_DEL,
	S_USER,
	S_DGET,
	S_DLOCK,
	S_DPUT,
	S_DDEL,
	S_CADD,
	S_CGET,
	S_CSET,
	S_CDEL,
	S_ACTIVE,
	S_SWEEP,
	S_SLOW,
	NSTMT
};

#define SESSION_COLS                                                           \
	"user_name, client, agent, created_ms, seen_ms, expires_ms, "          \
	"deadline_ms, remember_me"

/*
 * Every statement, '@' standing for the table prefix. retry: safe to send
 * again when the connection broke under it (SQL that gives the same
 * outcome twice).
 */
/* clang-format off */
static const struct {
	const char *name;
	const char *sql;
	int nparams;
	Oid types[MAXP];
	int retry;
} stmts[NSTMT] = {
	/* The check: one row by primary key, one round trip. */
	[S_GET] = {"sgw_get",
	    "SELECT " SESSION_COLS " FROM @sessions WHERE hash = $1",
	    1, {OID_BYTEA}, 1},
	[S_PUT] = {"sgw_put",
	    "INSERT INTO @sessions (hash, " SESSION_COLS ") "
	    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
	    9, {OID_BYTEA, OID_TEXT, OID_TEXT, OID_BYTEA, OID_INT8, OID_INT8,
	        OID_INT8, OID_INT8, OID_BOOL}, 0},
	/* Only unindexed columns: a HOT update. */
	[S_REFRESH] = {"sgw_refresh",
	    "UPDATE @sessions SET seen_ms = $2, deadline_ms = $3 WHERE hash = $1",
	    3, {OID_BYTEA, OID_INT8, OID_INT8}, 1},
	[S_DEL] = {"sgw_del", "DELETE FROM @sessions WHERE hash = $1",
	    1, {OID_BYTEA}, 0},
	[S_USER] = {"sgw_user_sessions",
	    "SELECT hash, " SESSION_COLS " FROM @sessions WHERE user_name = $1 "
	    "ORDER BY created_ms, hash",
	    1, {OID_TEXT}, 1},
	/* No row: no session; a row with a NULL value: no such key. */
	[S_DGET] = {"sgw_data_get",
	    "SELECT d.value FROM @sessions s LEFT JOIN @data d "
	    "ON d.hash = s.hash AND d.key = $2 WHERE s.hash = $1",
	    2, {OID_BYTEA, OID_TEXT}, 1},
	/*
	 * data_put is these two in one pipeline, one implicit transaction.
	 * The lock serialises the puts of one session, and the count runs
	 * in the second statement, whose snapshot is taken after the lock
	 * is held: in one statement a concurrent put that committed while
	 * we waited would not be counted, and a session could end up with
	 * max_keys + 1 keys. NO KEY UPDATE does not block the foreign key
	 * checks (KEY SHARE) of the data rows.
	 */
	[S_DLOCK] = {"sgw_data_lock",
	    "SELECT 1 FROM @sessions WHERE hash = $1 FOR NO KEY UPDATE",
	    1, {OID_BYTEA}, 1},
	[S_DPUT] = {"sgw_data_put",
	    "INSERT INTO @data (hash, key, value) SELECT $1, $2, $3 "
	    "WHERE EXISTS (SELECT 1 FROM @sessions WHERE hash = $1) "
	    "AND (SELECT count(*) FROM @data WHERE hash = $1 AND key <> $2) < $4 "
	    "ON CONFLICT (hash, key) DO UPDATE SET value = EXCLUDED.value "
	    "RETURNING 1",
	    4, {OID_BYTEA, OID_TEXT, OID_BYTEA, OID_INT8}, 1},
	[S_DDEL] = {"sgw_data_del",
	    "WITH s AS (SELECT 1 FROM @sessions WHERE hash = $1), "
	    "d AS (DELETE FROM @data WHERE hash = $1 AND key = $2 RETURNING 1) "
	    "SELECT (SELECT count(*) FROM s), (SELECT count(*) FROM d)",
	    2, {OID_BYTEA, OID_TEXT}, 0},
	/* A live counter keeps its end; an expired one starts again. The
	 * unchanged expires_ms of a live one leaves the update HOT. */
	[S_CADD] = {"sgw_counter_add",
	    "INSERT INTO @counters AS c (key, value, expires_ms) "
	    "VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET "
	    "value = CASE WHEN c.expires_ms > $4 THEN c.value + EXCLUDED.value "
	    "ELSE EXCLUDED.value END, "
	    "expires_ms = CASE WHEN c.expires_ms > $4 THEN c.expires_ms "
	    "ELSE EXCLUDED.expires_ms END "
	    "RETURNING value",
	    4, {OID_TEXT, OID_INT8, OID_INT8, OID_INT8}, 0},
	[S_CGET] = {"sgw_counter_get",
	    "SELECT value, expires_ms FROM @counters "
	    "WHERE key = $1 AND expires_ms > $2",
	    2, {OID_TEXT, OID_INT8}, 1},
	[S_CSET] = {"sgw_counter_set",
	    "INSERT INTO @counters (key, value, expires_ms) VALUES ($1, $2, $3) "
	    "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, "
	    "expires_ms = EXCLUDED.expires_ms",
	    3, {OID_TEXT, OID_INT8, OID_INT8}, 1},
	[S_CDEL] = {"sgw_counter_del", "DELETE FROM @counters WHERE key = $1",
	    1, {OID_TEXT}, 1},
	[S_ACTIVE] = {"sgw_active",
	    "SELECT count(*) FROM @sessions WHERE deadline_ms > $1",
	    1, {OID_INT8}, 1},
	/*
	 * One bounded batch. deadline_ms changes on every refresh, so it has
	 * no index (one would make refreshes non-HOT). Sessions past their
	 * absolute end come first, oldest first, from the expires_ms index
	 * (deadline <= expires always); then those that went idle, from a
	 * scan that stops as soon as it has max + 1 of them, so a backlog
	 * costs a short scan per batch and only the last batch of a sweep
	 * reads the whole table. max + 1 rows say whether more are left.
	 * The DELETE checks the deadline again: a session refreshed since
	 * the scan (READ COMMITTED re-reads the row it waited for) stays.
	 */
	[S_SWEEP] = {"sgw_sweep",
	    "WITH c AS MATERIALIZED ("
	    "(SELECT hash FROM @sessions WHERE expires_ms <= $1 "
	    "ORDER BY expires_ms LIMIT $2 + 1) UNION ALL "
	    "(SELECT hash FROM @sessions WHERE deadline_ms <= $1 "
	    "AND expires_ms > $1 LIMIT $2 + 1)), "
	    "d AS (DELETE FROM @sessions WHERE hash IN (SELECT hash FROM c "
	    "LIMIT $2) AND deadline_ms <= $1 RETURNING 1), "
	    "k AS MATERIALIZED (SELECT key FROM @counters WHERE expires_ms <= $1 "
	    "ORDER BY expires_ms LIMIT $2 + 1), "
	    "e AS (DELETE FROM @counters WHERE key IN (SELECT key FROM k "
	    "LIMIT $2) AND expires_ms <= $1 RETURNING 1) "
	    "SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM e), "
	    "(SELECT count(*) FROM c) > $2 OR (SELECT count(*) FROM k) > $2",
	    2, {OID_INT8, OID_INT8}, 0},
	/* Sent before active and sweep in the same pipeline (transaction):
	 * they read the whole table now and then, and run in the sweeper,
	 * off the request path, so command_timeout is not their bound. */
	[S_SLOW] = {"sgw_slow",
	    "SELECT set_config('statement_timeout', $1, true)",
	    1, {OID_TEXT}, 1},
};
/* clang-format on */

/* ---- the schema ---- */

enum { T_SESSIONS, T_DATA, T_COUNTERS, T_SCHEMA, NTABLES };

static const char *const table_names[NTABLES] = {
    "sessions", "data", "counters", "schema"};

/* What each table is made of, '@' standing for the prefix. */
/* clang-format off */
static const char *const table_ddl[NTABLES] = {
	[T_SESSIONS] = "CREATE TABLE IF NOT EXISTS @sessions ("
	    "hash bytea PRIMARY KEY, user_name text NOT NULL, "
	    "client text NOT NULL, agent bytea NOT NULL, "
	    "created_ms bigint NOT NULL, seen_ms bigint NOT NULL, "
	    "expires_ms bigint NOT NULL, deadline_ms bigint NOT NULL, "
	    "remember_me boolean NOT NULL) WITH (fillfactor = 70); "
	    "CREATE INDEX IF NOT EXISTS @sessions_user "
	    "ON @sessions (user_name, created_ms); "
	    "CREATE INDEX IF NOT EXISTS @sessions_expires "
	    "ON @sessions (expires_ms)",
	[T_DATA] = "CREATE TABLE IF NOT EXISTS @data ("
	    "hash bytea NOT NULL REFERENCES @sessions (hash) ON DELETE CASCADE, "
	    "key text NOT NULL, value bytea NOT NULL, PRIMARY KEY (hash, key))",
	[T_COUNTERS] = "CREATE TABLE IF NOT EXISTS @counters ("
	    "key text PRIMARY KEY, value bigint NOT NULL, "
	    "expires_ms bigint NOT NULL) WITH (fillfactor = 70); "
	    "CREATE INDEX IF NOT EXISTS @counters_expires "
	    "ON @counters (expires_ms)",
	[T_SCHEMA] = "CREATE TABLE IF NOT EXISTS @schema ("
	    "one boolean PRIMARY KEY DEFAULT true CHECK (one), "
	    "version integer NOT NULL); "
	    "INSERT INTO @schema (version) VALUES (1) ON CONFLICT DO NOTHING",
};
/* clang-format on */

/* The columns the statements rely on, for `sessiongw -t`'s messages
 * (preparing the statements then checks the rest: keys, constraints). */
static const struct {
	int table;
	const char *name;
	const char *type; /* as format_type() spells it */
} columns[] = {
    {T_SESSIONS, "hash", "bytea"},
    {T_SESSIONS, "user_name", "text"},
    {T_SESSIONS, "client", "text"},
    {T_SESSIONS, "agent", "bytea"},
    {T_SESSIONS, "created_ms", "bigint"},
    {T_SESSIONS, "seen_ms", "bigint"},
    {T_SESSIONS, "expires_ms", "bigint"},
    {T_SESSIONS, "deadline_ms", "bigint"},
    {T_SESSIONS, "remember_me", "boolean"},
    {T_DATA, "hash", "bytea"},
    {T_DATA, "key", "text"},
    {T_DATA, "value", "bytea"},
    {T_COUNTERS, "key", "text"},
    {T_COUNTERS, "value", "bigint"},
    {T_COUNTERS, "expires_ms", "bigint"},
    {T_SCHEMA, "version", "integer"},
};

/* The unique keys ON CONFLICT and the lookups rely on (preparing does not
 * check them: the planner looks for them at the first execution). */
static const struct {
	int table;
	const char *cols; /* comma-separated, in index order */
} keys[] = {
    {T_SESSIONS, "hash"},
    {T_DATA, "hash,key"},
    {T_COUNTERS, "key"},
    {T_SCHEMA, "one"},
};

/* ---- the store ---- */

struct pg_store {
	struct sgw_store base;
	char *conninfo; /* our own copy: reconnecting needs it after the
	                 * configuration's copy has been wiped */
	char prefix[SGW_PG_PREFIX_MAXLEN + 1];
	int create;     /* create missing tables when connecting */
	int check_only; /* SGW_STORE_CHECK: create nothing */
	int64_t connect_ms;
	int64_t command_ms;
	PGconn *conn;     /* NULL until first use, or after an error */
	char *sql[NSTMT]; /* stmts[].sql with the prefix filled in */
	char report[512]; /* what the last schema set-up did (init) */
	int pending;      /* CHECK found tables to create: nothing prepared */
};

/* One statement to send: a prepared one (sql NULL) or literal SQL. */
struct call {
	enum stmt s;
	const char *sql; /* literal SQL, parameters typed by the server */
	int simple;      /* sql is several statements: the simple
	                  * protocol, no parameters, text results */
	int retry;       /* safe to send again on a new connection */
	int quick;       /* a read by key in a batch: the pipeline waits
	                  * for it no longer than for its first call */
	int n;           /* parameters */
	const char *val[MAXP];
	int len[MAXP];
	int fmt[MAXP];
	unsigned char num[MAXP][8]; /* int8 and bool parameters live here */
};

static void
put_be64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

static void
arg_bytes(struct call *c, const void *p, size_t len)
{
	c->val[c->n] = p;
	c->len[c->n] = (int)len;
	c->fmt[c->n] = 1;
	c->n++;
}

/* Text travels as its bytes (the binary form of text is the text). */
static void
arg_text(struct call *c, const char *s)
{
	arg_bytes(c, s, strlen(s));
}

static void
arg_int8(struct call *c, int64_t v)
{
	put_be64(c->num[c->n], (uint64_t)v);
	arg_bytes(c, c->num[c->n], 8);
}

static void
arg_bool(struct call *c, int v)
{
	c->num[c->n][0] = v != 0;
	arg_bytes(c, c->num[c->n], 1);
}

/* A parameter for literal SQL, in text form: the server infers its type. */
static void
arg_ctext(struct call *c, const char *s)
{
	c->val[c->n] = s;
	c->len[c->n] = 0;
	c->fmt[c->n] = 0;
	c->n++;
}

static int64_t
col_i64(const PGresult *r, int row, int col)
{
	const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);
	uint64_t v = 0;

	if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 8)
		return 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return (int64_t)v;
}

static int
col_bool(const PGresult *r, int row, int col)
{
	return !PQgetisnull(r, row, col) && PQgetlength(r, row, col) == 1 &&
	    PQgetvalue(r, row, col)[0] != 0;
}

/* Copies a text or bytea column into a buffer of size sz: 0, or -1 when
 * it does not fit (text is NUL-terminated, so needs one byte more). */
static int
col_copy(const PGresult *r, int row, int col, void *dst, size_t sz, int text)
{
	size_t n = (size_t)PQgetlength(r, row, col);

	if (n + (text ? 1 : 0) > sz)
		return -1;
	memcpy(dst, PQgetvalue(r, row, col), n);
	if (text)
		((char *)dst)[n] = '\0';
	return 0;
}

/* Fills sql with tmpl, each '@' replaced by the prefix. -1 when it does
 * not fit. */
static int
expand(const char *prefix, const char *tmpl, char *sql, size_t sz)
{
	size_t plen = strlen(prefix), o = 0;

	for (const char *p = tmpl; *p != '\0'; p++) {
		size_t need = *p == '@' ? plen : 1;

		if (o + need + 1 > sz)
			return -1;
		if (*p == '@') {
			memcpy(sql + o, prefix, plen);
		} else
			sql[o] = *p;
		o += need;
	}
	sql[o] = '\0';
	return 0;
}

static int fail(struct pg_store *ps, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* errstr = "postgres: " + the message; rc is returned. */
static int
fail(struct pg_store *ps, int rc, const char *fmt, ...)
{
	char msg[sizeof(ps->base.errstr)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sgw_store_fail(&ps->base, rc, "postgres: %s", msg);
}

/* libpq's messages end in a newline and may run over lines ("\n\tIs the
 * server running..."): the first line is what a log line needs. */
static const char *
first_line(const char *s, char *buf, size_t sz)
{
	size_t n = strcspn(s != NULL ? s : "", "\n");

	if (n >= sz)
		n = sz - 1;
	memcpy(buf, s != NULL ? s : "", n);
	buf[n] = '\0';
	return buf[0] != '\0' ? buf : "connection lost";
}

static void
drop(struct pg_store *ps)
{
	if (ps->conn != NULL)
		PQfinish(ps->conn);
	ps->conn = NULL;
}

/*
 * What a failed result means (timeout_ms: the statement_timeout it ran
 * under). Connection-level errors (class 08, the
 * server shutting down, or a result libpq made up because the socket
 * closed) are BROKEN; a statement the server cancelled is a TIMEOUT; a
 * full disk is NOSPACE; the rest are UNAVAILABLE. A statement name the
 * server does not know (a pooler that ran DISCARD ALL) or a table that
 * vanished drops the connection, so the next call prepares and checks
 * the tables again.
 */
static int
result_rc(struct pg_store *ps, const PGresult *r, int64_t timeout_ms)
{
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	char line[200];

	if (state == NULL || PQstatus(ps->conn) == CONNECTION_BAD ||
	    strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
	    strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0) {
		fail(ps, BROKEN, "connection lost: %s",
		    first_line(msg != NULL ? msg : PQerrorMessage(ps->conn),
		        line, sizeof(line)));
		return BROKEN;
	}
	if (strcmp(state, "57014") == 0 || strcmp(state, "55P03") == 0)
		return fail(ps, SGW_STORE_TIMEOUT,
		    "statement cancelled after "
		    "%lld ms: %s",
		    (long long)timeout_ms, msg != NULL ? msg : state);
	if (strcmp(state, "53100") == 0)
		return fail(
		    ps, SGW_STORE_NOSPACE, "%s", msg != NULL ? msg : state);
	if (strcmp(state, "26000") == 0 || strcmp(state, "42P01") == 0)
		drop(ps);
	return fail(ps, SGW_STORE_UNAVAILABLE, "%s (SQLSTATE %s)",
	    msg != NULL ? msg : "error", state);
}

/* Waits until PQgetResult will not block, or until the deadline (then
 * TIMEOUT; the caller drops the connection, which is mid-query). */
static int
wait_ready(struct pg_store *ps, int64_t deadline)
{
	while (PQisBusy(ps->conn)) {
		struct pollfd pfd = {
		    .fd = PQsocket(ps->conn), .events = POLLIN};
		int64_t left = deadline - sgw_mono_ms();
		int n;

		if (left <= 0)
			return SGW_STORE_TIMEOUT;
		n = poll(&pfd, 1, (int)left);
		if (n == -1 && errno != EINTR)
			return BROKEN;
		if (n > 0 && !PQconsumeInput(ps->conn))
			return BROKEN;
	}
	return SGW_STORE_OK;
}

/*
 * Collects the results of one statement: *out gets the first failed
 * result, or else the last one (the caller clears it). A statement of a
 * pipeline ends at a NULL; so does a lone one.
 */
static int
collect(struct pg_store *ps, int64_t deadline, PGresult **out)
{
	PGresult *r;
	int rc;

	*out = NULL;
	for (;;) {
		if ((rc = wait_ready(ps, deadline)) != SGW_STORE_OK)
			return rc;
		if ((r = PQgetResult(ps->conn)) == NULL)
			return SGW_STORE_OK;
		if (*out != NULL &&
		    (PQresultStatus(*out) == PGRES_FATAL_ERROR ||
		        PQresultStatus(*out) == PGRES_PIPELINE_ABORTED)) {
			PQclear(r);
			continue;
		}
		PQclear(*out);
		*out = r;
		if (PQresultStatus(r) == PGRES_PIPELINE_SYNC)
			return SGW_STORE_OK;
	}
}

static int
send_one(struct pg_store *ps, const struct call *c)
{
	if (c->simple)
		return PQsendQuery(ps->conn, c->sql);
	if (c->sql != NULL)
		return PQsendQueryParams(
		    ps->conn, c->sql, c->n, NULL, c->val, c->len, c->fmt, 1);
	return PQsendQueryPrepared(
	    ps->conn, stmts[c->s].name, c->n, c->val, c->len, c->fmt, 1);
}

/* The connection failed under us: errstr says how. */
static int
broken(struct pg_store *ps)
{
	char line[200];

	return fail(ps, BROKEN, "connection lost: %s",
	    first_line(PQerrorMessage(ps->conn), line, sizeof(line)));
}

/*
 * Sends n statements (more than one: as a pipeline, one round trip and
 * one implicit transaction) and reads their results into res[] (the
 * caller clears them, also on failure). Waits at most timeout_ms per
 * statement plus a margin, so that the server's own statement_timeout
 * normally speaks first and the connection survives. Returns OK, or an
 * error with errstr set; BROKEN and a client-side TIMEOUT leave the
 * connection dropped.
 */
static int
exchange(struct pg_store *ps, struct call *calls, int n, PGresult **res,
    int64_t timeout_ms)
{
	/* Generous: on a loaded host the server's own cancel can take a
	 * while to arrive, and it leaves the connection usable. */
	int64_t margin = timeout_ms > 250 ? timeout_ms : 250;
	int64_t wait = margin, deadline;
	PGresult *sync = NULL;
	int rc = SGW_STORE_OK;

	for (int i = 0; i < n; i++)
		wait += i == 0 || !calls[i].quick ? timeout_ms : 0;
	deadline = sgw_mono_ms() + wait;

	for (int i = 0; i < n; i++)
		res[i] = NULL;
	if (n > 1 && !PQenterPipelineMode(ps->conn)) {
		rc = broken(ps);
		goto fail;
	}
	for (int i = 0; i < n; i++) {
		if (!send_one(ps, &calls[i])) {
			rc = broken(ps);
			goto fail;
		}
	}
	if (n > 1 && !PQpipelineSync(ps->conn)) {
		rc = broken(ps);
		goto fail;
	}
	/* n results, then a pipeline's sync. */
	for (int i = 0; i < n + (n > 1); i++) {
		if ((rc = collect(ps, deadline, i < n ? &res[i] : &sync)) ==
		    SGW_STORE_TIMEOUT) {
			rc = fail(ps, rc, "no answer within %lld ms",
			    (long long)wait);
			goto fail;
		}
		if (rc != SGW_STORE_OK) {
			rc = broken(ps);
			goto fail;
		}
	}
	PQclear(sync);
	sync = NULL;
	if (n > 1 && !PQexitPipelineMode(ps->conn)) {
		rc = broken(ps);
		goto fail;
	}
	for (int i = 0; i < n; i++) {
		ExecStatusType st =
		    res[i] != NULL ? PQresultStatus(res[i]) : PGRES_FATAL_ERROR;

		if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK ||
		    st == PGRES_PIPELINE_ABORTED)
			continue;
		if (res[i] == NULL)
			rc = broken(ps);
		else
			rc = result_rc(ps, res[i], timeout_ms);
		if (rc == BROKEN)
			drop(ps);
		return rc;
	}
	return SGW_STORE_OK;
fail:
	PQclear(sync);
	drop(ps);
	return rc;
}

static void
clear_all(PGresult **res, int n)
{
	for (int i = 0; i < n; i++)
		PQclear(res[i]);
}

/* One literal statement during set-up; *out is the result (cleared by
 * the caller) or NULL. The parameters are text; the results binary. */
static int
setup_exec(struct pg_store *ps, const char *sql, int64_t timeout_ms,
    PGresult **out, int nargs, ...)
{
	struct call c = {.sql = sql};
	va_list ap;
	int rc;

	va_start(ap, nargs);
	for (int i = 0; i < nargs && i < MAXP; i++)
		arg_ctext(&c, va_arg(ap, const char *));
	va_end(ap);
	rc = exchange(ps, &c, 1, out, timeout_ms);
	if (rc != SGW_STORE_OK) {
		PQclear(*out);
		*out = NULL;
	}
	return rc;
}

/* Several statements in one string (DDL), no results wanted. */
static int
setup_simple(struct pg_store *ps, const char *sql)
{
	struct call c = {.sql = sql, .simple = 1};
	PGresult *r = NULL;
	int rc;

	rc = exchange(ps, &c, 1, &r, ps->connect_ms);
	PQclear(r);
	return rc;
}

static void
ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Connects with our own deadline: PQconnectPoll until it is done. */
static int
dial(struct pg_store *ps)
{
	/* Ours come after the conninfo (dbname, expanded) and win over it;
	 * client_encoding comes before, so a conninfo may still set it. */
	char secs[24];
	const char *kw[] = {"client_encoding", "fallback_application_name",
	    "dbname", "connect_timeout", NULL};
	const char *val[] = {"UTF8", "sessiongw", ps->conninfo, secs, NULL};
	int64_t deadline = sgw_mono_ms() + ps->connect_ms;
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	char line[200];

	/* libpq counts whole seconds (at least 2); our deadline is exact. */
	snprintf(secs, sizeof(secs), "%lld",
	    (long long)((ps->connect_ms + 999) / 1000));
	drop(ps);
	if ((ps->conn = PQconnectStartParams(kw, val, 1)) == NULL)
		return fail(ps, SGW_STORE_UNAVAILABLE, "out of memory");
	while (st != PGRES_POLLING_OK) {
		struct pollfd pfd = {.fd = PQsocket(ps->conn)};
		int64_t left = deadline - sgw_mono_ms();

		if (st == PGRES_POLLING_FAILED ||
		    PQstatus(ps->conn) == CONNECTION_BAD) {
			fail(ps, SGW_STORE_UNAVAILABLE, "cannot connect: %s",
			    first_line(
			        PQerrorMessage(ps->conn), line, sizeof(line)));
			goto fail;
		}
		if (left <= 0) {
			fail(ps, SGW_STORE_UNAVAILABLE,
			    "cannot connect within connect_timeout (%lld ms)",
			    (long long)ps->connect_ms);
			goto fail;
		}
		pfd.events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
		if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR) {
			fail(ps, SGW_STORE_UNAVAILABLE, "poll: %s",
			    strerror(errno));
			goto fail;
		}
		st = PQconnectPoll(ps->conn);
	}
	/* lib/ never prints: libpq's default sends NOTICEs to stderr. */
	PQsetNoticeProcessor(ps->conn, ignore_notice, NULL);
	return SGW_STORE_OK;
fail:
	drop(ps);
	return SGW_STORE_UNAVAILABLE;
}

/* Set-up's own result: the database answers, but this gateway cannot use
 * it as it is (an unknown schema version, missing tables, a wrong shape,
 * no right to create tables). errstr says why; opening fails on it. */
#define SCHEMA_BAD (-200)

/* Our tables' names with the prefix, in table_names order, for the
 * catalog queries that take them as parameters. */
#define TABLE_NAME_LEN (SGW_PG_PREFIX_MAXLEN + 16)
static void
full_table_names(const struct pg_store *ps, char names[NTABLES][TABLE_NAME_LEN])
{
	for (int i = 0; i < NTABLES; i++)
		snprintf(names[i], TABLE_NAME_LEN, "%s%s", ps->prefix,
		    table_names[i]);
}

/* Which of our tables exist: have[] gets 0/1 each. */
static int
tables_present(struct pg_store *ps, int have[NTABLES])
{
	char names[NTABLES][TABLE_NAME_LEN];
	PGresult *r = NULL;
	int rc;

	full_table_names(ps, names);
	rc = setup_exec(ps,
	    "SELECT to_regclass($1) IS NOT NULL, to_regclass($2) IS NOT NULL, "
	    "to_regclass($3) IS NOT NULL, to_regclass($4) IS NOT NULL",
	    ps->connect_ms, &r, 4, names[0], names[1], names[2], names[3]);
	if (rc != SGW_STORE_OK)
		return rc;
	if (PQntuples(r) != 1 || PQnfields(r) != NTABLES) {
		PQclear(r);
		return fail(
		    ps, SGW_STORE_UNAVAILABLE, "unexpected catalog answer");
	}
	for (int i = 0; i < NTABLES; i++)
		have[i] = col_bool(r, 0, i);
	PQclear(r);
	return SGW_STORE_OK;
}

/* The recorded version must be ours. */
static int
check_version(struct pg_store *ps)
{
	char sql[128];
	PGresult *r = NULL;
	int rc;

	snprintf(sql, sizeof(sql), "SELECT version::bigint FROM %sschema",
	    ps->prefix);
	if ((rc = setup_exec(ps, sql, ps->connect_ms, &r, 0)) != SGW_STORE_OK)
		return rc;
	if (PQntuples(r) != 1) {
		rc = fail(ps, SCHEMA_BAD,
		    "%sschema holds %d rows, not one "
		    "version; refusing to start",
		    ps->prefix, PQntuples(r));
	} else if (col_i64(r, 0, 0) != SCHEMA_VERSION) {
		rc = fail(ps, SCHEMA_BAD,
		    "schema version %lld in %sschema is not "
		    "one this sessiongw knows (%d); refusing to start",
		    (long long)col_i64(r, 0, 0), ps->prefix, SCHEMA_VERSION);
	}
	PQclear(r);
	return rc;
}

/* Every column the statements need is there with its type (in the
 * tables that are there). */
static int
check_columns(struct pg_store *ps, const int have[NTABLES])
{
	char names[NTABLES][TABLE_NAME_LEN];
	PGresult *r = NULL;
	int rc;

	full_table_names(ps, names);
	rc = setup_exec(ps,
	    "SELECT c.relname::text, a.attname::text, "
	    "format_type(a.atttypid, a.atttypmod) "
	    "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
	    "WHERE a.attrelid IN (to_regclass($1), to_regclass($2), "
	    "to_regclass($3), to_regclass($4)) "
	    "AND a.attnum > 0 AND NOT a.attisdropped",
	    ps->connect_ms, &r, 4, names[0], names[1], names[2], names[3]);
	if (rc != SGW_STORE_OK)
		return rc;
	for (size_t k = 0; k < sizeof(columns) / sizeof(columns[0]); k++) {
		const char *tn = names[columns[k].table], *type = NULL;

		if (!have[columns[k].table])
			continue;
		for (int i = 0; i < PQntuples(r) && type == NULL; i++) {
			if (strcmp(PQgetvalue(r, i, 0), tn) == 0 &&
			    strcmp(PQgetvalue(r, i, 1), columns[k].name) == 0)
				type = PQgetvalue(r, i, 2);
		}
		if (type == NULL) {
			rc = fail(ps, SCHEMA_BAD, "table %s has no column %s",
			    tn, columns[k].name);
			break;
		}
		if (strcmp(type, columns[k].type) != 0) {
			rc = fail(ps, SCHEMA_BAD, "column %s.%s is %s, not %s",
			    tn, columns[k].name, type, columns[k].type);
			break;
		}
	}
	PQclear(r);
	return rc;
}

/* The unique keys, and data's foreign key that ends data with its
 * session (in the tables that are there). */
static int
check_keys(struct pg_store *ps, const int have[NTABLES])
{
	char names[NTABLES][TABLE_NAME_LEN];
	PGresult *r = NULL;
	int rc;

	full_table_names(ps, names);
	rc = setup_exec(ps,
	    "SELECT c.relname::text, "
	    "string_agg(a.attname::text, ',' ORDER BY k.n) "
	    "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
	    "CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY "
	    "AS k(attnum, n) "
	    "JOIN pg_attribute a ON a.attrelid = i.indrelid "
	    "AND a.attnum = k.attnum "
	    "WHERE i.indisunique AND i.indpred IS NULL AND i.indrelid IN "
	    "(to_regclass($1), to_regclass($2), to_regclass($3), "
	    "to_regclass($4)) "
	    "GROUP BY c.relname, i.indexrelid "
	    "UNION ALL "
	    "SELECT 'cascade', count(*)::text FROM pg_constraint "
	    "WHERE contype = 'f' AND confdeltype = 'c' "
	    "AND conrelid = to_regclass($2) AND confrelid = to_regclass($1)",
	    ps->connect_ms, &r, 4, names[0], names[1], names[2], names[3]);
	if (rc != SGW_STORE_OK)
		return rc;
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		const char *tn = names[keys[k].table];
		int found = 0;

		if (!have[keys[k].table])
			continue;
		for (int i = 0; i < PQntuples(r) && !found; i++)
			found = strcmp(PQgetvalue(r, i, 0), tn) == 0 &&
			    strcmp(PQgetvalue(r, i, 1), keys[k].cols) == 0;
		if (!found) {
			rc = fail(ps, SCHEMA_BAD,
			    "table %s has no unique key on "
			    "(%s)",
			    tn, keys[k].cols);
			goto done;
		}
	}
	if (have[T_SESSIONS] && have[T_DATA]) {
		const char *n = "0";

		for (int i = 0; i < PQntuples(r); i++) {
			if (strcmp(PQgetvalue(r, i, 0), "cascade") == 0)
				n = PQgetvalue(r, i, 1);
		}
		if (strcmp(n, "0") == 0)
			rc = fail(ps, SCHEMA_BAD,
			    "table %s has no foreign key to "
			    "%s ON DELETE CASCADE",
			    names[T_DATA], names[T_SESSIONS]);
	}
done:
	PQclear(r);
	return rc;
}

/* The shape of what is there: columns, then keys. */
static int
check_shape(struct pg_store *ps, const int have[NTABLES])
{
	int rc = check_columns(ps, have);

	return rc != SGW_STORE_OK ? rc : check_keys(ps, have);
}

/*
 * Creates what is missing, in one transaction under an advisory lock
 * keyed by the prefix: workers starting together wait for each other
 * here, and the second finds the tables made (CREATE ... IF NOT EXISTS
 * alone races on the catalog's unique indexes). Says what it did in
 * ps->report.
 */
static int
create_missing(struct pg_store *ps)
{
	char sql[SQL_MAX], lock[128], *p = ps->report;
	size_t left = sizeof(ps->report);
	int have[NTABLES], made = 0, rc;
	PGresult *r = NULL;

	snprintf(sql, sizeof(sql), "BEGIN; SET LOCAL statement_timeout = %lld",
	    (long long)ps->connect_ms);
	if ((rc = setup_simple(ps, sql)) != SGW_STORE_OK)
		goto fail;
	snprintf(lock, sizeof(lock), "sessiongw schema %s", ps->prefix);
	rc = setup_exec(ps, "SELECT pg_advisory_xact_lock(hashtext($1))",
	    ps->connect_ms, &r, 1, lock);
	PQclear(r);
	if (rc != SGW_STORE_OK ||
	    (rc = tables_present(ps, have)) != SGW_STORE_OK)
		goto fail;
	if (have[T_SCHEMA] && (rc = check_version(ps)) != SGW_STORE_OK)
		goto fail;
	for (int i = 0; i < NTABLES; i++) {
		if (have[i])
			continue;
		if (expand(ps->prefix, table_ddl[i], sql, sizeof(sql)) == -1) {
			rc = fail(
			    ps, SGW_STORE_UNAVAILABLE, "statement too long");
			goto fail;
		}
		if ((rc = setup_simple(ps, sql)) != SGW_STORE_OK)
			goto fail;
		snprintf(p, left, "%s%s%s", made ? ", " : "created tables ",
		    ps->prefix, table_names[i]);
		left -= strlen(p);
		p += strlen(p);
		made++;
	}
	if ((rc = setup_simple(ps, "COMMIT")) != SGW_STORE_OK)
		goto fail;
	if (made)
		snprintf(p, left, " (version %d)", SCHEMA_VERSION);
	else /* another process made them while we waited for the lock */
		snprintf(ps->report, sizeof(ps->report),
		    "nothing to do: tables "
		    "%ssessions, %sdata, %scounters and %sschema exist "
		    "(version %d)",
		    ps->prefix, ps->prefix, ps->prefix, ps->prefix,
		    SCHEMA_VERSION);
	return SGW_STORE_OK;
fail:
	if (rc == SGW_STORE_UNAVAILABLE) {
		char why[sizeof(ps->base.errstr)];

		snprintf(why, sizeof(why), "%s", ps->base.errstr + 10);
		fail(ps, rc,
		    "cannot create the tables: %s (create_tables = on "
		    "needs the right to; or run `sessiongw store init` as the "
		    "owner)",
		    why);
	}
	/* The connection is in an aborted or open transaction: a new one
	 * is simpler than a ROLLBACK that may fail too. */
	drop(ps);
	return rc;
}

/*
 * The tables as a connection finds them: created when missing and we
 * may, else checked (missing tables, the version, the columns). In CHECK
 * mode with create_tables on, missing tables are fine (start-up makes
 * them); ps->pending then says the statements cannot be prepared yet.
 */
static int
setup_schema(struct pg_store *ps)
{
	int have[NTABLES], n = 0, rc;
	char missing[256] = "";

	ps->report[0] = '\0';
	ps->pending = 0;
	if ((rc = tables_present(ps, have)) != SGW_STORE_OK)
		return rc;
	for (int i = 0; i < NTABLES; i++) {
		if (have[i])
			continue;
		snprintf(missing + strlen(missing),
		    sizeof(missing) - strlen(missing), "%s%s%s",
		    n++ ? ", " : "", ps->prefix, table_names[i]);
	}
	if (n > 0 && !ps->create)
		return fail(ps, SCHEMA_BAD,
		    "missing table%s %s (create_tables "
		    "is off: run `sessiongw store init`)",
		    n > 1 ? "s" : "", missing);
	if (n > 0 && ps->check_only) {
		ps->pending = 1;
		if (have[T_SCHEMA] && (rc = check_version(ps)) != SGW_STORE_OK)
			return rc;
		return check_shape(ps, have);
	}
	if (n > 0) {
		if ((rc = create_missing(ps)) != SGW_STORE_OK)
			return rc;
		for (int i = 0; i < NTABLES; i++)
			have[i] = 1;
	} else {
		if ((rc = check_version(ps)) != SGW_STORE_OK)
			return rc;
		snprintf(ps->report, sizeof(ps->report),
		    "nothing to do: tables "
		    "%ssessions, %sdata, %scounters and %sschema exist "
		    "(version %d)",
		    ps->prefix, ps->prefix, ps->prefix, ps->prefix,
		    SCHEMA_VERSION);
	}
	return check_shape(ps, have);
}

/* Prepares every statement in one pipeline. A statement the tables
 * cannot answer (a missing key for ON CONFLICT, say) fails here. */
static int
prepare_all(struct pg_store *ps)
{
	int64_t deadline = sgw_mono_ms() + ps->connect_ms;
	PGresult *r = NULL;
	int rc = SGW_STORE_OK;

	if (!PQenterPipelineMode(ps->conn))
		return fail(ps, BROKEN, "cannot enter pipeline mode");
	for (int i = 0; i < NSTMT; i++) {
		if (!PQsendPrepare(ps->conn, stmts[i].name, ps->sql[i],
		        stmts[i].nparams, stmts[i].types))
			return fail(ps, BROKEN, "cannot send");
	}
	if (!PQpipelineSync(ps->conn))
		return fail(ps, BROKEN, "cannot send");
	for (int i = 0; i <= NSTMT; i++) {
		int got = collect(ps, deadline, &r);

		if (got != SGW_STORE_OK)
			return fail(ps, got == SGW_STORE_TIMEOUT ? got : BROKEN,
			    "no answer while preparing statements");
		if (rc == SGW_STORE_OK && r != NULL &&
		    PQresultStatus(r) == PGRES_FATAL_ERROR) {
			const char *m =
			    PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);

			/* The statements are part of the tables' shape. */
			rc = fail(ps, SCHEMA_BAD, "preparing %s: %s",
			    i < NSTMT ? stmts[i].name : "statements",
			    m != NULL ? m : "failed");
		}
		PQclear(r);
		r = NULL;
	}
	if (rc == SGW_STORE_OK && !PQexitPipelineMode(ps->conn))
		rc = fail(ps, BROKEN, "cannot leave pipeline mode");
	return rc;
}

/*
 * Makes sure there is a working connection with our session settings, our
 * tables and our statements. Returns OK, an error (errstr set), or
 * SCHEMA_BAD for a database we must not use.
 */
static int
ensure(struct pg_store *ps)
{
	char to[24];
	PGresult *r = NULL;
	int rc;

	if (ps->conn != NULL && PQstatus(ps->conn) == CONNECTION_OK &&
	    PQtransactionStatus(ps->conn) == PQTRANS_IDLE)
		return SGW_STORE_OK;
	if ((rc = dial(ps)) != SGW_STORE_OK)
		return rc;
	snprintf(to, sizeof(to), "%lld", (long long)ps->command_ms);
	rc = setup_exec(ps, "SELECT set_config('statement_timeout', $1, false)",
	    ps->connect_ms, &r, 1, to);
	PQclear(r);
	if (rc == SGW_STORE_OK)
		rc = setup_schema(ps);
	if (rc == SGW_STORE_OK && ps->conn != NULL && !ps->pending)
		rc = prepare_all(ps);
	if (rc == SGW_STORE_OK && ps->conn == NULL)
		rc = fail(ps, BROKEN, "connection lost during set-up");
	if (rc != SGW_STORE_OK)
		drop(ps);
	/*
	 * Connected, then an SQL error rather than a lost connection or a
	 * timeout (those are BROKEN and TIMEOUT): the server said no, as in
	 * "permission denied for schema public" while creating the tables.
	 * Waiting will not help, so opening fails on it.
	 */
	if (rc == SGW_STORE_UNAVAILABLE)
		rc = SCHEMA_BAD;
	return rc == BROKEN ? SGW_STORE_UNAVAILABLE : rc;
}

static int
retryable(const struct call *calls, int n)
{
	for (int i = 0; i < n; i++) {
		if (!calls[i].retry)
			return 0;
	}
	return 1;
}

/*
 * Runs prepared statements (connecting first when needed) and leaves
 * their results in res[]; the caller clears them (clear_all) whatever
 * this returns. A connection that was there and turns out broken is
 * made again and idempotent statements are sent once more.
 */
static int
run_within(struct pg_store *ps, struct call *calls, int n, PGresult **res,
    int64_t timeout_ms)
{
	for (int attempt = 0;; attempt++) {
		int had = ps->conn != NULL, rc;

		for (int i = 0; i < n; i++)
			res[i] = NULL;
		if ((rc = ensure(ps)) != SGW_STORE_OK)
			return rc == SCHEMA_BAD ? SGW_STORE_UNAVAILABLE : rc;
		rc = exchange(ps, calls, n, res, timeout_ms);
		if (rc != BROKEN)
			return rc;
		if (!had || attempt > 0 || !retryable(calls, n))
			return SGW_STORE_UNAVAILABLE;
		clear_all(res, n);
	}
}

static int
run(struct pg_store *ps, struct call *calls, int n, PGresult **res)
{
	return run_within(ps, calls, n, res, ps->command_ms);
}

static struct call
prepared(enum stmt s)
{
	struct call c = {.s = s, .retry = stmts[s].retry};

	return c;
}

/*
 * The first call of a pipeline whose statement may read the whole
 * sessions table (active, sweep): statement_timeout raised to SLOW_MS for
 * that transaction alone. Returns the timeout to wait for; to holds the
 * parameter's text.
 */
static int64_t
slow_call(struct pg_store *ps, struct call *c, char to[24])
{
	int64_t ms = ps->command_ms > SLOW_MS ? ps->command_ms : SLOW_MS;

	*c = prepared(S_SLOW);
	snprintf(to, 24, "%lld", (long long)ms);
	arg_text(c, to);
	return ms;
}

/* A result with one row of nfields columns, or an error. */
static int
one_row(struct pg_store *ps, const PGresult *r, int nfields)
{
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 ||
	    PQnfields(r) != nfields)
		return fail(ps, SGW_STORE_UNAVAILABLE, "unexpected result");
	return SGW_STORE_OK;
}

/* ---- the operations ---- */

/* A session row (columns from `first` on, in SESSION_COLS order). */
static int
read_record(const PGresult *r, int row, int first, struct sgw_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	if (col_copy(r, row, first, rec->user, sizeof(rec->user), 1) == -1 ||
	    col_copy(r, row, first + 1, rec->client, sizeof(rec->client), 1) ==
	        -1 ||
	    PQgetlength(r, row, first + 2) != SGW_AGENT_LEN)
		return -1;
	memcpy(rec->agent, PQgetvalue(r, row, first + 2), SGW_AGENT_LEN);
	rec->created_ms = col_i64(r, row, first + 3);
	rec->seen_ms = col_i64(r, row, first + 4);
	rec->expires_ms = col_i64(r, row, first + 5);
	rec->deadline_ms = col_i64(r, row, first + 6);
	rec->remember_me = col_bool(r, row, first + 7);
	return 0;
}

static int
pg_put(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN],
    const struct sgw_record *rec, int64_t now_ms)
{
	struct pg_store *ps = (struct pg_store *)st;
	struct call c = prepared(S_PUT);
	PGresult *r;
	int rc;

	(void)now_ms;
	arg_bytes(&c, hash, SGW_HASH_LEN);
	arg_text(&c, rec->user);
	arg_text(&c, rec->client);
	arg_bytes(&c, rec->agent, SGW_AGENT_LEN);
	arg_int8(&c, rec->created_ms);
	arg_int8(&c, rec->seen_ms);
	arg_int8(&c, rec->expires_ms);
	arg_int8(&c, rec->deadline_ms);
	arg_bool(&c, rec->remember_me);
	rc = run(ps, &c, 1, &r);
	PQclear(r);
	return rc;
}

/* A session read's result: OK with *out, NOTFOUND, or an error. */
static int
got_record(struct pg_store *ps, const PGresult *r, struct sgw_record *out)
{
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 0)
		return SGW_STORE_NOTFOUND;
	if (one_row(ps, r, 8) != SGW_STORE_OK)
		return SGW_STORE_UNAVAILABLE;
	if (read_record(r, 0, 0, out) == -1)
		return fail(
		    ps, SGW_STORE_UNAVAILABLE, "a session row does not fit");
	return SGW_STORE_OK;
}

static int
pg_get(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN],
    struct sgw_record *out)
{
	struct pg_store *ps = (struct pg_store *)st;
	struct call c = prepared(S_GET);
	PGresult *r;
	int rc;

	arg_bytes(&c, hash, SGW_HASH_LEN);
	if ((rc = run(ps, &c, 1, &r)) == SGW_STORE_OK)
		rc = got_record(ps, r, out);
	PQclear(r);
	return rc;
}

/* The sessions in one pipeline: one round trip, one transaction. */
static int
pg_get_many(struct sgw_store *st, size_t n,
    const unsigned char (*hash)[SGW_HASH_LEN], struct sgw_record *out, int *rcs)
{
	struct pg_store *ps = (struct pg_store *)st;
	struct call c[SGW_STORE_BATCH_MAX];
	PGresult *r[SGW_STORE_BATCH_MAX];
	int rc;

	if (n > SGW_STORE_BATCH_MAX)
		n = SGW_STORE_BATCH_MAX;
	for (size_t i = 0; i < n; i++) {
		c[i] = prepared(S_GET);
		c[i].quick = 1;
		arg_bytes(&c[i], hash[i], SGW_HASH_LEN);
	}
	if ((rc = run(ps, c, (int)n, r)) == SGW_STORE_OK)
		for (size_t i = 0; i < n && rc == SGW_STORE_OK; i++)
			if (SGW_STORE_FAILED(
			        rcs[i] = got_record(ps, r[i], &out[i])))
				rc = rcs[i];
	clear_all(r, (int)n);
	return rc;
}

/* OK when the statement touched a row, NOTFOUND when none. */
static int
affected(struct pg_store *ps, struct call *c)
{
	PGresult *r;
	int rc;

	if ((rc = run(ps, c, 1, &r)) == SGW_STORE_OK)
		rc = strcmp(PQcmdTuples(r), "0") == 0 ? SGW_STORE_NOTFOUND
		                                      : SGW_STORE_OK;
	PQclear(r);
	return rc;
}

static int
pg_refresh(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN],
    int64_t seen_ms, int64_t deadline_ms, int64_t now_ms)
{
	struct call c = prepared(S_REFRESH);

	(void)now_ms;
	arg_bytes(&c, hash, SGW_HASH_LEN);
	arg_int8(&c, seen_ms);
	arg_int8(&c, deadline_ms);
	return affected((struct pg_store *)st, &c);
}

static int
pg_del(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN])
{
	struct call c = prepared(S_DEL);

	arg_bytes(&c, hash, SGW_HASH_LEN);
	return affected((struct pg_store *)st, &c);
}

static int
pg_user_sessions(
    struct sgw_store *st, const char *user, struct sgw_stored **out, size_t *n)
{
	struct pg_store *ps = (struct pg_store *)st;
	struct call c = prepared(S_USER);
	struct sgw_stored *v = NULL;
	PGresult *r;
	int rc, rows;

	*out = NULL;
	*n = 0;
	arg_text(&c, user);
	if ((rc = run(ps, &c, 1, &r)) != SGW_STORE_OK)
		goto done;
	rows = PQntuples(r);
	if (PQnfields(r) != 9) {
		rc = fail(ps, SGW_STORE_UNAVAILABLE, "unexpected result");
		goto done;
	}
	if (rows > 0 && (v = calloc((size_t)rows, sizeof(*v))) == NULL) {
		rc = fail(ps, SGW_STORE_UNAVAILABLE, "out of memory");
		goto done;
	}
	for (int i = 0; i < rows; i++) {
		if (PQgetlength(r, i, 0) != SGW_HASH_LEN ||
		    read_record(r, i, 1, &v[i].rec) == -1) {
			rc = fail(ps, SGW_STORE_UNAVAILABLE,
			    "a session row does not fit");
			free(v);
			goto done;
		}
		memcpy(v[i].hash, PQgetvalue(r, i, 0), SGW_HASH_LEN);
	}
	*out = v;
	*n = (size_t)rows;
done:
	PQclear(r);
	return rc;
}

static int
pg_data_get(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN],
    const char *key, char **val, size_t *len)
{
	struct pg_store *ps = (struct pg_store *)st;
	struct call c = prepared(S_DGET);
	PGresult *r;
	size_t n;
	int rc;

	*val = NULL;
	*len = 0;
	arg_bytes(&c, hash, SGW_HASH_LEN);
	arg_text(&c, key);
	if ((rc = run(ps, &c, 1, &r)) != SGW_STORE_OK)
		goto done;
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 0) {
		rc = SGW_STORE_NOTFOUND;
		goto done;
	}
	if ((rc = one_row(ps, r, 1)) != SGW_STORE_OK)
		goto done;
	if (PQgetisnull(r, 0, 0)) {
		rc = SGW_STORE_NOTFOUND;
		goto done;
	}
	n = (size_t)PQgetlength(r, 0, 0);
	if ((*val = malloc(n + 1)) == NULL) {
		rc = fail(ps, SGW_STORE_UNAVAILABLE, "out of memory");
		goto done;
	}
	memcpy(*val, PQgetvalue(r, 0, 0), n);
	(*val)[n] = '\0';
	*len = n;
done:
	PQclear(r);
	return rc;
}

static int
pg_data_put(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN],
    const char *key, const void *val, size_t len, size_t max_keys)
{
	struct pg_store *ps = (struct pg_store *)st;
	struct call c[2] = {prepared(S_DLOCK), prepared(S_DPUT)};
	PGresult *r[2];
	int rc;

	if (len > INT32_MAX) /* libpq lengths are ints */
		return fail(ps, SGW_STORE_UNAVAILABLE, "value too long");
	arg_bytes(&c[0], hash, SGW_HASH_LEN);
	arg_bytes(&c[1], hash, SGW_HASH_LEN);
	arg_text(&c[1], key);
	arg_bytes(&c[1], val != NULL ? val : "", len);
	arg_int8(&c[1], max_keys > INT64_MAX ? INT64_MAX : (int64_t)max_keys);
	if ((rc = run(ps, c, 2, r)) != SGW_STORE_OK)
		goto done;
	if (PQntuples(r[0]) == 0)
		rc = SGW_STORE_NOTFOUND;
	else if (PQntuples(r[1]) == 0)
		rc = SGW_STORE_FULL;
done:
	clear_all(r, 2);
	return rc;
}

static int
pg_data_del(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN],
    const char *key)
{
	struct pg_store *ps = (struct pg_store *)st;
	struct call c = prepared(S_DDEL);
	PGresult *r;
	int rc;

	arg_bytes(&c, hash, SGW_HASH_LEN);
	arg_text(&c, key);
	if ((rc = run(ps, &c, 1, &r)) == SGW_STORE_OK &&
	    (rc = one_row(ps, r, 2)) == SGW_STORE_OK)
		rc = col_i64(r, 0, 0) == 0 || col_i64(r, 0, 1) == 0
		    ? SGW_STORE_NOTFOUND
		    : SGW_STORE_OK;
	PQclear(r);
	return rc;
}

/* now + ttl, kept inside int64_t. */
static int64_t
end_of(int64_t now_ms, int64_t ttl_ms)
{
	if (ttl_ms > 0 && now_ms > INT64_MAX - ttl_ms)
		return INT64_MAX;
	if (ttl_ms < 0 && now_ms < INT64_MIN - ttl_ms)
		return INT64_MIN;
	return now_ms + ttl_ms;
}

static int
pg_counter_add(struct sgw_store *st, const char *key, int64_t delta,
    int64_t ttl_ms, int64_t now_ms, int64_t *value)
{
	struct pg_store *ps = (struct pg_store *)st;
	struct call c = prepared(S_CADD);
	PGresult *r;
	int rc;

	arg_text(&c, key);
	arg_int8(&c, delta);
	arg_int8(&c, end_of(now_ms, ttl_ms));
	arg_int8(&c, now_ms);
	if ((rc = run(ps, &c, 1, &r)) == SGW_STORE_OK &&
	    (rc = one_row(ps, r, 1)) == SGW_STORE_OK)
		*value = col_i64(r, 0, 0);
	PQclear(r);
	return rc;
}

static int
pg_counter_get(struct sgw_store *st, const char *key, int64_t now_ms,
    int64_t *value, int64_t *ttl_ms)
{
	struct pg_store *ps = (struct pg_store *)st;
	struct call c = prepared(S_CGET);
	PGresult *r;
	int rc;

	*value = 0;
	*ttl_ms = 0;
	arg_text(&c, key);
	arg_int8(&c, now_ms);
	if ((rc = run(ps, &c, 1, &r)) == SGW_STORE_OK && PQntuples(r) > 0 &&
	    (rc = one_row(ps, r, 2)) == SGW_STORE_OK) {
		*value = col_i64(r, 0, 0);
		*ttl_ms = col_i64(r, 0, 1) - now_ms;
	}
	PQclear(r);
	return rc;
}

static int
pg_counter_set(struct sgw_store *st, const char *key, int64_t value,
    int64_t ttl_ms, int64_t now_ms)
{
	struct pg_store *ps = (struct pg_store *)st;
	struct call c = prepared(S_CSET);
	PGresult *r;
	int rc;

	arg_text(&c, key);
	arg_int8(&c, value);
	arg_int8(&c, end_of(now_ms, ttl_ms));
	rc = run(ps, &c, 1, &r);
	PQclear(r);
	return rc;
}

static int
pg_counter_del(struct sgw_store *st, const char *key)
{
	struct call c = prepared(S_CDEL);
	int rc;

	arg_text(&c, key);
	rc = affected((struct pg_store *)st, &c);
	return rc == SGW_STORE_NOTFOUND ? SGW_STORE_OK : rc;
}

/* Literal SQL, not the prepared sgw_ping: it answers even on a -t
 * connection that prepared nothing because the tables are still to be
 * made. Still one round trip. */
static int
pg_ping(struct sgw_store *st)
{
	struct pg_store *ps = (struct pg_store *)st;
	struct call c = {.sql = "SELECT 1", .retry = 1};
	PGresult *r;
	int rc;

	rc = run(ps, &c, 1, &r);
	PQclear(r);
	return rc;
}

static int
pg_active(struct sgw_store *st, int64_t now_ms, uint64_t *n)
{
	struct pg_store *ps = (struct pg_store *)st;
	struct call c[2];
	PGresult *r[2];
	char to[24];
	int64_t ms = slow_call(ps, &c[0], to);
	int rc;

	*n = 0;
	c[1] = prepared(S_ACTIVE);
	arg_int8(&c[1], now_ms);
	if ((rc = run_within(ps, c, 2, r, ms)) == SGW_STORE_OK &&
	    (rc = one_row(ps, r[1], 1)) == SGW_STORE_OK)
		*n = (uint64_t)col_i64(r[1], 0, 0);
	clear_all(r, 2);
	return rc;
}

static int
pg_sweep(struct sgw_store *st, int64_t now_ms, size_t max, size_t *sessions,
    int *more)
{
	struct pg_store *ps = (struct pg_store *)st;
	struct call c[2];
	PGresult *r[2];
	char to[24];
	int64_t ms = slow_call(ps, &c[0], to);
	int rc;

	*sessions = 0;
	*more = 0;
	c[1] = prepared(S_SWEEP);
	arg_int8(&c[1], now_ms);
	arg_int8(&c[1], max > (size_t)INT32_MAX ? INT32_MAX : (int64_t)max);
	if ((rc = run_within(ps, c, 2, r, ms)) == SGW_STORE_OK &&
	    (rc = one_row(ps, r[1], 3)) == SGW_STORE_OK) {
		*sessions = (size_t)col_i64(r[1], 0, 0);
		*more = col_bool(r[1], 0, 2);
	}
	clear_all(r, 2);
	return rc;
}

static void
pg_close(struct sgw_store *st)
{
	struct pg_store *ps = (struct pg_store *)st;

	if (ps == NULL)
		return;
	drop(ps);
	for (int i = 0; i < NSTMT; i++)
		free(ps->sql[i]);
	if (ps->conninfo != NULL) {
		explicit_bzero(ps->conninfo, strlen(ps->conninfo));
		free(ps->conninfo);
	}
	free(ps);
}

static const struct sgw_store_ops pg_ops = {
    .put = pg_put,
    .get = pg_get,
    .get_many = pg_get_many,
    .refresh = pg_refresh,
    .del = pg_del,
    .user_sessions = pg_user_sessions,
    .data_get = pg_data_get,
    .data_put = pg_data_put,
    .data_del = pg_data_del,
    .counter_add = pg_counter_add,
    .counter_get = pg_counter_get,
    .counter_set = pg_counter_set,
    .counter_del = pg_counter_del,
    .ping = pg_ping,
    .active = pg_active,
    .sweep = pg_sweep,
    .close = pg_close,
};

/* A store with its statements made, not yet connected. */
static struct pg_store *
pg_new(const struct sgw_postgres_conf *pc, char *err, size_t errlen)
{
	struct pg_store *ps = NULL;
	char sql[SQL_MAX];
	char why[200];

	if (pg_validate(pc, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s", why);
		return NULL;
	}
	if ((ps = calloc(1, sizeof(*ps))) == NULL ||
	    (ps->conninfo = strdup(pc->conninfo)) == NULL)
		goto oom;
	ps->base.ops = &pg_ops;
	ps->base.backend = "postgres";
	snprintf(ps->prefix, sizeof(ps->prefix), "%s", pc->table_prefix);
	ps->create = pc->create_tables;
	ps->connect_ms = pc->connect_timeout_ms;
	ps->command_ms = pc->command_timeout_ms;
	for (int i = 0; i < NSTMT; i++) {
		if (expand(ps->prefix, stmts[i].sql, sql, sizeof(sql)) == -1 ||
		    (ps->sql[i] = strdup(sql)) == NULL)
			goto oom;
	}
	return ps;
oom:
	snprintf(err, errlen, "out of memory");
	pg_close(&ps->base);
	return NULL;
}

/* The message of errstr without our "postgres: " (store.c names the
 * backend itself). */
static void
copy_err(const struct pg_store *ps, char *err, size_t errlen)
{
	const char *m = ps->base.errstr;

	if (strncmp(m, "postgres: ", 10) == 0)
		m += 10;
	snprintf(err, errlen, "%s", m);
}

/*
 * SERVE: connects, creates the tables when create_tables is on, checks
 * them and prepares. A database that is there but wrong (an unknown
 * schema version, missing tables, a bad shape) fails the open: the
 * gateway must not start on it. A server that cannot be reached does not:
 * the worker starts, answers 503 and connects (and creates or checks the
 * tables) once the server is back, as it would after a restart.
 * CHECK: the same without creating anything; sgw_store_check's ping then
 * says whether the server answers (so -t reports it, and a starting
 * gateway says so and serves 503 until it does).
 */
static struct sgw_store *
pg_open(const struct sgw_conf *conf, const void *opts, enum sgw_store_mode mode,
    char *err, size_t errlen)
{
	struct pg_store *ps = pg_new(opts, err, errlen);
	int rc;

	(void)conf;
	if (ps == NULL)
		return NULL;
	ps->check_only = mode == SGW_STORE_CHECK;
	rc = ensure(ps);
	if (rc == SCHEMA_BAD) {
		copy_err(ps, err, errlen);
		pg_close(&ps->base);
		return NULL;
	}
	return &ps->base;
}

static int
pg_init(const struct sgw_conf *conf, const void *opts, char *report,
    size_t reportlen, char *err, size_t errlen)
{
	struct pg_store *ps = pg_new(opts, err, errlen);
	int rc;

	(void)conf;
	if (ps == NULL)
		return -1;
	ps->create = 1;
	if ((rc = ensure(ps)) != SGW_STORE_OK) {
		copy_err(ps, err, errlen);
		pg_close(&ps->base);
		return -1;
	}
	snprintf(report, reportlen, "%s", ps->report);
	pg_close(&ps->base);
	return 0;
}

const struct sgw_store_backend sgw_store_postgres = {
    .name = "postgres",
    .keys = pg_keys,
    .nkeys = sizeof(pg_keys) / sizeof(pg_keys[0]),
    .conf_size = sizeof(struct sgw_postgres_conf),
    .validate = pg_validate,
    .open = pg_open,
    .init = pg_init,
    .wipe = pg_wipe,
};
