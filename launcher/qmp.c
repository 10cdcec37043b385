// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QMP, QEMU's machine protocol, as far as the launcher needs it: answer
 * the greeting with qmp_capabilities, take the first answer as "QEMU has
 * opened the image", and send commands.
 */
#include "internal.h"
#include "../common/log.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

void qmp_send(struct launcher *l, const char *json)
{
	if (l->qmp >= 0 &&
	    send(l->qmp, json, strlen(json), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		rpifs_log(RPIFS_WARN, "launcher: QMP: %s", strerror(errno));
}

/* The first answer: QEMU is up with the image open. */
static void ready(struct launcher *l)
{
	l->qmp_ready = true;
	pthread_mutex_lock(&l->mu);
	if (l->state == LAUNCH_STARTING)
		l->state = LAUNCH_RUNNING;
	pthread_mutex_unlock(&l->mu);
	if (l->ops.running)
		l->ops.running(l->ops.ctx);
	/* A stop asked for before QMP answered. */
	if (l->stop_stage == 1)
		qmp_send(l, "{\"execute\": \"quit\"}\n");
}

void qmp_input(struct launcher *l)
{
	ssize_t n = recv(l->qmp, l->qmp_buf + l->qmp_len,
			 sizeof(l->qmp_buf) - 1 - l->qmp_len, MSG_DONTWAIT);
	char *line;

	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			launch_close_fd(&l->qmp);
		return;
	}
	l->qmp_len += (size_t)n;
	l->qmp_buf[l->qmp_len] = '\0';
	while ((line = strchr(l->qmp_buf, '\n'))) {
		*line = '\0';
		if (strstr(l->qmp_buf, "\"QMP\""))
			qmp_send(l, "{\"execute\": \"qmp_capabilities\"}\n");
		else if (!l->qmp_ready && strstr(l->qmp_buf, "\"return\""))
			ready(l);
		l->qmp_len -= (size_t)(line + 1 - l->qmp_buf);
		memmove(l->qmp_buf, line + 1, l->qmp_len + 1);
	}
	if (l->qmp_len == sizeof(l->qmp_buf) - 1)
		l->qmp_len = 0; /* an oversized message: forget it */
}
