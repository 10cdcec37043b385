// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * crashload MOUNT TRACE JOURNAL WORKLOAD [SEED]: run one workload of the
 * crash-state tests (tests/crash/) against a mounted rpifs built with
 * -DRPIFS_IO_TRACE, whose trace is TRACE, and say in JOURNAL what each
 * operation was and when it returned, for tests/crash/check.py.
 *
 * Each operation is one line, tab-separated:
 *   op ID BEGIN END RET KIND ARG [ARG2]
 * BEGIN and END are the trace's size in bytes before the call and after it
 * returned (the daemon appends a call's records before it replies), RET is
 * 0 or -errno. After it, for every path the operation may have changed, a
 * line with what the mount shows now:
 *   state ID PATH absent|dir|file SIZE BLOB_OFFSET
 * the bytes being at BLOB_OFFSET of JOURNAL.blob. Paths are inside boot/.
 * KIND is create, write, truncate, fsync, fsyncdir, close, rename, unlink,
 * mkdir, rmdir, or ctl (a control file written and closed; ARG the control
 * file, ARG2 the boot file it commits). Reading back must not write: when
 * the trace grew meanwhile, a line
 *   quiet BEGIN END
 * says so, and the checker accepts only the clusters of a removed file
 * freed there (the kernel forgets a replaced file's inode when it likes,
 * and its clusters go then).
 *
 * Workloads: create append overwrite truncate rename mkdir dirgrow bigfile
 * fragdel control; crashload --list names them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

static const char *mnt, *trace_path;
static FILE *journal, *blob;
static long blob_off;
static unsigned op_id;
static off_t op_begin;
static uint64_t rng;

/* Facts of the volume, from statvfs of boot/. */
static unsigned cluster_size, fat_bits;

static void die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "crashload: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static uint32_t rnd(uint32_t n)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 2685821657736338717ull) >> 33) % n;
}

/*
 * Data for a write at file offset @off: each 8-byte word holds a tag new
 * for this write and the word's offset in the file, so that no two places
 * and no two writes hold the same bytes (a misplaced or stale sector
 * shows), yet recordings compress well.
 */
static void fill(uint8_t *buf, size_t len, uint64_t off)
{
	uint64_t tag = (uint64_t)(rnd(1u << 24) + 1) << 40;

	for (size_t i = 0; i < len; i++) {
		uint64_t at = off + i;
		uint64_t word = tag | at / 8;

		buf[i] = (uint8_t)(word >> (8 * (at % 8)));
	}
}

static off_t trace_size(void)
{
	struct stat st;

	if (stat(trace_path, &st) != 0)
		return 0;
	return st.st_size;
}

/* The trace stops growing: asynchronous work (a release) has ended. */
static void settle(void)
{
	off_t last = trace_size();

	for (int quiet = 0; quiet < 5;) {
		struct timespec ts = {0, 20 * 1000 * 1000};
		off_t now;

		nanosleep(&ts, NULL);
		now = trace_size();
		quiet = now == last ? quiet + 1 : 0;
		last = now;
	}
}

static char *boot_path(const char *path)
{
	static char buf[2][4096];
	static int which;

	which ^= 1;
	snprintf(buf[which], sizeof(buf[which]), "%s/boot%s", mnt, path);
	return buf[which];
}

/* The last file contents put in the blob, which end it. */
static struct {
	char path[256];
	uint8_t *data;
	size_t len;
	long off;
} last;

/* The whole file at @p, read through the mount, into a malloc'd buffer. */
static uint8_t *read_back(const char *p, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	uint8_t *buf = malloc(cap);
	int fd = open(p, O_RDONLY);
	ssize_t r;

	if (fd < 0 || !buf)
		die("cannot read back %s: %s", p, strerror(errno));
	while ((r = read(fd, buf + n, cap - n)) > 0) {
		n += (size_t)r;
		if (n == cap && !(buf = realloc(buf, cap *= 2)))
			die("out of memory");
	}
	if (r < 0)
		die("cannot read back %s: %s", p, strerror(errno));
	close(fd);
	*len = n;
	return buf;
}

