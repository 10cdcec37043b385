/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A boot plan: everything one boot of the image needs, decided from its
 * boot partition as the Pi firmware would (config.txt for the board) and
 * adjusted for QEMU (the command line and the device tree), with a note
 * for every adjustment. The notes are built here once; the status file and
 * the console log show the same lines.
 */
#ifndef RPIFS_PLAN_H
#define RPIFS_PLAN_H

#include <stddef.h>

#include "../common/buf.h"
#include "cmdline.h"
#include "config.h"

/* The largest kernel, device tree or initramfs a boot loads. */
#define BOOT_BLOB_MAX (256u * 1024 * 1024)

struct boot_plan {
	enum board board;
	struct boot_config cfg;
	char *kernel;
	size_t kernel_len;
	char *dtb_image; /* the device tree as on the image */
	size_t dtb_image_len;
	void *dtb; /* as QEMU's board needs it */
	size_t dtb_len;
	char *initramfs; /* the initramfs files joined; NULL: none */
	size_t initramfs_len;
	char *cmdline_image; /* the command line file as on the image */
	struct cmdline_result cmdline; /* as the kernel gets it */
	struct buf notes; /* what rpifs changed or warns of, a line each */
};

/*
 * Read and adjust what a boot of @board loads. @return 0, or -ENOENT (a
 * selected file is missing), -EINVAL (a bad dtb, a command line too long),
 * -errno, with one sentence in @err.
 */
int boot_plan_make(enum board board, const struct boot_files *files,
		   struct boot_plan *plan, char *err, size_t err_size);
/* Add a note (one line, no newline). */
void boot_plan_note(struct boot_plan *plan, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void boot_plan_free(struct boot_plan *plan);

#endif
