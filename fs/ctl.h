/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Control files in the mount's root (userconf, cmdline, kernel, dtb,
 * status, run, console) and the temporary files editors make beside them.
 * A control file shows a value kept in the image's boot files; an open
 * handle reads a snapshot taken at open and collects writes, which are
 * validated and committed when the writer closes it (or renames a
 * temporary file over it).
 */
#ifndef RPIFS_CTL_H
#define RPIFS_CTL_H

#include "rfs.h"
#include "../launcher/config.h"

#include <stdint.h>

enum ctl_kind {
	CTL_USERCONF,
	CTL_CMDLINE,
	CTL_KERNEL,
	CTL_DTB,
	CTL_STATUS,
	CTL_RUN,
	CTL_CONSOLE,
	CTL_KINDS,
	CTL_TEMP = CTL_KINDS, /* a temporary file, kept in memory */
};

/* A growable byte buffer; a secret one is wiped before its memory goes. */
struct rfs_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	bool secret;
};

int rfs_buf_write(struct rfs_buf *b, const void *p, size_t n, uint64_t off,
		  size_t max);
int rfs_buf_truncate(struct rfs_buf *b, uint64_t size, size_t max);
int rfs_buf_set(struct rfs_buf *b, const void *p, size_t n);
void rfs_buf_free(struct rfs_buf *b);

struct ctl_node {
	enum ctl_kind kind;
	char *name;		 /* temporary files */
	uint64_t ino;
	unsigned refs;		 /* the root's, the inode's, open handles' */
	bool attached;		 /* listed in the root */
	struct rfs_inode *inode; /* the kernel's, if it knows the node */
	struct ctl_node *next;	 /* the root's list of temporary files */
	struct rfs_buf data;	 /* temporary files' contents */
	mode_t mode;
	struct timespec mtime;
	struct timespec ctime;
};

struct ctl_handle {
	struct ctl_node *node;
	enum ctl_kind kind;	/* what the node was when opened */
	struct rfs_buf buf;	/* the snapshot, then the writes */
	struct fat_node *fat;	/* kernel and dtb readers: the file itself */
	uint64_t fat_gen;	/* the volume generation of @fat */
	int log_fd;		/* console readers: the boot's log, or -1 */
	int flags;
	bool dirty;		/* changed since the last commit */
	bool written;		/* by write or ftruncate, not only O_TRUNC */
	bool failed;		/* a write was refused: commit nothing */
};

/* The names of the control files, by kind. */
const char *ctl_name(enum ctl_kind kind);
/* The kind a name in the root stands for, or CTL_TEMP. */
enum ctl_kind ctl_kind_of(const char *name);

/* ---- ctl.c: nodes, handles, the root's entries ---- */

int ctl_lookup(struct rfs *fs, const char *name, struct fuse_entry_param *e);
int ctl_getattr(struct rfs *fs, struct ctl_node *node, struct stat *st);
/* Entry @index (0, 1, ...) of the root after "boot"; @return 0 at the end. */
int ctl_readdir_entry(struct rfs *fs, unsigned index, char *name, size_t size,
		      struct fuse_entry_param *e, bool plus);
int ctl_open(struct rfs *fs, struct ctl_node *node, int flags,
	     struct ctl_handle **hp);
ssize_t ctl_read(struct rfs *fs, struct ctl_handle *h, char *buf, size_t size,
		 off_t off);
ssize_t ctl_write(struct rfs *fs, struct ctl_handle *h, const char *buf,
		  size_t size, off_t off);
/*
 * At each close: commit what was written (shells close a duplicate before
 * writing, so a truncation alone waits for the release).
 */
int ctl_flush(struct rfs *fs, struct ctl_handle *h);
/* The last close: commit a truncation nothing was written after. */
void ctl_release(struct rfs *fs, struct ctl_handle *h);
int ctl_setattr(struct rfs *fs, struct ctl_node *node, struct ctl_handle *h,
		const struct stat *attr, int to_set);
