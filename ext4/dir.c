// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Names: lookups, listings, and every change of the tree (create, link,
 * unlink, rmdir, rename with its NOREPLACE and EXCHANGE forms). Without a
 * journal, each change is ordered so that a crash in the middle leaves at
 * worst a link count e2fsck corrects or an inode it reattaches: a new
 * name is written before an old one goes, a replaced name is switched in
 * place (one directory block write), an inode is freed only after its
 * last name is gone.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The kernel's limit on hard links (EXT4_LINK_MAX). */
#define LINK_MAX_EXT4 65000

static int check_name(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || strchr(name, '/'))
		return -EINVAL;
	return len > EXT2_NAME_LEN ? -ENAMETOOLONG : 0;
}

/* How to iterate @dir: an inline-data directory needs saying so. */
static int iterate_flags(struct ext4_vol *vol, uint64_t dir, int flags)
{
	struct ext2_inode_large d;

	if (ext4_read_inode(vol, (ext2_ino_t)dir, &d) == 0 &&
	    (d.i_flags & EXT4_INLINE_DATA_FL))
		flags |= DIRENT_FLAG_INCLUDE_INLINE_DATA;
	return flags;
}

/* "." and "..", as the entry type or (inline data) by name. */
static bool is_dot(int entry, const struct ext2_dir_entry *dirent)
{
	int len = ext2fs_dirent_name_len(dirent);

	return entry == DIRENT_DOT_FILE || entry == DIRENT_DOT_DOT_FILE ||
	       (len == 1 && dirent->name[0] == '.') ||
	       (len == 2 && dirent->name[0] == '.' && dirent->name[1] == '.');
}

static int read_dir_inode(struct ext4_vol *vol, uint64_t dir,
			  struct ext2_inode_large *inode)
{
	int ret = ext4_read_inode(vol, (ext2_ino_t)dir, inode);

	if (!ret && !LINUX_S_ISDIR(inode->i_mode))
		ret = -ENOTDIR;
	return ret;
}

int ext4_lookup(struct ext4_vol *vol, uint64_t dir, const char *name,
		uint64_t *ino)
{
	struct ext2_inode_large d;
	ext2_ino_t found;
	errcode_t e;
	int ret = read_dir_inode(vol, dir, &d);

	if (ret)
		return ret;
	if (strlen(name) > EXT2_NAME_LEN)
		return -ENAMETOOLONG;
	e = ext2fs_lookup(vol->fs, (ext2_ino_t)dir, name, (int)strlen(name),
			  NULL, &found);
	if (e == EXT2_ET_FILE_NOT_FOUND)
		return -ENOENT;
	if (e)
		return ext4_errno(vol, e, "looking up a name");
	*ino = found;
	return 0;
}

int ext4_resolve(struct ext4_vol *vol, const char *path, uint64_t *ino)
{
	ext2_ino_t found;
	errcode_t e = ext2fs_namei_follow(vol->fs, EXT2_ROOT_INO, EXT2_ROOT_INO,
					  path, &found);

	if (e == EXT2_ET_FILE_NOT_FOUND || e == EXT2_ET_NO_DIRECTORY)
		return -ENOENT;
	if (e)
		return ext4_errno(vol, e, "following a path");
	*ino = found;
	return 0;
}

int ext4_probe_path(struct ext4_vol *vol, const char *path)
{
	ext2_ino_t found;
	errcode_t e = ext2fs_namei_follow(vol->fs, EXT2_ROOT_INO, EXT2_ROOT_INO,
					  path, &found);

	if (e == 0)
		return 0;
	if (e == EXT2_ET_FILE_NOT_FOUND || e == EXT2_ET_NO_DIRECTORY)
		return -ENOENT;
	return -EIO;
}

