/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The commands of the rpifs command line other than mount (fs/mount.h):
 * each takes its command's argv (argv[0] the command) and returns the
 * exit status: 0, 1 for a failure said in one line, 2 for a usage error.
 */
#ifndef RPIFS_CLI_H
#define RPIFS_CLI_H

#include <stddef.h>

/* rpifs umount DIR */
int cli_umount(int argc, char **argv);
/* rpifs run DIR [--wait] [--timeout S]: 0 at a login prompt. */
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

#endif
