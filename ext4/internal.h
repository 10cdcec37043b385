/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the files of ext4/ share: the volume, libext2fs's error codes
 * turned into -errno (with damage logged once and the volume read-only),
 * the inode helpers, and the io manager over a window of a file.
 */
#ifndef RPIFS_EXT4_INTERNAL_H
#define RPIFS_EXT4_INTERNAL_H

#include "ext4.h"

#include <ext2fs/ext2fs.h>

#include <assert.h>

#include "../common/endian.h"

/* The extent tree's root, as i_block holds it (four extents at most). */
struct ext4_extent_header_disk {
	le16_t magic;	   /* 0x0: 0xf30a */
	le16_t entries;	   /* 0x2 */
	le16_t max;	   /* 0x4 */
	le16_t depth;	   /* 0x6: 0 when the extents follow */
	le32_t generation; /* 0x8 */
};
static_assert(sizeof(struct ext4_extent_header_disk) == 12, "extent header");

struct ext4_extent_disk {
	le32_t block;	 /* 0x0: the first logical block */
	le16_t len;	 /* 0x4: above 32768: unwritten, len - 32768 */
	le16_t start_hi; /* 0x6 */
	le32_t start_lo; /* 0x8 */
};
static_assert(sizeof(struct ext4_extent_disk) == 12, "extent");

#define EXT4_EXTENT_MAGIC  0xf30a
#define EXT4_INODE_EXTENTS 4
#define EXT4_INIT_MAX_LEN  32768

struct ext4_vol {
	ext2_filsys fs;
	struct ext4_window win;
	bool read_only;	       /* asked for, or forced (why_read_only) */
	bool damaged;	       /* corruption met: no more writes */
	bool writing;	       /* the first write marked it not clean */
	struct ext4_info info; /* as found at mount */
};

/* ---- errors ---- */

/*
 * libext2fs's error @e (a com_err code or an errno) as -errno. Damage
 * (bad checksums, bad extents, corrupted directories) is -EUCLEAN, logged
 * once with @what and where, and makes the volume read-only.
 */
int ext4_errno_at(struct ext4_vol *vol, errcode_t e, const char *what,
		  const char *file, int line);
#define ext4_errno(vol, e, what) ext4_errno_at(vol, e, what, __FILE__, __LINE__)

/* -EROFS unless the volume may be written; the first write marks it. */
int ext4_begin_write(struct ext4_vol *vol);

/* ---- inodes (inode.c) ---- */

int ext4_read_inode(struct ext4_vol *vol, ext2_ino_t ino,
		    struct ext2_inode_large *inode);
int ext4_write_inode(struct ext4_vol *vol, ext2_ino_t ino,
		     struct ext2_inode_large *inode);
/* A timestamp field with its nanoseconds and epoch bits. */
void ext4_time_set(uint32_t *sec, uint32_t *extra, const struct timespec *ts,
		   bool has_extra);
struct timespec ext4_time_get(uint32_t sec, uint32_t extra, bool has_extra);
/* ctime (and with @mtime, mtime) of @inode: now. */
void ext4_touch(struct ext4_vol *vol, struct ext2_inode_large *inode,
		bool mtime);
/* A device number in i_block, in the kernel's old or new encoding. */
void ext4_set_device(struct ext2_inode_large *inode, dev_t dev);
/* Whether the large inode has room for the *_extra fields. */
bool ext4_has_extra(const struct ext4_vol *vol,
		    const struct ext2_inode_large *inode);

/*
 * An extent tree that fits in the inode again (a truncated file) put back
 * there, its blocks freed, as the kernel does: e2fsck -f calls a deeper
 * tree than needed one that "could be shorter".
 */
int ext4_extents_tidy(struct ext4_vol *vol, ext2_ino_t ino,
		      struct ext2_inode_large *inode);

/* ---- xattr.c and acl.c ---- */

/* An attribute as stored, without the ACL rules (xattr.c). */
ssize_t ext4_xattr_get_raw(struct ext4_vol *vol, uint64_t ino, const char *name,
			   void *buf, size_t size);
int ext4_xattr_set_raw(struct ext4_vol *vol, uint64_t ino, const char *name,
		       const void *value, size_t size);
/* Whether @name is an ACL (system.posix_acl_access or _default). */
bool ext4_acl_name(const char *name);
/* An access ACL being set: the mode it gives (the type and the special
   bits kept), and whether it says more than the mode (to be stored). */
int ext4_acl_set_access(const void *value, size_t size, mode_t *mode,
			bool *store);
/* After chmod: the access ACL's owner, mask and other entries follow. */
int ext4_acl_chmod(struct ext4_vol *vol, uint64_t ino, mode_t mode);
/* A new inode in @dir: its ACLs from @dir's default ACL and *@mode
   adjusted, or, without one, *@mode with @umask applied. */
int ext4_acl_inherit(struct ext4_vol *vol, uint64_t dir, uint64_t ino,
		     mode_t *mode, mode_t umask);

/* ---- io.c ---- */

/* The io manager; its "file name" is made by ext4_io_name(). */
extern io_manager ext4_io_manager;
void ext4_io_name(const struct ext4_window *win, bool rw, char *out,
		  size_t size);

#endif
