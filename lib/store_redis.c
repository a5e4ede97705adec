/*
 * store_redis: the session store over Redis (hiredis 0.14).
 *
 * Keys (all under key_prefix):
 *   s:HASH      a session: a Redis hash whose TTL is the session's life.
 *               Fields u (user), r (roles), c (client), ct (created),
 *               ls (last refresh), ab (absolute end), rm (remember-me),
 *               and d:NAME for each application data key.
 *   u:USER      the user's index: a sorted set of HASH scored by creation
 *               time. Members whose session has gone are pruned whenever
 *               the index is read or added to, so it never outgrows the
 *               user's live sessions.
 *   f:u:USER, f:c:ADDR   failed-login counters (TTL = failure_window)
 *   l:u:USER, l:c:ADDR   lockouts (TTL = lockout)
 *
 * HASH is the hex SHA-256 of the token: Redis never sees a token.
 *
 * Every multi-step change is a Lua script, so it is atomic and costs one
 * round trip; scripts take the time from Redis (TIME), so every gateway
 * host agrees on "now" whatever its own clock says. Scripts are sent as
 * EVALSHA with the SHA-1 computed here, falling back to EVAL on NOSCRIPT
 * (an empty script cache after a restart or failover).
 */
#include "store_redis.h"

#include <errno.h>
#include <hiredis.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define MAX_ARGS 16

struct script {
	const char *src;
	char sha[41];
};

struct redis_store {
	struct sgw_store base;
	const struct sgw_conf *conf;
	redisContext *c; /* NULL until the first command, or after an error */
};

#define LUA_NOW                                                                \
	"local t = redis.call('TIME') "                                        \
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "

/* KEYS: session, index. ARGV: user roles client rm idle life max hash sprefix */
static struct script s_create = {LUA_NOW
    "local idle = tonumber(ARGV[5]) local life = tonumber(ARGV[6]) "
    "local maxn = tonumber(ARGV[7]) local ab = now + life "
    "redis.call('DEL', KEYS[1]) "
    "redis.call('HSET', KEYS[1], 'u', ARGV[1], 'r', ARGV[2], 'c', ARGV[3], "
    "  'rm', ARGV[4], 'ct', now, 'ls', now, 'ab', ab) "
    "redis.call('PEXPIRE', KEYS[1], math.min(idle, life)) "
    "for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do "
    "  if redis.call('EXISTS', ARGV[9] .. m) == 0 then "
    "    redis.call('ZREM', KEYS[2], m) end end "
    "redis.call('ZADD', KEYS[2], now, ARGV[8]) "
    "local ended = 0 "
    "if maxn > 0 then "
    /* Oldest first, but never the session being made: one created in
     * the same millisecond may sort before it. */
    "  local excess = redis.call('ZCARD', KEYS[2]) - maxn "
    "  for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do "
    "    if excess <= 0 then break end "
    "    if m ~= ARGV[8] then "
    "      redis.call('DEL', ARGV[9] .. m) redis.call('ZREM', KEYS[2], m) "
    "      ended = ended + 1 excess = excess - 1 end end end "
    "if redis.call('PTTL', KEYS[2]) < life then "
    "  redis.call('PEXPIRE', KEYS[2], life) end "
    "return {tostring(now), tostring(ab), tostring(math.min(idle, life)), ended}",
    ""};

/* KEYS: session. ARGV: idle min_step. Returns nil, or
 * {u, r, c, ct, ls, ab, rm, now, pttl}. */
static struct script s_touch = {
    "local v = redis.call('HMGET', KEYS[1], 'u', 'r', 'c', 'ct', 'ls', 'ab', 'rm') "
    "if not v[1] then return false end " LUA_NOW
    "local ab = tonumber(v[6]) local ls = tonumber(v[5]) "
    "if now >= ab then redis.call('DEL', KEYS[1]) return false end "
    "if now - ls >= tonumber(ARGV[2]) then "
    "  redis.call('HSET', KEYS[1], 'ls', now) "
    "  redis.call('PEXPIRE', KEYS[1], math.min(tonumber(ARGV[1]), ab - now)) "
    "  ls = now end "
    "return {v[1], v[2], v[3], v[4], tostring(ls), v[6], v[7], tostring(now), "
    "  tostring(redis.call('PTTL', KEYS[1]))}",
    ""};

