// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The FAT read path against images built by mkfs.fat and mtools (the
 * fixtures in $RPIFS_FIXTURES): every file of the source tree is found by
 * path, read back byte for byte, with its size and mtime; listings match;
 * then damaged copies (loops, chains out of range or into free clusters,
 * chains shorter than the size, a directory that is its own ancestor, a bad
 * long-name checksum) give -EUCLEAN and a read-only volume, never a crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../fat/fat_internal.h"
#include "../../partition/partition.h"

static const char *fixtures;

static char *fixture_path(const char *name)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/%s", fixtures, name);
	return path;
}

struct mounted {
	int fd;
	struct fat_vol *vol;
	char copy[4096];
};

/* Mount a partition file (a FAT volume at offset 0). */
static int mount_part(struct mounted *m, const char *path, unsigned flags)
{
	struct stat st;
	struct fat_window win;
	char err[256];
	int ret;

	m->fd = open(path, (flags & FAT_MOUNT_RDONLY) ? O_RDONLY : O_RDWR);
	assert_true(m->fd >= 0);
	assert_int_equal(fstat(m->fd, &st), 0);
	win = (struct fat_window){m->fd, 0, (uint64_t)st.st_size};
	ret = fat_mount(&m->vol, &win, flags, err, sizeof(err));
	if (ret)
		close(m->fd);
	return ret;
}

static void unmount_part(struct mounted *m)
{
	fat_unmount(m->vol);
	close(m->fd);
	if (m->copy[0])
		unlink(m->copy);
}

