// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Mount options: one fuse_opt table for the whole command line (-f, -d,
 * -h, the IMAGE and DIR arguments, and every -o option: machine=, root=,
 * new_owner=, uid=, gid=, umask=, dmask=, fmask=, quiet, ro, and the
 * network's net=, ssh=, hostfwd=, guestfwd=). rpifs's own options are
 * checked here, each refusal one sentence; an option neither rpifs nor
 * FUSE knows is refused here too, not by libfuse's three lines.
 */
#include "rfs.h"
#include "../common/log.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
	KEY_FOREGROUND,
	KEY_DEBUG,
	KEY_HELP,
	KEY_RO,
	KEY_UMASK,
	KEY_UID,
	KEY_GID,
	KEY_MACHINE,
	KEY_STOP_TIMEOUT,
	KEY_TCG,
	KEY_QEMU_ARGS,
	KEY_ROOT,
	KEY_NEW_OWNER,
	KEY_IGNORED,
	KEY_REFUSED,
	/* the guest's network */
	KEY_SSH,
	KEY_NET,
	KEY_HOSTFWD,
	KEY_GUESTFWD,
};

#define RFS_OPT(t, field, v)                                                   \
	{                                                                      \
		t, offsetof(struct rfs_options, field), v                      \
	}

static const struct fuse_opt table[] = {
	RFS_OPT("snapshot", snapshot, 1),
	RFS_OPT("dmask=%o", dmask, 0),
	RFS_OPT("fmask=%o", fmask, 0),
	RFS_OPT("quiet", quiet, 1),
	FUSE_OPT_KEY("uid=", KEY_UID),
	FUSE_OPT_KEY("gid=", KEY_GID),
	FUSE_OPT_KEY("machine=", KEY_MACHINE),
	FUSE_OPT_KEY("stop_timeout=", KEY_STOP_TIMEOUT),
	FUSE_OPT_KEY("tcg=", KEY_TCG),
	FUSE_OPT_KEY("qemu_args=", KEY_QEMU_ARGS),
	FUSE_OPT_KEY("root=", KEY_ROOT),
	FUSE_OPT_KEY("new_owner=", KEY_NEW_OWNER),
	FUSE_OPT_KEY("default_permissions", KEY_REFUSED),
	FUSE_OPT_KEY("ro", KEY_RO),
	FUSE_OPT_KEY("umask=", KEY_UMASK),
	FUSE_OPT_KEY("debug", KEY_DEBUG),
	FUSE_OPT_KEY("-d", KEY_DEBUG),
	FUSE_OPT_KEY("-f", KEY_FOREGROUND),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	/* What mount(8) and fstab pass that is not for FUSE. */
	FUSE_OPT_KEY("defaults", KEY_IGNORED),
	FUSE_OPT_KEY("user", KEY_IGNORED),
	FUSE_OPT_KEY("users", KEY_IGNORED),
	FUSE_OPT_KEY("nouser", KEY_IGNORED),
	FUSE_OPT_KEY("auto", KEY_IGNORED),
	FUSE_OPT_KEY("noauto", KEY_IGNORED),
	FUSE_OPT_KEY("nofail", KEY_IGNORED),
	FUSE_OPT_KEY("_netdev", KEY_IGNORED),
	FUSE_OPT_KEY("rw", KEY_IGNORED),
	/* The guest's network. */
	FUSE_OPT_KEY("ssh=", KEY_SSH),
	FUSE_OPT_KEY("net=", KEY_NET),
	FUSE_OPT_KEY("hostfwd=", KEY_HOSTFWD),
	FUSE_OPT_KEY("guestfwd=", KEY_GUESTFWD),
	FUSE_OPT_END,
};

