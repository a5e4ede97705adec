/*
 * fileio: a whole small file, and the lines of a text.
 *
 * Every file sessiongw reads (the configuration, the users, the keys, the
 * login page) is small and written by the operator. Reading one whole,
 * bounded, without blocking on a FIFO, and walking its lines is done here
 * once, so that each module checks what it reads and not how it got it.
 */
#ifndef SGW_FILEIO_H
#define SGW_FILEIO_H

#include <stddef.h>
#include <sys/stat.h>

/* sgw_file_read flags. */
#define SGW_FILE_REGULAR                                                       \
	0x1 /* only a regular file; a FIFO is refused                          \
	     * without waiting for a writer */
#define SGW_FILE_SECRET                                                        \
	0x2 /* SGW_FILE_REGULAR, refused when others may                       \
	     * access it (mode & 007), and every copy of                       \
	     * the contents is wiped */

enum sgw_file_err {
	SGW_FILE_OK,
	SGW_FILE_ERRNO,       /* open, fstat or read failed: see err_no */
	SGW_FILE_NOT_REGULAR, /* with SGW_FILE_REGULAR or SGW_FILE_SECRET */
	SGW_FILE_NOT_PRIVATE, /* with SGW_FILE_SECRET */
	SGW_FILE_TOO_LARGE,   /* more than the max bytes asked for */
};

struct sgw_file {
	char *buf;             /* owned: the contents and a NUL after them
	                        * (NUL bytes inside are kept: check len) */
	size_t len;            /* bytes read */
	struct stat st;        /* the file as opened */
	enum sgw_file_err err; /* why sgw_file_read failed */
	int err_no;            /* with SGW_FILE_ERRNO */
	char errstr[128];      /* err for a person, without the file name:
	                        * "cannot read: Permission denied" */
	int secret;            /* wipe buf when freeing it */
};

/*
 * Reads all of file, at most max bytes, into *f. Returns 0, or -1 with
 * f->err, f->err_no and f->errstr set and nothing in f->buf. Without
 * SGW_FILE_REGULAR, pipes are read too (-c /dev/stdin). The caller frees
 * f->buf with sgw_file_free, which accepts a failed or zeroed *f.
 */
int sgw_file_read(
    const char *file, size_t max, unsigned flags, struct sgw_file *f);
void sgw_file_free(struct sgw_file *f);

/*
 * The next line of text[0..len) from *pos, which starts at 0 (or past a
 * byte order mark): *line and *n bound it without its '\n' ('\r' stays:
 * the callers that take CRLF drop it). The last line needs no '\n', so
 * "a\nb" is two lines, "a\n" one and "" none. Returns 1 with a line, 0
 * when none is left.
 */
int sgw_line_next(
    const char *text, size_t len, size_t *pos, const char **line, size_t *n);

#endif
