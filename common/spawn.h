/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Starting programs, always by argument vector and never through a shell:
 * QEMU (for the guest and to ask what it is), e2fsprogs' tools, fusermount3,
 * ssh. One fork/exec path that reports a failed exec to the caller instead
 * of leaving it to a child's exit status.
 */
#ifndef RPIFS_SPAWN_H
#define RPIFS_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum spawn_io {
	SPAWN_INHERIT, /* the caller's */
	SPAWN_NULL,    /* /dev/null */
	SPAWN_CAPTURE, /* into spawn.buf (stderr: merged with stdout) */
	SPAWN_FILE,    /* appended to spawn.file (created 0600) */
};

struct spawn {
	char *const *argv; /* argv[0]: a path, or a name looked up in PATH */
	enum spawn_io in;  /* SPAWN_INHERIT or SPAWN_NULL */
	enum spawn_io out;
	enum spawn_io err;
	const char *file;
	/*
	 * A supervised child (QEMU): its own session, umask 077, every
	 * inherited descriptor closed, and killed when the thread that
	 * started it ends, so that it is never orphaned.
	 */
	bool supervised;
	/* Run in the child before exec; non-zero fails the start. */
	int (*setup)(void *ctx);
	void *ctx;
	/* SPAWN_CAPTURE: what the child printed, NUL-terminated; when it
	   printed more than fits, the last part (where reasons are). */
	char *buf;
	size_t size;
	size_t len;
};

/*
 * Start @s->argv. @return 0 with *@pid once the program runs, or -errno:
 * the exec's own error (-ENOENT: not installed, -EACCES, ...), or
 * -ECANCELED when @s->setup failed. With SPAWN_CAPTURE, *@capture is the
 * read end of the child's output, for spawn_collect().
 */
int spawn_start(struct spawn *s, pid_t *pid, int *capture);

/* Read the child's output into @s->buf until it closes; closes @fd. */
void spawn_collect(struct spawn *s, int fd);

/* Wait for @pid. @return its exit status, or -1 when a signal killed it. */
int spawn_wait(pid_t pid);

/*
 * Run to the end. @return the exit status; 126 when @s->setup failed, 127
 * when the program could not be run (as a shell says), -1 when it was
 * killed by a signal.
 */
int spawn_run(struct spawn *s);

#endif
