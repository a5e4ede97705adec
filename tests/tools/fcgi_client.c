/*
 * fcgi_client: sends one FastCGI request, in any role, and prints the
 * application's answer (the FCGI_STDOUT stream) to stdout.
 *
 *   fcgi_client [-i|-n] [-p] [-t SECONDS] [-r ROLE] [-k N] ADDR NAME=VALUE...
 *   fcgi_client -H half|params|values [-t SECONDS] ADDR
 *
 * ADDR is host:port or unix:/path. With -i the request body is read from
 * stdin; with -n no FCGI_STDIN record is sent at all (what lighttpd does
 * to an authorizer when the request has a body). ROLE is authorizer,
 * responder, filter or a number (any 16-bit role). -p prints
 * "protocolStatus=N" after the answer, from FCGI_END_REQUEST. -t sets how
 * long to wait for the peer (default 10 s). Exit 0 when FCGI_END_REQUEST
 * arrived, 1 otherwise. Tests use it to speak the real protocol without a
 * web server in front, for example the AUTHORIZER role that nginx cannot
 * send.
 *
 * -P N sends the PARAMS record N times (a head longer than one record
 * can hold: the parameters then repeat).
 *
 * -k N sends the request N times on one connection with FCGI_KEEP_CONN,
 * then waits for the server to close it, and prints "closed" (or "open"
 * after -t seconds) after the answers.
 *
 * -H plays a peer that holds a worker: it sends half a BEGIN_REQUEST
 * header (half), a whole BEGIN_REQUEST and a truncated PARAMS record
 * (params), or an FCGI_GET_VALUES query (values), or a whole request whose
 * PARAMS holds a name length of INT_MAX (intmax), then sends nothing more
 * and waits for the server to close the connection. It prints "closed"
 * and exits 0 when the server did, or prints "open" and exits 1 when it
 * still had not after -t seconds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

enum {
	BEGIN = 1,
	END = 3,
	PARAMS = 4,
	STDIN = 5,
	STDOUT = 6,
	STDERR = 7,
	GET_VALUES = 9
};

static int
put_record(int fd, int type, const void *data, size_t len)
{
	unsigned char h[8] = {1, (unsigned char)type, 0, 1,
	    (unsigned char)(len >> 8), (unsigned char)len, 0, 0};

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
dial(const char *addr, int timeout_s)
{
	int fd;
	struct timeval tv = {timeout_s, 0};

	if (strncmp(addr, "unix:", 5) == 0) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};

		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", addr + 5);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd == -1 ||
		    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
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
		if (fd == -1 ||
		    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
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

/* Reads until the peer closes, or the receive timeout. */
static int
wait_close(int fd)
{
	unsigned char buf[4096];
	ssize_t r;

	/* Whatever the server still sends (a GET_VALUES_RESULT) is read and
	 * dropped; only the end of the connection counts. */
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		;
	if (r == 0 || errno == ECONNRESET) {
		printf("closed\n");
		return 0;
	}
	printf("open\n");
	return 1;
}

/* Sends the first bytes of a request and no more; waits for the close. */
static int
hold(int fd, const char *mode)
{
	static const unsigned char begin[16] = {
	    1, BEGIN, 0, 1, 0, 8, 0, 0, 0, 1};
	static const unsigned char values[] = {1, GET_VALUES, 0, 0, 0, 16, 0, 0,
	    14, 0, 'F', 'C', 'G', 'I', '_', 'M', 'A', 'X', '_', 'C', 'O', 'N',
	    'N', 'S'};
	/* A PARAMS header announcing 100 bytes, and 3 of them. */
	static const unsigned char params[] = {
	    1, PARAMS, 0, 1, 0, 100, 0, 0, 4, 4, 'R'};
	/* A pair whose name would be 2^31 - 1 bytes long, and the end of
	 * PARAMS. */
	static const unsigned char intmax[] = {1, PARAMS, 0, 1, 0, 8, 0, 0,
	    0xff, 0xff, 0xff, 0xff, 1, 'A', 'B', 'C', 1, PARAMS, 0, 1, 0, 0, 0,
	    0};
	int ok;

	if (strcmp(mode, "intmax") == 0)
		ok = write(fd, begin, 16) == 16 &&
		    write(fd, intmax, sizeof(intmax)) ==
		        (ssize_t)sizeof(intmax);
	else if (strcmp(mode, "half") == 0)
		ok = write(fd, begin, 4) == 4;
	else if (strcmp(mode, "params") == 0)
		ok = write(fd, begin, 16) == 16 &&
		    write(fd, params, sizeof(params)) ==
		        (ssize_t)sizeof(params);
	else if (strcmp(mode, "values") == 0)
		ok = write(fd, values, sizeof(values)) ==
		    (ssize_t)sizeof(values);
	else
		return 2;
	if (!ok)
		return 1;
	return wait_close(fd);
}

