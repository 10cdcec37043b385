// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The supervisor: one thread, living as long as the daemon, that starts
 * QEMU and watches it. It forks QEMU itself, so that QEMU's parent-death
 * signal follows the daemon and QEMU is never orphaned; it waits on a
 * pidfd; it connects to QEMU's QMP and serial sockets, serves the
 * console's viewers, and takes the stop's steps (stop.c).
 */
#include "internal.h"
#include "../common/log.h"
#include "../common/spawn.h"
#include "../common/unixsock.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CONNECT_RETRY_MS 20
/* QEMU is asked what it is this long after the mount, when idle. */
#define PROBE_DELAY_MS 1000

static void do_spawn(struct launcher *l)
{
	struct spawn s = {
		.argv = l->spawn_argv,
		.in = SPAWN_NULL,
		.out = SPAWN_FILE,
		.err = SPAWN_FILE,
		.file = l->spawn_out,
		.supervised = true,
	};
	pid_t pid = -1;
	int ret = spawn_start(&s, &pid, NULL);

	if (!ret) {
		l->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (l->pidfd < 0)
			rpifs_log(RPIFS_WARN,
				  "launcher: no pidfd (%s): polling QEMU",
				  strerror(errno));
		l->qmp_ready = false;
		l->qmp_len = 0;
		stop_reset(l);
	}
	pthread_mutex_lock(&l->mu);
	if (!ret)
		l->pid = pid;
	l->spawn_result = ret;
	l->spawn_done = true;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->mu);
}

static void begin_stop(struct launcher *l, bool force)
{
	unsigned timeout_s;

	pthread_mutex_lock(&l->mu);
	if (l->pid > 0 && l->state != LAUNCH_STOPPED)
		l->state = LAUNCH_STOPPING;
	timeout_s = l->stop_timeout_s;
	pthread_mutex_unlock(&l->mu);
	stop_begin(l, force, timeout_s);
}

/* How the boot ended, at the end of its console log too. */
static void note_end(struct launcher *l, int status, char *msg, size_t size)
{
	char how[256];
	FILE *log;

	stop_describe(l, how, sizeof(how));
	snprintf(msg, size, "[rpifs: the guest stopped: %s (QEMU %s %d)]\r\n",
		 how, WIFEXITED(status) ? "exit status" : "signal",
		 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	pthread_mutex_lock(&l->mu);
	snprintf(l->last_stop, sizeof(l->last_stop), "%s", how);
	log = l->console_log[0] ? fopen(l->console_log, "a") : NULL;
	/* A snapshot's writes go with it. */
	if (l->overlay[0])
		unlink(l->overlay);
	l->overlay[0] = '\0';
	pthread_mutex_unlock(&l->mu);
	if (log) {
		fprintf(log, "\r\n%s", msg);
		fclose(log);
	}
}

static void reap(struct launcher *l)
{
	char msg[400];
	int status;

	if (l->pid <= 0 || waitpid(l->pid, &status, WNOHANG) != l->pid)
		return;
	launch_close_fd(&l->pidfd);
	launch_close_fd(&l->serial);
	launch_close_fd(&l->qmp);
	l->qmp_ready = false;
	note_end(l, status, msg, sizeof(msg));
	stop_reset(l);
	console_broadcast(l, "\r\n", 2);
	console_broadcast(l, msg, strlen(msg));
	console_drop_all(l);
	if (l->ops.exited)
		l->ops.exited(l->ops.ctx, status);
	pthread_mutex_lock(&l->mu);
	l->pid = 0;
	l->exit_status = status;
	l->state = LAUNCH_STOPPED;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->mu);
}

/*
 * Ask QEMU what it is ahead of the first boot: two QEMU starts (about
 * 90 ms here) off the path from touch run to QEMU. Not at once: a second
 * after the mount, when nothing came meanwhile, so that the mount's first
 * work does not share the CPU with them. A failure is said at the first
 * boot, which asks again.
 */
