// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz the partition probe: the input is the start of a disk image (MBR or
 * GPT and whatever follows), the image file is that plus zeros up to 8 MiB
 * or the input's length. part_open() runs as rpifs mount (quick probe) and
 * as rpifs info (lenient) would; where a boot partition is found, its FAT
 * volume is mounted read-only and described.
 */
#include "fuzz.h"

#include "../../fat/fat.h"
#include "../../partition/partition.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IMAGE_SIZE (8u << 20)

static void check_table(const struct part_image *img)
{
	for (unsigned i = 0; i < img->count; i++) {
		const struct part_entry *e = &img->parts[i];

		/* Every string is terminated and every entry is described
		   truthfully relative to the file. */
		if (strnlen(e->type, sizeof(e->type)) == sizeof(e->type) ||
		    strnlen(e->fstype, sizeof(e->fstype)) ==
			    sizeof(e->fstype) ||
		    strnlen(e->label, sizeof(e->label)) == sizeof(e->label))
			abort();
		if (!e->past_end && e->start + e->size > img->size)
			abort();
	}
}

static void try_open(const char *path, unsigned flags)
{
	struct part_image *img = NULL;
	char err[512];
	int ret = part_open(path, flags, &img, err, sizeof(err));

	if (ret) {
		/* One sentence, one line. */
		if (!err[0] || strchr(err, '\n'))
			abort();
		return;
	}
	check_table(img);
	const struct part_entry *boot = part_boot(img);

	if (boot && !boot->past_end) {
		struct fat_window win = {img->fd, boot->start, boot->size};
		struct fat_vol *vol;

		if (fat_mount(&vol, &win, FAT_MOUNT_RDONLY, err, sizeof(err)) ==
		    0) {
			struct fat_info info;

			fat_get_info(vol, &info);
			fat_unmount(vol);
		}
	}
	part_close(img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd = fuzz_memfd(data, size, IMAGE_SIZE);

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	try_open(path, PART_OPEN_RDONLY | PART_OPEN_QUICK);
	try_open(path, PART_OPEN_RDONLY | PART_OPEN_LENIENT);
	close(fd);
	return 0;
}