static unsigned dt_of(int ft)
{
	switch (ft) {
	case EXT2_FT_REG_FILE:
		return DT_REG;
	case EXT2_FT_DIR:
		return DT_DIR;
	case EXT2_FT_CHRDEV:
		return DT_CHR;
	case EXT2_FT_BLKDEV:
		return DT_BLK;
	case EXT2_FT_FIFO:
		return DT_FIFO;
	case EXT2_FT_SOCK:
		return DT_SOCK;
	case EXT2_FT_SYMLINK:
		return DT_LNK;
	default:
		return DT_UNKNOWN;
	}
}

static int ft_of(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return EXT2_FT_REG_FILE;
	case S_IFDIR:
		return EXT2_FT_DIR;
	case S_IFCHR:
		return EXT2_FT_CHRDEV;
	case S_IFBLK:
		return EXT2_FT_BLKDEV;
	case S_IFIFO:
		return EXT2_FT_FIFO;
	case S_IFSOCK:
		return EXT2_FT_SOCK;
	case S_IFLNK:
		return EXT2_FT_SYMLINK;
	default:
		return EXT2_FT_UNKNOWN;
	}
}

struct listing {
	ext4_dirent_fn fn;
	void *ctx;
	uint64_t from;
	uint64_t block; /* the directory block being read */
	bool started;
};

/*
 * Every entry, empty ones too, so that each block's first entry (at
 * offset 0) is seen: a position is block * block size + offset.
 */
static int list_one(ext2_ino_t dir, int entry, struct ext2_dir_entry *dirent,
		    int offset, int blocksize, char *buf, void *priv)
{
	struct listing *l = priv;
	uint64_t pos;
	size_t len;

	(void)dir;
	(void)entry;
	(void)buf;
	if (offset == 0 && l->started)
		l->block++;
	l->started = true;
	pos = l->block * (uint64_t)blocksize + (uint64_t)offset;
	len = (size_t)ext2fs_dirent_name_len(dirent);
	if (dirent->inode == 0 || pos < l->from)
		return 0;
	/* A damaged name no path can reach (FUSE would fail the listing). */
	if (len == 0 || memchr(dirent->name, '/', len) ||
	    memchr(dirent->name, '\0', len))
		return 0;
	if (l->fn(l->ctx, dirent->name, len, dirent->inode,
		  dt_of(ext2fs_dirent_file_type(dirent)), pos + 1))
		return DIRENT_ABORT;
	return 0;
}

int ext4_readdir(struct ext4_vol *vol, uint64_t dir, uint64_t from,
		 ext4_dirent_fn fn, void *ctx)
{
	struct ext2_inode_large d;
	struct listing l = {.fn = fn, .ctx = ctx, .from = from};
	errcode_t e;
	int ret = read_dir_inode(vol, dir, &d);

	if (ret)
		return ret;
	e = ext2fs_dir_iterate2(
		vol->fs, (ext2_ino_t)dir,
		iterate_flags(vol, dir, DIRENT_FLAG_INCLUDE_EMPTY), NULL,
		list_one, &l);
	return ext4_errno(vol, e, "reading a directory");
}

/* Add @name to @dir, growing the directory when it is full. */
static int add_entry(struct ext4_vol *vol, uint64_t dir, const char *name,
		     uint64_t ino, int ft)
{
	errcode_t e = ext2fs_link(vol->fs, (ext2_ino_t)dir, name,
				  (ext2_ino_t)ino, ft);

	if (e == EXT2_ET_DIR_NO_SPACE) {
		e = ext2fs_expand_dir(vol->fs, (ext2_ino_t)dir);
		if (!e)
			e = ext2fs_link(vol->fs, (ext2_ino_t)dir, name,
					(ext2_ino_t)ino, ft);
	}
	return ext4_errno(vol, e, "adding a directory entry");
}

/* An inode's link count moved by @links, its ctime (and mtime) now. */
static int bump(struct ext4_vol *vol, uint64_t ino, int links, bool mtime)
{
	struct ext2_inode_large inode;
	int ret = ext4_read_inode(vol, (ext2_ino_t)ino, &inode);

	if (ret)
		return ret;
	inode.i_links_count = (uint16_t)(inode.i_links_count + links);
	ext4_touch(vol, &inode, mtime);
	return ext4_write_inode(vol, (ext2_ino_t)ino, &inode);
}

