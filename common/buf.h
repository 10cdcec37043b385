/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Growable byte buffers: control-file handles, temporary files, status
 * text, values on their way to the image. A secret buffer (one that may
 * hold a password) is wiped whenever memory it used is given back,
 * including the old block when it grows.
 */
#ifndef RPIFS_BUF_H
#define RPIFS_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	bool secret;
};

/* Write @n bytes at @off (zero-filling a gap), at most @max in all.
   @return 0, -EFBIG or -ENOMEM. */
int buf_write(struct buf *b, const void *p, size_t n, uint64_t off, size_t max);
/* Append, unbounded. */
int buf_append(struct buf *b, const void *p, size_t n);
/* printf onto the end. @return 0 or -ENOMEM. */
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_truncate(struct buf *b, uint64_t size, size_t max);
int buf_set(struct buf *b, const void *p, size_t n);
void buf_free(struct buf *b);

#endif
