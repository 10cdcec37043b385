// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Board names: one table.
 */
#include "board.h"

#include <errno.h>
#include <string.h>

static const char *const names[BOARD_COUNT] = {
	[BOARD_RASPI4B] = "raspi4b",
	[BOARD_RASPI3B] = "raspi3b",
};

const char *board_name(enum board board)
{
	return board < BOARD_COUNT ? names[board] : "?";
}

int board_from_name(const char *name, enum board *board)
{
	for (int b = 0; b < BOARD_COUNT; b++) {
		if (strcmp(name, names[b]) == 0) {
			*board = (enum board)b;
			return 0;
		}
	}
	return -EINVAL;
}

const char *board_names(void)
{
	return "raspi4b (the default) or raspi3b";
}
