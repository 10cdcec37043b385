// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Stopping a guest the way its owner would, in steps, each bounded
 * (measured on raspi4b and raspi3b, busybox and systemd guests: see
 * rpifs(1), STOPPING):
 *
 * 1. init: ctrl-alt-delete on the USB keyboard every boot has (QMP
 *    send-key), again every 5 s while the keyboard may still be
 *    enumerating; systemd and busybox init shut the system down and
 *    reboot, which QEMU, told beforehand (set-action reboot=shutdown),
 *    takes as the end. Up to the stop bound (-o stop_timeout=).
 * 2. kernel: magic SysRq over the serial line (a BREAK, then the key):
 *    7 (its messages shown), s (sync), u (remount read-only), o (power
 *    off). Each key's "sysrq:" line is awaited, and the sync's and
 *    remount's completion; the file systems are clean after u.
 * 3. power: QMP quit, then SIGTERM, then SIGKILL.
 *
 * A forced stop, a stop before the guest printed anything (nothing is
 * mounted yet) and a stop of a panicked kernel start at 3; a stop before
 * QMP answers sends SIGTERM.
 */
#include "internal.h"
#include "../common/log.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define KEY_EVERY_MS	5000
#define KEY_SENDS	4
#define SYSRQ_LINE_MS	3000
#define SYSRQ_DONE_MS	10000
#define POWER_OFF_MS	5000
#define SIGNAL_GRACE_MS 5000

static const char sysrq_keys[] = "7suo";

#define PANIC "Kernel panic - not syncing"

