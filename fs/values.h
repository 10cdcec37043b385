/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control values kept in the image's boot files: userconf in
 * userconf.txt (and cloud-init's user-data), cmdline in the file
 * config.txt names, kernel and dtb in the files the firmware would load.
 * Paths come from config.txt evaluated for the emulated board on every
 * access, so an edit of config.txt shows at once.
 */
#ifndef RPIFS_VALUES_H
#define RPIFS_VALUES_H

#include "rfs.h"
#include "../common/buf.h"

#define VALUE_SMALL_MAX (64 * 1024)
#define VALUE_BLOB_MAX	(256u * 1024 * 1024)

int value_userconf_read(struct rfs *fs, struct buf *out);
void value_userconf_stat(struct rfs *fs, uint64_t *size,
			 struct timespec *mtime);
int value_userconf_precheck(const struct buf *value);
int value_userconf_commit(struct rfs *fs, const struct buf *value);

int value_cmdline_read(struct rfs *fs, struct buf *out);
void value_cmdline_stat(struct rfs *fs, uint64_t *size, struct timespec *mtime);
int value_cmdline_precheck(const struct buf *value);
int value_cmdline_commit(struct rfs *fs, const struct buf *value);

int value_kernel_file(struct rfs *fs, struct fat_node **node);
void value_kernel_stat(struct rfs *fs, uint64_t *size, struct timespec *mtime);
int value_kernel_commit(struct rfs *fs, const struct buf *value);

int value_dtb_file(struct rfs *fs, struct fat_node **node);
void value_dtb_stat(struct rfs *fs, uint64_t *size, struct timespec *mtime);
int value_dtb_commit(struct rfs *fs, const struct buf *value);

#endif
