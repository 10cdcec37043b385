// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rpifs resize IMAGE SIZE [--grow-root]: grow the image file, sparse
 * (never shrinking), and optionally its last partition and ext4 file
 * system to the new end (its journal replayed first, when a power cut
 * left one).
 */
#include "cli.h"
#include "../common/log.h"
#include "../common/mounts.h"
#include "../partition/partition.h"

#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "4G", "512MiB", "+1G" (more than now), "1073741824". @return 0 or -1. */
static int parse_size(const char *s, uint64_t now, uint64_t *out)
{
	bool relative = *s == '+';
	char *end;
	double v;
	uint64_t unit = 1;

	if (relative)
		s++;
	v = strtod(s, &end);
	if (end == s || v <= 0)
		return -1;
	switch (*end) {
	case 'k':
	case 'K':
		unit = 1ull << 10;
		end++;
		break;
	case 'm':
	case 'M':
		unit = 1ull << 20;
		end++;
		break;
	case 'g':
	case 'G':
		unit = 1ull << 30;
		end++;
		break;
	case 't':
	case 'T':
		unit = 1ull << 40;
		end++;
		break;
	default:
		break;
	}
	if (unit > 1 && (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0))
		end += strlen(end);
	if (*end || !isfinite(v) || v * (double)unit >= 0x1p62 ||
	    (unit == 1 && v != (double)(uint64_t)v))
		return -1;
	*out = (uint64_t)(v * (double)unit);
	if (relative)
		*out += now;
	return 0;
}

int cli_lock_image(struct part_image *img, const char *image)
{
	struct mount_entry m;
	char err[600], real[PATH_MAX];

	if (img->read_only) {
		rpifs_log(RPIFS_ERR,
			  "%s is read-only: rpifs resize needs to write it",
			  img->path);
		return -1;
	}
	if (part_lock_mount(img, err, sizeof(err)) == 0)
		return 0;
	if (realpath(image, real) && mounts_find(NULL, real, &m))
		rpifs_log(RPIFS_ERR,
			  "%s is mounted at %s: unmount it first (rpifs umount "
			  "%s)",
			  img->path, m.mountpoint, m.mountpoint);
	else
		rpifs_log(RPIFS_ERR, "%s", err);
	return -1;
}

/* Grow the file (and with @grow_root the last partition) to @size. */
static int grow(struct part_image *img, uint64_t size, bool grow_root)
{
	char err[600], a[32], b[32], part_size[32];
	unsigned number;
	uint64_t root_size;

	part_format_size(img->size, a, sizeof(a));
	part_format_size(size, b, sizeof(b));
	if (size < img->size) {
		rpifs_log(
			RPIFS_ERR,
			"%s is %s; rpifs never shrinks an image (asked for %s)",
			img->path, a, b);
		return -1;
	}
	if (grow_root) {
		if (cli_replay_journal(img, part_last(img)))
			return -1;
		if (part_grow_root(img, size, &number, &root_size, err,
				   sizeof(err))) {
			rpifs_log(RPIFS_ERR, "%s", err);
			return -1;
		}
		part_format_size(root_size, part_size, sizeof(part_size));
		printf("%s: %s -> %s; partition %u and its file system: %s\n",
		       img->path, a, b, number, part_size);
		return 0;
	}
	if (part_grow(img, size, err, sizeof(err))) {
		rpifs_log(RPIFS_ERR, "%s", err);
		return -1;
	}
	printf("%s: %s -> %s\n", img->path, a, b);
	return 0;
}

/* QEMU wants a power of two: say what the first boot will do. */
static void pow2_hint(uint64_t size)
{
	uint64_t p2 = part_pow2_ceil(size);
	char a[32], b[32];

	if (p2 == size)
		return;
	part_format_size(size, b, sizeof(b));
	part_format_size(p2, a, sizeof(a));
	printf("%s is not a power of two: the first boot grows the image to %s "
	       "(rpifs resize IMAGE %llu%s now avoids that)\n",
	       b, a, (unsigned long long)(p2 >> (p2 >= 1ull << 30 ? 30 : 20)),
	       p2 >= 1ull << 30 ? "G" : "M");
}

int cli_resize(int argc, char **argv)
{
	const char *image = NULL, *size_arg = NULL;
	struct part_image *img;
	bool grow_root = false;
	char err[600];
	uint64_t size;
	int ret = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--grow-root") == 0)
			grow_root = true;
		else if (!image)
			image = argv[i];
		else if (!size_arg)
			size_arg = argv[i];
		else
			image = NULL, i = argc;
	}
	if (!image || !size_arg) {
		fprintf(stderr,
			"usage: rpifs resize IMAGE SIZE [--grow-root]\n");
		return 2;
	}
	if (part_open(image, 0, &img, err, sizeof(err))) {
		rpifs_log(RPIFS_ERR, "%s", err);
		return 1;
	}
	if (parse_size(size_arg, img->size, &size)) {
		rpifs_log(RPIFS_ERR,
			  "%s: give a size such as 4G, 8GiB, 512M or +1G",
			  size_arg);
		part_close(img);
		return 2;
	}
	if (size % 512) {
		rpifs_log(RPIFS_ERR,
			  "%s: the size must be a multiple of 512 bytes",
			  size_arg);
	} else if (cli_lock_image(img, image) == 0) {
		if (grow(img, size, grow_root) == 0) {
			pow2_hint(size);
			ret = 0;
		}
		part_unlock(img);
	}
	part_close(img);
	return ret;
}
