// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The mount's root directory: not on the image, it lists boot/ (the FAT
 * boot partition), root/ (the root file system), the control files and
 * editors' temporary files. Renames
 * here are what make editors work:
 * - a temporary file renamed over a control file commits its contents,
 *   and that node becomes the control file (sed -i, vim, rsync);
 * - a control file renamed away becomes a temporary file holding the value,
 *   and a fresh node takes the control file's name (vim's backups).
 */
#include "boot.h"
#include "ctl.h"
#include "ext.h"
#include "run.h"
#include "temp.h"
#include "../common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BOOT_NAME "boot"
#define ROOT_NAME "root"

/* boot/, or root/ when the image's root file system is shown. */
static bool is_dir_name(struct rfs *fs, const char *name)
{
	return strcmp(name, BOOT_NAME) == 0 ||
	       (fs->ext && strcmp(name, ROOT_NAME) == 0);
}

static void root_stat(struct rfs *fs, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = FUSE_ROOT_ID;
	st->st_mode = S_IFDIR | (0777 & ~fs->opt.dmask);
	st->st_nlink = fs->ext ? 4 : 3; /* ".", and ".." of boot/ and root/ */
	st->st_uid = fs->opt.uid;
	st->st_gid = fs->opt.gid;
	st->st_mtim = st->st_atim = st->st_ctim = fs->mount_time;
}

static int root_getattr(struct rfs *fs, struct rfs_inode *inode,
			struct stat *st)
{
	(void)inode;
	root_stat(fs, st);
	return 0;
}

static int boot_entry(struct rfs *fs, struct fuse_entry_param *e)
{
	struct fat_node *root = fat_root(fs->vol);

	fat_node_get(root);
	return rfs_boot_entry(fs, root, e);
}

static int root_lookup(struct rfs *fs, struct rfs_inode *dir, const char *name,
		       struct fuse_entry_param *e)
{
	const struct ctl_desc *desc = ctl_desc_of(name);
	struct ctl_node *node;

	(void)dir;
	if (strcmp(name, BOOT_NAME) == 0)
		return boot_entry(fs, e);
	if (fs->ext && strcmp(name, ROOT_NAME) == 0)
		return rfs_ext_entry(fs, EXT4_ROOT_INO, e);
	if (desc) {
		node = ctl_node_of(fs, desc);
		return node ? ctl_entry(fs, node, e) : -ENOMEM;
	}
	node = temp_find(fs, name);
	return node ? ctl_entry(fs, node, e) : -ENOENT;
}

enum { ENTRY_BOOT = 1, ENTRY_ROOT, ENTRY_NODE };

/*
 * Entry @index after "." and "..": boot, root, the control files, the
 * temporary files. @return ENTRY_* or 0 at the end, or -errno.
 */
static int entry_at(struct rfs *fs, unsigned index, const char **name,
		    struct ctl_node **node)
{
	const struct ctl_desc *desc;

	*node = NULL;
	if (index == 0) {
		*name = BOOT_NAME;
		return ENTRY_BOOT;
	}
	index--;
	if (index == 0 && fs->ext) {
		*name = ROOT_NAME;
		return ENTRY_ROOT;
	}
	index -= fs->ext ? 1 : 0;
	desc = ctl_desc_at(index);
	if (desc) {
		*node = ctl_node_of(fs, desc);
		*name = desc->name;
		return *node ? ENTRY_NODE : -ENOMEM;
	}
	for (unsigned k = 0; ctl_desc_at(k); k++)
		index--;
	for (struct ctl_node *t = fs->temps; t; t = t->next) {
		if (index-- == 0) {
			*node = t;
			*name = t->name;
			return ENTRY_NODE;
		}
	}
	return 0;
}

/* A listed entry: with a lookup counted for readdirplus. */
static int describe(struct rfs *fs, int what, struct ctl_node *node, bool plus,
		    struct fuse_entry_param *e)
{
	if (what == ENTRY_NODE)
		return plus ? ctl_entry(fs, node, e)
			    : ctl_getattr_node(fs, node, &e->attr);
	if (what == ENTRY_ROOT) {
		if (plus)
			return rfs_ext_entry(fs, EXT4_ROOT_INO, e);
		e->attr.st_mode = S_IFDIR;
		e->attr.st_ino = EXT4_ROOT_INO;
		return 0;
	}
	if (plus)
		return boot_entry(fs, e);
	rfs_boot_stat(fs, fat_root(fs->vol), &e->attr);
	return 0;
}

static int root_readdir(struct rfs *fs, struct rfs_inode *dir,
			struct rfs_dirbuf *db, off_t off)
{
	struct fuse_entry_param e;
	int ret;

	(void)dir;
	for (;; off++) {
		const char *name;
		struct ctl_node *node = NULL;

		memset(&e, 0, sizeof(e));
		if (off == 0) {
			name = ".";
			root_stat(fs, &e.attr);
		} else if (off == 1) {
			name = "..";
			e.attr.st_mode = S_IFDIR;
			e.attr.st_ino = FUSE_ROOT_ID;
		} else {
			int what =
				entry_at(fs, (unsigned)(off - 2), &name, &node);

			if (what <= 0)
				return what;
			ret = describe(fs, what, node, db->plus, &e);
			if (ret)
				return ret;
		}
		if (rfs_dirbuf_add(db, name, &e, off + 1)) {
			if (db->plus && e.ino)
				rfs_forget(fs, rfs_inode(fs, e.ino), 1);
			return 0;
		}
	}
}

