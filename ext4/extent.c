// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Keeping extent trees as short as the kernel keeps them: libext2fs grows
 * a file's tree into index blocks when it needs more than the inode's
 * four extents, but never shrinks it again; after a truncate that leaves
 * four or fewer, the tree goes back into the inode here and its blocks
 * are freed.
 */
#include "internal.h"

#include <errno.h>
#include <string.h>

#define TREE_BLOCKS_MAX 8

struct walk {
	struct ext2fs_extent leaves[EXT4_INODE_EXTENTS];
	blk64_t tree[TREE_BLOCKS_MAX];
	int leaf_count;
	int tree_count;
	bool too_many;
};

/* Every node of the tree: leaf extents, and the blocks index entries name. */
static errcode_t walk_tree(ext2_extent_handle_t h, struct walk *w)
{
	struct ext2fs_extent ext;
	errcode_t e = ext2fs_extent_get(h, EXT2_EXTENT_ROOT, &ext);

	for (; !e && !w->too_many;
	     e = ext2fs_extent_get(h, EXT2_EXTENT_NEXT, &ext)) {
		if (ext.e_flags & EXT2_EXTENT_FLAGS_SECOND_VISIT)
			continue;
		if (!(ext.e_flags & EXT2_EXTENT_FLAGS_LEAF)) {
			if (w->tree_count == TREE_BLOCKS_MAX)
				w->too_many = true;
			else
				w->tree[w->tree_count++] = ext.e_pblk;
		} else if (w->leaf_count == EXT4_INODE_EXTENTS) {
			w->too_many = true;
		} else {
			w->leaves[w->leaf_count++] = ext;
		}
	}
	return e == EXT2_ET_EXTENT_NO_NEXT ? 0 : e;
}

/* i_block as a depth-0 tree holding @w's extents. */
static void root_of(const struct walk *w, struct ext2_inode_large *inode)
{
	uint8_t *p = (uint8_t *)inode->i_block;
	struct ext4_extent_header_disk *h = (struct ext4_extent_header_disk *)p;
	uint32_t generation = get_le32(h->generation);

	memset(inode->i_block, 0, sizeof(inode->i_block));
	put_le16(&h->magic, EXT4_EXTENT_MAGIC);
	put_le16(&h->entries, (uint16_t)w->leaf_count);
	put_le16(&h->max, EXT4_INODE_EXTENTS);
	put_le16(&h->depth, 0);
	put_le32(&h->generation, generation);
	for (int i = 0; i < w->leaf_count; i++) {
		const struct ext2fs_extent *x = &w->leaves[i];
		struct ext4_extent_disk *d =
			(struct ext4_extent_disk *)(p + sizeof(*h)) + i;
		uint32_t len = x->e_len;

		if (x->e_flags & EXT2_EXTENT_FLAGS_UNINIT)
			len += EXT4_INIT_MAX_LEN;
		put_le32(&d->block, (uint32_t)x->e_lblk);
		put_le16(&d->len, (uint16_t)len);
		put_le16(&d->start_hi, (uint16_t)(x->e_pblk >> 32));
		put_le32(&d->start_lo, (uint32_t)x->e_pblk);
	}
}

int ext4_extents_tidy(struct ext4_vol *vol, ext2_ino_t ino,
		      struct ext2_inode_large *inode)
{
	struct ext2_extent_info info;
	ext2_extent_handle_t h;
	struct walk w = {.leaf_count = 0};
	errcode_t e;

	if (!(inode->i_flags & EXT4_EXTENTS_FL))
		return 0;
	e = ext2fs_extent_open2(vol->fs, ino, (struct ext2_inode *)inode, &h);
	if (e)
		return ext4_errno(vol, e, "reading a file's extents");
	e = ext2fs_extent_get_info(h, &info);
	if (!e && info.max_depth > 0)
		e = walk_tree(h, &w);
	ext2fs_extent_free(h);
	if (e)
		return ext4_errno(vol, e, "walking a file's extents");
	/* A deeper tree of more than four extents stays as it is. */
	if (info.max_depth == 0 || w.too_many)
		return 0;
	root_of(&w, inode);
	for (int i = 0; i < w.tree_count; i++)
		ext2fs_block_alloc_stats2(vol->fs, w.tree[i], -1);
	e = ext2fs_iblk_sub_blocks(vol->fs, (struct ext2_inode *)inode,
				   (blk64_t)w.tree_count);
	if (e)
		return ext4_errno(vol, e, "counting a file's blocks");
	return ext4_write_inode(vol, ino, inode);
}
