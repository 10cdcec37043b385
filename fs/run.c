// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Booting from the mount: touch run (or "start" written to it) flushes the
 * FAT and hands it over clean, snapshots what config.txt selects, grows
 * the image to a power of two, applies the command line's adjustments,
 * lets go of the lock bytes QEMU checks, and starts QEMU through the
 * launcher. While the guest runs, boot/ and the control files are
 * read-only. When it stops, the locks come back and the boot partition is
 * read again from disk, since the guest may have changed it.
 */
#include "ctl.h"
#include "../common/log.h"
#include "../launcher/cmdline.h"
#include "../launcher/launcher.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define BLOB_MAX (256u * 1024 * 1024)

struct fat_node *rfs_fat(struct rfs *fs, const struct rfs_inode *inode)
{
	return inode->kind == RFS_FAT && inode->gen == fs->vol_gen ? inode->fat
								    : NULL;
}

struct fat_node *rfs_file_fat(struct rfs *fs, const struct rfs_file *file)
{
	return file->fat && file->gen == fs->vol_gen ? file->fat : NULL;
}

/*
 * Read the boot partition again (lock held): every node of the old
 * volume becomes stale, the kernel forgets boot/'s dentries.
 */
static void reload(struct rfs *fs)
{
	struct fat_vol *fresh = NULL;
	char err[256];
	int ret;

	ret = fat_mount(&fresh, &fs->win,
			fs->opt.read_only ? FAT_MOUNT_RDONLY : 0, err, sizeof(err));
	if (ret && !fs->opt.read_only) {
		rpifs_log(RPIFS_ERR,
			  "the boot partition is damaged after the guest ran (%s): mounting it read-only; repair it with fsck.fat",
			  err);
		ret = fat_mount(&fresh, &fs->win, FAT_MOUNT_RDONLY, err, sizeof(err));
	}
	if (ret) {
		rpifs_log(RPIFS_ERR,
			  "cannot read the boot partition after the guest ran: %s; showing it as it was before",
			  err);
		return;
	}
	/* Open files and inodes of the old volume are stale from now on. */
	fat_unmount(fs->vol); /* frozen: writes nothing */
	fs->vol = fresh;
	fs->vol_gen++;
	rfs_notify_queue(fs, FUSE_ROOT_ID, 0, "boot");
}

static void on_running(void *ctx)
{
	struct rfs *fs = ctx;

	/* QEMU has the image open: refuse any other QEMU again. */
	part_lock_share(fs->img, false);
}

static void on_exited(void *ctx, int status)
{
	struct rfs *fs = ctx;

	pthread_mutex_lock(&fs->lock);
	part_lock_share(fs->img, false);
	if (WIFEXITED(status))
		rpifs_log(RPIFS_INFO, "the guest stopped (QEMU exit status %d)",
			  WEXITSTATUS(status));
	else
		rpifs_log(RPIFS_WARN, "QEMU was killed by signal %d",
			  WTERMSIG(status));
	if (!fs->unmounting)
		reload(fs);
	pthread_mutex_unlock(&fs->lock);
	rfs_notify_send(fs);
}

int run_init(struct rfs *fs)
{
	struct launch_ops ops = { fs, on_running, on_exited };

	fs->launcher = launch_create(fs->state_dir, &ops);
	return fs->launcher ? 0 : -ENOMEM;
}

void run_shutdown(struct rfs *fs)
{
	if (!fs->launcher)
		return;
	fs->unmounting = true;
	launch_destroy(fs->launcher);
	fs->launcher = NULL;
}

bool run_active(struct rfs *fs)
{
	struct launch_status st;

	if (!fs->launcher)
		return false;
	launch_status(fs->launcher, &st);
	launch_status_free(&st);
	return st.state != LAUNCH_STOPPED;
}

int run_check_writable(struct rfs *fs)
{
	if (!run_active(fs))
		return 0;
	if (!fs->told_read_only) {
		rpifs_log(RPIFS_WARN,
			  "the guest is running: boot/ and the control files are read-only until it stops (echo stop > run)");
		fs->told_read_only = true;
	}
	return -EROFS;
}

