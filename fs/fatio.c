// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Whole files of the boot partition for the control files: read one,
 * replace one atomically (fat_replace: new clusters, flushed, then one
 * entry write), remove one; and the kernel cache invalidations such
 * changes need, queued under the lock and sent after it.
 */
#include "ctl.h"
#include "../common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Split "a/b/c.txt" into its directory node and its last name. */
static int lookup_parent(struct rfs *fs, const char *path,
			 struct fat_node **dirp, const char **namep)
{
	const char *slash = strrchr(path, '/');
	char dir[CONFIG_PATH_MAX];

	if (!slash) {
		*namep = path;
		return fat_lookup_path(fs->vol, "", dirp);
	}
	if ((size_t)(slash - path) >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	*namep = slash + 1;
	return fat_lookup_path(fs->vol, dir, dirp);
}

int rfs_fat_read_file(struct rfs *fs, const char *path, char **data,
		      size_t *len, size_t max)
{
	return fat_read_file(fs->vol, path, data, len, max);
}

bool rfs_fat_exists(struct rfs *fs, const char *path)
{
	struct fat_node *node;
	bool file;

	if (fat_lookup_path(fs->vol, path, &node) != 0)
		return false;
	file = !fat_node_is_dir(node);
	fat_node_put(fs->vol, node);
	return file;
}

int rfs_fat_replace(struct rfs *fs, const char *path, const void *data,
		    size_t len)
{
	struct fat_node *dir, *node;
	const char *name;
	char tmp_name[300];
	int ret = lookup_parent(fs, path, &dir, &name);

	if (ret)
		return ret;
	fat_trace_label("commit %s", path);
	/* Left by older versions, which wrote aside: never the real file. */
	snprintf(tmp_name, sizeof(tmp_name), ".rpifs-new-%.200s", name);
	fat_unlink(fs->vol, dir, tmp_name);
	/* New clusters, flushed, then one entry write (fat/replace.c). */
	ret = fat_replace(fs->vol, dir, name, data, len, &node);
	if (node) {
		rfs_notify_entry(fs, dir, fat_node_name(node));
		rfs_notify_inode(fs, node);
		fat_node_put(fs->vol, node);
	}
	fat_node_put(fs->vol, dir);
	fat_trace_label_end();
	return ret;
}

int rfs_fat_remove(struct rfs *fs, const char *path)
{
	struct fat_node *dir;
	const char *name;
	int ret = lookup_parent(fs, path, &dir, &name);

	if (ret)
		return ret;
	fat_trace_label("remove %s", path);
	ret = fat_unlink(fs->vol, dir, name);
	if (!ret) {
		ret = fat_sync(fs->vol);
		rfs_notify_entry(fs, dir, name);
	}
	fat_node_put(fs->vol, dir);
	fat_trace_label_end();
	return ret;
}

void rfs_notify_queue(struct rfs *fs, fuse_ino_t parent, fuse_ino_t ino,
		      const char *name)
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
	n->name = name ? strdup(name) : NULL;
	if (name && !n->name)
		return;
	fs->notify_count++;
}

void rfs_notify_entry(struct rfs *fs, struct fat_node *dir, const char *name)
{
	struct rfs_inode *inode = fat_node_priv(dir);

	if (inode)
		rfs_notify_queue(fs, rfs_ino(fs, inode), 0, name);
}

void rfs_notify_inode(struct rfs *fs, struct fat_node *node)
{
	struct rfs_inode *inode = fat_node_priv(node);

	if (inode)
		rfs_notify_queue(fs, 0, rfs_ino(fs, inode), NULL);
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
			fuse_lowlevel_notify_inval_inode(fs->se, list[i].ino, 0, 0);
		free(list[i].name);
	}
	free(list);
}
