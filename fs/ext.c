// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * root/: the image's root file system through ext4/, as a kind of node.
 * An ext4 inode gets one rfs_inode, found again through a table by its
 * number (hard links share it). Reads are zero-copy where the file's
 * blocks are on disk (the reply splices from the image), zeros for holes.
 * New files belong to the owner of their directory when the image's owner
 * (or the host's root) makes them, so that a key copied into /home/pi/.ssh
 * is pi's and a unit copied into /etc/systemd/system is root's; else (and
 * with -o new_owner=caller) to their maker. A file whose last name goes while
 * it is open lives on until it is closed.
 */
#include "ext.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Nobody else writes root/ while mounted: the kernel may cache long. */
#define EXT_CACHE_TIMEOUT 86400.0
#define MAP_RUNS	  64

/* ---- the table of inodes by number (chained, grown by doubling) ---- */

static size_t bucket_of(const struct rfs *fs, uint64_t ino)
{
	return (size_t)((ino * 0x9e3779b97f4a7c15ull) >> 24) &
	       (fs->ext_map_size - 1);
}

static struct rfs_inode *map_find(struct rfs *fs, uint64_t ino)
{
	if (!fs->ext_map_size)
		return NULL;
	for (struct rfs_inode *in = fs->ext_map[bucket_of(fs, ino)]; in;
	     in = in->ext_next)
		if (in->ext == ino)
			return in;
	return NULL;
}

static int map_grow(struct rfs *fs)
{
	size_t old_size = fs->ext_map_size,
	       size = old_size ? old_size * 2 : 256;
	struct rfs_inode **old = fs->ext_map;
	struct rfs_inode **fresh = calloc(size, sizeof(*fresh));

	if (!fresh)
		return -ENOMEM;
	fs->ext_map = fresh;
	fs->ext_map_size = size;
	for (size_t i = 0; i < old_size; i++) {
		for (struct rfs_inode *in = old[i], *next; in; in = next) {
			size_t b = bucket_of(fs, in->ext);

			next = in->ext_next;
			in->ext_next = fresh[b];
			fresh[b] = in;
		}
	}
	free(old);
	return 0;
}

static int map_add(struct rfs *fs, struct rfs_inode *inode)
{
	size_t b;

	if (fs->ext_map_used >= fs->ext_map_size && map_grow(fs))
		return -ENOMEM;
	b = bucket_of(fs, inode->ext);
	inode->ext_next = fs->ext_map[b];
	fs->ext_map[b] = inode;
	fs->ext_map_used++;
	return 0;
}

static void map_remove(struct rfs *fs, struct rfs_inode *inode)
{
	struct rfs_inode **pp;

	if (!fs->ext_map_size)
		return;
	for (pp = &fs->ext_map[bucket_of(fs, inode->ext)]; *pp;
	     pp = &(*pp)->ext_next) {
		if (*pp == inode) {
			*pp = inode->ext_next;
			fs->ext_map_used--;
			return;
		}
	}
}

void rfs_ext_forget_all(struct rfs *fs)
{
	free(fs->ext_map);
	fs->ext_map = NULL;
	fs->ext_map_size = fs->ext_map_used = 0;
}

/* ---- inodes ---- */

static int ino_of(struct rfs *fs, const struct rfs_inode *inode, uint64_t *ino)
{
	if (!fs->ext || inode->gen != fs->ext_gen)
		return -ESTALE;
	*ino = inode->ext;
	return 0;
}

int rfs_ext_entry(struct rfs *fs, uint64_t ino, struct fuse_entry_param *e)
{
	struct rfs_inode *inode = map_find(fs, ino);
	struct stat st;
	int ret = ext4_getattr(fs->ext, ino, &st);

	if (ret)
		return ret;
	if (!inode) {
		inode = rfs_inode_new(fs, &rfs_ext_kind);
		if (!inode)
			return -ENOMEM;
		inode->ext = ino;
		inode->gen = fs->ext_gen;
		if (map_add(fs, inode)) {
			inode->nlookup = 1;
			rfs_forget(fs, inode, 1);
			return -ENOMEM;
		}
	}
	rfs_inode_entry(fs, inode, &st, e);
	return 0;
}

/* Free an inode with no names left, once nothing holds it open. */
static void release_orphan(struct rfs *fs, struct rfs_inode *inode)
{
	if (inode->orphan && inode->opens == 0 && inode->gen == fs->ext_gen &&
	    fs->ext && ext4_free(fs->ext, inode->ext) == 0)
		inode->orphan = false;
}

/* A name that went: its inode is freed now, or at its last close. */
static void orphaned(struct rfs *fs, uint64_t ino)
{
	struct rfs_inode *inode = map_find(fs, ino);

	if (inode && inode->opens > 0)
		inode->orphan = true;
	else
		ext4_free(fs->ext, ino);
}

static int ext_getattr(struct rfs *fs, struct rfs_inode *inode, struct stat *st)
{
	uint64_t ino;
	int ret = ino_of(fs, inode, &ino);

	return ret ? ret : ext4_getattr(fs->ext, ino, st);
}

static int ext_lookup(struct rfs *fs, struct rfs_inode *dir, const char *name,
		      struct fuse_entry_param *e)
{
	uint64_t d, ino;
	int ret = ino_of(fs, dir, &d);

	if (!ret)
		ret = ext4_lookup(fs->ext, d, name, &ino);
	return ret ? ret : rfs_ext_entry(fs, ino, e);
}

struct listing {
	struct rfs *fs;
	struct rfs_dirbuf *db;
	int ret;
};

static int list_entry(void *ctx, const char *name, size_t len, uint64_t ino,
		      unsigned type, uint64_t next)
{
	struct listing *l = ctx;
	struct fuse_entry_param e;
	char copy[256];
	bool dot = len <= 2 && name[0] == '.' && (len == 1 || name[1] == '.');

	snprintf(copy, sizeof(copy), "%.*s", (int)len, name);
	memset(&e, 0, sizeof(e));
	if (l->db->plus && !dot) {
		l->ret = rfs_ext_entry(l->fs, ino, &e);
		if (l->ret)
			return 1;
	} else {
		e.attr.st_ino = ino;
		e.attr.st_mode = (mode_t)(type << 12);
	}
	if (rfs_dirbuf_add(l->db, copy, &e, (off_t)next)) {
		if (l->db->plus && !dot)
			rfs_forget(l->fs, rfs_inode(l->fs, e.ino), 1);
		return 1;
	}
	return 0;
}

static int ext_readdir(struct rfs *fs, struct rfs_inode *dir,
		       struct rfs_dirbuf *db, off_t off)
{
	struct listing l = {fs, db, 0};
	uint64_t d;
	int ret = ino_of(fs, dir, &d);

	if (!ret)
		ret = ext4_readdir(fs->ext, d, (uint64_t)off, list_entry, &l);
	return ret ? ret : l.ret;
}

static int ext_open(struct rfs *fs, struct rfs_inode *inode, int flags,
		    struct rfs_file **filep)
{
	struct rfs_file *file;
	struct stat st;
	uint64_t ino;
	int ret = ino_of(fs, inode, &ino);

	if (!ret)
		ret = ext4_getattr(fs->ext, ino, &st);
	if (ret)
		return ret;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((flags & O_ACCMODE) != O_RDONLY && ext4_is_read_only(fs->ext))
		return -EROFS;
	if ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY) {
		struct ext4_setattr sa = {.what = EXT4_SET_SIZE, .size = 0};

		ret = ext4_setattr(fs->ext, ino, &sa);
		if (ret)
			return ret;
	}
	file = calloc(1, sizeof(*file));
	if (!file)
		return -ENOMEM;
	file->kind = &rfs_ext_kind;
	file->inode = inode;
	file->gen = fs->ext_gen;
	*filep = file;
	return 0;
}

