/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rpifs run, stop, status and console: clients of a mounted image.
 * Each takes its command's argv (argv[0] the command) and returns the
 * exit status.
 */
#ifndef RPIFS_CLIENT_H
#define RPIFS_CLIENT_H

/* rpifs run DIR [--wait] [--timeout S]: 0 at a login prompt. */
int client_run(int argc, char **argv);
/* rpifs stop DIR: a clean stop, waited for. */
int client_stop(int argc, char **argv);
int client_status(int argc, char **argv);
/* rpifs console DIR: the terminal on the serial console; Ctrl-] detaches. */
int client_console(int argc, char **argv);

#endif
