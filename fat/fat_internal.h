/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the files of fat/ share and nobody else sees: the on-disk layouts,
 * the decoded boot sector, the volume and node structures, and the internal
 * functions each file offers the others.
 */
#ifndef RPIFS_FAT_INTERNAL_H
#define RPIFS_FAT_INTERNAL_H

#include "fat.h"
#include "../common/endian.h"

#include <assert.h>

/* ---- on disk ---------------------------------------------------------- */

struct fat_boot_disk {
	uint8_t jump[3];	     /* 0x00 */
	uint8_t oem_name[8];	     /* 0x03 */
	le16_t bytes_per_sector;     /* 0x0b */
	uint8_t sectors_per_cluster; /* 0x0d */
	le16_t reserved_sectors;     /* 0x0e */
	uint8_t fat_count;	     /* 0x10 */
	le16_t root_entries;	     /* 0x11 */
	le16_t total_sectors16;	     /* 0x13 */
	uint8_t media;		     /* 0x15 */
	le16_t fat_size16;	     /* 0x16 */
	le16_t sectors_per_track;    /* 0x18 */
	le16_t heads;		     /* 0x1a */
	le32_t hidden_sectors;	     /* 0x1c */
	le32_t total_sectors32;	     /* 0x20 */
	union {
		struct {
			uint8_t drive;		/* 0x24 */
			uint8_t state;		/* 0x25 */
			uint8_t signature;	/* 0x26 */
			le32_t volume_id;	/* 0x27 */
			uint8_t label[11];	/* 0x2b */
			uint8_t fs_type[8];	/* 0x36 */
			uint8_t boot_code[448]; /* 0x3e */
		} fat16;
		struct {
			le32_t fat_size32;	/* 0x24 */
			le16_t ext_flags;	/* 0x28 */
			le16_t version;		/* 0x2a */
			le32_t root_cluster;	/* 0x2c */
			le16_t fsinfo_sector;	/* 0x30 */
			le16_t backup_boot;	/* 0x32 */
			uint8_t reserved[12];	/* 0x34 */
			uint8_t drive;		/* 0x40 */
			uint8_t state;		/* 0x41 */
			uint8_t signature;	/* 0x42 */
			le32_t volume_id;	/* 0x43 */
			uint8_t label[11];	/* 0x47 */
			uint8_t fs_type[8];	/* 0x52 */
			uint8_t boot_code[420]; /* 0x5a */
		} fat32;
	} ext;
	uint8_t boot_signature[2]; /* 0x1fe: 0x55 0xaa */
};
static_assert(sizeof(struct fat_boot_disk) == 512, "boot sector layout");

struct fat_fsinfo_disk {
	le32_t lead_signature;	 /* 0x000: 0x41615252 */
	uint8_t reserved1[480];	 /* 0x004 */
	le32_t struct_signature; /* 0x1e4: 0x61417272 */
	le32_t free_count;	 /* 0x1e8 */
	le32_t next_free;	 /* 0x1ec */
	uint8_t reserved2[12];	 /* 0x1f0 */
	le32_t trail_signature;	 /* 0x1fc: 0xaa550000 */
};
static_assert(sizeof(struct fat_fsinfo_disk) == 512, "FSInfo layout");

#define FSINFO_LEAD    0x41615252u
#define FSINFO_STRUCT  0x61417272u
#define FSINFO_TRAIL   0xaa550000u
#define FSINFO_UNKNOWN 0xffffffffu

/* The state byte's bit set while a read-write mount is active (Linux). */
#define FAT_STATE_DIRTY 0x01

struct fat_dirent_disk {
	uint8_t name[11]; /* 0x00: 8.3, space padded */
	uint8_t attr;	  /* 0x0b */
	uint8_t lcase;	  /* 0x0c: NT case flags */
	uint8_t ctime_cs; /* 0x0d: creation time, 10 ms units 0..199 */
	le16_t ctime;	  /* 0x0e */
	le16_t cdate;	  /* 0x10 */
	le16_t adate;	  /* 0x12 */
	le16_t start_hi;  /* 0x14: high 16 bits of the first cluster (FAT32) */
	le16_t mtime;	  /* 0x16 */
	le16_t mdate;	  /* 0x18 */
	le16_t start_lo;  /* 0x1a */
	le32_t size;	  /* 0x1c */
};
static_assert(sizeof(struct fat_dirent_disk) == 32, "directory entry layout");

