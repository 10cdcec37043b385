// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz the FAT read path: the input is a FAT volume (its first bytes; the
 * window is zero-filled to the size its boot sector claims, at most
 * 64 MiB). Mount it read-only, walk every directory, look every name up
 * again, stat and read every file whole, map it; then mount it read-write
 * and, unless it was found damaged, create, write, list, move into a
 * subdirectory and back, and delete a file, and make, move and remove a
 * directory.
 *
 * Besides crashes, hangs and sanitizer reports, this aborts when a name
 * could escape the mount ('/', ".", "..", control characters, invalid
 * UTF-8) or a read returns more than the file's size.
 */
#include "fuzz.h"

#include "../../fat/fat.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WINDOW_MAX  (64u << 20)
#define READ_BUDGET (8u << 20) /* bytes read per input, in all */

static uint8_t buf[65536];
static uint64_t budget;

static bool utf8_valid(const unsigned char *s)
{
	while (*s) {
		unsigned n = *s < 0x80		   ? 0
			     : (*s & 0xe0) == 0xc0 ? 1
			     : (*s & 0xf0) == 0xe0 ? 2
			     : (*s & 0xf8) == 0xf0 ? 3
						   : 9;

		if (n == 9)
			return false;
		s++;
		for (unsigned i = 0; i < n; i++, s++)
			if ((*s & 0xc0) != 0x80)
				return false;
	}
	return true;
}

static void check_name(const char *name)
{
	if (!name[0] || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    strlen(name) > FAT_NAME_MAX)
		abort();
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '/')
			abort();
	if (!utf8_valid((const unsigned char *)name))
		abort();
}

static void read_file(struct fat_vol *vol, struct fat_node *node)
{
	struct fat_stat st;
	uint64_t off = 0;

	fat_node_stat(vol, node, &st);
	while (budget > 0) {
		size_t want = sizeof(buf) < budget ? sizeof(buf) : budget;
		ssize_t n = fat_read(vol, node, buf, want, off);

		if (n <= 0)
			break;
		if ((size_t)n > want || off + (uint64_t)n > st.size)
			abort();
		off += (uint64_t)n;
		budget -= (uint64_t)n;
	}
	for (uint64_t at = 0; at < st.size && at < (1u << 20); at += 12345) {
		uint64_t pos;
		size_t len;

		if (fat_map(vol, node, at, 1u << 20, &pos, &len) < 0)
			break;
		if (len > st.size - at)
			abort();
	}
}

static void walk(struct fat_vol *vol, struct fat_node *dir, int depth)
{
	uint64_t cookie = 0;
	struct fat_node *child;
	unsigned entries = 0;

	if (depth > 40)
		return;
	while (fat_readdir(vol, dir, &cookie, &child) == 1) {
		struct fat_node *again = NULL;
		const char *name = fat_node_name(child);

		if (++entries > 70000)
			abort(); /* more than a directory can hold */
		check_name(name);
		fat_node_get(child);
		if (fat_lookup(vol, dir, name, &again) == 0)
			fat_node_put(vol, again);
		if (fat_node_is_dir(child))
			walk(vol, child, depth + 1);
		else
			read_file(vol, child);
		fat_node_put(vol, child);
	}
}

static void write_some(struct fat_vol *vol)
{
	struct fat_node *node;
	uint64_t cookie = 0;
	struct fat_node *child;

	if (fat_create(vol, fat_root(vol), "Fuzz written file.txt",
		       FAT_ATTR_ARCHIVE, &node) != 0)
		return;
	memset(buf, 'w', 5000);
	fat_write(vol, node, buf, 5000, 0);
	fat_write(vol, node, buf, 3000, 20000);
	fat_truncate(vol, node, 7000);
	fat_fsync(vol, node);
	fat_node_put(vol, node);
	while (fat_readdir(vol, fat_root(vol), &cookie, &child) == 1)
		check_name(fat_node_name(child));

	/* Into the first subdirectory and back: its entries, its "..". */
	struct fat_node *sub = NULL, *made;

	cookie = 0;
	while (fat_readdir(vol, fat_root(vol), &cookie, &child) == 1)
		if (fat_node_is_dir(child)) {
			sub = child;
			fat_node_get(sub);
			break;
		}
	if (sub) {
		fat_rename(vol, fat_root(vol), "Fuzz written file.txt", sub,
			   "moved here with a long name.txt", 0);
		if (fat_create(vol, fat_root(vol), "new dir", FAT_ATTR_DIR,
			       &made) == 0) {
			fat_node_put(vol, made);
			fat_rename(vol, fat_root(vol), "new dir", sub, "NEWDIR",
				   0);
			fat_rmdir(vol, sub, "NEWDIR");
		}
		fat_rename(vol, sub, "moved here with a long name.txt",
			   fat_root(vol), "Fuzz written file.txt", 0);
		fat_node_put(vol, sub);
	}
	fat_sync(vol);
	fat_unlink(vol, fat_root(vol), "Fuzz written file.txt");
}

static uint64_t claimed_size(const uint8_t *d, size_t len)
{
	uint64_t bps, total;

	if (len < 0x24)
		return 0;
	bps = d[0x0b] | (unsigned)d[0x0c] << 8;
	total = d[0x13] | (unsigned)d[0x14] << 8;
	if (total == 0)
		total = d[0x20] | (unsigned)d[0x21] << 8 |
			(uint32_t)d[0x22] << 16 | (uint32_t)d[0x23] << 24;
	total *= bps;
	return total > WINDOW_MAX ? WINDOW_MAX : total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t wsize = claimed_size(data, size);
	int fd = fuzz_memfd(data, size, wsize);
	struct fat_window win = {fd, 0, wsize > size ? wsize : size};
	struct fat_vol *vol;
	struct fat_info info;
	char err[512];
	char *text;
	size_t text_len;

	budget = READ_BUDGET;
	if (fat_mount(&vol, &win, FAT_MOUNT_RDONLY, err, sizeof(err)) != 0) {
		if (!err[0] || strchr(err, '\n'))
			abort();
		close(fd);
		return 0;
	}
	fat_get_info(vol, &info);
	walk(vol, fat_root(vol), 0);
	if (fat_read_file(vol, "config.txt", &text, &text_len, 1 << 20) == 0)
		free(text);
	fat_unmount(vol);

	if (fat_mount(&vol, &win, 0, err, sizeof(err)) == 0) {
		if (!fat_is_read_only(vol))
			write_some(vol);
		fat_unmount(vol);
	}
	close(fd);
	return 0;
}
