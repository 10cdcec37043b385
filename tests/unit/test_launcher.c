// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of what decides a boot: config.txt evaluated as the firmware
 * does (on Raspberry Pi OS bookworm and bullseye files, and on every rule:
 * filters, include, os_prefix, initramfs), the command line's emulation
 * adjustments, and userconf's parsing, hashing and cloud-init edit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../launcher/launcher.h"
#include "../../pi/cmdline.h"
#include "../../pi/config.h"
#include "../../pi/dtb.h"
#include "../../pi/userconf.h"

#include <dirent.h>
#include <libfdt.h>
#include <sys/stat.h>

/* Raspberry Pi OS bookworm (2024), as shipped. */
static const char bookworm[] =
	"# For more options and information see\n"
	"# http://rptl.io/configtxt\n"
	"# Some settings may impact device functionality. See link above for "
	"details\n"
	"\n"
	"# Uncomment some or all of these to enable the optional hardware "
	"interfaces\n"
	"#dtparam=i2c_arm=on\n"
	"#dtparam=i2s=on\n"
	"#dtparam=spi=on\n"
	"\n"
	"# Enable audio (loads snd_bcm2835)\n"
	"dtparam=audio=on\n"
	"\n"
	"# Additional overlays and parameters are documented\n"
	"# /boot/firmware/overlays/README\n"
	"\n"
	"# Automatically load overlays for detected cameras\n"
	"camera_auto_detect=1\n"
	"\n"
	"# Automatically load overlays for detected DSI displays\n"
	"display_auto_detect=1\n"
	"\n"
	"# Automatically load initramfs files, if found\n"
	"auto_initramfs=1\n"
	"\n"
	"# Enable DRM VC4 V3D driver\n"
	"dtoverlay=vc4-kms-v3d\n"
	"max_framebuffers=2\n"
	"\n"
	"# Don't have the firmware create an initial video= setting in "
	"cmdline.txt.\n"
	"# Use the kernel's default instead.\n"
	"disable_fw_kms_setup=1\n"
	"\n"
	"# Run in 64-bit mode\n"
	"arm_64bit=1\n"
	"\n"
	"# Disable compensation for displays with overscan\n"
	"disable_overscan=1\n"
	"\n"
	"# Run as fast as firmware / board allows\n"
	"arm_boost=1\n"
	"\n"
	"[cm4]\n"
	"# Enable host mode on the 2711 built-in XHCI USB controller.\n"
	"# This line should be removed if the legacy DWC2 controller is "
	"required\n"
	"# (e.g. for USB device mode) or if USB support is not required.\n"
	"otg_mode=1\n"
	"\n"
	"[cm5]\n"
	"dtoverlay=dwc2,dr_mode=host\n"
	"\n"
	"[all]\n";

/* Raspberry Pi OS bullseye arm64 (2022): the older, longer file. */
static const char bullseye[] =
	"# For more options and information see\n"
	"# http://rpf.io/configtxt\n"
	"# Some settings may impact device functionality. See link above for "
	"details\n"
	"\n"
	"# uncomment if you get no picture on HDMI for a default \"safe\" "
	"mode\n"
	"#hdmi_safe=1\n"
	"\n"
	"# uncomment to force a console size. By default it will be display's "
	"size minus\n"
	"# overscan.\n"
	"#framebuffer_width=1280\n"
	"#framebuffer_height=720\n"
	"\n"
	"# uncomment to force a HDMI mode rather than DVI. This can make audio "
	"work in\n"
	"# DMT (computer monitor) modes\n"
	"#hdmi_drive=2\n"
	"\n"
	"#uncomment to overclock the arm. 700 MHz is the default.\n"
	"#arm_freq=800\n"
	"\n"
	"# Uncomment some or all of these to enable the optional hardware "
	"interfaces\n"
	"#dtparam=i2c_arm=on\n"
	"#dtparam=i2s=on\n"
	"#dtparam=spi=on\n"
	"\n"
	"# Additional overlays and parameters are documented "
	"/boot/overlays/README\n"
	"\n"
	"# Enable audio (loads snd_bcm2835)\n"
	"dtparam=audio=on\n"
	"\n"
	"# Automatically load overlays for detected cameras\n"
	"camera_auto_detect=1\n"
	"\n"
	"# Automatically load overlays for detected DSI displays\n"
	"display_auto_detect=1\n"
	"\n"
	"# Enable DRM VC4 V3D driver\n"
	"dtoverlay=vc4-kms-v3d\n"
	"max_framebuffers=2\n"
	"\n"
	"# Disable compensation for displays with overscan\n"
	"disable_overscan=1\n"
	"\n"
	"[cm4]\n"
	"# Enable host mode on the 2711 built-in XHCI USB controller.\n"
	"# This line should be removed if the legacy DWC2 controller is "
	"required\n"
	"# (e.g. for USB device mode) or if USB support is not required.\n"
	"otg_mode=1\n"
	"\n"
	"[all]\n"
	"\n"
	"[pi4]\n"
	"# Run as fast as firmware / board allows\n"
	"arm_boost=1\n"
	"\n"
	"[all]\n"
	"arm_64bit=1\n";

