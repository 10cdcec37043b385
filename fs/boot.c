// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * boot/: the FAT boot partition through fat/, as a kind of node. A FAT
 * node gets an inode the first time the kernel is told of it; the inode
 * holds one reference on the node until the kernel forgets it. Reads are
 * zero-copy (the reply splices straight from the image file). Attributes
 * follow Linux's vfat: one owner, modes from the masks, the read-only
 * attribute as missing write bits.
 */
#include "boot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Nobody else writes boot/ while mounted, so the kernel may cache long. */
#define BOOT_CACHE_TIMEOUT 86400.0

/* The FAT node of an inode, NULL when it belongs to an older volume. */
static struct fat_node *node_of(struct rfs *fs, const struct rfs_inode *inode)
{
	return inode->gen == fs->vol_gen ? inode->fat : NULL;
}

static struct fat_node *file_node(struct rfs *fs, const struct rfs_file *file)
{
	return file->fat && file->gen == fs->vol_gen ? file->fat : NULL;
}

static blkcnt_t blocks_of(uint64_t bytes, uint32_t cluster_size)
{
	uint64_t clusters = (bytes + cluster_size - 1) / cluster_size;

	return (blkcnt_t)(clusters * cluster_size / 512);
}

void rfs_boot_stat(struct rfs *fs, struct fat_node *node, struct stat *st)
{
	uint32_t cluster_size = fat_cluster_size(fs->vol);
	struct fat_stat fst;
	mode_t perm;

	fat_node_stat(fs->vol, node, &fst);
	memset(st, 0, sizeof(*st));
	st->st_ino = fat_node_ino(node);
	st->st_uid = fs->opt.uid;
	st->st_gid = fs->opt.gid;
	st->st_size = fst.size;
	st->st_blocks = blocks_of(fst.size, cluster_size);
	st->st_blksize = cluster_size;
	if (!fst.is_dir)
		st->st_blocks =
			(blkcnt_t)((uint64_t)fst.clusters * cluster_size / 512);
	/*
	 * Link counts as Linux's vfat gives them: a directory 2 and one per
	 * subdirectory, a file 1, and 0 once removed while still open.
	 */
	st->st_nlink = fst.nlink;
	st->st_mtim = fst.mtime;
	st->st_atim = fst.atime;
	/*
	 * As Linux's vfat: ctime is the entry's creation time field, which
	 * every change (contents, mode, times, a rename into place) sets.
	 */
	st->st_ctim = fst.crtime;
	if (fst.is_dir) {
		perm = 0777 & ~fs->opt.dmask;
		st->st_mode = S_IFDIR | perm;
	} else {
		perm = 0777 & ~fs->opt.fmask;
		if (fst.attr & FAT_ATTR_RO)
			perm &= ~(mode_t)0222;
		st->st_mode = S_IFREG | perm;
	}
}

int rfs_boot_entry(struct rfs *fs, struct fat_node *node,
		   struct fuse_entry_param *e)
{
	struct rfs_inode *inode = fat_node_priv(node);
	struct stat st;

	if (inode) {
		/* Known already: it holds its own reference. */
		fat_node_put(fs->vol, node);
	} else {
		inode = rfs_inode_new(fs, &rfs_boot_kind);
		if (!inode) {
			fat_node_put(fs->vol, node);
			return -ENOMEM;
		}
		inode->fat = node;
		inode->gen = fs->vol_gen;
		fat_node_set_priv(node, inode);
	}
	rfs_boot_stat(fs, node, &st);
	rfs_inode_entry(fs, inode, &st, e);
	return 0;
}

static int boot_getattr(struct rfs *fs, struct rfs_inode *inode,
			struct stat *st)
{
	struct fat_node *node = node_of(fs, inode);

	if (!node)
		return -ESTALE;
	rfs_boot_stat(fs, node, st);
	return 0;
}

static int boot_lookup(struct rfs *fs, struct rfs_inode *dir, const char *name,
		       struct fuse_entry_param *e)
{
	struct fat_node *d = node_of(fs, dir), *node;
	int ret;

	if (!d)
		return -ESTALE;
	ret = fat_lookup(fs->vol, d, name, &node);
	return ret ? ret : rfs_boot_entry(fs, node, e);
}

static int boot_readdir(struct rfs *fs, struct rfs_inode *inode,
			struct rfs_dirbuf *db, off_t off)
{
	struct fat_node *dir = node_of(fs, inode);
	struct fuse_entry_param e;
	uint64_t cookie;
	int ret;

