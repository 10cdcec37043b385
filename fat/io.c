// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The only way fat/ touches the image: pread and pwrite inside the volume's
 * window, bounds-checked, with short transfers turned into -EIO, and
 * fdatasync. Also the damage reporter that turns corruption into -EUCLEAN
 * and a read-only volume, and (built with -DRPIFS_IO_TRACE only) the write
 * trace of the crash-state tests.
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

#ifdef RPIFS_IO_TRACE
#include <sys/uio.h>

/*
 * The trace: a file of records, each a 32-byte header, the tag, and for a
 * write the bytes written (tests/crash/README.md reads them):
 *
 *   0  magic "RTR1"
 *   4  kind: 'M' mount (offset: the window's offset in the file, length:
 *      its size), 'W' write, 'Z' a range zeroed by punching a hole,
 *      'F' flush (fdatasync returned)
 *   5  0
 *   6  le16 tag length
 *   8  le64 offset in the window
 *  16  le64 length
 *  24  le64 sequence number, from 0
 *
 * Each record is one writev() to a file opened O_APPEND, so a reader that
 * stats the file between operations sees whole records. Callers hold the
 * volume lock (fat.h), which orders the records; the labels are per
 * thread.
 */
static int trace_fd = -1; /* -2: RPIFS_IO_TRACE is not set */
static uint64_t trace_seq;
static _Thread_local char trace_outer[160];
static _Thread_local char trace_inner[320];

void fat_trace_label(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(trace_outer, sizeof(trace_outer), fmt, ap);
	va_end(ap);
}

void fat_trace_label_end(void)
{
	trace_outer[0] = '\0';
}

/* The path of @node into @buf[@len...]; @return the new length. */
static size_t trace_path(const struct fat_node *node, char *buf, size_t len,
			 size_t size)
{
	if (!node || node->is_root)
		return len;
	len = trace_path(node->parent, buf, len, size);
	if (len < size)
		len += (size_t)snprintf(buf + len, size - len, "/%s",
					node->name ? node->name : "?");
	return len < size ? len : size - 1;
}

void fat_trace_call(const char *call, const struct fat_node *dir,
		    const char *name, const struct fat_node *dir2,
		    const char *name2)
{
	size_t size = sizeof(trace_inner);
	size_t len = (size_t)snprintf(trace_inner, size, "%s ", call);

	len = trace_path(dir, trace_inner, len, size);
	if (name && len < size)
		len += (size_t)snprintf(trace_inner + len, size - len, "/%s",
					name);
	if (dir2 && len + 4 < size) {
		len += (size_t)snprintf(trace_inner + len, size - len, " -> ");
		len = trace_path(dir2, trace_inner, len < size ? len : size - 1,
				 size);
		if (name2 && len < size)
			snprintf(trace_inner + len, size - len, "/%s", name2);
	}
}

static void trace_le64(uint8_t *p, uint64_t v)
{
	store_le32(p, (uint32_t)v);
	store_le32(p + 4, (uint32_t)(v >> 32));
}

static void trace_record(char kind, uint64_t off, uint64_t len,
			 const void *data)
{
	uint8_t head[32];
	char tag[sizeof(trace_outer) + sizeof(trace_inner) + 4];
	struct iovec iov[3];
	size_t tag_len, total;
	int n;

	if (trace_fd == -1) {
		const char *path = getenv("RPIFS_IO_TRACE");

		trace_fd = path && *path ? open(path,
						O_WRONLY | O_CREAT | O_APPEND |
							O_CLOEXEC,
						0644)
					 : -2;
		if (trace_fd == -1) {
			rpifs_log(RPIFS_ERR,
				  "fat: cannot open the trace %s: %s", path,
				  strerror(errno));
			trace_fd = -2;
		}
	}
	if (trace_fd < 0)
		return;
	n = snprintf(tag, sizeof(tag), "%s%s%s", trace_outer,
		     trace_outer[0] ? ": " : "", trace_inner);
	tag_len = n < 0			    ? 0
		  : (size_t)n < sizeof(tag) ? (size_t)n
					    : sizeof(tag) - 1;
	memcpy(head, "RTR1", 4);
	head[4] = (uint8_t)kind;
	head[5] = 0;
	store_le16(head + 6, (uint16_t)tag_len);
	trace_le64(head + 8, off);
	trace_le64(head + 16, len);
	trace_le64(head + 24, trace_seq++);
	iov[0] = (struct iovec){head, sizeof(head)};
	iov[1] = (struct iovec){tag, tag_len};
	iov[2] = (struct iovec){(void *)data, data ? (size_t)len : 0};
	total = sizeof(head) + tag_len + iov[2].iov_len;
	/* One call; a short one would tear the record: say so and stop. */
	if (writev(trace_fd, iov, 3) != (ssize_t)total) {
		rpifs_log(RPIFS_ERR, "fat: the trace could not be written: %s",
			  strerror(errno));
		close(trace_fd);
		trace_fd = -2;
	}
}
#else
#define trace_record(...) ((void)0)
#endif

