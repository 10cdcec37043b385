// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Inodes as the kernel sees them: node ids, lookup counts, and attributes.
 * A FAT node gets an rfs_inode the first time the kernel is told of it; the
 * inode holds one reference on the node until the kernel forgets it.
 * Attributes follow Linux's vfat: one owner, modes from the masks, and the
 * read-only attribute as missing write bits.
 */
#include "ctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Nobody else writes boot/ while mounted, so the kernel may cache long. */
#define RFS_CACHE_TIMEOUT 86400.0

double rfs_entry_timeout(void)
{
	return RFS_CACHE_TIMEOUT;
}

struct rfs_inode *rfs_inode(struct rfs *fs, fuse_ino_t ino)
{
	if (ino == FUSE_ROOT_ID)
		return &fs->root;
	return (struct rfs_inode *)(uintptr_t)ino;
}

fuse_ino_t rfs_ino(struct rfs *fs, const struct rfs_inode *inode)
{
	if (inode == &fs->root)
		return FUSE_ROOT_ID;
	return (fuse_ino_t)(uintptr_t)inode;
}

static blkcnt_t blocks_of(uint64_t bytes, uint32_t cluster_size)
{
	uint64_t clusters = (bytes + cluster_size - 1) / cluster_size;

	return (blkcnt_t)(clusters * cluster_size / 512);
}

void rfs_fat_stat(struct rfs *fs, struct fat_node *node, struct stat *st)
{
	uint32_t cluster_size = fat_cluster_size(fs->vol);
	struct fat_stat fst;
	mode_t perm;

	fat_node_stat(fs->vol, node, &fst);
	memset(st, 0, sizeof(*st));
	st->st_ino = fat_node_ino(node);
	st->st_uid = fs->opt.uid;
	st->st_gid = fs->opt.gid;
	st->st_size = fst.size;
	st->st_blocks = blocks_of(fst.size, cluster_size);
	st->st_blksize = cluster_size;
	/*
	 * Directories get one link: FAT keeps no link counts, and 1 tells
	 * find(1) not to use the "leaf" shortcut that a count would invite.
	 */
	st->st_nlink = 1;
	st->st_mtim = fst.mtime;
	st->st_atim = fst.atime;
	/* As Linux's vfat does: ctime shows the creation time. */
	st->st_ctim = fst.crtime;
	if (fst.is_dir) {
		perm = 0777 & ~fs->opt.dmask;
		st->st_mode = S_IFDIR | perm;
	} else {
		perm = 0777 & ~fs->opt.fmask;
		if (fst.attr & FAT_ATTR_RO)
			perm &= ~(mode_t)0222;
		st->st_mode = S_IFREG | perm;
	}
}

int rfs_getattr(struct rfs *fs, struct rfs_inode *inode, struct stat *st)
{
	switch (inode->kind) {
	case RFS_ROOT:
		rfs_root_stat(fs, st);
		return 0;
	case RFS_FAT:
		if (!rfs_fat(fs, inode))
			return -ESTALE;
		rfs_fat_stat(fs, inode->fat, st);
		return 0;
	case RFS_CTL:
		return ctl_getattr(fs, inode->ctl, st);
	}
	return -ENOSYS;
}

int rfs_fat_entry(struct rfs *fs, struct fat_node *node,
		  struct fuse_entry_param *e)
{
	struct rfs_inode *inode = fat_node_priv(node);

	if (inode) {
		/* Known already: it holds its own reference. */
		fat_node_put(fs->vol, node);
	} else {
		inode = calloc(1, sizeof(*inode));
		if (!inode) {
			fat_node_put(fs->vol, node);
			return -ENOMEM;
		}
		inode->kind = RFS_FAT;
		inode->fat = node;
		inode->gen = fs->vol_gen;
		fat_node_set_priv(node, inode);
	}
	inode->nlookup++;
	memset(e, 0, sizeof(*e));
	e->ino = rfs_ino(fs, inode);
	e->generation = 1;
	e->attr_timeout = RFS_CACHE_TIMEOUT;
	e->entry_timeout = RFS_CACHE_TIMEOUT;
	rfs_fat_stat(fs, node, &e->attr);
	return 0;
}

void rfs_forget(struct rfs *fs, struct rfs_inode *inode, uint64_t nlookup)
{
	if (inode == &fs->root)
		return;
	inode->nlookup = nlookup < inode->nlookup ? inode->nlookup - nlookup
						  : 0;
	if (inode->nlookup > 0)
		return;
	if (rfs_fat(fs, inode)) {
		fat_node_set_priv(inode->fat, NULL);
		fat_node_put(fs->vol, inode->fat);
	} else if (inode->kind == RFS_CTL) {
		ctl_forget(fs, inode->ctl);
	}
	free(inode);
}

int rfs_dirbuf_add(struct rfs_dirbuf *db, const char *name,
		   const struct fuse_entry_param *e, off_t next)
{
	size_t room = db->size - db->used;
	size_t len;

	if (db->plus)
		len = fuse_add_direntry_plus(db->req, db->buf + db->used, room,
					     name, e, next);
	else
		len = fuse_add_direntry(db->req, db->buf + db->used, room, name,
					&e->attr, next);
	if (len > room)
		return 1;
	db->used += len;
	return 0;
}
