// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The FUSE low-level handlers. Each takes the volume lock, dispatches on the
 * kind of inode (the virtual root, a FAT node, a control file) to a function
 * that returns 0 or -errno, drops the lock and replies exactly once.
 */
#include "ctl.h"
#include "../common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

static struct rfs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void lock(struct rfs *fs)
{
	pthread_mutex_lock(&fs->lock);
}

/* Drop the lock, then send the cache invalidations the call queued. */
static void unlock(struct rfs *fs)
{
	bool pending = fs->notify_count > 0;

	pthread_mutex_unlock(&fs->lock);
	if (pending)
		rfs_notify_send(fs);
}

/* How long the kernel may keep an inode's attributes. */
static double attr_timeout(const struct rfs_inode *inode)
{
	return inode->kind == RFS_CTL ? 0 : rfs_entry_timeout();
}

static void reply_entry_or_err(fuse_req_t req, int ret,
			       const struct fuse_entry_param *e)
{
	if (ret == -ENOENT) {
		/* A negative entry the kernel may cache. */
		struct fuse_entry_param neg;

		memset(&neg, 0, sizeof(neg));
		neg.entry_timeout = rfs_entry_timeout();
		fuse_reply_entry(req, &neg);
	} else if (ret) {
		fuse_reply_err(req, -ret);
	} else {
		fuse_reply_entry(req, e);
	}
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* Reads are answered by splicing from the image file. */
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	if (conn->capable & FUSE_CAP_SPLICE_MOVE)
		conn->want |= FUSE_CAP_SPLICE_MOVE;
	conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS_AUTO;
	conn->max_write = 1024 * 1024;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct rfs *fs = fs_of(req);
	struct fuse_entry_param e;
	struct rfs_inode *dir;
	int ret;

	lock(fs);
	dir = rfs_inode(fs, parent);
	switch (dir->kind) {
	case RFS_ROOT:
		ret = rfs_root_lookup(fs, name, &e);
		break;
	case RFS_FAT:
		ret = rfs_fat(fs, dir) ? rfs_boot_lookup(fs, dir->fat, name, &e)
				       : -ESTALE;
		break;
	default:
		ret = -ENOTDIR;
		break;
	}
	unlock(fs);
	reply_entry_or_err(req, ret, &e);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct rfs *fs = fs_of(req);

	lock(fs);
	rfs_forget(fs, rfs_inode(fs, ino), nlookup);
	unlock(fs);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	struct rfs *fs = fs_of(req);

	lock(fs);
	for (size_t i = 0; i < count; i++)
		rfs_forget(fs, rfs_inode(fs, forgets[i].ino), forgets[i].nlookup);
	unlock(fs);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct rfs *fs = fs_of(req);
	struct stat st;
	int ret;

	(void)fi;
	lock(fs);
	ret = rfs_getattr(fs, rfs_inode(fs, ino), &st);
	unlock(fs);
	if (ret)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_attr(req, &st, attr_timeout(rfs_inode(fs, ino)));
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct rfs *fs = fs_of(req);
	struct rfs_inode *inode;
	int ret = 0;

	lock(fs);
	inode = rfs_inode(fs, ino);
	if (inode->kind == RFS_FAT && !rfs_fat(fs, inode))
		ret = -ESTALE;
	else if (inode->kind == RFS_FAT && !fat_node_is_dir(inode->fat))
		ret = -ENOTDIR;
	else if (inode->kind == RFS_CTL)
		ret = -ENOTDIR;
	unlock(fs);
	if (ret) {
		fuse_reply_err(req, -ret);
		return;
	}
	fi->cache_readdir = 0;
	fuse_reply_open(req, fi);
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       bool plus)
{
	struct rfs *fs = fs_of(req);
	struct rfs_dirbuf db = { .req = req, .plus = plus, .size = size };
	struct rfs_inode *inode;
	int ret;

	db.buf = malloc(size ? size : 1);
	if (!db.buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	lock(fs);
	inode = rfs_inode(fs, ino);
	switch (inode->kind) {
	case RFS_ROOT:
		ret = rfs_root_readdir(fs, &db, off);
		break;
	case RFS_FAT:
		ret = rfs_fat(fs, inode) ? rfs_boot_readdir(fs, inode->fat, &db, off)
					 : -ESTALE;
		break;
	default:
		ret = -ENOTDIR;
		break;
	}
	unlock(fs);
	/* Entries already added were counted: send them even after an error. */
	if (ret && db.used == 0)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_buf(req, db.buf, db.used);
	free(db.buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)fi;
	do_readdir(req, ino, size, off, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	do_readdir(req, ino, size, off, true);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct rfs *fs = fs_of(req);
	struct rfs_file *file = NULL;
	struct rfs_inode *inode;
	int ret;

	lock(fs);
	inode = rfs_inode(fs, ino);
	switch (inode->kind) {
	case RFS_FAT:
		if (!rfs_fat(fs, inode))
			ret = -ESTALE;
		else if (fat_node_is_dir(inode->fat))
			ret = -EISDIR;
		else
			ret = rfs_boot_open(fs, inode->fat, fi->flags, &file);
		break;
	case RFS_CTL:
		file = calloc(1, sizeof(*file));
		ret = file ? ctl_open(fs, inode->ctl, fi->flags, &file->handle)
			   : -ENOMEM;
		if (file) {
			file->kind = RFS_CTL;
			if (ret) {
				free(file);
				file = NULL;
			}
		}
		break;
	default:
		ret = -EISDIR;
		break;
	}
	unlock(fs);
	if (ret) {
		fuse_reply_err(req, -ret);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)file;
	if (file->kind == RFS_CTL) {
		/* Values change behind the page cache: always ask. */
		fi->direct_io = 1;
	} else {
		/* Only rpifs writes boot/: what the kernel cached is true. */
		fi->keep_cache = 1;
	}
	if (fuse_reply_open(req, fi) == -ENOENT) {
		/* The opener was interrupted: nobody will release this. */
		lock(fs);
		rfs_file_close(fs, file);
		unlock(fs);
	}
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct rfs *fs = fs_of(req);
	struct rfs_file *file = (struct rfs_file *)(uintptr_t)fi->fh;
	struct fuse_bufvec *bv = NULL;
	int ret;

	(void)ino;
	lock(fs);
	if (file->kind == RFS_CTL) {
		char *buf = malloc(size ? size : 1);
		ssize_t n = buf ? ctl_read(fs, file->handle, buf, size, off)
				: -ENOMEM;

		unlock(fs);
		if (n < 0)
			fuse_reply_err(req, (int)-n);
		else
			fuse_reply_buf(req, buf, (size_t)n);
		free(buf);
		return;
	}
	ret = rfs_file_fat(fs, file) ? rfs_boot_read(fs, file, size, off, &bv)
				     : -ESTALE;
	/* Reply under the lock: the clusters must not change meanwhile. */
	if (ret)
		fuse_reply_err(req, -ret);
	else if (bv->count == 0)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_data(req, bv, FUSE_BUF_SPLICE_MOVE);
	unlock(fs);
	free(bv);
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct rfs *fs = fs_of(req);

	(void)ino;
	lock(fs);
	rfs_file_close(fs, (struct rfs_file *)(uintptr_t)fi->fh);
	unlock(fs);
	fuse_reply_err(req, 0);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct rfs *fs = fs_of(req);
	struct statvfs st;
	int ret;

	(void)ino;
	lock(fs);
	ret = rfs_boot_statfs(fs, &st);
	unlock(fs);
	if (ret)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_statfs(req, &st);
}

/* The FAT directory behind @ino, or NULL when it is not one. */
static struct fat_node *fat_dir_of(struct rfs *fs, fuse_ino_t ino)
{
	return rfs_fat(fs, rfs_inode(fs, ino));
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct rfs *fs = fs_of(req);
	struct rfs_inode *inode;
	struct stat st;
	int ret;

	lock(fs);
	inode = rfs_inode(fs, ino);
	switch (inode->kind) {
	case RFS_FAT:
		ret = rfs_fat(fs, inode) ? rfs_boot_setattr(fs, inode->fat, attr, to_set)
					 : -ESTALE;
		break;
	case RFS_CTL: {
		struct rfs_file *file =
			fi ? (struct rfs_file *)(uintptr_t)fi->fh : NULL;

		ret = ctl_setattr(fs, inode->ctl,
				  file && file->kind == RFS_CTL ? file->handle : NULL,
				  attr, to_set);
		break;
	}
	default:
		ret = -EPERM;
		break;
	}
	if (!ret)
		ret = rfs_getattr(fs, inode, &st);
	unlock(fs);
	if (ret)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_attr(req, &st, attr_timeout(inode));
}

static void make_node(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode)
{
	struct rfs *fs = fs_of(req);
	struct fuse_entry_param e;
	struct fat_node *dir;
	int ret;

	lock(fs);
	dir = fat_dir_of(fs, parent);
	if (dir && run_check_writable(fs))
		ret = -EROFS;
	else if (dir)
		ret = rfs_boot_create(fs, dir, name, mode, &e);
	else if (rfs_inode(fs, parent)->kind != RFS_ROOT)
		ret = -ENOTDIR;
	else if (S_ISDIR(mode))
		ret = -EPERM; /* the root holds boot/ and files, no folders */
	else if (S_ISREG(mode) || (mode & S_IFMT) == 0)
		ret = ctl_create(fs, name, mode, &e);
	else
		ret = -EPERM;
	unlock(fs);
	if (ret)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_entry(req, &e);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	(void)rdev;
	make_node(req, parent, name, mode);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	make_node(req, parent, name, S_IFDIR | (mode & 0777));
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct rfs *fs = fs_of(req);
	struct fuse_entry_param e;
	struct rfs_file *file = NULL;
	struct fat_node *dir;
	int ret;

	lock(fs);
	dir = fat_dir_of(fs, parent);
	if (dir && run_check_writable(fs)) {
		ret = -EROFS;
	} else if (dir) {
		ret = rfs_boot_create(fs, dir, name, S_IFREG | (mode & 0777), &e);
		if (!ret) {
			ret = rfs_boot_open(fs, rfs_inode(fs, e.ino)->fat, O_RDWR,
					    &file);
			if (ret)
				rfs_forget(fs, rfs_inode(fs, e.ino), 1);
		}
	} else if (rfs_inode(fs, parent)->kind == RFS_ROOT) {
		ret = ctl_create(fs, name, mode, &e);
		if (!ret) {
			file = calloc(1, sizeof(*file));
			ret = file ? ctl_open(fs, rfs_inode(fs, e.ino)->ctl,
					      fi->flags, &file->handle)
				   : -ENOMEM;
			if (ret) {
				free(file);
				file = NULL;
				rfs_forget(fs, rfs_inode(fs, e.ino), 1);
			} else {
				file->kind = RFS_CTL;
			}
		}
	} else {
		ret = -ENOTDIR;
	}
	unlock(fs);
	if (ret) {
		fuse_reply_err(req, -ret);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)file;
	if (file->kind == RFS_CTL)
		fi->direct_io = 1;
	else
		fi->keep_cache = 1;
	if (fuse_reply_create(req, &e, fi) == -ENOENT) {
		lock(fs);
		rfs_file_close(fs, file);
		rfs_forget(fs, rfs_inode(fs, e.ino), 1);
		unlock(fs);
	}
}

static void remove_name(fuse_req_t req, fuse_ino_t parent, const char *name,
			bool is_dir)
{
	struct rfs *fs = fs_of(req);
	struct fat_node *dir;
	int ret;

	lock(fs);
	dir = fat_dir_of(fs, parent);
	if (!dir && rfs_inode(fs, parent)->kind != RFS_ROOT)
		ret = -ENOTDIR;
	else if (!dir && is_dir)
		ret = strcmp(name, "boot") == 0 ? -EBUSY : -ENOTDIR;
	else if (!dir)
		ret = ctl_unlink(fs, name);
	else if (run_check_writable(fs))
		ret = -EROFS;
	else if (is_dir)
		ret = fat_rmdir(fs->vol, dir, name);
	else
		ret = fat_unlink(fs->vol, dir, name);
	unlock(fs);
	fuse_reply_err(req, -ret);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, false);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, true);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	struct rfs *fs = fs_of(req);
	struct fat_node *from, *to;
	int ret;

	lock(fs);
	from = fat_dir_of(fs, parent);
	to = fat_dir_of(fs, newparent);
	if (flags & ~(unsigned)RENAME_NOREPLACE)
		ret = -EINVAL; /* FAT cannot exchange two entries atomically */
	else if (from && to && run_check_writable(fs))
		ret = -EROFS;
	else if (from && to)
		ret = fat_rename(fs->vol, from, name, to, newname,
				 flags & RENAME_NOREPLACE ? FAT_RENAME_NOREPLACE
							  : 0);
	else if (from || to)
		ret = -EXDEV; /* between boot/ and the mount's root */
	else
		ret = ctl_rename(fs, name, newname, flags);
	unlock(fs);
	fuse_reply_err(req, -ret);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	(void)ino;
	(void)newparent;
	(void)newname;
	fuse_reply_err(req, EPERM); /* FAT has no hard links */
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	(void)link;
	(void)parent;
	(void)name;
	fuse_reply_err(req, EPERM); /* nor symbolic ones */
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct rfs *fs = fs_of(req);
	struct rfs_file *file = (struct rfs_file *)(uintptr_t)fi->fh;
	ssize_t n;

	(void)ino;
	lock(fs);
	if (file->kind == RFS_FAT && !rfs_file_fat(fs, file))
		n = -ESTALE;
	else if (file->kind == RFS_FAT)
		n = run_check_writable(fs) ? -EROFS
					   : rfs_boot_write(fs, file->fat, buf, size, off);
	else
		n = ctl_write(fs, file->handle, buf, size, off);
	unlock(fs);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct rfs *fs = fs_of(req);
	struct rfs_file *file = (struct rfs_file *)(uintptr_t)fi->fh;
	int ret = 0;

	(void)ino;
	/* boot/ writes reach the image as they come; control files commit. */
	if (file->kind == RFS_CTL) {
		lock(fs);
		ret = ctl_flush(fs, file->handle);
		unlock(fs);
	}
	fuse_reply_err(req, -ret);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	struct rfs *fs = fs_of(req);
	int ret;

	struct rfs_file *file = fi ? (struct rfs_file *)(uintptr_t)fi->fh : NULL;

	(void)ino;
	(void)datasync;
	lock(fs);
	if (file && file->kind == RFS_CTL)
		ret = 0; /* committed at close, synced then */
	else
		ret = fat_sync(fs->vol);
	unlock(fs);
	fuse_reply_err(req, -ret);
}

/* Directories have no handle (opendir leaves fh at 0). */
static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi)
{
	struct rfs *fs = fs_of(req);
	int ret;

	(void)ino;
	(void)datasync;
	(void)fi;
	lock(fs);
	ret = fat_sync(fs->vol);
	unlock(fs);
	fuse_reply_err(req, -ret);
}

const struct fuse_lowlevel_ops rfs_ops = {
	.setattr = op_setattr,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.create = op_create,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.rename = op_rename,
	.link = op_link,
	.symlink = op_symlink,
	.write = op_write,
	.flush = op_flush,
	.fsync = op_fsync,
	.fsyncdir = op_fsyncdir,
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.open = op_open,
	.read = op_read,
	.release = op_release,
	.statfs = op_statfs,
};