static void probe_when_idle(struct launcher *l)
{
	struct pollfd first = {.fd = l->cmd[0], .events = POLLIN};
	char err[512];

	if (poll(&first, 1, PROBE_DELAY_MS) != 0)
		return;
	pthread_mutex_lock(&l->mu);
	if (!l->qemu_known)
		l->qemu_known = qemu_probe(&l->qemu, err, sizeof(err)) == 0;
	pthread_mutex_unlock(&l->mu);
	/* Off the path of a boot too: the folders of images since deleted. */
	runs_forget_gone();
}

static void command(struct launcher *l)
{
	char c;

	if (read(l->cmd[0], &c, 1) != 1)
		return;
	if (c == CMD_SPAWN)
		do_spawn(l);
	else if (c == CMD_STOP || c == CMD_KILL)
		begin_stop(l, c == CMD_KILL);
	else if (c == CMD_QUIT)
		l->quitting = true;
}

/* The poll timeout: reconnecting to QEMU's sockets, or the stop's next step. */
static int timeout_ms(const struct launcher *l)
{
	int timeout = -1;

	if (l->pid > 0 && (l->serial < 0 || l->qmp < 0 || l->pidfd < 0))
		timeout = CONNECT_RETRY_MS;
	if (l->pid > 0) {
		int left = stop_timeout_ms(l);

		if (left >= 0 && (timeout < 0 || left < timeout))
			timeout = left;
	}
	return timeout;
}

void *launch_supervise(void *arg)
{
	struct launcher *l = arg;

	probe_when_idle(l);
	for (;;) {
		struct pollfd p[4 + MAX_VIEWERS];
		int n = 0, i_cmd, i_pid = -1, i_ser = -1, i_qmp = -1,
		    i_lis = -1, first_viewer;

		p[i_cmd = n++] =
			(struct pollfd){.fd = l->cmd[0], .events = POLLIN};
		if (l->pidfd >= 0)
			p[i_pid = n++] = (struct pollfd){.fd = l->pidfd,
							 .events = POLLIN};
		if (l->serial >= 0)
			p[i_ser = n++] = (struct pollfd){.fd = l->serial,
							 .events = POLLIN};
		if (l->qmp >= 0)
			p[i_qmp = n++] =
				(struct pollfd){.fd = l->qmp, .events = POLLIN};
		if (l->listen_fd >= 0)
			p[i_lis = n++] = (struct pollfd){.fd = l->listen_fd,
							 .events = POLLIN};
		first_viewer = n;
		for (int v = 0; v < l->viewer_count; v++)
			p[n++] = (struct pollfd){.fd = l->viewers[v],
						 .events = POLLIN};
		if (poll(p, (nfds_t)n, timeout_ms(l)) < 0 && errno != EINTR)
			continue;

		if (p[i_cmd].revents & POLLIN)
			command(l);
		if (l->pid > 0 &&
		    (l->pidfd < 0 || (i_pid >= 0 && p[i_pid].revents)))
			reap(l);
		if (l->pid > 0 && l->serial < 0)
			l->serial = unix_connect(l->serial_path, true);
		if (l->pid > 0 && l->qmp < 0 && !l->qmp_ready)
			l->qmp = unix_connect(l->qmp_path, true);
		if (i_ser >= 0 && p[i_ser].revents && l->serial >= 0)
			console_serial_input(l);
		if (i_qmp >= 0 && p[i_qmp].revents && l->qmp >= 0)
			qmp_input(l);
		if (i_lis >= 0 && (p[i_lis].revents & POLLIN))
			console_accept(l);
		for (int v = n - 1; v >= first_viewer; v--) {
			int idx = v - first_viewer;

			if (idx < l->viewer_count && p[v].revents)
				console_viewer_input(l, idx);
		}
		if (l->pid > 0)
			stop_tick(l);
		if (l->quitting) {
			if (l->pid > 0)
				begin_stop(l, false);
			else
				break;
		}
	}
	return NULL;
}
