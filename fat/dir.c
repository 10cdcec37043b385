// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Directories: a directory is read whole into memory on first use (at most
 * 65536 entries, 2 MiB), its entries decoded into child nodes indexed by the
 * slot of their 8.3 entry. Long names are assembled and checksum-verified;
 * orphaned long-name entries are ignored. Changes are made to the in-memory
 * bytes and written back as one dirty range per directory.
 */
#include "fat_internal.h"
#include "../common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fat_dir_free(struct fat_dir *dir)
{
	if (!dir)
		return;
	free(dir->raw);
	free(dir->child);
	free(dir->hash);
	free(dir);
}

uint64_t fat_dir_slot_offset(struct fat_vol *vol, struct fat_node *dir,
			     uint32_t slot)
{
	uint64_t byte = (uint64_t)slot * DIRENT_SIZE;
	uint32_t cluster;

	if (dir->is_root && vol->bpb.type != FAT32)
		return vol->bpb.root_offset + byte;
	cluster = fat_map_lookup(
		&dir->map, (uint32_t)(byte / vol->bpb.cluster_size), NULL);
	return fat_cluster_offset(vol, cluster) + byte % vol->bpb.cluster_size;
}

/* Read the directory's bytes: the fixed root region or its whole chain. */
static int read_raw(struct fat_vol *vol, struct fat_node *node,
		    struct fat_dir *dir)
{
	uint64_t bytes;
	int ret;

	if (node->is_root && vol->bpb.type != FAT32) {
		bytes = vol->bpb.root_bytes;
	} else {
		ret = fat_map_build(vol, node);
		if (ret)
			return ret;
		bytes = (uint64_t)node->map.clusters * vol->bpb.cluster_size;
		if (bytes == 0)
			return fat_corrupt(vol,
					   "directory '%s' has no clusters",
					   fat_node_label(node));
		if (bytes > (uint64_t)DIR_MAX_SLOTS * DIRENT_SIZE)
			return fat_corrupt(vol,
					   "directory '%s' is %llu bytes, over "
					   "the 2 MiB limit",
					   fat_node_label(node),
					   (unsigned long long)bytes);
	}
	dir->slots = (uint32_t)(bytes / DIRENT_SIZE);
	dir->stale_from = dir->slots;
	dir->raw = malloc(bytes ? bytes : 1);
	dir->child = calloc(dir->slots ? dir->slots : 1, sizeof(*dir->child));
	dir->hash = calloc(dir->slots ? dir->slots : 1, sizeof(*dir->hash));
	if (!dir->raw || !dir->child || !dir->hash)
		return -ENOMEM;

	if (node->is_root && vol->bpb.type != FAT32)
		return fat_io_read(vol, vol->bpb.root_offset, dir->raw, bytes);
	for (uint32_t i = 0; i < node->map.run_count; i++) {
		const struct fat_run *run = &node->map.runs[i];

		ret = fat_io_read(vol,
				  fat_cluster_offset(vol, run->disk_cluster),
				  dir->raw + (uint64_t)run->file_cluster *
						     vol->bpb.cluster_size,
				  (size_t)run->count * vol->bpb.cluster_size);
		if (ret)
			return ret;
	}
	return 0;
}

/* A directory whose chain starts where one of its ancestors' does loops. */
static int check_ancestry(struct fat_vol *vol, struct fat_node *node)
{
	if (node->is_root)
		return 0;
	if (node->first_cluster == FAT_CLUSTER_FREE)
		return fat_corrupt(vol, "directory '%s' has no clusters",
				   node->name);
	for (struct fat_node *a = node->parent; a; a = a->parent) {
		uint32_t start =
			a->is_root ? vol->bpb.root_cluster : a->first_cluster;

		if (start == node->first_cluster)
			return fat_corrupt(vol,
					   "directory '%s' starts at cluster "
					   "%u, as its ancestor '%s' does",
					   node->name, start,
					   a->is_root ? "/" : a->name);
	}
	return 0;
}