	if (!dir)
		return -ESTALE;
	if (!fat_node_is_dir(dir))
		return -ENOTDIR;
	/* Offsets: 0 ".", 1 "..", then 2 + the fat_readdir cookie. */
	for (; off < 2; off++) {
		memset(&e, 0, sizeof(e));
		e.attr.st_mode = S_IFDIR;
		/* glibc skips entries whose d_ino is 0. */
		if (off == 0)
			e.attr.st_ino = fat_node_ino(dir);
		else if (fat_node_parent(dir))
			e.attr.st_ino = fat_node_ino(fat_node_parent(dir));
		else
			e.attr.st_ino = FUSE_ROOT_ID;
		if (rfs_dirbuf_add(db, off == 0 ? "." : "..", &e, off + 1))
			return 0;
	}
	cookie = (uint64_t)off - 2;
	for (;;) {
		struct fat_node *child;

		ret = fat_readdir(fs->vol, dir, &cookie, &child);
		if (ret <= 0)
			return ret;
		memset(&e, 0, sizeof(e));
		if (db->plus) {
			fat_node_get(child);
			ret = rfs_boot_entry(fs, child, &e);
			if (ret)
				return ret;
		} else {
			rfs_boot_stat(fs, child, &e.attr);
		}
		if (rfs_dirbuf_add(db, fat_node_name(child), &e,
				   (off_t)cookie + 2)) {
			if (db->plus)
				rfs_forget(fs, rfs_inode(fs, e.ino), 1);
			return 0;
		}
	}
}

static int boot_open(struct rfs *fs, struct rfs_inode *inode, int flags,
		     struct rfs_file **filep)
{
	struct fat_node *node = node_of(fs, inode);
	struct rfs_file *file;

	if (!node)
		return -ESTALE;
	if (fat_node_is_dir(node))
		return -EISDIR;
	if ((flags & O_ACCMODE) != O_RDONLY && fat_is_read_only(fs->vol))
		return -EROFS;
	/* libfuse asks for atomic O_TRUNC: it comes here, not as setattr. */
	if ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY) {
		int ret = fat_truncate(fs->vol, node, 0);

		if (ret)
			return ret;
	}
	file = calloc(1, sizeof(*file));
	if (!file)
		return -ENOMEM;
	file->kind = &rfs_boot_kind;
	file->inode = inode;
	file->fat = node;
	file->gen = fs->vol_gen;
	fat_node_get(node);
	*filep = file;
	return 0;
}

static void boot_release(struct rfs *fs, struct rfs_file *file)
{
	if (file_node(fs, file))
		fat_node_put(fs->vol, file->fat);
	free(file);
}

/*
 * A file read sequentially: ask the host to read the image's next
 * RFS_AHEAD bytes of the file ahead, run by run. The kernel sends FUSE
 * reads of at most 256 KiB one after another; without this each one waits
 * for the disk, and the host's own readahead on the image cannot know
 * where the file's next cluster run is.
 */
#define RFS_AHEAD (4u << 20)

static void read_ahead(struct rfs *fs, struct rfs_file *file, uint64_t end)
{
	uint64_t from = file->ahead_until > end ? file->ahead_until : end;
	uint64_t until = end + RFS_AHEAD;

	/* Again only once half the window has been read. */
	if (file->ahead_until >= end + RFS_AHEAD / 2)
		return;
	fat_advise(fs->vol, file->fat, from, until);
	file->ahead_until = until;
}

/* Add an image range to a growing buffer vector. */
static int bufvec_add(struct fuse_bufvec **bvp, size_t *cap, int fd,
		      uint64_t pos, size_t len)
{
	struct fuse_bufvec *bv = *bvp;

	if (bv->count == *cap) {
		struct fuse_bufvec *bigger;

		*cap *= 2;
		bigger = realloc(bv, sizeof(*bv) + *cap * sizeof(bv->buf[0]));
		if (!bigger)
			return -ENOMEM;
		*bvp = bv = bigger;
	}
	bv->buf[bv->count++] = (struct fuse_buf){
		.size = len,
		.flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK | FUSE_BUF_FD_RETRY,
		.fd = fd,
		.pos = (off_t)pos,
	};
	return 0;
}

