/*
 * store_redis: the Redis backend against a real redis-server.
 *
 * The group set-up starts a private redis-server on a free loopback port
 * (no persistence, its own directory); every test gets a fresh key
 * prefix, so tests never see each other's keys. A raw hiredis connection
 * looks at what the store left in Redis (key names, TTLs), because what
 * Redis holds is part of the contract (SPEC section 7).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "store.h"
#include "store_redis.h"
#include "timefmt.h"
#include "token.h"

#define KEY_LINE "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
#define CMD_TIMEOUT_MS 200

/* The private redis-server the whole group shares. */
static struct {
	volatile pid_t pid; /* read by the SIGALRM handler */
	int port;
	char dir[64];
	struct sgw_keys keys;
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

static void
msleep(int64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
	    .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* A port nothing listens on right now: the kernel picks it. */
static int
free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static redisContext *
raw_connect(int port)
{
	struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);

	if (c != NULL && c->err == 0) {
		struct timeval cmd = {.tv_sec = 2, .tv_usec = 0};

		(void)redisSetTimeout(c, cmd);
	}
	return c;
}

static int
redis_answers(int port)
{
	redisContext *c = raw_connect(port);
	redisReply *r = NULL;
	int ok = 0;

	if (c != NULL && c->err == 0)
		r = redisCommand(c, "PING");
	ok = r != NULL && r->type == REDIS_REPLY_STATUS &&
	    strcmp(r->str, "PONG") == 0;
	if (r != NULL)
		freeReplyObject(r);
	if (c != NULL)
		redisFree(c);
	return ok;
}

/* Starts redis-server on g.port and waits (at most 5 s) for its PING. */
static int
redis_start(void)
{
	char port[16];
	pid_t pid;

	snprintf(port, sizeof(port), "%d", g.port);
	pid = fork();
	if (pid == -1)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (null != -1) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		execlp("redis-server", "redis-server", "--port", port, "--bind",
		    "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", g.dir,
		    (char *)NULL);
		_exit(127);
	}
	g.pid = pid;
	for (int i = 0; i < 100; i++) {
		int status;

		if (redis_answers(g.port))
			return 0;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			g.pid = 0;
			return -1;
		}
		msleep(50);
	}
	return -1;
}

static void
redis_stop(void)
{
	pid_t pid = g.pid;

	if (pid <= 0)
		return;
	/* A test that failed while redis was stopped must not leave it so. */
	kill(pid, SIGCONT);
	kill(pid, SIGTERM);
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
	g.pid = 0;
}

/* A hang with redis stopped must fail the run, not block CI: kill our
 * redis (so it is not left behind stopped) and leave. */
static void
on_alarm(int sig)
{
	static const char msg[] = "test_store_redis: a store call hung\n";

	(void)sig;
	if (g.pid > 0)
		kill(g.pid, SIGKILL);
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(1);
}

static void
rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	if (d != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
}

static int
group_setup(void **state)
{
	struct sgw_errs errs = {0};
	struct sigaction sa = {0};

	(void)state;
	/* As in the worker: a write to a connection Redis closed must be an
	 * error, not the end of the process. */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	if (sgw_keys_parse("keys", KEY_LINE, strlen(KEY_LINE), &g.keys, &errs) != 0) {
		sgw_errs_clear(&errs);
		return -1;
	}
	snprintf(g.dir, sizeof(g.dir), "/tmp/sgw-redis-XXXXXX");
	if (mkdtemp(g.dir) == NULL)
		return -1;
	if ((g.port = free_port()) <= 0 || redis_start() == -1) {
		fprintf(stderr, "cannot start redis-server on port %d\n", g.port);
		redis_stop();
		rm_dir(g.dir);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	redis_stop();
	rm_dir(g.dir);
	sgw_keys_wipe(&g.keys);
	return 0;
}

/* A conf for a store on `port` with its own key prefix. */
static int
conf_for(struct sgw_conf *conf, int port, const char *prefix)
{
	if (sgw_conf_defaults(conf) == -1)
		return -1;
	free(conf->key_prefix);
	if ((conf->key_prefix = strdup(prefix)) == NULL)
		return -1;
	memset(&conf->redis_addr, 0, sizeof(conf->redis_addr));
	snprintf(conf->redis_addr.host, sizeof(conf->redis_addr.host),
	    "127.0.0.1");
	conf->redis_addr.port = port;
	conf->connect_timeout_ms = CMD_TIMEOUT_MS;
	conf->command_timeout_ms = CMD_TIMEOUT_MS;
	return 0;
}

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->prefix, sizeof(f->prefix), "t%u:", ++g.next_prefix);
	if (conf_for(&f->conf, g.port, f->prefix) == -1 ||
	    (f->st = sgw_store_redis_new(&f->conf)) == NULL ||
	    (f->raw = raw_connect(g.port)) == NULL || f->raw->err != 0) {
		fprintf(stderr, "fixture set-up failed\n");
		return -1;
	}
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	if (f == NULL)
		return 0;
	if (f->st != NULL)
		f->st->ops->free(f->st);
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
		fail_msg("%s: got %lld, want %lld +- %lld", what, (long long)got,
		    (long long)want, (long long)tol);
}