void run_state_line(struct rfs *fs, char *buf, size_t size)
{
	struct launch_status st;
	char when[32];
	struct tm tm;

	if (!fs->launcher) {
		snprintf(buf, size, "stopped\n");
		return;
	}
	launch_status(fs->launcher, &st);
	localtime_r(&st.started.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	if (st.state == LAUNCH_RUNNING)
		snprintf(buf, size, "running pid %d since %s\n", (int)st.pid, when);
	else if (st.state != LAUNCH_STOPPED)
		snprintf(buf, size, "%s\n", launch_state_name(st.state));
	else if (!st.ran)
		snprintf(buf, size, "stopped\n");
	else if (WIFEXITED(st.exit_status))
		snprintf(buf, size, "stopped: exit status %d\n",
			 WEXITSTATUS(st.exit_status));
	else
		snprintf(buf, size, "stopped: killed by signal %d\n",
			 WTERMSIG(st.exit_status));
	launch_status_free(&st);
}

/* Read a selected boot file whole; a missing one is said and logged. */
static int read_boot_file(struct rfs *fs, const char *what, const char *path,
			  char **data, size_t *len)
{
	int ret = fat_read_file(fs->vol, path, data, len, BLOB_MAX);

	if (ret == -ENOENT || ret == -EISDIR)
		rpifs_log(RPIFS_ERR,
			  "cannot boot: config.txt selects %s %s, which is not on the boot partition",
			  what, path);
	else if (ret)
		rpifs_log(RPIFS_ERR, "cannot boot: reading %s: %s", path,
			  strerror(-ret));
	return ret == -EISDIR ? -ENOENT : ret;
}

static void add_note(char *notes, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void add_note(char *notes, size_t size, const char *fmt, ...)
{
	size_t len = strlen(notes);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(notes + len, size - len, fmt, ap);
	va_end(ap);
	len = strlen(notes);
	if (len + 1 < size) {
		notes[len] = '\n';
		notes[len + 1] = '\0';
	}
}

int run_start(struct rfs *fs)
{
	struct boot_config cfg;
	struct cmdline_result adj;
	struct launch_request req;
	char err[512], notes[8192] = "", *kernel = NULL, *dtb = NULL;
	char *cmdline = NULL, *initramfs = NULL;
	size_t klen = 0, dlen = 0, clen = 0, ilen = 0;
	const char *name = strrchr(fs->image_path, '/');
	enum board board;
	int ret;

	if (!fs->launcher) {
		rpifs_log(RPIFS_ERR, "cannot boot: the launcher did not start");
		return -ENOEXEC;
	}
	if (run_active(fs)) {
		rpifs_log(RPIFS_WARN, "the guest is already running");
		return -EBUSY;
	}
	ret = launch_board(fs->launcher, fs->board, fs->board_explicit, &board,
			   err, sizeof(err));
	if (ret) {
		rpifs_log(RPIFS_ERR, "cannot boot: %s", err);
		return ret == -ENOENT ? -ENOENT : -ENOEXEC;
	}
	if (board != fs->board) {
		rpifs_log(RPIFS_WARN,
			  "this QEMU has no raspi4b (QEMU 9 has): booting raspi3b");
		add_note(notes, sizeof(notes),
			 "raspi3b: this QEMU has no raspi4b (QEMU 9 and newer have)");
		fs->board = board;
	}
	ret = ctl_boot_config(fs, &cfg);
	if (ret)
		return ret;
	if ((ret = read_boot_file(fs, "the kernel", cfg.kernel, &kernel, &klen)) ||
	    (ret = read_boot_file(fs, "the device tree", cfg.device_tree, &dtb,
				  &dlen)) ||
	    (ret = read_boot_file(fs, "the command line file", cfg.cmdline,
				  &cmdline, &clen)))
		goto out;
	for (int i = 0; i < cfg.initramfs_count; i++) {
		char *part;
		size_t plen;
		char *bigger;

		ret = read_boot_file(fs, "the initramfs", cfg.initramfs[i], &part,
				     &plen);
		if (ret)
			goto out;
		bigger = realloc(initramfs, ilen + plen + 1);
		if (!bigger) {
			free(part);
			ret = -ENOMEM;
			goto out;
		}
		initramfs = bigger;
		memcpy(initramfs + ilen, part, plen);
		ilen += plen;
		free(part);
	}
	ret = cmdline_adjust(cmdline, ctl_partuuid, fs, &adj);
	if (ret) {
		rpifs_log(RPIFS_ERR,
			  "cannot boot: the command line is longer than the kernel's %d bytes",
			  CMDLINE_MAX - 1);
		ret = -EINVAL;
		goto out;
	}
	for (int i = 0; i < adj.note_count; i++)
		add_note(notes, sizeof(notes), "%s", adj.notes[i]);

	/* QEMU takes only SD cards whose size is a power of two. */
	if (part_pow2_ceil(fs->img->size) != fs->img->size) {
		uint64_t from = fs->img->size, to = part_pow2_ceil(from);
		char a[32], b[32];

		ret = part_grow(fs->img, to, err, sizeof(err));
		if (ret) {
			rpifs_log(RPIFS_ERR, "cannot boot: %s", err);
			goto out;
		}
		part_format_size(from, a, sizeof(a));
		part_format_size(to, b, sizeof(b));
		rpifs_log(RPIFS_INFO, "grew %s from %s to %s: QEMU needs a power of two",
			  fs->image_path, a, b);
		add_note(notes, sizeof(notes),
			 "grew the image from %s to %s, sparse (QEMU's SD cards are a power of two)",
			 a, b);
	}
	if (fs->opt.read_only)
		add_note(notes, sizeof(notes),
			 "read-only mount: the guest's writes are discarded (snapshot=on)");

	ret = fat_freeze(fs->vol);
	if (ret) {
		rpifs_log(RPIFS_ERR, "cannot boot: flushing the boot partition: %s",
			  strerror(-ret));
		goto out;
	}
	part_lock_share(fs->img, true);
	req = (struct launch_request){
		.board = board,
		.name = name ? name + 1 : fs->image_path,
		.image = fs->image_path,
		.snapshot = fs->opt.read_only,
		.kernel = kernel,
		.kernel_len = klen,
		.dtb = dtb,
		.dtb_len = dlen,
		.initramfs = cfg.initramfs_count ? initramfs : NULL,
		.initramfs_len = ilen,
		.cmdline = adj.line,
		.cmdline_image = cmdline,
		.notes = notes,
		.ssh_port = fs->opt.ssh_port,
	};
	ret = launch_start(fs->launcher, &req, err, sizeof(err));
	if (ret) {
		rpifs_log(RPIFS_ERR, "cannot boot: %s", err);
		part_lock_share(fs->img, false);
		reload(fs); /* the frozen volume thaws */
		goto out;
	}
	fs->told_read_only = false;
	rpifs_log(RPIFS_INFO, "booting %s on %s", fs->image_path, board_name(board));
out:
	free(kernel);
	free(dtb);
	free(cmdline);
	free(initramfs);
	return ret;
}

int run_stop(struct rfs *fs)
{
	int ret = fs->launcher ? launch_stop(fs->launcher) : -ESRCH;

	if (ret == -ESRCH)
		return 0; /* already stopped */
	return ret;
}