/* KEYS: session. ARGV: iprefix hash. Returns 1 when a session ended. */
static struct script s_destroy = {
    "local u = redis.call('HGET', KEYS[1], 'u') "
    "local n = redis.call('DEL', KEYS[1]) "
    "if u then redis.call('ZREM', ARGV[1] .. u, ARGV[2]) end "
    "return n",
    ""};

/* KEYS: index. ARGV: sprefix. Returns {hash, ct, ls, ab, c, rm, idle_end}...
 * for the live sessions, oldest first, and prunes the dead. idle_end is
 * Redis's now + PTTL: the PTTL alone counts from now, not from ls. */
static struct script s_list = {LUA_NOW
    "local out = {} "
    "for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do "
    "  local k = ARGV[1] .. m "
    "  local v = redis.call('HMGET', k, 'ct', 'ls', 'ab', 'c', 'rm') "
    "  if v[1] then "
    "    table.insert(out, m) table.insert(out, v[1]) table.insert(out, v[2]) "
    "    table.insert(out, v[3]) table.insert(out, v[4] or '') "
    "    table.insert(out, v[5] or '0') "
    "    table.insert(out, tostring(now + redis.call('PTTL', k))) "
    "  else redis.call('ZREM', KEYS[1], m) end end "
    "return out",
    ""};

/* KEYS: index. The members (hex hashes) of a user's index. */
static struct script s_members = {"return redis.call('ZRANGE', KEYS[1], 0, -1)", ""};

/* KEYS: fail-user. A successful login clears the user's counter. */
static struct script s_clear = {"return redis.call('DEL', KEYS[1])", ""};

