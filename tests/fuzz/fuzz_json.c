/*
 * fuzz_json: the POST /login body, JSON or form (sgw_credentials_parse).
 *
 * The first input byte picks the Content-Type and is not part of the
 * body: low bit clear is JSON, set is a form; bit 1 adds parameters and
 * odd case to the media type. So a seed is "0{...}" (JSON) or
 * "1username=..." (form). The body is an exact-size heap copy without a
 * NUL, as the gateway hands it over.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "credentials.h"
#include "fuzz.h"

/* The caps credentials.h promises. */
#define USERNAME_MAX 256
#define PASSWORD_MAX 1024
#define RETURN_TO_MAX 2048

static const char *const content_types[4] = {
    "application/json",
    "application/x-www-form-urlencoded",
    " Application/JSON ; charset=utf-8",
    "APPLICATION/x-www-form-urlencoded;charset=UTF-8",
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sgw_credentials c;
	const char *why = NULL;
	char *body;
	size_t len;
	int json, st;

	if (size == 0)
		return 0;
	json = (data[0] & 1) == 0;
	len = size - 1;
	if ((body = malloc(len)) == NULL)
		return 0;
	if (len > 0)
		memcpy(body, data + 1, len);
	st = sgw_credentials_parse(
	    content_types[data[0] & 3], body, len, &c, &why);
	CHECK(c.is_json == json);
	if (st == SGW_CREDENTIALS_OK) {
		CHECK(c.username != NULL && c.username[0] != '\0' &&
		    strlen(c.username) <= USERNAME_MAX);
		CHECK(c.password != NULL && c.password[0] != '\0' &&
		    strlen(c.password) <= PASSWORD_MAX);
		CHECK(c.return_to == NULL ||
		    (c.return_to[0] != '\0' &&
		        strlen(c.return_to) <= RETURN_TO_MAX));
		CHECK(c.remember_me == 0 || c.remember_me == 1);
	} else {
		/* Every content type given is form or JSON, and INTERNAL is
		 * out of memory, which the fuzzer does not cause: what is
		 * left is a bad body (the handler's 400). */
		CHECK((st == SGW_CREDENTIALS_MALFORMED ||
		          st == SGW_CREDENTIALS_MISSING ||
		          st == SGW_CREDENTIALS_TOO_LARGE) &&
		    why != NULL);
		CHECK(c.username == NULL && c.password == NULL &&
		    c.return_to == NULL);
	}
	sgw_credentials_clear(&c);
	free(body);
	return 0;
}
