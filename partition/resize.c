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
#include "../common/errmsg.h"
#include "../common/spawn.h"

#include <assert.h>
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

/* The MBR, sector 0 (also GPT's protective MBR). */
struct mbr_entry_disk {
	uint8_t status;	      /* 0x00 */
	uint8_t chs_first[3]; /* 0x01 */
	uint8_t type;	      /* 0x04 */
	uint8_t chs_last[3];  /* 0x05 */
	le32_t first_lba;     /* 0x08 */
	le32_t sectors;	      /* 0x0c */
};
static_assert(sizeof(struct mbr_entry_disk) == 16, "MBR entry layout");

struct mbr_disk {
	uint8_t boot_code[440];		  /* 0x000 */
	le32_t disk_id;			  /* 0x1b8 */
	uint8_t reserved[2];		  /* 0x1bc */
	struct mbr_entry_disk entries[4]; /* 0x1be */
	uint8_t signature[2];		  /* 0x1fe: 0x55 0xaa */
};
static_assert(sizeof(struct mbr_disk) == 512, "MBR layout");

#define MBR_TYPE_GPT 0xee

/* The GPT header, at LBA 1 (primary) and the disk's last LBA (backup). */
struct gpt_header_disk {
	uint8_t signature[8];  /* 0x00: "EFI PART" */
	le32_t revision;       /* 0x08 */
	le32_t header_size;    /* 0x0c: 92 */
	le32_t header_crc;     /* 0x10: of header_size bytes, this one 0 */
	le32_t reserved;       /* 0x14 */
	le64_t my_lba;	       /* 0x18 */
	le64_t alternate_lba;  /* 0x20 */
	le64_t first_usable;   /* 0x28 */
	le64_t last_usable;    /* 0x30 */
	uint8_t disk_guid[16]; /* 0x38 */
	le64_t entries_lba;    /* 0x48 */
	le32_t entry_count;    /* 0x50 */
	le32_t entry_size;     /* 0x54 */
	le32_t entries_crc;    /* 0x58 */
	uint8_t rest[420];     /* 0x5c: zeros to the end of the sector */
};
static_assert(sizeof(struct gpt_header_disk) == 512, "GPT header layout");

struct gpt_entry_disk {
	uint8_t type_guid[16]; /* 0x00 */
	uint8_t part_guid[16]; /* 0x10 */
	le64_t first_lba;      /* 0x20 */
	le64_t last_lba;       /* 0x28: inclusive */
	le64_t attributes;     /* 0x30 */
	uint8_t name[72];      /* 0x38: UTF-16LE */
};
static_assert(sizeof(struct gpt_entry_disk) == 128, "GPT entry layout");

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
const struct part_entry *part_last(const struct part_image *img)
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
	struct mbr_disk mbr;
	struct mbr_entry_disk *e;
	uint64_t start = last->start / SECTOR;
	uint64_t sectors = img->size / SECTOR - start;
	int ret = pread_all(img->fd, &mbr, sizeof(mbr), 0);

	if (ret)
		return err_set(err, err_size, ret, "cannot read the MBR: %s",
			       strerror(-ret));
	if (last->number > 4)
		return err_set(
			err, err_size, -ENOTSUP,
			"the last partition (%u) is a logical one in an "
			"extended partition: rpifs grows only primary ones",
			last->number);
	if (sectors > 0xffffffffu)
		sectors = 0xffffffffu; /* MBR's limit: 2 TiB */
	e = &mbr.entries[last->number - 1];
	if (get_le32(e->first_lba) != start)
		return err_set(
			err, err_size, -EUCLEAN,
			"MBR entry %u does not start where libblkid says",
			last->number);
	put_le32(&e->sectors, (uint32_t)sectors);
	/* The end is past what CHS can say. */
	e->chs_last[0] = 0xfe;
	e->chs_last[1] = 0xff;
	e->chs_last[2] = 0xff;
	ret = pwrite_all(img->fd, &mbr, sizeof(mbr), 0);
	if (ret)
		return err_set(err, err_size, ret, "cannot write the MBR: %s",
			       strerror(-ret));
	*new_size = sectors * SECTOR;
	return 0;
}

struct gpt {
	struct gpt_header_disk header;
	uint8_t *entries;
	uint32_t entries_bytes;
	uint32_t entries_sectors;
};

