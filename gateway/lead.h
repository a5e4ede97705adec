/*
 * lead: which worker takes new connections first, with a store that reads
 * sessions ahead (store.h).
 *
 * A worker reads the sessions of the requests it took at one wakeup in one
 * round trip, so the more it takes at once, the less each one costs: the
 * store's work, the worker's and the switches between them. But an idle
 * worker is woken for each new connection while the others wait for the
 * store, so four workers take one or two connections each, and four
 * workers and four store backends take turns on the CPUs. So one worker
 * leads: the connections that arrive while it waits for the store are left
 * in the queue for it, to take together when it is back, unless it has
 * been away for longer than SGW_LEAD_AWAY_NS (a slow store call, a stopped
 * worker, or more connections than it keeps up with: it is away from
 * when it last caught up with the queue). A lead that is gone (not back
 * from a wait for SGW_LEAD_GONE_NS, stepped down, or reaped by the
 * master) is replaced by the first worker that looks.
 *
 * The state is a few words in a shared mapping the master makes before
 * it forks, changed with atomic operations and no lock, so a worker
 * killed at any point leaves nothing held. Times are CLOCK_MONOTONIC
 * nanoseconds, given by the caller.
 */
#ifndef SGW_LEAD_H
#define SGW_LEAD_H

#include <stdint.h>
#include <sys/types.h>

#define SGW_LEAD_AWAY_NS 1000000LL   /* the others wait this long, at most */
#define SGW_LEAD_GONE_NS 100000000LL /* then the lead is replaced */

struct sgw_lead;

/* A shared mapping, for the master to make before its first fork. NULL
 * with errno on failure. */
struct sgw_lead *sgw_lead_new(void);
void sgw_lead_free(struct sgw_lead *l);

/*
 * What worker `me` does with new connections now: *leading is set when it
 * leads (it claims the lead when there is none, or it is gone). Returns
 * how long, in ns, a worker that does not lead should leave them to the
 * lead; 0 when it should take them itself (it leads, the lead is waiting
 * for work too, or it has been away for SGW_LEAD_AWAY_NS).
 */
int64_t sgw_lead_hold_off(
    struct sgw_lead *l, pid_t me, int64_t now_ns, int *leading);

/* The lead, around its wait for work: about to wait, having taken every
 * connection queued (sgw_lead_waiting); back at now_ns (sgw_lead_back),
 * busy from then if it had waited, still away since it last caught up
 * if it had not. */
void sgw_lead_waiting(struct sgw_lead *l);
void sgw_lead_back(struct sgw_lead *l, int64_t now_ns);

/* pid no longer leads, if it did: it stops taking connections, or the
 * master reaped it. */
void sgw_lead_gone(struct sgw_lead *l, pid_t pid);

#endif
