// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Opening a disk image and reading its partition table with libblkid: each
 * partition's place, type, PARTUUID and what its content probes as, and the
 * FAT boot partition. Errors are sentences that say what to do.
 */
#include "partition.h"
#include "../common/errmsg.h"

#include <blkid.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

void part_format_size(uint64_t bytes, char *buf, size_t size)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%llu B", (unsigned long long)bytes);
	else if (v == (double)(uint64_t)v)
		snprintf(buf, size, "%.0f %s", v, unit[u]);
	else
		snprintf(buf, size, "%.1f %s", v, unit[u]);
}

static const char *mbr_type_name(unsigned type)
{
	switch (type) {
	case 0x01:
		return "FAT12";
	case 0x04:
		return "FAT16 <32M";
	case 0x05:
		return "Extended";
	case 0x06:
		return "FAT16";
	case 0x07:
		return "NTFS/exFAT";
	case 0x0b:
		return "W95 FAT32";
	case 0x0c:
		return "W95 FAT32 (LBA)";
	case 0x0e:
		return "W95 FAT16 (LBA)";
	case 0x0f:
		return "W95 Ext'd (LBA)";
	case 0x82:
		return "Linux swap";
	case 0x83:
		return "Linux";
	case 0x8e:
		return "Linux LVM";
	case 0xee:
		return "GPT";
	case 0xef:
		return "EFI (FAT-12/16/32)";
	default:
		return "";
	}
}

static const char *gpt_type_name(const char *guid)
{
	static const struct {
		const char *guid, *name;
	} names[] = {
		{"c12a7328-f81f-11d2-ba4b-00a0c93ec93b", "EFI System"},
		{"ebd0a0a2-b9e5-4433-87c0-68b6b72699c7",
		 "Microsoft basic data"},
		{"0fc63daf-8483-4772-8e79-3d69d8477de4", "Linux filesystem"},
		{"b921b045-1df0-41c3-af44-4c6f280d3fae", "Linux root (ARM-64)"},
		{"0657fd6d-a4ab-43c4-84e5-0933c84b4f4f", "Linux swap"},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(guid, names[i].guid) == 0)
			return names[i].name;
	return "";
}

static bool type_is_fat(const struct part_entry *e)
{
	static const char *const fat_types[] = {
		"0x01",
		"0x04",
		"0x06",
		"0x0b",
		"0x0c",
		"0x0e",
		"0xef",
		"c12a7328-f81f-11d2-ba4b-00a0c93ec93b",
		"ebd0a0a2-b9e5-4433-87c0-68b6b72699c7",
	};

	if (e->fstype[0])
		return false; /* it holds something else */
	for (size_t i = 0; i < sizeof(fat_types) / sizeof(fat_types[0]); i++)
		if (strcasecmp(e->type, fat_types[i]) == 0)
			return true;
	return false;
}

/* What a file that is not a disk image probably is, to say what to do. */
static const char *compressed_kind(int fd)
{
	unsigned char m[6] = {0};

	if (pread(fd, m, sizeof(m), 0) < (ssize_t)sizeof(m))
		return NULL;
	if (memcmp(m,
		   "\xfd"
		   "7zXZ\0",
		   6) == 0)
		return "xz (unpack it first: xz -dk FILE)";
	if (m[0] == 0x1f && m[1] == 0x8b)
		return "gzip (unpack it first: gunzip -k FILE)";
	if (memcmp(m, "PK\3\4", 4) == 0)
		return "zip (unpack it first: unzip FILE)";
	if (memcmp(m, "\x28\xb5\x2f\xfd", 4) == 0)
		return "zstd (unpack it first: zstd -d FILE)";
	if (memcmp(m, "BZh", 3) == 0)
		return "bzip2 (unpack it first: bunzip2 -k FILE)";
	return NULL;
}

static void copy_value(blkid_probe pr, const char *name, char *out, size_t size)
{
	const char *v = NULL;

	out[0] = '\0';
	if (blkid_probe_lookup_value(pr, name, &v, NULL) == 0 && v)
		snprintf(out, size, "%s", v);
}

/*
 * Probe what a partition holds: TYPE, LABEL, UUID. @quick: only the file
 * systems a Raspberry Pi OS image has (vfat, ext2/3/4): probing for every
 * type blkid knows was half of a mount's time.
 */
