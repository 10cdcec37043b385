// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * boot/: the FAT boot partition through fat/. Lookups, listings, opening,
 * zero-copy reads (the reply splices straight from the image file), statfs.
 */
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

int rfs_boot_lookup(struct rfs *fs, struct fat_node *dir, const char *name,
		    struct fuse_entry_param *e)
{
	struct fat_node *node;
	int ret = fat_lookup(fs->vol, dir, name, &node);

	if (ret)
		return ret;
	return rfs_fat_entry(fs, node, e);
}

int rfs_boot_readdir(struct rfs *fs, struct fat_node *dir,
		     struct rfs_dirbuf *db, off_t off)
{
	struct fuse_entry_param e;
	uint64_t cookie;
	int ret;

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
			ret = rfs_fat_entry(fs, child, &e);
			if (ret)
				return ret;
		} else {
			rfs_fat_stat(fs, child, &e.attr);
		}
		if (rfs_dirbuf_add(db, fat_node_name(child), &e,
				   (off_t)cookie + 2)) {
			if (db->plus)
				rfs_forget(fs, rfs_inode(fs, e.ino), 1);
			return 0;
		}
	}
}

int rfs_boot_open(struct rfs *fs, struct fat_node *node, int flags,
		  struct rfs_file **filep)
{
	struct rfs_file *file;

	if ((flags & O_ACCMODE) != O_RDONLY &&
	    (run_check_writable(fs) || fat_is_read_only(fs->vol)))
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
	file->kind = RFS_FAT;
	file->fat = node;
	file->gen = fs->vol_gen;
	fat_node_get(node);
	*filep = file;
	return 0;
}

void rfs_file_close(struct rfs *fs, struct rfs_file *file)
{
	if (rfs_file_fat(fs, file))
		fat_node_put(fs->vol, file->fat);
	if (file->handle)
		ctl_release(fs, file->handle);
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
	while (from < until) {
		uint64_t pos;
		size_t len;

		if (fat_map(fs->vol, file->fat, from, (size_t)(until - from),
			    &pos, &len) != 0 || len == 0)
			break;
		(void)posix_fadvise(fs->win.fd, (off_t)pos, (off_t)len,
				    POSIX_FADV_WILLNEED);
		from += len;
	}
	file->ahead_until = until;
}

int rfs_boot_read(struct rfs *fs, struct rfs_file *file, size_t size,
		  off_t off, struct fuse_bufvec **bufvp)
{
	struct fat_node *node = file->fat;
	struct fuse_bufvec *bv;
	size_t cap = 4, done = 0;
	uint64_t end = 0;
	int ret;

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
		if (ret) {
			if (done)
				break;
			free(bv);
			return ret;
		}
		if (len == 0)
			break;
		if (bv->count == cap) {
			struct fuse_bufvec *bigger;

			cap *= 2;
			bigger = realloc(bv, sizeof(*bv) + cap * sizeof(bv->buf[0]));
			if (!bigger) {
				free(bv);
				return -ENOMEM;
			}
			bv = bigger;
		}
		bv->buf[bv->count++] = (struct fuse_buf){
			.size = len,
			.flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK |
				 FUSE_BUF_FD_RETRY,
			.fd = fs->win.fd,
			.pos = (off_t)pos,
		};
		done += len;
		if (pos + len > end)
			end = pos + len;
	}
	/*
	 * Zero-copy: the kernel is handed a range of the image; were the file
	 * shorter (it shrank while mounted), the reader would see a short
	 * file instead of an error.
	 */
	if (bv->count && (ret = fat_check_image(fs->vol, end)) != 0) {
		free(bv);
		return ret;
	}
	if ((uint64_t)off == file->next_off && off != 0)
		read_ahead(fs, file, (uint64_t)off + done);
	file->next_off = (uint64_t)off + done;
	*bufvp = bv;
	return 0;
}

int rfs_boot_statfs(struct rfs *fs, struct statvfs *st)
{
	struct fat_info info;
	int ret = fat_get_info(fs->vol, &info);

	memset(st, 0, sizeof(*st));
	st->f_bsize = info.cluster_size;
	st->f_frsize = info.cluster_size;
	st->f_blocks = info.cluster_count;
	st->f_bfree = info.free_clusters;
	st->f_bavail = info.free_clusters;
	st->f_namemax = 255;
	return ret;
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
	rfs_fat_stat(fs, node, &cur);
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

int rfs_boot_setattr(struct rfs *fs, struct fat_node *node,
		     const struct stat *attr, int to_set)
{
	int ret = 0;

	if (run_check_writable(fs) || fat_is_read_only(fs->vol))
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

int rfs_boot_create(struct rfs *fs, struct fat_node *dir, const char *name,
		    mode_t mode, struct fuse_entry_param *e)
{
	struct fat_node *node;
	uint8_t attr;
	int ret;

	if (S_ISDIR(mode))
		attr = FAT_ATTR_DIR;
	else if (S_ISREG(mode) || (mode & S_IFMT) == 0)
		attr = (mode & 0222) ? 0 : FAT_ATTR_RO;
	else
		return -EPERM; /* FAT holds no devices, fifos or sockets */
	ret = fat_create(fs->vol, dir, name, attr, &node);
	if (ret)
		return ret;
	return rfs_fat_entry(fs, node, e);
}

ssize_t rfs_boot_write(struct rfs *fs, struct fat_node *node, const char *buf,
		       size_t size, off_t off)
{
	if (off < 0)
		return -EINVAL;
	return fat_write(fs->vol, node, buf, size, (uint64_t)off);
}