/*
 * Record what the mount shows at PATH now. A file that only grew since
 * its last snapshot, the last thing in the blob, adds just its new tail.
 */
static void snap(const char *path)
{
	struct stat st;
	off_t before = trace_size();
	char *p = boot_path(path);

	if (lstat(p, &st) != 0) {
		fprintf(journal, "state\t%u\t%s\tabsent\t0\t0\n", op_id, path);
	} else if (S_ISDIR(st.st_mode)) {
		fprintf(journal, "state\t%u\t%s\tdir\t0\t0\n", op_id, path);
	} else {
		size_t len, have = 0;
		uint8_t *data = read_back(p, &len);
		long start = blob_off;

		if (strcmp(last.path, path) == 0 &&
		    last.off + (long)last.len == blob_off && len >= last.len &&
		    memcmp(data, last.data, last.len) == 0) {
			have = last.len;
			start = last.off;
		}
		if (fwrite(data + have, 1, len - have, blob) != len - have)
			die("cannot write the blob");
		blob_off += (long)(len - have);
		fprintf(journal, "state\t%u\t%s\tfile\t%zu\t%ld\n", op_id, path,
			len, start);
		free(last.data);
		snprintf(last.path, sizeof(last.path), "%s", path);
		last.data = data;
		last.len = len;
		last.off = start;
	}
	if (trace_size() != before)
		fprintf(journal, "quiet\t%lld\t%lld\n", (long long)before,
			(long long)trace_size());
}

static void begin(void)
{
	op_begin = trace_size();
}

/* End an operation: its line, then the state of each path it touched. */
static void end(int ret, const char *kind, const char *a, const char *b)
{
	op_id++;
	fprintf(journal, "op\t%u\t%lld\t%lld\t%d\t%s\t%s%s%s\n", op_id,
		(long long)op_begin, (long long)trace_size(), ret, kind, a,
		b ? "\t" : "", b ? b : "");
	if (strcmp(kind, "ctl") == 0) {
		snap(b);
	} else if (strcmp(kind, "rename") == 0) {
		snap(a);
		snap(b);
	} else if (strcmp(kind, "fsync") != 0 &&
		   strcmp(kind, "fsyncdir") != 0 &&
		   strcmp(kind, "close") != 0) {
		snap(a); /* for write and truncate, @b is not a path */
	}
	fflush(journal);
	fflush(blob);
}

static int result(int r)
{
	return r < 0 ? -errno : 0;
}

/* ---- operations: each one call, recorded ---- */

#define MAX_OPEN 16
static struct {
	char path[256];
	int fd;
} files[MAX_OPEN];

static int fd_of(const char *path)
{
	for (int i = 0; i < MAX_OPEN; i++)
		if (files[i].fd > 0 && strcmp(files[i].path, path) == 0)
			return files[i].fd;
	die("%s is not open", path);
}

