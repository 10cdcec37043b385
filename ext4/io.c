// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The only way ext4/ touches the image: a libext2fs io manager over a
 * window of an already open file, every block bounds-checked against the
 * partition, short transfers turned into errors. libext2fs names its
 * device by a string; ours is "rpifs-window:FD:OFFSET:SIZE:MODE", made by
 * ext4_io_name(), so nothing is opened by path (and no offset is lost
 * when libext2fs opens the device again).
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct window_io {
	struct ext4_window win;
	bool rw;
	struct struct_io_stats stats;
};

static struct window_io *io_of(io_channel channel)
{
	return channel->private_data;
}

void ext4_io_name(const struct ext4_window *win, bool rw, char *out,
		  size_t size)
{
	snprintf(out, size, "rpifs-window:%d:%" PRIu64 ":%" PRIu64 ":%s",
		 win->fd, win->offset, win->size, rw ? "rw" : "ro");
}

static errcode_t window_open(const char *name, int flags, io_channel *channel)
{
	struct window_io *io;
	io_channel c;
	char mode[3] = "";

	io = calloc(1, sizeof(*io));
	c = calloc(1, sizeof(*c));
	if (!io || !c) {
		free(io);
		free(c);
		return EXT2_ET_NO_MEMORY;
	}
	if (sscanf(name, "rpifs-window:%d:%" SCNu64 ":%" SCNu64 ":%2s",
		   &io->win.fd, &io->win.offset, &io->win.size, mode) != 4) {
		free(io);
		free(c);
		return EXT2_ET_BAD_DEVICE_NAME;
	}
	io->rw = strcmp(mode, "rw") == 0 && (flags & IO_FLAG_RW);
	io->stats.num_fields = 2;
	c->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	c->manager = ext4_io_manager;
	c->name = strdup(name);
	c->block_size = 1024;
	c->refcount = 1;
	c->private_data = io;
	if (!c->name) {
		free(io);
		free(c);
		return EXT2_ET_NO_MEMORY;
	}
	*channel = c;
	return 0;
}

static errcode_t window_close(io_channel channel)
{
	if (--channel->refcount > 0)
		return 0;
	free(channel->private_data);
	free(channel->name);
	free(channel);
	return 0;
}

static errcode_t window_set_blksize(io_channel channel, int blksize)
{
	channel->block_size = blksize;
	return 0;
}

/* Bytes [@off, @off + @len) of the partition, as an offset in the fd. */
static errcode_t place(struct window_io *io, uint64_t off, uint64_t len,
		       off_t *pos)
{
	if (off > io->win.size || len > io->win.size - off)
		return EXT2_ET_LLSEEK_FAILED;
	*pos = (off_t)(io->win.offset + off);
	return 0;
}

static uint64_t bytes_of(io_channel channel, int count)
{
	return count < 0 ? (uint64_t) - (int64_t)count
			 : (uint64_t)count * (uint64_t)channel->block_size;
}

