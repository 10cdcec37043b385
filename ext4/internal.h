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

struct ext4_vol {
	ext2_filsys fs;
	struct ext4_window win;
	bool read_only;		/* asked for, or forced (why_read_only) */
	bool damaged;		/* corruption met: no more writes */
	bool writing;		/* the first write marked it not clean */
	struct ext4_info info;	/* as found at mount */
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

/* ---- io.c ---- */

/* The io manager; its "file name" is made by ext4_io_name(). */
extern io_manager ext4_io_manager;
void ext4_io_name(const struct ext4_window *win, bool rw, char *out,
		  size_t size);

#endif
