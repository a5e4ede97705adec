/*
 * store_redis: the store over Redis (hiredis 0.14), for several gateway
 * hosts sharing one Redis (or a Sentinel-watched master and replicas).
 *
 * Keys (all under key_prefix):
 *   s:HASH      a session: a Redis hash whose TTL is the session's
 *               deadline. Fields u (user), c (client), a (User-Agent
 *               digest), ct (created), ls (last refresh), ab (absolute
 *               end), dl (deadline), rm (remember-me), and d:NAME for each
 *               application data key.
 *   u:USER      the user's index: a sorted set of HASH scored by creation
 *               time; members whose session has gone are dropped whenever
 *               it is read.
 *   KEY         a counter (f:u:USER, l:c:ADDR...): a string with a TTL.
 *
 * HASH is the hex SHA-256 of the token: Redis never sees a token.
 *
 * The check is one HMGET: no script runs on the hot path, and a worker
 * holding several checks sends their HMGETs together, in one round trip.
 * A change of several keys is a Lua script, so it is atomic and one
 * round trip; the scripts decide nothing (the policy is session.c's) and
 * take the time from their caller. Scripts are sent as EVALSHA, falling
 * back to EVAL on NOSCRIPT (an empty script cache after a restart or a
 * failover).
 *
 * One connection per process, made lazily (so a worker starts even while
 * Redis is down) and re-made after any I/O error, with the command timeout
 * re-applied after every reconnect. A command that failed on a broken
 * connection is sent again on a new one only when repeating it is
 * harmless: never a counter increment, which could count one failed login
 * twice.
 */
#include "store_redis.h"

#include <errno.h>
#include <hiredis.h>
#include <openssl/sha.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "conf.h"

#define MAX_ARGS 16
/* key_prefix (at most PREFIX_MAX) + "u:" + a user, or + a counter key. */
#define PREFIX_MAX 128
#define KEYLEN (PREFIX_MAX + 4 + SGW_COUNTER_KEY_MAXLEN + 1)
_Static_assert(SGW_COUNTER_KEY_MAXLEN >= SGW_USER_MAXLEN + 2, "u:USER fits");

struct script {
	const char *src;
	char sha[41];
};

/* The fields of a session (u c a ct ls ab dl rm), as the check's HMGET
 * returns them. */
#define SESSION_FIELDS 8

struct redis_store {
	struct sgw_store base;
	const struct sgw_redis_conf *conf;
	redisContext *c; /* NULL until the first command, or after an error */
};

/* KEYS: session, index. ARGV: u c a ct ls ab dl rm ttl hash index_ttl.
 * Field a holds the agent's SGW_AGENT_LEN bytes and then the public id:
 * a field of its own would make the check's HMGET 11 arguments long, and
 * Redis answers a client that has not authenticated and sends more than
 * 10 with a protocol error instead of NOAUTH. */
static struct script s_put = {
    "redis.call('DEL', KEYS[1]) "
    "redis.call('HSET', KEYS[1], 'u', ARGV[1], 'c', ARGV[2], 'a', ARGV[3], "
    "  'ct', ARGV[4], 'ls', ARGV[5], 'ab', ARGV[6], 'dl', ARGV[7], 'rm', "
    "ARGV[8]) "
    "redis.call('PEXPIRE', KEYS[1], ARGV[9]) "
    "redis.call('ZADD', KEYS[2], ARGV[4], ARGV[10]) "
    "if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[11]) then "
    "  redis.call('PEXPIRE', KEYS[2], ARGV[11]) end "
    "return 1",
    ""};

/* KEYS: session. ARGV: ls dl ttl. 1 when refreshed, 0 when gone. */
static struct script s_refresh = {
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end "
    "redis.call('HSET', KEYS[1], 'ls', ARGV[1], 'dl', ARGV[2]) "
    "redis.call('PEXPIRE', KEYS[1], ARGV[3]) return 1",
    ""};

/* KEYS: session. ARGV: index prefix, hash. 1 when a session ended. */
static struct script s_del = {
    "local u = redis.call('HGET', KEYS[1], 'u') "
    "local n = redis.call('DEL', KEYS[1]) "
    "if u then redis.call('ZREM', ARGV[1] .. u, ARGV[2]) end "
    "return n",
    ""};

/* KEYS: index. ARGV: session prefix. {hash, u, c, a, ct, ls, ab, dl, rm}...
 * oldest first, then how many members were dropped because their session
 * is gone. */
static struct script s_user = {
    "local out, gone = {}, 0 "
    "for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do "
    "  local v = redis.call('HMGET', ARGV[1] .. m, 'u', 'c', 'a', 'ct', 'ls', "
    "    'ab', 'dl', 'rm') "
    "  if v[1] then "
    "    table.insert(out, m) "
    "    for i = 1, 8 do table.insert(out, v[i] or '') end "
    "  else redis.call('ZREM', KEYS[1], m) gone = gone + 1 end end "
    "table.insert(out, gone) "
    "return out",
    ""};

/* KEYS: session. ARGV: field. {0} no session, {1} no key, {2, value} */
static struct script s_data_get = {
    "if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end "
    "local v = redis.call('HGET', KEYS[1], ARGV[1]) "
    "if not v then return {1} end return {2, v}",
    ""};

/* KEYS: session. ARGV: field value max. 0 no session, 1 ok, 2 full */
static struct script s_data_put = {
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end "
    "if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then "
    "  local n = 0 "
    "  for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do "
    "    if string.sub(f, 1, 2) == 'd:' then n = n + 1 end end "
    "  if n >= tonumber(ARGV[3]) then return 2 end end "
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return 1",
    ""};

/* KEYS: session. ARGV: field. 0 no session, 1 no key, 2 deleted */
static struct script s_data_del = {
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end "
    "return 1 + redis.call('HDEL', KEYS[1], ARGV[1])",
    ""};

/* KEYS: counter. ARGV: delta ttl. The new value; a new counter (no TTL
 * yet) gets its lifetime. */
static struct script s_add = {
    "local v = redis.call('INCRBY', KEYS[1], ARGV[1]) "
    "if redis.call('PTTL', KEYS[1]) < 0 then "
    "  redis.call('PEXPIRE', KEYS[1], ARGV[2]) end "
    "return v",
    ""};

