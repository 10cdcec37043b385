// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The boot sector: decode the BIOS parameter block once into struct fat_bpb
 * and check every field against the others and against the window, so the
 * rest of fat/ can trust the geometry.
 */
#include "fat_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int reject(int err, char *why, size_t why_size, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int reject(int err, char *why, size_t why_size, const char *fmt, ...)
{
	va_list ap;

	if (why && why_size) {
		va_start(ap, fmt);
		vsnprintf(why, why_size, fmt, ap);
		va_end(ap);
	}
	return err;
}

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

int fat_bpb_decode(const struct fat_boot_disk *bs, uint64_t window_size,
		   struct fat_bpb *bpb, char *why, size_t why_size)
{
	uint64_t fat_region, root_sectors, data_sectors, needed_fat_bytes;
	uint64_t total16, total32, fat16, fat32, meta_sectors;
	const uint8_t *label;

	memset(bpb, 0, sizeof(*bpb));

	/* The jump instruction is the cheapest sign this is a boot sector. */
	if (bs->jump[0] != 0xeb && bs->jump[0] != 0xe9)
		return reject(-EINVAL, why, why_size,
			      "no FAT boot sector (first byte 0x%02x)",
			      bs->jump[0]);

	bpb->sector_size = get_le16(bs->bytes_per_sector);
	if (!is_power_of_two(bpb->sector_size) || bpb->sector_size < 512 ||
	    bpb->sector_size > 4096)
		return reject(-EINVAL, why, why_size,
			      "bytes per sector is %u, not 512, 1024, 2048 or 4096",
			      bpb->sector_size);

	bpb->sectors_per_cluster = bs->sectors_per_cluster;
	if (!is_power_of_two(bpb->sectors_per_cluster))
		return reject(-EINVAL, why, why_size,
			      "sectors per cluster is %u, not a power of two",
			      bpb->sectors_per_cluster);
	bpb->cluster_size = bpb->sector_size * bpb->sectors_per_cluster;
	if (bpb->cluster_size > 256 * 1024)
		return reject(-EUCLEAN, why, why_size,
			      "cluster size %u is over 256 KiB",
			      bpb->cluster_size);

	bpb->reserved_sectors = get_le16(bs->reserved_sectors);
	if (bpb->reserved_sectors == 0)
		return reject(-EUCLEAN, why, why_size,
			      "no reserved sectors: the boot sector itself is one");

	bpb->fat_count = bs->fat_count;
	if (bpb->fat_count == 0 || bpb->fat_count > 4)
		return reject(-EUCLEAN, why, why_size,
			      "%u FAT copies (1 to 4 expected)", bpb->fat_count);

	bpb->media = bs->media;
	if (bpb->media != 0xf0 && bpb->media < 0xf8)
		return reject(-EUCLEAN, why, why_size,
			      "media byte 0x%02x is not a FAT media type",
			      bpb->media);

	total16 = get_le16(bs->total_sectors16);
	total32 = get_le32(bs->total_sectors32);
	bpb->total_sectors = total16 ? total16 : total32;
	if (bpb->total_sectors == 0)
		return reject(-EUCLEAN, why, why_size, "total sectors is 0");
	if (bpb->total_sectors * bpb->sector_size > window_size)
		return reject(-EUCLEAN, why, why_size,
			      "the file system claims %llu bytes but its partition holds %llu",
			      (unsigned long long)(bpb->total_sectors *
						   bpb->sector_size),
			      (unsigned long long)window_size);

	fat16 = get_le16(bs->fat_size16);
	fat32 = get_le32(bs->ext.fat32.fat_size32);
	bpb->root_entries = get_le16(bs->root_entries);
	/*
	 * The layout decides FAT32, as Linux and dosfstools do: a BPB with no
	 * 16-bit FAT size is FAT32 even when mkfs.fat -F 32 gave it fewer
	 * clusters than the specification's minimum. Between FAT12 and FAT16
	 * the cluster count decides, as the specification says.
	 */
	if (fat16 == 0) {
		if (fat32 == 0)
			return reject(-EUCLEAN, why, why_size,
				      "the FAT size is 0");
		if (bpb->root_entries != 0)
			return reject(-EUCLEAN, why, why_size,
				      "a FAT32 boot sector with %u root entries",
				      bpb->root_entries);
		if (get_le16(bs->ext.fat32.version) != 0)
			return reject(-EUCLEAN, why, why_size,
				      "FAT32 version %u is unknown",
				      get_le16(bs->ext.fat32.version));
		bpb->type = FAT32;
		bpb->fat_sectors = (uint32_t)fat32;
	} else {
		if (bpb->root_entries == 0)
			return reject(-EUCLEAN, why, why_size,
				      "a FAT12/16 boot sector with no root directory entries");
		bpb->fat_sectors = (uint32_t)fat16;
	}

