// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The FAT layer's write order for power cuts, at the library level (the
 * crash-state tests, tests/crash/, check it write by write): clusters of a
 * removed file freed only after a flush and never reused before; each new
 * directory entry inside one 512-byte sector, the end marker on a sector
 * boundary; a rename in the old entry's sector; fat_replace switching a
 * file to new clusters; FAT12 clusters whose entry spans two sectors left
 * alone. Every test ends with fsck.fat -n clean.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../fat/fat_internal.h"

static const char *fixtures;

struct vol {
	int fd;
	struct fat_vol *v;
	char path[512];
};

static void open_copy(struct vol *t, const char *fixture)
{
	char cmd[2048];
	struct stat st;
	struct fat_window win;
	char err[256];

	snprintf(t->path, sizeof(t->path), "%s/order-%d-%s",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", getpid(),
		 fixture);
	snprintf(cmd, sizeof(cmd), "cp --sparse=always '%s/%s' '%s'", fixtures,
		 fixture, t->path);
	assert_int_equal(system(cmd), 0);
	t->fd = open(t->path, O_RDWR);
	assert_true(t->fd >= 0);
	assert_int_equal(fstat(t->fd, &st), 0);
	win = (struct fat_window){t->fd, 0, (uint64_t)st.st_size};
	if (fat_mount(&t->v, &win, 0, err, sizeof(err)) != 0)
		fail_msg("mount: %s", err);
}

/* Unmount, then fsck.fat -n must say nothing but its summary. */
static void close_and_fsck(struct vol *t)
{
	char cmd[2048];
	FILE *p;
	char line[512];
	int lines = 0;

	assert_int_equal(fat_unmount(t->v), 0);
	close(t->fd);
	snprintf(cmd, sizeof(cmd), "fsck.fat -n '%s' 2>&1", t->path);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		if (strncmp(line, "fsck.fat", 8) == 0 ||
		    strstr(line, " files, "))
			continue;
		fprintf(stderr, "fsck: %s", line);
		lines++;
	}
	assert_int_equal(pclose(p), 0);
	assert_int_equal(lines, 0);
	unlink(t->path);
}

static struct fat_node *create(struct vol *t, struct fat_node *dir,
			       const char *name, uint8_t attr)
{
	struct fat_node *n;

	assert_int_equal(fat_create(t->v, dir, name, attr, &n), 0);
	return n;
}

static void write_clusters(struct vol *t, struct fat_node *n, uint32_t count)
{
	uint32_t cs = fat_cluster_size(t->v);
	uint8_t *buf = malloc((size_t)count * cs);

	assert_non_null(buf);
	memset(buf, 0x5a, (size_t)count * cs);
	assert_int_equal(fat_write(t->v, n, buf, (size_t)count * cs, 0),
			 (ssize_t)count * cs);
	free(buf);
}

/* Whether @c is one of the @count clusters of the chain from @first. */
static bool in_chain(struct vol *t, uint32_t first, uint32_t c)
{
	for (uint32_t x = first; fat_ent_kind(t->v, x) == FAT_ENT_NEXT;) {
		if (x == c)
			return true;
		assert_int_equal(fat_ent_get(t->v, x, &x), 0);
	}
	return false;
}