/* A private copy of a fixture's partition, to damage. */
static void copy_part(struct mounted *m, const char *name)
{
	char cmd[8300];

	snprintf(m->copy, sizeof(m->copy), "%s/damaged-%d-%s.p1",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", getpid(), name);
	snprintf(cmd, sizeof(cmd), "cp --sparse=always '%s' '%s'",
		 fixture_path(name), m->copy);
	assert_int_equal(system(cmd), 0);
}

static void read_all(struct fat_vol *vol, struct fat_node *node, char **data,
		     size_t *len)
{
	struct fat_stat st;
	ssize_t n;

	fat_node_stat(vol, node, &st);
	*data = malloc(st.size + 1);
	assert_non_null(*data);
	n = fat_read(vol, node, *data, st.size + 1, 0);
	assert_int_equal(n, st.size);
	*len = (size_t)n;
}

/* Compare the FAT tree under @path with the host tree @host, recursively. */
static void compare_tree(struct fat_vol *vol, const char *host,
			 const char *path, int *files)
{
	DIR *d = opendir(host);
	struct dirent *de;
	struct fat_node *dir;
	uint64_t cookie = 0;
	struct fat_node *child;
	int host_count = 0, fat_count = 0;

	assert_non_null(d);
	assert_int_equal(fat_lookup_path(vol, path, &dir), 0);
	while ((de = readdir(d))) {
		char hp[4096], fp[4096];
		struct stat hst;
		struct fat_node *node;
		struct fat_stat fst;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		host_count++;
		snprintf(hp, sizeof(hp), "%s/%s", host, de->d_name);
		snprintf(fp, sizeof(fp), "%s/%s", path, de->d_name);
		assert_int_equal(stat(hp, &hst), 0);
		if (fat_lookup_path(vol, fp, &node) != 0)
			fail_msg("not found on the FAT: %s", fp);
		assert_string_equal(fat_node_name(node), de->d_name);
		fat_node_stat(vol, node, &fst);
		if (S_ISDIR(hst.st_mode)) {
			assert_true(fst.is_dir);
			compare_tree(vol, hp, fp, files);
		} else {
			char *data, *want;
			size_t len;
			FILE *f = fopen(hp, "rb");

			assert_false(fst.is_dir);
			assert_int_equal(fst.size, hst.st_size);
			/* mcopy -m kept the even-second mtimes. */
			if (fst.mtime.tv_sec != hst.st_mtime)
				fail_msg("%s: mtime %ld, want %ld", fp,
					 (long)fst.mtime.tv_sec,
					 (long)hst.st_mtime);
			read_all(vol, node, &data, &len);
			want = malloc(len + 1);
			assert_int_equal(fread(want, 1, len + 1, f), len);
			fclose(f);
			assert_memory_equal(data, want, len);
			free(data);
			free(want);
			(*files)++;
		}
		fat_node_put(vol, node);
	}
	closedir(d);
	while (fat_readdir(vol, dir, &cookie, &child) == 1)
		fat_count++;
	assert_int_equal(fat_count, host_count);
	fat_node_put(vol, dir);
}

static void check_fixture(const char *name, enum fat_type type,
			  uint32_t cluster_size)
{
	struct mounted m = {0};
	struct fat_info info;
	uint32_t counted;
	char part[256], tree[4096];
	int files = 0;

	snprintf(part, sizeof(part), "%s.p1", name);
	snprintf(tree, sizeof(tree), "%s/%s.tree", fixtures, name);
	assert_int_equal(mount_part(&m, fixture_path(part), FAT_MOUNT_RDONLY),
			 0);
	assert_int_equal(fat_get_info(m.vol, &info), 0);
	assert_int_equal(info.type, type);
	assert_int_equal(info.cluster_size, cluster_size);
	assert_string_equal(info.label, "BOOTFS");
	assert_int_equal(info.volume_id, 0x5eedc0de);
	assert_int_equal(fat_count_free(m.vol, &counted), 0);
	assert_int_equal(info.free_clusters, counted);
	compare_tree(m.vol, tree, "", &files);
	assert_true(files > 40);
	assert_true(fat_is_read_only(m.vol));
	unmount_part(&m);
}

static void test_fixtures(void **state)
{
	(void)state;
	check_fixture("pios32", FAT32, 4096);
	check_fixture("fat32-512", FAT32, 512);
	check_fixture("fat16", FAT16, 2048);
	check_fixture("fat12", FAT12, 4096);
	check_fixture("gpt", FAT32, 512);
}

static void test_lookup_rules(void **state)
{
	struct mounted m = {0};
	struct fat_node *a, *b;

	(void)state;
	assert_int_equal(
		mount_part(&m, fixture_path("fat16.p1"), FAT_MOUNT_RDONLY), 0);
	/* Case-insensitive; listing keeps the stored case. */
	assert_int_equal(fat_lookup_path(m.vol, "CONFIG.TXT", &a), 0);
	assert_string_equal(fat_node_name(a), "config.txt");
	assert_int_equal(fat_lookup_path(m.vol, "/Config.Txt", &b), 0);
	assert_ptr_equal(a, b);
	fat_node_put(m.vol, b);
	/* A long name's 8.3 alias finds the same file. */
	assert_int_equal(fat_lookup_path(m.vol, "LONGFI~1.TXT", &b), 0);
	assert_string_equal(fat_node_name(b), "Long File Name With Spaces.txt");
	fat_node_put(m.vol, b);
	assert_int_equal(fat_lookup_path(m.vol, "deep/a/../a/b/./c", &b), 0);
	assert_string_equal(fat_node_name(b), "c");
	fat_node_put(m.vol, b);
	assert_int_equal(fat_lookup_path(m.vol, "nope", &b), -ENOENT);
	assert_int_equal(fat_lookup_path(m.vol, "config.txt/x", &b), -ENOTDIR);
	/* Reads past the end give 0, inside give the tail. */
	{
		char buf[16];

		assert_int_equal(fat_read(m.vol, a, buf, sizeof(buf), 100000),
				 0);
		assert_int_equal(fat_read(m.vol, a, buf, sizeof(buf), 290), 3);
	}
	fat_node_put(m.vol, a);
	unmount_part(&m);
}

/* The first cluster of @path, and where FAT entry @cluster lives. */
static uint32_t first_cluster(struct fat_vol *vol, const char *path)
{
	struct fat_node *node;
	uint32_t c;

	assert_int_equal(fat_lookup_path(vol, path, &node), 0);
	c = node->first_cluster;
	fat_node_put(vol, node);
	return c;
}

static void poke_fat(struct mounted *m, uint32_t cluster, uint32_t value)
{
	const struct fat_bpb *b = &m->vol->bpb;

	for (uint32_t copy = 0; copy < b->fat_count; copy++) {
		off_t off = (off_t)(b->fat_offset + (uint64_t)copy *
							    b->fat_sectors *
							    b->sector_size);
		uint8_t v[4];

		if (b->type == FAT32) {
			off += (off_t)cluster * 4;
			store_le32(v, value);
			assert_int_equal(pwrite(m->fd, v, 4, off), 4);
		} else if (b->type == FAT16) {
			off += (off_t)cluster * 2;
			store_le16(v, (uint16_t)value);
			assert_int_equal(pwrite(m->fd, v, 2, off), 2);
		} else {
			fail_msg("FAT12 poking is not needed here");
		}
	}
}

/* Damage a copy, remount it, read @path: -EUCLEAN and a read-only volume. */
static void expect_damage(const char *fixture, const char *path,
			  void (*damage)(struct mounted *m, uint32_t first))
{
	struct mounted m = {0};
	struct fat_node *node, *other;
	uint32_t first;
	char buf[8192];
	ssize_t n = 0;
	int ret;

	copy_part(&m, fixture);
	assert_int_equal(mount_part(&m, m.copy, 0), 0);
	first = first_cluster(m.vol, path);
	damage(&m, first);
	fat_unmount(m.vol);
	close(m.fd);

	assert_int_equal(mount_part(&m, m.copy, 0), 0);
	assert_false(fat_is_read_only(m.vol));
	ret = fat_lookup_path(m.vol, path, &node);
	if (ret == 0) {
		for (uint64_t off = 0; n >= 0; off += (uint64_t)n) {
			n = fat_read(m.vol, node, buf, sizeof(buf), off);
			if (n == 0)
				break;
		}
		fat_node_put(m.vol, node);
		assert_int_equal(n, -EUCLEAN);
	} else {
		assert_int_equal(ret, -EUCLEAN);
	}
	assert_true(fat_is_read_only(m.vol));
	/* The rest of the volume still reads. */
	assert_int_equal(fat_lookup_path(m.vol, "cmdline.txt", &other), 0);
	assert_true(fat_read(m.vol, other, buf, sizeof(buf), 0) > 0);
	fat_node_put(m.vol, other);
	unmount_part(&m);
}

static void loop_to_self(struct mounted *m, uint32_t first)
{
	poke_fat(m, first + 3, first + 1);
}

static void out_of_range(struct mounted *m, uint32_t first)
{
	poke_fat(m, first + 2, m->vol->bpb.cluster_count + 100);
}

static void into_free(struct mounted *m, uint32_t first)
{
	/* Point into a cluster that is free (the end of the volume). */
	poke_fat(m, first + 1, m->vol->bpb.cluster_count);
}

static void cut_short(struct mounted *m, uint32_t first)
{
	poke_fat(m, first + 1, 0x0ffffff8);
}

static void test_damage(void **state)
{
	(void)state;
	expect_damage("fat32-512.p1", "kernel8.img", loop_to_self);
	expect_damage("fat32-512.p1", "kernel8.img", out_of_range);
	expect_damage("fat32-512.p1", "kernel8.img", into_free);
	expect_damage("fat32-512.p1", "kernel8.img", cut_short);
	expect_damage("fat16.p1", "start4.elf", loop_to_self);
	expect_damage("fat16.p1", "start4.elf", out_of_range);
}

/* Find the 8.3 slot of @name (short form) in a loaded directory's bytes. */
static uint32_t slot_of(struct fat_node *dir, const char *sfn)
{
	for (uint32_t s = 0; s < dir->dir->slots; s++)
		if (memcmp(dir->dir->raw + s * 32, sfn, 11) == 0)
			return s;
	fail_msg("no entry %s", sfn);
	return 0;
}

static void test_dir_is_own_ancestor(void **state)
{
	struct mounted m = {0};
	struct fat_node *deep, *node;
	uint32_t slot, deep_cluster;
	uint8_t v[2];

	(void)state;
	copy_part(&m, "fat32-512.p1");
	assert_int_equal(mount_part(&m, m.copy, 0), 0);
	assert_int_equal(fat_lookup_path(m.vol, "deep/a", &node), 0);
	fat_node_put(m.vol, node);
	assert_int_equal(fat_lookup_path(m.vol, "deep", &deep), 0);
	deep_cluster = deep->first_cluster;
	/* deep/a now starts where deep does. */
	slot = slot_of(deep, "A          ");
	store_le16(v, (uint16_t)deep_cluster);
	assert_int_equal(
		pwrite(m.fd, v, 2,
		       (off_t)(fat_dir_slot_offset(m.vol, deep, slot) + 26)),
		2);
	store_le16(v, (uint16_t)(deep_cluster >> 16));
	assert_int_equal(
		pwrite(m.fd, v, 2,
		       (off_t)(fat_dir_slot_offset(m.vol, deep, slot) + 20)),
		2);
	fat_node_put(m.vol, deep);
	fat_unmount(m.vol);
	close(m.fd);

	assert_int_equal(mount_part(&m, m.copy, 0), 0);
	assert_int_equal(fat_lookup_path(m.vol, "deep/a/b", &node), -EUCLEAN);
	assert_true(fat_is_read_only(m.vol));
	unmount_part(&m);
}

static void test_bad_lfn_checksum(void **state)
{
	struct mounted m = {0};
	struct fat_node *root, *node;
	uint32_t slot;
	uint8_t sum;

	(void)state;
	copy_part(&m, "fat32-512.p1");
	assert_int_equal(mount_part(&m, m.copy, 0), 0);
	root = fat_root(m.vol);
	slot = slot_of(root, "LONGFI~1TXT");
	/* The long name entry just before: break its checksum. */
	sum = (uint8_t)(root->dir->raw[(slot - 1) * 32 + 13] + 1);
	assert_int_equal(
		pwrite(m.fd, &sum, 1,
		       (off_t)(fat_dir_slot_offset(m.vol, root, slot - 1) +
			       13)),
		1);
	fat_unmount(m.vol);
	close(m.fd);

	assert_int_equal(mount_part(&m, m.copy, FAT_MOUNT_RDONLY), 0);
	/* The orphaned long name is ignored: the 8.3 name is listed. */
	assert_int_equal(
		fat_lookup_path(m.vol, "Long File Name With Spaces.txt", &node),
		-ENOENT);
	assert_int_equal(fat_lookup_path(m.vol, "LONGFI~1.TXT", &node), 0);
	assert_string_equal(fat_node_name(node), "LONGFI~1.TXT");
	fat_node_put(m.vol, node);
	assert_true(fat_is_read_only(m.vol));
	unmount_part(&m);
}

static void test_bad_boot_sector(void **state)
{
	struct mounted m = {0};
	struct stat st;
	struct fat_window win;
	struct fat_vol *vol;
	uint8_t v[2];
	char err[256];

	(void)state;
	copy_part(&m, "fat16.p1");
	m.fd = open(m.copy, O_RDWR);
	assert_true(m.fd >= 0);
	store_le16(v, 300);
	assert_int_equal(pwrite(m.fd, v, 2, 11), 2);
	assert_int_equal(fstat(m.fd, &st), 0);
	win = (struct fat_window){m.fd, 0, (uint64_t)st.st_size};
	assert_int_equal(fat_mount(&vol, &win, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "bytes per sector is 300"));
	/* A window smaller than the volume it holds. */
	store_le16(v, 512);
	assert_int_equal(pwrite(m.fd, v, 2, 11), 2);
	win.size = (uint64_t)st.st_size / 2;
	assert_int_equal(fat_mount(&vol, &win, 0, err, sizeof(err)), -EUCLEAN);
	assert_non_null(strstr(err, "partition holds"));
	close(m.fd);
	unlink(m.copy);
}

static void test_partitions(void **state)
{
	struct part_image *img;
	char err[512];
	const struct part_entry *boot;

	(void)state;
	assert_int_equal(part_open(fixture_path("pios32.img"), PART_OPEN_RDONLY,
				   &img, err, sizeof(err)),
			 0);
	assert_string_equal(img->table, "dos");
	assert_string_equal(img->disk_id, "5eedc0de");
	assert_int_equal(img->count, 2);
	boot = part_boot(img);
	assert_int_equal(boot->number, 1);
	assert_int_equal(boot->start, 8192 * 512);
	assert_string_equal(boot->partuuid, "5eedc0de-01");
	assert_string_equal(boot->fstype, "vfat");
	assert_string_equal(boot->label, "BOOTFS");
	assert_string_equal(img->parts[1].partuuid, "5eedc0de-02");
	assert_string_equal(img->parts[1].fstype, "ext4");
	assert_string_equal(img->parts[1].label, "rootfs");
	assert_string_equal(img->parts[1].type_name, "Linux");
	part_close(img);

	assert_int_equal(part_open(fixture_path("gpt.img"), PART_OPEN_RDONLY,
				   &img, err, sizeof(err)),
			 0);
	assert_string_equal(img->table, "gpt");
	assert_string_equal(part_boot(img)->partuuid,
			    "5eedc0de-0000-4000-8000-0000000000b1");
	assert_string_equal(part_boot(img)->type_name, "Microsoft basic data");
	part_close(img);
}

static void test_partition_errors(void **state)
{
	struct part_image *img;
	char err[512], path[1024], cmd[16384];
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int fd;

	(void)state;
	assert_int_equal(
		part_open("/nonexistent/x.img", 0, &img, err, sizeof(err)),
		-ENOENT);
	assert_non_null(strstr(err, "does not exist"));
	assert_int_equal(part_open(tmp, 0, &img, err, sizeof(err)), -EISDIR);
	assert_non_null(strstr(err, "is a directory"));

	/* Not a disk image: a bare FAT partition. */
	assert_int_equal(part_open(fixture_path("fat16.p1"), PART_OPEN_RDONLY,
				   &img, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "no partition table"));

	/* A compressed image says how to unpack it. */
	snprintf(path, sizeof(path), "%s/rpifs-test-%d.img.xz", tmp, getpid());
	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd,
			       "\xfd"
			       "7zXZ\0\0\0\0",
			       10),
			 10);
	assert_int_equal(ftruncate(fd, 4096), 0);
	close(fd);
	assert_int_equal(part_open(path, 0, &img, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "xz -dk"));
	unlink(path);

	/* A truncated image: the root partition runs past the end. */
	snprintf(path, sizeof(path), "%s/rpifs-test-%d.img", tmp, getpid());
	snprintf(cmd, sizeof(cmd),
		 "cp --sparse=always '%s' '%s' && truncate -s 40M '%s'",
		 fixture_path("fat16.img"), path, path);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(part_open(path, 0, &img, err, sizeof(err)), -ERANGE);
	assert_non_null(strstr(err, "partition 2"));
	assert_non_null(strstr(err, "truncated"));
	/* rpifs info still describes it. */
	assert_int_equal(
		part_open(path, PART_OPEN_LENIENT, &img, err, sizeof(err)), 0);
	assert_true(img->parts[1].past_end);
	part_close(img);

	/*
	 * A FAT-typed partition whose boot sector is wiped is still the boot
	 * partition, so that mounting reports the damage itself.
	 */
	snprintf(cmd, sizeof(cmd),
		 "cp --sparse=always '%s' '%s' && dd if=/dev/zero of='%s' "
		 "bs=512 seek=8192 count=1 conv=notrunc status=none",
		 fixture_path("fat16.img"), path, path);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(part_open(path, 0, &img, err, sizeof(err)), 0);
	assert_int_equal(part_boot(img)->number, 1);
	part_close(img);
	/* With a Linux type as well, there is no FAT partition at all. */
	snprintf(cmd, sizeof(cmd), "sfdisk -q --part-type '%s' 1 83", path);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(part_open(path, 0, &img, err, sizeof(err)), -ENODEV);
	assert_non_null(strstr(err, "no FAT partition"));
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_lookup_rules),
		cmocka_unit_test(test_damage),
		cmocka_unit_test(test_dir_is_own_ancestor),
		cmocka_unit_test(test_bad_lfn_checksum),
		cmocka_unit_test(test_bad_boot_sector),
		cmocka_unit_test(test_partitions),
		cmocka_unit_test(test_partition_errors),
	};

	fixtures = getenv("RPIFS_FIXTURES");
	if (!fixtures) {
		printf("1..0 # SKIP RPIFS_FIXTURES is not set: run through "
		       "tests/run.sh\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
