// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The launcher's face to the daemon: create and destroy it, choose the
 * board, start a boot (claim the state, write the run folder, build QEMU's
 * argument vector, hand it to the supervisor thread), stop, and report.
 */
#include "internal.h"
#include "../common/errmsg.h"
#include "../common/log.h"
#include "../common/unixsock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEEP_RUNS 10

const char *launch_state_name(enum launch_state state)
{
	switch (state) {
	case LAUNCH_STARTING:
		return "starting";
	case LAUNCH_RUNNING:
		return "running";
	case LAUNCH_STOPPING:
		return "stopping";
	default:
		return "stopped";
	}
}

void launch_send_cmd(struct launcher *l, char c)
{
	while (write(l->cmd[1], &c, 1) < 0 && errno == EINTR)
		;
}

void launch_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

struct launcher *launch_create(const char *state_dir,
			       const struct launch_ops *ops)
{
	struct launcher *l = calloc(1, sizeof(*l));
	const char *runtime = getenv("XDG_RUNTIME_DIR");

	if (!l)
		return NULL;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cond, NULL);
	l->ops = *ops;
	l->pidfd = l->serial = l->qmp = l->listen_fd = -1;
	snprintf(l->state_dir, sizeof(l->state_dir), "%s", state_dir);
	/* Sockets in a private folder with a short path (sun_path). */
	snprintf(l->sock_dir, sizeof(l->sock_dir), "%s/rpifs-XXXXXX",
		 runtime && runtime[0] && strlen(runtime) < 60 ? runtime
							       : "/tmp");
	if (pipe2(l->cmd, O_CLOEXEC) < 0 || !mkdtemp(l->sock_dir)) {
		rpifs_log(RPIFS_ERR, "launcher: %s", strerror(errno));
		free(l);
		return NULL;
	}
	chmod(l->sock_dir, 0700);
	runs_path(l->serial_path, sizeof(l->serial_path), l->sock_dir,
		  "serial");
	runs_path(l->qmp_path, sizeof(l->qmp_path), l->sock_dir, "qmp");
	runs_path(l->console_socket, sizeof(l->console_socket), l->sock_dir,
		  "console");
	l->listen_fd = unix_listen(l->console_socket, 0600);
	if (l->listen_fd < 0)
		rpifs_log(RPIFS_WARN, "launcher: no console socket: %s",
			  strerror(-l->listen_fd));
	if (pthread_create(&l->thread, NULL, launch_supervise, l) != 0) {
		rpifs_log(RPIFS_ERR, "launcher: cannot start its thread");
		launch_close_fd(&l->listen_fd);
		rmdir(l->sock_dir);
		free(l);
		return NULL;
	}
	return l;
}

int launch_board(struct launcher *l, enum board wanted, bool explicit,
		 enum board *board, char *err, size_t err_size)
{
	int ret = 0;

	pthread_mutex_lock(&l->mu);
	if (!l->qemu_known) {
		ret = qemu_probe(&l->qemu, err, err_size);
		l->qemu_known = ret == 0;
	}
	*board = wanted;
	if (!ret && wanted == BOARD_RASPI4B &&
	    !l->qemu.has_board[BOARD_RASPI4B]) {
		if (explicit) {
			snprintf(err, err_size,
				 "QEMU %s has no raspi4b (that came in QEMU "
				 "9): install QEMU 9 or newer, or mount with "
				 "-o machine=raspi3b",
				 l->qemu.version);
			ret = -ENOEXEC;
		} else {
			*board = BOARD_RASPI3B;
		}
	}
	if (!ret && *board == BOARD_RASPI3B &&
	    !l->qemu.has_board[BOARD_RASPI3B]) {
		snprintf(err, err_size, "QEMU %s has no raspi3b",
			 l->qemu.version);
		ret = -ENOEXEC;
	}
	pthread_mutex_unlock(&l->mu);
	return ret;
}

