// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fork and exec with the child's standard streams set as asked. A pipe
 * with close-on-exec tells the parent whether the exec happened: it reads
 * nothing when it did, or the stage and errno that failed.
 */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

enum { STAGE_SETUP = 1, STAGE_EXEC = 2 };

struct failure {
	int stage;
	int err;
};

static void report(int fd, int stage, int err)
{
	struct failure f = {stage, err};

	(void)!write(fd, &f, sizeof(f));
	_exit(stage == STAGE_SETUP ? 126 : 127);
}

static int open_stream(const struct spawn *s, enum spawn_io io, int flags,
		       int capture)
{
	switch (io) {
	case SPAWN_NULL:
		return open("/dev/null", flags);
	case SPAWN_CAPTURE:
		return capture;
	case SPAWN_FILE:
		return open(s->file, O_WRONLY | O_CREAT | O_APPEND, 0600);
	default:
		return -1;
	}
}

static void child(const struct spawn *s, pid_t parent, int errfd, int capture)
{
	int in = open_stream(s, s->in, O_RDONLY, -1);
	int out = open_stream(s, s->out, O_WRONLY, capture);
	int err = s->err == s->out && s->out == SPAWN_FILE
			  ? out
			  : open_stream(s, s->err, O_WRONLY, capture);

	if (s->supervised) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		setsid();
		umask(077);
	}
	if (in >= 0)
		dup2(in, 0);
	if (out >= 0)
		dup2(out, 1);
	if (err >= 0)
		dup2(err, 2);
	if (s->supervised)
		syscall(SYS_close_range, 3, ~0u, 4 /* CLOSE_RANGE_CLOEXEC */);
	if (s->setup && s->setup(s->ctx) != 0)
		report(errfd, STAGE_SETUP, errno);
	if (strchr(s->argv[0], '/'))
		execv(s->argv[0], s->argv);
	else
		execvp(s->argv[0], s->argv);
	report(errfd, STAGE_EXEC, errno);
}

int spawn_start(struct spawn *s, pid_t *pid, int *capture)
{
	bool capturing = s->out == SPAWN_CAPTURE || s->err == SPAWN_CAPTURE;
	int errpipe[2], outpipe[2] = {-1, -1};
	struct failure f;
	pid_t parent = getpid();
	ssize_t n;

	s->len = 0;
	if (s->buf && s->size)
		s->buf[0] = '\0';
	if (pipe2(errpipe, O_CLOEXEC) < 0)
		return -errno;
	if (capturing && pipe2(outpipe, O_CLOEXEC) < 0) {
		int e = errno;

		close(errpipe[0]);
		close(errpipe[1]);
		return -e;
	}
	*pid = fork();
	if (*pid < 0) {
		int e = errno;

		close(errpipe[0]);
		close(errpipe[1]);
		if (capturing) {
			close(outpipe[0]);
			close(outpipe[1]);
		}
		return -e;
	}
	if (*pid == 0)
		child(s, parent, errpipe[1], outpipe[1]);
	close(errpipe[1]);
	if (capturing)
		close(outpipe[1]);
	do
		n = read(errpipe[0], &f, sizeof(f));
	while (n < 0 && errno == EINTR);
	close(errpipe[0]);
	if (n == (ssize_t)sizeof(f)) {
		if (capturing)
			close(outpipe[0]);
		spawn_wait(*pid);
		*pid = -1;
		return f.stage == STAGE_SETUP ? -ECANCELED : -f.err;
	}
	if (capture)
		*capture = outpipe[0];
	else if (capturing)
		close(outpipe[0]);
	return 0;
}

void spawn_collect(struct spawn *s, int fd)
{
	char sink[4096];

	for (;;) {
		char *to = sink;
		size_t room = sizeof(sink);
		ssize_t n;

		if (s->buf && s->size > 1) {
			/* Full: keep the second half, where reasons are. */
			if (s->len == s->size - 1) {
				size_t keep = s->len / 2;

				memmove(s->buf, s->buf + s->len - keep, keep);
				s->len = keep;
			}
			to = s->buf + s->len;
			room = s->size - 1 - s->len;
		}
		n = read(fd, to, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (to != sink) {
			s->len += (size_t)n;
			s->buf[s->len] = '\0';
		}
	}
	close(fd);
}

int spawn_wait(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int spawn_run(struct spawn *s)
{
	int fd = -1, ret;
	pid_t pid;

	ret = spawn_start(s, &pid, &fd);
	if (ret)
		return ret == -ECANCELED ? 126 : 127;
	if (fd >= 0)
		spawn_collect(s, fd);
	return spawn_wait(pid);
}