static uint32_t header_crc(struct gpt_header_disk *h)
{
	put_le32(&h->header_crc, 0);
	return crc32_ieee((const uint8_t *)h, get_le32(h->header_size));
}

static void seal_header(struct gpt_header_disk *h)
{
	put_le32(&h->header_crc, header_crc(h));
}

static struct gpt_entry_disk *gpt_entry(const struct gpt *g, uint32_t i)
{
	return (struct gpt_entry_disk *)(g->entries +
					 (size_t)i *
						 get_le32(
							 g->header.entry_size));
}

static int read_gpt(struct part_image *img, struct gpt *g, char *err,
		    size_t err_size)
{
	struct gpt_header_disk *h = &g->header;
	uint32_t size, num, esize, crc;
	int ret = pread_all(img->fd, h, sizeof(*h), SECTOR);

	if (ret)
		return err_set(err, err_size, ret,
			       "cannot read the GPT header: %s",
			       strerror(-ret));
	size = get_le32(h->header_size);
	if (memcmp(h->signature, "EFI PART", 8) != 0 || size < 92 ||
	    size > SECTOR)
		return err_set(err, err_size, -EUCLEAN,
			       "the GPT header is damaged");
	crc = get_le32(h->header_crc);
	if (header_crc(h) != crc)
		return err_set(err, err_size, -EUCLEAN,
			       "the GPT header's checksum is wrong: repair it "
			       "(sfdisk, gdisk) first");
	put_le32(&h->header_crc, crc);
	num = get_le32(h->entry_count);
	esize = get_le32(h->entry_size);
	if (esize < sizeof(struct gpt_entry_disk) || esize > 4096 || num == 0 ||
	    num > 4096)
		return err_set(err, err_size, -EUCLEAN,
			       "the GPT entry array is damaged");
	g->entries_bytes = num * esize;
	g->entries_sectors = (g->entries_bytes + SECTOR - 1) / SECTOR;
	g->entries = calloc(g->entries_sectors, SECTOR);
	if (!g->entries)
		return err_set(err, err_size, -ENOMEM, "out of memory");
	ret = pread_all(img->fd, g->entries, g->entries_bytes,
			get_le64(h->entries_lba) * SECTOR);
	if (ret)
		return err_set(err, err_size, ret,
			       "cannot read the GPT entries: %s",
			       strerror(-ret));
	if (crc32_ieee(g->entries, g->entries_bytes) !=
	    get_le32(h->entries_crc))
		return err_set(err, err_size, -EUCLEAN,
			       "the GPT entries' checksum is wrong: repair "
			       "them first");
	return 0;
}

/* The protective MBR covers the whole disk again. */
static void grow_protective_mbr(struct part_image *img, uint64_t total)
{
	struct mbr_disk mbr;

	if (pread_all(img->fd, &mbr, sizeof(mbr), 0) != 0 ||
	    mbr.entries[0].type != MBR_TYPE_GPT)
		return;
	put_le32(&mbr.entries[0].sectors,
		 total - 1 > 0xffffffffu ? 0xffffffffu : (uint32_t)(total - 1));
	pwrite_all(img->fd, &mbr, sizeof(mbr), 0);
}

