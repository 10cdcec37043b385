// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rpifs: the command line. A table of commands; each lives in its own
 * file (cli/, and fs/mount.c for the FUSE daemon).
 */
#include "cli/cli.h"
#include "common/log.h"
#include "fs/mount.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char help_text[] =
	"usage: rpifs COMMAND [ARGS]\n"
	"\n"
	"Show a Raspberry Pi OS disk image as a directory, and boot it.\n"
	"\n"
	"commands:\n"
	"  mount [-f] [-d] [-o OPTIONS] IMAGE DIR\n"
	"                     mount IMAGE on DIR: DIR/boot is its FAT boot\n"
	"                     partition, DIR/root its root file system; -f "
	"stays\n"
	"                     in the foreground, -d too, tracing every FUSE\n"
	"                     request\n"
	"  umount DIR         stop a running guest, unmount, once everything "
	"is\n"
	"                     written\n"
	"  run DIR [--wait[=ssh]] [--timeout S]\n"
	"                     boot (as touch DIR/run); --wait returns 0 at "
	"the\n"
	"                     login prompt (=ssh: once the guest's sshd "
	"answers\n"
	"                     on the ssh port), 1 on a panic, an early exit "
	"or\n"
	"                     the timeout (default 300 s); Ctrl-C ends the "
	"wait\n"
	"                     and leaves the guest running (status 130)\n"
	"  stop DIR [--force]\n"
	"                     stop the guest: its init shuts it down, else "
	"its\n"
	"                     kernel syncs and remounts read-only, else the\n"
	"                     power is cut; --force cuts the power at once\n"
	"  ssh DIR [-l USER] [SSH-OPTION...] [[--] COMMAND...]\n"
	"                     ssh into the running guest through the ssh port, "
	"as\n"
	"                     userconf's user; its host key is kept in "
	"rpifs's\n"
	"                     state folder; exits with the command's status\n"
	"  console DIR        the terminal on the serial console; Ctrl-] "
	"detaches;\n"
	"                     from a script, exits once its input has ended "
	"and\n"
	"                     the guest has been quiet for 1 s\n"
	"  status DIR         what DIR/status says\n"
	"  info IMAGE         partitions, file systems and boot files\n"
	"  resize IMAGE SIZE [--grow-root]\n"
	"                     grow the image file, sparse (never shrinks; "
	"SIZE\n"
	"                     as 4G, 512M or +1G); --grow-root grows the last\n"
	"                     partition and its ext4 file system to the end\n"
	"  runs [--clean]     what is kept of past boots; --clean removes "
	"what\n"
	"                     belongs to images that are gone\n"
	"  fsck IMAGE [-n]    check and repair the root file system in place:\n"
	"                     its journal replayed first, then e2fsck -fy\n"
	"                     (-n: check only, e2fsck -fn)\n"
	"\n"
	"mount options (-o, comma separated):\n"
	"  ro                 read-only (a boot is throwaway, as with "
	"snapshot)\n"
	"  snapshot           boots discard the guest's writes\n"
	"  uid=N, gid=N       owner of the files (default: you)\n"
	"  umask=M, dmask=M, fmask=M\n"
	"                     permission masks, octal (default: your umask)\n"
	"  quiet              chmod and chown that FAT cannot store succeed\n"
	"  root=rw|ro|off     root/ read-write (default), read-only, or "
	"hidden\n"
	"  new_owner=dir|caller\n"
	"                     whose are the files you make in root/: the\n"
	"                     directory's owner's (default) or yours\n"
	"  machine=raspi4b|raspi3b\n"
	"                     the board to emulate (default raspi4b)\n"
	"  net=user|restricted|none\n"
	"                     the guest's network (usb-net, QEMU's user "
	"network):\n"
	"                     what the host reaches (default), only what is\n"
	"                     forwarded (restrict=on), or no network device\n"
	"  ssh=PORT|auto      forward 127.0.0.1:PORT (auto: a free port at "
	"each\n"
	"                     boot, shown in status) to the guest's port 22\n"
	"  hostfwd=tcp:HOSTPORT:GUESTPORT\n"
	"                     forward 127.0.0.1:HOSTPORT to the guest's "
	"GUESTPORT\n"
	"                     (udp: too; repeatable)\n"
	"  guestfwd=tcp:GUESTPORT:HOSTPORT\n"
	"                     the guest reaches the host's 127.0.0.1:HOSTPORT "
	"at\n"
	"                     10.0.2.100:GUESTPORT (repeatable)\n"
	"  stop_timeout=S     how long a stop waits for the guest's init\n"
	"                     (default 60 s)\n"
	"  tcg=auto|single|multi\n"
	"                     QEMU's TCG threads: one for all vCPUs, or one "
	"each\n"
	"                     (auto: multi from 6 host CPUs)\n"
	"  qemu_args=FILE     more QEMU arguments, one per line (a VNC "
	"display,\n"
	"                     a USB device); rpifs's own are refused\n"
	"  allow_other        let other users in (checked as the guest's "
	"users)\n"
	"  FUSE's other options are passed on; unknown ones are refused\n"
	"\n"
	"  -h, --help         this text; after a command, that command's "
	"usage\n"
	"  --version          the version\n";

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs(help_text, stdout);
	return 0;
}

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("rpifs %s\n", RPIFS_VERSION);
	return 0;
}

