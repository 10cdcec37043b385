/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel command line as rpifs boots it: the image's line with the
 * emulation adjustments (console on the PL011, root by PARTUUID, rootwait),
 * each one described for the status file.
 */
#ifndef RPIFS_CMDLINE_H
#define RPIFS_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

/* The kernel's limit on the command line (COMMAND_LINE_SIZE on arm64). */
#define CMDLINE_MAX 2048

#define CMDLINE_NOTES	 8
#define CMDLINE_NOTE_MAX 256

struct cmdline_result {
	char line[CMDLINE_MAX + 256];
	/* The image's line names no root file system (an empty cmdline.txt):
	   the kernel will stop at "VFS: Unable to mount root fs". */
	bool no_root;
	int note_count;
	char notes[CMDLINE_NOTES][CMDLINE_NOTE_MAX];
};

/*
 * Adjust @in for QEMU. @partuuid maps a partition number (1-based) to its
 * PARTUUID, or NULL when there is none. @return 0, or -E2BIG when the
 * result is longer than the kernel takes.
 */
int cmdline_adjust(const char *in,
		   const char *(*partuuid)(void *ctx, unsigned number),
		   void *ctx, struct cmdline_result *out);

/* What a line without root= lacks, for the status and the console log. */
#define CMDLINE_NO_ROOT                                                        \
	"the command line has no root=: the guest's kernel will not find its " \
	"root file system"

#endif
