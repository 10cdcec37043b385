// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * root/'s life beside the mount's: the partition the command line's root=
 * names (else the first Linux one), mounted through ext4/ as -o root=
 * asks, with one line saying why when it is read-only or missing; written
 * out and marked clean before a guest boots, kept read-only while it
 * runs, and read again (its journal replayed when the guest lost power)
 * once it has stopped.
 */
#include "ext.h"
#include "bootfiles.h"
#include "../common/log.h"
#include "../pi/cmdline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The partition the next boot's command line takes for its root. */
static const struct part_entry *choose(struct rfs *fs)
{
	struct boot_config cfg;
	char *cmdline = NULL;
	size_t len;
	const struct part_entry *root;

	if (rfs_boot_config(fs, &cfg) == 0)
		rfs_fat_read_file(fs, cfg.cmdline, &cmdline, &len,
				  CMDLINE_MAX * 2);
	root = part_root(fs->img, cmdline);
	free(cmdline);
	return root;
}

/* What the user can do about a read-only root/. */
static void advise(struct rfs *fs, const struct ext4_info *info, char *out,
		   size_t size)
{
	if (info->errors)
		snprintf(out, size,
			 "check it with rpifs fsck '%s' after rpifs umount",
			 fs->image_path);
	else if (info->needs_recovery)
		snprintf(out, size,
			 "boot the image once (rpifs run, then rpifs stop) and "
			 "its kernel replays it");
	else
		out[0] = '\0';
}

static int mount_root(struct rfs *fs, bool quiet)
{
	bool rw = fs->opt.root == RFS_ROOT_RW && !fs->opt.read_only;
	struct ext4_info info;
	char err[400], fix[200];
	int ret;

	ret = ext4_mount(&fs->ext, &fs->ext_win, rw ? 0 : EXT4_MOUNT_RDONLY,
			 err, sizeof(err));
	if (ret) {
		snprintf(fs->root_note, sizeof(fs->root_note),
			 "partition %u is not shown: %s", fs->root_part->number,
			 err);
		rpifs_log(RPIFS_WARN, "root/: %s", fs->root_note);
		return ret;
	}
	ext4_get_info(fs->ext, &info);
	fs->root_note[0] = '\0';
	if (info.why_read_only[0]) {
		advise(fs, &info, fix, sizeof(fix));
		snprintf(fs->root_note, sizeof(fs->root_note),
			 "read-only: %.250s%s%s", info.why_read_only,
			 fix[0] ? "; " : "", fix);
	} else if (!rw && info.needs_recovery) {
		snprintf(fs->root_note, sizeof(fs->root_note),
			 "its journal was not replayed (a read-only mount "
			 "writes nothing): what the guest wrote last may be "
			 "missing; mount read-write to replay it");
	}
	if (fs->root_note[0] && !quiet)
		rpifs_log(RPIFS_WARN, "root/ (partition %u): %s",
			  fs->root_part->number, fs->root_note);
	if (info.replayed)
		rpifs_log(RPIFS_INFO,
			  "root/ (partition %u): replayed %u journal "
			  "transactions a power cut left",
			  fs->root_part->number, info.replayed);
	return 0;
}

void rfs_root_open(struct rfs *fs)
{
	if (fs->opt.root == RFS_ROOT_OFF)
		return;
	fs->root_part = choose(fs);
	if (!fs->root_part) {
		snprintf(fs->root_note, sizeof(fs->root_note),
			 "the image has no Linux partition");
		return;
	}
	if (strncmp(fs->root_part->fstype, "ext", 3) != 0) {
		if (fs->root_part->fstype[0])
			snprintf(fs->root_note, sizeof(fs->root_note),
				 "partition %u is not shown: it holds %s, not "
				 "ext2/3/4",
				 fs->root_part->number, fs->root_part->fstype);
		else
			snprintf(fs->root_note, sizeof(fs->root_note),
				 "partition %u is not shown: no file system "
				 "found on it",
				 fs->root_part->number);
		return;
	}
	fs->ext_win = (struct ext4_window){
		.fd = fs->img->fd,
		.offset = fs->root_part->start,
		.size = fs->root_part->size,
	};
	mount_root(fs, false);
}

int rfs_root_close(struct rfs *fs)
{
	int ret = ext4_unmount(fs->ext);

	fs->ext = NULL;
	if (ret)
		rpifs_log(RPIFS_ERR,
			  "writing the root file system of %s failed: %s",
			  fs->image_path, strerror(-ret));
	return ret;
}

int rfs_root_freeze(struct rfs *fs)
{
	char err[512];
	int ret;

	if (!fs->ext)
		return 0;
	ret = ext4_unmount(fs->ext);
	fs->ext = NULL;
	if (ret)
		return ret;
	/* The same file system, written and clean: the kernel's view holds. */
	ret = ext4_mount(&fs->ext, &fs->ext_win, EXT4_MOUNT_RDONLY, err,
			 sizeof(err));
	if (ret) {
		snprintf(fs->root_note, sizeof(fs->root_note),
			 "not shown while the guest runs: %.300s", err);
		rpifs_log(RPIFS_WARN, "root/: %s", fs->root_note);
	} else {
		snprintf(fs->root_note, sizeof(fs->root_note),
			 "while the guest runs (its kernel has it)");
	}
	return 0;
}

void rfs_root_reload(struct rfs *fs)
{
	if (!fs->root_part || strncmp(fs->root_part->fstype, "ext", 3) != 0 ||
	    fs->opt.root == RFS_ROOT_OFF)
		return;
	ext4_unmount(fs->ext);
	fs->ext = NULL;
	/* Inodes of before the boot are stale: the guest may have reused them.
	 */
	fs->ext_gen++;
	rfs_ext_forget_all(fs);
	rfs_notify_queue(fs, FUSE_ROOT_ID, 0, "root");
	mount_root(fs, false);
}

void rfs_root_status(struct rfs *fs, struct buf *out)
{
	struct ext4_info info;

	if (fs->opt.root == RFS_ROOT_OFF) {
		buf_printf(out, "root/: off (-o root=off)\n");
		return;
	}
	if (!fs->ext) {
		buf_printf(out, "root/: none: %s\n", fs->root_note);
		return;
	}
	ext4_get_info(fs->ext, &info);
	buf_printf(out, "root/: partition %u, %s%s%s, %s%s%s\n",
		   fs->root_part->number, info.type, info.label[0] ? " " : "",
		   info.label, info.read_only ? "read-only" : "read-write",
		   fs->root_note[0] ? ": " : "", fs->root_note);
}

const char *rfs_root_find(struct rfs *fs, const char *const *paths, bool *known)
{
	*known = fs->ext != NULL;
	for (; fs->ext && *paths; paths++) {
		int ret = ext4_probe_path(fs->ext, *paths);

		if (ret == 0)
			return *paths;
		if (ret != -ENOENT) {
			*known = false; /* unreadable now: say nothing false */
			return NULL;
		}
	}
	return NULL;
}