static void
new_hash(unsigned char hash[SGW_HASH_LEN], char tok[SGW_TOKEN_LEN + 1])
{
	char t[SGW_TOKEN_LEN + 1];

	assert_int_equal(sgw_token_new(&g.keys, tok != NULL ? tok : t, hash), 0);
}

static struct sgw_session_params
params(const char *user, int64_t idle_ms, int64_t life_ms, int maxn)
{
	struct sgw_session_params p = {
	    .user = user,
	    .roles = "r1",
	    .client = "127.0.0.1",
	    .remember_me = 0,
	    .idle_ms = idle_ms,
	    .lifetime_ms = life_ms,
	    .max_per_user = maxn,
	};

	return p;
}

/* Creates a session for user; fails the test unless it worked. */
static void
make(struct fx *f, unsigned char hash[SGW_HASH_LEN], const char *user,
    int64_t idle_ms, int64_t life_ms, int maxn, struct sgw_session *out)
{
	struct sgw_session_params p = params(user, idle_ms, life_ms, maxn);
	struct sgw_session s;

	new_hash(hash, NULL);
	if (f->st->ops->create(f->st, hash, &p, out != NULL ? out : &s) !=
	    SGW_STORE_OK)
		fail_msg("create: %s", f->st->errstr);
}

static int
touch(struct fx *f, const unsigned char hash[SGW_HASH_LEN], int64_t idle_ms,
    int64_t step, struct sgw_session *out)
{
	struct sgw_session s;

	return f->st->ops->touch(f->st, hash, idle_ms, step,
	    out != NULL ? out : &s);
}

static void
hex_of(const unsigned char hash[SGW_HASH_LEN], char hex[SGW_HASH_HEX])
{
	sgw_token_hash_hex(hash, hex);
}

static long long
session_exists(struct fx *f, const unsigned char hash[SGW_HASH_LEN])
{
	char hex[SGW_HASH_HEX];

	hex_of(hash, hex);
	return raw_int(f, "EXISTS %ss:%s", f->prefix, hex);
}

/* ---- sessions ---- */

static void
create_then_touch_returns_what_was_stored(void **state)
{
	struct fx *f = *state;
	struct sgw_session_params p = {
	    .user = "alice",
	    .roles = "admin,dev",
	    .client = "10.0.0.7",
	    .remember_me = 1,
	    .idle_ms = 60000,
	    .lifetime_ms = 120000,
	};
	struct sgw_session c, t;
	unsigned char hash[SGW_HASH_LEN];
	char id[SGW_PUBLIC_ID_HEX];
	int64_t before, after;

	new_hash(hash, NULL);
	sgw_token_public_id(hash, id);
	before = sgw_now_ms();
	assert_int_equal(f->st->ops->create(f->st, hash, &p, &c), SGW_STORE_OK);
	after = sgw_now_ms();
	assert_string_equal(c.user, "alice");
	assert_string_equal(c.roles, "admin,dev");
	assert_string_equal(c.client, "10.0.0.7");
	assert_string_equal(c.id, id);
	assert_int_equal(c.remember_me, 1);
	assert_true(c.created_ms >= before - 5 && c.created_ms <= after + 5);
	near_ms(c.expires_ms, c.created_ms + 120000, 2, "create expires");
	near_ms(c.idle_expires_ms, c.created_ms + 60000, 2, "create idle end");

	assert_int_equal(touch(f, hash, 60000, 0, &t), SGW_STORE_OK);
	assert_string_equal(t.user, "alice");
	assert_string_equal(t.roles, "admin,dev");
	assert_string_equal(t.client, "10.0.0.7");
	assert_string_equal(t.id, id);
	assert_int_equal(t.remember_me, 1);
	assert_int_equal(t.created_ms, c.created_ms);
	assert_int_equal(t.expires_ms, c.expires_ms);
	assert_true(t.last_seen_ms >= c.created_ms);
	near_ms(t.idle_expires_ms, sgw_now_ms() + 60000, 50, "touch idle end");

	/* remember_me is what was stored, not a constant. */
	p.remember_me = 0;
	p.user = "bob";
	p.roles = "";
	new_hash(hash, NULL);
	assert_int_equal(f->st->ops->create(f->st, hash, &p, &c), SGW_STORE_OK);
	assert_int_equal(touch(f, hash, 60000, 0, &t), SGW_STORE_OK);
	assert_int_equal(t.remember_me, 0);
	assert_string_equal(t.user, "bob");
	assert_string_equal(t.roles, "");
}

