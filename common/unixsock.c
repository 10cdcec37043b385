// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unix stream sockets by path, with sun_path filled (and checked) in one
 * place.
 */
#include "unixsock.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int address(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

int unix_connect(const char *path, bool nonblock)
{
	struct sockaddr_un sa;
	int fd, ret = address(&sa, path);

	if (ret)
		return ret;
	fd = socket(AF_UNIX,
		    SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0),
		    0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

int unix_listen(const char *path, mode_t mode)
{
	struct sockaddr_un sa;
	int fd, ret = address(&sa, path);

	if (ret)
		return ret;
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, mode) < 0 || listen(fd, 8) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}