struct fat_lfn_disk {
	uint8_t order;	  /* 0x00: sequence 1..20, 0x40 on the last */
	le16_t name1[5];  /* 0x01 */
	uint8_t attr;	  /* 0x0b: FAT_ATTR_LFN */
	uint8_t type;	  /* 0x0c: 0 */
	uint8_t checksum; /* 0x0d: of the 8.3 name */
	le16_t name2[6];  /* 0x0e */
	le16_t start;	  /* 0x1a: 0 */
	le16_t name3[2];  /* 0x1c */
};
static_assert(sizeof(struct fat_lfn_disk) == 32, "long name entry layout");

#define DIRENT_SIZE 32u
/* Directory slots in 512 bytes, the least a disk writes whole. */
#define DIR_SECTOR_SLOTS (512u / DIRENT_SIZE)
#define DIRENT_FREE	 0xe5 /* first name byte of a deleted entry */
#define DIRENT_END	 0x00 /* first name byte: this and all later are free */
#define DIRENT_KANJI	 0x05 /* stored for a leading 0xe5 */
#define LFN_LAST	 0x40
#define LFN_CHARS	 13
#define LFN_MAX_SLOTS	 20
#define CASE_LOWER_BASE	 0x08
#define CASE_LOWER_EXT	 0x10

/* A directory holds at most 65536 entries (2 MiB), as Linux enforces. */
#define DIR_MAX_SLOTS 65536u

/* ---- decoded boot sector ---------------------------------------------- */

struct fat_bpb {
	enum fat_type type;
	uint32_t sector_size;
	uint32_t sectors_per_cluster;
	uint32_t cluster_size;
	uint32_t reserved_sectors;
	uint32_t fat_count;
	uint32_t fat_sectors;  /* per FAT */
	uint32_t root_entries; /* FAT12/16 */
	uint64_t total_sectors;
	uint32_t root_cluster;	/* FAT32 */
	uint32_t fsinfo_sector; /* FAT32; 0 when there is none */
	uint32_t backup_boot;	/* FAT32; 0 when there is none */
	bool mirror;		/* every FAT copy is written */
	uint32_t active_fat;	/* the copy read (and the only one written
				   when !mirror) */
	uint64_t fat_offset;	/* byte offset of FAT copy 0 */
	uint64_t fat_bytes;	/* bytes of one FAT copy */
	uint64_t root_offset;	/* FAT12/16 root directory region */
	uint32_t root_bytes;
	uint64_t data_offset;	/* cluster 2 */
	uint32_t cluster_count; /* clusters 2 .. cluster_count + 1 exist */
	uint8_t media;
	uint8_t state;	       /* the state byte as read */
	uint32_t state_offset; /* its offset in the boot sector */
	uint32_t volume_id;
	char label[12];
};

/*
 * Decode and check a boot sector read from a window of @window_size bytes.
 * @return 0, or -EINVAL (not FAT) / -EUCLEAN (damaged) with a sentence in
 * @why.
 */
int fat_bpb_decode(const struct fat_boot_disk *bs, uint64_t window_size,
		   struct fat_bpb *bpb, char *why, size_t why_size);

/* ---- cluster numbers -------------------------------------------------- */

#define FAT_CLUSTER_FREE  0u
#define FAT_CLUSTER_FIRST 2u

/* What a FAT entry's value means for the type. */
enum fat_entry_kind {
	FAT_ENT_FREE,
	FAT_ENT_NEXT,	 /* a valid next cluster */
	FAT_ENT_EOC,	 /* end of chain */
	FAT_ENT_BAD,	 /* marked bad */
	FAT_ENT_INVALID, /* reserved or out of range */
};

