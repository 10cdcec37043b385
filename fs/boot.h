/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * boot/: the FAT boot partition as a kind of node.
 */
#ifndef RPIFS_BOOT_H
#define RPIFS_BOOT_H

#include "rfs.h"

/* A FAT node's attributes, as Linux's vfat shows them. */
void rfs_boot_stat(struct rfs *fs, struct fat_node *node, struct stat *st);
/*
 * Describe @node for a lookup reply, counting one kernel reference.
 * The caller's reference on @node is consumed.
 */
int rfs_boot_entry(struct rfs *fs, struct fat_node *node,
		   struct fuse_entry_param *e);

#endif
