// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * posixseq SEED COUNT DIR MODEL: apply the same random sequence of POSIX
 * file operations (seeded, so reproducible) to DIR (root/ under test) and
 * MODEL (a host directory, best on ext4), check that each gives the same
 * result on both (same errno, same bytes, same attributes), and finally
 * that the trees are identical: names, types, modes, owners, link counts,
 * sizes, contents, symlink targets and user.* extended attributes.
 * Beside opseq's writes, reads, truncates, mkdir, rmdir, unlink and
 * renames: hard and symbolic links, rename with RENAME_NOREPLACE and
 * RENAME_EXCHANGE, chmod, chown (run as root), utimensat with
 * nanoseconds, fifos, extended attributes, and reads and writes through
 * shared mmap. DIR and MODEL start empty; the sequence runs in DIR/t and
 * MODEL/t, so a symlink to "../NAME" stays inside what is compared.
 * Prints the failing step and exits 1 at the first
 * difference; OPSEQ_TRACE=1 prints every step.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE	 (1 << 1)
#endif

static const char *const names[] = {
	"a",
	"b.txt",
	"B.TXT",
	"config",
	".hidden",
	"x.y.z",
	"a long name with spaces",
	"Grüße.txt",
	"日本語",
	"dir1",
	"dir2",
	"dir3",
	"l1",
	"l2",
};
#define NAME_COUNT (sizeof(names) / sizeof(names[0]))
#define DIR_NAMES  9 /* names[9..11] are usually directories */

static const uid_t ids[] = {0, 1000, 1001, 65534};

static uint64_t rng_state;
static const char *dir_a, *dir_b;
static unsigned step;
static char desc[8192];
static int use_xattrs = 1;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ull) >> 33) % n;
}

