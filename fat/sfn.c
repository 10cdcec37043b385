// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Making the 8.3 name for a new entry, as Windows and Linux do: a name that
 * is already a valid 8.3 name in one case per part is stored as 8.3 only,
 * with the NT lower-case flags; any other name gets a long name and an 8.3
 * basis (upper case, invalid characters as '_', spaces and leading dots
 * dropped) made unique in its directory with a "~N" tail, and past ~4 with
 * a hash of the long name, as Windows does.
 */
#include "fat_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Characters allowed in 8.3 names besides letters and digits. */
static bool sfn_char(uint16_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') ||
	       (c < 0x80 && strchr("!#$%&'()-@^_`{}~", (int)c) != NULL);
}

struct part_case {
	bool upper; /* has an upper-case letter */
	bool lower; /* has a lower-case letter */
};

/*
 * Convert one part (base or extension) of the name into @out (@max bytes,
 * space padded). @return false when the conversion lost something.
 */
static bool convert_part(const uint16_t *in, size_t len, uint8_t *out,
			 size_t max, struct part_case *pc, bool strip)
{
	bool lossless = true;
	size_t o = 0;

	memset(out, ' ', max);
	for (size_t i = 0; i < len; i++) {
		uint16_t c = in[i];

		if (strip && (c == ' ' || c == '.')) {
			lossless = false;
			continue;
		}
		if (o == max) {
			lossless = false;
			break;
		}
		if (!sfn_char(c)) {
			out[o++] = '_';
			lossless = false;
			continue;
		}
		if (c >= 'a' && c <= 'z') {
			pc->lower = true;
			c = (uint16_t)(c - 'a' + 'A');
		} else if (c >= 'A' && c <= 'Z') {
			pc->upper = true;
		}
		out[o++] = (uint8_t)c;
	}
	return lossless;
}

static bool is_entry_of(const struct fat_node *node, const struct fat_node *dir,
			uint32_t slot)
{
	return node && node->parent == dir && slot == node->slot;
}

/* Whether an 8.3 entry of the directory, other than @skip's, has @sfn. */
static bool sfn_taken(struct fat_node *dir, const uint8_t sfn[11],
		      const struct fat_node *const skip[2])
{
	const struct fat_dir *d = dir->dir;

	for (uint32_t s = 0; s < d->slots; s++) {
		const uint8_t *e = d->raw + (size_t)s * DIRENT_SIZE;

		if (e[0] == DIRENT_END)
			break;
		if (e[0] == DIRENT_FREE || (e[11] & 0x3f) == FAT_ATTR_LFN)
			continue;
		if (is_entry_of(skip[0], dir, s) ||
		    is_entry_of(skip[1], dir, s))
			continue;
		if (memcmp(e, sfn, 11) == 0)
			return true;
	}
	return false;
}

/* Put "~N" (and keep at most @keep characters of the basis before it). */
static void put_tail(uint8_t sfn[11], const uint8_t basis[8], size_t keep,
		     const char *tail)
{
	size_t tl = strlen(tail), n = 0;

	memset(sfn, ' ', 8);
	while (n < keep && n + tl < 8 && basis[n] != ' ')
		n++;
	memcpy(sfn, basis, n);
	memcpy(sfn + n, tail, tl);
}

/*
 * A free alias from @basis: ~1..~4 after six characters, then two
 * characters, a hash of the long name @u and ~1..~999.
 */
static int free_alias(struct fat_node *dir, const uint16_t *u, int n,
		      const uint8_t basis[8], uint8_t sfn[11],
		      const struct fat_node *const skip[2])
{
	uint32_t hash = 0;

	for (int i = 1; i <= 4; i++) {
		char tail[8];

		snprintf(tail, sizeof(tail), "~%d", i);
		put_tail(sfn, basis, 6, tail);
		if (!sfn_taken(dir, sfn, skip))
			return 0;
	}
	for (int i = 0; i < n; i++)
		hash = hash * 31 + u[i];
	for (int i = 1; i < 1000; i++) {
		char tail[12];

		snprintf(tail, sizeof(tail), "%04X~%d",
			 (unsigned)((hash + (uint32_t)(i / 10) * 40503u) &
				    0xffff),
			 i % 10 ? i % 10 : 1);
		put_tail(sfn, basis, 2, tail);
		if (!sfn_taken(dir, sfn, skip))
			return 0;
	}
	return -EEXIST;
}

int fat_sfn_make(struct fat_node *dir, const char *name, uint8_t sfn[11],
		 uint8_t *lcase, bool *needs_lfn, const struct fat_node *skip1,
		 const struct fat_node *skip2)
{
	const struct fat_node *const skip[2] = {skip1, skip2};
	uint16_t u[256];
	int n = fat_utf8_to_utf16(name, u, 255);
	size_t start = 0, dot, base_len, ext_len;
	struct part_case bc = {0}, ec = {0};
	uint8_t basis[8];
	bool lossless;

	if (n < 0)
		return n;
	*lcase = 0;
	/* The extension follows the last dot (a leading dot starts none). */
	dot = (size_t)n;
	for (int i = n - 1; i > 0; i--) {
		if (u[i] == '.') {
			dot = (size_t)i;
			break;
		}
	}
	base_len = dot;
	ext_len = dot < (size_t)n ? (size_t)n - dot - 1 : 0;

	/* As is: a valid 8.3 name, each part in a single case. */
	lossless = base_len >= 1 && base_len <= 8 && ext_len <= 3 &&
		   u[0] != '.' &&
		   convert_part(u, base_len, sfn, 8, &bc, false) &&
		   convert_part(u + dot + 1, ext_len, sfn + 8, 3, &ec, false);
	if (lossless) {
		for (size_t i = 0; i < base_len; i++)
			if (u[i] == '.')
				lossless = false;
	}
	/*
	 * When the 8.3 form is taken (by the volume label, say: any real
	 * clash was found by the caller's lookup), fall through to a long
	 * name with a unique 8.3 alias.
	 */
	if (lossless && !(bc.upper && bc.lower) && !(ec.upper && ec.lower) &&
	    !sfn_taken(dir, sfn, skip)) {
		*lcase = (bc.lower ? CASE_LOWER_BASE : 0) |
			 (ec.lower ? CASE_LOWER_EXT : 0);
		*needs_lfn = false;
		return 0;
	}

	*needs_lfn = true;
	/* The basis: leading dots and all spaces go, the rest converted. */
	while (start < base_len && (u[start] == '.' || u[start] == ' '))
		start++;
	memset(&bc, 0, sizeof(bc));
	memset(&ec, 0, sizeof(ec));
	lossless =
		convert_part(u + start, base_len - start, basis, 8, &bc, true);
	lossless &= convert_part(u + dot + 1, ext_len, sfn + 8, 3, &ec, true) &&
		    start == 0;
	if (basis[0] == ' ')
		basis[0] = '_';
	memcpy(sfn, basis, 8);
	/* Only the case differs ("Mixed.TXT"): the basis itself, if free. */
	if (lossless && !sfn_taken(dir, sfn, skip))
		return 0;
	return free_alias(dir, u, n, basis, sfn, skip);
}
