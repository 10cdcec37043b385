// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The FUSE low-level handlers, and the one place requests are dispatched:
 * each takes the volume lock, finds the inode, passes the write gate when
 * the node is one a running guest owns, calls the operation of the
 * inode's kind (rfs.h), drops the lock and replies exactly once. Requests
 * between two kinds are decided here too.
 */
#include "rfs.h"
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

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

/* The write gate: while a guest owns the image, its nodes are read-only. */
static int gate(struct rfs *fs, const struct rfs_kind *kind)
{
	return kind->guest_owned ? run_check_writable(fs) : 0;
}

static struct rfs_file *file_of(const struct fuse_file_info *fi)
{
	return fi ? (struct rfs_file *)(uintptr_t)fi->fh : NULL;
}

static void reply_entry_or_err(fuse_req_t req, int ret,
			       const struct fuse_entry_param *e, double timeout)
{
	if (ret == -ENOENT && timeout > 0) {
		/* A negative entry the kernel may cache. */
		struct fuse_entry_param neg;

		memset(&neg, 0, sizeof(neg));
		neg.entry_timeout = timeout;
		fuse_reply_entry(req, &neg);
	} else if (ret) {
		fuse_reply_err(req, -ret);
	} else {
		fuse_reply_entry(req, e);
	}
}

/* Attributes as the kernel is to see them: no write bits while a guest
   owns the node, so that editors say "read-only" before they try. */
static int getattr(struct rfs *fs, struct rfs_inode *inode, struct stat *st)
{
	int ret = inode->kind->getattr(fs, inode, st);

	if (!ret && inode->kind->guest_owned && rfs_guest_running(fs))
		st->st_mode &= ~(mode_t)0222;
	return ret;
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
	double timeout;
	int ret;

	lock(fs);
	dir = rfs_inode(fs, parent);
	timeout = dir->kind->timeout;
	ret = dir->kind->lookup ? dir->kind->lookup(fs, dir, name, &e) : -ENOTDIR;
	if (!ret && rfs_guest_running(fs) && rfs_inode(fs, e.ino)->kind->guest_owned)
		e.attr.st_mode &= ~(mode_t)0222;
	unlock(fs);
	reply_entry_or_err(req, ret, &e, timeout);
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
	struct rfs_inode *inode;
	struct stat st;
	int ret;

	(void)fi;
	lock(fs);
	inode = rfs_inode(fs, ino);
	ret = getattr(fs, inode, &st);
	unlock(fs);
	if (ret)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_attr(req, &st, inode->kind->timeout);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct rfs *fs = fs_of(req);
	struct rfs_inode *inode;
	struct stat st;
	int ret;

	lock(fs);
	inode = rfs_inode(fs, ino);
	ret = inode->kind->getattr(fs, inode, &st);
	if (!ret && (!S_ISDIR(st.st_mode) || !inode->kind->readdir))
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
	ret = inode->kind->readdir ? inode->kind->readdir(fs, inode, &db, off)
				   : -ENOTDIR;
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

static bool writes(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

static int open_file(struct rfs *fs, struct rfs_inode *inode, int flags,
		     struct rfs_file **filep)
{
	int ret = writes(flags) ? gate(fs, inode->kind) : 0;

	if (!ret)
		ret = inode->kind->open ? inode->kind->open(fs, inode, flags, filep)
					: -EISDIR;
	return ret;
}

/* How the kernel may cache an open file's data. */
static void cache_mode(const struct rfs_file *file, struct fuse_file_info *fi)
{
	fi->fh = (uint64_t)(uintptr_t)file;
	if (file->kind->timeout == 0)
		fi->direct_io = 1; /* values change behind the page cache */
	else
		fi->keep_cache = 1; /* only rpifs writes: the cache is true */
}

static void close_file(struct rfs *fs, struct rfs_file *file)
{
	file->kind->release(fs, file);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct rfs *fs = fs_of(req);
	struct rfs_file *file = NULL;
	int ret;

	lock(fs);
	ret = open_file(fs, rfs_inode(fs, ino), fi->flags, &file);
	unlock(fs);
	if (ret) {
		fuse_reply_err(req, -ret);
		return;
	}
	cache_mode(file, fi);
	if (fuse_reply_open(req, fi) == -ENOENT) {
		/* The opener was interrupted: nobody will release this. */
		lock(fs);
		close_file(fs, file);
		unlock(fs);
	}
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct rfs *fs = fs_of(req);
	struct rfs_file *file = file_of(fi);
	struct fuse_bufvec *bv = NULL;
	int ret;

	(void)ino;
	lock(fs);
	ret = file->kind->read ? file->kind->read(fs, file, size, off, &bv)
			       : -EISDIR;
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

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct rfs *fs = fs_of(req);
	struct rfs_file *file = file_of(fi);
	ssize_t n;

	(void)ino;
	lock(fs);
	n = gate(fs, file->kind);
	if (!n)
		n = file->kind->write ? file->kind->write(fs, file, buf, size, off)
				      : -EBADF;
	unlock(fs);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct rfs *fs = fs_of(req);
	struct rfs_file *file = file_of(fi);
	int ret = 0;

	(void)ino;
	if (file->kind->flush) {
		lock(fs);
		ret = file->kind->flush(fs, file);
		unlock(fs);
	}
	fuse_reply_err(req, -ret);
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct rfs *fs = fs_of(req);

	(void)ino;
	lock(fs);
	close_file(fs, file_of(fi));
	unlock(fs);
	fuse_reply_err(req, 0);
}

static void do_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct rfs_file *file)
{
	struct rfs *fs = fs_of(req);
	struct rfs_inode *inode;
	const struct rfs_kind *kind;
	int ret;

	lock(fs);
	inode = rfs_inode(fs, ino);
	kind = file ? file->kind : inode->kind;
	ret = kind->fsync ? kind->fsync(fs, inode, file, datasync) : 0;
	unlock(fs);
	fuse_reply_err(req, -ret);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	do_fsync(req, ino, datasync, file_of(fi));
}

/* Directories have no handle (opendir leaves fh at 0). */
static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi)
{
	(void)fi;
	do_fsync(req, ino, datasync, NULL);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct rfs *fs = fs_of(req);
	struct rfs_inode *inode;
	struct statvfs st;
	int ret;

	lock(fs);
	inode = rfs_inode(fs, ino);
	if (!inode->kind->statfs)
		inode = &fs->root;
	ret = inode->kind->statfs(fs, inode, &st);
	unlock(fs);
	if (ret)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_statfs(req, &st);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct rfs *fs = fs_of(req);
	struct rfs_inode *inode;
	struct rfs_file *file = file_of(fi);
	struct stat st;
	int ret;

	lock(fs);
	inode = rfs_inode(fs, ino);
	ret = gate(fs, inode->kind);
	if (!ret)
		ret = inode->kind->setattr
			      ? inode->kind->setattr(fs, inode, file, attr, to_set)
			      : -EPERM;
	if (!ret)
		ret = getattr(fs, inode, &st);
	unlock(fs);
	if (ret)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_attr(req, &st, inode->kind->timeout);
}

