// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * File contents: reading and mapping byte ranges to runs of the image, one
 * system call per run of contiguous clusters.
 */
#include "fat_internal.h"

#include <errno.h>

/* The chain must cover the file's size; a shorter chain is damage. */
static int map_file(struct fat_vol *vol, struct fat_node *node)
{
	uint64_t need;
	int ret = fat_map_build(vol, node);

	if (ret)
		return ret;
	need = ((uint64_t)node->size + vol->bpb.cluster_size - 1) /
	       vol->bpb.cluster_size;
	if (node->map.clusters < need)
		return fat_corrupt(vol,
				   "'%s' is %u bytes but its chain of %u clusters holds only %llu",
				   node->name, node->size, node->map.clusters,
				   (unsigned long long)node->map.clusters *
					   vol->bpb.cluster_size);
	return 0;
}

int fat_map(struct fat_vol *vol, struct fat_node *node, uint64_t off,
	    size_t size, uint64_t *pos, size_t *len)
{
	uint32_t cs = vol->bpb.cluster_size;
	uint32_t left, cluster;
	uint64_t run_bytes;
	int ret;

	*len = 0;
	*pos = 0;
	if (node->attr & FAT_ATTR_DIR)
		return -EISDIR;
	if (off >= node->size || size == 0)
		return 0;
	ret = map_file(vol, node);
	if (ret)
		return ret;
	if (size > node->size - off)
		size = (size_t)(node->size - off);
	cluster = fat_map_lookup(&node->map, (uint32_t)(off / cs), &left);
	run_bytes = (uint64_t)left * cs - off % cs;
	*pos = vol->win.offset + fat_cluster_offset(vol, cluster) + off % cs;
	*len = run_bytes < size ? (size_t)run_bytes : size;
	return 0;
}

ssize_t fat_read(struct fat_vol *vol, struct fat_node *node, void *buf,
		 size_t size, uint64_t off)
{
	uint8_t *p = buf;
	size_t done = 0;

	while (done < size) {
		uint64_t pos;
		size_t len;
		int ret = fat_map(vol, node, off + done, size - done, &pos, &len);

		if (ret)
			return done ? (ssize_t)done : ret;
		if (len == 0)
			break;
		ret = fat_io_read(vol, pos - vol->win.offset, p + done, len);
		if (ret)
			return done ? (ssize_t)done : ret;
		done += len;
	}
	return (ssize_t)done;
}