/* Mount options FUSE takes (libfuse's own, and the kernel's flags). */
static bool fuse_knows(const char *opt)
{
	static const char *const exact[] = {
		"allow_other", "allow_root",  "auto_unmount",  "dev",
		"nodev",       "suid",	      "nosuid",	       "exec",
		"noexec",      "async",	      "sync",	       "dirsync",
		"atime",       "noatime",     "nodiratime",    "relatime",
		"norelatime",  "strictatime", "nostrictatime", "lazytime",
		"nolazytime",  "blkdev",
	};
	static const char *const prefixes[] = {
		"max_read=", "fsname=", "subtype=", "x-", "comment=",
	};

	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (strcmp(opt, exact[i]) == 0)
			return true;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(opt, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

/* A number in @text after "name=": @return 0, or -1 with a message. */
static int number(const char *arg, unsigned long max, unsigned long *out)
{
	const char *v = strchr(arg, '=') + 1;
	char *end;

	errno = 0;
	*out = strtoul(v, &end, 10);
	if (!*v || *end || errno || *out > max || v[0] == '-') {
		rpifs_log(RPIFS_ERR, "%s: give a number from 0 to %lu (%.*sN)",
			  arg, max, (int)(v - arg), arg);
		return -1;
	}
	return 0;
}

static int positional(struct rfs_options *opt, const char *arg)
{
	char **slot = !opt->image ? &opt->image : !opt->dir ? &opt->dir : NULL;

	if (!slot) {
		rpifs_log(RPIFS_ERR,
			  "mount: one IMAGE and one DIR, not '%s' too "
			  "(" RFS_MOUNT_USAGE ")",
			  arg);
		return -1;
	}
	*slot = strdup(arg);
	return *slot ? 0 : -1;
}

/* ---- the guest's network: net=, ssh=, hostfwd=, guestfwd= ---- */

/* A forward rule, appended to @list. @return 0 or -1 with a message. */
static int net_forward(struct net_forward *list, unsigned *count, bool guestfwd,
		       const char *arg)
{
	const char *spec = strchr(arg, '=') + 1;
	char err[256];

	if (*count == NET_MAX_FORWARDS) {
		rpifs_log(RPIFS_ERR, "%s: at most %d %s rules", arg,
			  NET_MAX_FORWARDS, guestfwd ? "guestfwd" : "hostfwd");
		return -1;
	}
	if (net_forward_parse(spec, guestfwd, &list[*count], err,
			      sizeof(err))) {
		rpifs_log(RPIFS_ERR, "%.*s%s", (int)(spec - arg), arg, err);
		return -1;
	}
	(*count)++;
	return 0;
}

static int net_option(struct net_config *net, int key, const char *arg)
{
	const char *value = strchr(arg, '=') + 1;
	unsigned long n;
	char *end;

	switch (key) {
	case KEY_NET:
		if (net_mode_parse(value, &net->mode)) {
			rpifs_log(
				RPIFS_ERR,
				"%s: give net=user, net=restricted or net=none",
				arg);
			return -1;
		}
		return 0;
	case KEY_HOSTFWD:
		return net_forward(net->hostfwd, &net->hostfwd_count, false,
				   arg);
	case KEY_GUESTFWD:
		return net_forward(net->guestfwd, &net->guestfwd_count, true,
				   arg);
	default: /* KEY_SSH */
		net->ssh_auto = strcmp(value, "auto") == 0;
		net->ssh_port = 0;
		if (net->ssh_auto)
			return 0;
		errno = 0;
		n = strtoul(value, &end, 10);
		if (!*value || *end || errno || n == 0 || n > 65535 ||
		    value[0] == '-') {
			rpifs_log(RPIFS_ERR,
				  "%s: give ssh=PORT (1 to 65535) or ssh=auto",
				  arg);
			return -1;
		}
		net->ssh_port = (unsigned)n;
		return 0;
	}
}

/* ---- the command line ---- */

struct choice {
	const char *word; /* the whole option, "root=rw" */
	int value;
};

/* An option that takes one of a few words; @hint lists them. */
static int choose(const char *arg, const struct choice *c, size_t n,
		  const char *hint, int *value)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(arg, c[i].word) == 0) {
			*value = c[i].value;
			return 0;
		}
	rpifs_log(RPIFS_ERR, "%s: give %s", arg, hint);
	return -1;
}

