// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * opseq SEED COUNT DIR MODEL: apply the same random sequence of file
 * operations (seeded, so reproducible) to DIR (under test) and MODEL (a
 * host directory), check that each operation gives the same result on both
 * (same errno, same bytes read), and finally that the trees are identical:
 * names, types, sizes and contents. Prints the failing step and exits 1 on
 * the first difference.
 *
 * Names come from a pool that is distinct case-insensitively, since FAT
 * compares names that way and the model does not.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const names[] = {
	"a",
	"b.txt",
	"C.TXT",
	"config.txt",
	"README.md",
	"MiXeD.Name",
	"x.y.z",
	".hidden",
	"a long file name number 1.data",
	"a long file name number 2.data",
	"a long file name number 3.data",
	"a long file name number 4.data",
	"a long file name number 5.data",
	"a long file name number 6.data",
	"longfilename1.txt",
	"longfilename2.txt",
	"longfilename3.txt",
	"Grüße.txt",
	"日本語.txt",
	"\xf0\x9f\x8d\x93 berry.txt",
	"name with  two  spaces",
	"kernel8.img",
	"UPPER",
	"lower",
	"dir1",
	"Dir2",
	"overlays",
	"1234.567",
	"x",
	"a-name-that-needs-three-long-name-slots-or-so-to-be-stored.bin",
};
#define NAME_COUNT (sizeof(names) / sizeof(names[0]))

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	/* xorshift64*: small, fast, reproducible everywhere. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ull) >> 33) % n;
}

static const char *dir_a, *dir_b;
static unsigned step;
static char desc[8192];

static void fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "opseq: step %u (%s): ", step, desc);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* A random path of up to 3 components below the root. */
static void random_path(char *out, size_t size)
{
	int depth = (int)rnd(3) + 1;
	size_t o = 0;

	out[0] = '\0';
	for (int i = 0; i < depth; i++) {
		const char *n = i + 1 < depth ? names[24 + rnd(3)]
					      : names[rnd(NAME_COUNT)];

		o += (size_t)snprintf(out + o, size - o, "%s%s", i ? "/" : "",
				      n);
	}
}

static void both(char *a, char *b, size_t size, const char *rel)
{
	snprintf(a, size, "%s/%s", dir_a, rel);
	snprintf(b, size, "%s/%s", dir_b, rel);
}

static void same(int ra, int ea, int rb, int eb)
{
	if ((ra < 0) != (rb < 0) || (ra < 0 && ea != eb))
		fail("results differ: %d (%s) under test, %d (%s) in the model",
		     ra, ra < 0 ? strerror(ea) : "ok", rb,
		     rb < 0 ? strerror(eb) : "ok");
}

static uint8_t buf_a[1 << 18], buf_b[1 << 18];

static void fill(uint8_t *p, size_t n)
{
	uint32_t x = rnd(0xffffffffu);

	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (uint8_t)(x >> 16);
	}
}

static void op_write(const char *rel)
{
	char a[4096], b[4096];
	size_t len = rnd(4) == 0 ? rnd(sizeof(buf_a)) : rnd(5000);
	off_t off = rnd(3) == 0 ? (off_t)rnd(300000) : (off_t)rnd(5000);
	int flags = O_WRONLY | O_CREAT | (rnd(4) == 0 ? O_APPEND : 0) |
		    (rnd(6) == 0 ? O_TRUNC : 0);
	int fa, fb, ea, eb;
	ssize_t na, nb;

	both(a, b, sizeof(a), rel);
	snprintf(desc, sizeof(desc), "write %zu at %lld%s%s to %s", len,
		 (long long)off, flags & O_APPEND ? " append" : "",
		 flags & O_TRUNC ? " trunc" : "", rel);
	fill(buf_a, len);
	fa = open(a, flags, 0644);
	ea = errno;
	fb = open(b, flags, 0644);
	eb = errno;
	same(fa, ea, fb, eb);
	if (fa < 0)
		return;
	na = pwrite(fa, buf_a, len, off);
	ea = errno;
	nb = pwrite(fb, buf_a, len, off);
	eb = errno;
	if (flags & O_APPEND) {
		/* pwrite with O_APPEND appends on Linux: both did. */
	}
	same((int)(na < 0 ? -1 : 0), ea, (int)(nb < 0 ? -1 : 0), eb);
	if (na != nb)
		fail("wrote %zd under test, %zd in the model", na, nb);
	if (rnd(5) == 0 && (fsync(fa) != 0 || fsync(fb) != 0))
		fail("fsync: %s", strerror(errno));
	if (close(fa) != 0 || close(fb) != 0)
		fail("close: %s", strerror(errno));
}

static void op_read(const char *rel)
{
	char a[4096], b[4096];
	off_t off = (off_t)rnd(300000);
	size_t len = rnd(sizeof(buf_a));
	int fa, fb, ea, eb;
	ssize_t na, nb;

	both(a, b, sizeof(a), rel);
	snprintf(desc, sizeof(desc), "read %zu at %lld of %s", len,
		 (long long)off, rel);
	fa = open(a, O_RDONLY);
	ea = errno;
	fb = open(b, O_RDONLY);
	eb = errno;
	same(fa, ea, fb, eb);
	if (fa < 0)
		return;
	na = pread(fa, buf_a, len, off);
	ea = errno;
	nb = pread(fb, buf_b, len, off);
	eb = errno;
	same((int)na, ea, (int)nb, eb);
	if (na != nb || (na > 0 && memcmp(buf_a, buf_b, (size_t)na) != 0))
		fail("read different bytes (%zd, %zd)", na, nb);
	close(fa);
	close(fb);
}