/* An in-memory boot partition: NULL-terminated pairs of path, contents. */
struct files {
	const char *const *entries;
};

static int mem_read(void *ctx, const char *path, size_t max, char **data,
		    size_t *len)
{
	const struct files *f = ctx;

	(void)max;
	for (const char *const *e = f->entries; e[0]; e += 2) {
		if (strcmp(e[0], path) == 0) {
			*data = strdup(e[1]);
			*len = strlen(e[1]);
			return *data ? 0 : -ENOMEM;
		}
	}
	return -ENOENT;
}

static bool mem_exists(void *ctx, const char *path)
{
	char *d;
	size_t l;

	if (mem_read(ctx, path, 1024, &d, &l) != 0)
		return false;
	free(d);
	return true;
}

static struct boot_config eval(enum board board, const char *const *entries)
{
	struct files f = {entries};
	struct boot_files io = {&f, mem_read, mem_exists, NULL};
	struct boot_config cfg;

	assert_int_equal(config_eval(board, &io, &cfg), 0);
	return cfg;
}

static void test_bookworm(void **state)
{
	const char *const with_initramfs[] = {
		"config.txt", bookworm, "kernel8.img",	       "k",
		"initramfs8", "i",	"bcm2711-rpi-4-b.dtb", "d",
		NULL,
	};
	const char *const without[] = {"config.txt", bookworm, NULL};
	struct boot_config c;

	(void)state;
	c = eval(BOARD_RASPI4B, with_initramfs);
	assert_true(c.found);
	assert_string_equal(c.kernel, "kernel8.img");
	assert_string_equal(c.device_tree, "bcm2711-rpi-4-b.dtb");
	assert_string_equal(c.cmdline, "cmdline.txt");
	assert_int_equal(c.initramfs_count, 1);
	assert_string_equal(c.initramfs[0], "initramfs8");
	assert_true(c.initramfs_auto);
	assert_int_equal(c.arm_64bit, 1);
	c = eval(BOARD_RASPI4B, without);
	assert_int_equal(c.initramfs_count, 0);
}

static void test_bullseye(void **state)
{
	const char *const down[] = {
		"config.txt", bullseye, "bcm2710-rpi-3-b.dtb", "d", NULL,
	};
	const char *const up[] = {
		"config.txt", bullseye, "bcm2837-rpi-3-b.dtb", "d", NULL,
	};
	struct boot_config c;

	(void)state;
	c = eval(BOARD_RASPI4B, down);
	assert_string_equal(c.kernel, "kernel8.img");
	assert_int_equal(c.arm_64bit, 1);
	assert_int_equal(c.initramfs_count, 0); /* no auto_initramfs */
	/* raspi3b: the downstream dtb, else the upstream name. */
	c = eval(BOARD_RASPI3B, down);
	assert_string_equal(c.device_tree, "bcm2710-rpi-3-b.dtb");
	c = eval(BOARD_RASPI3B, up);
	assert_string_equal(c.device_tree, "bcm2837-rpi-3-b.dtb");
}