void fat_node_from_dirent(struct fat_vol *vol, struct fat_node *node,
			  const struct fat_dirent_disk *de)
{
	memcpy(node->sfn, de->name, 11);
	node->attr = de->attr;
	node->lcase = de->lcase;
	node->ctime_cs = de->ctime_cs;
	node->ctime = get_le16(de->ctime);
	node->cdate = get_le16(de->cdate);
	node->adate = get_le16(de->adate);
	node->mtime = get_le16(de->mtime);
	node->mdate = get_le16(de->mdate);
	node->first_cluster = get_le16(de->start_lo);
	if (vol->bpb.type == FAT32)
		node->first_cluster |= (uint32_t)get_le16(de->start_hi) << 16;
	node->size = node->attr & FAT_ATTR_DIR ? 0 : get_le32(de->size);
}

struct lfn_state {
	uint16_t units[LFN_MAX_SLOTS * LFN_CHARS];
	int count;  /* slots in the sequence being read; 0: none */
	int expect; /* the order number the next slot must have */
	uint8_t checksum;
};

static void lfn_take(struct lfn_state *st, const struct fat_lfn_disk *l,
		     int seq)
{
	uint16_t *u = st->units + (seq - 1) * LFN_CHARS;

	for (int i = 0; i < 5; i++)
		*u++ = get_le16(l->name1[i]);
	for (int i = 0; i < 6; i++)
		*u++ = get_le16(l->name2[i]);
	for (int i = 0; i < 2; i++)
		*u++ = get_le16(l->name3[i]);
}

static void lfn_feed(struct lfn_state *st, const struct fat_lfn_disk *l)
{
	int seq = l->order & 0x1f;

	if (l->order & LFN_LAST) {
		if (seq == 0 || seq > LFN_MAX_SLOTS || l->type != 0) {
			st->count = 0;
			return;
		}
		st->count = seq;
		st->expect = seq - 1;
		st->checksum = l->checksum;
		lfn_take(st, l, seq);
		return;
	}
	if (st->count && st->expect > 0 && seq == st->expect &&
	    l->checksum == st->checksum && l->type == 0) {
		lfn_take(st, l, seq);
		st->expect--;
		return;
	}
	st->count = 0; /* out of order: orphans, ignored */
}

/* The long name if the sequence just read belongs to @de; else NULL. */
static char *lfn_name(struct lfn_state *st, const struct fat_dirent_disk *de)
{
	char out[FAT_NAME_MAX + 1];
	size_t len = 0, max;

	if (!st->count || st->expect != 0 ||
	    st->checksum != fat_lfn_checksum(de->name))
		return NULL;
	max = (size_t)st->count * LFN_CHARS;
	while (len < max && st->units[len] != 0x0000)
		len++;
	if (len == 0 || len > 255)
		return NULL;
	if (fat_utf16_to_utf8(st->units, len, out, sizeof(out)) < 0)
		return NULL;
	if (!fat_name_safe(out))
		return NULL;
	return strdup(out);
}

/* Everything after the end marker is free: make it zeros in memory. */
static void forget_after_end(struct fat_dir *dir, uint32_t end)
{
	uint8_t *from = dir->raw + (size_t)end * DIRENT_SIZE;
	size_t len = (size_t)(dir->slots - end) * DIRENT_SIZE;

	for (size_t i = 0; i < len; i++) {
		if (from[i]) {
			memset(from, 0, len);
			dir->stale_from = end;
			return;
		}
	}
}

static bool is_dot_entry(const struct fat_dirent_disk *de)
{
	return memcmp(de->name, ".          ", 11) == 0 ||
	       memcmp(de->name, "..         ", 11) == 0;
}

/* @node takes its place at its slot of @d, its name and 8.3 name set: the
   slot's node and the hashes fat_dir_find() filters by, the counts. */
static void put_child(struct fat_dir *d, struct fat_node *node)
{
	struct fat_slot_hash *h = &d->hash[node->slot];
	char alias[40];

	h->name = fat_name_hash(node->name);
	h->alias = 0;
	if (node->lfn_slots) {
		fat_sfn_format(node->sfn, 0, alias, sizeof(alias));
		h->alias = fat_name_hash(alias);
	}
	d->child[node->slot] = node;
	d->entries++;
	d->subdirs += (node->attr & FAT_ATTR_DIR) != 0;
}

