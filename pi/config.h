/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config.txt read as the Raspberry Pi firmware reads it, for one emulated
 * board: conditional sections, include, and the settings that decide what
 * a boot loads (kernel, device tree, command line file, initramfs).
 * Pure: the boot partition is reached through callbacks.
 */
#ifndef RPIFS_CONFIG_H
#define RPIFS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "board.h"

/* How the boot rules reach the boot partition and the partition table. */
struct boot_files {
	void *ctx;
	/*
	 * Read a whole file (path relative to the partition's root), at most
	 * @max bytes, into a malloc'd, NUL-terminated buffer.
	 * @return 0, -ENOENT, -EISDIR, -EFBIG, or -errno.
	 */
	int (*read)(void *ctx, const char *path, size_t max, char **data,
		    size_t *len);
	/* Whether a file (not a directory) is there. */
	bool (*exists)(void *ctx, const char *path);
	/* The PARTUUID of partition @number (1-based), or NULL. */
	const char *(*partuuid)(void *ctx, unsigned number);
};

/* The largest config.txt (and included file) read. */
#define CONFIG_FILE_MAX (64 * 1024)

#define CONFIG_PATH_MAX 256

struct boot_config {
	char kernel[CONFIG_PATH_MAX]; /* path on the boot partition */
	char device_tree[CONFIG_PATH_MAX];
	char cmdline[CONFIG_PATH_MAX];
	/* Initramfs files to load, concatenated, in order; "" when none. */
	char initramfs[4][CONFIG_PATH_MAX];
	int initramfs_count;
	bool initramfs_auto;		 /* chosen by auto_initramfs=1 */
	char os_prefix[CONFIG_PATH_MAX]; /* as applied ("" if ignored) */
	bool os_prefix_ignored;		 /* set but not viable */
	int arm_64bit;			 /* 0 or 1 */
	bool kernel_explicit;		 /* from kernel= rather than default */
	bool device_tree_explicit;
	bool cmdline_explicit;
	bool found; /* config.txt exists */
};

/*
 * Evaluate config.txt (and what it includes) for @board.
 * A missing config.txt gives the defaults. @return 0 or -errno (I/O).
 */
int config_eval(enum board board, const struct boot_files *io,
		struct boot_config *out);

#endif
