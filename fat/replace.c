// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A file's whole contents replaced atomically, as the control files commit
 * config.txt, cmdline.txt, userconf.txt or a kernel: the new bytes are
 * written to clusters no entry names and flushed, then one write of the
 * file's 8.3 entry (32 bytes, inside one sector) switches it to them.
 * A power cut before the switch leaves the old contents and lost
 * clusters; after it, the new contents and the old clusters lost, until
 * they are freed. No temporary entry: a rename of one over the file could
 * not be atomic when the two entries are in different sectors.
 */
#include "fat_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* @len bytes at the start of a run of clusters; the last one padded. */
static int write_run(struct fat_vol *vol, uint32_t cluster, const uint8_t *data,
		     size_t len)
{
	uint32_t cs = vol->bpb.cluster_size;
	size_t whole = len - len % cs;
	uint64_t pos = fat_cluster_offset(vol, cluster);
	uint8_t *tail;
	int ret = whole ? fat_io_write(vol, pos, data, whole) : 0;

	if (ret || whole == len)
		return ret;
	/*
	 * The last cluster whole, zeros after the data: its old bytes are
	 * nobody's, and a whole cluster spares the host a read.
	 */
	tail = calloc(1, cs);
	if (!tail)
		return -ENOMEM;
	memcpy(tail, data + whole, len - whole);
	ret = fat_io_write(vol, pos + whole, tail, cs);
	free(tail);
	return ret;
}

/* Write @data into the new chain from @first, run by run. */
static int fill_chain(struct fat_vol *vol, uint32_t first, const uint8_t *data,
		      size_t len)
{
	uint32_t cs = vol->bpb.cluster_size;
	uint32_t start = first, c = first, count = 1;
	size_t off = 0;

	for (;;) {
		size_t end = off + (size_t)count * cs;
		uint32_t next;
		int ret;

		if (end >= len)
			return write_run(vol, start, data + off, len - off);
		ret = fat_ent_get(vol, c, &next);
		if (ret)
			return ret;
		if (fat_ent_kind(vol, next) != FAT_ENT_NEXT)
			return -EIO; /* a chain just allocated: a bug */
		if (next == c + 1) {
			c = next;
			count++;
			continue;
		}
		ret = write_run(vol, start, data + off, end - off);
		if (ret)
			return ret;
		off = end;
		start = c = next;
		count = 1;
	}
}

int fat_replace(struct fat_vol *vol, struct fat_node *dir, const char *name,
		const void *data, size_t len, struct fat_node **nodep)
{
	uint32_t cs = vol->bpb.cluster_size, want, first = FAT_CLUSTER_FREE;
	uint32_t got, old;
	struct fat_node *node;
	int ret = fat_check_writable(vol);

	*nodep = NULL;
	if (ret)
		return ret;
	fat_trace_call("replace", dir, name, NULL, NULL);
	if (len > FAT_FILE_MAX)
		return -EFBIG;
	if (dir->unlinked)
		return -ENOENT;
	ret = fat_dir_load(vol, dir);
	if (ret)
		return ret;
	node = fat_dir_find(dir, name);
	if (node && (node->attr & FAT_ATTR_DIR))
		return -EISDIR;

	want = (uint32_t)((len + cs - 1) / cs);
	if (want) {
		ret = fat_alloc_chain(vol, 0, want, &first, &got);
		if (!ret && got < want) {
			fat_free_chain(vol, first);
			first = FAT_CLUSTER_FREE;
			ret = -ENOSPC;
		}
		if (ret)
			return ret;
		ret = fill_chain(vol, first, data, len);
		if (!ret)
			ret = fat_table_flush(vol);
		/* Durable before an entry names them. */
		if (!ret)
			ret = fat_io_flush(vol);
		if (ret)
			goto undo;
	}

	if (!node) {
		ret = fat_create_entry(vol, dir, name, 0, first, (uint32_t)len,
				       &node);
		if (ret)
			goto undo;
	} else {
		old = node->first_cluster;
		node->first_cluster = first;
		node->size = (uint32_t)len;
		fat_map_free(&node->map); /* rebuilt from the FAT when used */
		fat_now(&node->mdate, &node->mtime, NULL);
		fat_touch_ctime(node);
		node->adate = node->mdate;
		node->attr |= FAT_ATTR_ARCHIVE;
		fat_dir_store_entry(vol, node);
		fat_node_get(node);
		ret = fat_dir_flush(vol);
		if (!ret && old != FAT_CLUSTER_FREE)
			ret = fat_free_chain_later(vol, old);
	}
	/* The switch durable, then the old clusters freed (fat_sync). */
	if (!ret)
		ret = fat_sync(vol);
	*nodep = node;
	return ret;
undo:
	if (first != FAT_CLUSTER_FREE && fat_free_chain(vol, first) == 0)
		fat_table_flush(vol);
	return ret;
}