static void at(struct timespec *t, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static int64_t ms_left(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (t->tv_sec - now.tv_sec) * 1000 +
	       (t->tv_nsec - now.tv_nsec) / 1000000;
}

static void send_signal(struct launcher *l, enum stop_step step)
{
	struct stop *s = &l->stop;

	s->step = step;
	kill(l->pid, step == STOP_TERM ? SIGTERM : SIGKILL);
	at(&s->bound, SIGNAL_GRACE_MS);
}

static void power_cut(struct launcher *l)
{
	struct stop *s = &l->stop;

	if (!l->qmp_ready) {
		send_signal(l, STOP_TERM);
		return;
	}
	s->step = STOP_CUT;
	qmp_send(l, "{\"execute\": \"quit\"}\n");
	at(&s->bound, SIGNAL_GRACE_MS);
}

static void send_ctrl_alt_del(struct launcher *l)
{
	struct stop *s = &l->stop;

	qmp_send(l, "{\"execute\": \"send-key\", \"arguments\": {\"keys\": ["
		    "{\"type\": \"qcode\", \"data\": \"ctrl\"}, "
		    "{\"type\": \"qcode\", \"data\": \"alt\"}, "
		    "{\"type\": \"qcode\", \"data\": \"delete\"}]}}\n");
	s->sends++;
	at(&s->next, KEY_EVERY_MS);
}

/* A BREAK on the serial line; its key follows when QMP has done it. */
static void send_sysrq(struct launcher *l)
{
	struct stop *s = &l->stop;

	s->break_pending = true;
	s->key_seen = false;
	s->sends++;
	qmp_send(l,
		 "{\"execute\": \"chardev-send-break\", "
		 "\"arguments\": {\"id\": \"serial0\"}, \"id\": \"sysrq\"}\n");
	at(&s->next, SYSRQ_LINE_MS);
}

static void begin_sysrq(struct launcher *l)
{
	struct stop *s = &l->stop;

	rpifs_log(RPIFS_INFO,
		  "launcher: the guest did not shut down within %u s of "
		  "ctrl-alt-delete: SysRq sync, read-only remount, power off",
		  s->timeout_s);
	s->step = STOP_SYSRQ;
	s->key = 0;
	s->sends = 0;
	s->line_len = 0;
	send_sysrq(l);
}

void stop_begin(struct launcher *l, bool force, unsigned timeout_s)
{
	struct stop *s = &l->stop;

	if (l->pid <= 0)
		return;
	if (s->step != STOP_NONE) {
		/* A stop in progress: forcing it skips to the power. */
		if (force && s->step < STOP_CUT) {
			s->forced = true;
			power_cut(l);
		}
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &s->began);
	s->forced = force;
	s->timeout_s = timeout_s;
	s->sends = 0;
	s->synced = s->remounted = false;
	if (force || !l->qmp_ready || !l->guest_spoke || l->panicked) {
		power_cut(l);
		return;
	}
	/* Whatever the guest does now (reboot, power off), QEMU ends. */
	qmp_send(l, "{\"execute\": \"set-action\", "
		    "\"arguments\": {\"reboot\": \"shutdown\"}}\n");
	s->step = STOP_INIT;
	at(&s->bound, (int)timeout_s * 1000);
	send_ctrl_alt_del(l);
}

void stop_qmp_returned(struct launcher *l, const char *id)
{
	struct stop *s = &l->stop;
	char key;

	if (strcmp(id, "sysrq") != 0 || !s->break_pending || l->serial < 0)
		return;
	s->break_pending = false;
	key = sysrq_keys[s->key];
	if (send(l->serial, &key, 1, MSG_NOSIGNAL) < 0)
		launch_close_fd(&l->serial);
}

/* One line the guest printed while SysRq is in use. */
static void sysrq_line(struct launcher *l, const char *line)
{
	struct stop *s = &l->stop;

	if (strstr(line, "This sysrq operation is disabled")) {
		/* Without 7 or s the next keys still help; without u, not. */
		if (sysrq_keys[s->key] == '7' || sysrq_keys[s->key] == 's') {
			s->key++;
			s->sends = 0;
			send_sysrq(l);
			return;
		}
		rpifs_log(RPIFS_WARN,
			  "launcher: the guest's kernel has SysRq %c disabled: "
			  "cutting the power",
			  sysrq_keys[s->key]);
		power_cut(l);
		return;
	}
	if (strstr(line, "Emergency Sync complete"))
		s->synced = true;
	else if (strstr(line, "Emergency Remount complete"))
		s->remounted = true;
	else if (strstr(line, "sysrq: "))
		s->key_seen = true;
	else
		return;
	/* The next key once this one has done its work. */
	if ((sysrq_keys[s->key] == '7' && s->key_seen) ||
	    (sysrq_keys[s->key] == 's' && s->synced) ||
	    (sysrq_keys[s->key] == 'u' && s->remounted)) {
		s->key++;
		s->sends = 0;
		send_sysrq(l);
		if (sysrq_keys[s->key] == 'o')
			at(&s->bound, POWER_OFF_MS);
	}
}

void stop_serial(struct launcher *l, const char *buf, size_t len)
{
	struct stop *s = &l->stop;

	l->guest_spoke = true;
	/* A panicked kernel answers neither step: it goes to the power. */
	if (!l->panicked && memmem(buf, len, PANIC, strlen(PANIC)))
		l->panicked = true;
	if (s->step != STOP_SYSRQ)
		return;
	for (size_t i = 0; i < len && s->step == STOP_SYSRQ; i++) {
		if (buf[i] == '\n' || s->line_len == sizeof(s->line) - 1) {
			s->line[s->line_len] = '\0';
			s->line_len = 0;
			sysrq_line(l, s->line);
		} else if (buf[i] != '\r') {
			s->line[s->line_len++] = buf[i];
		}
	}
}

/* SysRq's deadlines: a key without its line goes once more, then power. */
static void sysrq_tick(struct launcher *l)
{
	struct stop *s = &l->stop;
	char key = sysrq_keys[s->key];

	if (key == 'o') {
		if (ms_left(&s->bound) <= 0)
			power_cut(l);
		return;
	}
	if (ms_left(&s->next) > 0)
		return;
	if (!s->key_seen && s->sends < 2) {
		send_sysrq(l);
		return;
	}
	if (s->key_seen && s->sends < 2 && (key == 's' || key == 'u')) {
		/* Seen, not complete yet: give its work the longer bound. */
		s->sends = 2;
		at(&s->next, SYSRQ_DONE_MS);
		return;
	}
	rpifs_log(RPIFS_WARN,
		  "launcher: SysRq %c got no answer from the guest: cutting "
		  "the power",
		  key);
	power_cut(l);
}

void stop_tick(struct launcher *l)
{
	struct stop *s = &l->stop;

	if (l->pid <= 0)
		return;
	switch (s->step) {
	case STOP_INIT:
		if (ms_left(&s->bound) <= 0)
			begin_sysrq(l);
		else if (ms_left(&s->next) <= 0 && s->sends < KEY_SENDS)
			send_ctrl_alt_del(l);
		break;
	case STOP_SYSRQ:
		sysrq_tick(l);
		break;
	case STOP_CUT:
	case STOP_TERM:
		if (ms_left(&s->bound) <= 0) {
			rpifs_log(RPIFS_WARN,
				  "launcher: QEMU did not stop; sending %s",
				  s->step == STOP_CUT ? "SIGTERM" : "SIGKILL");
			send_signal(l, s->step == STOP_CUT ? STOP_TERM
							   : STOP_KILL);
		}
		break;
	default:
		break;
	}
}

int stop_timeout_ms(const struct launcher *l)
{
	const struct stop *s = &l->stop;
	int64_t left;

	switch (s->step) {
	case STOP_INIT:
		left = ms_left(&s->next) < ms_left(&s->bound) &&
				       s->sends < KEY_SENDS
			       ? ms_left(&s->next)
			       : ms_left(&s->bound);
		break;
	case STOP_SYSRQ:
		left = sysrq_keys[s->key] == 'o' ? ms_left(&s->bound)
						 : ms_left(&s->next);
		break;
	case STOP_CUT:
	case STOP_TERM:
		left = ms_left(&s->bound);
		break;
	default:
		return -1;
	}
	return left < 0 ? 0 : left > 60000 ? 60000 : (int)left;
}

bool stop_relays_input(const struct launcher *l)
{
	return l->stop.step == STOP_NONE;
}

void stop_describe(const struct launcher *l, char *out, size_t size)
{
	const struct stop *s = &l->stop;
	struct timespec now;
	double took;

	clock_gettime(CLOCK_MONOTONIC, &now);
	took = (double)(now.tv_sec - s->began.tv_sec) +
	       (double)(now.tv_nsec - s->began.tv_nsec) / 1e9;
	switch (s->step) {
	case STOP_NONE:
		if (strcmp(l->shutdown_reason, "guest-shutdown") == 0)
			snprintf(out, size, "the guest powered off");
		else if (strcmp(l->shutdown_reason, "guest-panic") == 0)
			snprintf(out, size, "the guest's kernel panicked");
		else
			snprintf(out, size, "QEMU ended by itself%s%s",
				 l->shutdown_reason[0] ? ": " : "",
				 l->shutdown_reason);
		return;
	case STOP_INIT:
		snprintf(out, size,
			 "orderly: the guest's init shut it down after "
			 "ctrl-alt-delete, in %.1f s",
			 took);
		return;
	case STOP_SYSRQ:
		snprintf(out, size,
			 "emergency: no shutdown within %u s, so SysRq sync, "
			 "read-only remount and power off, in %.1f s",
			 s->timeout_s, took);
		return;
	default:
		break;
	}
	if (s->remounted)
		snprintf(out, size,
			 "emergency: SysRq sync and read-only remount, then a "
			 "power cut, in %.1f s",
			 took);
	else if (s->synced)
		snprintf(out, size,
			 "emergency: SysRq sync (no read-only remount), then a "
			 "power cut, in %.1f s",
			 took);
	else
		snprintf(out, size, "power cut%s%s%s, in %.1f s",
			 s->forced ? " (forced)" : "",
			 l->panicked ? ": the guest's kernel had panicked" : "",
			 s->step == STOP_KILL	? ": QEMU killed with SIGKILL"
			 : s->step == STOP_TERM ? ": QEMU ended with SIGTERM"
						: "",
			 took);
}

void stop_reset(struct launcher *l)
{
	memset(&l->stop, 0, sizeof(l->stop));
	l->guest_spoke = false;
	l->panicked = false;
	l->shutdown_reason[0] = '\0';
}
