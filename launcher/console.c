// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The serial console: the supervisor reads QEMU's serial socket and copies
 * what the guest prints to every attached viewer (rpifs console), and
 * writes what viewers type into it. QEMU writes the console log itself.
 */
#include "internal.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

void console_drop_viewer(struct launcher *l, int i)
{
	close(l->viewers[i]);
	l->viewers[i] = l->viewers[--l->viewer_count];
}

void console_drop_all(struct launcher *l)
{
	while (l->viewer_count)
		console_drop_viewer(l, 0);
}

void console_broadcast(struct launcher *l, const char *buf, size_t len)
{
	for (int i = 0; i < l->viewer_count;) {
		ssize_t n = send(l->viewers[i], buf, len,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		/* A viewer that cannot keep up misses output, nobody waits. */
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			console_drop_viewer(l, i);
			continue;
		}
		i++;
	}
}

void console_accept(struct launcher *l)
{
	int fd =
		accept4(l->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	if (l->viewer_count == MAX_VIEWERS) {
		close(fd);
		return;
	}
	l->viewers[l->viewer_count++] = fd;
}

void console_serial_input(struct launcher *l)
{
	char buf[8192];
	ssize_t n = recv(l->serial, buf, sizeof(buf), MSG_DONTWAIT);

	if (n > 0) {
		console_broadcast(l, buf, (size_t)n);
		stop_serial(l, buf, (size_t)n);
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR))
		launch_close_fd(&l->serial);
}

void console_viewer_input(struct launcher *l, int i)
{
	char buf[4096];
	ssize_t n = recv(l->viewers[i], buf, sizeof(buf), MSG_DONTWAIT);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		console_drop_viewer(l, i);
		return;
	}
	/* While the guest is being stopped, what viewers type is dropped. */
	if (n > 0 && l->serial >= 0 && stop_relays_input(l) &&
	    send(l->serial, buf, (size_t)n, MSG_NOSIGNAL) < 0)
		launch_close_fd(&l->serial);
}