static void ext_release(struct rfs *fs, struct rfs_file *file)
{
	release_orphan(fs, file->inode);
	free(file);
}

/*
 * Zeros for holes, long enough for the largest read the kernel sends. Not
 * const, so that it lies in .bss (never written) rather than taking 1 MiB
 * of the binary's file between its code and its other constants.
 */
static char zeros[1 << 20];

/*
 * A file read sequentially (its first read included): ask the host to
 * read the next EXT_AHEAD bytes of the file from the image, extent by
 * extent, as boot/ does; the host's own readahead on the image file cannot
 * know where the file's next extent is, and each FUSE read (256 KiB at
 * most) would wait for the disk.
 */
#define EXT_AHEAD (4u << 20)

static void ext_read_ahead(struct rfs *fs, struct rfs_file *file, uint64_t ino,
			   uint64_t end)
{
	uint64_t from = file->ahead_until > end ? file->ahead_until : end;
	uint64_t until = end + EXT_AHEAD;
	struct ext4_run runs[MAP_RUNS];

	if (file->ahead_until >= end + EXT_AHEAD / 2)
		return;
	while (from < until) {
		int n = ext4_map(fs->ext, ino, from, (size_t)(until - from),
				 runs, MAP_RUNS);
		uint64_t got = 0;

		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			if (!runs[i].zeros)
				(void)posix_fadvise(fs->ext_win.fd,
						    (off_t)runs[i].pos,
						    (off_t)runs[i].len,
						    POSIX_FADV_WILLNEED);
			got += runs[i].len;
		}
		if (got == 0)
			break;
		from += got;
	}
	file->ahead_until = until;
}

