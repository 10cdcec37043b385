// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The FAT write path at the library level, on copies of the fixture
 * partitions: 8.3 names, slot reuse, contiguous allocation, short writes
 * when full, the 4 GiB limit, freeing an unlinked node at its last
 * reference, ".." of a moved directory, stale entries after the end
 * marker, case-only renames. Every test ends with fsck.fat -n clean.
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

	snprintf(t->path, sizeof(t->path), "%s/write-%d-%s",
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

static void reopen(struct vol *t)
{
	struct stat st;
	struct fat_window win;
	char err[256];

	assert_int_equal(fat_unmount(t->v), 0);
	assert_int_equal(fstat(t->fd, &st), 0);
	win = (struct fat_window){t->fd, 0, (uint64_t)st.st_size};
	assert_int_equal(fat_mount(&t->v, &win, 0, err, sizeof(err)), 0);
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

static struct fat_node *create(struct vol *t, const char *dir, const char *name,
			       uint8_t attr)
{
	struct fat_node *d, *n;

	assert_int_equal(fat_lookup_path(t->v, dir, &d), 0);
	assert_int_equal(fat_create(t->v, d, name, attr, &n), 0);
	fat_node_put(t->v, d);
	return n;
}

static void test_short_names(void **state)
{
	static const struct {
		const char *name;
		const char *sfn;
		uint8_t lcase;
		bool lfn;
	} cases[] = {
		{"config.txt", "CONFIG  TXT", CASE_LOWER_BASE | CASE_LOWER_EXT,
		 false},
		{"README.txt", "README  TXT", CASE_LOWER_EXT, false},
		/* BOOTFS is the volume label's 8.3 name: a long name and ~1. */
		{"bootfs", "BOOTFS~1   ", 0, true},
		{"NOEXT", "NOEXT      ", 0, false},
		{"1234.txt", "1234    TXT", CASE_LOWER_EXT, false},
		{"Mixed.TXT", "MIXED   TXT", 0, true},
		{"a long name.txt", "ALONGN~1TXT", 0, true},
		{".bashrc", "BASHRC~1   ", 0, true},
		{"x.y.z", "XY~1    Z  ", 0, true},
		{"a+b.txt", "A_B~1   TXT", 0, true},
		{"toolongname.text", "TOOLON~1TEX", 0, true},
		{"Grüße.txt", "GR__E~1 TXT", 0, true}, /* non-ASCII: _ */
	};
	struct vol t;

	(void)state;
	open_copy(&t, "fat16.p1");
	assert_int_equal(fat_unlink(t.v, fat_root(t.v), "config.txt"), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fat_node *n;

		if (fat_create(t.v, fat_root(t.v), cases[i].name, 0, &n) != 0)
			fail_msg("cannot create %s", cases[i].name);

		if (memcmp(n->sfn, cases[i].sfn, 11) != 0 ||
		    n->lcase != cases[i].lcase ||
		    (n->lfn_slots > 0) != cases[i].lfn)
			fail_msg("%s: got '%.11s' case %02x lfn %u",
				 cases[i].name, n->sfn, n->lcase, n->lfn_slots);
		assert_string_equal(fat_node_name(n), cases[i].name);
		fat_node_put(t.v, n);
	}
	/* The same names read back after a remount. */
	reopen(&t);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fat_node *n;

		assert_int_equal(fat_lookup_path(t.v, cases[i].name, &n), 0);
		assert_string_equal(fat_node_name(n), cases[i].name);
		fat_node_put(t.v, n);
	}
	close_and_fsck(&t);
}

static void test_numeric_tails(void **state)
{
	struct vol t;
	char name[64];
	int hashed = 0;

	(void)state;
	open_copy(&t, "fat32-512.p1");
	for (int i = 1; i <= 12; i++) {
		struct fat_node *n;

		snprintf(name, sizeof(name), "Long Name Number %d.txt", i);
		n = create(&t, "", name, 0);
		if (i <= 4) {
			char want[12];

			snprintf(want, sizeof(want), "LONGNA~%dTXT", i);
			assert_memory_equal(n->sfn, want, 11);
		} else {
			/* Two basis characters, four hex digits, ~N. */
			assert_memory_equal(n->sfn, "LO", 2);
			assert_int_equal(n->sfn[6], '~');
			hashed++;
		}
		fat_node_put(t.v, n);
	}
	assert_int_equal(hashed, 8);
	close_and_fsck(&t);
}

static void test_slot_reuse_and_growth(void **state)
{
	struct vol t;
	struct fat_node *d, *a, *b;
	uint32_t slots_before;
	char name[64];

	(void)state;
	open_copy(&t, "fat32-512.p1");
	d = create(&t, "", "dir", FAT_ATTR_DIR);
	assert_int_equal(fat_dir_load(t.v, d), 0);
	slots_before = d->dir->slots; /* one 512-byte cluster: 16 */
	assert_int_equal(slots_before, 16);
	/* Fill past one cluster: the directory grows, zeroed. */
	for (int i = 0; i < 20; i++) {
		struct fat_node *n;

		snprintf(name, sizeof(name), "F%d", i);
		assert_int_equal(fat_create(t.v, d, name, 0, &n), 0);
		fat_node_put(t.v, n);
	}
	assert_true(d->dir->slots > slots_before);
	assert_int_equal(d->dir->entries, 20);
	/* A long name removed leaves a run its successor reuses. */
	assert_int_equal(
		fat_create(t.v, d, "a fairly long name for reuse", 0, &a), 0);
	{
		uint32_t first = a->slot - a->lfn_slots;

		fat_node_put(t.v, a);
		assert_int_equal(
			fat_unlink(t.v, d, "a fairly long name for reuse"), 0);
		assert_int_equal(fat_create(t.v, d,
					    "another long name, same size", 0,
					    &b),
				 0);
		assert_int_equal(b->slot - b->lfn_slots, first);
		fat_node_put(t.v, b);
	}
	fat_node_put(t.v, d);
	close_and_fsck(&t);
}

static void test_contiguous_and_short_write(void **state)
{
	struct vol t;
	struct fat_node *n;
	struct fat_info info;
	static uint8_t buf[65536];
	uint64_t off = 0;
	ssize_t w;

	(void)state;
	open_copy(&t, "fat12.p1");
	n = create(&t, "", "grow.bin", 0);
	/* Written in pieces, the file still takes one run of clusters. */
	memset(buf, 0xab, sizeof(buf));
	for (int i = 0; i < 16; i++) {
		assert_int_equal(fat_write(t.v, n, buf, 10000, off), 10000);
		off += 10000;
	}
	assert_int_equal(fat_map_build(t.v, n), 0);
	assert_int_equal(n->map.run_count, 1);
	fat_node_put(t.v, n);

	/* Fill the volume: the last write is short, then ENOSPC. */
	n = create(&t, "", "fill.bin", 0);
	off = 0;
	do {
		w = fat_write(t.v, n, buf, sizeof(buf), off);
		if (w > 0)
			off += (uint64_t)w;
	} while (w == (ssize_t)sizeof(buf));
	assert_true(w >= 0 || w == -ENOSPC);
	assert_int_equal(fat_write(t.v, n, buf, sizeof(buf), off), -ENOSPC);
	assert_int_equal(fat_get_info(t.v, &info), 0);
	assert_int_equal(info.free_clusters, 0);
	/* Growing by truncate fails too, and changes nothing. */
	assert_int_equal(fat_truncate(t.v, n, off + 100000), -ENOSPC);
	{
		struct fat_stat st;

		fat_node_stat(t.v, n, &st);
		assert_int_equal(st.size, off);
	}
	assert_int_equal(fat_create(t.v, fat_root(t.v), "x", FAT_ATTR_DIR,
				    &(struct fat_node *){NULL}),
			 -ENOSPC);
	fat_node_put(t.v, n);
	assert_int_equal(fat_unlink(t.v, fat_root(t.v), "fill.bin"), 0);
	assert_int_equal(fat_get_info(t.v, &info), 0);
	assert_true(info.free_clusters > 0);
	close_and_fsck(&t);
}

static void test_limits(void **state)
{
	struct vol t;
	struct fat_node *n;

	(void)state;
	open_copy(&t, "fat32-512.p1");
	n = create(&t, "", "big", 0);
	assert_int_equal(fat_write(t.v, n, "x", 1, 0xffffffffull), -EFBIG);
	assert_int_equal(fat_truncate(t.v, n, 0x100000000ull), -EFBIG);
	assert_int_equal(fat_truncate(t.v, fat_root(t.v), 0), -EISDIR);
	assert_int_equal(fat_write(t.v, fat_root(t.v), "x", 1, 0), -EISDIR);
	fat_node_put(t.v, n);
	assert_int_equal(fat_create(t.v, fat_root(t.v), "big", 0, &n), -EEXIST);
	assert_int_equal(fat_create(t.v, fat_root(t.v), "BIG", 0, &n), -EEXIST);
	assert_int_equal(fat_create(t.v, fat_root(t.v), "a:b", 0, &n), -EINVAL);
	close_and_fsck(&t);
}

static void test_unlinked_freed_at_last_put(void **state)
{
	struct vol t;
	struct fat_node *n;
	struct fat_info before, during, after;
	static uint8_t buf[100000];

	(void)state;
	open_copy(&t, "fat16.p1");
	assert_int_equal(fat_get_info(t.v, &before), 0);
	n = create(&t, "", "held.bin", 0);
	assert_int_equal(fat_write(t.v, n, buf, sizeof(buf), 0), sizeof(buf));
	assert_int_equal(fat_unlink(t.v, fat_root(t.v), "held.bin"), 0);
	assert_true(fat_node_is_unlinked(n));
	/* Still readable and writable. */
	assert_int_equal(fat_write(t.v, n, "tail", 4, sizeof(buf)), 4);
	assert_int_equal(fat_read(t.v, n, buf, 4, sizeof(buf)), 4);
	assert_memory_equal(buf, "tail", 4);
	assert_int_equal(fat_get_info(t.v, &during), 0);
	assert_true(during.free_clusters < before.free_clusters);
	fat_node_put(t.v, n);
	assert_int_equal(fat_get_info(t.v, &after), 0);
	assert_int_equal(after.free_clusters, before.free_clusters);
	close_and_fsck(&t);
}

static void test_move_dir_updates_dotdot(void **state)
{
	struct vol t;
	struct fat_node *a, *b, *moved;
	const struct fat_dirent_disk *dotdot;

	(void)state;
	open_copy(&t, "fat32-512.p1");
	a = create(&t, "", "a", FAT_ATTR_DIR);
	b = create(&t, "", "b", FAT_ATTR_DIR);
	fat_node_put(t.v, create(&t, "a", "inner", FAT_ATTR_DIR));
	fat_node_put(t.v, create(&t, "a/inner", "file", 0));
	assert_int_equal(fat_rename(t.v, a, "inner", b, "inner", 0), 0);
	assert_int_equal(fat_lookup_path(t.v, "b/inner", &moved), 0);
	assert_int_equal(fat_dir_load(t.v, moved), 0);
	dotdot = (const void *)(moved->dir->raw + DIRENT_SIZE);
	assert_memory_equal(dotdot->name, "..         ", 11);
	assert_int_equal(get_le16(dotdot->start_lo) |
				 (uint32_t)get_le16(dotdot->start_hi) << 16,
			 b->first_cluster);
	/* Into the root, ".." says 0. */
	assert_int_equal(fat_rename(t.v, b, "inner", fat_root(t.v), "top", 0),
			 0);
	assert_int_equal(get_le16(dotdot->start_lo), 0);
	/* Not into itself. */
	assert_int_equal(fat_rename(t.v, fat_root(t.v), "top", moved, "x", 0),
			 -EINVAL);
	fat_node_put(t.v, moved);
	fat_node_put(t.v, a);
	fat_node_put(t.v, b);
	close_and_fsck(&t);
}

static void test_rename_case_and_replace(void **state)
{
	struct vol t;
	struct fat_node *root, *n, *old;

	(void)state;
	open_copy(&t, "fat16.p1");
	root = fat_root(t.v);
	fat_node_put(t.v, create(&t, "", "name.txt", 0));
	assert_int_equal(fat_rename(t.v, root, "name.txt", root, "Name.TXT", 0),
			 0);
	assert_int_equal(fat_lookup_path(t.v, "name.txt", &n), 0);
	assert_string_equal(fat_node_name(n), "Name.TXT");
	fat_node_put(t.v, n);
	/* Replace: the target's node lives on while referenced. */
	fat_node_put(t.v, create(&t, "", "other", 0));
	assert_int_equal(fat_lookup_path(t.v, "other", &old), 0);
	assert_int_equal(fat_rename(t.v, root, "Name.TXT", root, "other",
				    FAT_RENAME_NOREPLACE),
			 -EEXIST);
	assert_int_equal(fat_rename(t.v, root, "Name.TXT", root, "other", 0),
			 0);
	assert_true(fat_node_is_unlinked(old));
	fat_node_put(t.v, old);
	assert_int_equal(fat_lookup_path(t.v, "Name.TXT", &n), -ENOENT);
	reopen(&t);
	assert_int_equal(fat_lookup_path(t.v, "other", &n), 0);
	fat_node_put(t.v, n);
	close_and_fsck(&t);
}

static void test_stale_after_end(void **state)
{
	struct vol t;
	struct fat_node *d, *n;
	uint64_t off;
	struct fat_dirent_disk ghost;

	(void)state;
	open_copy(&t, "fat32-512.p1");
	d = create(&t, "", "d", FAT_ATTR_DIR);
	/* A stale entry on disk after the end marker (slot 5). */
	assert_int_equal(fat_dir_load(t.v, d), 0);
	memset(&ghost, 0, sizeof(ghost));
	memcpy(ghost.name, "GHOST   TXT", 11);
	ghost.attr = FAT_ATTR_ARCHIVE;
	off = fat_dir_slot_offset(t.v, d, 5);
	assert_int_equal(pwrite(t.fd, &ghost, sizeof(ghost), (off_t)off), 32);
	fat_node_put(t.v, d);
	reopen(&t);
	assert_int_equal(fat_lookup_path(t.v, "d/ghost.txt", &n), -ENOENT);
	/* Entries written over the end marker keep the ghost dead. */
	for (int i = 0; i < 6; i++) {
		char name[8];

		snprintf(name, sizeof(name), "E%d", i);
		fat_node_put(t.v, create(&t, "d", name, 0));
	}
	reopen(&t);
	assert_int_equal(fat_lookup_path(t.v, "d/ghost.txt", &n), -ENOENT);
	assert_int_equal(fat_lookup_path(t.v, "d/E5", &n), 0);
	fat_node_put(t.v, n);
	close_and_fsck(&t);
}

static void test_dirty_flag(void **state)
{
	struct vol t;
	uint8_t state_byte;
	struct fat_node *node;
	struct fat_window win;
	struct stat st;
	char err[256];

	(void)state;
	open_copy(&t, "fat32-512.p1");
	/* Mounted and read: nothing written yet, the flag is clear. */
	assert_int_equal(pread(t.fd, &state_byte, 1, 0x41), 1);
	assert_int_equal(state_byte & FAT_STATE_DIRTY, 0);
	/* The first write sets it; unmount clears it. */
	assert_int_equal(fat_create(t.v, fat_root(t.v), "dirty.txt", 0, &node),
			 0);
	fat_node_put(t.v, node);
	assert_int_equal(pread(t.fd, &state_byte, 1, 0x41), 1);
	assert_int_equal(state_byte & FAT_STATE_DIRTY, FAT_STATE_DIRTY);
	assert_int_equal(fat_unmount(t.v), 0);
	assert_int_equal(pread(t.fd, &state_byte, 1, 0x41), 1);
	assert_int_equal(state_byte & FAT_STATE_DIRTY, 0);

	/* Found set (an unclean unmount elsewhere): left set, as Linux does. */
	state_byte = FAT_STATE_DIRTY;
	assert_int_equal(pwrite(t.fd, &state_byte, 1, 0x41), 1);
	assert_int_equal(fstat(t.fd, &st), 0);
	win = (struct fat_window){t.fd, 0, (uint64_t)st.st_size};
	assert_int_equal(fat_mount(&t.v, &win, 0, err, sizeof(err)), 0);
	assert_int_equal(fat_create(t.v, fat_root(t.v), "more.txt", 0, &node),
			 0);
	fat_node_put(t.v, node);
	assert_int_equal(fat_unmount(t.v), 0);
	assert_int_equal(pread(t.fd, &state_byte, 1, 0x41), 1);
	assert_int_equal(state_byte & FAT_STATE_DIRTY, FAT_STATE_DIRTY);
	t.v = NULL;
	close(t.fd);
	unlink(t.path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_short_names),
		cmocka_unit_test(test_numeric_tails),
		cmocka_unit_test(test_slot_reuse_and_growth),
		cmocka_unit_test(test_contiguous_and_short_write),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_unlinked_freed_at_last_put),
		cmocka_unit_test(test_move_dir_updates_dotdot),
		cmocka_unit_test(test_rename_case_and_replace),
		cmocka_unit_test(test_stale_after_end),
		cmocka_unit_test(test_dirty_flag),
	};

	fixtures = getenv("RPIFS_FIXTURES");
	if (!fixtures) {
		printf("1..0 # SKIP RPIFS_FIXTURES is not set: run through "
		       "tests/run.sh\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
