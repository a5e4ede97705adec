/*
 * cidr: IPv4 text addresses and networks.
 *
 * These parse what trusted_proxies, allowed_clients and X-Forwarded-For
 * hold, so they decide whose word about a client address is believed.
 * The grammar is deliberately narrower than inet_aton(3): exactly four
 * decimal parts, no signs, no hex, and no leading zeros. inet_aton reads
 * "010.0.0.1" as octal 8.0.0.1 while other tools read it as 10.0.0.1; by
 * refusing leading zeros every accepted address has exactly one spelling,
 * so text comparisons (bind_client, logs) agree with numeric ones.
 */
#include "cidr.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * Reads a decimal number of 1..maxdigits digits from s[*pos] without a
 * leading zero (except "0" itself) and at most `max`. Advances *pos past
 * it. Returns 0 or -1.
 */
static int
parse_decimal(
    const char *s, size_t *pos, unsigned maxdigits, unsigned max, unsigned *out)
{
	size_t i = *pos;
	unsigned v = 0, ndigits = 0;

	while (s[i] >= '0' && s[i] <= '9') {
		if (++ndigits > maxdigits)
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
		i++;
	}
	if (ndigits == 0 || v > max)
		return -1;
	if (ndigits > 1 && s[*pos] == '0')
		return -1;
	*pos = i;
	*out = v;
	return 0;
}

int
sgw_ipv4_parse(const char *s, uint32_t *out)
{
	uint32_t addr = 0;
	size_t pos = 0;

	if (s == NULL || out == NULL)
		return -1;
	for (int part = 0; part < 4; part++) {
		unsigned v;

		if (part > 0) {
			if (s[pos] != '.')
				return -1;
			pos++;
		}
		if (parse_decimal(s, &pos, 3, 255, &v) < 0)
			return -1;
		addr = (addr << 8) | (uint32_t)v;
	}
	if (s[pos] != '\0')
		return -1;
	*out = addr;
	return 0;
}

int
sgw_cidr_parse(const char *s, struct sgw_cidr *out)
{
	char host[SGW_IPV4_TEXT_MAX];
	const char *slash;
	size_t hostlen;
	uint32_t addr, mask;
	unsigned bits = 32;

	if (s == NULL || out == NULL)
		return -1;
	slash = strchr(s, '/');
	hostlen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (hostlen >= sizeof(host))
		return -1;
	memcpy(host, s, hostlen);
	host[hostlen] = '\0';
	if (sgw_ipv4_parse(host, &addr) < 0)
		return -1;
	if (slash != NULL) {
		size_t pos = 0;

		if (parse_decimal(slash + 1, &pos, 2, 32, &bits) < 0 ||
		    slash[1 + pos] != '\0')
			return -1;
	}
	/* A shift by 32 is undefined, so /0 is spelled out. */
	mask = bits == 0 ? 0 : UINT32_MAX << (32 - bits);
	out->addr = addr & mask;
	out->mask = mask;
	return 0;
}

int
sgw_cidr_contains(const struct sgw_cidr *v, size_t n, const char *addr)
{
	uint32_t a;

	if (v == NULL || n == 0 || addr == NULL)
		return 0;
	if (sgw_ipv4_parse(addr, &a) < 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if ((a & v[i].mask) == v[i].addr)
			return 1;
	}
	return 0;
}
