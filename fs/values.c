// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What the value control files hold and how a new value is stored:
 * userconf in userconf.txt (and cloud-init's user-data), cmdline in the
 * file config.txt names, kernel and dtb in the files the firmware would
 * load, each replaced atomically.
 */
#include "values.h"
#include "bootfiles.h"
#include "../common/endian.h"
#include "../common/log.h"
#include "../pi/cmdline.h"
#include "../pi/userconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USERCONF_PATH  "userconf.txt"
#define USER_DATA_PATH "user-data"
#define FDT_MAGIC      0xd00dfeedu

enum which { CMDLINE, KERNEL, DTB };

static const char *const what[] = {"cmdline", "kernel", "dtb"};

/* The boot partition path config.txt selects for @w. */
static int path_of(struct rfs *fs, enum which w, char *path, size_t size)
{
	struct boot_config cfg;
	int ret = rfs_boot_config(fs, &cfg);

	if (ret)
		return ret;
	snprintf(path, size, "%s",
		 w == CMDLINE  ? cfg.cmdline
		 : w == KERNEL ? cfg.kernel
			       : cfg.device_tree);
	return 0;
}

static int missing(enum which w, const char *path)
{
	rpifs_log(
		RPIFS_WARN,
		"%s: config.txt selects %s, which is not on the boot partition",
		what[w], path);
	return -ENOENT;
}

/* Size and time of a boot file, as getattr shows the control file. */
static void file_stat(struct rfs *fs, const char *path, uint64_t *size,
		      struct timespec *mtime)
{
	struct fat_node *node;

	if (fat_lookup_path(fs->vol, path, &node) != 0)
		return;
	if (!fat_node_is_dir(node)) {
		struct fat_stat st;

		fat_node_stat(fs->vol, node, &st);
		*size = st.size;
		*mtime = st.mtime;
	}
	fat_node_put(fs->vol, node);
}

static void selected_stat(struct rfs *fs, enum which w, uint64_t *size,
			  struct timespec *mtime)
{
	char path[CONFIG_PATH_MAX];

	if (path_of(fs, w, path, sizeof(path)) == 0)
		file_stat(fs, path, size, mtime);
}

static int read_into(struct rfs *fs, const char *path, struct buf *out)
{
	char *data = NULL;
	size_t len;
	int ret = rfs_fat_read_file(fs, path, &data, &len, VALUE_SMALL_MAX);

	if (ret)
		return ret;
	ret = buf_set(out, data, len);
	if (out->secret)
		explicit_bzero(data, len);
	free(data);
	return ret;
}

/* ---- userconf ---- */

int value_userconf_read(struct rfs *fs, struct buf *out)
{
	int ret = read_into(fs, USERCONF_PATH, out);

	return ret == -ENOENT ? 0 : ret; /* no user set: empty */
}

void value_userconf_stat(struct rfs *fs, uint64_t *size, struct timespec *mtime)
{
	file_stat(fs, USERCONF_PATH, size, mtime);
}

int value_userconf_precheck(const struct buf *value)
{
	return userconf_check(value);
}

/* Keep cloud-init's user-data in step with userconf.txt. */
static int update_user_data(struct rfs *fs, const char *line)
{
	char *old = NULL, *new = NULL, user[64], *hash = NULL;
	size_t len;
	int ret = rfs_fat_read_file(fs, USER_DATA_PATH, &old, &len,
				    VALUE_SMALL_MAX);

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
			  "userconf: user-data has an inline users: list, "
			  "which rpifs does not edit; add the user there");
		ret = 0;
	} else if (ret == 0 && strcmp(old, new) != 0) {
		ret = rfs_fat_replace(fs, USER_DATA_PATH, new, strlen(new));
	}
	free(old);
	free(new);
	free(hash);
	return ret;
}

int value_userconf_commit(struct rfs *fs, const struct buf *value)
{
	char *line = NULL;
	int ret;

	if (fat_is_read_only(fs->vol))
		return -EROFS;
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
	explicit_bzero(line, strlen(line));
	free(line);
	return ret;
}

/* ---- cmdline ---- */