/* A directory whose entries changed: mtime and ctime now. */
static int touch_dir(struct ext4_vol *vol, uint64_t dir, int links)
{
	return bump(vol, dir, links, true);
}

/* The new inode's own fields: mode, owner, times with nanoseconds. */
static int finish_inode(struct ext4_vol *vol, uint64_t dir, uint64_t ino,
			const struct ext4_new *n)
{
	mode_t mode = n->mode;
	struct ext2_inode_large inode;
	struct timespec now;
	bool x;
	int ret = S_ISLNK(mode)
			  ? 0
			  : ext4_acl_inherit(vol, dir, ino, &mode, n->umask);

	if (!ret)
		ret = ext4_read_inode(vol, (ext2_ino_t)ino, &inode);
	if (ret)
		return ret;
	x = ext4_has_extra(vol, &inode);
	clock_gettime(CLOCK_REALTIME, &now);
	inode.i_mode = (uint16_t)((inode.i_mode & LINUX_S_IFMT) |
				  (S_ISLNK(mode) ? 0777 : mode & 07777));
	inode.i_uid = (uint16_t)n->uid;
	ext2fs_set_i_uid_high(inode, n->uid >> 16);
	inode.i_gid = (uint16_t)n->gid;
	ext2fs_set_i_gid_high(inode, n->gid >> 16);
	ext4_time_set(&inode.i_atime, &inode.i_atime_extra, &now, x);
	ext4_time_set(&inode.i_mtime, &inode.i_mtime_extra, &now, x);
	ext4_time_set(&inode.i_ctime, &inode.i_ctime_extra, &now, x);
	if (x)
		ext4_time_set(&inode.i_crtime, &inode.i_crtime_extra, &now, x);
	return ext4_write_inode(vol, (ext2_ino_t)ino, &inode);
}

/* A file, fifo, socket or device: the inode, then its name. */
static int make_node(struct ext4_vol *vol, ext2_ino_t ino,
		     const struct ext4_new *n)
{
	struct ext2_inode_large inode;
	errcode_t e;

	memset(&inode, 0, sizeof(inode));
	inode.i_mode = (uint16_t)n->mode;
	inode.i_links_count = 1;
	if (S_ISCHR(n->mode) || S_ISBLK(n->mode)) {
		ext4_set_device(&inode, n->rdev);
	} else if (S_ISREG(n->mode) &&
		   ext2fs_has_feature_extents(vol->fs->super)) {
		ext2_extent_handle_t h;

		/* An empty extent tree in i_block, as the kernel makes. */
		e = ext2fs_extent_open2(vol->fs, ino,
					(struct ext2_inode *)&inode, &h);
		if (e)
			return ext4_errno(vol, e, "starting an extent tree");
		ext2fs_extent_free(h);
	}
	e = ext2fs_write_new_inode(vol->fs, ino, (struct ext2_inode *)&inode);
	if (e)
		return ext4_errno(vol, e, "writing a new inode");
	ext2fs_inode_alloc_stats2(vol->fs, ino, +1, 0);
	return 0;
}

/* Undo a new inode whose name could not be added. */
static void unmake(struct ext4_vol *vol, ext2_ino_t ino, bool is_dir)
{
	struct ext2_inode_large inode;

	if (ext4_read_inode(vol, ino, &inode))
		return;
	if (ext2fs_inode_has_valid_blocks2(vol->fs,
					   (struct ext2_inode *)&inode))
		ext2fs_punch(vol->fs, ino, (struct ext2_inode *)&inode, NULL, 0,
			     ~0ULL);
	inode.i_links_count = 0;
	inode.i_dtime = (uint32_t)time(NULL);
	ext4_write_inode(vol, ino, &inode);
	ext2fs_inode_alloc_stats2(vol->fs, ino, -1, is_dir);
}

