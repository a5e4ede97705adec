/*
 * cidr: IPv4 text addresses and networks.
 *
 * trusted_proxies, allowed_clients and X-Forwarded-For are read with
 * these, so they decide whose word about a client address is believed;
 * see cidr.c for the grammar and why it is narrow.
 */
#ifndef SGW_CIDR_H
#define SGW_CIDR_H

#include <stddef.h>
#include <stdint.h>

/* "255.255.255.255" plus the NUL. */
#define SGW_IPV4_TEXT_MAX 16

/* An IPv4 network, both in host byte order. */
struct sgw_cidr {
	uint32_t addr; /* already masked */
	uint32_t mask;
};

/* "10.0.0.0/8" or "10.1.2.3" (a /32) into *out. Returns 0 or -1. */
int sgw_cidr_parse(const char *s, struct sgw_cidr *out);

/* "1.2.3.4" into host byte order. Returns 0 or -1 (IPv4 dotted quad only). */
int sgw_ipv4_parse(const char *s, uint32_t *out);

/* 1 when the IPv4 text address lies in one of the networks, else 0. */
int sgw_cidr_contains(const struct sgw_cidr *v, size_t n, const char *addr);

#endif
