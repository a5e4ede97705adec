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
/* As in OpenBSD's log.c: log_warn is a warning about a failed call, with
 * ": strerror(errno)" appended; log_warnx is any other warning. */
#define log_warn(...) sgw_log_errno(SGW_LOG_WARN, __VA_ARGS__)
#define log_warnx(...) sgw_log(SGW_LOG_WARN, __VA_ARGS__)
#define log_info(...) sgw_log(SGW_LOG_INFO, __VA_ARGS__)
#define log_debug(...) sgw_log(SGW_LOG_DEBUG, __VA_ARGS__)

/*
 * Copies s (NULL is "-") into out for a log line, so that a user name
 * cannot forge or hide log lines, and returns out:
 *   - an ASCII control, space, '"', '\' or DEL, and every byte that is
 *     not part of well-formed UTF-8, becomes \xHH;
 *   - a C1 control (U+0080..U+009F, U+0085 included), U+2028, U+2029, a
 *     space other than ' ' and an invisible or bidirectional formatting
 *     character becomes \uHHHH;
 *   - other UTF-8 is kept as it is.
 * A raw backslash is thus always the start of an escape. When the result
 * does not fit in outsz - 1 bytes it is cut after a whole character and
 * ends in the mark \... (backslash, three dots), so a reader knows.
 * SGW_LOG_SAFE_SIZE(n) holds any n-byte string whole.
 */
const char *sgw_log_safe(const char *s, char *out, size_t outsz);
#define SGW_LOG_SAFE_SIZE(n) (4 * (n) + 1)

#endif
