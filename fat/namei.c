// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The namespace: create, mkdir, unlink, rmdir, rename, and setting times
 * and attributes. Writes are ordered so that a process killed, or the power
 * cut, at any point leaves at most lost clusters: a new directory's cluster
 * is written and the FAT marks it, then (flushed) the entry that points to
 * it; an entry is removed before its clusters are freed.
 */
#include "fat_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A directory's contents changed: its mtime, stored in its own entry. */
static void touch_dir(struct fat_vol *vol, struct fat_node *dir)
{
	if (dir->is_root || !dir->parent)
		return;
	fat_now(&dir->mdate, &dir->mtime, NULL);
	dir->adate = dir->mdate;
	fat_touch_ctime(dir);
	fat_dir_store_entry(vol, dir);
}

/* The directory must be a live, loaded directory we may write. */
static int prepare_dir(struct fat_vol *vol, struct fat_node *dir)
{
	int ret = fat_check_writable(vol);

	if (ret)
		return ret;
	if (!(dir->attr & FAT_ATTR_DIR))
		return -ENOTDIR;
	if (dir->unlinked)
		return -ENOENT;
	return fat_dir_load(vol, dir);
}

/* The cluster that ".." of a child of @dir names (0 for the root). */
static uint32_t dotdot_cluster(const struct fat_node *dir)
{
	return dir->is_root ? 0 : dir->first_cluster;
}

/* A new directory's first cluster: "." and "..", the rest zeros. */
static int make_dir_cluster(struct fat_vol *vol, struct fat_node *parent,
			    struct fat_node *node)
{
	uint32_t cs = vol->bpb.cluster_size, first, got;
	struct fat_dirent_disk dots[2];
	int ret;

	ret = fat_alloc_chain(vol, 0, 1, &first, &got);
	if (ret)
		return ret;
	memset(dots, 0, sizeof(dots));
	for (int i = 0; i < 2; i++) {
		uint32_t start = i == 0 ? first : dotdot_cluster(parent);

		memcpy(dots[i].name, i == 0 ? ".          " : "..         ",
		       11);
		dots[i].attr = FAT_ATTR_DIR;
		put_le16(&dots[i].ctime, node->ctime);
		put_le16(&dots[i].cdate, node->cdate);
		dots[i].ctime_cs = node->ctime_cs;
		put_le16(&dots[i].adate, node->adate);
		put_le16(&dots[i].mtime, node->mtime);
		put_le16(&dots[i].mdate, node->mdate);
		put_le16(&dots[i].start_lo, (uint16_t)start);
		if (vol->bpb.type == FAT32)
			put_le16(&dots[i].start_hi, (uint16_t)(start >> 16));
	}
	ret = fat_io_write(vol, fat_cluster_offset(vol, first), dots,
			   sizeof(dots));
	if (!ret)
		ret = fat_io_zero(vol,
				  fat_cluster_offset(vol, first) + sizeof(dots),
				  cs - sizeof(dots));
	if (!ret)
		ret = fat_table_flush(vol);
	/*
	 * Flushed before the entry that points to it is written: a power cut
	 * may keep a later write and lose an earlier one, and an entry that
	 * reached the disk without its cluster would list whatever the
	 * cluster held before. Now the worst is a lost cluster.
	 */
	if (!ret)
		ret = fat_io_flush(vol);
	if (ret) {
		fat_free_chain(vol, first);
		return ret;
	}
	node->first_cluster = first;
	return 0;
}

int fat_create(struct fat_vol *vol, struct fat_node *dir, const char *name,
	       uint8_t attr, struct fat_node **nodep)
{
	fat_trace_call(attr & FAT_ATTR_DIR ? "mkdir" : "create", dir, name,
		       NULL, NULL);
	return fat_create_entry(vol, dir, name, attr, FAT_CLUSTER_FREE, 0,
				nodep);
}

