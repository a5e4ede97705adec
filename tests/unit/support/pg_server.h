/*
 * pg_server: a private PostgreSQL 15 for the unit tests that need a real
 * one (test_store_pg, test_store_contract).
 *
 * initdb and the server refuse to run as root, so both run as the
 * `postgres` user (which the Debian package creates), in a temporary
 * directory of its own, on a free loopback port, with the database
 * sessiongw created. Every command it runs is bounded in time.
 */
#ifndef SGW_TEST_PG_SERVER_H
#define SGW_TEST_PG_SERVER_H

#include <stddef.h>
#include <sys/types.h>

#define PG_BIN "/usr/lib/postgresql/15/bin"

struct pg_server {
	char dir[64]; /* owned by postgres: data/, log, socket */
	int port;
	volatile pid_t postmaster; /* 0 when not running; safe to read from
	                            * a signal handler */
};

/* 0 when a private server can be made here (root, the postgres user, the
 * server binaries), else -1 with the reason in why. */
int pg_server_available(char *why, size_t whylen);

/* Makes the directory, runs initdb, starts the server and creates the
 * database sessiongw. Returns 0, or -1 with the reason in why (the
 * directory is kept for a look at its log). */
int pg_server_start(struct pg_server *ps, char *why, size_t whylen);

/* Stops the server (fast shutdown; SIGKILL when that fails), keeping its
 * data, and starts it again on the same port and data. 0 or -1. */
int pg_server_halt(struct pg_server *ps);
int pg_server_boot(struct pg_server *ps);

/* Stops the server and removes its directory. Accepts one not running. */
void pg_server_remove(struct pg_server *ps);

/* "host=127.0.0.1 port=PORT user=sgw dbname=DB" into buf. */
void pg_server_conninfo(
    const struct pg_server *ps, const char *db, char *buf, size_t len);

/* Prints the end of one of the server's files (its log, cmd.log) to
 * stderr, for a failure's message. */
void pg_server_dump(const struct pg_server *ps, const char *name);

#endif