static void do_create(const char *path)
{
	int fd, i;

	begin();
	fd = open(boot_path(path), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	end(result(fd), "create", path, NULL);
	if (fd < 0)
		die("create %s: %s", path, strerror(errno));
	for (i = 0; i < MAX_OPEN && files[i].fd > 0; i++)
		;
	if (i == MAX_OPEN)
		die("too many open files");
	snprintf(files[i].path, sizeof(files[i].path), "%s", path);
	files[i].fd = fd;
}

static void do_open(const char *path)
{
	int fd, i;

	fd = open(boot_path(path), O_WRONLY);
	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	for (i = 0; i < MAX_OPEN && files[i].fd > 0; i++)
		;
	if (i == MAX_OPEN)
		die("too many open files");
	snprintf(files[i].path, sizeof(files[i].path), "%s", path);
	files[i].fd = fd;
}

static void do_close(const char *path)
{
	for (int i = 0; i < MAX_OPEN; i++) {
		if (files[i].fd > 0 && strcmp(files[i].path, path) == 0) {
			int r;

			begin();
			r = close(files[i].fd);
			files[i].fd = 0;
			end(result(r), "close", path, NULL);
			return;
		}
	}
	die("%s is not open", path);
}

static void do_write(const char *path, uint64_t off, size_t len)
{
	uint8_t *buf = malloc(len ? len : 1);
	char arg[64];
	ssize_t n;

	if (!buf)
		die("out of memory");
	fill(buf, len, off);
	snprintf(arg, sizeof(arg), "%llu+%zu", (unsigned long long)off, len);
	begin();
	n = pwrite(fd_of(path), buf, len, (off_t)off);
	end(n < 0 ? -errno : 0, "write", path, arg);
	if (n != (ssize_t)len)
		die("write %s %s: %s", path, arg,
		    n < 0 ? strerror(errno) : "short");
	free(buf);
}

static uint64_t size_of(const char *path)
{
	struct stat st;

	if (stat(boot_path(path), &st) != 0)
		die("stat %s: %s", path, strerror(errno));
	return (uint64_t)st.st_size;
}

static void do_append(const char *path, size_t len)
{
	do_write(path, size_of(path), len);
}

static void do_fsync(const char *path)
{
	int r;

	begin();
	r = fsync(fd_of(path));
	end(result(r), "fsync", path, NULL);
	if (r)
		die("fsync %s: %s", path, strerror(errno));
}

static void do_fsyncdir(const char *path)
{
	int fd = open(boot_path(path), O_RDONLY | O_DIRECTORY);
	int r;

	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	begin();
	r = fsync(fd);
	end(result(r), "fsyncdir", path, NULL);
	close(fd);
	if (r)
		die("fsync %s: %s", path, strerror(errno));
}

static void do_truncate(const char *path, uint64_t size)
{
	char arg[32];
	int r;

	snprintf(arg, sizeof(arg), "%llu", (unsigned long long)size);
	begin();
	r = ftruncate(fd_of(path), (off_t)size);
	end(result(r), "truncate", path, arg);
	if (r)
		die("truncate %s: %s", path, strerror(errno));
}

static void do_rename(const char *from, const char *to)
{
	int r;

	begin();
	r = rename(boot_path(from), boot_path(to));
	end(result(r), "rename", from, to);
	if (r)
		die("rename %s %s: %s", from, to, strerror(errno));
}

static void do_unlink(const char *path)
{
	int r;

	begin();
	r = unlink(boot_path(path));
	end(result(r), "unlink", path, NULL);
	if (r)
		die("unlink %s: %s", path, strerror(errno));
}

static void do_mkdir(const char *path)
{
	int r;

	begin();
	r = mkdir(boot_path(path), 0755);
	end(result(r), "mkdir", path, NULL);
	if (r)
		die("mkdir %s: %s", path, strerror(errno));
}

static void do_rmdir(const char *path, int want)
{
	int r;

	begin();
	r = rmdir(boot_path(path));
	end(result(r), "rmdir", path, NULL);
	if ((r ? -errno : 0) != want)
		die("rmdir %s: %s", path, r ? strerror(errno) : "succeeded");
}

/*
 * A control file written and closed (its commit), or with @via, written
 * as a temporary file in the mount's root and renamed over it, as sed -i
 * does. @target is the boot file it commits.
 */
static void do_ctl(const char *name, const char *target, const void *data,
		   size_t len, const char *via)
{
	char path[4096], tmp[4096];
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", mnt, name);
	if (via) {
		snprintf(tmp, sizeof(tmp), "%s/%s", mnt, via);
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || write(fd, data, len) != (ssize_t)len || close(fd))
			die("write %s: %s", tmp, strerror(errno));
		begin();
		r = rename(tmp, path);
	} else {
		begin();
		fd = open(path, O_WRONLY | O_TRUNC);
		if (fd < 0)
			die("open %s: %s", path, strerror(errno));
		r = write(fd, data, len) == (ssize_t)len ? 0 : -1;
		if (close(fd))
			r = -1;
	}
	settle();
	end(result(r), "ctl", name, target);
	if (r)
		die("commit %s: %s", name, strerror(errno));
}

