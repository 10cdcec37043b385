// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fatwalk PARTITION | fatwalk -: what rpifs's FAT layer reads in a FAT
 * partition file, for the crash-state checker (tests/crash/check.py). It
 * mounts read-only (FAT_MOUNT_RDONLY), walks every directory and reads
 * every file whole, and prints one line per entry, tab-separated, the
 * path last:
 *
 *   V TYPE CLUSTER_SIZE DATA_OFFSET CLUSTER_COUNT FAT_OFFSET FAT_BYTES
 *   D SHORT_PATH PATH                      a directory that loads
 *   X ERRNO SHORT_PATH PATH                a directory that does not
 *   F SIZE FIRST_CLUSTER ERRNO CRC32 RUNS SHORT_PATH PATH
 *   M ERRNO MESSAGE                        the mount failed
 *   END
 *
 * SHORT_PATH is the path of 8.3 names, as fsck.fat prints it; CRC32 (of
 * the bytes fat_read() returned, "-" when it failed) is zlib's; RUNS lists
 * where the file's bytes are in the partition, "OFFSET+LENGTH,..." ("-"
 * when unknown). With "-", partition paths are read from standard input,
 * one a line, and each listing ends with END, so one process serves many
 * states.
 */
#include "../../fat/fat_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint32_t crc_table[256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc_update(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static uint8_t buf[1 << 16];

static void walk_file(struct fat_vol *vol, struct fat_node *node,
		      const char *spath, const char *path)
{
	struct fat_stat st;
	uint32_t crc = 0;
	uint64_t off = 0;
	int err = 0;
	char *runs = NULL;
	size_t runs_len = 0;
	FILE *r = open_memstream(&runs, &runs_len);

	fat_node_stat(vol, node, &st);
	while (off < st.size) {
		ssize_t n = fat_read(vol, node, buf, sizeof(buf), off);

		if (n <= 0) {
			err = n < 0 ? (int)-n : EIO;
			break;
		}
		crc = crc_update(crc, buf, (size_t)n);
		off += (uint64_t)n;
	}
	for (uint64_t at = 0; !err && r && at < st.size;) {
		uint64_t pos;
		size_t len;

		if (fat_map(vol, node, at, st.size - at, &pos, &len) || !len)
			break;
		fprintf(r, "%s%llu+%zu", at ? "," : "", (unsigned long long)pos,
			len);
		at += len;
	}
	if (r)
		fclose(r);
	if (err)
		printf("F\t%u\t%u\t%d\t-\t-\t%s\t%s\n", st.size,
		       st.first_cluster, err, spath, path);
	else
		printf("F\t%u\t%u\t0\t%08x\t%s\t%s\t%s\n", st.size,
		       st.first_cluster, crc, runs && *runs ? runs : "-", spath,
		       path);
	free(runs);
}

static void walk_dir(struct fat_vol *vol, struct fat_node *dir,
		     const char *spath, const char *path)
{
	uint64_t cookie = 0;
	struct fat_node *child;
	int ret;

	while ((ret = fat_readdir(vol, dir, &cookie, &child)) == 1) {
		char short_name[40];
		char *cpath, *cspath;

		fat_sfn_format(child->sfn, 0, short_name, sizeof(short_name));
		if (asprintf(&cpath, "%s/%s", path, fat_node_name(child)) < 0)
			exit(2);
		if (asprintf(&cspath, "%s/%s", spath, short_name) < 0)
			exit(2);
		fat_node_get(child);
		if (fat_node_is_dir(child)) {
			ret = fat_dir_load(vol, child);
			if (ret) {
				printf("X\t%d\t%s\t%s\n", -ret, cspath, cpath);
			} else {
				printf("D\t%s\t%s\n", cspath, cpath);
				walk_dir(vol, child, cspath, cpath);
			}
		} else {
			walk_file(vol, child, cspath, cpath);
		}
		fat_node_put(vol, child);
		free(cpath);
		free(cspath);
	}
	if (ret < 0)
		printf("X\t%d\t%s\t%s\n", -ret, spath[0] ? spath : "/",
		       path[0] ? path : "/");
}

static void walk(const char *image)
{
	struct fat_window win;
	struct fat_vol *vol;
	struct stat st;
	char err[256];
	int ret, fd = open(image, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0) {
		printf("M\t%d\tcannot open %s\n", errno, image);
		goto out;
	}
	win = (struct fat_window){
		.fd = fd, .offset = 0, .size = (uint64_t)st.st_size};
	ret = fat_mount(&vol, &win, FAT_MOUNT_RDONLY, err, sizeof(err));
	if (ret) {
		printf("M\t%d\t%s\n", -ret, err);
		goto out;
	}
	printf("V\t%d\t%u\t%llu\t%u\t%llu\t%llu\n", vol->bpb.type,
	       vol->bpb.cluster_size, (unsigned long long)vol->bpb.data_offset,
	       vol->bpb.cluster_count, (unsigned long long)vol->bpb.fat_offset,
	       (unsigned long long)vol->bpb.fat_bytes);
	walk_dir(vol, fat_root(vol), "", "");
	fat_unmount(vol);
out:
	if (fd >= 0)
		close(fd);
	printf("END\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	char line[4096];

	if (argc != 2) {
		fprintf(stderr, "usage: fatwalk PARTITION | fatwalk -\n");
		return 2;
	}
	crc_init();
	if (strcmp(argv[1], "-") != 0) {
		walk(argv[1]);
		return 0;
	}
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0])
			walk(line);
	}
	return 0;
}
