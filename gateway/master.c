/*
 * master: opens the listening socket, forks the workers and keeps them
 * there (SPEC section 2). It serves no request itself.
 *
 * Signals are blocked except while the master waits in ppoll(), so the
 * handlers only set flags and every decision happens in the loop.
 */
#include "master.h"
#include "store.h"
#include "sweeper.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lead.h"
#include "log.h"
#include "metrics.h"
#include "metrics_server.h"
#include "timefmt.h"
#include "worker.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define CRASH_WINDOW_MS                                                        \
	5000 /* a worker not ready after this no longer blocks starts */
#define STOP_GRACE_MS 30000 /* then stragglers are killed */
#define RETIRE_GRACE_MS 10000
#define REPLACE_WAIT_MS 5000    /* old workers serve until the new are ready */
#define METRICS_RESTART_MS 1000 /* a dead metrics server waits this long */
#define METRICS_BACKLOG 64

struct child {
	pid_t pid;
	unsigned gen;
	int64_t started;   /* monotonic ms */
	int64_t retire_at; /* 0, or when a retiring worker is killed */
	int ready;         /* it reported it is serving (ready pipe) */
};

static volatile sig_atomic_t got_term, got_hup, got_usr1, got_chld;

static void
on_signal(int sig)
{
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		got_term = 1;
		break;
	case SIGHUP:
		got_hup = 1;
		break;
	case SIGUSR1:
		got_usr1 = 1;
		break;
	case SIGCHLD:
		got_chld = 1;
		break;
	}
}

int
sgw_listen_open(
    const struct sgw_addr *a, mode_t mode, int backlog, char *err, size_t errsz)
{
	char where[300];
	int fd = -1, one = 1, defer = 1;

	sgw_addr_str(a, where, sizeof(where));
	if (a->is_unix) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		struct stat st;

		memcpy(sun.sun_path, a->path, strlen(a->path) + 1);
		/* A socket file left by an earlier run is ours to replace;
		 * anything else at that path is not. */
		if (lstat(a->path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(a->path);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
		        -1 ||
		    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
		    chmod(a->path, mode) == -1)
			goto fail;
	} else {
		struct sockaddr_in sin = {.sin_family = AF_INET,
		    .sin_port = htons((uint16_t)a->port)};

		if (inet_pton(AF_INET, a->host, &sin.sin_addr) != 1) {
			errno = EINVAL;
			goto fail;
		}
		if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
		        -1 ||
		    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
		        sizeof(one)) == -1 ||
		    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
			goto fail;
		/* A connection reaches accept4 once its first bytes have
		 * come (a web server sends the request as it connects), so
		 * the worker reads it whole at once: no empty read, no
		 * second wakeup. One that sends nothing is handed over after
		 * a second (request_timeout then runs). Only an optimisation:
		 * a kernel without it accepts as before. */
		setsockopt(
		    fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof(defer));
	}
	if (listen(fd, backlog) == -1)
		goto fail;
	return fd;
