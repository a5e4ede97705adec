/*
 * master: the listening socket and the supervision of the workers.
 */
#ifndef SGW_MASTER_H
#define SGW_MASTER_H

#include <stddef.h>
#include <sys/types.h>

#include "runtime.h"

/* Opens a listening socket on addr with the given backlog (a unix socket
 * gets mode; one left by an earlier run is replaced). Returns the fd, or
 * -1 with "sessiongw: cannot listen on ADDR: reason" in err. */
int sgw_listen_open(const struct sgw_addr *addr, mode_t mode, int backlog,
    char *err, size_t errsz);

/* 0 when fd 0 is a listening socket (spawned mode), else -1. */
int sgw_listen_inherited(void);

/* Runs the master until SIGTERM/SIGINT; takes over *rt. Returns the
 * process exit status. */
int sgw_master_run(const char *conf_file, struct sgw_runtime *rt, int fd);

#endif