int fat_create_entry(struct fat_vol *vol, struct fat_node *dir,
		     const char *name, uint8_t attr, uint32_t first_cluster,
		     uint32_t size, struct fat_node **nodep)
{
	struct fat_node *node = NULL;
	uint32_t first_slot, count;
	bool needs_lfn;
	int ret;

	*nodep = NULL;
	ret = prepare_dir(vol, dir);
	if (ret)
		return ret;
	ret = fat_name_check(name);
	if (ret)
		return ret;
	if (fat_dir_find(dir, name))
		return -EEXIST;

	node = fat_node_new(vol);
	if (!node)
		return -ENOMEM;
	node->name = strdup(name);
	if (!node->name) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = fat_sfn_make(dir, name, node->sfn, &node->lcase, &needs_lfn, NULL,
			   NULL);
	if (ret)
		goto fail;
	node->attr = (attr & FAT_ATTR_DIR) ? FAT_ATTR_DIR
					   : (uint8_t)(attr | FAT_ATTR_ARCHIVE);
	fat_now(&node->cdate, &node->ctime, &node->ctime_cs);
	node->mdate = node->adate = node->cdate;
	node->mtime = node->ctime;
	node->first_cluster = first_cluster;
	node->size = size;
	node->map.valid = first_cluster == FAT_CLUSTER_FREE;

	count = fat_dir_slots_for(name, needs_lfn);
	ret = fat_dir_alloc_slots(vol, dir, count, NULL, NULL, UINT32_MAX,
				  UINT32_MAX, &first_slot);
	if (!ret && fat_dir_name_in_flight(vol, dir, node->sfn, name,
					   first_slot + count - 1))
		ret = fat_io_flush(vol);
	if (ret)
		goto fail;
	if (attr & FAT_ATTR_DIR) {
		ret = make_dir_cluster(vol, dir, node);
		if (ret)
			goto fail;
		node->map.valid = false;
	}
	fat_dir_add_entry(vol, dir, node, name, needs_lfn, first_slot);
	touch_dir(vol, dir);
	ret = fat_dir_flush(vol);
	node->refs = 1;
	*nodep = node;
	return ret;
fail:
	fat_node_free(vol, node);
	return ret;
}

/*
 * Forget an entry that is gone from disk; free its clusters if unused,
 * once the removal is durable.
 */
static int drop_node(struct fat_vol *vol, struct fat_node *node)
{
	int ret = 0;

	node->unlinked = true;
	if (node->refs > 0)
		return 0; /* freed by the last fat_node_put() */
	if (node->first_cluster != FAT_CLUSTER_FREE)
		ret = fat_free_chain_later(vol, node->first_cluster);
	fat_node_free(vol, node);
	return ret;
}

static int remove_entry(struct fat_vol *vol, struct fat_node *dir,
			const char *name, bool want_dir)
{
	struct fat_node *node;
	int ret = prepare_dir(vol, dir);

	if (ret)
		return ret;
	fat_trace_call(want_dir ? "rmdir" : "unlink", dir, name, NULL, NULL);
	node = fat_dir_find(dir, name);
	if (!node)
		return -ENOENT;
	if (want_dir) {
		if (!(node->attr & FAT_ATTR_DIR))
			return -ENOTDIR;
		ret = fat_dir_load(vol, node);
		if (ret)
			return ret;
		if (node->dir->entries > 0)
			return -ENOTEMPTY;
	} else if (node->attr & FAT_ATTR_DIR) {
		return -EISDIR;
	}
	fat_dir_remove_entry(vol, node);
	touch_dir(vol, dir);
	ret = fat_dir_flush(vol);
	if (ret)
		return ret;
	return drop_node(vol, node);
}

int fat_unlink(struct fat_vol *vol, struct fat_node *dir, const char *name)
{
	return remove_entry(vol, dir, name, false);
}

int fat_rmdir(struct fat_vol *vol, struct fat_node *dir, const char *name)
{
	return remove_entry(vol, dir, name, true);
}

