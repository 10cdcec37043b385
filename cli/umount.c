// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rpifs umount DIR: stop a running guest cleanly, unmount (fusermount3,
 * or umount2 as root), and return once the daemon has written everything
 * and let go of the image.
 */
#include "cli.h"
#include "../common/log.h"
#include "../common/mounts.h"
#include "../common/spawn.h"
#include "../partition/partition.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

/* Whether link @path (a /proc entry) points under mount @dir. */
static bool points_under(const char *path, const char *dir)
{
	char target[PATH_MAX];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	size_t len = strlen(dir);

	if (n <= 0)
		return false;
	target[n] = '\0';
	return strncmp(target, dir, len) == 0 &&
	       (target[len] == '\0' || target[len] == '/');
}

/*
 * A process using the mount, as far as this user may see: its working
 * directory, root or an open file under @dir. By path, not by stat: a
 * stat could hang on another FUSE mount. @return its pid, or 0.
 */
static pid_t mount_user(const char *dir, char *what, size_t size)
{
	DIR *proc = opendir("/proc");
	struct dirent *e;
	pid_t found = 0;
	char path[64];

	while (proc && !found && (e = readdir(proc))) {
		pid_t pid = (pid_t)atoi(e->d_name);
		DIR *fds;
		struct dirent *f;

		if (pid <= 0 || pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%d/cwd", (int)pid);
		if (points_under(path, dir)) {
			snprintf(what, size, "its working directory");
			found = pid;
			break;
		}
		snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
		fds = opendir(path);
		while (fds && !found && (f = readdir(fds))) {
			snprintf(path, sizeof(path), "/proc/%d/fd/%.20s",
				 (int)pid, f->d_name);
			if (f->d_name[0] != '.' && points_under(path, dir)) {
				snprintf(what, size, "a file it has open");
				found = pid;
			}
		}
		if (fds)
			closedir(fds);
	}
	if (proc)
		closedir(proc);
	return found;
}

/* The program's name, for the message. */
static void comm_of(pid_t pid, char *out, size_t size)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	out[0] = '\0';
	f = fopen(path, "r");
	if (f) {
		if (fgets(out, (int)size, f))
			out[strcspn(out, "\n")] = '\0';
		fclose(f);
	}
}

int cli_umount(int argc, char **argv)
{
	struct mount_entry m;
	char dir[PATH_MAX];
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: rpifs umount DIR\n");
		return 2;
	}
	if (!realpath(argv[1], dir)) {
		cli_bad_dir(argv[1], errno);
		return 1;
	}
	if (!mounts_find(dir, NULL, &m) ||
	    strcmp(m.fstype, RPIFS_FSTYPE) != 0) {
		rpifs_log(RPIFS_ERR, "%s is not an rpifs mount", dir);
		return 1;
	}
	/* Busy: refused before the guest is stopped for nothing. */
	{
		char what[64], comm[64];
		pid_t pid = mount_user(dir, what, sizeof(what));

		if (pid) {
			comm_of(pid, comm, sizeof(comm));
			rpifs_log(RPIFS_ERR,
				  "%s is busy: %s (pid %d) uses it (%s); leave "
				  "it with cd, close its files, then rpifs "
				  "umount %s again",
				  dir, comm[0] ? comm : "a program", (int)pid,
				  what, argv[1]);
			return 1;
		}
	}
	/* A running guest is stopped first, cleanly. */
	{
		char *stop_argv[] = {(char *)"stop", dir, NULL};

		if (cli_stop(2, stop_argv) != 0)
			rpifs_log(RPIFS_WARN, "unmounting anyway: the daemon "
					      "stops the guest");
	}
	if (geteuid() == 0) {
		ret = umount2(dir, 0) == 0 ? 0 : -errno;
	} else {
		char *fm[] = {(char *)"fusermount3", (char *)"-u", dir, NULL};

		struct spawn s = {.argv = fm};

		ret = spawn_run(&s) == 0 ? 0 : -EBUSY;
	}
	if (ret == -EBUSY) {
		rpifs_log(RPIFS_ERR,
			  "%s is busy: a program is using it (leave it with "
			  "cd, close its files; fuser -vm %s shows which)",
			  dir, dir);
		return 1;
	}
	if (ret) {
		rpifs_log(RPIFS_ERR, "cannot unmount %s: %s", dir,
			  strerror(-ret));
		return 1;
	}
	/* Return once the daemon has written everything and let go. */
	for (int i = 0; i < 600; i++) {
		if (part_lock_test_mounted(m.source) <= 0)
			return 0;
		nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000},
			  NULL);
	}
	rpifs_log(RPIFS_WARN,
		  "%s is unmounted but its daemon has not finished after 30 s",
		  dir);
	return 1;
}
