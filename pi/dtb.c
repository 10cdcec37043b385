// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Device tree adjustments for QEMU, each applied only where its node is
 * there and enabled, each recorded for the status file:
 * - both boards: the PL011 (serial@7e201000) gets no Bluetooth child, so
 *   Linux makes it a tty (ttyAMA0) instead of a serdev bus: on a real Pi
 *   the Bluetooth chip sits there, under QEMU the serial console does;
 * - raspi4b: the blocks QEMU leaves unmapped (clock, interrupt controller,
 *   HDMI and I2C at 0x7ef00000) are disabled, else the kernel takes a
 *   synchronous external abort; the SD slot QEMU wires (mmc@7e300000)
 *   loses its mmc-pwrseq, which needs the firmware's GPIO expander; the
 *   EMMC2 controller is disabled; alias mmc0 names the SD slot.
 */
#include "dtb.h"

#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void note(struct dtb_notes *n, const char *what, const char *path)
{
	if (n->count < DTB_NOTES)
		snprintf(n->text[n->count++], DTB_NOTE_MAX, "%s %s", what,
			 path);
}

static bool enabled(const void *fdt, int off)
{
	int len;
	const char *status = fdt_getprop(fdt, off, "status", &len);

	return !status || strcmp(status, "okay") == 0 ||
	       strcmp(status, "ok") == 0;
}

static void disable(void *fdt, const char *path, struct dtb_notes *n)
{
	int off = fdt_path_offset(fdt, path);

	if (off < 0 || !enabled(fdt, off))
		return;
	if (fdt_setprop_string(fdt, off, "status", "disabled") == 0)
		note(n, "dtb: disabled", path);
}

/* The PL011's children (Bluetooth) would turn it into a serdev bus. */
static void free_pl011(void *fdt, struct dtb_notes *n)
{
	const char *uart = "/soc/serial@7e201000";
	int parent = fdt_path_offset(fdt, uart), child;

	if (parent < 0)
		return;
	fdt_for_each_subnode(child, fdt, parent)
	{
		char path[256];

		if (!enabled(fdt, child))
			continue;
		snprintf(path, sizeof(path), "%s/%s", uart,
			 fdt_get_name(fdt, child, NULL));
		if (fdt_setprop_string(fdt, child, "status", "disabled") == 0)
			note(n,
			     "dtb: disabled (the serial console needs ttyAMA0)",
			     path);
	}
}

static void fix_raspi4b(void *fdt, struct dtb_notes *n)
{
	static const char *const unmapped[] = {
		"/soc/clock@7ef00000",	  "/soc/interrupt-controller@7ef00100",
		"/soc/hdmi@7ef00700",	  "/soc/i2c@7ef04500",
		"/soc/hdmi@7ef05700",	  "/soc/i2c@7ef09500",
		"/emmc2bus/mmc@7e340000",
	};
	const char *sd = "/soc/mmc@7e300000";
	int off, aliases;

	for (size_t i = 0; i < sizeof(unmapped) / sizeof(unmapped[0]); i++)
		disable(fdt, unmapped[i], n);
	off = fdt_path_offset(fdt, sd);
	if (off < 0)
		return;
	if (fdt_getprop(fdt, off, "mmc-pwrseq", NULL) &&
	    fdt_delprop(fdt, off, "mmc-pwrseq") == 0)
		note(n,
		     "dtb: removed mmc-pwrseq (QEMU has no firmware GPIO "
		     "expander) from",
		     sd);
	aliases = fdt_path_offset(fdt, "/aliases");
	if (aliases < 0)
		aliases = fdt_add_subnode(fdt, 0, "aliases");
	if (aliases >= 0) {
		const char *mmc0 = fdt_getprop(fdt, aliases, "mmc0", NULL);

		if ((!mmc0 || strcmp(mmc0, sd) != 0) &&
		    fdt_setprop_string(fdt, aliases, "mmc0", sd) == 0)
			note(n, "dtb: alias mmc0 ->", sd);
	}
}

int dtb_adjust(enum board board, const void *in, size_t len, void **out,
	       size_t *out_len, struct dtb_notes *notes)
{
	size_t room = len + 4096;
	void *fdt;

	memset(notes, 0, sizeof(*notes));
	*out = NULL;
	if (len < sizeof(struct fdt_header) || fdt_check_header(in) != 0 ||
	    fdt_totalsize(in) > len)
		return -EINVAL;
	fdt = malloc(room);
	if (!fdt)
		return -ENOMEM;
	if (fdt_open_into(in, fdt, (int)room) != 0) {
		free(fdt);
		return -EINVAL;
	}
	free_pl011(fdt, notes);
	if (board == BOARD_RASPI4B)
		fix_raspi4b(fdt, notes);
	fdt_pack(fdt);
	*out = fdt;
	*out_len = fdt_totalsize(fdt);
	return 0;
}
