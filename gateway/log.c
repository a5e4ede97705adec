#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "timefmt.h"

static enum sgw_log_level cur_level = SGW_LOG_INFO;
static int log_fd = STDERR_FILENO;
static char log_path[4096];

static const char *level_names[] = {"error", "warn", "info", "debug"};

/* Ends whatever had to be cut short: a backslash and three dots. A raw
 * backslash never comes from sgw_log_safe, so the mark cannot be forged
 * by a name. */
#define CUT_MARK "\\..."
#define CUT_MARK_LEN (sizeof(CUT_MARK) - 1)

static int
open_file(void)
{
	int fd =
	    open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	if (fd == -1)
		return -1;
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = fd;
	return 0;
}

int
sgw_log_open(enum sgw_log_level level, const char *file)
{
	cur_level = level;
	if (file == NULL || file[0] == '\0') {
		if (log_fd != STDERR_FILENO)
			close(log_fd);
		log_fd = STDERR_FILENO;
		log_path[0] = '\0';
		return 0;
	}
	if (snprintf(log_path, sizeof(log_path), "%s", file) >=
	    (int)sizeof(log_path))
		return -1;
	return open_file();
}

int
sgw_log_reopen(void)
{
	if (log_path[0] == '\0')
		return 0;
	return open_file();
}

static void
vlog(enum sgw_log_level level, int with_errno, const char *fmt, va_list ap)
{
	char line[2048], ts[SGW_RFC3339_LEN];
	int saved = errno;
	int n, m;

	if (level > cur_level)
		return;
	n = snprintf(line, sizeof(line), "%s %s [%d] ",
	    sgw_rfc3339(sgw_now_ms(), ts), level_names[level], (int)getpid());
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (m < 0)
		m = 0;
	if (n + m >= (int)sizeof(line) - 1) {
		/* Too long: cut on a whole UTF-8 character, and say so. */
		n = (int)(sizeof(line) - 2 - CUT_MARK_LEN);
		while (n > 0 && ((unsigned char)line[n] & 0xc0) == 0x80)
			n--;
		memcpy(line + n, CUT_MARK, CUT_MARK_LEN);
		n += (int)CUT_MARK_LEN;
	} else {
		n += m;
	}
	if (with_errno)
		n += snprintf(line + n, sizeof(line) - (size_t)n, ": %s",
		    strerror(saved));
	if (n >= (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line: O_APPEND keeps lines of all workers whole. */
	(void)!write(log_fd, line, (size_t)n);
	errno = saved;
}

void
sgw_log(enum sgw_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, 0, fmt, ap);
	va_end(ap);
}

void
sgw_log_errno(enum sgw_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, 1, fmt, ap);
	va_end(ap);
}

/*
 * The code point of the well-formed UTF-8 sequence at p[0..n) and its
 * length in *len, or -1 when it is not one (RFC 3629: no overlong form,
 * no surrogate, nothing above U+10FFFF).
 */
static long
utf8_decode(const unsigned char *p, size_t n, size_t *len)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	long cp;

	if (c >= 0xc2 && c <= 0xdf) {
		*len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		*len = 3;
		cp = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		*len = 4;
		cp = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return -1;
	}
	if (n < *len || p[1] < lo || p[1] > hi)
		return -1;
	for (size_t k = 1; k < *len; k++) {
		if (p[k] < 0x80 || p[k] > 0xbf)
			return -1;
		cp = cp << 6 | (p[k] & 0x3f);
	}
	return cp;
}

/*
 * Code points a reader could take for something else: the C1 controls
 * (U+0085 is a line break to some viewers), the line and paragraph
 * separators, the spaces that are not ' ' (a name could fake
 * "alice client=..."), and the invisible and bidirectional formatting
 * characters that reorder what a terminal shows.
 */
static int
escape_cp(long cp)
{
	return (cp >= 0x80 && cp <= 0xa0) || cp == 0x061c || cp == 0x1680 ||
	    (cp >= 0x2000 && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202f) ||
	    (cp >= 0x205f && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x206f) ||
	    cp == 0x3000 || cp == 0xfeff;
}

const char *
sgw_log_safe(const char *s, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p;
	size_t n, i = 0, o = 0, keep = 0;

	if (out == NULL || outsz == 0)
		return "";
	if (s == NULL)
		s = "-";
	p = (const unsigned char *)s;
	n = strlen(s);
	while (i < n) {
		char piece[8];
		size_t k = 0, len = 1;
		unsigned char c = p[i];
		long cp = -1;

		if (c > 0x20 && c < 0x7f && c != '"' && c != '\\') {
			piece[k++] = (char)c;
		} else if (c >= 0x80 &&
		    (cp = utf8_decode(p + i, n - i, &len)) >= 0 &&
		    !escape_cp(cp)) {
			memcpy(piece, p + i, len);
			k = len;
		} else if (cp >= 0) {
			/* Every code point escape_cp names is in the BMP. */
			piece[k++] = '\\';
			piece[k++] = 'u';
			for (int sh = 12; sh >= 0; sh -= 4)
				piece[k++] = hex[(cp >> sh) & 0xf];
		} else {
			/* An ASCII control, space, quote or backslash, or a
			 * byte that is not part of well-formed UTF-8. */
			len = 1;
			piece[k++] = '\\';
			piece[k++] = 'x';
			piece[k++] = hex[c >> 4];
			piece[k++] = hex[c & 0xf];
		}
		if (o + k > outsz - 1) {
			/* It does not all fit: back to the last whole piece
			 * that leaves room for the mark, and say so. */
			o = keep;
			for (const char *m = CUT_MARK;
			     *m != '\0' && o + 1 < outsz; m++)
				out[o++] = *m;
			break;
		}
		memcpy(out + o, piece, k);
		o += k;
		i += len;
		if (o + sizeof(CUT_MARK) <= outsz)
			keep = o;
	}
	out[o] = '\0';
	return out;
}
