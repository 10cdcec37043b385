// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of common/ansi.c, what rpifs console takes out of the guest's
 * output for a script: the sequences busybox, systemd and getty send, each
 * split at every byte across two calls, and text that only looks like the
 * start of one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "../../common/ansi.h"

/* @in stripped in one call, and in two calls split at every byte. */
static void check_strip(const char *in, const char *want)
{
	size_t len = strlen(in);
	char buf[2048];

	assert_true(len < sizeof(buf));
	for (size_t cut = 0; cut <= len; cut++) {
		struct ansi_strip st = {0};
		size_t a, b;

		memcpy(buf, in, len);
		a = ansi_strip(&st, buf, cut);
		b = ansi_strip(&st, buf + cut, len - cut);
		memmove(buf + a, buf + cut, b);
		buf[a + b] = '\0';
		if (strcmp(buf, want) != 0)
			fail_msg("cut at %zu of \"%s\": got \"%s\"", cut, in,
				 buf);
	}
}

static void test_queries_and_colours(void **state)
{
	(void)state;
	/* busybox ash after its prompt: a cursor position request. */
	check_strip("pi@rpifs-fixture:~$ \x1b[6n", "pi@rpifs-fixture:~$ ");
	/* systemd's status lines. */
	check_strip("[\x1b[0;32m  OK  \x1b[0m] Started foo.\r\n",
		    "[  OK  ] Started foo.\r\n");
	check_strip("\x1b[?25l\x1b[1;31mred\x1b[0m\x1b[?25h", "red");
	check_strip("\x1b[2J\x1b[Hclear", "clear");
	check_strip("a\x1b[38;5;208mb\x1b[mc", "abc");
}

static void test_short_escapes_and_strings(void **state)
{
	(void)state;
	check_strip("\033creset", "reset");
	check_strip("\033(Bcharset\0337saved\0338", "charsetsaved");
	check_strip("\x1b]0;pi@host: ~\x07title set", "title set");
	check_strip("\x1b]2;t\x1b\\after ST", "after ST");
	check_strip("\x1bP+q544e\x1b\\dcs", "dcs");
	check_strip("\x1b]0;a\033b\007x", "x");
}

static void test_text_passes(void **state)
{
	(void)state;
	check_strip("plain\r\n\ttab\bback\007bell",
		    "plain\r\n\ttab\bback\007bell");
	check_strip("caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac");
	check_strip("", "");
}

static void test_not_sequences(void **state)
{
	(void)state;
	/* A stray ESC before a newline, an ESC restarting a CSI. */
	check_strip("a\x1b\nb", "a\nb");
	check_strip("\x1b[1\x1b[2Jx", "x");
	check_strip("\x1b[12\r\nnext", "\r\nnext");
	/* An OSC never ended: the newline ends it, the text after is kept. */
	check_strip("\x1b]0;never ended\nline\n", "\nline\n");
}

static void test_runaway_string(void **state)
{
	struct ansi_strip st = {0};
	char buf[ANSI_SEQ_MAX + 100];
	size_t kept;

	(void)state;
	buf[0] = 0x1b;
	buf[1] = ']';
	memset(buf + 2, 'x', sizeof(buf) - 2);
	kept = ansi_strip(&st, buf, sizeof(buf));
	/* At most ANSI_SEQ_MAX bytes swallowed, then text again. */
	assert_int_equal(kept, sizeof(buf) - ANSI_SEQ_MAX);
	kept = ansi_strip(&st, memcpy(buf, "more", 4), 4);
	assert_int_equal(kept, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queries_and_colours),
		cmocka_unit_test(test_short_escapes_and_strings),
		cmocka_unit_test(test_text_passes),
		cmocka_unit_test(test_not_sequences),
		cmocka_unit_test(test_runaway_string),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
