// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * config.txt as the firmware reads it: one "property=value" per line (98
 * characters at most, '#' comments), "include FILE" inserted in place,
 * conditional sections evaluated for the emulated board ([all] resets,
 * filters of one type replace each other, of different types combine,
 * [none] blocks), later settings overriding earlier ones. Then the
 * defaults and os_prefix give the files a boot loads.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LINE_MAX_FW   98
#define INCLUDE_DEPTH 8

enum filter_type {
	FILTER_MODEL,
	FILTER_EDID,
	FILTER_SERIAL,
	FILTER_GPIO,
	FILTER_TRYBOOT,
	FILTER_OTHER,
	FILTER_TYPES,
};

struct setting {
	char value[CONFIG_PATH_MAX];
	bool set;
};

struct eval {
	enum board board;
	const struct boot_files *io;
	int filter[FILTER_TYPES]; /* -1 not set, 0 false, 1 true */
	bool none;
	struct setting kernel, device_tree, cmdline, os_prefix, initramfs;
	int auto_initramfs;
	int arm_64bit;
	int upstream_kernel;
};

/* Whether a model filter ([pi4], [board-type=0x11], ...) matches. */
static bool model_matches(enum board board, const char *f)
{
	unsigned long type;

	if (strncasecmp(f, "board-type=", 11) == 0) {
		type = strtoul(f + 11, NULL, 0);
		return board == BOARD_RASPI4B ? type == 0x11 : type == 0x08;
	}
	if (board == BOARD_RASPI4B)
		return strcmp(f, "pi4") == 0;
	return strcmp(f, "pi3") == 0;
}

static bool is_model_filter(const char *f)
{
	static const char *const models[] = {
		"pi1", "pi2",  "pi3",  "pi3+", "pi4", "pi400", "cm4", "cm4s",
		"pi0", "pi0w", "pi02", "pi5",  "cm5", "pi500", "cm0",
	};

	if (strncasecmp(f, "board-type=", 11) == 0)
		return true;
	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++)
		if (strcmp(f, models[i]) == 0)
			return true;
	return false;
}

static void apply_filter(struct eval *ev, const char *f)
{
	if (strcmp(f, "all") == 0) {
		for (int i = 0; i < FILTER_TYPES; i++)
			ev->filter[i] = -1;
		ev->none = false;
	} else if (strcmp(f, "none") == 0) {
		ev->none = true;
	} else if (is_model_filter(f)) {
		ev->filter[FILTER_MODEL] = model_matches(ev->board, f);
	} else if (strncasecmp(f, "EDID=", 5) == 0) {
		ev->filter[FILTER_EDID] = 0; /* no monitor in the emulator */
	} else if (strncasecmp(f, "0x", 2) == 0) {
		ev->filter[FILTER_SERIAL] = 0;
	} else if (strncasecmp(f, "gpio", 4) == 0) {
		ev->filter[FILTER_GPIO] = 0;
	} else if (strcasecmp(f, "tryboot") == 0) {
		ev->filter[FILTER_TRYBOOT] = 0;
	} else if (strncasecmp(f, "HDMI:", 5) == 0) {
		/* Only selects the port HDMI settings apply to. */
	} else {
		ev->filter[FILTER_OTHER] = 0; /* unknown: not this board */
	}
}

static bool active(const struct eval *ev)
{
	if (ev->none)
		return false;
	for (int i = 0; i < FILTER_TYPES; i++)
		if (ev->filter[i] == 0)
			return false;
	return true;
}

static void set(struct setting *s, const char *value)
{
	snprintf(s->value, sizeof(s->value), "%s", value);
	s->set = true;
}

static void setting_line(struct eval *ev, char *line)
{
	char *eq, *key = line, *value;

	/* "initramfs FILE ADDRESS" has no '='. */
	if (strncmp(line, "initramfs ", 10) == 0) {
		char *file = line + 10;

		file += strspn(file, " \t");
		file[strcspn(file, " \t")] = '\0';
		set(&ev->initramfs, file);
		return;
	}
	eq = strchr(line, '=');
	if (!eq)
		return;
	*eq = '\0';
	value = eq + 1;
	if (strcmp(key, "kernel") == 0)
		set(&ev->kernel, value);
	else if (strcmp(key, "device_tree") == 0)
		set(&ev->device_tree, value);
	else if (strcmp(key, "cmdline") == 0)
		set(&ev->cmdline, value);
	else if (strcmp(key, "os_prefix") == 0)
		set(&ev->os_prefix, value);
	else if (strcmp(key, "ramfsfile") == 0)
		set(&ev->initramfs, value);
	else if (strcmp(key, "auto_initramfs") == 0)
		ev->auto_initramfs = atoi(value) != 0;
	else if (strcmp(key, "arm_64bit") == 0)
		ev->arm_64bit = atoi(value) != 0;
	else if (strcmp(key, "upstream_kernel") == 0)
		ev->upstream_kernel = atoi(value) != 0;
	/* Everything else is hardware the emulator does not have. */
}

static int eval_file(struct eval *ev, const char *path, int depth);

