// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The only way fat/ touches the image: pread and pwrite inside the volume's
 * window, bounds-checked, with short transfers turned into -EIO. Also the
 * damage reporter that turns corruption into -EUCLEAN and a read-only
 * volume.
 */
#include "fat_internal.h"
#include "../common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int check_bounds(const struct fat_vol *vol, uint64_t off, uint64_t len)
{
	if (off > vol->win.size || len > vol->win.size - off) {
		rpifs_log(RPIFS_ERR,
			  "fat: I/O at %llu+%llu is outside the volume (%llu bytes)",
			  (unsigned long long)off, (unsigned long long)len,
			  (unsigned long long)vol->win.size);
		return -EIO;
	}
	return 0;
}

int fat_check_image(struct fat_vol *vol, uint64_t end)
{
	struct stat st;

	if (fstat(vol->win.fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size >= end)
		return 0;
	if (!vol->image_lost)
		rpifs_log(RPIFS_ERR,
			  "fat: the image file shrank to %llu bytes while mounted (the volume ends at %llu): reads past its end and writes fail (EIO); unmount",
			  (unsigned long long)st.st_size,
			  (unsigned long long)(vol->win.offset + vol->win.size));
	vol->image_lost = true;
	return -EIO;
}

/*
 * Before writing: is the image file still there, as long as the volume?
 * A deleted image would swallow every write; a shrunk one would grow back
 * with holes where the volume's data was. Both fail writes with -EIO.
 */
static int check_image(struct fat_vol *vol)
{
	struct stat st;

	if (vol->linked && fstat(vol->win.fd, &st) == 0 && st.st_nlink == 0) {
		if (!vol->image_lost)
			rpifs_log(RPIFS_ERR,
				  "fat: the image file was deleted while mounted: writes fail (EIO) from now on; unmount");
		vol->image_lost = true;
		return -EIO;
	}
	return fat_check_image(vol, vol->win.offset + vol->win.size);
}

void fat_io_note_image(struct fat_vol *vol)
{
	struct stat st;

	vol->linked = fstat(vol->win.fd, &st) == 0 && st.st_nlink > 0;
}

int fat_io_reserve_metadata(struct fat_vol *vol)
{
	if (fallocate(vol->win.fd, FALLOC_FL_KEEP_SIZE, (off_t)vol->win.offset,
		      (off_t)vol->bpb.data_offset) == 0)
		return 0;
	return errno == ENOSPC ? -ENOSPC : 0;
}

int fat_io_read(struct fat_vol *vol, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;
	int ret = check_bounds(vol, off, len);

	if (ret)
		return ret;
	while (len > 0) {
		ssize_t n = pread(vol->win.fd, p, len,
				  (off_t)(vol->win.offset + off));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0) {
			/* The image file shrank under us. */
			if (fat_check_image(vol, vol->win.offset + off + 1) == 0)
				rpifs_log(RPIFS_ERR,
					  "fat: the image ends before offset %llu",
					  (unsigned long long)(vol->win.offset + off));
			return -EIO;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* The first write of a read-write mount sets the dirty flag first. */
static int dirty_first(struct fat_vol *vol)
{
	int ret;

	if (!vol->dirty_flag_due)
		return 0;
	/*
	 * Already set on disk: someone did not unmount cleanly (a guest that
	 * lost power, a card pulled out). As Linux does, leave it for fsck,
	 * and never clear it.
	 */
	if (vol->bpb.state & FAT_STATE_DIRTY) {
		vol->dirty_flag_due = false;
		return 0;
	}
	ret = fat_set_dirty_flag(vol, true);
	if (ret)
		vol->dirty_flag_due = true;
	return ret;
}

int fat_io_write(struct fat_vol *vol, uint64_t off, const void *buf,
		 size_t len)
{
	const uint8_t *p = buf;
	int ret = fat_check_writable(vol);

	if (!ret)
		ret = dirty_first(vol);
	if (ret)
		return ret;
	ret = check_bounds(vol, off, len);
	if (!ret)
		ret = check_image(vol);
	if (ret)
		return ret;
	while (len > 0) {
		ssize_t n = pwrite(vol->win.fd, p, len,
				   (off_t)(vol->win.offset + off));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int fat_io_zero(struct fat_vol *vol, uint64_t off, uint64_t len)
{
	static const uint8_t zeros[65536];
	int ret = fat_check_writable(vol);

	if (!ret)
		ret = dirty_first(vol);
	if (ret)
		return ret;
	ret = check_bounds(vol, off, len);
	if (!ret)
		ret = check_image(vol);
	if (ret)
		return ret;
	/*
	 * Large ranges: punch a hole, which reads back as zeros and keeps
	 * the image sparse. Where the file system cannot, write zeros.
	 */
	if (len >= sizeof(zeros) &&
	    fallocate(vol->win.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)(vol->win.offset + off), (off_t)len) == 0)
		return 0;

	while (len > 0 && ret == 0) {
		size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);

		ret = fat_io_write(vol, off, zeros, n);
		off += n;
		len -= n;
	}
	return ret;
}

uint64_t fat_cluster_offset(const struct fat_vol *vol, uint32_t cluster)
{
	assert(cluster >= FAT_CLUSTER_FIRST &&
	       cluster < vol->bpb.cluster_count + FAT_CLUSTER_FIRST);
	return vol->bpb.data_offset +
	       (uint64_t)(cluster - FAT_CLUSTER_FIRST) * vol->bpb.cluster_size;
}

int fat_corrupt_at(struct fat_vol *vol, const char *file, int line,
		   const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!vol->damage[0])
		snprintf(vol->damage, sizeof(vol->damage), "%.200s", msg);
	if (!vol->mounting)
		rpifs_log(RPIFS_ERR, "fat: damaged file system: %s (%s:%d)%s",
			  msg, file, line,
			  vol->damaged || vol->read_only
				  ? ""
				  : "; no more writes until it is repaired with fsck.fat");
	vol->damaged = true;
	return -EUCLEAN;
}

int fat_check_writable(const struct fat_vol *vol)
{
	return vol->read_only || vol->damaged ? -EROFS : 0;
}
