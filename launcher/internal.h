/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the launcher's files share: the launcher itself, half of it under
 * its mutex (the state the daemon reads), half owned by the supervisor
 * thread (QEMU's process, sockets and viewers).
 */
#ifndef RPIFS_LAUNCHER_INTERNAL_H
#define RPIFS_LAUNCHER_INTERNAL_H

#include "launcher.h"
#include "qemu.h"

#include <pthread.h>
#include <stdint.h>

#define MAX_VIEWERS 16

/* What the daemon's threads ask of the supervisor, one byte each. */
enum command {
	CMD_SPAWN = 'S',
	CMD_STOP = 'X',
	CMD_QUIT = 'Q',
};

struct launcher {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	pthread_t thread;
	int cmd[2];
	struct launch_ops ops;
	char state_dir[PATH_MAX];
	char sock_dir[PATH_MAX];
	struct qemu_info qemu;
	bool qemu_known;

	/* Shared, under mu. */
	enum launch_state state;
	enum board board;
	pid_t pid;
	struct timespec started;
	bool ran;
	int exit_status;
	unsigned ssh_port;
	char run_dir[PATH_MAX];
	char console_log[PATH_MAX];
	char console_socket[PATH_MAX];
	char *argv_text;
	char *notes;
	char **spawn_argv;	/* handed to the thread to start */
	char spawn_out[PATH_MAX];
	int spawn_result;
	bool spawn_done;

	/* The thread's own. */
	int pidfd;
	int serial;
	int qmp;
	bool qmp_ready;
	char qmp_buf[4096];
	size_t qmp_len;
	int listen_fd;
	int viewers[MAX_VIEWERS];
	int viewer_count;
	int stop_stage;		/* 0 none, 1 quit sent, 2 TERM, 3 KILL */
	struct timespec stop_deadline;
	bool quitting;
	char serial_path[PATH_MAX];
	char qmp_path[PATH_MAX];
};

void launch_close_fd(int *fd);
void launch_send_cmd(struct launcher *l, char c);

/* ---- supervise.c: the thread ---- */

void *launch_supervise(void *arg);

/* ---- console.c: the serial console and its viewers ---- */

void console_accept(struct launcher *l);
void console_drop_viewer(struct launcher *l, int i);
void console_broadcast(struct launcher *l, const char *buf, size_t len);
void console_serial_input(struct launcher *l);
void console_viewer_input(struct launcher *l, int i);
void console_drop_all(struct launcher *l);

/* ---- qmp.c: QEMU's machine protocol ---- */

void qmp_send(struct launcher *l, const char *json);
/* Read what QMP said; the first answer makes the state RUNNING. */
void qmp_input(struct launcher *l);

#endif
