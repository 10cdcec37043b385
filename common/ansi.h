/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Terminal control sequences taken out of a byte stream: what rpifs
 * console does to the guest's output when its own output is not a
 * terminal, so that a script reads plain text and no query the guest
 * sends (busybox's cursor position request, ESC [ 6 n) lands in a file
 * where nothing answers it. ECMA-48's forms: CSI (ESC [ ... final byte),
 * the strings (OSC, DCS, SOS, PM, APC, ended by BEL or ESC \) and the
 * two- and three-byte escapes (ESC c, ESC ( B). Text, newlines, carriage
 * returns and other single control bytes pass unchanged.
 */
#ifndef RPIFS_ANSI_H
#define RPIFS_ANSI_H

#include <stddef.h>

/* Where the stream is between two calls; zero-initialized is "in text". */
struct ansi_strip {
	int state;
	size_t seq_len; /* bytes of the current sequence so far */
};

/*
 * Remove the control sequences from @buf (@len bytes), in place; a
 * sequence may begin in one call and end in a later one. A sequence that
 * runs past a newline, or past ANSI_SEQ_MAX bytes, was not one: the
 * stream is text again from there, so a stray ESC cannot swallow the rest.
 * @return the number of bytes kept.
 */
size_t ansi_strip(struct ansi_strip *st, char *buf, size_t len);

#define ANSI_SEQ_MAX 512

#endif
