// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Run folders: each boot gets $XDG_STATE_HOME/rpifs/IMAGE-KEY/runs/TIME/
 * with what it booted (kernel, dtb as on the image and as given to QEMU,
 * initramfs, command line), the argument vector, the adjustments and the
 * console log. The newest ten are kept. Kernels and initramfs, tens of MiB
 * each and the same boot after boot and image after image, are kept once
 * in $XDG_STATE_HOME/rpifs/blobs and hard-linked into the run folders; a
 * blob no run links any more goes, and so does the folder of an image
 * that is no longer there (each folder names its image in a file).
 */
#define _XOPEN_SOURCE 700
#include "launcher.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t prune_blobs(const char *base);
static void base_of(const char *state_dir, char *out, size_t size);

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Remove the oldest run folders so that @keep - 1 stay; the newest one's
 * path goes to @prev ("" when there is none).
 */
static void prune(const char *runs, unsigned keep, char *prev, size_t size)
{
	DIR *d = opendir(runs);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;

	prev[0] = '\0';
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **bigger =
				realloc(names, (cap = cap ? cap * 2 : 16) *
						       sizeof(*names));

			if (!bigger)
				break;
			names = bigger;
		}
		names[n] = strdup(de->d_name);
		if (names[n])
			n++;
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), by_name);
	if (n > 0 && keep > 1 &&
	    snprintf(prev, size, "%s/%s", runs, names[n - 1]) >= (int)size)
		prev[0] = '\0';
	for (size_t i = 0; i + keep <= n && i < n; i++) {
		char path[PATH_MAX];

		if (snprintf(path, sizeof(path), "%s/%s", runs, names[i]) <
		    (int)sizeof(path))
			nftw(path, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int runs_new(const char *state_dir, unsigned keep, char *dir, size_t size,
	     char *prev, size_t prev_size)
{
	char runs[PATH_MAX], stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	int ret;

	snprintf(runs, sizeof(runs), "%s/runs", state_dir);
	ret = mkdir_p(runs, 0700);
	if (ret)
		return ret;
	prune(runs, keep, prev, prev_size);
	{
		char base[PATH_MAX];

		base_of(state_dir, base, sizeof(base));
		prune_blobs(base);
	}
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	for (int i = 1; i < 1000; i++) {
		if (i == 1)
			snprintf(dir, size, "%s/%s", runs, stamp);
		else
			snprintf(dir, size, "%s/%s-%d", runs, stamp, i);
		if (mkdir(dir, 0700) == 0)
			return 0;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

int runs_path(char *out, size_t size, const char *dir, const char *name)
{
	int n = snprintf(out, size, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int runs_write(const char *dir, const char *name, const void *data, size_t len)
{
	char path[PATH_MAX];
	const char *p = data;
	int fd, ret = runs_path(path, sizeof(path), dir, name);

	if (ret)
		return ret;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		p += n;
		len -= (size_t)n;
	}

	if (close(fd) < 0 && !ret)
		ret = -errno;
	return ret;
}

/* Whether the file @path holds exactly @len bytes equal to @data. */
static bool same_bytes(const char *path, const void *data, size_t len)
{
	struct stat st;
	bool same = false;
	void *map;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return false;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && len > 0 &&
	    (uint64_t)st.st_size == len) {
		map = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd,
			   0);
		if (map != MAP_FAILED) {
			same = memcmp(map, data, len) == 0;
			munmap(map, len);
		}
	}
	close(fd);
	return same;
}

void runs_base(char *out, size_t size)
{
	const char *base = getenv("XDG_STATE_HOME"), *home = getenv("HOME");

	if (base && base[0] == '/')
		snprintf(out, size, "%s/rpifs", base);
	else
		snprintf(out, size, "%s/.local/state/rpifs",
			 home && home[0] ? home : "/tmp");
}

void runs_state_dir(const char *image, char *out, size_t size)
{
	const char *name = strrchr(image, '/');
	uint32_t hash = 2166136261u;
	char base[PATH_MAX];

	for (const char *p = image; *p; p++)
		hash = (hash ^ (uint8_t)*p) * 16777619u;
	runs_base(base, sizeof(base));
	snprintf(out, size, "%s/%.64s-%08x", base, name ? name + 1 : image,
		 hash);
}

int runs_prepare(const char *state_dir, const char *image)
{
	char path[PATH_MAX + 8];
	int ret = mkdir_p(state_dir, 0700);

	if (ret)
		return ret;
	if (runs_path(path, sizeof(path), state_dir, "image") == 0 &&
	    !same_bytes(path, image, strlen(image)))
		ret = runs_write(state_dir, "image", image, strlen(image));
	return ret;
}

/* The state folder's parent: BASE for BASE/NAME-HASH. */
static void base_of(const char *state_dir, char *out, size_t size)
{
	const char *slash = strrchr(state_dir, '/');

	snprintf(out, size, "%.*s", slash ? (int)(slash - state_dir) : 0,
		 state_dir);
}

static uint64_t rotl64(uint64_t x, int r)
{
	return x << r | x >> (64 - r);
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x7fb5d329728ea185ull;
	x ^= x >> 27;
	x *= 0x81dadef4bc2dd44dull;
	return x ^ x >> 33;
}

/*
 * A 128-bit hash of all of @data, at memory speed: four lanes, each
 * stepped per 8-byte word by a bijection of state xor word (an odd
 * multiply, then an xorshift: without it a difference in the top bit
 * stays one bit, and a one-bit change in the next word cancels it). Not a
 * cryptographic hash: it names the user's own blobs, in a folder only
 * they can write, where an accidental match is what must not happen.
 */
void runs_content_hash(const void *data, size_t len, uint64_t out[2])
{
	static const uint64_t k[4] = {
		0x9e3779b97f4a7c15ull, 0xc2b2ae3d27d4eb4full,
		0x165667b19e3779f9ull, 0xd6e8feb86659fd93ull};
	uint64_t lane[4] = {len, ~(uint64_t)len, k[2], k[3]}, w[4];
	const uint8_t *p = data;
	size_t at = 0, rest;

	for (;;) {
		rest = len - at;
		if (rest >= sizeof(w)) {
			memcpy(w, p + at, sizeof(w));
		} else {
			memset(w, 0, sizeof(w));
			memcpy(w, p + at, rest);
		}
		for (int j = 0; j < 4; j++) {
			lane[j] = (lane[j] ^ w[j]) * k[j];
			lane[j] ^= lane[j] >> 29;
		}
		if (rest <= sizeof(w))
			break;
		at += sizeof(w);
	}
	out[0] = mix64(lane[0] ^ rotl64(lane[1], 17) ^ mix64(lane[2]));
	out[1] = mix64(lane[3] ^ rotl64(lane[2], 41) ^ mix64(lane[1] + out[0]));
}

/* A blob's name: its size and the hash of all its bytes. */
static void blob_name(const void *data, size_t len, char *out, size_t size)
{
	uint64_t h[2];

	runs_content_hash(data, len, h);
	snprintf(out, size, "%zu-%016llx%016llx", len, (unsigned long long)h[0],
		 (unsigned long long)h[1]);
}

/* Whether @path is a whole blob of @len bytes (put in place by rename). */
static bool blob_there(const char *path, size_t len)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       (uint64_t)st.st_size == len;
}

/*
 * A blob found by its name is linked without reading it: the name is a
 * hash of every byte (reading tens of MiB back from a cold disk to
 * compare was most of a cold touch run). Blobs are read-only, so a run
 * folder's kernel edited in place cannot change what the name says.
 */
int runs_write_shared(const char *state_dir, const char *dir, const char *name,
		      const void *data, size_t len)
{
	char base[PATH_MAX], blobs[PATH_MAX + 8], key[64], blob[PATH_MAX + 80];
	char path[PATH_MAX], tmp[PATH_MAX + 96];

	base_of(state_dir, base, sizeof(base));
	snprintf(blobs, sizeof(blobs), "%s/blobs", base);
	blob_name(data, len, key, sizeof(key));
	snprintf(blob, sizeof(blob), "%s/%s", blobs, key);
	if (len == 0 || runs_path(path, sizeof(path), dir, name) ||
	    mkdir_p(blobs, 0700))
		return runs_write(dir, name, data, len);
	if (!blob_there(blob, len)) {
		/* Written whole, then put in place: never half a kernel. */
		snprintf(tmp, sizeof(tmp), "%s/.new-%s-%d", blobs, key,
			 (int)getpid());
		if (runs_write(blobs, tmp + strlen(blobs) + 1, data, len) ||
		    chmod(tmp, 0400) != 0 || rename(tmp, blob) != 0) {
			unlink(tmp);
			return runs_write(dir, name, data, len);
		}
	}
	if (link(blob, path) == 0)
		return 0;
	return runs_write(dir, name, data, len);
}

/* Blobs that no run folder links any more. @return the bytes freed. */
static uint64_t prune_blobs(const char *base)
{
	char blobs[PATH_MAX + 8], path[PATH_MAX + 300];
	struct dirent *de;
	struct stat st;
	uint64_t freed = 0;
	DIR *d;

	snprintf(blobs, sizeof(blobs), "%s/blobs", base);
	d = opendir(blobs);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' &&
		    strncmp(de->d_name, ".new-", 5) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", blobs, de->d_name);
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_nlink == 1 && unlink(path) == 0)
			freed += (uint64_t)st.st_blocks * 512;
	}
	if (d)
		closedir(d);
	return freed;
}

