/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rpifs mount: the FUSE daemon's entry point (no FUSE types here, so that
 * the command line needs no FUSE headers).
 */
#ifndef RPIFS_MOUNT_H
#define RPIFS_MOUNT_H

/* rpifs mount [-f] [-d] [-o OPTS] IMAGE DIR; argv[0] is "mount". */
int rfs_mount_main(int argc, char **argv);

#endif