static void
redis_holds_hash_not_token(void **state)
{
	struct fx *f = *state;
	struct sgw_session_params p = params("alice", 60000, 120000, 0);
	struct sgw_session s;
	unsigned char hash[SGW_HASH_LEN];
	char tok[SGW_TOKEN_LEN + 1], hex[SGW_HASH_HEX], want_s[128], want_u[128];
	size_t randlen;
	redisReply *r;

	new_hash(hash, tok);
	randlen = strcspn(tok, ".");
	hex_of(hash, hex);
	assert_int_equal(f->st->ops->create(f->st, hash, &p, &s), SGW_STORE_OK);
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
	assert_true(r->elements >= 14);
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
touch_unknown_is_notfound_and_destroy_ends(void **state)
{
	struct fx *f = *state;
	unsigned char hash[SGW_HASH_LEN], other[SGW_HASH_LEN];
	char hex[SGW_HASH_HEX];
	redisReply *r;

	new_hash(other, NULL);
	assert_int_equal(touch(f, other, 60000, 0, NULL), SGW_STORE_NOTFOUND);

	make(f, hash, "alice", 60000, 120000, 0, NULL);
	hex_of(hash, hex);
	r = raw(f, "ZSCORE %su:alice %s", f->prefix, hex);
	assert_int_equal(r->type, REDIS_REPLY_STRING);
	freeReplyObject(r);

	assert_int_equal(f->st->ops->destroy(f->st, hash), SGW_STORE_OK);
	assert_int_equal(touch(f, hash, 60000, 0, NULL), SGW_STORE_NOTFOUND);
	assert_int_equal(session_exists(f, hash), 0);
	r = raw(f, "ZSCORE %su:alice %s", f->prefix, hex);
	assert_int_equal(r->type, REDIS_REPLY_NIL);
	freeReplyObject(r);
	/* Ending what is already gone is still a success. */
	assert_int_equal(f->st->ops->destroy(f->st, hash), SGW_STORE_OK);
}

static void
idle_expiry_slides_with_use(void **state)
{
	struct fx *f = *state;
	unsigned char hash[SGW_HASH_LEN];

	make(f, hash, "alice", 600, 60000, 0, NULL);
	/* 5 x 300 ms = 1.5 s, well past the 600 ms idle timeout. */
	for (int i = 0; i < 5; i++) {
		msleep(300);
		if (touch(f, hash, 600, 0, NULL) != SGW_STORE_OK)
			fail_msg("touch %d at %d ms: session gone", i, 300 * (i + 1));
	}
	msleep(800);
	assert_int_equal(touch(f, hash, 600, 0, NULL), SGW_STORE_NOTFOUND);
	assert_int_equal(session_exists(f, hash), 0);
}

static void
absolute_end_is_never_extended(void **state)
{
	struct fx *f = *state;
	unsigned char hash[SGW_HASH_LEN];
	struct sgw_session c, t;
	char hex[SGW_HASH_HEX];
	int ok = 0;

	make(f, hash, "alice", 800, 1000, 0, &c);
	hex_of(hash, hex);
	while (sgw_now_ms() + 300 < c.created_ms + 1000) {
		int64_t before;
		long long pttl;

		msleep(300);
		if (touch(f, hash, 800, 0, &t) != SGW_STORE_OK)
			break;
		ok++;
		assert_int_equal(t.expires_ms, c.expires_ms);
		assert_true(t.idle_expires_ms <= c.expires_ms);
		/* Redis's clock at PTTL is at or after `before`, so the key
		 * may live at most expires - before. */
		before = sgw_now_ms();
		pttl = raw_int(f, "PTTL %ss:%s", f->prefix, hex);
		if (pttl > c.expires_ms - before + 5)
			fail_msg("PTTL %lld ms runs past the absolute end (%lld ms "
			         "away)", pttl, (long long)(c.expires_ms - before));
	}
	assert_true(ok >= 2);
	msleep(c.created_ms + 1100 - sgw_now_ms());
	assert_int_equal(touch(f, hash, 800, 0, NULL), SGW_STORE_NOTFOUND);
	assert_int_equal(session_exists(f, hash), 0);
}

static void
touch_within_min_step_does_not_rewrite(void **state)
{
	struct fx *f = *state;
	unsigned char hash[SGW_HASH_LEN];
	struct sgw_session c, t;
	char hex[SGW_HASH_HEX];
	redisReply *r;

	make(f, hash, "alice", 60000, 120000, 0, &c);
	hex_of(hash, hex);
	msleep(30);
	assert_int_equal(touch(f, hash, 60000, 60000, &t), SGW_STORE_OK);
	assert_int_equal(t.last_seen_ms, c.created_ms);
	r = raw(f, "HGET %ss:%s ls", f->prefix, hex);
	assert_int_equal(strtoll(r->str, NULL, 10), c.created_ms);
	freeReplyObject(r);
	/* The TTL was not refreshed either: 30 ms of it are used up. */
	assert_true(raw_int(f, "PTTL %ss:%s", f->prefix, hex) <= 60000 - 25);

	/* With no step the same touch does refresh: the check above can
	 * fail. */
	assert_int_equal(touch(f, hash, 60000, 0, &t), SGW_STORE_OK);
	assert_true(t.last_seen_ms >= c.created_ms + 30);
	r = raw(f, "HGET %ss:%s ls", f->prefix, hex);
	assert_int_equal(strtoll(r->str, NULL, 10), t.last_seen_ms);
	freeReplyObject(r);
}

static void
expired_session_is_not_revived(void **state)
{
	struct fx *f = *state;
	unsigned char hash[SGW_HASH_LEN];
	char hex[SGW_HASH_HEX];

	/* Idle end passed: the key is gone and a touch does not bring it
	 * back. */
	make(f, hash, "alice", 200, 60000, 0, NULL);
	msleep(350);
	assert_int_equal(touch(f, hash, 200, 0, NULL), SGW_STORE_NOTFOUND);
	assert_int_equal(session_exists(f, hash), 0);

	/* Absolute end passed while the key still lingers (a clock step, a
	 * replica's late expiry): still gone, and the touch removes it. */
	make(f, hash, "alice", 60000, 120000, 0, NULL);
	hex_of(hash, hex);
	freeReplyObject(raw(f, "HSET %ss:%s ab %lld", f->prefix, hex,
	    (long long)(sgw_now_ms() - 1)));
	assert_int_equal(touch(f, hash, 60000, 0, NULL), SGW_STORE_NOTFOUND);
	assert_int_equal(session_exists(f, hash), 0);
}

static void
list_is_oldest_first_and_prunes(void **state)
{
	struct fx *f = *state;
	unsigned char h[3][SGW_HASH_LEN];
	struct sgw_session c[3], *v = NULL;
	const int64_t idle[3] = {60000, 300, 60000};
	size_t n = 0;

	for (int i = 0; i < 3; i++) {
		struct sgw_session_params p = params("carol", idle[i], 120000, 0);
		char client[16];

		snprintf(client, sizeof(client), "10.0.0.%d", i + 1);
		p.client = client;
		p.remember_me = i == 1;
		new_hash(h[i], NULL);
		assert_int_equal(f->st->ops->create(f->st, h[i], &p, &c[i]),
		    SGW_STORE_OK);
		msleep(5);
	}
	assert_int_equal(f->st->ops->list(f->st, "carol", &v, &n), SGW_STORE_OK);
	assert_int_equal(n, 3);
	for (int i = 0; i < 3; i++) {
		char client[16];

		snprintf(client, sizeof(client), "10.0.0.%d", i + 1);
		assert_string_equal(v[i].id, c[i].id);
		assert_string_equal(v[i].user, "carol");
		assert_string_equal(v[i].client, client);
		assert_int_equal(v[i].created_ms, c[i].created_ms);
		assert_int_equal(v[i].last_seen_ms, c[i].created_ms);
		assert_int_equal(v[i].expires_ms, c[i].expires_ms);
		assert_int_equal(v[i].remember_me, i == 1);
	}
	free(v);
	v = NULL;
	assert_int_equal(raw_int(f, "ZCARD %su:carol", f->prefix), 3);

	msleep(450);
	assert_int_equal(f->st->ops->list(f->st, "carol", &v, &n), SGW_STORE_OK);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].id, c[0].id);
	assert_string_equal(v[1].id, c[2].id);
	/* Unused since creation: it ends idle_timeout after its last use,
	 * however long ago that was. */
	near_ms(v[0].idle_expires_ms, c[0].created_ms + 60000, 50,
	    "list idle end");
	free(v);
	v = NULL;
	assert_int_equal(raw_int(f, "ZCARD %su:carol", f->prefix), 2);

	assert_int_equal(f->st->ops->list(f->st, "nobody", &v, &n), SGW_STORE_OK);
	assert_int_equal(n, 0);
	free(v);
}

