// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The volume: mount (boot sector, FSInfo, root directory), the dirty flag
 * that marks a mounted read-write volume as Linux does, sync, statfs facts,
 * and unmount.
 */
#include "fat_internal.h"
#include "../common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void read_fsinfo(struct fat_vol *vol)
{
	struct fat_fsinfo_disk fsi;
	uint32_t free_count, next_free;

	vol->next_free = FAT_CLUSTER_FIRST;
	if (vol->bpb.type != FAT32 || vol->bpb.fsinfo_sector == 0)
		return;
	if (fat_io_read(vol,
			(uint64_t)vol->bpb.fsinfo_sector * vol->bpb.sector_size,
			&fsi, sizeof(fsi)))
		return;
	if (get_le32(fsi.lead_signature) != FSINFO_LEAD ||
	    get_le32(fsi.struct_signature) != FSINFO_STRUCT) {
		vol->bpb.fsinfo_sector = 0; /* not an FSInfo: never write it */
		return;
	}
	free_count = get_le32(fsi.free_count);
	next_free = get_le32(fsi.next_free);
	/* Trust the free count only when it is plausible. */
	if (free_count <= vol->bpb.cluster_count) {
		vol->free_count = free_count;
		vol->free_known = true;
	}
	if (next_free >= FAT_CLUSTER_FIRST &&
	    next_free < vol->bpb.cluster_count + FAT_CLUSTER_FIRST)
		vol->next_free = next_free;
}

int fat_fsinfo_write(struct fat_vol *vol)
{
	struct fat_fsinfo_disk fsi;
	uint64_t off;
	int ret;

	if (!vol->fsinfo_dirty || vol->bpb.fsinfo_sector == 0)
		return 0;
	off = (uint64_t)vol->bpb.fsinfo_sector * vol->bpb.sector_size;
	ret = fat_io_read(vol, off, &fsi, sizeof(fsi));
	if (ret)
		return ret;
	put_le32(&fsi.free_count,
		 vol->free_known ? vol->free_count : FSINFO_UNKNOWN);
	put_le32(&fsi.next_free, vol->next_free);
	ret = fat_io_write(vol, off, &fsi, sizeof(fsi));
	if (!ret)
		vol->fsinfo_dirty = false;
	return ret;
}

int fat_set_dirty_flag(struct fat_vol *vol, bool dirty)
{
	uint8_t state = vol->bpb.state;
	int ret;

	state = dirty ? state | FAT_STATE_DIRTY : state & ~FAT_STATE_DIRTY;
	vol->dirty_flag_due = false;
	ret = fat_io_write(vol, vol->bpb.state_offset, &state, 1);
	if (ret)
		return ret;
	vol->bpb.state = state;
	vol->dirty_flag_set = dirty;
	return 0;
}

static int mount_root(struct fat_vol *vol)
{
	struct fat_node *root = fat_node_new(vol);

	if (!root)
		return -ENOMEM;
	root->name = strdup("");
	if (!root->name)
		return -ENOMEM;
	root->is_root = true;
	root->attr = FAT_ATTR_DIR;
	root->first_cluster =
		vol->bpb.type == FAT32 ? vol->bpb.root_cluster : 0;
	root->refs = 1; /* the volume's own */
	memcpy(root->sfn, "/          ", 11);
	vol->root = root;
	return fat_dir_load(vol, root);
}

static void free_all_nodes(struct fat_vol *vol)
{
	while (vol->all_nodes)
		fat_node_free(vol, vol->all_nodes);
	vol->root = NULL;
	vol->dirty_dirs = NULL;
	fat_dir_removed_clear(vol);
	free(vol->removed);
	vol->removed = NULL;
	vol->removed_cap = 0;
}