static void op_truncate(const char *rel)
{
	char a[4096], b[4096];
	off_t len = rnd(2) ? (off_t)rnd(5000) : (off_t)rnd(400000);
	int ra, rb, ea, eb;

	both(a, b, sizeof(a), rel);
	snprintf(desc, sizeof(desc), "truncate %s to %lld", rel,
		 (long long)len);
	ra = truncate(a, len);
	ea = errno;
	rb = truncate(b, len);
	eb = errno;
	same(ra, ea, rb, eb);
}

static void op_simple(const char *what, const char *rel,
		      int (*fn)(const char *path))
{
	char a[4096], b[4096];
	int ra, rb, ea, eb;

	both(a, b, sizeof(a), rel);
	snprintf(desc, sizeof(desc), "%s %s", what, rel);
	ra = fn(a);
	ea = errno;
	rb = fn(b);
	eb = errno;
	same(ra, ea, rb, eb);
}

static int do_mkdir(const char *p)
{
	return mkdir(p, 0755);
}

static void op_rename(const char *from, const char *to)
{
	char a1[4096], b1[4096], a2[4096], b2[4096];
	int ra, rb, ea, eb;

	both(a1, b1, sizeof(a1), from);
	both(a2, b2, sizeof(a2), to);
	snprintf(desc, sizeof(desc), "rename %s to %s", from, to);
	ra = rename(a1, a2);
	ea = errno;
	rb = rename(b1, b2);
	eb = errno;
	/* Linux says ENOTEMPTY or EEXIST for a non-empty target directory. */
	if (ra < 0 && rb < 0 && (ea == ENOTEMPTY || ea == EEXIST) &&
	    (eb == ENOTEMPTY || eb == EEXIST))
		return;
	same(ra, ea, rb, eb);
}

/* Compare two trees recursively. */
static void compare(const char *a, const char *b, const char *rel)
{
	DIR *da = opendir(a), *db = opendir(b);
	struct dirent *de;
	int count_a = 0, count_b = 0;

	snprintf(desc, sizeof(desc), "compare %s", rel[0] ? rel : "/");
	if (!da || !db)
		fail("cannot open %s", rel);
	while ((de = readdir(db))) {
		char pa[4096], pb[4096], r[4096];
		struct stat sa, sb;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		count_b++;
		snprintf(pa, sizeof(pa), "%s/%s", a, de->d_name);
		snprintf(pb, sizeof(pb), "%s/%s", b, de->d_name);
		snprintf(r, sizeof(r), "%s/%s", rel, de->d_name);
		if (lstat(pb, &sb) != 0)
			fail("model: %s", strerror(errno));
		if (lstat(pa, &sa) != 0)
			fail("%s is missing under test", r);
		if (S_ISDIR(sa.st_mode) != S_ISDIR(sb.st_mode))
			fail("%s: a directory on one side only", r);
		if (S_ISDIR(sb.st_mode)) {
			compare(pa, pb, r);
			continue;
		}
		if (sa.st_size != sb.st_size)
			fail("%s: size %lld under test, %lld in the model", r,
			     (long long)sa.st_size, (long long)sb.st_size);
		{
			int fa = open(pa, O_RDONLY), fb = open(pb, O_RDONLY);
			ssize_t na, nb;

			if (fa < 0 || fb < 0)
				fail("%s: cannot open", r);
			do {
				na = read(fa, buf_a, sizeof(buf_a));
				nb = read(fb, buf_b, sizeof(buf_b));
				if (na != nb || (na > 0 && memcmp(buf_a, buf_b,
								  (size_t)na)))
					fail("%s: contents differ", r);
			} while (na > 0);
			close(fa);
			close(fb);
		}
	}
	rewinddir(da);
	while ((de = readdir(da)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			count_a++;
	if (count_a != count_b)
		fail("%s: %d entries under test, %d in the model", rel, count_a,
		     count_b);
	closedir(da);
	closedir(db);
}

int main(int argc, char **argv)
{
	unsigned count, every = 50;

	if (argc != 5) {
		fprintf(stderr, "usage: opseq SEED COUNT DIR MODEL\n");
		return 2;
	}
	rng_state = strtoull(argv[1], NULL, 0) * 0x9e3779b97f4a7c15ull + 1;
	count = (unsigned)strtoul(argv[2], NULL, 0);
	dir_a = argv[3];
	dir_b = argv[4];
	if (getenv("OPSEQ_EVERY"))
		every = (unsigned)atoi(getenv("OPSEQ_EVERY"));
	if (every == 0)
		every = 1;

	for (step = 1; step <= count; step++) {
		char p1[2048], p2[2048];

		random_path(p1, sizeof(p1));
		switch (rnd(20)) {
		case 0 ... 6:
			op_write(p1);
			break;
		case 7 ... 8:
			op_read(p1);
			break;
		case 9 ... 10:
			op_truncate(p1);
			break;
		case 11 ... 12:
			op_simple("unlink", p1, unlink);
			break;
		case 13 ... 14:
			op_simple("mkdir", p1, do_mkdir);
			break;
		case 15:
			op_simple("rmdir", p1, rmdir);
			break;
		default:
			random_path(p2, sizeof(p2));
			op_rename(p1, rnd(4) == 0 ? p1 : p2);
			break;
		}
		if (getenv("OPSEQ_TRACE"))
			fprintf(stderr, "%u: %s\n", step, desc);
		if (step % every == 0)
			compare(dir_a, dir_b, "");
	}
	compare(dir_a, dir_b, "");
	return 0;
}