/* KEYS: counter. {value or false, pttl} */
static struct script s_counter = {
    "return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}", ""};

static void
seterr(struct redis_store *rs, const char *what, const char *detail)
{
	snprintf(rs->base.errstr, sizeof(rs->base.errstr), "redis: %s%s%s",
	    what, detail != NULL ? ": " : "", detail != NULL ? detail : "");
}

static void
drop(struct redis_store *rs)
{
	if (rs->c != NULL)
		redisFree(rs->c);
	rs->c = NULL;
}

static struct timeval
tv_ms(int64_t ms)
{
	struct timeval tv = {
	    .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

	return tv;
}

static redisContext *
dial(const struct sgw_addr *a, int64_t timeout_ms)
{
	struct timeval tv = tv_ms(timeout_ms);

	if (a->is_unix)
		return redisConnectUnixWithTimeout(a->path, tv);
	return redisConnectWithTimeout(a->host, a->port, tv);
}

/* Asks each sentinel in turn for the master's address. */
static int
sentinel_master(struct redis_store *rs, struct sgw_addr *out)
{
	const struct sgw_redis_conf *conf = rs->conf;

	for (size_t i = 0; i < conf->nsentinels; i++) {
		redisContext *sc =
		    dial(&conf->sentinels[i], conf->connect_timeout_ms);
		redisReply *r = NULL;
		int ok = 0;

		if (sc == NULL)
			continue;
		if (sc->err == 0 &&
		    redisSetTimeout(sc, tv_ms(conf->connect_timeout_ms)) ==
		        REDIS_OK)
			r = redisCommand(sc,
			    "SENTINEL get-master-addr-by-name %s",
			    conf->sentinel_master);
		if (r != NULL && r->type == REDIS_REPLY_ARRAY &&
		    r->elements == 2 &&
		    r->element[0]->type == REDIS_REPLY_STRING &&
		    r->element[1]->type == REDIS_REPLY_STRING) {
			long port = strtol(r->element[1]->str, NULL, 10);

			memset(out, 0, sizeof(*out));
			if (port > 0 && port < 65536 &&
			    r->element[0]->len < sizeof(out->host)) {
				memcpy(out->host, r->element[0]->str,
				    r->element[0]->len);
				out->port = (int)port;
				ok = 1;
			}
		}
		if (r != NULL)
			freeReplyObject(r);
		redisFree(sc);
		if (ok)
			return 0;
	}
	seterr(rs, "no sentinel knows the master", conf->sentinel_master);
	return -1;
}

/* Runs one command on a fresh connection during set-up; 0 when it did not
 * fail. */
static int
setup_cmd(struct redis_store *rs, int argc, const char **argv)
{
	redisReply *r = redisCommandArgv(rs->c, argc, argv, NULL);
	int rc = 0;

	if (r == NULL) {
		seterr(rs, argv[0], rs->c->errstr);
		return -1;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		seterr(rs, argv[0], r->str);
		rc = -1;
	}
	freeReplyObject(r);
	return rc;
}

/* Makes sure there is a working connection: dial (through the sentinels
 * when configured), re-apply the command timeout and keep-alive (hiredis
 * forgets both on reconnect), authenticate, select the database. */
static int
ensure(struct redis_store *rs)
{
	const struct sgw_redis_conf *conf = rs->conf;
	struct sgw_addr master;
	const struct sgw_addr *a = &conf->addr;
	char num[16];

	if (rs->c != NULL && rs->c->err == 0)
		return 0;
	drop(rs);
	if (conf->nsentinels > 0) {
		if (sentinel_master(rs, &master) == -1)
			return -1;
		a = &master;
	}
	rs->c = dial(a, conf->connect_timeout_ms);
	if (rs->c == NULL) {
		seterr(rs, "cannot connect", "out of memory");
		return -1;
	}
	if (rs->c->err != 0) {
		char where[300];

		seterr(
		    rs, sgw_addr_str(a, where, sizeof(where)), rs->c->errstr);
		goto fail;
	}
	if (redisSetTimeout(rs->c, tv_ms(conf->command_timeout_ms)) !=
	    REDIS_OK) {
		seterr(rs, "cannot set timeout", rs->c->errstr);
		goto fail;
	}
	if (!a->is_unix)
		(void)redisEnableKeepAlive(rs->c);
	if (conf->password[0] != '\0') {
		const char *argv[3] = {"AUTH", conf->username, conf->password};

		if (conf->username[0] != '\0'
		        ? setup_cmd(rs, 3, argv) == -1
		        : setup_cmd(rs, 2,
		              (const char *[]){"AUTH", conf->password}) == -1)
			goto fail;
	}
	if (conf->database != 0) {
		snprintf(num, sizeof(num), "%d", conf->database);
		if (setup_cmd(rs, 2, (const char *[]){"SELECT", num}) == -1)
			goto fail;
	}
	if (conf->nsentinels > 0) {
		/* The sentinels may lag behind a failover: only a server that
		 * says it is the master will do. */
		redisReply *r = redisCommand(rs->c, "ROLE");
		int master_ok = r != NULL && r->type == REDIS_REPLY_ARRAY &&
		    r->elements > 0 &&
		    r->element[0]->type == REDIS_REPLY_STRING &&
		    strcmp(r->element[0]->str, "master") == 0;

		if (r != NULL)
			freeReplyObject(r);
		if (!master_ok) {
			seterr(rs, "sentinel named a server that is not master",
			    NULL);
			goto fail;
		}
	}
	return 0;
fail:
	drop(rs);
	return -1;
}

/* An error reply that means "this is no longer the master". */
static int
is_readonly(const redisReply *r)
{
	return r->type == REDIS_REPLY_ERROR &&
	    strncmp(r->str, "READONLY", 8) == 0;
}

/*
 * The check's replies without hiredis's reply objects. hiredis makes an
 * object for the array and one for each of its 8 strings, with a malloc
 * and a free each and a copy of every string: about 7,000 instructions
 * of a check (callgrind), most of its Redis side. The reply of HMGET is
 * a fixed shape (*8, then $-1 or $N with N bytes for each field), so the
 * check reads it (or the n replies of n HMGETs sent together) into a
 * buffer of its own and points into it. Anything else (an error reply,
 * replies longer than the buffer) is handed to hiredis's reader with
 * what was read, and hiredis finishes it. I/O goes through the context's
 * socket, with its timeouts, and a failure leaves the context in error
 * as hiredis itself would.
 */
#define FLAT_MAX 1024 /* a field's bytes at most; the buffer's per reply */

struct flat {
	size_t n; /* replies to read, at most SGW_STORE_BATCH_MAX */
	char buf[FLAT_MAX * SGW_STORE_BATCH_MAX];
	const char *v[SGW_STORE_BATCH_MAX][SESSION_FIELDS];
	size_t len[SGW_STORE_BATCH_MAX][SESSION_FIELDS];
};

/* What send_once returns when the replies are in the struct flat: never
 * freed, never seen outside send_once's callers. */
static redisReply flat_reply = {.type = REDIS_REPLY_ARRAY};

/* A RESP length ("8\r\n", "-1\r\n") at *p: 1 with *p past it, 0 when
 * more must be read, -1 when it is not one. */
static int
resp_len(const char **p, const char *end, long *out)
{
	const char *q = *p;
	int neg = 0;
	long v = 0;

	if (q < end && *q == '-')
		neg = 1, q++;
	for (; q < end && *q >= '0' && *q <= '9'; q++)
		if ((v = v * 10 + (*q - '0')) > FLAT_MAX)
			return -1;
	if (end - q < 2)
		return 0;
	if (q == *p + neg || q[0] != '\r' || q[1] != '\n')
		return -1;
	*out = neg ? -v : v;
	*p = q + 2;
	return 1;
}

/* One reply of the simple shape at *p into v and len: 1 with *p past
 * it, 0 when more must come, -1 when it is not that shape. */
static int
flat_one(const char **p, const char *end, const char **v, size_t *len)
{
	long count, n;
	int k;

	if (*p == end)
		return 0;
	if (*(*p)++ != '*')
		return -1;
	if ((k = resp_len(p, end, &count)) != 1)
		return k;
	if (count != SESSION_FIELDS)
		return -1;
	for (int i = 0; i < SESSION_FIELDS; i++) {
		if (*p == end)
			return 0;
		if (*(*p)++ != '$')
			return -1;
		if ((k = resp_len(p, end, &n)) != 1)
			return k;
		if (n < 0) {
			v[i] = NULL;
			len[i] = 0;
			continue;
		}
		if (end - *p < n + 2)
			return 0;
		if ((*p)[n] != '\r' || (*p)[n + 1] != '\n')
			return -1;
		v[i] = *p;
		len[i] = (size_t)n;
		*p += n + 2;
	}
	return 1;
}

/* 1 when the n bytes of buf are the whole of fl->n replies, 0 when more
 * must come, -1 when they are not all of the simple shape. */
static int
flat_parse(struct flat *fl, size_t n)
{
	const char *p = fl->buf, *end = fl->buf + n;
	int k;

	for (size_t r = 0; r < fl->n; r++)
		if ((k = flat_one(&p, end, fl->v[r], fl->len[r])) != 1)
			return k;
	return p == end ? 1 : -1;
}

/* Leaves c in error after a failed read or write, as hiredis would. */
static redisReply *
io_failed(redisContext *c, ssize_t n)
{
	int saved = errno;

	c->err = n == 0 ? REDIS_ERR_EOF : REDIS_ERR_IO;
	snprintf(c->errstr, sizeof(c->errstr), "%s",
	    n == 0 ? "Server closed the connection" : strerror(saved));
	errno = saved;
	return NULL;
}

static redisReply *
send_flat(redisContext *c, const char *raw, size_t rawlen, struct flat *fl)
{
	size_t off = 0, got = 0;
	void *r = NULL;
	int k = 0;

	while (off < rawlen) {
		ssize_t n = write(c->fd, raw + off, rawlen - off);

		if (n > 0)
			off += (size_t)n;
		else if (n == -1 && errno == EINTR)
			continue;
		else
			return io_failed(c, -1);
	}
	while (got < sizeof(fl->buf) && (k = flat_parse(fl, got)) == 0) {
		ssize_t n = read(c->fd, fl->buf + got, sizeof(fl->buf) - got);

		if (n > 0)
			got += (size_t)n;
		else if (n == -1 && errno == EINTR)
			continue;
		else
			return io_failed(c, n);
	}
	if (k == 1)
		return &flat_reply;
	/* Not ours to read: hiredis takes it from here. */
	if (redisReaderFeed(c->reader, fl->buf, got) != REDIS_OK ||
	    redisGetReply(c, &r) != REDIS_OK)
		return NULL;
	return r;
}

/* One command, either as arguments or already in the protocol's bytes
 * (raw, rawlen): hiredis returns the reply, or NULL with c->err set.
 * With fl, the replies of the check's HMGETs may come back in it
 * instead, as &flat_reply (send_flat); else hiredis returns the first,
 * and the others follow it (redisGetReply). */
static redisReply *
send_once(redisContext *c, int argc, const char **argv, const size_t *lens,
    const char *raw, size_t rawlen, struct flat *fl)
{
	void *r = NULL;

	if (raw == NULL)
		return redisCommandArgv(c, argc, argv, lens);
	/* The socket is ours to use only with nothing pending on the
	 * context either way. */
	if (fl != NULL && c->err == 0 && c->obuf[0] == '\0' &&
	    c->reader->pos >= c->reader->len)
		return send_flat(c, raw, rawlen, fl);
	if (redisAppendFormattedCommand(c, raw, rawlen) != REDIS_OK ||
	    redisGetReply(c, &r) != REDIS_OK)
		return NULL;
	return r;
}

/* After a command failed on rs->c: says why in errstr, drops the
 * connection, and returns the kind of failure. */
static int
broken(struct redis_store *rs)
{
	int rc = SGW_STORE_UNAVAILABLE;

	if (rs->c->err == REDIS_ERR_IO &&
	    (errno == EAGAIN || errno == EWOULDBLOCK)) {
		snprintf(rs->base.errstr, sizeof(rs->base.errstr),
		    "redis: no answer within command_timeout (%lld ms)",
		    (long long)rs->conf->command_timeout_ms);
		rc = SGW_STORE_TIMEOUT;
	} else
		seterr(rs, "command failed", rs->c->errstr);
	drop(rs);
	return rc;
}

/*
 * Runs one command (argv with lengths, or raw: see send_once). Returns
 * the reply (the caller frees it with freeReplyObject) or NULL with errstr
 * set and *rc the kind of failure. A broken connection is re-made; the command
 * is sent again on the new one only when `again` says that repeating it is
 * harmless (it may have run before the connection broke). A timeout is never
 * retried: it would only double the wait.
 */
static redisReply *
run(struct redis_store *rs, int argc, const char **argv, const size_t *lens,
    const char *raw, size_t rawlen, struct flat *fl, int again, int *rc)
{
	*rc = SGW_STORE_UNAVAILABLE;
	for (int attempt = 0; attempt < 2; attempt++) {
		int had_conn = rs->c != NULL;
		redisReply *r;

		if (ensure(rs) == -1)
			return NULL;
		r = send_once(rs->c, argc, argv, lens, raw, rawlen, fl);
		if (r != NULL && is_readonly(r)) {
			/* Failover: the command did not run; find the master
			 * again and send it there. */
			freeReplyObject(r);
			seterr(rs, "server is read-only (failover?)", NULL);
			drop(rs);
			continue;
		}
		if (r != NULL)
			return r;
		if ((*rc = broken(rs)) == SGW_STORE_TIMEOUT || !had_conn ||
		    !again)
			return NULL;
	}
	return NULL;
}

/* run() for a command given as arguments. */
static redisReply *
command(struct redis_store *rs, int argc, const char **argv, const size_t *lens,
    int again, int *rc)
{
	return run(rs, argc, argv, lens, NULL, 0, NULL, again, rc);
}

/* Runs a script: argv are its keys count, keys and arguments. */
static redisReply *
script(struct redis_store *rs, struct script *s, int argc, const char **argv,
    const size_t *lens, int again, int *rc)
{
	const char *av[MAX_ARGS + 2];
	size_t al[MAX_ARGS + 2];
	redisReply *r;

	if (s->sha[0] == '\0') {
		unsigned char md[SHA_DIGEST_LENGTH];

		SHA1((const unsigned char *)s->src, strlen(s->src), md);
		for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
			snprintf(s->sha + 2 * i, 3, "%02x", md[i]);
	}
	av[0] = "EVALSHA";
	al[0] = 7;
	av[1] = s->sha;
	al[1] = 40;
	for (int i = 0; i < argc && i < MAX_ARGS; i++) {
		av[2 + i] = argv[i];
		al[2 + i] = lens != NULL ? lens[i] : strlen(argv[i]);
	}
	r = command(rs, argc + 2, av, al, again, rc);
	if (r != NULL && r->type == REDIS_REPLY_ERROR &&
	    strncmp(r->str, "NOSCRIPT", 8) == 0) {
		/* EVALSHA of an unknown script runs nothing: EVAL is safe to
		 * send whatever `again` says. */
		freeReplyObject(r);
		av[0] = "EVAL";
		al[0] = 4;
		av[1] = s->src;
		al[1] = strlen(s->src);
		r = command(rs, argc + 2, av, al, again, rc);
	}
	if (r != NULL && r->type == REDIS_REPLY_ERROR) {
		seterr(rs, "script error", r->str);
		freeReplyObject(r);
		*rc = SGW_STORE_UNAVAILABLE;
		return NULL;
	}
	return r;
}

static void
key_of(struct redis_store *rs, char *out, const char *kind, const char *rest)
{
	snprintf(out, KEYLEN, "%s%s%s", rs->conf->key_prefix, kind, rest);
}

static void
session_key(struct redis_store *rs, const unsigned char hash[SGW_HASH_LEN],
    char out[KEYLEN], char hex[SGW_HASH_HEX])
{
	sgw_token_hash_hex(hash, hex);
	key_of(rs, out, "s:", hex);
}

static int64_t
num(const redisReply *r)
{
	if (r->type == REDIS_REPLY_INTEGER)
		return r->integer;
	if (r->type == REDIS_REPLY_STRING)
		return strtoll(r->str, NULL, 10);
	return 0;
}

static void
copy_str(char *dst, size_t dstsz, const redisReply *r)
{
	size_t n = 0;

	if (r->type == REDIS_REPLY_STRING) {
		n = r->len < dstsz - 1 ? r->len : dstsz - 1;
		memcpy(dst, r->str, n);
	}
	dst[n] = '\0';
}

static int
bad_reply(struct redis_store *rs, redisReply *r)
{
	/* An error reply (NOAUTH, NOPERM, OOM, WRONGTYPE...) says in the
	 * server's own words what an operator has to fix. */
	if (r != NULL && r->type == REDIS_REPLY_ERROR)
		seterr(rs, "error reply", r->str);
	else
		seterr(rs, "unexpected reply", NULL);
	if (r != NULL)
		freeReplyObject(r);
	return SGW_STORE_UNAVAILABLE;
}

/* A decimal reply string (what Redis keeps numbers as), 0 when it is
 * not one. */
static int64_t
dec(const char *s, size_t n)
{
	uint64_t v = 0;
	size_t i = n > 0 && s[0] == '-';

	if (i == n || n - i > 19)
		return 0;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > INT64_MAX)
		return 0;
	return s[0] == '-' ? -(int64_t)v : (int64_t)v;
}

