/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Booting from the mount, and the guest's hold on the image: the one
 * write gate every guest-owned node passes, the run file's words and
 * state line, the console log.
 */
#ifndef RPIFS_RUN_H
#define RPIFS_RUN_H

#include "rfs.h"
#include "../common/buf.h"

/* Start the launcher (after daemonizing) and stop it (at unmount). */
int run_init(struct rfs *fs);
void run_shutdown(struct rfs *fs);
/* Boot the image now; @return 0 or -errno with the reason logged. */
int run_start(struct rfs *fs);
/* Stop the guest: orderly, or (@force) a power cut at once. */
int run_stop(struct rfs *fs, bool force);
/* Whether a guest owns the image now (cheap: no copy of the state). */
bool rfs_guest_running(struct rfs *fs);
/* -EROFS, logging once per boot why, while a guest runs; else 0. */
int run_check_writable(struct rfs *fs);

/* The run file's one line. */
void run_state_line(struct rfs *fs, char *buf, size_t size);
int run_state_text(struct rfs *fs, struct buf *out);
void run_state_stat(struct rfs *fs, uint64_t *size, struct timespec *mtime);
/* A word written to run: start, stop or kill. */
int run_command(struct rfs *fs, const char *word);
/* The log of the current or last boot, opened (-1 when there was none). */
int run_console_open(struct rfs *fs);
void run_console_stat(struct rfs *fs, uint64_t *size, struct timespec *mtime);

#endif