/* Whether @dir is @node or inside it. */
static bool is_within(const struct fat_node *dir, const struct fat_node *node)
{
	for (const struct fat_node *d = dir; d; d = d->parent)
		if (d == node)
			return true;
	return false;
}

/*
 * Take @node out of @dir's children, its slots left as they are on disk
 * for now (a rename writes the new entry first, then free_slots()).
 */
static void forget_entry(struct fat_node *dir, struct fat_node *node)
{
	fat_dir_drop_child(dir->dir, node);
	node->parent = NULL;
}

/* Mark slots [@first, @last] of @dir deleted. */
static void free_slots(struct fat_vol *vol, struct fat_node *dir,
		       uint32_t first, uint32_t last)
{
	for (uint32_t s = first; s <= last; s++)
		dir->dir->raw[(size_t)s * DIRENT_SIZE] = DIRENT_FREE;
	fat_dir_mark_dirty(vol, dir, first * DIRENT_SIZE,
			   (last - first + 1) * DIRENT_SIZE);
}

/* Point a moved directory's ".." at its new parent. */
static int set_dotdot(struct fat_vol *vol, struct fat_node *node,
		      struct fat_node *parent)
{
	struct fat_dirent_disk *de;
	uint32_t start = dotdot_cluster(parent);
	int ret = fat_dir_load(vol, node);

	if (ret)
		return ret;
	if (node->dir->slots < 2)
		return 0;
	de = (void *)(node->dir->raw + DIRENT_SIZE);
	if (memcmp(de->name, "..         ", 11) != 0)
		return 0; /* no ".." to fix */
	put_le16(&de->start_lo, (uint16_t)start);
	if (vol->bpb.type == FAT32)
		put_le16(&de->start_hi, (uint16_t)(start >> 16));
	fat_dir_mark_dirty(vol, node, DIRENT_SIZE, DIRENT_SIZE);
	return 0;
}

/* One rename, as its steps see it. */
struct rename_op {
	struct fat_node *old_dir, *new_dir;
	const char *new_name;
	struct fat_node *node;	 /* the entry renamed */
	struct fat_node *target; /* the entry it replaces, or NULL */
	uint8_t sfn[11], lcase;
	bool needs_lfn;
	uint32_t first_slot, count; /* the new entry's slots */
	uint32_t old_first;	    /* the old entry's first slot */
};

/*
 * Find the entry and the one it replaces, and refuse what rename(2)
 * refuses. 1: nothing to do (the same name).
 */
static int rename_lookup(struct fat_vol *vol, struct rename_op *op,
			 const char *old_name, unsigned flags)
{
	struct fat_node *node, *target;
	bool is_dir;
	int ret;

	node = fat_dir_find(op->old_dir, old_name);
	if (!node)
		return -ENOENT;
	ret = fat_name_check(op->new_name);
	if (ret)
		return ret;
	is_dir = node->attr & FAT_ATTR_DIR;
	if (is_dir && is_within(op->new_dir, node))
		return -EINVAL;
	if (is_dir && op->old_dir != op->new_dir) {
		/* Its ".." changes: have it in memory before changing anything.
		 */
		ret = fat_dir_load(vol, node);
		if (ret)
			return ret;
	}
	target = fat_dir_find(op->new_dir, op->new_name);
	if (target == node) {
		/* The same entry: only a change of case or of alias. */
		if (strcmp(node->name, op->new_name) == 0)
			return 1;
		target = NULL;
	}
	if (target) {
		if (flags & FAT_RENAME_NOREPLACE)
			return -EEXIST;
		if ((target->attr & FAT_ATTR_DIR) && !is_dir)
			return -EISDIR;
		if (!(target->attr & FAT_ATTR_DIR) && is_dir)
			return -ENOTDIR;
		if (target->attr & FAT_ATTR_DIR) {
			ret = fat_dir_load(vol, target);
			if (ret)
				return ret;
			if (target->dir->entries > 0)
				return -ENOTEMPTY;
		}
	}
	op->node = node;
	op->target = target;
	return 0;
}

