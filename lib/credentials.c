/*
 * credentials: the body of POST /login, as a form or as JSON.
 *
 * The password passes through here, so every buffer this file fills with
 * it is wiped before it is freed. The body itself belongs to the caller.
 */
#include "credentials.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "form.h"

#define USERNAME_MAX 256
#define PASSWORD_MAX 1024
#define RETURN_TO_MAX 2048

static const char form_media[] = "application/x-www-form-urlencoded";
static const char json_media[] = "application/json";

enum sgw_body_kind
sgw_body_kind(const char *content_type)
{
	const char *s = content_type;
	size_t n;

	if (s == NULL)
		return SGW_BODY_OTHER;
	while (*s == ' ' || *s == '\t')
		s++;
	/* The media type ends at its parameters ("; charset=utf-8"). */
	n = strcspn(s, ";");
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == sizeof(form_media) - 1 && strncasecmp(s, form_media, n) == 0)
		return SGW_BODY_FORM;
	if (n == sizeof(json_media) - 1 && strncasecmp(s, json_media, n) == 0)
		return SGW_BODY_JSON;
	return SGW_BODY_OTHER;
}

static void
free_wiped(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

void
sgw_credentials_clear(struct sgw_credentials *c)
{
	if (c == NULL)
		return;
	/* A user who types the password into the user name field should
	 * not leave it behind either. */
	free_wiped(c->username);
	free_wiped(c->password);
	free_wiped(c->return_to);
	memset(c, 0, sizeof(*c));
}

/*
 * jansson copies every string it parses (and the raw text of each token
 * while lexing) into buffers of its own, and has no option to wipe them.
 * What it does have is a process-wide allocator hook, so its frees are
 * routed through one that overwrites the whole block first. The hook is
 * installed only over jansson's defaults, never over an allocator
 * someone else chose; it is compatible with blocks malloc'd before it was
 * installed, and (like json_set_alloc_funcs itself) it assumes a process
 * with no threads racing to parse JSON, which is what the workers are.
 */
static void *
wiping_malloc(size_t n)
{
	return malloc(n);
}

static void
wiping_free(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

static void
jansson_wipe_frees(void)
{
	json_malloc_t m;
	json_free_t f;

	json_get_alloc_funcs(&m, &f);
	if (m == malloc && f == free)
		json_set_alloc_funcs(wiping_malloc, wiping_free);
}

/* A malloc'd copy of n bytes at s, NUL-terminated; NULL on OOM. */
static char *
copy_bytes(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* Optional string member `key` into *dst, at most max bytes. */
static enum sgw_credentials_rc
json_field(json_t *root, const char *key, size_t max, char **dst,
    const char *wrong_type, const char *too_long, const char **why)
{
	json_t *v = json_object_get(root, key);
	size_t n;

	if (v == NULL)
		return SGW_CREDENTIALS_OK;
	if (!json_is_string(v)) {
		*why = wrong_type;
		return SGW_CREDENTIALS_MALFORMED;
	}
	n = json_string_length(v);
	if (n > max) {
		*why = too_long;
		return SGW_CREDENTIALS_TOO_LARGE;
	}
	/* jansson refuses "\u0000" without JSON_ALLOW_NUL; checked again
	 * because a NUL would cut the C string short of what was sent. */
	if (memchr(json_string_value(v), '\0', n) != NULL) {
		*why = "NUL byte in body";
		return SGW_CREDENTIALS_MALFORMED;
	}
	if ((*dst = copy_bytes(json_string_value(v), n)) == NULL) {
		*why = "out of memory";
		return SGW_CREDENTIALS_INTERNAL;
	}
	return SGW_CREDENTIALS_OK;
}

static enum sgw_credentials_rc
parse_json(
    const char *body, size_t len, struct sgw_credentials *c, const char **why)
{
	json_error_t jerr;
	json_t *root, *v;
	enum sgw_credentials_rc st;

	jansson_wipe_frees();
	/* Strict: no duplicate keys (which of two passwords would count?),
	 * no NUL in strings (JSON_ALLOW_NUL unset), nothing after the
	 * value (JSON_DISABLE_EOF_CHECK unset), and an object or array at
	 * the top (JSON_DECODE_ANY unset). */
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	/* The error text quotes the input near the fault: the password,
	 * perhaps. It is never shown to anyone; it is wiped. */
	explicit_bzero(&jerr, sizeof(jerr));
	if (root == NULL) {
		*why = "malformed JSON";
		st = SGW_CREDENTIALS_MALFORMED;
		goto done;
	}
	if (!json_is_object(root)) {
		*why = "body is not a JSON object";
		st = SGW_CREDENTIALS_MALFORMED;
		goto done;
	}
	if ((st = json_field(root, "username", USERNAME_MAX, &c->username,
	         "username must be a string", "username too long", why)) != 0)
		goto done;
	if ((st = json_field(root, "password", PASSWORD_MAX, &c->password,
	         "password must be a string", "password too long", why)) != 0)
		goto done;
	if ((st = json_field(root, "return_to", RETURN_TO_MAX, &c->return_to,
	         "return_to must be a string", "return_to too long", why)) != 0)
		goto done;
	if ((v = json_object_get(root, "remember_me")) != NULL) {
		if (!json_is_boolean(v)) {
			*why = "remember_me must be a boolean";
			st = SGW_CREDENTIALS_MALFORMED;
			goto done;
		}
		c->remember_me = json_is_true(v);
	}
	st = SGW_CREDENTIALS_OK;
done:
	json_decref(root);
	return st;
}

/* Optional form field `name` into *dst, at most max bytes. The body has
 * been validated, so -1 from sgw_form_get can only be OOM. */
static enum sgw_credentials_rc
form_field(const char *body, size_t len, const char *name, size_t max,
    char **dst, const char *too_long, const char **why)
{
	char *v = NULL;
	int r = sgw_form_get(body, len, name, &v);

	if (r < 0) {
		*why = "out of memory";
		return SGW_CREDENTIALS_INTERNAL;
	}
	if (r == 0)
		return SGW_CREDENTIALS_OK;
	if (strlen(v) > max) {
		free_wiped(v);
		*why = too_long;
		return SGW_CREDENTIALS_TOO_LARGE;
	}
	*dst = v;
	return SGW_CREDENTIALS_OK;
}

static enum sgw_credentials_rc
parse_form(
    const char *body, size_t len, struct sgw_credentials *c, const char **why)
{
	char *remember = NULL;
	enum sgw_credentials_rc st;

	if (sgw_form_validate(body, len) != 0) {
		*why = "malformed form body";
		return SGW_CREDENTIALS_MALFORMED;
	}
	if ((st = form_field(body, len, "username", USERNAME_MAX, &c->username,
	         "username too long", why)) != 0)
		return st;
	if ((st = form_field(body, len, "password", PASSWORD_MAX, &c->password,
	         "password too long", why)) != 0)
		return st;
	if ((st = form_field(body, len, "return_to", RETURN_TO_MAX,
	         &c->return_to, "return_to too long", why)) != 0)
		return st;
	/* "on" is what an HTML checkbox sends when ticked (it sends nothing
	 * when not); any other value is not a yes. */
	if (sgw_form_get(body, len, "remember_me", &remember) < 0) {
		*why = "out of memory";
		return SGW_CREDENTIALS_INTERNAL;
	}
	c->remember_me = remember != NULL && strcmp(remember, "on") == 0;
	free(remember);
	return SGW_CREDENTIALS_OK;
}

enum sgw_credentials_rc
sgw_credentials_parse(const char *content_type, const char *body, size_t len,
    struct sgw_credentials *out, const char **why)
{
	enum sgw_body_kind kind;
	const char *ignored;
	enum sgw_credentials_rc st;

	if (why == NULL)
		why = &ignored;
	if (out == NULL) {
		*why = "internal error";
		return SGW_CREDENTIALS_INTERNAL;
	}
	memset(out, 0, sizeof(*out));
	if (content_type == NULL) {
		*why = "missing content type";
		return SGW_CREDENTIALS_MEDIA_TYPE;
	}
	if ((kind = sgw_body_kind(content_type)) == SGW_BODY_OTHER) {
		*why = "unsupported content type";
		return SGW_CREDENTIALS_MEDIA_TYPE;
	}
	if (body == NULL && len > 0) {
		*why = "internal error";
		return SGW_CREDENTIALS_INTERNAL;
	}
	if (body == NULL)
		body = "";
	if (memchr(body, '\0', len) != NULL) {
		*why = "NUL byte in body";
		st = SGW_CREDENTIALS_MALFORMED;
		goto done;
	}
	st = kind == SGW_BODY_JSON ? parse_json(body, len, out, why)
	                           : parse_form(body, len, out, why);
	if (st != SGW_CREDENTIALS_OK)
		goto done;
	if (out->username == NULL || out->username[0] == '\0') {
		*why = "missing username";
		st = SGW_CREDENTIALS_MISSING;
	} else if (out->password == NULL || out->password[0] == '\0') {
		*why = "missing password";
		st = SGW_CREDENTIALS_MISSING;
	} else if (out->return_to != NULL && out->return_to[0] == '\0') {
		/* An empty hidden field means "none", as absence does. */
		free(out->return_to);
		out->return_to = NULL;
	}
done:
	if (st != SGW_CREDENTIALS_OK)
		sgw_credentials_clear(out);
	/* Set even on failure: the caller answers in the body's format. */
	out->is_json = kind == SGW_BODY_JSON;
	return st;
}
