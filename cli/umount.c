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

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

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
	if (!mounts_find(dir, NULL, &m) || strcmp(m.fstype, RPIFS_FSTYPE) != 0) {
		rpifs_log(RPIFS_ERR, "%s is not an rpifs mount", dir);
		return 1;
	}
	/* A running guest is stopped first, cleanly. */
	{
		char *stop_argv[] = { (char *)"stop", dir, NULL };

		if (cli_stop(2, stop_argv) != 0)
			rpifs_log(RPIFS_WARN, "unmounting anyway: the daemon stops the guest");
	}
	if (geteuid() == 0) {
		ret = umount2(dir, 0) == 0 ? 0 : -errno;
	} else {
		char *fm[] = { (char *)"fusermount3", (char *)"-u", dir, NULL };

		struct spawn s = { .argv = fm };

		ret = spawn_run(&s) == 0 ? 0 : -EBUSY;
	}
	if (ret == -EBUSY) {
		rpifs_log(RPIFS_ERR,
			  "%s is busy: a program is using it (leave it with cd, close its files; fuser -vm %s shows which)",
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
		nanosleep(&(struct timespec){ .tv_nsec = 50 * 1000 * 1000 },
			  NULL);
	}
	rpifs_log(RPIFS_WARN,
		  "%s is unmounted but its daemon has not finished after 30 s",
		  dir);
	return 1;
}