static void test_filters(void **state)
{
	const char *const cfg[] = {
		"config.txt",
		"kernel=base.img\n"
		"[pi4]\nkernel=k4.img\n"
		"[pi3]\nkernel=k3.img\n"
		"[pi400]\nkernel=k400.img\n"
		"[cm4]\nkernel=kcm4.img\n"
		"[pi3+]\nkernel=k3plus.img\n"
		"[pi5]\nkernel=k5.img\n"
		"[all]\ncmdline=all.txt\n"
		"[none]\ncmdline=none.txt\n"
		"[all]\n"
		"[board-type=0x11]\ndevice_tree=bt11.dtb\n"
		"[board-type=0x08]\ndevice_tree=bt08.dtb\n"
		"[all]\n"
		"[EDID=DEL-DELL_U2422H]\nos_prefix=edid/\n"
		"[all]\n"
		"[pi4]\n[gpio4=1]\ninitramfs gpio.img followkernel\n"
		"[all]\n"
		"[0x12345678]\nramfsfile=serial.img\n"
		"[all]\n"
		"[HDMI:0]\narm_64bit=1\n",
		NULL,
	};
	struct boot_config c;

	(void)state;
	c = eval(BOARD_RASPI4B, cfg);
	assert_string_equal(c.kernel, "k4.img");
	assert_string_equal(c.cmdline, "all.txt");
	assert_string_equal(c.device_tree, "bt11.dtb");
	assert_string_equal(c.os_prefix, "");
	assert_int_equal(c.initramfs_count, 0);
	assert_int_equal(c.arm_64bit, 1); /* [HDMI:0] does not filter */
	c = eval(BOARD_RASPI3B, cfg);
	assert_string_equal(c.kernel, "k3.img");
	assert_string_equal(c.device_tree, "bt08.dtb");
}

static void test_include(void **state)
{
	const char *const cfg[] = {
		"config.txt",
		"include extra.txt\nkernel=after.img\n[pi3]\ninclude "
		"three.txt\n",
		"extra.txt",
		"kernel=extra.img\ncmdline=extra-cmdline.txt\n",
		"three.txt",
		"device_tree=three.dtb\n[all]\ninitramfs all.cpio\n",
		NULL,
	};
	const char *const loop[] = {
		"config.txt", "include a.txt\n",
		"a.txt",      "kernel=a.img\ninclude config.txt\n",
		NULL,
	};
	struct boot_config c;

	(void)state;
	c = eval(BOARD_RASPI4B, cfg);
	assert_string_equal(c.kernel, "after.img"); /* later settings win */
	assert_string_equal(c.cmdline, "extra-cmdline.txt");
	/* Included text is filtered like the file it is in... */
	assert_string_equal(c.device_tree, "bcm2711-rpi-4-b.dtb");
	/* ...and its own [all] opens the filter again. */
	assert_int_equal(c.initramfs_count, 1);
	assert_string_equal(c.initramfs[0], "all.cpio");
	c = eval(BOARD_RASPI4B, loop);
	assert_string_equal(c.kernel, "a.img");
}

static void test_os_prefix(void **state)
{
	const char *const viable[] = {
		"config.txt",
		"os_prefix=alt/\ninitramfs initrd.img followkernel\n",
		"alt/kernel8.img",
		"k",
		"alt/bcm2711-rpi-4-b.dtb",
		"d",
		NULL,
	};
	const char *const not_viable[] = {
		"config.txt", "os_prefix=alt/\n", "alt/kernel8.img", "k", NULL,
	};
	const char *const absolute[] = {
		"config.txt",
		"os_prefix=alt/\nkernel=/common.img\n",
		"common.img",
		"k",
		"alt/bcm2711-rpi-4-b.dtb",
		"d",
		NULL,
	};
	struct boot_config c;

	(void)state;
	c = eval(BOARD_RASPI4B, viable);
	assert_string_equal(c.kernel, "alt/kernel8.img");
	assert_string_equal(c.device_tree, "alt/bcm2711-rpi-4-b.dtb");
	assert_string_equal(c.cmdline, "alt/cmdline.txt");
	assert_string_equal(c.initramfs[0], "alt/initrd.img");
	c = eval(BOARD_RASPI4B, not_viable);
	assert_true(c.os_prefix_ignored);
	assert_string_equal(c.kernel, "kernel8.img");
	c = eval(BOARD_RASPI4B, absolute);
	assert_string_equal(c.kernel, "common.img");
	assert_string_equal(c.device_tree, "alt/bcm2711-rpi-4-b.dtb");
}

