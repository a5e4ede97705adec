/*
 * fcgi_client: sends one FastCGI request, in any role, and prints the
 * application's answer (the FCGI_STDOUT stream) to stdout.
 *
 *   fcgi_client [-i|-n] [-r authorizer|responder] ADDR NAME=VALUE...
 *
 * ADDR is host:port or unix:/path. With -i the request body is read from
 * stdin; with -n no FCGI_STDIN record is sent at all (what lighttpd does
 * to an authorizer when the request has a body). Exit 0 when FCGI_END_REQUEST arrived, 1 otherwise. Tests use it
 * to speak the real protocol without a web server in front, for example
 * the AUTHORIZER role that nginx cannot send.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

enum { BEGIN = 1, END = 3, PARAMS = 4, STDIN = 5, STDOUT = 6, STDERR = 7 };

static int
put_record(int fd, int type, const void *data, size_t len)
{
	unsigned char h[8] = {1, (unsigned char)type, 0, 1, (unsigned char)(len >> 8),
	    (unsigned char)len, 0, 0};

	if (write(fd, h, 8) != 8)
		return -1;
	if (len > 0 && write(fd, data, len) != (ssize_t)len)
		return -1;
	return 0;
}

static size_t
put_len(unsigned char *p, size_t n)
{
	if (n < 128) {
		p[0] = (unsigned char)n;
		return 1;
	}
	p[0] = (unsigned char)((n >> 24) | 0x80);
	p[1] = (unsigned char)(n >> 16);
	p[2] = (unsigned char)(n >> 8);
	p[3] = (unsigned char)n;
	return 4;
}

static int
dial(const char *addr)
{
	int fd;
	struct timeval tv = {10, 0};

	if (strncmp(addr, "unix:", 5) == 0) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};

		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", addr + 5);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd == -1 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
			return -1;
	} else {
		struct sockaddr_in sin = {.sin_family = AF_INET};
		char host[64];
		const char *colon = strrchr(addr, ':');

		if (colon == NULL || (size_t)(colon - addr) >= sizeof(host))
			return -1;
		memcpy(host, addr, (size_t)(colon - addr));
		host[colon - addr] = '\0';
		sin.sin_port = htons((unsigned short)atoi(colon + 1));
		if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
			return -1;
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd == -1 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
			return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static int
read_full(int fd, unsigned char *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);

		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	int role = 1, with_body = 0, no_stdin = 0, opt, fd;
	unsigned char begin[8] = {0}, params[65535], buf[65536];
	size_t plen = 0;

	/* A gateway that refuses the peer (allowed_clients) closes the
	 * connection: that is an answer to report, not a reason to die. */
	signal(SIGPIPE, SIG_IGN);
	while ((opt = getopt(argc, argv, "inr:")) != -1) {
		if (opt == 'i')
			with_body = 1;
		else if (opt == 'n')
			no_stdin = 1;
		else if (opt == 'r' && strcmp(optarg, "authorizer") == 0)
			role = 2;
		else if (opt == 'r' && strcmp(optarg, "responder") == 0)
			role = 1;
		else
			return 2;
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: fcgi_client [-i] [-r ROLE] ADDR NAME=VALUE...\n");
		return 2;
	}
	if ((fd = dial(argv[optind])) == -1) {
		perror("fcgi_client: connect");
		return 1;
	}
	begin[1] = (unsigned char)role;
	if (put_record(fd, BEGIN, begin, 8) == -1)
		return 1;
	for (int i = optind + 1; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		size_t nl, vl;

		if (eq == NULL)
			return 2;
		nl = (size_t)(eq - argv[i]);
		vl = strlen(eq + 1);
		if (plen + nl + vl + 8 > sizeof(params))
			return 2;
		plen += put_len(params + plen, nl);
		plen += put_len(params + plen, vl);
		memcpy(params + plen, argv[i], nl);
		plen += nl;
		memcpy(params + plen, eq + 1, vl);
		plen += vl;
	}
	if ((plen > 0 && put_record(fd, PARAMS, params, plen) == -1) ||
	    put_record(fd, PARAMS, NULL, 0) == -1)
		return 1;
	if (with_body) {
		size_t n;

		while ((n = fread(buf, 1, 32768, stdin)) > 0)
			if (put_record(fd, STDIN, buf, n) == -1)
				break;
	}
	if (!no_stdin)
		put_record(fd, STDIN, NULL, 0);
	for (;;) {
		unsigned char h[8];
		size_t len;

		if (read_full(fd, h, 8) == -1)
			return 1;
		len = (size_t)h[4] << 8 | h[5];
		if (read_full(fd, buf, len + h[6]) == -1)
			return 1;
		if (h[1] == STDOUT)
			fwrite(buf, 1, len, stdout);
		else if (h[1] == STDERR)
			fwrite(buf, 1, len, stderr);
		else if (h[1] == END)
			return 0;
	}
}
