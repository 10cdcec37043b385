/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rpifs mount's command line: -f, -d, -h and -o options parsed in one
 * fuse_opt table, rpifs's own options checked with a sentence each, the
 * rest handed to FUSE only when FUSE knows them.
 */
#ifndef RPIFS_OPTIONS_H
#define RPIFS_OPTIONS_H

#include <stdbool.h>
#include <sys/types.h>

#include "../launcher/net.h"
#include "../launcher/qemu.h"
#include "../pi/board.h"

struct fuse_args;

enum rfs_root_mode {
	RFS_ROOT_RW, /* the default */
	RFS_ROOT_RO,
	RFS_ROOT_OFF, /* no root/ */
};

struct rfs_options {
	char *image; /* the arguments, as given */
	char *dir;
	enum board board; /* -o machine=, else raspi4b */
	bool board_explicit;
	unsigned stop_timeout; /* s an orderly stop waits (0: the default) */
	enum tcg_mode tcg;     /* -o tcg=single|multi, else auto */
	char *qemu_args;       /* -o qemu_args=FILE, made absolute; or NULL */
	enum rfs_root_mode root;
	int new_owner_caller; /* root/: new files are their maker's */
	uid_t uid;
	gid_t gid;
	unsigned fmask;
	unsigned dmask;
	/* ints: fuse_opt stores int-sized values */
	int quiet; /* chmod/chown that FAT cannot store succeed */
	int read_only;
	int snapshot; /* boots discard the guest's writes */
	int foreground;
	int debug;
	int help;

	/* ---- the guest's network: net=, ssh=, hostfwd=, guestfwd= ---- */
	struct net_config net;
};

/* The usage line of rpifs mount. */
#define RFS_MOUNT_USAGE "usage: rpifs mount [-f] [-d] [-o OPTIONS] IMAGE DIR"

/*
 * Parse rpifs mount's arguments (argv[0] is "mount") into @opt, and the
 * options meant for FUSE into @fuse (which starts with a program name).
 * @return 0, or 2 for a usage error, said in one line.
 */
int rfs_options_parse(int argc, char **argv, struct rfs_options *opt,
		      struct fuse_args *fuse);
void rfs_options_free(struct rfs_options *opt);

#endif
