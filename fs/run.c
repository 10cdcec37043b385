// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Booting from the mount: touch run (or "start" written to it) makes a
 * boot plan from the boot partition, grows the image to a power of two,
 * flushes the FAT and hands it over clean, lets go of the lock bytes QEMU
 * checks, and starts QEMU through the launcher. While the guest runs,
 * boot/ and the control values are read-only. When it stops, the locks
 * come back and the boot partition is read again from disk, since the
 * guest may have changed it.
 */
#include "run.h"
#include "bootfiles.h"
#include "ext.h"
#include "../common/log.h"
#include "../launcher/launcher.h"
#include "../pi/plan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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
			fs->opt.read_only ? FAT_MOUNT_RDONLY : 0, err,
			sizeof(err));
	if (ret && !fs->opt.read_only) {
		rpifs_log(
			RPIFS_ERR,
			"the boot partition is damaged after the guest ran "
			"(%s): mounting it read-only; repair it with fsck.fat",
			err);
		ret = fat_mount(&fresh, &fs->win, FAT_MOUNT_RDONLY, err,
				sizeof(err));
	}
	if (ret) {
		rpifs_log(RPIFS_ERR,
			  "cannot read the boot partition after the guest ran: "
			  "%s; showing it as it was before",
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
	/* What was said of the running guest is over. */
	rpifs_log_clear_last();
	if (!fs->unmounting) {
		reload(fs);
		rfs_root_reload(fs);
		rfs_notify_guest_owned(fs);
	}
	pthread_mutex_unlock(&fs->lock);
	rfs_notify_send(fs);
}

int run_init(struct rfs *fs)
{
	struct launch_ops ops = {fs, on_running, on_exited};

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

bool rfs_guest_running(struct rfs *fs)
{
	return fs->launcher && launch_state(fs->launcher) != LAUNCH_STOPPED;
}

int run_check_writable(struct rfs *fs)
{
	if (!rfs_guest_running(fs))
		return 0;
	if (!fs->told_read_only) {
		rpifs_log(RPIFS_WARN,
			  "the guest is running: boot/ and the control files "
			  "are read-only until it stops (echo stop > run)");
		fs->told_read_only = true;
	}
	return -EROFS;
}

void run_state_line(struct rfs *fs, char *buf, size_t size)
{
	struct launch_brief b;
	char when[32];
	struct tm tm;

	if (!fs->launcher) {
		snprintf(buf, size, "stopped\n");
		return;
	}
	launch_brief(fs->launcher, &b);
	localtime_r(&b.started.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	if (b.state == LAUNCH_RUNNING)
		snprintf(buf, size, "running pid %d since %s\n", (int)b.pid,
			 when);
	else if (b.state != LAUNCH_STOPPED)
		snprintf(buf, size, "%s\n", launch_state_name(b.state));
	else if (!b.ran)
		snprintf(buf, size, "stopped\n");
	else if (WIFEXITED(b.exit_status))
		snprintf(buf, size, "stopped: exit status %d\n",
			 WEXITSTATUS(b.exit_status));
	else
		snprintf(buf, size, "stopped: killed by signal %d\n",
			 WTERMSIG(b.exit_status));
}

int run_state_text(struct rfs *fs, struct buf *out)
{
	char line[128];

	run_state_line(fs, line, sizeof(line));
	return buf_set(out, line, strlen(line));
}

void run_state_stat(struct rfs *fs, uint64_t *size, struct timespec *mtime)
{
	char line[128];

	(void)mtime;
	run_state_line(fs, line, sizeof(line));
	*size = strlen(line);
}

int run_command(struct rfs *fs, const char *word)
{
	if (strcmp(word, "start") == 0)
		return run_start(fs);
	if (strcmp(word, "stop") == 0 || strcmp(word, "kill") == 0)
		return run_stop(fs, word[0] == 'k');
	rpifs_log(RPIFS_WARN,
		  "run: \"%s\": write start, stop (the guest shuts down) or "
		  "kill (the power is cut)",
		  word);
	return -EINVAL;
}

int run_console_open(struct rfs *fs)
{
	char path[4096] = "";

	if (fs->launcher)
		launch_console_log(fs->launcher, path, sizeof(path));
	/* No boot yet (or its log gone): the console is empty. */
	return path[0] ? open(path, O_RDONLY | O_CLOEXEC) : -1;
}

void run_console_stat(struct rfs *fs, uint64_t *size, struct timespec *mtime)
{
	char path[4096] = "";
	struct stat st;

	if (fs->launcher)
		launch_console_log(fs->launcher, path, sizeof(path));
	if (path[0] && stat(path, &st) == 0) {
		*size = (uint64_t)st.st_size;
		*mtime = st.st_mtim;
	}
}

/* Whether boots are throwaway: -o snapshot, or a read-only mount. */
static bool rfs_snapshot(const struct rfs *fs)
{
	return fs->opt.snapshot || fs->opt.read_only;
}

/* QEMU takes only SD cards whose size is a power of two. */
static int grow_to_pow2(struct rfs *fs, struct boot_plan *plan)
{
	uint64_t from = fs->img->size, to = part_pow2_ceil(from);
	char err[512], a[32], b[32];
	int ret;

	if (to == from)
		return 0;
	ret = part_grow(fs->img, to, err, sizeof(err));
	if (ret) {
		rpifs_log(RPIFS_ERR, "cannot boot: %s", err);
		return ret;
	}
	part_format_size(from, a, sizeof(a));
	part_format_size(to, b, sizeof(b));
	rpifs_log(RPIFS_INFO,
		  "grew %s from %s to %s: QEMU needs a power of two",
		  fs->image_path, a, b);
	boot_plan_note(plan,
		       "grew the image from %s to %s, sparse (QEMU's SD cards "
		       "are a power of two)",
		       a, b);
	return 0;
}

/* The board this QEMU can boot: raspi3b when it has no raspi4b. */
static int choose_board(struct rfs *fs, enum board *board, bool *fell_back)
{
	char err[512];
	int ret = launch_board(fs->launcher, fs->board, fs->opt.board_explicit,
			       board, err, sizeof(err));

	if (ret) {
		rpifs_log(RPIFS_ERR, "cannot boot: %s", err);
		return ret == -ENOENT ? -ENOENT : -ENOEXEC;
	}
	*fell_back = *board != fs->board;
	if (*fell_back) {
		rpifs_log(RPIFS_WARN, "this QEMU has no raspi4b (QEMU 9 has): "
				      "booting raspi3b");
		fs->board = *board;
	}
	return 0;
}

/* Hand the image to QEMU: flushed and clean, the lock bytes let go. */
static int launch(struct rfs *fs, const struct boot_plan *plan, bool tcg_multi,
		  char *const *extra)
{
	const char *name = strrchr(fs->image_path, '/');
	struct launch_request req = {
		.plan = plan,
		.name = name ? name + 1 : fs->image_path,
		.image = fs->image_path,
		.snapshot = rfs_snapshot(fs),
		.card_size = part_pow2_ceil(fs->img->size),
		.net = &fs->opt.net,
		.stop_timeout_s = fs->opt.stop_timeout,
		.tcg_multi = tcg_multi,
		.extra = extra,
	};
	char err[512];
	int ret = rfs_root_freeze(fs);

	if (ret) {
		rpifs_log(RPIFS_ERR,
			  "cannot boot: writing the root file system: %s",
			  strerror(-ret));
		return ret;
	}
	ret = fat_freeze(fs->vol);
	if (ret) {
		rpifs_log(RPIFS_ERR,
			  "cannot boot: flushing the boot partition: %s",
			  strerror(-ret));
		rfs_root_reload(fs);
		return ret;
	}
	part_lock_share(fs->img, true);
	ret = launch_start(fs->launcher, &req, err, sizeof(err));
	if (ret) {
		rpifs_log(RPIFS_ERR, "cannot boot: %s", err);
		part_lock_share(fs->img, false);
		reload(fs); /* the frozen volumes thaw */
		rfs_root_reload(fs);
	}
	return ret;
}

/*
 * TCG's threading for this host (noted in the adjustments), and the
 * owner's qemu_args, read again at each boot (an edited file counts; a
 * bad one refuses the boot, saying why).
 */
static int tcg_and_extra(struct rfs *fs, struct boot_plan *plan, bool *multi,
			 char ***extra)
{
	unsigned cpus = qemu_host_cpus();
	char err[512];
	size_t n = 0;

	*multi = qemu_tcg_multi(fs->opt.tcg, cpus);
	if (fs->opt.tcg == TCG_AUTO)
		boot_plan_note(plan,
			       "TCG %s-threaded (tcg=auto: %u host CPUs; multi "
			       "from %u)",
			       *multi ? "multi" : "single", cpus,
			       TCG_MULTI_FROM_CPUS);
	else
		boot_plan_note(plan, "TCG %s-threaded (tcg=%s)",
			       *multi ? "multi" : "single",
			       *multi ? "multi" : "single");
	*extra = NULL;
	if (!fs->opt.qemu_args)
		return 0;
	if (qemu_extra_load(fs->opt.qemu_args, extra, err, sizeof(err))) {
		rpifs_log(RPIFS_ERR, "cannot boot: %s", err);
		return -EINVAL;
	}
	while ((*extra)[n])
		n++;
	boot_plan_note(plan, "qemu_args: %zu argument%s from %s, after rpifs's",
		       n, n == 1 ? "" : "s", fs->opt.qemu_args);
	return 0;
}

int run_start(struct rfs *fs)
{
	struct boot_files files;
	struct boot_plan plan;
	char err[512];
	enum board board;
	bool fell_back, tcg_multi = false;
	char **extra = NULL;
	int ret;

	if (!fs->launcher) {
		rpifs_log(RPIFS_ERR, "cannot boot: the launcher did not start");
		return -ENOEXEC;
	}
	if (rfs_guest_running(fs)) {
		rpifs_log(RPIFS_WARN, "the guest is already running");
		return -EBUSY;
	}
	ret = choose_board(fs, &board, &fell_back);
	if (ret)
		return ret;
	rfs_boot_files(fs, &files);
	ret = boot_plan_make(board, &files, &plan, err, sizeof(err));
	if (ret) {
		rpifs_log(RPIFS_ERR, "cannot boot: %s", err);
		return ret == -ENOENT || ret == -EINVAL ? ret : -EIO;
	}
	if (fell_back)
		boot_plan_note(&plan, "raspi3b: this QEMU has no raspi4b (QEMU "
				      "9 and newer have)");
	if (rfs_snapshot(fs))
		boot_plan_note(
			&plan,
			"%s: the guest's writes are discarded when it stops",
			fs->opt.snapshot ? "-o snapshot" : "read-only mount");
	else
		ret = grow_to_pow2(fs, &plan);
	if (!ret)
		ret = tcg_and_extra(fs, &plan, &tcg_multi, &extra);
	if (!ret)
		ret = launch(fs, &plan, tcg_multi, extra);
	qemu_argv_free(extra);
	if (!ret) {
		fs->told_read_only = false;
		rpifs_log_clear_last();
		rfs_notify_guest_owned(fs);
		rpifs_log(RPIFS_INFO, "booting %s on %s", fs->image_path,
			  board_name(board));
		if (plan.cmdline.no_root)
			rpifs_log(RPIFS_WARN, "booting anyway: %s",
				  CMDLINE_NO_ROOT);
	}
	boot_plan_free(&plan);
	return ret;
}

int run_stop(struct rfs *fs, bool force)
{
	int ret = fs->launcher ? launch_stop(fs->launcher, force) : -ESRCH;

	if (ret == -ESRCH)
		return 0; /* already stopped */
	return ret;
}
