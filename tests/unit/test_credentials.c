/*
 * credentials: POST /login bodies, form and JSON, and every way to get
 * them wrong.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "credentials.h"

#define FORM "application/x-www-form-urlencoded"
#define JSON "application/json"

/* Parses a copy of body without its NUL (ASan sees reads past len). */
static enum sgw_credentials_rc
parse_n(const char *ct, const char *body, size_t len, struct sgw_credentials *c,
    const char **why)
{
	char *copy = malloc(len > 0 ? len : 1);
	enum sgw_credentials_rc st;

	assert_non_null(copy);
	memcpy(copy, body, len);
	*why = NULL;
	st = sgw_credentials_parse(ct, copy, len, c, why);
	free(copy);
	return st;
}

static enum sgw_credentials_rc
parse(const char *ct, const char *body, struct sgw_credentials *c,
    const char **why)
{
	return parse_n(ct, body, strlen(body), c, why);
}

/* A failure leaves nothing to free and says why. */
#define assert_refused(ct, body, status, reason)                               \
	do {                                                                   \
		struct sgw_credentials c_;                                     \
		const char *why_;                                              \
		assert_int_equal(parse((ct), (body), &c_, &why_), (status));   \
		assert_non_null(why_);                                         \
		assert_string_equal(why_, (reason));                           \
		assert_null(c_.username);                                      \
		assert_null(c_.password);                                      \
		assert_null(c_.return_to);                                     \
	} while (0)

static void
body_kind_ignores_case_and_parameters(void **state)
{
	(void)state;
	assert_int_equal(sgw_body_kind(FORM), SGW_BODY_FORM);
	assert_int_equal(
	    sgw_body_kind("Application/X-WWW-Form-Urlencoded ;x=y"),
	    SGW_BODY_FORM);
	assert_int_equal(sgw_body_kind(JSON), SGW_BODY_JSON);
	assert_int_equal(
	    sgw_body_kind("application/json; charset=utf-8"), SGW_BODY_JSON);
	assert_int_equal(sgw_body_kind(" APPLICATION/JSON"), SGW_BODY_JSON);
	assert_int_equal(sgw_body_kind("application/jsonx"), SGW_BODY_OTHER);
	assert_int_equal(
	    sgw_body_kind("application/json-patch+json"), SGW_BODY_OTHER);
	assert_int_equal(sgw_body_kind("text/plain"), SGW_BODY_OTHER);
	assert_int_equal(
	    sgw_body_kind("multipart/form-data; boundary=x"), SGW_BODY_OTHER);
	assert_int_equal(sgw_body_kind(""), SGW_BODY_OTHER);
	assert_int_equal(sgw_body_kind(NULL), SGW_BODY_OTHER);
}

static void
missing_or_other_content_type_is_a_media_type_error(void **state)
{
	(void)state;
	assert_refused(NULL, "username=a&password=b",
	    SGW_CREDENTIALS_MEDIA_TYPE, "missing content type");
	assert_refused("text/plain", "username=a&password=b",
	    SGW_CREDENTIALS_MEDIA_TYPE, "unsupported content type");
	assert_refused("multipart/form-data; boundary=x", "",
	    SGW_CREDENTIALS_MEDIA_TYPE, "unsupported content type");
}

static void
called_wrongly_is_internal(void **state)
{
	const char *why = NULL;

	(void)state;
	assert_int_equal(sgw_credentials_parse(
	                     FORM, "username=a&password=b", 21, NULL, &why),
	    SGW_CREDENTIALS_INTERNAL);
	assert_string_equal(why, "internal error");
}

static void
form_happy_path(void **state)
{
	struct sgw_credentials c;
	const char *why;

	(void)state;
	assert_int_equal(parse(FORM,
	                     "username=alice&password=p%40ss+word"
	                     "&remember_me=on&return_to=%2Fapp%2F%3Fx%3D1",
	                     &c, &why),
	    0);
	assert_string_equal(c.username, "alice");
	assert_string_equal(c.password, "p@ss word");
	assert_string_equal(c.return_to, "/app/?x=1");
	assert_int_equal(c.remember_me, 1);
	assert_int_equal(c.is_json, 0);
	sgw_credentials_clear(&c);
	assert_null(c.username);
	assert_null(c.password);
}

static void
form_remember_me_only_when_on(void **state)
{
	struct sgw_credentials c;
	const char *why;

	(void)state;
	assert_int_equal(
	    parse(FORM "; charset=utf-8", "username=a&password=b", &c, &why),
	    0);
	assert_int_equal(c.remember_me, 0);
	assert_null(c.return_to);
	sgw_credentials_clear(&c);
	assert_int_equal(
	    parse(FORM, "username=a&password=b&remember_me=off", &c, &why), 0);
	assert_int_equal(c.remember_me, 0);
	sgw_credentials_clear(&c);
	/* An empty hidden return_to field means none. */
	assert_int_equal(
	    parse(FORM, "username=a&password=b&return_to=", &c, &why), 0);
	assert_null(c.return_to);
	sgw_credentials_clear(&c);
}