/* ---- the FAT table cache ---------------------------------------------- */

#define FAT_CHUNK_SIZE 65536u

struct fat_chunk {
	uint8_t *data;	   /* NULL until read */
	uint32_t dirty_lo; /* dirty byte range within the chunk */
	uint32_t dirty_hi; /* (lo == hi: clean) */
};

struct fat_table {
	struct fat_chunk *chunks;
	uint32_t chunk_count;
	uint32_t chunk_size;
	uint32_t *dirty; /* indexes of dirty chunks */
	uint32_t dirty_count;
	/*
	 * Chains that an entry on the disk may still name (its removal not
	 * flushed yet): still allocated, freed after the next flush.
	 */
	uint32_t *pending; /* their first clusters */
	uint32_t pending_count;
	uint32_t pending_cap;
	uint32_t pending_clusters;
};

/* ---- nodes ------------------------------------------------------------ */

/* A run of contiguous clusters of a chain. */
struct fat_run {
	uint32_t file_cluster; /* index of the first cluster in the chain */
	uint32_t disk_cluster;
	uint32_t count;
};

/* A chain as runs; built on first need, kept in step with every change. */
struct fat_map {
	struct fat_run *runs;
	uint32_t run_count;
	uint32_t run_cap;
	uint32_t clusters; /* chain length */
	bool valid;
};

/*
 * fat_name_hash() of a slot's node's name and of its 8.3 alias (0: no
 * node there, or no long name), kept side by side for all slots, so that
 * fat_dir_find() scans one array, comparing names only where these match.
 */
struct fat_slot_hash {
	uint32_t name, alias;
};

/* A loaded directory: its bytes and its children by 8.3 slot. */
struct fat_dir {
	uint8_t *raw;
	uint32_t slots; /* raw holds slots * 32 bytes */
	struct fat_node *
		*child; /* [slots]: the node whose 8.3 entry is there */
	struct fat_slot_hash *hash; /* [slots]: that node's hashes */
	uint32_t entries;	    /* children, excluding . and .. */
	uint32_t subdirs;	    /* those of them that are directories */
	uint32_t stale_from;	    /* slots from here were stale on disk and
				       are zero only in memory (else: slots) */
	uint32_t dirty_lo;	    /* dirty byte range of raw */
	uint32_t dirty_hi;
	bool on_dirty_list;
	struct fat_node *next_dirty;
};

struct fat_node {
	struct fat_node *parent; /* NULL: root or unlinked */
	uint32_t slot;		 /* index of the 8.3 entry in the parent */
	uint8_t lfn_slots;	 /* long name entries just before it */
	uint32_t refs;
	uint64_t serial; /* unique while mounted: the inode number */
	bool is_root;
	bool unlinked;
	bool prealloc;	 /* its chain may run past its size */
	char *name;	 /* UTF-8, as listed */
	uint8_t sfn[11]; /* the 8.3 name as stored */
	uint8_t attr;
	uint8_t lcase;
	uint32_t first_cluster;
	uint32_t size;
	uint8_t ctime_cs;
	uint16_t ctime, cdate, adate, mtime, mdate;
	struct fat_map map;
	struct fat_dir *dir; /* directories, once loaded */
	void *priv;
	struct fat_node *all_prev; /* every node of the volume */
	struct fat_node *all_next;
};

/* @child leaves its slot of @d: the slot's node and hashes, the counts
   (dir.c's put_child() is the way in). */
static inline void fat_dir_drop_child(struct fat_dir *d, struct fat_node *child)
{
	d->child[child->slot] = NULL;
	d->hash[child->slot] = (struct fat_slot_hash){0, 0};
	d->entries--;
	d->subdirs -= (child->attr & FAT_ATTR_DIR) != 0;
}

/* A node's name for messages: "/" for the root. */
static inline const char *fat_node_label(const struct fat_node *node)
{
	return node->is_root ? "/" : node->name;
}

/* ---- the volume ------------------------------------------------------- */

