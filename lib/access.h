/*
 * access: path normalisation, rule matching, the pass/deny decision.
 */
#ifndef SGW_ACCESS_H
#define SGW_ACCESS_H

#include <stddef.h>

#include "conf.h"

#define SGW_PATH_MAX 4096

/*
 * Normalises a request URI for rule matching: drops the query string and
 * fragment, percent-decodes (%2e%2e is ..; '+' stays '+'), collapses
 * repeated '/', resolves "." and ".." segments, keeps a trailing '/'.
 * Returns the length written to out (NUL-terminated), or -1 when the URI
 * cannot be normalised: empty, not starting with '/', a bad escape, a NUL
 * or control byte, a backslash, a ';', an encoded '%' ("%25"), ill-formed
 * UTF-8 (overlong forms and surrogates included), raw or decoded, ".."
 * above the root, or longer than outsz. On -1, out is "".
 */
long sgw_path_normalise(const char *uri, size_t len, char *out, size_t outsz);

/*
 * The same for a path the web server has already decoded (DOCUMENT_URI,
 * SCRIPT_NAME, PATH_INFO): no percent-decoding and no query to drop, so
 * '?' and '#' are bytes of the path, and a '%' (which the client sent as
 * "%25") is refused like every other byte sgw_path_normalise refuses.
 * Decoding such a path again would turn "/auth/chec%6b" into /auth/check.
 * Returns the length written to out, or -1 (out is then "").
 */
long sgw_path_resolve(const char *path, size_t len, char *out, size_t outsz);

/*
 * The first rule matching a normalised path, or NULL (deny). A pattern
 * with a trailing star matches every path starting with the rest, and
 * also that rest minus its trailing '/' (so the rule "/admin/" + star
 * matches "/admin"); a pattern without a star matches only itself.
 * rules is the configuration's rules array (conf->rules, nrules).
 */
const struct sgw_rule *sgw_access_match(
    const struct sgw_rule *rules, size_t nrules, const char *path);

enum sgw_verdict {
	SGW_VERDICT_PASS,            /* 200 */
	SGW_VERDICT_UNAUTHENTICATED, /* 401 (or a redirect to log in) */
	SGW_VERDICT_FORBIDDEN,       /* 403 */
};

/*
 * The decision for a rule (NULL = no rule matched) and a session:
 * has_session says whether a valid session came with the request, roles
 * is its comma-separated role list.
 */
enum sgw_verdict sgw_access_decide(
    const struct sgw_rule *rule, int has_session, const char *roles);

/* Whether a rule needs the session looked up at all (anonymous rules still
 * pass identity on when there is one; deny never does). */
int sgw_access_wants_session(const struct sgw_rule *rule);

#endif
