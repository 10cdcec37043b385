/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unix stream sockets by path: the QEMU serial and QMP sockets the launcher
 * connects to, the console socket it listens on and rpifs console uses.
 */
#ifndef RPIFS_UNIXSOCK_H
#define RPIFS_UNIXSOCK_H

#include <stdbool.h>
#include <sys/types.h>

/* Connect to @path (SOCK_CLOEXEC, plus SOCK_NONBLOCK when @nonblock).
   @return the socket or -errno (-ENAMETOOLONG: the path does not fit). */
int unix_connect(const char *path, bool nonblock);
/* Listen on @path (removed first), chmod'ed to @mode. @return fd or -errno. */
int unix_listen(const char *path, mode_t mode);

#endif