/* KEYS: index. ARGV: sprefix. Ends every session of the user. */
static struct script s_destroy_all = {
    "local n = 0 "
    "for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do "
    "  n = n + redis.call('DEL', ARGV[1] .. m) end "
    "redis.call('DEL', KEYS[1]) return n",
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

/* KEYS: lock-user lock-client. Returns the longer remaining lockout (ms). */
static struct script s_locked = {
    "local a = redis.call('PTTL', KEYS[1]) local b = redis.call('PTTL', KEYS[2]) "
    "return math.max(a, b, 0)",
    ""};

/* KEYS: fail-user fail-client lock-user lock-client.
 * ARGV: max_user max_client window lockout. Returns the lockout now in
 * force (ms), 0 when none. An empty client key skips the client. */
static struct script s_failed = {
    "local r = 0 "
    "local function count(fk, lk, max) "
    "  local n = redis.call('INCR', fk) "
    "  if n == 1 then redis.call('PEXPIRE', fk, ARGV[3]) end "
    "  if n >= max then "
    "    redis.call('SET', lk, '1', 'PX', ARGV[4]) redis.call('DEL', fk) "
    "    r = tonumber(ARGV[4]) end end "
    "count(KEYS[1], KEYS[3], tonumber(ARGV[1])) "
    "if ARGV[5] == '1' then count(KEYS[2], KEYS[4], tonumber(ARGV[2])) end "
    "return r",
    ""};

static void
seterr(struct redis_store *rs, const char *what, const char *detail)
{
	snprintf(rs->base.errstr, sizeof(rs->base.errstr), "redis: %s%s%s", what,
	    detail != NULL ? ": " : "", detail != NULL ? detail : "");
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
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

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
	const struct sgw_conf *conf = rs->conf;

	for (size_t i = 0; i < conf->nsentinels; i++) {
		redisContext *sc = dial(&conf->sentinels[i], conf->connect_timeout_ms);
		redisReply *r = NULL;
		int ok = 0;

		if (sc == NULL)
			continue;
		if (sc->err == 0 &&
		    redisSetTimeout(sc, tv_ms(conf->connect_timeout_ms)) == REDIS_OK)
			r = redisCommand(sc, "SENTINEL get-master-addr-by-name %s",
			    conf->sentinel_master);
		if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
		    r->element[0]->type == REDIS_REPLY_STRING &&
		    r->element[1]->type == REDIS_REPLY_STRING) {
			long port = strtol(r->element[1]->str, NULL, 10);

			memset(out, 0, sizeof(*out));
			if (port > 0 && port < 65536 &&
			    r->element[0]->len < sizeof(out->host)) {
				memcpy(out->host, r->element[0]->str, r->element[0]->len);
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
	const struct sgw_conf *conf = rs->conf;
	struct sgw_addr master;
	const struct sgw_addr *a = &conf->redis_addr;
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

		seterr(rs, sgw_addr_str(a, where, sizeof(where)), rs->c->errstr);
		goto fail;
	}
	if (redisSetTimeout(rs->c, tv_ms(conf->command_timeout_ms)) != REDIS_OK) {
		seterr(rs, "cannot set timeout", rs->c->errstr);
		goto fail;
	}
	if (!a->is_unix)
		(void)redisEnableKeepAlive(rs->c);
	if (conf->redis_password[0] != '\0') {
		const char *argv[3] = {"AUTH", conf->redis_username,
		    conf->redis_password};

		if (conf->redis_username[0] != '\0' ?
		        setup_cmd(rs, 3, argv) == -1 :
		        setup_cmd(rs, 2, (const char *[]){"AUTH",
		            conf->redis_password}) == -1)
			goto fail;
	}
	if (conf->redis_database != 0) {
		snprintf(num, sizeof(num), "%d", conf->redis_database);
		if (setup_cmd(rs, 2, (const char *[]){"SELECT", num}) == -1)
			goto fail;
	}
	if (conf->nsentinels > 0) {
		/* The sentinels may lag behind a failover: only a server that
		 * says it is the master will do. */
		redisReply *r = redisCommand(rs->c, "ROLE");
		int master_ok = r != NULL && r->type == REDIS_REPLY_ARRAY &&
		    r->elements > 0 && r->element[0]->type == REDIS_REPLY_STRING &&
		    strcmp(r->element[0]->str, "master") == 0;

		if (r != NULL)
			freeReplyObject(r);
		if (!master_ok) {
			seterr(rs, "sentinel named a server that is not master", NULL);
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
	return r->type == REDIS_REPLY_ERROR && strncmp(r->str, "READONLY", 8) == 0;
}

/*
 * Runs a script with nkeys keys then args. Returns the reply (caller frees
 * with freeReplyObject) or NULL with errstr set. A broken connection is
 * re-made and the command tried once more, so the first request after a
 * Redis restart does not fail; a timeout is not retried (it would only
 * double the wait).
 */
static redisReply *
eval(struct redis_store *rs, struct script *s, int argc, const char **argv,
    const size_t *lens)
{
	const char *av[MAX_ARGS + 3];
	size_t al[MAX_ARGS + 3];
	redisReply *r = NULL;

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
	for (int i = 0; i < argc; i++) {
		av[2 + i] = argv[i];
		al[2 + i] = lens != NULL ? lens[i] : strlen(argv[i]);
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		int had_conn = rs->c != NULL;

		if (ensure(rs) == -1)
			return NULL;
		r = redisCommandArgv(rs->c, argc + 2, av, al);
		if (r != NULL && r->type == REDIS_REPLY_ERROR &&
		    strncmp(r->str, "NOSCRIPT", 8) == 0) {
			freeReplyObject(r);
			av[0] = "EVAL";
			al[0] = 4;
			av[1] = s->src;
			al[1] = strlen(s->src);
			r = redisCommandArgv(rs->c, argc + 2, av, al);
			av[0] = "EVALSHA";
			al[0] = 7;
			av[1] = s->sha;
			al[1] = 40;
		}
		if (r != NULL && is_readonly(r)) {
			/* Failover: find the master again and retry. */
			freeReplyObject(r);
			r = NULL;
			seterr(rs, "server is read-only (failover?)", NULL);
			drop(rs);
			continue;
		}
		if (r != NULL) {
			if (r->type == REDIS_REPLY_ERROR) {
				seterr(rs, "script error", r->str);
				freeReplyObject(r);
				return NULL;
			}
			return r;
		}
		{
			int timed_out = rs->c->err == REDIS_ERR_IO &&
			    (errno == EAGAIN || errno == EWOULDBLOCK);

			if (timed_out)
				snprintf(rs->base.errstr, sizeof(rs->base.errstr),
				    "redis: no answer within command_timeout (%lld ms)",
				    (long long)rs->conf->command_timeout_ms);
			else
				seterr(rs, "command failed", rs->c->errstr);
			drop(rs);
			if (!had_conn || timed_out)
				return NULL;
		}
	}
	return NULL;
}

static void
key_of(struct redis_store *rs, char *out, size_t outsz, const char *kind,
    const char *rest)
{
	snprintf(out, outsz, "%s%s%s", rs->conf->key_prefix, kind, rest);
}

static void
session_key(struct redis_store *rs, const unsigned char hash[SGW_HASH_LEN],
    char *out, size_t outsz, char hex[SGW_HASH_HEX])
{
	sgw_token_hash_hex(hash, hex);
	key_of(rs, out, outsz, "s:", hex);
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
	seterr(rs, "unexpected reply", NULL);
	if (r != NULL)
		freeReplyObject(r);
	return SGW_STORE_ERROR;
}

#define KEYLEN (SGW_USER_MAXLEN * 3 + 256)

static int
r_create(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN],
    const struct sgw_session_params *p, struct sgw_session *out)
{
	struct redis_store *rs = (struct redis_store *)st;
	char skey[KEYLEN], ikey[KEYLEN], hex[SGW_HASH_HEX], sprefix[KEYLEN];
	char idle[24], life[24], maxn[24];
	redisReply *r;

	session_key(rs, hash, skey, sizeof(skey), hex);
	key_of(rs, ikey, sizeof(ikey), "u:", p->user);
	key_of(rs, sprefix, sizeof(sprefix), "s:", "");
	snprintf(idle, sizeof(idle), "%lld", (long long)p->idle_ms);
	snprintf(life, sizeof(life), "%lld", (long long)p->lifetime_ms);
	snprintf(maxn, sizeof(maxn), "%d", p->max_per_user);
	r = eval(rs, &s_create, 12,
	    (const char *[]){"2", skey, ikey, p->user, p->roles, p->client,
	        p->remember_me ? "1" : "0", idle, life, maxn, hex, sprefix},
	    NULL);
	if (r == NULL)
		return SGW_STORE_ERROR;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 4)
		return bad_reply(rs, r);
	memset(out, 0, sizeof(*out));
	snprintf(out->user, sizeof(out->user), "%s", p->user);
	snprintf(out->roles, sizeof(out->roles), "%s", p->roles);
	snprintf(out->client, sizeof(out->client), "%s", p->client);
	sgw_token_public_id(hash, out->id);
	out->created_ms = out->last_seen_ms = num(r->element[0]);
	out->expires_ms = num(r->element[1]);
	out->idle_expires_ms = out->created_ms + num(r->element[2]);
	out->remember_me = p->remember_me;
	freeReplyObject(r);
	return SGW_STORE_OK;
}

static int
r_touch(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN],
    int64_t idle_ms, int64_t min_step_ms, struct sgw_session *out)
{
	struct redis_store *rs = (struct redis_store *)st;
	char skey[KEYLEN], hex[SGW_HASH_HEX], idle[24], step[24];
	redisReply *r;

	session_key(rs, hash, skey, sizeof(skey), hex);
	snprintf(idle, sizeof(idle), "%lld", (long long)idle_ms);
	snprintf(step, sizeof(step), "%lld", (long long)min_step_ms);
	r = eval(rs, &s_touch, 4, (const char *[]){"1", skey, idle, step}, NULL);
	if (r == NULL)
		return SGW_STORE_ERROR;
	if (r->type == REDIS_REPLY_NIL) {
		freeReplyObject(r);
		return SGW_STORE_NOTFOUND;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 9)
		return bad_reply(rs, r);
	memset(out, 0, sizeof(*out));
	copy_str(out->user, sizeof(out->user), r->element[0]);
	copy_str(out->roles, sizeof(out->roles), r->element[1]);
	copy_str(out->client, sizeof(out->client), r->element[2]);
	out->created_ms = num(r->element[3]);
	out->last_seen_ms = num(r->element[4]);
	out->expires_ms = num(r->element[5]);
	out->remember_me = num(r->element[6]) == 1;
	out->idle_expires_ms = num(r->element[7]) + num(r->element[8]);
	sgw_token_public_id(hash, out->id);
	freeReplyObject(r);
	return SGW_STORE_OK;
}

static int
r_destroy(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN])
{
	struct redis_store *rs = (struct redis_store *)st;
	char skey[KEYLEN], ipre[KEYLEN], hex[SGW_HASH_HEX];
	redisReply *r;

	session_key(rs, hash, skey, sizeof(skey), hex);
	key_of(rs, ipre, sizeof(ipre), "u:", "");
	r = eval(rs, &s_destroy, 4, (const char *[]){"1", skey, ipre, hex}, NULL);
	if (r == NULL)
		return SGW_STORE_ERROR;
	freeReplyObject(r);
	return SGW_STORE_OK;
}