fail:
	snprintf(err, errsz, "sessiongw: cannot listen on %s: %s", where,
	    strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

int
sgw_listen_inherited(void)
{
	int v = 0;
	socklen_t len = sizeof(v);

	/* spawn-fcgi, lighttpd's bin-path and mod_fcgid hand us a listening
	 * socket on fd 0. */
	if (getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 && v == 1)
		return 0;
	return -1;
}

struct master {
	struct sgw_runtime rt;
	const char *conf_file;
	int fd;
	unsigned gen;
	struct child *kids;
	size_t nkids, cap;
	int crashes;        /* workers in a row that died before ready */
	int64_t next_spawn; /* monotonic ms: back-off */
	int64_t retire_by;  /* 0, or when old workers retire at the latest */
	int ready_rd, ready_wr; /* the ready pipe: workers write their pid */
	sigset_t waitmask;      /* the mask while waiting (signals open) */
	struct sgw_metrics *metrics; /* shared with every child */
	struct sgw_lead *lead;       /* shared with every worker */
	int metrics_fd;              /* the metrics listener, or -1 when off */
	pid_t metrics_pid;           /* the metrics server, or 0 */
	int64_t metrics_next;        /* monotonic ms: its restart back-off */
	pid_t sweeper_pid;           /* the sweeper, or 0 */
	int64_t sweeper_next; /* monotonic ms: when it may be (re)started */
	struct sgw_sweeper_pipes pipes; /* metrics server <-> sweeper */
};

/* A sweeper runs when the store has no TTLs of its own, or when the
 * metrics server needs someone to count sessions for it. */
static int
wants_sweeper(const struct master *m)
{
	const struct sgw_store_backend *b =
	    sgw_store_backend_find(m->rt.conf.store_backend);

	return b != NULL && (!b->expires_by_itself || m->metrics_fd != -1);
}

static void
spawn_sweeper(struct master *m)
{
	pid_t pid = fork();

	if (pid == -1) {
		sgw_log_errno(SGW_LOG_ERROR, "fork");
		m->sweeper_next = sgw_mono_ms() + METRICS_RESTART_MS;
		return;
	}
	if (pid == 0) {
		free(m->kids);
		close(m->fd);
		if (m->metrics_fd != -1)
			close(m->metrics_fd);
		_exit(sgw_sweeper_run(
		    &m->rt.conf, m->pipes.ask[0], m->pipes.done[1]));
	}
	m->sweeper_pid = pid;
}

/* The metrics listener is opened like the main one, so it fails with the
 * same clear message. */
static int
metrics_listen(const struct sgw_conf *conf, char *err, size_t errsz)
{
	return sgw_listen_open(&conf->metrics_addr, conf->listen_mode,
	    METRICS_BACKLOG, err, errsz);
}

static void
spawn_metrics(struct master *m)
{
	pid_t pid = fork();

	if (pid == -1) {
		sgw_log_errno(SGW_LOG_ERROR, "fork");
		m->metrics_next = sgw_mono_ms() + METRICS_RESTART_MS;
		return;
	}
	if (pid == 0) {
		free(m->kids);
		/* It answers HTTP only; the FastCGI socket is not its own (in
		 * spawned mode it is fd 0, which an exec would pass on). */
		if (m->fd == 0) {
			int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

			if (null == -1 || dup2(null, 0) == -1)
				close(0);
		} else {
			close(m->fd);
		}
		close(m->ready_rd);
		close(m->ready_wr);
		/* It must hold no secret: the exec leaves all of this memory
		 * behind; the wipe covers the moments before it. */
		sgw_runtime_wipe_secrets(&m->rt);
		sgw_metrics_exec(m->metrics_fd, &m->rt.conf);
		_exit(1);
	}
	m->metrics_pid = pid;
}

static int
spawn(struct master *m)
{
	pid_t pid;

	if (m->nkids == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct child *k = realloc(m->kids, cap * sizeof(*k));

		if (k == NULL)
			return -1;
		m->kids = k;
		m->cap = cap;
	}
	pid = fork();
	if (pid == -1) {
		sgw_log_errno(SGW_LOG_ERROR, "fork");
		return -1;
	}
	if (pid == 0) {
		free(m->kids);
		if (m->metrics_fd != -1)
			close(m->metrics_fd);
		close(m->ready_rd);
		_exit(sgw_worker_run(
		    m->fd, m->ready_wr, &m->rt, m->gen, m->lead));
	}
	m->kids[m->nkids++] = (struct child){pid, m->gen, sgw_mono_ms(), 0, 0};
	sgw_metrics_set_workers(m->nkids);
	return 0;
}

/* The workers of the current generation; with ready, those of them that
 * reported they are serving. */
static size_t
current_workers(const struct master *m, int ready)
{
	size_t n = 0;

	for (size_t i = 0; i < m->nkids; i++)
		n += m->kids[i].gen == m->gen && (!ready || m->kids[i].ready);
	return n;
}

/* A current worker that has not reported ready yet (and is young enough
 * that it still may). */
static int
starting(const struct master *m, int64_t now)
{
	for (size_t i = 0; i < m->nkids; i++)
		if (m->kids[i].gen == m->gen && !m->kids[i].ready &&
		    now - m->kids[i].started < CRASH_WINDOW_MS)
			return 1;
	return 0;
}

static void
signal_all(struct master *m, int sig, int old_only)
{
	for (size_t i = 0; i < m->nkids; i++)
		if (!old_only || m->kids[i].gen != m->gen)
			kill(m->kids[i].pid, sig);
}

/* Marks the workers that reported they are serving. Read before reap(),
 * so that a worker that was ready and then died counts as ready. */
static void
read_ready(struct master *m)
{
	pid_t pids[64];
	ssize_t n;

	while ((n = read(m->ready_rd, pids, sizeof(pids))) > 0) {
		for (size_t k = 0; k < (size_t)n / sizeof(pids[0]); k++) {
			for (size_t i = 0; i < m->nkids; i++) {
				if (m->kids[i].pid != pids[k])
					continue;
				m->kids[i].ready = 1;
				/* The configuration can start a worker:
				 * whatever made the earlier ones die is over.
				 */
				if (m->kids[i].gen == m->gen)
					m->crashes = 0;
			}
		}
	}
}

/*
 * Collects dead children. A current worker that died before it was ready
 * (a crash loop at start-up: bad user, no memory), or that exited with a
 * failure soon after its start, counts towards the crash back-off. One
 * that was serving and was killed (the OOM killer, an operator, a request
 * that crashed it) is not a crash: it is replaced at once.
 */
static void
reap(struct master *m, int stopping)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == m->sweeper_pid) {
			m->sweeper_pid = 0;
			if (stopping)
				continue;
			/* A reload stops it on purpose (status 0): start the
			 * new one at once; a failure waits a little. */
			if (WIFSIGNALED(status) || WEXITSTATUS(status) != 0) {
				log_warnx(
				    "sweeper %d died; restarting it", (int)pid);
				m->sweeper_next =
				    sgw_mono_ms() + METRICS_RESTART_MS;
			}
			continue;
		}
		if (pid == m->metrics_pid) {
			m->metrics_pid = 0;
			if (stopping)
				continue;
			if (WIFSIGNALED(status))
				log_warnx("metrics server %d killed by signal "
				          "%d; restarting it",
				    (int)pid, WTERMSIG(status));
			else
				log_warnx(
				    "metrics server %d exited with status %d; "
				    "restarting it",
				    (int)pid, WEXITSTATUS(status));
			m->metrics_next = sgw_mono_ms() + METRICS_RESTART_MS;
			continue;
		}
		for (size_t i = 0; i < m->nkids; i++) {
			struct child c = m->kids[i];
			int64_t lived;

			if (c.pid != pid)
				continue;
			m->kids[i] = m->kids[--m->nkids];
			sgw_metrics_set_workers(m->nkids);
			sgw_lead_gone(m->lead, pid);
			lived = sgw_mono_ms() - c.started;
			if (WIFSIGNALED(status))
				log_warnx("worker %d killed by signal %d after "
				          "%lld ms",
				    (int)pid, WTERMSIG(status),
				    (long long)lived);
			else if (WEXITSTATUS(status) != 0)
				log_warnx("worker %d exited with status %d",
				    (int)pid, WEXITSTATUS(status));
			if (stopping || c.gen != m->gen)
				break;
			/* The main loop starts its replacement (perhaps after
			 * the back-off); counted here, once per death. */
			sgw_metrics_worker_restart();
			if (!c.ready ||
			    (WIFEXITED(status) && WEXITSTATUS(status) != 0 &&
			        lived < CRASH_WINDOW_MS)) {
				int64_t d = BACKOFF_MIN_MS;

				for (int k = 1;
				     k < m->crashes && d < BACKOFF_MAX_MS; k++)
					d *= 2;
				m->crashes++;
				m->next_spawn = sgw_mono_ms() +
				    (d < BACKOFF_MAX_MS ? d : BACKOFF_MAX_MS);
				log_warnx("workers are dying quickly; next "
				          "start in %lld ms",
				    (long long)(m->next_spawn - sgw_mono_ms()));
			} else {
				m->crashes = 0;
			}
			break;
		}
	}
}

