// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The commands that drive a mounted image from outside, through its
 * control files: rpifs run [--wait], stop, status (rpifs console is
 * console.c). They need nothing but the mount directory.
 */
#include "cli.h"
#include "../common/ansi.h"
#include "../common/log.h"
#include "../common/mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* What a failed --wait shows of the console, and of QEMU's stderr. */
#define CONSOLE_LINES 20
#define QEMU_LINES    10

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&t, NULL);
}

void cli_bad_dir(const char *arg, int err)
{
	if (arg[0] == '-' && err == ENOENT)
		rpifs_log(RPIFS_ERR,
			  "%s: not an option of this command (its --help lists "
			  "them)",
			  arg);
	else if (err == ENOENT || err == ENOTDIR)
		rpifs_log(RPIFS_ERR,
			  "%s: no such directory: name the directory an image "
			  "is mounted on (rpifs mount IMAGE DIR mounts one)",
			  arg);
	else
		rpifs_log(RPIFS_ERR, "%s: %s", arg, strerror(err));
}

/* The canonical mount directory, or an error message and -1. */
int cli_mount_dir(const char *arg, char *dir, size_t size)
{
	struct mount_entry m;
	char real[PATH_MAX];

	if (!realpath(arg, real)) {
		cli_bad_dir(arg, errno);
		return -1;
	}
	if (!mounts_find(real, NULL, &m) ||
	    strcmp(m.fstype, RPIFS_FSTYPE) != 0) {
		rpifs_log(RPIFS_ERR,
			  "%s is not an rpifs mount (rpifs mount IMAGE %s)",
			  real, arg);
		return -1;
	}
	snprintf(dir, size, "%s", real);
	return 0;
}

/* A whole file (NUL-terminated, malloc'd), or NULL. */
static char *read_file(const char *path)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

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

/* A whole control file, or NULL. */
static char *read_ctl(const char *dir, const char *name)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return read_file(path);
}

void cli_status_value(const char *dir, const char *key, char *out, size_t size)
{
	char *status = read_ctl(dir, "status"), *p;
	size_t klen = strlen(key);

	out[0] = '\0';
	for (p = status; p && *p;
	     p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, key, klen) == 0 && p[klen] == ':' &&
		    p[klen + 1] == ' ') {
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

/*
 * The last @lines lines of @text to stderr, without the terminal control
 * sequences the guest sent (a query there would be answered into the
 * user's shell).
 */
static void tail_lines(char *text, int lines)
{
	struct ansi_strip strip = {0};
	char *p, *end;

	end = text + ansi_strip(&strip, text, strlen(text));
	*end = '\0';
	p = end;
	if (p > text && p[-1] == '\n')
		p--; /* the last line's own newline */
	for (int seen = 0; p > text; p--)
		if (p[-1] == '\n' && ++seen == lines)
			break;
	fprintf(stderr, "%s%s", p, end > p && end[-1] != '\n' ? "\n" : "");
}

/* The end of QEMU's own messages (its stderr, kept in the run folder). */
static void show_qemu_log(const char *dir)
{
	char run_dir[PATH_MAX], path[PATH_MAX + 16], *log;

	cli_status_value(dir, "run folder", run_dir, sizeof(run_dir));
	if (!run_dir[0])
		return;
	snprintf(path, sizeof(path), "%s/qemu.log", run_dir);
	log = read_file(path);
	if (log && log[0]) {
		fprintf(stderr, "rpifs: QEMU said (%s):\n", path);
		tail_lines(log, QEMU_LINES);
	}
	free(log);
}

/*
 * Why --wait failed, in the order a reader needs it: the console's last
 * lines, QEMU's own messages only once QEMU has ended (while it runs they
 * are its warnings about the board, never the reason), then the reason.
 */
static void show_failure(const char *dir, const char *why)
{
	char *console = read_ctl(dir, "console"), state[128];

	if (console && console[0]) {
		fprintf(stderr, "rpifs: the last lines of %s/console:\n", dir);
		tail_lines(console, CONSOLE_LINES);
	}
	free(console);
	cli_status_value(dir, "state", state, sizeof(state));
	if (strncmp(state, "stopped", 7) == 0)
		show_qemu_log(dir);
	fprintf(stderr, "rpifs: %s\n", why);
}

static volatile sig_atomic_t wait_interrupted;

static void on_interrupt(int sig)
{
	(void)sig;
	wait_interrupted = 1;
}

/*
 * Ctrl-C ends the wait, not the guest. A command started with SIGINT
 * ignored (a background job of a script) keeps ignoring it.
 */
static void catch_interrupt(void)
{
	struct sigaction sa = {.sa_handler = on_interrupt}, old;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, NULL, &old) == 0 && old.sa_handler != SIG_IGN)
		sigaction(SIGINT, &sa, NULL);
}

/*
 * Say what is left running, then end as killed by SIGINT (status 130 in
 * a shell), so that a script that ran us stops on Ctrl-C too.
 */
static int end_interrupted(const char *dir)
{
	fprintf(stderr,
		"rpifs: stopped waiting; the guest still runs (rpifs stop %s "
		"stops it)\n",
		dir);
	signal(SIGINT, SIG_DFL);
	raise(SIGINT);
	return 130;
}

struct run_args {
	const char *dir;
	bool wait;
	double timeout;
};

#define RUN_USAGE "usage: rpifs run DIR [--wait[=ssh]] [--timeout SECONDS]\n"

