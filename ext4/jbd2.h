/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The on-disk format of the JBD2 journal that ext3 and ext4 keep in an
 * inode: the journal superblock, the block header every log block opens
 * with, descriptor tags, revoke records, commit blocks, and the first
 * record of ext4's fast-commit area. Everything here is big-endian except
 * the fast-commit records, which are ext4's and little-endian. The layouts
 * follow the kernel's Documentation/filesystems/ext4/journal.rst.
 */
#ifndef RPIFS_EXT4_JBD2_H
#define RPIFS_EXT4_JBD2_H

#include "../common/endian.h"

#include <assert.h>
#include <stdint.h>

#define JBD2_MAGIC 0xc03b3998u

/* h_blocktype */
#define JBD2_DESCRIPTOR_BLOCK 1
#define JBD2_COMMIT_BLOCK     2
#define JBD2_SUPERBLOCK_V1    3
#define JBD2_SUPERBLOCK_V2    4
#define JBD2_REVOKE_BLOCK     5

/* s_feature_compat */
#define JBD2_COMPAT_CHECKSUM 0x1u /* v1: crc32 of a transaction */

/* s_feature_incompat */
#define JBD2_INCOMPAT_REVOKE	   0x01u
#define JBD2_INCOMPAT_64BIT	   0x02u
#define JBD2_INCOMPAT_ASYNC_COMMIT 0x04u
#define JBD2_INCOMPAT_CSUM_V2	   0x08u
#define JBD2_INCOMPAT_CSUM_V3	   0x10u
#define JBD2_INCOMPAT_FAST_COMMIT  0x20u
#define JBD2_INCOMPAT_KNOWN                                                    \
	(JBD2_INCOMPAT_REVOKE | JBD2_INCOMPAT_64BIT |                          \
	 JBD2_INCOMPAT_ASYNC_COMMIT | JBD2_INCOMPAT_CSUM_V2 |                  \
	 JBD2_INCOMPAT_CSUM_V3 | JBD2_INCOMPAT_FAST_COMMIT)

/* s_checksum_type and h_chksum_type */
#define JBD2_CHECKSUM_CRC32  1
#define JBD2_CHECKSUM_CRC32C 4
#define JBD2_CRC32_SIZE	     4

/* Tag flags (t_flags) */
#define JBD2_FLAG_ESCAPE    0x1u /* the block began with JBD2_MAGIC */
#define JBD2_FLAG_SAME_UUID 0x2u /* no 16-byte UUID follows the tag */
#define JBD2_FLAG_DELETED   0x4u
#define JBD2_FLAG_LAST_TAG  0x8u

/* The journal has at least this many blocks (the kernel's rule). */
#define JBD2_MIN_BLOCKS 1024u
/* Fast-commit blocks when s_num_fc_blocks is 0. */
#define JBD2_DEFAULT_FC_BLOCKS 256u

struct jbd2_header_disk {
	be32_t magic;	  /* 0x00: JBD2_MAGIC */
	be32_t blocktype; /* 0x04 */
	be32_t sequence;  /* 0x08: the transaction the block belongs to */
};
static_assert(sizeof(struct jbd2_header_disk) == 12, "JBD2 block header");

struct jbd2_super_disk {
	struct jbd2_header_disk header; /* 0x000: SUPERBLOCK_V1 or _V2 */
	be32_t blocksize;		/* 0x00c */
	be32_t maxlen;			/* 0x010: blocks in the journal */
	be32_t first;			/* 0x014: first block of the log */
	be32_t sequence;		/* 0x018: first transaction expected */
	be32_t start;			/* 0x01c: log start; 0: log empty */
	be32_t error;			/* 0x020: -errno of an abort */
	/* v2 only from here */
	be32_t feature_compat;	  /* 0x024 */
	be32_t feature_incompat;  /* 0x028 */
	be32_t feature_ro_compat; /* 0x02c */
	uint8_t uuid[16];	  /* 0x030 */
	be32_t nr_users;	  /* 0x040 */
	be32_t dynsuper;	  /* 0x044 */
	be32_t max_transaction;	  /* 0x048 */
	be32_t max_trans_data;	  /* 0x04c */
	uint8_t checksum_type;	  /* 0x050 */
	uint8_t padding2[3];	  /* 0x051 */
	be32_t num_fc_blocks;	  /* 0x054: 0: JBD2_DEFAULT_FC_BLOCKS */
	be32_t head;		  /* 0x058 */
	uint8_t padding[160];	  /* 0x05c */
	be32_t checksum;	  /* 0x0fc: crc32c of these 1024 bytes */
	uint8_t users[16 * 48];	  /* 0x100 */
};
static_assert(sizeof(struct jbd2_super_disk) == 1024, "JBD2 superblock");

/* A descriptor tag with CSUM_V3: always 16 bytes. */
struct jbd2_tag3_disk {
	be32_t blocknr;	     /* 0x0 */
	be32_t flags;	     /* 0x4 */
	be32_t blocknr_high; /* 0x8: with 64BIT */
	be32_t checksum;     /* 0xc: crc32c(seed, sequence, data block) */
};
static_assert(sizeof(struct jbd2_tag3_disk) == 16, "JBD2 tag v3");

/*
 * A descriptor tag without CSUM_V3: 8 bytes, 12 with 64BIT, and 2 more with
 * CSUM_V2 (the kernel counts them, though nothing is stored there).
 */
struct jbd2_tag_disk {
	be32_t blocknr;	     /* 0x0 */
	be16_t checksum;     /* 0x4: CSUM_V2: low 16 bits */
	be16_t flags;	     /* 0x6 */
	be32_t blocknr_high; /* 0x8: with 64BIT */
};
static_assert(sizeof(struct jbd2_tag_disk) == 12, "JBD2 tag");

/* The last 4 bytes of a descriptor or revoke block with CSUM_V2/V3. */
struct jbd2_tail_disk {
	be32_t checksum; /* crc32c(seed, block with this zeroed) */
};
static_assert(sizeof(struct jbd2_tail_disk) == 4, "JBD2 block tail");

struct jbd2_revoke_disk {
	struct jbd2_header_disk header; /* 0x00 */
	be32_t count;			/* 0x0c: bytes used, header included */
	/* 0x10: be32 or (64BIT) be64 block numbers */
};
static_assert(sizeof(struct jbd2_revoke_disk) == 16, "JBD2 revoke header");

struct jbd2_commit_disk {
	struct jbd2_header_disk header; /* 0x00 */
	uint8_t chksum_type;		/* 0x0c: v1 checksum type */
	uint8_t chksum_size;		/* 0x0d */
	uint8_t padding[2];		/* 0x0e */
	be32_t chksum[8];		/* 0x10: [0]: crc32 (v1), crc32c */
	be64_t commit_sec;		/* 0x30 */
	be32_t commit_nsec;		/* 0x38 */
};
static_assert(sizeof(struct jbd2_commit_disk) == 60, "JBD2 commit block");

/* ext4's fast-commit area: a list of tag-length-value records. */
#define EXT4_FC_TAG_HEAD 0x0009

struct ext4_fc_tl_disk {
	le16_t tag; /* 0x0 */
	le16_t len; /* 0x2: bytes of value that follow */
};
static_assert(sizeof(struct ext4_fc_tl_disk) == 4, "fast-commit record");

struct ext4_fc_head_disk {
	le32_t features; /* 0x0 */
	le32_t tid;	 /* 0x4: the full commit these follow */
};
static_assert(sizeof(struct ext4_fc_head_disk) == 8, "fast-commit head");

#endif
