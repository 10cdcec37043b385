/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Whole files of the boot partition, for the control files and the boot
 * rules: config.txt evaluated for the board, a file read whole, replaced
 * atomically (written under a temporary name, renamed over the old one,
 * synced) or removed, with the kernel's caches told.
 */
#ifndef RPIFS_BOOTFILES_H
#define RPIFS_BOOTFILES_H

#include "rfs.h"
#include "../pi/config.h"

/* The boot rules' view of this mount's boot partition and table. */
void rfs_boot_files(struct rfs *fs, struct boot_files *files);
/* config.txt evaluated for the board the next boot uses. */
int rfs_boot_config(struct rfs *fs, struct boot_config *cfg);
/* The PARTUUID of partition @number, or NULL. */
const char *rfs_partuuid(struct rfs *fs, unsigned number);

int rfs_fat_read_file(struct rfs *fs, const char *path, char **data,
		      size_t *len, size_t max);
bool rfs_fat_exists(struct rfs *fs, const char *path);
/* Replace (or create) a file with @data: written aside, renamed over. */
int rfs_fat_replace(struct rfs *fs, const char *path, const void *data,
		    size_t len);
int rfs_fat_remove(struct rfs *fs, const char *path);

#endif
