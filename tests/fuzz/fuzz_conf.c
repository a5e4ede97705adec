/*
 * fuzz_conf: the configuration file parser (sgw_conf_parse).
 *
 * The file is operator input rather than network input, but `sessiongw
 * -t` is run on files copied from elsewhere, and a reload must never turn
 * a bad edit into a crash of the master. The input is an exact-size heap
 * copy without a NUL.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "errs.h"
#include "fuzz.h"
#include "store_redis.h"

static void
check_conf(const struct sgw_conf *c)
{
	/* conf.h: strings are owned and never NULL. */
	const char *const strs[] = {c->file, c->listen, c->allowed_clients,
	    c->log_file, c->user, c->metrics_listen, c->users_file,
	    c->secret_file, c->cookie_name, c->cookie_domain, c->cookie_path,
	    c->prefix, c->default_redirect, c->login_url, c->login_template};

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		CHECK(strs[i] != NULL);
	CHECK(c->nrules >= 1 && c->rules != NULL);
	CHECK(c->workers >= 1 && c->workers <= 1024);
	for (size_t i = 0; i < c->nrules; i++) {
		const struct sgw_rule *r = &c->rules[i];

		CHECK(r->pattern != NULL && r->pattern[0] == '/');
		CHECK(r->policy != SGW_POLICY_ROLE ||
		    (r->roles != NULL && r->nroles >= 1));
		for (size_t j = 0; j < r->nroles; j++)
			CHECK(r->roles[j] != NULL && r->roles[j][0] != '\0');
	}
	/* Paths that end up in Location headers and cookies. */
	CHECK(c->cookie_path[0] == '/' && c->default_redirect[0] == '/' &&
	    c->login_url[0] == '/' && c->prefix[0] == '/');
	CHECK(c->default_redirect[1] != '/' && c->default_redirect[1] != '\\');
	CHECK(c->cookie_name[0] != '\0');
	CHECK(c->redirect_hosts != NULL || c->nredirect_hosts == 0);
	CHECK(c->trusted_proxies != NULL || c->ntrusted_proxies == 0);
	/* The [redis] options live in the backend's own struct. */
	const struct sgw_redis_conf *rc = sgw_conf_backend(c, "redis");

	CHECK(rc != NULL);
	CHECK(rc->address != NULL && rc->sentinel_master != NULL &&
	    rc->username != NULL && rc->password != NULL &&
	    rc->key_prefix != NULL);
	CHECK(rc->sentinels != NULL || rc->nsentinels == 0);
}

/*
 * "[login] template" names a file that the parser opens to check that it
 * can be read. A fuzzer must not open paths it makes up: a FIFO blocks
 * until a writer comes, a device node may act on being opened. So an
 * input is skipped when a line mentioning "template" has anything but
 * blanks after its first '=' (a superset of a non-empty template value);
 * "template =", as in the sample file, still goes through. The value is a
 * plain string otherwise (like log_file), so nothing else goes untested.
 */
static int
opens_template(const uint8_t *data, size_t size)
{
	size_t pos = 0;

	while (pos < size) {
		const uint8_t *s = data + pos;
		const uint8_t *nl = memchr(s, '\n', size - pos);
		size_t n = nl != NULL ? (size_t)(nl - s) : size - pos;
		const uint8_t *eq = memchr(s, '=', n);

		pos += n + 1;
		if (eq == NULL || memmem(s, n, "template", 8) == NULL)
			continue;
		for (eq++; eq < s + n; eq++)
			if (*eq != ' ' && *eq != '\t')
				return 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sgw_errs errs = {0};
	struct sgw_conf conf;
	char *text;

	if (opens_template(data, size))
		return 0;
	if ((text = malloc(size)) == NULL)
		return 0;
	if (size > 0)
		memcpy(text, data, size);
	if (sgw_conf_parse("fuzz.conf", text, size, &conf, &errs) == 0) {
		check_conf(&conf);
		sgw_conf_free(&conf);
	} else {
		/* Refused with a reason, and nothing left to free. */
		CHECK(errs.n + errs.dropped > 0);
		CHECK(conf.rules == NULL && conf.listen == NULL);
	}
	sgw_errs_clear(&errs);
	free(text);
	return 0;
}
