// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Mount options: one fuse_opt table for rpifs's own (machine=, ssh=, uid=,
 * gid=, umask=, dmask=, fmask=, quiet, ro); everything else passes through
 * to FUSE untouched.
 */
#include "rfs.h"
#include "../common/log.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
	KEY_KEEP,
	KEY_RO,
	KEY_UMASK,
	KEY_DEBUG,
};

#define RFS_OPT(t, field, v) { t, offsetof(struct rfs_options, field), v }

static const struct fuse_opt rfs_opt_table[] = {
	RFS_OPT("machine=%s", machine, 0),
	RFS_OPT("ssh=%u", ssh_port, 0),
	RFS_OPT("uid=%u", uid, 0),
	RFS_OPT("gid=%u", gid, 0),
	RFS_OPT("dmask=%o", dmask, 0),
	RFS_OPT("fmask=%o", fmask, 0),
	RFS_OPT("quiet", quiet, 1),
	FUSE_OPT_KEY("ro", KEY_RO),
	FUSE_OPT_KEY("umask=", KEY_UMASK),
	FUSE_OPT_KEY("debug", KEY_DEBUG),
	FUSE_OPT_KEY("-d", KEY_DEBUG),
	FUSE_OPT_END,
};

static int process(void *data, const char *arg, int key,
		   struct fuse_args *outargs)
{
	struct rfs_options *opt = data;
	unsigned mask;

	(void)outargs;
	switch (key) {
	case KEY_RO:
		opt->read_only = 1;
		return 1; /* FUSE makes the mount read-only too */
	case KEY_UMASK:
		if (sscanf(arg, "umask=%o", &mask) != 1 || mask > 0777) {
			rpifs_log(RPIFS_ERR, "%s: give an octal mask such as umask=022",
				  arg);
			return -1;
		}
		opt->fmask = opt->dmask = mask;
		return 0;
	case KEY_DEBUG:
		opt->debug = 1;
		return 1;
	default:
		return 1;
	}
}

int rfs_options_parse(struct fuse_args *args, struct rfs_options *opt)
{
	mode_t old = umask(0);

	umask(old);
	/* The defaults of Linux's vfat: the mounting user and umask. */
	opt->uid = getuid();
	opt->gid = getgid();
	opt->fmask = opt->dmask = old;

	if (fuse_opt_parse(args, opt, rfs_opt_table, process) != 0)
		return -1;
	if (opt->machine && strcmp(opt->machine, "raspi4b") != 0 &&
	    strcmp(opt->machine, "raspi3b") != 0) {
		rpifs_log(RPIFS_ERR,
			  "machine=%s: rpifs emulates raspi4b (the default) or raspi3b",
			  opt->machine);
		return -1;
	}
	if (opt->ssh_port > 65535) {
		rpifs_log(RPIFS_ERR, "ssh=%u: a TCP port is 1 to 65535",
			  opt->ssh_port);
		return -1;
	}
	if (opt->fmask > 0777 || opt->dmask > 0777) {
		rpifs_log(RPIFS_ERR, "fmask and dmask are octal, at most 777");
		return -1;
	}
	return 0;
}