/* The argument vector as one line a shell would read back the same. */
static char *quote_argv(char **argv)
{
	static const char plain_chars[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
		"-_=.,:/+@%";
	size_t len = 1;
	char *out, *o;

	for (size_t i = 0; argv[i]; i++)
		len += 4 * strlen(argv[i]) + 3;
	out = o = malloc(len);
	if (!out)
		return NULL;
	for (size_t i = 0; argv[i]; i++) {
		bool plain = argv[i][0] != '\0' &&
			     strspn(argv[i], plain_chars) == strlen(argv[i]);

		if (i)
			*o++ = ' ';
		if (plain) {
			o = stpcpy(o, argv[i]);
			continue;
		}
		*o++ = '\'';
		for (const char *c = argv[i]; *c; c++) {
			if (*c == '\'')
				o = stpcpy(o, "'\\''");
			else
				*o++ = *c;
		}
		*o++ = '\'';
	}
	*o = '\0';
	return out;
}

/* Claim the launcher for a boot: @return 0, -EBUSY or -EINVAL. */
static int claim(struct launcher *l, char *err, size_t err_size)
{
	int ret = 0;

	pthread_mutex_lock(&l->mu);
	if (!l->qemu_known)
		ret = err_set(err, err_size, -EINVAL, "QEMU is not known yet");
	else if (l->state != LAUNCH_STOPPED)
		ret = err_set(err, err_size, -EBUSY, "the guest is already %s",
			      launch_state_name(l->state));
	else
		l->state = LAUNCH_STARTING;
	pthread_mutex_unlock(&l->mu);
	return ret;
}

/* The files of one boot, in its run folder. */
struct run_files {
	char dir[PATH_MAX];
	char kernel[PATH_MAX];
	char dtb[PATH_MAX]; /* as QEMU gets it */
	char initramfs[PATH_MAX];
	char console_log[PATH_MAX];
	char qemu_log[PATH_MAX];
	char overlay[PATH_MAX]; /* "" when the guest writes the image */
};

/*
 * A new run folder with everything the boot needs and what was changed,
 * kept together: later edits never change a running boot, and every boot
 * leaves a record of what it booted.
 */
static int write_run_folder(struct launcher *l, const struct boot_plan *p,
			    struct run_files *f, char *err, size_t err_size)
{
	char prev[PATH_MAX], *d = f->dir;
	/* The notes are a buffer, not a string: no NUL at its end. */
	const char *notes = p->notes.len ? (const char *)p->notes.data : "";
	size_t notes_len = p->notes.len;
	int ret = runs_new(l->state_dir, KEEP_RUNS, d, sizeof(f->dir), prev,
			   sizeof(prev));

	if (ret)
		return err_set(err, err_size, ret,
			       "cannot make a run folder under %s: %s",
			       l->state_dir, strerror(-ret));
	if ((ret = runs_path(f->kernel, PATH_MAX, d, "kernel")) ||
	    (ret = runs_path(f->dtb, PATH_MAX, d, "dtb-qemu")) ||
	    (ret = runs_path(f->initramfs, PATH_MAX, d, "initramfs")) ||
	    (ret = runs_path(f->console_log, PATH_MAX, d, "console.log")) ||
	    (ret = runs_path(f->qemu_log, PATH_MAX, d, "qemu.log")) ||
	    (ret = runs_write_shared(l->state_dir, d, "kernel", p->kernel,
				     p->kernel_len)) ||
	    (ret = runs_write(d, "dtb", p->dtb_image, p->dtb_image_len)) ||
	    (ret = runs_write(d, "dtb-qemu", p->dtb, p->dtb_len)) ||
	    (p->initramfs &&
	     (ret = runs_write_shared(l->state_dir, d, "initramfs",
				      p->initramfs, p->initramfs_len))) ||
	    (ret = runs_write(d, "cmdline", p->cmdline.line,
			      strlen(p->cmdline.line))) ||
	    (ret = runs_write(d, "cmdline.image", p->cmdline_image,
			      strlen(p->cmdline_image))) ||
	    (ret = runs_write(d, "adjustments", notes, notes_len)))
		return err_set(err, err_size, ret, "cannot write to %s: %s", d,
			       strerror(-ret));
	return 0;
}

/*
 * A throwaway boot of an image whose size is not a power of two: QEMU's
 * own snapshot=on would make its overlay the image's size, which QEMU
 * then refuses for an SD card; so an overlay of the card's size, in the
 * run folder, deleted when the guest stops. @return 0 or -errno.
 */
static int snapshot_overlay(struct launcher *l,
			    const struct launch_request *req,
			    struct run_files *f, char *err, size_t err_size)
{
	struct stat st;
	int ret;

	f->overlay[0] = '\0';
	if (!req->snapshot || !req->card_size || stat(req->image, &st) != 0 ||
	    (uint64_t)st.st_size == req->card_size)
		return 0;
	ret = runs_path(f->overlay, sizeof(f->overlay), f->dir,
			"overlay.qcow2");
	if (!ret)
		ret = qemu_overlay(&l->qemu, req->image, req->card_size,
				   f->overlay, err, err_size);
	if (ret)
		f->overlay[0] = '\0';
	return ret;
}

/* The console log starts with what rpifs did; then QEMU appends. */
static void console_header(const struct launch_request *req,
			   const struct run_files *f)
{
	const struct boot_plan *p = req->plan;
	struct buf header = {0};

	buf_printf(&header, "[rpifs] booting %s on %s\r\n", req->name,
		   board_name(p->board));
	for (size_t at = 0; at < p->notes.len;) {
		const char *line = (const char *)p->notes.data + at;
		const char *nl = memchr(line, '\n', p->notes.len - at);
		size_t len = nl ? (size_t)(nl - line) : p->notes.len - at;

		buf_printf(&header, "[rpifs] %.*s\r\n", (int)len, line);
		at += len + 1;
	}
	if (f->overlay[0])
		buf_printf(&header,
			   "[rpifs] the guest's writes go to %s, deleted when "
			   "it stops\r\n",
			   f->overlay);
	if (header.len)
		runs_write(f->dir, "console.log", header.data, header.len);
	buf_free(&header);
}

/* The argument vector, one argument a line, for the record. */
static void write_argv(const struct run_files *f, char **argv)
{
	struct buf lines = {0};

	for (size_t i = 0; argv[i]; i++)
		buf_printf(&lines, "%s\n", argv[i]);
	if (lines.len)
		runs_write(f->dir, "argv", lines.data, lines.len);
	buf_free(&lines);
}

/* Hand the argument vector to the supervisor and wait for the exec. */
static int hand_over(struct launcher *l, char **argv, const char *qemu_log)
{
	int ret;

	pthread_mutex_lock(&l->mu);
	l->spawn_argv = argv;
	snprintf(l->spawn_out, sizeof(l->spawn_out), "%s", qemu_log);
	l->spawn_done = false;
	launch_send_cmd(l, CMD_SPAWN);
	while (!l->spawn_done)
		pthread_cond_wait(&l->cond, &l->mu);
	ret = l->spawn_result;
	l->spawn_argv = NULL;
	pthread_mutex_unlock(&l->mu);
	return ret;
}

/* What the status shows of a boot that started. */
static void record(struct launcher *l, const struct launch_request *req,
		   const struct run_files *f, unsigned ssh_port,
		   char **argv_text)
{
	const struct buf *notes = &req->plan->notes;
	struct buf all = {0};
	char *text = NULL;

	buf_printf(&all, "%.*s", (int)notes->len,
		   notes->len ? (const char *)notes->data : "");
	if (f->overlay[0])
		buf_printf(
			&all,
			"the guest's writes go to %s, deleted when it stops\n",
			f->overlay);
	text = all.len ? strndup((const char *)all.data, all.len) : strdup("");
	buf_free(&all);
	pthread_mutex_lock(&l->mu);
	clock_gettime(CLOCK_REALTIME, &l->started);
	l->ran = true;
	l->board = req->plan->board;
	l->ssh_port = ssh_port;
	snprintf(l->run_dir, sizeof(l->run_dir), "%s", f->dir);
	free(l->argv_text);
	free(l->notes);
	l->argv_text = *argv_text;
	l->notes = text;
	*argv_text = NULL;
	pthread_mutex_unlock(&l->mu);
}

/* This boot's ssh port: the one asked for, or ssh=auto's pick. */
static int ssh_port_for(const struct net_config *net, unsigned *port, char *err,
			size_t err_size)
{
	int ret;

	*port = 0;
	if (!net || net->mode == NET_NONE)
		return 0;
	if (!net->ssh_auto) {
		*port = net->ssh_port;
		return 0;
	}
	ret = net_free_port(port);
	if (ret)
		return err_set(err, err_size, ret,
			       "ssh=auto: no free port on 127.0.0.1: %s",
			       strerror(-ret));
	return 0;
}

int launch_start(struct launcher *l, const struct launch_request *req,
		 char *err, size_t err_size)
{
	const struct boot_plan *p = req->plan;
	struct run_files f;
	struct qemu_config qc;
	char **argv = NULL, *argv_text = NULL, relay[64];
	unsigned ssh_port;
	int ret = claim(l, err, err_size);

	if (ret)
		return ret;
	ret = ssh_port_for(req->net, &ssh_port, err, err_size);
	if (ret)
		goto fail;
	/* The daemon's own program, even if the file was replaced since. */
	snprintf(relay, sizeof(relay), "/proc/%d/exe", (int)getpid());
	ret = write_run_folder(l, p, &f, err, err_size);
	if (!ret)
		ret = snapshot_overlay(l, req, &f, err, err_size);
	if (ret)
		goto fail;
	console_header(req, &f);
	qc = (struct qemu_config){
		.board = p->board,
		.name = req->name,
		.kernel = f.kernel,
		.dtb = f.dtb,
		.initrd = p->initramfs ? f.initramfs : NULL,
		.append = p->cmdline.line,
		.image = f.overlay[0] ? f.overlay : req->image,
		.format = f.overlay[0] ? "qcow2" : "raw",
		.snapshot = req->snapshot && !f.overlay[0],
		.serial_socket = l->serial_path,
		.serial_log = f.console_log,
		.qmp_socket = l->qmp_path,
		.net = req->net,
		.ssh_port = ssh_port,
		.relay = relay,
		.tcg_multi = req->tcg_multi,
		.extra = req->extra,
	};
	argv = qemu_argv(&l->qemu, &qc);
	argv_text = argv ? quote_argv(argv) : NULL;
	if (!argv || !argv_text) {
		ret = err_set(err, err_size, -ENOMEM, "out of memory");
		goto fail;
	}
	write_argv(&f, argv);
	unlink(l->serial_path);
	unlink(l->qmp_path);
	/* What the supervisor needs when this boot ends, however soon. */
	pthread_mutex_lock(&l->mu);
	snprintf(l->console_log, sizeof(l->console_log), "%s", f.console_log);
	snprintf(l->overlay, sizeof(l->overlay), "%s", f.overlay);
	l->stop_timeout_s = req->stop_timeout_s ? req->stop_timeout_s
						: LAUNCH_STOP_TIMEOUT_S;
	l->last_stop[0] = '\0';
	pthread_mutex_unlock(&l->mu);
	ret = hand_over(l, argv, f.qemu_log);
	if (ret) {
		err_set(err, err_size, ret, "cannot start %s: %s", l->qemu.path,
			strerror(-ret));
		goto fail;
	}
	record(l, req, &f, ssh_port, &argv_text);
	qemu_argv_free(argv);
	return 0;
fail:
	pthread_mutex_lock(&l->mu);
	l->state = LAUNCH_STOPPED;
	pthread_mutex_unlock(&l->mu);
	qemu_argv_free(argv);
	free(argv_text);
	return ret;
}

int launch_stop(struct launcher *l, bool force)
{
	if (launch_state(l) == LAUNCH_STOPPED)
		return -ESRCH;
	launch_send_cmd(l, force ? CMD_KILL : CMD_STOP);
	return 0;
}

enum launch_state launch_state(struct launcher *l)
{
	enum launch_state state;

	pthread_mutex_lock(&l->mu);
	state = l->state;
	pthread_mutex_unlock(&l->mu);
	return state;
}

void launch_brief(struct launcher *l, struct launch_brief *b)
{
	pthread_mutex_lock(&l->mu);
	b->state = l->state;
	b->pid = l->pid;
	b->started = l->started;
	b->ran = l->ran;
	b->exit_status = l->exit_status;
	pthread_mutex_unlock(&l->mu);
}

void launch_console_log(struct launcher *l, char *path, size_t size)
{
	pthread_mutex_lock(&l->mu);
	snprintf(path, size, "%s", l->console_log);
	pthread_mutex_unlock(&l->mu);
}

void launch_status(struct launcher *l, struct launch_status *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&l->mu);
	st->state = l->state;
	st->board = l->board;
	st->pid = l->pid;
	st->started = l->started;
	st->ran = l->ran;
	st->exit_status = l->exit_status;
	st->ssh_port = l->ssh_port;
	st->stop_timeout_s = l->stop_timeout_s;
	snprintf(st->last_stop, sizeof(st->last_stop), "%s", l->last_stop);
	snprintf(st->qemu_version, sizeof(st->qemu_version), "%s",
		 l->qemu_known ? l->qemu.version : "");
	snprintf(st->run_dir, sizeof(st->run_dir), "%s", l->run_dir);
	snprintf(st->console_log, sizeof(st->console_log), "%s",
		 l->console_log);
	snprintf(st->console_socket, sizeof(st->console_socket), "%s",
		 l->listen_fd >= 0 ? l->console_socket : "");
	st->argv_text = l->argv_text ? strdup(l->argv_text) : NULL;
	st->notes = l->notes ? strdup(l->notes) : NULL;
	pthread_mutex_unlock(&l->mu);
}

void launch_status_free(struct launch_status *st)
{
	free(st->argv_text);
	free(st->notes);
	st->argv_text = st->notes = NULL;
}

void launch_destroy(struct launcher *l)
{
	if (!l)
		return;
	launch_send_cmd(l, CMD_QUIT);
	pthread_join(l->thread, NULL);
	launch_close_fd(&l->listen_fd);
	console_drop_all(l);
	unlink(l->console_socket);
	unlink(l->serial_path);
	unlink(l->qmp_path);
	rmdir(l->sock_dir);
	close(l->cmd[0]);
	close(l->cmd[1]);
	free(l->argv_text);
	free(l->notes);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cond);
	free(l);
}
