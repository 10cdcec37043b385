// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rpifs info IMAGE: the partition table, the boot partition and what a
 * boot on each board would load, and the root file system's OS release.
 * Opens the image read-only and changes nothing.
 */
#include "cli.h"
#include "../common/log.h"
#include "../common/spawn.h"
#include "../fat/fat.h"
#include "../partition/partition.h"
#include "../pi/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int info_read(void *ctx, const char *path, size_t max, char **data,
		     size_t *len)
{
	return fat_read_file(ctx, path, data, len, max);
}

static bool info_exists(void *ctx, const char *path)
{
	struct fat_node *node;
	bool file;

	if (fat_lookup_path(ctx, path, &node) != 0)
		return false;
	file = !fat_node_is_dir(node);
	fat_node_put(ctx, node);
	return file;
}

/* What a boot on each board would load, by config.txt. */
static void print_boot_choice(struct fat_vol *vol)
{
	static const enum board boards[] = { BOARD_RASPI4B, BOARD_RASPI3B };
	struct boot_files io = { vol, info_read, info_exists, NULL };

	for (size_t i = 0; i < 2; i++) {
		struct boot_config cfg;

		if (config_eval(boards[i], &io, &cfg) != 0)
			continue;
		printf("%s boots: kernel %s%s, dtb %s%s, cmdline %s%s", board_name(boards[i]),
		       cfg.kernel, info_exists(vol, cfg.kernel) ? "" : " (missing)",
		       cfg.device_tree,
		       info_exists(vol, cfg.device_tree) ? "" : " (missing)",
		       cfg.cmdline, info_exists(vol, cfg.cmdline) ? "" : " (missing)");
		for (int j = 0; j < cfg.initramfs_count; j++)
			printf(", initramfs %s", cfg.initramfs[j]);
		printf("\n");
	}
}

static void print_fat_info(struct part_image *img)
{
	static const char *const files[] = {
		"config.txt",	   "cmdline.txt",	  "kernel8.img",
		"kernel_2712.img", "kernel7l.img",	  "kernel7.img",
		"kernel.img",	   "initramfs8",	  "bcm2711-rpi-4-b.dtb",
		"bcm2710-rpi-3-b.dtb", "bcm2837-rpi-3-b.dtb", "userconf.txt",
		"ssh",		   "user-data",
	};
	const struct part_entry *boot = part_boot(img);
	struct fat_window win = { img->fd, boot->start, boot->size };
	struct fat_vol *vol;
	struct fat_info info;
	char err[256], free_s[32], total_s[32];
	bool any = false;

	if (fat_mount(&vol, &win, FAT_MOUNT_RDONLY, err, sizeof(err))) {
		printf("boot partition: %u, damaged: %s\n", boot->number, err);
		return;
	}
	fat_get_info(vol, &info);
	part_format_size((uint64_t)info.free_clusters * info.cluster_size,
			 free_s, sizeof(free_s));
	part_format_size((uint64_t)info.cluster_count * info.cluster_size,
			 total_s, sizeof(total_s));
	printf("boot partition: %u, FAT%d, %u-byte clusters, %s free of %s%s\n",
	       boot->number, info.type, info.cluster_size, free_s, total_s,
	       info.was_dirty ? " (not cleanly unmounted)" : "");
	printf("boot files:");
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct fat_node *node;

		if (fat_lookup_path(vol, files[i], &node) == 0) {
			printf(" %s", fat_node_name(node));
			fat_node_put(vol, node);
			any = true;
		}
	}
	printf("%s\n", any ? "" : " none of the usual ones");
	print_boot_choice(vol);
	fat_unmount(vol);
}

/*
 * PRETTY_NAME from the root file system's os-release, read in place with
 * e2fsprogs' debugfs (it takes IMAGE?offset=N). "" when unknown.
 */
static void os_release(const struct part_image *img, char *out, size_t size)
{
	static const char *const paths[] = { "/usr/lib/os-release",
					     "/etc/os-release" };
	const struct part_entry *root = NULL;
	char device[4096 + 64], text[4096];

	out[0] = '\0';
	for (unsigned i = 0; i < img->count && !root; i++)
		if (strncmp(img->parts[i].fstype, "ext", 3) == 0)
			root = &img->parts[i];
	if (!root)
		return;
	snprintf(device, sizeof(device), "%s?offset=%llu", img->path,
		 (unsigned long long)root->start);
	for (size_t i = 0; i < 2 && !out[0]; i++) {
		char request[64];
		char *argv[] = { (char *)"debugfs", (char *)"-R", request, device, NULL };
		struct spawn s = {
			.argv = argv,
			.in = SPAWN_NULL,
			.out = SPAWN_CAPTURE,
			.err = SPAWN_NULL,
			.buf = text,
			.size = sizeof(text),
		};
		char *p;

		snprintf(request, sizeof(request), "cat %s", paths[i]);
		spawn_run(&s); /* it says nothing of a missing file */
		p = strstr(text, "PRETTY_NAME=");
		if (p) {
			p += strlen("PRETTY_NAME=");
			p += *p == '"';
			snprintf(out, size, "%.*s", (int)strcspn(p, "\"\n"), p);
		}
	}
}

int cli_info(int argc, char **argv)
{
	struct part_image *img;
	char err[512], size[32], start[32];

	if (argc != 2) {
		fprintf(stderr, "usage: rpifs info IMAGE\n");
		return 2;
	}
	if (part_open(argv[1], PART_OPEN_RDONLY | PART_OPEN_LENIENT, &img, err,
		      sizeof(err))) {
		rpifs_log(RPIFS_ERR, "%s", err);
		return 1;
	}
	part_format_size(img->size, size, sizeof(size));
	printf("image: %s (%s)\n", img->path, size);
	printf("partition table: %s, disk identifier %s\n", img->table,
	       img->disk_id);
	printf("%-3s %-10s %-10s %-22s %-38s %-6s %s\n", "#", "start", "size",
	       "type", "PARTUUID", "fs", "label");
	for (unsigned i = 0; i < img->count; i++) {
		const struct part_entry *e = &img->parts[i];
		char type[64];

		part_format_size(e->start, start, sizeof(start));
		part_format_size(e->size, size, sizeof(size));
		snprintf(type, sizeof(type), "%s%s%s",
			 strncmp(e->type, "0x", 2) == 0 ? e->type + 2 : "",
			 strncmp(e->type, "0x", 2) == 0 ? " " : "",
			 e->type_name[0] ? e->type_name : e->type);
		printf("%-3u %-10s %-10s %-22s %-38s %-6s %s%s\n", e->number,
		       start, size, type, e->partuuid,
		       e->fstype[0] ? e->fstype : "-", e->label,
		       e->past_end ? "  (past the end of the file!)" : "");
	}
	if (img->boot < 0) {
		printf("boot partition: none (no FAT partition)\n");
	} else {
		print_fat_info(img);
	}
	{
		char release[256];

		os_release(img, release, sizeof(release));
		printf("os release: %s\n",
		       release[0] ? release : "unknown (no ext4 root, or no debugfs)");
	}
	part_close(img);
	return 0;
}
