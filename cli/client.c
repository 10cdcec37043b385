// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The commands that drive a mounted image from outside, through its
 * control files and console socket: rpifs run [--wait], stop, console,
 * status. They need nothing but the mount directory.
 */
#include "cli.h"
#include "../common/log.h"
#include "../common/mounts.h"
#include "../common/unixsock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define DETACH_KEY 0x1d /* Ctrl-] */

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

/* The canonical mount directory, or an error message and -1. */
int cli_mount_dir(const char *arg, char *dir, size_t size)
{
	struct mount_entry m;
	char real[PATH_MAX];

	if (!realpath(arg, real)) {
		rpifs_log(RPIFS_ERR, "%s: %s", arg, strerror(errno));
		return -1;
	}
	if (!mounts_find(real, NULL, &m) || strcmp(m.fstype, RPIFS_FSTYPE) != 0) {
		rpifs_log(RPIFS_ERR, "%s is not an rpifs mount (rpifs mount IMAGE %s)",
			  real, arg);
		return -1;
	}
	snprintf(dir, size, "%s", real);
	return 0;
}

/* A whole control file (NUL-terminated, malloc'd), or NULL. */
static char *read_ctl(const char *dir, const char *name)
{
	char path[PATH_MAX + 32], *buf = NULL;
	size_t len = 0, cap = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	for (;;) {
		ssize_t n;

		if (len + 4096 + 1 > cap) {
			char *bigger = realloc(buf, cap = cap ? cap * 2 : 8192);

			if (!bigger) {
				free(buf);
				close(fd);
				return NULL;
			}
			buf = bigger;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (buf)
		buf[len] = '\0';
	return buf;
}

/* The value of "key: value" in the status file, or "". */
static void status_value(const char *dir, const char *key, char *out,
			 size_t size)
{
	char *status = read_ctl(dir, "status"), *p;
	size_t klen = strlen(key);

	out[0] = '\0';
	for (p = status; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, key, klen) == 0 && p[klen] == ':' && p[klen + 1] == ' ') {
			p += klen + 2;
			snprintf(out, size, "%.*s", (int)strcspn(p, "\n"), p);
			break;
		}
	}
	free(status);
}

/* The guest's state from DIR/run ("stopped ...", "running ..."). */
static void run_state(const char *dir, char *out, size_t size)
{
	char *run = read_ctl(dir, "run");

	snprintf(out, size, "%.*s", run ? (int)strcspn(run, "\n") : 0,
		 run ? run : "");
	free(run);
}

static int write_run(const char *dir, const char *word)
{
	char path[PATH_MAX + 8];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/run", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, word, strlen(word)) < 0)
		ret = -errno;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	return ret;
}

/* The last @lines lines of @text to stderr. */
static void tail_lines(const char *text, int lines)
{
	const char *p = text + strlen(text);
	int seen = 0;

	while (p > text && seen <= lines)
		if (*--p == '\n')
			seen++;
	if (*p == '\n')
		p++;
	fprintf(stderr, "%s%s", p, p[0] && p[strlen(p) - 1] != '\n' ? "\n" : "");
}

static void show_failure(const char *dir, const char *why)
{
	char *console = read_ctl(dir, "console"), run_dir[PATH_MAX];

	fprintf(stderr, "rpifs: %s; the last console lines:\n", why);
	if (console)
		tail_lines(console, 25);
	free(console);
	status_value(dir, "run folder", run_dir, sizeof(run_dir));
	if (run_dir[0]) {
		char path[PATH_MAX + 16], buf[4096];
		int fd;
		ssize_t n;

		snprintf(path, sizeof(path), "%s/qemu.log", run_dir);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			n = read(fd, buf, sizeof(buf) - 1);
			if (n > 0) {
				buf[n] = '\0';
				fprintf(stderr, "rpifs: QEMU said:\n");
				tail_lines(buf, 10);
			}
			close(fd);
		}
	}
}

int cli_run(int argc, char **argv)
{
	char dir[PATH_MAX], why[600];
	struct ssh_wait ssh = { 0 };
	bool wait = false;
	double timeout = 300, start;
	const char *arg = NULL;
	int ret;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--wait") == 0) {
			wait = true;
		} else if (strcmp(argv[i], "--wait=ssh") == 0) {
			wait = ssh.wanted = true;
		} else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			timeout = atof(argv[++i]);
		} else if (!arg && argv[i][0] != '-') {
			arg = argv[i];
		} else {
			fprintf(stderr, "usage: rpifs run DIR [--wait[=ssh]] [--timeout SECONDS]\n");
			return 2;
		}
	}
	if (!arg || timeout <= 0) {
		fprintf(stderr, "usage: rpifs run DIR [--wait[=ssh]] [--timeout SECONDS]\n");
		return 2;
	}
	if (cli_mount_dir(arg, dir, sizeof(dir)))
		return 1;
	if (ssh.wanted && ssh_wait_check(dir))
		return 1;
	start = now_s();
	ret = write_run(dir, "start\n");
	if (ret == -EBUSY && wait) {
		/* Already booting: wait for that boot's prompt. */
		ret = 0;
	}
	if (ret) {
		status_value(dir, "last message", why, sizeof(why));
		rpifs_log(RPIFS_ERR, "%s", why[0] ? why : strerror(-ret));
		return 1;
	}
	if (!wait) {
		printf("booting: follow it with 'tail -f %s/console' or 'rpifs console %s'\n",
		       dir, dir);
		return 0;
	}
	for (;;) {
		char state[128], *console;
		bool login, panic;

		sleep_ms(100);
		console = read_ctl(dir, "console");
		login = console && strstr(console, "login:");
		panic = console && strstr(console, "Kernel panic");
		free(console);
		if (ssh.wanted && ssh_wait_poll(&ssh, dir, now_s() - start))
			return 0;
		if (login && !ssh.wanted) {
			printf("login prompt after %.1f s\n", now_s() - start);
			return 0;
		}
		if (panic) {
			show_failure(dir, "the guest's kernel panicked (stop it with rpifs stop)");
			return 1;
		}
		status_value(dir, "state", state, sizeof(state));
		if (strncmp(state, "stopped", 7) == 0) {
			snprintf(why, sizeof(why), "QEMU ended before a login prompt (%s)",
				 state);
			show_failure(dir, why);
			return 1;
		}
		if (now_s() - start > timeout) {
			snprintf(why, sizeof(why),
				 "%s after %.0f s (the guest still runs; rpifs stop stops it)",
				 ssh.wanted ? "no answer from sshd" : "no login prompt",
				 timeout);
			show_failure(dir, why);
			return 1;
		}
	}
}