static void
destroy_user_ends_own_sessions_only(void **state)
{
	struct fx *f = *state;
	unsigned char a[3][SGW_HASH_LEN], b[SGW_HASH_LEN];
	struct sgw_session sa[3], sb;
	size_t count = 99;

	for (int i = 0; i < 3; i++)
		make(f, a[i], "alice", 60000, 120000, 0, &sa[i]);
	make(f, b, "bob", 60000, 120000, 0, &sb);

	assert_int_equal(f->st->ops->destroy_user(f->st, "alice", sa[1].id, &count),
	    SGW_STORE_OK);
	assert_int_equal(count, 1);
	assert_int_equal(touch(f, a[1], 60000, 0, NULL), SGW_STORE_NOTFOUND);
	assert_int_equal(touch(f, a[0], 60000, 0, NULL), SGW_STORE_OK);

	/* Another user's id is as unknown as a made-up one. */
	assert_int_equal(f->st->ops->destroy_user(f->st, "alice", sb.id, &count),
	    SGW_STORE_NOTFOUND);
	assert_int_equal(count, 0);
	assert_int_equal(touch(f, b, 60000, 0, NULL), SGW_STORE_OK);
	assert_int_equal(f->st->ops->destroy_user(f->st, "alice",
	    "0123456789abcdef0123456789abcdef", &count), SGW_STORE_NOTFOUND);
	/* Already ended. */
	assert_int_equal(f->st->ops->destroy_user(f->st, "alice", sa[1].id, &count),
	    SGW_STORE_NOTFOUND);

	assert_int_equal(f->st->ops->destroy_user(f->st, "alice", NULL, &count),
	    SGW_STORE_OK);
	assert_int_equal(count, 2);
	assert_int_equal(touch(f, a[0], 60000, 0, NULL), SGW_STORE_NOTFOUND);
	assert_int_equal(touch(f, a[2], 60000, 0, NULL), SGW_STORE_NOTFOUND);
	assert_int_equal(touch(f, b, 60000, 0, NULL), SGW_STORE_OK);
	assert_int_equal(raw_int(f, "EXISTS %su:alice", f->prefix), 0);
}

