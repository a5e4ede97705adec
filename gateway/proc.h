/*
 * proc: what every child of the master does to itself before it serves
 * anything (a worker, the metrics server, the sweeper): set its signal
 * dispositions and give up root. Kept apart from those programs so that
 * none of them includes another's header for it.
 */
#ifndef SGW_PROC_H
#define SGW_PROC_H

#include <stddef.h>

#include "conf.h"

/* One signal and the handler it gets. */
struct sgw_proc_handler {
	int sig;         /* SIGTERM, ... */
	void (*fn)(int); /* the handler */
};

/* The dispositions a child starts from: SIGHUP, SIGUSR1 and SIGPIPE
 * ignored (the master handles reload and log reopening), SIGCHLD the
 * default (the master's handler must not run in a child); then each of
 * the n handlers of h, which may override those. No SA_RESTART, so that a
 * handled signal breaks a blocked call. The signal mask is left alone. */
void sgw_proc_signals(const struct sgw_proc_handler *h, size_t n);

/* Clears the signal mask: the master forks with its signals blocked. */
void sgw_proc_unblock_signals(void);

/* Started as root with `user` set: becomes that user (groups, gid, uid)
 * and makes sure root cannot be regained. `who` names the process in log
 * lines. Returns 0, or -1 after logging why. Every process that parses
 * what the network sends calls it before the first byte. */
int sgw_proc_drop_privileges(const struct sgw_conf *conf, const char *who);

#endif
