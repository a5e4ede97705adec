/*
 * worker: the loop of one worker process.
 */
#ifndef SGW_WORKER_H
#define SGW_WORKER_H

#include "runtime.h"

struct sgw_lead;

/* Serves FastCGI requests on the listening socket fd (non-blocking: the
 * master sets O_NONBLOCK) until max_requests, SIGTERM or SIGINT (then it
 * first serves the connections already queued) or SIGUSR2 (a reload
 * retires it: it leaves the queue to the new workers). Installs the
 * worker's signal handlers, drops privileges (`user`), connects to Redis
 * lazily, then writes its pid to ready_fd (unless -1) and closes it.
 * With a store that reads ahead, the workers sharing `lead` leave the
 * connections that arrive while their lead waits for the store to it
 * (lead.h); NULL: each takes what it is woken for.
 * Returns the exit status: 0 after a requested stop or a recycle, 1 on a
 * failure. */
int sgw_worker_run(int fd, int ready_fd, struct sgw_runtime *rt,
    unsigned generation, struct sgw_lead *lead);

#endif
