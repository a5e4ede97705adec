/*
 * master: the listening socket and the supervision of the workers.
 */
#ifndef SGW_MASTER_H
#define SGW_MASTER_H

#include <stddef.h>

#include "runtime.h"

/* Opens the listening socket of conf->listen_addr (unix sockets get
 * listen_mode). Returns the fd, or -1 with "sessiongw: cannot listen on
 * ADDR: reason" in err. */
int sgw_listen_open(const struct sgw_conf *conf, char *err, size_t errsz);

/* 0 when fd 0 is a listening socket (spawned mode), else -1. */
int sgw_listen_inherited(void);

/* Runs the master until SIGTERM/SIGINT; takes over *rt. Returns the
 * process exit status. */
int sgw_master_run(const char *conf_file, struct sgw_runtime *rt, int fd);

#endif
