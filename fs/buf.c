// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Growable byte buffers for control-file handles and temporary files. A
 * secret buffer (one that may hold a password) is wiped whenever memory
 * it used is given back, including the old block when it grows.
 */
#include "ctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int reserve(struct rfs_buf *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 256;
	uint8_t *p;

	if (need <= b->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	p = malloc(cap);
	if (!p)
		return -ENOMEM;
	if (b->len)
		memcpy(p, b->data, b->len);
	if (b->data && b->secret)
		explicit_bzero(b->data, b->cap);
	free(b->data);
	b->data = p;
	b->cap = cap;
	return 0;
}

int rfs_buf_write(struct rfs_buf *b, const void *p, size_t n, uint64_t off,
		  size_t max)
{
	int ret;

	if (off > max || n > max - off)
		return -EFBIG;
	ret = reserve(b, (size_t)off + n);
	if (ret)
		return ret;
	if (off > b->len)
		memset(b->data + b->len, 0, (size_t)off - b->len);
	memcpy(b->data + off, p, n);
	if (off + n > b->len)
		b->len = (size_t)off + n;
	return 0;
}

int rfs_buf_truncate(struct rfs_buf *b, uint64_t size, size_t max)
{
	int ret;

	if (size > max)
		return -EFBIG;
	if (size <= b->len) {
		if (b->secret && b->data)
			explicit_bzero(b->data + size, b->len - (size_t)size);
		b->len = (size_t)size;
		return 0;
	}
	ret = reserve(b, (size_t)size);
	if (ret)
		return ret;
	memset(b->data + b->len, 0, (size_t)size - b->len);
	b->len = (size_t)size;
	return 0;
}

int rfs_buf_set(struct rfs_buf *b, const void *p, size_t n)
{
	b->len = 0;
	return rfs_buf_write(b, p, n, 0, (size_t)-1);
}

void rfs_buf_free(struct rfs_buf *b)
{
	if (b->data && b->secret)
		explicit_bzero(b->data, b->cap);
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
