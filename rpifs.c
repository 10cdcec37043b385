// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rpifs: the command line. A table of commands; each lives in its own
 * file (cli/, and fs/mount.c for the FUSE daemon).
 */
#include "cli/cli.h"
#include "common/log.h"
#include "fs/mount.h"

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
	"                     partition, DIR/root its root file system; -f stays\n"
	"                     in the foreground, -d too, tracing every FUSE\n"
	"                     request\n"
	"  umount DIR         stop a running guest, unmount, once everything is\n"
	"                     written\n"
	"  run DIR [--wait[=ssh]] [--timeout S]\n"
	"                     boot (as touch DIR/run); --wait returns 0 at the\n"
	"                     login prompt (=ssh: once the guest's sshd answers\n"
	"                     on the ssh port), 1 on a panic, an early exit or\n"
	"                     the timeout (default 300 s)\n"
	"  stop DIR           stop the guest cleanly (QMP, then SIGTERM, SIGKILL)\n"
	"  ssh DIR [-l USER] [SSH-OPTION...] [[--] COMMAND...]\n"
	"                     ssh into the running guest through the ssh port, as\n"
	"                     userconf's user; its host key is kept in rpifs's\n"
	"                     state folder; exits with the command's status\n"
	"  console DIR        the terminal on the serial console; Ctrl-] detaches\n"
	"  status DIR         what DIR/status says\n"
	"  info IMAGE         partitions, file systems and boot files\n"
	"  resize IMAGE SIZE [--grow-root]\n"
	"                     grow the image file, sparse (never shrinks; SIZE\n"
	"                     as 4G, 512M or +1G); --grow-root grows the last\n"
	"                     partition and its ext4 file system to the end\n"
	"\n"
	"mount options (-o, comma separated):\n"
	"  ro                 read-only\n"
	"  uid=N, gid=N       owner of the files (default: you)\n"
	"  umask=M, dmask=M, fmask=M\n"
	"                     permission masks, octal (default: your umask)\n"
	"  quiet              chmod and chown that FAT cannot store succeed\n"
	"  root=rw|ro|off     root/ read-write (default), read-only, or hidden\n"
	"  new_owner=dir|caller\n"
	"                     whose are the files you make in root/: the\n"
	"                     directory's owner's (default) or yours\n"
	"  machine=raspi4b|raspi3b\n"
	"                     the board to emulate (default raspi4b)\n"
	"  net=user|restricted|none\n"
	"                     the guest's network (usb-net, QEMU's user network):\n"
	"                     what the host reaches (default), only what is\n"
	"                     forwarded (restrict=on), or no network device\n"
	"  ssh=PORT|auto      forward 127.0.0.1:PORT (auto: a free port at each\n"
	"                     boot, shown in status) to the guest's port 22\n"
	"  hostfwd=tcp:HOSTPORT:GUESTPORT\n"
	"                     forward 127.0.0.1:HOSTPORT to the guest's GUESTPORT\n"
	"                     (udp: too; repeatable)\n"
	"  guestfwd=tcp:GUESTPORT:HOSTPORT\n"
	"                     the guest reaches the host's 127.0.0.1:HOSTPORT at\n"
	"                     10.0.2.100:GUESTPORT (repeatable)\n"
	"  allow_other        let other users in (checked as the guest's users)\n"
	"  FUSE's other options are passed on; unknown ones are refused\n"
	"\n"
	"  -h, --help         this text\n"
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

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "mount", rfs_mount_main },
	{ "umount", cli_umount },
	{ "unmount", cli_umount },
	{ "info", cli_info },
	{ "run", cli_run },
	{ "stop", cli_stop },
	{ "console", cli_console },
	{ "status", cli_status },
	{ "resize", cli_resize },
	{ "ssh", cli_ssh },
	{ cli_relay_name, cli_relay },
	{ "help", cmd_help },
	{ "--help", cmd_help },
	{ "-h", cmd_help },
	{ "--version", cmd_version },
	{ "version", cmd_version },
};

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(help_text, stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	rpifs_log(RPIFS_ERR, "unknown command '%s': see rpifs --help", argv[1]);
	return 2;
}
