/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The FAT12/16/32 core: a volume over a byte window of an open file, seen as
 * a tree of nodes. No FUSE here; the FUSE adapter, the tools and the tests
 * all use this API.
 *
 * Threading: a volume is not thread-safe; callers hold one lock around every
 * call (the FUSE adapter does).
 *
 * Nodes are reference counted. fat_lookup() and fat_create() return a node
 * with one reference that the caller drops with fat_node_put(). A node stays
 * the same object for as long as its entry exists, across renames, so the
 * caller may key its own state on the pointer (see fat_node_priv()).
 */
#ifndef RPIFS_FAT_H
#define RPIFS_FAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct fat_vol;
struct fat_node;

enum fat_type {
	FAT12 = 12,
	FAT16 = 16,
	FAT32 = 32,
};

/* Directory entry attributes. */
enum {
	FAT_ATTR_RO = 0x01,
	FAT_ATTR_HIDDEN = 0x02,
	FAT_ATTR_SYSTEM = 0x04,
	FAT_ATTR_VOLUME = 0x08,
	FAT_ATTR_DIR = 0x10,
	FAT_ATTR_ARCHIVE = 0x20,
	FAT_ATTR_LFN = 0x0f,
};

/* Where the volume lives: bytes [offset, offset + size) of fd. */
struct fat_window {
	int fd;
	uint64_t offset;
	uint64_t size;
};

enum {
	FAT_MOUNT_RDONLY = 1 << 0,
};

/* Node numbers start here; smaller ones are free for the caller's use. */
#define FAT_FIRST_INO 64

struct fat_info {
	enum fat_type type;
	uint32_t sector_size;
	uint32_t cluster_size;
	uint32_t cluster_count;
	uint32_t free_clusters;
	uint32_t volume_id;
	char label[12];
	bool read_only;
	bool damaged;	/* corruption was found; the volume is read-only */
	bool was_dirty; /* the dirty flag was set at mount: not cleanly
			   unmounted */
};

struct fat_stat {
	bool is_dir;
	uint8_t attr;
	uint32_t size;
	uint32_t first_cluster;
	struct timespec mtime;
	struct timespec atime;
	struct timespec crtime; /* creation time */
	uint32_t nlink;		/* vfat's: 2 + subdirectories; 0 unlinked */
	uint32_t clusters;	/* allocated (more than the size's after
				   fat_fallocate with keep_size) */
};

/* Longest name in bytes of UTF-8 (255 UTF-16 units, 3 bytes each). */
#define FAT_NAME_MAX 765
/* Largest file: 4 GiB - 1. */
#define FAT_FILE_MAX 0xffffffffu

/*
 * Mount the FAT volume in @win. With FAT_MOUNT_RDONLY nothing is ever
 * written. On failure @err (if not NULL) holds one sentence saying why.
 * @return 0 or -errno (-EINVAL: not a FAT volume, -EUCLEAN: damaged).
 */
int fat_mount(struct fat_vol **volp, const struct fat_window *win,
	      unsigned flags, char *err, size_t err_size);

/*
 * Flush everything, clear the dirty flag (read-write volumes) and free the
 * volume. Nodes still referenced are freed too; their pointers die here.
 * @return 0 or the first -errno met while flushing (the volume is freed
 * either way).
 */
int fat_unmount(struct fat_vol *vol);

/* Volume facts; counts free clusters on first use when not known. */
int fat_get_info(struct fat_vol *vol, struct fat_info *info);
bool fat_is_read_only(const struct fat_vol *vol);
uint32_t fat_cluster_size(const struct fat_vol *vol);

/* Write every dirty structure and the FSInfo sector, then fdatasync. */
int fat_sync(struct fat_vol *vol);

/*
 * Hand the volume to someone else (a booting guest): write everything,
 * clear the dirty flag as a clean unmount would, and never write again.
 * Reads keep working from what is cached and on disk. @return 0 or -errno.
 */
int fat_freeze(struct fat_vol *vol);

/* The root directory; the volume holds it, callers need no reference. */
struct fat_node *fat_root(struct fat_vol *vol);

void fat_node_get(struct fat_node *node);
/* Drop a reference; an unlinked node is freed with its clusters at zero. */
void fat_node_put(struct fat_vol *vol, struct fat_node *node);

void fat_node_stat(struct fat_vol *vol, struct fat_node *node,
		   struct fat_stat *st);
const char *fat_node_name(const struct fat_node *node);
/* A number unique among the volume's nodes, kept across renames. */
uint64_t fat_node_ino(const struct fat_node *node);
bool fat_node_is_dir(const struct fat_node *node);
bool fat_node_is_unlinked(const struct fat_node *node);
/* The directory holding the node, NULL for the root and unlinked nodes. */
struct fat_node *fat_node_parent(const struct fat_node *node);

/* One pointer for the caller's own use; the core never touches it. */
void *fat_node_priv(const struct fat_node *node);
void fat_node_set_priv(struct fat_node *node, void *priv);

/*
 * Find @name in @dir: case-insensitive, as FAT is; a file's 8.3 alias
 * matches too. @return 0 with a referenced node, or -ENOENT, -ENOTDIR,
 * -ENAMETOOLONG, -EIO, -EUCLEAN.
 */
int fat_lookup(struct fat_vol *vol, struct fat_node *dir, const char *name,
	       struct fat_node **nodep);

/* Look up a '/'-separated path from the root. Same returns as fat_lookup. */
int fat_lookup_path(struct fat_vol *vol, const char *path,
		    struct fat_node **nodep);

