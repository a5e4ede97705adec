/*
 * fileio: a whole small file, and the lines of a text.
 */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What a file too small to say its size (a pipe, /proc) starts with. */
#define FIRST_CAP 8192

static int
fail(struct sgw_file *f, enum sgw_file_err err, int err_no)
{
	f->err = err;
	f->err_no = err_no;
	switch (err) {
	case SGW_FILE_OK:
		break;
	case SGW_FILE_ERRNO:
		snprintf(f->errstr, sizeof(f->errstr), "cannot read: %s",
		    strerror(err_no));
		break;
	case SGW_FILE_NOT_REGULAR:
		snprintf(f->errstr, sizeof(f->errstr),
		    "cannot read: not a regular file");
		break;
	case SGW_FILE_NOT_PRIVATE:
		snprintf(f->errstr, sizeof(f->errstr),
		    "must not be accessible by others (chmod 600 or 640)");
		break;
	case SGW_FILE_TOO_LARGE:
		/* what strerror(EFBIG) says, which the messages said before
		 * the size was checked here */
		snprintf(f->errstr, sizeof(f->errstr), "cannot read: %s",
		    strerror(EFBIG));
		break;
	}
	return -1;
}

/* Wipes (when secret) and frees the first n bytes' buffer. */
static void
drop(char *b, size_t n, int secret)
{
	if (b != NULL && secret)
		explicit_bzero(b, n);
	free(b);
}

int
sgw_file_read(const char *file, size_t max, unsigned flags, struct sgw_file *f)
{
	int regular = (flags & (SGW_FILE_REGULAR | SGW_FILE_SECRET)) != 0;
	int secret = (flags & SGW_FILE_SECRET) != 0;
	char *b = NULL;
	size_t n = 0, cap;
	int fd, rc = -1;

	memset(f, 0, sizeof(*f));
	f->secret = secret;
	if (file == NULL || max >= SIZE_MAX - 1)
		return fail(f, SGW_FILE_ERRNO, EINVAL);
	/* O_NONBLOCK: opening a FIFO for reading waits for a writer, which
	 * would hang the master (or -t) on a file swapped for one. It does
	 * nothing to reads of a regular file. */
	fd = open(
	    file, O_RDONLY | O_CLOEXEC | O_NOCTTY | (regular ? O_NONBLOCK : 0));
	if (fd < 0)
		return fail(f, SGW_FILE_ERRNO, errno);
	if (fstat(fd, &f->st) < 0) {
		fail(f, SGW_FILE_ERRNO, errno);
		goto done;
	}
	if (regular && !S_ISREG(f->st.st_mode)) {
		fail(f, SGW_FILE_NOT_REGULAR, 0);
		goto done;
	}
	if (secret && (f->st.st_mode & 007) != 0) {
		fail(f, SGW_FILE_NOT_PRIVATE, 0);
		goto done;
	}
	/* st_size is a hint only: the file may change while it is read.
	 * One byte more than max tells "too large" from "just fits". */
	cap = S_ISREG(f->st.st_mode) && f->st.st_size > 0 &&
	        (size_t)f->st.st_size <= max
	    ? (size_t)f->st.st_size + 1
	    : FIRST_CAP;
	if (cap > max + 1)
		cap = max + 1;
	if ((b = malloc(cap + 1)) == NULL) {
		fail(f, SGW_FILE_ERRNO, ENOMEM);
		goto done;
	}
	for (;;) {
		ssize_t r;

		if (n == cap) {
			size_t ncap;
			char *nb;

			if (cap > max) {
				fail(f, SGW_FILE_TOO_LARGE, 0);
				goto done;
			}
			ncap = cap <= (max + 1) / 2 ? cap * 2 : max + 1;
			/* not realloc: a secret must not be left behind in
			 * the block it moves out of */
			if ((nb = malloc(ncap + 1)) == NULL) {
				fail(f, SGW_FILE_ERRNO, ENOMEM);
				goto done;
			}
			memcpy(nb, b, n);
			drop(b, n, secret);
			b = nb;
			cap = ncap;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fail(f, SGW_FILE_ERRNO, errno);
			goto done;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max) {
		fail(f, SGW_FILE_TOO_LARGE, 0);
		goto done;
	}
	b[n] = '\0';
	f->buf = b;
	f->len = n;
	b = NULL;
	rc = 0;
done:
	drop(b, n, secret);
	close(fd);
	return rc;
}

void
sgw_file_free(struct sgw_file *f)
{
	if (f == NULL)
		return;
	drop(f->buf, f->len, f->secret);
	f->buf = NULL;
	f->len = 0;
}

int
sgw_line_next(
    const char *text, size_t len, size_t *pos, const char **line, size_t *n)
{
	const char *s, *nl;

	if (text == NULL || *pos >= len)
		return 0;
	s = text + *pos;
	nl = memchr(s, '\n', len - *pos);
	*line = s;
	*n = nl != NULL ? (size_t)(nl - s) : len - *pos;
	*pos += *n + (nl != NULL);
	return 1;
}
