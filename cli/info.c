// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rpifs info IMAGE: the partition table, the boot partition and what a
 * boot on each board would load, the root file system's state and its OS
 * release.
 * Opens the image read-only and changes nothing.
 */
#include "cli.h"
#include "../common/log.h"
#include "../ext4/ext4.h"
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
	static const enum board boards[] = {BOARD_RASPI4B, BOARD_RASPI3B};
	struct boot_files io = {vol, info_read, info_exists, NULL};

	for (size_t i = 0; i < 2; i++) {
		struct boot_config cfg;

		if (config_eval(boards[i], &io, &cfg) != 0)
			continue;
		printf("%s boots: kernel %s%s, dtb %s%s, cmdline %s%s",
		       board_name(boards[i]), cfg.kernel,
		       info_exists(vol, cfg.kernel) ? "" : " (missing)",
		       cfg.device_tree,
		       info_exists(vol, cfg.device_tree) ? "" : " (missing)",
		       cfg.cmdline,
		       info_exists(vol, cfg.cmdline) ? "" : " (missing)");
		for (int j = 0; j < cfg.initramfs_count; j++)
			printf(", initramfs %s", cfg.initramfs[j]);
		printf("\n");
	}
}

static void print_fat_info(struct part_image *img)
{
	static const char *const files[] = {
		"config.txt",
		"cmdline.txt",
		"kernel8.img",
		"kernel_2712.img",
		"kernel7l.img",
		"kernel7.img",
		"kernel.img",
		"initramfs8",
		"bcm2711-rpi-4-b.dtb",
		"bcm2710-rpi-3-b.dtb",
		"bcm2837-rpi-3-b.dtb",
		"userconf.txt",
		"ssh",
		"user-data",
	};
	const struct part_entry *boot = part_boot(img);
	struct fat_window win = {img->fd, boot->start, boot->size};
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

/* PRETTY_NAME from the root file system's os-release ("" when none). */
static void os_release(struct ext4_vol *vol, char *out, size_t size)
{
	static const char *const paths[] = {"/etc/os-release",
					    "/usr/lib/os-release"};
	char text[4096], *p;
	uint64_t ino;
	ssize_t n = -1;

	out[0] = '\0';
	for (size_t i = 0; i < 2 && n < 0; i++)
		if (ext4_resolve(vol, paths[i], &ino) == 0)
			n = ext4_read(vol, ino, text, sizeof(text) - 1, 0);
	if (n < 0)
		return;
	text[n] = '\0';
	p = strstr(text, "PRETTY_NAME=");
	if (p) {
		p += strlen("PRETTY_NAME=");
		p += *p == '"';
		snprintf(out, size, "%.*s", (int)strcspn(p, "\"\n"), p);
	}
}

const struct part_entry *cli_root_partition(struct part_image *img)
{
	const struct part_entry *boot = part_boot(img);
	struct fat_window win;
	struct boot_config cfg;
	struct fat_vol *vol;
	struct boot_files io;
	char *cmdline = NULL, err[256];
	const struct part_entry *root;
	size_t len;

	if (boot) {
		win = (struct fat_window){img->fd, boot->start, boot->size};
		if (fat_mount(&vol, &win, FAT_MOUNT_RDONLY, err, sizeof(err)) ==
		    0) {
			io = (struct boot_files){vol, info_read, info_exists,
						 NULL};
			if (config_eval(BOARD_RASPI4B, &io, &cfg) == 0)
				fat_read_file(vol, cfg.cmdline, &cmdline, &len,
					      4096);
			fat_unmount(vol);
		}
	}
	root = part_root(img, cmdline);
	free(cmdline);
	return root;
}

/* The state of a root file system, and what to do about it. */
static const char *root_state(const struct ext4_info *i)
{
	if (i->needs_recovery)
		return "needs journal recovery (a guest lost power)";
	if (i->errors)
		return "marked with errors";
	if (i->was_not_clean)
		return "not cleanly unmounted";
	return "clean";
}

static void print_root_info(struct part_image *img)
{
	const struct part_entry *root = cli_root_partition(img);
	struct ext4_window win;
	struct ext4_info info;
	struct ext4_vol *vol;
	char err[256], release[256], used[32], total[32];

	if (!root || strncmp(root->fstype, "ext", 3) != 0) {
		printf("root file system: none rpifs can read%s\n",
		       root ? " (not ext2/3/4)" : "");
		printf("os release: unknown\n");
		return;
	}
	win = (struct ext4_window){img->fd, root->start, root->size};
	if (ext4_mount(&vol, &win, EXT4_MOUNT_RDONLY, err, sizeof(err))) {
		printf("root file system: partition %u, damaged: %s\n",
		       root->number, err);
		return;
	}
	ext4_get_info(vol, &info);
	part_format_size((info.blocks - info.free_blocks) * info.block_size,
			 used, sizeof(used));
	part_format_size(info.blocks * info.block_size, total, sizeof(total));
	printf("root file system: partition %u, %s \"%s\", %s used of %s, %s\n",
	       root->number, info.type, info.label, used, total,
	       root_state(&info));
	if (info.needs_recovery || info.errors || info.was_not_clean)
		printf("root file system check: rpifs fsck '%s' (replays the "
		       "journal, then e2fsck -fy)\n",
		       img->path);
	os_release(vol, release, sizeof(release));
	printf("os release: %s\n",
	       release[0] ? release : "unknown (no os-release)");
	ext4_unmount(vol);
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
	print_root_info(img);
	part_close(img);
	return 0;
}