static int eval_text(struct eval *ev, char *text, int depth)
{
	char *save = NULL;

	for (char *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t len;

		if (strlen(line) > LINE_MAX_FW)
			line[LINE_MAX_FW] = '\0';
		len = strlen(line);
		while (len > 0 &&
		       (line[len - 1] == '\r' || line[len - 1] == ' ' ||
			line[len - 1] == '\t'))
			line[--len] = '\0';
		line += strspn(line, " \t");
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (line[0] == '[') {
			char *end = strchr(line, ']');

			if (end) {
				*end = '\0';
				apply_filter(ev, line + 1);
			}
			continue;
		}
		if (strncmp(line, "include ", 8) == 0) {
			char *file = line + 8;
			int ret;

			file += strspn(file, " \t");
			ret = eval_file(ev, file, depth + 1);
			if (ret && ret != -ENOENT)
				return ret;
			continue;
		}
		if (active(ev))
			setting_line(ev, line);
	}
	return 0;
}

static int eval_file(struct eval *ev, const char *path, int depth)
{
	char *text = NULL;
	size_t len;
	int ret;

	if (depth > INCLUDE_DEPTH)
		return 0; /* an include loop: stop, as the firmware would have
			   */
	ret = ev->io->read(ev->io->ctx, path, CONFIG_FILE_MAX, &text, &len);
	if (ret)
		return ret;
	ret = eval_text(ev, text, depth);
	free(text);
	return ret;
}

/*
 * Join prefix and name; a name starting with '/' ignores the prefix. A
 * path too long for the firmware's limits comes out empty (not found).
 */
static void join(char *out, const char *prefix, const char *name)
{
	int n;

	if (name[0] == '/')
		n = snprintf(out, CONFIG_PATH_MAX, "%s", name + 1);
	else
		n = snprintf(out, CONFIG_PATH_MAX, "%s%s", prefix, name);
	if (n < 0 || n >= CONFIG_PATH_MAX)
		out[0] = '\0';
}

static const char *default_dtb(const struct eval *ev, const char *prefix)
{
	const char *down = "bcm2710-rpi-3-b.dtb", *up = "bcm2837-rpi-3-b.dtb";
	char path[CONFIG_PATH_MAX];

	if (ev->board == BOARD_RASPI4B)
		return "bcm2711-rpi-4-b.dtb";
	/* raspi3b: the downstream name, else the upstream one (preferred
	   the other way round with upstream_kernel=1). */
	join(path, prefix, ev->upstream_kernel ? up : down);
	if (ev->io->exists(ev->io->ctx, path))
		return ev->upstream_kernel ? up : down;
	return ev->upstream_kernel ? down : up;
}

/* initramfs8 for kernel8.img, initramfs_2712 for kernel_2712.img ... */
static bool auto_initramfs_name(const char *kernel, char *out, size_t size)
{
	const char *base = strrchr(kernel, '/');
	size_t len;

	base = base ? base + 1 : kernel;
	len = strlen(base);
	if (strncmp(base, "kernel", 6) != 0 || len < 10 ||
	    strcmp(base + len - 4, ".img") != 0)
		return false;
	snprintf(out, size, "%.*sinitramfs%.*s", (int)(base - kernel), kernel,
		 (int)(len - 10), base + 6);
	return true;
}

int config_eval(enum board board, const struct boot_files *io,
		struct boot_config *out)
{
	struct eval ev = {.board = board, .io = io};
	char prefix[CONFIG_PATH_MAX] = "", path[CONFIG_PATH_MAX];
	const char *kernel, *dtb;
	int ret;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < FILTER_TYPES; i++)
		ev.filter[i] = -1;
	ret = eval_file(&ev, "config.txt", 0);
	if (ret && ret != -ENOENT)
		return ret;
	out->found = ret == 0;

	if (ev.os_prefix.set)
		snprintf(prefix, sizeof(prefix), "%s", ev.os_prefix.value);
	else if (ev.upstream_kernel)
		snprintf(prefix, sizeof(prefix), "upstream/");

	kernel = ev.kernel.set ? ev.kernel.value : "kernel8.img";
	dtb = ev.device_tree.set ? ev.device_tree.value
				 : default_dtb(&ev, prefix);
	/* The firmware drops a prefix under which kernel or dtb is missing. */
	if (prefix[0]) {
		char k[CONFIG_PATH_MAX], d[CONFIG_PATH_MAX];

		join(k, prefix, kernel);
		join(d, prefix, dtb);
		if (!io->exists(io->ctx, k) || !io->exists(io->ctx, d)) {
			out->os_prefix_ignored = true;
			prefix[0] = '\0';
			if (!ev.device_tree.set)
				dtb = default_dtb(&ev, prefix);
		}
	}
	snprintf(out->os_prefix, sizeof(out->os_prefix), "%s", prefix);
	join(out->kernel, prefix, kernel);
	join(out->device_tree, prefix, dtb);
	join(out->cmdline, prefix,
	     ev.cmdline.set ? ev.cmdline.value : "cmdline.txt");
	out->kernel_explicit = ev.kernel.set;
	out->device_tree_explicit = ev.device_tree.set;
	out->cmdline_explicit = ev.cmdline.set;
	out->arm_64bit = ev.arm_64bit;

	if (ev.initramfs.set) {
		char *save = NULL;

		for (char *f = strtok_r(ev.initramfs.value, ",", &save);
		     f && out->initramfs_count < 4;
		     f = strtok_r(NULL, ",", &save))
			join(out->initramfs[out->initramfs_count++], prefix, f);
	} else if (ev.auto_initramfs &&
		   auto_initramfs_name(out->kernel, path, sizeof(path)) &&
		   io->exists(io->ctx, path)) {
		snprintf(out->initramfs[0], CONFIG_PATH_MAX, "%s", path);
		out->initramfs_count = 1;
		out->initramfs_auto = true;
	}
	return 0;
}
