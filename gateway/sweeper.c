/*
 * sweeper: expired sessions swept by one process, and live sessions
 * counted for the metrics server. See sweeper.h.
 */
#include "sweeper.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "proc.h"
#include "store.h"
#include "timefmt.h"

/* A batch is one bounded write transaction (lmdb) or statement
 * (postgres): short enough that a login waiting for the writer is not
 * held up for long. */
#define SWEEP_BATCH 256
/* One round stops after this long even when more has expired; the next
 * round goes on where it stopped. */
#define SWEEP_ROUND_MS 2000

static volatile sig_atomic_t stopping;

static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static int
pipe_nb(int fd[2])
{
	if (pipe2(fd, O_CLOEXEC | O_NONBLOCK) == -1)
		return -1;
	return 0;
}

int
sgw_sweeper_pipes_open(struct sgw_sweeper_pipes *p)
{
	if (pipe_nb(p->ask) == -1)
		return -1;
	if (pipe_nb(p->done) == -1) {
		close(p->ask[0]);
		close(p->ask[1]);
		return -1;
	}
	return 0;
}

static void
drain(int fd)
{
	char buf[64];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

int
sgw_sweeper_ask(int ask_fd, int done_fd, int wait_ms)
{
	struct pollfd pfd = {.fd = done_fd, .events = POLLIN};
	int64_t until = sgw_mono_ms() + wait_ms;
	char b = 1;

	if (ask_fd < 0 || done_fd < 0)
		return -1;
	/* An answer to an earlier scrape that came too late is stale. */
	drain(done_fd);
	if (write(ask_fd, &b, 1) != 1)
		return -1;
	for (;;) {
		int64_t left = until - sgw_mono_ms();
		int n;

		if (left <= 0)
			return -1;
		n = poll(&pfd, 1, (int)left);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		drain(done_fd);
		return 0;
	}
}

/* One round: batches until nothing expired is left or the round is over. */
static void
sweep(struct sgw_store *st)
{
	int64_t started = sgw_mono_ms(), now = sgw_now_ms();
	size_t total = 0;
	int more = 1, rc = SGW_STORE_OK;

	while (more && !stopping && sgw_mono_ms() - started < SWEEP_ROUND_MS) {
		size_t n = 0;

		more = 0;
		rc = st->ops->sweep(st, now, SWEEP_BATCH, &n, &more);
		if (rc != SGW_STORE_OK)
			break;
		total += n;
	}
	if (rc != SGW_STORE_OK) {
		log_error("sweep: %s", st->errstr);
		sgw_metrics_store_error();
		return;
	}
	sgw_metrics_sessions_expired(total);
	sgw_metrics_cleanup_ran(now);
	/* One line per sweep (SPEC section 8), so an operator sees it run. */
	log_info("sweep: %zu expired session%s removed in %lld ms%s", total,
	    total == 1 ? "" : "s", (long long)(sgw_mono_ms() - started),
	    more ? " (more left for the next round)" : "");
}

static void
count(struct sgw_store *st)
{
	uint64_t n = 0;

	if (st->ops->active(st, sgw_now_ms(), &n) == SGW_STORE_OK) {
		sgw_metrics_set_active(n);
		return;
	}
	log_error("counting sessions: %s", st->errstr);
	sgw_metrics_store_error();
}

int
sgw_sweeper_run(const struct sgw_conf *conf, int ask_fd, int done_fd)
{
	struct sgw_errs errs = {0};
	struct sgw_store *st;
	static const struct sgw_proc_handler h[] = {
	    {SIGTERM, on_term},
	    {SIGINT, on_term},
	};
	int64_t next;

	sgw_proc_signals(h, sizeof(h) / sizeof(h[0]));
	sgw_proc_unblock_signals();

	/* Named apart from the workers, so that `pgrep -x sessiongw` (and
	 * an operator's ps) tells them apart; it dies with the master. */
	prctl(PR_SET_NAME, "sgw-sweeper", 0, 0, 0);
	if (sgw_proc_drop_privileges(conf, "sweeper") == -1)
		return 1;
	/* After the drop, which clears it. */
	prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	if ((st = sgw_store_open(conf, SGW_STORE_SERVE, &errs)) == NULL) {
		for (size_t i = 0; i < errs.n; i++)
			log_error("sweeper: %s", errs.msg[i]);
		sgw_errs_clear(&errs);
		return 1;
	}
	log_info("sweeper started (store %s, every %lld ms)", st->backend,
	    (long long)conf->cleanup_interval_ms);
	next = sgw_mono_ms();
	while (!stopping) {
		struct pollfd pfd = {.fd = ask_fd, .events = POLLIN};
		int64_t wait = next - sgw_mono_ms();
		char b = 1;
		int n;

		if (st->ops->sweep != NULL && wait <= 0) {
			sweep(st);
			next = sgw_mono_ms() + conf->cleanup_interval_ms;
			continue;
		}
		if (st->ops->sweep == NULL || wait > 60000)
			wait = 60000;
		n = poll(&pfd, ask_fd >= 0 ? 1 : 0, (int)wait);
		if (n > 0 && (pfd.revents & POLLIN)) {
			drain(ask_fd);
			count(st);
			if (write(done_fd, &b, 1) < 0 && errno != EAGAIN)
				log_debug("sweeper: cannot answer the metrics "
				          "server");
		} else if (n > 0 && (pfd.revents & (POLLHUP | POLLERR))) {
			ask_fd = -1; /* the metrics server is gone for good */
		}
	}
	sgw_store_close(st);
	log_info("sweeper exiting");
	return 0;
}