static int ext_read(struct rfs *fs, struct rfs_file *file, size_t size,
		    off_t off, struct fuse_bufvec **bufvp)
{
	struct ext4_run runs[MAP_RUNS];
	struct fuse_bufvec *bv;
	uint64_t ino;
	int n, ret = ino_of(fs, file->inode, &ino);

	if (ret)
		return ret;
	if (size > sizeof(zeros))
		size = sizeof(zeros);
	n = ext4_map(fs->ext, ino, (uint64_t)off, size, runs, MAP_RUNS);
	if (n == -ENOTSUP) {
		/* Inline data: the file lives in its inode; copy it. */
		char *buf = malloc(size ? size : 1);
		ssize_t got =
			buf ? ext4_read(fs->ext, ino, buf, size, (uint64_t)off)
			    : -ENOMEM;

		ret = got < 0 ? (int)got
			      : rfs_bufvec_mem(buf, (size_t)got, bufvp);
		free(buf);
		return ret;
	}
	if (n < 0)
		return n;
	bv = malloc(sizeof(*bv) + (size_t)(n ? n : 1) * sizeof(bv->buf[0]));
	if (!bv)
		return -ENOMEM;
	*bv = (struct fuse_bufvec)FUSE_BUFVEC_INIT(0);
	bv->count = (size_t)n;
	for (int i = 0; i < n; i++) {
		if (runs[i].zeros)
			bv->buf[i] = (struct fuse_buf){.size = runs[i].len,
						       .mem = (void *)zeros};
		else
			bv->buf[i] = (struct fuse_buf){
				.size = runs[i].len,
				.flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK |
					 FUSE_BUF_FD_RETRY,
				.fd = fs->ext_win.fd,
				.pos = (off_t)runs[i].pos,
			};
	}
	if ((uint64_t)off == file->next_off) {
		uint64_t done = 0;

		for (int i = 0; i < n; i++)
			done += runs[i].len;
		ext_read_ahead(fs, file, ino, (uint64_t)off + done);
	}
	file->next_off = (uint64_t)off;
	for (int i = 0; i < n; i++)
		file->next_off += runs[i].len;
	*bufvp = bv;
	return 0;
}

static ssize_t ext_write(struct rfs *fs, struct rfs_file *file, const char *buf,
			 size_t size, off_t off)
{
	uint64_t ino;
	int ret = ino_of(fs, file->inode, &ino);

	if (ret)
		return ret;
	return off < 0 ? -EINVAL
		       : ext4_write(fs->ext, ino, buf, size, (uint64_t)off);
}

static int ext_fsync(struct rfs *fs, struct rfs_inode *inode,
		     struct rfs_file *file, int datasync)
{
	(void)inode;
	(void)file;
	(void)datasync;
	return fs->ext ? ext4_sync(fs->ext) : 0;
}