static void fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "posixseq: step %u (%s): ", step, desc);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void random_path(char *out, size_t size)
{
	int depth = (int)rnd(3) + 1;
	size_t o = 0;

	out[0] = '\0';
	for (int i = 0; i < depth; i++) {
		const char *n = i + 1 < depth ? names[DIR_NAMES + rnd(3)]
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

static void same(long ra, int ea, long rb, int eb)
{
	if ((ra < 0) != (rb < 0) || (ra < 0 && ea != eb))
		fail("results differ: %ld (%s) under test, %ld (%s) in the "
		     "model",
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

/* Run @fn on both paths and compare the results. */
#define BOTH(what, rel, call_a, call_b)                                        \
	do {                                                                   \
		long ra_, rb_;                                                 \
		int ea_, eb_;                                                  \
		snprintf(desc, sizeof(desc), "%s %s", what, rel);              \
		errno = 0;                                                     \
		ra_ = (long)(call_a);                                          \
		ea_ = errno;                                                   \
		errno = 0;                                                     \
		rb_ = (long)(call_b);                                          \
		eb_ = errno;                                                   \
		same(ra_, ea_, rb_, eb_);                                      \
	} while (0)

static void op_write(const char *rel)
{
	char a[4096], b[4096];
	size_t len = rnd(4) == 0 ? rnd(sizeof(buf_a)) : rnd(5000);
	off_t off = rnd(3) == 0 ? (off_t)rnd(300000) : (off_t)rnd(5000);
	int flags = O_WRONLY | O_CREAT | O_NONBLOCK |
		    (rnd(4) == 0 ? O_APPEND : 0) | (rnd(6) == 0 ? O_TRUNC : 0);
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
	same(na < 0 ? -1 : 0, ea, nb < 0 ? -1 : 0, eb);
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
	fa = open(a, O_RDONLY | O_NONBLOCK);
	ea = errno;
	fb = open(b, O_RDONLY | O_NONBLOCK);
	eb = errno;
	same(fa, ea, fb, eb);
	if (fa < 0)
		return;
	na = pread(fa, buf_a, len, off);
	ea = errno;
	nb = pread(fb, buf_b, len, off);
	eb = errno;
	same(na, ea, nb, eb);
	if (na != nb || (na > 0 && memcmp(buf_a, buf_b, (size_t)na) != 0))
		fail("read different bytes (%zd, %zd)", na, nb);
	close(fa);
	close(fb);
}

/* Through shared mappings: read a range, or write one and msync. */
static void op_mmap(const char *rel)
{
	char a[4096], b[4096];
	bool writing = rnd(2);
	int fa, fb, ea, eb;
	struct stat st;
	uint8_t *ma, *mb;
	size_t len, off;

	both(a, b, sizeof(a), rel);
	snprintf(desc, sizeof(desc), "mmap %s %s", writing ? "write" : "read",
		 rel);
	fa = open(a, O_RDWR | O_NONBLOCK);
	ea = errno;
	fb = open(b, O_RDWR | O_NONBLOCK);
	eb = errno;
	same(fa, ea, fb, eb);
	if (fa < 0)
		return;
	if (fstat(fb, &st) != 0 || st.st_size == 0 || !S_ISREG(st.st_mode)) {
		close(fa);
		close(fb);
		return;
	}
	len = (size_t)st.st_size;
	ma = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fa, 0);
	mb = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fb, 0);
	if (ma == MAP_FAILED || mb == MAP_FAILED)
		fail("mmap: %s", strerror(errno));
	off = rnd((uint32_t)len);
	if (writing) {
		size_t n = rnd((uint32_t)(len - off)) + 1;

		if (n > sizeof(buf_a))
			n = sizeof(buf_a);
		fill(buf_a, n);
		memcpy(ma + off, buf_a, n);
		memcpy(mb + off, buf_a, n);
		if (msync(ma, len, MS_SYNC) != 0 ||
		    msync(mb, len, MS_SYNC) != 0)
			fail("msync: %s", strerror(errno));
	} else if (memcmp(ma, mb, len) != 0) {
		fail("mapped contents differ");
	}
	munmap(ma, len);
	munmap(mb, len);
	close(fa);
	close(fb);
}

static int do_mkdir(const char *p)
{
	return mkdir(p, 0755);
}

static int do_fifo(const char *p)
{
	return mkfifo(p, 0640);
}

static long do_rename(const char *from, const char *to, unsigned flags)
{
	return syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, flags);
}

static void op_rename(const char *from, const char *to)
{
	char a1[4096], b1[4096], a2[4096], b2[4096];
	unsigned flags = rnd(4) == 0   ? RENAME_NOREPLACE
			 : rnd(4) == 0 ? RENAME_EXCHANGE
				       : 0;
	long ra, rb;
	int ea, eb;

	both(a1, b1, sizeof(a1), from);
	both(a2, b2, sizeof(a2), to);
	snprintf(desc, sizeof(desc), "rename%s %s to %s",
		 flags == RENAME_NOREPLACE  ? " noreplace"
		 : flags == RENAME_EXCHANGE ? " exchange"
					    : "",
		 from, to);
	ra = do_rename(a1, a2, flags);
	ea = errno;
	rb = do_rename(b1, b2, flags);
	eb = errno;
	/* Linux says ENOTEMPTY or EEXIST for a non-empty target directory. */
	if (ra < 0 && rb < 0 && (ea == ENOTEMPTY || ea == EEXIST) &&
	    (eb == ENOTEMPTY || eb == EEXIST))
		return;
	same(ra, ea, rb, eb);
}

static void op_link(const char *from, const char *to)
{
	char a1[4096], b1[4096], a2[4096], b2[4096];

	both(a1, b1, sizeof(a1), from);
	both(a2, b2, sizeof(a2), to);
	BOTH("link", from, link(a1, a2), link(b1, b2));
}

/* A relative target among the names, so that both trees resolve alike. */
static void op_symlink(const char *rel)
{
	char a[4096], b[4096], target[256];

	snprintf(target, sizeof(target), "%s%s", rnd(3) == 0 ? "../" : "",
		 names[rnd(NAME_COUNT)]);
	both(a, b, sizeof(a), rel);
	BOTH("symlink", rel, symlink(target, a), symlink(target, b));
}

static void op_chmod(const char *rel)
{
	char a[4096], b[4096], what[64];
	mode_t mode = rnd(07777 + 1) | 0700; /* we go on reading and writing */
	struct stat st;

	both(a, b, sizeof(a), rel);
	/*
	 * No sticky bit on files: when chown drops a set-user-ID bit, the
	 * kernel's FUSE sends a mode without it (fuse2fs shows the same),
	 * where a native ext4 keeps it. It means nothing on a file.
	 */
	if (stat(b, &st) == 0 && !S_ISDIR(st.st_mode))
		mode &= ~(mode_t)S_ISVTX;
	snprintf(what, sizeof(what), "chmod %o", mode);
	BOTH(what, rel, chmod(a, mode), chmod(b, mode));
}

static void op_chown(const char *rel)
{
	char a[4096], b[4096], what[64];
	uid_t u = ids[rnd(4)];
	gid_t g = ids[rnd(4)];

	snprintf(what, sizeof(what), "lchown %u:%u", u, g);
	both(a, b, sizeof(a), rel);
	BOTH(what, rel, lchown(a, u, g), lchown(b, u, g));
}

static void op_utimens(const char *rel)
{
	char a[4096], b[4096];
	struct timespec t[2] = {
		{1600000000 + (time_t)rnd(100000000), (long)rnd(1000000000)},
		{1600000000 + (time_t)rnd(100000000), (long)rnd(1000000000)},
	};
	struct stat sa, sb;

	both(a, b, sizeof(a), rel);
	BOTH("utimensat", rel, utimensat(AT_FDCWD, a, t, AT_SYMLINK_NOFOLLOW),
	     utimensat(AT_FDCWD, b, t, AT_SYMLINK_NOFOLLOW));
	if (lstat(b, &sb) != 0)
		return;
	if (lstat(a, &sa) != 0 || sa.st_mtim.tv_sec != sb.st_mtim.tv_sec ||
	    sa.st_mtim.tv_nsec != sb.st_mtim.tv_nsec ||
	    sa.st_atim.tv_sec != sb.st_atim.tv_sec ||
	    sa.st_atim.tv_nsec != sb.st_atim.tv_nsec)
		fail("times differ after utimensat");
}

static void op_xattr(const char *rel)
{
	static const char *const keys[] = {"user.a", "user.rpifs.long.name",
					   "user.b"};
	char a[4096], b[4096];
	const char *key = keys[rnd(3)];
	size_t len = rnd(3) == 0 ? rnd(3000) : rnd(40);
	ssize_t na, nb;
	int ea, eb;

	both(a, b, sizeof(a), rel);
	switch (rnd(3)) {
	case 0:
		fill(buf_a, len);
		BOTH("lsetxattr", rel, lsetxattr(a, key, buf_a, len, 0),
		     lsetxattr(b, key, buf_a, len, 0));
		break;
	case 1:
		BOTH("lremovexattr", rel, lremovexattr(a, key),
		     lremovexattr(b, key));
		break;
	default:
		snprintf(desc, sizeof(desc), "lgetxattr %s %s", key, rel);
		na = lgetxattr(a, key, buf_a, sizeof(buf_a));
		ea = errno;
		nb = lgetxattr(b, key, buf_b, sizeof(buf_b));
		eb = errno;
		same(na, ea, nb, eb);
		if (na != nb || (na > 0 && memcmp(buf_a, buf_b, (size_t)na)))
			fail("attribute values differ");
	}
}

/* The user.* attributes of @p, sorted, as one string. */
static void xattrs_of(const char *p, char *out, size_t size)
{
	char list[8192], *names_sorted[64];
	ssize_t n = llistxattr(p, list, sizeof(list));
	int count = 0;
	size_t o = 0;

	out[0] = '\0';
	for (ssize_t i = 0; n > 0 && i < n && count < 64;
	     i += (ssize_t)strlen(list + i) + 1)
		if (strncmp(list + i, "user.", 5) == 0)
			names_sorted[count++] = list + i;
	for (int i = 0; i < count; i++)
		for (int j = i + 1; j < count; j++)
			if (strcmp(names_sorted[i], names_sorted[j]) > 0) {
				char *t = names_sorted[i];

				names_sorted[i] = names_sorted[j];
				names_sorted[j] = t;
			}
	for (int i = 0; i < count && o < size; i++) {
		ssize_t vl =
			lgetxattr(p, names_sorted[i], buf_a, sizeof(buf_a));
		uint32_t h = 2166136261u;

		for (ssize_t k = 0; k < vl; k++)
			h = (h ^ buf_a[k]) * 16777619u;
		o += (size_t)snprintf(out + o, size - o, "%s=%zd:%08x ",
				      names_sorted[i], vl, h);
	}
}

static void compare_files(const char *pa, const char *pb, const char *r)
{
	int fa = open(pa, O_RDONLY | O_NONBLOCK),
	    fb = open(pb, O_RDONLY | O_NONBLOCK);
	ssize_t na, nb;

	if (fa < 0 || fb < 0)
		fail("%s: cannot open", r);
	do {
		na = read(fa, buf_a, sizeof(buf_a));
		nb = read(fb, buf_b, sizeof(buf_b));
		if (na != nb || (na > 0 && memcmp(buf_a, buf_b, (size_t)na)))
			fail("%s: contents differ", r);
	} while (na > 0);
	close(fa);
	close(fb);
}

static void compare_node(const char *pa, const char *pb, const char *r,
			 const struct stat *sa, const struct stat *sb)
{
	char xa[4096], xb[4096];

	if ((sa->st_mode & S_IFMT) != (sb->st_mode & S_IFMT))
		fail("%s: type %o under test, %o in the model", r,
		     sa->st_mode & S_IFMT, sb->st_mode & S_IFMT);
	if (!S_ISLNK(sb->st_mode) && sa->st_mode != sb->st_mode)
		fail("%s: mode %o under test, %o in the model", r, sa->st_mode,
		     sb->st_mode);
	if (sa->st_uid != sb->st_uid || sa->st_gid != sb->st_gid)
		fail("%s: owner %u:%u under test, %u:%u in the model", r,
		     sa->st_uid, sa->st_gid, sb->st_uid, sb->st_gid);
	if (sa->st_nlink != sb->st_nlink)
		fail("%s: %lu links under test, %lu in the model", r,
		     (unsigned long)sa->st_nlink, (unsigned long)sb->st_nlink);
	if (!S_ISDIR(sb->st_mode) && sa->st_size != sb->st_size)
		fail("%s: size %lld under test, %lld in the model", r,
		     (long long)sa->st_size, (long long)sb->st_size);
	if (S_ISREG(sb->st_mode))
		compare_files(pa, pb, r);
	if (S_ISLNK(sb->st_mode)) {
		char ta[4096], tb[4096];
		ssize_t la = readlink(pa, ta, sizeof(ta)),
			lb = readlink(pb, tb, sizeof(tb));

		if (la != lb || (la > 0 && memcmp(ta, tb, (size_t)la)))
			fail("%s: symlink targets differ", r);
	}
	if (use_xattrs && !S_ISLNK(sb->st_mode)) {
		xattrs_of(pa, xa, sizeof(xa));
		xattrs_of(pb, xb, sizeof(xb));
		if (strcmp(xa, xb) != 0)
			fail("%s: attributes [%s] under test, [%s] in the "
			     "model",
			     r, xa, xb);
	}
}

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
		    strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, "lost+found") == 0)
			continue;
		count_b++;
		snprintf(pa, sizeof(pa), "%s/%s", a, de->d_name);
		snprintf(pb, sizeof(pb), "%s/%s", b, de->d_name);
		snprintf(r, sizeof(r), "%s/%s", rel, de->d_name);
		if (lstat(pb, &sb) != 0)
			fail("model: %s", strerror(errno));
		if (lstat(pa, &sa) != 0)
			fail("%s is missing under test", r);
		compare_node(pa, pb, r, &sa, &sb);
		if (S_ISDIR(sb.st_mode))
			compare(pa, pb, r);
	}
	rewinddir(da);
	while ((de = readdir(da)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strcmp(de->d_name, "lost+found"))
			count_a++;
	if (count_a != count_b)
		fail("%s: %d entries under test, %d in the model", rel, count_a,
		     count_b);
	closedir(da);
	closedir(db);
}

