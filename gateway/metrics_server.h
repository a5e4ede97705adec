/*
 * metrics_server: the process that answers GET /metrics on the
 * metrics_listen socket with the counters of metrics.h. It is exec'd
 * afresh, so it holds nothing of the master's memory but the counters.
 */
#ifndef SGW_METRICS_SERVER_H
#define SGW_METRICS_SERVER_H

#include "conf.h"

struct sgw_metrics;

/* The metrics server's ends of the pipes to the sweeper (sweeper.h), set
 * before it is forked; it asks for a fresh sgw_sessions_active on every
 * scrape. */
void sgw_metrics_set_scrape_pipe(int ask_fd, int done_fd);

/*
 * The metrics server: the body of a child process of the master. Answers
 * plain HTTP on the listening socket fd, one connection at a time:
 * GET /metrics renders m, anything else is 404. Drops privileges to
 * conf->user first, like a worker. Runs until SIGTERM (exit 0); returns
 * an exit status (1) only when it cannot go on, so the master restarts it.
 */
int sgw_metrics_serve(
    int fd, const struct sgw_metrics *m, const struct sgw_conf *conf);

/* The hidden first argument that makes `sessiongw` the metrics server. */
#define SGW_METRICS_SERVER_ARG "--metrics-server"

/*
 * In a child forked by the master: replaces the process with a fresh
 * `sessiongw --metrics-server` that serves the listening socket fd and the
 * counters of the last sgw_metrics_new, with conf's user, log settings
 * and metrics_listen; nothing else of this process's memory goes over.
 * Returns only when it failed (logged); the caller then exits.
 */
void sgw_metrics_exec(int fd, const struct sgw_conf *conf);

/* main() of `sessiongw --metrics-server USER LOGLEVEL LOGFILE LISTEN`,
 * with the socket on fd 3 and the counters' memfd on fd 4, as
 * sgw_metrics_exec leaves them. Returns the exit status. */
int sgw_metrics_server_main(int argc, char **argv);

#endif
