// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The status file: one "key: value" per line saying what the next boot
 * would use (machine, image, partitions, kernel, dtb, initramfs, the
 * command line with the emulation adjustments, the user) and the last
 * warning logged, so a refused write can be explained without syslog.
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

static int line(struct rfs_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int line(struct rfs_buf *b, const char *fmt, ...)
{
	char text[CMDLINE_MAX + 512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= sizeof(text))
		n = sizeof(text) - 1;
	return rfs_buf_write(b, text, (size_t)n, b->len, (size_t)-1);
}

/* The state and, for a boot, what it runs and where its record is. */
static void status_run(struct rfs *fs, struct rfs_buf *out)
{
	struct launch_status st;
	char state[128], when[32];
	struct tm tm;

	run_state_line(fs, state, sizeof(state));
	line(out, "state: %s", state);
	if (!fs->launcher)
		return;
	launch_status(fs->launcher, &st);
	if (st.qemu_version[0])
		line(out, "qemu: %s\n", st.qemu_version);
	if (st.ran) {
		localtime_r(&st.started.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		if (st.state != LAUNCH_STOPPED)
			line(out, "qemu pid: %d\n", (int)st.pid);
		line(out, "started: %s\n", when);
		line(out, "run folder: %s\n", st.run_dir);
		line(out, "console log: %s\n", st.console_log);
		if (st.argv_text)
			line(out, "qemu argv: %s\n", st.argv_text);
		for (char *p = st.notes, *nl; p && *p; p = nl + 1) {
			nl = strchr(p, '\n');
			if (!nl)
				break;
			line(out, "boot adjustment: %.*s\n", (int)(nl - p), p);
		}
	}
	if (st.console_socket[0])
		line(out, "console socket: %s\n", st.console_socket);
	launch_status_free(&st);
}

const char *ctl_partuuid(void *ctx, unsigned number)
{
	struct rfs *fs = ctx;

	for (unsigned i = 0; i < fs->img->count; i++)
		if (fs->img->parts[i].number == number)
			return fs->img->parts[i].partuuid;
	return NULL;
}

/* A file of the boot partition with its size, or "missing". */
static void describe_file(struct rfs *fs, const char *path, char *out,
			  size_t size)
{
	struct fat_node *node;
	struct fat_stat st;
	char human[32];

	if (fat_lookup_path(fs->vol, path, &node) != 0) {
		snprintf(out, size, "%s (missing)", path);
		return;
	}
	fat_node_stat(fs->vol, node, &st);
	fat_node_put(fs->vol, node);
	part_format_size(st.size, human, sizeof(human));
	snprintf(out, size, "%s (%s)", path, human);
}

/* The partition the command line's root= names, else the first ext4. */
static const struct part_entry *root_partition(struct rfs *fs,
					       const char *cmdline)
{
	const char *r = strstr(cmdline, "root=PARTUUID=");

	if (r) {
		r += strlen("root=PARTUUID=");
		for (unsigned i = 0; i < fs->img->count; i++) {
			const char *u = fs->img->parts[i].partuuid;

			if (u[0] && strncasecmp(r, u, strlen(u)) == 0)
				return &fs->img->parts[i];
		}
	}
	for (unsigned i = 0; i < fs->img->count; i++)
		if (strncmp(fs->img->parts[i].fstype, "ext", 3) == 0)
			return &fs->img->parts[i];
	return NULL;
}

/* What config.txt selects: kernel, dtb, initramfs, the command line. */
static void status_boot_files(struct rfs *fs, struct rfs_buf *out,
			      const struct boot_config *cfg)
{
	const struct part_entry *root;
	struct cmdline_result adj;
	char *cmd = NULL, desc[CONFIG_PATH_MAX + 64];
	size_t len;
	int ret;

	line(out, "config.txt: %s\n",
	     cfg->found ? "found" : "missing (the firmware's defaults)");
	if (cfg->os_prefix[0] || cfg->os_prefix_ignored)
		line(out, "os_prefix: %s\n",
		     cfg->os_prefix_ignored ? "ignored (kernel or dtb missing under it)"
					    : cfg->os_prefix);
	describe_file(fs, cfg->kernel, desc, sizeof(desc));
	line(out, "kernel: %s\n", desc);
	describe_file(fs, cfg->device_tree, desc, sizeof(desc));
	line(out, "dtb: %s\n", desc);
	if (cfg->initramfs_count == 0) {
		line(out, "initramfs: none\n");
	} else {
		for (int i = 0; i < cfg->initramfs_count; i++) {
			describe_file(fs, cfg->initramfs[i], desc, sizeof(desc));
			line(out, "initramfs: %s%s\n", desc,
			     cfg->initramfs_auto ? ", by auto_initramfs=1" : "");
		}
	}
	line(out, "cmdline file: %s\n", cfg->cmdline);
	ret = rfs_fat_read_file(fs, cfg->cmdline, &cmd, &len, CMDLINE_MAX * 2);
	if (ret == 0) {
		ret = cmdline_adjust(cmd, ctl_partuuid, fs, &adj);
		line(out, "cmdline: %s%s\n", adj.line,
		     ret == -E2BIG ? " (too long for the kernel!)" : "");
		for (int i = 0; i < adj.note_count; i++)
			line(out, "adjustment: %s\n", adj.notes[i]);
		root = root_partition(fs, adj.line);
		if (root)
			line(out, "root partition: %u, %s, PARTUUID %s\n",
			     root->number, root->fstype[0] ? root->fstype : "?",
			     root->partuuid);
		free(cmd);
	} else if (ret == -ENOENT) {
		line(out, "cmdline: none (%s is missing)\n", cfg->cmdline);
	} else {
		line(out, "cmdline: unreadable (%s: %s)\n", cfg->cmdline,
		     strerror(-ret));
	}
}

/*
 * Never fails for what the volume holds: a damaged or unreadable
 * config.txt is reported in the text, so status still tells what is wrong
 * (and rpifs stop and umount, which read it, still work).
 */
int ctl_status_text(struct rfs *fs, struct rfs_buf *out)
{
	const struct part_entry *boot = part_boot(fs->img);
	struct boot_config cfg;
	struct fat_info info;
	char *userconf = NULL;
	char size[32], last[512];
	size_t len;
	int ret;

	out->len = 0;
	fat_get_info(fs->vol, &info);
	part_format_size(fs->img->size, size, sizeof(size));

	line(out, "machine: %s\n", board_name(fs->board));
	status_run(fs, out);
	line(out, "image: %s (%s%s)\n", fs->image_path, size,
	     fs->opt.read_only ? ", read-only" : "");
	line(out, "boot partition: %u, FAT%d, PARTUUID %s%s\n", boot->number,
	     info.type, boot->partuuid,
	     info.damaged ? ", damaged: read-only until fsck.fat repairs it" : "");
	ret = ctl_boot_config(fs, &cfg);
	if (ret == 0)
		status_boot_files(fs, out, &cfg);
	else
		line(out, "config.txt: unreadable (%s)\n", strerror(-ret));
	if (rfs_fat_read_file(fs, "userconf.txt", &userconf, &len, 4096) == 0) {
		char user[64];

		userconf_user(userconf, user, sizeof(user));
		line(out, "user: %s (userconf.txt; created at the next first boot)\n",
		     user);
		explicit_bzero(userconf, len);
		free(userconf);
	} else {
		line(out, "user: not set here (write user:password to userconf)\n");
	}
	line(out, "ssh: %s\n",
	     rfs_fat_exists(fs, "ssh") || rfs_fat_exists(fs, "ssh.txt")
		     ? "enabled (boot/ssh)"
		     : "not enabled (touch boot/ssh enables sshd on Raspberry Pi OS)");
	if (fs->opt.ssh_port)
		line(out, "ssh port: 127.0.0.1:%u -> guest port 22 (usb-net)\n",
		     fs->opt.ssh_port);
	else
		line(out, "ssh port: none (mount with -o ssh=PORT)\n");
	if (rpifs_log_last(last, sizeof(last)))
		line(out, "last message: %s\n", last);
	return 0;
}
