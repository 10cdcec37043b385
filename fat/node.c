// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Nodes: their life (references, freeing an unlinked node's clusters at the
 * last reference), their attributes as struct fat_stat, and lookup by name
 * and by path.
 */
#include "fat_internal.h"
#include "../common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct fat_node *fat_node_new(struct fat_vol *vol)
{
	struct fat_node *node = calloc(1, sizeof(*node));

	if (!node)
		return NULL;
	node->serial = FAT_FIRST_INO + vol->next_serial++;
	node->all_next = vol->all_nodes;
	if (vol->all_nodes)
		vol->all_nodes->all_prev = node;
	vol->all_nodes = node;
	return node;
}

void fat_node_free(struct fat_vol *vol, struct fat_node *node)
{
	if (node->all_prev)
		node->all_prev->all_next = node->all_next;
	else
		vol->all_nodes = node->all_next;
	if (node->all_next)
		node->all_next->all_prev = node->all_prev;
	if (node->dir && node->dir->on_dirty_list) {
		/* Only an unlinked directory can go while dirty: unlist it. */
		struct fat_node **pp = &vol->dirty_dirs;

		while (*pp && *pp != node)
			pp = &(*pp)->dir->next_dirty;
		if (*pp)
			*pp = node->dir->next_dirty;
	}
	fat_dir_free(node->dir);
	fat_map_free(&node->map);
	free(node->name);
	free(node);
}

struct fat_node *fat_root(struct fat_vol *vol)
{
	return vol->root;
}

void fat_node_get(struct fat_node *node)
{
	node->refs++;
}

void fat_node_put(struct fat_vol *vol, struct fat_node *node)
{
	assert(node->refs > 0);
	if (--node->refs > 0 || !node->unlinked)
		return;
	/* The last user of a removed file: its clusters are free now. */
	if (node->first_cluster != FAT_CLUSTER_FREE &&
	    fat_check_writable(vol) == 0) {
		int ret;

		fat_trace_call("release", NULL, node->name, NULL, NULL);
		ret = fat_free_chain_later(vol, node->first_cluster);
		if (ret)
			rpifs_log(RPIFS_WARN,
				  "fat: could not free the clusters of removed "
				  "'%s': %s",
				  node->name, strerror(-ret));
	}
	fat_node_free(vol, node);
}

const char *fat_node_name(const struct fat_node *node)
{
	return node->name;
}

uint64_t fat_node_ino(const struct fat_node *node)
{
	return node->serial;
}

bool fat_node_is_dir(const struct fat_node *node)
{
	return node->attr & FAT_ATTR_DIR;
}

bool fat_node_is_unlinked(const struct fat_node *node)
{
	return node->unlinked;
}

struct fat_node *fat_node_parent(const struct fat_node *node)
{
	return node->parent;
}

void *fat_node_priv(const struct fat_node *node)
{
	return node->priv;
}

void fat_node_set_priv(struct fat_node *node, void *priv)
{
	node->priv = priv;
}

void fat_node_stat(struct fat_vol *vol, struct fat_node *node,
		   struct fat_stat *st)
{
	memset(st, 0, sizeof(*st));
	st->is_dir = node->attr & FAT_ATTR_DIR;
	st->attr = node->attr;
	st->first_cluster = node->first_cluster;
	if (node->is_root) {
		/* The root has no entry: use the volume label's time. */
		fat_time_to_timespec(vol->label_date, vol->label_time, 0,
				     &st->mtime);
		st->atime = st->crtime = st->mtime;
	} else {
		fat_time_to_timespec(node->mdate, node->mtime, 0, &st->mtime);
		fat_time_to_timespec(node->adate, 0, 0, &st->atime);
		fat_time_to_timespec(node->cdate, node->ctime, node->ctime_cs,
				     &st->crtime);
	}
	st->nlink = node->unlinked ? 0 : 1;
	/* As Linux's vfat counts: its own ".", its entry, each "..". */
	if (st->is_dir && !node->unlinked && fat_dir_load(vol, node) == 0)
		st->nlink = 2 + node->dir->subdirs;
	if (!st->is_dir) {
		st->size = node->size;
		st->clusters = (uint32_t)(((uint64_t)node->size +
					   vol->bpb.cluster_size - 1) /
					  vol->bpb.cluster_size);
		if (node->prealloc && node->map.valid)
			st->clusters = node->map.clusters;
	} else if (node->dir) {
		st->size = node->dir->slots * DIRENT_SIZE;
	} else if (node->is_root && vol->bpb.type != FAT32) {
		st->size = vol->bpb.root_bytes;
	} else if (fat_map_build(vol, node) == 0) {
		st->size = node->map.clusters * vol->bpb.cluster_size;
	}
}

int fat_lookup(struct fat_vol *vol, struct fat_node *dir, const char *name,
	       struct fat_node **nodep)
{
	struct fat_node *node;
	int ret;

	*nodep = NULL;
	if (!(dir->attr & FAT_ATTR_DIR))
		return -ENOTDIR;
	if (strlen(name) > FAT_NAME_MAX)
		return -ENAMETOOLONG;
	ret = fat_dir_load(vol, dir);
	if (ret)
		return ret;
	node = fat_dir_find(dir, name);
	if (!node)
		return -ENOENT;
	node->refs++;
	*nodep = node;
	return 0;
}

int fat_lookup_path(struct fat_vol *vol, const char *path,
		    struct fat_node **nodep)
{
	struct fat_node *node = vol->root;
	char part[FAT_NAME_MAX + 1];

	node->refs++;
	while (*path) {
		struct fat_node *next;
		size_t len = strcspn(path, "/");
		int ret;

		if (len > FAT_NAME_MAX) {
			fat_node_put(vol, node);
			return -ENAMETOOLONG;
		}
		memcpy(part, path, len);
		part[len] = '\0';
		path += len;
		path += strspn(path, "/");
		if (len == 0 || strcmp(part, ".") == 0)
			continue;
		if (strcmp(part, "..") == 0) {
			next = node->parent ? node->parent : vol->root;
			next->refs++;
		} else {
			ret = fat_lookup(vol, node, part, &next);
			if (ret) {
				fat_node_put(vol, node);
				return ret;
			}
		}
		fat_node_put(vol, node);
		node = next;
	}
	*nodep = node;
	return 0;
}
