// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What each control file holds and how a new value is stored: userconf in
 * userconf.txt (and cloud-init's user-data), cmdline in the file config.txt
 * names, kernel and dtb in the files the firmware would load. Paths come
 * from config.txt evaluated for the emulated board on every access, so an
 * edit of config.txt shows at once.
 */
#include "ctl.h"
#include "../common/log.h"
#include "../common/endian.h"
#include "../launcher/cmdline.h"
#include "../launcher/launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SMALL_MAX (64 * 1024)
#define BLOB_MAX (256u * 1024 * 1024)
#define USERCONF_PATH "userconf.txt"
#define USER_DATA_PATH "user-data"
#define FDT_MAGIC 0xd00dfeedu

static enum board board_of(struct rfs *fs)
{
	return fs->board;
}

static int io_read(void *ctx, const char *path, char **data, size_t *len)
{
	return rfs_fat_read_file(ctx, path, data, len, SMALL_MAX);
}

static bool io_exists(void *ctx, const char *path)
{
	return rfs_fat_exists(ctx, path);
}

int ctl_boot_config(struct rfs *fs, struct boot_config *cfg)
{
	struct config_io io = { fs, io_read, io_exists };

	return config_eval(board_of(fs), &io, cfg);
}

size_t ctl_value_max(enum ctl_kind kind)
{
	switch (kind) {
	case CTL_KERNEL:
	case CTL_DTB:
		return BLOB_MAX;
	default:
		return SMALL_MAX;
	}
}

bool ctl_writable(enum ctl_kind kind)
{
	return kind == CTL_USERCONF || kind == CTL_CMDLINE ||
	       kind == CTL_KERNEL || kind == CTL_DTB || kind == CTL_RUN;
}

static void console_path(struct rfs *fs, char *path, size_t size)
{
	struct launch_status st;

	path[0] = '\0';
	if (!fs->launcher)
		return;
	launch_status(fs->launcher, &st);
	snprintf(path, size, "%s", st.console_log);
	launch_status_free(&st);
}

int ctl_console_open(struct rfs *fs, int *fd)
{
	char path[4096];

	console_path(fs, path, sizeof(path));
	*fd = path[0] ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	/* No boot yet (or its log gone): the console is empty. */
	return 0;
}

/* The boot partition path behind a file-backed control file. */
static int path_of(struct rfs *fs, enum ctl_kind kind, char *path, size_t size)
{
	struct boot_config cfg;
	int ret;

	if (kind == CTL_USERCONF) {
		snprintf(path, size, "%s", USERCONF_PATH);
		return 0;
	}
	ret = ctl_boot_config(fs, &cfg);
	if (ret)
		return ret;
	snprintf(path, size, "%s",
		 kind == CTL_CMDLINE  ? cfg.cmdline
		 : kind == CTL_KERNEL ? cfg.kernel
				      : cfg.device_tree);
	return 0;
}

static int missing(enum ctl_kind kind, const char *path)
{
	rpifs_log(RPIFS_WARN,
		  "%s: config.txt selects %s, which is not on the boot partition",
		  ctl_name(kind), path);
	return -ENOENT;
}

int ctl_value_read(struct rfs *fs, enum ctl_kind kind, struct rfs_buf *out,
		   struct fat_node **fatp)
{
	char path[CONFIG_PATH_MAX], *data = NULL;
	size_t len;
	int ret;

	*fatp = NULL;
	out->len = 0;
	if (kind == CTL_STATUS)
		return ctl_status_text(fs, out);
	if (kind == CTL_RUN) {
		char line[128];

		run_state_line(fs, line, sizeof(line));
		return rfs_buf_set(out, line, strlen(line));
	}
	if (kind == CTL_CONSOLE)
		return 0;
	ret = path_of(fs, kind, path, sizeof(path));
	if (ret)
		return ret;
	if (kind == CTL_KERNEL || kind == CTL_DTB) {
		ret = fat_lookup_path(fs->vol, path, fatp);
		if (ret == 0 && fat_node_is_dir(*fatp)) {
			fat_node_put(fs->vol, *fatp);
			*fatp = NULL;
			ret = -ENOENT;
		}
		return ret == -ENOENT ? missing(kind, path) : ret;
	}
	ret = rfs_fat_read_file(fs, path, &data, &len, SMALL_MAX);
	if (ret == -ENOENT && kind == CTL_USERCONF)
		return 0; /* no user set: empty */
	if (ret == -ENOENT)
		return missing(kind, path);
	if (ret)
		return ret;
	ret = rfs_buf_set(out, data, len);
	free(data);
	return ret;
}

void ctl_value_stat(struct rfs *fs, enum ctl_kind kind, uint64_t *size,
		    struct timespec *mtime)
{
	char path[CONFIG_PATH_MAX];
	struct fat_node *node;

	*size = 0;
	clock_gettime(CLOCK_REALTIME, mtime);
	if (kind == CTL_RUN) {
		char line[128];

		run_state_line(fs, line, sizeof(line));
		*size = strlen(line);
		return;
	}
	if (kind == CTL_CONSOLE) {
		char log[4096];
		struct stat st;

		console_path(fs, log, sizeof(log));
		if (log[0] && stat(log, &st) == 0) {
			*size = (uint64_t)st.st_size;
			*mtime = st.st_mtim;
		}
		return;
	}
	if (kind == CTL_STATUS) {
		struct rfs_buf text = { 0 };

		if (ctl_status_text(fs, &text) == 0)
			*size = text.len;
		rfs_buf_free(&text);
		return;
	}
	if (path_of(fs, kind, path, sizeof(path)) != 0 ||
	    fat_lookup_path(fs->vol, path, &node) != 0)
		return;
	if (!fat_node_is_dir(node)) {
		struct fat_stat st;

		fat_node_stat(fs->vol, node, &st);
		*size = st.size;
		*mtime = st.mtime;
	}
	fat_node_put(fs->vol, node);
}

int ctl_value_precheck(struct rfs *fs, enum ctl_kind kind,
		       const struct rfs_buf *value)
{
	const char *nl;

	(void)fs;
	if (kind == CTL_USERCONF)
		return userconf_check(value);
	if (kind != CTL_CMDLINE)
		return 0;
	nl = memchr(value->data, '\n', value->len);
	if (nl && (size_t)(nl - (const char *)value->data) + 1 < value->len) {
		rpifs_log(RPIFS_WARN,
			  "cmdline: more than one line; the kernel command line is one line");
		return -EINVAL;
	}
	return 0;
}

/* Keep cloud-init's user-data in step with userconf.txt. */
static int update_user_data(struct rfs *fs, const char *line)
{
	char *old = NULL, *new = NULL, user[64], *hash = NULL;
	size_t len;
	int ret = rfs_fat_read_file(fs, USER_DATA_PATH, &old, &len, SMALL_MAX);

	if (ret == -ENOENT)
		return 0; /* not a cloud-init image */
	if (ret)
		return ret;
	if (line) {
		userconf_user(line, user, sizeof(user));
		hash = strdup(line + strlen(user) + 1);
		if (!hash) {
			free(old);
			return -ENOMEM;
		}
		hash[strcspn(hash, "\n")] = '\0';
	}
	ret = userconf_cloud_init(old, len, line ? user : NULL, hash, &new);
	if (ret == -ENOTSUP) {
		rpifs_log(RPIFS_WARN,
			  "userconf: user-data has an inline users: list, which rpifs does not edit; add the user there");
		ret = 0;
	} else if (ret == 0 && strcmp(old, new) != 0) {
		ret = rfs_fat_replace(fs, USER_DATA_PATH, new, strlen(new));
	}
	free(old);
	free(new);
	free(hash);
	return ret;
}

static int commit_userconf(struct rfs *fs, const struct rfs_buf *value)
{
	char *line = NULL;
	int ret;

	if (value->len == 0 || (value->len == 1 && value->data[0] == '\n')) {
		/* Nothing written: no user. */
		ret = rfs_fat_remove(fs, USERCONF_PATH);
		if (ret == -ENOENT)
			ret = 0;
		return ret ? ret : update_user_data(fs, NULL);
	}
	ret = userconf_make(value, &line);
	if (ret)
		return ret;
	ret = rfs_fat_replace(fs, USERCONF_PATH, line, strlen(line));
	if (!ret)
		ret = update_user_data(fs, line);
	free(line);
	return ret;
}

static int commit_cmdline(struct rfs *fs, const char *path,
			  const struct rfs_buf *value)
{
	size_t len = value->len;
	const char *p = (const char *)value->data;
	char *line;
	int ret;

	if (len > 0 && p[len - 1] == '\n')
		len--;
	if (len > 0 && p[len - 1] == '\r')
		len--;
	if (memchr(p, '\n', len) || memchr(p, '\0', len)) {
		rpifs_log(RPIFS_WARN,
			  "cmdline: more than one line; the kernel command line is one line");
		return -EINVAL;
	}
	if (len >= CMDLINE_MAX) {
		rpifs_log(RPIFS_WARN,
			  "cmdline: %zu bytes; the kernel takes at most %d",
			  len, CMDLINE_MAX - 1);
		return -EINVAL;
	}
	line = malloc(len + 2);
	if (!line)
		return -ENOMEM;
	memcpy(line, p, len);
	line[len] = '\n';
	ret = rfs_fat_replace(fs, path, line, len + 1);
	free(line);
	return ret;
}

int ctl_value_commit(struct rfs *fs, enum ctl_kind kind,
		     const struct rfs_buf *value)
{
	char path[CONFIG_PATH_MAX];
	int ret;

	if (fat_is_read_only(fs->vol))
		return -EROFS;
	if (kind == CTL_USERCONF)
		return commit_userconf(fs, value);
	ret = path_of(fs, kind, path, sizeof(path));
	if (ret)
		return ret;
	switch (kind) {
	case CTL_CMDLINE:
		return commit_cmdline(fs, path, value);
	case CTL_DTB:
		if (value->len < 40 || load_be32(value->data) != FDT_MAGIC) {
			rpifs_log(RPIFS_WARN,
				  "dtb: not a device tree blob (no d00dfeed magic); nothing changed");
			return -EINVAL;
		}
		return rfs_fat_replace(fs, path, value->data, value->len);
	case CTL_KERNEL:
		if (value->len == 0) {
			rpifs_log(RPIFS_WARN, "kernel: an empty kernel cannot boot; nothing changed");
			return -EINVAL;
		}
		return rfs_fat_replace(fs, path, value->data, value->len);
	default:
		return -EACCES;
	}
}