/* Fields u c a ct ls ab dl rm, in that order, into *out. Field a holds
 * the agent, then the public id (none in a session written before 0.2). */
static int
record_from(const char *const *v, const size_t *len, struct sgw_record *out)
{
	memset(out, 0, sizeof(*out));
	if (v[0] == NULL || len[0] >= sizeof(out->user) ||
	    len[1] >= sizeof(out->client))
		return -1;
	memcpy(out->user, v[0], len[0]);
	if (v[1] != NULL)
		memcpy(out->client, v[1], len[1]);
	if (v[2] != NULL && len[2] >= SGW_AGENT_LEN)
		memcpy(out->agent, v[2], SGW_AGENT_LEN);
	if (v[2] != NULL && len[2] == SGW_AGENT_LEN + sizeof(out->id) - 1)
		memcpy(out->id, v[2] + SGW_AGENT_LEN, sizeof(out->id) - 1);
	out->created_ms = dec(v[3], len[3]);
	out->seen_ms = dec(v[4], len[4]);
	out->expires_ms = dec(v[5], len[5]);
	out->deadline_ms = dec(v[6], len[6]);
	out->remember_me = dec(v[7], len[7]) == 1;
	return 0;
}

/* record_from for the same fields in hiredis's reply elements. */
static int
record_of(redisReply **e, struct sgw_record *out)
{
	const char *v[SESSION_FIELDS];
	size_t len[SESSION_FIELDS];

	for (int i = 0; i < SESSION_FIELDS; i++) {
		int str = e[i]->type == REDIS_REPLY_STRING;

		v[i] = str ? e[i]->str : NULL;
		len[i] = str ? e[i]->len : 0;
	}
	return record_from(v, len, out);
}

