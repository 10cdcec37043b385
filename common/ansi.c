// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Terminal control sequences taken out of a byte stream (ansi.h): a small
 * state machine over ECMA-48's escape, CSI and control-string forms.
 */
#include "ansi.h"

#include <stdbool.h>

#define ESC 0x1b
#define BEL 0x07

enum {
	ANSI_TEXT,
	ANSI_ESC,	 /* after ESC */
	ANSI_ESC_INTER,	 /* ESC and intermediate bytes (ESC ( B) */
	ANSI_CSI,	 /* ESC [, parameters and intermediates */
	ANSI_STRING,	 /* OSC, DCS, SOS, PM, APC: up to BEL or ST */
	ANSI_STRING_ESC, /* an ESC inside a string: ST if \ follows */
};

/* The state after @c inside a sequence; ANSI_TEXT once it has ended. */
static int ansi_step(int state, unsigned char c)
{
	switch (state) {
	case ANSI_ESC:
		if (c == '[')
			return ANSI_CSI;
		if (c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_')
			return ANSI_STRING;
		return c <= 0x2f ? ANSI_ESC_INTER : ANSI_TEXT;
	case ANSI_ESC_INTER:
		return c <= 0x2f ? ANSI_ESC_INTER : ANSI_TEXT;
	case ANSI_CSI:
		return c <= 0x3f ? ANSI_CSI : ANSI_TEXT;
	case ANSI_STRING:
		if (c == BEL)
			return ANSI_TEXT;
		return c == ESC ? ANSI_STRING_ESC : ANSI_STRING;
	case ANSI_STRING_ESC:
		if (c == '\\')
			return ANSI_TEXT;
		return c == ESC ? ANSI_STRING_ESC : ANSI_STRING;
	}
	return ANSI_TEXT;
}

/*
 * Whether @c shows that the sequence under way was none: a newline, one
 * too many bytes, or in an escape or CSI any byte outside 0x20-0x7e (an
 * ESC there starts a new sequence, as terminals take it).
 */
static bool ansi_breaks(const struct ansi_strip *st, unsigned char c)
{
	if (c == '\n' || st->seq_len >= ANSI_SEQ_MAX)
		return true;
	if (st->state == ANSI_STRING || st->state == ANSI_STRING_ESC)
		return false;
	return c < 0x20 || c > 0x7e;
}

size_t ansi_strip(struct ansi_strip *st, char *buf, size_t len)
{
	size_t kept = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (st->state != ANSI_TEXT && ansi_breaks(st, c))
			st->state = ANSI_TEXT; /* and @c is text */
		if (st->state != ANSI_TEXT) {
			st->state = ansi_step(st->state, c);
			st->seq_len++;
		} else if (c == ESC) {
			st->state = ANSI_ESC;
			st->seq_len = 1;
		} else {
			buf[kept++] = (char)c;
		}
	}
	return kept;
}