/*
 * The new entry's 8.3 name and slots; the source's and the target's
 * slots and 8.3 names count as free. The new entry goes, when it fits,
 * in the sector of the old one: one sector write then renames the file,
 * whatever a power cut keeps. Else in the sector of the entry it
 * replaces.
 */
static int rename_place(struct fat_vol *vol, struct rename_op *op)
{
	struct fat_node *node = op->node, *target = op->target;
	int ret;

	ret = fat_sfn_make(op->new_dir, op->new_name, op->sfn, &op->lcase,
			   &op->needs_lfn, node, target);
	if (ret)
		return ret;
	op->count = fat_dir_slots_for(op->new_name, op->needs_lfn);
	op->old_first = node->slot - node->lfn_slots;
	return fat_dir_alloc_slots(
		vol, op->new_dir, op->count, node, target,
		op->old_dir == op->new_dir ? op->old_first : UINT32_MAX,
		target ? target->slot - target->lfn_slots : UINT32_MAX,
		&op->first_slot);
}

static bool in_sector(uint32_t first, uint32_t last, uint32_t sector)
{
	return first / DIR_SECTOR_SLOTS == sector &&
	       last / DIR_SECTOR_SLOTS == sector;
}

/*
 * The target's entry goes; on its own step (written and flushed) unless
 * the new entry's sector holds it whole.
 */
static int rename_drop_target(struct fat_vol *vol, const struct rename_op *op,
			      bool new_whole)
{
	struct fat_node *target = op->target;
	uint32_t t_first = target->slot - target->lfn_slots;
	int ret;

	fat_dir_remove_entry(vol, target);
	if (new_whole &&
	    in_sector(t_first, target->slot, op->first_slot / DIR_SECTOR_SLOTS))
		return 0;
	ret = fat_dir_write_sectors(vol, op->new_dir, t_first,
				    target->lfn_slots + 1u);
	return ret ? ret : fat_io_flush(vol);
}

/*
 * The writes, each a whole sector, in steps flushed between, each step
 * leaving the file system consistent. In the usual case (old entry, new
 * entry and target in one sector) there is one step: the rename is
 * atomic. Else: first the target goes (a power cut keeps the file under
 * its old name; the target's clusters are lost); then the new entry is
 * written; then, if it was elsewhere, the old entry goes (a power cut
 * between keeps the file under both names, which fsck.fat resolves). The
 * directory buffers change in the same order, so that a sector written
 * early holds nothing of a later step. Takes @name (the new name, owned).
 */
static int rename_write(struct fat_vol *vol, struct rename_op *op, char *name)
{
	struct fat_node *node = op->node;
	struct fat_node *old_dir = op->old_dir, *new_dir = op->new_dir;
	uint32_t new_sector = op->first_slot / DIR_SECTOR_SLOTS;
	uint32_t old_slot = node->slot, old_count = node->lfn_slots + 1u;
	bool new_whole, together;
	uint8_t prev_sfn[11];
	char *prev_name = NULL;
	int ret = 0;

	new_whole = op->first_slot % DIR_SECTOR_SLOTS + op->count <=
		    DIR_SECTOR_SLOTS;
	if (op->target) {
		ret = rename_drop_target(vol, op, new_whole);
		if (ret) {
			free(name);
			return ret;
		}
	}
	/*
	 * The old entry goes with the new one if they share the sector (or
	 * the new one's slots overlap it).
	 */
	together = old_dir == new_dir &&
		   ((new_whole &&
		     in_sector(op->old_first, old_slot, new_sector)) ||
		    (op->first_slot < op->old_first + old_count &&
		     op->old_first < op->first_slot + op->count));
	if (together) {
		fat_dir_remove_entry(vol, node);
		free(node->name);
	} else {
		forget_entry(old_dir, node);
		memcpy(prev_sfn, node->sfn, sizeof(prev_sfn));
		prev_name = node->name;
	}
	memcpy(node->sfn, op->sfn, 11);
	node->lcase = op->lcase;
	node->name = name;
	fat_dir_add_entry(vol, new_dir, node, op->new_name, op->needs_lfn,
			  op->first_slot);
	if ((node->attr & FAT_ATTR_DIR) && old_dir != new_dir) {
		ret = set_dotdot(vol, node, new_dir);
		if (ret)
			goto out;
	}
	touch_dir(vol, old_dir);
	if (new_dir != old_dir)
		touch_dir(vol, new_dir);
	ret = fat_dir_write_sectors(vol, new_dir, op->first_slot, op->count);
	if (!ret && !together) {
		ret = fat_io_flush(vol);
		if (!ret) {
			fat_dir_note_removed(vol, old_dir, prev_sfn, prev_name,
					     old_slot);
			free_slots(vol, old_dir, op->old_first, old_slot);
		}
	}
	/* The rest: the old entry if elsewhere, "..", the times. */
	if (!ret)
		ret = fat_dir_flush(vol);
	if (!ret && op->target)
		ret = drop_node(vol, op->target);
out:
	free(prev_name);
	return ret;
}