/* The root's volume label entry, the first one only. */
static void take_label(struct fat_vol *vol, const struct fat_dirent_disk *de)
{
	char label[12];

	memcpy(label, de->name, 11);
	label[11] = '\0';
	for (int i = 10; i >= 0 && label[i] == ' '; i--)
		label[i] = '\0';
	snprintf(vol->label, sizeof(vol->label), "%s", label);
	vol->label_date = get_le16(de->mdate);
	vol->label_time = get_le16(de->mtime);
}

/*
 * The child at @slot, named by the long name gathered in @st or by its
 * 8.3 name. 1: skipped (an unusable name).
 */
static int add_child(struct fat_vol *vol, struct fat_node *node,
		     struct fat_dir *dir, struct lfn_state *st, uint32_t slot,
		     const struct fat_dirent_disk *de)
{
	struct fat_node *child;
	char shortname[40];
	char *name = lfn_name(st, de);
	int lfn_count = name ? st->count : 0;

	st->count = 0;
	if (!name) {
		fat_sfn_format(de->name, de->lcase, shortname,
			       sizeof(shortname));
		if (!fat_name_safe(shortname)) {
			rpifs_log(RPIFS_WARN,
				  "fat: skipping an entry with an unusable "
				  "name in '%s' (slot %u)",
				  node->is_root ? "/" : node->name, slot);
			return 1;
		}
		name = strdup(shortname);
		if (!name)
			return -ENOMEM;
	}
	child = fat_node_new(vol);
	if (!child) {
		free(name);
		return -ENOMEM;
	}
	child->name = name;
	child->parent = node;
	child->slot = slot;
	child->lfn_slots = (uint8_t)lfn_count;
	fat_node_from_dirent(vol, child, de);
	put_child(dir, child);
	return 0;
}

static int parse(struct fat_vol *vol, struct fat_node *node,
		 struct fat_dir *dir)
{
	struct lfn_state *st = calloc(1, sizeof(*st));
	int ret = 0;

	if (!st)
		return -ENOMEM;
	for (uint32_t slot = 0; slot < dir->slots && ret >= 0; slot++) {
		const struct fat_dirent_disk *de =
			(const void *)(dir->raw + (size_t)slot * DIRENT_SIZE);

		if (de->name[0] == DIRENT_END) {
			forget_after_end(dir, slot);
			break;
		}
		if (de->name[0] == DIRENT_FREE) {
			st->count = 0;
			continue;
		}
		if ((de->attr & 0x3f) == FAT_ATTR_LFN) {
			lfn_feed(st, (const void *)de);
			continue;
		}
		if (de->attr & FAT_ATTR_VOLUME) {
			if (node->is_root && !vol->label[0] &&
			    !(de->attr & FAT_ATTR_DIR))
				take_label(vol, de);
			st->count = 0;
			continue;
		}
		if (is_dot_entry(de)) {
			st->count = 0;
			continue;
		}
		ret = add_child(vol, node, dir, st, slot, de);
	}
	free(st);
	return ret < 0 ? ret : 0;
}

int fat_dir_load(struct fat_vol *vol, struct fat_node *node)
{
	struct fat_dir *dir;
	int ret;

	if (node->dir)
		return 0;
	if (!(node->attr & FAT_ATTR_DIR))
		return -ENOTDIR;
	ret = check_ancestry(vol, node);
	if (ret)
		return ret;
	dir = calloc(1, sizeof(*dir));
	if (!dir)
		return -ENOMEM;
	ret = read_raw(vol, node, dir);
	if (!ret)
		ret = parse(vol, node, dir);
	if (ret) {
		for (uint32_t i = 0; dir->child && i < dir->slots; i++)
			if (dir->child[i])
				fat_node_free(vol, dir->child[i]);
		fat_dir_free(dir);
		return ret;
	}
	node->dir = dir;
	return 0;
}

struct fat_node *fat_dir_find(struct fat_node *dir, const char *name)
{
	struct fat_dir *d = dir->dir;
	uint32_t h = fat_name_hash(name);

