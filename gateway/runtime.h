/*
 * runtime: everything read from disk at start-up and on SIGHUP: the
 * configuration, the secret keys, the users and the login page. `-t`,
 * the server and a reload all go through sgw_runtime_load, so they agree
 * on what a bad configuration is.
 */
#ifndef SGW_RUNTIME_H
#define SGW_RUNTIME_H

#include "conf.h"
#include "errs.h"
#include "token.h"
#include "users.h"

struct sgw_runtime {
	struct sgw_conf conf;
	struct sgw_keys keys;
	struct sgw_users users;
	char *login_page; /* malloc'd template text */
};

/* Reads file and what it names. Returns 0, or -1 with every problem in
 * errs (and *rt zeroed). */
int sgw_runtime_load(
    const char *file, struct sgw_runtime *rt, struct sgw_errs *errs);
/* Frees and wipes; accepts a zeroed struct. */
void sgw_runtime_free(struct sgw_runtime *rt);
/* For a process that must hold no secret (the metrics server): wipes the
 * keys, frees the users (their password hashes) and overwrites every
 * secret string of the configuration with NULs, keeping the rest of the
 * configuration usable. sgw_runtime_free still frees *rt afterwards. */
void sgw_runtime_wipe_secrets(struct sgw_runtime *rt);

/* The built-in login page template (see handlers/login.c for its
 * placeholders). */
extern const char sgw_builtin_login_page[];

#define SGW_TEMPLATE_MAX (256 * 1024)

#endif
