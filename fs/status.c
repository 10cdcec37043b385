// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The status file: one "key: value" per line saying what the next boot
 * would use (machine, image, partitions, kernel, dtb, initramfs, the
 * command line with the emulation adjustments, the user), what the
 * current or last boot did, and the last warning logged, so that a
 * refused write can be explained without a log.
 */
#include "status.h"
#include "bootfiles.h"
#include "ext.h"
#include "run.h"
#include "../common/log.h"
#include "../launcher/launcher.h"
#include "../pi/cmdline.h"
#include "../pi/userconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The state and, for a boot, what it runs and where its record is. */
static void status_run(struct rfs *fs, struct buf *out)
{
	struct launch_status st;
	char state[128], when[32];
	struct tm tm;

	run_state_line(fs, state, sizeof(state));
	buf_printf(out, "state: %s", state);
	if (!fs->launcher)
		return;
	launch_status(fs->launcher, &st);
	if (st.qemu_version[0])
		buf_printf(out, "qemu: %s\n", st.qemu_version);
	if (st.ran) {
		localtime_r(&st.started.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		if (st.state != LAUNCH_STOPPED)
			buf_printf(out, "qemu pid: %d\n", (int)st.pid);
		buf_printf(out, "started: %s\n", when);
		if (st.last_stop[0] && st.state == LAUNCH_STOPPED)
			buf_printf(out, "last stop: %s\n", st.last_stop);
		buf_printf(out, "run folder: %s\n", st.run_dir);
		buf_printf(out, "console log: %s\n", st.console_log);
		if (st.argv_text)
			buf_printf(out, "qemu argv: %s\n", st.argv_text);
		for (char *p = st.notes, *nl; p && *p; p = nl + 1) {
			nl = strchr(p, '\n');
			if (!nl)
				break;
			buf_printf(out, "boot adjustment: %.*s\n",
				   (int)(nl - p), p);
		}
	}
	if (st.console_socket[0])
		buf_printf(out, "console socket: %s\n", st.console_socket);
	buf_printf(out,
		   "stop: the guest's init (ctrl-alt-delete) for up to %u s, "
		   "then SysRq sync, read-only remount, power off; kill: the "
		   "power at once\n",
		   fs->opt.stop_timeout ? fs->opt.stop_timeout
					: LAUNCH_STOP_TIMEOUT_S);
	launch_status_free(&st);
}

/* A file of the boot partition with its size, or "missing". */
static void describe_file(struct rfs *fs, struct buf *out, const char *key,
			  const char *path, const char *suffix)
{
	struct fat_node *node;
	struct fat_stat st;
	char human[32];

	if (fat_lookup_path(fs->vol, path, &node) != 0) {
		buf_printf(out, "%s: %s (missing)%s\n", key, path, suffix);
		return;
	}
	fat_node_stat(fs->vol, node, &st);
	fat_node_put(fs->vol, node);
	part_format_size(st.size, human, sizeof(human));
	buf_printf(out, "%s: %s (%s)%s\n", key, path, human, suffix);
}

/* The command line the next boot gets, with the adjustments. */
static void status_cmdline(struct rfs *fs, struct buf *out,
			   const struct boot_config *cfg)
{
	const struct part_entry *root;
	struct cmdline_result adj;
	struct boot_files files;
	char *cmd = NULL;
	size_t len;
	int ret;

	buf_printf(out, "cmdline file: %s\n", cfg->cmdline);
	ret = rfs_fat_read_file(fs, cfg->cmdline, &cmd, &len, CMDLINE_MAX * 2);
	if (ret == -ENOENT) {
		buf_printf(out, "cmdline: none (%s is missing)\n",
			   cfg->cmdline);
		return;
	}
	if (ret) {
		buf_printf(out, "cmdline: unreadable (%s: %s)\n", cfg->cmdline,
			   strerror(-ret));
		return;
	}
	rfs_boot_files(fs, &files);
	ret = cmdline_adjust(cmd, files.partuuid, files.ctx, &adj);
	buf_printf(out, "cmdline: %s%s\n", adj.line,
		   ret == -E2BIG ? " (too long for the kernel!)" : "");
	for (int i = 0; i < adj.note_count; i++)
		buf_printf(out, "adjustment: %s\n", adj.notes[i]);
	if (adj.no_root)
		buf_printf(out, "cmdline warning: %s\n", CMDLINE_NO_ROOT);
	root = part_root(fs->img, adj.line);
	if (root)
		buf_printf(out, "root partition: %u, %s, PARTUUID %s\n",
			   root->number,
			   root->fstype[0] ? root->fstype
					   : "no file system found",
			   root->partuuid);
	free(cmd);
}

/* What config.txt selects: kernel, dtb, initramfs, the command line. */
static void status_boot_files(struct rfs *fs, struct buf *out,
			      const struct boot_config *cfg)
{
	buf_printf(out, "config.txt: %s\n",
		   cfg->found ? "found" : "missing (the firmware's defaults)");
	if (cfg->os_prefix[0] || cfg->os_prefix_ignored)
		buf_printf(out, "os_prefix: %s\n",
			   cfg->os_prefix_ignored
				   ? "ignored (kernel or dtb missing under it)"
				   : cfg->os_prefix);
	describe_file(fs, out, "kernel", cfg->kernel, "");
	describe_file(fs, out, "dtb", cfg->device_tree, "");
	if (cfg->initramfs_count == 0)
		buf_printf(out, "initramfs: none\n");
	for (int i = 0; i < cfg->initramfs_count; i++)
		describe_file(fs, out, "initramfs", cfg->initramfs[i],
			      cfg->initramfs_auto ? ", by auto_initramfs=1"
						  : "");
	status_cmdline(fs, out, cfg);
}

/*
 * What reads userconf.txt (or user-data) and boot/ssh at a boot: Raspberry
 * Pi OS's first-boot services (packages userconf-pi, raspberrypi-sys-mods)
 * or cloud-init. Another OS ignores the files: status says so.
 */
static const char *const userconf_readers[] = {
	"usr/lib/userconf-pi/userconf-service",
	"usr/lib/systemd/system/userconfig.service",
	"lib/systemd/system/userconfig.service",
	"usr/bin/cloud-init",
	NULL,
};
static const char *const ssh_readers[] = {
	"usr/lib/raspberrypi-sys-mods/sshswitch",
	"usr/lib/systemd/system/sshswitch.service",
	"lib/systemd/system/sshswitch.service",
	NULL,
};

static void status_user(struct rfs *fs, struct buf *out)
{
	char *userconf = NULL, user[64];
	const char *reader;
	bool known;
	size_t len;

	reader = rfs_root_find(fs, userconf_readers, &known);
	if (rfs_fat_read_file(fs, "userconf.txt", &userconf, &len,
			      USERCONF_MAX) == 0) {
		userconf_user(userconf, user, sizeof(user));
		if (reader)
			buf_printf(
				out,
				"user: %s (userconf.txt; created at the next "
				"boot by /%s)\n",
				user, reader);
		else if (known)
			buf_printf(
				out,
				"user: %s (userconf.txt; not applied: this "
				"OS has no first-boot service that reads it, "
				"neither userconf-pi nor cloud-init)\n",
				user);
		else
			buf_printf(
				out,
				"user: %s (userconf.txt; created at the next "
				"first boot, if the OS has Raspberry Pi OS's "
				"userconf-pi or cloud-init: root/ not read)\n",
				user);
		explicit_bzero(userconf, len);
		free(userconf);
	} else {
		buf_printf(out, "user: not set here (write user:password to "
				"userconf)\n");
	}
	reader = rfs_root_find(fs, ssh_readers, &known);
	if (!rfs_fat_exists(fs, "ssh") && !rfs_fat_exists(fs, "ssh.txt"))
		buf_printf(out, "ssh: not enabled (touch boot/ssh enables sshd "
				"on Raspberry Pi OS)\n");
	else if (reader)
		buf_printf(out,
			   "ssh: enabled (boot/ssh; /%s turns sshd on at "
			   "the next boot)\n",
			   reader);
	else if (known)
		buf_printf(out, "ssh: boot/ssh is there, but not applied: this "
				"OS has no sshswitch (raspberrypi-sys-mods)\n");
	else
		buf_printf(out, "ssh: enabled (boot/ssh; root/ not read)\n");
}

/*
 * The network in one line, then the ssh forward as rpifs ssh and run
 * --wait=ssh read it: "ssh port: 127.0.0.1:PORT ..." once the port is
 * known (ssh=auto picks one at each boot), and where rpifs ssh keeps the
 * guest's host key.
 */
static void status_network(struct rfs *fs, struct buf *out)
{
	const struct net_config *net = &fs->opt.net;
	unsigned port = net->ssh_port;
	struct launch_status st;

	if (net->ssh_auto && fs->launcher) {
		launch_status(fs->launcher, &st);
		if (st.state != LAUNCH_STOPPED)
			port = st.ssh_port;
		launch_status_free(&st);
	}
	buf_printf(out, "network: ");
	net_describe(net, port, out);
	buf_printf(out, "\n");
	if (port)
		buf_printf(
			out,
			"ssh port: 127.0.0.1:%u -> guest port 22 (usb-net)\n",
			port);
	else if (net->ssh_auto)
		buf_printf(out, "ssh port: auto (a free one at each boot, "
				"shown here while the guest runs)\n");
	else if (net->mode == NET_NONE)
		buf_printf(out, "ssh port: none (net=none: no network)\n");
	else
		buf_printf(out, "ssh port: none (mount with -o ssh=PORT or "
				"ssh=auto)\n");
	if (port || net->ssh_auto)
		buf_printf(out, "ssh known hosts: %s/known_hosts\n",
			   fs->state_dir);
}

/*
 * Never fails for what the volume holds: a damaged or unreadable
 * config.txt is reported in the text, so status still tells what is wrong
 * (and rpifs stop and umount, which read it, still work).
 */
int status_text(struct rfs *fs, struct buf *out)
{
	const struct part_entry *boot = part_boot(fs->img);
	struct boot_config cfg;
	struct fat_info info;
	char size[32], last[512];
	int ret;

	out->len = 0;
	/* config.txt first: damage met reading it shows in the partition's
	 * line. */
	ret = rfs_boot_config(fs, &cfg);
	fat_get_info(fs->vol, &info);
	part_format_size(fs->img->size, size, sizeof(size));
	buf_printf(out, "machine: %s\n", board_name(fs->board));
	status_run(fs, out);
	buf_printf(out, "image: %s (%s%s)\n", fs->image_path, size,
		   fs->opt.read_only
			   ? ", read-only: boots discard the guest's writes"
		   : fs->opt.snapshot
			   ? "; -o snapshot: boots discard the guest's writes"
			   : "");
	buf_printf(out, "boot partition: %u, FAT%d, PARTUUID %s%s\n",
		   boot->number, info.type, boot->partuuid,
		   info.damaged
			   ? ", damaged: read-only until fsck.fat repairs it"
			   : "");
	if (ret == 0)
		status_boot_files(fs, out, &cfg);
	else
		buf_printf(out, "config.txt: unreadable (%s)\n",
			   strerror(-ret));
	rfs_root_status(fs, out);
	status_user(fs, out);
	status_network(fs, out);
	if (rpifs_log_last(last, sizeof(last)))
		buf_printf(out, "last message: %s\n", last);
	if (!fs->opt.foreground)
		buf_printf(out, "daemon log: %s/daemon.log\n", fs->state_dir);
	fs->status_len = out->len;
	return 0;
}

void status_stat(struct rfs *fs, uint64_t *size, struct timespec *mtime)
{
	(void)mtime;
	*size = fs->status_len;
}
