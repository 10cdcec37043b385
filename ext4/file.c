// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * File data: reads through libext2fs (inline data and all), the map of a
 * file's bytes to the image for zero-copy reads (extents walked once per
 * request, holes and unwritten extents as zeros), writes and fallocate.
 */
#include "internal.h"

#include <errno.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>

static int open_file(struct ext4_vol *vol, uint64_t ino, int flags,
		     ext2_file_t *file)
{
	struct ext2_inode_large inode;
	errcode_t e;
	int ret = ext4_read_inode(vol, (ext2_ino_t)ino, &inode);

	if (ret)
		return ret;
	if (LINUX_S_ISDIR(inode.i_mode))
		return -EISDIR;
	if (!LINUX_S_ISREG(inode.i_mode))
		return -EINVAL;
	e = ext2fs_file_open2(vol->fs, (ext2_ino_t)ino, NULL, flags, file);
	return ext4_errno(vol, e, "opening a file");
}

static int close_file(struct ext4_vol *vol, ext2_file_t file, int ret)
{
	errcode_t e = ext2fs_file_close(file);

	return ret ? ret : ext4_errno(vol, e, "closing a file");
}

ssize_t ext4_read(struct ext4_vol *vol, uint64_t ino, void *buf, size_t size,
		  uint64_t off)
{
	ext2_file_t file;
	size_t done = 0;
	errcode_t e;
	int ret = open_file(vol, ino, 0, &file);

	if (ret)
		return ret;
	e = ext2fs_file_llseek(file, off, EXT2_SEEK_SET, NULL);
	while (!e && done < size) {
		unsigned got = 0, want = size - done > (1u << 30)
						 ? 1u << 30
						 : (unsigned)(size - done);

		e = ext2fs_file_read(file, (char *)buf + done, want, &got);
		if (got == 0)
			break;
		done += got;
	}
	ret = close_file(vol, file, ext4_errno(vol, e, "reading a file"));
	return ret ? ret : (ssize_t)done;
}

/* A run into @runs, merged with the one before when they touch. */
static int add_run(struct ext4_run *runs, int n, int max, uint64_t pos,
		   size_t len, bool zeros)
{
	struct ext4_run *last = n ? &runs[n - 1] : NULL;

	if (last && last->zeros == zeros &&
	    (zeros || last->pos + last->len == pos)) {
		last->len += len;
		return n;
	}
	if (n == max)
		return -1;
	runs[n] = (struct ext4_run){.pos = pos, .len = len, .zeros = zeros};
	return n + 1;
}

struct mapping {
	struct ext4_vol *vol;
	uint64_t lblk, end_blk; /* blocks still to map */
	struct ext4_run *runs;
	int n, max;
};

/* Blocks [lblk, lblk + count) at @pblk (0: a hole) into the runs. */
static bool map_blocks(struct mapping *m, uint64_t pblk, uint64_t count,
		       bool zeros)
{
	uint32_t bs = m->vol->fs->blocksize;
	int n;

	if (count > m->end_blk - m->lblk)
		count = m->end_blk - m->lblk;
	n = add_run(m->runs, m->n, m->max,
		    m->vol->win.offset + pblk * (uint64_t)bs,
		    (size_t)(count * bs), zeros || pblk == 0);
	if (n < 0)
		return false;
	m->n = n;
	m->lblk += count;
	return m->lblk < m->end_blk;
}

/* Through the extent tree, leaf by leaf, from the first block wanted. */
static int map_extents(struct mapping *m, ext2_ino_t ino,
		       struct ext2_inode_large *inode)
{
	ext2_extent_handle_t h;
	struct ext2fs_extent ext;
	errcode_t e = ext2fs_extent_open2(m->vol->fs, ino,
					  (struct ext2_inode *)inode, &h);
	bool more = true;

	if (e)
		return ext4_errno(m->vol, e, "reading a file's extents");
	e = ext2fs_extent_goto2(h, 0, m->lblk);
	if (e == EXT2_ET_EXTENT_NOT_FOUND || e == EXT2_ET_EXTENT_NO_NEXT ||
	    e == 0)
		e = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &ext);
	while (more && !e) {
		if (ext.e_lblk + ext.e_len <= m->lblk) {
			e = ext2fs_extent_get(h, EXT2_EXTENT_NEXT_LEAF, &ext);
			continue;
		}
		if (ext.e_lblk > m->lblk)
			more = map_blocks(m, 0, ext.e_lblk - m->lblk, true);
		else
			more = map_blocks(
				m, ext.e_pblk + (m->lblk - ext.e_lblk),
				ext.e_lblk + ext.e_len - m->lblk,
				ext.e_flags & EXT2_EXTENT_FLAGS_UNINIT);
	}
	ext2fs_extent_free(h);
	/* Past the last extent, and an empty tree: a hole to the end. */
	if (e == EXT2_ET_EXTENT_NO_NEXT || e == EXT2_ET_NO_CURRENT_NODE ||
	    e == EXT2_ET_EXTENT_NOT_FOUND)
		e = 0;
	if (!e && more && m->lblk < m->end_blk)
		map_blocks(m, 0, m->end_blk - m->lblk, true);
	return ext4_errno(m->vol, e, "walking a file's extents");
}

/* Block by block, for files of ext2 and ext3 (block maps). */
static int map_blockmap(struct mapping *m, ext2_ino_t ino,
			struct ext2_inode_large *inode)
{
	bool more = true;