/* ---- the workloads ---- */

/* Files of sizes around the sector and cluster edges, each fsynced. */
static void wl_create(void)
{
	const size_t cs = cluster_size;
	const size_t sizes[] = {0,	1,  100,    511,	512,  513,
				cs - 1, cs, cs + 1, 3 * cs + 7, 9000, 20000};
	char path[64];

	do_mkdir("/sub");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(path, sizeof(path),
			 i % 3 == 2 ? "/sub/file-%zu.bin"
			 : i % 2    ? "/F%zu.BIN"
				    : "/created file %zu.bin",
			 i);
		do_create(path);
		if (sizes[i])
			do_write(path, 0, sizes[i]);
		do_fsync(path);
		do_close(path);
	}
}

/* One file appended to and fsynced, again and again. */
static void wl_append(void)
{
	do_create("/log.txt");
	for (int i = 0; i < 30; i++) {
		do_append("/log.txt",
			  1 + rnd(i % 5 == 4 ? 3 * cluster_size : 700));
		do_fsync("/log.txt");
	}
	/* Two appends under one fsync. */
	do_append("/log.txt", 300);
	do_append("/log.txt", cluster_size + 5);
	do_fsync("/log.txt");
	do_close("/log.txt");
}

/* Bytes rewritten inside a file: the chain stays, only data changes. */
static void wl_overwrite(void)
{
	const uint64_t size = 6 * cluster_size + 100;

	do_create("/data.bin");
	do_write("/data.bin", 0, size);
	do_fsync("/data.bin");
	for (int i = 0; i < 12; i++) {
		uint64_t off = rnd((uint32_t)size - 1);
		size_t len = 1 + rnd((uint32_t)(size - off));

		do_write("/data.bin", off, len);
		if (i % 3 != 1)
			do_fsync("/data.bin");
	}
	do_write("/data.bin", 0, size);
	do_fsync("/data.bin");
	/* config.txt rewritten in place, as "cat > config.txt" would not. */
	do_open("/config.txt");
	do_write("/config.txt", 10, 40);
	do_fsync("/config.txt");
	do_close("/config.txt");
	do_close("/data.bin");
}

/* Truncate down and up, with and without an fsync between. */
static void wl_truncate(void)
{
	const uint64_t cs = cluster_size;

	do_create("/t.bin");
	do_write("/t.bin", 0, 10 * cs + 50);
	do_fsync("/t.bin");
	do_truncate("/t.bin", 3 * cs + 1);
	do_fsync("/t.bin");
	do_truncate("/t.bin", 8 * cs);
	do_fsync("/t.bin");
	do_write("/t.bin", 8 * cs - 10, 30);
	do_truncate("/t.bin", cs / 2);
	do_fsync("/t.bin");
	do_truncate("/t.bin", 0);
	do_fsync("/t.bin");
	do_truncate("/t.bin", 2 * cs + 3);
	do_truncate("/t.bin", cs);
	do_fsync("/t.bin");
	do_close("/t.bin");
	/* An fsynced file of the image cut short. */
	do_open("/bcm2710-rpi-3-b.dtb");
	do_truncate("/bcm2710-rpi-3-b.dtb", 1000);
	do_fsync("/bcm2710-rpi-3-b.dtb");
	do_close("/bcm2710-rpi-3-b.dtb");
}

