// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The boot sector: decode the BIOS parameter block once into struct fat_bpb
 * and check every field against the others and against the window, so the
 * rest of fat/ can trust the geometry.
 */
#include "fat_internal.h"
#include "../common/errmsg.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool is_power_of_two(uint64_t v)
{
	return v && !(v & (v - 1));
}

static void copy_label(char out[12], const uint8_t in[11])
{
	int len = 11;

	memcpy(out, in, 11);
	while (len > 0 && (out[len - 1] == ' ' || out[len - 1] == '\0'))
		len--;
	out[len] = '\0';
	for (int i = 0; i < len; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = '?';
}

/* Sector and cluster sizes, reserved sectors, FAT copies, media. */
static int decode_geometry(const struct fat_boot_disk *bs, struct fat_bpb *bpb,
			   char *why, size_t why_size)
{
	/* The jump instruction is the cheapest sign this is a boot sector. */
	if (bs->jump[0] != 0xeb && bs->jump[0] != 0xe9)
		return err_set(why, why_size, -EINVAL,
			       "no FAT boot sector (first byte 0x%02x)",
			       bs->jump[0]);
	bpb->sector_size = get_le16(bs->bytes_per_sector);
	if (!is_power_of_two(bpb->sector_size) || bpb->sector_size < 512 ||
	    bpb->sector_size > 4096)
		return err_set(
			why, why_size, -EINVAL,
			"bytes per sector is %u, not 512, 1024, 2048 or 4096",
			bpb->sector_size);
	bpb->sectors_per_cluster = bs->sectors_per_cluster;
	if (!is_power_of_two(bpb->sectors_per_cluster))
		return err_set(why, why_size, -EINVAL,
			       "sectors per cluster is %u, not a power of two",
			       bpb->sectors_per_cluster);
	bpb->cluster_size = bpb->sector_size * bpb->sectors_per_cluster;
	if (bpb->cluster_size > 256 * 1024)
		return err_set(why, why_size, -EUCLEAN,
			       "cluster size %u is over 256 KiB",
			       bpb->cluster_size);
	bpb->reserved_sectors = get_le16(bs->reserved_sectors);
	if (bpb->reserved_sectors == 0)
		return err_set(
			why, why_size, -EUCLEAN,
			"no reserved sectors: the boot sector itself is one");
	bpb->fat_count = bs->fat_count;
	if (bpb->fat_count == 0 || bpb->fat_count > 4)
		return err_set(why, why_size, -EUCLEAN,
			       "%u FAT copies (1 to 4 expected)",
			       bpb->fat_count);
	bpb->media = bs->media;
	if (bpb->media != 0xf0 && bpb->media < 0xf8)
		return err_set(why, why_size, -EUCLEAN,
			       "media byte 0x%02x is not a FAT media type",
			       bpb->media);
	return 0;
}

/*
 * The volume's size, the FAT's size and whether it is FAT32. The layout
 * decides FAT32, as Linux and dosfstools do: a BPB with no 16-bit FAT size
 * is FAT32 even when mkfs.fat -F 32 gave it fewer clusters than the
 * specification's minimum. FAT12 or FAT16 is decided later, by the
 * cluster count, as the specification says.
 */
static int decode_sizes(const struct fat_boot_disk *bs, uint64_t window_size,
			struct fat_bpb *bpb, char *why, size_t why_size)
{
	uint64_t total16 = get_le16(bs->total_sectors16);
	uint64_t total32 = get_le32(bs->total_sectors32);
	uint64_t fat16 = get_le16(bs->fat_size16);
	uint64_t fat32 = get_le32(bs->ext.fat32.fat_size32);

	bpb->total_sectors = total16 ? total16 : total32;
	if (bpb->total_sectors == 0)
		return err_set(why, why_size, -EUCLEAN, "total sectors is 0");
	if (bpb->total_sectors * bpb->sector_size > window_size)
		return err_set(why, why_size, -EUCLEAN,
			       "the file system claims %llu bytes but its "
			       "partition holds %llu",
			       (unsigned long long)(bpb->total_sectors *
						    bpb->sector_size),
			       (unsigned long long)window_size);
	bpb->root_entries = get_le16(bs->root_entries);
	if (fat16 != 0) {
		if (bpb->root_entries == 0)
			return err_set(why, why_size, -EUCLEAN,
				       "a FAT12/16 boot sector with no root "
				       "directory entries");
		bpb->fat_sectors = (uint32_t)fat16;
		return 0;
	}
	if (fat32 == 0)
		return err_set(why, why_size, -EUCLEAN, "the FAT size is 0");
	if (bpb->root_entries != 0)
		return err_set(why, why_size, -EUCLEAN,
			       "a FAT32 boot sector with %u root entries",
			       bpb->root_entries);
	if (get_le16(bs->ext.fat32.version) != 0)
		return err_set(why, why_size, -EUCLEAN,
			       "FAT32 version %u is unknown",
			       get_le16(bs->ext.fat32.version));
	bpb->type = FAT32;
	bpb->fat_sectors = (uint32_t)fat32;
	return 0;
}

/* Where the FATs, the root directory and the data are; how many clusters. */
static int decode_layout(struct fat_bpb *bpb, char *why, size_t why_size)
{
	uint64_t root_sectors, fat_region, meta_sectors, data_sectors, needed;

	root_sectors = ((uint64_t)bpb->root_entries * DIRENT_SIZE +
			bpb->sector_size - 1) /
		       bpb->sector_size;
	fat_region = (uint64_t)bpb->fat_count * bpb->fat_sectors;
	meta_sectors = bpb->reserved_sectors + fat_region + root_sectors;
	if (meta_sectors >= bpb->total_sectors)
		return err_set(why, why_size, -EUCLEAN,
			       "reserved sectors, FATs and root directory "
			       "(%llu sectors) fill the whole volume (%llu)",
			       (unsigned long long)meta_sectors,
			       (unsigned long long)bpb->total_sectors);
	data_sectors = bpb->total_sectors - meta_sectors;
	if (data_sectors / bpb->sectors_per_cluster > 0x0ffffff5u)
		return err_set(why, why_size, -EUCLEAN, "too many clusters");
	bpb->cluster_count =
		(uint32_t)(data_sectors / bpb->sectors_per_cluster);
	if (bpb->cluster_count == 0)
		return err_set(why, why_size, -EUCLEAN, "no data clusters");
	if (bpb->type != FAT32) {
		if (bpb->cluster_count < 4085)
			bpb->type = FAT12;
		else if (bpb->cluster_count < 65525)
			bpb->type = FAT16;
		else
			return err_set(why, why_size, -EUCLEAN,
				       "%u clusters is too many for FAT16 and "
				       "the boot sector is not FAT32",
				       bpb->cluster_count);
	}
	needed = ((uint64_t)bpb->cluster_count + 2) * bpb->type / 8 +
		 (bpb->type == FAT12);
	bpb->fat_bytes = (uint64_t)bpb->fat_sectors * bpb->sector_size;
	if (needed > bpb->fat_bytes)
		return err_set(
			why, why_size, -EUCLEAN,
			"the FAT (%llu bytes) is too small for %u clusters",
			(unsigned long long)bpb->fat_bytes, bpb->cluster_count);
	/* Only the part of the FAT that maps clusters is ever used. */
	bpb->fat_bytes = needed;
	bpb->fat_offset = (uint64_t)bpb->reserved_sectors * bpb->sector_size;
	bpb->root_offset = bpb->fat_offset + fat_region * bpb->sector_size;
	bpb->root_bytes = bpb->root_entries * DIRENT_SIZE;
	bpb->data_offset = meta_sectors * bpb->sector_size;
	bpb->mirror = true;
	return 0;
}

/* FAT32's own fields: the root cluster, FAT mirroring, FSInfo, backup. */
static int decode_fat32(const struct fat_boot_disk *bs, struct fat_bpb *bpb,
			char *why, size_t why_size)
{
	uint16_t flags = get_le16(bs->ext.fat32.ext_flags);

	bpb->root_cluster = get_le32(bs->ext.fat32.root_cluster);
	if (bpb->root_cluster < FAT_CLUSTER_FIRST ||
	    bpb->root_cluster >= bpb->cluster_count + 2)
		return err_set(
			why, why_size, -EUCLEAN,
			"the root directory cluster %u is outside the volume",
			bpb->root_cluster);
	if (flags & 0x80) {
		bpb->mirror = false;
		bpb->active_fat = flags & 0x0f;
		if (bpb->active_fat >= bpb->fat_count)
			return err_set(why, why_size, -EUCLEAN,
				       "the active FAT is %u of %u",
				       bpb->active_fat, bpb->fat_count);
	}
	bpb->fsinfo_sector = get_le16(bs->ext.fat32.fsinfo_sector);
	if (bpb->fsinfo_sector == 0xffff ||
	    bpb->fsinfo_sector >= bpb->reserved_sectors)
		bpb->fsinfo_sector = 0;
	bpb->backup_boot = get_le16(bs->ext.fat32.backup_boot);
	if (bpb->backup_boot == 0xffff ||
	    bpb->backup_boot >= bpb->reserved_sectors)
		bpb->backup_boot = 0;
	return 0;
}

/*
 * The extended boot record both layouts have, at different places: the
 * state byte (the dirty flag), the volume id and the label.
 */
static void decode_extended(struct fat_bpb *bpb, const struct fat_boot_disk *bs,
			    const uint8_t *state, uint8_t signature,
			    le32_t volume_id, const uint8_t *label)
{
	bpb->state = *state;
	bpb->state_offset = (size_t)(state - (const uint8_t *)bs);
	if (signature == 0x29 || signature == 0x28)
		bpb->volume_id = get_le32(volume_id);
	if (signature == 0x29 && memcmp(label, "NO NAME    ", 11) != 0)
		copy_label(bpb->label, label);
}

int fat_bpb_decode(const struct fat_boot_disk *bs, uint64_t window_size,
		   struct fat_bpb *bpb, char *why, size_t why_size)
{
	int ret;

	memset(bpb, 0, sizeof(*bpb));
	if ((ret = decode_geometry(bs, bpb, why, why_size)) ||
	    (ret = decode_sizes(bs, window_size, bpb, why, why_size)) ||
	    (ret = decode_layout(bpb, why, why_size)))
		return ret;
	if (bpb->type == FAT32) {
		ret = decode_fat32(bs, bpb, why, why_size);
		if (ret)
			return ret;
		decode_extended(bpb, bs, &bs->ext.fat32.state,
				bs->ext.fat32.signature,
				bs->ext.fat32.volume_id, bs->ext.fat32.label);
	} else {
		decode_extended(bpb, bs, &bs->ext.fat16.state,
				bs->ext.fat16.signature,
				bs->ext.fat16.volume_id, bs->ext.fat16.label);
	}
	return 0;
}