int fat_mount(struct fat_vol **volp, const struct fat_window *win,
	      unsigned flags, char *err, size_t err_size)
{
	struct fat_boot_disk bs;
	struct fat_vol *vol;
	char why[256] = "";
	int ret;

	*volp = NULL;
	if (err && err_size)
		err[0] = '\0';
	vol = calloc(1, sizeof(*vol));
	if (!vol)
		return -ENOMEM;
	vol->win = *win;
	vol->read_only = true; /* until the checks pass */
	if (win->size < sizeof(bs)) {
		snprintf(why, sizeof(why), "the partition is only %llu bytes",
			 (unsigned long long)win->size);
		ret = -EINVAL;
		goto fail;
	}
	ret = fat_io_read(vol, 0, &bs, sizeof(bs));
	if (ret) {
		snprintf(why, sizeof(why), "cannot read the boot sector: %s",
			 strerror(-ret));
		goto fail;
	}
	ret = fat_bpb_decode(&bs, win->size, &vol->bpb, why, sizeof(why));
	if (ret)
		goto fail;
	ret = fat_table_init(vol);
	if (ret)
		goto fail;
	read_fsinfo(vol);
	vol->was_dirty = vol->bpb.state & FAT_STATE_DIRTY;

	vol->mounting = true;
	ret = mount_root(vol);
	vol->mounting = false;
	if (ret) {
		if (ret == -EUCLEAN)
			snprintf(why, sizeof(why),
				 "the root directory is damaged: %.200s",
				 vol->damage[0] ? vol->damage : "unreadable");
		else
			snprintf(why, sizeof(why),
				 "cannot read the root directory: %s",
				 strerror(-ret));
		goto fail;
	}
	if (!vol->label[0])
		memcpy(vol->label, vol->bpb.label, sizeof(vol->label));

	vol->read_only = flags & FAT_MOUNT_RDONLY;
	fat_io_note_image(vol);
	if (!vol->read_only && fat_io_reserve_metadata(vol) == -ENOSPC) {
		snprintf(why, sizeof(why),
			 "the disk holding the image is full (its FAT needs "
			 "%llu KiB allocated); free some space, or mount "
			 "read-only",
			 (unsigned long long)(vol->bpb.data_offset / 1024));
		ret = -ENOSPC;
		goto fail;
	}
	/*
	 * The dirty flag goes on just before the first write, not here: a
	 * mount that only reads (or meets damage before writing) leaves the
	 * image exactly as it was.
	 */
	vol->dirty_flag_due = !vol->read_only;
	*volp = vol;
	return 0;
fail:
	if (err && err_size)
		snprintf(err, err_size, "%s", why[0] ? why : strerror(-ret));
	free_all_nodes(vol);
	fat_table_free(vol);
	free(vol);
	return ret;
}

/* The FAT and FSInfo written, then made durable. */
static int flush_tables(struct fat_vol *vol)
{
	int ret = fat_table_flush(vol);

	if (!ret)
		ret = fat_fsinfo_write(vol);
	if (!ret)
		ret = fat_io_flush(vol);
	return ret;
}

int fat_sync(struct fat_vol *vol)
{
	int ret;

	if (fat_check_writable(vol))
		return 0;
	fat_trace_call("sync", NULL, NULL, NULL, NULL);
	ret = fat_dir_flush(vol);
	if (!ret)
		ret = flush_tables(vol);
	if (ret || vol->fat.pending_count == 0)
		return ret;
	/*
	 * The removals are durable now: free what they released, and flush
	 * that too (a clean unmount must not leave lost clusters behind).
	 */
	ret = fat_free_pending(vol);
	return ret ? ret : flush_tables(vol);
}

/*
 * Leave the volume clean for the next user (a guest, or nobody): what
 * fat_fallocate kept past files' ends given back, everything flushed, then
 * the dirty flag cleared, only if everything before it reached the image.
 */
static int leave_clean(struct fat_vol *vol, const char *why)
{
	int ret = fat_trim_prealloc(vol);

	(void)why; /* for the write trace only */
	if (!ret)
		ret = fat_sync(vol);
	fat_trace_call(why, NULL, NULL, NULL, NULL);
	if (!ret && vol->dirty_flag_set) {
		ret = fat_set_dirty_flag(vol, false);
		if (!ret)
			ret = fat_io_flush(vol);
	}
	return ret;
}

int fat_freeze(struct fat_vol *vol)
{
	int ret = 0;

	if (!vol->read_only && !vol->damaged)
		ret = leave_clean(vol, "freeze");
	vol->read_only = true;
	return ret;
}

int fat_unmount(struct fat_vol *vol)
{
	int ret = 0;

	if (!vol)
		return 0;
	if (!vol->read_only && !vol->damaged)
		ret = leave_clean(vol, "unmount");
	free_all_nodes(vol);
	fat_table_free(vol);
	free(vol);
	return ret;
}

uint32_t fat_cluster_size(const struct fat_vol *vol)
{
	return vol->bpb.cluster_size;
}

bool fat_is_read_only(const struct fat_vol *vol)
{
	return vol->read_only || vol->damaged;
}

int fat_get_info(struct fat_vol *vol, struct fat_info *info)
{
	int ret = 0;

	memset(info, 0, sizeof(*info));
	if (!vol->free_known) {
		ret = fat_count_free(vol, &vol->free_count);
		vol->free_known = ret == 0;
	}
	info->type = vol->bpb.type;
	info->sector_size = vol->bpb.sector_size;
	info->cluster_size = vol->bpb.cluster_size;
	info->cluster_count = vol->bpb.cluster_count;
	/* Chains waiting for a flush are free for the asking (fatent.c). */
	info->free_clusters = (vol->free_known ? vol->free_count : 0) +
			      vol->fat.pending_clusters;
	info->volume_id = vol->bpb.volume_id;
	memcpy(info->label, vol->label, sizeof(info->label));
	info->read_only = vol->read_only;
	info->damaged = vol->damaged;
	info->was_dirty = vol->was_dirty;
	return ret;
}
