// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The project's logger: stderr in the foreground, syslog when daemonized,
 * and a copy of the last warning or error for the status file.
 */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

static bool to_syslog;
static enum rpifs_log_level max_level = RPIFS_INFO;
static pthread_mutex_t last_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_msg[512];

void rpifs_log_use_syslog(bool on)
{
	if (on && !to_syslog)
		openlog("rpifs", LOG_PID, LOG_DAEMON);
	to_syslog = on;
}

void rpifs_log_set_level(enum rpifs_log_level level)
{
	max_level = level;
}

size_t rpifs_log_last(char *buf, size_t size)
{
	size_t len;

	pthread_mutex_lock(&last_lock);
	len = strlen(last_msg);
	if (size > 0)
		snprintf(buf, size, "%s", last_msg);
	pthread_mutex_unlock(&last_lock);
	return len;
}

void rpifs_log_clear_last(void)
{
	pthread_mutex_lock(&last_lock);
	last_msg[0] = '\0';
	pthread_mutex_unlock(&last_lock);
}

void rpifs_log(enum rpifs_log_level level, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char msg[1024];
	va_list ap;

	if (level > max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	if (level <= RPIFS_WARN) {
		pthread_mutex_lock(&last_lock);
		snprintf(last_msg, sizeof(last_msg), "%.511s", msg);
		pthread_mutex_unlock(&last_lock);
	}
	if (to_syslog)
		syslog(prio[level], "%s", msg);
	else
		fprintf(stderr, "rpifs: %s\n", msg);
}