static void test_free_after_flush(void **state)
{
	struct vol t;
	struct fat_node *a, *b;
	struct fat_info before, after;
	uint32_t first, v;

	(void)state;
	open_copy(&t, "fat16.p1");
	a = create(&t, fat_root(t.v), "old.bin", 0);
	write_clusters(&t, a, 10);
	first = a->first_cluster;
	fat_node_put(t.v, a);
	assert_int_equal(fat_sync(t.v), 0);
	assert_int_equal(fat_get_info(t.v, &before), 0);

	/* Removed: its entry is gone, its clusters still taken ... */
	assert_int_equal(fat_unlink(t.v, fat_root(t.v), "old.bin"), 0);
	assert_int_equal(fat_ent_get(t.v, first, &v), 0);
	assert_int_not_equal(v, FAT_CLUSTER_FREE);
	/* ... but counted free, and not given to the next file. */
	assert_int_equal(fat_get_info(t.v, &after), 0);
	assert_int_equal(after.free_clusters, before.free_clusters + 10);
	b = create(&t, fat_root(t.v), "new.bin", 0);
	write_clusters(&t, b, 10);
	for (uint32_t c = b->first_cluster;
	     fat_ent_kind(t.v, c) == FAT_ENT_NEXT;) {
		assert_false(in_chain(&t, first, c));
		assert_int_equal(fat_ent_get(t.v, c, &c), 0);
	}
	fat_node_put(t.v, b);

	/* After the flush that made the removal durable: free. */
	assert_int_equal(fat_sync(t.v), 0);
	assert_int_equal(fat_ent_get(t.v, first, &v), 0);
	assert_int_equal(v, FAT_CLUSTER_FREE);
	close_and_fsck(&t);
}

static void test_truncate_frees_after_flush(void **state)
{
	struct vol t;
	struct fat_node *a;
	uint32_t last, v;

	(void)state;
	open_copy(&t, "fat32-512.p1");
	a = create(&t, fat_root(t.v), "cut.bin", 0);
	write_clusters(&t, a, 8);
	assert_int_equal(fat_map_build(t.v, a), 0);
	last = fat_map_last(&a->map);
	assert_int_equal(fat_sync(t.v), 0);
	assert_int_equal(fat_truncate(t.v, a, 100), 0);
	assert_int_equal(fat_ent_get(t.v, a->first_cluster, &v), 0);
	assert_int_equal(fat_ent_kind(t.v, v), FAT_ENT_EOC);
	assert_int_equal(fat_ent_get(t.v, last, &v), 0);
	assert_int_not_equal(v, FAT_CLUSTER_FREE);
	assert_int_equal(fat_fsync(t.v, a), 0);
	assert_int_equal(fat_ent_get(t.v, last, &v), 0);
	assert_int_equal(v, FAT_CLUSTER_FREE);
	fat_node_put(t.v, a);
	close_and_fsck(&t);
}

/* The first slot whose first byte is 0 (the end marker), or the count. */
static uint32_t end_marker(const struct fat_node *dir)
{
	uint32_t s = 0;

	while (s < dir->dir->slots && dir->dir->raw[(size_t)s * DIRENT_SIZE])
		s++;
	return s;
}

static void test_entries_in_one_sector(void **state)
{
	struct vol t;
	struct fat_node *d, *n;
	char name[64];

	(void)state;
	open_copy(&t, "fat32-512.p1");
	d = create(&t, fat_root(t.v), "many", FAT_ATTR_DIR);
	assert_int_equal(fat_dir_load(t.v, d), 0);
	for (int i = 0; i < 60; i++) {
		/* Two to four slots each, so that runs meet sector edges. */
		snprintf(name, sizeof(name), "%.*s entry %d", 1 + i % 30,
			 "a name growing longer every ti", i);
		n = create(&t, d, name, 0);
		assert_int_equal((n->slot - n->lfn_slots) / DIR_SECTOR_SLOTS,
				 n->slot / DIR_SECTOR_SLOTS);
		assert_int_equal(end_marker(d) % DIR_SECTOR_SLOTS, 0);
		fat_node_put(t.v, n);
	}
	fat_node_put(t.v, d);
	close_and_fsck(&t);
}