int ctl_create(struct rfs *fs, const char *name, mode_t mode,
	       struct fuse_entry_param *e);
int ctl_unlink(struct rfs *fs, const char *name);
int ctl_rename(struct rfs *fs, const char *from, const char *to,
	       unsigned flags);
void ctl_forget(struct rfs *fs, struct ctl_node *node);
void ctl_free_all(struct rfs *fs);

/* ---- values.c: what each control file holds ---- */

/* Evaluate config.txt for the emulated board. */
int ctl_boot_config(struct rfs *fs, struct boot_config *cfg);
/*
 * The current value of a control file into @out; kernel and dtb give a
 * referenced node of the selected file in *@fatp instead.
 */
int ctl_value_read(struct rfs *fs, enum ctl_kind kind, struct rfs_buf *out,
		   struct fat_node **fatp);
/* Size and time of the current value (for getattr). */
void ctl_value_stat(struct rfs *fs, enum ctl_kind kind, uint64_t *size,
		    struct timespec *mtime);
/* Validate and store a new value. @return 0 or -EINVAL, -ENOENT, ... */
int ctl_value_commit(struct rfs *fs, enum ctl_kind kind,
		     const struct rfs_buf *value);
/* -EINVAL when what was written so far can never become valid. */
int ctl_value_precheck(struct rfs *fs, enum ctl_kind kind,
		       const struct rfs_buf *value);
/* The largest value a control file takes. */
size_t ctl_value_max(enum ctl_kind kind);
/* Whether the control file can be written. */
bool ctl_writable(enum ctl_kind kind);

/* ---- userconf.c ---- */

/*
 * Turn a written "user:password" (or "user:$6$...") into the line to
 * store, "user:HASH". @return 0 or -EINVAL with the reason logged.
 */
int userconf_make(const struct rfs_buf *in, char **line);
/* -EINVAL (logged) when a complete first line is invalid or a second
   line follows; 0 otherwise, also while the line is unfinished. */
int userconf_check(const struct rfs_buf *in);
/* The user name of a stored line ("pi:$6$..." -> "pi"). */
void userconf_user(const char *line, char *user, size_t size);
/*
 * Add (hash != NULL) or remove rpifs's user in cloud-init's user-data.
 * @return 0, -ENOTSUP (an inline "users: [...]" rpifs does not edit) or
 * -ENOMEM.
 */
int userconf_cloud_init(const char *old, size_t len, const char *user,
			const char *hash, char **out);

/* Open the log of the current or last boot (-1 when there was none). */
int ctl_console_open(struct rfs *fs, int *fd);

/* ---- status.c ---- */

/* The status file's text. */
int ctl_status_text(struct rfs *fs, struct rfs_buf *out);
/* The PARTUUID of partition @number, for cmdline_adjust(). */
const char *ctl_partuuid(void *ctx, unsigned number);

/* ---- fatio.c: whole files of the boot partition ---- */

int rfs_fat_read_file(struct rfs *fs, const char *path, char **data,
		      size_t *len, size_t max);
bool rfs_fat_exists(struct rfs *fs, const char *path);
/* Replace (or create) a file with @data: written aside, renamed over. */
int rfs_fat_replace(struct rfs *fs, const char *path, const void *data,
		    size_t len);
int rfs_fat_remove(struct rfs *fs, const char *path);
/* Queue kernel cache invalidations for a changed entry or file. */
void rfs_notify_entry(struct rfs *fs, struct fat_node *dir, const char *name);
/* Queue an invalidation: an entry (@parent, @name) or, with @parent 0, the
   inode @ino's data. Dropped when out of memory (the cache stays stale). */
void rfs_notify_queue(struct rfs *fs, fuse_ino_t parent, fuse_ino_t ino,
		      const char *name);
void rfs_notify_inode(struct rfs *fs, struct fat_node *node);
/* Send what was queued; call without the lock. */
void rfs_notify_send(struct rfs *fs);

#endif