	root_sectors = ((uint64_t)bpb->root_entries * DIRENT_SIZE +
			bpb->sector_size - 1) /
		       bpb->sector_size;
	fat_region = (uint64_t)bpb->fat_count * bpb->fat_sectors;
	meta_sectors = bpb->reserved_sectors + fat_region + root_sectors;
	if (meta_sectors >= bpb->total_sectors)
		return reject(-EUCLEAN, why, why_size,
			      "reserved sectors, FATs and root directory (%llu sectors) fill the whole volume (%llu)",
			      (unsigned long long)meta_sectors,
			      (unsigned long long)bpb->total_sectors);
	data_sectors = bpb->total_sectors - meta_sectors;
	if (data_sectors / bpb->sectors_per_cluster > 0x0ffffff5u)
		return reject(-EUCLEAN, why, why_size, "too many clusters");
	bpb->cluster_count =
		(uint32_t)(data_sectors / bpb->sectors_per_cluster);
	if (bpb->cluster_count == 0)
		return reject(-EUCLEAN, why, why_size, "no data clusters");

	if (bpb->type != FAT32) {
		if (bpb->cluster_count < 4085)
			bpb->type = FAT12;
		else if (bpb->cluster_count < 65525)
			bpb->type = FAT16;
		else
			return reject(-EUCLEAN, why, why_size,
				      "%u clusters is too many for FAT16 and the boot sector is not FAT32",
				      bpb->cluster_count);
	}

	needed_fat_bytes = ((uint64_t)bpb->cluster_count + 2) * bpb->type / 8 +
			   (bpb->type == FAT12);
	bpb->fat_bytes = (uint64_t)bpb->fat_sectors * bpb->sector_size;
	if (needed_fat_bytes > bpb->fat_bytes)
		return reject(-EUCLEAN, why, why_size,
			      "the FAT (%llu bytes) is too small for %u clusters",
			      (unsigned long long)bpb->fat_bytes,
			      bpb->cluster_count);
	/* Only the part of the FAT that maps clusters is ever used. */
	bpb->fat_bytes = needed_fat_bytes;

	bpb->fat_offset = (uint64_t)bpb->reserved_sectors * bpb->sector_size;
	bpb->root_offset = bpb->fat_offset + fat_region * bpb->sector_size;
	bpb->root_bytes = bpb->root_entries * DIRENT_SIZE;
	bpb->data_offset = (bpb->reserved_sectors + fat_region + root_sectors) *
			   bpb->sector_size;
	bpb->mirror = true;

	if (bpb->type == FAT32) {
		uint16_t flags = get_le16(bs->ext.fat32.ext_flags);

		bpb->root_cluster = get_le32(bs->ext.fat32.root_cluster);
		if (bpb->root_cluster < FAT_CLUSTER_FIRST ||
		    bpb->root_cluster >= bpb->cluster_count + 2)
			return reject(-EUCLEAN, why, why_size,
				      "the root directory cluster %u is outside the volume",
				      bpb->root_cluster);
		if (flags & 0x80) {
			bpb->mirror = false;
			bpb->active_fat = flags & 0x0f;
			if (bpb->active_fat >= bpb->fat_count)
				return reject(-EUCLEAN, why, why_size,
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
		bpb->state = bs->ext.fat32.state;
		bpb->state_offset = offsetof(struct fat_boot_disk, ext.fat32.state);
		if (bs->ext.fat32.signature == 0x29 ||
		    bs->ext.fat32.signature == 0x28)
			bpb->volume_id = get_le32(bs->ext.fat32.volume_id);
		label = bs->ext.fat32.signature == 0x29 ? bs->ext.fat32.label
							: NULL;
	} else {
		bpb->state = bs->ext.fat16.state;
		bpb->state_offset = offsetof(struct fat_boot_disk, ext.fat16.state);
		if (bs->ext.fat16.signature == 0x29 ||
		    bs->ext.fat16.signature == 0x28)
			bpb->volume_id = get_le32(bs->ext.fat16.volume_id);
		label = bs->ext.fat16.signature == 0x29 ? bs->ext.fat16.label
							: NULL;
	}
	if (label && memcmp(label, "NO NAME    ", 11) != 0)
		copy_label(bpb->label, label);
	return 0;
}
