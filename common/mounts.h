/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading /proc/self/mountinfo: which rpifs mount is at a directory, and
 * where an image is mounted.
 */
#ifndef RPIFS_MOUNTS_H
#define RPIFS_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>

#define RPIFS_FSTYPE "fuse.rpifs"

struct mount_entry {
	char mountpoint[4096];
	char fstype[64];
	char source[4096];
};

/*
 * Find the mount whose mount point is @dir (a canonical path), or whose
 * source is @source when @dir is NULL. @return true when found.
 */
bool mounts_find(const char *dir, const char *source, struct mount_entry *out);

#endif
