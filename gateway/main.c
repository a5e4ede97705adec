/*
 * main: arguments and subcommands (SPEC sections 2 and 3).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "master.h"
#include "metrics.h"
#include "metrics_server.h"
#include "runtime.h"
#include "session.h"
#include "store.h"
#include "timefmt.h"

#define DEFAULT_CONF "/etc/sessiongw/sessiongw.conf"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: sessiongw [-c FILE] [-t] [-v]\n"
	    "       sessiongw passwd [-c FILE] [-B] [--keep-sessions] USER "
	    "[ROLE...]\n"
	    "       sessiongw sessions list [-c FILE] USER\n"
	    "       sessiongw sessions revoke [-c FILE] USER [ID]\n"
	    "       sessiongw store init [-c FILE]\n"
	    "       sessiongw secret\n");
	exit(2);
}

static void
print_errs(struct sgw_errs *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		fprintf(stderr, "%s\n", errs->msg[i]);
	if (errs->dropped > 0)
		fprintf(stderr, "(and %zu more problems)\n", errs->dropped);
	sgw_errs_clear(errs);
}

/* Loads only the configuration file (subcommands need no keys). */
static int
load_conf(const char *file, struct sgw_conf *conf)
{
	struct sgw_errs errs = {0};

	if (sgw_conf_load(file, conf, &errs) == -1) {
		print_errs(&errs);
		return -1;
	}
	return 0;
}

/* One line from stdin, without echo when it is a terminal. */
static int
read_password(char *buf, size_t size)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO), rc = 0;
	size_t n;

	if (tty) {
		fprintf(stderr, "Password: ");
		if (tcgetattr(STDIN_FILENO, &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
		} else {
			tty = 0;
		}
	}
	if (fgets(buf, (int)size, stdin) == NULL)
		rc = -1;
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	if (rc == -1)
		return -1;
	n = strcspn(buf, "\r\n");
	if (buf[n] == '\0' && n == size - 1)
		return -1; /* longer than the buffer */
	buf[n] = '\0';
	return n > 0 ? 0 : -1;
}

static int
cmd_secret(void)
{
	char line[SGW_SECRET_LINE];

	if (sgw_secret_new(line) == -1) {
		fprintf(
		    stderr, "sessiongw: the random number generator failed\n");
		return 1;
	}
	printf("%s\n", line);
	explicit_bzero(line, sizeof(line));
	return 0;
}

/* The configured store, for a subcommand; NULL after saying why. */
static struct sgw_store *
open_store(const struct sgw_conf *conf)
{
	struct sgw_errs errs = {0};
	struct sgw_store *st = sgw_store_open(conf, SGW_STORE_SERVE, &errs);

	if (st == NULL)
		print_errs(&errs);
	return st;
}

static int
end_sessions(
    const struct sgw_conf *conf, const char *user, const char *id, size_t *n)
{
	struct sgw_session_policy p;
	struct sgw_store *st;
	int rc;

	if ((st = open_store(conf)) == NULL)
		return SGW_STORE_UNAVAILABLE;
	sgw_session_policy_from(&p, conf);
	rc = sgw_session_end_user(st, &p, user, id, sgw_now_ms(), n);
	if (SGW_STORE_FAILED(rc))
		fprintf(stderr, "sessiongw: %s\n", st->errstr);
	sgw_store_close(st);
	return rc;
}

