/*
 * clientaddr: who the client is (SPEC section 6, last outcome).
 */
#ifndef SGW_CLIENTADDR_H
#define SGW_CLIENTADDR_H

#include <stddef.h>

#include "conf.h"

/*
 * The client address: remote_addr, unless it lies in the ntrusted
 * networks of trusted (trusted_proxies; NULL, 0 trusts none);
 * then the right-most X-Forwarded-For entry that is not itself trusted
 * (or the left-most entry when all are trusted). A malformed entry stops
 * the walk and is not believed: the last address known good is used.
 * Writes a NUL-terminated address into out. Returns 0, or -1 when
 * remote_addr is NULL/empty or out is too small.
 */
int sgw_client_addr(const struct sgw_cidr *trusted, size_t ntrusted,
    const char *remote_addr, const char *xff, char *out, size_t outsz);

#endif