/*
 * Each command's usage and what it does, for "rpifs COMMAND --help" (the
 * same words as help_text; tests/docs.bats compares them). A NULL usage:
 * the command reads -h and --help itself (mount, through FUSE's parser).
 */
static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
	const char *about;
} commands[] = {
	{"mount", rfs_mount_main, NULL, NULL},
	{"umount", cli_umount, "umount DIR",
	 "Stop a running guest, unmount DIR, and return once everything is\n"
	 "written and the image is let go."},
	{"unmount", cli_umount, "unmount DIR", "The same as rpifs umount."},
	{"info", cli_info, "info IMAGE",
	 "Partitions, file systems and the boot files a boot would use."},
	{"run", cli_run, "run DIR [--wait[=ssh]] [--timeout S]",
	 "Boot the guest (as touch DIR/run). --wait returns 0 at the login\n"
	 "prompt (--wait=ssh: once the guest's sshd answers on the ssh port),\n"
	 "1 on a panic, an early exit of QEMU or the timeout (default 300 s),\n"
	 "showing the console's last lines; Ctrl-C ends the wait and leaves\n"
	 "the guest running (status 130)."},
	{"stop", cli_stop, "stop DIR [--force]",
	 "Stop the guest: its init shuts it down (ctrl-alt-delete), else its\n"
	 "kernel syncs and remounts read-only (SysRq), else the power is cut.\n"
	 "--force cuts the power at once."},
	{"console", cli_console, "console DIR",
	 "The serial console on this terminal; Ctrl-] detaches. From a\n"
	 "script: the input goes to the guest, and once it ends the guest's\n"
	 "output is copied until it has been quiet for 1 s (at most 30 s),\n"
	 "then rpifs exits 0. Output that is not a terminal is plain text:\n"
	 "the guest's terminal control sequences are taken out."},
	{"ssh", cli_ssh, "ssh DIR [-l USER] [SSH-OPTION...] [[--] COMMAND...]",
	 "ssh into the running guest through its forwarded ssh port, as\n"
	 "userconf's user (-l another); the guest's host key is kept in\n"
	 "rpifs's state folder for the image; exits with the command's (or\n"
	 "ssh's) status."},
	{cli_relay_name, cli_relay, NULL, NULL},
	{"status", cli_status, "status DIR", "What DIR/status says."},
	{"resize", cli_resize, "resize IMAGE SIZE [--grow-root]",
	 "Grow the image file, sparse (never shrinks; SIZE as 4G, 512M or\n"
	 "+1G); --grow-root grows the last partition and its ext4 file system\n"
	 "to the end (its journal replayed first)."},
	{"runs", cli_runs, "runs [--clean]",
	 "What is kept of past boots, per image (run folders, the daemon's\n"
	 "log) and the kernels shared between them; --clean removes the\n"
	 "folders of images that are gone and what nothing uses."},
	{"fsck", cli_fsck, "fsck IMAGE [-n]",
	 "Check and repair the root file system in place: its journal\n"
	 "replayed first, then e2fsck -fy (-n: check only, e2fsck -fn)."},
	{"help", cmd_help, NULL, NULL},
	{"--help", cmd_help, NULL, NULL},
	{"-h", cmd_help, NULL, NULL},
	{"--version", cmd_version, NULL, NULL},
	{"version", cmd_version, NULL, NULL},
};

/*
 * Whether -h or --help comes among the arguments (before a --; for ssh,
 * whose arguments after DIR are ssh's and the command's, only first).
 */
static bool wants_help(int argc, char **argv)
{
	if (strcmp(argv[0], "ssh") == 0 && argc > 2)
		argc = 2;
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(help_text, stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) != 0)
			continue;
		if (commands[i].usage && wants_help(argc - 1, argv + 1)) {
			printf("usage: rpifs %s\n%s\n", commands[i].usage,
			       commands[i].about);
			return 0;
		}
		return commands[i].run(argc - 1, argv + 1);
	}
	rpifs_log(RPIFS_ERR, "unknown command '%s': see rpifs --help", argv[1]);
	return 2;
}
