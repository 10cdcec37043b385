// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The FUSE low-level handlers, and the one place requests are dispatched:
 * each takes the volume lock, finds the inode, checks the caller's
 * permissions (access.c: the mount has no default_permissions), passes the
 * write gate when the node is one a running guest owns, calls the
 * operation of the inode's kind (rfs.h), drops the lock and replies
 * exactly once. Requests between two kinds are decided here too.
 */
#include "rfs.h"
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

/* Lock, and note who asks (for permissions and new files' owners). */
static struct rfs *begin(fuse_req_t req)
{
	struct rfs *fs = fuse_req_userdata(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	pthread_mutex_lock(&fs->lock);
	fs->caller = (struct rfs_caller){
		.req = req,
		.uid = ctx->uid,
		.gid = ctx->gid,
		.umask = ctx->umask,
		.group_count = -1,
	};
	return fs;
}

/* Drop the lock, then send the cache invalidations the call queued. */
static void end(struct rfs *fs)
{
	bool pending = fs->notify_count > 0;

	fs->caller.req = NULL;
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

/* The caller may @mask (R_OK, W_OK, X_OK) @inode. */
static int may(struct rfs *fs, struct rfs_inode *inode, int mask)
{
	struct stat st;
	int ret = inode->kind->getattr(fs, inode, &st);

	return ret ? ret : rfs_may(fs, inode->kind, &st, mask);
}

static bool is_owner(struct rfs *fs, const struct rfs_kind *kind,
		     const struct stat *st)
{
	return rfs_superuser(fs, kind) || fs->caller.uid == st->st_uid;
}

/*
 * In a sticky directory (/tmp) a name goes only by its owner, the
 * directory's owner or the superuser.
 */
static int sticky(struct rfs *fs, struct rfs_inode *dir, const char *name)
{
	struct fuse_entry_param e;
	struct stat st;
	int ret = dir->kind->getattr(fs, dir, &st);

	if (ret || !(st.st_mode & S_ISVTX) || is_owner(fs, dir->kind, &st) ||
	    !dir->kind->lookup)
		return ret;
	ret = dir->kind->lookup(fs, dir, name, &e);
	if (ret)
		return ret == -ENOENT ? 0 : ret;
	ret = fs->caller.uid == e.attr.st_uid ? 0 : -EPERM;
	rfs_forget(fs, rfs_inode(fs, e.ino), 1);
	return ret;
}

/* A directory the caller may add names to or take them from. */
static int may_change(struct rfs *fs, struct rfs_inode *dir)
{
	int ret = gate(fs, dir->kind);

	return ret ? ret : may(fs, dir, W_OK | X_OK);
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
static void shown(struct rfs *fs, const struct rfs_kind *kind, struct stat *st)
{
	if (kind->guest_owned && rfs_guest_running(fs))
		st->st_mode &= ~(mode_t)0222;
}

static int getattr(struct rfs *fs, struct rfs_inode *inode, struct stat *st)
{
	int ret = inode->kind->getattr(fs, inode, st);

	if (!ret)
		shown(fs, inode->kind, st);
	return ret;
}

/* A new entry's inode as the kernel is to see it. */
static void shown_entry(struct rfs *fs, struct fuse_entry_param *e)
{
	shown(fs, rfs_inode(fs, e->ino)->kind, &e->attr);
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
	/* The umask comes with the request: root/ applies it only where a
	   directory has no default ACL, as ext4 does. */
	if (conn->capable & FUSE_CAP_DONT_MASK)
		conn->want |= FUSE_CAP_DONT_MASK;
	conn->max_write = 1024 * 1024;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct rfs *fs = begin(req);
	struct rfs_inode *dir = rfs_inode(fs, parent);
	double timeout = dir->kind->timeout;
	struct fuse_entry_param e;
	int ret = dir->kind->lookup ? may(fs, dir, X_OK) : -ENOTDIR;

	if (!ret)
		ret = dir->kind->lookup(fs, dir, name, &e);
	if (!ret)
		shown_entry(fs, &e);
	end(fs);
	reply_entry_or_err(req, ret, &e, timeout);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct rfs *fs = begin(req);

	rfs_forget(fs, rfs_inode(fs, ino), nlookup);
	end(fs);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	struct rfs *fs = begin(req);

	for (size_t i = 0; i < count; i++)
		rfs_forget(fs, rfs_inode(fs, forgets[i].ino),
			   forgets[i].nlookup);
	end(fs);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct rfs *fs = begin(req);
	struct rfs_inode *inode = rfs_inode(fs, ino);
	struct stat st;
	int ret = getattr(fs, inode, &st);

	(void)fi;
	end(fs);
	if (ret)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_attr(req, &st, inode->kind->timeout);
}

static void op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct rfs *fs = begin(req);
	struct rfs_inode *inode = rfs_inode(fs, ino);
	struct stat st;
	int ret = getattr(fs, inode, &st);

	if (!ret && mask != F_OK)
		ret = rfs_may(fs, inode->kind, &st, mask);
	/* Write access to what a running guest owns: read-only now. */
	if (!ret && (mask & W_OK))
		ret = gate(fs, inode->kind);
	end(fs);
	fuse_reply_err(req, -ret);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct rfs *fs = begin(req);
	struct rfs_inode *inode = rfs_inode(fs, ino);
	struct stat st;
	int ret = inode->kind->getattr(fs, inode, &st);

	if (!ret && (!S_ISDIR(st.st_mode) || !inode->kind->readdir))
		ret = -ENOTDIR;
	if (!ret)
		ret = rfs_may(fs, inode->kind, &st, R_OK);
	end(fs);
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
	struct rfs_dirbuf db = {.req = req, .plus = plus, .size = size};
	struct rfs_inode *inode;
	struct rfs *fs;
	int ret;

	db.buf = malloc(size ? size : 1);
	if (!db.buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fs = begin(req);
	inode = rfs_inode(fs, ino);
	ret = inode->kind->readdir ? inode->kind->readdir(fs, inode, &db, off)
				   : -ENOTDIR;
	end(fs);
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

static int open_mask(int flags)
{
	int mask = 0;

	if ((flags & O_ACCMODE) != O_WRONLY)
		mask |= R_OK;
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
		mask |= W_OK;
	return mask;
}

static int open_file(struct rfs *fs, struct rfs_inode *inode, int flags,
		     bool created, struct rfs_file **filep)
{
	int mask = open_mask(flags);
	int ret = 0;

	if (!inode->kind->open)
		return -EISDIR;
	/* A file just created may be opened as asked, whatever its mode. */
	if (!created && (mask & W_OK))
		ret = gate(fs, inode->kind);
	if (!ret && !created)
		ret = may(fs, inode, mask);
	if (!ret)
		ret = inode->kind->open(
			fs, inode, created ? flags & ~O_TRUNC : flags, filep);
	if (!ret)
		inode->opens++;
	return ret;
}

/*
 * How the kernel may cache an open file's data; under the lock. A file
 * opened write-only, by nobody else, where no file has extended attributes
 * (boot/: FAT has none, so no set-user-ID bits or capabilities for a
 * write to drop) is written past the page cache. A buffered write first
 * asks, once per new file, for a security.capability to remove: one of
 * the four round trips a copied file cost (lookup, create, getxattr,
 * write), which a direct write does not make. Nothing is lost:
 * write-only, it reads nothing and cannot be mapped, and the kernel sends
 * each write(2) as one request either way (rpifs has no writeback cache).
 * While it is open, the file's other opens are past the cache too: a page
 * read into the cache during a direct write could keep the bytes from
 * before it (an invalidation fails while a reader holds the page), which
 * readers of a file being appended would see. Pages cached before it
 * opened are dropped before each direct write by recent kernels (6.18
 * here), and for older ones op_write() invalidates them.
 */
static void cache_mode(struct rfs_file *file, struct fuse_file_info *fi)
{
	struct rfs_inode *inode = file->inode;
	bool alone_writing = (fi->flags & O_ACCMODE) == O_WRONLY &&
			     !file->kind->getxattr && inode->opens == 1;

	fi->fh = (uint64_t)(uintptr_t)file;
	if (file->kind->timeout == 0) {
		fi->direct_io = 1; /* values change behind the page cache */
	} else if (alone_writing || inode->direct_writers > 0) {
		fi->direct_io = 1;
		file->direct_writer = (fi->flags & O_ACCMODE) != O_RDONLY;
		inode->direct_writers += file->direct_writer;
	} else {
		fi->keep_cache = 1; /* only rpifs writes: the cache is true */
		if ((fi->flags & O_ACCMODE) != O_WRONLY)
			inode->cached_reads = true;
	}
	/*
	 * A kind with nothing to do at close(2) (boot/, root/: writes are
	 * written through) spares the kernel a FLUSH round trip per close;
	 * control files commit and report their errors there.
	 */
	if (!file->kind->flush)
		fi->noflush = 1;
}

static void close_file(struct rfs *fs, struct rfs_file *file)
{
	struct rfs_inode *inode = file->inode;

	inode->opens--;
	inode->direct_writers -= file->direct_writer;
	file->kind->release(fs, file);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct rfs *fs = begin(req);
	struct rfs_file *file = NULL;
	int ret = open_file(fs, rfs_inode(fs, ino), fi->flags, false, &file);

	if (!ret)
		cache_mode(file, fi);
	end(fs);
	if (ret) {
		fuse_reply_err(req, -ret);
		return;
	}
	if (fuse_reply_open(req, fi) == -ENOENT) {
		/* The opener was interrupted: nobody will release this. */
		fs = begin(req);
		close_file(fs, file);
		end(fs);
	}
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct rfs *fs = begin(req);
	struct rfs_file *file = file_of(fi);
	struct fuse_bufvec *bv = NULL;
	int ret;

	(void)ino;
	ret = file->kind->read ? file->kind->read(fs, file, size, off, &bv)
			       : -EISDIR;
	/* Reply under the lock: the blocks must not change meanwhile. */
	if (ret)
		fuse_reply_err(req, -ret);
	else if (bv->count == 0)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_data(req, bv, FUSE_BUF_SPLICE_MOVE);
	end(fs);
	free(bv);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct rfs *fs = begin(req);
	struct rfs_file *file = file_of(fi);
	ssize_t n = gate(fs, file->kind);

	if (!n)
		n = file->kind->write
			    ? file->kind->write(fs, file, buf, size, off)
			    : -EBADF;
	if (n > 0 && file->direct_writer && file->inode->cached_reads)
		rfs_notify_queue(fs, 0, ino, NULL);
	end(fs);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct rfs_file *file = file_of(fi);
	struct rfs *fs;
	int ret = 0;

	(void)ino;
	if (file->kind->flush) {
		fs = begin(req);
		ret = file->kind->flush(fs, file);
		end(fs);
	}
	fuse_reply_err(req, -ret);
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct rfs *fs = begin(req);

	(void)ino;
	close_file(fs, file_of(fi));
	end(fs);
	fuse_reply_err(req, 0);
}

static void do_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct rfs_file *file)
{
	struct rfs *fs = begin(req);
	struct rfs_inode *inode = rfs_inode(fs, ino);
	const struct rfs_kind *kind = file ? file->kind : inode->kind;
	int ret = kind->fsync ? kind->fsync(fs, inode, file, datasync) : 0;

	end(fs);
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
	struct rfs *fs = begin(req);
	struct rfs_inode *inode = rfs_inode(fs, ino);
	struct statvfs st;
	int ret;

	if (!inode->kind->statfs)
		inode = &fs->root;
	ret = inode->kind->statfs(fs, inode, &st);
	end(fs);
	if (ret)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_statfs(req, &st);
}

/* What chmod, chown, truncate and utimes may do, as the kernel decides. */
static int may_setattr(struct rfs *fs, struct rfs_inode *inode,
		       const struct stat *attr, int to_set, bool has_file)
{
	bool super = rfs_superuser(fs, inode->kind);
	struct stat st;
	int ret = inode->kind->getattr(fs, inode, &st);
	bool owner = !ret && is_owner(fs, inode->kind, &st);

	if (ret)
		return ret;
	if ((to_set & FUSE_SET_ATTR_MODE) && !owner)
		return -EPERM;
	if ((to_set & FUSE_SET_ATTR_UID) && attr->st_uid != st.st_uid && !super)
		return -EPERM;
	if ((to_set & FUSE_SET_ATTR_GID) && attr->st_gid != st.st_gid &&
	    !super && !(owner && rfs_in_group(fs, attr->st_gid)))
		return -EPERM;
	if ((to_set & FUSE_SET_ATTR_SIZE) && !has_file &&
	    (ret = rfs_may(fs, inode->kind, &st, W_OK)))
		return ret;
	/* Times of one's choosing by the owner; "now" by any writer. */
	if ((to_set & ((FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME) &
		       ~(FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW))) &&
	    !owner) {
		bool now_only = (!(to_set & FUSE_SET_ATTR_ATIME) ||
				 (to_set & FUSE_SET_ATTR_ATIME_NOW)) &&
				(!(to_set & FUSE_SET_ATTR_MTIME) ||
				 (to_set & FUSE_SET_ATTR_MTIME_NOW));

		if (!now_only)
			return -EPERM;
		return rfs_may(fs, inode->kind, &st, W_OK);
	}
	return 0;
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct rfs *fs = begin(req);
	struct rfs_inode *inode = rfs_inode(fs, ino);
	struct rfs_file *file = file_of(fi);
	struct stat st;
	int ret = gate(fs, inode->kind);

	if (!ret)
		ret = may_setattr(fs, inode, attr, to_set, file != NULL);
	if (!ret)
		ret = inode->kind->setattr
			      ? inode->kind->setattr(fs, inode, file, attr,
						     to_set)
			      : -EPERM;
	if (!ret)
		ret = getattr(fs, inode, &st);
	end(fs);
	if (ret)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_attr(req, &st, inode->kind->timeout);
}

static int make_node(struct rfs *fs, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev, struct fuse_entry_param *e)
{
	struct rfs_inode *dir = rfs_inode(fs, parent);
	int ret = dir->kind->mknod ? may_change(fs, dir) : -ENOTDIR;

	if (!ret)
		ret = dir->kind->mknod(fs, dir, name, mode, rdev, e);
	if (!ret)
		shown_entry(fs, e);
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
	struct rfs *fs = begin(req);
	struct fuse_entry_param e;
	int ret = make_node(fs, parent, name, mode, rdev, &e);

	end(fs);
	reply_made(req, ret, &e);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	struct rfs *fs = begin(req);
	struct fuse_entry_param e;
	int ret = make_node(fs, parent, name, S_IFDIR | (mode & 07777), 0, &e);

	end(fs);
	reply_made(req, ret, &e);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct rfs *fs = begin(req);
	struct fuse_entry_param e;
	struct rfs_file *file = NULL;
	int ret = make_node(fs, parent, name, S_IFREG | (mode & 07777), 0, &e);

	if (!ret) {
		struct rfs_inode *inode = rfs_inode(fs, e.ino);

		ret = open_file(fs, inode, fi->flags, true, &file);
		if (ret)
			rfs_forget(fs, inode, 1);
		else
			cache_mode(file, fi);
	}
	end(fs);
	if (ret) {
		fuse_reply_err(req, -ret);
		return;
	}
	if (fuse_reply_create(req, &e, fi) == -ENOENT) {
		fs = begin(req);
		close_file(fs, file);
		rfs_forget(fs, rfs_inode(fs, e.ino), 1);
		end(fs);
	}
}

static void remove_name(fuse_req_t req, fuse_ino_t parent, const char *name,
			bool is_dir)
{
	struct rfs *fs = begin(req);
	struct rfs_inode *dir = rfs_inode(fs, parent);
	int (*remove)(struct rfs *, struct rfs_inode *, const char *) =
		is_dir ? dir->kind->rmdir : dir->kind->unlink;
	int ret = remove ? may_change(fs, dir) : -ENOTDIR;

	if (!ret)
		ret = sticky(fs, dir, name);
	if (!ret)
		ret = remove(fs, dir, name);
	end(fs);
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
 * EXDEV tells mv to copy (into boot/ or root/, which keep it).
 */
static int rename_between(const struct rfs_kind *from,
			  const struct rfs_kind *to)
{
	return from->guest_owned && !to->guest_owned ? -EPERM : -EXDEV;
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	struct rfs *fs = begin(req);
	struct rfs_inode *from = rfs_inode(fs, parent);
	struct rfs_inode *to = rfs_inode(fs, newparent);
	int ret;

	if (from->kind != to->kind)
		ret = rename_between(from->kind, to->kind);
	else if (!from->kind->rename)
		ret = -ENOTDIR;
	else if (!(ret = may_change(fs, from)) && !(ret = may_change(fs, to)) &&
		 !(ret = sticky(fs, from, name)) &&
		 !(ret = (flags & RENAME_EXCHANGE) ? sticky(fs, to, newname)
						   : 0))
		ret = from->kind->rename(fs, from, name, to, newname, flags);
	end(fs);
	fuse_reply_err(req, -ret);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	struct rfs *fs = begin(req);
	struct rfs_inode *inode = rfs_inode(fs, ino);
	struct rfs_inode *dir = rfs_inode(fs, newparent);
	struct fuse_entry_param e;
	int ret;

	if (inode->kind != dir->kind)
		ret = -EXDEV;
	else if (!dir->kind->link)
		ret = -EPERM; /* FAT has no hard links */
	else if (!(ret = may_change(fs, dir)))
		ret = dir->kind->link(fs, inode, dir, newname, &e);
	if (!ret)
		shown_entry(fs, &e);
	end(fs);
	reply_made(req, ret, &e);
}

static void op_symlink(fuse_req_t req, const char *target, fuse_ino_t parent,
		       const char *name)
{
	struct rfs *fs = begin(req);
	struct rfs_inode *dir = rfs_inode(fs, parent);
	struct fuse_entry_param e;
	int ret = dir->kind->symlink ? may_change(fs, dir) : -EPERM;

	if (!ret)
		ret = dir->kind->symlink(fs, dir, name, target, &e);
	if (!ret)
		shown_entry(fs, &e);
	end(fs);
	reply_made(req, ret, &e);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct rfs *fs = begin(req);
	struct rfs_inode *inode = rfs_inode(fs, ino);
	char *target = NULL;
	int ret = inode->kind->readlink
			  ? inode->kind->readlink(fs, inode, &target)
			  : -EINVAL;

	end(fs);
	if (ret)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_readlink(req, target);
	free(target);
}

/*
 * Who may touch an extended attribute, as Linux's xattr_permission():
 * user.* by those who may read (or write) the file, trusted.* and
 * security.* by the superuser, ACLs by the owner.
 */
static int may_xattr(struct rfs *fs, struct rfs_inode *inode, const char *name,
		     bool write)
{
	struct stat st;
	int ret = inode->kind->getattr(fs, inode, &st);

	if (ret)
		return ret;
	if (strncmp(name, "user.", 5) == 0) {
		if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
			return write ? -EPERM : -ENODATA;
		return rfs_may(fs, inode->kind, &st, write ? W_OK : R_OK);
	}
	if (!write)
		return 0;
	if (strncmp(name, "system.posix_acl_", 17) == 0)
		return is_owner(fs, inode->kind, &st) ? 0 : -EPERM;
	return rfs_superuser(fs, inode->kind) ? 0 : -EPERM;
}

static void reply_size(fuse_req_t req, ssize_t n, size_t size, const void *buf)
{
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	struct rfs *fs = begin(req);
	struct rfs_inode *inode = rfs_inode(fs, ino);
	char *buf = size ? malloc(size) : NULL;
	ssize_t n = size && !buf ? -ENOMEM
		    : !inode->kind->getxattr
			    ? -ENOTSUP
			    : may_xattr(fs, inode, name, false);

	if (!n)
		n = inode->kind->getxattr(fs, inode, name, buf, size);
	end(fs);
	reply_size(req, n, size, buf);
	free(buf);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct rfs *fs = begin(req);
	struct rfs_inode *inode = rfs_inode(fs, ino);
	char *buf = size ? malloc(size) : NULL;
	ssize_t n = size && !buf ? -ENOMEM : 0;

	if (!n && inode->kind->listxattr)
		n = inode->kind->listxattr(fs, inode, buf, size);
	end(fs);
	reply_size(req, n, size, buf);
	free(buf);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags)
{
	struct rfs *fs = begin(req);
	struct rfs_inode *inode = rfs_inode(fs, ino);
	int ret = inode->kind->setxattr ? gate(fs, inode->kind) : -ENOTSUP;

	if (!ret)
		ret = may_xattr(fs, inode, name, true);
	if (!ret)
		ret = inode->kind->setxattr(fs, inode, name, value, size,
					    flags);
	end(fs);
	fuse_reply_err(req, -ret);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct rfs *fs = begin(req);
	struct rfs_inode *inode = rfs_inode(fs, ino);
	int ret = inode->kind->removexattr ? gate(fs, inode->kind) : -ENOTSUP;

	if (!ret)
		ret = may_xattr(fs, inode, name, true);
	if (!ret)
		ret = inode->kind->removexattr(fs, inode, name);
	end(fs);
	fuse_reply_err(req, -ret);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off,
			 off_t len, struct fuse_file_info *fi)
{
	struct rfs *fs = begin(req);
	struct rfs_file *file = file_of(fi);
	int ret = file->kind->fallocate ? gate(fs, file->kind) : -EOPNOTSUPP;

	(void)ino;
	if (!ret)
		ret = file->kind->fallocate(fs, file, mode, off, len);
	end(fs);
	fuse_reply_err(req, -ret);
}

const struct fuse_lowlevel_ops rfs_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.access = op_access,
	.setattr = op_setattr,
	.readlink = op_readlink,
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
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.setxattr = op_setxattr,
	.removexattr = op_removexattr,
	.fallocate = op_fallocate,
};
