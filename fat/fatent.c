// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The file allocation table: cached in 64 KiB chunks read on first use,
 * entries decoded per FAT type, changes tracked as dirty byte ranges and
 * written to every FAT copy. Also cluster allocation and freeing; the
 * chains of removed entries are freed only after a flush.
 */
#include "fat_internal.h"
#include "../common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int fat_table_init(struct fat_vol *vol)
{
	struct fat_table *t = &vol->fat;
	uint64_t bytes = vol->bpb.fat_bytes;

	/* FAT12 entries straddle bytes: keep its (small) FAT in one chunk. */
	t->chunk_size =
		vol->bpb.type == FAT12 ? (uint32_t)bytes : FAT_CHUNK_SIZE;
	t->chunk_count =
		(uint32_t)((bytes + t->chunk_size - 1) / t->chunk_size);
	t->chunks = calloc(t->chunk_count, sizeof(*t->chunks));
	t->dirty = calloc(t->chunk_count, sizeof(*t->dirty));
	t->dirty_count = 0;
	if (!t->chunks || !t->dirty) {
		free(t->chunks);
		free(t->dirty);
		t->chunks = NULL;
		t->dirty = NULL;
		return -ENOMEM;
	}
	return 0;
}

void fat_table_free(struct fat_vol *vol)
{
	struct fat_table *t = &vol->fat;

	for (uint32_t i = 0; t->chunks && i < t->chunk_count; i++)
		free(t->chunks[i].data);
	free(t->chunks);
	free(t->dirty);
	free(t->pending);
	memset(t, 0, sizeof(*t));
}

static uint64_t fat_copy_offset(const struct fat_vol *vol, uint32_t copy)
{
	return vol->bpb.fat_offset +
	       (uint64_t)copy * vol->bpb.fat_sectors * vol->bpb.sector_size;
}

static uint32_t chunk_len(const struct fat_vol *vol, uint32_t index)
{
	uint64_t start = (uint64_t)index * vol->fat.chunk_size;
	uint64_t left = vol->bpb.fat_bytes - start;

	return left < vol->fat.chunk_size ? (uint32_t)left
					  : vol->fat.chunk_size;
}

/* The cached bytes of chunk @index, read from the active copy if needed. */
static int chunk_get(struct fat_vol *vol, uint32_t index, uint8_t **data)
{
	struct fat_chunk *c = &vol->fat.chunks[index];
	int ret;

	if (!c->data) {
		uint32_t len = chunk_len(vol, index);
		uint8_t *buf = malloc(vol->fat.chunk_size + 1);

		if (!buf)
			return -ENOMEM;
		buf[len] = 0;
		ret = fat_io_read(vol,
				  fat_copy_offset(vol, vol->bpb.active_fat) +
					  (uint64_t)index * vol->fat.chunk_size,
				  buf, len);
		if (ret) {
			free(buf);
			return ret;
		}
		c->data = buf;
	}
	*data = c->data;
	return 0;
}

static void chunk_mark_dirty(struct fat_vol *vol, uint32_t index, uint32_t off,
			     uint32_t len)
{
	struct fat_chunk *c = &vol->fat.chunks[index];

	if (c->dirty_lo == c->dirty_hi) {
		vol->fat.dirty[vol->fat.dirty_count++] = index;
		c->dirty_lo = off;
		c->dirty_hi = off + len;
		return;
	}
	if (off < c->dirty_lo)
		c->dirty_lo = off;
	if (off + len > c->dirty_hi)
		c->dirty_hi = off + len;
}

uint32_t fat_eoc(const struct fat_vol *vol)
{
	switch (vol->bpb.type) {
	case FAT12:
		return 0xfff;
	case FAT16:
		return 0xffff;
	default:
		return 0x0fffffff;
	}
}

enum fat_entry_kind fat_ent_kind(const struct fat_vol *vol, uint32_t value)
{
	uint32_t bad = fat_eoc(vol) - 8;

	if (value == FAT_CLUSTER_FREE)
		return FAT_ENT_FREE;
	if (value > bad)
		return FAT_ENT_EOC;
	if (value == bad)
		return FAT_ENT_BAD;
	if (value < FAT_CLUSTER_FIRST ||
	    value >= vol->bpb.cluster_count + FAT_CLUSTER_FIRST)
		return FAT_ENT_INVALID;
	return FAT_ENT_NEXT;
}

/* Byte offset of a cluster's entry within one FAT copy. */
static uint64_t entry_offset(const struct fat_vol *vol, uint32_t cluster)
{
	switch (vol->bpb.type) {
	case FAT12:
		return cluster + cluster / 2;
	case FAT16:
		return (uint64_t)cluster * 2;
	default:
		return (uint64_t)cluster * 4;
	}
}

static int check_cluster(struct fat_vol *vol, uint32_t cluster)
{
	if (cluster >= vol->bpb.cluster_count + FAT_CLUSTER_FIRST) {
		rpifs_log(RPIFS_ERR, "fat: bug: FAT entry %u of %u", cluster,
			  vol->bpb.cluster_count + FAT_CLUSTER_FIRST);
		return -EIO;
	}
	return 0;
}

