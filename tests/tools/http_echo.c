/*
 * http_echo: the protected "application" of the identity tests. It
 * answers every HTTP request with 200 and a body holding the request line
 * and every header exactly as they arrived (names as spelt, duplicates
 * and all), so a test sees whatever a web server let through, not only
 * the headers it thought of asking for.
 *
 *   http_echo PORT
 *
 * Listens on 127.0.0.1:PORT, one connection at a time, each closed after
 * its answer; a peer that sends nothing is dropped after 5 s. Stop it
 * with SIGTERM.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define HEAD_MAX 16384

static void
serve(int fd)
{
	char head[HEAD_MAX + 1], resp[256];
	size_t len = 0;
	struct timeval tv = {5, 0};
	char *end = NULL;
	int n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (len < HEAD_MAX) {
		ssize_t r = read(fd, head + len, HEAD_MAX - len);

		if (r <= 0)
			return;
		len += (size_t)r;
		head[len] = '\0';
		if ((end = strstr(head, "\r\n\r\n")) != NULL)
			break;
	}
	if (end == NULL)
		return;
	len = (size_t)(end - head) + 2; /* keep the last line's CRLF */
	n = snprintf(resp, sizeof(resp),
	    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n",
	    len + strlen("echo:\r\n"));
	if (n < 0 || (size_t)n >= sizeof(resp))
		return;
	if (write(fd, resp, (size_t)n) != n || write(fd, "echo:\r\n", 7) != 7 ||
	    write(fd, head, len) != (ssize_t)len)
		return;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	int lfd, one = 1;
	char *e;
	long port;

	if (argc != 2 || (port = strtol(argv[1], &e, 10)) <= 0 ||
	    port > 65535 || *e != '\0') {
		fprintf(stderr, "usage: http_echo PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ==
	        -1 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 64) == -1) {
		perror("http_echo: listen");
		return 1;
	}
	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd == -1)
			continue;
		serve(fd);
		shutdown(fd, SHUT_WR);
		close(fd);
	}
}