static int
cmd_passwd(int argc, char **argv)
{
	const char *file = DEFAULT_CONF, *user;
	struct sgw_conf conf;
	struct sgw_errs errs = {0};
	char pw[1024], roles[SGW_ROLES_MAXLEN + 1] = "", *hash = NULL;
	int bcrypt = 0, keep = 0, replaced = 0, i, rc = 1;
	size_t n = 0;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			file = argv[++i];
		else if (strcmp(argv[i], "-B") == 0)
			bcrypt = 1;
		else if (strcmp(argv[i], "--keep-sessions") == 0)
			keep = 1;
		else
			usage();
	}
	if (i >= argc)
		usage();
	user = argv[i++];
	for (; i < argc; i++) {
		if (strlen(roles) + strlen(argv[i]) + 2 > sizeof(roles)) {
			fprintf(stderr, "sessiongw: too many roles\n");
			return 1;
		}
		if (roles[0] != '\0')
			strcat(roles, ",");
		strcat(roles, argv[i]);
	}
	if (!sgw_users_name_valid(user)) {
		fprintf(stderr, "sessiongw: invalid user name\n");
		return 1;
	}
	if (load_conf(file, &conf) == -1)
		return 1;
	if (read_password(pw, sizeof(pw)) == -1) {
		fprintf(
		    stderr, "sessiongw: no password given on standard input\n");
		goto done;
	}
	if (sgw_users_password_chars(pw) < SGW_PASSWORD_MIN_CHARS) {
		fprintf(stderr,
		    "sessiongw: the password is too short: at least "
		    "%d characters (UTF-8 characters, not bytes)\n",
		    SGW_PASSWORD_MIN_CHARS);
		goto done;
	}
	if ((hash = sgw_users_hash_password(pw, bcrypt)) == NULL) {
		fprintf(stderr, "sessiongw: cannot hash the password\n");
		goto done;
	}
	if (sgw_users_file_set(conf.users_file, user, hash,
	        argc > 0 && roles[0] != '\0' ? roles : NULL, &replaced,
	        &errs) == -1) {
		print_errs(&errs);
		goto done;
	}
	fprintf(stderr, "sessiongw: %s user %s in %s\n",
	    replaced ? "updated" : "added", user, conf.users_file);
	rc = 0;
	/* A new password must not leave a stolen session alive. */
	if (replaced && !keep) {
		if (SGW_STORE_FAILED(end_sessions(&conf, user, NULL, &n))) {
			fprintf(stderr,
			    "sessiongw: password changed, but the user's "
			    "sessions could not be ended; run `sessiongw "
			    "sessions "
			    "revoke %s` when Redis is back\n",
			    user);
			rc = 1;
		} else {
			fprintf(stderr,
			    "sessiongw: ended %zu session(s) of %s\n", n, user);
		}
	}
done:
	explicit_bzero(pw, sizeof(pw));
	if (hash != NULL) {
		explicit_bzero(hash, strlen(hash));
		free(hash);
	}
	sgw_conf_free(&conf);
	return rc;
}

static int
cmd_sessions(int argc, char **argv)
{
	const char *file = DEFAULT_CONF, *verb, *user, *id = NULL;
	struct sgw_conf conf;
	struct sgw_store *st;
	struct sgw_session_policy policy;
	struct sgw_session *v = NULL;
	size_t n = 0;
	int i, rc;

	if (argc < 2)
		usage();
	verb = argv[1];
	for (i = 2; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			file = argv[++i];
		else
			usage();
	}
	if (i >= argc)
		usage();
	user = argv[i++];
	if (strcmp(verb, "revoke") == 0 && i < argc)
		id = argv[i++];
	if (i != argc ||
	    (strcmp(verb, "list") != 0 && strcmp(verb, "revoke") != 0))
		usage();
	if (load_conf(file, &conf) == -1)
		return 1;
	if (strcmp(verb, "revoke") == 0) {
		rc = end_sessions(&conf, user, id, &n);
		if (rc == SGW_STORE_NOTFOUND)
			fprintf(stderr, "sessiongw: %s has no session %s\n",
			    user, id);
		else if (rc == SGW_STORE_OK)
			printf("ended %zu session(s) of %s\n", n, user);
		sgw_conf_free(&conf);
		return rc == SGW_STORE_OK ? 0 : 1;
	}
	if ((st = open_store(&conf)) == NULL) {
		sgw_conf_free(&conf);
		return 1;
	}
	sgw_session_policy_from(&policy, &conf);
	rc = sgw_session_list(st, &policy, user, sgw_now_ms(), &v, NULL, &n);
	if (rc != SGW_STORE_OK) {
		fprintf(stderr, "sessiongw: %s\n", st->errstr);
	} else {
		for (size_t k = 0; k < n; k++) {
			char c[SGW_RFC3339_LEN], l[SGW_RFC3339_LEN],
			    e[SGW_RFC3339_LEN];

			printf("%s %s %s %s %s\n", v[k].id,
			    sgw_rfc3339(v[k].created_ms, c),
			    sgw_rfc3339(v[k].last_seen_ms, l),
			    sgw_rfc3339(v[k].expires_ms, e),
			    v[k].client[0] != '\0' ? v[k].client : "-");
		}
	}
	free(v);
	sgw_store_close(st);
	sgw_conf_free(&conf);
	return rc == SGW_STORE_OK ? 0 : 1;
}

