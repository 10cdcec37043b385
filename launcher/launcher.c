// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The supervisor: one thread, living as long as the daemon, that starts
 * QEMU and watches it. It forks QEMU itself, so that QEMU's parent-death
 * signal follows the daemon and QEMU is never orphaned; it waits on a
 * pidfd; it connects to QEMU's QMP socket (a clean stop is "quit") and to
 * its serial socket, whose output it copies to every attached viewer
 * (rpifs console) and into which it writes what they type. QEMU writes the
 * console log itself.
 */
#include "launcher.h"
#include "dtb.h"
#include "qemu.h"
#include "../common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define KEEP_RUNS 10
#define MAX_VIEWERS 16
#define STOP_GRACE_MS 5000
#define CONNECT_RETRY_MS 20

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

static void send_cmd(struct launcher *l, char c)
{
	while (write(l->cmd[1], &c, 1) < 0 && errno == EINTR)
		;
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---- viewers ---- */

static void drop_viewer(struct launcher *l, int i)
{
	close(l->viewers[i]);
	l->viewers[i] = l->viewers[--l->viewer_count];
}

static void to_viewers(struct launcher *l, const char *buf, size_t len)
{
	for (int i = 0; i < l->viewer_count;) {
		ssize_t n = send(l->viewers[i], buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		/* A viewer that cannot keep up misses output, nobody waits. */
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			drop_viewer(l, i);
			continue;
		}
		i++;
	}
}

static void accept_viewer(struct launcher *l)
{
	int fd = accept4(l->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	if (l->viewer_count == MAX_VIEWERS) {
		close(fd);
		return;
	}
	l->viewers[l->viewer_count++] = fd;
}

static int open_listener(struct launcher *l)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(l->console_socket) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, l->console_socket);
	unlink(l->console_socket);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(l->console_socket, 0600) < 0 || listen(fd, 8) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

/* ---- QMP ---- */

static void qmp_send(struct launcher *l, const char *json)
{
	if (l->qmp >= 0 &&
	    send(l->qmp, json, strlen(json), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		rpifs_log(RPIFS_WARN, "launcher: QMP: %s", strerror(errno));
}

static void qmp_input(struct launcher *l)
{
	ssize_t n = recv(l->qmp, l->qmp_buf + l->qmp_len,
			 sizeof(l->qmp_buf) - 1 - l->qmp_len, MSG_DONTWAIT);
	char *line;

	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			close_fd(&l->qmp);
		return;
	}
	l->qmp_len += (size_t)n;
	l->qmp_buf[l->qmp_len] = '\0';
	while ((line = strchr(l->qmp_buf, '\n'))) {
		*line = '\0';
		if (strstr(l->qmp_buf, "\"QMP\"")) {
			qmp_send(l, "{\"execute\": \"qmp_capabilities\"}\n");
		} else if (!l->qmp_ready && strstr(l->qmp_buf, "\"return\"")) {
			l->qmp_ready = true;
			pthread_mutex_lock(&l->mu);
			if (l->state == LAUNCH_STARTING)
				l->state = LAUNCH_RUNNING;
			pthread_mutex_unlock(&l->mu);
			if (l->ops.running)
				l->ops.running(l->ops.ctx);
			if (l->stop_stage == 1)
				qmp_send(l, "{\"execute\": \"quit\"}\n");
		}
		l->qmp_len -= (size_t)(line + 1 - l->qmp_buf);
		memmove(l->qmp_buf, line + 1, l->qmp_len + 1);
	}
	if (l->qmp_len == sizeof(l->qmp_buf) - 1)
		l->qmp_len = 0; /* an oversized message: forget it */
}

/* ---- the process ---- */

static void do_spawn(struct launcher *l)
{
	char **argv = l->spawn_argv;
	pid_t parent = getpid();
	int errpipe[2], err = 0, ret = 0;
	pid_t pid = -1;

	if (pipe2(errpipe, O_CLOEXEC) < 0) {
		ret = -errno;
		goto done;
	}
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		close(errpipe[0]);
		close(errpipe[1]);
		goto done;
	}
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int out = open(l->spawn_out, O_WRONLY | O_CREAT | O_APPEND, 0600);

		/* Die with the thread that started us: never orphaned. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		setsid();
		/* QEMU's sockets and logs: the user's alone. */
		umask(077);
		if (in >= 0)
			dup2(in, 0);
		if (out >= 0) {
			dup2(out, 1);
			dup2(out, 2);
		}
		syscall(SYS_close_range, 3, ~0u, 4 /* CLOSE_RANGE_CLOEXEC */);
		execv(argv[0], argv);
		err = errno;
		(void)!write(errpipe[1], &err, sizeof(err));
		_exit(127);
	}
	close(errpipe[1]);
	if (read(errpipe[0], &err, sizeof(err)) == (ssize_t)sizeof(err)) {
		waitpid(pid, NULL, 0);
		ret = -err;
	}
	close(errpipe[0]);
	if (!ret) {
		l->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (l->pidfd < 0)
			rpifs_log(RPIFS_WARN, "launcher: no pidfd (%s): polling QEMU",
				  strerror(errno));
		l->qmp_ready = false;
		l->qmp_len = 0;
		l->stop_stage = 0;
	}
done:
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
	if (l->qmp_ready)
		qmp_send(l, "{\"execute\": \"quit\"}\n");
	else
		l->stop_stage = 2, kill(pid, SIGTERM); /* no QMP yet: SIGTERM is clean */
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
	close_fd(&l->pidfd);
	close_fd(&l->serial);
	close_fd(&l->qmp);
	l->qmp_ready = false;
	l->stop_stage = 0;
	snprintf(msg, sizeof(msg), "\r\n[rpifs: the guest stopped (%s %d)]\r\n",
		 WIFEXITED(status) ? "exit status" : "signal",
		 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	to_viewers(l, msg, strlen(msg));
	while (l->viewer_count)
		drop_viewer(l, 0);
	if (l->ops.exited)
		l->ops.exited(l->ops.ctx, status);
	pthread_mutex_lock(&l->mu);
	l->pid = 0;
	l->exit_status = status;
	l->state = LAUNCH_STOPPED;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->mu);
}