/* An entry removed whose removal may not be on the disk yet. */
struct fat_removed {
	uint64_t dir;	 /* the directory's serial */
	uint32_t sector; /* the 512-byte sector of its 8.3 slot */
	uint8_t sfn[11];
	char *name;
};

struct fat_vol {
	struct fat_window win;
	struct fat_bpb bpb;
	bool read_only;
	bool damaged;
	bool mounting; /* damage is reported by fat_mount's error, not logged */
	char damage[256]; /* what the first damage found was */
	bool linked;	  /* the image file had a name at mount */
	bool image_lost;  /* it was deleted or shrank since: told once */
	bool was_dirty;
	bool dirty_flag_set;
	bool dirty_flag_due; /* read-write: set the flag before the first write
			      */
	struct fat_table fat;
	uint32_t free_count;
	bool free_known;
	uint32_t next_free; /* allocation hint */
	bool fsinfo_dirty;
	struct fat_node *root;
	struct fat_node *all_nodes;
	uint64_t next_serial;
	struct fat_node *dirty_dirs;
	/* Entries removed since the last flush (dir.c). */
	struct fat_removed *removed;
	uint32_t removed_count;
	uint32_t removed_cap;
	bool removed_unknown; /* more went than the list holds */
	char label[12];
	uint16_t label_time, label_date; /* the volume label entry's time */
};

/* ---- window I/O (io.c) ------------------------------------------------ */

/* Note whether the image file has a name now (at mount). */
void fat_io_note_image(struct fat_vol *vol);

/*
 * Allocate the image file's blocks under the reserved sectors, the FATs
 * and the fixed root directory, so that metadata writes cannot fail for a
 * full host file system (data writes into holes still can, and are undone).
 * @return 0 (also where the file system cannot), or -ENOSPC.
 */
int fat_io_reserve_metadata(struct fat_vol *vol);

/* pread/pwrite within the window; short transfers are errors (-EIO). */
int fat_io_read(struct fat_vol *vol, uint64_t off, void *buf, size_t len);
int fat_io_write(struct fat_vol *vol, uint64_t off, const void *buf,
		 size_t len);
int fat_io_zero(struct fat_vol *vol, uint64_t off, uint64_t len);
/* fdatasync the image: what was written before is durable after. */
int fat_io_flush(struct fat_vol *vol);
uint64_t fat_cluster_offset(const struct fat_vol *vol, uint32_t cluster);

/*
 * Report damage: log one line naming what is wrong (with the source
 * location), turn the volume read-only, @return -EUCLEAN.
 */
