/*
 * lead: which worker takes new connections first. See lead.h.
 */
#include "lead.h"

#include <stddef.h>
#include <sys/mman.h>

struct sgw_lead {
	pid_t pid;         /* 0: none */
	int waiting;       /* the lead waits for work, caught up */
	int64_t busy_from; /* when it last stopped waiting */
	int64_t back;      /* when it last came back from a wait */
};

struct sgw_lead *
sgw_lead_new(void)
{
	void *p = mmap(NULL, sizeof(struct sgw_lead), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p; /* zeroed: no lead */
}

void
sgw_lead_free(struct sgw_lead *l)
{
	if (l != NULL)
		munmap(l, sizeof(*l));
}

int64_t
sgw_lead_hold_off(struct sgw_lead *l, pid_t me, int64_t now, int *leading)
{
	pid_t pid = __atomic_load_n(&l->pid, __ATOMIC_ACQUIRE);
	int64_t away;

	*leading = pid == me;
	if (*leading)
		return 0;
	/* Waiting for work too: it may not be the one woken for a new
	 * connection, so whoever is takes it. */
	if (pid != 0 && __atomic_load_n(&l->waiting, __ATOMIC_ACQUIRE))
		return 0;
	if (pid == 0 ||
	    now - __atomic_load_n(&l->back, __ATOMIC_ACQUIRE) >=
	        SGW_LEAD_GONE_NS) {
		/* Busy from now: whoever looks next gives it its time. */
		__atomic_store_n(&l->waiting, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&l->busy_from, now, __ATOMIC_RELEASE);
		__atomic_store_n(&l->back, now, __ATOMIC_RELEASE);
		*leading = __atomic_compare_exchange_n(
		    &l->pid, &pid, me, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
		return 0;
	}
	away = now - __atomic_load_n(&l->busy_from, __ATOMIC_ACQUIRE);
	return away < SGW_LEAD_AWAY_NS ? SGW_LEAD_AWAY_NS - away : 0;
}

void
sgw_lead_waiting(struct sgw_lead *l)
{
	__atomic_store_n(&l->waiting, 1, __ATOMIC_RELEASE);
}

void
sgw_lead_back(struct sgw_lead *l, int64_t now)
{
	if (__atomic_load_n(&l->waiting, __ATOMIC_ACQUIRE))
		__atomic_store_n(&l->busy_from, now, __ATOMIC_RELEASE);
	__atomic_store_n(&l->back, now, __ATOMIC_RELEASE);
	__atomic_store_n(&l->waiting, 0, __ATOMIC_RELEASE);
}

void
sgw_lead_gone(struct sgw_lead *l, pid_t pid)
{
	if (l != NULL && pid != 0)
		__atomic_compare_exchange_n(
		    &l->pid, &pid, 0, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