	for (uint32_t i = 0; i < d->slots; i++) {
		struct fat_node *c = d->child[i];
		char alias[40];

		if (d->hash[i].name == h && c && fat_name_equal(c->name, name))
			return c;
		if (d->hash[i].alias == h && c && c->lfn_slots) {
			fat_sfn_format(c->sfn, 0, alias, sizeof(alias));
			if (fat_name_equal(alias, name))
				return c;
		}
	}
	return NULL;
}

int fat_readdir(struct fat_vol *vol, struct fat_node *dir, uint64_t *cookie,
		struct fat_node **childp)
{
	int ret = fat_dir_load(vol, dir);

	if (ret)
		return ret;
	for (uint64_t slot = *cookie; slot < dir->dir->slots; slot++) {
		if (dir->dir->child[slot]) {
			*childp = dir->dir->child[slot];
			*cookie = slot + 1;
			return 1;
		}
	}
	*cookie = dir->dir->slots;
	return 0;
}

void fat_dir_mark_dirty(struct fat_vol *vol, struct fat_node *dir, uint32_t off,
			uint32_t len)
{
	struct fat_dir *d = dir->dir;

	if (d->dirty_lo == d->dirty_hi) {
		d->dirty_lo = off;
		d->dirty_hi = off + len;
	} else {
		if (off < d->dirty_lo)
			d->dirty_lo = off;
		if (off + len > d->dirty_hi)
			d->dirty_hi = off + len;
	}
	if (!d->on_dirty_list) {
		d->on_dirty_list = true;
		d->next_dirty = vol->dirty_dirs;
		vol->dirty_dirs = dir;
	}
}

void fat_dir_store_entry(struct fat_vol *vol, struct fat_node *node)
{
	struct fat_node *parent = node->parent;
	struct fat_dirent_disk *de;

	if (!parent || !parent->dir)
		return;
	de = (void *)(parent->dir->raw + (size_t)node->slot * DIRENT_SIZE);
	memcpy(de->name, node->sfn, 11);
	de->attr = node->attr;
	de->lcase = node->lcase;
	de->ctime_cs = node->ctime_cs;
	put_le16(&de->ctime, node->ctime);
	put_le16(&de->cdate, node->cdate);
	put_le16(&de->adate, node->adate);
	put_le16(&de->mtime, node->mtime);
	put_le16(&de->mdate, node->mdate);
	put_le16(&de->start_lo, (uint16_t)node->first_cluster);
	put_le16(&de->start_hi, vol->bpb.type == FAT32
					? (uint16_t)(node->first_cluster >> 16)
					: 0);
	put_le32(&de->size, node->attr & FAT_ATTR_DIR ? 0 : node->size);
	fat_dir_mark_dirty(vol, parent, node->slot * DIRENT_SIZE, DIRENT_SIZE);
}

/* Write raw bytes [lo, hi) of a directory, one system call per run. */
static int write_range(struct fat_vol *vol, struct fat_node *node, uint32_t lo,
		       uint32_t hi)
{
	uint32_t cs = vol->bpb.cluster_size;

	if (node->is_root && vol->bpb.type != FAT32)
		return fat_io_write(vol, vol->bpb.root_offset + lo,
				    node->dir->raw + lo, hi - lo);
	while (lo < hi) {
		uint32_t left;
		uint32_t cluster = fat_map_lookup(&node->map, lo / cs, &left);
		uint64_t run_end = (uint64_t)(lo / cs + left) * cs;
		uint32_t len = (uint32_t)((run_end < hi ? run_end : hi) - lo);
		int ret = fat_io_write(
			vol, fat_cluster_offset(vol, cluster) + lo % cs,
			node->dir->raw + lo, len);

		if (ret)
			return ret;
		lo += len;
	}
	return 0;
}

int fat_dir_flush_one(struct fat_vol *vol, struct fat_node *dir)
{
	struct fat_node **pp = &vol->dirty_dirs;
	struct fat_dir *d = dir->dir;
	int ret;

	if (!d || !d->on_dirty_list)
		return 0;
	ret = write_range(vol, dir, d->dirty_lo, d->dirty_hi);
	if (ret)
		return ret;
	while (*pp != dir)
		pp = &(*pp)->dir->next_dirty;
	*pp = d->next_dirty;
	d->next_dirty = NULL;
	d->on_dirty_list = false;
	d->dirty_lo = d->dirty_hi = 0;
	return 0;
}