static int
r_list(struct sgw_store *st, const char *user, struct sgw_session **outp,
    size_t *np)
{
	struct redis_store *rs = (struct redis_store *)st;
	char ikey[KEYLEN], sprefix[KEYLEN];
	struct sgw_session *v = NULL;
	redisReply *r;
	size_t n = 0;

	*outp = NULL;
	*np = 0;
	key_of(rs, ikey, sizeof(ikey), "u:", user);
	key_of(rs, sprefix, sizeof(sprefix), "s:", "");
	r = eval(rs, &s_list, 3, (const char *[]){"1", ikey, sprefix}, NULL);
	if (r == NULL)
		return SGW_STORE_ERROR;
	if (r->type != REDIS_REPLY_ARRAY || r->elements % 7 != 0)
		return bad_reply(rs, r);
	if (r->elements > 0 && (v = calloc(r->elements / 7, sizeof(*v))) == NULL) {
		freeReplyObject(r);
		seterr(rs, "out of memory", NULL);
		return SGW_STORE_ERROR;
	}
	for (size_t i = 0; i + 7 <= r->elements; i += 7) {
		redisReply **e = r->element + i;
		struct sgw_session *s = &v[n];
		unsigned char hash[SGW_HASH_LEN];

		if (e[0]->type != REDIS_REPLY_STRING ||
		    sgw_token_hash_from_hex(e[0]->str, e[0]->len, hash) == -1)
			continue;
		sgw_token_public_id(hash, s->id);
		snprintf(s->user, sizeof(s->user), "%s", user);
		s->created_ms = num(e[1]);
		s->last_seen_ms = num(e[2]);
		s->expires_ms = num(e[3]);
		copy_str(s->client, sizeof(s->client), e[4]);
		s->remember_me = num(e[5]) == 1;
		s->idle_expires_ms = num(e[6]);
		if (s->idle_expires_ms > s->expires_ms)
			s->idle_expires_ms = s->expires_ms;
		n++;
	}
	freeReplyObject(r);
	*outp = v;
	*np = n;
	return SGW_STORE_OK;
}