static errcode_t read_bytes(struct window_io *io, uint64_t off, void *data,
			    uint64_t len)
{
	uint8_t *p = data;
	off_t pos;
	errcode_t e = place(io, off, len, &pos);

	if (e)
		return e;
	while (len > 0) {
		ssize_t n = pread(io->win.fd, p, len, pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return (errcode_t)errno;
		if (n == 0)
			return EXT2_ET_SHORT_READ; /* the image shrank */
		p += n;
		pos += n;
		len -= (uint64_t)n;
		io->stats.bytes_read += (unsigned long long)n;
	}
	return 0;
}

static errcode_t write_bytes(struct window_io *io, uint64_t off,
			     const void *data, uint64_t len)
{
	const uint8_t *p = data;
	off_t pos;
	errcode_t e;

	if (!io->rw)
		return EXT2_ET_RO_FILSYS;
	e = place(io, off, len, &pos);
	if (e)
		return e;
	while (len > 0) {
		ssize_t n = pwrite(io->win.fd, p, len, pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return (errcode_t)errno;
		if (n == 0)
			return EXT2_ET_SHORT_WRITE;
		p += n;
		pos += n;
		len -= (uint64_t)n;
		io->stats.bytes_written += (unsigned long long)n;
	}
	return 0;
}

static errcode_t window_read_blk64(io_channel channel, unsigned long long block,
				   int count, void *data)
{
	return read_bytes(io_of(channel), block * (uint64_t)channel->block_size,
			  data, bytes_of(channel, count));
}

static errcode_t window_read_blk(io_channel channel, unsigned long block,
				 int count, void *data)
{
	return window_read_blk64(channel, block, count, data);
}

static errcode_t window_write_blk64(io_channel channel,
				    unsigned long long block, int count,
				    const void *data)
{
	return write_bytes(io_of(channel),
			   block * (uint64_t)channel->block_size, data,
			   bytes_of(channel, count));
}

static errcode_t window_write_blk(io_channel channel, unsigned long block,
				  int count, const void *data)
{
	return window_write_blk64(channel, block, count, data);
}

static errcode_t window_write_byte(io_channel channel, unsigned long offset,
				   int size, const void *data)
{
	return write_bytes(io_of(channel), offset, data, (uint64_t)size);
}

static errcode_t window_flush(io_channel channel)
{
	struct window_io *io = io_of(channel);

	if (io->rw && fdatasync(io->win.fd) < 0 && errno != EINVAL)
		return (errcode_t)errno;
	return 0;
}

static errcode_t window_set_option(io_channel channel, const char *option,
				   const char *arg)
{
	(void)channel;
	(void)option;
	(void)arg;
	return EXT2_ET_INVALID_ARGUMENT;
}

static errcode_t window_get_stats(io_channel channel, io_stats *stats)
{
	*stats = &io_of(channel)->stats;
	return 0;
}

static errcode_t window_readahead(io_channel channel, unsigned long long block,
				  unsigned long long count)
{
	struct window_io *io = io_of(channel);
	off_t pos;
	uint64_t len = count * (uint64_t)channel->block_size;

	if (place(io, block * (uint64_t)channel->block_size, len, &pos) == 0)
		(void)posix_fadvise(io->win.fd, pos, (off_t)len,
				    POSIX_FADV_WILLNEED);
	return 0;
}

/* Zeros: a hole where the host file system can punch one, else zeros. */
static errcode_t window_zeroout(io_channel channel, unsigned long long block,
				unsigned long long count)
{
	static uint8_t zeros[65536]; /* never written; in .bss, not the file */
	struct window_io *io = io_of(channel);
	uint64_t off = block * (uint64_t)channel->block_size;
	uint64_t len = count * (uint64_t)channel->block_size;
	off_t pos;
	errcode_t e;

	if (!io->rw)
		return EXT2_ET_RO_FILSYS;
	e = place(io, off, len, &pos);
	if (e)
		return e;
	if (fallocate(io->win.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      pos, (off_t)len) == 0)
		return 0;
	while (len > 0 && !e) {
		uint64_t n = len < sizeof(zeros) ? len : sizeof(zeros);

		e = write_bytes(io, off, zeros, n);
		off += n;
		len -= n;
	}
	return e;
}

static struct struct_io_manager window_manager = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "rpifs window",
	.open = window_open,
	.close = window_close,
	.set_blksize = window_set_blksize,
	.read_blk = window_read_blk,
	.write_blk = window_write_blk,
	.flush = window_flush,
	.write_byte = window_write_byte,
	.set_option = window_set_option,
	.get_stats = window_get_stats,
	.read_blk64 = window_read_blk64,
	.write_blk64 = window_write_blk64,
	.cache_readahead = window_readahead,
	.zeroout = window_zeroout,
};

io_manager ext4_io_manager = &window_manager;
