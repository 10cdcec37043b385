/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The FUSE adapter's shared state: the mounted file system (struct rfs),
 * its inodes (the virtual root, FAT nodes, control files), open files, and
 * the functions the handlers in ops.c dispatch to. Only fs/ includes FUSE.
 */
#ifndef RPIFS_RFS_H
#define RPIFS_RFS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <pthread.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <time.h>

#include "../fat/fat.h"
#include "../launcher/config.h"
#include "../partition/partition.h"

struct rfs_options {
	char *machine;	   /* raspi4b or raspi3b; NULL: the default */
	unsigned ssh_port; /* 0: no forward */
	uid_t uid;
	gid_t gid;
	unsigned fmask;
	unsigned dmask;
	/* ints: fuse_opt stores int-sized values */
	int quiet;	   /* chmod/chown that FAT cannot store succeed */
	int read_only;
	int foreground;
	int debug;
};

enum rfs_kind {
	RFS_ROOT, /* the mount's root: boot/ and the control files */
	RFS_FAT,  /* a file or directory of the boot partition */
	RFS_CTL,  /* a control file or a temporary file in the root */
};

struct ctl_node;
struct ctl_handle;

struct rfs_inode {
	enum rfs_kind kind;
	uint64_t nlookup; /* the kernel's references */
	struct fat_node *fat;
	uint64_t gen;	  /* the volume generation @fat belongs to */
	struct ctl_node *ctl;
};

/* An open file or directory (fuse_file_info.fh). */
struct rfs_file {
	enum rfs_kind kind;
	struct fat_node *fat; /* referenced while open */
	uint64_t gen;
	/* Sequential reads: where the last read ended, and how far the
	 * image's page cache has been asked to read ahead. */
	uint64_t next_off, ahead_until;
	struct ctl_node *ctl;
	struct ctl_handle *handle;
};

struct rfs {
	pthread_mutex_t lock; /* held around every operation */
	struct rfs_options opt;
	char *image_path;
	char *mountpoint;
	struct part_image *img;
	struct fat_window win;
	struct fat_vol *vol;
	struct fuse_session *se;
	struct rfs_inode root;
	struct timespec mount_time;
	/*
	 * The volume is read again after each boot (the guest may have
	 * changed it); nodes of an older generation are stale.
	 */
	uint64_t vol_gen;
	enum board board;	/* the board the next boot uses */
	bool board_explicit;	/* asked for with -o machine= */
	struct launcher *launcher;
	char state_dir[4096];	/* $XDG_STATE_HOME/rpifs/IMAGE-KEY */
	bool unmounting;
	bool told_read_only;	/* logged why writes fail while it runs */
	/* Control files: the current node of each, and temporary files. */
	struct ctl_node *ctl[7]; /* by enum ctl_kind */
	struct ctl_node *temps;
	size_t temp_bytes;
	uint64_t next_temp_ino;
	/* Kernel cache invalidations to send once the lock is released. */
	struct rfs_notify *notify;
	size_t notify_count;
	size_t notify_cap;
};

struct rfs_notify {
	fuse_ino_t parent; /* entry: parent and name; inode: parent == 0 */
	fuse_ino_t ino;
	char *name;
};

/* Directory listing buffer for readdir and readdirplus. */
struct rfs_dirbuf {
	fuse_req_t req;
	bool plus;
	char *buf;
	size_t size;
	size_t used;
};

/* ---- options.c ---- */

/* Parse "-o" options: ours into @opt, the rest left in @args for FUSE. */
int rfs_options_parse(struct fuse_args *args, struct rfs_options *opt);

/* ---- inode.c ---- */

struct rfs_inode *rfs_inode(struct rfs *fs, fuse_ino_t ino);
fuse_ino_t rfs_ino(struct rfs *fs, const struct rfs_inode *inode);
/*
 * Describe @node for a lookup reply, counting one kernel reference.
 * The caller's reference on @node is consumed.
 */
int rfs_fat_entry(struct rfs *fs, struct fat_node *node,
		  struct fuse_entry_param *e);
void rfs_forget(struct rfs *fs, struct rfs_inode *inode, uint64_t nlookup);
void rfs_fat_stat(struct rfs *fs, struct fat_node *node, struct stat *st);
int rfs_getattr(struct rfs *fs, struct rfs_inode *inode, struct stat *st);
double rfs_entry_timeout(void);

/* Add one entry; @return 1 when the buffer is full (entry not added). */
int rfs_dirbuf_add(struct rfs_dirbuf *db, const char *name,
		   const struct fuse_entry_param *e, off_t next);

/* ---- root.c ---- */

int rfs_root_lookup(struct rfs *fs, const char *name,
		    struct fuse_entry_param *e);
int rfs_root_readdir(struct rfs *fs, struct rfs_dirbuf *db, off_t off);
void rfs_root_stat(struct rfs *fs, struct stat *st);

/* ---- boot.c: the FAT tree ---- */

int rfs_boot_lookup(struct rfs *fs, struct fat_node *dir, const char *name,
		    struct fuse_entry_param *e);
int rfs_boot_readdir(struct rfs *fs, struct fat_node *dir,
		     struct rfs_dirbuf *db, off_t off);
int rfs_boot_open(struct rfs *fs, struct fat_node *node, int flags,
		  struct rfs_file **filep);
void rfs_file_close(struct rfs *fs, struct rfs_file *file);
/* Read into a buffer vector of image ranges (zero copy). */
int rfs_boot_read(struct rfs *fs, struct rfs_file *file, size_t size,
		  off_t off, struct fuse_bufvec **bufvp);
int rfs_boot_statfs(struct rfs *fs, struct statvfs *st);
int rfs_boot_setattr(struct rfs *fs, struct fat_node *node,
		     const struct stat *attr, int to_set);
/* Create a file or (S_IFDIR) a directory and describe it for the kernel. */
int rfs_boot_create(struct rfs *fs, struct fat_node *dir, const char *name,
		    mode_t mode, struct fuse_entry_param *e);
ssize_t rfs_boot_write(struct rfs *fs, struct fat_node *node, const char *buf,
		       size_t size, off_t off);

/* ---- ops.c ---- */

extern const struct fuse_lowlevel_ops rfs_ops;

/* ---- run.c ---- */

/* Start the launcher (after daemonizing) and stop it (at unmount). */
int run_init(struct rfs *fs);
void run_shutdown(struct rfs *fs);
/* Boot the image now; @return 0 or -errno with the reason logged. */
int run_start(struct rfs *fs);
int run_stop(struct rfs *fs);
/* Whether a guest owns the image now. */
bool run_active(struct rfs *fs);
/* -EROFS, logging once per boot why, while a guest runs; else 0. */
int run_check_writable(struct rfs *fs);
/* The run file's one line. */
void run_state_line(struct rfs *fs, char *buf, size_t size);

/* The FAT node of an inode or open file, NULL when stale. */
struct fat_node *rfs_fat(struct rfs *fs, const struct rfs_inode *inode);
struct fat_node *rfs_file_fat(struct rfs *fs, const struct rfs_file *file);

/* ---- mount.c ---- */

/* rpifs mount [-f] [-o OPTS] IMAGE DIR */
int rfs_mount_main(int argc, char **argv);

#endif