static void
max_per_user_ends_the_oldest(void **state)
{
	struct fx *f = *state;
	unsigned char h[3][SGW_HASH_LEN];

	for (int i = 0; i < 3; i++) {
		make(f, h[i], "alice", 60000, 120000, 2, NULL);
		msleep(3);
	}
	assert_int_equal(touch(f, h[0], 60000, 0, NULL), SGW_STORE_NOTFOUND);
	assert_int_equal(session_exists(f, h[0]), 0);
	assert_int_equal(touch(f, h[1], 60000, 0, NULL), SGW_STORE_OK);
	assert_int_equal(touch(f, h[2], 60000, 0, NULL), SGW_STORE_OK);
	assert_int_equal(raw_int(f, "ZCARD %su:alice", f->prefix), 2);

	/* Two logins in one millisecond: the new session may sort first
	 * among equal scores. Scores put after it stand for that; it must
	 * still be an older one that ends. */
	make(f, h[0], "frank", 60000, 120000, 2, NULL);
	make(f, h[1], "frank", 60000, 120000, 2, NULL);
	for (int i = 0; i < 2; i++) {
		char hex[SGW_HASH_HEX];

		hex_of(h[i], hex);
		assert_int_equal(raw_int(f, "ZADD %su:frank XX CH %lld %s",
		    f->prefix, (long long)sgw_now_ms() + 60000 + i, hex), 1);
	}
	make(f, h[2], "frank", 60000, 120000, 2, NULL);
	assert_int_equal(touch(f, h[2], 60000, 0, NULL), SGW_STORE_OK);
	assert_int_equal(touch(f, h[0], 60000, 0, NULL), SGW_STORE_NOTFOUND);
	assert_int_equal(touch(f, h[1], 60000, 0, NULL), SGW_STORE_OK);

	/* 0 is unlimited. */
	for (int i = 0; i < 3; i++)
		make(f, h[i], "bob", 60000, 120000, 0, NULL);
	assert_int_equal(raw_int(f, "ZCARD %su:bob", f->prefix), 3);
	assert_int_equal(touch(f, h[0], 60000, 0, NULL), SGW_STORE_OK);
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

/* ---- data ---- */

static void
data_round_trip_and_limits(void **state)
{
	struct fx *f = *state;
	const struct sgw_store_ops *o = f->st->ops;
	unsigned char h[SGW_HASH_LEN], gone[SGW_HASH_LEN];
	static const char bin[] = "a\0b\0\0c";
	char *val = NULL, key[16];
	size_t len = 0;

	make(f, h, "alice", 60000, 120000, 0, NULL);
	assert_int_equal(o->data_get(f->st, h, "k", &val, &len), SGW_STORE_NOTFOUND);
	assert_null(val);
	assert_int_equal(o->data_put(f->st, h, "k", "v1", 2), SGW_STORE_OK);
	assert_int_equal(o->data_get(f->st, h, "k", &val, &len), SGW_STORE_OK);
	assert_int_equal(len, 2);
	assert_memory_equal(val, "v1", 2);
	free(val);

	assert_int_equal(o->data_put(f->st, h, "bin", bin, sizeof(bin)),
	    SGW_STORE_OK);
	assert_int_equal(o->data_get(f->st, h, "bin", &val, &len), SGW_STORE_OK);
	assert_int_equal(len, sizeof(bin));
	assert_memory_equal(val, bin, sizeof(bin));
	free(val);

	assert_int_equal(o->data_del(f->st, h, "k"), SGW_STORE_OK);
	assert_int_equal(o->data_get(f->st, h, "k", &val, &len), SGW_STORE_NOTFOUND);
	assert_int_equal(o->data_del(f->st, h, "k"), SGW_STORE_NOTFOUND);
	assert_int_equal(o->data_del(f->st, h, "bin"), SGW_STORE_OK);

	/* 64 keys fit; a 65th distinct one does not; overwriting does. */
	for (int i = 0; i < SGW_DATA_MAX_KEYS; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		if (o->data_put(f->st, h, key, "x", 1) != SGW_STORE_OK)
			fail_msg("put %s: %s", key, f->st->errstr);
	}
	assert_int_equal(o->data_put(f->st, h, "one-too-many", "x", 1),
	    SGW_STORE_FULL);
	assert_int_equal(o->data_put(f->st, h, "k5", "new", 3), SGW_STORE_OK);
	assert_int_equal(o->data_get(f->st, h, "k5", &val, &len), SGW_STORE_OK);
	assert_memory_equal(val, "new", 3);
	free(val);
	assert_int_equal(o->data_get(f->st, h, "one-too-many", &val, &len),
	    SGW_STORE_NOTFOUND);

	/* A session that is not there has no data and gets none. */
	new_hash(gone, NULL);
	assert_int_equal(o->data_put(f->st, gone, "k", "v", 1), SGW_STORE_NOTFOUND);
	assert_int_equal(session_exists(f, gone), 0);
	assert_int_equal(o->data_get(f->st, gone, "k", &val, &len),
	    SGW_STORE_NOTFOUND);
	assert_int_equal(o->data_del(f->st, gone, "k"), SGW_STORE_NOTFOUND);

	/* Data goes with its session, and does not come back with a new
	 * session under the same hash. */
	assert_int_equal(o->destroy(f->st, h), SGW_STORE_OK);
	assert_int_equal(o->data_get(f->st, h, "k5", &val, &len),
	    SGW_STORE_NOTFOUND);
	assert_int_equal(o->data_put(f->st, h, "k5", "v", 1), SGW_STORE_NOTFOUND);
	{
		struct sgw_session_params p = params("alice", 60000, 120000, 0);
		struct sgw_session s;

		assert_int_equal(o->create(f->st, h, &p, &s), SGW_STORE_OK);
	}
	assert_int_equal(o->data_get(f->st, h, "k5", &val, &len),
	    SGW_STORE_NOTFOUND);
}

/* ---- login regulation ---- */

static void
failures_lock_out_user_and_client(void **state)
{
	struct fx *f = *state;
	const struct sgw_store_ops *o = f->st->ops;
	struct sgw_limits l = {.max_failures = 3, .max_client_failures = 100,
	    .window_ms = 60000, .lockout_ms = 2000};
	int64_t retry = -1;

	for (int i = 0; i < 2; i++) {
		assert_int_equal(o->login_failed(f->st, "alice", "10.0.0.1", &l,
		    &retry), SGW_STORE_OK);
		assert_int_equal(retry, 0);
	}
	assert_int_equal(o->login_locked(f->st, "alice", "10.0.0.1", &retry),
	    SGW_STORE_OK);
	assert_int_equal(retry, 0);
	assert_int_equal(o->login_failed(f->st, "alice", "10.0.0.1", &l, &retry),
	    SGW_STORE_OK);
	assert_int_equal(retry, 2000);
	assert_int_equal(o->login_locked(f->st, "alice", "10.0.0.2", &retry),
	    SGW_STORE_OK);
	assert_true(retry > 0 && retry <= 2000);

	/* A success clears the user's counter: failures start over. */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(o->login_failed(f->st, "bob", "10.0.0.1", &l,
		    &retry), SGW_STORE_OK);
		assert_int_equal(retry, 0);
	}
	assert_int_equal(o->login_succeeded(f->st, "bob"), SGW_STORE_OK);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(o->login_failed(f->st, "bob", "10.0.0.1", &l,
		    &retry), SGW_STORE_OK);
		assert_int_equal(retry, 0);
	}
	assert_int_equal(o->login_failed(f->st, "bob", "10.0.0.1", &l, &retry),
	    SGW_STORE_OK);
	assert_int_equal(retry, 2000);

	/* The client limit counts across user names. */
	l.max_failures = 100;
	l.max_client_failures = 3;
	for (int i = 0; i < 3; i++) {
		char user[16];

		snprintf(user, sizeof(user), "u%d", i);
		assert_int_equal(o->login_failed(f->st, user, "10.9.9.9", &l,
		    &retry), SGW_STORE_OK);
		assert_int_equal(retry, i == 2 ? 2000 : 0);
	}
	assert_int_equal(o->login_locked(f->st, "someone", "10.9.9.9", &retry),
	    SGW_STORE_OK);
	assert_true(retry > 0 && retry <= 2000);
	assert_int_equal(o->login_locked(f->st, "someone", "10.9.9.8", &retry),
	    SGW_STORE_OK);
	assert_int_equal(retry, 0);

	/* No client address: only the user is counted. */
	l.max_client_failures = 1;
	assert_int_equal(o->login_failed(f->st, "carol", "", &l, &retry),
	    SGW_STORE_OK);
	assert_int_equal(retry, 0);
	assert_int_equal(raw_int(f, "EXISTS %sf:c:", f->prefix), 0);
	assert_int_equal(raw_int(f, "EXISTS %sl:c:", f->prefix), 0);
	assert_int_equal(o->login_locked(f->st, "dave", "", &retry), SGW_STORE_OK);
	assert_int_equal(retry, 0);
}

