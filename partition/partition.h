/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The disk image: open it (read-write, or read-only when it must be), read
 * its partition table with libblkid (MBR and GPT), describe each partition
 * and find the FAT boot partition.
 */
#ifndef RPIFS_PARTITION_H
#define RPIFS_PARTITION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct part_entry {
	unsigned number;    /* as the kernel numbers it: 1, 2, ... */
	uint64_t start;	    /* bytes from the start of the image */
	uint64_t size;	    /* bytes */
	char type[40];	    /* MBR "0x0c", GPT type GUID */
	char type_name[32]; /* "W95 FAT32 (LBA)", "Linux", ... or "" */
	char partuuid[40];  /* "5eedc0de-02" or a GPT partition GUID */
	char fstype[16];    /* what its content probes as: "vfat", "ext4" */
	char label[64];
	char uuid[40];
	bool past_end; /* extends past the end of the file */
};

struct part_image {
	char *path;
	int fd;
	bool read_only;
	bool forced_read_only; /* read-only because the file or its fs is */
	bool is_block_device;
	uint64_t size;
	char table[8];	  /* "dos" or "gpt" */
	char disk_id[40]; /* MBR: 8 hex digits; GPT: the disk GUID */
	struct part_entry *parts;
	unsigned count;
	int boot; /* index in parts of the FAT boot partition */
};

enum {
	PART_OPEN_RDONLY = 1 << 0,
	/* Describe what is there: no error for a partition past the end or
	   a missing FAT partition (for rpifs info). */
	PART_OPEN_LENIENT = 1 << 1,
	/* Recognise only vfat and ext2/3/4 in partitions (a faster open;
	   other file systems show no type). For rpifs mount. */
	PART_OPEN_QUICK = 1 << 2,
};

/*
 * Open @path and read its partition table. On failure @err holds one
 * sentence naming the problem and what to do.
 * @return 0 or -errno (-ENOENT, -EACCES, -EISDIR, -EINVAL: no table,
 * -ENODEV: no FAT partition, -ERANGE: a partition past the end).
 */
int part_open(const char *path, unsigned flags, struct part_image **imgp,
	      char *err, size_t err_size);
void part_close(struct part_image *img);

/* The boot partition (the first whose content is vfat). */
const struct part_entry *part_boot(const struct part_image *img);

/*
 * The root partition a kernel command line names: root=PARTUUID=... or
 * root=/dev/mmcblkNpM (@cmdline may be NULL), else the first Linux
 * partition (an ext2/3/4 file system, or a Linux partition type). NULL
 * when there is none.
 */
const struct part_entry *part_root(const struct part_image *img,
				   const char *cmdline);

/*
 * Locks, compatible with QEMU's image locking (block/file-posix.c: byte
 * 100 + bit is held by a user of a permission, byte 200 + bit by one that
 * does not share it; bits: consistent read, write, write unchanged,
 * resize). While mounted, rpifs uses read and write and shares none of
 * them, so QEMU refuses to open the image; a private byte marks an rpifs
 * mount (exclusive when read-write) so a second rpifs is refused too.
 */

/*
 * Take the mount locks. @return 0, -EBUSY (another rpifs has it mounted),
 * -ETXTBSY (another program, such as QEMU, is using it) with @err set.
 */
int part_lock_mount(struct part_image *img, char *err, size_t err_size);
/* Stop refusing QEMU (before starting the guest) or refuse it again. */
int part_lock_share(struct part_image *img, bool share);
/* Whether an rpifs daemon has @path mounted. @return 1, 0 or -errno. */
int part_lock_test_mounted(const char *path);

/* The smallest power of two not below @size. */
uint64_t part_pow2_ceil(uint64_t size);

/*
 * Grow the image file, sparse, to @size bytes (never shrinks).
 * @return 0, or -EROFS (read-only), -ENOTTY (a block device), -errno,
 * with @err set.
 */
int part_grow(struct part_image *img, uint64_t size, char *err,
	      size_t err_size);

/* The partition that ends last on the disk (--grow-root's), or NULL. */
const struct part_entry *part_last(const struct part_image *img);
/*
 * Grow the image to @image_size as part_grow() does, then the last
 * partition (an ext2/3/4 root, checked first with e2fsck -f -p, so a root
 * needing repair changes nothing) to the end of the image: the partition
 * table (MBR or GPT, backup moved) and then its file system with resize2fs.
 * @return 0 with its number and new size, or -errno with @err.
 */
int part_grow_root(struct part_image *img, uint64_t image_size,
		   unsigned *number, uint64_t *size, char *err,
		   size_t err_size);
/* Release the mount locks taken by part_lock_mount(). */
void part_unlock(struct part_image *img);

/* Format a byte count as "512 MiB", "3.5 GiB", "812 KiB", "17 B". */
void part_format_size(uint64_t bytes, char *buf, size_t size);

#endif