int fat_dir_flush(struct fat_vol *vol)
{
	while (vol->dirty_dirs) {
		struct fat_node *node = vol->dirty_dirs;
		struct fat_dir *d = node->dir;
		int ret = write_range(vol, node, d->dirty_lo, d->dirty_hi);

		if (ret)
			return ret;
		vol->dirty_dirs = d->next_dirty;
		d->next_dirty = NULL;
		d->on_dirty_list = false;
		d->dirty_lo = d->dirty_hi = 0;
	}
	return 0;
}

int fat_dir_write_sectors(struct fat_vol *vol, struct fat_node *dir,
			  uint32_t first, uint32_t count)
{
	uint32_t lo = first - first % DIR_SECTOR_SLOTS;
	uint32_t hi = first + count + DIR_SECTOR_SLOTS - 1;

	hi -= hi % DIR_SECTOR_SLOTS;
	if (hi > dir->dir->slots)
		hi = dir->dir->slots;
	return write_range(vol, dir, lo * DIRENT_SIZE, hi * DIRENT_SIZE);
}

uint32_t fat_dir_slots_for(const char *name, bool needs_lfn)
{
	uint16_t u[256];
	int n;

	if (!needs_lfn)
		return 1;
	n = fat_utf8_to_utf16(name, u, 255);
	return (uint32_t)((n + LFN_CHARS - 1) / LFN_CHARS) + 1;
}

/* @d's arrays made @new_slots long, the new slots zero (@d->slots stays). */
static int make_room(struct fat_dir *d, uint32_t new_slots)
{
	size_t more = new_slots - d->slots;
	uint8_t *raw = realloc(d->raw, (size_t)new_slots * DIRENT_SIZE);
	struct fat_node **child;
	struct fat_slot_hash *hash;

	if (!raw)
		return -ENOMEM;
	d->raw = raw;
	child = realloc(d->child, new_slots * sizeof(*child));
	if (!child)
		return -ENOMEM;
	d->child = child;
	hash = realloc(d->hash, new_slots * sizeof(*hash));
	if (!hash)
		return -ENOMEM;
	d->hash = hash;
	memset(raw + (size_t)d->slots * DIRENT_SIZE, 0, more * DIRENT_SIZE);
	memset(child + d->slots, 0, more * sizeof(*child));
	memset(hash + d->slots, 0, more * sizeof(*hash));
	return 0;
}

/* Grow a directory by enough zeroed clusters for @slots more entries. */
static int grow(struct fat_vol *vol, struct fat_node *node, uint32_t slots)
{
	struct fat_dir *d = node->dir;
	uint32_t per_cluster = vol->bpb.cluster_size / DIRENT_SIZE;
	uint32_t clusters = (slots + per_cluster - 1) / per_cluster;
	uint32_t new_slots = d->slots + clusters * per_cluster;
	uint32_t first, got, last = fat_map_last(&node->map);
	int ret;

	if (node->is_root && vol->bpb.type != FAT32)
		return -ENOSPC; /* the fixed root is full */
	if (new_slots > DIR_MAX_SLOTS)
		return -ENOSPC;
	ret = fat_alloc_chain(vol, last + 1, clusters, &first, &got);
	if (ret)
		return ret;
	if (got < clusters) {
		fat_free_chain(vol, first);
		return -ENOSPC;
	}
	ret = make_room(d, new_slots);
	if (ret) {
		fat_free_chain(vol, first);
		return ret;
	}

	/*
	 * Zero the new clusters on disk, and flush, before the FAT links them
	 * in: a link that reached the disk without the zeros would make the
	 * directory list whatever the clusters held. When zeroing fails (the
	 * disk holding the image is full: the clusters were holes), the
	 * directory stays as it was and the clusters go back.
	 */
	uint32_t had = node->map.clusters;

	for (uint32_t c = first, i = 0; i < got; i++) {
		uint32_t next;

		ret = fat_io_zero(vol, fat_cluster_offset(vol, c),
				  vol->bpb.cluster_size);
		if (!ret)
			ret = fat_map_append(&node->map, c, 1);
		if (!ret && i + 1 < got)
			ret = fat_ent_get(vol, c, &next);
		if (ret)
			goto undo;
		c = next;
	}
	ret = fat_io_flush(vol);
	if (ret)
		goto undo;
	ret = fat_ent_set(vol, last, first);
	if (!ret)
		ret = fat_table_flush(vol);
	if (ret)
		return ret;
	/* The new clusters are zeros on disk too. */
	if (d->stale_from == d->slots)
		d->stale_from = new_slots;
	d->slots = new_slots;
	return 0;
undo:
	fat_map_truncate(&node->map, had);
	fat_free_chain(vol, first);
	fat_table_flush(vol);
	return ret;
}