static int ext_setattr(struct rfs *fs, struct rfs_inode *inode,
		       struct rfs_file *file, const struct stat *attr,
		       int to_set)
{
	struct ext4_setattr sa = {0};
	uint64_t ino;
	int ret = ino_of(fs, inode, &ino);

	(void)file;
	if (ret)
		return ret;
	if (to_set & FUSE_SET_ATTR_MODE) {
		sa.what |= EXT4_SET_MODE;
		sa.mode = attr->st_mode;
	}
	if (to_set & FUSE_SET_ATTR_UID) {
		sa.what |= EXT4_SET_UID;
		sa.uid = attr->st_uid;
	}
	if (to_set & FUSE_SET_ATTR_GID) {
		sa.what |= EXT4_SET_GID;
		sa.gid = attr->st_gid;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		sa.what |= EXT4_SET_SIZE;
		sa.size = (uint64_t)attr->st_size;
	}
	if (to_set & FUSE_SET_ATTR_ATIME) {
		sa.what |= EXT4_SET_ATIME;
		sa.atime = attr->st_atim;
		if (to_set & FUSE_SET_ATTR_ATIME_NOW)
			clock_gettime(CLOCK_REALTIME, &sa.atime);
	}
	if (to_set & FUSE_SET_ATTR_MTIME) {
		sa.what |= EXT4_SET_MTIME;
		sa.mtime = attr->st_mtim;
		if (to_set & FUSE_SET_ATTR_MTIME_NOW)
			clock_gettime(CLOCK_REALTIME, &sa.mtime);
	}
	return ext4_setattr(fs->ext, ino, &sa);
}

/* Who owns a new node: see the top of this file. */
static int owner_of_new(struct rfs *fs, uint64_t dir, struct ext4_new *n)
{
	struct stat st;
	int ret = ext4_getattr(fs->ext, dir, &st);

	if (ret)
		return ret;
	if (rfs_superuser(fs, &rfs_ext_kind) && !fs->opt.new_owner_caller) {
		n->uid = st.st_uid;
		n->gid = st.st_gid;
	} else {
		n->uid = fs->caller.uid;
		n->gid = (st.st_mode & S_ISGID) ? st.st_gid : fs->caller.gid;
	}
	/* A directory in a setgid directory is setgid too. */
	if (S_ISDIR(n->mode) && (st.st_mode & S_ISGID))
		n->mode |= S_ISGID;
	return 0;
}

static int make(struct rfs *fs, struct rfs_inode *dir, const char *name,
		struct ext4_new *n, struct fuse_entry_param *e)
{
	uint64_t d, ino;
	int ret = ino_of(fs, dir, &d);

	if (!ret)
		ret = owner_of_new(fs, d, n);
	if (!ret)
		ret = ext4_create(fs->ext, d, name, n, &ino);
	return ret ? ret : rfs_ext_entry(fs, ino, e);
}

static int ext_mknod(struct rfs *fs, struct rfs_inode *dir, const char *name,
		     mode_t mode, dev_t rdev, struct fuse_entry_param *e)
{
	struct ext4_new n = {
		.mode = mode, .rdev = rdev, .umask = fs->caller.umask};

	if ((mode & S_IFMT) == 0)
		n.mode |= S_IFREG;
	return make(fs, dir, name, &n, e);
}

static int ext_symlink(struct rfs *fs, struct rfs_inode *dir, const char *name,
		       const char *target, struct fuse_entry_param *e)
{
	struct ext4_new n = {.mode = S_IFLNK | 0777, .target = target};

	return make(fs, dir, name, &n, e);
}

static int ext_link(struct rfs *fs, struct rfs_inode *inode,
		    struct rfs_inode *newdir, const char *newname,
		    struct fuse_entry_param *e)
{
	uint64_t ino, d;
	int ret = ino_of(fs, inode, &ino);

	if (!ret)
		ret = ino_of(fs, newdir, &d);
	if (!ret)
		ret = ext4_link(fs->ext, ino, d, newname);
	return ret ? ret : rfs_ext_entry(fs, ino, e);
}

/* A target is at most a block: 64 KiB at the most. */
#define TARGET_MAX (64 * 1024)

static int ext_readlink(struct rfs *fs, struct rfs_inode *inode, char **target)
{
	uint64_t ino;
	ssize_t n;
	int ret = ino_of(fs, inode, &ino);

	if (ret)
		return ret;
	*target = malloc(TARGET_MAX + 1);
	if (!*target)
		return -ENOMEM;
	n = ext4_readlink(fs->ext, ino, *target, TARGET_MAX + 1);
	if (n < 0) {
		free(*target);
		*target = NULL;
		return (int)n;
	}
	return 0;
}

static int ext_unlink(struct rfs *fs, struct rfs_inode *dir, const char *name)
{
	uint64_t d, ino;
	bool orphan;
	int ret = ino_of(fs, dir, &d);

	if (!ret)
		ret = ext4_unlink(fs->ext, d, name, &ino, &orphan);
	if (!ret && orphan)
		orphaned(fs, ino);
	return ret;
}