/* The image a state folder serves, from its "image" file ("" unknown). */
static void image_of(const char *state_dir, char *out, size_t size)
{
	char path[PATH_MAX + 8];
	FILE *f;

	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/image", state_dir);
	f = fopen(path, "r");
	if (!f)
		return;
	if (!fgets(out, (int)size, f))
		out[0] = '\0';
	fclose(f);
}

static uint64_t seen_bytes;
static struct seen {
	dev_t dev;
	ino_t ino;
} * seen;
static size_t seen_count, seen_cap;

/* Disk use under a folder, each file once however many links it has. */
static int count_entry(const char *path, const struct stat *st, int flag,
		       struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (flag != FTW_F)
		return 0;
	for (size_t i = 0; i < seen_count; i++)
		if (seen[i].dev == st->st_dev && seen[i].ino == st->st_ino)
			return 0;
	if (seen_count == seen_cap) {
		struct seen *bigger = realloc(
			seen, (seen_cap = seen_cap ? seen_cap * 2 : 64) *
				      sizeof(*seen));

		if (!bigger)
			return 0;
		seen = bigger;
	}
	seen[seen_count++] = (struct seen){st->st_dev, st->st_ino};
	seen_bytes += (uint64_t)st->st_blocks * 512;
	return 0;
}