int ext4_create(struct ext4_vol *vol, uint64_t dir, const char *name,
		const struct ext4_new *n, uint64_t *ino)
{
	struct ext2_inode_large d;
	ext2_ino_t new_ino;
	uint64_t existing;
	bool is_dir = S_ISDIR(n->mode);
	errcode_t e;
	int ret;

	if ((ret = check_name(name)) || (ret = ext4_begin_write(vol)) ||
	    (ret = read_dir_inode(vol, dir, &d)))
		return ret;
	ret = ext4_lookup(vol, dir, name, &existing);
	if (ret != -ENOENT)
		return ret ? ret : -EEXIST;
	if (S_ISLNK(n->mode) && strlen(n->target) >= vol->fs->blocksize)
		return -ENAMETOOLONG;
	e = ext2fs_new_inode(vol->fs, (ext2_ino_t)dir, (int)n->mode, NULL,
			     &new_ino);
	if (e)
		return ext4_errno(vol, e, "allocating an inode");
	/* The inode first; its name last, so that a crash leaves no name
	   pointing at nothing. */
	if (is_dir)
		e = ext2fs_mkdir(vol->fs, (ext2_ino_t)dir, new_ino, NULL);
	else if (S_ISLNK(n->mode))
		e = ext2fs_symlink(vol->fs, (ext2_ino_t)dir, new_ino, NULL,
				   (char *)n->target);
	ret = e ? ext4_errno(vol, e, "making an inode")
	      : is_dir || S_ISLNK(n->mode) ? 0
					   : make_node(vol, new_ino, n);
	if (!ret)
		ret = finish_inode(vol, dir, new_ino, n);
	if (!ret)
		ret = add_entry(vol, dir, name, new_ino, ft_of(n->mode));
	if (ret) {
		unmake(vol, new_ino, is_dir);
		if (is_dir)
			touch_dir(vol, dir, -1); /* ext2fs_mkdir counted it */
		return ret;
	}
	*ino = new_ino;
	/* ext2fs_mkdir counted the new directory's ".." in the parent. */
	return touch_dir(vol, dir, 0);
}

int ext4_link(struct ext4_vol *vol, uint64_t ino, uint64_t dir,
	      const char *name)
{
	struct ext2_inode_large inode;
	uint64_t existing;
	int ret;

	if ((ret = check_name(name)) || (ret = ext4_begin_write(vol)) ||
	    (ret = ext4_read_inode(vol, (ext2_ino_t)ino, &inode)))
		return ret;
	if (LINUX_S_ISDIR(inode.i_mode))
		return -EPERM;
	if (inode.i_links_count >= LINK_MAX_EXT4)
		return -EMLINK;
	ret = ext4_lookup(vol, dir, name, &existing);
	if (ret != -ENOENT)
		return ret ? ret : -EEXIST;
	/* The count first: a crash between leaves one too many, not too few. */
	inode.i_links_count++;
	ext4_touch(vol, &inode, false);
	ret = ext4_write_inode(vol, (ext2_ino_t)ino, &inode);
	if (!ret)
		ret = add_entry(vol, dir, name, ino, ft_of(inode.i_mode));
	if (ret) {
		inode.i_links_count--;
		ext4_write_inode(vol, (ext2_ino_t)ino, &inode);
		return ret;
	}
	return touch_dir(vol, dir, 0);
}

static int remove_entry(struct ext4_vol *vol, uint64_t dir, const char *name,
			uint64_t ino)
{
	errcode_t e = ext2fs_unlink(vol->fs, (ext2_ino_t)dir, name,
				    (ext2_ino_t)ino, 0);

	return ext4_errno(vol, e, "removing a directory entry");
}

/* One link fewer; @return whether none are left. */
static int drop_link(struct ext4_vol *vol, uint64_t ino, bool *orphan)
{
	struct ext2_inode_large inode;
	int ret = ext4_read_inode(vol, (ext2_ino_t)ino, &inode);

	if (ret)
		return ret;
	if (inode.i_links_count > 0)
		inode.i_links_count--;
	ext4_touch(vol, &inode, false);
	*orphan = inode.i_links_count == 0;
	return ext4_write_inode(vol, (ext2_ino_t)ino, &inode);
}

