// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rpifs run --wait=ssh: the guest is ready when its sshd answers on the
 * forwarded port, which is later than the login prompt on some systems
 * and earlier on others. QEMU's user network accepts a connection to a
 * forwarded port at once, whatever the guest does, so only the banner
 * ("SSH-2.0-...") says that sshd is there; without one the connection
 * closes, or says nothing until the guest's network is up.
 */
#include "cli.h"
#include "../common/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TRY_EVERY_S    1.0
#define BANNER_WAIT_MS 3000

/* The port of "ssh port: 127.0.0.1:PORT ...", or 0. */
static unsigned status_port(const char *dir)
{
	char line[256];
	unsigned port = 0;

	cli_status_value(dir, "ssh port", line, sizeof(line));
	if (sscanf(line, "127.0.0.1:%u", &port) != 1)
		port = 0;
	return port;
}

int ssh_wait_check(const char *dir)
{
	char line[256];

	cli_status_value(dir, "ssh port", line, sizeof(line));
	if (strncmp(line, "127.0.0.1:", 10) == 0 ||
	    strncmp(line, "auto", 4) == 0)
		return 0;
	rpifs_log(RPIFS_ERR,
		  "--wait=ssh: %s forwards no ssh port: mount the image with "
		  "-o ssh=auto (or ssh=PORT)",
		  dir);
	return 1;
}

static double mono_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Whether a line of what came starts an SSH identification string. */
static bool has_banner(const char *text)
{
	for (const char *p = text; p;
	     p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, "SSH-2.0-", 8) == 0 ||
		    strncmp(p, "SSH-1.99-", 9) == 0)
			return true;
	return false;
}

/* Connect to 127.0.0.1:@port and read what comes, for a short while. */
static bool banner_on(unsigned port)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	char got[1024];
	size_t len = 0;
	double until = mono_s() + BANNER_WAIT_MS / 1000.0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool found = false;

	if (fd < 0)
		return false;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return false;
	}
	while (!found && len < sizeof(got) - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int left = (int)((until - mono_s()) * 1000);
		ssize_t n;

		if (left <= 0 || poll(&p, 1, left) <= 0)
			break;
		n = read(fd, got + len, sizeof(got) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		got[len] = '\0';
		found = has_banner(got);
	}
	close(fd);
	return found;
}

bool ssh_wait_poll(struct ssh_wait *w, const char *dir, double elapsed)
{
	double began = mono_s();

	if (elapsed < w->next_try)
		return false;
	w->next_try = elapsed + TRY_EVERY_S;
	/* ssh=auto: the port is known once the boot has begun. */
	if (!w->port)
		w->port = status_port(dir);
	if (!w->port || !banner_on(w->port))
		return false;
	printf("ssh answers on 127.0.0.1:%u after %.1f s\n", w->port,
	       elapsed + mono_s() - began);
	return true;
}