	while (more) {
		blk64_t pblk = 0;
		int flags = 0;
		errcode_t e = ext2fs_bmap2(m->vol->fs, ino,
					   (struct ext2_inode *)inode, NULL, 0,
					   m->lblk, &flags, &pblk);

		if (e)
			return ext4_errno(m->vol, e, "mapping a file's block");
		more = map_blocks(m, pblk, 1, flags & BMAP_RET_UNINIT);
	}
	return 0;
}

int ext4_map(struct ext4_vol *vol, uint64_t ino, uint64_t off, size_t size,
	     struct ext4_run *runs, int max)
{
	struct ext2_inode_large inode;
	uint32_t bs = vol->fs->blocksize;
	uint64_t fsize, skip;
	struct mapping m = {.vol = vol, .runs = runs, .max = max};
	int ret = ext4_read_inode(vol, (ext2_ino_t)ino, &inode);

	if (ret)
		return ret;
	if (!LINUX_S_ISREG(inode.i_mode))
		return LINUX_S_ISDIR(inode.i_mode) ? -EISDIR : -EINVAL;
	if (inode.i_flags & EXT4_INLINE_DATA_FL)
		return -ENOTSUP;
	fsize = EXT2_I_SIZE(&inode);
	if (off >= fsize || size == 0)
		return 0;
	if (size > fsize - off)
		size = (size_t)(fsize - off);
	m.lblk = off / bs;
	m.end_blk = (off + size + bs - 1) / bs;
	ret = inode.i_flags & EXT4_EXTENTS_FL
		      ? map_extents(&m, (ext2_ino_t)ino, &inode)
		      : map_blockmap(&m, (ext2_ino_t)ino, &inode);
	if (ret)
		return ret;
	if (m.n == 0)
		return 0;
	/* Trim the first run to @off and the runs to @size in all. */
	skip = off % bs;
	runs[0].pos += runs[0].zeros ? 0 : skip;
	runs[0].len -= skip;
	for (int i = 0; i < m.n; i++) {
		if (runs[i].len >= size) {
			runs[i].len = size;
			return i + 1;
		}
		size -= runs[i].len;
	}
	return m.n;
}

ssize_t ext4_write(struct ext4_vol *vol, uint64_t ino, const void *buf,
		   size_t size, uint64_t off)
{
	struct ext2_inode_large inode;
	ext2_file_t file;
	size_t done = 0;
	errcode_t e;
	int ret;

	if ((ret = ext4_begin_write(vol)) ||
	    (ret = ext4_read_inode(vol, (ext2_ino_t)ino, &inode)))
		return ret;
	/* Extents address 2^32 blocks. */
	if (off > UINT64_MAX - size ||
	    off + size > 0xffffffffull * vol->fs->blocksize)
		return -EFBIG;
	/* Times first, in the same inode the file handle writes at close. */
	ext4_touch(vol, &inode, true);
	ret = ext4_write_inode(vol, (ext2_ino_t)ino, &inode);
	if (!ret)
		ret = open_file(vol, ino, EXT2_FILE_WRITE, &file);
	if (ret)
		return ret;
	e = ext2fs_file_llseek(file, off, EXT2_SEEK_SET, NULL);
	while (!e && done < size) {
		unsigned put = 0, want = size - done > (1u << 30)
						 ? 1u << 30
						 : (unsigned)(size - done);

		e = ext2fs_file_write(file, (const char *)buf + done, want,
				      &put);
		done += put;
		if (!e && put == 0)
			e = EXT2_ET_SHORT_WRITE;
	}
	if (!e)
		e = ext2fs_file_flush(file);
	ret = close_file(vol, file, ext4_errno(vol, e, "writing a file"));
	/* A short write is a write: what reached the file counts. */
	if (ret && done)
		return (ssize_t)done;
	return ret ? ret : (ssize_t)done;
}

int ext4_fallocate(struct ext4_vol *vol, uint64_t ino, int mode, uint64_t off,
		   uint64_t len)
{
	struct ext2_inode_large inode;
	uint32_t bs = vol->fs->blocksize;
	uint64_t first, last;
	errcode_t e;
	int ret;

	if (mode & ~FALLOC_FL_KEEP_SIZE)
		return -EOPNOTSUPP;
	if (len == 0)
		return -EINVAL;
	if ((ret = ext4_begin_write(vol)) ||
	    (ret = ext4_read_inode(vol, (ext2_ino_t)ino, &inode)))
		return ret;
	if (!LINUX_S_ISREG(inode.i_mode))
		return LINUX_S_ISDIR(inode.i_mode) ? -EISDIR : -ENODEV;
	first = off / bs;
	last = (off + len + bs - 1) / bs;
	/* Unwritten extents: they read as zeros and cost no writes. */
	e = ext2fs_fallocate(vol->fs, 0, (ext2_ino_t)ino,
			     (struct ext2_inode *)&inode, ~0ULL, first,
			     last - first);
	if (e)
		return ext4_errno(vol, e, "allocating a file's blocks");
	/* ext2fs_fallocate wrote the inode; read it back to grow it. */
	ret = ext4_read_inode(vol, (ext2_ino_t)ino, &inode);
	if (ret)
		return ret;
	if (!(mode & FALLOC_FL_KEEP_SIZE) && off + len > EXT2_I_SIZE(&inode)) {
		e = ext2fs_inode_size_set(vol->fs, (struct ext2_inode *)&inode,
					  off + len);
		if (e)
			return ext4_errno(vol, e, "growing a file");
	}
	ext4_touch(vol, &inode, !(mode & FALLOC_FL_KEEP_SIZE));
	return ext4_write_inode(vol, (ext2_ino_t)ino, &inode);
}
