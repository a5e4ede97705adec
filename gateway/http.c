#include "http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where the parameter called name (n bytes) goes, or NULL when no handler
 * reads it. */
static const char **
param_slot(struct sgw_request *q, const char *name, size_t n)
{
#define IS(s) (n == sizeof(s) - 1 && memcmp(name, s, sizeof(s) - 1) == 0)
	switch (name[0]) {
	case 'C':
		return IS("CONTENT_TYPE") ? &q->content_type : NULL;
	case 'D':
		return IS("DOCUMENT_URI") ? &q->document_uri : NULL;
	case 'H':
		if (IS("HTTP_COOKIE"))
			return &q->cookie;
		if (IS("HTTP_HOST"))
			return &q->host;
		if (IS("HTTP_ACCEPT"))
			return &q->accept;
		if (IS("HTTP_ORIGIN"))
			return &q->origin;
		if (IS("HTTP_USER_AGENT"))
			return &q->user_agent;
		if (IS("HTTP_X_ORIGINAL_URI"))
			return &q->orig_uri;
		if (IS("HTTP_X_ORIGINAL_METHOD"))
			return &q->orig_method;
		if (IS("HTTP_X_FORWARDED_FOR"))
			return &q->forwarded;
		return NULL;
	case 'P':
		return IS("PATH_INFO") ? &q->path_info : NULL;
	case 'Q':
		return IS("QUERY_STRING") ? &q->query : NULL;
	case 'R':
		if (IS("REQUEST_URI"))
			return &q->request_uri;
		if (IS("REQUEST_METHOD"))
			return &q->method;
		if (IS("REMOTE_ADDR"))
			return &q->remote_addr;
		return NULL;
	case 'S':
		return IS("SCRIPT_NAME") ? &q->script_name : NULL;
	default:
		return NULL;
	}
#undef IS
}

void
sgw_request_begin(struct sgw_request *q, enum sgw_role role)
{
	memset(q, 0, sizeof(*q));
	q->role = role;
}

void
sgw_request_param(
    struct sgw_request *q, const char *name, size_t n, const char *value)
{
	const char **slot;

	if (n == 0)
		return;
	slot = param_slot(q, name, n);
	if (slot != NULL && *slot == NULL)
		*slot = value;
}

void
sgw_request_done(struct sgw_request *q)
{
	if (q->method == NULL)
		q->method = "GET";
}

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

/*
 * Ends the header line begun at start, whose value begins at value.
 * Header injection is impossible by construction: a CR, LF or NUL in a
 * value (which would be our bug) drops the header.
 */
static void
header_end(struct sgw_response *r, size_t start, size_t value)
{
	struct sgw_buf *h = &r->headers;

	if (h->oom)
		return;
	for (size_t i = value; i < h->len; i++) {
		if (h->data[i] == '\r' || h->data[i] == '\n' ||
		    h->data[i] == '\0') {
			h->len = start;
			h->data[start] = '\0';
			return;
		}
	}
	sgw_buf_add(h, "\r\n", 2);
}

void
sgw_resp_header(struct sgw_response *r, const char *name, const char *fmt, ...)
{
	size_t start = r->headers.len;
	va_list ap;

	sgw_buf_add(&r->headers, name, strlen(name));
	sgw_buf_add(&r->headers, ": ", 2);
	va_start(ap, fmt);
	sgw_buf_vaddf(&r->headers, fmt, ap);
	va_end(ap);
	header_end(r, start, start + strlen(name) + 2);
}

void
sgw_resp_header_str(struct sgw_response *r, const char *name, const char *value)
{
	size_t n = strlen(name), vl = strcspn(value, "\r\n");
	char *p;

	/* A CR or LF drops the header, as header_end does. */
	if (value[vl] != '\0' ||
	    (p = sgw_buf_extend(&r->headers, n + 2 + vl + 2)) == NULL)
		return;
	memcpy(p, name, n);
	memcpy(p + n, ": ", 2);
	memcpy(p + n + 2, value, vl);
	memcpy(p + n + 2 + vl, "\r\n", 2);
}

/*
 * The body is complete: status and Content-Type, or, when it could not be
 * stored, body.oom stays set and the status is 500 (worker.c then answers
 * a fresh 500 rather than a status with half a body). 0, or -1.
 */
static int
body_done(struct sgw_response *r, int status, const char *type)
{
	if (r->body.oom) {
		r->status = 500;
		return -1;
	}
	r->status = status;
	sgw_resp_header_str(r, "Content-Type", type);
	return 0;
}

/* Replaces the body. 0, or -1 (see body_done). */
static int
set_body(struct sgw_response *r, int status, const char *type, const char *data,
    size_t len)
{
	sgw_buf_free(&r->body);
	sgw_buf_add(&r->body, data, len);
	return body_done(r, status, type);
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

/*
 * {"error": msg} as jansson's compact form writes it, built by hand: every
 * denied check answers one, and needs no JSON objects for it. msg is
 * UTF-8 text of ours; quotes, backslashes and control characters are
 * escaped all the same.
 */
void
sgw_resp_error(struct sgw_response *r, int status, const char *msg)
{
	static const char hex[] = "0123456789ABCDEF";
	struct sgw_buf *b = &r->body;
	const char *p = msg;

	sgw_buf_free(b);
	sgw_buf_add(b, "{\"error\":\"", 10);
	while (*p != '\0') {
		size_t n = strcspn(p,
		    "\"\\\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a"
		    "\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18"
		    "\x19\x1a"
		    "\x1b\x1c\x1d\x1e\x1f");
		const char *short_esc = "\"\"\\\\\bb\ff\nn\rr\tt";
		const char *e;

		sgw_buf_add(b, p, n);
		p += n;
		if (*p == '\0')
			break;
		/* jansson's spelling: the short escapes where JSON has one. */
		for (e = short_esc; *e != '\0' && *e != *p; e += 2)
			;
		if (*e != '\0') {
			char esc[2] = {'\\', e[1]};

			sgw_buf_add(b, esc, 2);
		} else {
			char esc[6] = {'\\', 'u', '0', '0',
			    hex[(unsigned char)*p >> 4], hex[*p & 15]};

			sgw_buf_add(b, esc, 6);
		}
		p++;
	}
	sgw_buf_add(b, "\"}\n", 3);
	body_done(r, status, "application/json");
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
	sgw_resp_header_str(r, "Location", location);
}

const char *
sgw_status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 204:
		return "No Content";
	case 302:
		return "Found";
	case 303:
		return "See Other";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 415:
		return "Unsupported Media Type";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 503:
		return "Service Unavailable";
	default:
		return "Internal Server Error";
	}
}