#define N_CHOICES(c) (sizeof(c) / sizeof((c)[0]))

static const struct choice new_owner_words[] = {
	{"new_owner=dir", 0},
	{"new_owner=caller", 1},
};
static const struct choice root_words[] = {
	{"root=rw", RFS_ROOT_RW},
	{"root=ro", RFS_ROOT_RO},
	{"root=off", RFS_ROOT_OFF},
};
static const struct choice tcg_words[] = {
	{"tcg=single", TCG_SINGLE},
	{"tcg=multi", TCG_MULTI},
	{"tcg=auto", TCG_AUTO},
};

/* An option FUSE is to see, or one neither FUSE nor rpifs knows. */
static int other_option(const char *arg)
{
	if (arg[0] == '-') {
		rpifs_log(RPIFS_ERR,
			  "mount: unknown option %s (" RFS_MOUNT_USAGE ")",
			  arg);
		return -1;
	}
	if (!fuse_knows(arg)) {
		rpifs_log(RPIFS_ERR,
			  "-o %s: not an option rpifs or FUSE knows "
			  "(see rpifs --help)",
			  arg);
		return -1;
	}
	return 1;
}

static int stop_timeout_option(struct rfs_options *opt, const char *arg)
{
	unsigned long n;

	if (number(arg, 3600, &n))
		return -1;
	if (n == 0) {
		rpifs_log(RPIFS_ERR,
			  "%s: give the seconds a stop waits for the "
			  "guest to shut down (1 to 3600; rpifs stop "
			  "--force cuts the power at once)",
			  arg);
		return -1;
	}
	opt->stop_timeout = (unsigned)n;
	return 0;
}

/* qemu_args=FILE: read and checked now, so that a bad one fails the mount. */
static int qemu_args_option(struct rfs_options *opt, const char *arg)
{
	char path[PATH_MAX], err[512], **extra;

	arg += strlen("qemu_args=");
	if (!realpath(arg, path)) {
		rpifs_log(RPIFS_ERR,
			  "qemu_args=%s: %s: give a file with one QEMU "
			  "argument per line",
			  arg, strerror(errno));
		return -1;
	}
	if (qemu_extra_load(path, &extra, err, sizeof(err))) {
		rpifs_log(RPIFS_ERR, "%s", err);
		return -1;
	}
	qemu_argv_free(extra);
	free(opt->qemu_args);
	opt->qemu_args = strdup(path);
	return opt->qemu_args ? 0 : -1;
}

static int id_option(struct rfs_options *opt, const char *arg, int key)
{
	unsigned long n;

	if (number(arg, 0xfffffffeul, &n))
		return -1;
	if (key == KEY_UID)
		opt->uid = (uid_t)n;
	else
		opt->gid = (gid_t)n;
	return 0;
}

static int umask_option(struct rfs_options *opt, const char *arg)
{
	unsigned mask;

	if (sscanf(arg, "umask=%o", &mask) != 1 || mask > 0777) {
		rpifs_log(RPIFS_ERR, "%s: give an octal mask such as umask=022",
			  arg);
		return -1;
	}
	opt->fmask = opt->dmask = mask;
	return 0;
}

static int machine_option(struct rfs_options *opt, const char *arg)
{
	if (board_from_name(arg + strlen("machine="), &opt->board)) {
		rpifs_log(RPIFS_ERR, "%s: rpifs emulates %s", arg,
			  board_names());
		return -1;
	}
	opt->board_explicit = true;
	return 0;
}

/* fuse_opt's callback: 0 takes the argument, 1 passes it to FUSE. */
static int process(void *data, const char *arg, int key,
		   struct fuse_args *outargs)
{
	struct rfs_options *opt = data;
	int v;

