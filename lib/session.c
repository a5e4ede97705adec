/*
 * session: the session policy over the store's primitives. See session.h.
 */
#include "session.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "timefmt.h"

void
sgw_session_policy_from(
    struct sgw_session_policy *p, const struct sgw_conf *conf)
{
	p->idle_ms = conf->idle_timeout_ms;
	p->absolute_ms = conf->absolute_timeout_ms;
	p->remember_ms = conf->remember_me_timeout_ms;
	p->max_per_user = conf->max_per_user;
	p->bind_client = conf->bind_client;
	p->bind_agent = conf->bind_user_agent;
}

/* src into dst of size bytes, cut to fit as snprintf would, without
 * snprintf's cost on every check. */
static void
copy_text(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* The User-Agent as a session keeps it: a cut SHA-256, all zero when the
 * request had none. */
static void
agent_hash(const char *agent, unsigned char out[SGW_AGENT_LEN])
{
	unsigned char md[SGW_HASH_LEN];

	memset(out, 0, SGW_AGENT_LEN);
	if (agent == NULL || agent[0] == '\0')
		return;
	if (sgw_sha256(agent, strlen(agent), md) == 0)
		memcpy(out, md, SGW_AGENT_LEN);
}

/* A record that the policy no longer counts as a session: its absolute
 * end, or its idle end under the idle timeout in force now, has come. */
static int
expired(
    const struct sgw_record *r, const struct sgw_session_policy *p, int64_t now)
{
	return now >= r->expires_ms || now >= r->seen_ms + p->idle_ms;
}

void
sgw_session_from_record(struct sgw_session *s, const struct sgw_record *r,
    const unsigned char hash[SGW_HASH_LEN], const struct sgw_session_policy *p)
{
	memset(s, 0, sizeof(*s));
	copy_text(s->user, sizeof(s->user), r->user);
	copy_text(s->client, sizeof(s->client), r->client);
	if (strnlen(r->id, sizeof(r->id)) == SGW_PUBLIC_ID_HEX - 1)
		memcpy(s->id, r->id, sizeof(s->id));
	else
		sgw_token_public_id(hash, s->id);
	s->created_ms = r->created_ms;
	s->last_seen_ms = r->seen_ms;
	s->expires_ms = r->expires_ms;
	s->idle_expires_ms = min64(r->seen_ms + p->idle_ms, r->expires_ms);
	s->remember_me = r->remember_me;
}

/* Ends a session the policy found expired; a store error is passed on. */
static int
end_expired(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN])
{
	int rc = st->ops->del(st, hash);

	if (SGW_STORE_FAILED(rc))
		return rc;
	if (rc == SGW_STORE_OK)
		st->expired++;
	return SGW_STORE_OK;
}

/*
 * The user's index, with what has expired ended on the way: *v keeps the
 * live sessions, oldest first.
 */
static int
live_sessions(struct sgw_store *st, const struct sgw_session_policy *p,
    const char *user, int64_t now, struct sgw_stored **vp, size_t *np)
{
	struct sgw_stored *v = NULL;
	size_t n = 0, live = 0;
	int rc;

	*vp = NULL;
	*np = 0;
	if ((rc = st->ops->user_sessions(st, user, &v, &n)) != SGW_STORE_OK)
		return SGW_STORE_FAILED(rc) ? rc : SGW_STORE_OK;
	for (size_t i = 0; i < n; i++) {
		if (expired(&v[i].rec, p, now)) {
			if (SGW_STORE_FAILED(rc = end_expired(st, v[i].hash))) {
				free(v);
				return rc;
			}
			continue;
		}
		v[live++] = v[i];
	}
	if (live == 0) {
		free(v);
		v = NULL;
	}
	*vp = v;
	*np = live;
	return SGW_STORE_OK;
}

int
sgw_session_create(struct sgw_store *st, const struct sgw_session_policy *p,
    const unsigned char hash[SGW_HASH_LEN], const struct sgw_login *who,
    int64_t now, struct sgw_session *out, size_t *evicted)
{
	struct sgw_record r;
	struct sgw_stored *v = NULL;
	size_t n = 0, ended = 0;
	int64_t life = who->remember_me ? p->remember_ms : p->absolute_ms;
	int rc;

	if (evicted != NULL)
		*evicted = 0;
	memset(&r, 0, sizeof(r));
	if (strlen(who->user) > SGW_USER_MAXLEN)
		return sgw_store_fail(
		    st, SGW_STORE_UNAVAILABLE, "user name too long");
	copy_text(r.user, sizeof(r.user), who->user);
	copy_text(r.client, sizeof(r.client), who->client);
	agent_hash(who->agent, r.agent);
	r.created_ms = r.seen_ms = now;
	r.expires_ms = now + life;
	r.deadline_ms = min64(now + p->idle_ms, r.expires_ms);
	r.remember_me = who->remember_me != 0;
	sgw_token_public_id(hash, r.id);
	if ((rc = st->ops->put(st, hash, &r, now)) != SGW_STORE_OK)
		return rc;
	/* Reading the index at every login is what keeps it from growing:
	 * whatever expired since is ended here, whether or not
	 * max_per_user is set. */
	if ((rc = live_sessions(st, p, who->user, now, &v, &n)) != SGW_STORE_OK)
		return rc;
	if (p->max_per_user > 0 && n > (size_t)p->max_per_user) {
		size_t excess = n - (size_t)p->max_per_user;

		/* Oldest first, but never the session being made: one made in
		 * the same millisecond may sort before it. */
		for (size_t i = 0; i < n && excess > 0; i++) {
			if (memcmp(v[i].hash, hash, SGW_HASH_LEN) == 0)
				continue;
			rc = st->ops->del(st, v[i].hash);
			if (SGW_STORE_FAILED(rc))
				break;
			ended += rc == SGW_STORE_OK;
			excess--;
			rc = SGW_STORE_OK;
		}
	}
	free(v);
	if (SGW_STORE_FAILED(rc))
		return rc;
	if (evicted != NULL)
		*evicted = ended;
	sgw_session_from_record(out, &r, hash, p);
	copy_text(out->roles, sizeof(out->roles),
	    who->roles != NULL ? who->roles : "");
	return SGW_STORE_OK;
}

