/*
 * timefmt: clocks and RFC 3339 times.
 */
#ifndef SGW_TIMEFMT_H
#define SGW_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#define SGW_RFC3339_LEN 25 /* "2026-11-21T23:41:04.123Z" + NUL */

/* Wall clock, milliseconds since the Unix epoch. */
int64_t sgw_now_ms(void);
/* Monotonic clock, milliseconds. */
int64_t sgw_mono_ms(void);
/* Formats ms since the epoch as RFC 3339 UTC with seconds precision:
 * "2026-11-21T23:41:04Z". Returns out. */
const char *sgw_rfc3339(int64_t ms, char out[SGW_RFC3339_LEN]);

#endif