int value_cmdline_read(struct rfs *fs, struct buf *out)
{
	char path[CONFIG_PATH_MAX];
	int ret = path_of(fs, CMDLINE, path, sizeof(path));

	if (!ret)
		ret = read_into(fs, path, out);
	return ret == -ENOENT ? missing(CMDLINE, path) : ret;
}

void value_cmdline_stat(struct rfs *fs, uint64_t *size, struct timespec *mtime)
{
	selected_stat(fs, CMDLINE, size, mtime);
}

static int more_than_one_line(void)
{
	rpifs_log(RPIFS_WARN, "cmdline: more than one line; the kernel command "
			      "line is one line");
	return -EINVAL;
}

int value_cmdline_precheck(const struct buf *value)
{
	const char *nl =
		value->len ? memchr(value->data, '\n', value->len) : NULL;

	if (nl && (size_t)(nl - (const char *)value->data) + 1 < value->len)
		return more_than_one_line();
	return 0;
}

int value_cmdline_commit(struct rfs *fs, const struct buf *value)
{
	size_t len = value->len;
	/* Nothing written (: > cmdline): no buffer at all. */
	const char *p = value->data ? (const char *)value->data : "";
	char path[CONFIG_PATH_MAX], *line;
	int ret;

	if (fat_is_read_only(fs->vol))
		return -EROFS;
	if (len > 0 && p[len - 1] == '\n')
		len--;
	if (len > 0 && p[len - 1] == '\r')
		len--;
	if (memchr(p, '\n', len) || memchr(p, '\0', len))
		return more_than_one_line();
	if (len >= CMDLINE_MAX) {
		rpifs_log(RPIFS_WARN,
			  "cmdline: %zu bytes; the kernel takes at most %d",
			  len, CMDLINE_MAX - 1);
		return -EINVAL;
	}
	ret = path_of(fs, CMDLINE, path, sizeof(path));
	if (ret)
		return ret;
	line = malloc(len + 2);
	if (!line)
		return -ENOMEM;
	memcpy(line, p, len);
	line[len] = '\n';
	ret = rfs_fat_replace(fs, path, line, len + 1);
	free(line);
	return ret;
}

/* ---- kernel and dtb ---- */

static int selected_file(struct rfs *fs, enum which w, struct fat_node **node)
{
	char path[CONFIG_PATH_MAX];
	int ret = path_of(fs, w, path, sizeof(path));

	*node = NULL;
	if (ret)
		return ret;
	ret = fat_lookup_path(fs->vol, path, node);
	if (ret == 0 && fat_node_is_dir(*node)) {
		fat_node_put(fs->vol, *node);
		*node = NULL;
		ret = -ENOENT;
	}
	return ret == -ENOENT ? missing(w, path) : ret;
}

static int replace_selected(struct rfs *fs, enum which w,
			    const struct buf *value)
{
	char path[CONFIG_PATH_MAX];
	int ret;

	if (fat_is_read_only(fs->vol))
		return -EROFS;
	ret = path_of(fs, w, path, sizeof(path));
	return ret ? ret : rfs_fat_replace(fs, path, value->data, value->len);
}

int value_kernel_file(struct rfs *fs, struct fat_node **node)
{
	return selected_file(fs, KERNEL, node);
}

void value_kernel_stat(struct rfs *fs, uint64_t *size, struct timespec *mtime)
{
	selected_stat(fs, KERNEL, size, mtime);
}

int value_kernel_commit(struct rfs *fs, const struct buf *value)
{
	if (value->len == 0) {
		rpifs_log(
			RPIFS_WARN,
			"kernel: an empty kernel cannot boot; nothing changed");
		return -EINVAL;
	}
	return replace_selected(fs, KERNEL, value);
}

int value_dtb_file(struct rfs *fs, struct fat_node **node)
{
	return selected_file(fs, DTB, node);
}

void value_dtb_stat(struct rfs *fs, uint64_t *size, struct timespec *mtime)
{
	selected_stat(fs, DTB, size, mtime);
}

int value_dtb_commit(struct rfs *fs, const struct buf *value)
{
	if (value->len < 40 || load_be32(value->data) != FDT_MAGIC) {
		rpifs_log(RPIFS_WARN, "dtb: not a device tree blob (no "
				      "d00dfeed magic); nothing changed");
		return -EINVAL;
	}
	return replace_selected(fs, DTB, value);
}