static int grow_gpt(struct part_image *img, const struct part_entry *last,
		    uint64_t *new_size, char *err, size_t err_size)
{
	struct gpt g = {0};
	struct gpt_header_disk backup, *h = &g.header;
	struct gpt_entry_disk *entry = NULL;
	uint64_t total = img->size / SECTOR, new_last = total - 1;
	uint64_t old_backup, backup_entries, last_usable;
	size_t entries_len;
	int ret = read_gpt(img, &g, err, err_size);

	if (ret)
		goto out;
	for (uint32_t i = 0; i < get_le32(h->entry_count); i++)
		if (get_le64(gpt_entry(&g, i)->first_lba) * SECTOR ==
		    last->start)
			entry = gpt_entry(&g, i);
	if (!entry) {
		ret = err_set(
			err, err_size, -EUCLEAN,
			"no GPT entry starts where the last partition does");
		goto out;
	}
	old_backup = get_le64(h->alternate_lba);
	backup_entries = new_last - g.entries_sectors;
	last_usable = backup_entries - 1;
	entries_len = (size_t)g.entries_sectors * SECTOR;
	put_le64(&entry->last_lba, last_usable);
	put_le64(&h->alternate_lba, new_last);
	put_le64(&h->last_usable, last_usable);
	put_le32(&h->entries_crc, crc32_ieee(g.entries, g.entries_bytes));
	seal_header(h);
	backup = *h;
	put_le64(&backup.my_lba, new_last);
	put_le64(&backup.alternate_lba, 1);
	put_le64(&backup.entries_lba, backup_entries);
	seal_header(&backup);

	/* The new backup first (in new space), then the primary. */
	if ((ret = pwrite_all(img->fd, g.entries, entries_len,
			      backup_entries * SECTOR)) ||
	    (ret = pwrite_all(img->fd, &backup, SECTOR, new_last * SECTOR)) ||
	    (ret = pwrite_all(img->fd, g.entries, entries_len,
			      get_le64(h->entries_lba) * SECTOR)) ||
	    (ret = pwrite_all(img->fd, h, SECTOR, SECTOR))) {
		ret = err_set(err, err_size, ret, "cannot write the GPT: %s",
			      strerror(-ret));
		goto out;
	}
	/* The old backup header is inside the grown partition now. */
	if (old_backup != new_last && old_backup > 1) {
		memset(&backup, 0, sizeof(backup));
		pwrite_all(img->fd, &backup, SECTOR, old_backup * SECTOR);
	}
	grow_protective_mbr(img, total);
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
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
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

static int setup_no_truncate(void *ctx)
{
	(void)ctx;
	return deny_truncate();
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
	struct spawn s = {
		.argv = argv,
		.in = SPAWN_NULL,
		.out = SPAWN_CAPTURE,
		.err = SPAWN_CAPTURE,
		.setup = no_truncate ? setup_no_truncate : NULL,
		.buf = out,
		.size = sizeof(out),
	};
	int status = spawn_run(&s);

	if (status != 0 && status != 126 && status != 127 && s.len)
		fprintf(stderr, "%s: %s%s", argv[0], out,
			out[s.len - 1] == '\n' ? "" : "\n");
	return status;
}

int part_grow_root(struct part_image *img, uint64_t image_size,
		   unsigned *number, uint64_t *size, char *err, size_t err_size)
{
	const struct part_entry *last = part_last(img);
	char device[4096 + 32], kib[32];
	uint64_t new_size = 0;
	int ret, status;

	if (!last)
		return err_set(err, err_size, -ENODEV, "%s has no partitions",
			       img->path);
	if (strncmp(last->fstype, "ext", 3) != 0)
		return err_set(
			err, err_size, -ENOTSUP,
			"the last partition (%u) holds %s, not ext4: "
			"--grow-root grows only an ext2/3/4 root at the end",
			last->number,
			last->fstype[0] ? last->fstype : "nothing known");
	snprintf(device, sizeof(device), "%s?offset=%llu", img->path,
		 (unsigned long long)last->start);
	/* resize2fs wants a checked file system; preen fixes only the safe. */
	{
		char *argv[] = {(char *)"e2fsck", (char *)"-f", (char *)"-p",
				device, NULL};

		/* Under the guard too: it tells early whether the guard works.
		 */
		status = run_tool(argv, true);
		if (status == 126)
			return err_set(
				err, err_size, -ENOTSUP,
				"cannot keep resize2fs from truncating the "
				"image on this system (no seccomp): grow the "
				"root from the booted guest instead (resize2fs "
				"on its root device)");
		if (status < 0 || status == 127)
			return err_set(
				err, err_size, -ENOENT,
				"e2fsck is not installed (package e2fsprogs)");
		if (status > 1)
			return err_set(err, err_size, -EUCLEAN,
				       "the root file system needs repair "
				       "first: rpifs fsck '%s'",
				       img->path);
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
	snprintf(kib, sizeof(kib), "%lluK",
		 (unsigned long long)(new_size / 1024));
	{
		char *argv[] = {(char *)"resize2fs", device, kib, NULL};
		struct stat st;

		status = run_tool(argv, true);
		if (status != 0)
			return err_set(err, err_size, -EIO,
				       "resize2fs '%s' %s failed (the "
				       "partition table already has the new "
				       "size): run the same rpifs resize again",
				       device, kib);
		if (fstat(img->fd, &st) || (uint64_t)st.st_size != img->size)
			return err_set(err, err_size, -EIO,
				       "%s changed size while resize2fs ran: "
				       "check it with rpifs fsck -n '%s'",
				       img->path, img->path);
	}
	*number = last->number;
	*size = new_size;
	return 0;
}
