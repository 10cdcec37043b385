// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The emulation adjustments of the kernel command line:
 * - every console= goes, console=ttyAMA0,115200 comes first: QEMU's serial
 *   port is the PL011 and Raspberry Pi OS's console=serial0 names the
 *   mini UART on a real Pi 3 and 4;
 * - root=/dev/mmcblkNpM becomes root=PARTUUID=...: the card is mmcblk0 or
 *   mmcblk1 depending on kernel and device tree;
 * - rootdelay= gives way to rootwait, which is added when missing;
 * - usbcore.autosuspend=-1 and systemd.watchdog_device= to a device that
 *   is not there, unless given: measured, a systemd guest that suspends
 *   QEMU's USB keyboard (every boot has one, for the orderly stop's
 *   ctrl-alt-delete) wedges at the first key, and QEMU's bcm2835
 *   watchdog resets the board the moment systemd arms it to reboot,
 *   before the root is read-only.
 */
#include "cmdline.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERIAL_CONSOLE "console=ttyAMA0,115200"
#define NO_WATCHDOG    "systemd.watchdog_device=/dev/rpifs-none"

static void note(struct cmdline_result *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void note(struct cmdline_result *out, const char *fmt, ...)
{
	va_list ap;

	if (out->note_count >= CMDLINE_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(out->notes[out->note_count++], CMDLINE_NOTE_MAX, fmt, ap);
	va_end(ap);
}

static bool append(char *line, size_t size, const char *word)
{
	size_t len = strlen(line);
	int n = snprintf(line + len, size - len, "%s%s", len ? " " : "", word);

	return n >= 0 && (size_t)n < size - len;
}

/* "/dev/mmcblk0p2" -> 2; 0 if it is not such a name. */
static unsigned mmcblk_partition(const char *dev)
{
	const char *p = dev;
	char *end;
	unsigned long n;

	if (strncmp(p, "/dev/mmcblk", 11) != 0)
		return 0;
	p += 11;
	if (*p < '0' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p != 'p')
		return 0;
	n = strtoul(p + 1, &end, 10);
	return *end == '\0' && n > 0 && n < 256 ? (unsigned)n : 0;
}

/* What the guest's command line already has. */
struct seen {
	char consoles[CMDLINE_NOTE_MAX];
	bool rootwait, serial_only, any_console, has_root, autosuspend,
		watchdog;
};

/* root=/dev/mmcblkNpM becomes the partition's PARTUUID, when known. */
static bool take_root(const char *w,
		      const char *(*partuuid)(void *ctx, unsigned number),
		      void *ctx, struct cmdline_result *out, int *ret)
{
	unsigned n = mmcblk_partition(w + 5);
	const char *uuid = n && partuuid ? partuuid(ctx, n) : NULL;
	char root[128];

	if (!uuid || !*uuid)
		return false;
	snprintf(root, sizeof(root), "root=PARTUUID=%s", uuid);
	note(out,
	     "%s -> %s (mmcblk0 or mmcblk1 depends on "
	     "kernel and device tree)",
	     w, root);
	if (!append(out->line, sizeof(out->line), root))
		*ret = -E2BIG;
	return true;
}

/* One word of the guest's command line: kept, changed or dropped. */
static void take_word(char *w,
		      const char *(*partuuid)(void *ctx, unsigned number),
		      void *ctx, struct seen *seen, struct cmdline_result *out,
		      int *ret)
{
	if (strncmp(w, "console=", 8) == 0) {
		seen->any_console = true;
		if (strcmp(w, SERIAL_CONSOLE) != 0)
			seen->serial_only = false;
		append(seen->consoles, sizeof(seen->consoles), w);
		return;
	}
	if (strncmp(w, "root=", 5) == 0) {
		seen->has_root = w[5] != '\0';
		if (take_root(w, partuuid, ctx, out, ret))
			return;
	}
	if (strncmp(w, "rootdelay=", 10) == 0) {
		note(out, "%s -> rootwait", w);
		return;
	}
	if (strcmp(w, "rootwait") == 0)
		seen->rootwait = true;
	if (strncmp(w, "usbcore.autosuspend=", 20) == 0)
		seen->autosuspend = true;
	if (strncmp(w, "systemd.watchdog_device=", 24) == 0)
		seen->watchdog = true;
	if (!append(out->line, sizeof(out->line), w))
		*ret = -E2BIG;
}

/* Add @word unless the line had it, with the reason in the notes. */
static void add_missing(bool had, const char *word, const char *why,
			struct cmdline_result *out, int *ret)
{
	if (had)
		return;
	if (!append(out->line, sizeof(out->line), word))
		*ret = -E2BIG;
	note(out, "added %s (%s)", word, why);
}

int cmdline_adjust(const char *in,
		   const char *(*partuuid)(void *ctx, unsigned number),
		   void *ctx, struct cmdline_result *out)
{
	char *copy = strdup(in), *save = NULL;
	struct seen seen = {.serial_only = true};
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (!copy)
		return -ENOMEM;
	/* The serial console first: the kernel's last console= is
	   /dev/console, but all of them get the messages. */
	append(out->line, sizeof(out->line), SERIAL_CONSOLE);
	for (char *w = strtok_r(copy, " \t\r\n", &save); w;
	     w = strtok_r(NULL, " \t\r\n", &save))
		take_word(w, partuuid, ctx, &seen, out, &ret);
	free(copy);
	if (!seen.any_console)
		note(out, "added " SERIAL_CONSOLE
			  " (QEMU's serial port is the PL011)");
	else if (!seen.serial_only)
		note(out,
		     "%s -> " SERIAL_CONSOLE
		     " (QEMU's serial port is the PL011)",
		     seen.consoles);
	add_missing(seen.rootwait, "rootwait",
		    "the card may appear after the kernel looks", out, &ret);
	add_missing(seen.autosuspend, "usbcore.autosuspend=-1",
		    "a suspended QEMU USB keyboard wedges the guest", out,
		    &ret);
	add_missing(seen.watchdog, NO_WATCHDOG,
		    "QEMU's watchdog resets at once when systemd arms it to "
		    "shut down",
		    out, &ret);
	out->no_root = !seen.has_root;
	if (strlen(out->line) > CMDLINE_MAX - 1)
		ret = -E2BIG;
	return ret;
}
