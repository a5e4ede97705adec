/*
 * runtime: sgw_runtime_wipe_secrets, what the metrics server calls right
 * after fork so that a process serving plain HTTP holds no key, no
 * password hash and no backend password.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime.h"
#include "store_pg.h"
#include "store_redis.h"

#define REDIS_PASSWORD "redis-pw-0123456789abcdef"
#define PG_PASSWORD "pg-secret-42"

struct fixture {
	char dir[64];
	char conf[128], users[128], secret[128];
	struct sgw_runtime rt;
};

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct sgw_errs errs = {0};
	char line[SGW_SECRET_LINE + 2], text[1024];
	char *hash;

	assert_non_null(fx);
	strcpy(fx->dir, "/tmp/sgw-runtime.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->conf, sizeof(fx->conf), "%s/sgw.conf", fx->dir);
	snprintf(fx->users, sizeof(fx->users), "%s/users", fx->dir);
	snprintf(fx->secret, sizeof(fx->secret), "%s/secret", fx->dir);
	assert_int_equal(sgw_secret_new(line), 0);
	strcat(line, "\n");
	write_file(fx->secret, line, 0600);
	hash = sgw_users_hash_password("a-long-password", 1);
	assert_non_null(hash);
	snprintf(text, sizeof(text), "alice:%s:staff\nbob:%s\n", hash, hash);
	free(hash);
	write_file(fx->users, text, 0600);
	snprintf(text, sizeof(text),
	    "[server]\nmetrics_listen = 127.0.0.1:9100\n"
	    "[redis]\npassword = " REDIS_PASSWORD "\n"
	    "[postgres]\nconninfo = host=db password=" PG_PASSWORD "\n"
	    "[session]\nusers_file = %s\nsecret_file = %s\n",
	    fx->users, fx->secret);
	write_file(fx->conf, text, 0600);
	if (sgw_runtime_load(fx->conf, &fx->rt, &errs) == -1) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
		fail_msg("cannot load the test configuration");
	}
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	sgw_runtime_free(&fx->rt);
	unlink(fx->conf);
	unlink(fx->users);
	unlink(fx->secret);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static int
all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

static void
test_wipe_leaves_no_key_hash_or_password(void **state)
{
	struct fixture *fx = *state;
	struct sgw_runtime *rt = &fx->rt;
	struct sgw_redis_conf *rc = sgw_conf_backend(&rt->conf, "redis");
	struct sgw_postgres_conf *pc = sgw_conf_backend(&rt->conf, "postgres");
	char *pw = rc->password, *ci = pc->conninfo;
	size_t pwlen = strlen(pw), cilen = strlen(ci);

	/* The fixture holds what a real gateway holds. */
	assert_string_equal(pw, REDIS_PASSWORD);
	assert_non_null(strstr(ci, PG_PASSWORD));
	assert_true(rt->keys.n >= 1);
	assert_false(all_zero(rt->keys.key[0], rt->keys.len[0]));
	assert_int_equal(rt->users.n, 2);
	assert_non_null(rt->users.dummy_hash);

	sgw_runtime_wipe_secrets(rt);

	assert_true(all_zero(&rt->keys, sizeof(rt->keys)));
	assert_int_equal(rt->users.n, 0);
	assert_null(rt->users.v);
	assert_null(rt->users.dummy_hash);
	/* The password's bytes are gone, not only its first one. */
	assert_ptr_equal(rc->password, pw);
	assert_true(all_zero(pw, pwlen));
	/* Every backend's secret keys, not only the one in use. */
	assert_ptr_equal(pc->conninfo, ci);
	assert_true(all_zero(ci, cilen));
}

static void
test_wipe_keeps_what_the_metrics_server_needs(void **state)
{
	struct fixture *fx = *state;
	struct sgw_runtime *rt = &fx->rt;

	sgw_runtime_wipe_secrets(rt);
	assert_string_equal(rt->conf.metrics_listen, "127.0.0.1:9100");
	assert_int_equal(rt->conf.metrics_addr.port, 9100);
	assert_string_equal(rt->conf.user, "");
	assert_string_equal(rt->conf.file, fx->conf);
	/* And it can be freed as usual afterwards (teardown), twice wiped. */
	sgw_runtime_wipe_secrets(rt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_wipe_leaves_no_key_hash_or_password, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_wipe_keeps_what_the_metrics_server_needs, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
