// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QMP, QEMU's machine protocol, as far as the launcher needs it: answer
 * the greeting with qmp_capabilities, take the first answer as "QEMU has
 * opened the image", send commands, hand the stop the answers it waits
 * for (by the command's "id") and note why QEMU shut down (the SHUTDOWN
 * event's reason).
 */
#include "internal.h"
#include "../common/log.h"

#include <errno.h>
#include <stdio.h>
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
}

/* The value of "@key": "..." in a QMP line, or "" (@size > 0). */
static void json_string(const char *line, const char *key, char *out,
			size_t size)
{
	char pat[48];
	const char *p;
	size_t n = 0;

	snprintf(pat, sizeof(pat), "\"%s\": \"", key);
	p = strstr(line, pat);
	if (p)
		for (p += strlen(pat); *p && *p != '"' && n + 1 < size; p++)
			out[n++] = *p;
	out[n] = '\0';
}

static void qmp_line(struct launcher *l, const char *line)
{
	char id[32];

	if (strstr(line, "\"QMP\"")) {
		qmp_send(l, "{\"execute\": \"qmp_capabilities\"}\n");
	} else if (strstr(line, "\"event\": \"SHUTDOWN\"")) {
		json_string(line, "reason", l->shutdown_reason,
			    sizeof(l->shutdown_reason));
	} else if (strstr(line, "\"return\"") || strstr(line, "\"error\"")) {
		if (!l->qmp_ready)
			ready(l);
		json_string(line, "id", id, sizeof(id));
		if (id[0])
			stop_qmp_returned(l, id);
	}
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
		qmp_line(l, l->qmp_buf);
		l->qmp_len -= (size_t)(line + 1 - l->qmp_buf);
		memmove(l->qmp_buf, line + 1, l->qmp_len + 1);
	}
	if (l->qmp_len == sizeof(l->qmp_buf) - 1)
		l->qmp_len = 0; /* an oversized message: forget it */
}
