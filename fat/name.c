// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Names: UTF-8 and UTF-16 (long names, with surrogate pairs), 8.3 names
 * shown with their NT case flags and code page 437 for high bytes, FAT's
 * case-insensitive comparison, the long-name checksum, and the checks that
 * keep names FAT cannot hold off the disk and hostile names off the screen.
 */
#include "fat_internal.h"

#include <errno.h>
#include <string.h>

/* Code page 437, bytes 0x80-0xff, as Unicode (Linux's default code page). */
static const uint16_t cp437_high[128] = {
	0x00c7, 0x00fc, 0x00e9, 0x00e2, 0x00e4, 0x00e0, 0x00e5, 0x00e7, 0x00ea,
	0x00eb, 0x00e8, 0x00ef, 0x00ee, 0x00ec, 0x00c4, 0x00c5, 0x00c9, 0x00e6,
	0x00c6, 0x00f4, 0x00f6, 0x00f2, 0x00fb, 0x00f9, 0x00ff, 0x00d6, 0x00dc,
	0x00a2, 0x00a3, 0x00a5, 0x20a7, 0x0192, 0x00e1, 0x00ed, 0x00f3, 0x00fa,
	0x00f1, 0x00d1, 0x00aa, 0x00ba, 0x00bf, 0x2310, 0x00ac, 0x00bd, 0x00bc,
	0x00a1, 0x00ab, 0x00bb, 0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561,
	0x2562, 0x2556, 0x2555, 0x2563, 0x2551, 0x2557, 0x255d, 0x255c, 0x255b,
	0x2510, 0x2514, 0x2534, 0x252c, 0x251c, 0x2500, 0x253c, 0x255e, 0x255f,
	0x255a, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256c, 0x2567, 0x2568,
	0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256b, 0x256a, 0x2518,
	0x250c, 0x2588, 0x2584, 0x258c, 0x2590, 0x2580, 0x03b1, 0x00df, 0x0393,
	0x03c0, 0x03a3, 0x03c3, 0x00b5, 0x03c4, 0x03a6, 0x0398, 0x03a9, 0x03b4,
	0x221e, 0x03c6, 0x03b5, 0x2229, 0x2261, 0x00b1, 0x2265, 0x2264, 0x2320,
	0x2321, 0x00f7, 0x2248, 0x00b0, 0x2219, 0x00b7, 0x221a, 0x207f, 0x00b2,
	0x25a0, 0x00a0,
};

uint8_t fat_lfn_checksum(const uint8_t sfn[11])
{
	uint8_t sum = 0;

	for (int i = 0; i < 11; i++)
		sum = (uint8_t)(((sum & 1) << 7) + (sum >> 1) + sfn[i]);
	return sum;
}

/* Encode one code point; @return bytes written (0: no room). */
static size_t utf8_put(uint32_t cp, char *out, size_t room)
{
	if (cp < 0x80 && room >= 1) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800 && room >= 2) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000 && room >= 3) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	if (cp >= 0x10000 && room >= 4) {
		out[0] = (char)(0xf0 | cp >> 18);
		out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[3] = (char)(0x80 | (cp & 0x3f));
		return 4;
	}
	return 0;
}

/*
 * Decode one code point of strict UTF-8 (no overlong forms, surrogates or
 * values past U+10FFFF). @return bytes used, or 0 on invalid input.
 */
static size_t utf8_get(const char *in, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)in;
	uint32_t c;
	size_t len;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		c = s[0] & 0x1f;
		len = 2;
	} else if ((s[0] & 0xf0) == 0xe0) {
		c = s[0] & 0x0f;
		len = 3;
	} else if ((s[0] & 0xf8) == 0xf0) {
		c = s[0] & 0x07;
		len = 4;
	} else {
		return 0;
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) ||
	    (len == 4 && c < 0x10000) || c > 0x10ffff ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

int fat_utf16_to_utf8(const uint16_t *in, size_t n, char *out, size_t out_size)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t cp = in[i];
		size_t w;

		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (i + 1 >= n || in[i + 1] < 0xdc00 ||
			    in[i + 1] > 0xdfff)
				return -EILSEQ;
			cp = 0x10000 + ((cp - 0xd800) << 10) +
			     (in[i + 1] - 0xdc00);
			i++;
		} else if (cp >= 0xdc00 && cp <= 0xdfff) {
			return -EILSEQ;
		}
		w = utf8_put(cp, out + o, out_size - 1 - o);
		if (w == 0)
			return -ENAMETOOLONG;
		o += w;
	}
	out[o] = '\0';
	return (int)o;
}