static int root_mknod(struct rfs *fs, struct rfs_inode *dir, const char *name,
		      mode_t mode, dev_t rdev, struct fuse_entry_param *e)
{
	(void)dir;
	(void)rdev;
	if (fs->opt.read_only)
		return -EROFS; /* an editor's file could never be committed */
	if (S_ISDIR(mode))
		return -EPERM; /* the root holds boot/ and files, no folders */
	if (!S_ISREG(mode) && (mode & S_IFMT) != 0)
		return -EPERM;
	if (is_dir_name(fs, name) || ctl_desc_of(name) || temp_find(fs, name))
		return -EEXIST;
	return temp_create(fs, name, mode & ~fs->caller.umask, e);
}

static int root_unlink(struct rfs *fs, struct rfs_inode *dir, const char *name)
{
	const struct ctl_desc *desc = ctl_desc_of(name);
	struct ctl_node *node;

	(void)dir;
	if (is_dir_name(fs, name))
		return -EISDIR;
	if (desc && desc->secret && desc->commit) {
		/* Removing userconf removes the user, as writing nothing does.
		 */
		struct buf none = {0};

		return run_check_writable(fs) ? -EROFS
					      : desc->commit(fs, &none);
	}
	if (desc)
		return -EPERM;
	node = temp_find(fs, name);
	if (!node)
		return -ENOENT;
	ctl_detach(fs, node);
	return 0;
}

static int root_rmdir(struct rfs *fs, struct rfs_inode *dir, const char *name)
{
	(void)dir;
	return is_dir_name(fs, name) ? -EBUSY : -ENOTDIR;
}

/* A temporary file over a control file: commit its contents. */
static int commit_over(struct rfs *fs, struct ctl_node *node,
		       const struct ctl_desc *dst)
{
	struct ctl_node *target = ctl_node_of(fs, dst);
	int ret;

	if (!dst->commit)
		return -EPERM;
	if (run_check_writable(fs) || fat_is_read_only(fs->vol))
		return -EROFS;
	ret = dst->commit(fs, &node->data);
	if (ret)
		return ret;
	rpifs_log_clear_last();
	node->refs++;	      /* the root's, as the control file */
	ctl_detach(fs, node); /* out of the temporary files ... */
	if (target)
		ctl_detach(fs, target);
	temp_drop_data(fs, node);
	ctl_node_install(fs, node, dst); /* ... into the control file's place */
	if (node->inode)
		node->inode->kind = node->kind;
	return 0;
}

/* A control file renamed away: its value, as a temporary file. */
static int control_away(struct rfs *fs, struct ctl_node *node)
{
	const struct ctl_desc *src = node->desc;
	struct buf value = {.secret = src->secret};
	int ret = ctl_value_bytes(fs, src, &value);

	if (ret == -ENOENT)
		ret = 0;
	if (!ret)
		ret = temp_fill(fs, node, &value);
	buf_free(&value);
	if (ret)
		return ret;
	ctl_node_uninstall(fs, node);
	node->mode = src->mode;
	temp_attach(fs, node);
	if (node->inode)
		node->inode->kind = node->kind;
	return 0;
}

static int root_rename(struct rfs *fs, struct rfs_inode *dir, const char *from,
		       struct rfs_inode *newdir, const char *to, unsigned flags)
{
	const struct ctl_desc *src = ctl_desc_of(from), *dst = ctl_desc_of(to);
	struct ctl_node *node, *target;
	char *new_name;
	int ret;

	(void)dir;
	(void)newdir;
	if (is_dir_name(fs, from) || is_dir_name(fs, to))
		return -EBUSY;
	if (flags & RENAME_EXCHANGE)
		return -EINVAL;
	if (strcmp(from, to) == 0)
		return 0;
	if (src && dst)
		return -EPERM; /* control files keep their names */
	node = src ? ctl_node_of(fs, src) : temp_find(fs, from);
	if (!node)
		return src ? -ENOMEM : -ENOENT;
	target = dst ? ctl_node_of(fs, dst) : temp_find(fs, to);
	if (target && (flags & RENAME_NOREPLACE))
		return -EEXIST;
	if (dst)
		return commit_over(fs, node, dst);
	new_name = strdup(to);
	if (!new_name)
		return -ENOMEM;
	if (src) {
		ret = control_away(fs, node);
		if (ret) {
			free(new_name);
			return ret;
		}
	}
	if (target)
		ctl_detach(fs, target);
	free(node->name);
	node->name = new_name;
	clock_gettime(CLOCK_REALTIME, &node->ctime);
	return 0;
}

static int root_statfs(struct rfs *fs, struct rfs_inode *inode,
		       struct statvfs *st)
{
	struct rfs_inode boot = {.kind = &rfs_boot_kind,
				 .fat = fat_root(fs->vol),
				 .gen = fs->vol_gen};

	(void)inode;
	return rfs_boot_kind.statfs(fs, &boot, st);
}

static int root_fsync(struct rfs *fs, struct rfs_inode *inode,
		      struct rfs_file *file, int datasync)
{
	(void)inode;
	(void)file;
	(void)datasync;
	return fat_sync(fs->vol);
}

/* Only rpifs changes the root's names: the kernel may cache them. */
const struct rfs_kind rfs_root_kind = {
	.name = "root",
	.timeout = 86400.0,
	.getattr = root_getattr,
	.lookup = root_lookup,
	.readdir = root_readdir,
	.fsync = root_fsync,
	.mknod = root_mknod,
	.unlink = root_unlink,
	.rmdir = root_rmdir,
	.rename = root_rename,
	.statfs = root_statfs,
};