int fat_ent_get(struct fat_vol *vol, uint32_t cluster, uint32_t *value)
{
	uint64_t off = entry_offset(vol, cluster);
	uint32_t index = (uint32_t)(off / vol->fat.chunk_size);
	uint32_t in = (uint32_t)(off % vol->fat.chunk_size);
	uint8_t *data;
	int ret = check_cluster(vol, cluster);

	if (ret)
		return ret;
	ret = chunk_get(vol, index, &data);
	if (ret)
		return ret;
	switch (vol->bpb.type) {
	case FAT12: {
		uint16_t v = load_le16(data + in);

		*value = cluster & 1 ? v >> 4 : v & 0x0fff;
		break;
	}
	case FAT16:
		*value = load_le16(data + in);
		break;
	default:
		*value = load_le32(data + in) & 0x0fffffff;
		break;
	}
	return 0;
}

int fat_ent_set(struct fat_vol *vol, uint32_t cluster, uint32_t value)
{
	uint64_t off = entry_offset(vol, cluster);
	uint32_t index = (uint32_t)(off / vol->fat.chunk_size);
	uint32_t in = (uint32_t)(off % vol->fat.chunk_size);
	uint32_t len;
	uint8_t *data;
	int ret = fat_check_writable(vol);

	if (ret)
		return ret;
	ret = check_cluster(vol, cluster);
	if (ret)
		return ret;
	ret = chunk_get(vol, index, &data);
	if (ret)
		return ret;
	switch (vol->bpb.type) {
	case FAT12: {
		uint16_t v = load_le16(data + in);

		if (cluster & 1)
			v = (uint16_t)((v & 0x000f) | (value << 4));
		else
			v = (uint16_t)((v & 0xf000) | (value & 0x0fff));
		store_le16(data + in, v);
		len = 2;
		break;
	}
	case FAT16:
		store_le16(data + in, (uint16_t)value);
		len = 2;
		break;
	default:
		/* The top four bits are reserved: keep what is there. */
		store_le32(data + in, (load_le32(data + in) & 0xf0000000u) |
					      (value & 0x0fffffff));
		len = 4;
		break;
	}
	chunk_mark_dirty(vol, index, in, len);
	return 0;
}

int fat_table_flush(struct fat_vol *vol)
{
	struct fat_table *t = &vol->fat;
	int ret = 0;

	for (uint32_t i = 0; i < t->dirty_count; i++) {
		uint32_t index = t->dirty[i];
		struct fat_chunk *c = &t->chunks[index];
		uint64_t base = (uint64_t)index * t->chunk_size + c->dirty_lo;
		uint32_t len = c->dirty_hi - c->dirty_lo;

		/* A FAT12 pair may reach one byte past the FAT's end. */
		if (base + len > vol->bpb.fat_bytes)
			len = (uint32_t)(vol->bpb.fat_bytes - base);
		for (uint32_t copy = 0; copy < vol->bpb.fat_count; copy++) {
			if (!vol->bpb.mirror && copy != vol->bpb.active_fat)
				continue;
			ret = fat_io_write(vol,
					   fat_copy_offset(vol, copy) + base,
					   c->data + c->dirty_lo, len);
			if (ret)
				return ret;
		}
		c->dirty_lo = c->dirty_hi = 0;
	}
	t->dirty_count = 0;
	return ret;
}

/*
 * Whether the cluster's FAT12 entry spans two sectors (its 12 bits at
 * bytes 511 and 512 of a sector): one write cannot change it, a power cut
 * could keep half of it, and the chain would run anywhere. Such clusters
 * (2 in 1024) are left free, and not counted free.
 */
static bool spans_sectors(const struct fat_vol *vol, uint32_t cluster)
{
	return vol->bpb.type == FAT12 &&
	       (entry_offset(vol, cluster) + 1) % 512 == 0;
}

int fat_count_free(struct fat_vol *vol, uint32_t *count)
{
	uint32_t last = vol->bpb.cluster_count + FAT_CLUSTER_FIRST;
	uint32_t n = 0;

	for (uint32_t c = FAT_CLUSTER_FIRST; c < last; c++) {
		uint32_t v;
		int ret = fat_ent_get(vol, c, &v);

		if (ret)
			return ret;
		n += v == FAT_CLUSTER_FREE && !spans_sectors(vol, c);
	}
	*count = n;
	return 0;
}

/* The next free cluster at or after @from, wrapping once; 0 if none. */
static int find_free(struct fat_vol *vol, uint32_t from, uint32_t *found)
{
	uint32_t first = FAT_CLUSTER_FIRST;
	uint32_t end = vol->bpb.cluster_count + FAT_CLUSTER_FIRST;
	uint32_t c = from >= first && from < end ? from : first;

	for (uint32_t i = 0; i < vol->bpb.cluster_count; i++) {
		uint32_t v;
		int ret = fat_ent_get(vol, c, &v);

		if (ret)
			return ret;
		if (v == FAT_CLUSTER_FREE && !spans_sectors(vol, c)) {
			*found = c;
			return 0;
		}
		if (++c == end)
			c = first;
	}
	*found = 0;
	return 0;
}