static int64_t
ttl_from(int64_t deadline, int64_t now)
{
	return deadline > now ? deadline - now : 1;
}

static int
r_put(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN],
    const struct sgw_record *rec, int64_t now)
{
	struct redis_store *rs = (struct redis_store *)st;
	char skey[KEYLEN], ikey[KEYLEN], hex[SGW_HASH_HEX];
	char ct[24], ls[24], ab[24], dl[24], ttl[24], ittl[24];
	unsigned char agent_id[SGW_AGENT_LEN + SGW_PUBLIC_ID_HEX];
	size_t idlen;
	const char *av[13];
	size_t al[13];
	redisReply *r;
	int rc;

	session_key(rs, hash, skey, hex);
	key_of(rs, ikey, "u:", rec->user);
	snprintf(ct, sizeof(ct), "%lld", (long long)rec->created_ms);
	snprintf(ls, sizeof(ls), "%lld", (long long)rec->seen_ms);
	snprintf(ab, sizeof(ab), "%lld", (long long)rec->expires_ms);
	snprintf(dl, sizeof(dl), "%lld", (long long)rec->deadline_ms);
	snprintf(ttl, sizeof(ttl), "%lld",
	    (long long)ttl_from(rec->deadline_ms, now));
	/* The index lives as long as the longest session in it can. */
	snprintf(ittl, sizeof(ittl), "%lld",
	    (long long)ttl_from(rec->expires_ms, now));
	av[0] = "2";
	av[1] = skey;
	av[2] = ikey;
	av[3] = rec->user;
	av[4] = rec->client;
	memcpy(agent_id, rec->agent, SGW_AGENT_LEN);
	idlen = strnlen(rec->id, sizeof(rec->id) - 1);
	memcpy(agent_id + SGW_AGENT_LEN, rec->id, idlen);
	av[5] = (const char *)agent_id;
	av[6] = ct;
	av[7] = ls;
	av[8] = ab;
	av[9] = dl;
	av[10] = rec->remember_me ? "1" : "0";
	av[11] = ttl;
	for (int i = 0; i < 12; i++)
		al[i] = i == 5 ? SGW_AGENT_LEN + idlen : strlen(av[i]);
	av[12] = hex;
	al[12] = strlen(hex);
	if ((r = script(rs, &s_put, 14,
	         (const char *[]){av[0], av[1], av[2], av[3], av[4], av[5],
	             av[6], av[7], av[8], av[9], av[10], av[11], av[12], ittl},
	         (const size_t[]){al[0], al[1], al[2], al[3], al[4], al[5],
	             al[6], al[7], al[8], al[9], al[10], al[11], al[12],
	             strlen(ittl)},
	         1, &rc)) == NULL)
		return rc;
	freeReplyObject(r);
	return SGW_STORE_OK;
}

