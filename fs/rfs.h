/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The FUSE adapter's shared types: the mounted file system (struct rfs),
 * the inodes the kernel knows, open files, and the operations table each
 * kind of node fills in (the mount's root, boot/'s FAT nodes, control
 * files, editors' temporary files). ops.c dispatches every request through
 * an inode's table; nothing else tests a node's kind. Only fs/ includes
 * FUSE.
 */
#ifndef RPIFS_RFS_H
#define RPIFS_RFS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <pthread.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include "options.h"
#include "../ext4/ext4.h"
#include "../fat/fat.h"
#include "../partition/partition.h"
#include "../pi/board.h"

struct rfs;
struct rfs_inode;
struct rfs_file;
struct rfs_dirbuf;
struct ctl_node;
struct ctl_handle;

/*
 * What one kind of node does. A NULL entry gives the request's usual
 * refusal (ENOTDIR for lookups in a file, EPERM for links, ...). Every
 * function returns 0 (or a byte count) or -errno.
 */
struct rfs_kind {
	const char *name;
	/* Read-only while a guest owns the image: ops.c refuses writes. */
	bool guest_owned;
	/*
	 * Owners are the guest's (root/): the image's owner (the mounting
	 * user) acts as the guest's root there. Elsewhere the mounting user
	 * is whom the files belong to (uid=), as on Linux's vfat.
	 */
	bool guest_ids;
	/* How long the kernel may cache this kind's attributes and names. */
	double timeout;
	int (*getattr)(struct rfs *fs, struct rfs_inode *inode,
		       struct stat *st);
	int (*lookup)(struct rfs *fs, struct rfs_inode *dir, const char *name,
		      struct fuse_entry_param *e);
	int (*readdir)(struct rfs *fs, struct rfs_inode *dir,
		       struct rfs_dirbuf *db, off_t off);
	int (*open)(struct rfs *fs, struct rfs_inode *inode, int flags,
		    struct rfs_file **filep);
	/* Reply data as a buffer vector (image ranges or memory). */
	int (*read)(struct rfs *fs, struct rfs_file *file, size_t size,
		    off_t off, struct fuse_bufvec **bufvp);
	ssize_t (*write)(struct rfs *fs, struct rfs_file *file, const char *buf,
			 size_t size, off_t off);
	int (*flush)(struct rfs *fs, struct rfs_file *file);
	/* @file may be NULL (fsyncdir, or a handle the kernel did not give). */
	int (*fsync)(struct rfs *fs, struct rfs_inode *inode,
		     struct rfs_file *file, int datasync);
	void (*release)(struct rfs *fs, struct rfs_file *file);
	int (*setattr)(struct rfs *fs, struct rfs_inode *inode,
		       struct rfs_file *file, const struct stat *attr,
		       int to_set);
	/* Files, directories (S_IFDIR) and special files, by @mode. */
	int (*mknod)(struct rfs *fs, struct rfs_inode *dir, const char *name,
		     mode_t mode, dev_t rdev, struct fuse_entry_param *e);
	int (*unlink)(struct rfs *fs, struct rfs_inode *dir, const char *name);
	int (*rmdir)(struct rfs *fs, struct rfs_inode *dir, const char *name);
	/* Within this kind only: ops.c decides between kinds. */
	int (*rename)(struct rfs *fs, struct rfs_inode *dir, const char *name,
		      struct rfs_inode *newdir, const char *newname,
		      unsigned flags);
	int (*link)(struct rfs *fs, struct rfs_inode *inode,
		    struct rfs_inode *newdir, const char *newname,
		    struct fuse_entry_param *e);
	int (*symlink)(struct rfs *fs, struct rfs_inode *dir, const char *name,
		       const char *target, struct fuse_entry_param *e);
	/* The target, malloc'd into *@target. */
	int (*readlink)(struct rfs *fs, struct rfs_inode *inode, char **target);
	int (*statfs)(struct rfs *fs, struct rfs_inode *inode,
		      struct statvfs *st);
	/* Extended attributes; sizes as getxattr(2) and listxattr(2). */
	ssize_t (*getxattr)(struct rfs *fs, struct rfs_inode *inode,
			    const char *name, void *buf, size_t size);
	ssize_t (*listxattr)(struct rfs *fs, struct rfs_inode *inode, char *buf,
			     size_t size);
	int (*setxattr)(struct rfs *fs, struct rfs_inode *inode,
			const char *name, const void *value, size_t size,
			int flags);
	int (*removexattr)(struct rfs *fs, struct rfs_inode *inode,
			   const char *name);
	int (*fallocate)(struct rfs *fs, struct rfs_file *file, int mode,
			 off_t off, off_t len);
	/* The kernel forgot the inode: drop what it held. */
	void (*forget)(struct rfs *fs, struct rfs_inode *inode);
};

struct rfs_inode {
	const struct rfs_kind *kind;
	uint64_t nlookup;	    /* the kernel's references */
	uint64_t gen;		    /* the volume generation of @fat or @ext */
	struct fat_node *fat;	    /* boot/ */
	struct ctl_node *ctl;	    /* control and temporary files */
	uint64_t ext;		    /* root/: the ext4 inode number */
	struct rfs_inode *ext_next; /* root/: the next in its bucket */
	unsigned opens;		    /* open files of it */
	unsigned direct_writers;    /* of them writing past the page cache */
	bool cached_reads;	    /* opened to read through the page cache */
	bool orphan; /* root/: no names left; freed when unused */
	struct rfs_inode *prev, *next; /* every inode the kernel knows */
};

/* An open file or directory (fuse_file_info.fh). */
struct rfs_file {
	const struct rfs_kind *kind; /* what the node was when opened */
	struct rfs_inode *inode;
	struct fat_node *fat; /* referenced while open */
	uint64_t gen;
	bool direct_writer; /* writes past the page cache (see cache_mode) */
	/* Sequential reads: where the last read ended, and how far the
	 * image's page cache has been asked to read ahead. */
	uint64_t next_off, ahead_until;
	struct ctl_handle *handle;
};

/* Directory listing buffer for readdir and readdirplus. */
struct rfs_dirbuf {
	fuse_req_t req;
	bool plus;
	char *buf;
	size_t size;
	size_t used;
};

struct rfs_notify {
	fuse_ino_t parent; /* entry: parent and name; inode: parent == 0 */
	fuse_ino_t ino;
	char *name;
	bool attr_only; /* an inode's attributes, not its data */
};

/* Who asks: the request's credentials, groups read when needed. */
struct rfs_caller {
	fuse_req_t req;
	uid_t uid;
	gid_t gid;
	mode_t umask;	 /* applied by each kind: the mount asks the
			    kernel not to (default ACLs replace it) */
	int group_count; /* -1: not read yet */
	gid_t groups[64];
};

struct ext4_vol;

struct rfs {
	pthread_mutex_t lock;	  /* held around every operation */
	struct rfs_caller caller; /* of the request under the lock */
	uid_t owner_uid;	  /* the mounting user: the image's owner */
	struct rfs_options opt;
	char *image_path;
	char *mountpoint;
	struct part_image *img;
	struct fat_window win;
	struct fat_vol *vol;
	/* root/: the root file system, when the image has one to show. */
	struct ext4_vol *ext;
	struct ext4_window ext_win;
	const struct part_entry *root_part;
	uint64_t ext_gen;	    /* as vol_gen, for root/ */
	char root_note[512];	    /* why root/ is missing or read-only */
	struct rfs_inode **ext_map; /* ext4 inode number -> inode */
	size_t ext_map_size, ext_map_used;
	struct fuse_session *se;
	struct rfs_inode root;
	struct rfs_inode *inodes; /* the list of every other inode */
	struct timespec mount_time;
	/*
	 * The volume is read again after each boot (the guest may have
	 * changed it); nodes of an older generation are stale.
	 */
	uint64_t vol_gen;
	enum board board; /* the board the next boot uses */
	struct launcher *launcher;
	char state_dir[4096]; /* $XDG_STATE_HOME/rpifs/IMAGE-KEY */
	bool unmounting;
	bool told_read_only; /* logged why writes fail while it runs */
	/* Control files: the current node of each, and temporary files. */
	struct ctl_node **ctl; /* by control number (ctl.c) */
	struct ctl_node *temps;
	size_t temp_bytes;
	uint64_t next_temp_ino;
	size_t status_len; /* of the status text last built */
	/* Kernel cache invalidations to send once the lock is released. */
	struct rfs_notify *notify;
	size_t notify_count;
	size_t notify_cap;
};

/* ---- inode.c: inodes as the kernel sees them ---- */

struct rfs_inode *rfs_inode(struct rfs *fs, fuse_ino_t ino);
fuse_ino_t rfs_ino(struct rfs *fs, const struct rfs_inode *inode);
/* A new inode of @kind, on the list, with no lookups yet. */
struct rfs_inode *rfs_inode_new(struct rfs *fs, const struct rfs_kind *kind);
/* Count one kernel reference and describe @inode in @e (attr from @st). */
void rfs_inode_entry(struct rfs *fs, struct rfs_inode *inode,
		     const struct stat *st, struct fuse_entry_param *e);
/* Drop @nlookup references; at none, the kind forgets and it is freed. */
void rfs_forget(struct rfs *fs, struct rfs_inode *inode, uint64_t nlookup);
/* Add one entry; @return 1 when the buffer is full (entry not added). */
int rfs_dirbuf_add(struct rfs_dirbuf *db, const char *name,
		   const struct fuse_entry_param *e, off_t next);
/* A reply buffer vector over memory (copied). */
int rfs_bufvec_mem(const void *data, size_t len, struct fuse_bufvec **bufvp);

/* ---- notify.c: the kernel's caches ---- */

/* Queue an invalidation: an entry (@parent, @name) or, with @parent 0, the
   inode @ino's data and attributes. Dropped when out of memory. */
void rfs_notify_queue(struct rfs *fs, fuse_ino_t parent, fuse_ino_t ino,
		      const char *name);
/* Every guest-owned inode's attributes (their write bits change). */
void rfs_notify_guest_owned(struct rfs *fs);
/* Send what was queued; call without the lock. */
void rfs_notify_send(struct rfs *fs);

/* ---- the kinds ---- */

extern const struct rfs_kind rfs_root_kind; /* root.c */
extern const struct rfs_kind rfs_boot_kind; /* boot.c */
extern const struct rfs_kind rfs_ext_kind;  /* ext.c */

/* ---- access.c: permissions, checked by rpifs (not the kernel) ---- */

/* Whether the caller is the superuser for @kind's nodes. */
bool rfs_superuser(struct rfs *fs, const struct rfs_kind *kind);
bool rfs_in_group(struct rfs *fs, gid_t gid);
/* R_OK, W_OK, X_OK of @st for the caller. @return 0 or -EACCES. */
int rfs_may(struct rfs *fs, const struct rfs_kind *kind, const struct stat *st,
	    int mask);

/* The daemon's log file, in the image's state folder (made if needed):
   its path in @path, or -1 with errno. */
int rfs_daemon_log(struct rfs *fs, char *path, size_t size);
/* The log's bound: past it the file becomes daemon.log.1. */
#define DAEMON_LOG_MAX (1024 * 1024)

#endif