int
sgw_session_check(struct sgw_store *st, const struct sgw_session_policy *p,
    const struct sgw_users *users, const unsigned char hash[SGW_HASH_LEN],
    struct sgw_asker *asker, int64_t now, struct sgw_session *out)
{
	const struct sgw_user *u;
	struct sgw_record r;
	int rc;

	if ((rc = sgw_store_get(st, hash, &r)) != SGW_STORE_OK)
		return rc;
	if (expired(&r, p, now)) {
		rc = end_expired(st, hash);
		return SGW_STORE_FAILED(rc) ? rc : SGW_STORE_NOTFOUND;
	}
	/* The users file is the truth: a user taken out of it has no
	 * session any more (SPEC section 9). */
	if ((u = sgw_users_find(users, r.user)) == NULL) {
		rc = st->ops->del(st, hash);
		return SGW_STORE_FAILED(rc) ? rc : SGW_STORE_NOTFOUND;
	}
	asker->bound = SGW_BOUND_NONE;
	if (p->bind_client && strcmp(r.client, asker->client) != 0)
		asker->bound = SGW_BOUND_CLIENT;
	if (p->bind_agent && asker->bound == SGW_BOUND_NONE) {
		unsigned char a[SGW_AGENT_LEN];

		agent_hash(asker->agent, a);
		if (memcmp(a, r.agent, SGW_AGENT_LEN) != 0)
			asker->bound = SGW_BOUND_AGENT;
	}
	if (asker->bound != SGW_BOUND_NONE) {
		memcpy(asker->bound_user, r.user, sizeof(asker->bound_user));
		return SGW_STORE_NOTFOUND;
	}
	/* Spare the store a write while less than a tenth of idle_timeout
	 * has passed since the last refresh (SPEC section 6). */
	if (now - r.seen_ms >= p->idle_ms / 10) {
		int64_t deadline = min64(now + p->idle_ms, r.expires_ms);

		rc = st->ops->refresh(st, hash, now, deadline, now);
		if (rc == SGW_STORE_OK) {
			r.seen_ms = now;
			r.deadline_ms = deadline;
		} else if (rc != SGW_STORE_NOSPACE) {
			return rc;
		}
		/* A full store cannot slide the idle expiry, but the session
		 * read is valid until its old deadline: existing sessions keep
		 * working while new logins get 503 (SPEC section 7). */
	}
	sgw_session_from_record(out, &r, hash, p);
	copy_text(out->roles, sizeof(out->roles), u->roles);
	return SGW_STORE_OK;
}

int
sgw_session_end(struct sgw_store *st, const unsigned char hash[SGW_HASH_LEN])
{
	return st->ops->del(st, hash);
}

int
sgw_session_list(struct sgw_store *st, const struct sgw_session_policy *p,
    const char *user, int64_t now, struct sgw_session **outp,
    unsigned char (**hashes)[SGW_HASH_LEN], size_t *np)
{
	struct sgw_stored *v = NULL;
	struct sgw_session *out = NULL;
	unsigned char(*h)[SGW_HASH_LEN] = NULL;
	size_t n = 0;
	int rc;

	*outp = NULL;
	*np = 0;
	if (hashes != NULL)
		*hashes = NULL;
	if ((rc = live_sessions(st, p, user, now, &v, &n)) != SGW_STORE_OK)
		return rc;
	if (n == 0)
		return SGW_STORE_OK;
	out = calloc(n, sizeof(*out));
	if (hashes != NULL)
		h = calloc(n, sizeof(*h));
	if (out == NULL || (hashes != NULL && h == NULL)) {
		free(v);
		free(out);
		free(h);
		return sgw_store_fail(
		    st, SGW_STORE_UNAVAILABLE, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		sgw_session_from_record(&out[i], &v[i].rec, v[i].hash, p);
		if (h != NULL)
			memcpy(h[i], v[i].hash, SGW_HASH_LEN);
	}
	free(v);
	*outp = out;
	if (hashes != NULL)
		*hashes = h;
	*np = n;
	return SGW_STORE_OK;
}

int
sgw_session_end_user(struct sgw_store *st, const struct sgw_session_policy *p,
    const char *user, const char *id, int64_t now, size_t *count)
{
	struct sgw_stored *v = NULL;
	size_t n = 0;
	int rc, found = 0;

	*count = 0;
	if ((rc = live_sessions(st, p, user, now, &v, &n)) != SGW_STORE_OK)
		return rc;
	/* The public id does not lead back to the hash, so look for it
	 * among the user's own sessions: that is also what keeps anyone
	 * from ending somebody else's session. */
	for (size_t i = 0; i < n; i++) {
		char pid[SGW_PUBLIC_ID_HEX];

		if (id != NULL) {
			sgw_token_public_id(v[i].hash, pid);
			if (strcmp(pid, id) != 0)
				continue;
			found = 1;
		}
		rc = st->ops->del(st, v[i].hash);
		if (SGW_STORE_FAILED(rc))
			break;
		*count += rc == SGW_STORE_OK;
		rc = SGW_STORE_OK;
		if (id != NULL)
			break;
	}
	free(v);
	if (SGW_STORE_FAILED(rc))
		return rc;
	if (id != NULL && (!found || *count == 0))
		return SGW_STORE_NOTFOUND;
	return SGW_STORE_OK;
}