static bool in_entry(const struct fat_node *node, const struct fat_node *dir,
		     uint32_t s)
{
	return node && node->parent == dir && s <= node->slot &&
	       s + node->lfn_slots >= node->slot;
}

/*
 * The first run of @count free slots among slots [@from, @to) (those of
 * @skip1 and @skip2 count as free), inside one 512-byte sector when
 * @whole; *@tail: the free slots at the end of the range.
 */
static bool find_run_in(struct fat_node *dir, uint32_t count,
			const struct fat_node *skip1,
			const struct fat_node *skip2, bool whole, uint32_t from,
			uint32_t to, uint32_t *first, uint32_t *tail)
{
	struct fat_dir *d = dir->dir;
	uint32_t run = 0;

	for (uint32_t s = from; s < to && s < d->slots; s++) {
		uint8_t b = d->raw[(size_t)s * DIRENT_SIZE];
		bool free = b == DIRENT_FREE || b == DIRENT_END ||
			    in_entry(skip1, dir, s) || in_entry(skip2, dir, s);

		if (whole && s % DIR_SECTOR_SLOTS == 0)
			run = 0;
		run = free ? run + 1 : 0;
		if (run == count) {
			*first = s + 1 - count;
			return true;
		}
	}
	*tail = run;
	return false;
}

static bool find_run(struct fat_node *dir, uint32_t count,
		     const struct fat_node *skip1, const struct fat_node *skip2,
		     bool whole, uint32_t *first, uint32_t *tail)
{
	return find_run_in(dir, count, skip1, skip2, whole, 0, dir->dir->slots,
			   first, tail);
}

/*
 * Slots from stale_from on are zeros only in memory: the disk may hold old
 * entries there, after an end marker. Before an entry moves the end marker
 * past them, write the zeros and flush, or a power cut could keep the new
 * entry and bring the old ones back to life.
 */
static int clear_stale(struct fat_vol *vol, struct fat_node *node)
{
	struct fat_dir *d = node->dir;
	int ret;

	if (d->stale_from >= d->slots)
		return 0;
	ret = write_range(vol, node, d->stale_from * DIRENT_SIZE,
			  d->slots * DIRENT_SIZE);
	if (!ret)
		ret = fat_io_flush(vol);
	if (!ret)
		d->stale_from = d->slots;
	return ret;
}

/*
 * Take @count slots at @first. Past the end marker (a zero first byte, all
 * free after it), readers differ: rpifs stops there, Linux and fsck.fat
 * read on. So an entry there must not leave the end marker before it, and
 * both must change in one sector write: the slots from the end marker to
 * the entry, and from the entry to the end of its sector, become deleted
 * entries, which keeps the end marker on a sector boundary. A directory
 * written by someone else may have it inside a sector an entry does not
 * fit in: then those slots are marked first, and flushed.
 */
