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
/*
 * rpifs console DIR: the serial console on stdin and stdout; on a terminal
 * Ctrl-] detaches, from a script it exits once its input has ended and the
 * guest's output has been quiet for a second.
 */
int cli_console(int argc, char **argv);
/* rpifs info IMAGE */
int cli_info(int argc, char **argv);
/* rpifs resize IMAGE SIZE [--grow-root] */
int cli_resize(int argc, char **argv);
/* rpifs runs [--clean]: what is kept of past boots. */
int cli_runs(int argc, char **argv);
/* rpifs fsck IMAGE [-n]: the root's journal replayed, then e2fsck. */
int cli_fsck(int argc, char **argv);

/* ---- the image's root file system (info.c, fsck.c) ---- */

struct part_image;
struct part_entry;

/* The root partition the boot partition's command line names, or NULL. */
const struct part_entry *cli_root_partition(struct part_image *img);
/*
 * Replay the journal of the ext2/3/4 file system in @p when a power cut
 * left it unreplayed, with rpifs's own replay (e2fsck loses an image
 * file's ?offset= when it reopens after replaying). @return 0, or -1 with
 * the reason said.
 */
int cli_replay_journal(struct part_image *img, const struct part_entry *p);
/* Lock @img as a mount does; -1 with the reason said when in use. */
int cli_lock_image(struct part_image *img, const char *image);
/* rpifs ssh DIR [-l USER] [SSH-OPTION...] [[--] COMMAND...]: ssh's status. */
int cli_ssh(int argc, char **argv);
/* rpifs guestfwd-relay PORT: run by QEMU for a guestfwd connection. */
int cli_relay(int argc, char **argv);
/* Its command name (launcher/net.h's NET_RELAY_COMMAND). */
extern const char cli_relay_name[];

/* ---- client.c: helpers for the commands that drive a mount ---- */

/* One line for a DIR argument that realpath() refused with @err. */
void cli_bad_dir(const char *arg, int err);
/* The canonical mount directory of an rpifs mount, or a message and -1. */
int cli_mount_dir(const char *arg, char *dir, size_t size);
/* The value of "@key: value" in DIR/status into @out, or "". */
void cli_status_value(const char *dir, const char *key, char *out, size_t size);
/* A whole control file DIR/NAME (NUL-terminated, malloc'd), or NULL. */
char *cli_read_ctl(const char *dir, const char *name);

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
