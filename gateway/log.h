/*
 * log: the only place that writes log lines.
 *
 *   2026-11-21T23:41:04Z info [1234] login ok user=alice client=10.0.0.1
 *
 * Never pass a token, a password or a cookie value to these functions.
 */
#ifndef SGW_LOG_H
#define SGW_LOG_H

#include "conf.h"

/* Sets the level and the file ("" or NULL = stderr). Returns 0, or -1 when
 * the file cannot be opened (stderr is kept). */
int sgw_log_open(enum sgw_log_level level, const char *file);
/* Re-opens the log file (SIGUSR1, after logrotate moved it). */
int sgw_log_reopen(void);
void sgw_log(enum sgw_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The same with ": strerror(errno)" appended. */
void sgw_log_errno(enum sgw_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_error(...) sgw_log(SGW_LOG_ERROR, __VA_ARGS__)
/*
 * As in OpenBSD's log.c, log_warnx is a warning and log_warn one about a
 * failed call, with ": strerror(errno)" appended. Until every warning in
 * master.c that is not about errno is log_warnx, log_warn appends
 * nothing, or those lines would end in a stale errno; then it becomes
 *   #define log_warn(...) sgw_log_errno(SGW_LOG_WARN, __VA_ARGS__)
 */
#define log_warn(...) sgw_log(SGW_LOG_WARN, __VA_ARGS__)
#define log_warnx(...) sgw_log(SGW_LOG_WARN, __VA_ARGS__)
#define log_info(...) sgw_log(SGW_LOG_INFO, __VA_ARGS__)
#define log_debug(...) sgw_log(SGW_LOG_DEBUG, __VA_ARGS__)

/* Copies s into out for a log line: control bytes, spaces, quotes and
 * backslashes become '?', and it is cut at outsz - 1 bytes, so a user
 * name cannot forge log lines. */
const char *sgw_log_safe(const char *s, char *out, size_t outsz);

#endif
