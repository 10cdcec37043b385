// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A node's cluster chain as a list of runs of contiguous clusters, so that
 * reads and writes find any offset with a binary search and move whole runs
 * per system call. The chain is walked once, every step checked: a next
 * cluster outside the volume, a free or bad cluster inside a chain, or a
 * loop is damage.
 */
#include "fat_internal.h"

#include <errno.h>
#include <stdlib.h>

void fat_map_free(struct fat_map *map)
{
	free(map->runs);
	map->runs = NULL;
	map->run_count = map->run_cap = map->clusters = 0;
	map->valid = false;
}

int fat_map_append(struct fat_map *map, uint32_t disk_cluster, uint32_t count)
{
	struct fat_run *last =
		map->run_count ? &map->runs[map->run_count - 1] : NULL;

	if (last && last->disk_cluster + last->count == disk_cluster) {
		last->count += count;
		map->clusters += count;
		return 0;
	}
	if (map->run_count == map->run_cap) {
		uint32_t cap = map->run_cap ? map->run_cap * 2 : 4;
		struct fat_run *runs = realloc(map->runs, cap * sizeof(*runs));

		if (!runs)
			return -ENOMEM;
		map->runs = runs;
		map->run_cap = cap;
	}
	map->runs[map->run_count++] = (struct fat_run){
		.file_cluster = map->clusters,
		.disk_cluster = disk_cluster,
		.count = count,
	};
	map->clusters += count;
	return 0;
}

void fat_map_truncate(struct fat_map *map, uint32_t clusters)
{
	while (map->run_count > 0) {
		struct fat_run *last = &map->runs[map->run_count - 1];

		if (last->file_cluster >= clusters) {
			map->run_count--;
			continue;
		}
		if (last->file_cluster + last->count > clusters)
			last->count = clusters - last->file_cluster;
		break;
	}
	if (map->clusters > clusters)
		map->clusters = clusters;
}

uint32_t fat_map_last(const struct fat_map *map)
{
	const struct fat_run *last;

	if (map->run_count == 0)
		return 0;
	last = &map->runs[map->run_count - 1];
	return last->disk_cluster + last->count - 1;
}

uint32_t fat_map_lookup(const struct fat_map *map, uint32_t index,
			uint32_t *run_left)
{
	uint32_t lo = 0, hi = map->run_count;

	assert(index < map->clusters);
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (map->runs[mid].file_cluster <= index)
			lo = mid;
		else
			hi = mid;
	}
	if (run_left)
		*run_left = map->runs[lo].count -
			    (index - map->runs[lo].file_cluster);
	return map->runs[lo].disk_cluster +
	       (index - map->runs[lo].file_cluster);
}

int fat_map_build(struct fat_vol *vol, struct fat_node *node)
{
	struct fat_map *map = &node->map;
	uint32_t c = node->first_cluster;
	uint32_t run_start = 0, run_len = 0;
	int ret;

	if (map->valid)
		return 0;
	map->run_count = 0;
	map->clusters = 0;
	if (c == FAT_CLUSTER_FREE) {
		map->valid = true;
		return 0;
	}
	if (fat_ent_kind(vol, c) != FAT_ENT_NEXT)
		return fat_corrupt(
			vol, "'%s' starts at cluster %u, outside the volume",
			fat_node_label(node), c);
	for (;;) {
		uint32_t next;

		if (map->clusters + run_len >= vol->bpb.cluster_count)
			return fat_corrupt(vol,
					   "the cluster chain of '%s' loops "
					   "(seen at cluster %u)",
					   fat_node_label(node), c);
		if (run_len && run_start + run_len == c) {
			run_len++;
		} else {
			if (run_len) {
				ret = fat_map_append(map, run_start, run_len);
				if (ret)
					return ret;
			}
			run_start = c;
			run_len = 1;
		}
		ret = fat_ent_get(vol, c, &next);
		if (ret)
			return ret;
		switch (fat_ent_kind(vol, next)) {
		case FAT_ENT_NEXT:
			c = next;
			continue;
		case FAT_ENT_EOC:
			break;
		case FAT_ENT_FREE:
			return fat_corrupt(vol,
					   "the chain of '%s' reaches cluster "
					   "%u, which is marked free",
					   fat_node_label(node), c);
		case FAT_ENT_BAD:
			return fat_corrupt(vol,
					   "the chain of '%s' reaches cluster "
					   "%u, which points to a bad cluster",
					   fat_node_label(node), c);
		default:
			return fat_corrupt(
				vol,
				"the chain of '%s' goes from cluster %u to %u, "
				"outside the volume",
				fat_node_label(node), c, next);
		}
		break;
	}
	ret = fat_map_append(map, run_start, run_len);
	if (ret)
		return ret;
	map->valid = true;
	return 0;
}
