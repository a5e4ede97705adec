#include "http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
sgw_resp_init(struct sgw_response *r)
{
	memset(r, 0, sizeof(*r));
	r->status = 500;
	r->endpoint = SGW_ENDPOINT_OTHER;
}

void
sgw_resp_free(struct sgw_response *r)
{
	sgw_buf_free(&r->headers);
	sgw_buf_free(&r->body);
}

void
sgw_resp_header(struct sgw_response *r, const char *name, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		r->headers.oom = 1;
		return;
	}
	/* Header injection is impossible by construction: a CR or LF in a
	 * value (which would be our bug) drops the header. */
	if (strpbrk(s, "\r\n") == NULL)
		sgw_buf_addf(&r->headers, "%s: %s\r\n", name, s);
	free(s);
}

/*
 * Replaces the body. When it cannot be stored, body.oom stays set and the
 * status is 500: worker.c then answers a fresh 500 rather than a status
 * with half a body. Returns 0, or -1 on that failure.
 */
static int
set_body(struct sgw_response *r, int status, const char *type, const char *data,
    size_t len)
{
	sgw_buf_free(&r->body);
	sgw_buf_add(&r->body, data, len);
	if (r->body.oom) {
		r->status = 500;
		return -1;
	}
	r->status = status;
	sgw_resp_header(r, "Content-Type", "%s", type);
	return 0;
}

void
sgw_resp_json(struct sgw_response *r, int status, json_t *obj)
{
	char *s = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;

	if (s == NULL) {
		r->status = 500;
		r->body.oom = 1;
	} else if (set_body(r, status, "application/json", s, strlen(s)) == 0) {
		sgw_buf_add(&r->body, "\n", 1);
		if (r->body.oom)
			r->status = 500;
	}
	free(s);
	json_decref(obj);
}

void
sgw_resp_error(struct sgw_response *r, int status, const char *msg)
{
	sgw_resp_json(r, status, json_pack("{s:s}", "error", msg));
}

void
sgw_resp_html(struct sgw_response *r, int status, const char *html, size_t len)
{
	set_body(r, status, "text/html; charset=utf-8", html, len);
}

void
sgw_resp_redirect(struct sgw_response *r, int status, const char *location)
{
	r->status = status;
	sgw_resp_header(r, "Location", "%s", location);
}

const char *
sgw_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 302: return "Found";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}
