/*
 * worker: one worker's life. Accept a FastCGI request, build the request
 * struct, dispatch, write the answer; until told to stop or recycled.
 */
#include "worker.h"

#include <errno.h>
#include <fcgiapp.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "handlers.h"
#include "log.h"
#include "metrics.h"
#include "store.h"

static volatile sig_atomic_t stopping;
static volatile sig_atomic_t idle;
static volatile sig_atomic_t reopen_log;
static int listen_fd = -1;

/*
 * SIGTERM: finish the request in hand, then exit. While idle in accept()
 * the worker would otherwise sleep until the next connection, so the
 * handler closes the listening socket under it: accept() fails at once.
 * SA_RESTART keeps reads and writes of a request in progress from being
 * broken by the signal (libfcgi does not retry on EINTR).
 */
static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
	if (idle && listen_fd >= 0) {
		close(listen_fd);
		listen_fd = -1;
	}
}

static void
on_usr1(int sig)
{
	(void)sig;
	reopen_log = 1;
}

static void
install_signals(void)
{
	struct sigaction sa;
	sigset_t none;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

int
sgw_drop_privileges(const struct sgw_conf *conf, const char *who)
{
	struct passwd *pw;

	if (conf->user[0] == '\0' || geteuid() != 0)
		return 0;
	if ((pw = getpwnam(conf->user)) == NULL) {
		log_error("%s: user %s: no such user", who, conf->user);
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 || setgid(pw->pw_gid) == -1 ||
	    setuid(pw->pw_uid) == -1) {
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

/* Reads the body, at most max_body + 1 bytes: more means 413. Never
 * sized by CONTENT_LENGTH alone (nginx may send it twice); stdin ends
 * with its own end-of-stream record. */
static void
read_body(FCGX_Stream *in, char *buf, size_t max, struct sgw_request *req)
{
	size_t n = 0;
	int got;

	while (n <= max && (got = FCGX_GetStr(buf + n, (int)(max + 1 - n), in)) > 0)
		n += (size_t)got;
	req->body = buf;
	req->body_len = n > max ? max : n;
	req->body_too_large = n > max;
	buf[req->body_len] = '\0';
}

static void
build_request(FCGX_Request *r, struct sgw_request *q)
{
	char **env = r->envp;
	const char *role = FCGX_GetParam("FCGI_ROLE", env);

	memset(q, 0, sizeof(*q));
	q->role = role != NULL && strcmp(role, "AUTHORIZER") == 0 ?
	    SGW_ROLE_AUTHORIZER : SGW_ROLE_RESPONDER;
	q->method = FCGX_GetParam("REQUEST_METHOD", env);
	q->request_uri = FCGX_GetParam("REQUEST_URI", env);
	q->document_uri = FCGX_GetParam("DOCUMENT_URI", env);
	q->script_name = FCGX_GetParam("SCRIPT_NAME", env);
	q->path_info = FCGX_GetParam("PATH_INFO", env);
	q->query = FCGX_GetParam("QUERY_STRING", env);
	q->host = FCGX_GetParam("HTTP_HOST", env);
	q->cookie = FCGX_GetParam("HTTP_COOKIE", env);
	q->content_type = FCGX_GetParam("CONTENT_TYPE", env);
	q->accept = FCGX_GetParam("HTTP_ACCEPT", env);
	q->origin = FCGX_GetParam("HTTP_ORIGIN", env);
	q->orig_uri = FCGX_GetParam("HTTP_X_ORIGINAL_URI", env);
	q->orig_method = FCGX_GetParam("HTTP_X_ORIGINAL_METHOD", env);
	q->remote_addr = FCGX_GetParam("REMOTE_ADDR", env);
	q->forwarded = FCGX_GetParam("HTTP_X_FORWARDED_FOR", env);
	q->user_agent = FCGX_GetParam("HTTP_USER_AGENT", env);
	if (q->method == NULL)
		q->method = "GET";
}

/* The authorizer's 200 carries Status and Variable-* only: Apache hands
 * any other header of a 200 on to the client. */
static void
write_response(FCGX_Request *r, const struct sgw_request *q,
    struct sgw_response *resp)
{
	FCGX_Stream *out = r->out;
	int authz_pass = q->role == SGW_ROLE_AUTHORIZER && resp->status == 200;

	if (resp->headers.oom || resp->body.oom) {
		sgw_resp_free(resp);
		sgw_resp_init(resp);
		sgw_resp_error(resp, 500, "internal error");
	}
	FCGX_FPrintF(out, "Status: %d %s\r\n", resp->status,
	    sgw_status_text(resp->status));
	if (resp->headers.len > 0)
		FCGX_PutStr(resp->headers.data, (int)resp->headers.len, out);
	if (!authz_pass)
		FCGX_PutS("Cache-Control: no-store\r\n", out);
	FCGX_PutS("\r\n", out);
	if (!authz_pass && resp->body.len > 0 && strcmp(q->method, "HEAD") != 0)
		FCGX_PutStr(resp->body.data, (int)resp->body.len, out);
}

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Counts the answer once it is written (write_response may turn it into
 * a 500). */
static void
count_answer(struct sgw_ctx *ctx, const struct sgw_response *resp, int64_t started)
{
	sgw_metrics_request(resp->endpoint, resp->status, mono_ns() - started);
	if (ctx->store->expired > 0) {
		sgw_metrics_sessions_expired(ctx->store->expired);
		ctx->store->expired = 0;
	}
}

static void
serve(struct sgw_ctx *ctx, FCGX_Request *r, char *bodybuf)
{
	struct sgw_request q;
	struct sgw_response resp;
	int64_t started;

	build_request(r, &q);
	/* An authorizer never reads stdin: lighttpd sends none when the
	 * original request has a body, and a read would block forever. */
	if (q.role == SGW_ROLE_RESPONDER && strcmp(q.method, "GET") != 0 &&
	    strcmp(q.method, "HEAD") != 0)
		read_body(r->in, bodybuf, ctx->conf->max_body, &q);
	sgw_resp_init(&resp);
	started = mono_ns();
	sgw_dispatch(ctx, &q, &resp);
	write_response(r, &q, &resp);
	count_answer(ctx, &resp, started);
	log_debug("%s %s -> %d (%s) client=%s",
	    q.role == SGW_ROLE_AUTHORIZER ? "AUTHORIZER" : q.method,
	    resp.endpoint, resp.status, q.role == SGW_ROLE_AUTHORIZER ?
	    "authorizer" : "responder", q.client);
	sgw_resp_free(&resp);
}

int
sgw_worker_run(int fd, struct sgw_runtime *rt, unsigned generation)
{
	const struct sgw_conf *conf = &rt->conf;
	struct sgw_ctx ctx = {
	    .conf = conf,
	    .keys = &rt->keys,
	    .users = &rt->users,
	    .login_page = rt->login_page,
	};
	FCGX_Request r;
	struct sgw_errs errs = {0};
	char *bodybuf = NULL;
	int64_t served = 0;
	int rc = 1;

	listen_fd = fd;
	install_signals();
	if (sgw_drop_privileges(conf, "worker") == -1)
		return 1;
	sgw_session_policy_from(&ctx.policy, conf);
	sgw_limits_from(&ctx.limits, conf);
	/* After fork and after dropping privileges: a store belongs to the
	 * process that opened it, and its files to the workers' user. */
	if ((ctx.store = sgw_store_open(conf, SGW_STORE_SERVE, &errs)) == NULL) {
		for (size_t i = 0; i < errs.n; i++)
			log_error("worker: %s", errs.msg[i]);
		sgw_errs_clear(&errs);
		goto done;
	}
	if ((bodybuf = malloc(conf->max_body + 1)) == NULL ||
	    FCGX_InitRequest(&r, fd, 0) != 0) {
		log_error("worker: out of memory");
		goto done;
	}
	log_info("worker started (generation %u)", generation);
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
			/* Exit non-zero: the master replaces us with a back-off. */
			log_error("worker: accept failed: %s", strerror(-got));
			goto done;
		}
		serve(&ctx, &r, bodybuf);
		FCGX_Finish_r(&r);
		if (reopen_log) {
			reopen_log = 0;
			sgw_log_reopen();
		}
		if (conf->max_requests > 0 && ++served >= conf->max_requests) {
			log_info("worker recycled after %lld requests", (long long)served);
			break;
		}
	}
	rc = 0;
	log_info("worker exiting");
done:
	sgw_store_close(ctx.store);
	free(bodybuf);
	return rc;
}