int ext4_unlink(struct ext4_vol *vol, uint64_t dir, const char *name,
		uint64_t *ino, bool *orphan)
{
	struct ext2_inode_large inode;
	int ret;

	*orphan = false;
	if ((ret = ext4_begin_write(vol)) ||
	    (ret = ext4_lookup(vol, dir, name, ino)) ||
	    (ret = ext4_read_inode(vol, (ext2_ino_t)*ino, &inode)))
		return ret;
	if (LINUX_S_ISDIR(inode.i_mode))
		return -EISDIR;
	ret = remove_entry(vol, dir, name, *ino);
	if (!ret)
		ret = drop_link(vol, *ino, orphan);
	if (!ret)
		ret = touch_dir(vol, dir, 0);
	return ret;
}

int ext4_free(struct ext4_vol *vol, uint64_t ino)
{
	struct ext2_inode_large inode;
	bool is_dir;
	errcode_t e;
	int ret;

	if ((ret = ext4_begin_write(vol)) ||
	    (ret = ext4_read_inode(vol, (ext2_ino_t)ino, &inode)))
		return ret;
	if (inode.i_links_count > 0 || inode.i_dtime)
		return 0; /* linked again, or freed already */
	is_dir = LINUX_S_ISDIR(inode.i_mode);
	if (ext2fs_inode_has_valid_blocks2(vol->fs,
					   (struct ext2_inode *)&inode)) {
		e = ext2fs_punch(vol->fs, (ext2_ino_t)ino,
				 (struct ext2_inode *)&inode, NULL, 0, ~0ULL);
		if (e)
			return ext4_errno(vol, e, "freeing a file's blocks");
	}
	if (ext2fs_file_acl_block(vol->fs, (struct ext2_inode *)&inode)) {
		e = ext2fs_free_ext_attr(vol->fs, (ext2_ino_t)ino, &inode);
		if (e)
			return ext4_errno(vol, e,
					  "freeing extended attributes");
	}
	inode.i_dtime = (uint32_t)time(NULL);
	ret = ext4_write_inode(vol, (ext2_ino_t)ino, &inode);
	if (!ret)
		ext2fs_inode_alloc_stats2(vol->fs, (ext2_ino_t)ino, -1, is_dir);
	return ret;
}

static int count_entry(ext2_ino_t dir, int entry, struct ext2_dir_entry *dirent,
		       int offset, int blocksize, char *buf, void *priv)
{
	(void)dir;
	(void)offset;
	(void)blocksize;
	(void)buf;
	if (is_dot(entry, dirent) || dirent->inode == 0)
		return 0;
	*(bool *)priv = false;
	return DIRENT_ABORT;
}

static int check_empty(struct ext4_vol *vol, uint64_t dir)
{
	bool empty = true;
	errcode_t e = ext2fs_dir_iterate2(vol->fs, (ext2_ino_t)dir,
					  iterate_flags(vol, dir, 0), NULL,
					  count_entry, &empty);

	if (e)
		return ext4_errno(vol, e, "reading a directory");
	return empty ? 0 : -ENOTEMPTY;
}

/* A directory whose name is gone: both its links, then the inode. */
static int drop_dir(struct ext4_vol *vol, uint64_t ino)
{
	struct ext2_inode_large inode;
	int ret = ext4_read_inode(vol, (ext2_ino_t)ino, &inode);

	if (ret)
		return ret;
	inode.i_links_count = 0;
	ext4_touch(vol, &inode, false);
	ret = ext4_write_inode(vol, (ext2_ino_t)ino, &inode);
	return ret ? ret : ext4_free(vol, ino);
}

