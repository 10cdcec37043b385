// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * FAT timestamps: local time (as Linux's vfat and mtools read them), dates
 * from 1980 to 2107, two-second resolution plus creation-time centiseconds.
 */
#include "fat_internal.h"

#include <string.h>
#include <time.h>

/*
 * mktime() without its cost: glibc's mktime runs tzset(), which stats
 * /etc/localtime, at every call (three per stat of a file). Here the
 * broken-down local time is read as UTC, then moved by the zone's offset
 * at that moment (localtime_r does not re-read the zone), and once more
 * when that crosses a daylight-saving change. @return seconds since the
 * epoch; 0 when out of range.
 */
static time_t local_to_epoch(struct tm *tm)
{
	struct tm lt;
	time_t as_utc = timegm(tm), t;

	if (as_utc == (time_t)-1 || !localtime_r(&as_utc, &lt))
		return 0;
	t = as_utc - lt.tm_gmtoff;
	if (localtime_r(&t, &lt))
		t = as_utc - lt.tm_gmtoff;
	return t;
}

void fat_time_to_timespec(uint16_t date, uint16_t time, uint8_t cs,
			  struct timespec *ts)
{
	struct tm tm;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (date == 0) {
		/* No date stored (the root, or a tool that wrote none). */
		ts->tv_sec = 0;
		ts->tv_nsec = 0;
		return;
	}
	tm.tm_year = 80 + (date >> 9);
	tm.tm_mon = ((date >> 5) & 0x0f) - 1;
	tm.tm_mday = date & 0x1f;
	tm.tm_hour = time >> 11;
	tm.tm_min = (time >> 5) & 0x3f;
	tm.tm_sec = (time & 0x1f) * 2;
	tm.tm_isdst = -1;
	/* Out-of-range fields (month 0, 31 February) normalise in mktime. */
	if (tm.tm_mon < 0)
		tm.tm_mon = 0;
	if (tm.tm_mday == 0)
		tm.tm_mday = 1;
	t = local_to_epoch(&tm);
	if (cs > 199)
		cs = 0;
	ts->tv_sec = t + cs / 100;
	ts->tv_nsec = (long)(cs % 100) * 10000000L;
}

void fat_time_from_timespec(const struct timespec *ts, uint16_t *date,
			    uint16_t *time, uint8_t *cs)
{
	struct tm tm;
	time_t t = ts->tv_sec;

	if (!localtime_r(&t, &tm) || tm.tm_year < 80) {
		/* Before 1980: the earliest FAT date. */
		*date = (0 << 9) | (1 << 5) | 1;
		*time = 0;
		if (cs)
			*cs = 0;
		return;
	}
	if (tm.tm_year > 80 + 127) {
		*date = (uint16_t)(127 << 9 | 12 << 5 | 31);
		*time = (uint16_t)(23 << 11 | 59 << 5 | 29);
		if (cs)
			*cs = 199;
		return;
	}
	*date = (uint16_t)((tm.tm_year - 80) << 9 | (tm.tm_mon + 1) << 5 |
			   tm.tm_mday);
	*time = (uint16_t)(tm.tm_hour << 11 | tm.tm_min << 5 | tm.tm_sec / 2);
	if (cs)
		*cs = (uint8_t)((tm.tm_sec & 1) * 100 +
				ts->tv_nsec / 10000000L);
}