static int ext_rmdir(struct rfs *fs, struct rfs_inode *dir, const char *name)
{
	uint64_t d;
	int ret = ino_of(fs, dir, &d);

	return ret ? ret : ext4_rmdir(fs->ext, d, name);
}

static int ext_rename(struct rfs *fs, struct rfs_inode *dir, const char *name,
		      struct rfs_inode *newdir, const char *newname,
		      unsigned flags)
{
	uint64_t d, nd, orphan = 0;
	unsigned how = (flags & RENAME_NOREPLACE ? EXT4_RENAME_NOREPLACE : 0) |
		       (flags & RENAME_EXCHANGE ? EXT4_RENAME_EXCHANGE : 0);
	int ret;

	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	if ((ret = ino_of(fs, dir, &d)) || (ret = ino_of(fs, newdir, &nd)))
		return ret;
	ret = ext4_rename(fs->ext, d, name, nd, newname, how, &orphan);
	if (!ret && orphan)
		orphaned(fs, orphan);
	return ret;
}

static int ext_statfs(struct rfs *fs, struct rfs_inode *inode,
		      struct statvfs *st)
{
	(void)inode;
	return fs->ext ? ext4_statfs(fs->ext, st) : -ESTALE;
}

static ssize_t ext_getxattr(struct rfs *fs, struct rfs_inode *inode,
			    const char *name, void *buf, size_t size)
{
	uint64_t ino;
	int ret = ino_of(fs, inode, &ino);

	return ret ? ret : ext4_getxattr(fs->ext, ino, name, buf, size);
}

static ssize_t ext_listxattr(struct rfs *fs, struct rfs_inode *inode, char *buf,
			     size_t size)
{
	uint64_t ino;
	int ret = ino_of(fs, inode, &ino);

	return ret ? ret : ext4_listxattr(fs->ext, ino, buf, size);
}

static int ext_setxattr(struct rfs *fs, struct rfs_inode *inode,
			const char *name, const void *value, size_t size,
			int flags)
{
	uint64_t ino;
	int ret = ino_of(fs, inode, &ino);

	if (!ret)
		ret = ext4_setxattr(fs->ext, ino, name, value, size, flags);
	/* An ACL may have changed the mode the kernel keeps. */
	if (!ret && strncmp(name, "system.posix_acl_", 17) == 0)
		rfs_notify_queue(fs, 0, rfs_ino(fs, inode), NULL);
	return ret;
}

static int ext_removexattr(struct rfs *fs, struct rfs_inode *inode,
			   const char *name)
{
	uint64_t ino;
	int ret = ino_of(fs, inode, &ino);

	return ret ? ret : ext4_removexattr(fs->ext, ino, name);
}

static int ext_fallocate(struct rfs *fs, struct rfs_file *file, int mode,
			 off_t off, off_t len)
{
	uint64_t ino;
	int ret = ino_of(fs, file->inode, &ino);

	if (ret)
		return ret;
	if (off < 0 || len <= 0)
		return -EINVAL;
	return ext4_fallocate(fs->ext, ino, mode, (uint64_t)off, (uint64_t)len);
}

static void ext_forget(struct rfs *fs, struct rfs_inode *inode)
{
	if (inode->gen != fs->ext_gen)
		return; /* of an earlier mount of the root: gone with it */
	release_orphan(fs, inode);
	map_remove(fs, inode);
}

const struct rfs_kind rfs_ext_kind = {
	.name = "root",
	.guest_owned = true,
	.guest_ids = true,
	.timeout = EXT_CACHE_TIMEOUT,
	.getattr = ext_getattr,
	.lookup = ext_lookup,
	.readdir = ext_readdir,
	.open = ext_open,
	.read = ext_read,
	.write = ext_write,
	.fsync = ext_fsync,
	.release = ext_release,
	.setattr = ext_setattr,
	.mknod = ext_mknod,
	.unlink = ext_unlink,
	.rmdir = ext_rmdir,
	.rename = ext_rename,
	.link = ext_link,
	.symlink = ext_symlink,
	.readlink = ext_readlink,
	.statfs = ext_statfs,
	.getxattr = ext_getxattr,
	.listxattr = ext_listxattr,
	.setxattr = ext_setxattr,
	.removexattr = ext_removexattr,
	.fallocate = ext_fallocate,
	.forget = ext_forget,
};
