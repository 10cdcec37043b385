/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one logger: messages go to stderr in the foreground and to syslog
 * once the daemon has detached, and to a log file when one is set. The last
 * warning or error is kept so that the mount's status file can show it to a
 * user who never reads syslog.
 */
#ifndef RPIFS_LOG_H
#define RPIFS_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum rpifs_log_level {
	RPIFS_ERR,
	RPIFS_WARN,
	RPIFS_INFO,
	RPIFS_DEBUG,
};

void rpifs_log(enum rpifs_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Send further messages to syslog (true) or stderr (false). */
void rpifs_log_use_syslog(bool on);

/*
 * Also append every message, with its time, to the file @path (0600),
 * which is moved to @path.1 when it would grow past @max bytes.
 * @return 0 or -1 (errno set).
 */
int rpifs_log_to_file(const char *path, size_t max);

/* Print messages up to and including this level (default RPIFS_INFO). */
void rpifs_log_set_level(enum rpifs_log_level level);

/* Copy the last warning or error into buf; @return its length, 0 if none. */
size_t rpifs_log_last(char *buf, size_t size);
/* Forget the last warning: what it said is over (a later write worked,
   the guest it spoke of stopped). */
void rpifs_log_clear_last(void);

#endif
