// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Inodes: reading and writing them whole (large inodes included), their
 * attributes as the guest's kernel shows them (owners with their high 16
 * bits, device numbers in both encodings, timestamps with nanoseconds and
 * the epoch bits), changing them, and reading symbolic links.
 */
#include "internal.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/sysmacros.h>

int ext4_read_inode(struct ext4_vol *vol, ext2_ino_t ino,
		    struct ext2_inode_large *inode)
{
	errcode_t e;

	if (ino < 1 || ino > vol->fs->super->s_inodes_count)
		return -ESTALE;
	memset(inode, 0, sizeof(*inode));
	e = ext2fs_read_inode_full(vol->fs, ino, (struct ext2_inode *)inode,
				   sizeof(*inode));
	return ext4_errno(vol, e, "reading an inode");
}

int ext4_write_inode(struct ext4_vol *vol, ext2_ino_t ino,
		     struct ext2_inode_large *inode)
{
	errcode_t e = ext2fs_write_inode_full(
		vol->fs, ino, (struct ext2_inode *)inode, sizeof(*inode));

	return ext4_errno(vol, e, "writing an inode");
}

bool ext4_has_extra(const struct ext4_vol *vol,
		    const struct ext2_inode_large *inode)
{
	return EXT2_INODE_SIZE(vol->fs->super) > EXT2_GOOD_OLD_INODE_SIZE &&
	       inode->i_extra_isize >=
		       offsetof(struct ext2_inode_large, i_crtime) -
			       EXT2_GOOD_OLD_INODE_SIZE;
}

/* The extra field: nanoseconds << 2, and bits 32-33 of the seconds. */
void ext4_time_set(uint32_t *sec, uint32_t *extra, const struct timespec *ts,
		   bool has_extra)
{
	int64_t s = ts->tv_sec;

	*sec = (uint32_t)s;
	if (has_extra)
		*extra = (uint32_t)(((s - (int32_t)*sec) >> 32) & 3) |
			 (uint32_t)(ts->tv_nsec << 2);
}

struct timespec ext4_time_get(uint32_t sec, uint32_t extra, bool has_extra)
{
	struct timespec ts = {.tv_sec = (int32_t)sec};

	if (has_extra) {
		ts.tv_sec += (int64_t)(extra & 3) << 32;
		ts.tv_nsec = extra >> 2;
		if (ts.tv_nsec > 999999999)
			ts.tv_nsec = 0;
	}
	return ts;
}

void ext4_touch(struct ext4_vol *vol, struct ext2_inode_large *inode,
		bool mtime)
{
	bool x = ext4_has_extra(vol, inode);
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	ext4_time_set(&inode->i_ctime, &inode->i_ctime_extra, &now, x);
	if (mtime)
		ext4_time_set(&inode->i_mtime, &inode->i_mtime_extra, &now, x);
}

/* The kernel's two encodings of a device number in i_block. */
static dev_t device_of(const struct ext2_inode_large *inode)
{
	uint32_t old = inode->i_block[0], new = inode->i_block[1];

	if (old)
		return makedev((old >> 8) & 0xff, old & 0xff);
	return makedev((new & 0xfff00) >> 8,
		       (new & 0xff) | ((new >> 12) & 0xfff00));
}

void ext4_set_device(struct ext2_inode_large *inode, dev_t dev)
{
	unsigned maj = major(dev), min = minor(dev);

	memset(inode->i_block, 0, sizeof(inode->i_block));
	if (maj < 256 && min < 256)
		inode->i_block[0] = maj << 8 | min;
	else
		inode->i_block[1] = (min & 0xff) | (maj & 0xfff) << 8 |
				    (min & ~0xffu) << 12;
}

int ext4_getattr(struct ext4_vol *vol, uint64_t ino, struct stat *st)
{
	struct ext2_inode_large inode;
	bool x;
	int ret = ext4_read_inode(vol, (ext2_ino_t)ino, &inode);

	if (ret)
		return ret;
	if (inode.i_links_count == 0 && inode.i_mode == 0)
		return -ESTALE; /* freed */
	x = ext4_has_extra(vol, &inode);
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = inode.i_mode;
	st->st_nlink = inode.i_links_count;
	st->st_uid = inode_uid(inode);
	st->st_gid = inode_gid(inode);
	st->st_size = (off_t)EXT2_I_SIZE(&inode);
	st->st_blksize = vol->fs->blocksize;
	st->st_blocks = (blkcnt_t)ext2fs_get_stat_i_blocks(
		vol->fs, (struct ext2_inode *)&inode);
	if (LINUX_S_ISCHR(inode.i_mode) || LINUX_S_ISBLK(inode.i_mode))
		st->st_rdev = device_of(&inode);
	st->st_atim = ext4_time_get(inode.i_atime, inode.i_atime_extra, x);
	st->st_mtim = ext4_time_get(inode.i_mtime, inode.i_mtime_extra, x);
	st->st_ctim = ext4_time_get(inode.i_ctime, inode.i_ctime_extra, x);
	return 0;
}

