// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Mounting and unmounting the root file system: open it through the
 * window io manager, replay its journal when it needs that and the mount
 * may write, fall back to read-only with a reason when it cannot, mark it
 * not clean at the first write and clean again at a clean unmount (unless
 * it was not clean when found), and the error translation every file of
 * ext4/ uses.
 */
#include "internal.h"
#include "journal.h"
#include "../common/errmsg.h"
#include "../common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Inodes libext2fs keeps decoded (its default is 4). */
#define INODE_CACHE 512

static bool is_damage(errcode_t e)
{
	switch (e) {
	case EXT2_ET_DIR_CORRUPTED:
	case EXT2_ET_EXTENT_HEADER_BAD:
	case EXT2_ET_EXTENT_INDEX_BAD:
	case EXT2_ET_EXTENT_LEAF_BAD:
	case EXT2_ET_EXTENT_CSUM_INVALID:
	case EXT2_ET_DIR_CSUM_INVALID:
	case EXT2_ET_INODE_CSUM_INVALID:
	case EXT2_ET_INODE_BITMAP_CSUM_INVALID:
	case EXT2_ET_BLOCK_BITMAP_CSUM_INVALID:
	case EXT2_ET_EXT_ATTR_CSUM_INVALID:
	case EXT2_ET_BAD_EA_HEADER:
	case EXT2_ET_BAD_EA_BLOCK_NUM:
	case EXT2_ET_EA_BAD_NAME_LEN:
	case EXT2_ET_EA_BAD_VALUE_SIZE:
	case EXT2_ET_EA_BAD_VALUE_OFFSET:
	case EXT2_ET_EA_INODE_CORRUPTED:
	case EXT2_ET_BAD_BLOCK_NUM:
	case EXT2_ET_BAD_INODE_NUM:
	case EXT2_ET_BAD_IND_BLOCK:
	case EXT2_ET_BAD_DIND_BLOCK:
	case EXT2_ET_BAD_TIND_BLOCK:
	case EXT2_ET_INLINE_DATA_NO_SPACE:
	case EXT2_ET_NO_INLINE_DATA:
	case EXT2_ET_CORRUPT_SUPERBLOCK:
	case EXT2_ET_GDESC_BAD_BLOCK_MAP:
	case EXT2_ET_GDESC_BAD_INODE_MAP:
	case EXT2_ET_GDESC_BAD_INODE_TABLE:
		return true;
	default:
		return false;
	}
}

static int plain_errno(errcode_t e)
{
	switch (e) {
	case EXT2_ET_NO_MEMORY:
		return -ENOMEM;
	case EXT2_ET_FILE_NOT_FOUND:
		return -ENOENT;
	case EXT2_ET_DIR_EXISTS:
		return -EEXIST;
	case EXT2_ET_RO_FILSYS:
		return -EROFS;
	case EXT2_ET_BLOCK_ALLOC_FAIL:
	case EXT2_ET_INODE_ALLOC_FAIL:
	case EXT2_ET_DIR_NO_SPACE:
	case EXT2_ET_EA_NO_SPACE:
	case EXT2_ET_TOOSMALL:
		return -ENOSPC;
	case EXT2_ET_FILE_TOO_BIG:
		return -EFBIG;
	case EXT2_ET_EA_KEY_NOT_FOUND:
		return -ENODATA;
	case EXT2_ET_UNIMPLEMENTED:
	case EXT2_ET_OP_NOT_SUPPORTED:
	case EXT2_ET_EXTENT_NOT_SUPPORTED:
		return -EOPNOTSUPP;
	case EXT2_ET_INVALID_ARGUMENT:
		return -EINVAL;
	case EXT2_ET_NO_DIRECTORY:
		return -ENOTDIR;
	default:
		return 0;
	}
}

int ext4_errno_at(struct ext4_vol *vol, errcode_t e, const char *what,
		  const char *file, int line)
{
	int ret;

	if (e == 0)
		return 0;
	if (e > 0 && e < 4096)
		return -(int)e; /* an errno passed through */
	ret = plain_errno(e);
	if (ret)
		return ret;
	if (is_damage(e)) {
		if (!vol->damaged)
			rpifs_log(RPIFS_ERR,
				  "ext4: damaged file system: %s: %s (%s:%d); "
				  "no more writes until e2fsck repairs it",
				  what, error_message(e), file, line);
		vol->damaged = true;
		return -EUCLEAN;
	}
	rpifs_log(RPIFS_WARN, "ext4: %s: %s (%s:%d)", what, error_message(e),
		  file, line);
	return -EIO;
}

