/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The nodes of the mount's root beside boot/: control files (userconf,
 * cmdline, kernel, dtb, status, run, console) and the temporary files
 * editors make beside them. Each control file is described once, in a
 * table (ctl.c): its mode, its limits, and the functions that read and
 * commit its value. An open handle reads a snapshot taken at open and
 * collects writes, which are validated and committed when the writer
 * closes it (or renames a temporary file over it).
 */
#ifndef RPIFS_CTL_H
#define RPIFS_CTL_H

#include "rfs.h"
#include "../common/buf.h"

#include <stdint.h>

struct ctl_desc {
	const char *name;
	const struct rfs_kind *kind;
	mode_t mode;
	size_t max;  /* the largest value taken */
	bool secret; /* wipe its buffers (a password passes through) */
	/* The current value as bytes (also what an appending writer starts
	   from). -ENOENT: none. */
	int (*read)(struct rfs *fs, struct buf *out);
	/* kernel and dtb: the boot file itself, read in place. */
	int (*file)(struct rfs *fs, struct fat_node **node);
	/* console: a file to read (the boot's log), or -1. */
	int (*open_fd)(struct rfs *fs);
	/* Size and time for getattr, without building the value. */
	void (*stat)(struct rfs *fs, uint64_t *size, struct timespec *mtime);
	/* -EINVAL when what was written so far can never become valid. */
	int (*precheck)(const struct buf *value);
	/* Validate and store. @return 0 or -EINVAL, -ENOENT, -EROFS ... */
	int (*commit)(struct rfs *fs, const struct buf *value);
	/* run: act on what was written as it comes (start, stop). */
	int (*command)(struct rfs *fs, const char *word);
};

struct ctl_node {
	const struct ctl_desc *desc; /* NULL: a temporary file */
	const struct rfs_kind *kind;
	char *name; /* temporary files */
	uint64_t ino;
	unsigned refs;		 /* the root's, the inode's, open handles' */
	bool attached;		 /* listed in the root */
	struct rfs_inode *inode; /* the kernel's, if it knows the node */
	struct ctl_node *next;	 /* the root's list of temporary files */
	struct buf data;	 /* temporary files' contents */
	mode_t mode;
	struct timespec mtime;
	struct timespec ctime;
};

struct ctl_handle {
	struct ctl_node *node;
	const struct ctl_desc *desc; /* what the node was when opened */
	struct buf buf;		     /* the snapshot, then the writes */
	struct fat_node *fat; /* kernel and dtb readers: the file itself */
	uint64_t fat_gen;     /* the volume generation of @fat */
	int log_fd;	      /* console readers: the boot's log, or -1 */
	int flags;
	bool dirty;   /* changed since the last commit */
	bool written; /* by write or ftruncate, not only O_TRUNC */
	bool failed;  /* a write was refused: commit nothing */
};

unsigned ctl_count(void);
/* The control files, in listing order; NULL past the end. */
const struct ctl_desc *ctl_desc_at(unsigned index);
/* The control file named @name, or NULL. */
const struct ctl_desc *ctl_desc_of(const char *name);

/* A node (one reference, not attached). @return NULL when out of memory. */
struct ctl_node *ctl_node_new(struct rfs *fs, const struct ctl_desc *desc,
			      const char *name);
void ctl_node_put(struct rfs *fs, struct ctl_node *node);
/* The control file's current node, made on first use. */
struct ctl_node *ctl_node_of(struct rfs *fs, const struct ctl_desc *desc);
/* Make @node the control file @desc's current node (attached). */
void ctl_node_install(struct rfs *fs, struct ctl_node *node,
		      const struct ctl_desc *desc);
/* The control file's node stops being it (the root's reference stays). */
void ctl_node_uninstall(struct rfs *fs, struct ctl_node *node);
/* Take a node out of the root; it lives on while used. */
void ctl_detach(struct rfs *fs, struct ctl_node *node);
/* Describe a node to the kernel, counting one lookup. */
int ctl_entry(struct rfs *fs, struct ctl_node *node,
	      struct fuse_entry_param *e);
int ctl_getattr_node(struct rfs *fs, struct ctl_node *node, struct stat *st);
/* A control file's value as bytes, kernel and dtb included. */
int ctl_value_bytes(struct rfs *fs, const struct ctl_desc *desc,
		    struct buf *out);
/* Open a handle on @node (control or temporary). */
int ctl_handle_open(struct rfs *fs, struct ctl_node *node, int flags,
		    struct ctl_handle **hp);
void ctl_handle_close(struct rfs *fs, struct ctl_handle *h);
void ctl_free_all(struct rfs *fs);

extern const struct rfs_kind rfs_ctl_value_kind;
extern const struct rfs_kind rfs_ctl_run_kind;
extern const struct rfs_kind rfs_ctl_text_kind;

#endif
