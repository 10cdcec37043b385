// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rpifs mount: check the arguments, open and lock the image, mount its
 * boot partition's FAT, mount FUSE, detach (unless -f) once the mount
 * exists, serve requests, and on unmount or a signal stop a running guest,
 * flush everything and mark the FAT clean.
 */
#include "mount.h"
#include "ctl.h"
#include "ext.h"
#include "run.h"
#include "../common/log.h"
#include "../common/mounts.h"
#include "../launcher/launcher.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern const struct fuse_lowlevel_ops rfs_ops;

static void fuse_log_to_rpifs(enum fuse_log_level level, const char *fmt,
			      va_list ap)
{
	char msg[1024];
	size_t len;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	len = strlen(msg);
	while (len > 0 && msg[len - 1] == '\n')
		msg[--len] = '\0';
	rpifs_log(level <= FUSE_LOG_ERR	      ? RPIFS_ERR
		  : level <= FUSE_LOG_WARNING ? RPIFS_WARN
		  : level <= FUSE_LOG_INFO    ? RPIFS_INFO
					      : RPIFS_DEBUG,
		  "%s", msg);
}

/* Where this image's boots and log are kept (launcher/runs.c). */
static void state_dir(struct rfs *fs)
{
	runs_state_dir(fs->image_path, fs->state_dir, sizeof(fs->state_dir));
}

int rfs_daemon_log(struct rfs *fs, char *path, size_t size)
{
	int ret = runs_prepare(fs->state_dir, fs->image_path);

	if (ret) {
		errno = -ret;
		return -1;
	}
	snprintf(path, size, "%s/daemon.log", fs->state_dir);
	return 0;
}

/* Lock the image against a second rpifs and QEMU; say who has it. */
static int lock_image(struct rfs *fs)
{
	struct mount_entry m;
	char err[512];
	int ret = part_lock_mount(fs->img, err, sizeof(err));

	if (!ret)
		return 0;
	if (ret == -EBUSY && mounts_find(NULL, fs->image_path, &m))
		rpifs_log(RPIFS_ERR,
			  "%s is already mounted at %s: unmount it first "
			  "(rpifs umount %s)",
			  fs->image_path, m.mountpoint, m.mountpoint);
	else
		rpifs_log(RPIFS_ERR, "%s", err);
	return 1;
}

static int mount_boot(struct rfs *fs)
{
	const struct part_entry *boot = part_boot(fs->img);
	struct fat_info info;
	char err[512];
	int ret;

	fs->win = (struct fat_window){
		.fd = fs->img->fd,
		.offset = boot->start,
		.size = boot->size,
	};
	ret = fat_mount(&fs->vol, &fs->win,
			fs->opt.read_only ? FAT_MOUNT_RDONLY : 0, err,
			sizeof(err));
	if (ret == -ENOSPC) {
		rpifs_log(RPIFS_ERR, "cannot mount %s read-write: %s (-o ro)",
			  fs->image_path, err);
		return 1;
	}
	if (ret) {
		rpifs_log(RPIFS_ERR,
			  "the boot partition (%u) of %s is not a usable FAT "
			  "file system: %s%s",
			  boot->number, fs->image_path, err,
			  ret == -EUCLEAN ? "; check it with fsck.fat" : "");
		return 1;
	}
	fat_get_info(fs->vol, &info);
	if (info.was_dirty)
		rpifs_log(RPIFS_WARN,
			  "the boot partition of %s was not cleanly unmounted; "
			  "fsck.fat -n can check it",
			  fs->image_path);
	return 0;
}

/* Open the image and its boot partition; @return 0 or an exit status. */
static int open_image(struct rfs *fs)
{
	char err[512];

	if (part_open(fs->image_path,
		      PART_OPEN_QUICK |
			      (fs->opt.read_only ? PART_OPEN_RDONLY : 0),
		      &fs->img, err, sizeof(err))) {
		rpifs_log(RPIFS_ERR, "%s", err);
		return 1;
	}
	if (fs->img->forced_read_only) {
		rpifs_log(RPIFS_WARN, "%s is read-only: mounting read-only",
			  fs->image_path);
		fs->opt.read_only = 1;
	}
	if (lock_image(fs) || mount_boot(fs))
		return 1;
	rfs_root_open(fs);
	return 0;
}

