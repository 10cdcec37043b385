// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Whole files of the boot partition: read, replace atomically
 * (fat_replace: new clusters, flushed, then one entry write), remove;
 * config.txt evaluated for the board; and the callbacks through which the
 * boot rules (pi/) see this mount's boot partition.
 */
#include "bootfiles.h"
#include "../common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void notify_entry(struct rfs *fs, struct fat_node *dir, const char *name)
{
	struct rfs_inode *inode = fat_node_priv(dir);

	if (inode)
		rfs_notify_queue(fs, rfs_ino(fs, inode), 0, name);
}

static void notify_inode(struct rfs *fs, struct fat_node *node)
{
	struct rfs_inode *inode = fat_node_priv(node);

	if (inode)
		rfs_notify_queue(fs, 0, rfs_ino(fs, inode), NULL);
}

static int files_read(void *ctx, const char *path, size_t max, char **data,
		      size_t *len)
{
	return rfs_fat_read_file(ctx, path, data, len, max);
}

static bool files_exists(void *ctx, const char *path)
{
	return rfs_fat_exists(ctx, path);
}

static const char *files_partuuid(void *ctx, unsigned number)
{
	return rfs_partuuid(ctx, number);
}

void rfs_boot_files(struct rfs *fs, struct boot_files *files)
{
	*files = (struct boot_files){fs, files_read, files_exists,
				     files_partuuid};
}

int rfs_boot_config(struct rfs *fs, struct boot_config *cfg)
{
	struct boot_files files;

	rfs_boot_files(fs, &files);
	return config_eval(fs->board, &files, cfg);
}

const char *rfs_partuuid(struct rfs *fs, unsigned number)
{
	for (unsigned i = 0; i < fs->img->count; i++)
		if (fs->img->parts[i].number == number)
			return fs->img->parts[i].partuuid;
	return NULL;
}

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
	ret = fat_replace(fs->vol, dir, name, data, len, &node);
	if (node) {
		notify_entry(fs, dir, fat_node_name(node));
		notify_inode(fs, node);
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
		notify_entry(fs, dir, name);
	}
	fat_node_put(fs->vol, dir);
	fat_trace_label_end();
	return ret;
}