static void one_step(void)
{
	char p1[2048], p2[2048], a[4096], b[4096];

	random_path(p1, sizeof(p1));
	random_path(p2, sizeof(p2));
	switch (rnd(30)) {
	case 0 ... 6:
		op_write(p1);
		break;
	case 7 ... 8:
		op_read(p1);
		break;
	case 9:
		both(a, b, sizeof(a), p1);
		{
			off_t len =
				rnd(2) ? (off_t)rnd(5000) : (off_t)rnd(400000);

			BOTH("truncate", p1, truncate(a, len),
			     truncate(b, len));
		}
		break;
	case 10 ... 11:
		both(a, b, sizeof(a), p1);
		BOTH("unlink", p1, unlink(a), unlink(b));
		break;
	case 12 ... 13:
		both(a, b, sizeof(a), p1);
		BOTH("mkdir", p1, do_mkdir(a), do_mkdir(b));
		break;
	case 14:
		both(a, b, sizeof(a), p1);
		BOTH("rmdir", p1, rmdir(a), rmdir(b));
		break;
	case 15 ... 17:
		op_rename(p1, rnd(4) == 0 ? p1 : p2);
		break;
	case 18:
		op_link(p1, p2);
		break;
	case 19:
		op_symlink(p1);
		break;
	case 20:
		op_chmod(p1);
		break;
	case 21:
		op_chown(p1);
		break;
	case 22:
		op_utimens(p1);
		break;
	case 23:
		both(a, b, sizeof(a), p1);
		BOTH("mkfifo", p1, do_fifo(a), do_fifo(b));
		break;
	case 24 ... 26:
		if (use_xattrs)
			op_xattr(p1);
		break;
	default:
		op_mmap(p1);
		break;
	}
}