static int add_mount_options(struct rfs *fs, struct fuse_args *args)
{
	char *mo = NULL, *fsname = NULL;
	int ret = fuse_opt_add_opt_escaped(&fsname, fs->image_path);

	if (!ret)
		ret = asprintf(&mo, "fsname=%s,subtype=rpifs", fsname) < 0;
	/* Not the kernel's ro even for -o ro: run must still take a start
	   (a read-only mount boots throwaway); each kind refuses writes. */
	/* No default_permissions: rpifs checks permissions itself (access.c),
	   since root/'s owners are the guest's. */
	if (!ret)
		ret = fuse_opt_add_arg(args, "-o");
	if (!ret)
		ret = fuse_opt_add_arg(args, mo);
	free(mo);
	free(fsname);
	return ret;
}

/*
 * /dev/fuse there but not open to this user (@err from access()): libfuse
 * then fails at once (it runs fusermount3 only when mount(2) is refused,
 * never when the device is), so installing fuse3 is no help; the mode is.
 */
static void explain_fuse_device(struct rfs *fs, int err)
{
	struct stat st;

	if (stat("/dev/fuse", &st) == 0 && (st.st_mode & 0006) != 0006)
		rpifs_log(RPIFS_ERR,
			  "cannot mount on %s: /dev/fuse is mode %04o, not "
			  "open to you; as root, chmod 0666 /dev/fuse (udev "
			  "does so on most systems; in a container, where the "
			  "device is passed in), or mount as root",
			  fs->mountpoint, (unsigned)(st.st_mode & 07777));
	else
		rpifs_log(RPIFS_ERR,
			  "cannot mount on %s: /dev/fuse is not open to you "
			  "(%s); every user needs to read and write it (as "
			  "root, chmod 0666 /dev/fuse)",
			  fs->mountpoint, strerror(err));
}

static void explain_mount_failure(struct rfs *fs)
{
	if (access("/dev/fuse", F_OK) != 0)
		rpifs_log(RPIFS_ERR,
			  "cannot mount on %s: there is no /dev/fuse; load the "
			  "module (modprobe fuse) or, in a container, pass the "
			  "device in",
			  fs->mountpoint);
	else if (access("/dev/fuse", R_OK | W_OK) != 0)
		explain_fuse_device(fs, errno);
	else
		rpifs_log(RPIFS_ERR,
			  "cannot mount on %s (see the message above)",
			  fs->mountpoint);
}

static int serve(struct rfs *fs, struct fuse_args *args)
{
	struct fuse_loop_config *cfg;
	char log[PATH_MAX + 16];
	int ret = 1;

	if (add_mount_options(fs, args)) {
		rpifs_log(RPIFS_ERR, "out of memory");
		return 1;
	}
	fs->se = fuse_session_new(args, &rfs_ops, sizeof(rfs_ops), fs);
	if (!fs->se)
		return 1;
	if (fuse_set_signal_handlers(fs->se) != 0)
		goto out_session;
	/* Said in one line, before libfuse adds its own errno. */
	if (access("/dev/fuse", R_OK | W_OK) != 0) {
		explain_mount_failure(fs);
		goto out_signals;
	}
	if (fuse_session_mount(fs->se, fs->mountpoint) != 0) {
		explain_mount_failure(fs);
		goto out_signals;
	}
	if (fuse_daemonize(fs->opt.foreground) != 0)
		goto out_unmount;
	if (!fs->opt.foreground) {
		rpifs_log_use_syslog(true);
		/* Where a user can read it whether or not syslog runs. */
		if (rfs_daemon_log(fs, log, sizeof(log)) == 0 &&
		    rpifs_log_to_file(log, DAEMON_LOG_MAX) != 0)
			rpifs_log(RPIFS_WARN, "no daemon log at %s: %s", log,
				  strerror(errno));
		rpifs_log(RPIFS_INFO, "rpifs %s (pid %d): %s mounted on %s",
			  RPIFS_VERSION, (int)getpid(), fs->image_path,
			  fs->mountpoint);
	}
	/* Threads only now: fuse_daemonize forked. */
	if (run_init(fs) != 0)
		rpifs_log(
			RPIFS_ERR,
			"the launcher did not start: booting is not possible");

	cfg = fuse_loop_cfg_create();
	if (!cfg)
		goto out_unmount;
	fuse_loop_cfg_set_clone_fd(cfg, 0);
	fuse_loop_cfg_set_idle_threads(cfg, 4);
	ret = fuse_session_loop_mt(fs->se, cfg) ? 1 : 0;
	fuse_loop_cfg_destroy(cfg);
	/* A running guest is stopped before anything else lets go. */
	run_shutdown(fs);
	if (!fs->opt.foreground)
		rpifs_log(RPIFS_INFO, "%s: unmounted", fs->mountpoint);
out_unmount:
	fuse_session_unmount(fs->se);
out_signals:
	fuse_remove_signal_handlers(fs->se);
out_session:
	fuse_session_destroy(fs->se);
	fs->se = NULL;
	return ret;
}

