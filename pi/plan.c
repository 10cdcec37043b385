// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Making a boot plan: config.txt evaluated for the board, the kernel,
 * device tree, initramfs files and command line read whole, the command
 * line and device tree adjusted for QEMU, every adjustment noted.
 */
#include "plan.h"
#include "dtb.h"
#include "../common/errmsg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void boot_plan_note(struct boot_plan *plan, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	/* Out of memory: the boot goes on with a shorter record. */
	if (buf_append(&plan->notes, line, (size_t)n) == 0)
		buf_append(&plan->notes, "\n", 1);
}

/* Read a selected file whole; a missing one is said as such. */
static int read_file(const struct boot_files *files, const char *what,
		     const char *path, char **data, size_t *len, char *err,
		     size_t err_size)
{
	int ret = files->read(files->ctx, path, BOOT_BLOB_MAX, data, len);

	if (ret == -ENOENT || ret == -EISDIR)
		return err_set(err, err_size, -ENOENT,
			       "config.txt selects %s %s, which is not on the "
			       "boot partition",
			       what, path);
	if (ret == -EFBIG)
		return err_set(err, err_size, ret,
			       "%s %s is larger than the %u MiB rpifs boots",
			       what, path, BOOT_BLOB_MAX >> 20);
	if (ret)
		return err_set(err, err_size, ret, "reading %s: %s", path,
			       strerror(-ret));
	return 0;
}

/* The initramfs files config.txt names, joined in order. */
static int read_initramfs(const struct boot_files *files,
			  struct boot_plan *plan, char *err, size_t err_size)
{
	for (int i = 0; i < plan->cfg.initramfs_count; i++) {
		char *part, *bigger;
		size_t len;
		int ret = read_file(files, "the initramfs",
				    plan->cfg.initramfs[i], &part, &len, err,
				    err_size);

		if (ret)
			return ret;
		bigger =
			realloc(plan->initramfs, plan->initramfs_len + len + 1);
		if (!bigger) {
			free(part);
			return err_set(err, err_size, -ENOMEM, "out of memory");
		}
		plan->initramfs = bigger;
		memcpy(plan->initramfs + plan->initramfs_len, part, len);
		plan->initramfs_len += len;
		free(part);
	}
	return 0;
}

static int adjust(const struct boot_files *files, struct boot_plan *plan,
		  char *err, size_t err_size)
{
	struct dtb_notes dnotes;
	int ret;

	ret = cmdline_adjust(plan->cmdline_image, files->partuuid, files->ctx,
			     &plan->cmdline);
	if (ret == -ENOMEM)
		return err_set(err, err_size, ret, "out of memory");
	if (ret)
		return err_set(
			err, err_size, -EINVAL,
			"the command line is longer than the kernel's %d bytes",
			CMDLINE_MAX - 1);
	for (int i = 0; i < plan->cmdline.note_count; i++)
		boot_plan_note(plan, "%s", plan->cmdline.notes[i]);
	if (plan->cmdline.no_root)
		boot_plan_note(plan, "warning: %s", CMDLINE_NO_ROOT);
	ret = dtb_adjust(plan->board, plan->dtb_image, plan->dtb_image_len,
			 &plan->dtb, &plan->dtb_len, &dnotes);
	if (ret == -ENOMEM)
		return err_set(err, err_size, ret, "out of memory");
	if (ret)
		return err_set(err, err_size, -EINVAL,
			       "%s is not a valid device tree blob",
			       plan->cfg.device_tree);
	for (int i = 0; i < dnotes.count; i++)
		boot_plan_note(plan, "%s", dnotes.text[i]);
	return 0;
}

int boot_plan_make(enum board board, const struct boot_files *files,
		   struct boot_plan *plan, char *err, size_t err_size)
{
	size_t len;
	int ret;

	memset(plan, 0, sizeof(*plan));
	plan->board = board;
	ret = config_eval(board, files, &plan->cfg);
	if (ret)
		return err_set(err, err_size, ret, "reading config.txt: %s",
			       strerror(-ret));
	if ((ret = read_file(files, "the kernel", plan->cfg.kernel,
			     &plan->kernel, &plan->kernel_len, err,
			     err_size)) ||
	    (ret = read_file(files, "the device tree", plan->cfg.device_tree,
			     &plan->dtb_image, &plan->dtb_image_len, err,
			     err_size)) ||
	    (ret = read_file(files, "the command line file", plan->cfg.cmdline,
			     &plan->cmdline_image, &len, err, err_size)) ||
	    (ret = read_initramfs(files, plan, err, err_size)) ||
	    (ret = adjust(files, plan, err, err_size)))
		boot_plan_free(plan);
	return ret;
}

void boot_plan_free(struct boot_plan *plan)
{
	free(plan->kernel);
	free(plan->dtb_image);
	free(plan->dtb);
	free(plan->initramfs);
	free(plan->cmdline_image);
	buf_free(&plan->notes);
	memset(plan, 0, sizeof(*plan));
}