int
main(int argc, char **argv)
{
	int role = 1, with_body = 0, no_stdin = 0, print_status = 0, opt, fd;
	int timeout_s = 10, nreq = 1, keep = 0, nparams = 1;
	const char *hold_mode = NULL;
	unsigned char begin[8] = {0}, params[65535], buf[65536];
	size_t plen = 0;
	char *end;

	/* A gateway that refuses the peer (allowed_clients) closes the
	 * connection: that is an answer to report, not a reason to die. */
	signal(SIGPIPE, SIG_IGN);
	while ((opt = getopt(argc, argv, "inpk:r:t:H:P:")) != -1) {
		if (opt == 'i')
			with_body = 1;
		else if (opt == 'n')
			no_stdin = 1;
		else if (opt == 'p')
			print_status = 1;
		else if (opt == 'H')
			hold_mode = optarg;
		else if (opt == 't')
			timeout_s = atoi(optarg);
		else if (opt == 'P' && (nparams = atoi(optarg)) > 0)
			;
		else if (opt == 'k' && (nreq = atoi(optarg)) > 0)
			keep = 1;
		else if (opt == 'r' && strcmp(optarg, "authorizer") == 0)
			role = 2;
		else if (opt == 'r' && strcmp(optarg, "responder") == 0)
			role = 1;
		else if (opt == 'r' && strcmp(optarg, "filter") == 0)
			role = 3;
		else if (opt == 'r' &&
		    (role = (int)strtol(optarg, &end, 10), *end == '\0') &&
		    role >= 0 && role <= 65535)
			;
		else
			return 2;
	}
	if (optind >= argc || timeout_s <= 0 || (keep && with_body)) {
		fprintf(stderr,
		    "usage: fcgi_client [-i|-n] [-p] [-t SECONDS] [-r ROLE] "
		    "[-P N] "
		    "ADDR NAME=VALUE...\n       fcgi_client -H MODE [-t "
		    "SECONDS] ADDR\n");
		return 2;
	}
	if ((fd = dial(argv[optind], timeout_s)) == -1) {
		perror("fcgi_client: connect");
		return 1;
	}
	if (hold_mode != NULL)
		return hold(fd, hold_mode);
	begin[0] = (unsigned char)(role >> 8);
	begin[1] = (unsigned char)role;
	begin[2] = keep; /* FCGI_KEEP_CONN */
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
	for (int k = 0; k < nreq; k++) {
		int done = 0;

		if (put_record(fd, BEGIN, begin, 8) == -1)
			return 1;
		for (int p = 0; p < nparams && plen > 0; p++)
			if (put_record(fd, PARAMS, params, plen) == -1)
				return 1;
		if (put_record(fd, PARAMS, NULL, 0) == -1)
			return 1;
		if (with_body) {
			size_t n;

			while ((n = fread(buf, 1, 32768, stdin)) > 0)
				if (put_record(fd, STDIN, buf, n) == -1)
					break;
		}
		if (!no_stdin)
			put_record(fd, STDIN, NULL, 0);
		while (!done) {
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
			else if (h[1] == END) {
				if (print_status && len >= 8)
					printf("protocolStatus=%d\n", buf[4]);
				done = 1;
			}
		}
		fflush(stdout);
	}
	return keep ? wait_close(fd) : 0;
}