/*
 * The check's command, HMGET s:HASH u c a ct ls ab dl rm, written in the
 * protocol's own bytes: hiredis builds them with an sdscatfmt per
 * argument, which cost a check about 7,000 instructions (callgrind), more
 * than reading the answer. Returns the length written to out.
 */
#define HMGET_HEAD "*10\r\n$5\r\nHMGET\r\n$"
#define HMGET_TAIL                                                             \
	"\r\n$1\r\nu\r\n$1\r\nc\r\n$1\r\na\r\n$2\r\nct\r\n"                    \
	"$2\r\nls\r\n$2\r\nab\r\n$2\r\ndl\r\n$2\r\nrm\r\n"
#define HMGET_MAX (sizeof(HMGET_HEAD) + 8 + KEYLEN + sizeof(HMGET_TAIL))

static size_t
hmget_session(struct redis_store *rs, const unsigned char hash[SGW_HASH_LEN],
    char out[HMGET_MAX])
{
	const char *prefix = rs->conf->key_prefix;
	size_t plen = strnlen(prefix, PREFIX_MAX);
	size_t klen = plen + 2 + (SGW_HASH_HEX - 1), n = sizeof(HMGET_HEAD) - 1;
	char digits[8];
	size_t nd = 0;

	memcpy(out, HMGET_HEAD, n);
	for (size_t v = klen; nd == 0 || v > 0; v /= 10)
		digits[nd++] = (char)('0' + v % 10);
	while (nd > 0)
		out[n++] = digits[--nd];
	out[n++] = '\r';
	out[n++] = '\n';
	memcpy(out + n, prefix, plen);
	n += plen;
	memcpy(out + n, "s:", 2);
	n += 2;
	sgw_token_hash_hex(hash, out + n); /* its NUL is overwritten below */
	n += SGW_HASH_HEX - 1;
	memcpy(out + n, HMGET_TAIL, sizeof(HMGET_TAIL) - 1);
	return n + sizeof(HMGET_TAIL) - 1;
}

/*
 * Reads n sessions (1 <= n <= SGW_STORE_BATCH_MAX) with n HMGETs sent
 * together: one round trip, whatever n is. rcs[i] is OK with out[i], or
 * NOTFOUND. HMGET only reads, so a broken connection is re-made and the
 * commands sent again.
 */