static bool empty_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	bool empty = true;

	if (!d)
		return false;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			empty = false;
	closedir(d);
	return empty;
}

int main(int argc, char **argv)
{
	static char top_a[4096], top_b[4096];
	unsigned count, every = 200;

	if (argc != 5) {
		fprintf(stderr, "usage: posixseq SEED COUNT DIR MODEL\n");
		return 2;
	}
	rng_state = strtoull(argv[1], NULL, 0) * 0x9e3779b97f4a7c15ull + 1;
	count = (unsigned)strtoul(argv[2], NULL, 0);
	/*
	 * The operations run one level down, so that a symlink to "../NAME"
	 * made at the top still lands inside what is compared.
	 */
	if (!empty_dir(argv[3]) || !empty_dir(argv[4])) {
		fprintf(stderr,
			"posixseq: DIR and MODEL must be empty directories\n");
		return 2;
	}
	snprintf(top_a, sizeof(top_a), "%s/t", argv[3]);
	snprintf(top_b, sizeof(top_b), "%s/t", argv[4]);
	if (mkdir(top_a, 0755) != 0 || mkdir(top_b, 0755) != 0) {
		fprintf(stderr, "posixseq: mkdir: %s\n", strerror(errno));
		return 2;
	}
	dir_a = top_a;
	dir_b = top_b;
	if (getenv("OPSEQ_EVERY"))
		every = (unsigned)atoi(getenv("OPSEQ_EVERY"));
	if (every == 0)
		every = 1;
	if (setxattr(dir_b, "user.posixseq", "1", 1, 0) != 0) {
		fprintf(stderr,
			"posixseq: the model's file system takes no user.* "
			"attributes (%s): leaving them out\n",
			strerror(errno));
		use_xattrs = 0;
	} else {
		removexattr(dir_b, "user.posixseq");
	}
	for (step = 1; step <= count; step++) {
		one_step();
		if (getenv("OPSEQ_TRACE"))
			fprintf(stderr, "%u: %s\n", step, desc);
		if (step % every == 0)
			compare(argv[3], argv[4], "");
	}
	compare(argv[3], argv[4], "");
	printf("%u operations, the trees agree\n", count);
	return 0;
}