static void
json_happy_path_with_charset(void **state)
{
	struct sgw_credentials c;
	const char *why;

	(void)state;
	assert_int_equal(
	    parse("application/json; charset=utf-8",
	        "{\"username\":\"bob\",\"password\":\"p\\u00e9\\\"x\","
	        "\"remember_me\":true,\"return_to\":\"/a\",\"extra\":[1,{}]}",
	        &c, &why),
	    0);
	assert_string_equal(c.username, "bob");
	assert_string_equal(c.password, "p\xc3\xa9\"x");
	assert_string_equal(c.return_to, "/a");
	assert_int_equal(c.remember_me, 1);
	assert_int_equal(c.is_json, 1);
	sgw_credentials_clear(&c);

	assert_int_equal(parse(JSON,
	                     " {\"password\":\"p\",\"username\":\"u\","
	                     "\"remember_me\":false} \n",
	                     &c, &why),
	    0);
	assert_int_equal(c.remember_me, 0);
	assert_null(c.return_to);
	sgw_credentials_clear(&c);
}

static void
json_malformed_is_malformed_and_still_marked_json(void **state)
{
	struct sgw_credentials c;
	const char *why;

	(void)state;
	assert_refused(JSON, "{\"username\":\"a\",\"password\":\"b\"",
	    SGW_CREDENTIALS_MALFORMED, "malformed JSON");
	assert_refused(JSON, "{\"username\":\"a\",\"password\":\"b\"} x",
	    SGW_CREDENTIALS_MALFORMED, "malformed JSON");
	assert_refused(JSON, "", SGW_CREDENTIALS_MALFORMED, "malformed JSON");
	assert_refused(JSON, "{\"username\":\"a\",\"password\":\"\xff\"}",
	    SGW_CREDENTIALS_MALFORMED, "malformed JSON");
	assert_int_equal(
	    parse(JSON, "nope", &c, &why), SGW_CREDENTIALS_MALFORMED);
	assert_int_equal(c.is_json, 1);
}

static void
json_top_level_must_be_object(void **state)
{
	(void)state;
	assert_refused(JSON, "[{\"username\":\"a\",\"password\":\"b\"}]",
	    SGW_CREDENTIALS_MALFORMED, "body is not a JSON object");
	assert_refused(
	    JSON, "\"username\"", SGW_CREDENTIALS_MALFORMED, "malformed JSON");
}

static void
json_wrong_types_are_malformed(void **state)
{
	(void)state;
	assert_refused(JSON, "{\"username\":1,\"password\":\"b\"}",
	    SGW_CREDENTIALS_MALFORMED, "username must be a string");
	assert_refused(JSON, "{\"username\":\"a\",\"password\":[\"b\"]}",
	    SGW_CREDENTIALS_MALFORMED, "password must be a string");
	assert_refused(JSON, "{\"username\":\"a\",\"password\":null}",
	    SGW_CREDENTIALS_MALFORMED, "password must be a string");
	assert_refused(JSON,
	    "{\"username\":\"a\",\"password\":\"b\","
	    "\"remember_me\":\"on\"}",
	    SGW_CREDENTIALS_MALFORMED, "remember_me must be a boolean");
	assert_refused(JSON,
	    "{\"username\":\"a\",\"password\":\"b\","
	    "\"return_to\":{}}",
	    SGW_CREDENTIALS_MALFORMED, "return_to must be a string");
}

static void
missing_or_empty_fields_are_missing(void **state)
{
	(void)state;
	assert_refused(JSON, "{\"password\":\"b\"}", SGW_CREDENTIALS_MISSING,
	    "missing username");
	assert_refused(JSON, "{\"username\":\"\",\"password\":\"b\"}",
	    SGW_CREDENTIALS_MISSING, "missing username");
	assert_refused(JSON, "{\"username\":\"a\"}", SGW_CREDENTIALS_MISSING,
	    "missing password");
	assert_refused(JSON, "{}", SGW_CREDENTIALS_MISSING, "missing username");
	assert_refused(
	    FORM, "password=b", SGW_CREDENTIALS_MISSING, "missing username");
	assert_refused(FORM, "username=a&password=", SGW_CREDENTIALS_MISSING,
	    "missing password");
	assert_refused(FORM, "username=a&password", SGW_CREDENTIALS_MISSING,
	    "missing password");
	assert_refused(FORM, "", SGW_CREDENTIALS_MISSING, "missing username");
}

