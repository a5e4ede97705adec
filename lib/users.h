/*
 * users: the users file of SPEC section 9 and password verification.
 *
 *   USER:HASH[:ROLE[,ROLE...]]     '#' comments, blank lines
 *
 * HASH must be a strong crypt(3) form ($y$ $2b$ $2y$ $7$ $gy$ $6$ $5$,
 * bcrypt at cost SGW_BCRYPT_MIN_COST or more); weak forms are refused
 * with their line so the operator re-hashes.
 */
#ifndef SGW_USERS_H
#define SGW_USERS_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "errs.h"

#define SGW_USER_MAXLEN 256
#define SGW_ROLES_MAXLEN 1024    /* a user's roles, comma-separated */
#define SGW_BCRYPT_MIN_COST 10   /* a cheaper bcrypt hash is weak (SPEC 9) */
#define SGW_BCRYPT_COST 10       /* what sgw_users_hash_password writes */
#define SGW_PASSWORD_MIN_CHARS 8 /* `sessiongw passwd` refuses fewer */

struct sgw_user {
	char *name;               /* owned */
	char *hash;               /* owned, the crypt(3) string */
	char *roles;              /* owned, comma-separated, "" when none */
	unsigned line;            /* in the file */
	unsigned long pad_rounds; /* sha256crypt rounds a failed check adds
	                           * so that it costs what the file's
	                           * costliest setting costs; 0 when none */
};

struct sgw_users {
	struct sgw_user *v; /* owned */
	size_t n;
	char *dummy_hash;  /* owned: a hash of the costliest setting (scheme
	                    * and cost) in the file, verified when the name
	                    * is unknown so that both failures take the
	                    * same time */
	char pad_salt[24]; /* the salt of the pad_rounds runs */
	char *file;        /* owned, the path it was read from */
	dev_t dev;         /* identity of the file as read, for reloads */
	ino_t ino;
	struct timespec mtime;
	off_t size;
};

/* Reads the file. Returns 0, or -1 with each bad line as "FILE:LINE:
 * message" in errs (weak hash, malformed line, duplicate user, bad name
 * or role). *users is left zeroed on -1. Free with sgw_users_free. */
int sgw_users_load(
    const char *file, struct sgw_users *users, struct sgw_errs *errs);
int sgw_users_parse(const char *file, const char *text, size_t len,
    struct sgw_users *users, struct sgw_errs *errs);
void sgw_users_free(struct sgw_users *users);

/* 1 when the file on disk differs (mtime, size, inode) from what was
 * read, 0 otherwise (including when it cannot be stat'ed). */
int sgw_users_changed(const struct sgw_users *users);

/* The user of that name, or NULL. */
const struct sgw_user *sgw_users_find(
    const struct sgw_users *users, const char *name);

/*
 * Verifies a password. Returns the user on success, NULL otherwise. An
 * unknown name still runs one crypt(3) against dummy_hash, and a failed
 * check of a user whose hash is cheaper than the costliest in the file
 * adds pad_rounds of sha256crypt, so the time taken does not tell
 * unknown users from wrong passwords.
 */
const struct sgw_user *sgw_users_verify(
    const struct sgw_users *users, const char *name, const char *password);

/* 1 when the hash is a strong form we accept, else 0. */
int sgw_users_hash_strong(const char *hash);

/* Hashes a password: yescrypt ("$y$", libxcrypt's default cost) by
 * default, bcrypt ("$2b$", cost SGW_BCRYPT_COST) when bcrypt is set.
 * Returns a malloc'd string (caller frees) or NULL. */
char *sgw_users_hash_password(const char *password, int bcrypt);

/* The length of a password in characters: a well-formed UTF-8 sequence
 * is one character, and so is each byte that is not part of one. */
size_t sgw_users_password_chars(const char *password);

/* 1 when a name is acceptable (1..SGW_USER_MAXLEN bytes, no ':', no
 * whitespace or control characters, no '#' first). */
int sgw_users_name_valid(const char *name);

/*
 * Adds or replaces USER in the file, keeping every other line byte for
 * byte: writes FILE.tmp.PID, fsyncs, renames over FILE (and fsyncs the
 * directory). roles may be NULL (keep the old roles when replacing, none
 * when adding) or a comma-separated list. *replaced is set to 1 when the
 * user existed. Returns 0 or -1 with a message in errs. A missing file is
 * created with mode 0640.
 */
int sgw_users_file_set(const char *file, const char *user, const char *hash,
    const char *roles, int *replaced, struct sgw_errs *errs);

#endif