static int boot_read(struct rfs *fs, struct rfs_file *file, size_t size,
		     off_t off, struct fuse_bufvec **bufvp)
{
	struct fat_node *node = file_node(fs, file);
	struct fuse_bufvec *bv;
	size_t cap = 4, done = 0;
	uint64_t end = 0;
	int ret = 0;

	if (!node)
		return -ESTALE;
	bv = malloc(sizeof(*bv) + cap * sizeof(bv->buf[0]));
	if (!bv)
		return -ENOMEM;
	*bv = (struct fuse_bufvec)FUSE_BUFVEC_INIT(0);
	bv->count = 0;
	while (done < size) {
		uint64_t pos;
		size_t len;

		ret = fat_map(fs->vol, node, (uint64_t)off + done, size - done,
			      &pos, &len);
		if (ret || len == 0)
			break;
		ret = bufvec_add(&bv, &cap, fs->win.fd, pos, len);
		if (ret)
			break;
		done += len;
		if (pos + len > end)
			end = pos + len;
	}
	/* An error after some data: the data, as a short read. */
	if (ret && done)
		ret = 0;
	/*
	 * Zero-copy: the kernel is handed a range of the image; were the file
	 * shorter (it shrank while mounted), the reader would see a short
	 * file instead of an error.
	 */
	if (!ret && bv->count)
		ret = fat_check_image(fs->vol, end);
	if (ret) {
		free(bv);
		return ret;
	}
	if ((uint64_t)off == file->next_off && off != 0)
		read_ahead(fs, file, (uint64_t)off + done);
	file->next_off = (uint64_t)off + done;
	*bufvp = bv;
	return 0;
}

static ssize_t boot_write(struct rfs *fs, struct rfs_file *file,
			  const char *buf, size_t size, off_t off)
{
	struct fat_node *node = file_node(fs, file);

	if (!node)
		return -ESTALE;
	if (off < 0)
		return -EINVAL;
	return fat_write(fs->vol, node, buf, size, (uint64_t)off);
}

/*
 * fallocate as Linux's vfat takes it: mode 0 grows the file (zeros),
 * FALLOC_FL_KEEP_SIZE takes clusters past the size; nothing else.
 */
static int boot_fallocate(struct rfs *fs, struct rfs_file *file, int mode,
			  off_t off, off_t len)
{
	struct fat_node *node = file_node(fs, file);

	if (!node)
		return -ESTALE;
	if (mode & ~FALLOC_FL_KEEP_SIZE)
		return -EOPNOTSUPP;
	if (off < 0 || len <= 0)
		return -EINVAL;
	return fat_fallocate(fs->vol, node, mode & FALLOC_FL_KEEP_SIZE,
			     (uint64_t)off, (uint64_t)len);
}

static int boot_fsync(struct rfs *fs, struct rfs_inode *inode,
		      struct rfs_file *file, int datasync)
{
	(void)inode;
	(void)file;
	(void)datasync;
	return fat_sync(fs->vol);
}

/*
 * A mode change as Linux's vfat takes it (fat_sanitize_mode): the r and x
 * bits cannot change; the w bits all on or all off set the read-only
 * attribute of a file; anything else is ignored without an error.
 */
static int apply_mode(struct rfs *fs, struct fat_node *node, mode_t mode)
{
	bool is_dir = fat_node_is_dir(node);
	mode_t mask = is_dir ? fs->opt.dmask : fs->opt.fmask;
	mode_t perm = mode & 0777 & ~mask;
	mode_t allowed_w = 0222 & ~mask;
	struct stat cur;

	if (mode & (S_ISUID | S_ISGID | S_ISVTX))
		return fs->opt.quiet ? 0 : -EPERM;
	rfs_boot_stat(fs, node, &cur);
	if ((perm & 0555) != (cur.st_mode & 0555))
		return 0;
	if (is_dir || (perm & 0222 && (perm & 0222) != allowed_w))
		return 0;
	return fat_set_attr(fs->vol, node, (perm & 0222) ? 0 : FAT_ATTR_RO,
			    FAT_ATTR_RO);
}

static void now_if(struct timespec *ts, bool now)
{
	if (now)
		clock_gettime(CLOCK_REALTIME, ts);
}

