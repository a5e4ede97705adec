#include "runtime.h"

#include <stdlib.h>
#include <string.h>

#include "fileio.h"

static char *
read_template(const char *file, struct sgw_errs *errs)
{
	struct sgw_file f;

	/* A regular file only: conf.c already refused anything else, and
	 * sgw_file_read keeps a FIFO swapped in since from blocking the
	 * master. */
	if (sgw_file_read(file, SGW_TEMPLATE_MAX, SGW_FILE_REGULAR, &f) < 0) {
		if (f.err == SGW_FILE_TOO_LARGE)
			sgw_errs_add(errs,
			    "%s: login template larger than %d "
			    "bytes",
			    file, SGW_TEMPLATE_MAX);
		else if (f.err == SGW_FILE_NOT_REGULAR)
			sgw_errs_add(errs,
			    "%s: login template is not a regular "
			    "file",
			    file);
		else
			sgw_errs_add(errs, "%s: cannot read login template: %s",
			    file, strerror(f.err_no));
		return NULL;
	}
	if (memchr(f.buf, '\0', f.len) != NULL) {
		sgw_errs_add(
		    errs, "%s: login template contains a NUL byte", file);
		goto fail;
	}
	if (strstr(f.buf, "{{action}}") == NULL) {
		sgw_errs_add(errs,
		    "%s: login template has no {{action}} placeholder "
		    "for the form's action",
		    file);
		goto fail;
	}
	return f.buf;
fail:
	sgw_file_free(&f);
	return NULL;
}

int
sgw_runtime_load(
    const char *file, struct sgw_runtime *rt, struct sgw_errs *errs)
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
			explicit_bzero(
			    rt->users.v[i].hash, strlen(rt->users.v[i].hash));
	if (rt->users.dummy_hash != NULL)
		explicit_bzero(
		    rt->users.dummy_hash, strlen(rt->users.dummy_hash));
	sgw_users_free(&rt->users);
	/* Every key its table marks SGW_K_SECRET, of every backend: a
	 * backend that adds a secret key marks it and is covered here. */
	sgw_conf_wipe_secrets(&rt->conf);
}
