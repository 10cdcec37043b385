// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Inodes as the kernel sees them: node ids (an inode's address; 1 is the
 * mount's root), lookup counts, the list of every inode the kernel knows,
 * and the reply helpers every kind uses. The kinds' own data hangs off an
 * inode; when the kernel forgets one, its kind lets go of it.
 */
#include "rfs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

struct rfs_inode *rfs_inode_new(struct rfs *fs, const struct rfs_kind *kind)
{
	struct rfs_inode *inode = calloc(1, sizeof(*inode));

	if (!inode)
		return NULL;
	inode->kind = kind;
	inode->next = fs->inodes;
	if (fs->inodes)
		fs->inodes->prev = inode;
	fs->inodes = inode;
	return inode;
}

void rfs_inode_entry(struct rfs *fs, struct rfs_inode *inode,
		     const struct stat *st, struct fuse_entry_param *e)
{
	inode->nlookup++;
	memset(e, 0, sizeof(*e));
	e->ino = rfs_ino(fs, inode);
	e->generation = 1;
	e->attr_timeout = inode->kind->timeout;
	e->entry_timeout = inode->kind->timeout;
	e->attr = *st;
}

void rfs_forget(struct rfs *fs, struct rfs_inode *inode, uint64_t nlookup)
{
	if (inode == &fs->root)
		return;
	inode->nlookup =
		nlookup < inode->nlookup ? inode->nlookup - nlookup : 0;
	if (inode->nlookup > 0)
		return;
	if (inode->kind->forget)
		inode->kind->forget(fs, inode);
	if (inode->prev)
		inode->prev->next = inode->next;
	else
		fs->inodes = inode->next;
	if (inode->next)
		inode->next->prev = inode->prev;
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

int rfs_bufvec_mem(const void *data, size_t len, struct fuse_bufvec **bufvp)
{
	struct fuse_bufvec *bv = malloc(sizeof(*bv) + len);

	if (!bv)
		return -ENOMEM;
	*bv = (struct fuse_bufvec)FUSE_BUFVEC_INIT(len);
	bv->buf[0].mem = bv + 1;
	if (len)
		memcpy(bv + 1, data, len);
	else
		bv->count = 0;
	*bufvp = bv;
	return 0;
}