static int
r_destroy_user(struct sgw_store *st, const char *user, const char *id,
    size_t *count)
{
	struct redis_store *rs = (struct redis_store *)st;
	char ikey[KEYLEN], sprefix[KEYLEN];
	redisReply *r;
	int rc = SGW_STORE_NOTFOUND;

	*count = 0;
	key_of(rs, ikey, sizeof(ikey), "u:", user);
	key_of(rs, sprefix, sizeof(sprefix), "s:", "");
	if (id == NULL) {
		r = eval(rs, &s_destroy_all, 3, (const char *[]){"1", ikey, sprefix},
		    NULL);
		if (r == NULL)
			return SGW_STORE_ERROR;
		*count = (size_t)num(r);
		freeReplyObject(r);
		return SGW_STORE_OK;
	}
	/* One session by its public id. The id does not lead back to the
	 * hash, so look for it among the user's own index: that is also what
	 * keeps anyone from ending somebody else's session. */
	r = eval(rs, &s_members, 2, (const char *[]){"1", ikey}, NULL);
	if (r == NULL)
		return SGW_STORE_ERROR;
	if (r->type != REDIS_REPLY_ARRAY)
		return bad_reply(rs, r);
	for (size_t i = 0; i < r->elements; i++) {
		unsigned char hash[SGW_HASH_LEN];
		char pid[SGW_PUBLIC_ID_HEX];
		char skey[KEYLEN], ipre[KEYLEN], hex[SGW_HASH_HEX];
		redisReply *d;

		if (r->element[i]->type != REDIS_REPLY_STRING ||
		    sgw_token_hash_from_hex(r->element[i]->str,
		        r->element[i]->len, hash) == -1)
			continue;
		sgw_token_public_id(hash, pid);
		if (strcmp(pid, id) != 0)
			continue;
		session_key(rs, hash, skey, sizeof(skey), hex);
		key_of(rs, ipre, sizeof(ipre), "u:", "");
		d = eval(rs, &s_destroy, 4, (const char *[]){"1", skey, ipre, hex},
		    NULL);
		if (d == NULL) {
			rc = SGW_STORE_ERROR;
			break;
		}
		/* An index entry whose session already expired is no
		 * session to end: NOTFOUND, as for any other id. */
		if (num(d) > 0) {
			*count = 1;
			rc = SGW_STORE_OK;
		}
		freeReplyObject(d);
		break;
	}
	freeReplyObject(r);
	return rc;
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
	session_key(rs, hash, skey, sizeof(skey), hex);
	r = eval(rs, &s_data_get, 3, (const char *[]){"1", skey, field}, NULL);
	if (r == NULL)
		return SGW_STORE_ERROR;
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1)
		return bad_reply(rs, r);
	rc = SGW_STORE_NOTFOUND;
	if (num(r->element[0]) == 2 && r->elements == 2 &&
	    r->element[1]->type == REDIS_REPLY_STRING) {
		if ((*val = malloc(r->element[1]->len + 1)) == NULL) {
			freeReplyObject(r);
			seterr(rs, "out of memory", NULL);
			return SGW_STORE_ERROR;
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
    const char *key, const char *val, size_t len)
{
	struct redis_store *rs = (struct redis_store *)st;
	char skey[KEYLEN], hex[SGW_HASH_HEX], field[SGW_DATA_KEY_MAXLEN + 8];
	char maxk[16];
	size_t lens[5];
	redisReply *r;
	int64_t v;

	if (data_field(field, sizeof(field), key) == -1)
		return SGW_STORE_NOTFOUND;
	session_key(rs, hash, skey, sizeof(skey), hex);
	snprintf(maxk, sizeof(maxk), "%d", SGW_DATA_MAX_KEYS);
	lens[0] = 1;
	lens[1] = strlen(skey);
	lens[2] = strlen(field);
	lens[3] = len;
	lens[4] = strlen(maxk);
	r = eval(rs, &s_data_put, 5,
	    (const char *[]){"1", skey, field, val != NULL ? val : "", maxk}, lens);
	if (r == NULL)
		return SGW_STORE_ERROR;
	v = num(r);
	freeReplyObject(r);
	return v == 1 ? SGW_STORE_OK : v == 2 ? SGW_STORE_FULL : SGW_STORE_NOTFOUND;
}

static int
r_data_del(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN],
    const char *key)
{
	struct redis_store *rs = (struct redis_store *)st;
	char skey[KEYLEN], hex[SGW_HASH_HEX], field[SGW_DATA_KEY_MAXLEN + 8];
	redisReply *r;
	int64_t v;

	if (data_field(field, sizeof(field), key) == -1)
		return SGW_STORE_NOTFOUND;
	session_key(rs, hash, skey, sizeof(skey), hex);
	r = eval(rs, &s_data_del, 3, (const char *[]){"1", skey, field}, NULL);
	if (r == NULL)
		return SGW_STORE_ERROR;
	v = num(r);
	freeReplyObject(r);
	return v == 2 ? SGW_STORE_OK : SGW_STORE_NOTFOUND;
}