static void probe_content(int fd, struct part_entry *e, bool quick)
{
	static char *const pi_types[] = {(char *)"vfat", (char *)"ext4",
					 (char *)"ext3", (char *)"ext2", NULL};

	blkid_probe pr = blkid_new_probe();

	if (!pr)
		return;
	if (blkid_probe_set_device(pr, fd, (blkid_loff_t)e->start,
				   (blkid_loff_t)e->size) == 0) {
		blkid_probe_enable_superblocks(pr, 1);
		blkid_probe_set_superblocks_flags(
			pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_LABEL |
				    BLKID_SUBLKS_UUID);
		/*
		 * File systems only: RAID and crypto signatures are not what
		 * a Pi OS partition holds, and probing for them reads the
		 * partition's end too (a cold mount waited for that).
		 */
		if (quick)
			blkid_probe_filter_superblocks_type(
				pr, BLKID_FLTR_ONLYIN, (char **)pi_types);
		else
			blkid_probe_filter_superblocks_usage(
				pr, BLKID_FLTR_ONLYIN, BLKID_USAGE_FILESYSTEM);
		if (blkid_do_safeprobe(pr) == 0) {
			copy_value(pr, "TYPE", e->fstype, sizeof(e->fstype));
			copy_value(pr, "LABEL", e->label, sizeof(e->label));
			copy_value(pr, "UUID", e->uuid, sizeof(e->uuid));
		}
	}
	blkid_free_probe(pr);
}

/* One partition: place, type, PARTUUID, and what it holds. */
static void describe(const struct part_image *img, blkid_partition p,
		     struct part_entry *e, bool quick)
{
	const uint64_t sector = 512;
	const char *v;

	e->number = (unsigned)blkid_partition_get_partno(p);
	e->start = (uint64_t)blkid_partition_get_start(p) * sector;
	e->size = (uint64_t)blkid_partition_get_size(p) * sector;
	v = blkid_partition_get_type_string(p);
	if (v) {
		snprintf(e->type, sizeof(e->type), "%s", v);
		snprintf(e->type_name, sizeof(e->type_name), "%s",
			 gpt_type_name(v));
	} else {
		unsigned t = (unsigned)blkid_partition_get_type(p);

		snprintf(e->type, sizeof(e->type), "0x%02x", t);
		snprintf(e->type_name, sizeof(e->type_name), "%s",
			 mbr_type_name(t));
	}
	v = blkid_partition_get_uuid(p);
	snprintf(e->partuuid, sizeof(e->partuuid), "%s", v ? v : "");
	e->past_end = e->start > img->size || e->size > img->size - e->start;
	/* An extended partition is a container, not a file system. */
	if (!e->past_end && !blkid_partition_is_extended(p))
		probe_content(img->fd, e, quick);
}