/* The image and mount point, canonical; @return 0 or an exit status. */
static int resolve_paths(struct rfs *fs)
{
	char path[PATH_MAX];
	struct mount_entry m;
	struct stat st;

	if (!realpath(fs->opt.image, path)) {
		rpifs_log(RPIFS_ERR, "%s: %s", fs->opt.image,
			  errno == ENOENT ? "no such file: check the path"
					  : strerror(errno));
		return 1;
	}
	fs->image_path = strdup(path);
	if (!realpath(fs->opt.dir, path)) {
		rpifs_log(RPIFS_ERR, "%s: %s", fs->opt.dir,
			  errno == ENOENT ? "no such directory: create it "
					    "first (mkdir -p DIR)"
					  : strerror(errno));
		return 1;
	}
	fs->mountpoint = strdup(path);
	if (!fs->image_path || !fs->mountpoint) {
		rpifs_log(RPIFS_ERR, "out of memory");
		return 1;
	}
	if (stat(fs->mountpoint, &st) == 0 && !S_ISDIR(st.st_mode)) {
		rpifs_log(RPIFS_ERR,
			  "%s is not a directory: mount on an empty directory "
			  "(mkdir DIR)",
			  fs->mountpoint);
		return 1;
	}
	if (mounts_find(fs->mountpoint, NULL, &m) &&
	    strcmp(m.fstype, RPIFS_FSTYPE) == 0) {
		rpifs_log(RPIFS_ERR,
			  "%s is already an rpifs mount (of %s): unmount it "
			  "first (rpifs umount %s)",
			  fs->mountpoint, m.source, fs->mountpoint);
		return 1;
	}
	return 0;
}

static void shut(struct rfs *fs, int *ret)
{
	ctl_free_all(fs);
	if (fs->ext && rfs_root_close(fs))
		*ret = 1;
	rfs_ext_forget_all(fs);
	if (fs->vol) {
		int err = fat_unmount(fs->vol);

		if (err) {
			rpifs_log(
				RPIFS_ERR,
				"flushing the boot partition of %s failed: %s",
				fs->image_path, strerror(-err));
			*ret = 1;
		}
	}
	part_close(fs->img);
}

int rfs_mount_main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct rfs *fs = calloc(1, sizeof(*fs));
	int ret = 1;

	if (!fs || fuse_opt_add_arg(&args, "rpifs")) {
		rpifs_log(RPIFS_ERR, "out of memory");
		free(fs);
		return 1;
	}
	ret = rfs_options_parse(argc, argv, &fs->opt, &args);
	if (ret || fs->opt.help) {
		if (fs->opt.help)
			printf(RFS_MOUNT_USAGE
			       "\n(rpifs --help lists the options)\n");
		goto out;
	}
	ret = 1;
	if (fs->opt.debug)
		rpifs_log_set_level(RPIFS_DEBUG);
	fuse_set_log_func(fuse_log_to_rpifs);
	if (resolve_paths(fs))
		goto out;
	fs->ctl = calloc(ctl_count(), sizeof(*fs->ctl));
	if (!fs->ctl)
		goto out;
	pthread_mutex_init(&fs->lock, NULL);
	fs->root.kind = &rfs_root_kind;
	fs->owner_uid = getuid();
	fs->board = fs->opt.board;
	state_dir(fs);
	clock_gettime(CLOCK_REALTIME, &fs->mount_time);

	ret = open_image(fs);
	if (ret == 0)
		ret = serve(fs, &args);
	shut(fs, &ret);
	pthread_mutex_destroy(&fs->lock);
out:
	fuse_opt_free_args(&args);
	rfs_options_free(&fs->opt);
	free(fs->ctl);
	free(fs->image_path);
	free(fs->mountpoint);
	free(fs);
	return ret;
}
