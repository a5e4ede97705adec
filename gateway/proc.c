/*
 * proc: a child's signal set-up and privilege drop. See proc.h.
 */
#include "proc.h"

#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

void
sgw_proc_signals(const struct sgw_proc_handler *h, size_t n)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	for (size_t i = 0; i < n; i++) {
		sa.sa_handler = h[i].fn;
		sigaction(h[i].sig, &sa, NULL);
	}
}

void
sgw_proc_unblock_signals(void)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

int
sgw_proc_drop_privileges(const struct sgw_conf *conf, const char *who)
{
	struct passwd *pw;

	if (conf->user[0] == '\0' || geteuid() != 0)
		return 0;
	if ((pw = getpwnam(conf->user)) == NULL) {
		log_error("%s: user %s: no such user", who, conf->user);
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 ||
	    setgid(pw->pw_gid) == -1 || setuid(pw->pw_uid) == -1) {
		sgw_log_errno(SGW_LOG_ERROR, "%s: cannot become user %s", who,
		    conf->user);
		return -1;
	}
	if (setuid(0) != -1) {
		log_error("%s: could still regain root after becoming %s", who,
		    conf->user);
		return -1;
	}
	return 0;
}