int cli_stop(int argc, char **argv)
{
	char dir[PATH_MAX], state[128];
	double start;
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: rpifs stop DIR\n");
		return 2;
	}
	if (cli_mount_dir(argv[1], dir, sizeof(dir)))
		return 1;
	run_state(dir, state, sizeof(state));
	if (strncmp(state, "stopped", 7) == 0)
		return 0;
	ret = write_run(dir, "stop\n");
	if (ret) {
		rpifs_log(RPIFS_ERR, "cannot stop: %s", strerror(-ret));
		return 1;
	}
	start = now_s();
	/* QMP quit, then SIGTERM after 5 s, SIGKILL after 10: wait for all. */
	while (now_s() - start < 20) {
		run_state(dir, state, sizeof(state));
		if (strncmp(state, "stopped", 7) == 0)
			return 0;
		sleep_ms(50);
	}
	rpifs_log(RPIFS_ERR, "the guest did not stop within 20 s");
	return 1;
}

int cli_status(int argc, char **argv)
{
	char dir[PATH_MAX], *status;

	if (argc != 2) {
		fprintf(stderr, "usage: rpifs status DIR\n");
		return 2;
	}
	if (cli_mount_dir(argv[1], dir, sizeof(dir)))
		return 1;
	status = read_ctl(dir, "status");
	if (!status) {
		rpifs_log(RPIFS_ERR, "cannot read %s/status: %s", dir, strerror(errno));
		return 1;
	}
	fputs(status, stdout);
	free(status);
	return 0;
}

static struct termios saved_tty;
static bool tty_raw;

static void restore_tty(void)
{
	if (tty_raw) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
		tty_raw = false;
	}
}

static void on_signal(int sig)
{
	restore_tty();
	signal(sig, SIG_DFL);
	raise(sig);
}

int cli_console(int argc, char **argv)
{
	char dir[PATH_MAX], path[PATH_MAX], state[128];
	bool interactive = isatty(STDIN_FILENO), input_open = true;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: rpifs console DIR\n");
		return 2;
	}
	if (cli_mount_dir(argv[1], dir, sizeof(dir)))
		return 1;
	status_value(dir, "state", state, sizeof(state));
	status_value(dir, "console socket", path, sizeof(path));
	if (strncmp(state, "stopped", 7) == 0) {
		rpifs_log(RPIFS_ERR,
			  "the guest is not running: start it with rpifs run %s (its last console is %s/console)",
			  dir, dir);
		return 1;
	}
	if (!path[0]) {
		rpifs_log(RPIFS_ERR, "the mount has no console socket");
		return 1;
	}
	fd = unix_connect(path, false);
	if (fd < 0) {
		rpifs_log(RPIFS_ERR, "cannot attach to %s: %s", path, strerror(-fd));
		return 1;
	}
	if (interactive) {
		struct termios raw;

		if (tcgetattr(STDIN_FILENO, &saved_tty) == 0) {
			raw = saved_tty;
			cfmakeraw(&raw);
			atexit(restore_tty);
			signal(SIGINT, on_signal);
			signal(SIGTERM, on_signal);
			signal(SIGHUP, on_signal);
			signal(SIGQUIT, on_signal);
			tty_raw = tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0;
		}
		fprintf(stderr, "[attached to the console of %s: Ctrl-] detaches]\r\n",
			dir);
	}
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = fd, .events = POLLIN },
			{ .fd = STDIN_FILENO, .events = input_open ? POLLIN : 0 },
		};
		char buf[4096];
		ssize_t n;
		/* Without a terminal: after the input ends, wait for quiet. */
		int timeout = input_open ? -1 : 1000;

		if (poll(p, 2, timeout) <= 0) {
			if (!input_open)
				break;
			continue;
		}
		if (p[0].revents) {
			n = read(fd, buf, sizeof(buf));
			if (n <= 0)
				break; /* the guest stopped */
			if (write(STDOUT_FILENO, buf, (size_t)n) < 0)
				break;
		}
		if (p[1].revents) {
			char *key;

			n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n <= 0) {
				input_open = false;
				continue;
			}
			key = interactive ? memchr(buf, DETACH_KEY, (size_t)n) : NULL;
			if (key)
				n = key - buf;
			if (n > 0 && write(fd, buf, (size_t)n) < 0)
				break;
			if (key)
				break;
		}
	}
	restore_tty();
	if (interactive)
		fprintf(stderr, "\n[detached]\n");
	close(fd);
	return 0;
}

/* ---- for the other commands (ssh.c, sshwait.c) ---- */

char *cli_read_ctl(const char *dir, const char *name)
{
	return read_ctl(dir, name);
}

void cli_status_value(const char *dir, const char *key, char *out, size_t size)
{
	status_value(dir, key, out, size);
}
