/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * userconf.txt, as Raspberry Pi OS's first boot reads it: one line
 * "user:HASH". A written "user:password" is hashed here (libcrypt, SHA-512,
 * a fresh salt); the plaintext lives only in wiped memory. For images set
 * up by cloud-init, the same user goes into user-data.
 */
#ifndef RPIFS_USERCONF_H
#define RPIFS_USERCONF_H

#include <stddef.h>

#include "../common/buf.h"

/* The longest line userconf takes, as written ("user:password\n"). */
#define USERCONF_MAX 4096

/*
 * Turn a written "user:password" (or "user:$6$...") into the line to
 * store, "user:HASH\n". @return 0 or -EINVAL with the reason logged.
 */
int userconf_make(const struct buf *in, char **line);
/*
 * Check what was written so far: -EINVAL (logged) when no more writing
 * can make it valid (a complete first line that is invalid, a second
 * line, a line too long); 0 otherwise, also while the line is unfinished.
 */
int userconf_check(const struct buf *in);
/* The user name of a stored line ("pi:$6$..." -> "pi"). */
void userconf_user(const char *line, char *user, size_t size);
/*
 * Add (hash != NULL) or remove rpifs's user in cloud-init's user-data.
 * @return 0, -ENOTSUP (an inline "users: [...]" rpifs does not edit) or
 * -ENOMEM.
 */
int userconf_cloud_init(const char *old, size_t len, const char *user,
			const char *hash, char **out);

#endif