static uint64_t disk_use(const char *dir)
{
	uint64_t before = seen_bytes;

	nftw(dir, count_entry, 16, FTW_PHYS);
	return seen_bytes - before;
}

int runs_scan(struct runs_entry **list, size_t *count, uint64_t *blob_bytes)
{
	char base[PATH_MAX], dir[PATH_MAX + 300], runs[PATH_MAX + 310];
	struct runs_entry *out = NULL, *e;
	size_t n = 0;
	struct dirent *de, *re;
	DIR *d, *rd;

	runs_base(base, sizeof(base));
	seen_count = 0;
	seen_bytes = 0;
	/* The shared files first: a run folder's links to them count there. */
	snprintf(dir, sizeof(dir), "%s/blobs", base);
	*blob_bytes = disk_use(dir);
	d = opendir(base);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || strcmp(de->d_name, "blobs") == 0)
			continue;
		e = realloc(out, (n + 1) * sizeof(*out));
		if (!e)
			break;
		out = e;
		e = &out[n++];
		memset(e, 0, sizeof(*e));
		snprintf(dir, sizeof(dir), "%s/%s", base, de->d_name);
		snprintf(e->state_dir, sizeof(e->state_dir), "%.4000s", dir);
		image_of(dir, e->image, sizeof(e->image));
		e->gone = e->image[0] && access(e->image, F_OK) != 0;
		snprintf(runs, sizeof(runs), "%s/runs", dir);
		rd = opendir(runs);
		while (rd && (re = readdir(rd)))
			if (re->d_name[0] != '.') {
				e->runs++;
				if (strcmp(re->d_name, e->newest) > 0)
					snprintf(e->newest, sizeof(e->newest),
						 "%.63s", re->d_name);
			}
		if (rd)
			closedir(rd);
		e->bytes = disk_use(dir);
	}
	if (d)
		closedir(d);
	free(seen);
	seen = NULL;
	seen_cap = seen_count = 0;
	*list = out;
	*count = n;
	return 0;
}

void runs_forget_gone(void)
{
	char base[PATH_MAX], dir[PATH_MAX + 300], image[PATH_MAX];
	struct dirent *de;
	DIR *d;

	runs_base(base, sizeof(base));
	d = opendir(base);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || strcmp(de->d_name, "blobs") == 0)
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", base, de->d_name);
		image_of(dir, image, sizeof(image));
		if (image[0] && access(image, F_OK) != 0)
			nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
	if (d)
		closedir(d);
	prune_blobs(base);
}

uint64_t runs_clean(void (*removed)(const char *state_dir, const char *image))
{
	struct runs_entry *list;
	char base[PATH_MAX];
	uint64_t blobs, freed = 0;
	size_t n;

	runs_scan(&list, &n, &blobs);
	for (size_t i = 0; i < n; i++) {
		if (!list[i].gone)
			continue;
		nftw(list[i].state_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
		freed += list[i].bytes;
		if (removed)
			removed(list[i].state_dir, list[i].image);
	}
	free(list);
	runs_base(base, sizeof(base));
	return freed + prune_blobs(base);
}
