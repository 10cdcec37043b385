// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rpifs console DIR: the guest's serial console on this program's
 * standard input and output, through the mount's console socket. On a
 * terminal it is interactive (raw mode, Ctrl-] detaches, its messages on
 * stderr); from a script it copies its input to the guest, and once the
 * input ends, the guest's output until it has been quiet for a second,
 * then exits. Output that is not a terminal gets plain text: the guest's
 * terminal control sequences are taken out (common/ansi.h).
 */
#include "cli.h"
#include "../common/ansi.h"
#include "../common/log.h"
#include "../common/unixsock.h"

#include <errno.h>
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

/* After the input ends: exit once the guest is quiet this long ... */
#define DRAIN_QUIET_MS 1000
/* ... or this long after the input ended, if it never is. */
#define DRAIN_MAX_MS 30000

struct console {
	int sock;
	bool interactive; /* stdin is a terminal: raw mode, Ctrl-] */
	bool plain;	  /* stdout is not: control sequences taken out */
	bool input_open;
	long drain_end_ms; /* input ended: the latest exit */
	struct ansi_strip strip;
};

static struct termios saved_tty;
static bool tty_raw;

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

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

/* The terminal in raw mode, given back at exit and on a fatal signal. */
static void make_raw(void)
{
	struct termios raw;

	if (tcgetattr(STDIN_FILENO, &saved_tty) != 0)
		return;
	raw = saved_tty;
	cfmakeraw(&raw);
	atexit(restore_tty);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGQUIT, on_signal);
	tty_raw = tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The socket, or a message and -1: the guest must be running. */
static int attach(const char *dir)
{
	char path[PATH_MAX], state[128];
	int fd;

	cli_status_value(dir, "state", state, sizeof(state));
	cli_status_value(dir, "console socket", path, sizeof(path));
	if (strncmp(state, "stopped", 7) == 0) {
		rpifs_log(RPIFS_ERR,
			  "the guest is not running: start it with rpifs run "
			  "%s (its last console is %s/console)",
			  dir, dir);
		return -1;
	}
	if (!path[0]) {
		rpifs_log(RPIFS_ERR, "the mount has no console socket");
		return -1;
	}
	fd = unix_connect(path, false);
	if (fd < 0) {
		rpifs_log(RPIFS_ERR, "cannot attach to %s: %s", path,
			  strerror(-fd));
		return -1;
	}
	return fd;
}

/*
 * The guest's output to stdout. @return 1 to go on, 0 when the guest's
 * end closed (it stopped), -errno when stdout fails.
 */
static int copy_output(struct console *c)
{
	char buf[8192];
	ssize_t n = read(c->sock, buf, sizeof(buf));
	size_t len;

	if (n < 0 && errno == EINTR)
		return 1;
	if (n <= 0)
		return 0;
	len = (size_t)n;
	if (c->plain)
		len = ansi_strip(&c->strip, buf, len);
	n = write_all(STDOUT_FILENO, buf, len);
	return n < 0 ? (int)n : 1;
}

/* Stdin to the guest. @return 1 to go on, 0 to detach or on an error. */
static int copy_input(struct console *c)
{
	char buf[4096], *key;
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 1;
	if (n <= 0) {
		/* The input ended: no more polling it, the output drains. */
		c->input_open = false;
		c->drain_end_ms = now_ms() + DRAIN_MAX_MS;
		return 1;
	}
	key = c->interactive ? memchr(buf, DETACH_KEY, (size_t)n) : NULL;
	if (key)
		n = key - buf;
	if (n > 0 && write_all(c->sock, buf, (size_t)n) < 0)
		return 0;
	return key ? 0 : 1;
}

/* How long poll may wait: for ever while there is input, else the drain. */
static int poll_timeout(const struct console *c)
{
	long left;

	if (c->input_open)
		return -1;
	left = c->drain_end_ms - now_ms();
	if (left <= 0)
		return 0;
	return left < DRAIN_QUIET_MS ? (int)left : DRAIN_QUIET_MS;
}

/* Copy both ways until one end is done. @return the exit status. */
static int console_loop(struct console *c)
{
	for (;;) {
		struct pollfd p[2] = {
			{.fd = c->sock, .events = POLLIN},
			/* poll ignores a negative fd: no POLLHUP for ever. */
			{.fd = c->input_open ? STDIN_FILENO : -1,
			 .events = POLLIN},
		};
		int timeout = poll_timeout(c), ret, n;

		if (timeout == 0)
			return 0;
		n = poll(p, 2, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rpifs_log(RPIFS_ERR, "poll: %s", strerror(errno));
			return 1;
		}
		if (n == 0)
			return 0; /* the output was quiet for a second */
		if (p[0].revents) {
			ret = copy_output(c);
			if (ret == 0 && c->interactive)
				fprintf(stderr, "\r\n[the guest stopped]");
			if (ret == -EPIPE)
				return 0; /* the reader has gone */
			if (ret < 0)
				rpifs_log(RPIFS_ERR,
					  "writing the console out: %s",
					  strerror(-ret));
			if (ret <= 0)
				return ret == 0 ? 0 : 1;
		}
		if (p[1].revents && copy_input(c) == 0)
			return 0;
	}
}

int cli_console(int argc, char **argv)
{
	struct console c = {
		.interactive = isatty(STDIN_FILENO),
		.plain = !isatty(STDOUT_FILENO),
		.input_open = true,
	};
	char dir[PATH_MAX];
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: rpifs console DIR\n");
		return 2;
	}
	if (cli_mount_dir(argv[1], dir, sizeof(dir)))
		return 1;
	c.sock = attach(dir);
	if (c.sock < 0)
		return 1;
	/* A reader that goes away ends the console; the tty is restored. */
	signal(SIGPIPE, SIG_IGN);
	if (c.interactive) {
		make_raw();
		fprintf(stderr,
			"[attached to the console of %s: Ctrl-] detaches]\r\n",
			dir);
	}
	ret = console_loop(&c);
	restore_tty();
	if (c.interactive)
		fprintf(stderr, "\n[detached]\n");
	close(c.sock);
	return ret;
}