int ext4_begin_write(struct ext4_vol *vol)
{
	errcode_t e;

	if (vol->read_only || vol->damaged)
		return -EROFS;
	if (vol->writing)
		return 0;
	e = ext2fs_read_bitmaps(vol->fs);
	if (e)
		return ext4_errno(vol, e, "reading the bitmaps");
	/* Until a clean unmount: whoever looks next knows to check it. */
	vol->fs->super->s_state &= (__u16)~EXT2_VALID_FS;
	ext2fs_mark_super_dirty(vol->fs);
	e = ext2fs_flush(vol->fs);
	if (e)
		return ext4_errno(vol, e, "marking the file system in use");
	vol->writing = true;
	return 0;
}

static void describe(struct ext4_vol *vol)
{
	struct ext2_super_block *sb = vol->fs->super;
	struct ext4_info *i = &vol->info;
	const uint8_t *u = sb->s_uuid;

	snprintf(i->label, sizeof(i->label), "%.16s",
		 (const char *)sb->s_volume_name);
	snprintf(i->uuid, sizeof(i->uuid),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%"
		 "02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
		 u[10], u[11], u[12], u[13], u[14], u[15]);
	if (ext2fs_has_feature_extents(sb) || ext2fs_has_feature_flex_bg(sb) ||
	    ext2fs_has_feature_64bit(sb) || ext2fs_has_feature_huge_file(sb) ||
	    ext2fs_has_feature_metadata_csum(sb))
		snprintf(i->type, sizeof(i->type), "ext4");
	else if (ext2fs_has_feature_journal(sb))
		snprintf(i->type, sizeof(i->type), "ext3");
	else
		snprintf(i->type, sizeof(i->type), "ext2");
	i->block_size = vol->fs->blocksize;
	i->was_not_clean = !(sb->s_state & EXT2_VALID_FS);
	i->errors = sb->s_state & EXT2_ERROR_FS;
}

static errcode_t open_fs(struct ext4_vol *vol, bool rw)
{
	char name[128];
	int flags = EXT2_FLAG_64BITS | EXT2_FLAG_MASTER_SB_ONLY |
		    (rw ? EXT2_FLAG_RW : 0);

	ext4_io_name(&vol->win, rw, name, sizeof(name));
	return ext2fs_open2(name, NULL, flags, 0, 0, ext4_io_manager, &vol->fs);
}

/* The journal replayed before anything else is written. */
static int replay(struct ext4_vol *vol)
{
	struct ext4_replay r = {0};
	char why[160];
	int ret = ext4_journal_replay(vol->fs, &r, why, sizeof(why));

	if (ret == -ESTALE) {
		/* The log changed the geometry: read the file system again. */
		ext2fs_free(vol->fs);
		vol->fs = NULL;
		ret = open_fs(vol, true) ? -EIO : 0;
	}
	if (ret) {
		snprintf(vol->info.why_read_only,
			 sizeof(vol->info.why_read_only),
			 "its journal needs replaying and rpifs could not "
			 "replay it (%s)",
			 why);
		return ret;
	}
	vol->info.replayed = r.transactions;
	rpifs_log(RPIFS_INFO,
		  "ext4: replayed the journal: %u transactions, %u blocks%s%s",
		  r.transactions, r.blocks, r.errors ? "; " : "",
		  r.errors ? why : "");
	return 0;
}

/* What keeps a mount from writing; "" when nothing does. */
static void check_writable(struct ext4_vol *vol)
{
	struct ext4_info *i = &vol->info;

	if (i->errors && !i->why_read_only[0])
		snprintf(i->why_read_only, sizeof(i->why_read_only),
			 "the file system is marked with errors");
	if (i->why_read_only[0])
		vol->read_only = true;
}

