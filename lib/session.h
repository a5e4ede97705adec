/*
 * session: the policy of a session, written once over the store's
 * primitives (store.h), so every backend behaves the same: idle and
 * absolute timeouts, the refresh throttle, max_per_user, client and
 * User-Agent binding, and the users file as the truth about users and
 * their roles (SPEC sections 6, 7 and 9).
 *
 * Every function takes "now" from its caller (Unix ms) and returns an
 * enum sgw_store_rc: OK, NOTFOUND, or one of the store errors (503).
 */
#ifndef SGW_SESSION_H
#define SGW_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "timefmt.h" /* sgw_now_ms */
#include "users.h"

struct sgw_conf;

/* What the policy needs from the configuration. */
struct sgw_session_policy {
	int64_t idle_ms;
	int64_t absolute_ms;
	int64_t remember_ms;
	int max_per_user; /* 0 = unlimited */
	int bind_client;
	int bind_agent;
};

/* A session as the handlers see it. */
struct sgw_session {
	char user[SGW_USER_MAXLEN + 1];
	char roles[SGW_ROLES_MAXLEN + 1];   /* the user's roles now */
	char client[SGW_CLIENT_MAXLEN + 1]; /* address that logged in */
	char id[SGW_PUBLIC_ID_HEX];         /* public id */
	int64_t created_ms;                 /* Unix time, milliseconds */
	int64_t last_seen_ms;
	int64_t expires_ms;      /* absolute end */
	int64_t idle_expires_ms; /* end if unused from now on */
	int remember_me;
};

/* Who is logging in. */
struct sgw_login {
	const char *user;
	const char *roles;
	const char *client;
	const char *agent; /* User-Agent, NULL when none */
	int remember_me;
};

/* Who is asking (for binding). */
struct sgw_asker {
	const char *client;
	const char *agent; /* NULL when none */
	/* Set by sgw_session_check when a live session was refused for its
	 * binding (the caller may log it: a copied cookie, or a user whose
	 * address changed); bound_user names its user. */
	enum { SGW_BOUND_NONE, SGW_BOUND_CLIENT, SGW_BOUND_AGENT } bound;
	char bound_user[SGW_USER_MAXLEN + 1];
};

void sgw_session_policy_from(
    struct sgw_session_policy *p, const struct sgw_conf *conf);

/*
 * Stores a new session under hash and fills *out. With max_per_user set,
 * the user's oldest sessions beyond it are ended (never the new one);
 * *evicted gets how many (may be NULL).
 */
int sgw_session_create(struct sgw_store *st, const struct sgw_session_policy *p,
    const unsigned char hash[SGW_HASH_LEN], const struct sgw_login *who,
    int64_t now_ms, struct sgw_session *out, size_t *evicted);

/*
 * The check: one read of the session. NOTFOUND when there is none, it
 * has expired (then it is ended, and st->expired counts it), its user is
 * no longer in users (ended too), or it is bound to another client or
 * User-Agent (left alone: the owner may still use it). Otherwise OK with
 * *out, the roles being the user's roles in users now. When a tenth of
 * idle_ms has passed since the last refresh, the idle expiry slides
 * forward (never past the absolute end): the only write of a check.
 */
int sgw_session_check(struct sgw_store *st, const struct sgw_session_policy *p,
    const struct sgw_users *users, const unsigned char hash[SGW_HASH_LEN],
    struct sgw_asker *asker, int64_t now_ms, struct sgw_session *out);

/* Ends one session: OK when it was live, NOTFOUND when it was not. */
int sgw_session_end(
    struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN]);

/*
 * The user's live sessions, oldest first, as a malloc'd array (*out, the
 * caller frees it; NULL when *n is 0). Expired ones found on the way are
 * ended. hashes, when not NULL, gets a parallel malloc'd array of their
 * hashes (the caller frees it too).
 */
int sgw_session_list(struct sgw_store *st, const struct sgw_session_policy *p,
    const char *user, int64_t now_ms, struct sgw_session **out,
    unsigned char (**hashes)[SGW_HASH_LEN], size_t *n);

/*
 * Ends the user's session whose public id is id, or all of them when id
 * is NULL; *count gets how many ended. NOTFOUND when id names none of the
 * user's live sessions (which is how nobody ends another user's session).
 */
int sgw_session_end_user(struct sgw_store *st,
    const struct sgw_session_policy *p, const char *user, const char *id,
    int64_t now_ms, size_t *count);

/* The record's times as the handlers show them. */
void sgw_session_from_record(struct sgw_session *s, const struct sgw_record *r,
    const unsigned char hash[SGW_HASH_LEN], const struct sgw_session_policy *p);

#endif
