// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The project's logger: stderr in the foreground, syslog when daemonized
 * and a log file of the image's (a machine without /dev/log drops syslog
 * silently), and a copy of the last warning or error for the status file.
 */
#include "log.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static bool to_syslog;
static pthread_mutex_t file_lock = PTHREAD_MUTEX_INITIALIZER;
static char file_path[4096];
static size_t file_max;
static int file_fd = -1;
static enum rpifs_log_level max_level = RPIFS_INFO;
static pthread_mutex_t last_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_msg[512];

void rpifs_log_use_syslog(bool on)
{
	if (on && !to_syslog)
		openlog("rpifs", LOG_PID, LOG_DAEMON);
	to_syslog = on;
}

int rpifs_log_to_file(const char *path, size_t max)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	pthread_mutex_lock(&file_lock);
	if (file_fd >= 0)
		close(file_fd);
	file_fd = fd;
	file_max = max;
	snprintf(file_path, sizeof(file_path), "%s", path);
	pthread_mutex_unlock(&file_lock);
	return 0;
}

/* One line into the log file; past its bound it becomes PATH.1. */
static void to_file(const char *level, const char *msg)
{
	char when[32], line[1200];
	struct stat st;
	struct tm tm;
	time_t now = time(NULL);
	int n;

	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s %s%s\n", when, level, msg);
	if (n < 0)
		return;
	pthread_mutex_lock(&file_lock);
	if (file_fd >= 0 && fstat(file_fd, &st) == 0 &&
	    (size_t)st.st_size + (size_t)n > file_max) {
		char old[sizeof(file_path) + 2];

		snprintf(old, sizeof(old), "%s.1", file_path);
		rename(file_path, old);
		close(file_fd);
		file_fd = open(file_path,
			       O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	}
	if (file_fd >= 0) {
		ssize_t w = write(file_fd, line, (size_t)n);

		(void)w; /* a failure has nowhere left to be said */
	}
	pthread_mutex_unlock(&file_lock);
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
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	static const char *const names[] = {"error: ", "warning: ", "",
					    "debug: "};
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
	if (file_fd >= 0)
		to_file(names[level], msg);
}