static void test_rename_in_its_sector(void **state)
{
	struct vol t;
	struct fat_node *d, *a, *b;
	uint32_t sector;

	(void)state;
	open_copy(&t, "fat16.p1");
	d = create(&t, fat_root(t.v), "dir", FAT_ATTR_DIR);
	assert_int_equal(fat_dir_load(t.v, d), 0);
	a = create(&t, d, "sed4Xk2Q", 0);
	b = create(&t, d, "config.txt", 0);
	sector = a->slot / DIR_SECTOR_SLOTS;
	assert_int_equal(b->slot / DIR_SECTOR_SLOTS, sector);
	/* An editor's save: the new entry where the old one was. */
	assert_int_equal(fat_rename(t.v, d, "sed4Xk2Q", d, "config.txt", 0), 0);
	assert_int_equal(a->slot / DIR_SECTOR_SLOTS, sector);
	assert_true(fat_node_is_unlinked(b));
	assert_int_equal(fat_rename(t.v, d, "config.txt", d,
				    "a much longer name than before.txt", 0),
			 0);
	assert_int_equal(a->slot / DIR_SECTOR_SLOTS, sector);
	fat_node_put(t.v, a);
	fat_node_put(t.v, b);
	fat_node_put(t.v, d);
	close_and_fsck(&t);
}

static void test_replace(void **state)
{
	struct vol t;
	struct fat_node *before, *n;
	static uint8_t data[5000], back[5000];
	uint32_t old_first, v;

	(void)state;
	open_copy(&t, "fat16.p1");
	assert_int_equal(fat_lookup_path(t.v, "config.txt", &before), 0);
	old_first = before->first_cluster;
	memset(data, 'x', sizeof(data));
	assert_int_equal(fat_replace(t.v, fat_root(t.v), "config.txt", data,
				     sizeof(data), &n),
			 0);
	/* The same file, new clusters, the old ones freed (it synced). */
	assert_ptr_equal(n, before);
	assert_int_not_equal(n->first_cluster, old_first);
	assert_int_equal(fat_read(t.v, n, back, sizeof(back), 0), sizeof(back));
	assert_memory_equal(back, data, sizeof(data));
	assert_int_equal(fat_ent_get(t.v, old_first, &v), 0);
	assert_int_equal(v, FAT_CLUSTER_FREE);
	fat_node_put(t.v, n);
	fat_node_put(t.v, before);

	/* A missing file is made; an empty one has no clusters. */
	assert_int_equal(fat_replace(t.v, fat_root(t.v), "userconf.txt",
				     "pi:x\n", 5, &n),
			 0);
	assert_int_equal(n->size, 5);
	fat_node_put(t.v, n);
	assert_int_equal(
		fat_replace(t.v, fat_root(t.v), "userconf.txt", "", 0, &n), 0);
	assert_int_equal(n->size, 0);
	assert_int_equal(n->first_cluster, FAT_CLUSTER_FREE);
	fat_node_put(t.v, n);
	assert_int_equal(
		fat_replace(t.v, fat_root(t.v), "overlays", "x", 1, &n),
		-EISDIR);
	close_and_fsck(&t);
}

static void test_fat12_entries_across_sectors(void **state)
{
	struct vol t;
	struct fat_node *n;
	static uint8_t buf[65536];
	uint64_t off = 0;
	ssize_t w;

	(void)state;
	open_copy(&t, "fat12.p1");
	n = create(&t, fat_root(t.v), "fill.bin", 0);
	do {
		w = fat_write(t.v, n, buf, sizeof(buf), off);
		if (w > 0)
			off += (uint64_t)w;
	} while (w == (ssize_t)sizeof(buf));
	/* The whole volume taken, but no cluster whose entry ends a sector. */
	for (uint32_t c = n->first_cluster;
	     fat_ent_kind(t.v, c) == FAT_ENT_NEXT;) {
		assert_int_not_equal((c + c / 2 + 1) % 512, 0);
		assert_int_equal(fat_ent_get(t.v, c, &c), 0);
	}
	fat_node_put(t.v, n);
	close_and_fsck(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_free_after_flush),
		cmocka_unit_test(test_truncate_frees_after_flush),
		cmocka_unit_test(test_entries_in_one_sector),
		cmocka_unit_test(test_rename_in_its_sector),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_fat12_entries_across_sectors),
	};

	fixtures = getenv("RPIFS_FIXTURES");
	if (!fixtures) {
		printf("1..0 # SKIP RPIFS_FIXTURES is not set: run through "
		       "tests/run.sh\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