static void
nul_anywhere_is_malformed(void **state)
{
	static const char raw[] = "username=a&password=b\0c";
	static const char rawj[] = "{\"username\":\"a\",\"password\":\"b\0\"}";
	struct sgw_credentials c;
	const char *why;

	(void)state;
	assert_refused(JSON, "{\"username\":\"a\",\"password\":\"b\\u0000c\"}",
	    SGW_CREDENTIALS_MALFORMED, "malformed JSON");
	assert_refused(FORM, "username=a&password=b%00c",
	    SGW_CREDENTIALS_MALFORMED, "malformed form body");
	assert_int_equal(parse_n(FORM, raw, sizeof(raw) - 1, &c, &why),
	    SGW_CREDENTIALS_MALFORMED);
	assert_string_equal(why, "NUL byte in body");
	assert_null(c.password);
	assert_int_equal(parse_n(JSON, rawj, sizeof(rawj) - 1, &c, &why),
	    SGW_CREDENTIALS_MALFORMED);
	assert_string_equal(why, "NUL byte in body");
}

static void
bad_percent_escape_is_malformed(void **state)
{
	(void)state;
	assert_refused(FORM, "username=a&password=b%2",
	    SGW_CREDENTIALS_MALFORMED, "malformed form body");
	assert_refused(FORM, "username=a&password=b&junk=%G1",
	    SGW_CREDENTIALS_MALFORMED, "malformed form body");
}

static void
duplicate_json_keys_are_malformed(void **state)
{
	(void)state;
	assert_refused(JSON,
	    "{\"username\":\"a\",\"password\":\"b\","
	    "\"password\":\"c\"}",
	    SGW_CREDENTIALS_MALFORMED, "malformed JSON");
}

/* A body with field `name` set to n copies of 'x'. */
static char *
body_with(int json, const char *name, size_t n)
{
	size_t sz = n + 128;
	char *b = malloc(sz), *v = malloc(n + 1);

	assert_non_null(b);
	assert_non_null(v);
	memset(v, 'x', n);
	v[n] = '\0';
	if (json)
		snprintf(b, sz,
		    "{\"username\":\"%s\",\"password\":\"%s\","
		    "\"return_to\":\"%s\"}",
		    strcmp(name, "username") == 0 ? v : "u",
		    strcmp(name, "password") == 0 ? v : "p",
		    strcmp(name, "return_to") == 0 ? v : "/");
	else
		snprintf(b, sz, "username=%s&password=%s&return_to=%s",
		    strcmp(name, "username") == 0 ? v : "u",
		    strcmp(name, "password") == 0 ? v : "p",
		    strcmp(name, "return_to") == 0 ? v : "/");
	free(v);
	return b;
}

static void
fields_at_cap_pass_and_over_cap_are_too_large(void **state)
{
	static const struct {
		const char *name;
		size_t cap;
		const char *why;
	} f[] = {
	    {"username", 256, "username too long"},
	    {"password", 1024, "password too long"},
	    {"return_to", 2048, "return_to too long"},
	};

	(void)state;
	for (int json = 0; json <= 1; json++) {
		for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
			struct sgw_credentials c;
			const char *why;
			char *b = body_with(json, f[i].name, f[i].cap);

			assert_int_equal(
			    parse(json ? JSON : FORM, b, &c, &why), 0);
			sgw_credentials_clear(&c);
			free(b);
			b = body_with(json, f[i].name, f[i].cap + 1);
			assert_refused(json ? JSON : FORM, b,
			    SGW_CREDENTIALS_TOO_LARGE, f[i].why);
			free(b);
		}
	}
}

static void
jansson_frees_are_routed_through_a_wiping_free(void **state)
{
	struct sgw_credentials c;
	const char *why;
	json_malloc_t m;
	json_free_t f;

	(void)state;
	assert_int_equal(
	    parse(JSON, "{\"username\":\"a\",\"password\":\"b\"}", &c, &why),
	    0);
	sgw_credentials_clear(&c);
	json_get_alloc_funcs(&m, &f);
	assert_true(f != free);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(body_kind_ignores_case_and_parameters),
	    cmocka_unit_test(
	        missing_or_other_content_type_is_a_media_type_error),
	    cmocka_unit_test(called_wrongly_is_internal),
	    cmocka_unit_test(form_happy_path),
	    cmocka_unit_test(form_remember_me_only_when_on),
	    cmocka_unit_test(json_happy_path_with_charset),
	    cmocka_unit_test(json_malformed_is_malformed_and_still_marked_json),
	    cmocka_unit_test(json_top_level_must_be_object),
	    cmocka_unit_test(json_wrong_types_are_malformed),
	    cmocka_unit_test(missing_or_empty_fields_are_missing),
	    cmocka_unit_test(nul_anywhere_is_malformed),
	    cmocka_unit_test(bad_percent_escape_is_malformed),
	    cmocka_unit_test(duplicate_json_keys_are_malformed),
	    cmocka_unit_test(fields_at_cap_pass_and_over_cap_are_too_large),
	    cmocka_unit_test(jansson_frees_are_routed_through_a_wiping_free),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