static int
r_login_locked(struct sgw_store *st, const char *user, const char *client,
    int64_t *retry_ms)
{
	struct redis_store *rs = (struct redis_store *)st;
	char lu[KEYLEN], lc[KEYLEN];
	redisReply *r;

	*retry_ms = 0;
	key_of(rs, lu, sizeof(lu), "l:u:", user);
	key_of(rs, lc, sizeof(lc), "l:c:", client);
	r = eval(rs, &s_locked, 3, (const char *[]){"2", lu, lc}, NULL);
	if (r == NULL)
		return SGW_STORE_ERROR;
	*retry_ms = num(r);
	freeReplyObject(r);
	return SGW_STORE_OK;
}

static int
r_login_failed(struct sgw_store *st, const char *user, const char *client,
    const struct sgw_limits *l, int64_t *retry_ms)
{
	struct redis_store *rs = (struct redis_store *)st;
	char fu[KEYLEN], fc[KEYLEN], lu[KEYLEN], lc[KEYLEN];
	char mu[16], mc[16], win[24], lock[24];
	redisReply *r;

	*retry_ms = 0;
	key_of(rs, fu, sizeof(fu), "f:u:", user);
	key_of(rs, fc, sizeof(fc), "f:c:", client);
	key_of(rs, lu, sizeof(lu), "l:u:", user);
	key_of(rs, lc, sizeof(lc), "l:c:", client);
	snprintf(mu, sizeof(mu), "%d", l->max_failures);
	snprintf(mc, sizeof(mc), "%d", l->max_client_failures);
	snprintf(win, sizeof(win), "%lld", (long long)l->window_ms);
	snprintf(lock, sizeof(lock), "%lld", (long long)l->lockout_ms);
	r = eval(rs, &s_failed, 10,
	    (const char *[]){"4", fu, fc, lu, lc, mu, mc, win, lock,
	        client[0] != '\0' ? "1" : "0"},
	    NULL);
	if (r == NULL)
		return SGW_STORE_ERROR;
	*retry_ms = num(r);
	freeReplyObject(r);
	return SGW_STORE_OK;
}

