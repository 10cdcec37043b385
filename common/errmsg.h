/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one way a function both returns an error and says why: the sentence
 * goes into the caller's buffer (which may be NULL), the -errno comes back.
 */
#ifndef RPIFS_ERRMSG_H
#define RPIFS_ERRMSG_H

#include <stdarg.h>
#include <stddef.h>

/* Format @fmt into @err (when not NULL) and @return @ret. */
int err_set(char *err, size_t err_size, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The same with a va_list, for a module's own error wrapper. */
int err_vset(char *err, size_t err_size, int ret, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

#endif