int ext4_rmdir(struct ext4_vol *vol, uint64_t dir, const char *name)
{
	struct ext2_inode_large inode;
	uint64_t ino;
	int ret;

	if (strcmp(name, ".") == 0)
		return -EINVAL;
	if (strcmp(name, "..") == 0)
		return -ENOTEMPTY;
	if ((ret = ext4_begin_write(vol)) ||
	    (ret = ext4_lookup(vol, dir, name, &ino)) ||
	    (ret = ext4_read_inode(vol, (ext2_ino_t)ino, &inode)))
		return ret;
	if (!LINUX_S_ISDIR(inode.i_mode))
		return -ENOTDIR;
	if ((ret = check_empty(vol, ino)) ||
	    (ret = remove_entry(vol, dir, name, ino)))
		return ret;
	ret = touch_dir(vol, dir, -1); /* its ".." */
	return ret ? ret : drop_dir(vol, ino);
}

struct retarget {
	const char *name;
	size_t len;
	uint64_t ino;
	int ft;
	bool done;
};

static int retarget_one(ext2_ino_t dir, int entry,
			struct ext2_dir_entry *dirent, int offset,
			int blocksize, char *buf, void *priv)
{
	struct retarget *r = priv;

	(void)dir;
	(void)entry;
	(void)offset;
	(void)blocksize;
	(void)buf;
	if (dirent->inode == 0 ||
	    (size_t)ext2fs_dirent_name_len(dirent) != r->len ||
	    memcmp(dirent->name, r->name, r->len) != 0)
		return 0;
	dirent->inode = (uint32_t)r->ino;
	ext2fs_dirent_set_file_type(dirent, r->ft);
	r->done = true;
	return DIRENT_CHANGED | DIRENT_ABORT;
}

/* Point @name in @dir at @ino, in place: one block written. */
static int retarget(struct ext4_vol *vol, uint64_t dir, const char *name,
		    uint64_t ino, int ft)
{
	struct retarget r = {name, strlen(name), ino, ft, false};
	errcode_t e = ext2fs_dir_iterate2(vol->fs, (ext2_ino_t)dir,
					  iterate_flags(vol, dir, 0), NULL,
					  retarget_one, &r);

	if (e)
		return ext4_errno(vol, e, "changing a directory entry");
	return r.done ? 0 : -ENOENT;
}

/* Whether @dir is @ancestor or lies below it. */
static int is_within(struct ext4_vol *vol, uint64_t dir, uint64_t ancestor,
		     bool *within)
{
	for (int depth = 0; depth < 4096; depth++) {
		uint64_t parent;
		int ret;

		if (dir == ancestor) {
			*within = true;
			return 0;
		}
		if (dir == EXT4_ROOT_INO) {
			*within = false;
			return 0;
		}
		ret = ext4_lookup(vol, dir, "..", &parent);
		if (ret)
			return ret;
		dir = parent;
	}
	return -ELOOP;
}

struct rename_op {
	uint64_t dir, newdir;
	const char *name, *newname;
	uint64_t ino, target;
	struct ext2_inode_large inode, tinode;
	bool has_target;
};

/* A moved directory's ".." names its new parent; link counts follow. */
static int reparent(struct ext4_vol *vol, uint64_t ino, uint64_t from,
		    uint64_t to)
{
	int ret;

	if (from == to)
		return 0;
	ret = retarget(vol, ino, "..", to, EXT2_FT_DIR);
	if (!ret)
		ret = touch_dir(vol, to, +1);
	if (!ret)
		ret = touch_dir(vol, from, -1);
	return ret;
}

static int exchange(struct ext4_vol *vol, struct rename_op *op)
{
	bool dir_a = LINUX_S_ISDIR(op->inode.i_mode);
	bool dir_b = LINUX_S_ISDIR(op->tinode.i_mode);
	int ret = retarget(vol, op->newdir, op->newname, op->ino,
			   ft_of(op->inode.i_mode));

	if (!ret)
		ret = retarget(vol, op->dir, op->name, op->target,
			       ft_of(op->tinode.i_mode));
	if (!ret && dir_a)
		ret = reparent(vol, op->ino, op->dir, op->newdir);
	if (!ret && dir_b)
		ret = reparent(vol, op->target, op->newdir, op->dir);
	if (!ret)
		ret = touch_dir(vol, op->dir, 0);
	if (!ret && op->newdir != op->dir)
		ret = touch_dir(vol, op->newdir, 0);
	return ret;
}

