/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The device tree as QEMU's board needs it: a copy of the image's dtb with
 * the nodes for hardware QEMU does not emulate switched off. The image's
 * own file is never changed.
 */
#ifndef RPIFS_DTB_H
#define RPIFS_DTB_H

#include <stddef.h>

#include "board.h"

#define DTB_NOTES    16
#define DTB_NOTE_MAX 384

struct dtb_notes {
	int count;
	char text[DTB_NOTES][DTB_NOTE_MAX];
};

/*
 * Adjust @in (@len bytes) for @board into a malloc'd blob *@out.
 * @return 0 or -EINVAL (not a device tree), -ENOMEM.
 */
int dtb_adjust(enum board board, const void *in, size_t len, void **out,
	       size_t *out_len, struct dtb_notes *notes);

#endif