static int
hmget_sessions(struct redis_store *rs, size_t n,
    const unsigned char (*hash)[SGW_HASH_LEN], struct sgw_record *out, int *rcs)
{
	char cmd[HMGET_MAX * SGW_STORE_BATCH_MAX];
	struct flat fl; /* not zeroed: 18 KiB */
	size_t len = 0, i = 0;
	redisReply *r;
	int rc;

	fl.n = n;
	for (size_t k = 0; k < n; k++)
		len += hmget_session(rs, hash[k], cmd + len);
	if ((r = run(rs, 0, NULL, NULL, cmd, len, &fl, 1, &rc)) == NULL)
		return rc;
	if (r == &flat_reply) {
		for (; i < n; i++)
			rcs[i] = record_from(fl.v[i], fl.len[i], &out[i]) == 0
			    ? SGW_STORE_OK
			    : SGW_STORE_NOTFOUND;
		return SGW_STORE_OK;
	}
	for (;;) { /* hiredis read them */
		if (r->type != REDIS_REPLY_ARRAY ||
		    r->elements != SESSION_FIELDS) {
			rc = bad_reply(rs, r);
			/* The replies still due would answer what is
			 * sent next. */
			if (i + 1 < n)
				drop(rs);
			return rc;
		}
		rcs[i] = record_of(r->element, &out[i]) == 0
		    ? SGW_STORE_OK
		    : SGW_STORE_NOTFOUND;
		freeReplyObject(r);
		if (++i == n)
			return SGW_STORE_OK;
		if (redisGetReply(rs->c, (void **)&r) != REDIS_OK)
			return broken(rs);
	}
}

static int
r_get(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN],
    struct sgw_record *out)
{
	int rc, found;

	if ((rc = hmget_sessions((struct redis_store *)st, 1,
	         (const unsigned char(*)[SGW_HASH_LEN])hash, out, &found)) !=
	    SGW_STORE_OK)
		return rc;
	return found;
}

/* The sessions read ahead: n HMGETs, one round trip. */
static int
r_get_many(struct sgw_store *st, size_t n,
    const unsigned char (*hash)[SGW_HASH_LEN], struct sgw_record *out, int *rcs)
{
	if (n > SGW_STORE_BATCH_MAX)
		n = SGW_STORE_BATCH_MAX;
	return hmget_sessions((struct redis_store *)st, n, hash, out, rcs);
}

static int
r_refresh(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN],
    int64_t seen, int64_t deadline, int64_t now)
{
	struct redis_store *rs = (struct redis_store *)st;
	char skey[KEYLEN], hex[SGW_HASH_HEX], ls[24], dl[24], ttl[24];
	redisReply *r;
	int rc;

	session_key(rs, hash, skey, hex);
	snprintf(ls, sizeof(ls), "%lld", (long long)seen);
	snprintf(dl, sizeof(dl), "%lld", (long long)deadline);
	snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_from(deadline, now));
	if ((r = script(rs, &s_refresh, 5,
	         (const char *[]){"1", skey, ls, dl, ttl}, NULL, 1, &rc)) ==
	    NULL)
		return rc;
	rc = num(r) == 1 ? SGW_STORE_OK : SGW_STORE_NOTFOUND;
	freeReplyObject(r);
	return rc;
}

static int
r_del(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN])
{
	struct redis_store *rs = (struct redis_store *)st;
	char skey[KEYLEN], ipre[KEYLEN], hex[SGW_HASH_HEX];
	redisReply *r;
	int rc;

	session_key(rs, hash, skey, hex);
	key_of(rs, ipre, "u:", "");
	if ((r = script(rs, &s_del, 4, (const char *[]){"1", skey, ipre, hex},
	         NULL, 1, &rc)) == NULL)
		return rc;
	rc = num(r) > 0 ? SGW_STORE_OK : SGW_STORE_NOTFOUND;
	freeReplyObject(r);
	return rc;
}

static int
r_user_sessions(struct sgw_store *st, const char *user,
    struct sgw_stored **outp, size_t *np)
{
	struct redis_store *rs = (struct redis_store *)st;
	char ikey[KEYLEN], sprefix[KEYLEN];
	struct sgw_stored *v = NULL;
	redisReply *r;
	size_t n = 0;
	int rc;

	*outp = NULL;
	*np = 0;
	key_of(rs, ikey, "u:", user);
	key_of(rs, sprefix, "s:", "");
	if ((r = script(rs, &s_user, 3, (const char *[]){"1", ikey, sprefix},
	         NULL, 1, &rc)) == NULL)
		return rc;
	if (r->type != REDIS_REPLY_ARRAY || r->elements % 9 != 1)
		return bad_reply(rs, r);
	/* The last element counts the members whose session was gone. A
	 * session ended on purpose leaves its index (s_del), so these are
	 * the ones Redis expired by their TTL: sgw_sessions_expired_total
	 * counts them when the user's index is next read. */
	st->expired += (uint64_t)num(r->element[r->elements - 1]);
	if (r->elements > 1 &&
	    (v = calloc(r->elements / 9, sizeof(*v))) == NULL) {
		freeReplyObject(r);
		seterr(rs, "out of memory", NULL);
		return SGW_STORE_UNAVAILABLE;
	}
	for (size_t i = 0; i + 9 <= r->elements; i += 9) {
		redisReply **e = r->element + i;

		if (e[0]->type != REDIS_REPLY_STRING ||
		    sgw_token_hash_from_hex(e[0]->str, e[0]->len, v[n].hash) ==
		        -1 ||
		    record_of(e + 1, &v[n].rec) == -1)
			continue;
		n++;
	}
	freeReplyObject(r);
	if (n == 0) {
		free(v);
		v = NULL;
	}
	*outp = v;
	*np = n;
	return SGW_STORE_OK;
}

static int
data_field(char *out, size_t outsz, const char *key)
{
	return snprintf(out, outsz, "d:%s", key) >= (int)outsz ? -1 : 0;
}