/*
 * Directory iteration. *@cookie starts at 0; each call returns the next
 * entry (borrowed: take a reference to keep it) and advances *@cookie.
 * Cookies stay valid while entries are added and removed.
 * @return 1 with an entry, 0 at the end, or -errno.
 */
int fat_readdir(struct fat_vol *vol, struct fat_node *dir, uint64_t *cookie,
		struct fat_node **childp);

/* Read up to @size bytes at @off; @return bytes read (0 at end) or -errno. */
ssize_t fat_read(struct fat_vol *vol, struct fat_node *node, void *buf,
		 size_t size, uint64_t off);

/*
 * Where the file's bytes at @off live in the window's file: the longest
 * contiguous run of at most @size bytes starting there. For zero-copy reads.
 * @return 0 with *@pos (absolute offset in the fd) and *@len, or -errno;
 * *@len is 0 at or past the end of the file.
 */
int fat_map(struct fat_vol *vol, struct fat_node *node, uint64_t off,
	    size_t size, uint64_t *pos, size_t *len);

/*
 * Whether the volume's file still holds its bytes up to @end (an offset in
 * the file, as fat_map() gives). Logged once when it shrank while mounted.
 * @return 0 or -EIO.
 */
int fat_check_image(struct fat_vol *vol, uint64_t end);

/*
 * Ask the host to read the file's bytes from @from to @until ahead
 * (posix_fadvise WILLNEED over each cluster run); errors are ignored.
 */
void fat_advise(struct fat_vol *vol, struct fat_node *node, uint64_t from,
		uint64_t until);

/*
 * Read the whole file at @path (at most @max bytes) into a malloc'd,
 * NUL-terminated buffer. @return 0, -ENOENT, -EISDIR, -EFBIG, -errno.
 */
int fat_read_file(struct fat_vol *vol, const char *path, char **data,
		  size_t *len, size_t max);

/* Write @size bytes at @off, growing the file; @return bytes or -errno. */
ssize_t fat_write(struct fat_vol *vol, struct fat_node *node, const void *buf,
		  size_t size, uint64_t off);

/* Grow (the new bytes read as zeros) or shrink a file. @return 0 or -errno. */
int fat_truncate(struct fat_vol *vol, struct fat_node *node, uint64_t size);

/*
 * Allocate the clusters for @len bytes at @off, as Linux's vfat does:
 * without @keep_size it is a growing truncate to @off + @len (zeros; no
 * change when the file is that long already); with it the clusters past
 * the size are taken and the size stays, and they are given back at
 * fat_freeze() and fat_unmount() (a clean image has no chain longer
 * than its file). @return 0, -ENOSPC (nothing taken), -EFBIG, -errno.
 */
int fat_fallocate(struct fat_vol *vol, struct fat_node *node, bool keep_size,
		  uint64_t off, uint64_t len);

/* Create a file (@attr FAT_ATTR_*) or, with FAT_ATTR_DIR, a directory. */
int fat_create(struct fat_vol *vol, struct fat_node *dir, const char *name,
	       uint8_t attr, struct fat_node **nodep);

int fat_unlink(struct fat_vol *vol, struct fat_node *dir, const char *name);
int fat_rmdir(struct fat_vol *vol, struct fat_node *dir, const char *name);

enum {
	FAT_RENAME_NOREPLACE = 1 << 0,
};

/*
 * Rename, replacing an existing target of the same kind (a directory only
 * when empty). @return 0 or -EEXIST, -ENOTEMPTY, -EISDIR, -ENOTDIR, -EINVAL
 * (a directory into its own subtree), -ENOENT, -ENOSPC, ...
 */
int fat_rename(struct fat_vol *vol, struct fat_node *old_dir,
	       const char *old_name, struct fat_node *new_dir,
	       const char *new_name, unsigned flags);

/* Set times; a NULL pointer leaves that time alone. */
int fat_set_times(struct fat_vol *vol, struct fat_node *node,
		  const struct timespec *atime, const struct timespec *mtime);

/* Set the attribute bits in @mask to @attr (RO, HIDDEN, SYSTEM, ARCHIVE). */
int fat_set_attr(struct fat_vol *vol, struct fat_node *node, uint8_t attr,
		 uint8_t mask);

/*
 * Replace the whole contents of the file @name in @dir (created when
 * missing) with @len bytes of @data, atomically across a power cut: the
 * bytes go to new clusters, flushed, then one write of the file's 8.3
 * entry switches it to them, flushed; the old clusters are freed after.
 * A power cut leaves the old contents or the new, never a part. The node
 * stays the same object (open files read the new contents).
 * @return 0 with a referenced node in *@nodep, or -EISDIR, -ENOSPC, ...
 */
int fat_replace(struct fat_vol *vol, struct fat_node *dir, const char *name,
		const void *data, size_t len, struct fat_node **nodep);

/* Make the file's data and entry durable: flush and fdatasync. */
int fat_fsync(struct fat_vol *vol, struct fat_node *node);

/* Check that @name can be stored (length, characters). @return 0 or -errno. */
int fat_name_check(const char *name);

/*
 * Write tracing for the crash-state tests (tests/crash/), compiled in only
 * with -DRPIFS_IO_TRACE: every image write and flush is then appended to
 * the file that the environment variable RPIFS_IO_TRACE names, each tagged
 * with the operation it serves. fat/ names its own calls; a caller names
 * the larger operation they belong to (a control file's commit) with
 * fat_trace_label() and ends it with fat_trace_label_end(). Without the
 * option both are nothing.
 */
#ifdef RPIFS_IO_TRACE
void fat_trace_label(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
void fat_trace_label_end(void);
#else
#define fat_trace_label(...)  ((void)0)
#define fat_trace_label_end() ((void)0)
#endif

#endif