static void
old_failures_leave_the_window(void **state)
{
	struct fx *f = *state;
	const struct sgw_store_ops *o = f->st->ops;
	struct sgw_limits l = {.max_failures = 3, .max_client_failures = 100,
	    .window_ms = 300, .lockout_ms = 2000};
	int64_t retry = -1;

	for (int i = 0; i < 2; i++)
		assert_int_equal(o->login_failed(f->st, "alice", "10.0.0.1", &l,
		    &retry), SGW_STORE_OK);
	msleep(400);
	/* Without the window this third failure would lock. */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(o->login_failed(f->st, "alice", "10.0.0.1", &l,
		    &retry), SGW_STORE_OK);
		assert_int_equal(retry, 0);
	}
	assert_int_equal(o->login_failed(f->st, "alice", "10.0.0.1", &l, &retry),
	    SGW_STORE_OK);
	assert_int_equal(retry, 2000);
}

/* ---- failures of Redis itself ---- */

static void
unreachable_redis_is_an_error(void **state)
{
	struct sgw_conf conf;
	struct sgw_store *st;
	struct sgw_session s, *v = (struct sgw_session *)1;
	struct sgw_session_params p = params("alice", 60000, 120000, 0);
	unsigned char h[SGW_HASH_LEN];
	int64_t retry, t0;
	size_t n = 7;
	int port = free_port();

	(void)state;
	assert_true(port > 0);
	assert_int_equal(conf_for(&conf, port, "x:"), 0);
	assert_non_null(st = sgw_store_redis_new(&conf));
	new_hash(h, NULL);
	t0 = sgw_mono_ms();
	assert_int_equal(st->ops->touch(st, h, 60000, 0, &s), SGW_STORE_ERROR);
	assert_true(st->errstr[0] != '\0');
	st->errstr[0] = '\0';
	assert_int_equal(st->ops->create(st, h, &p, &s), SGW_STORE_ERROR);
	assert_true(st->errstr[0] != '\0');
	assert_int_equal(st->ops->list(st, "alice", &v, &n), SGW_STORE_ERROR);
	assert_null(v);
	assert_int_equal(n, 0);
	assert_int_equal(st->ops->login_locked(st, "alice", "1.2.3.4", &retry),
	    SGW_STORE_ERROR);
	assert_int_equal(st->ops->ping(st), SGW_STORE_ERROR);
	assert_true(sgw_mono_ms() - t0 < 1000);
	st->ops->free(st);
	sgw_conf_free(&conf);
}

