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

static int
open_file(void)
{
	int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

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
	if (snprintf(log_path, sizeof(log_path), "%s", file) >= (int)sizeof(log_path))
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
	n = snprintf(line, sizeof(line), "%s %s [%d] ", sgw_rfc3339(sgw_now_ms(), ts),
	    level_names[level], (int)getpid());
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (m < 0)
		m = 0;
	n = n + m >= (int)sizeof(line) - 1 ? (int)sizeof(line) - 2 : n + m;
	if (with_errno)
		n += snprintf(line + n, sizeof(line) - (size_t)n, ": %s", strerror(saved));
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

const char *
sgw_log_safe(const char *s, char *out, size_t outsz)
{
	size_t i = 0;

	if (s == NULL)
		s = "-";
	for (; s[i] != '\0' && i + 1 < outsz; i++) {
		unsigned char c = (unsigned char)s[i];

		out[i] = c <= 0x20 || c == 0x7f || c == '"' || c == '\\' ? '?' : (char)c;
	}
	out[i] = '\0';
	return out;
}
