/*
 * noop_responder: a pre-forked libfcgi responder that answers every
 * request with "200 OK" and an empty body, doing nothing else. It is the
 * baseline that scripts/bench.sh measures sessiongw against: same
 * library, same process model, same socket type, no work.
 *
 *   noop_responder ADDR [WORKERS]
 *
 * ADDR is HOST:PORT (IPv4) or unix:/path; WORKERS defaults to 4. The
 * master opens the socket itself (FCGX_OpenSocket would exit() on a bind
 * error), forks the workers and waits; SIGTERM or SIGINT stops the
 * workers (each finishes the request in hand) and then the master.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcgiapp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_WORKERS 256

static volatile sig_atomic_t stopping;
static volatile sig_atomic_t idle;
static int listen_fd = -1;

/* Worker: finish the request in hand; while idle in accept(), close the
 * listening socket under it so that accept() fails at once. */
static void
worker_on_term(int sig)
{
	(void)sig;
	stopping = 1;
	if (idle && listen_fd >= 0) {
		close(listen_fd);
		listen_fd = -1;
	}
}

static void
master_on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
set_handler(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = flags;
	sa.sa_handler = fn;
	sigaction(sig, &sa, NULL);
}

static int
open_listener(const char *addr)
{
	int fd, one = 1;

	if (strncmp(addr, "unix:", 5) == 0) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		const char *path = addr + 5;
		struct stat st;

		if (strlen(path) == 0 || strlen(path) >= sizeof(sun.sun_path)) {
			fprintf(
			    stderr, "noop_responder: bad unix path %s\n", path);
			return -1;
		}
		memcpy(sun.sun_path, path, strlen(path) + 1);
		if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(path);
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
		    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
		    chmod(path, 0666) == -1)
			goto fail;
	} else {
		struct sockaddr_in sin = {.sin_family = AF_INET};
		char host[64];
		const char *colon = strrchr(addr, ':');
		char *end;
		long port;

		if (colon == NULL || (size_t)(colon - addr) >= sizeof(host)) {
			fprintf(
			    stderr, "noop_responder: bad address %s\n", addr);
			return -1;
		}
		memcpy(host, addr, (size_t)(colon - addr));
		host[colon - addr] = '\0';
		port = strtol(colon + 1, &end, 10);
		if (*end != '\0' || port < 1 || port > 65535 ||
		    inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
			fprintf(
			    stderr, "noop_responder: bad address %s\n", addr);
			return -1;
		}
		sin.sin_port = htons((uint16_t)port);
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
		    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
		        sizeof(one)) == -1 ||
		    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
			goto fail;
	}
	/* The same backlog as sessiongw's sample configuration. */
	if (listen(fd, 1024) == -1)
		goto fail;
	return fd;
fail:
	fprintf(stderr, "noop_responder: cannot listen on %s: %s\n", addr,
	    strerror(errno));
	return -1;
}

static int
worker(int fd)
{
	FCGX_Request r;
	sigset_t none;

	set_handler(SIGTERM, worker_on_term, SA_RESTART);
	set_handler(SIGINT, worker_on_term, SA_RESTART);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	listen_fd = fd;
	if (FCGX_InitRequest(&r, fd, 0) != 0) {
		fprintf(stderr, "noop_responder: FCGX_InitRequest failed\n");
		return 1;
	}
	while (!stopping) {
		int got;

		idle = 1;
		if (stopping || listen_fd < 0)
			break;
		got = FCGX_Accept_r(&r);
		idle = 0;
		if (got < 0) {
			if (stopping)
				break;
			fprintf(stderr, "noop_responder: accept failed: %s\n",
			    strerror(-got));
			return 1;
		}
		FCGX_PutS("Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n",
		    r.out);
		FCGX_Finish_r(&r);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	pid_t pids[MAX_WORKERS] = {0};
	sigset_t block, old;
	int fd, i, n = 4, alive = 0, rc = 0;

	if (argc < 2 || argc > 3) {
		fprintf(stderr,
		    "usage: noop_responder HOST:PORT|unix:/path [WORKERS]\n");
		return 2;
	}
	if (argc == 3) {
		char *end;
		long w = strtol(argv[2], &end, 10);

		if (*end != '\0' || w < 1 || w > MAX_WORKERS) {
			fprintf(stderr,
			    "noop_responder: WORKERS must be 1..%d\n",
			    MAX_WORKERS);
			return 2;
		}
		n = (int)w;
	}
	/* Our own handlers first: FCGX_Init leaves a non-default disposition
	 * alone. No SA_RESTART in the master, so waitpid() sees the signal. */
	set_handler(SIGTERM, master_on_term, 0);
	set_handler(SIGINT, master_on_term, 0);
	set_handler(SIGPIPE, SIG_IGN, 0);
	if (FCGX_Init() != 0) {
		fprintf(stderr, "noop_responder: FCGX_Init failed\n");
		return 1;
	}
	if ((fd = open_listener(argv[1])) == -1)
		return 1;

	/* Block the stop signals while forking so that no worker is missed. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &old);
	for (i = 0; i < n; i++) {
		pid_t p = fork();

		if (p == -1) {
			perror("noop_responder: fork");
			break;
		}
		if (p == 0)
			_exit(worker(fd));
		pids[alive++] = p;
	}
	close(fd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (alive < n)
		stopping = 1;

	while (alive > 0) {
		int st;
		pid_t p;

		if (stopping) {
			for (i = 0; i < n; i++)
				if (pids[i] > 0)
					kill(pids[i], SIGTERM);
		}
		p = waitpid(-1, &st, 0);
		if (p == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < n; i++)
			if (pids[i] == p)
				pids[i] = 0;
		alive--;
		if (!stopping) {
			fprintf(stderr,
			    "noop_responder: worker %d ended unexpectedly; "
			    "stopping\n",
			    (int)p);
			stopping = 1;
			rc = 1;
		}
	}
	if (strncmp(argv[1], "unix:", 5) == 0)
		unlink(argv[1] + 5);
	return rc;
}
