/*
 * sweeper: the one process of the master's that looks after the store as
 * a whole, so that no worker has to (ARCHITECTURE: "a store without TTLs
 * of its own is swept by one process of the master's").
 *
 *   - Every [store] cleanup_interval it removes what has expired, for the
 *     backends that keep no TTL of their own (lmdb, postgres), in bounded
 *     batches, and records when it last did.
 *   - When the metrics server is scraped, it counts the live sessions
 *     (sgw_sessions_active) and answers, so that the process serving
 *     plain HTTP never holds the store's credentials.
 */
#ifndef SGW_SWEEPER_H
#define SGW_SWEEPER_H

#include "conf.h"

/* The ends of the two pipes between the metrics server and the sweeper:
 * the metrics server writes a byte to ask[1] for a count and reads the
 * sweeper's byte from done[0] once sgw_sessions_active holds it. */
struct sgw_sweeper_pipes {
	int ask[2];
	int done[2];
};

/* Makes the pipes (non-blocking, close-on-exec). Returns 0 or -1. */
int sgw_sweeper_pipes_open(struct sgw_sweeper_pipes *p);

/* The body of the sweeper process: drops privileges, opens the store and
 * runs until SIGTERM (exit status 0), or returns 1 when it cannot open
 * the store (the master starts it again later). */
int sgw_sweeper_run(const struct sgw_conf *conf, int ask_fd, int done_fd);

/* For the metrics server: asks for a fresh count and waits up to
 * wait_ms for it. Returns 0 when it arrived, -1 when not (the gauge then
 * keeps the last count). */
int sgw_sweeper_ask(int ask_fd, int done_fd, int wait_ms);

#endif
