// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The supervisor: one thread, living as long as the daemon, that starts
 * QEMU and watches it. It forks QEMU itself, so that QEMU's parent-death
 * signal follows the daemon and QEMU is never orphaned; it waits on a
 * pidfd; it connects to QEMU's QMP socket (a clean stop is "quit") and
 * serial socket, and serves the console's viewers.
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

#define STOP_GRACE_MS 5000
#define CONNECT_RETRY_MS 20
/* QEMU is asked what it is this long after the mount, when idle. */
#define PROBE_DELAY_MS 1000

static int64_t ms_until(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000;
}

static void deadline_in(struct timespec *t, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

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
			rpifs_log(RPIFS_WARN, "launcher: no pidfd (%s): polling QEMU",
				  strerror(errno));
		l->qmp_ready = false;
		l->qmp_len = 0;
		l->stop_stage = 0;
	}
	pthread_mutex_lock(&l->mu);
	if (!ret)
		l->pid = pid;
	l->spawn_result = ret;
	l->spawn_done = true;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->mu);
}

static void begin_stop(struct launcher *l)
{
	pid_t pid;

	pthread_mutex_lock(&l->mu);
	pid = l->pid;
	if (pid > 0 && l->state != LAUNCH_STOPPED)
		l->state = LAUNCH_STOPPING;
	pthread_mutex_unlock(&l->mu);
	if (pid <= 0 || l->stop_stage > 0)
		return;
	l->stop_stage = 1;
	deadline_in(&l->stop_deadline, STOP_GRACE_MS);
	if (l->qmp_ready) {
		qmp_send(l, "{\"execute\": \"quit\"}\n");
	} else {
		/* No QMP yet: SIGTERM is as clean. */
		l->stop_stage = 2;
		kill(pid, SIGTERM);
	}
}

static void escalate(struct launcher *l)
{
	if (l->stop_stage == 0 || ms_until(&l->stop_deadline) > 0)
		return;
	if (l->stop_stage < 3) {
		l->stop_stage++;
		rpifs_log(RPIFS_WARN, "launcher: QEMU did not stop; sending %s",
			  l->stop_stage == 2 ? "SIGTERM" : "SIGKILL");
		kill(l->pid, l->stop_stage == 2 ? SIGTERM : SIGKILL);
		deadline_in(&l->stop_deadline, STOP_GRACE_MS);
	}
}

static void reap(struct launcher *l)
{
	char msg[128];
	int status;

	if (l->pid <= 0 || waitpid(l->pid, &status, WNOHANG) != l->pid)
		return;
	launch_close_fd(&l->pidfd);
	launch_close_fd(&l->serial);
	launch_close_fd(&l->qmp);
	l->qmp_ready = false;
	l->stop_stage = 0;
	snprintf(msg, sizeof(msg), "\r\n[rpifs: the guest stopped (%s %d)]\r\n",
		 WIFEXITED(status) ? "exit status" : "signal",
		 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
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
	struct pollfd first = { .fd = l->cmd[0], .events = POLLIN };
	char err[512];

	if (poll(&first, 1, PROBE_DELAY_MS) != 0)
		return;
	pthread_mutex_lock(&l->mu);
	if (!l->qemu_known)
		l->qemu_known = qemu_probe(&l->qemu, err, sizeof(err)) == 0;
	pthread_mutex_unlock(&l->mu);
}

static void command(struct launcher *l)
{
	char c;

	if (read(l->cmd[0], &c, 1) != 1)
		return;
	if (c == CMD_SPAWN)
		do_spawn(l);
	else if (c == CMD_STOP)
		begin_stop(l);
	else if (c == CMD_QUIT)
		l->quitting = true;
}

/* The poll timeout: reconnecting to QEMU's sockets, or the stop's next step. */
static int timeout_ms(const struct launcher *l)
{
	int timeout = -1;

	if (l->pid > 0 && (l->serial < 0 || l->qmp < 0 || l->pidfd < 0))
		timeout = CONNECT_RETRY_MS;
	if (l->stop_stage > 0) {
		int64_t left = ms_until(&l->stop_deadline);

		left = left < 0 ? 0 : left;
		if (timeout < 0 || left < timeout)
			timeout = (int)left;
	}
	return timeout;
}

void *launch_supervise(void *arg)
{
	struct launcher *l = arg;

	probe_when_idle(l);
	for (;;) {
		struct pollfd p[4 + MAX_VIEWERS];
		int n = 0, i_cmd, i_pid = -1, i_ser = -1, i_qmp = -1, i_lis = -1,
		    first_viewer;

		p[i_cmd = n++] = (struct pollfd){ .fd = l->cmd[0], .events = POLLIN };
		if (l->pidfd >= 0)
			p[i_pid = n++] = (struct pollfd){ .fd = l->pidfd, .events = POLLIN };
		if (l->serial >= 0)
			p[i_ser = n++] = (struct pollfd){ .fd = l->serial, .events = POLLIN };
		if (l->qmp >= 0)
			p[i_qmp = n++] = (struct pollfd){ .fd = l->qmp, .events = POLLIN };
		if (l->listen_fd >= 0)
			p[i_lis = n++] = (struct pollfd){ .fd = l->listen_fd, .events = POLLIN };
		first_viewer = n;
		for (int v = 0; v < l->viewer_count; v++)
			p[n++] = (struct pollfd){ .fd = l->viewers[v], .events = POLLIN };
		if (poll(p, (nfds_t)n, timeout_ms(l)) < 0 && errno != EINTR)
			continue;

		if (p[i_cmd].revents & POLLIN)
			command(l);
		if (l->pid > 0 && (l->pidfd < 0 || (i_pid >= 0 && p[i_pid].revents)))
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
			escalate(l);
		if (l->quitting) {
			if (l->pid > 0)
				begin_stop(l);
			else
				break;
		}
	}
	return NULL;
}