int fat_alloc_chain(struct fat_vol *vol, uint32_t hint, uint32_t count,
		    uint32_t *first, uint32_t *got)
{
	uint32_t prev = 0, c = hint ? hint : vol->next_free;
	uint32_t n = 0;
	int ret = fat_check_writable(vol);

	*first = 0;
	*got = 0;
	if (ret)
		return ret;
	while (n < count) {
		ret = find_free(vol, c, &c);
		if (!ret && c == 0 && vol->fat.pending_count > 0) {
			/* Full but for chains waiting for a flush. */
			ret = fat_io_flush(vol);
			if (!ret)
				ret = fat_free_pending(vol);
			if (!ret)
				ret = find_free(vol, vol->next_free, &c);
		}
		if (ret)
			goto fail;
		if (c == 0)
			break;
		/* Mark it now so the next search cannot find it again. */
		ret = fat_ent_set(vol, c, fat_eoc(vol));
		if (ret)
			goto fail;
		if (prev) {
			ret = fat_ent_set(vol, prev, c);
			if (ret)
				goto fail;
		} else {
			*first = c;
		}
		prev = c;
		n++;
		if (vol->free_known && vol->free_count > 0)
			vol->free_count--;
		c++;
	}
	if (n == 0) {
		if (vol->free_known)
			vol->free_count = 0;
		return -ENOSPC;
	}
	vol->next_free = c;
	vol->fsinfo_dirty = true;
	*got = n;
	return 0;
fail:
	/* Give back what was taken; the chain is not linked anywhere yet. */
	if (*first)
		fat_free_chain(vol, *first);
	*first = 0;
	return ret;
}

/*
 * Walk the chain from @first to its end, checking it (a loop, or a free
 * cluster inside it, is damage), and with @free_it free each cluster as
 * it goes. @clusters and @usable (not FAT12's sector-spanning ones) count
 * what it holds.
 */
static int walk_chain(struct fat_vol *vol, uint32_t first, bool free_it,
		      uint32_t *clusters, uint32_t *usable)
{
	uint32_t c = first;
	int ret;

	*clusters = *usable = 0;
	while (fat_ent_kind(vol, c) == FAT_ENT_NEXT) {
		uint32_t next;

		if (++*clusters > vol->bpb.cluster_count)
			return fat_corrupt(
				vol, "the chain from cluster %u loops", first);
		ret = fat_ent_get(vol, c, &next);
		if (ret)
			return ret;
		if (next == FAT_CLUSTER_FREE)
			return fat_corrupt(
				vol, "cluster %u of a chain is marked free", c);
		*usable += !spans_sectors(vol, c);
		if (free_it) {
			ret = fat_ent_set(vol, c, FAT_CLUSTER_FREE);
			if (ret)
				return ret;
			if (vol->free_known && !spans_sectors(vol, c))
				vol->free_count++;
			if (c < vol->next_free)
				vol->next_free = c;
		}
		c = next;
	}
	return 0;
}

int fat_free_chain(struct fat_vol *vol, uint32_t first)
{
	uint32_t clusters, usable;
	int ret = fat_check_writable(vol);

	if (!ret)
		ret = walk_chain(vol, first, true, &clusters, &usable);
	if (!ret)
		vol->fsinfo_dirty = true;
	return ret;
}

int fat_free_chain_later(struct fat_vol *vol, uint32_t first)
{
	struct fat_table *t = &vol->fat;
	uint32_t clusters, usable;
	int ret = fat_check_writable(vol);

	/* Walk it now, so that damage shows here and the count is known. */
	if (!ret)
		ret = walk_chain(vol, first, false, &clusters, &usable);
	if (ret)
		return ret;
	if (clusters == 0)
		return 0;
	if (t->pending_count == t->pending_cap) {
		uint32_t cap = t->pending_cap ? t->pending_cap * 2 : 16;
		uint32_t *bigger = realloc(t->pending, cap * sizeof(*bigger));

		if (!bigger) {
			/* No room to wait: make the removal durable first. */
			ret = fat_io_flush(vol);
			return ret ? ret : fat_free_chain(vol, first);
		}
		t->pending = bigger;
		t->pending_cap = cap;
	}
	t->pending[t->pending_count++] = first;
	t->pending_clusters += usable;
	return 0;
}

int fat_free_pending(struct fat_vol *vol)
{
	struct fat_table *t = &vol->fat;
	int ret = 0;

	while (t->pending_count > 0 && !ret) {
		ret = fat_free_chain(vol, t->pending[t->pending_count - 1]);
		t->pending_count--;
	}
	if (t->pending_count == 0)
		t->pending_clusters = 0;
	return ret;
}
