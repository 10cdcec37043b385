// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The mount's root directory: not on the image, it lists boot/ (the FAT
 * boot partition) and the control files.
 */
#include "ctl.h"

#include <errno.h>
#include <string.h>

int rfs_root_lookup(struct rfs *fs, const char *name,
		    struct fuse_entry_param *e)
{
	struct fat_node *root;

	if (strcmp(name, "boot") == 0) {
		root = fat_root(fs->vol);
		fat_node_get(root);
		return rfs_fat_entry(fs, root, e);
	}
	return ctl_lookup(fs, name, e);
}

void rfs_root_stat(struct rfs *fs, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = FUSE_ROOT_ID;
	st->st_mode = S_IFDIR | (0777 & ~fs->opt.dmask);
	st->st_nlink = 1;
	st->st_uid = fs->opt.uid;
	st->st_gid = fs->opt.gid;
	st->st_mtim = st->st_atim = st->st_ctim = fs->mount_time;
}

int rfs_root_readdir(struct rfs *fs, struct rfs_dirbuf *db, off_t off)
{
	struct fuse_entry_param e;
	char ctl_name_buf[300];
	int ret;

	for (;; off++) {
		const char *name;

		memset(&e, 0, sizeof(e));
		if (off == 0) {
			name = ".";
			rfs_root_stat(fs, &e.attr);
		} else if (off == 1) {
			name = "..";
			e.attr.st_mode = S_IFDIR;
			e.attr.st_ino = FUSE_ROOT_ID;
		} else if (off == 2) {
			name = "boot";
			if (db->plus) {
				ret = rfs_root_lookup(fs, name, &e);
				if (ret)
					return ret;
			} else {
				rfs_fat_stat(fs, fat_root(fs->vol), &e.attr);
			}
		} else {
			ret = ctl_readdir_entry(fs, (unsigned)(off - 3), ctl_name_buf,
						sizeof(ctl_name_buf), &e, db->plus);
			if (ret <= 0)
				return ret;
			name = ctl_name_buf;
		}
		if (rfs_dirbuf_add(db, name, &e, off + 1)) {
			if (db->plus && e.ino)
				rfs_forget(fs, rfs_inode(fs, e.ino), 1);
			return 0;
		}
	}
}
