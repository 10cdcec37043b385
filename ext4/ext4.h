/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The root file system core: an ext2/3/4 file system over a byte window
 * of an open file, through libext2fs, addressed by inode number. No FUSE
 * here; the FUSE adapter (fs/ext.c), the tools and the tests use this API.
 *
 * libext2fs writes without a journal: what a killed daemon leaves is what
 * e2fsck finds of a crash without one. To keep that small the first write
 * of a mount marks the file system "not clean" on disk (so the guest's
 * boot-time fsck or the next e2fsck checks it), and a clean unmount or
 * ext4_sync() writes the bitmaps, the group descriptors and the
 * superblock, then marks it clean again (at unmount).
 *
 * Threading: a volume is not thread-safe; callers hold one lock around
 * every call. Every function returns 0 (or a byte count) or -errno;
 * damage is -EUCLEAN, logged once, and the volume turns read-only.
 */
#ifndef RPIFS_EXT4_H
#define RPIFS_EXT4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <time.h>

struct ext4_vol;

/* Where the file system lives: bytes [offset, offset + size) of fd. */
struct ext4_window {
	int fd;
	uint64_t offset;
	uint64_t size;
};

enum {
	EXT4_MOUNT_RDONLY = 1 << 0,
};

#define EXT4_ROOT_INO 2

struct ext4_info {
	uint32_t block_size;
	uint64_t blocks;
	uint64_t free_blocks;
	uint32_t inodes;
	uint32_t free_inodes;
	char label[17];
	char uuid[37];
	char type[8]; /* "ext2", "ext3", "ext4" */
	bool read_only;
	bool needs_recovery; /* its journal was not replayed (read-only) */
	unsigned replayed;   /* transactions replayed at mount */
	bool was_not_clean;  /* not cleanly unmounted before this mount */
	bool errors;	     /* marked with errors: e2fsck should check it */
	char why_read_only[256]; /* a sentence, when read-only not by request */
};

/*
 * Mount the file system in @win. A read-write mount of a file system that
 * needs journal recovery replays its journal first; when it cannot, the
 * mount is read-only and info.why_read_only says why. On failure @err
 * holds one sentence. @return 0 or -errno (-EINVAL: not ext2/3/4).
 */
int ext4_mount(struct ext4_vol **volp, const struct ext4_window *win,
	       unsigned flags, char *err, size_t err_size);
/* Write everything, mark the file system clean, free the volume. */
int ext4_unmount(struct ext4_vol *vol);
/* Bitmaps, descriptors and superblock to disk, then fdatasync. */
int ext4_sync(struct ext4_vol *vol);
void ext4_get_info(struct ext4_vol *vol, struct ext4_info *info);
bool ext4_is_read_only(const struct ext4_vol *vol);
int ext4_statfs(struct ext4_vol *vol, struct statvfs *st);

/* The inode's attributes as the guest's kernel shows them. */
int ext4_getattr(struct ext4_vol *vol, uint64_t ino, struct stat *st);

enum {
	EXT4_SET_MODE = 1 << 0,
	EXT4_SET_UID = 1 << 1,
	EXT4_SET_GID = 1 << 2,
	EXT4_SET_SIZE = 1 << 3,
	EXT4_SET_ATIME = 1 << 4,
	EXT4_SET_MTIME = 1 << 5,
};

struct ext4_setattr {
	unsigned what; /* EXT4_SET_* */
	mode_t mode;   /* permission bits (07777) */
	uid_t uid;
	gid_t gid;
	uint64_t size;
	struct timespec atime;
	struct timespec mtime;
};

/* Change what @sa->what says; ctime becomes now. */
int ext4_setattr(struct ext4_vol *vol, uint64_t ino,
		 const struct ext4_setattr *sa);

int ext4_lookup(struct ext4_vol *vol, uint64_t dir, const char *name,
		uint64_t *ino);
/* An absolute path from the root, following symbolic links. */
int ext4_resolve(struct ext4_vol *vol, const char *path, uint64_t *ino);
/*
 * Whether @path is there, as ext4_resolve finds it, but quietly: nothing
 * logged, the volume not marked damaged, for what only looks (status).
 * @return 0, -ENOENT, or -EIO for anything else.
 */
int ext4_probe_path(struct ext4_vol *vol, const char *path);

/*
 * One directory entry; @type is a DT_* value, @next the position after
 * it (for ext4_readdir's @from). @return non-zero to stop.
 */