static void test_initramfs_forms(void **state)
{
	const char *const multi[] = {
		"config.txt",
		"initramfs a.cpio,b.cpio followkernel\n",
		NULL,
	};
	const char *const ramfs[] = {"config.txt", "ramfsfile=r.cpio\n", NULL};
	const char *const auto_other[] = {
		"config.txt",
		"kernel=kernel_2712.img\nauto_initramfs=1\n",
		"initramfs_2712",
		"i",
		NULL,
	};
	struct boot_config c;

	(void)state;
	c = eval(BOARD_RASPI4B, multi);
	assert_int_equal(c.initramfs_count, 2);
	assert_string_equal(c.initramfs[1], "b.cpio");
	c = eval(BOARD_RASPI4B, ramfs);
	assert_string_equal(c.initramfs[0], "r.cpio");
	c = eval(BOARD_RASPI4B, auto_other);
	assert_string_equal(c.initramfs[0], "initramfs_2712");
}

static void test_format_details(void **state)
{
	char longline[200];
	const char *crlf[] = {"config.txt",
			      "kernel=crlf.img\r\n  device_tree=x.dtb  \r\n",
			      NULL};
	const char *cut[] = {"config.txt", longline, NULL};
	const char *none[] = {NULL};
	const char *upstream[] = {
		"config.txt", "upstream_kernel=1\n", "bcm2837-rpi-3-b.dtb",
		"d",	      "bcm2710-rpi-3-b.dtb", "d",
		NULL,
	};
	struct boot_config c;

	(void)state;
	c = eval(BOARD_RASPI4B, crlf);
	assert_string_equal(c.kernel, "crlf.img");
	assert_string_equal(c.device_tree, "x.dtb");
	/* Past 98 characters a line is cut, as the firmware cuts it. */
	snprintf(longline, sizeof(longline), "kernel=%0120d\n", 7);
	c = eval(BOARD_RASPI4B, cut);
	assert_int_equal(strlen(c.kernel), 98 - strlen("kernel="));
	c = eval(BOARD_RASPI4B, none);
	assert_false(c.found);
	assert_string_equal(c.kernel, "kernel8.img");
	c = eval(BOARD_RASPI3B, upstream);
	assert_string_equal(c.device_tree, "bcm2837-rpi-3-b.dtb");
}

static const char *partuuid(void *ctx, unsigned n)
{
	(void)ctx;
	return n == 2 ? "5eedc0de-02" : n == 1 ? "5eedc0de-01" : NULL;
}

