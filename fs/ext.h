/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * root/: the image's root file system as a kind of node (ext.c), and its
 * life beside the mount's (rootfs.c): which partition it is, mounting it,
 * handing it to a booting guest and taking it back.
 */
#ifndef RPIFS_EXT_H
#define RPIFS_EXT_H

#include "rfs.h"
#include "../common/buf.h"

/* Describe inode @ino of root/ for a lookup reply, counting one lookup. */
int rfs_ext_entry(struct rfs *fs, uint64_t ino, struct fuse_entry_param *e);
/* Forget every inode number (the root file system was read again). */
void rfs_ext_forget_all(struct rfs *fs);

/* ---- rootfs.c ---- */

/* At mount: find and mount the root file system (none is no error). */
void rfs_root_open(struct rfs *fs);
/* At unmount: write everything and mark it clean. @return 0 or -errno. */
int rfs_root_close(struct rfs *fs);
/* Before a boot: write everything, mark it clean, keep it read-only. */
int rfs_root_freeze(struct rfs *fs);
/* After the guest: read it again (replaying what a power cut left). */
void rfs_root_reload(struct rfs *fs);
/* The status file's lines about root/. */
void rfs_root_status(struct rfs *fs, struct buf *out);
/*
 * The first of @paths (relative to the root file system, NULL-ended) that
 * the root holds, NULL when it holds none of them; @known is false when
 * the root cannot be read (root=off, no ext2/3/4 root, damaged).
 */
const char *rfs_root_find(struct rfs *fs, const char *const *paths,
			  bool *known);

#endif
