// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * /proc/self/mountinfo, decoded (octal escapes such as \040 for a space).
 */
#include "mounts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decode mountinfo's octal escapes in place. */
static void unescape(char *s)
{
	char *o = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
				      (s[3] - '0'));
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
}

bool mounts_find(const char *dir, const char *source, struct mount_entry *out)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	bool found = false;

	if (!f)
		return false;
	while (getline(&line, &cap, f) > 0) {
		char *fields[16], *save = NULL, *tok;
		int n = 0, dash = -1;

		for (tok = strtok_r(line, " \n", &save); tok && n < 16;
		     tok = strtok_r(NULL, " \n", &save)) {
			if (strcmp(tok, "-") == 0 && dash < 0)
				dash = n;
			fields[n++] = tok;
		}
		/* id parent dev root mountpoint opts [optional...] - type src
		 */
		if (n < 7 || dash < 0 || dash + 2 >= n)
			continue;
		unescape(fields[4]);
		unescape(fields[dash + 2]);
		if (dir ? strcmp(fields[4], dir) != 0
			: strcmp(fields[dash + 2], source) != 0 ||
				    strcmp(fields[dash + 1], RPIFS_FSTYPE) != 0)
			continue;
		snprintf(out->mountpoint, sizeof(out->mountpoint), "%s",
			 fields[4]);
		snprintf(out->fstype, sizeof(out->fstype), "%s",
			 fields[dash + 1]);
		snprintf(out->source, sizeof(out->source), "%s",
			 fields[dash + 2]);
		found = true;
		/* A mount point may be mounted over: the last entry is on top.
		 */
		if (!dir)
			break;
	}
	free(line);
	fclose(f);
	return found;
}