	(void)outargs;
	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		return positional(opt, arg) ? -1 : 0;
	case FUSE_OPT_KEY_OPT:
		return other_option(arg);
	case KEY_FOREGROUND:
		opt->foreground = 1;
		return 0;
	case KEY_DEBUG:
		opt->foreground = opt->debug = 1;
		return 1; /* FUSE traces every request */
	case KEY_HELP:
		opt->help = 1;
		return 0;
	case KEY_RO:
		/* Not for the kernel: run must take a start (a throwaway
		   boot); every kind of node refuses writes itself. */
		opt->read_only = 1;
		return 0;
	case KEY_IGNORED:
		return 0;
	case KEY_REFUSED:
		rpifs_log(RPIFS_ERR,
			  "-o %s: rpifs checks permissions itself (root/'s "
			  "owners are the guest's); leave it out",
			  arg);
		return -1;
	case KEY_NEW_OWNER:
		if (choose(arg, new_owner_words, N_CHOICES(new_owner_words),
			   "new_owner=dir or new_owner=caller", &v))
			return -1;
		opt->new_owner_caller = v;
		return 0;
	case KEY_ROOT:
		if (choose(arg, root_words, N_CHOICES(root_words),
			   "root=rw, root=ro or root=off", &v))
			return -1;
		opt->root = v;
		return 0;
	case KEY_TCG:
		if (choose(arg, tcg_words, N_CHOICES(tcg_words),
			   "tcg=single, tcg=multi or tcg=auto", &v))
			return -1;
		opt->tcg = v;
		return 0;
	case KEY_UMASK:
		return umask_option(opt, arg);
	case KEY_UID:
	case KEY_GID:
		return id_option(opt, arg, key);
	case KEY_MACHINE:
		return machine_option(opt, arg);
	case KEY_SSH:
	case KEY_NET:
	case KEY_HOSTFWD:
	case KEY_GUESTFWD:
		return net_option(&opt->net, key, arg);
	case KEY_STOP_TIMEOUT:
		return stop_timeout_option(opt, arg);
	case KEY_QEMU_ARGS:
		return qemu_args_option(opt, arg);
	default:
		return 1;
	}
}

int rfs_options_parse(int argc, char **argv, struct rfs_options *opt,
		      struct fuse_args *fuse)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	mode_t old = umask(0);
	char err[256];
	int ret = 0;

	umask(old);
	/* The defaults of Linux's vfat: the mounting user and umask. */
	opt->uid = getuid();
	opt->gid = getgid();
	opt->fmask = opt->dmask = old;
	opt->board = BOARD_RASPI4B;

	/* fuse_opt_parse appends what FUSE is to see to @fuse. */
	if (fuse_opt_parse(&args, opt, table, process) != 0) {
		ret = 2;
	} else {
		for (int i = 1; i < args.argc; i++)
			if (fuse_opt_add_arg(fuse, args.argv[i]))
				ret = 2;
	}
	fuse_opt_free_args(&args);
	if (ret || opt->help)
		return ret;
	if (!opt->image || !opt->dir) {
		rpifs_log(RPIFS_ERR, "mount: %s (" RFS_MOUNT_USAGE ")",
			  !opt->image ? "which image and which directory?"
				      : "on which directory?");
		return 2;
	}
	if (opt->fmask > 0777 || opt->dmask > 0777) {
		rpifs_log(RPIFS_ERR, "fmask and dmask are octal, at most 777");
		return 2;
	}
	if (net_check(&opt->net, err, sizeof(err))) {
		rpifs_log(RPIFS_ERR, "%s", err);
		return 2;
	}
	return 0;
}

void rfs_options_free(struct rfs_options *opt)
{
	free(opt->qemu_args);
	opt->qemu_args = NULL;
	free(opt->image);
	free(opt->dir);
	opt->image = opt->dir = NULL;
}
