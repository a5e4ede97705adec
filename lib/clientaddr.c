/*
 * clientaddr: who the client is (SPEC section 6, last outcome).
 *
 * The address feeds the per-client login limits, bind_client and the
 * logs, so a client must not be able to choose it. X-Forwarded-For is
 * believed only as far as a chain of trusted proxies vouches for it: each
 * proxy appends the address it was connected from, so walking from the
 * right, every entry was written by the hop to its right. The first entry
 * (from the right) that is not a trusted proxy is the client; whatever
 * lies to its left the client may have made up. An entry that is not a
 * plain IPv4 address (a port, garbage, IPv6, an empty item) ends the walk,
 * because nothing to its left can be tied to a trusted hop any more.
 */
#include "clientaddr.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cidr.h"

static int
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static int
copy_out(const char *s, size_t n, char *out, size_t outsz)
{
	if (n >= outsz)
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

/*
 * Copies the entry xff[start..end), trimmed of spaces and tabs, into buf
 * when it is an IPv4 address. Returns 0, or -1 when it is not one.
 */
static int
take_entry(
    const char *xff, size_t start, size_t end, char buf[SGW_IPV4_TEXT_MAX])
{
	uint32_t ignored;

	while (start < end && is_ows(xff[start]))
		start++;
	while (end > start && is_ows(xff[end - 1]))
		end--;
	if (copy_out(xff + start, end - start, buf, SGW_IPV4_TEXT_MAX) < 0)
		return -1;
	return sgw_ipv4_parse(buf, &ignored);
}

int
sgw_client_addr(const struct sgw_cidr *trusted, size_t ntrusted,
    const char *remote_addr, const char *xff, char *out, size_t outsz)
{
	char good[SGW_IPV4_TEXT_MAX], entry[SGW_IPV4_TEXT_MAX];
	size_t end;

	if (remote_addr == NULL || remote_addr[0] == '\0' || out == NULL ||
	    outsz == 0)
		return -1;
	if (trusted == NULL)
		ntrusted = 0;
	/* An untrusted peer (IPv6 ones included: the networks are IPv4)
	 * speaks for itself, whatever header it sent. */
	if (xff == NULL || !sgw_cidr_contains(trusted, ntrusted, remote_addr))
		return copy_out(remote_addr, strlen(remote_addr), out, outsz);

	/* remote_addr parsed as IPv4 to be trusted, so it fits. */
	if (copy_out(remote_addr, strlen(remote_addr), good, sizeof(good)) < 0)
		return -1;
	end = strlen(xff);
	for (;;) {
		size_t start = end;

		while (start > 0 && xff[start - 1] != ',')
			start--;
		if (take_entry(xff, start, end, entry) < 0)
			break;
		memcpy(good, entry, sizeof(good));
		if (!sgw_cidr_contains(trusted, ntrusted, entry))
			break;
		if (start == 0)
			break; /* all trusted: the left-most is the client */
		end = start - 1;
	}
	return copy_out(good, strlen(good), out, outsz);
}