static int make_node(struct rfs *fs, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev, struct fuse_entry_param *e)
{
	struct rfs_inode *dir = rfs_inode(fs, parent);
	int ret = gate(fs, dir->kind);

	if (!ret)
		ret = dir->kind->mknod ? dir->kind->mknod(fs, dir, name, mode,
							  rdev, e)
				       : -ENOTDIR;
	return ret;
}

static void reply_made(fuse_req_t req, int ret,
		       const struct fuse_entry_param *e)
{
	if (ret)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_entry(req, e);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	struct rfs *fs = fs_of(req);
	struct fuse_entry_param e;
	int ret;

	lock(fs);
	ret = make_node(fs, parent, name, mode, rdev, &e);
	unlock(fs);
	reply_made(req, ret, &e);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	struct rfs *fs = fs_of(req);
	struct fuse_entry_param e;
	int ret;

	lock(fs);
	ret = make_node(fs, parent, name, S_IFDIR | (mode & 07777), 0, &e);
	unlock(fs);
	reply_made(req, ret, &e);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct rfs *fs = fs_of(req);
	struct fuse_entry_param e;
	struct rfs_file *file = NULL;
	int ret;

	lock(fs);
	ret = make_node(fs, parent, name, S_IFREG | (mode & 07777), 0, &e);
	if (!ret) {
		struct rfs_inode *inode = rfs_inode(fs, e.ino);

		/* New and empty: no truncation, and no gate a second time. */
		ret = inode->kind->open ? inode->kind->open(fs, inode,
							    fi->flags & ~O_TRUNC,
							    &file)
					: -EISDIR;
		if (ret)
			rfs_forget(fs, inode, 1);
	}
	unlock(fs);
	if (ret) {
		fuse_reply_err(req, -ret);
		return;
	}
	cache_mode(file, fi);
	if (fuse_reply_create(req, &e, fi) == -ENOENT) {
		lock(fs);
		close_file(fs, file);
		rfs_forget(fs, rfs_inode(fs, e.ino), 1);
		unlock(fs);
	}
}

static void remove_name(fuse_req_t req, fuse_ino_t parent, const char *name,
			bool is_dir)
{
	struct rfs *fs = fs_of(req);
	struct rfs_inode *dir;
	int (*remove)(struct rfs *, struct rfs_inode *, const char *);
	int ret;

	lock(fs);
	dir = rfs_inode(fs, parent);
	remove = is_dir ? dir->kind->rmdir : dir->kind->unlink;
	ret = gate(fs, dir->kind);
	if (!ret)
		ret = remove ? remove(fs, dir, name) : -ENOTDIR;
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

/*
 * Between two kinds nothing is renamed: a file of the image never moves
 * into the mount's memory (EPERM: mv stops, the file stays), and else
 * EXDEV tells mv to copy (into boot/, which keeps it).
 */
static int rename_between(const struct rfs_kind *from, const struct rfs_kind *to)
{
	return from->guest_owned && !to->guest_owned ? -EPERM : -EXDEV;
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	struct rfs *fs = fs_of(req);
	struct rfs_inode *from, *to;
	int ret;

	lock(fs);
	from = rfs_inode(fs, parent);
	to = rfs_inode(fs, newparent);
	if (from->kind != to->kind)
		ret = rename_between(from->kind, to->kind);
	else if (!from->kind->rename)
		ret = -ENOTDIR;
	else if (!(ret = gate(fs, from->kind)))
		ret = from->kind->rename(fs, from, name, to, newname, flags);
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

const struct fuse_lowlevel_ops rfs_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.create = op_create,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.rename = op_rename,
	.link = op_link,
	.symlink = op_symlink,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.fsync = op_fsync,
	.fsyncdir = op_fsyncdir,
	.release = op_release,
	.statfs = op_statfs,
};
