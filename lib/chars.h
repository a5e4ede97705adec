/*
 * chars: the character classes several parsers share, in ASCII whatever
 * the locale (ctype.h follows setlocale, and a parser of network input
 * must not).
 */
#ifndef SGW_CHARS_H
#define SGW_CHARS_H

#include <string.h>

/* The value of a hex digit, either case, or -1. */
static inline int
sgw_hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A byte of a DNS name or a dotted quad: letters, digits, '.', '-'. */
static inline int
sgw_is_host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '-';
}

static inline char
sgw_ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Lower-cases s in place. */
static inline void
sgw_ascii_lower_str(char *s)
{
	for (; *s != '\0'; s++)
		*s = sgw_ascii_lower(*s);
}

/* A byte of an RFC 7230 token, which is what an RFC 6265 cookie-name is:
 * printable ASCII but separators. (c != 0: strchr finds the NUL.) */
static inline int
sgw_is_token_char(unsigned char c)
{
	return c > ' ' && c < 0x7f && strchr("()<>@,;:\\\"/[]?={}", c) == NULL;
}

#endif
