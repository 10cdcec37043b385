/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The status file: one "key: value" per line saying what the next boot
 * would use and what the last one did.
 */
#ifndef RPIFS_STATUS_H
#define RPIFS_STATUS_H

#include "rfs.h"
#include "../common/buf.h"

/* The status text, built now. */
int status_text(struct rfs *fs, struct buf *out);
/* For getattr: the size of the text last built (it is built at open). */
void status_stat(struct rfs *fs, uint64_t *size, struct timespec *mtime);

#endif