typedef int (*ext4_dirent_fn)(void *ctx, const char *name, size_t len,
			      uint64_t ino, unsigned type, uint64_t next);
/*
 * The entries of @dir ("." and ".." included) in on-disk order, from
 * position @from (0: the start). Positions are places in the directory:
 * they stay valid while other entries come and go.
 */
int ext4_readdir(struct ext4_vol *vol, uint64_t dir, uint64_t from,
		 ext4_dirent_fn fn, void *ctx);

/* Read up to @size bytes at @off; @return bytes read (0 at end). */
ssize_t ext4_read(struct ext4_vol *vol, uint64_t ino, void *buf, size_t size,
		  uint64_t off);

/* A piece of a file's bytes: at @pos in the window's file, or zeros. */
struct ext4_run {
	uint64_t pos; /* absolute offset in the fd; unused for zeros */
	size_t len;
	bool zeros; /* a hole, or an unwritten extent */
};

/*
 * Where the file's bytes [@off, @off + @size) live, for zero-copy reads:
 * up to @max runs, shortened at the end of the file. Inline data gives
 * -ENOTSUP (read it with ext4_read). @return the number of runs or -errno.
 */
int ext4_map(struct ext4_vol *vol, uint64_t ino, uint64_t off, size_t size,
	     struct ext4_run *runs, int max);

ssize_t ext4_write(struct ext4_vol *vol, uint64_t ino, const void *buf,
		   size_t size, uint64_t off);

/* FALLOC_FL_KEEP_SIZE is the only mode flag taken. */
int ext4_fallocate(struct ext4_vol *vol, uint64_t ino, int mode, uint64_t off,
		   uint64_t len);

/* A new inode for @name in @dir: a file, directory, symlink target, node. */
struct ext4_new {
	mode_t mode; /* type and permission bits */
	dev_t rdev;  /* devices */
	uid_t uid;
	gid_t gid;
	mode_t umask;	    /* applied unless @dir has a default ACL */
	const char *target; /* symbolic links */
};

int ext4_create(struct ext4_vol *vol, uint64_t dir, const char *name,
		const struct ext4_new *n, uint64_t *ino);
int ext4_link(struct ext4_vol *vol, uint64_t ino, uint64_t dir,
	      const char *name);
/*
 * Remove @name from @dir (not a directory). *@orphan is set when its
 * inode has no links left: free it with ext4_free() once nothing uses it.
 */
int ext4_unlink(struct ext4_vol *vol, uint64_t dir, const char *name,
		uint64_t *ino, bool *orphan);
/* Free an inode with no links left, and its blocks. */
int ext4_free(struct ext4_vol *vol, uint64_t ino);
int ext4_rmdir(struct ext4_vol *vol, uint64_t dir, const char *name);

enum {
	EXT4_RENAME_NOREPLACE = 1 << 0,
	EXT4_RENAME_EXCHANGE = 1 << 1,
};

/*
 * Rename @name in @dir to @newname in @newdir, replacing a target of the
 * same kind (a directory only when empty), or exchanging the two. A
 * replaced target's inode, when it has no links left, is in *@orphan
 * (0 when none): free it with ext4_free() once nothing uses it.
 */
int ext4_rename(struct ext4_vol *vol, uint64_t dir, const char *name,
		uint64_t newdir, const char *newname, unsigned flags,
		uint64_t *orphan);

/* The target of a symbolic link, NUL-terminated. @return its length. */
ssize_t ext4_readlink(struct ext4_vol *vol, uint64_t ino, char *buf,
		      size_t size);

/*
 * Extended attributes, by full name ("user.x", "security.selinux"). POSIX
 * ACLs follow the kernel's rules: an access ACL sets the mode, one the
 * mode says all of is not stored.
 */
ssize_t ext4_getxattr(struct ext4_vol *vol, uint64_t ino, const char *name,
		      void *buf, size_t size);
/* The names, each NUL-terminated, as listxattr(2) gives them. */
ssize_t ext4_listxattr(struct ext4_vol *vol, uint64_t ino, char *buf,
		       size_t size);
/* @flags: XATTR_CREATE or XATTR_REPLACE, or 0. */
int ext4_setxattr(struct ext4_vol *vol, uint64_t ino, const char *name,
		  const void *value, size_t size, int flags);
int ext4_removexattr(struct ext4_vol *vol, uint64_t ino, const char *name);

#endif
