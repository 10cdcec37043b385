// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz the root file system core (ext4/ over libext2fs): the input is an
 * ext2/3/4 file system image of 4 MiB, given sparse (a file system's
 * metadata is scattered: its journal sits in the middle): records of a
 * 4-byte little-endian 512-byte sector number, a 2-byte little-endian
 * length and that many bytes, written into zeros. It is mounted read-write (a
 * journal that needs recovery is replayed), every directory walked, every name
 * looked up again, every attribute, link target and extended attribute read and
 * checked for what the FUSE side relies on (terminated strings, sizes within
 * what was asked, names without '/'); then files and directories are made,
 * written, renamed, truncated and removed, the volume unmounted, mounted
 * read-only and walked again. A mount that fails must say why in one line.
 */
#include "fuzz.h"

#include "../../ext4/ext4.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#define IMAGE_SIZE  (4u << 20)
#define MAX_DEPTH   8
#define MAX_ENTRIES 64
#define MAX_VISITS  512

struct entry {
	char name[256];
	uint64_t ino;
	unsigned type;
};

struct listing {
	struct entry e[MAX_ENTRIES];
	int n;
};

struct walk {
	struct ext4_vol *vol;
	uint64_t seen[MAX_VISITS];
	int visits;
};

static int collect(void *ctx, const char *name, size_t len, uint64_t ino,
		   unsigned type, uint64_t next)
{
	struct listing *l = ctx;

	(void)next;
	if (len == 0 || len > 255 || memchr(name, '/', len) ||
	    memchr(name, '\0', len))
		abort();
	if (l->n == MAX_ENTRIES)
		return 1;
	memcpy(l->e[l->n].name, name, len);
	l->e[l->n].name[len] = '\0';
	l->e[l->n].ino = ino;
	l->e[l->n].type = type;
	l->n++;
	return 0;
}

static void read_xattrs(struct ext4_vol *vol, uint64_t ino)
{
	char names[4096], value[4096];
	ssize_t n = ext4_listxattr(vol, ino, names, sizeof(names));

	if (n < 0)
		return;
	if ((size_t)n > sizeof(names) || (n > 0 && names[n - 1] != '\0'))
		abort();
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(names + i) + 1) {
		ssize_t v = ext4_getxattr(vol, ino, names + i, value,
					  sizeof(value));

		if (v > (ssize_t)sizeof(value))
			abort();
	}
}

static void read_file(struct ext4_vol *vol, uint64_t ino, uint64_t size)
{
	static char buf[16384];
	struct ext4_run runs[8];
	uint64_t off = 0;

	while (off < size && off < 65536) {
		ssize_t n = ext4_read(vol, ino, buf, sizeof(buf), off);

		if (n < 0)
			return;
		if (n == 0 || (size_t)n > sizeof(buf))
			break;
		off += (uint64_t)n;
	}
	int r = ext4_map(vol, ino, 0, 65536, runs, 8);

	if (r > 8)
		abort();
}

static void look_at(struct walk *w, uint64_t ino, int depth);

static void walk_dir(struct walk *w, uint64_t dir, int depth)
{
	static struct listing lists[MAX_DEPTH + 1];
	struct listing *l = &lists[depth];

	l->n = 0;
	if (ext4_readdir(w->vol, dir, 0, collect, l) < 0)
		return;
	for (int i = 0; i < l->n; i++) {
		uint64_t again;

		if (strcmp(l->e[i].name, ".") == 0 ||
		    strcmp(l->e[i].name, "..") == 0)
			continue;
		if (ext4_lookup(w->vol, dir, l->e[i].name, &again) == 0 &&
		    again == 0)
			abort();
		look_at(w, l->e[i].ino, depth + 1);
	}
}

static void look_at(struct walk *w, uint64_t ino, int depth)
{
	struct stat st;
	char target[4096];

	for (int i = 0; i < w->visits; i++)
		if (w->seen[i] == ino)
			return;
	if (w->visits == MAX_VISITS)
		return;
	w->seen[w->visits++] = ino;
	if (ext4_getattr(w->vol, ino, &st) != 0)
		return;
	if (st.st_ino != ino)
		abort();
	read_xattrs(w->vol, ino);
	if (S_ISDIR(st.st_mode) && depth < MAX_DEPTH) {
		walk_dir(w, ino, depth);
	} else if (S_ISREG(st.st_mode)) {
		read_file(w->vol, ino, (uint64_t)st.st_size);
	} else if (S_ISLNK(st.st_mode)) {
		ssize_t n = ext4_readlink(w->vol, ino, target, sizeof(target));

		if (n >= (ssize_t)sizeof(target) ||
		    (n >= 0 && target[n] != '\0'))
			abort();
	}
}

