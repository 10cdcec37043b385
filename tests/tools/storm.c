// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * storm DIR LOG SEED: a mixed write workload for crash tests, run until
 * killed or until DIR fails. Some files are written, fsynced and then left
 * alone: each is recorded in LOG ("PATH SIZE CONTENT_SEED", LOG fsynced)
 * only after its fsync returned, so every LOG line names a file that must
 * survive a crash intact. Other files are churned: appended, truncated,
 * renamed, removed, in a few directories.
 *
 * storm --gen CONTENT_SEED SIZE: print the content of such a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t state;

static uint32_t rnd(uint32_t n)
{
	state ^= state >> 12;
	state ^= state << 25;
	state ^= state >> 27;
	return (uint32_t)((state * 2685821657736338717ull) >> 33) % n;
}

static void gen(uint32_t seed, uint8_t *buf, size_t size)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < size; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
}

static uint8_t buf[1 << 20];

/* Write the whole file in chunks of random size; @return 0 or -1. */
static int write_file(const char *path, uint32_t seed, size_t size, int sync)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	size_t done = 0;

	if (fd < 0)
		return -1;
	gen(seed, buf, size);
	while (done < size) {
		size_t n = 1 + rnd(65536);
		ssize_t w;

		if (n > size - done)
			n = size - done;
		w = write(fd, buf + done, n);
		if (w <= 0) {
			close(fd);
			return -1;
		}
		done += (size_t)w;
	}
	if (sync && fsync(fd) != 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/*
 * One random step of the storm in @root: 1 when a call failed in a way
 * the storm does not expect (not a full disk, not a name another step
 * took away).
 */
static int storm_step(const char *root, FILE *log, int logfd,
		      unsigned *serial_p)
{
	static const char *const dirs[] = {"", "d1/", "d1/d2/", "d3/"};
	char path[4096], path2[4096];
	const char *d = dirs[rnd(4)];
	uint32_t seed = rnd(1u << 30);
	size_t size = rnd(4) ? rnd(20000) : rnd(sizeof(buf));
	int fd;

	switch (rnd(10)) {
	case 0 ... 2:
		/* A keeper: written, fsynced, logged, never touched. */
		snprintf(path, sizeof(path), "%s/%skeep-%u.bin", root, d,
			 (*serial_p)++);
		if (write_file(path, seed, size, 1) != 0)
			return 1;
		fprintf(log, "%skeep-%u.bin %zu %u\n", d, *serial_p - 1, size,
			seed);
		fflush(log);
		fsync(logfd);
		break;
	case 3 ... 4:
		snprintf(path, sizeof(path), "%s/%schurn-%u.tmp", root, d,
			 rnd(20));
		if (write_file(path, seed, size, 0) != 0 && errno != ENOSPC)
			return 1;
		break;
	case 5:
		snprintf(path, sizeof(path), "%s/%schurn-%u.tmp", root, d,
			 rnd(20));
		fd = open(path, O_WRONLY | O_APPEND);
		if (fd >= 0) {
			gen(seed, buf, 4096);
			if (write(fd, buf, 1 + rnd(4096)) < 0 &&
			    errno != ENOSPC)
				return 1;
			close(fd);
		}
		break;
	case 6:
		snprintf(path, sizeof(path), "%s/%schurn-%u.tmp", root, d,
			 rnd(20));
		if (truncate(path, rnd(100000)) != 0 && errno != ENOENT &&
		    errno != ENOSPC)
			return 1;
		break;
	case 7:
		snprintf(path, sizeof(path), "%s/%schurn-%u.tmp", root, d,
			 rnd(20));
		snprintf(path2, sizeof(path2), "%s/%schurn-%u.tmp", root,
			 dirs[rnd(4)], rnd(20));
		if (rename(path, path2) != 0 && errno != ENOENT)
			return 1;
		break;
	case 8:
		snprintf(path, sizeof(path), "%s/%schurn-%u.tmp", root, d,
			 rnd(20));
		if (unlink(path) != 0 && errno != ENOENT)
			return 1;
		break;
	default:
		snprintf(path, sizeof(path), "%s/%scd-%u", root, d, rnd(5));
		if (rnd(2) ? mkdir(path, 0755) != 0 && errno != EEXIST
			   : rmdir(path) != 0 && errno != ENOENT &&
				     errno != ENOTEMPTY)
			return 1;
		break;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char path[4096];
	unsigned serial = 0;
	FILE *log;
	int logfd;

	if (argc == 4 && strcmp(argv[1], "--gen") == 0) {
		size_t size = strtoul(argv[3], NULL, 0);

		gen((uint32_t)strtoul(argv[2], NULL, 0), buf, size);
		return fwrite(buf, 1, size, stdout) == size ? 0 : 1;
	}
	if (argc != 4) {
		fprintf(stderr,
			"usage: storm DIR LOG SEED | storm --gen SEED SIZE\n");
		return 2;
	}
	state = strtoull(argv[3], NULL, 0) * 0x9e3779b97f4a7c15ull + 7;
	log = fopen(argv[2], "a");
	if (!log)
		return 2;
	logfd = fileno(log);
	snprintf(path, sizeof(path), "%s/d1", argv[1]);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/d1/d2", argv[1]);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/d3", argv[1]);
	mkdir(path, 0755);

	for (;;)
		if (storm_step(argv[1], log, logfd, &serial))
			return 1;
}