/* Shrink or grow a file to @size (the new bytes read as zeros). */
static int set_size(struct ext4_vol *vol, ext2_ino_t ino,
		    struct ext2_inode_large *inode, uint64_t size)
{
	ext2_file_t file;
	errcode_t e, e2;
	int ret;

	if (!LINUX_S_ISREG(inode->i_mode))
		return LINUX_S_ISDIR(inode->i_mode) ? -EISDIR : -EINVAL;
	e = ext2fs_file_open2(vol->fs, ino, (struct ext2_inode *)inode,
			      EXT2_FILE_WRITE, &file);
	if (e)
		return ext4_errno(vol, e, "opening a file to truncate it");
	e = ext2fs_file_set_size2(file, size);
	e2 = ext2fs_file_close(file);
	if (!e)
		e = e2;
	if (e)
		return ext4_errno(vol, e, "truncating a file");
	/* The file's own copy of the inode was written; read it back. */
	ret = ext4_read_inode(vol, ino, inode);
	return ret ? ret : ext4_extents_tidy(vol, ino, inode);
}

int ext4_setattr(struct ext4_vol *vol, uint64_t ino,
		 const struct ext4_setattr *sa)
{
	struct ext2_inode_large inode;
	bool x;
	int ret = ext4_begin_write(vol);

	if (!ret)
		ret = ext4_read_inode(vol, (ext2_ino_t)ino, &inode);
	if (ret)
		return ret;
	if (sa->what & EXT4_SET_SIZE) {
		ret = set_size(vol, (ext2_ino_t)ino, &inode, sa->size);
		if (ret)
			return ret;
		ext4_touch(vol, &inode, true);
	}
	x = ext4_has_extra(vol, &inode);
	if (sa->what & EXT4_SET_MODE)
		inode.i_mode = (uint16_t)((inode.i_mode & LINUX_S_IFMT) |
					  (sa->mode & 07777));
	if (sa->what & EXT4_SET_UID) {
		inode.i_uid = (uint16_t)sa->uid;
		ext2fs_set_i_uid_high(inode, sa->uid >> 16);
	}
	if (sa->what & EXT4_SET_GID) {
		inode.i_gid = (uint16_t)sa->gid;
		ext2fs_set_i_gid_high(inode, sa->gid >> 16);
	}
	if (sa->what & EXT4_SET_ATIME)
		ext4_time_set(&inode.i_atime, &inode.i_atime_extra, &sa->atime,
			      x);
	if (sa->what & EXT4_SET_MTIME)
		ext4_time_set(&inode.i_mtime, &inode.i_mtime_extra, &sa->mtime,
			      x);
	ext4_touch(vol, &inode, false);
	ret = ext4_write_inode(vol, (ext2_ino_t)ino, &inode);
	/* An access ACL's entries follow the new mode. */
	if (!ret && (sa->what & EXT4_SET_MODE) && !LINUX_S_ISLNK(inode.i_mode))
		ret = ext4_acl_chmod(vol, ino, inode.i_mode);
	return ret;
}

ssize_t ext4_readlink(struct ext4_vol *vol, uint64_t ino, char *buf,
		      size_t size)
{
	struct ext2_inode_large inode;
	uint64_t len;
	unsigned got = 0;
	ext2_file_t file;
	errcode_t e, e2;
	int ret = ext4_read_inode(vol, (ext2_ino_t)ino, &inode);

	if (ret)
		return ret;
	if (!LINUX_S_ISLNK(inode.i_mode))
		return -EINVAL;
	len = EXT2_I_SIZE(&inode);
	if (len >= size)
		return -ENAMETOOLONG;
	/* A fast symlink holds its target in the inode's block map. */
	if (ext2fs_is_fast_symlink((struct ext2_inode *)&inode)) {
		memcpy(buf, inode.i_block, len);
		buf[len] = '\0';
		return (ssize_t)len;
	}
	e = ext2fs_file_open2(vol->fs, (ext2_ino_t)ino,
			      (struct ext2_inode *)&inode, 0, &file);
	if (e)
		return ext4_errno(vol, e, "opening a symbolic link");
	e = ext2fs_file_read(file, buf, (unsigned)len, &got);
	e2 = ext2fs_file_close(file);
	if (!e)
		e = e2;
	if (e)
		return ext4_errno(vol, e, "reading a symbolic link");
	buf[got] = '\0';
	return got;
}