int fat_corrupt_at(struct fat_vol *vol, const char *file, int line,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
#define fat_corrupt(vol, ...)                                                  \
	fat_corrupt_at((vol), __FILE__, __LINE__, __VA_ARGS__)

/*
 * Tracing builds (-DRPIFS_IO_TRACE, see fat.h): name the fat_ call the
 * next writes serve, as "CALL PATH" (the path of @dir, then @name when
 * not NULL) and, for a rename, " -> PATH2". Nothing in normal builds.
 */
#ifdef RPIFS_IO_TRACE
void fat_trace_call(const char *call, const struct fat_node *dir,
		    const char *name, const struct fat_node *dir2,
		    const char *name2);
#else
#define fat_trace_call(...) ((void)0)
#endif

/* -EROFS when the volume may not be written. */
int fat_check_writable(const struct fat_vol *vol);

/* ---- FAT entries (fatent.c) ------------------------------------------- */

int fat_table_init(struct fat_vol *vol);
void fat_table_free(struct fat_vol *vol);
int fat_ent_get(struct fat_vol *vol, uint32_t cluster, uint32_t *value);
int fat_ent_set(struct fat_vol *vol, uint32_t cluster, uint32_t value);
enum fat_entry_kind fat_ent_kind(const struct fat_vol *vol, uint32_t value);
uint32_t fat_eoc(const struct fat_vol *vol);
/* Write dirty FAT bytes to every FAT copy. */
int fat_table_flush(struct fat_vol *vol);
/* Count free clusters by reading the whole FAT. */
int fat_count_free(struct fat_vol *vol, uint32_t *count);
/* Allocate @count clusters as one chain, preferring to start at @hint. */
int fat_alloc_chain(struct fat_vol *vol, uint32_t hint, uint32_t count,
		    uint32_t *first, uint32_t *got);
/*
 * Free the chain from @first to its end, now: for a chain no entry on the
 * disk names (one just allocated and given back).
 */
int fat_free_chain(struct fat_vol *vol, uint32_t first);
/*
 * Free the chain from @first once what named it is off the disk: it stays
 * allocated until the next fat_io_flush() has made the removal of its
 * entry (or the cut of its file) durable, so that a power cut never finds
 * an entry whose clusters are free, or given to another file. Freed by
 * fat_free_pending().
 */
int fat_free_chain_later(struct fat_vol *vol, uint32_t first);
/* After a flush: free the chains fat_free_chain_later() kept. */
int fat_free_pending(struct fat_vol *vol);

/* ---- chain maps (map.c) ----------------------------------------------- */

int fat_map_build(struct fat_vol *vol, struct fat_node *node);
void fat_map_free(struct fat_map *map);
/* Disk cluster of the chain's cluster number @index (must be < clusters). */
uint32_t fat_map_lookup(const struct fat_map *map, uint32_t index,
			uint32_t *run_left);
int fat_map_append(struct fat_map *map, uint32_t disk_cluster, uint32_t count);
void fat_map_truncate(struct fat_map *map, uint32_t clusters);
uint32_t fat_map_last(const struct fat_map *map);

/* ---- names (name.c) --------------------------------------------------- */

uint8_t fat_lfn_checksum(const uint8_t sfn[11]);
/* Format an 8.3 name for listing, honouring the case flags. */
void fat_sfn_format(const uint8_t sfn[11], uint8_t lcase, char *out,
		    size_t size);
/* Case-insensitive comparison of two UTF-8 names. */
bool fat_name_equal(const char *a, const char *b);
/* A hash under which names fat_name_equal() finds equal are equal. */
uint32_t fat_name_hash(const char *name);
/* UTF-16 to UTF-8; @return bytes written or -EILSEQ (lone surrogate). */
int fat_utf16_to_utf8(const uint16_t *in, size_t n, char *out, size_t out_size);
/* UTF-8 to UTF-16; @return units written, -EILSEQ, or -ENAMETOOLONG. */
int fat_utf8_to_utf16(const char *in, uint16_t *out, size_t out_max);
/* Whether a name read from disk is safe to show (no '/', controls, . ..). */
bool fat_name_safe(const char *name);
/*
 * The 8.3 name (and case flags) for a new entry @name in loaded @dir,
 * unique there, ignoring the entries of @skip1 and @skip2 (may be NULL);
 * *@needs_lfn tells whether a long name must go with it.
 * @return 0 or -errno.
 */
int fat_sfn_make(struct fat_node *dir, const char *name, uint8_t sfn[11],
		 uint8_t *lcase, bool *needs_lfn, const struct fat_node *skip1,
		 const struct fat_node *skip2);

/* ---- times (time.c) --------------------------------------------------- */

void fat_time_to_timespec(uint16_t date, uint16_t time, uint8_t cs,
			  struct timespec *ts);
void fat_time_from_timespec(const struct timespec *ts, uint16_t *date,
			    uint16_t *time, uint8_t *cs);

/* ---- nodes and directories (node.c, dir.c) ---------------------------- */

struct fat_node *fat_node_new(struct fat_vol *vol);
void fat_node_free(struct fat_vol *vol, struct fat_node *node);
/* Fill a node's fields from its 8.3 entry. */
void fat_node_from_dirent(struct fat_vol *vol, struct fat_node *node,
			  const struct fat_dirent_disk *de);
/* Read a directory's entries into memory (once). */
int fat_dir_load(struct fat_vol *vol, struct fat_node *dir);
void fat_dir_free(struct fat_dir *dir);
/* Copy a node's fields into its 8.3 entry in the parent's buffer. */
void fat_dir_store_entry(struct fat_vol *vol, struct fat_node *node);
/* Mark bytes of a loaded directory as needing a write. */
void fat_dir_mark_dirty(struct fat_vol *vol, struct fat_node *dir, uint32_t off,
			uint32_t len);
/* Write every dirty directory range. */
int fat_dir_flush(struct fat_vol *vol);
/* Write one directory's dirty range, if it has one. */
int fat_dir_flush_one(struct fat_vol *vol, struct fat_node *dir);
uint64_t fat_dir_slot_offset(struct fat_vol *vol, struct fat_node *dir,
			     uint32_t slot);
/* Find a child by name in a loaded directory (no reference taken). */
struct fat_node *fat_dir_find(struct fat_node *dir, const char *name);
/*
 * Find @count consecutive free slots in loaded @dir (the slots of @skip1
 * and @skip2 count as free), inside one 512-byte sector when they fit
 * one, trying first the sectors of slots @try1 and @try2 (UINT32_MAX:
 * none), growing the directory when needed.
 * @return 0 or -ENOSPC (a full fixed root, or 65536 entries), -EIO, ...
 */
int fat_dir_alloc_slots(struct fat_vol *vol, struct fat_node *dir,
			uint32_t count, const struct fat_node *skip1,
			const struct fat_node *skip2, uint32_t try1,
			uint32_t try2, uint32_t *first);
/* Write the sectors of @dir that hold slots [@first, @first + @count). */
int fat_dir_write_sectors(struct fat_vol *vol, struct fat_node *dir,
			  uint32_t first, uint32_t count);
/* Slots an entry for @name takes (long name entries plus the 8.3 one). */
uint32_t fat_dir_slots_for(const char *name, bool needs_lfn);
/*
 * Write @node's entry (long name @name when @needs_lfn, then the 8.3
 * entry from the node's fields) at @first in @dir, and make the node a
 * child there.
 */
void fat_dir_add_entry(struct fat_vol *vol, struct fat_node *dir,
		       struct fat_node *node, const char *name, bool needs_lfn,
		       uint32_t first);
/* Mark a node's entry slots free and take it out of its parent. */
void fat_dir_remove_entry(struct fat_vol *vol, struct fat_node *node);
/* Note that the entry @sfn, @name at @slot of @dir was removed. */
void fat_dir_note_removed(struct fat_vol *vol, struct fat_node *dir,
			  const uint8_t sfn[11], const char *name,
			  uint32_t slot);
/*
 * Whether an entry named @sfn or @name was removed from @dir since the
 * last flush in another sector than slot @slot's: a new entry written
 * there could reach the disk before the removal did, and a power cut
 * would leave the name twice. The caller flushes first, before it changes
 * anything (a flush forgets the removals noted so far).
 */
bool fat_dir_name_in_flight(struct fat_vol *vol, struct fat_node *dir,
			    const uint8_t sfn[11], const char *name,
			    uint32_t slot);
/* At a flush: the removals are durable. */
void fat_dir_removed_clear(struct fat_vol *vol);
/*
 * fat_create() for a file whose clusters are written already: its entry
 * names @first_cluster (FAT_CLUSTER_FREE: none) and @size.
 */
int fat_create_entry(struct fat_vol *vol, struct fat_node *dir,
		     const char *name, uint8_t attr, uint32_t first_cluster,
		     uint32_t size, struct fat_node **nodep);
/* The time now, as FAT stores it. */
void fat_now(uint16_t *date, uint16_t *time, uint8_t *cs);
/* A change to @node: its ctime (the creation time field, as vfat) is now. */
void fat_touch_ctime(struct fat_node *node);
/*
 * Give back the clusters that fat_fallocate(keep_size) took past each
 * file's size (at freeze and unmount). @return 0 or -errno.
 */
int fat_trim_prealloc(struct fat_vol *vol);

int fat_fsinfo_write(struct fat_vol *vol);
int fat_set_dirty_flag(struct fat_vol *vol, bool dirty);

#endif