static void test_cmdline(void **state)
{
	struct cmdline_result r;
	char huge[3000];

	(void)state;
	assert_int_equal(
		cmdline_adjust("console=serial0,115200 console=tty1 "
			       "root=PARTUUID=5eedc0de-02 rootfstype=ext4 "
			       "fsck.repair=yes rootwait\n",
			       partuuid, NULL, &r),
		0);
	assert_string_equal(r.line,
			    "console=ttyAMA0,115200 root=PARTUUID=5eedc0de-02 "
			    "rootfstype=ext4 fsck.repair=yes rootwait "
			    "usbcore.autosuspend=-1 "
			    "systemd.watchdog_device=/dev/rpifs-none");
	assert_int_equal(r.note_count, 3);
	assert_non_null(strstr(r.notes[0],
			       "console=serial0,115200 console=tty1 -> "
			       "console=ttyAMA0,115200"));

	assert_int_equal(cmdline_adjust("root=/dev/mmcblk0p2 rootdelay=5 quiet",
					partuuid, NULL, &r),
			 0);
	assert_string_equal(r.line,
			    "console=ttyAMA0,115200 root=PARTUUID=5eedc0de-02 "
			    "quiet rootwait usbcore.autosuspend=-1 "
			    "systemd.watchdog_device=/dev/rpifs-none");
	assert_int_equal(r.note_count, 6);

	assert_int_equal(
		cmdline_adjust(
			"console=ttyAMA0,115200 root=/dev/mmcblk1p2 rootwait",
			partuuid, NULL, &r),
		0);
	assert_string_equal(r.line,
			    "console=ttyAMA0,115200 root=PARTUUID=5eedc0de-02 "
			    "rootwait usbcore.autosuspend=-1 "
			    "systemd.watchdog_device=/dev/rpifs-none");
	assert_int_equal(r.note_count, 3);
	/* The owner's own values stay, and are not added twice. */
	assert_int_equal(
		cmdline_adjust(
			"console=ttyAMA0,115200 root=PARTUUID=5eedc0de-02 "
			"rootwait usbcore.autosuspend=2 "
			"systemd.watchdog_device=/dev/watchdog1",
			partuuid, NULL, &r),
		0);
	assert_string_equal(
		r.line,
		"console=ttyAMA0,115200 root=PARTUUID=5eedc0de-02 rootwait "
		"usbcore.autosuspend=2 systemd.watchdog_device=/dev/watchdog1");
	assert_int_equal(r.note_count, 0);
	/* A partition that does not exist stays as written. */
	assert_int_equal(cmdline_adjust("root=/dev/mmcblk0p9 rootwait",
					partuuid, NULL, &r),
			 0);
	assert_non_null(strstr(r.line, "root=/dev/mmcblk0p9"));

	memset(huge, 'x', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	assert_int_equal(cmdline_adjust(huge, partuuid, NULL, &r), -E2BIG);
}

static struct buf text(const char *s)
{
	struct buf b = {(uint8_t *)s, strlen(s), strlen(s), false};

	return b;
}

static void test_userconf(void **state)
{
	struct buf in;
	char *line, expect[256];
	struct crypt_data cd;
	const char *hash;

	(void)state;
	in = text("pi:raspberry\n");
	assert_int_equal(userconf_make(&in, &line), 0);
	assert_int_equal(strncmp(line, "pi:$6$", 6), 0);
	hash = line + 3;
	/* The hash verifies, independently of how it was made. */
	memset(&cd, 0, sizeof(cd));
	snprintf(expect, sizeof(expect), "%.*s", (int)strcspn(hash, "\n"),
		 hash);
	assert_string_equal(crypt_r("raspberry", expect, &cd), expect);
	free(line);

	/* Two lines of the same input hash differently: fresh salts. */
	{
		char *a, *b;

		assert_int_equal(userconf_make(&in, &a), 0);
		assert_int_equal(userconf_make(&in, &b), 0);
		assert_string_not_equal(a, b);
		free(a);
		free(b);
	}
	in = text("pi:$6$abcdefgh$"
		  "3Mry0ijNFPGbwbcoxKr3N1MqV7tObRPCXEyn6LwvLrxsY5qGl2j1q0gUxFYA"
		  "E3KyJP6XwUqvwb7A8tsVHL6Rn.");
	assert_int_equal(userconf_make(&in, &line), 0);
	assert_string_equal(line,
			    "pi:$6$abcdefgh$"
			    "3Mry0ijNFPGbwbcoxKr3N1MqV7tObRPCXEyn6LwvLrxsY5qGl2"
			    "j1q0gUxFYAE3KyJP6XwUqvwb7A8tsVHL6Rn.\n");
	free(line);

	static const char *const bad[] = {
		"no colon\n",
		":pw\n",
		"pi:\n",
		"Pi:pw\n",
		"1pi:pw\n",
		"pi x:pw\n",
		"pi:pw\nsecond:line\n",
		"pi:$9$nope\n",
		"pi:$1$legacy$hash\n",
		"a-very-long-user-name-over-32-chars:pw\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		in = text(bad[i]);
		if (userconf_make(&in, &line) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
	}
	/* The early check waits for a complete line. */
	in = text("pi");
	assert_int_equal(userconf_check(&in), 0);
	in = text("pi\n");
	assert_int_equal(userconf_check(&in), -EINVAL);
	in = text("pi:x\nmore");
	assert_int_equal(userconf_check(&in), -EINVAL);
}

static void test_cloud_init(void **state)
{
	const char *plain = "#cloud-config\nhostname: pi\n";
	const char *indented = "#cloud-config\nusers:\n  - default\n  - name: "
			       "other\nruncmd: []\n";
	const char *inline_list = "#cloud-config\nusers: [default]\n";
	char *out, *back;

	(void)state;
	assert_int_equal(
		userconf_cloud_init(plain, strlen(plain), "pi", "$6$x$y", &out),
		0);
	assert_non_null(strstr(out, "\nusers:\n  - name: pi\n"));
	assert_non_null(strstr(out, "    passwd: $6$x$y\n"));
	assert_non_null(strstr(out, "    lock_passwd: false\n"));
	/* Writing again replaces, removing restores the original. */
	assert_int_equal(
		userconf_cloud_init(out, strlen(out), "pi", "$6$z$w", &back),
		0);
	assert_null(strstr(back, "$6$x$y"));
	assert_non_null(strstr(back, "$6$z$w"));
	free(out);
	assert_int_equal(
		userconf_cloud_init(back, strlen(back), NULL, NULL, &out), 0);
	assert_string_equal(out, plain);
	free(out);
	free(back);

	/* An existing list: the first item, at the list's indentation. */
	assert_int_equal(userconf_cloud_init(indented, strlen(indented), "pi",
					     "$6$x$y", &out),
			 0);
	assert_non_null(strstr(out, "users:\n# rpifs: the user from userconf "
				    "(begin)\n  - name: pi\n"));
	assert_non_null(
		strstr(out, "  - default\n  - name: other\nruncmd: []\n"));
	assert_int_equal(
		userconf_cloud_init(out, strlen(out), NULL, NULL, &back), 0);
	assert_string_equal(back, indented);
	free(out);
	free(back);

	assert_int_equal(userconf_cloud_init(inline_list, strlen(inline_list),
					     "pi", "$6$x$y", &out),
			 -ENOTSUP);
}

/* A small device tree with the nodes the adjustments look for. */
static void *small_fdt(size_t *len)
{
	static char buf[4096];

	assert_int_equal(fdt_create(buf, sizeof(buf)), 0);
	assert_int_equal(fdt_finish_reservemap(buf), 0);
	assert_int_equal(fdt_begin_node(buf, ""), 0);
	assert_int_equal(fdt_begin_node(buf, "aliases"), 0);
	assert_int_equal(
		fdt_property_string(buf, "mmc0", "/emmc2bus/mmc@7e340000"), 0);
	assert_int_equal(fdt_end_node(buf), 0);
	assert_int_equal(fdt_begin_node(buf, "soc"), 0);
	assert_int_equal(fdt_begin_node(buf, "serial@7e201000"), 0);
	assert_int_equal(fdt_begin_node(buf, "bluetooth"), 0);
	assert_int_equal(fdt_end_node(buf), 0);
	assert_int_equal(fdt_end_node(buf), 0);
	assert_int_equal(fdt_begin_node(buf, "mmc@7e300000"), 0);
	assert_int_equal(fdt_property_u32(buf, "mmc-pwrseq", 7), 0);
	assert_int_equal(fdt_end_node(buf), 0);
	assert_int_equal(fdt_begin_node(buf, "hdmi@7ef00700"), 0);
	assert_int_equal(fdt_property_string(buf, "status", "okay"), 0);
	assert_int_equal(fdt_end_node(buf), 0);
	assert_int_equal(fdt_begin_node(buf, "i2c@7ef04500"), 0);
	assert_int_equal(fdt_property_string(buf, "status", "disabled"), 0);
	assert_int_equal(fdt_end_node(buf), 0);
	assert_int_equal(fdt_end_node(buf), 0);
	assert_int_equal(fdt_end_node(buf), 0);
	assert_int_equal(fdt_finish(buf), 0);
	*len = fdt_totalsize(buf);
	return buf;
}

static const char *status_of(const void *fdt, const char *path)
{
	int off = fdt_path_offset(fdt, path);
	const char *s = off >= 0 ? fdt_getprop(fdt, off, "status", NULL) : NULL;

	return s ? s : "okay";
}

static void test_dtb(void **state)
{
	struct dtb_notes notes;
	size_t len, out_len;
	void *in = small_fdt(&len), *out;
	int off;

	(void)state;
	assert_int_equal(
		dtb_adjust(BOARD_RASPI4B, in, len, &out, &out_len, &notes), 0);
	assert_string_equal(status_of(out, "/soc/serial@7e201000/bluetooth"),
			    "disabled");
	assert_string_equal(status_of(out, "/soc/hdmi@7ef00700"), "disabled");
	off = fdt_path_offset(out, "/soc/mmc@7e300000");
	assert_null(fdt_getprop(out, off, "mmc-pwrseq", NULL));
	assert_string_equal(fdt_getprop(out, fdt_path_offset(out, "/aliases"),
					"mmc0", NULL),
			    "/soc/mmc@7e300000");
	/* Applied: bluetooth, hdmi, pwrseq, alias; not the disabled i2c. */
	assert_int_equal(notes.count, 4);
	free(out);
	/* The input is untouched. */
	assert_string_equal(status_of(in, "/soc/hdmi@7ef00700"), "okay");

	assert_int_equal(
		dtb_adjust(BOARD_RASPI3B, in, len, &out, &out_len, &notes), 0);
	assert_int_equal(notes.count, 1);
	assert_string_equal(status_of(out, "/soc/hdmi@7ef00700"), "okay");
	free(out);
	assert_int_equal(dtb_adjust(BOARD_RASPI4B, "not a dtb at all, no......",
				    26, &out, &out_len, &notes),
			 -EINVAL);
}

static void test_runs(void **state)
{
	char base[] = "/tmp/rpifs-runs-XXXXXX", dir[PATH_MAX],
	     runs[PATH_MAX + 8];
	int count = 0;
	DIR *d;
	struct dirent *de;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(base));
	for (int i = 0; i < 13; i++) {
		char prev[PATH_MAX];

		assert_int_equal(runs_new(base, 10, dir, sizeof(dir), prev,
					  sizeof(prev)),
				 0);
		assert_int_equal(i == 0, prev[0] == '\0');
		assert_int_equal(runs_write(dir, "cmdline", "x", 1), 0);
	}
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(runs, sizeof(runs), "%s/runs", base);
	d = opendir(runs);
	assert_non_null(d);
	while ((de = readdir(d)))
		count += de->d_name[0] != '.';
	closedir(d);
	assert_int_equal(count, 10);
	assert_int_equal(
		system((snprintf(runs, sizeof(runs), "rm -rf '%s'", base),
			runs)),
		0);
}

/*
 * The same kernel, boot after boot and image after image, is one file in
 * blobs/, linked into each run folder; other bytes of the same size are
 * another; a blob no run links is removed with the run folders.
 */
static void test_runs_shared(void **state)
{
	char base[] = "/tmp/rpifs-runs-XXXXXX", sd[2][PATH_MAX],
	     dir[3][PATH_MAX];
	char prev[PATH_MAX], path[3][PATH_MAX + 8], cmd[2 * PATH_MAX + 32],
		buf[16];
	static const char kernel[] = "kernel bytes", other[] = "kernel BYTES";
	struct stat st[3];
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(base));
	snprintf(sd[0], sizeof(sd[0]), "%s/a.img-1", base);
	snprintf(sd[1], sizeof(sd[1]), "%s/b.img-2", base);
	for (int i = 0; i < 3; i++) {
		const char *s = sd[i == 1];

		assert_int_equal(runs_new(s, 10, dir[i], sizeof(dir[i]), prev,
					  sizeof(prev)),
				 0);
		assert_int_equal(runs_write_shared(s, dir[i], "kernel",
						   i == 2 ? other : kernel,
						   sizeof(kernel) - 1),
				 0);
		assert_int_equal(
			runs_path(path[i], sizeof(path[i]), dir[i], "kernel"),
			0);
		assert_int_equal(stat(path[i], &st[i]), 0);
		assert_int_equal(st[i].st_size, sizeof(kernel) - 1);
		assert_int_equal(st[i].st_mode & 0777, 0400); /* a blob */
		f = fopen(path[i], "r");
		assert_non_null(f);
		assert_int_equal(fread(buf, 1, sizeof(buf), f),
				 sizeof(kernel) - 1);
		fclose(f);
		assert_memory_equal(buf, i == 2 ? other : kernel,
				    sizeof(kernel) - 1);
	}
	/* Same bytes in two images' runs: one file (and its blob). */
	assert_int_equal(st[0].st_ino, st[1].st_ino);
	assert_int_equal(stat(path[1], &st[1]), 0);
	assert_int_equal(st[1].st_nlink, 3);
	assert_int_not_equal(st[1].st_ino, st[2].st_ino);
	/* Without its run folders, a blob goes at the next run. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", sd[1], dir[2]);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(
		runs_new(sd[0], 10, dir[2], sizeof(dir[2]), prev, sizeof(prev)),
		0);
	assert_int_equal(stat(path[0], &st[0]), 0);
	assert_int_equal(st[0].st_nlink, 2); /* a.img's run and the blob */
	snprintf(cmd, sizeof(cmd), "test $(ls '%s/blobs' | wc -l) = 1", base);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	assert_int_equal(system(cmd), 0);
}

