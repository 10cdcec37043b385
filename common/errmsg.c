// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * err_set(): an error's sentence into the caller's buffer, its -errno back.
 */
#include "errmsg.h"

#include <stdarg.h>
#include <stdio.h>

int err_vset(char *err, size_t err_size, int ret, const char *fmt, va_list ap)
{
	if (err && err_size)
		vsnprintf(err, err_size, fmt, ap);
	return ret;
}

int err_set(char *err, size_t err_size, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ret = err_vset(err, err_size, ret, fmt, ap);
	va_end(ap);
	return ret;
}
