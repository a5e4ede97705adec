/*
 * redis_server: a private redis-server for the unit tests that need a
 * real one (test_store_redis, test_store_contract).
 *
 * It listens on a free loopback port, keeps nothing on disk (no RDB, no
 * AOF) and lives in its own temporary directory. A hang with the server
 * stopped (SIGSTOP) must fail the run rather than block CI: arm alarm()
 * around such a test, and the SIGALRM handler installed by
 * redis_server_start kills the server and exits.
 */
#ifndef SGW_TEST_REDIS_SERVER_H
#define SGW_TEST_REDIS_SERVER_H

#include <hiredis.h>
#include <stdint.h>
#include <sys/types.h>

struct redis_server {
	volatile pid_t
	    pid; /* 0 when not running; read by the SIGALRM handler */
	int port;
	char dir[64];
	const char *const *args; /* more arguments, or NULL */
};

/* Sleeps ms milliseconds, through signals. */
void test_msleep(int64_t ms);

/* A loopback TCP port nothing listens on right now (the kernel picks
 * it), or -1. */
int test_free_port(void);

/*
 * Starts a server on a free port in a new temporary directory and waits
 * (at most 5 s) until it answers PING. Also ignores SIGPIPE (as the
 * worker does) and installs the SIGALRM handler. Returns 0, or -1 with
 * the reason in why; nothing is left behind on -1.
 */
int redis_server_start(struct redis_server *rs, char *why, size_t whylen);

/* The same with more redis-server arguments (NULL-terminated, borrowed
 * for the server's life: a restart passes them again). */
int redis_server_start_with(
    struct redis_server *rs, const char *const *args, char *why, size_t whylen);

/* Stops the server (SIGTERM, after a SIGCONT in case a test left it
 * stopped) and starts it again on the same port: its data is gone. */
int redis_server_restart(struct redis_server *rs);

/* Stops the server and removes its directory. Accepts one not running. */
void redis_server_stop(struct redis_server *rs);

/* A plain hiredis connection to 127.0.0.1:port with 2 s timeouts, or
 * NULL (or one with err set); the caller frees it with redisFree. */
redisContext *redis_server_connect(int port);

#endif