static int boot_setattr(struct rfs *fs, struct rfs_inode *inode,
			struct rfs_file *file, const struct stat *attr,
			int to_set)
{
	struct fat_node *node = node_of(fs, inode);
	int ret = 0;

	(void)file;
	if (!node)
		return -ESTALE;
	if (fat_is_read_only(fs->vol))
		return -EROFS;
	if ((to_set & FUSE_SET_ATTR_UID && attr->st_uid != fs->opt.uid) ||
	    (to_set & FUSE_SET_ATTR_GID && attr->st_gid != fs->opt.gid)) {
		/* FAT has no owners. */
		if (!fs->opt.quiet)
			return -EPERM;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (fat_node_is_dir(node))
			return -EISDIR;
		ret = fat_truncate(fs->vol, node, (uint64_t)attr->st_size);
		if (ret)
			return ret;
	}
	if (to_set & FUSE_SET_ATTR_MODE) {
		ret = apply_mode(fs, node, attr->st_mode);
		if (ret)
			return ret;
	}
	if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
		struct timespec at = attr->st_atim, mt = attr->st_mtim;

		now_if(&at, to_set & FUSE_SET_ATTR_ATIME_NOW);
		now_if(&mt, to_set & FUSE_SET_ATTR_MTIME_NOW);
		ret = fat_set_times(fs->vol, node,
				    to_set & FUSE_SET_ATTR_ATIME ? &at : NULL,
				    to_set & FUSE_SET_ATTR_MTIME ? &mt : NULL);
	}
	return ret;
}

static int boot_mknod(struct rfs *fs, struct rfs_inode *dir, const char *name,
		      mode_t mode, dev_t rdev, struct fuse_entry_param *e)
{
	struct fat_node *d = node_of(fs, dir), *node;
	uint8_t attr;
	int ret;

	(void)rdev;
	if (!d)
		return -ESTALE;
	mode &= ~fs->caller.umask;
	if (S_ISDIR(mode))
		attr = FAT_ATTR_DIR;
	else if (S_ISREG(mode) || (mode & S_IFMT) == 0)
		attr = (mode & 0222) ? 0 : FAT_ATTR_RO;
	else
		return -EPERM; /* FAT holds no devices, fifos or sockets */
	ret = fat_create(fs->vol, d, name, attr, &node);
	return ret ? ret : rfs_boot_entry(fs, node, e);
}

static int boot_unlink(struct rfs *fs, struct rfs_inode *dir, const char *name)
{
	struct fat_node *d = node_of(fs, dir);

	return d ? fat_unlink(fs->vol, d, name) : -ESTALE;
}

static int boot_rmdir(struct rfs *fs, struct rfs_inode *dir, const char *name)
{
	struct fat_node *d = node_of(fs, dir);

	return d ? fat_rmdir(fs->vol, d, name) : -ESTALE;
}

static int boot_rename(struct rfs *fs, struct rfs_inode *dir, const char *name,
		       struct rfs_inode *newdir, const char *newname,
		       unsigned flags)
{
	struct fat_node *from = node_of(fs, dir), *to = node_of(fs, newdir);

	if (!from || !to)
		return -ESTALE;
	if (flags & ~(unsigned)RENAME_NOREPLACE)
		return -EINVAL; /* FAT cannot exchange two entries atomically */
	return fat_rename(fs->vol, from, name, to, newname,
			  flags & RENAME_NOREPLACE ? FAT_RENAME_NOREPLACE : 0);
}

static int boot_statfs(struct rfs *fs, struct rfs_inode *inode,
		       struct statvfs *st)
{
	struct fat_info info;
	int ret = fat_get_info(fs->vol, &info);

	(void)inode;
	memset(st, 0, sizeof(*st));
	st->f_bsize = info.cluster_size;
	st->f_frsize = info.cluster_size;
	st->f_blocks = info.cluster_count;
	st->f_bfree = info.free_clusters;
	st->f_bavail = info.free_clusters;
	st->f_namemax = 255;
	return ret;
}

static void boot_forget(struct rfs *fs, struct rfs_inode *inode)
{
	struct fat_node *node = node_of(fs, inode);

	if (node) {
		fat_node_set_priv(node, NULL);
		fat_node_put(fs->vol, node);
	}
}

const struct rfs_kind rfs_boot_kind = {
	.name = "boot",
	.guest_owned = true,
	.timeout = BOOT_CACHE_TIMEOUT,
	.getattr = boot_getattr,
	.lookup = boot_lookup,
	.readdir = boot_readdir,
	.open = boot_open,
	.read = boot_read,
	.write = boot_write,
	.fsync = boot_fsync,
	.fallocate = boot_fallocate,
	.release = boot_release,
	.setattr = boot_setattr,
	.mknod = boot_mknod,
	.unlink = boot_unlink,
	.rmdir = boot_rmdir,
	.rename = boot_rename,
	.statfs = boot_statfs,
	.forget = boot_forget,
};