static int
r_data_get(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN],
    const char *key, char **val, size_t *len)
{
	struct redis_store *rs = (struct redis_store *)st;
	char skey[KEYLEN], hex[SGW_HASH_HEX], field[SGW_DATA_KEY_MAXLEN + 8];
	redisReply *r;
	int rc;

	*val = NULL;
	*len = 0;
	if (data_field(field, sizeof(field), key) == -1)
		return SGW_STORE_NOTFOUND;
	session_key(rs, hash, skey, hex);
	if ((r = script(rs, &s_data_get, 3, (const char *[]){"1", skey, field},
	         NULL, 1, &rc)) == NULL)
		return rc;
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1)
		return bad_reply(rs, r);
	rc = SGW_STORE_NOTFOUND;
	if (num(r->element[0]) == 2 && r->elements == 2 &&
	    r->element[1]->type == REDIS_REPLY_STRING) {
		if ((*val = malloc(r->element[1]->len + 1)) == NULL) {
			freeReplyObject(r);
			seterr(rs, "out of memory", NULL);
			return SGW_STORE_UNAVAILABLE;
		}
		memcpy(*val, r->element[1]->str, r->element[1]->len);
		(*val)[r->element[1]->len] = '\0';
		*len = r->element[1]->len;
		rc = SGW_STORE_OK;
	}
	freeReplyObject(r);
	return rc;
}

static int
r_data_put(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN],
    const char *key, const void *val, size_t len, size_t max_keys)
{
	struct redis_store *rs = (struct redis_store *)st;
	char skey[KEYLEN], hex[SGW_HASH_HEX], field[SGW_DATA_KEY_MAXLEN + 8];
	char maxk[24];
	size_t lens[5];
	redisReply *r;
	int64_t v;
	int rc;

	if (data_field(field, sizeof(field), key) == -1)
		return SGW_STORE_NOTFOUND;
	session_key(rs, hash, skey, hex);
	snprintf(maxk, sizeof(maxk), "%zu", max_keys);
	lens[0] = 1;
	lens[1] = strlen(skey);
	lens[2] = strlen(field);
	lens[3] = len;
	lens[4] = strlen(maxk);
	if ((r = script(rs, &s_data_put, 5,
	         (const char *[]){
	             "1", skey, field, val != NULL ? val : "", maxk},
	         lens, 1, &rc)) == NULL)
		return rc;
	v = num(r);
	freeReplyObject(r);
	return v == 1 ? SGW_STORE_OK
	    : v == 2  ? SGW_STORE_FULL
	              : SGW_STORE_NOTFOUND;
}

static int
r_data_del(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN],
    const char *key)
{
	struct redis_store *rs = (struct redis_store *)st;
	char skey[KEYLEN], hex[SGW_HASH_HEX], field[SGW_DATA_KEY_MAXLEN + 8];
	redisReply *r;
	int64_t v;
	int rc;

	if (data_field(field, sizeof(field), key) == -1)
		return SGW_STORE_NOTFOUND;
	session_key(rs, hash, skey, hex);
	if ((r = script(rs, &s_data_del, 3, (const char *[]){"1", skey, field},
	         NULL, 1, &rc)) == NULL)
		return rc;
	v = num(r);
	freeReplyObject(r);
	return v == 2 ? SGW_STORE_OK : SGW_STORE_NOTFOUND;
}

static int
r_counter_add(struct sgw_store *st, const char *key, int64_t delta,
    int64_t ttl_ms, int64_t now, int64_t *value)
{
	struct redis_store *rs = (struct redis_store *)st;
	char k[KEYLEN], d[24], ttl[24];
	redisReply *r;
	int rc;

	(void)now;
	*value = 0;
	key_of(rs, k, "", key);
	snprintf(d, sizeof(d), "%lld", (long long)delta);
	snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_ms);
	/* Not idempotent: never sent twice. */
	if ((r = script(rs, &s_add, 4, (const char *[]){"1", k, d, ttl}, NULL,
	         0, &rc)) == NULL)
		return rc;
	*value = num(r);
	freeReplyObject(r);
	return SGW_STORE_OK;
}

static int
r_counter_get(struct sgw_store *st, const char *key, int64_t now,
    int64_t *value, int64_t *ttl_ms)
{
	struct redis_store *rs = (struct redis_store *)st;
	char k[KEYLEN];
	redisReply *r;
	int rc;

	(void)now;
	*value = *ttl_ms = 0;
	key_of(rs, k, "", key);
	if ((r = script(rs, &s_counter, 2, (const char *[]){"1", k}, NULL, 1,
	         &rc)) == NULL)
		return rc;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2)
		return bad_reply(rs, r);
	if (r->element[0]->type == REDIS_REPLY_STRING) {
		*value = num(r->element[0]);
		*ttl_ms = num(r->element[1]) > 0 ? num(r->element[1]) : 0;
	}
	freeReplyObject(r);
	return SGW_STORE_OK;
}

static int
r_counter_set(struct sgw_store *st, const char *key, int64_t value,
    int64_t ttl_ms, int64_t now)
{
	struct redis_store *rs = (struct redis_store *)st;
	char k[KEYLEN], v[24], ttl[24];
	redisReply *r;
	int rc;

	(void)now;
	key_of(rs, k, "", key);
	snprintf(v, sizeof(v), "%lld", (long long)value);
	snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_ms);
	if ((r = command(rs, 5, (const char *[]){"SET", k, v, "PX", ttl}, NULL,
	         1, &rc)) == NULL)
		return rc;
	rc = r->type == REDIS_REPLY_ERROR ? bad_reply(rs, r) : SGW_STORE_OK;
	if (rc == SGW_STORE_OK)
		freeReplyObject(r);
	return rc;
}

static int
r_counter_del(struct sgw_store *st, const char *key)
{
	struct redis_store *rs = (struct redis_store *)st;
	char k[KEYLEN];
	redisReply *r;
	int rc;

	key_of(rs, k, "", key);
	if ((r = command(rs, 2, (const char *[]){"DEL", k}, NULL, 1, &rc)) ==
	    NULL)
		return rc;
	/* A refused DEL left the counter: a success must not look cleared. */
	if (r->type != REDIS_REPLY_INTEGER)
		return bad_reply(rs, r);
	freeReplyObject(r);
	return SGW_STORE_OK;
}

