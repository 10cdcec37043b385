/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The commands of the rpifs command line other than mount (fs/mount.h):
 * each takes its command's argv (argv[0] the command) and returns the
 * exit status: 0, 1 for a failure said in one line, 2 for a usage error.
 */
#ifndef RPIFS_CLI_H
#define RPIFS_CLI_H

#include <stdbool.h>
#include <stddef.h>

/* rpifs umount DIR */
int cli_umount(int argc, char **argv);
/* rpifs run DIR [--wait[=ssh]] [--timeout S]: 0 at a login prompt (or
   once sshd answers). */
int cli_run(int argc, char **argv);
/* rpifs stop DIR: a clean stop, waited for. */
int cli_stop(int argc, char **argv);
int cli_status(int argc, char **argv);
/* rpifs console DIR: the terminal on the serial console; Ctrl-] detaches. */
int cli_console(int argc, char **argv);
/* rpifs info IMAGE */
int cli_info(int argc, char **argv);
/* rpifs resize IMAGE SIZE [--grow-root] */
int cli_resize(int argc, char **argv);
/* rpifs ssh DIR [-l USER] [SSH-OPTION...] [[--] COMMAND...]: ssh's status. */
int cli_ssh(int argc, char **argv);
/* rpifs guestfwd-relay PORT: run by QEMU for a guestfwd connection. */
int cli_relay(int argc, char **argv);
/* Its command name (launcher/net.h's NET_RELAY_COMMAND). */
extern const char cli_relay_name[];

/* ---- client.c: helpers for the commands that drive a mount ---- */

/* The canonical mount directory of an rpifs mount, or a message and -1. */
int cli_mount_dir(const char *arg, char *dir, size_t size);
/* A whole control file DIR/NAME (NUL-terminated, malloc'd), or NULL. */
char *cli_read_ctl(const char *dir, const char *name);
/* The value of "KEY: value" in DIR/status, or "". */
void cli_status_value(const char *dir, const char *key, char *out, size_t size);

/* ---- sshwait.c: rpifs run --wait=ssh ---- */

struct ssh_wait {
	bool wanted;
	unsigned port;	 /* from the status, once the boot has one */
	double next_try; /* seconds, as cli_run counts them */
};

/*
 * Whether DIR's mount forwards ssh at all, asked before booting.
 * @return 0, or 1 with a message saying how to mount it.
 */
int ssh_wait_check(const char *dir);
/*
 * Whether the guest's sshd answers on the forwarded port (an SSH-2.0-
 * banner), tried at most once a second; @elapsed is the seconds since the
 * boot began. Says so on stdout when it does. @return true then.
 */
bool ssh_wait_poll(struct ssh_wait *w, const char *dir, double elapsed);

#endif
