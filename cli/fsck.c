// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rpifs fsck IMAGE [-n]: check (and repair) the image's root file system
 * in place, without root or a loop device. A journal that a power cut
 * left is replayed first by rpifs's own replay (ext4/journal.c): e2fsck
 * would replay it too, but then reopens the file system without the
 * image's ?offset= and fails ("Bad magic number in super-block while
 * trying to re-open"), and so does debugfs's journal_run. Then e2fsck
 * -fy (-fn with -n, which replays nothing) on the partition.
 */
#include "cli.h"
#include "../common/log.h"
#include "../common/spawn.h"
#include "../ext4/ext4.h"
#include "../partition/partition.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int cli_replay_journal(struct part_image *img, const struct part_entry *p)
{
	struct ext4_window win;
	struct ext4_info info;
	struct ext4_vol *vol;
	char err[300];

	if (!p || strncmp(p->fstype, "ext", 3) != 0 || p->past_end)
		return 0; /* the caller says what is wrong */
	win = (struct ext4_window){img->fd, p->start, p->size};
	if (ext4_mount(&vol, &win, EXT4_MOUNT_RDONLY, err, sizeof(err)))
		return 0; /* e2fsck gives the details */
	ext4_get_info(vol, &info);
	ext4_unmount(vol);
	if (!info.needs_recovery)
		return 0;
	if (ext4_mount(&vol, &win, 0, err, sizeof(err))) {
		rpifs_log(RPIFS_ERR,
			  "replaying the journal of partition %u: %s",
			  p->number, err);
		return -1;
	}
	ext4_get_info(vol, &info);
	ext4_unmount(vol);
	if (info.needs_recovery) {
		rpifs_log(RPIFS_ERR,
			  "the journal of partition %u cannot be replayed: %s",
			  p->number, info.why_read_only);
		return -1;
	}
	printf("%s: replayed the journal of partition %u (%u transactions a "
	       "power cut left)\n",
	       img->path, p->number, info.replayed);
	return 0;
}

static int run_e2fsck(struct part_image *img, const struct part_entry *p,
		      bool check_only)
{
	char device[4096 + 32];
	char *argv[] = {(char *)"e2fsck", (char *)"-f",
			(char *)(check_only ? "-n" : "-y"), device, NULL};
	struct spawn s = {.argv = argv};
	int status;

	snprintf(device, sizeof(device), "%s?offset=%llu", img->path,
		 (unsigned long long)p->start);
	status = spawn_run(&s);
	if (status == 127)
		rpifs_log(RPIFS_ERR,
			  "e2fsck is not installed (package e2fsprogs)");
	/* e2fsck's own status: 0 clean, 1 repaired, 4 errors left, ... */
	return status < 0 ? 8 : status;
}

int cli_fsck(int argc, char **argv)
{
	const char *image = NULL;
	const struct part_entry *root;
	struct part_image *img;
	bool check_only = false, bad = false;
	char err[600];
	int ret = 8;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0)
			check_only = true;
		else if (!image && argv[i][0] != '-')
			image = argv[i];
		else
			bad = true;
	}
	if (!image || bad) {
		fprintf(stderr, "usage: rpifs fsck IMAGE [-n]\n");
		return 2;
	}
	if (part_open(image, check_only ? PART_OPEN_RDONLY : 0, &img, err,
		      sizeof(err))) {
		rpifs_log(RPIFS_ERR, "%s", err);
		return 8;
	}
	root = cli_root_partition(img);
	if (!root || strncmp(root->fstype, "ext", 3) != 0) {
		rpifs_log(RPIFS_ERR,
			  "%s has no ext2/3/4 root partition to check",
			  img->path);
	} else if (check_only || cli_lock_image(img, image) == 0) {
		if (check_only || cli_replay_journal(img, root) == 0)
			ret = run_e2fsck(img, root, check_only);
		if (!check_only)
			part_unlock(img);
	}
	part_close(img);
	return ret;
}