int fat_utf8_to_utf16(const char *in, uint16_t *out, size_t out_max)
{
	size_t o = 0;

	while (*in) {
		uint32_t cp;
		size_t len = utf8_get(in, &cp);

		if (len == 0)
			return -EILSEQ;
		in += len;
		if (cp >= 0x10000) {
			if (o + 2 > out_max)
				return -ENAMETOOLONG;
			cp -= 0x10000;
			out[o++] = (uint16_t)(0xd800 + (cp >> 10));
			out[o++] = (uint16_t)(0xdc00 + (cp & 0x3ff));
		} else {
			if (o + 1 > out_max)
				return -ENAMETOOLONG;
			out[o++] = (uint16_t)cp;
		}
	}
	return (int)o;
}

void fat_sfn_format(const uint8_t sfn[11], uint8_t lcase, char *out,
		    size_t size)
{
	size_t o = 0;
	int base_len = 8, ext_len = 3;

	while (base_len > 0 && sfn[base_len - 1] == ' ')
		base_len--;
	while (ext_len > 0 && sfn[8 + ext_len - 1] == ' ')
		ext_len--;
	for (int i = 0; i < base_len + ext_len; i++) {
		int pos = i < base_len ? i : 8 + (i - base_len);
		uint32_t c = sfn[pos];
		bool lower = pos < 8 ? lcase & CASE_LOWER_BASE
				     : lcase & CASE_LOWER_EXT;

		if (i == base_len && o + 1 < size)
			out[o++] = '.';
		if (pos == 0 && c == DIRENT_KANJI)
			c = 0xe5;
		if (c >= 0x80)
			c = cp437_high[c - 0x80];
		else if (lower && c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		o += utf8_put(c, out + o, size - 1 - o);
	}
	out[o] = '\0';
}

/* Simple case folding for the scripts names are likely written in. */
static uint32_t fold(uint32_t c)
{
	if (c < 0x80)
		return c >= 'A' && c <= 'Z' ? c + 32 : c;
	if (c >= 0xc0 && c <= 0xde && c != 0xd7)
		return c + 32;
	if ((c >= 0x100 && c <= 0x137) || (c >= 0x14a && c <= 0x177))
		return c | 1;
	if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
		return c & 1 ? c + 1 : c;
	if (c == 0x178)
		return 0xff;
	if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2)
		return c + 32;
	if (c >= 0x410 && c <= 0x42f)
		return c + 32;
	if (c >= 0x400 && c <= 0x40f)
		return c + 80;
	return c;
}

bool fat_name_equal(const char *a, const char *b)
{
	while (*a && *b) {
		uint32_t ca, cb;
		size_t la = utf8_get(a, &ca), lb = utf8_get(b, &cb);

		if (la == 0 || lb == 0) {
			/* Not UTF-8: compare the byte. */
			if (*a != *b)
				return false;
			a++;
			b++;
			continue;
		}
		if (fold(ca) != fold(cb))
			return false;
		a += la;
		b += lb;
	}
	return *a == *b;
}

/*
 * The same walk as fat_name_equal(): a code point folded, or a byte where
 * the name is not UTF-8 (equal names are not UTF-8 at the same places,
 * their bytes there the same). FNV-1a over what is compared.
 */
uint32_t fat_name_hash(const char *name)
{
	uint32_t h = 2166136261u;

	while (*name) {
		uint32_t c;
		size_t len = utf8_get(name, &c);

		if (len == 0) {
			c = 0x110000u + (unsigned char)*name;
			len = 1;
		} else {
			c = fold(c);
		}
		for (int i = 0; i < 3; i++) {
			h ^= (c >> (8 * i)) & 0xff;
			h *= 16777619u;
		}
		name += len;
	}
	return h;
}

bool fat_name_safe(const char *name)
{
	if (name[0] == '\0' || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == '/' || *p == 0x7f)
			return false;
	return true;
}

int fat_name_check(const char *name)
{
	uint16_t units[256];
	size_t len = strlen(name);
	int n;

	if (len == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	n = fat_utf8_to_utf16(name, units, 255);
	if (n == -ENAMETOOLONG)
		return -ENAMETOOLONG;
	if (n < 0)
		return -EINVAL;
	for (int i = 0; i < n; i++) {
		uint16_t c = units[i];

		if (c < 0x20 || (c < 0x80 && strchr("\"*/:<>?\\|", c)))
			return -EINVAL;
	}
	/* Windows and Linux drop trailing dots and spaces; refuse them. */
	if (name[len - 1] == '.' || name[len - 1] == ' ')
		return -EINVAL;
	return 0;
}
