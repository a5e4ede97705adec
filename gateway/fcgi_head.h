/*
 * fcgi_head: tells, from the bytes a connection has sent so far, whether
 * the head of a FastCGI request has arrived (worker.c peeks at them
 * before it hands the connection to libfcgi, which blocks until it has
 * read a request).
 */
#ifndef SGW_FCGI_HEAD_H
#define SGW_FCGI_HEAD_H

#include <stddef.h>

/*
 * 1 when the n bytes at b hold the head of a request: FastCGI records up
 * to the end of the PARAMS stream (its empty record), or a BEGIN_REQUEST
 * whose role is neither RESPONDER nor AUTHORIZER (refused at once), or
 * anything that is not FastCGI version 1 (libfcgi rejects it at once).
 * 0 while more is to come. Management records (FCGI_GET_VALUES) make no
 * head. Reads only b[0..n); b need not be NUL-terminated.
 */
int sgw_fcgi_head_complete(const unsigned char *b, size_t n);

#endif