static int cmp_hash(const void *a, const void *b)
{
	return memcmp(a, b, 2 * sizeof(uint64_t));
}

/*
 * The hash that names a blob: equal bytes give equal hashes; every
 * one-bit change anywhere (in the 32-byte stripes and the zero-padded
 * tail), and a trailing zero byte more or less, gives another.
 */
static void test_content_hash(void **state)
{
	enum { LEN = 1000, FLIPS = LEN * 8 };
	static uint8_t data[LEN + 1], copy[LEN + 1];
	static uint64_t h[FLIPS + 3][2];
	uint64_t again[2];

	(void)state;
	for (size_t i = 0; i < LEN; i++)
		data[i] = (uint8_t)(i * 131 + 7);
	memcpy(copy, data, sizeof(copy));
	for (size_t bit = 0; bit < FLIPS; bit++) {
		copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		runs_content_hash(copy, LEN, h[bit]);
		copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	runs_content_hash(data, LEN, h[FLIPS]);
	runs_content_hash(data, LEN + 1, h[FLIPS + 1]); /* data[LEN] is 0 */
	runs_content_hash(data, LEN - 1, h[FLIPS + 2]);
	runs_content_hash(copy, LEN, again);
	assert_memory_equal(again, h[FLIPS], sizeof(again));
	qsort(h, FLIPS + 3, sizeof(h[0]), cmp_hash);
	for (size_t i = 1; i < FLIPS + 3; i++)
		assert_int_not_equal(cmp_hash(h[i - 1], h[i]), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bookworm),
		cmocka_unit_test(test_bullseye),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_include),
		cmocka_unit_test(test_os_prefix),
		cmocka_unit_test(test_initramfs_forms),
		cmocka_unit_test(test_format_details),
		cmocka_unit_test(test_cmdline),
		cmocka_unit_test(test_userconf),
		cmocka_unit_test(test_cloud_init),
		cmocka_unit_test(test_dtb),
		cmocka_unit_test(test_runs),
		cmocka_unit_test(test_runs_shared),
		cmocka_unit_test(test_content_hash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