static void walk_all(struct ext4_vol *vol)
{
	static struct walk w;
	struct statvfs sv;
	struct ext4_info info;

	w.vol = vol;
	w.visits = 0;
	look_at(&w, EXT4_ROOT_INO, 0);
	ext4_statfs(vol, &sv);
	ext4_get_info(vol, &info);
	if (strnlen(info.label, sizeof(info.label)) == sizeof(info.label) ||
	    strnlen(info.why_read_only, sizeof(info.why_read_only)) ==
		    sizeof(info.why_read_only))
		abort();
}

/* Make, change and remove things; any step may fail on a damaged volume. */
static void change(struct ext4_vol *vol)
{
	static char data[20000];
	struct ext4_new file = {.mode = S_IFREG | 0644, .umask = 022};
	struct ext4_new dir = {.mode = S_IFDIR | 0755, .umask = 022};
	struct ext4_new link = {.mode = S_IFLNK | 0777, .target = "fz-file"};
	struct ext4_setattr sa = {.what = EXT4_SET_SIZE, .size = 3000};
	uint64_t f = 0, d, l, ino, orphan;
	bool gone;

	memset(data, 'z', sizeof(data));
	if (ext4_create(vol, EXT4_ROOT_INO, "fz-file", &file, &f) == 0) {
		ext4_write(vol, f, data, sizeof(data), 0);
		ext4_write(vol, f, data, 100, 70000);
		ext4_setxattr(vol, f, "user.fz", "1", 1, 0);
		ext4_fallocate(vol, f, 0, 80000, 9000);
		ext4_setattr(vol, f, &sa);
		read_file(vol, f, 100000);
	}
	if (ext4_create(vol, EXT4_ROOT_INO, "fz-dir", &dir, &d) == 0) {
		if (f)
			ext4_link(vol, f, d, "hard");
		ext4_create(vol, d, "fz-link", &link, &l);
		ext4_rename(vol, EXT4_ROOT_INO, "fz-file", d, "moved", 0,
			    &orphan);
		ext4_rename(vol, d, "moved", d, "hard", EXT4_RENAME_EXCHANGE,
			    &orphan);
		if (ext4_unlink(vol, d, "hard", &ino, &gone) == 0 && gone)
			ext4_free(vol, ino);
		if (ext4_unlink(vol, d, "moved", &ino, &gone) == 0 && gone)
			ext4_free(vol, ino);
		if (ext4_unlink(vol, d, "fz-link", &ino, &gone) == 0 && gone)
			ext4_free(vol, ino);
		ext4_rmdir(vol, EXT4_ROOT_INO, "fz-dir");
	}
	ext4_sync(vol);
}

static void check_err(const char *err)
{
	if (!err[0] || strchr(err, '\n'))
		abort();
}

/* The image the records describe, in a memfd. */
static int image_of(const uint8_t *data, size_t size)
{
	int fd = fuzz_memfd(NULL, 0, IMAGE_SIZE);

	while (size >= 6) {
		uint64_t at =
			(uint64_t)(data[0] | data[1] << 8 | data[2] << 16 |
				   (uint32_t)data[3] << 24) *
			512;
		size_t len = (size_t)(data[4] | data[5] << 8);

		data += 6;
		size -= 6;
		if (len > size)
			len = size;
		if (at < IMAGE_SIZE) {
			size_t room = IMAGE_SIZE - at;

			if (pwrite(fd, data, len < room ? len : room,
				   (off_t)at) < 0)
				abort();
		}
		data += len;
		size -= len;
	}
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = image_of(data, size);
	struct ext4_window win = {.fd = fd, .offset = 0, .size = IMAGE_SIZE};
	struct ext4_vol *vol;
	char err[512];

	if (ext4_mount(&vol, &win, 0, err, sizeof(err)) == 0) {
		walk_all(vol);
		if (!ext4_is_read_only(vol))
			change(vol);
		ext4_unmount(vol);
		if (ext4_mount(&vol, &win, EXT4_MOUNT_RDONLY, err,
			       sizeof(err)) == 0) {
			walk_all(vol);
			ext4_unmount(vol);
		} else {
			check_err(err);
		}
	} else {
		check_err(err);
	}
	close(fd);
	return 0;
}