static int
r_login_succeeded(struct sgw_store *st, const char *user)
{
	struct redis_store *rs = (struct redis_store *)st;
	char fu[KEYLEN];
	redisReply *r;

	key_of(rs, fu, sizeof(fu), "f:u:", user);
	r = eval(rs, &s_clear, 2,
	    (const char *[]){"1", fu}, NULL);
	if (r == NULL)
		return SGW_STORE_ERROR;
	freeReplyObject(r);
	return SGW_STORE_OK;
}

static int
r_ping(struct sgw_store *st)
{
	struct redis_store *rs = (struct redis_store *)st;
	redisReply *r = NULL;

	for (int attempt = 0; attempt < 2 && r == NULL; attempt++) {
		int had_conn = rs->c != NULL;

		if (ensure(rs) == -1)
			return SGW_STORE_ERROR;
		r = redisCommand(rs->c, "PING");
		if (r == NULL) {
			seterr(rs, "PING failed", rs->c->errstr);
			drop(rs);
			if (!had_conn)
				return SGW_STORE_ERROR;
		}
	}
	if (r == NULL)
		return SGW_STORE_ERROR;
	if (r->type == REDIS_REPLY_ERROR) {
		seterr(rs, "PING", r->str);
		freeReplyObject(r);
		return SGW_STORE_ERROR;
	}
	freeReplyObject(r);
	return SGW_STORE_OK;
}

static void
r_free(struct sgw_store *st)
{
	struct redis_store *rs = (struct redis_store *)st;

	if (rs == NULL)
		return;
	drop(rs);
	free(rs);
}

static const struct sgw_store_ops redis_ops = {
    .create = r_create,
    .touch = r_touch,
    .destroy = r_destroy,
    .destroy_user = r_destroy_user,
    .list = r_list,
    .data_get = r_data_get,
    .data_put = r_data_put,
    .data_del = r_data_del,
    .login_locked = r_login_locked,
    .login_failed = r_login_failed,
    .login_succeeded = r_login_succeeded,
    .ping = r_ping,
    .free = r_free,
};

struct sgw_store *
sgw_store_redis_new(const struct sgw_conf *conf)
{
	struct redis_store *rs = calloc(1, sizeof(*rs));

	if (rs == NULL)
		return NULL;
	rs->base.ops = &redis_ops;
	rs->conf = conf;
	return &rs->base;
}
