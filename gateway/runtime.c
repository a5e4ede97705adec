#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *
read_template(const char *file, struct sgw_errs *errs)
{
	/* A regular file only: conf.c already refused anything else, and
	 * O_NONBLOCK keeps a FIFO swapped in since from blocking the master. */
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	char *buf = NULL;
	size_t n;

	if (f == NULL && fd >= 0)
		close(fd);
	if (f == NULL) {
		sgw_errs_add(errs, "%s: cannot read login template: %s", file,
		    strerror(errno));
		return NULL;
	}
	if ((buf = malloc(SGW_TEMPLATE_MAX + 1)) == NULL)
		goto fail;
	n = fread(buf, 1, SGW_TEMPLATE_MAX + 1, f);
	if (ferror(f)) {
		sgw_errs_add(errs, "%s: cannot read login template: %s", file,
		    strerror(errno));
		goto fail;
	}
	if (n > SGW_TEMPLATE_MAX) {
		sgw_errs_add(errs, "%s: login template larger than %d bytes", file,
		    SGW_TEMPLATE_MAX);
		goto fail;
	}
	if (memchr(buf, '\0', n) != NULL) {
		sgw_errs_add(errs, "%s: login template contains a NUL byte", file);
		goto fail;
	}
	buf[n] = '\0';
	if (strstr(buf, "{{action}}") == NULL) {
		sgw_errs_add(errs, "%s: login template has no {{action}} placeholder "
		    "for the form's action", file);
		goto fail;
	}
	fclose(f);
	return buf;
fail:
	free(buf);
	fclose(f);
	return NULL;
}

int
sgw_runtime_load(const char *file, struct sgw_runtime *rt, struct sgw_errs *errs)
{
	size_t before = errs->n + errs->dropped;

	memset(rt, 0, sizeof(*rt));
	if (sgw_conf_load(file, &rt->conf, errs) == -1)
		return -1;
	(void)sgw_keys_load(rt->conf.secret_file, &rt->keys, errs);
	(void)sgw_users_load(rt->conf.users_file, &rt->users, errs);
	if (rt->conf.login_template[0] != '\0')
		rt->login_page = read_template(rt->conf.login_template, errs);
	else
		rt->login_page = strdup(sgw_builtin_login_page);
	if (rt->login_page == NULL && errs->n + errs->dropped == before)
		sgw_errs_add(errs, "%s: out of memory", file);
	if (errs->n + errs->dropped != before) {
		sgw_runtime_free(rt);
		return -1;
	}
	return 0;
}

void
sgw_runtime_free(struct sgw_runtime *rt)
{
	if (rt == NULL)
		return;
	sgw_conf_free(&rt->conf);
	sgw_keys_wipe(&rt->keys);
	sgw_users_free(&rt->users);
	free(rt->login_page);
	memset(rt, 0, sizeof(*rt));
}

void
sgw_runtime_wipe_secrets(struct sgw_runtime *rt)
{
	sgw_keys_wipe(&rt->keys);
	/* sgw_users_free frees the hashes without overwriting them, and
	 * freed memory keeps its bytes. */
	for (size_t i = 0; i < rt->users.n; i++)
		if (rt->users.v[i].hash != NULL)
			explicit_bzero(rt->users.v[i].hash, strlen(rt->users.v[i].hash));
	if (rt->users.dummy_hash != NULL)
		explicit_bzero(rt->users.dummy_hash, strlen(rt->users.dummy_hash));
	sgw_users_free(&rt->users);
	/* Every key its table marks SGW_K_SECRET, of every backend: a
	 * backend that adds a secret key marks it and is covered here. */
	sgw_conf_wipe_secrets(&rt->conf);
}
