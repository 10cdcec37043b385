/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The emulated boards, named once: what -o machine= takes, what QEMU's
 * -machine takes, what config.txt's filters and the default device tree
 * depend on.
 */
#ifndef RPIFS_BOARD_H
#define RPIFS_BOARD_H

enum board {
	BOARD_RASPI4B,
	BOARD_RASPI3B,
	BOARD_COUNT,
};

/* "raspi4b", "raspi3b": QEMU's machine names, used for ours too. */
const char *board_name(enum board board);
/* @return 0 with *@board, or -EINVAL for a name rpifs does not emulate. */
int board_from_name(const char *name, enum board *board);
/* The names of every board, for messages: "raspi4b or raspi3b". */
const char *board_names(void);

#endif