/* A touch with redis stopped: an error within about command_timeout. */
static void
stopped_touch_times_out(struct fx *f, const unsigned char h[SGW_HASH_LEN])
{
	int64_t t0, dt;
	int rc;

	assert_int_equal(kill(g.pid, SIGSTOP), 0);
	t0 = sgw_mono_ms();
	rc = touch(f, h, 60000, 0, NULL);
	dt = sgw_mono_ms() - t0;
	assert_int_equal(kill(g.pid, SIGCONT), 0);
	assert_int_equal(rc, SGW_STORE_ERROR);
	assert_true(f->st->errstr[0] != '\0');
	if (dt < CMD_TIMEOUT_MS / 2 || dt >= 1000)
		fail_msg("touch took %lld ms with command_timeout %d ms",
		    (long long)dt, CMD_TIMEOUT_MS);
}

static void
stopped_redis_times_out_and_recovers(void **state)
{
	struct fx *f = *state;
	unsigned char h[SGW_HASH_LEN];

	make(f, h, "alice", 60000, 120000, 0, NULL);
	alarm(5);
	stopped_touch_times_out(f, h);
	/* The same store object works again once Redis does. */
	assert_int_equal(touch(f, h, 60000, 0, NULL), SGW_STORE_OK);
	/* And the new connection has the timeout too (hiredis forgets it
	 * on reconnect): it times out again instead of hanging. */
	stopped_touch_times_out(f, h);
	assert_int_equal(touch(f, h, 60000, 0, NULL), SGW_STORE_OK);
	alarm(0);
}