/* Editors' saves: a temporary file written, fsynced, renamed over. */
static void wl_rename(void)
{
	char name[64];

	for (int i = 0; i < 3; i++) {
		/* sed -i: a temporary name in the same folder. */
		snprintf(name, sizeof(name), "/sed%06u", rnd(1000000));
		do_create(name);
		do_write(name, 0, 200 + rnd(400));
		do_fsync(name);
		do_close(name);
		do_rename(name, "/config.txt");
		do_fsyncdir("/");
	}
	/* vim (backup mode): the original kept as file~, a new file written. */
	do_rename("/cmdline.txt", "/cmdline.txt~");
	do_create("/cmdline.txt");
	do_write("/cmdline.txt", 0, 120);
	do_fsync("/cmdline.txt");
	do_close("/cmdline.txt");
	do_unlink("/cmdline.txt~");
	do_fsyncdir("/");
	/* In a subdirectory, over a file of several clusters. */
	do_create("/overlays/.README.swp");
	do_write("/overlays/.README.swp", 0, 3 * cluster_size + 11);
	do_fsync("/overlays/.README.swp");
	do_close("/overlays/.README.swp");
	do_rename("/overlays/.README.swp", "/overlays/README");
	do_fsyncdir("/overlays");
	/* A plain rename to a new name, then into another directory. */
	do_rename("/issue.txt", "/issue-renamed.txt");
	do_fsyncdir("/");
	do_rename("/issue-renamed.txt", "/overlays/issue.txt");
	do_fsyncdir("/overlays");
	do_fsyncdir("/");
}

static void wl_mkdir(void)
{
	do_mkdir("/d1");
	do_mkdir("/d1/d2");
	do_fsyncdir("/d1");
	do_create("/d1/d2/inner.txt");
	do_write("/d1/d2/inner.txt", 0, 700);
	do_fsync("/d1/d2/inner.txt");
	do_close("/d1/d2/inner.txt");
	do_rmdir("/d1/d2", -ENOTEMPTY);
	do_mkdir("/d3");
	do_unlink("/d1/d2/inner.txt");
	do_rmdir("/d1/d2", 0);
	do_fsyncdir("/d1");
	do_rmdir("/d1", 0);
	do_rmdir("/empty-dir", 0);
	do_fsyncdir("/");
	do_mkdir("/d3/a long directory name");
	do_rmdir("/d3/a long directory name", 0);
	do_rmdir("/d3", 0);
	do_fsyncdir("/");
}

/* A directory growing past a cluster (and past two). */
static void wl_dirgrow(void)
{
	unsigned per_cluster = cluster_size / 32;
	/* Each name takes 3 slots (two long name entries and the 8.3). */
	unsigned count = 2 * per_cluster / 3 + 3;
	char path[96];

	do_mkdir("/grow");
	do_fsyncdir("/");
	for (unsigned i = 0; i < count; i++) {
		snprintf(path, sizeof(path),
			 "/grow/a file in a growing dir %03u", i);
		do_create(path);
		do_write(path, 0, 1 + rnd(300));
		if (i % 2 == 0)
			do_fsync(path);
		do_close(path);
	}
	do_fsyncdir("/grow");
}

/* A file growing past the clusters one FAT sector maps. */
static void wl_bigfile(void)
{
	unsigned per_sector = 512 * 8 / fat_bits;
	uint64_t want = (uint64_t)(per_sector + per_sector / 4) * cluster_size;
	size_t chunk = 8192;

	do_create("/big.bin");
	for (unsigned i = 0; (uint64_t)i * chunk < want; i++) {
		do_write("/big.bin", (uint64_t)i * chunk, chunk);
		if (i % 4 == 3)
			do_fsync("/big.bin");
	}
	do_fsync("/big.bin");
	do_close("/big.bin");
}

/* Two files grown in turns, so their clusters interleave; one deleted. */
static void wl_fragdel(void)
{
	const size_t cs = cluster_size;

	do_create("/frag-a.bin");
	do_create("/frag-b.bin");
	for (int i = 0; i < 8; i++) {
		do_write("/frag-a.bin", (uint64_t)i * cs, cs);
		do_write("/frag-b.bin", (uint64_t)i * cs, cs);
	}
	do_fsync("/frag-a.bin");
	do_close("/frag-a.bin");
	do_close("/frag-b.bin");
	do_unlink("/frag-a.bin");
	/* Its clusters taken again before anything is flushed. */
	do_create("/frag-c.bin");
	do_write("/frag-c.bin", 0, 6 * cs);
	do_fsync("/frag-c.bin");
	do_close("/frag-c.bin");
	do_unlink("/frag-b.bin");
	do_fsyncdir("/");
	do_unlink("/frag-c.bin");
	do_create("/frag-d.bin");
	do_write("/frag-d.bin", 0, 10 * cs);
	do_fsync("/frag-d.bin");
	do_close("/frag-d.bin");
}

