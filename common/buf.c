// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Growable byte buffers; a secret one is wiped whenever memory it used is
 * given back.
 */
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int reserve(struct buf *b, size_t need)
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

int buf_write(struct buf *b, const void *p, size_t n, uint64_t off, size_t max)
{
	int ret;

	if (off > max || n > max - off)
		return -EFBIG;
	ret = reserve(b, (size_t)off + n);
	if (ret)
		return ret;
	if (off > b->len)
		memset(b->data + b->len, 0, (size_t)off - b->len);
	if (n)
		memcpy(b->data + off, p, n);
	if (off + n > b->len)
		b->len = (size_t)off + n;
	return 0;
}

int buf_truncate(struct buf *b, uint64_t size, size_t max)
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

int buf_append(struct buf *b, const void *p, size_t n)
{
	return buf_write(b, p, n, b->len, (size_t)-1);
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[512], *big = NULL;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n < sizeof(small))
		return buf_append(b, small, (size_t)n);
	va_start(ap, fmt);
	n = vasprintf(&big, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	n = buf_append(b, big, (size_t)n);
	free(big);
	return n;
}

int buf_set(struct buf *b, const void *p, size_t n)
{
	b->len = 0;
	return buf_write(b, p, n, 0, (size_t)-1);
}

void buf_free(struct buf *b)
{
	if (b->data && b->secret)
		explicit_bzero(b->data, b->cap);
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
