/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Temporary files in the mount's root: what editors and sed -i write
 * beside a control file before renaming it over (sedXXXXXX, .cmdline.swp,
 * 4913, cmdline~). They live in memory, 64 MiB in all, and are gone at
 * unmount.
 */
#ifndef RPIFS_TEMP_H
#define RPIFS_TEMP_H

#include "ctl.h"

struct ctl_node *temp_find(struct rfs *fs, const char *name);
/* A new temporary file, attached, described to the kernel. */
int temp_create(struct rfs *fs, const char *name, mode_t mode,
		struct fuse_entry_param *e);
/* Put @node (a temporary file now) into the root's list. */
void temp_attach(struct rfs *fs, struct ctl_node *node);
/* Make @node's contents @value (accounted against the total). */
int temp_fill(struct rfs *fs, struct ctl_node *node, const struct buf *value);
/* A temporary file's contents leave it (it becomes a control file). */
void temp_drop_data(struct rfs *fs, struct ctl_node *node);

extern const struct rfs_kind rfs_temp_kind;

#endif