int ext4_mount(struct ext4_vol **volp, const struct ext4_window *win,
	       unsigned flags, char *err, size_t err_size)
{
	static pthread_once_t messages = PTHREAD_ONCE_INIT;
	struct ext4_vol *vol = calloc(1, sizeof(*vol));
	bool rw = !(flags & EXT4_MOUNT_RDONLY);
	errcode_t e;

	/* libext2fs's messages for its error codes. */
	pthread_once(&messages, initialize_ext2_error_table);
	*volp = NULL;
	if (!vol)
		return err_set(err, err_size, -ENOMEM, "out of memory");
	vol->win = *win;
	e = open_fs(vol, rw);
	if (e == EXT2_ET_RO_UNSUPP_FEATURE && rw) {
		snprintf(vol->info.why_read_only,
			 sizeof(vol->info.why_read_only),
			 "it has a feature libext2fs %s can only read",
			 EXT2FS_VERSION);
		rw = false;
		e = open_fs(vol, false);
	}
	if (e) {
		free(vol);
		return err_set(err, err_size,
			       e == EXT2_ET_BAD_MAGIC ? -EINVAL : -EUCLEAN,
			       "not a usable ext2/3/4 file system: %s",
			       error_message(e));
	}
	if (ext2fs_has_feature_journal_dev(vol->fs->super)) {
		ext2fs_free(vol->fs);
		free(vol);
		return err_set(err, err_size, -EINVAL,
			       "an external journal device, not a file system");
	}
	describe(vol);
	if (ext4_journal_needs_recovery(vol->fs)) {
		if (rw && replay(vol) != 0) {
			if (vol->fs)
				ext2fs_free(vol->fs);
			rw = false;
			e = open_fs(vol, false);
			if (e) {
				free(vol);
				return err_set(
					err, err_size, -EIO,
					"cannot read the file system again: %s",
					error_message(e));
			}
		}
		vol->info.needs_recovery = ext4_journal_needs_recovery(vol->fs);
		describe(vol);
	}
	vol->read_only = !rw;
	check_writable(vol);
	ext2fs_create_inode_cache(vol->fs, INODE_CACHE);
	*volp = vol;
	return 0;
}

int ext4_sync(struct ext4_vol *vol)
{
	errcode_t e;

	if (!vol->writing || vol->damaged)
		return 0;
	e = ext2fs_write_bitmaps(vol->fs);
	if (!e)
		e = ext2fs_flush(vol->fs);
	return ext4_errno(vol, e, "writing the file system's tables");
}

int ext4_unmount(struct ext4_vol *vol)
{
	errcode_t e = 0;

	if (!vol)
		return 0;
	if (vol->writing && !vol->damaged) {
		/* Clean again, unless it was not clean when found. */
		if (!vol->info.was_not_clean)
			vol->fs->super->s_state |= EXT2_VALID_FS;
		ext2fs_mark_super_dirty(vol->fs);
		e = ext2fs_close2(vol->fs, 0);
		if (e)
			ext2fs_free(vol->fs);
	} else {
		ext2fs_free(vol->fs);
	}
	free(vol);
	return e ? -EIO : 0;
}

void ext4_get_info(struct ext4_vol *vol, struct ext4_info *info)
{
	struct ext2_super_block *sb = vol->fs->super;

	*info = vol->info;
	info->blocks = ext2fs_blocks_count(sb);
	info->free_blocks = ext2fs_free_blocks_count(sb);
	info->inodes = sb->s_inodes_count;
	info->free_inodes = sb->s_free_inodes_count;
	info->read_only = vol->read_only || vol->damaged;
}

bool ext4_is_read_only(const struct ext4_vol *vol)
{
	return vol->read_only || vol->damaged;
}

int ext4_statfs(struct ext4_vol *vol, struct statvfs *st)
{
	struct ext2_super_block *sb = vol->fs->super;
	uint64_t free = ext2fs_free_blocks_count(sb);
	uint64_t reserved = ext2fs_r_blocks_count(sb);

	memset(st, 0, sizeof(*st));
	st->f_bsize = vol->fs->blocksize;
	st->f_frsize = vol->fs->blocksize;
	st->f_blocks = ext2fs_blocks_count(sb) - sb->s_first_data_block;
	st->f_bfree = free;
	st->f_bavail = free > reserved ? free - reserved : 0;
	st->f_files = sb->s_inodes_count;
	st->f_ffree = sb->s_free_inodes_count;
	st->f_favail = sb->s_free_inodes_count;
	st->f_namemax = EXT2_NAME_LEN;
	st->f_fsid = (unsigned long)sb->s_uuid[0] |
		     (unsigned long)sb->s_uuid[1] << 8 |
		     (unsigned long)sb->s_uuid[2] << 16 |
		     (unsigned long)sb->s_uuid[3] << 24;
	if (ext4_is_read_only(vol))
		st->f_flag |= ST_RDONLY;
	return 0;
}