static void
restarted_redis_is_found_again(void **state)
{
	struct fx *f = *state;
	const struct sgw_store_ops *o = f->st->ops;
	struct sgw_session_params p = params("alice", 60000, 120000, 0);
	struct sgw_session s;
	unsigned char old[SGW_HASH_LEN], h[SGW_HASH_LEN];

	make(f, old, "alice", 60000, 120000, 0, NULL);
	redis_stop();
	assert_int_equal(redis_start(), 0);
	redisFree(f->raw);
	assert_non_null(f->raw = raw_connect(g.port));
	assert_int_equal(f->raw->err, 0);

	/* The store's connection is dead; the very next call still works. */
	new_hash(h, NULL);
	if (o->create(f->st, h, &p, &s) != SGW_STORE_OK)
		fail_msg("create after restart: %s", f->st->errstr);
	assert_int_equal(touch(f, h, 60000, 0, NULL), SGW_STORE_OK);
	/* No persistence: what was there before is gone, not an error. */
	assert_int_equal(touch(f, old, 60000, 0, NULL), SGW_STORE_NOTFOUND);
	assert_int_equal(o->ping(f->st), SGW_STORE_OK);
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
	struct sgw_session_params p = params("alice", 60000, 120000, 0);
	struct sgw_limits l = {.max_failures = 5, .max_client_failures = 5,
	    .window_ms = 60000, .lockout_ms = 1000};
	struct sgw_session s, *v = NULL;
	unsigned char h[SGW_HASH_LEN];
	char *val = NULL;
	size_t len, n;
	int64_t retry;

	new_hash(h, NULL);
	flush_scripts(f);
	assert_int_equal(o->create(f->st, h, &p, &s), SGW_STORE_OK);
	flush_scripts(f);
	assert_int_equal(o->touch(f->st, h, 60000, 0, &s), SGW_STORE_OK);
	flush_scripts(f);
	assert_int_equal(o->list(f->st, "alice", &v, &n), SGW_STORE_OK);
	assert_int_equal(n, 1);
	free(v);
	flush_scripts(f);
	assert_int_equal(o->data_put(f->st, h, "k", "v", 1), SGW_STORE_OK);
	flush_scripts(f);
	assert_int_equal(o->data_get(f->st, h, "k", &val, &len), SGW_STORE_OK);
	free(val);
	flush_scripts(f);
	assert_int_equal(o->data_del(f->st, h, "k"), SGW_STORE_OK);
	flush_scripts(f);
	assert_int_equal(o->login_failed(f->st, "alice", "1.2.3.4", &l, &retry),
	    SGW_STORE_OK);
	flush_scripts(f);
	assert_int_equal(o->login_locked(f->st, "alice", "1.2.3.4", &retry),
	    SGW_STORE_OK);
	flush_scripts(f);
	assert_int_equal(o->login_succeeded(f->st, "alice"), SGW_STORE_OK);
	flush_scripts(f);
	assert_int_equal(o->destroy_user(f->st, "alice", s.id, &n), SGW_STORE_OK);
	assert_int_equal(n, 1);
	make(f, h, "alice", 60000, 120000, 0, NULL);
	flush_scripts(f);
	assert_int_equal(o->destroy_user(f->st, "alice", NULL, &n), SGW_STORE_OK);
	assert_int_equal(n, 1);
	make(f, h, "alice", 60000, 120000, 0, NULL);
	flush_scripts(f);
	assert_int_equal(o->destroy(f->st, h), SGW_STORE_OK);
	assert_int_equal(session_exists(f, h), 0);
	flush_scripts(f);
	assert_int_equal(o->ping(f->st), SGW_STORE_OK);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(create_then_touch_returns_what_was_stored),
	    T(redis_holds_hash_not_token),
	    T(touch_unknown_is_notfound_and_destroy_ends),
	    T(idle_expiry_slides_with_use),
	    T(absolute_end_is_never_extended),
	    T(touch_within_min_step_does_not_rewrite),
	    T(expired_session_is_not_revived),
	    T(list_is_oldest_first_and_prunes),
	    T(destroy_user_ends_own_sessions_only),
	    T(max_per_user_ends_the_oldest),
	    T(index_outlives_every_session),
	    T(data_round_trip_and_limits),
	    T(failures_lock_out_user_and_client),
	    T(old_failures_leave_the_window),
	    cmocka_unit_test(unreachable_redis_is_an_error),
	    T(stopped_redis_times_out_and_recovers),
	    T(restarted_redis_is_found_again),
	    T(every_operation_survives_script_flush),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