static int
r_ping(struct sgw_store *st)
{
	struct redis_store *rs = (struct redis_store *)st;
	redisReply *r;
	int rc;

	if ((r = command(rs, 1, (const char *[]){"PING"}, NULL, 1, &rc)) ==
	    NULL)
		return rc;
	if (r->type == REDIS_REPLY_ERROR) {
		seterr(rs, "PING", r->str);
		freeReplyObject(r);
		return SGW_STORE_UNAVAILABLE;
	}
	freeReplyObject(r);
	return SGW_STORE_OK;
}

/* key_prefix + "s:*" as a SCAN pattern: the prefix's own glob characters
 * are escaped so that they match only themselves. */
static void
scan_pattern(const char *prefix, char *out, size_t outsz)
{
	size_t o = 0;

	for (const char *p = prefix; *p != '\0' && o + 4 < outsz; p++) {
		if (strchr("*?[]\\", *p) != NULL)
			out[o++] = '\\';
		out[o++] = *p;
	}
	snprintf(out + o, outsz - o, "s:*");
}

/* Sessions are the s: keys; Redis forgets them at their deadline, so
 * every one it still holds is live. */
static int
r_active(struct sgw_store *st, int64_t now, uint64_t *n)
{
	struct redis_store *rs = (struct redis_store *)st;
	char pattern[2 * PREFIX_MAX + 8], cursor[32] = "0";
	int rc;

	(void)now;
	*n = 0;
	scan_pattern(rs->conf->key_prefix, pattern, sizeof(pattern));
	do {
		redisReply *r = command(rs, 6,
		    (const char *[]){
		        "SCAN", cursor, "MATCH", pattern, "COUNT", "1000"},
		    NULL, 1, &rc);

		if (r == NULL)
			return rc;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[1]->type != REDIS_REPLY_ARRAY)
			return bad_reply(rs, r);
		copy_str(cursor, sizeof(cursor), r->element[0]);
		*n += r->element[1]->elements;
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	return SGW_STORE_OK;
}

static void
r_close(struct sgw_store *st)
{
	struct redis_store *rs = (struct redis_store *)st;

	if (rs == NULL)
		return;
	drop(rs);
	free(rs);
}

static const struct sgw_store_ops redis_ops = {
    .put = r_put,
    .get = r_get,
    .get_many = r_get_many,
    .refresh = r_refresh,
    .del = r_del,
    .user_sessions = r_user_sessions,
    .data_get = r_data_get,
    .data_put = r_data_put,
    .data_del = r_data_del,
    .counter_add = r_counter_add,
    .counter_get = r_counter_get,
    .counter_set = r_counter_set,
    .counter_del = r_counter_del,
    .ping = r_ping,
    .active = r_active,
    .sweep = NULL,
    .close = r_close,
};

static struct sgw_store *
redis_open(const struct sgw_conf *conf, const void *opts,
    enum sgw_store_mode mode, char *err, size_t errlen)
{
	struct redis_store *rs = calloc(1, sizeof(*rs));

	(void)conf;
	if (rs == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	rs->base.ops = &redis_ops;
	rs->conf = opts;
	/* A worker connects as it starts, so that its first request (the
	 * first after a reload, say) does not pay for it. Failing to is not
	 * an error: the worker starts while Redis is down, answers 503 and
	 * connects again on the next request. sgw_store_check pings to say
	 * whether Redis can be reached. */
	if (mode == SGW_STORE_SERVE)
		(void)ensure(rs);
	return &rs->base;
}

static int
redis_init(const struct sgw_conf *conf, const void *opts, char *report,
    size_t reportlen, char *err, size_t errlen)
{
	struct sgw_store *st =
	    redis_open(conf, opts, SGW_STORE_CHECK, err, errlen);

	if (st == NULL)
		return -1;
	if (r_ping(st) != SGW_STORE_OK) {
		snprintf(err, errlen, "%s", st->errstr);
		r_close(st);
		return -1;
	}
	r_close(st);
	snprintf(report, reportlen,
	    "nothing to do: redis needs no set-up (sessions expire by their "
	    "TTL)");
	return 0;
}

static void
redis_wipe(void *opts)
{
	struct sgw_redis_conf *c = opts;

	if (c->password != NULL)
		explicit_bzero(c->password, strlen(c->password));
}

#define DURATION_MAX ((int64_t)3650 * 24 * 3600 * 1000)
#define R(field) offsetof(struct sgw_redis_conf, field)

/* clang-format off */
static const struct sgw_conf_key redis_keys[] = {
	/* section  name               type             flags                          min  max           default           field                parsed or count */
	{ "redis", "address",          SGW_T_ADDR,      SGW_K_NAMES,                   0,   0,            "127.0.0.1:6379", R(address),          R(addr) },
	{ "redis", "sentinels",        SGW_T_ADDRLIST,  SGW_K_EMPTY | SGW_K_NAMES,     0,   0,            "",               R(sentinels),        R(nsentinels) },
	{ "redis", "sentinel_master",  SGW_T_STR,       0,                             0,   256,          "mymaster",       R(sentinel_master),  0 },
	{ "redis", "username",         SGW_T_STR,       SGW_K_EMPTY,                   0,   256,          "",               R(username),         0 },
	{ "redis", "password",         SGW_T_STR,       SGW_K_EMPTY | SGW_K_SECRET,    0,   1024,         "",               R(password),         0 },
	{ "redis", "database",         SGW_T_INT,       0,                             0,   1000000,      "0",              R(database),         0 },
	{ "redis", "key_prefix",       SGW_T_STR,       0,                             0,   PREFIX_MAX,   "sgw:",           R(key_prefix),       0 },
	{ "redis", "connect_timeout",  SGW_T_DURATION,  0,                             1,   DURATION_MAX, "200ms",          R(connect_timeout_ms), 0 },
	{ "redis", "command_timeout",  SGW_T_DURATION,  0,                             1,   DURATION_MAX, "200ms",          R(command_timeout_ms), 0 },
};
/* clang-format on */

const struct sgw_store_backend sgw_store_redis = {
    .name = "redis",
    .keys = redis_keys,
    .nkeys = sizeof(redis_keys) / sizeof(redis_keys[0]),
    .conf_size = sizeof(struct sgw_redis_conf),
    .validate = NULL,
    .open = redis_open,
    .init = redis_init,
    .wipe = redis_wipe,
    .expires_by_itself = 1,
};
