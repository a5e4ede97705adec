/*
 * pg_server: a private PostgreSQL for unit tests. See pg_server.h.
 */
#include "pg_server.h"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "redis_server.h" /* test_free_port, test_msleep */

/* Runs argv (as the postgres user when as_pg), its output appended to
 * DIR/cmd.log; gives up after limit_s seconds. The exit status, or -1. */
static int
run_cmd(
    const struct pg_server *ps, int as_pg, int limit_s, const char *const *argv)
{
	const char *av[16];
	char log[96];
	int n = 0, status;
	pid_t pid;

	if (as_pg) {
		av[n++] = "runuser";
		av[n++] = "-u";
		av[n++] = "postgres";
		av[n++] = "--";
	}
	for (int i = 0; argv[i] != NULL && n < 15; i++)
		av[n++] = argv[i];
	av[n] = NULL;
	snprintf(log, sizeof(log), "%s/cmd.log", ps->dir);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(av[0], (char *const *)av);
		_exit(127);
	}
	for (int i = 0; i < limit_s * 20; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		test_msleep(50);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

static pid_t
read_postmaster_pid(const struct pg_server *ps)
{
	char path[96], line[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/data/postmaster.pid", ps->dir);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	return (pid_t)atoi(line);
}

int
pg_server_available(char *why, size_t whylen)
{
	if (geteuid() != 0) {
		snprintf(why, whylen,
		    "not root: initdb must run as the postgres user");
		return -1;
	}
	if (access(PG_BIN "/initdb", X_OK) != 0 ||
	    access(PG_BIN "/pg_ctl", X_OK) != 0) {
		snprintf(
		    why, whylen, "no PostgreSQL 15 server binaries in " PG_BIN);
		return -1;
	}
	if (getpwnam("postgres") == NULL) {
		snprintf(why, whylen, "no postgres user");
		return -1;
	}
	return 0;
}

int
pg_server_boot(struct pg_server *ps)
{
	char data[96], opts[256], logf[96];
	const char *start[] = {PG_BIN "/pg_ctl", "-D", data, "-l", logf, "-w",
	    "-t", "30", "-o", opts, "start", NULL};

	snprintf(data, sizeof(data), "%s/data", ps->dir);
	snprintf(logf, sizeof(logf), "%s/log", ps->dir);
	snprintf(opts, sizeof(opts),
	    "-p %d -k %s -c listen_addresses=127.0.0.1 "
	    "-c fsync=off -c full_page_writes=off",
	    ps->port, ps->dir);
	if (run_cmd(ps, 1, 40, start) != 0)
		return -1;
	ps->postmaster = read_postmaster_pid(ps);
	return 0;
}

int
pg_server_halt(struct pg_server *ps)
{
	char data[96];
	const char *stop[] = {PG_BIN "/pg_ctl", "-D", data, "-m", "fast", "-w",
	    "-t", "30", "stop", NULL};
	int rc;

	snprintf(data, sizeof(data), "%s/data", ps->dir);
	rc = run_cmd(ps, 1, 40, stop);
	if (rc != 0 && ps->postmaster > 0)
		kill(ps->postmaster, SIGKILL);
	ps->postmaster = 0;
	return rc == 0 ? 0 : -1;
}

int
pg_server_start(struct pg_server *ps, char *why, size_t whylen)
{
	struct passwd *pw;
	char data[96], port[16];
	const char *initdb[] = {PG_BIN "/initdb", "-D", data, "-A", "trust",
	    "-U", "sgw", "-E", "UTF8", "--no-locale", NULL};
	const char *createdb[] = {PG_BIN "/createdb", "-h", "127.0.0.1", "-p",
	    port, "-U", "sgw", "sessiongw", NULL};

	ps->postmaster = 0;
	if (pg_server_available(why, whylen) == -1)
		return -1;
	pw = getpwnam("postgres");
	snprintf(ps->dir, sizeof(ps->dir), "/tmp/sgw-pg-XXXXXX");
	if (mkdtemp(ps->dir) == NULL ||
	    chown(ps->dir, pw->pw_uid, pw->pw_gid) == -1 ||
	    chmod(ps->dir, 0700) == -1) {
		snprintf(why, whylen, "cannot make %s", ps->dir);
		return -1;
	}
	if ((ps->port = test_free_port()) <= 0) {
		snprintf(why, whylen, "no free port");
		return -1;
	}
	snprintf(port, sizeof(port), "%d", ps->port);
	snprintf(data, sizeof(data), "%s/data", ps->dir);
	if (run_cmd(ps, 1, 60, initdb) != 0 || pg_server_boot(ps) == -1 ||
	    run_cmd(ps, 1, 20, createdb) != 0) {
		pg_server_dump(ps, "cmd.log");
		pg_server_dump(ps, "log");
		snprintf(
		    why, whylen, "cannot start PostgreSQL (see %s)", ps->dir);
		return -1;
	}
	return 0;
}

void
pg_server_remove(struct pg_server *ps)
{
	const char *rm[] = {"rm", "-rf", ps->dir, NULL};

	if (ps->dir[0] == '\0')
		return;
	if (ps->postmaster > 0)
		pg_server_halt(ps);
	run_cmd(ps, 0, 30, rm);
	ps->dir[0] = '\0';
}

void
pg_server_conninfo(
    const struct pg_server *ps, const char *db, char *buf, size_t len)
{
	snprintf(buf, len, "host=127.0.0.1 port=%d user=sgw dbname=%s",
	    ps->port, db);
}

void
pg_server_dump(const struct pg_server *ps, const char *name)
{
	char path[96], buf[2048];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", ps->dir, name);
	if ((f = fopen(path, "r")) == NULL)
		return;
	if (fseek(f, -(long)(sizeof(buf) - 1), SEEK_END) == -1)
		rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	fprintf(stderr, "--- %s:\n%s\n", path, buf);
}
