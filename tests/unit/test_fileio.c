/*
 * fileio: whole-file reads (bounds, file types, secrets) and lines.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"

struct dir {
	char path[64];
	char file[96]; /* path/f */
};

static int
dir_setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return -1;
	snprintf(d->path, sizeof(d->path), "/tmp/sgw_test_fileio.XXXXXX");
	if (mkdtemp(d->path) == NULL) {
		free(d);
		return -1;
	}
	snprintf(d->file, sizeof(d->file), "%s/f", d->path);
	*state = d;
	return 0;
}

static int
dir_teardown(void **state)
{
	struct dir *d = *state;

	unlink(d->file);
	rmdir(d->path);
	free(d);
	return 0;
}

static void
spit(const char *path, const char *s, size_t n, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(s, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void
reads_the_whole_file_nul_terminated_with_its_stat(void **state)
{
	struct dir *d = *state;
	struct sgw_file f;
	struct stat st;

	spit(d->file, "a\0b\nc", 5, 0600);
	assert_int_equal(stat(d->file, &st), 0);
	assert_int_equal(sgw_file_read(d->file, 100, SGW_FILE_REGULAR, &f), 0);
	assert_int_equal(f.err, SGW_FILE_OK);
	assert_int_equal(f.len, 5);
	/* a NUL inside is kept: callers check len, not strlen */
	assert_memory_equal(f.buf, "a\0b\nc", 6);
	assert_true(f.st.st_ino == st.st_ino && f.st.st_size == 5);
	sgw_file_free(&f);
	assert_null(f.buf);
	sgw_file_free(&f);
	sgw_file_free(NULL);

	spit(d->file, "", 0, 0600);
	assert_int_equal(sgw_file_read(d->file, 100, 0, &f), 0);
	assert_int_equal(f.len, 0);
	assert_string_equal(f.buf, "");
	sgw_file_free(&f);
}

static void
max_bytes_fit_and_one_more_is_too_large(void **state)
{
	struct dir *d = *state;
	struct sgw_file f;
	size_t big = 3 * 8192 + 5; /* past the first buffer, several times */
	char *s = malloc(big + 1);

	assert_non_null(s);
	memset(s, 'x', big);
	spit(d->file, s, big, 0600);
	assert_int_equal(sgw_file_read(d->file, big, 0, &f), 0);
	assert_int_equal(f.len, big);
	assert_memory_equal(f.buf, s, big);
	sgw_file_free(&f);

	assert_int_equal(sgw_file_read(d->file, big - 1, 0, &f), -1);
	assert_int_equal(f.err, SGW_FILE_TOO_LARGE);
	assert_string_equal(f.errstr, "cannot read: File too large");
	assert_null(f.buf);
	sgw_file_free(&f);
	assert_int_equal(sgw_file_read(d->file, 10, SGW_FILE_SECRET, &f), -1);
	assert_int_equal(f.err, SGW_FILE_TOO_LARGE);
	free(s);
}

static void
errors_say_why_without_the_file_name(void **state)
{
	struct dir *d = *state;
	struct sgw_file f;

	assert_int_equal(sgw_file_read(d->file, 10, 0, &f), -1);
	assert_int_equal(f.err, SGW_FILE_ERRNO);
	assert_int_equal(f.err_no, ENOENT);
	assert_string_equal(f.errstr, "cannot read: No such file or directory");
	assert_null(f.buf);

	/* a directory opens, but is no regular file; read(2) says so
	 * without the flag */
	assert_int_equal(sgw_file_read(d->path, 10, SGW_FILE_REGULAR, &f), -1);
	assert_int_equal(f.err, SGW_FILE_NOT_REGULAR);
	assert_string_equal(f.errstr, "cannot read: not a regular file");
	assert_int_equal(sgw_file_read(d->path, 10, 0, &f), -1);
	assert_int_equal(f.err, SGW_FILE_ERRNO);
	assert_string_equal(f.errstr, "cannot read: Is a directory");

	assert_int_equal(sgw_file_read(NULL, 10, 0, &f), -1);
	assert_int_equal(f.err_no, EINVAL);
}

/* A FIFO would block a plain open() until a writer came. */
static void
fifo_is_refused_without_blocking(void **state)
{
	struct dir *d = *state;
	struct sgw_file f;

	assert_int_equal(mkfifo(d->file, 0600), 0);
	alarm(5); /* a blocking open fails the test instead of hanging it */
	assert_int_equal(sgw_file_read(d->file, 10, SGW_FILE_REGULAR, &f), -1);
	assert_int_equal(f.err, SGW_FILE_NOT_REGULAR);
	assert_int_equal(sgw_file_read(d->file, 10, SGW_FILE_SECRET, &f), -1);
	assert_int_equal(f.err, SGW_FILE_NOT_REGULAR);
	alarm(0);
}

/* A pipe is read when the flag is not given: -c /dev/stdin. */
static void
pipe_is_read_without_the_regular_flag(void **state)
{
	struct sgw_file f;
	char path[64];
	int p[2];
	(void)state;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "key = v\n", 8), 8);
	close(p[1]);
	snprintf(path, sizeof(path), "/dev/fd/%d", p[0]);
	assert_int_equal(sgw_file_read(path, 100, 0, &f), 0);
	assert_int_equal(f.len, 8);
	assert_string_equal(f.buf, "key = v\n");
	sgw_file_free(&f);
	close(p[0]);
}