static int check_bounds(const struct fat_vol *vol, uint64_t off, uint64_t len)
{
	if (off > vol->win.size || len > vol->win.size - off) {
		rpifs_log(RPIFS_ERR,
			  "fat: I/O at %llu+%llu is outside the volume (%llu "
			  "bytes)",
			  (unsigned long long)off, (unsigned long long)len,
			  (unsigned long long)vol->win.size);
		return -EIO;
	}
	return 0;
}

/* The image file's size, as @st gives it, covers [0, @end): else -EIO. */
static int check_size(struct fat_vol *vol, const struct stat *st, uint64_t end)
{
	if (!S_ISREG(st->st_mode) || (uint64_t)st->st_size >= end)
		return 0;
	if (!vol->image_lost)
		rpifs_log(
			RPIFS_ERR,
			"fat: the image file shrank to %llu bytes while "
			"mounted (the volume ends at %llu): reads past its end "
			"and writes fail (EIO); unmount",
			(unsigned long long)st->st_size,
			(unsigned long long)(vol->win.offset + vol->win.size));
	vol->image_lost = true;
	return -EIO;
}

int fat_check_image(struct fat_vol *vol, uint64_t end)
{
	struct stat st;

	if (fstat(vol->win.fd, &st) < 0)
		return 0;
	return check_size(vol, &st, end);
}

/*
 * Before writing: is the image file still there, as long as the volume?
 * A deleted image would swallow every write; a shrunk one would grow back
 * with holes where the volume's data was. Both fail writes with -EIO. One
 * fstat answers both (a small file copied in is five writes to the image).
 */
static int check_image(struct fat_vol *vol)
{
	struct stat st;

	if (fstat(vol->win.fd, &st) < 0)
		return 0;
	if (vol->linked && st.st_nlink == 0) {
		if (!vol->image_lost)
			rpifs_log(RPIFS_ERR, "fat: the image file was deleted "
					     "while mounted: writes fail (EIO) "
					     "from now on; unmount");
		vol->image_lost = true;
		return -EIO;
	}
	return check_size(vol, &st, vol->win.offset + vol->win.size);
}

void fat_io_note_image(struct fat_vol *vol)
{
	struct stat st;

	vol->linked = fstat(vol->win.fd, &st) == 0 && st.st_nlink > 0;
	trace_record('M', vol->win.offset, vol->win.size, NULL);
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
			if (fat_check_image(vol, vol->win.offset + off + 1) ==
			    0)
				rpifs_log(RPIFS_ERR,
					  "fat: the image ends before offset "
					  "%llu",
					  (unsigned long long)(vol->win.offset +
							       off));
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

int fat_io_write(struct fat_vol *vol, uint64_t off, const void *buf, size_t len)
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
	for (size_t done = 0; done < len;) {
		ssize_t n = pwrite(vol->win.fd, p + done, len - done,
				   (off_t)(vol->win.offset + off + done));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	trace_record('W', off, len, buf);
	return 0;
}

int fat_io_zero(struct fat_vol *vol, uint64_t off, uint64_t len)
{
	static uint8_t zeros[65536]; /* never written; in .bss, not the file */
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
		      (off_t)(vol->win.offset + off), (off_t)len) == 0) {
		trace_record('Z', off, len, NULL);
		return 0;
	}

	while (len > 0 && ret == 0) {
		size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);

		ret = fat_io_write(vol, off, zeros, n);
		off += n;
		len -= n;
	}
	return ret;
}

int fat_io_flush(struct fat_vol *vol)
{
	if (fdatasync(vol->win.fd) < 0)
		return -errno;
	trace_record('F', 0, 0, NULL);
	fat_dir_removed_clear(vol);
	return 0;
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
				  : "; no more writes until it is repaired "
				    "with fsck.fat");
	vol->damaged = true;
	return -EUCLEAN;
}

int fat_check_writable(const struct fat_vol *vol)
{
	return vol->read_only || vol->damaged ? -EROFS : 0;
}
