// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The kernel's caches: invalidations of entries and inodes are queued
 * under the lock (where the change is made) and sent after it, since the
 * kernel may call back into the file system while it handles one.
 */
#include "rfs.h"

#include <stdlib.h>
#include <string.h>

static void queue(struct rfs *fs, fuse_ino_t parent, fuse_ino_t ino,
		  const char *name, bool attr_only)
{
	struct rfs_notify *n;

	if (fs->notify_count == fs->notify_cap) {
		size_t cap = fs->notify_cap ? fs->notify_cap * 2 : 8;
		struct rfs_notify *bigger =
			realloc(fs->notify, cap * sizeof(*bigger));

		if (!bigger)
			return; /* the kernel keeps a stale cache entry */
		fs->notify = bigger;
		fs->notify_cap = cap;
	}
	n = &fs->notify[fs->notify_count];
	n->parent = parent;
	n->ino = ino;
	n->attr_only = attr_only;
	n->name = name ? strdup(name) : NULL;
	if (name && !n->name)
		return;
	fs->notify_count++;
}

void rfs_notify_queue(struct rfs *fs, fuse_ino_t parent, fuse_ino_t ino,
		      const char *name)
{
	queue(fs, parent, ino, name, false);
}

void rfs_notify_guest_owned(struct rfs *fs)
{
	for (struct rfs_inode *i = fs->inodes; i; i = i->next)
		if (i->kind->guest_owned)
			queue(fs, 0, rfs_ino(fs, i), NULL, true);
}

void rfs_notify_send(struct rfs *fs)
{
	struct rfs_notify *list;
	size_t count;

	pthread_mutex_lock(&fs->lock);
	list = fs->notify;
	count = fs->notify_count;
	fs->notify = NULL;
	fs->notify_count = fs->notify_cap = 0;
	pthread_mutex_unlock(&fs->lock);
	for (size_t i = 0; i < count; i++) {
		if (fs->se && list[i].name)
			fuse_lowlevel_notify_inval_entry(fs->se, list[i].parent,
							 list[i].name,
							 strlen(list[i].name));
		else if (fs->se)
			fuse_lowlevel_notify_inval_inode(
				fs->se, list[i].ino, list[i].attr_only ? -1 : 0,
				0);
		free(list[i].name);
	}
	free(list);
}
