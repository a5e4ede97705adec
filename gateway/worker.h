/*
 * worker: the loop of one worker process.
 */
#ifndef SGW_WORKER_H
#define SGW_WORKER_H

#include "runtime.h"

/* Serves FastCGI requests on the listening socket fd until SIGTERM or
 * max_requests. Installs the worker's signal handlers, drops privileges
 * (`user`), connects to Redis lazily. Returns the exit status: 0 after a
 * requested stop or a recycle, 1 on a failure. */
int sgw_worker_run(int fd, struct sgw_runtime *rt, unsigned generation);

#endif