static void
reload(struct master *m)
{
	struct sgw_runtime fresh;
	struct sgw_errs errs = {0};

	log_info("SIGHUP: re-reading %s", m->conf_file);
	if (sgw_runtime_load(m->conf_file, &fresh, &errs) == -1) {
		for (size_t i = 0; i < errs.n; i++)
			log_error("%s", errs.msg[i]);
		log_error("configuration not reloaded; keeping the old one");
		sgw_errs_clear(&errs);
		return;
	}
	if (strcmp(fresh.conf.listen, m->rt.conf.listen) != 0)
		log_warnx(
		    "listen changed to %s: restart to apply it (keeping %s)",
		    fresh.conf.listen, m->rt.conf.listen);
	/* allowed_clients needs nothing: each new worker checks its peers
	 * against its own configuration. */
	if (strcmp(fresh.conf.metrics_listen, m->rt.conf.metrics_listen) != 0)
		log_warnx("metrics_listen changes need a restart");
	if (sgw_log_open(fresh.conf.log_level, fresh.conf.log_file) == -1)
		sgw_log_errno(SGW_LOG_ERROR, "cannot open log file %s",
		    fresh.conf.log_file);
	sgw_runtime_free(&m->rt);
	m->rt = fresh;
	m->gen++;
	m->crashes = 0;
	m->next_spawn = 0;
	/* New workers first; the old ones serve on until they are ready
	 * (retire_old), so that no request waits for a worker to start. */
	while (
	    current_workers(m, 0) < (size_t)m->rt.conf.workers && spawn(m) == 0)
		;
	m->retire_by = sgw_mono_ms() + REPLACE_WAIT_MS;
	/* The sweeper follows the new configuration too (its store, its
	 * cleanup_interval): the main loop starts the next one. */
	if (m->sweeper_pid > 0)
		kill(m->sweeper_pid, SIGTERM);
	log_info("configuration reloaded (generation %u)", m->gen);
}