static int take_slots(struct fat_vol *vol, struct fat_node *dir, uint32_t first,
		      uint32_t count)
{
	struct fat_dir *d = dir->dir;
	uint32_t sector = first - first % DIR_SECTOR_SLOTS;
	uint32_t stop = first + count, lo, hi, end = 0;
	int ret;

	while (end < d->slots &&
	       d->raw[(size_t)end * DIRENT_SIZE] != DIRENT_END)
		end++;
	if (stop <= end)
		return 0; /* all before the end marker */
	if (end < sector) {
		/* Another sector: its free slots marked, and flushed, first. */
		for (uint32_t s = end; s < sector; s++)
			d->raw[(size_t)s * DIRENT_SIZE] = DIRENT_FREE;
		fat_dir_mark_dirty(vol, dir, end * DIRENT_SIZE,
				   (sector - end) * DIRENT_SIZE);
		ret = fat_dir_flush_one(vol, dir);
		if (!ret)
			ret = fat_io_flush(vol);
		if (ret)
			return ret;
		end = sector;
	}
	lo = end < first ? end : first;
	hi = stop % DIR_SECTOR_SLOTS
		     ? stop - stop % DIR_SECTOR_SLOTS + DIR_SECTOR_SLOTS
		     : stop;
	if (hi > d->slots)
		hi = d->slots;
	for (uint32_t s = lo; s < hi; s++)
		if ((s < first || s >= stop) &&
		    d->raw[(size_t)s * DIRENT_SIZE] == DIRENT_END)
			d->raw[(size_t)s * DIRENT_SIZE] = DIRENT_FREE;
	fat_dir_mark_dirty(vol, dir, lo * DIRENT_SIZE, (hi - lo) * DIRENT_SIZE);
	return 0;
}

int fat_dir_alloc_slots(struct fat_vol *vol, struct fat_node *dir,
			uint32_t count, const struct fat_node *skip1,
			const struct fat_node *skip2, uint32_t try1,
			uint32_t try2, uint32_t *first)
{
	/*
	 * An entry inside one sector is written in one piece: a power cut
	 * cannot keep its long name and lose its 8.3 entry, or the reverse.
	 * Only names too long for a sector (over 195 characters) span two.
	 */
	bool whole = count <= DIR_SECTOR_SLOTS, found = false;
	const uint32_t tries[] = {try1, try2};
	uint32_t tail;
	int ret;

	for (int i = 0; i < 2 && !found && whole; i++) {
		uint32_t from = tries[i] - tries[i] % DIR_SECTOR_SLOTS;

		found = tries[i] != UINT32_MAX &&
			find_run_in(dir, count, skip1, skip2, true, from,
				    from + DIR_SECTOR_SLOTS, first, &tail);
	}
	if (!found &&
	    !find_run(dir, count, skip1, skip2, whole, first, &tail)) {
		/* A free run at the end may continue into the new clusters. */
		ret = grow(vol, dir, whole ? count : count - tail);
		/* A full fixed root: better split than refused. */
		if (ret == -ENOSPC && whole &&
		    find_run(dir, count, skip1, skip2, false, first, &tail))
			ret = 0;
		else if (!ret && !find_run(dir, count, skip1, skip2, whole,
					   first, &tail))
			ret = -ENOSPC;
		if (ret)
			return ret;
	}
	ret = take_slots(vol, dir, *first, count);
	if (!ret && *first + count > dir->dir->stale_from)
		ret = clear_stale(vol, dir);
	return ret;
}

/* Long name entry @seq (1-based) of the UTF-16 name @u of @n units. */
static void put_lfn(struct fat_lfn_disk *l, const uint16_t *u, int n, int seq,
		    bool last, uint8_t sum)
{
	le16_t *parts[3] = {l->name1, l->name2, l->name3};
	const int counts[3] = {5, 6, 2};
	int i = (seq - 1) * LFN_CHARS;

	memset(l, 0, sizeof(*l));
	l->order = (uint8_t)(seq | (last ? LFN_LAST : 0));
	l->attr = FAT_ATTR_LFN;
	l->checksum = sum;
	/* The name, its NUL if it fits, then 0xffff padding. */
	for (int p = 0; p < 3; p++)
		for (int k = 0; k < counts[p]; k++, i++)
			put_le16(&parts[p][k], i < n	? u[i]
					       : i == n ? 0x0000
							: 0xffff);
}

