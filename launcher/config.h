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

enum board {
	BOARD_RASPI4B,
	BOARD_RASPI3B,
};

/* How the evaluation reaches the boot partition. */
struct config_io {
	void *ctx;
	/*
	 * Read a whole file (path relative to the partition's root) into a
	 * malloc'd, NUL-terminated buffer. @return 0, -ENOENT, or -errno.
	 */
	int (*read)(void *ctx, const char *path, char **data, size_t *len);
	bool (*exists)(void *ctx, const char *path);
};

#define CONFIG_PATH_MAX 256

struct boot_config {
	char kernel[CONFIG_PATH_MAX];	   /* path on the boot partition */
	char device_tree[CONFIG_PATH_MAX];
	char cmdline[CONFIG_PATH_MAX];
	/* Initramfs files to load, concatenated, in order; "" when none. */
	char initramfs[4][CONFIG_PATH_MAX];
	int initramfs_count;
	bool initramfs_auto;		   /* chosen by auto_initramfs=1 */
	char os_prefix[CONFIG_PATH_MAX];   /* as applied ("" if ignored) */
	bool os_prefix_ignored;		   /* set but not viable */
	int arm_64bit;			   /* 0 or 1 */
	bool kernel_explicit;		   /* from kernel= rather than default */
	bool device_tree_explicit;
	bool cmdline_explicit;
	bool found;			   /* config.txt exists */
};

/* The board's name for filters and messages: "raspi4b", "raspi3b". */
const char *board_name(enum board board);

/*
 * Evaluate config.txt (and what it includes) for @board.
 * A missing config.txt gives the defaults. @return 0 or -errno (I/O).
 */
int config_eval(enum board board, const struct config_io *io,
		struct boot_config *out);

#endif