static void serial_input(struct launcher *l)
{
	char buf[8192];
	ssize_t n = recv(l->serial, buf, sizeof(buf), MSG_DONTWAIT);

	if (n > 0)
		to_viewers(l, buf, (size_t)n);
	else if (n == 0 || (errno != EAGAIN && errno != EINTR))
		close_fd(&l->serial);
}

static void viewer_input(struct launcher *l, int i)
{
	char buf[4096];
	ssize_t n = recv(l->viewers[i], buf, sizeof(buf), MSG_DONTWAIT);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		drop_viewer(l, i);
		return;
	}
	if (n > 0 && l->serial >= 0 &&
	    send(l->serial, buf, (size_t)n, MSG_NOSIGNAL) < 0)
		close_fd(&l->serial);
}

#define PROBE_DELAY_MS 1000

static void *supervise(void *arg)
{
	struct launcher *l = arg;
	char err[512];

	/*
	 * Ask QEMU what it is ahead of the first boot: that is two QEMU
	 * starts (about 90 ms here) off the path from touch run to QEMU. Not
	 * at once: a second after the mount, when nothing came meanwhile, so
	 * that the mount's first work does not share the CPU with them. A
	 * failure is said at the first boot, which asks again.
	 */
	{
		struct pollfd first = { .fd = l->cmd[0], .events = POLLIN };

		if (poll(&first, 1, PROBE_DELAY_MS) == 0) {
			pthread_mutex_lock(&l->mu);
			if (!l->qemu_known)
				l->qemu_known = qemu_probe(&l->qemu, err,
							   sizeof(err)) == 0;
			pthread_mutex_unlock(&l->mu);
		}
	}

	for (;;) {
		struct pollfd p[4 + MAX_VIEWERS];
		int n = 0, timeout = -1, i_cmd, i_pid = -1, i_ser = -1, i_qmp = -1,
		    i_lis = -1, first_viewer;

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
		if (l->pid > 0 && (l->serial < 0 || l->qmp < 0 || l->pidfd < 0))
			timeout = CONNECT_RETRY_MS;
		if (l->stop_stage > 0) {
			int64_t left = ms_until(&l->stop_deadline);

			left = left < 0 ? 0 : left;
			if (timeout < 0 || left < timeout)
				timeout = (int)left;
		}
		if (poll(p, (nfds_t)n, timeout) < 0 && errno != EINTR)
			continue;

		if (p[i_cmd].revents & POLLIN) {
			char c;

			if (read(l->cmd[0], &c, 1) == 1) {
				if (c == CMD_SPAWN)
					do_spawn(l);
				else if (c == CMD_STOP)
					begin_stop(l);
				else if (c == CMD_QUIT)
					l->quitting = true;
			}
		}
		if (l->pid > 0 && (l->pidfd < 0 || (i_pid >= 0 && p[i_pid].revents)))
			reap(l);
		if (l->pid > 0 && l->serial < 0)
			l->serial = unix_connect(l->serial_path);
		if (l->pid > 0 && l->qmp < 0 && !l->qmp_ready)
			l->qmp = unix_connect(l->qmp_path);
		if (i_ser >= 0 && p[i_ser].revents && l->serial >= 0)
			serial_input(l);
		if (i_qmp >= 0 && p[i_qmp].revents && l->qmp >= 0)
			qmp_input(l);
		if (i_lis >= 0 && (p[i_lis].revents & POLLIN))
			accept_viewer(l);
		for (int v = n - 1; v >= first_viewer; v--) {
			int idx = v - first_viewer;

			if (idx < l->viewer_count && p[v].revents)
				viewer_input(l, idx);
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
		 runtime && runtime[0] && strlen(runtime) < 60 ? runtime : "/tmp");
	if (pipe2(l->cmd, O_CLOEXEC) < 0 || !mkdtemp(l->sock_dir)) {
		rpifs_log(RPIFS_ERR, "launcher: %s", strerror(errno));
		free(l);
		return NULL;
	}
	chmod(l->sock_dir, 0700);
	runs_path(l->serial_path, sizeof(l->serial_path), l->sock_dir, "serial");
	runs_path(l->qmp_path, sizeof(l->qmp_path), l->sock_dir, "qmp");
	runs_path(l->console_socket, sizeof(l->console_socket), l->sock_dir,
		  "console");
	l->listen_fd = open_listener(l);
	if (l->listen_fd < 0)
		rpifs_log(RPIFS_WARN, "launcher: no console socket: %s",
			  strerror(-l->listen_fd));
	if (pthread_create(&l->thread, NULL, supervise, l) != 0) {
		rpifs_log(RPIFS_ERR, "launcher: cannot start its thread");
		close_fd(&l->listen_fd);
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
	if (!ret && wanted == BOARD_RASPI4B && !l->qemu.raspi4b) {
		if (explicit) {
			snprintf(err, err_size,
				 "QEMU %s has no raspi4b (that came in QEMU 9): install QEMU 9 or newer, or mount with -o machine=raspi3b",
				 l->qemu.version);
			ret = -ENOEXEC;
		} else {
			*board = BOARD_RASPI3B;
		}
	}
	if (!ret && *board == BOARD_RASPI3B && !l->qemu.raspi3b) {
		snprintf(err, err_size, "QEMU %s has no raspi3b", l->qemu.version);
		ret = -ENOEXEC;
	}
	pthread_mutex_unlock(&l->mu);
	return ret;
}

/* The argument vector as one line a shell would read back the same. */
static char *quote_argv(char **argv)
{
	size_t len = 1;
	char *out, *o;

	for (size_t i = 0; argv[i]; i++)
		len += 4 * strlen(argv[i]) + 3;
	out = o = malloc(len);
	if (!out)
		return NULL;
	for (size_t i = 0; argv[i]; i++) {
		bool plain = argv[i][0] != '\0';

		for (const char *c = argv[i]; *c && plain; c++)
			plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=.,:/+@%", *c) != NULL;
		if (i)
			*o++ = ' ';
		if (plain) {
			o += sprintf(o, "%s", argv[i]);
			continue;
		}
		*o++ = '\'';
		for (const char *c = argv[i]; *c; c++) {
			if (*c == '\'')
				o += sprintf(o, "'\\''");
			else
				*o++ = *c;
		}
		*o++ = '\'';
	}
	*o = '\0';
	return out;
}

int launch_start(struct launcher *l, const struct launch_request *req,
		 char *err, size_t err_size)
{
	char run_dir[PATH_MAX], prev_dir[PATH_MAX], path[4][PATH_MAX], log[PATH_MAX], out[PATH_MAX];
	struct dtb_notes dnotes;
	struct qemu_config qc;
	void *dtb = NULL;
	size_t dtb_len = 0;
	char **argv = NULL, *notes = NULL, *argv_text = NULL;
	size_t notes_len;
	int ret;

	pthread_mutex_lock(&l->mu);
	if (l->state != LAUNCH_STOPPED || !l->qemu_known) {
		pthread_mutex_unlock(&l->mu);
		snprintf(err, err_size, l->qemu_known ? "the guest is already %s"
						      : "QEMU is not known yet",
			 launch_state_name(l->state));
		return l->qemu_known ? -EBUSY : -EINVAL;
	}
	l->state = LAUNCH_STARTING;
	pthread_mutex_unlock(&l->mu);

	ret = dtb_adjust(req->board, req->dtb, req->dtb_len, &dtb, &dtb_len,
			 &dnotes);
	if (ret) {
		snprintf(err, err_size, "the device tree is not a valid dtb");
		goto fail;
	}
	ret = runs_new(l->state_dir, KEEP_RUNS, run_dir, sizeof(run_dir),
		       prev_dir, sizeof(prev_dir));
	if (ret) {
		snprintf(err, err_size, "cannot make a run folder under %s: %s",
			 l->state_dir, strerror(-ret));
		goto fail;
	}
	/* Everything the boot needs and what was changed, kept together. */
	notes_len = strlen(req->notes) + 1;
	for (int i = 0; i < dnotes.count; i++)
		notes_len += strlen(dnotes.text[i]) + 1;
	notes = malloc(notes_len);
	if (!notes) {
		ret = -ENOMEM;
		goto fail;
	}
	strcpy(notes, req->notes);
	for (int i = 0; i < dnotes.count; i++)
		strcat(strcat(notes, dnotes.text[i]), "\n");
	if ((ret = runs_path(path[0], PATH_MAX, run_dir, "kernel")) ||
	    (ret = runs_path(path[1], PATH_MAX, run_dir, "dtb-qemu")) ||
	    (ret = runs_path(path[2], PATH_MAX, run_dir, "initramfs")) ||
	    (ret = runs_path(log, sizeof(log), run_dir, "console.log")) ||
	    (ret = runs_path(out, sizeof(out), run_dir, "qemu.log")) ||
	    (ret = runs_write_reuse(run_dir, prev_dir, "kernel", req->kernel,
				    req->kernel_len)) ||
	    (ret = runs_write(run_dir, "dtb", req->dtb, req->dtb_len)) ||
	    (ret = runs_write(run_dir, "dtb-qemu", dtb, dtb_len)) ||
	    (req->initramfs &&
	     (ret = runs_write_reuse(run_dir, prev_dir, "initramfs",
				     req->initramfs, req->initramfs_len))) ||
	    (ret = runs_write(run_dir, "cmdline", req->cmdline,
			      strlen(req->cmdline))) ||
	    (ret = runs_write(run_dir, "cmdline.image", req->cmdline_image,
			      strlen(req->cmdline_image))) ||
	    (ret = runs_write(run_dir, "adjustments", notes, strlen(notes)))) {
		snprintf(err, err_size, "cannot write to %s: %s", run_dir,
			 strerror(-ret));
		goto fail;
	}
	/* The console log starts with what rpifs did, then QEMU appends. */
	{
		size_t len = strlen(notes) * 2 + 64;
		char *header = malloc(len);

		if (header) {
			size_t o = 0;

			o += (size_t)snprintf(header, len, "[rpifs] booting %s on %s\r\n",
					      req->name, board_name(req->board));
			for (char *line = notes, *nl; *line && o < len; line = nl + 1) {
				nl = strchr(line, '\n');
				if (!nl)
					break;
				o += (size_t)snprintf(header + o, len - o, "[rpifs] %.*s\r\n",
						      (int)(nl - line), line);
			}
			runs_write(run_dir, "console.log", header, strlen(header));
			free(header);
		}
	}
	qc = (struct qemu_config){
		.board = req->board,
		.name = req->name,
		.kernel = path[0],
		.dtb = path[1],
		.initrd = req->initramfs ? path[2] : NULL,
		.append = req->cmdline,
		.image = req->image,
		.snapshot = req->snapshot,
		.serial_socket = l->serial_path,
		.serial_log = log,
		.qmp_socket = l->qmp_path,
		.ssh_port = req->ssh_port,
	};
	argv = qemu_argv(&l->qemu, &qc);
	argv_text = argv ? quote_argv(argv) : NULL;
	if (!argv || !argv_text) {
		ret = -ENOMEM;
		goto fail;
	}
	{
		size_t len = 0;

		for (size_t i = 0; argv[i]; i++)
			len += strlen(argv[i]) + 1;
		{
			char *lines = malloc(len + 1), *o = lines;

			if (lines) {
				for (size_t i = 0; argv[i]; i++)
					o += sprintf(o, "%s\n", argv[i]);
				runs_write(run_dir, "argv", lines, (size_t)(o - lines));
				free(lines);
			}
		}
	}
	unlink(l->serial_path);
	unlink(l->qmp_path);

	pthread_mutex_lock(&l->mu);
	l->spawn_argv = argv;
	snprintf(l->spawn_out, sizeof(l->spawn_out), "%s", out);
	l->spawn_done = false;
	send_cmd(l, CMD_SPAWN);
	while (!l->spawn_done)
		pthread_cond_wait(&l->cond, &l->mu);
	ret = l->spawn_result;
	l->spawn_argv = NULL;
	if (!ret) {
		clock_gettime(CLOCK_REALTIME, &l->started);
		l->ran = true;
		l->board = req->board;
		l->ssh_port = req->ssh_port;
		snprintf(l->run_dir, sizeof(l->run_dir), "%s", run_dir);
		snprintf(l->console_log, sizeof(l->console_log), "%s", log);
		free(l->argv_text);
		free(l->notes);
		l->argv_text = argv_text;
		l->notes = notes;
		argv_text = notes = NULL;
	}
	pthread_mutex_unlock(&l->mu);
	if (ret)
		snprintf(err, err_size, "cannot start %s: %s", l->qemu.path,
			 strerror(-ret));
fail:
	if (ret) {
		pthread_mutex_lock(&l->mu);
		l->state = LAUNCH_STOPPED;
		pthread_mutex_unlock(&l->mu);
	}
	qemu_argv_free(argv);
	free(argv_text);
	free(notes);
	free(dtb);
	return ret;
}

int launch_stop(struct launcher *l)
{
	int ret = 0;

	pthread_mutex_lock(&l->mu);
	if (l->state == LAUNCH_STOPPED)
		ret = -ESRCH;
	pthread_mutex_unlock(&l->mu);
	if (!ret)
		send_cmd(l, CMD_STOP);
	return ret;
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
	snprintf(st->qemu_version, sizeof(st->qemu_version), "%s",
		 l->qemu_known ? l->qemu.version : "");
	snprintf(st->run_dir, sizeof(st->run_dir), "%s", l->run_dir);
	snprintf(st->console_log, sizeof(st->console_log), "%s", l->console_log);
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
	send_cmd(l, CMD_QUIT);
	pthread_join(l->thread, NULL);
	close_fd(&l->listen_fd);
	while (l->viewer_count)
		drop_viewer(l, 0);
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