static void
secret_refuses_a_file_others_may_access(void **state)
{
	struct dir *d = *state;
	struct sgw_file f;

	spit(d->file, "k\n", 2, 0644);
	assert_int_equal(sgw_file_read(d->file, 10, SGW_FILE_SECRET, &f), -1);
	assert_int_equal(f.err, SGW_FILE_NOT_PRIVATE);
	assert_string_equal(
	    f.errstr, "must not be accessible by others (chmod 600 or 640)");
	assert_null(f.buf);
	/* the group is not "others" */
	assert_int_equal(chmod(d->file, 0640), 0);
	assert_int_equal(sgw_file_read(d->file, 10, SGW_FILE_SECRET, &f), 0);
	assert_int_equal(f.secret, 1);
	assert_string_equal(f.buf, "k\n");
	sgw_file_free(&f);
	/* without the flag the mode is no business of the reader's */
	assert_int_equal(chmod(d->file, 0644), 0);
	assert_int_equal(sgw_file_read(d->file, 10, SGW_FILE_REGULAR, &f), 0);
	sgw_file_free(&f);
}

/* Every line of text, joined by '|'. */
static void
lines_of(const char *text, size_t len, size_t start, char *out, size_t outsz)
{
	size_t pos = start, n;
	const char *l;
	int first = 1;

	out[0] = '\0';
	while (sgw_line_next(text, len, &pos, &l, &n)) {
		size_t o = strlen(out);

		snprintf(
		    out + o, outsz - o, "%s%.*s", first ? "" : "|", (int)n, l);
		first = 0;
	}
	assert_true(pos >= len);
}

static void
lines_split_at_newlines_and_keep_carriage_returns(void **state)
{
	static const char two[] = "ab\ncd";
	char got[128];
	size_t pos = 0, n;
	const char *l;
	(void)state;

	lines_of("a\nb", 3, 0, got, sizeof(got));
	assert_string_equal(got, "a|b");
	lines_of("a\n", 2, 0, got, sizeof(got));
	assert_string_equal(got, "a");
	lines_of("\n\nx\n", 4, 0, got, sizeof(got));
	assert_string_equal(got, "||x");
	lines_of("a\r\nb\r\n", 6, 0, got, sizeof(got));
	assert_string_equal(got, "a\r|b\r");
	/* a start past a byte order mark */
	lines_of("\xef\xbb\xbfk\nl", 6, 3, got, sizeof(got));
	assert_string_equal(got, "k|l");
	/* len, not the NUL, ends the text */
	lines_of("a\nbc", 3, 0, got, sizeof(got));
	assert_string_equal(got, "a|b");

	assert_int_equal(sgw_line_next("", 0, &pos, &l, &n), 0);
	assert_int_equal(sgw_line_next(NULL, 5, &pos, &l, &n), 0);
	/* the line points into the text, where it starts */
	pos = 0;
	assert_int_equal(sgw_line_next(two, 5, &pos, &l, &n), 1);
	assert_ptr_equal(l, two);
	assert_int_equal(n, 2);
	assert_int_equal(sgw_line_next(two, 5, &pos, &l, &n), 1);
	assert_ptr_equal(l, two + 3);
	assert_int_equal(n, 2);
	assert_int_equal(pos, 5);
	assert_int_equal(sgw_line_next(two, 5, &pos, &l, &n), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        reads_the_whole_file_nul_terminated_with_its_stat, dir_setup,
	        dir_teardown),
	    cmocka_unit_test_setup_teardown(
	        max_bytes_fit_and_one_more_is_too_large, dir_setup,
	        dir_teardown),
	    cmocka_unit_test_setup_teardown(
	        errors_say_why_without_the_file_name, dir_setup, dir_teardown),
	    cmocka_unit_test_setup_teardown(
	        fifo_is_refused_without_blocking, dir_setup, dir_teardown),
	    cmocka_unit_test(pipe_is_read_without_the_regular_flag),
	    cmocka_unit_test_setup_teardown(
	        secret_refuses_a_file_others_may_access, dir_setup,
	        dir_teardown),
	    cmocka_unit_test(lines_split_at_newlines_and_keep_carriage_returns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
