// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Image locks with open file description (OFD) locks, on the byte offsets
 * QEMU uses, so that rpifs and QEMU refuse each other exactly as two QEMUs
 * would, plus one byte of rpifs's own that marks a mounted image.
 */
#include "partition.h"
#include "../common/errmsg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define QEMU_PERM_BASE	 100
#define QEMU_SHARED_BASE 200
#define QEMU_PERM_BITS	 4 /* consistent read, write, write unchanged, resize */
#define QEMU_PERM_WRITE	 1
#define RPIFS_MOUNT_BYTE 300

static int ofd_lock(int fd, short type, off_t byte, bool wait)
{
	struct flock fl = {
		.l_type = type,
		.l_whence = SEEK_SET,
		.l_start = byte,
		.l_len = 1,
	};

	if (fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) < 0)
		return -errno;
	return 0;
}

/* Whether another open file description holds a lock on @byte. */
static int ofd_held(int fd, off_t byte)
{
	struct flock fl = {
		.l_type = F_WRLCK,
		.l_whence = SEEK_SET,
		.l_start = byte,
		.l_len = 1,
	};

	if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return -errno;
	return fl.l_type != F_UNLCK;
}

int part_lock_mount(struct part_image *img, char *err, size_t err_size)
{
	short mount_type = img->read_only ? F_RDLCK : F_WRLCK;
	int ret;

	ret = ofd_lock(img->fd, mount_type, RPIFS_MOUNT_BYTE, false);
	if (ret == -EAGAIN || ret == -EACCES) {
		return err_set(
			err, err_size, -EBUSY,
			"%s is already mounted by rpifs: unmount it first "
			"(rpifs umount DIR)",
			img->path);
	}
	if (ret) {
		return err_set(err, err_size, ret, "cannot lock %s: %s",
			       img->path, strerror(-ret));
	}
	/* A writer such as a running QEMU: never touch its image. */
	ret = ofd_held(img->fd, QEMU_PERM_BASE + QEMU_PERM_WRITE);
	if (ret == 0)
		ret = ofd_held(img->fd, QEMU_SHARED_BASE + QEMU_PERM_WRITE);
	if (ret > 0) {
		snprintf(err, err_size,
			 "%s is in use by another program (a QEMU?): stop it "
			 "first",
			 img->path);
		ret = -ETXTBSY;
		goto fail;
	}
	if (ret < 0) {
		snprintf(err, err_size, "cannot test the locks of %s: %s",
			 img->path, strerror(-ret));
		goto fail;
	}
	ret = ofd_lock(img->fd, F_RDLCK, QEMU_PERM_BASE, false);
	if (!ret && !img->read_only)
		ret = ofd_lock(img->fd, F_RDLCK,
			       QEMU_PERM_BASE + QEMU_PERM_WRITE, false);
	if (!ret)
		ret = part_lock_share(img, false);
	if (ret) {
		snprintf(err, err_size,
			 "%s is in use by another program (a QEMU?): stop it "
			 "first",
			 img->path);
		ret = -ETXTBSY;
		goto fail;
	}
	return 0;
fail:
	ofd_lock(img->fd, F_UNLCK, RPIFS_MOUNT_BYTE, false);
	return ret;
}

int part_lock_share(struct part_image *img, bool share)
{
	for (int bit = 0; bit < QEMU_PERM_BITS; bit++) {
		int ret = ofd_lock(img->fd, share ? F_UNLCK : F_RDLCK,
				   QEMU_SHARED_BASE + bit, false);

		if (ret)
			return ret;
	}
	return 0;
}

int part_lock_test_mounted(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = ofd_held(fd, RPIFS_MOUNT_BYTE);
	close(fd);
	return ret;
}

void part_unlock(struct part_image *img)
{
	struct flock fl = {
		.l_type = F_UNLCK,
		.l_whence = SEEK_SET,
		.l_start = 0,
		.l_len = 0, /* every byte */
	};

	fcntl(img->fd, F_OFD_SETLK, &fl);
}