/*
 * After a reload, once every new worker reports ready, or at retire_by at
 * the latest (a new configuration whose workers cannot start does not
 * keep the old ones), the old workers are told to leave: SIGUSR2, they
 * finish what they hold without serving the queue, which the new workers
 * take under the new configuration. Returns how long to wait before
 * looking again, or -1 when there is nothing to wait for.
 */
static int64_t
retire_old(struct master *m, int64_t now)
{
	if (m->retire_by == 0)
		return -1;
	if (current_workers(m, 1) < (size_t)m->rt.conf.workers &&
	    now < m->retire_by)
		return m->retire_by - now;
	for (size_t i = 0; i < m->nkids; i++)
		if (m->kids[i].gen != m->gen && m->kids[i].retire_at == 0)
			m->kids[i].retire_at = now + RETIRE_GRACE_MS;
	signal_all(m, SIGUSR2, 1);
	m->retire_by = 0;
	return -1;
}

static void
install_signals(sigset_t *waitmask)
{
	struct sigaction sa;
	sigset_t block;
	int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGCHLD};

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	sigemptyset(&block);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaction(sigs[i], &sa, NULL);
		sigaddset(&block, sigs[i]);
	}
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigprocmask(SIG_BLOCK, &block, waitmask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigdelset(waitmask, sigs[i]);
}