static int parse_run(int argc, char **argv, struct run_args *ra,
		     struct ssh_wait *ssh)
{
	ra->timeout = 300;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--wait") == 0) {
			ra->wait = true;
		} else if (strcmp(argv[i], "--wait=ssh") == 0) {
			ra->wait = ssh->wanted = true;
		} else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			ra->timeout = atof(argv[++i]);
		} else if (!ra->dir && argv[i][0] != '-') {
			ra->dir = argv[i];
		} else {
			ra->dir = NULL; /* an unknown word: the usage */
			break;
		}
	}
	if (!ra->dir || ra->timeout <= 0) {
		fputs(RUN_USAGE, stderr);
		return 2;
	}
	return 0;
}

/*
 * One look at the booting guest: 0 done (the prompt, or sshd answers),
 * 1 failed (said), -1 not yet.
 */
static int wait_step(const char *dir, struct ssh_wait *ssh, double start,
		     double timeout)
{
	char state[128], why[600], *console;
	bool login, panic;

	console = read_ctl(dir, "console");
	login = console && strstr(console, "login:");
	panic = console && strstr(console, "Kernel panic");
	free(console);
	if (ssh->wanted && ssh_wait_poll(ssh, dir, now_s() - start))
		return 0;
	if (login && !ssh->wanted) {
		printf("login prompt after %.1f s\n", now_s() - start);
		return 0;
	}
	if (panic) {
		show_failure(dir, "the guest's kernel panicked (stop "
				  "it with rpifs stop)");
		return 1;
	}
	cli_status_value(dir, "state", state, sizeof(state));
	if (strncmp(state, "stopped", 7) == 0) {
		snprintf(why, sizeof(why),
			 "QEMU ended before a login prompt (%s)", state);
		show_failure(dir, why);
		return 1;
	}
	if (now_s() - start > timeout) {
		snprintf(why, sizeof(why),
			 "%s after %.0f s (the guest still runs; rpifs "
			 "stop stops it)",
			 ssh->wanted ? "no answer from sshd"
				     : "no login prompt",
			 timeout);
		show_failure(dir, why);
		return 1;
	}
	return -1;
}

int cli_run(int argc, char **argv)
{
	char dir[PATH_MAX], why[600];
	struct ssh_wait ssh = {0};
	struct run_args ra = {0};
	double start;
	int ret;

	ret = parse_run(argc, argv, &ra, &ssh);
	if (ret)
		return ret;
	if (cli_mount_dir(ra.dir, dir, sizeof(dir)))
		return 1;
	if (ssh.wanted && ssh_wait_check(dir))
		return 1;
	start = now_s();
	ret = write_run(dir, "start\n");
	if (ret == -EBUSY && ra.wait) {
		/* Already booting: wait for that boot's prompt. */
		ret = 0;
	}
	if (ret) {
		cli_status_value(dir, "last message", why, sizeof(why));
		rpifs_log(RPIFS_ERR, "%s", why[0] ? why : strerror(-ret));
		return 1;
	}
	if (!ra.wait) {
		printf("booting: follow it with 'tail -f %s/console' or 'rpifs "
		       "console %s'\n",
		       dir, dir);
		return 0;
	}
	catch_interrupt();
	do {
		sleep_ms(100);
		if (wait_interrupted)
			return end_interrupted(dir);
		ret = wait_step(dir, &ssh, start, ra.timeout);
	} while (ret < 0);
	return ret;
}

/* The daemon bounds each step of a stop; this only guards a lost daemon. */
#define STOP_WAIT_MAX_S (3600 + 120)

int cli_stop(int argc, char **argv)
{
	char dir[PATH_MAX], state[128];
	const char *arg = NULL;
	bool force = false, bad = false;
	double start;
	int ret;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0 ||
		    strcmp(argv[i], "-f") == 0)
			force = true;
		else if (!arg && argv[i][0] != '-')
			arg = argv[i];
		else
			bad = true;
	}
	if (!arg || bad) {
		fprintf(stderr, "usage: rpifs stop DIR [--force]\n");
		return 2;
	}
	if (cli_mount_dir(arg, dir, sizeof(dir)))
		return 1;
	run_state(dir, state, sizeof(state));
	if (strncmp(state, "stopped", 7) == 0)
		return 0;
	ret = write_run(dir, force ? "kill\n" : "stop\n");
	if (ret) {
		rpifs_log(RPIFS_ERR, "cannot stop: %s", strerror(-ret));
		return 1;
	}
	if (!force && isatty(STDERR_FILENO))
		fprintf(stderr,
			"rpifs: the guest is shutting down (rpifs stop --force "
			"%s cuts the power)\n",
			arg);
	start = now_s();
	while (now_s() - start < STOP_WAIT_MAX_S) {
		run_state(dir, state, sizeof(state));
		if (strncmp(state, "stopped", 7) == 0)
			return 0;
		if (!state[0]) {
			rpifs_log(RPIFS_ERR, "%s: the daemon is gone", dir);
			return 1;
		}
		sleep_ms(50);
	}
	rpifs_log(RPIFS_ERR, "the guest did not stop within %d s",
		  STOP_WAIT_MAX_S);
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
		rpifs_log(RPIFS_ERR, "cannot read %s/status: %s", dir,
			  strerror(errno));
		return 1;
	}
	fputs(status, stdout);
	free(status);
	return 0;
}

/* ---- for the other commands (ssh.c, sshwait.c) ---- */

char *cli_read_ctl(const char *dir, const char *name)
{
	return read_ctl(dir, name);
}