int fat_rename(struct fat_vol *vol, struct fat_node *old_dir,
	       const char *old_name, struct fat_node *new_dir,
	       const char *new_name, unsigned flags)
{
	struct rename_op op = {
		.old_dir = old_dir, .new_dir = new_dir, .new_name = new_name};
	char *name;
	int ret;

	ret = prepare_dir(vol, old_dir);
	if (!ret)
		ret = prepare_dir(vol, new_dir);
	if (ret)
		return ret;
	fat_trace_call("rename", old_dir, old_name, new_dir, new_name);
	/* Everything that can fail comes before the first change. */
	ret = rename_lookup(vol, &op, old_name, flags);
	if (ret)
		return ret > 0 ? 0 : ret;
	ret = rename_place(vol, &op);
	if (ret)
		return ret;
	name = strdup(new_name);
	if (!name)
		return -ENOMEM;
	if (fat_dir_name_in_flight(vol, new_dir, op.sfn, new_name,
				   op.first_slot + op.count - 1)) {
		ret = fat_io_flush(vol);
		if (ret) {
			free(name);
			return ret;
		}
	}
	return rename_write(vol, &op, name);
}

int fat_set_times(struct fat_vol *vol, struct fat_node *node,
		  const struct timespec *atime, const struct timespec *mtime)
{
	int ret = fat_check_writable(vol);

	if (ret)
		return ret;
	if (node->is_root)
		return 0; /* the root has no entry to hold times */
	fat_trace_call("utimens", node, NULL, NULL, NULL);
	if (mtime)
		fat_time_from_timespec(mtime, &node->mdate, &node->mtime, NULL);
	if (atime) {
		uint16_t unused;

		fat_time_from_timespec(atime, &node->adate, &unused, NULL);
	}
	fat_touch_ctime(node);
	fat_dir_store_entry(vol, node);
	return fat_dir_flush(vol);
}

int fat_set_attr(struct fat_vol *vol, struct fat_node *node, uint8_t attr,
		 uint8_t mask)
{
	int ret = fat_check_writable(vol);

	if (ret)
		return ret;
	if (node->is_root)
		return 0;
	fat_trace_call("chattr", node, NULL, NULL, NULL);
	mask &= FAT_ATTR_RO | FAT_ATTR_HIDDEN | FAT_ATTR_SYSTEM |
		FAT_ATTR_ARCHIVE;
	node->attr = (uint8_t)((node->attr & ~mask) | (attr & mask));
	fat_touch_ctime(node);
	fat_dir_store_entry(vol, node);
	return fat_dir_flush(vol);
}

int fat_fsync(struct fat_vol *vol, struct fat_node *node)
{
	(void)node;
	return fat_sync(vol);
}