/* sessiongw store init [-c FILE]: prepares the configured store. */
static int
cmd_store(int argc, char **argv)
{
	const char *file = DEFAULT_CONF;
	const struct sgw_store_backend *b;
	struct sgw_conf conf;
	char report[512] = "", err[512] = "";
	int i, rc;

	if (argc < 2 || strcmp(argv[1], "init") != 0)
		usage();
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			file = argv[++i];
		else
			usage();
	}
	if (load_conf(file, &conf) == -1)
		return 1;
	b = sgw_store_backend_find(conf.store_backend);
	rc = b->init(&conf, sgw_conf_backend(&conf, b->name), report,
	    sizeof(report), err, sizeof(err));
	if (rc == 0)
		printf("sessiongw: store %s: %s\n", b->name, report);
	else
		fprintf(stderr, "sessiongw: store %s: %s\n", b->name, err);
	sgw_conf_free(&conf);
	return rc == 0 ? 0 : 1;
}

/* The store as -t and start-up check it. -t fails on any problem; the
 * server refuses to start only on one that will not go away by itself
 * (sgw_store_check), and otherwise says so and serves 503 until the
 * store answers. */
static int
check_store(const struct sgw_conf *conf, int test_only)
{
	struct sgw_errs errs = {0};
	int rc = sgw_store_check(conf, &errs);

	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s: %s%s\n", conf->file, errs.msg[i],
		    rc == 1 && !test_only
		        ? " (starting anyway: 503 until it answers)"
		        : "");
	sgw_errs_clear(&errs);
	return rc == -1 || (rc == 1 && test_only) ? -1 : 0;
}

static int
serve(const char *file, int test_only)
{
	struct sgw_runtime rt;
	struct sgw_errs errs = {0};
	char err[512];
	int fd;

	if (sgw_runtime_load(file, &rt, &errs) == -1) {
		print_errs(&errs);
		return 1;
	}
	if (check_store(&rt.conf, test_only) == -1) {
		sgw_runtime_free(&rt);
		return 1;
	}
	if (test_only) {
		printf("sessiongw: configuration %s is ok\n", file);
		sgw_runtime_free(&rt);
		return 0;
	}
	if (sgw_log_open(rt.conf.log_level, rt.conf.log_file) == -1) {
		fprintf(stderr, "sessiongw: cannot open log file %s: %s\n",
		    rt.conf.log_file, strerror(errno));
		sgw_runtime_free(&rt);
		return 1;
	}
	if ((fd = sgw_listen_inherited()) == 0) {
		log_info("spawned mode: serving the listening socket on fd 0");
	} else if ((fd = sgw_listen_open(&rt.conf.listen_addr,
	                rt.conf.listen_mode, rt.conf.backlog, err,
	                sizeof(err))) == -1) {
		fprintf(stderr, "%s\n", err);
		sgw_runtime_free(&rt);
		return 1;
	}
	/* A peer or a store that goes away makes a write fail, not the
	 * process die (the workers send with MSG_NOSIGNAL; hiredis does
	 * not). */
	signal(SIGPIPE, SIG_IGN);
	return sgw_master_run(file, &rt, fd);
}

int
main(int argc, char **argv)
{
	const char *file = DEFAULT_CONF;
	int test_only = 0, opt;

	/* Not a subcommand for people: the master starts it (metrics.c). */
	if (argc > 1 && strcmp(argv[1], SGW_METRICS_SERVER_ARG) == 0)
		return sgw_metrics_server_main(argc, argv);
	if (argc > 1 && strcmp(argv[1], "passwd") == 0)
		return cmd_passwd(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "sessions") == 0)
		return cmd_sessions(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "store") == 0)
		return cmd_store(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "secret") == 0)
		return argc == 2 ? cmd_secret() : (usage(), 2);
	while ((opt = getopt(argc, argv, "c:tvh")) != -1) {
		switch (opt) {
		case 'c':
			file = optarg;
			break;
		case 't':
			test_only = 1;
			break;
		case 'v':
			printf("sessiongw %s\n", SGW_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	return serve(file, test_only);
}