/* The checks of a rename that replaces or adds a name. */
static int check_replace(struct ext4_vol *vol, struct rename_op *op)
{
	bool dir_a = LINUX_S_ISDIR(op->inode.i_mode);

	if (!op->has_target)
		return 0;
	if (LINUX_S_ISDIR(op->tinode.i_mode) && !dir_a)
		return -EISDIR;
	if (!LINUX_S_ISDIR(op->tinode.i_mode) && dir_a)
		return -ENOTDIR;
	return dir_a ? check_empty(vol, op->target) : 0;
}

static int move(struct ext4_vol *vol, struct rename_op *op, uint64_t *orphan)
{
	bool dir_a = LINUX_S_ISDIR(op->inode.i_mode), gone = false;
	int ft = ft_of(op->inode.i_mode);
	int ret = check_replace(vol, op);

	if (ret)
		return ret;
	/* The new name first (in place over a target), the old one after. */
	if (op->has_target)
		ret = retarget(vol, op->newdir, op->newname, op->ino, ft);
	else
		ret = add_entry(vol, op->newdir, op->newname, op->ino, ft);
	if (!ret)
		ret = remove_entry(vol, op->dir, op->name, op->ino);
	if (!ret && dir_a)
		ret = reparent(vol, op->ino, op->dir, op->newdir);
	if (!ret && op->has_target && dir_a) {
		ret = touch_dir(vol, op->newdir, -1); /* the target's ".." */
		if (!ret)
			ret = drop_dir(vol, op->target);
	} else if (!ret && op->has_target) {
		ret = drop_link(vol, op->target, &gone);
		if (gone)
			*orphan = op->target;
	}
	if (!ret)
		ret = bump(vol, op->ino, 0, false);
	if (!ret)
		ret = touch_dir(vol, op->dir, 0);
	if (!ret && op->newdir != op->dir)
		ret = touch_dir(vol, op->newdir, 0);
	return ret;
}

int ext4_rename(struct ext4_vol *vol, uint64_t dir, const char *name,
		uint64_t newdir, const char *newname, unsigned flags,
		uint64_t *orphan)
{
	struct rename_op op = {
		.dir = dir, .newdir = newdir, .name = name, .newname = newname};
	bool within = false;
	int ret;

	*orphan = 0;
	if ((ret = check_name(newname)) || (ret = ext4_begin_write(vol)) ||
	    (ret = ext4_lookup(vol, dir, name, &op.ino)) ||
	    (ret = ext4_read_inode(vol, (ext2_ino_t)op.ino, &op.inode)))
		return ret;
	ret = ext4_lookup(vol, newdir, newname, &op.target);
	if (ret && ret != -ENOENT)
		return ret;
	op.has_target = ret == 0;
	if (op.has_target && op.target == op.ino)
		return 0; /* the same file (or a hard link of it): nothing */
	if (op.has_target && (flags & EXT4_RENAME_NOREPLACE))
		return -EEXIST;
	if (!op.has_target && (flags & EXT4_RENAME_EXCHANGE))
		return -ENOENT;
	if (op.has_target &&
	    (ret = ext4_read_inode(vol, (ext2_ino_t)op.target, &op.tinode)))
		return ret;
	/* A directory cannot go below itself, nor the target below it. */
	if (LINUX_S_ISDIR(op.inode.i_mode) &&
	    ((ret = is_within(vol, newdir, op.ino, &within)) || within))
		return ret ? ret : -EINVAL;
	if ((flags & EXT4_RENAME_EXCHANGE) && LINUX_S_ISDIR(op.tinode.i_mode) &&
	    ((ret = is_within(vol, dir, op.target, &within)) || within))
		return ret ? ret : -EINVAL;
	if (flags & EXT4_RENAME_EXCHANGE)
		return exchange(vol, &op);
	return move(vol, &op, orphan);
}
