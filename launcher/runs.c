// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Run folders: each boot gets $XDG_STATE_HOME/rpifs/IMAGE-KEY/runs/TIME/
 * with what it booted (kernel, dtb as on the image and as given to QEMU,
 * initramfs, command line), the argument vector, the adjustments and the
 * console log. The newest ten are kept.
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
			char **bigger = realloc(names, (cap = cap ? cap * 2 : 16) *
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

int runs_write(const char *dir, const char *name, const void *data,
	       size_t len)
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
		map = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
		if (map != MAP_FAILED) {
			same = memcmp(map, data, len) == 0;
			munmap(map, len);
		}
	}
	close(fd);
	return same;
}

int runs_write_reuse(const char *dir, const char *prev, const char *name,
		     const void *data, size_t len)
{
	char old[PATH_MAX], path[PATH_MAX];

	if (prev && prev[0] && runs_path(old, sizeof(old), prev, name) == 0 &&
	    runs_path(path, sizeof(path), dir, name) == 0 &&
	    same_bytes(old, data, len) && link(old, path) == 0)
		return 0;
	return runs_write(dir, name, data, len);
}