static void wl_control(void)
{
	static const char cmd1[] = "console=serial0,115200 "
				   "root=PARTUUID=5eedc0de-02 rootwait quiet\n";
	static const char cmd2[] =
		"console=serial0,115200 root=PARTUUID=5eedc0de-02 "
		"rootfstype=ext4 rootwait init=/bin/sh\n";
	size_t klen = 5 * cluster_size + 123;
	uint8_t *kernel = malloc(klen);

	if (!kernel)
		die("out of memory");
	fill(kernel, klen, 0);
	do_ctl("userconf", "/userconf.txt", "pi:raspberry\n", 13, NULL);
	do_ctl("cmdline", "/cmdline.txt", cmd1, sizeof(cmd1) - 1, NULL);
	do_ctl("kernel", "/kernel8.img", kernel, klen, NULL);
	do_ctl("userconf", "/userconf.txt", "alice:secret-words\n", 19, NULL);
	do_ctl("cmdline", "/cmdline.txt", cmd2, sizeof(cmd2) - 1,
	       "cmdline.new");
	fill(kernel, klen / 2, 0);
	do_ctl("kernel", "/kernel8.img", kernel, klen / 2, NULL);
	free(kernel);
}

static const struct {
	const char *name;
	void (*run)(void);
} workloads[] = {
	{"create", wl_create},	     {"append", wl_append},
	{"overwrite", wl_overwrite}, {"truncate", wl_truncate},
	{"rename", wl_rename},	     {"mkdir", wl_mkdir},
	{"dirgrow", wl_dirgrow},     {"bigfile", wl_bigfile},
	{"fragdel", wl_fragdel},     {"control", wl_control},
};

int main(int argc, char **argv)
{
	char path[4096];
	struct statvfs sv;
	size_t i;

	if (argc == 2 && strcmp(argv[1], "--list") == 0) {
		for (i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++)
			printf("%s\n", workloads[i].name);
		return 0;
	}
	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: crashload MOUNT TRACE JOURNAL WORKLOAD "
				"[SEED] | crashload --list\n");
		return 2;
	}
	mnt = argv[1];
	trace_path = argv[2];
	rng = (argc == 6 ? strtoull(argv[5], NULL, 0) : 1) *
		      0x9e3779b97f4a7c15ull +
	      11;
	for (i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++)
		if (strcmp(workloads[i].name, argv[4]) == 0)
			break;
	if (i == sizeof(workloads) / sizeof(workloads[0]))
		die("no workload %s (crashload --list)", argv[4]);
	journal = fopen(argv[3], "w");
	snprintf(path, sizeof(path), "%s.blob", argv[3]);
	blob = fopen(path, "wb");
	if (!journal || !blob)
		die("cannot write %s: %s", argv[3], strerror(errno));
	if (statvfs(boot_path(""), &sv) != 0)
		die("statvfs %s: %s", boot_path(""), strerror(errno));
	cluster_size = (unsigned)sv.f_bsize;
	fat_bits = sv.f_blocks < 4085 ? 12 : sv.f_blocks < 65525 ? 16 : 32;
	fprintf(journal,
		"info\tworkload\t%s\ninfo\tcluster_size\t%u\ninfo\tfat\t%u\n",
		argv[4], cluster_size, fat_bits);
	workloads[i].run();
	for (int f = 0; f < MAX_OPEN; f++)
		if (files[f].fd > 0)
			die("%s left open", files[f].path);
	if (fclose(journal) || fclose(blob))
		die("cannot write %s", argv[3]);
	return 0;
}