/* Waits for a signal, a worker's ready report or ms. */
static void
wait_ms(struct master *m, int64_t ms)
{
	struct timespec ts = {
	    .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
	struct pollfd p = {.fd = m->ready_rd, .events = POLLIN};

	ppoll(&p, 1, &ts, &m->waitmask);
}

static int
stop(struct master *m)
{
	int64_t deadline = sgw_mono_ms() + STOP_GRACE_MS;

	log_info("stopping: waiting for %zu workers", m->nkids);
	signal_all(m, SIGTERM, 0);
	if (m->metrics_pid > 0)
		kill(m->metrics_pid, SIGTERM);
	if (m->sweeper_pid > 0)
		kill(m->sweeper_pid, SIGTERM);
	while (m->nkids > 0 || m->metrics_pid > 0 || m->sweeper_pid > 0) {
		if (sgw_mono_ms() >= deadline) {
			log_warnx(
			    "killing %zu workers that did not stop in time",
			    m->nkids);
			signal_all(m, SIGKILL, 0);
			if (m->metrics_pid > 0)
				kill(m->metrics_pid, SIGKILL);
			if (m->sweeper_pid > 0)
				kill(m->sweeper_pid, SIGKILL);
			deadline = sgw_mono_ms() + 1000 * 3600;
		}
		wait_ms(m, 200);
		read_ready(m);
		reap(m, 1);
	}
	log_info("stopped");
	return 0;
}

int
sgw_master_run(const char *conf_file, struct sgw_runtime *rt, int fd)
{
	struct master m = {.conf_file = conf_file,
	    .fd = fd,
	    .gen = 1,
	    .metrics_fd = -1,
	    .ready_rd = -1,
	    .ready_wr = -1,
	    .pipes = {{-1, -1}, {-1, -1}}};
	char err[512];
	int rc, fl, p[2];

	m.rt = *rt;
	memset(rt, 0, sizeof(*rt));
	/* Workers poll the socket and accept only what is there: a worker
	 * that lost the race gets EAGAIN instead of sleeping in accept(), and
	 * a stopping one can serve the queue and stop when it is empty. */
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1) {
		fprintf(stderr,
		    "sessiongw: cannot set up the listening socket: %s\n",
		    strerror(errno));
		rc = 1;
		goto done;
	}
	m.ready_rd = p[0];
	m.ready_wr = p[1];
	/* Before the first fork: every worker of every generation, and the
	 * metrics server, must see the same counters. */
	if ((m.metrics = sgw_metrics_new()) == NULL) {
		fprintf(stderr,
		    "sessiongw: cannot map the metrics counters: %s\n",
		    strerror(errno));
		rc = 1;
		goto done;
	}
	sgw_metrics_attach(m.metrics);
	if ((m.lead = sgw_lead_new()) == NULL) {
		fprintf(stderr, "sessiongw: cannot map the workers' lead: %s\n",
		    strerror(errno));
		rc = 1;
		goto done;
	}
	if (m.rt.conf.metrics_listen[0] != '\0' &&
	    (m.metrics_fd = metrics_listen(&m.rt.conf, err, sizeof(err))) ==
	        -1) {
		fprintf(stderr, "%s\n", err);
		rc = 1;
		goto done;
	}
	sgw_metrics_set_backend(m.metrics, m.rt.conf.store_backend);
	if (sgw_sweeper_pipes_open(&m.pipes) == -1) {
		fprintf(stderr, "sessiongw: cannot make pipes: %s\n",
		    strerror(errno));
		rc = 1;
		goto done;
	}
	sgw_metrics_set_scrape_pipe(m.pipes.ask[1], m.pipes.done[0]);
	install_signals(&m.waitmask);
	log_info("sessiongw %s: master started, %d workers", SGW_VERSION,
	    m.rt.conf.workers);
	for (;;) {
		int64_t now, wait = 1000, retire_wait;

		if (got_term) {
			rc = stop(&m);
			break;
		}
		if (got_usr1) {
			got_usr1 = 0;
			sgw_log_reopen();
			signal_all(&m, SIGUSR1, 0);
		}
		if (got_hup) {
			got_hup = 0;
			reload(&m);
		}
		got_chld = 0;
		read_ready(&m);
		reap(&m, 0);
		now = sgw_mono_ms();
		retire_wait = retire_old(&m, now);
		for (size_t i = 0; i < m.nkids; i++)
			if (m.kids[i].retire_at != 0 &&
			    now >= m.kids[i].retire_at) {
				log_warnx("worker %d of an old generation did "
				          "not leave; "
				          "killing it",
				    (int)m.kids[i].pid);
				kill(m.kids[i].pid, SIGKILL);
				m.kids[i].retire_at = 0;
			}
		/* Every empty slot is filled in one pass. After crashes,
		 * once the back-off is over, one worker at a time, until one
		 * reports ready (read_ready resets the count). */
		while (current_workers(&m, 0) < (size_t)m.rt.conf.workers) {
			if (m.crashes > 0 && now < m.next_spawn) {
				wait = m.next_spawn - now;
				break;
			}
			if (m.crashes > 0 && starting(&m, now))
				break;
			if (spawn(&m) == -1) {
				m.crashes++;
				m.next_spawn = now + BACKOFF_MAX_MS;
				break;
			}
		}
		if (m.metrics_fd != -1 && m.metrics_pid == 0) {
			if (now >= m.metrics_next)
				spawn_metrics(&m);
			else if (m.metrics_next - now < wait)
				wait = m.metrics_next - now;
		}
		if (wants_sweeper(&m) && m.sweeper_pid == 0) {
			if (now >= m.sweeper_next)
				spawn_sweeper(&m);
			else if (m.sweeper_next - now < wait)
				wait = m.sweeper_next - now;
		}
		if (retire_wait >= 0 && retire_wait < wait)
			wait = retire_wait;
		if (!got_term && !got_hup && !got_chld && !got_usr1)
			wait_ms(&m, wait);
	}
done:
	if (m.metrics_fd != -1)
		close(m.metrics_fd);
	if (m.ready_rd != -1) {
		close(m.ready_rd);
		close(m.ready_wr);
	}
	sgw_metrics_attach(NULL);
	sgw_metrics_free(m.metrics);
	sgw_lead_free(m.lead);
	free(m.kids);
	sgw_runtime_free(&m.rt);
	return rc;
}
