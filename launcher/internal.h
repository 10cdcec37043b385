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
	CMD_KILL = 'K',
	CMD_QUIT = 'Q',
};

/* The stop's steps (stop.c), in the order they are tried. */
enum stop_step {
	STOP_NONE,
	STOP_INIT,  /* ctrl-alt-delete: the guest's init shuts down */
	STOP_SYSRQ, /* SysRq over the serial line: sync, remount, power off */
	STOP_CUT,   /* QMP quit */
	STOP_TERM,
	STOP_KILL,
};

struct stop {
	enum stop_step step;
	bool forced;
	unsigned timeout_s; /* the init step's bound */
	int key;	    /* SysRq: the key in flight, in "7suo" */
	int sends;	    /* of that key, or of ctrl-alt-delete */
	bool key_seen;	    /* its "sysrq:" line came */
	bool synced;
	bool remounted;
	bool break_pending; /* a BREAK asked of QMP; its key goes next */
	struct timespec began;
	struct timespec next;  /* the step's next action */
	struct timespec bound; /* the step's end */
	char line[256];	       /* the guest's line being read */
	size_t line_len;
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
	unsigned stop_timeout_s;
	char last_stop[256];	/* how the last boot ended */
	char overlay[PATH_MAX]; /* a snapshot's overlay, deleted at its end */
	char run_dir[PATH_MAX];
	char console_log[PATH_MAX];
	char console_socket[PATH_MAX];
	char *argv_text;
	char *notes;
	char **spawn_argv; /* handed to the thread to start */
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
	struct stop stop;
	bool guest_spoke;	  /* the guest printed something */
	bool panicked;		  /* it printed a kernel panic */
	char shutdown_reason[32]; /* QMP's SHUTDOWN event */
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

/* ---- stop.c: the stop, step by step ---- */

/* Begin a stop (@force: cut the power at once), or force one going on. */
void stop_begin(struct launcher *l, bool force, unsigned timeout_s);
/* The guest printed @buf: the SysRq step reads its answers. */
void stop_serial(struct launcher *l, const char *buf, size_t len);
/* QMP answered the command sent with "id": @id. */
void stop_qmp_returned(struct launcher *l, const char *id);
/* Take the next step when its time has come. */
void stop_tick(struct launcher *l);
/* How long poll may sleep for the stop (-1: forever). */
int stop_timeout_ms(const struct launcher *l);
/* Whether viewers' typing still goes to the guest (not while stopping). */
bool stop_relays_input(const struct launcher *l);
/* How the boot that just ended was stopped, one line. */
void stop_describe(const struct launcher *l, char *out, size_t size);
/* Forget the last stop: a new boot starts. */
void stop_reset(struct launcher *l);

/* ---- qmp.c: QEMU's machine protocol ---- */

void qmp_send(struct launcher *l, const char *json);
/* Read what QMP said; the first answer makes the state RUNNING. */
void qmp_input(struct launcher *l);

#endif
