// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rpifs runs [--clean]: what rpifs keeps of past boots, per image (its
 * state folder: run folders, the daemon's log) and the kernels shared
 * between them; --clean removes the folders of images that are no longer
 * there and the shared files nothing uses. A mount keeps the newest ten
 * runs of its image and does the same cleaning by itself.
 */
#include "cli.h"
#include "../launcher/launcher.h"
#include "../partition/partition.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void said_removed(const char *state_dir, const char *image)
{
	printf("removed %s (its image %s is gone)\n", state_dir, image);
}

static void show(const struct runs_entry *e)
{
	char size[32];

	part_format_size(e->bytes, size, sizeof(size));
	printf("%s%s\n",
	       e->image[0] ? e->image : "(an image rpifs did not note)",
	       e->gone ? "  [gone]" : "");
	printf("  %u run%s, %s, newest %s: %s\n", e->runs,
	       e->runs == 1 ? "" : "s", size, e->newest[0] ? e->newest : "none",
	       e->state_dir);
}

int cli_runs(int argc, char **argv)
{
	struct runs_entry *list;
	uint64_t blobs, total = 0, freed;
	char base[4096], size[32];
	bool clean = argc == 2 && strcmp(argv[1], "--clean") == 0;
	size_t n;

	if (argc > 2 || (argc == 2 && !clean)) {
		fprintf(stderr, "usage: rpifs runs [--clean]\n");
		return 2;
	}
	if (clean) {
		freed = runs_clean(said_removed);
		part_format_size(freed, size, sizeof(size));
		printf("freed %s\n", size);
		return 0;
	}
	runs_base(base, sizeof(base));
	runs_scan(&list, &n, &blobs);
	for (size_t i = 0; i < n; i++) {
		show(&list[i]);
		total += list[i].bytes;
	}
	free(list);
	part_format_size(blobs, size, sizeof(size));
	printf("shared kernels and initramfs: %s in %s/blobs\n", size, base);
	part_format_size(total + blobs, size, sizeof(size));
	printf("total: %s\n", size);
	return 0;
}