static int read_table(struct part_image *img, bool quick, char *err,
		      size_t err_size)
{
	blkid_probe pr = blkid_new_probe();
	blkid_partlist list;
	blkid_parttable table;
	const char *v;
	int n, ret = 0;

	if (!pr)
		return err_set(err, err_size, -ENOMEM, "out of memory");
	if (blkid_probe_set_device(pr, img->fd, 0, 0) != 0) {
		ret = err_set(err, err_size, -EIO, "%s: cannot probe: %s",
			      img->path, strerror(errno));
		goto out;
	}
	blkid_probe_enable_superblocks(pr, 0);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
	list = blkid_probe_get_partitions(pr);
	table = list ? blkid_partlist_get_table(list) : NULL;
	if (!table) {
		const char *kind = compressed_kind(img->fd);

		if (kind)
			ret = err_set(err, err_size, -EINVAL,
				      "%s is compressed with %s", img->path,
				      kind);
		else
			ret = err_set(
				err, err_size, -EINVAL,
				"%s has no partition table: it is not a disk "
				"image (rpifs needs a whole Raspberry Pi OS "
				"image, not one partition)",
				img->path);
		goto out;
	}
	v = blkid_parttable_get_type(table);
	snprintf(img->table, sizeof(img->table), "%s", v ? v : "?");
	v = blkid_parttable_get_id(table);
	snprintf(img->disk_id, sizeof(img->disk_id), "%s",
		 v ? (strncmp(v, "0x", 2) == 0 ? v + 2 : v) : "");

	n = blkid_partlist_numof_partitions(list);
	if (n <= 0) {
		ret = err_set(err, err_size, -EINVAL,
			      "%s has an empty partition table: it holds no "
			      "Raspberry Pi OS",
			      img->path);
		goto out;
	}
	img->parts = calloc((size_t)n, sizeof(*img->parts));
	if (!img->parts) {
		ret = err_set(err, err_size, -ENOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		blkid_partition p = blkid_partlist_get_partition(list, i);

		if (p)
			describe(img, p, &img->parts[img->count++], quick);
	}
out:
	blkid_free_probe(pr);
	return ret;
}

/* An MBR extended partition: a container that holds logical ones. */
static bool is_container(const struct part_entry *e)
{
	return strcmp(e->type, "0x05") == 0 || strcmp(e->type, "0x0f") == 0 ||
	       strcmp(e->type, "0x85") == 0;
}

/* The index of a partition sharing bytes with the boot partition, or -1. */
static int overlapping(const struct part_image *img)
{
	const struct part_entry *b;

	if (img->boot < 0)
		return -1;
	b = &img->parts[img->boot];
	for (unsigned i = 0; i < img->count; i++) {
		const struct part_entry *e = &img->parts[i];

		if ((int)i == img->boot || is_container(e) || e->size == 0)
			continue;
		if (e->start < b->start + b->size &&
		    b->start < e->start + e->size)
			return (int)i;
	}
	return -1;
}

/* Open the file (read-only when it must be) and learn its size. */
static int open_file(struct part_image *img, const char *path, unsigned flags,
		     char *err, size_t err_size)
{
	struct stat st;
	int e;

	img->read_only = flags & PART_OPEN_RDONLY;
	img->fd = open(path, (img->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	/* A read-only file or file system: mount read-only. */
	if (img->fd < 0 && !img->read_only &&
	    (errno == EACCES || errno == EROFS || errno == EPERM)) {
		img->fd = open(path, O_RDONLY | O_CLOEXEC);
		img->read_only = true;
		img->forced_read_only = true;
	}
	e = errno;
	if (img->fd < 0 && e == ENOENT)
		return err_set(err, err_size, -e,
			       "%s does not exist: check the path", path);
	if (img->fd < 0 && e == EISDIR)
		return err_set(err, err_size, -e,
			       "%s is a directory, not a disk image", path);
	if (img->fd < 0)
		return err_set(err, err_size, -e,
			       "cannot open %s: %s; check its permissions",
			       path, strerror(e));
	if (fstat(img->fd, &st) < 0)
		return err_set(err, err_size, -errno, "cannot stat %s: %s",
			       path, strerror(errno));
	if (S_ISBLK(st.st_mode)) {
		uint64_t bytes = 0;

		if (ioctl(img->fd, BLKGETSIZE64, &bytes) < 0)
			return err_set(err, err_size, -errno,
				       "cannot get the size of %s: %s", path,
				       strerror(errno));
		img->size = bytes;
		img->is_block_device = true;
	} else if (S_ISREG(st.st_mode)) {
		img->size = (uint64_t)st.st_size;
	} else {
		return err_set(err, err_size, -EINVAL,
			       "%s is not a regular file or a block device",
			       path);
	}
	if (img->size < 1024) {
		const char *kind = compressed_kind(img->fd);

		if (kind)
			return err_set(err, err_size, -EINVAL,
				       "%s is compressed with %s", path, kind);
		return err_set(err, err_size, -EINVAL,
			       "%s is %llu bytes: too small to be a disk image",
			       path, (unsigned long long)img->size);
	}
	return 0;
}

/*
 * The boot partition: the first that probes as FAT. When none does, the
 * first whose type says FAT, so that a damaged boot sector is reported as
 * that, with its reason. Partitions past the end are refused here.
 */
static int choose_boot(struct part_image *img, unsigned flags, char *err,
		       size_t err_size)
{
	char size_a[32], size_b[32];

	for (unsigned i = 0; i < img->count; i++) {
		struct part_entry *e = &img->parts[i];

		if (e->past_end && !(flags & PART_OPEN_LENIENT)) {
			part_format_size(e->start + e->size, size_a,
					 sizeof(size_a));
			part_format_size(img->size, size_b, sizeof(size_b));
			return err_set(err, err_size, -ERANGE,
				       "partition %u of %s ends at %s but the "
				       "file holds only %s: the image is "
				       "truncated; copy or download it again",
				       e->number, img->path, size_a, size_b);
		}
		if (img->boot < 0 && strcmp(e->fstype, "vfat") == 0)
			img->boot = (int)i;
	}
	for (unsigned i = 0; img->boot < 0 && i < img->count; i++)
		if (type_is_fat(&img->parts[i]) && !img->parts[i].past_end)
			img->boot = (int)i;
	if (img->boot < 0 && !(flags & PART_OPEN_LENIENT))
		return err_set(err, err_size, -ENODEV,
			       "%s has no FAT partition: a Raspberry Pi OS "
			       "image has its boot files on one",
			       img->path);
	return 0;
}

/* A read-write boot partition must not share bytes with another. */
static int check_overlap(const struct part_image *img, char *err,
			 size_t err_size)
{
	int other = overlapping(img);

	if (other < 0)
		return 0;
	return err_set(
		err, err_size, -EUCLEAN,
		"partitions %u and %u of %s overlap: writing to the boot "
		"partition would damage the other; fix the partition table "
		"(sfdisk), or mount with -o ro to read it",
		img->parts[img->boot].number, img->parts[other].number,
		img->path);
}

int part_open(const char *path, unsigned flags, struct part_image **imgp,
	      char *err, size_t err_size)
{
	struct part_image *img;
	int ret;

	*imgp = NULL;
	img = calloc(1, sizeof(*img));
	if (!img)
		return err_set(err, err_size, -ENOMEM, "out of memory");
	img->fd = -1;
	img->boot = -1;
	img->path = strdup(path);
	ret = img->path ? 0 : err_set(err, err_size, -ENOMEM, "out of memory");
	if (!ret)
		ret = open_file(img, path, flags, err, err_size);
	if (!ret)
		ret = read_table(img, flags & PART_OPEN_QUICK, err, err_size);
	if (!ret)
		ret = choose_boot(img, flags, err, err_size);
	if (!ret && !(flags & PART_OPEN_LENIENT) && !img->read_only)
		ret = check_overlap(img, err, err_size);
	if (ret) {
		part_close(img);
		return ret;
	}
	*imgp = img;
	return 0;
}

void part_close(struct part_image *img)
{
	if (!img)
		return;
	if (img->fd >= 0)
		close(img->fd);
	free(img->parts);
	free(img->path);
	free(img);
}

const struct part_entry *part_boot(const struct part_image *img)
{
	return img->boot >= 0 ? &img->parts[img->boot] : NULL;
}

/* The value of root= in a command line, into @out ("" when none). */
static void root_word(const char *cmdline, char *out, size_t size)
{
	const char *p = cmdline;

	out[0] = '\0';
	while (p && *p) {
		size_t len;

		p += strspn(p, " \t\r\n");
		len = strcspn(p, " \t\r\n");
		/* The kernel takes the last root=. */
		if (len > 5 && strncmp(p, "root=", 5) == 0)
			snprintf(out, size, "%.*s", (int)(len - 5), p + 5);
		p += len;
	}
}

static bool is_linux(const struct part_entry *e)
{
	return strncmp(e->fstype, "ext", 3) == 0 ||
	       strcmp(e->type, "0x83") == 0 ||
	       strcasecmp(e->type, "0fc63daf-8483-4772-8e79-3d69d8477de4") ==
		       0 ||
	       strcasecmp(e->type, "b921b045-1df0-41c3-af44-4c6f280d3fae") == 0;
}

const struct part_entry *part_root(const struct part_image *img,
				   const char *cmdline)
{
	char root[128];
	unsigned number = 0;

	root_word(cmdline, root, sizeof(root));
	if (strncasecmp(root, "PARTUUID=", 9) == 0) {
		for (unsigned i = 0; i < img->count; i++)
			if (img->parts[i].partuuid[0] &&
			    strcasecmp(root + 9, img->parts[i].partuuid) == 0)
				return &img->parts[i];
	} else if (sscanf(root, "/dev/mmcblk%*up%u", &number) == 1) {
		for (unsigned i = 0; i < img->count; i++)
			if (img->parts[i].number == number)
				return &img->parts[i];
	}
	for (unsigned i = 0; i < img->count; i++)
		if ((int)i != img->boot && is_linux(&img->parts[i]))
			return &img->parts[i];
	return NULL;
}

uint64_t part_pow2_ceil(uint64_t size)
{
	uint64_t p = 1;

	while (p < size && p < (1ull << 62))
		p <<= 1;
	return p;
}

int part_grow(struct part_image *img, uint64_t size, char *err, size_t err_size)
{
	char from[32], to[32];

	if (size <= img->size)
		return 0;
	part_format_size(img->size, from, sizeof(from));
	part_format_size(size, to, sizeof(to));
	if (img->is_block_device)
		return err_set(err, err_size, -ENOTTY,
			       "%s is a %s block device and cannot grow to %s",
			       img->path, from, to);
	if (img->read_only)
		return err_set(err, err_size, -EROFS,
			       "%s is %s and read-only: it cannot grow to %s; "
			       "make it writable or grow it with rpifs resize",
			       img->path, from, to);
	if (ftruncate(img->fd, (off_t)size) < 0)
		return err_set(err, err_size, -errno,
			       "cannot grow %s from %s to %s: %s", img->path,
			       from, to, strerror(errno));
	img->size = size;
	return 0;
}