void fat_dir_add_entry(struct fat_vol *vol, struct fat_node *dir,
		       struct fat_node *node, const char *name, bool needs_lfn,
		       uint32_t first)
{
	struct fat_dir *d = dir->dir;
	uint32_t lfn = 0;

	if (needs_lfn) {
		uint16_t u[256];
		int n = fat_utf8_to_utf16(name, u, 255);
		uint8_t sum = fat_lfn_checksum(node->sfn);

		lfn = (uint32_t)((n + LFN_CHARS - 1) / LFN_CHARS);
		for (uint32_t i = 0; i < lfn; i++)
			put_lfn((struct fat_lfn_disk *)(d->raw +
							(size_t)(first + i) *
								DIRENT_SIZE),
				u, n, (int)(lfn - i), i == 0, sum);
	}
	node->parent = dir;
	node->slot = first + lfn;
	node->lfn_slots = (uint8_t)lfn;
	put_child(d, node);
	if (lfn)
		fat_dir_mark_dirty(vol, dir, first * DIRENT_SIZE,
				   lfn * DIRENT_SIZE);
	fat_dir_store_entry(vol, node);
	/*
	 * Past the old end marker the disk may hold stale entries that were
	 * zeroed only in memory: write the zeros so they stay dead.
	 */
	if (node->slot >= d->stale_from) {
		fat_dir_mark_dirty(vol, dir, d->stale_from * DIRENT_SIZE,
				   (d->slots - d->stale_from) * DIRENT_SIZE);
		d->stale_from = d->slots;
	}
}

void fat_dir_note_removed(struct fat_vol *vol, struct fat_node *dir,
			  const uint8_t sfn[11], const char *name,
			  uint32_t slot)
{
	struct fat_removed *r;

	/*
	 * Every create looks through the list: past 256, or out of memory,
	 * just remember that some name went, and the next create flushes.
	 */
	if (vol->removed_count >= 256 || vol->removed_unknown) {
		vol->removed_unknown = true;
		return;
	}
	if (vol->removed_count == vol->removed_cap) {
		uint32_t cap = vol->removed_cap ? vol->removed_cap * 2 : 8;
		struct fat_removed *bigger =
			realloc(vol->removed, cap * sizeof(*bigger));

		if (!bigger) {
			vol->removed_unknown = true;
			return;
		}
		vol->removed = bigger;
		vol->removed_cap = cap;
	}
	r = &vol->removed[vol->removed_count];
	r->dir = dir->serial;
	r->sector = slot / DIR_SECTOR_SLOTS;
	memcpy(r->sfn, sfn, sizeof(r->sfn));
	r->name = strdup(name ? name : "");
	if (r->name)
		vol->removed_count++;
	else
		vol->removed_unknown = true;
}

bool fat_dir_name_in_flight(struct fat_vol *vol, struct fat_node *dir,
			    const uint8_t sfn[11], const char *name,
			    uint32_t slot)
{
	if (vol->removed_unknown)
		return true;
	for (uint32_t i = 0; i < vol->removed_count; i++) {
		const struct fat_removed *r = &vol->removed[i];

		if (r->dir == dir->serial &&
		    r->sector != slot / DIR_SECTOR_SLOTS &&
		    (memcmp(r->sfn, sfn, sizeof(r->sfn)) == 0 ||
		     fat_name_equal(r->name, name)))
			return true;
	}
	return false;
}

void fat_dir_removed_clear(struct fat_vol *vol)
{
	for (uint32_t i = 0; i < vol->removed_count; i++)
		free(vol->removed[i].name);
	vol->removed_count = 0;
	vol->removed_unknown = false;
}

void fat_dir_remove_entry(struct fat_vol *vol, struct fat_node *node)
{
	struct fat_node *dir = node->parent;
	struct fat_dir *d = dir->dir;
	uint32_t first = node->slot - node->lfn_slots;

	fat_dir_note_removed(vol, dir, node->sfn, node->name, node->slot);

	for (uint32_t s = first; s <= node->slot; s++)
		d->raw[(size_t)s * DIRENT_SIZE] = DIRENT_FREE;
	fat_dir_mark_dirty(vol, dir, first * DIRENT_SIZE,
			   (node->lfn_slots + 1u) * DIRENT_SIZE);
	fat_dir_drop_child(d, node);
	node->parent = NULL;
}
