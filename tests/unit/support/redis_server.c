/*
 * redis_server: a private redis-server for unit tests. See redis_server.h.
 */
#include "redis_server.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The servers the SIGALRM handler kills. */
#define MAX_SERVERS 4
static struct redis_server *alarmed[MAX_SERVERS];

void
test_msleep(int64_t ms)
{
	struct timespec ts = {
	    .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

int
test_free_port(void)
{
	struct sockaddr_in sa = {
	    .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

redisContext *
redis_server_connect(int port)
{
	struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);

	if (c != NULL && c->err == 0) {
		struct timeval cmd = {.tv_sec = 2, .tv_usec = 0};

		(void)redisSetTimeout(c, cmd);
	}
	return c;
}

static int
answers(int port)
{
	redisContext *c = redis_server_connect(port);
	redisReply *r = NULL;
	int ok;

	if (c != NULL && c->err == 0)
		r = redisCommand(c, "PING");
	/* A server with requirepass answers too, if only to say NOAUTH. */
	ok = r != NULL &&
	    ((r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0) ||
	        (r->type == REDIS_REPLY_ERROR &&
	            strncmp(r->str, "NOAUTH", 6) == 0));
	if (r != NULL)
		freeReplyObject(r);
	if (c != NULL)
		redisFree(c);
	return ok;
}

static void
on_alarm(int sig)
{
	static const char msg[] = "redis test: a store call hung\n";

	(void)sig;
	for (int i = 0; i < MAX_SERVERS; i++)
		if (alarmed[i] != NULL && alarmed[i]->pid > 0)
			kill(alarmed[i]->pid, SIGKILL);
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(1);
}

/* Runs redis-server on rs->port and waits (at most 5 s) for its PING. */
static int
launch(struct redis_server *rs)
{
	char port[16];
	const char *av[32];
	int n = 0;
	pid_t pid;

	snprintf(port, sizeof(port), "%d", rs->port);
	for (const char *const *a = (const char *const[]){"redis-server",
	         "--port", port, "--bind", "127.0.0.1", "--save", "",
	         "--appendonly", "no", "--dir", rs->dir, NULL};
	     *a != NULL; a++)
		av[n++] = *a;
	for (int i = 0; rs->args != NULL && rs->args[i] != NULL && n < 31; i++)
		av[n++] = rs->args[i];
	av[n] = NULL;
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (null != -1) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		execvp(av[0], (char *const *)av);
		_exit(127);
	}
	rs->pid = pid;
	for (int i = 0; i < 100; i++) {
		int status;

		if (answers(rs->port))
			return 0;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			rs->pid = 0;
			return -1;
		}
		test_msleep(50);
	}
	return -1;
}

static void
halt(struct redis_server *rs)
{
	pid_t pid = rs->pid;

	if (pid <= 0)
		return;
	/* A test that failed while redis was stopped must not leave it so. */
	kill(pid, SIGCONT);
	kill(pid, SIGTERM);
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
	rs->pid = 0;
}

static void
rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	if (d != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 ||
			    strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
}

int
redis_server_start(struct redis_server *rs, char *why, size_t whylen)
{
	return redis_server_start_with(rs, NULL, why, whylen);
}

int
redis_server_start_with(
    struct redis_server *rs, const char *const *args, char *why, size_t whylen)
{
	struct sigaction sa = {0};

	memset(rs, 0, sizeof(*rs));
	rs->args = args;
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	for (int i = 0; i < MAX_SERVERS; i++)
		if (alarmed[i] == NULL || alarmed[i] == rs) {
			alarmed[i] = rs;
			break;
		}
	snprintf(rs->dir, sizeof(rs->dir), "/tmp/sgw-redis-XXXXXX");
	if (mkdtemp(rs->dir) == NULL) {
		snprintf(why, whylen, "mkdtemp: %s", strerror(errno));
		rs->dir[0] = '\0';
		return -1;
	}
	if ((rs->port = test_free_port()) <= 0 || launch(rs) == -1) {
		snprintf(why, whylen, "cannot start redis-server on port %d",
		    rs->port);
		redis_server_stop(rs);
		return -1;
	}
	return 0;
}

int
redis_server_restart(struct redis_server *rs)
{
	halt(rs);
	return launch(rs);
}

void
redis_server_stop(struct redis_server *rs)
{
	halt(rs);
	if (rs->dir[0] != '\0')
		rm_dir(rs->dir);
	rs->dir[0] = '\0';
	for (int i = 0; i < MAX_SERVERS; i++)
		if (alarmed[i] == rs)
			alarmed[i] = NULL;
}
