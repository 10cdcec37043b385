// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rpifs guestfwd-relay PORT: what QEMU runs for each connection the guest
 * makes to a guestfwd rule (launcher/net.c). QEMU gives it the guest's
 * connection as standard input and output, and standard error too; it
 * joins them to a new connection to 127.0.0.1:PORT and copies both ways
 * until both are done. It says nothing: whatever it printed would reach
 * the guest. Not meant to be run by hand.
 */
#include "cli.h"
#include "../launcher/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

const char cli_relay_name[] = NET_RELAY_COMMAND;

static int connect_local(unsigned port)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static bool write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/*
 * One direction: what @from has goes to @to. At the end of @from, @to
 * is shut for writing, so the other side sees the end too (a request
 * sent, the answer still to come). @return false once @from is done.
 */
static bool copy_once(int from, int to)
{
	char buf[65536];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n < 0 && errno == EINTR)
		return true;
	if (n > 0 && write_all(to, buf, (size_t)n))
		return true;
	shutdown(to, SHUT_WR);
	return false;
}

int cli_relay(int argc, char **argv)
{
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	bool from_guest = true, to_guest = true;
	char *end;
	unsigned long port;
	int server;

	/* Standard error is the guest's connection too. */
	if (null >= 0)
		dup2(null, STDERR_FILENO);
	/* A side that went away ends its direction, not the process. */
	signal(SIGPIPE, SIG_IGN);
	if (argc != 2)
		return 2;
	port = strtoul(argv[1], &end, 10);
	if (*end || port == 0 || port > 65535)
		return 2;
	server = connect_local((unsigned)port);
	if (server < 0)
		return 1; /* the guest sees its connection closed */
	while (from_guest || to_guest) {
		struct pollfd p[2] = {
			{.fd = from_guest ? STDIN_FILENO : -1,
			 .events = POLLIN},
			{.fd = to_guest ? server : -1, .events = POLLIN},
		};

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents)
			from_guest = copy_once(STDIN_FILENO, server);
		if (p[1].revents)
			to_guest = copy_once(server, STDOUT_FILENO);
	}
	close(server);
	return 0;
}
