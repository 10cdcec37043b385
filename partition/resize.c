// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Growing the last partition to the end of a grown image, in the MBR (its
 * entry's sector count) or the GPT (the partition's last LBA, the usable
 * range, the backup table moved to the new end, every CRC recomputed);
 * and growing its ext4 file system offline with e2fsprogs, which reaches
 * a partition inside an image as IMAGE?offset=N.
 *
 * resize2fs takes a regular file for the file system itself: when done it
 * truncates the file to the file system's size, ignoring the offset, which
 * would cut the end off the image. It runs here with ftruncate and
 * truncate denied by a seccomp filter (its own check of that call's result
 * only prints a warning), and the image's size is checked afterwards.
 */
#include "partition.h"
#include "../common/endian.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__x86_64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#elif defined(__i386__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_I386
#elif defined(__arm__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_ARM
#elif defined(__riscv) && __riscv_xlen == 64
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_RISCV64
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_PPC64LE
#elif defined(__s390x__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_S390X
#endif

#define SECTOR 512u

static int fail(int ret, char *err, size_t err_size, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(int ret, char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
	return ret;
}

static uint32_t crc32_ieee(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xffffffffu;

	while (len--) {
		crc ^= *p++;
		for (int i = 0; i < 8; i++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n = pread(fd, buf, len, (off_t)off);

	return n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	ssize_t n = pwrite(fd, buf, len, (off_t)off);

	return n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
}

/* The partition that ends last must be the last one on the disk. */
static const struct part_entry *last_partition(const struct part_image *img)
{
	const struct part_entry *last = NULL;

	for (unsigned i = 0; i < img->count; i++)
		if (!last || img->parts[i].start > last->start)
			last = &img->parts[i];
	return last;
}

static int grow_mbr(struct part_image *img, const struct part_entry *last,
		    uint64_t *new_size, char *err, size_t err_size)
{
	uint8_t mbr[SECTOR];
	uint64_t start = last->start / SECTOR;
	uint64_t sectors = img->size / SECTOR - start;
	int ret = pread_all(img->fd, mbr, sizeof(mbr), 0);

	if (ret)
		return fail(ret, err, err_size, "cannot read the MBR: %s",
			    strerror(-ret));
	if (last->number > 4)
		return fail(-ENOTSUP, err, err_size,
			    "the last partition (%u) is a logical one in an extended partition: rpifs grows only primary ones",
			    last->number);
	if (sectors > 0xffffffffu)
		sectors = 0xffffffffu; /* MBR's limit: 2 TiB */
	{
		uint8_t *e = mbr + 446 + 16 * (last->number - 1);

		if (load_le32(e + 8) != start)
			return fail(-EUCLEAN, err, err_size,
				    "MBR entry %u does not start where libblkid says",
				    last->number);
		store_le32(e + 12, (uint32_t)sectors);
		/* The end is past what CHS can say. */
		e[5] = 0xfe;
		e[6] = 0xff;
		e[7] = 0xff;
	}
	ret = pwrite_all(img->fd, mbr, sizeof(mbr), 0);
	if (ret)
		return fail(ret, err, err_size, "cannot write the MBR: %s",
			    strerror(-ret));
	*new_size = sectors * SECTOR;
	return 0;
}

struct gpt {
	uint8_t header[SECTOR];
	uint8_t *entries;
	uint32_t entries_bytes;
	uint32_t entries_sectors;
};

static uint64_t hdr64(const uint8_t *h, unsigned off)
{
	return (uint64_t)load_le32(h + off) | (uint64_t)load_le32(h + off + 4) << 32;
}

static void set64(uint8_t *h, unsigned off, uint64_t v)
{
	store_le32(h + off, (uint32_t)v);
	store_le32(h + off + 4, (uint32_t)(v >> 32));
}

static void header_crc(uint8_t *h)
{
	uint32_t size = load_le32(h + 12);

	store_le32(h + 16, 0);
	store_le32(h + 16, crc32_ieee(h, size));
}

static int read_gpt(struct part_image *img, struct gpt *g, char *err,
		    size_t err_size)
{
	uint32_t size, num, esize, crc;
	int ret = pread_all(img->fd, g->header, SECTOR, SECTOR);

	if (ret)
		return fail(ret, err, err_size, "cannot read the GPT header: %s",
			    strerror(-ret));
	size = load_le32(g->header + 12);
	if (memcmp(g->header, "EFI PART", 8) != 0 || size < 92 || size > SECTOR)
		return fail(-EUCLEAN, err, err_size, "the GPT header is damaged");
	crc = load_le32(g->header + 16);
	store_le32(g->header + 16, 0);
	if (crc32_ieee(g->header, size) != crc)
		return fail(-EUCLEAN, err, err_size,
			    "the GPT header's checksum is wrong: repair it (sfdisk, gdisk) first");
	store_le32(g->header + 16, crc);
	num = load_le32(g->header + 80);
	esize = load_le32(g->header + 84);
	if (esize < 128 || esize > 4096 || num == 0 || num > 4096)
		return fail(-EUCLEAN, err, err_size, "the GPT entry array is damaged");
	g->entries_bytes = num * esize;
	g->entries_sectors = (g->entries_bytes + SECTOR - 1) / SECTOR;
	g->entries = calloc(g->entries_sectors, SECTOR);
	if (!g->entries)
		return fail(-ENOMEM, err, err_size, "out of memory");
	ret = pread_all(img->fd, g->entries, g->entries_bytes,
			hdr64(g->header, 72) * SECTOR);
	if (ret)
		return fail(ret, err, err_size, "cannot read the GPT entries: %s",
			    strerror(-ret));
	if (crc32_ieee(g->entries, g->entries_bytes) != load_le32(g->header + 88))
		return fail(-EUCLEAN, err, err_size,
			    "the GPT entries' checksum is wrong: repair them first");
	return 0;
}

static int grow_gpt(struct part_image *img, const struct part_entry *last,
		    uint64_t *new_size, char *err, size_t err_size)
{
	struct gpt g = { 0 };
	uint64_t total = img->size / SECTOR, new_last = total - 1;
	uint64_t old_backup, backup_entries, last_usable;
	uint32_t esize;
	uint8_t backup[SECTOR], *entry = NULL, mbr[SECTOR];
	int ret = read_gpt(img, &g, err, err_size);

	if (ret)
		goto out;
	esize = load_le32(g.header + 84);
	for (uint32_t i = 0; i < load_le32(g.header + 80); i++) {
		uint8_t *e = g.entries + (size_t)i * esize;

		if (hdr64(e, 32) * SECTOR == last->start)
			entry = e;
	}
	if (!entry) {
		ret = fail(-EUCLEAN, err, err_size,
			   "no GPT entry starts where the last partition does");
		goto out;
	}
	old_backup = hdr64(g.header, 32);
	backup_entries = new_last - g.entries_sectors;
	last_usable = backup_entries - 1;
	set64(entry, 40, last_usable);
	set64(g.header, 32, new_last);
	set64(g.header, 48, last_usable);
	store_le32(g.header + 88, crc32_ieee(g.entries, g.entries_bytes));
	header_crc(g.header);
	memcpy(backup, g.header, SECTOR);
	set64(backup, 24, new_last);
	set64(backup, 32, 1);
	set64(backup, 72, backup_entries);
	header_crc(backup);

	/* The new backup first (in new space), then the primary. */
	if ((ret = pwrite_all(img->fd, g.entries, (size_t)g.entries_sectors * SECTOR,
			      backup_entries * SECTOR)) ||
	    (ret = pwrite_all(img->fd, backup, SECTOR, new_last * SECTOR)) ||
	    (ret = pwrite_all(img->fd, g.entries, (size_t)g.entries_sectors * SECTOR,
			      hdr64(g.header, 72) * SECTOR)) ||
	    (ret = pwrite_all(img->fd, g.header, SECTOR, SECTOR))) {
		ret = fail(ret, err, err_size, "cannot write the GPT: %s",
			   strerror(-ret));
		goto out;
	}
	/* The old backup header is inside the grown partition now. */
	if (old_backup != new_last && old_backup > 1) {
		memset(backup, 0, SECTOR);
		pwrite_all(img->fd, backup, SECTOR, old_backup * SECTOR);
	}
	/* The protective MBR covers the whole disk. */
	if (pread_all(img->fd, mbr, SECTOR, 0) == 0 && mbr[446 + 4] == 0xee) {
		store_le32(mbr + 446 + 12,
			   total - 1 > 0xffffffffu ? 0xffffffffu : (uint32_t)(total - 1));
		pwrite_all(img->fd, mbr, SECTOR, 0);
	}
	*new_size = (last_usable + 1) * SECTOR - last->start;
out:
	free(g.entries);
	return ret;
}

/*
 * Deny truncate and ftruncate to this process and what it execs, with
 * EPERM. @return 0, or -1 where that cannot be done (then rpifs does not
 * run resize2fs on an image).
 */
static int deny_truncate(void)
{
#ifdef NATIVE_AUDIT_ARCH
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
#ifdef __NR_truncate
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_truncate, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
#endif
#ifdef __NR_ftruncate64
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ftruncate64, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
#endif
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ftruncate, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = (unsigned short)(sizeof(code) / sizeof(code[0])),
		.filter = code,
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
#else
	return -1;
#endif
}

/*
 * Run a program (no shell) with its output collected; with @no_truncate,
 * under deny_truncate(). What it said is copied to stderr when it fails.
 * @return its exit status, 126 when the guard could not be set up, 127
 * when it could not be run, -1 when it died.
 */
static int run_tool(char *const argv[], bool no_truncate)
{
	char out[16384];
	size_t used = 0;
	int status, pipefd[2];
	ssize_t n;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		if (no_truncate && deny_truncate())
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	/* Keep the last part: that is where the reason is. */
	while ((n = read(pipefd[0], out + used, sizeof(out) - 1 - used)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		used += (size_t)n;
		if (used == sizeof(out) - 1) {
			memmove(out, out + used / 2, used - used / 2);
			used -= used / 2;
		}
	}
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	if (status != 0 && status != 126 && status != 127 && used) {
		out[used] = 0;
		fprintf(stderr, "%s: %s%s", argv[0], out,
			out[used - 1] == '\n' ? "" : "\n");
	}
	return status;
}

int part_grow_root(struct part_image *img, uint64_t image_size,
		   unsigned *number, uint64_t *size, char *err, size_t err_size)
{
	const struct part_entry *last = last_partition(img);
	char device[4096 + 32], kib[32];
	uint64_t new_size = 0;
	int ret, status;

	if (!last)
		return fail(-ENODEV, err, err_size, "%s has no partitions", img->path);
	if (strncmp(last->fstype, "ext", 3) != 0)
		return fail(-ENOTSUP, err, err_size,
			    "the last partition (%u) holds %s, not ext4: --grow-root grows only an ext2/3/4 root at the end",
			    last->number, last->fstype[0] ? last->fstype : "nothing known");
	snprintf(device, sizeof(device), "%s?offset=%llu", img->path,
		 (unsigned long long)last->start);
	/* resize2fs wants a checked file system; preen fixes only the safe. */
	{
		char *argv[] = { (char *)"e2fsck", (char *)"-f", (char *)"-p",
				 device, NULL };

		/* Under the guard too: it tells early whether the guard works. */
		status = run_tool(argv, true);
		if (status == 126)
			return fail(-ENOTSUP, err, err_size,
				    "cannot keep resize2fs from truncating the image on this system (no seccomp): grow the root from the booted guest instead (resize2fs on its root device)");
		if (status < 0 || status == 127)
			return fail(-ENOENT, err, err_size,
				    "e2fsck is not installed (package e2fsprogs)");
		if (status > 1)
			return fail(-EUCLEAN, err, err_size,
				    "the root file system needs repair first: e2fsck -f '%s'",
				    device);
	}
	ret = part_grow(img, image_size, err, err_size);
	if (ret)
		return ret;
	if (strcmp(img->table, "gpt") == 0)
		ret = grow_gpt(img, last, &new_size, err, err_size);
	else
		ret = grow_mbr(img, last, &new_size, err, err_size);
	if (ret)
		return ret;
	fdatasync(img->fd);
	snprintf(kib, sizeof(kib), "%lluK", (unsigned long long)(new_size / 1024));
	{
		char *argv[] = { (char *)"resize2fs", device, kib, NULL };
		struct stat st;

		status = run_tool(argv, true);
		if (status != 0)
			return fail(-EIO, err, err_size,
				    "resize2fs '%s' %s failed (the partition table already has the new size): run the same rpifs resize again",
				    device, kib);
		if (fstat(img->fd, &st) || (uint64_t)st.st_size != img->size)
			return fail(-EIO, err, err_size,
				    "%s changed size while resize2fs ran: check it with e2fsck -fn '%s'",
				    img->path, device);
	}
	*number = last->number;
	*size = new_size;
	return 0;
}
