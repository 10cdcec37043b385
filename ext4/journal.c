// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * JBD2 journal replay over libext2fs (see journal.h). Three passes, as the
 * kernel's recovery makes them: a scan of the circular log that finds its
 * end and checks every checksum, noting the blocks to write and the revoke
 * records of each committed transaction; the revoke table, sorted; and the
 * replay, which writes each block home unless a revoke record of the same
 * or a later transaction covers it. Journal blocks are found through the
 * journal inode's mapping and all I/O goes through the file system's io
 * channel, so a partition at any offset inside an image file will do.
 */
#include "journal.h"
#include "jbd2.h"
#include "../common/errmsg.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The kernel's struct commit_header is 60 bytes of fields padded to 64 by
 * its be64; a commit block whose checksum covers only those bytes (the rest
 * of the block zero) is a partly written one the kernel still accepts.
 */
#define COMMIT_HEADER_BYTES 64u

/* A logged block of a committed transaction, to be written home. */
struct jnl_write {
	blk64_t copy;	   /* file-system block of its copy in the log */
	blk64_t home;	   /* where it belongs */
	uint32_t tid;	   /* transaction, counted from s_sequence */
	uint32_t jblock;   /* the copy's journal block, for messages */
	bool escaped;	   /* its first four bytes were JBD2_MAGIC */
	bool bad_checksum; /* the copy fails its tag checksum */
};

struct jnl_revoke {
	blk64_t block;
	uint32_t tid; /* counted from s_sequence */
};

struct jnl {
	ext2_filsys fs;
	char *err;
	size_t err_size;

	struct ext2_inode inode; /* the journal inode */
	uint8_t *sb_block;	 /* journal block 0, as read */
	blk64_t sb_home;	 /* its file-system block */
	uint32_t blocksize;
	uint32_t maxlen;      /* s_maxlen */
	uint32_t first, last; /* the circular log is [first, last) */
	uint32_t sequence;    /* s_sequence */
	uint32_t start;	      /* s_start */
	int32_t error;	      /* s_errno */
	uint32_t incompat;
	bool csum;	    /* CSUM_V2 or CSUM_V3 */
	bool csum_v1;	    /* COMPAT_CHECKSUM: crc32 per commit */
	uint32_t csum_seed; /* crc32c of the journal UUID */
	unsigned tag_bytes;

	/* What the scan found. */
	struct jnl_write *writes;
	size_t nwrites, writes_cap, writes_committed;
	struct jnl_revoke *revokes;
	size_t nrevokes, revokes_cap, revokes_committed;
	uint32_t end; /* first transaction not replayed, from s_sequence */
	unsigned transactions;
	bool damaged;	  /* the replay steps over damage */
	char damage[192]; /* what it is */

	uint8_t *buf;  /* one journal block */
	uint8_t *data; /* another */
};

static int fail(struct jnl *j, int error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void note_damage(struct jnl *j, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Put the reason in @err; @return @error. */
static int fail(struct jnl *j, int error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error = err_vset(j->err, j->err_size, error, fmt, ap);
	va_end(ap);
	return error;
}

/* Note damage the replay steps over; the first one is the one reported. */
static void note_damage(struct jnl *j, const char *fmt, ...)
{
	va_list ap;

	if (j->damaged)
		return;
	j->damaged = true;
	va_start(ap, fmt);
	vsnprintf(j->damage, sizeof(j->damage), fmt, ap);
	va_end(ap);
}

/*
 * libext2fs returns errno values for system errors and its own com_err
 * codes (large numbers) for the rest.
 */
static int ext2_to_errno(errcode_t code, int otherwise)
{
	if (code == EXT2_ET_NO_MEMORY)
		return -ENOMEM;
	if (code > 0 && code < 4096)
		return -(int)code;
	return otherwise;
}

static uint32_t crc32c(uint32_t crc, const void *p, size_t len)
{
	return ext2fs_crc32c_le(crc, p, len);
}

static uint32_t next_block(const struct jnl *j, uint32_t block)
{
	block++;
	if (block >= j->last)
		block -= j->last - j->first;
	return block;
}

static int map_block(struct jnl *j, uint32_t jblock, blk64_t *home)
{
	ext2_filsys fs = j->fs;
	blk64_t phys = 0;
	errcode_t code;

	if (jblock >= j->maxlen)
		return fail(j, -EUCLEAN,
			    "journal block %u is past its end (%u)", jblock,
			    j->maxlen);
	code = ext2fs_bmap2(fs, fs->super->s_journal_inum, &j->inode, NULL, 0,
			    jblock, NULL, &phys);
	if (code)
		return fail(j, ext2_to_errno(code, -EUCLEAN),
			    "cannot map journal block %u: %s", jblock,
			    error_message(code));
	if (phys == 0)
		return fail(j, -EUCLEAN, "journal block %u is not mapped",
			    jblock);
	if (phys < fs->super->s_first_data_block ||
	    phys >= ext2fs_blocks_count(fs->super))
		return fail(j, -EUCLEAN,
			    "journal block %u maps to block %llu, outside the "
			    "file system",
			    jblock, (unsigned long long)phys);
	*home = phys;
	return 0;
}

static int read_fs_block(struct jnl *j, blk64_t block, void *buf)
{
	errcode_t code = io_channel_read_blk64(j->fs->io, block, 1, buf);

	if (code)
		return fail(j, ext2_to_errno(code, -EIO),
			    "cannot read block %llu: %s",
			    (unsigned long long)block, error_message(code));
	return 0;
}

static int write_fs_block(struct jnl *j, blk64_t block, const void *buf)
{
	errcode_t code = io_channel_write_blk64(j->fs->io, block, 1, buf);

	if (code)
		return fail(j, ext2_to_errno(code, -EIO),
			    "cannot write block %llu: %s",
			    (unsigned long long)block, error_message(code));
	return 0;
}

static int flush_io(struct jnl *j)
{
	errcode_t code = io_channel_flush(j->fs->io);

	if (code)
		return fail(j, ext2_to_errno(code, -EIO),
			    "cannot flush the image: %s", error_message(code));
	return 0;
}

static int read_journal_block(struct jnl *j, uint32_t jblock, void *buf,
			      blk64_t *home)
{
	blk64_t phys;
	int ret = map_block(j, jblock, &phys);

	if (ret)
		return ret;
	if (home)
		*home = phys;
	return read_fs_block(j, phys, buf);
}

static int grow(void **array, size_t *cap, size_t count, size_t size)
{
	size_t n = *cap ? *cap * 2 : 256;
	void *p;

	if (count < *cap)
		return 0;
	p = reallocarray(*array, n, size);
	if (!p)
		return -ENOMEM;
	*array = p;
	*cap = n;
	return 0;
}

/* ---- the journal superblock ------------------------------------------- */

static uint32_t super_checksum(const uint8_t *block)
{
	struct jbd2_super_disk copy;

	memcpy(&copy, block, sizeof(copy));
	put_be32(&copy.checksum, 0);
	return crc32c(~0u, &copy, sizeof(copy));
}

static unsigned tag_bytes(uint32_t incompat)
{
	unsigned size = sizeof(struct jbd2_tag_disk);

	if (incompat & JBD2_INCOMPAT_CSUM_V3)
		return sizeof(struct jbd2_tag3_disk);
	if (incompat & JBD2_INCOMPAT_CSUM_V2)
		size += 2;
	if (!(incompat & JBD2_INCOMPAT_64BIT))
		size -= 4;
	return size;
}

static bool uuid_is_zero(const uint8_t *uuid)
{
	for (int i = 0; i < 16; i++)
		if (uuid[i])
			return false;
	return true;
}

static int load_inode(struct jnl *j)
{
	ext2_filsys fs = j->fs;
	struct ext2_super_block *sb = fs->super;
	ext2_ino_t ino = sb->s_journal_inum;
	errcode_t code;

	if (!ext2fs_has_feature_journal(sb))
		return fail(j, -EUCLEAN,
			    "needs_recovery is set, but the file system has no "
			    "journal");
	if (ext2fs_has_feature_journal_dev(sb) ||
	    !uuid_is_zero(sb->s_journal_uuid) || ino == 0)
		return fail(j, -EOPNOTSUPP,
			    "the journal is on another device (an external "
			    "journal); only internal journals are replayed");
	if (ino > sb->s_inodes_count)
		return fail(j, -EUCLEAN, "the journal inode %u does not exist",
			    ino);
	code = ext2fs_read_inode(fs, ino, &j->inode);
	if (code)
		return fail(j, ext2_to_errno(code, -EUCLEAN),
			    "cannot read the journal inode %u: %s", ino,
			    error_message(code));
	if (!LINUX_S_ISREG(j->inode.i_mode) || j->inode.i_links_count == 0)
		return fail(j, -EUCLEAN,
			    "the journal inode %u is not a regular file", ino);
	return 0;
}

/* The journal superblock's type, block size and length. */
static int check_geometry(struct jnl *j, const struct jbd2_super_disk *jsb,
			  uint32_t type)
{
	if (get_be32(jsb->header.magic) != JBD2_MAGIC)
		return fail(j, -EUCLEAN,
			    "the journal superblock has no JBD2 magic number");
	if (type != JBD2_SUPERBLOCK_V1 && type != JBD2_SUPERBLOCK_V2)
		return fail(j, -EUCLEAN,
			    "the journal superblock has an unknown type %u",
			    type);
	if (get_be32(jsb->blocksize) != j->blocksize)
		return fail(j, -EUCLEAN,
			    "the journal's block size %u is not the file "
			    "system's %u",
			    get_be32(jsb->blocksize), j->blocksize);
	if (get_be32(jsb->maxlen) > j->maxlen)
		return fail(j, -EUCLEAN,
			    "the journal superblock claims %u blocks, but the "
			    "journal inode has %u",
			    get_be32(jsb->maxlen), j->maxlen);
	j->maxlen = get_be32(jsb->maxlen);
	if (j->maxlen < JBD2_MIN_BLOCKS)
		return fail(j, -EUCLEAN,
			    "the journal has %u blocks, fewer than %u",
			    j->maxlen, JBD2_MIN_BLOCKS);
	j->first = get_be32(jsb->first);
	if (j->first == 0 || j->first >= j->maxlen)
		return fail(j, -EUCLEAN,
			    "the journal's log starts at block %u, outside "
			    "its %u blocks",
			    j->first, j->maxlen);
	return 0;
}

/* The features this replay knows, and the checksums they ask for. */
static int check_features(struct jnl *j, const struct jbd2_super_disk *jsb,
			  uint32_t type)
{
	uint32_t compat = 0, ro_compat = 0;

	/* Features exist from v2 on; the kernel ignores them in v1. */
	if (type == JBD2_SUPERBLOCK_V2) {
		compat = get_be32(jsb->feature_compat);
		j->incompat = get_be32(jsb->feature_incompat);
		ro_compat = get_be32(jsb->feature_ro_compat);
	}
	if (j->incompat & ~JBD2_INCOMPAT_KNOWN)
		return fail(j, -EOPNOTSUPP,
			    "the journal has unknown features (incompat 0x%x)",
			    j->incompat & ~JBD2_INCOMPAT_KNOWN);
	if (ro_compat)
		return fail(j, -EOPNOTSUPP,
			    "the journal has unknown features (ro_compat "
			    "0x%x)",
			    ro_compat);
	if ((j->incompat & JBD2_INCOMPAT_CSUM_V2) &&
	    (j->incompat & JBD2_INCOMPAT_CSUM_V3))
		return fail(j, -EUCLEAN,
			    "the journal claims v2 and v3 checksums at once");
	j->csum = j->incompat & (JBD2_INCOMPAT_CSUM_V2 | JBD2_INCOMPAT_CSUM_V3);
	j->csum_v1 = compat & JBD2_COMPAT_CHECKSUM;
	if (j->csum && j->csum_v1)
		return fail(j, -EUCLEAN,
			    "the journal claims v1 and v2/v3 checksums at "
			    "once");
	if (j->csum) {
		if (jsb->checksum_type != JBD2_CHECKSUM_CRC32C)
			return fail(j, -EUCLEAN,
				    "the journal has an unknown checksum "
				    "type %u",
				    jsb->checksum_type);
		if (super_checksum(j->sb_block) != get_be32(jsb->checksum))
			return fail(j, -EUCLEAN,
				    "the journal superblock fails its "
				    "checksum");
		j->csum_seed = crc32c(~0u, jsb->uuid, sizeof(jsb->uuid));
	}
	j->tag_bytes = tag_bytes(j->incompat);
	return 0;
}

/* Where the circular log lies, and where its head is. */
static int check_log(struct jnl *j, const struct jbd2_super_disk *jsb)
{
	uint32_t fc_blocks;

	/* Fast commits live in the last blocks, outside the circular log. */
	j->last = j->maxlen;
	if (j->incompat & JBD2_INCOMPAT_FAST_COMMIT) {
		fc_blocks = get_be32(jsb->num_fc_blocks);
		if (!fc_blocks)
			fc_blocks = JBD2_DEFAULT_FC_BLOCKS;
		if (fc_blocks > j->maxlen - JBD2_MIN_BLOCKS)
			return fail(j, -EUCLEAN,
				    "the journal's %u fast-commit blocks leave "
				    "too few of its %u",
				    fc_blocks, j->maxlen);
		j->last = j->maxlen - fc_blocks;
	}
	if (j->first >= j->last)
		return fail(j, -EUCLEAN,
			    "the journal's log starts at block %u, past its "
			    "end %u",
			    j->first, j->last);

	j->sequence = get_be32(jsb->sequence);
	j->start = get_be32(jsb->start);
	j->error = (int32_t)get_be32(jsb->error);
	if (j->start && (j->start < j->first || j->start >= j->last))
		return fail(j, -EUCLEAN,
			    "the journal's log head %u is outside the log "
			    "[%u, %u)",
			    j->start, j->first, j->last);
	return 0;
}

static int load_super(struct jnl *j)
{
	const struct jbd2_super_disk *jsb;
	uint64_t inode_blocks;
	uint32_t type;
	int ret;

	ret = load_inode(j);
	if (ret)
		return ret;
	j->blocksize = j->fs->blocksize;
	inode_blocks = EXT2_I_SIZE(&j->inode) / j->blocksize;
	j->maxlen =
		inode_blocks > UINT32_MAX ? UINT32_MAX : (uint32_t)inode_blocks;
	ret = read_journal_block(j, 0, j->sb_block, &j->sb_home);
	if (ret)
		return ret;
	jsb = (const struct jbd2_super_disk *)j->sb_block;
	type = get_be32(jsb->header.blocktype);
	ret = check_geometry(j, jsb, type);
	if (!ret)
		ret = check_features(j, jsb, type);
	return ret ? ret : check_log(j, jsb);
}

/* ---- pass 1: scan ----------------------------------------------------- */

static bool tail_ok(const struct jnl *j, const uint8_t *block)
{
	uint8_t *copy = j->data;
	size_t at = j->blocksize - sizeof(struct jbd2_tail_disk);
	struct jbd2_tail_disk tail;

	memcpy(&tail, block + at, sizeof(tail));
	memcpy(copy, block, j->blocksize);
	memset(copy + at, 0, sizeof(tail));
	return crc32c(j->csum_seed, copy, j->blocksize) ==
	       get_be32(tail.checksum);
}

static bool commit_ok(const struct jnl *j, const uint8_t *block)
{
	const struct jbd2_commit_disk *c = (const void *)block;
	uint32_t want = get_be32(c->chksum[0]);
	struct jbd2_commit_disk *h = (void *)j->data;

	memcpy(j->data, block, j->blocksize);
	put_be32(&h->chksum[0], 0);
	if (crc32c(j->csum_seed, j->data, j->blocksize) == want)
		return true;
	memset(j->data + COMMIT_HEADER_BYTES, 0,
	       j->blocksize - COMMIT_HEADER_BYTES);
	return crc32c(j->csum_seed, j->data, j->blocksize) == want;
}

static bool commit_v1_ok(const uint8_t *block, uint32_t crc)
{
	const struct jbd2_commit_disk *c = (const void *)block;
	uint32_t found = get_be32(c->chksum[0]);

	if (c->chksum_type == JBD2_CHECKSUM_CRC32 &&
	    c->chksum_size == JBD2_CRC32_SIZE && found == crc)
		return true;
	return c->chksum_type == 0 && c->chksum_size == 0 && found == 0;
}

static bool tag_checksum_ok(const struct jnl *j, const uint8_t *tag,
			    uint32_t sequence, const uint8_t *data)
{
	be32_t seq;
	uint32_t crc;

	put_be32(&seq, sequence);
	crc = crc32c(j->csum_seed, &seq, sizeof(seq));
	crc = crc32c(crc, data, j->blocksize);
	if (j->incompat & JBD2_INCOMPAT_CSUM_V3) {
		const struct jbd2_tag3_disk *t3 = (const void *)tag;

		return get_be32(t3->checksum) == crc;
	}
	return get_be16(((const struct jbd2_tag_disk *)tag)->checksum) ==
	       (uint16_t)crc;
}

/* Where the scan is in the log. */
struct scan {
	uint32_t block;	  /* next journal block to read */
	uint32_t visited; /* blocks walked so far */
	uint32_t tid;	  /* transaction expected, from s_sequence */
	bool meta_bad;	  /* a block of it fails its checksum */
	bool ended;	  /* the log ended at a bad commit block */
	bool end_known;	  /* jnl.end is set */
	uint32_t crc;	  /* v1: crc32 of the transaction so far */
	uint64_t last_commit_time;
};

static int advance(struct jnl *j, struct scan *s)
{
	s->block = next_block(j, s->block);
	if (++s->visited > j->last - j->first)
		return fail(j, -EUCLEAN,
			    "the journal's log runs on for longer than the "
			    "journal (a loop at block %u)",
			    s->block);
	return 0;
}

static int scan_descriptor(struct jnl *j, struct scan *s)
{
	uint32_t limit = j->blocksize;
	uint32_t sequence = j->sequence + s->tid;
	bool wanted;
	size_t off;
	int ret;

	if (j->csum) {
		limit -= sizeof(struct jbd2_tail_disk);
		if (!tail_ok(j, j->buf))
			s->meta_bad = true;
	}
	/* The blocks of a transaction that cannot be replayed are skipped. */
	wanted = !s->ended && !s->meta_bad;
	if (wanted && j->csum_v1)
		s->crc = ext2fs_crc32_be(s->crc, j->buf, j->blocksize);

	off = sizeof(struct jbd2_header_disk);
	while (off + j->tag_bytes <= limit) {
		const uint8_t *tag = j->buf + off;
		const struct jbd2_tag_disk *t = (const void *)tag;
		uint32_t flags, copy_at = s->block;
		struct jnl_write *w;
		blk64_t home;

		if (j->incompat & JBD2_INCOMPAT_CSUM_V3)
			flags = get_be32(
				((const struct jbd2_tag3_disk *)tag)->flags);
		else
			flags = get_be16(t->flags);
		home = get_be32(t->blocknr);
		if (j->incompat & JBD2_INCOMPAT_64BIT)
			home |= (blk64_t)get_be32(t->blocknr_high) << 32;

		ret = advance(j, s);
		if (ret)
			return ret;
		if (wanted) {
			ret = grow((void **)&j->writes, &j->writes_cap,
				   j->nwrites, sizeof(*j->writes));
			if (ret)
				return fail(j, ret, "out of memory");
			w = &j->writes[j->nwrites];
			*w = (struct jnl_write){.home = home,
						.tid = s->tid,
						.jblock = copy_at,
						.escaped = flags &
							   JBD2_FLAG_ESCAPE};
			if (j->csum || j->csum_v1)
				ret = read_journal_block(j, copy_at, j->data,
							 &w->copy);
			else
				ret = map_block(j, copy_at, &w->copy);
			if (ret)
				return ret;
			if (j->csum)
				w->bad_checksum = !tag_checksum_ok(
					j, tag, sequence, j->data);
			if (j->csum_v1)
				s->crc = ext2fs_crc32_be(s->crc, j->data,
							 j->blocksize);
			j->nwrites++;
		}

		off += j->tag_bytes;
		if (!(flags & JBD2_FLAG_SAME_UUID))
			off += 16;
		if (flags & JBD2_FLAG_LAST_TAG)
			break;
	}
	return 0;
}

static int scan_revoke(struct jnl *j, struct scan *s, uint32_t at)
{
	const struct jbd2_revoke_disk *r = (const void *)j->buf;
	uint32_t limit = j->blocksize, count, size;

	if (j->csum) {
		limit -= sizeof(struct jbd2_tail_disk);
		if (!tail_ok(j, j->buf))
			s->meta_bad = true;
	}
	count = get_be32(r->count);
	if (count > limit)
		return fail(j, -EUCLEAN,
			    "the revoke block at journal block %u claims %u "
			    "bytes of a %u-byte block",
			    at, count, limit);
	if (s->ended)
		return 0;
	size = j->incompat & JBD2_INCOMPAT_64BIT ? 8 : 4;
	for (uint32_t off = sizeof(*r); off + size <= count; off += size) {
		const uint8_t *p = j->buf + off;
		blk64_t block;
		int ret;

		if (size == 8)
			block = get_be64(*(const be64_t *)p);
		else
			block = get_be32(*(const be32_t *)p);
		ret = grow((void **)&j->revokes, &j->revokes_cap, j->nrevokes,
			   sizeof(*j->revokes));
		if (ret)
			return fail(j, ret, "out of memory");
		j->revokes[j->nrevokes++] =
			(struct jnl_revoke){.block = block, .tid = s->tid};
	}
	return 0;
}

/*
 * A commit block: the transaction counts if it matches. @return 1 when the
 * log ends here, 0 to go on, or -errno.
 */
static int scan_commit(struct jnl *j, struct scan *s)
{
	const struct jbd2_commit_disk *c = (const void *)j->buf;
	uint64_t commit_time = get_be64(c->commit_sec);
	uint32_t sequence = j->sequence + s->tid;
	bool ok = true;

	if (s->meta_bad) {
		/*
		 * Lazily initialised journals hold stale blocks; an older
		 * commit time says this is one, and the log ends. A newer
		 * one says a real transaction is damaged.
		 */
		if (commit_time < s->last_commit_time)
			return 1;
		return fail(j, -EUCLEAN,
			    "transaction %u of the journal has a descriptor "
			    "or revoke block that fails its checksum",
			    sequence);
	}
	if (j->csum_v1) {
		if (s->ended) {
			/* A commit after the failed one: it was damage. */
			note_damage(j,
				    "transaction %u of the journal fails its "
				    "checksum; the replay stopped before it",
				    j->sequence + j->end);
			return 1;
		}
		ok = commit_v1_ok(j->buf, s->crc);
		s->crc = ~0u;
	} else if (j->csum) {
		ok = commit_ok(j, j->buf);
	}
	if (!ok) {
		if (commit_time < s->last_commit_time)
			return 1;
		if (!s->end_known)
			j->end = s->tid;
		s->end_known = true;
		if (!(j->incompat & JBD2_INCOMPAT_ASYNC_COMMIT)) {
			note_damage(j,
				    "transaction %u of the journal fails its "
				    "commit checksum; the replay stopped "
				    "before it",
				    sequence);
			return 1;
		}
		/*
		 * With asynchronous commits a commit block may reach the disk
		 * before its data: the log ends, but the kernel walks on.
		 */
		s->ended = true;
	}
	if (!s->ended) {
		j->writes_committed = j->nwrites;
		j->revokes_committed = j->nrevokes;
		j->transactions++;
	}
	j->nwrites = j->writes_committed;
	j->nrevokes = j->revokes_committed;
	s->last_commit_time = commit_time;
	s->tid++;
	s->meta_bad = false;
	return 0;
}

static int scan_log(struct jnl *j)
{
	struct scan s = {.block = j->start, .crc = ~0u};
	int ret = 0;

	j->end = 0;
	if (!j->start)
		return 0;
	for (;;) {
		const struct jbd2_header_disk *h = (const void *)j->buf;
		uint32_t at = s.block;

		ret = read_journal_block(j, at, j->buf, NULL);
		if (ret)
			return ret;
		if (get_be32(h->magic) != JBD2_MAGIC ||
		    get_be32(h->sequence) != j->sequence + s.tid)
			break;
		ret = advance(j, &s);
		if (ret)
			return ret;

		switch (get_be32(h->blocktype)) {
		case JBD2_DESCRIPTOR_BLOCK:
			ret = scan_descriptor(j, &s);
			break;
		case JBD2_REVOKE_BLOCK:
			ret = scan_revoke(j, &s, at);
			break;
		case JBD2_COMMIT_BLOCK:
			ret = scan_commit(j, &s);
			break;
		default:
			/* Not a log block: the log ends, as in the kernel. */
			ret = 1;
			break;
		}
		if (ret < 0)
			return ret;
		if (ret > 0)
			break;
	}
	if (!s.end_known)
		j->end = s.tid;
	/* What followed the last good commit block was never committed. */
	j->nwrites = j->writes_committed;
	j->nrevokes = j->revokes_committed;
	return 0;
}

/* ---- pass 2: revoke table --------------------------------------------- */

static int revoke_cmp(const void *a, const void *b)
{
	const struct jnl_revoke *x = a, *y = b;

	if (x->block != y->block)
		return x->block < y->block ? -1 : 1;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

/* Sort by block and keep, for each, its latest revoking transaction. */
static void build_revoke_table(struct jnl *j)
{
	size_t n = 0;

	if (!j->nrevokes)
		return;
	qsort(j->revokes, j->nrevokes, sizeof(*j->revokes), revoke_cmp);
	for (size_t i = 0; i < j->nrevokes; i++) {
		if (n && j->revokes[n - 1].block == j->revokes[i].block)
			n--;
		j->revokes[n++] = j->revokes[i];
	}
	j->nrevokes = n;
}

/* A block is revoked for its own transaction and every earlier one. */
static bool is_revoked(const struct jnl *j, blk64_t block, uint32_t tid)
{
	size_t lo = 0, hi = j->nrevokes;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (j->revokes[mid].block == block)
			return j->revokes[mid].tid >= tid;
		if (j->revokes[mid].block < block)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/*
 * After the scan and the revoke table, before anything is written: every
 * block the replay would write lies inside the file system, and no fast commits
 * wait to be replayed after the last full commit (ext4's own format, not
 * JBD2's).
 */
static int check_plan(struct jnl *j)
{
	blk64_t blocks = ext2fs_blocks_count(j->fs->super);
	uint32_t fc_first = j->last + 1;
	int ret;

	for (size_t i = 0; i < j->nwrites; i++) {
		const struct jnl_write *w = &j->writes[i];

		if (w->home < blocks || w->bad_checksum ||
		    is_revoked(j, w->home, w->tid))
			continue;
		return fail(j, -EUCLEAN,
			    "transaction %u of the journal logs block %llu, "
			    "past the end of the file system (%llu blocks)",
			    j->sequence + w->tid, (unsigned long long)w->home,
			    (unsigned long long)blocks);
	}

	if ((j->incompat & JBD2_INCOMPAT_FAST_COMMIT) && fc_first < j->maxlen) {
		const struct ext4_fc_tl_disk *tl = (const void *)j->buf;
		const struct ext4_fc_head_disk *head =
			(const void *)(j->buf + sizeof(*tl));

		ret = read_journal_block(j, fc_first, j->buf, NULL);
		if (ret)
			return ret;
		if (get_le16(tl->tag) == EXT4_FC_TAG_HEAD &&
		    get_le16(tl->len) >= sizeof(*head) &&
		    get_le32(head->tid) == j->sequence + j->end)
			return fail(j, -EOPNOTSUPP,
				    "the journal holds fast commits after "
				    "transaction %u, which are not replayed "
				    "here; the guest's kernel replays them "
				    "when it boots",
				    j->sequence + j->end - 1);
	}
	return 0;
}

/* ---- pass 3: replay --------------------------------------------------- */

/*
 * A logged copy of the superblock goes home with needs_recovery set, as the
 * kernel's own copies have it, so that a replay cut short is done again
 * from the start; the last step clears it.
 */
static void keep_needs_recovery(const struct jnl *j, uint8_t *block)
{
	uint8_t *sb = block + SUPERBLOCK_OFFSET % j->blocksize;
	uint8_t *incompat =
		sb + offsetof(struct ext2_super_block, s_feature_incompat);
	const size_t csum_at = offsetof(struct ext2_super_block, s_checksum);

	if (load_le16(sb + offsetof(struct ext2_super_block, s_magic)) !=
	    EXT2_SUPER_MAGIC)
		return;
	store_le32(incompat,
		   load_le32(incompat) | EXT3_FEATURE_INCOMPAT_RECOVER);
	if (load_le32(sb +
		      offsetof(struct ext2_super_block, s_feature_ro_compat)) &
	    EXT4_FEATURE_RO_COMPAT_METADATA_CSUM)
		store_le32(sb + csum_at, crc32c(~0u, sb, csum_at));
}

static int replay_blocks(struct jnl *j, struct ext4_replay *out)
{
	int ret;

	for (size_t i = 0; i < j->nwrites; i++) {
		const struct jnl_write *w = &j->writes[i];

		if (is_revoked(j, w->home, w->tid)) {
			out->revoked++;
			continue;
		}
		if (w->bad_checksum) {
			note_damage(j,
				    "journal block %u (block %llu of "
				    "transaction %u) fails its checksum and "
				    "was not replayed",
				    w->jblock, (unsigned long long)w->home,
				    j->sequence + w->tid);
			continue;
		}
		ret = read_fs_block(j, w->copy, j->buf);
		if (ret)
			return ret;
		if (w->escaped)
			put_be32((be32_t *)j->buf, JBD2_MAGIC);
		if (w->home == SUPERBLOCK_OFFSET / j->blocksize)
			keep_needs_recovery(j, j->buf);
		ret = write_fs_block(j, w->home, j->buf);
		if (ret)
			return ret;
		out->blocks++;
	}
	return flush_io(j);
}

/*
 * The log is home: mark it empty, and start the next transaction past every
 * one it held (the kernel's numbering, so stale commit blocks never match).
 * An error the journal recorded moves to the file system's state.
 */
static int reset_journal(struct jnl *j)
{
	struct jbd2_super_disk *jsb = (struct jbd2_super_disk *)j->sb_block;
	int ret;

	put_be32(&jsb->sequence, j->sequence + j->end + 1);
	put_be32(&jsb->start, 0);
	put_be32(&jsb->error, 0);
	if (j->csum)
		put_be32(&jsb->checksum, super_checksum(j->sb_block));
	ret = write_fs_block(j, j->sb_home, j->sb_block);
	if (ret)
		return ret;
	return flush_io(j);
}

/* ---- the file system's superblock ------------------------------------- */

/* Whether libext2fs's in-memory layout of @fs still fits superblock @new. */
static bool same_geometry(const struct ext2_super_block *old,
			  const struct ext2_super_block *new)
{
	const uint32_t incompat = EXT4_FEATURE_INCOMPAT_64BIT |
				  EXT2_FEATURE_INCOMPAT_META_BG |
				  EXT4_FEATURE_INCOMPAT_CSUM_SEED;
	const uint32_t ro_compat = EXT4_FEATURE_RO_COMPAT_METADATA_CSUM |
				   EXT4_FEATURE_RO_COMPAT_GDT_CSUM |
				   EXT4_FEATURE_RO_COMPAT_BIGALLOC;

	return old->s_blocks_count == new->s_blocks_count &&
	       old->s_blocks_count_hi == new->s_blocks_count_hi &&
	       old->s_inodes_count == new->s_inodes_count &&
	       old->s_first_data_block == new->s_first_data_block &&
	       old->s_log_block_size == new->s_log_block_size &&
	       old->s_log_cluster_size == new->s_log_cluster_size &&
	       old->s_blocks_per_group == new->s_blocks_per_group &&
	       old->s_clusters_per_group == new->s_clusters_per_group &&
	       old->s_inodes_per_group == new->s_inodes_per_group &&
	       old->s_inode_size == new->s_inode_size &&
	       old->s_desc_size == new->s_desc_size &&
	       old->s_first_meta_bg == new->s_first_meta_bg &&
	       old->s_checksum_seed == new->s_checksum_seed &&
	       (old->s_feature_incompat & incompat) ==
		       (new->s_feature_incompat &incompat) &&
	       (old->s_feature_ro_compat & ro_compat) ==
		       (new->s_feature_ro_compat &ro_compat) &&
	       memcmp(old->s_uuid, new->s_uuid, sizeof(old->s_uuid)) == 0;
}

/*
 * The log may have rewritten the superblock and the group descriptors: take
 * them from the disk into @fs, so that what libext2fs writes later is the
 * replayed state. @return 0, 1 when the geometry changed (the descriptors
 * are then left alone), or -errno.
 */
static int reload_super(struct jnl *j)
{
	ext2_filsys fs = j->fs;
	blk64_t block = SUPERBLOCK_OFFSET / j->blocksize;
	size_t off = SUPERBLOCK_OFFSET % j->blocksize;
	struct ext2_super_block disk, native;
	int ret;

	ret = read_fs_block(j, block, j->buf);
	if (ret)
		return ret;
	memcpy(&disk, j->buf + off, sizeof(disk));
	native = disk;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	ext2fs_swap_super(&native);
#endif
	if (native.s_magic != EXT2_SUPER_MAGIC)
		return fail(j, -EUCLEAN,
			    "the replayed superblock has no ext2 magic number");
	if (!same_geometry(fs->super, &native)) {
		*fs->super = native;
		memcpy(fs->orig_super, &disk, sizeof(disk));
		return 1;
	}
	*fs->super = native;
	memcpy(fs->orig_super, &disk, sizeof(disk));

	for (unsigned long i = 0; fs->group_desc && i < fs->desc_blocks; i++) {
		char *dest = (char *)fs->group_desc + i * fs->blocksize;

		ret = read_fs_block(
			j,
			ext2fs_descriptor_block_loc2(
				fs, fs->super->s_first_data_block, (dgrp_t)i),
			dest);
		if (ret)
			return ret;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		for (int k = 0; k < EXT2_DESC_PER_BLOCK(fs->super); k++) {
			dgrp_t g = i * EXT2_DESC_PER_BLOCK(fs->super) + k;
			struct ext2_group_desc *gd;

			if (g >= fs->group_desc_count)
				break;
			gd = ext2fs_group_desc(fs, fs->group_desc, g);
			ext2fs_swap_group_desc2(fs, gd);
		}
#endif
	}
	return 0;
}

/*
 * Clear needs_recovery (and, after damage, set the error state) and write
 * the primary superblock, as e2fsck does after a replay: backups are left
 * alone. With a changed geometry only the superblock is written.
 */
static int write_super(struct jnl *j, bool errors, bool stale)
{
	ext2_filsys fs = j->fs;
	int saved =
		fs->flags & (EXT2_FLAG_MASTER_SB_ONLY | EXT2_FLAG_SUPER_ONLY);
	errcode_t code;

	ext2fs_clear_feature_journal_needs_recovery(fs->super);
	if (errors)
		fs->super->s_state |= EXT2_ERROR_FS;
	ext2fs_mark_super_dirty(fs);
	fs->flags |= EXT2_FLAG_MASTER_SB_ONLY;
	if (stale)
		fs->flags |= EXT2_FLAG_SUPER_ONLY;
	code = ext2fs_flush(fs);
	fs->flags = (fs->flags &
		     ~(EXT2_FLAG_MASTER_SB_ONLY | EXT2_FLAG_SUPER_ONLY)) |
		    saved;
	if (code)
		return fail(j, ext2_to_errno(code, -EIO),
			    "cannot write the superblock: %s",
			    error_message(code));
	return 0;
}

/* ---- entry points ----------------------------------------------------- */

bool ext4_journal_needs_recovery(ext2_filsys fs)
{
	return ext2fs_has_feature_journal_needs_recovery(fs->super);
}

/* Passes 1 and 2, and every check: nothing is written before they pass. */
static int plan(struct jnl *j)
{
	ext2_filsys fs = j->fs;
	int ret;

	if (!(fs->flags & EXT2_FLAG_RW))
		return fail(j, -EROFS, "the file system is open read-only");
	if ((fs->flags & EXT2_FLAG_DIRTY) || fs->block_map || fs->inode_map)
		return fail(j, -EBUSY,
			    "the file system has changes or bitmaps in memory; "
			    "replay its journal first");

	j->buf = malloc(fs->blocksize);
	j->data = malloc(fs->blocksize);
	j->sb_block = malloc(fs->blocksize);
	if (!j->buf || !j->data || !j->sb_block)
		return fail(j, -ENOMEM, "out of memory");

	ret = load_super(j);
	if (ret)
		return ret;
	ret = scan_log(j);
	if (ret)
		return ret;
	build_revoke_table(j);
	return check_plan(j);
}

/* Pass 3, the journal's reset and the superblock. */
static int replay(struct jnl *j, struct ext4_replay *out)
{
	ext2_filsys fs = j->fs;
	int ret, stale;

	out->transactions = j->transactions;
	ret = replay_blocks(j, out);
	if (ret)
		return ret;
	if (j->error)
		note_damage(j, "the journal recorded error %d (%s)", j->error,
			    strerror(j->error < 0 ? -j->error : j->error));
	ret = reset_journal(j);
	if (ret)
		return ret;

	stale = reload_super(j);
	if (stale < 0)
		return stale;
	ext2fs_flush_icache(fs);
	ret = write_super(j, j->damaged, stale);
	if (ret)
		return ret;
	out->errors = j->damaged;
	if (j->damaged)
		fail(j, 0, "%s; the file system is marked with errors",
		     j->damage);
	if (stale)
		return fail(j, -ESTALE,
			    "the journal changed the file system's size or "
			    "layout (an online resize): open it again%s%s",
			    j->damaged ? "; " : "",
			    j->damaged ? j->damage : "");
	return 0;
}

int ext4_journal_replay(ext2_filsys fs, struct ext4_replay *out, char *err,
			size_t err_size)
{
	struct ext4_replay ignored;
	struct jnl j = {.fs = fs, .err = err, .err_size = err_size};
	int ret = 0;

	if (!out)
		out = &ignored;
	*out = (struct ext4_replay){0};
	if (err && err_size)
		err[0] = '\0';
	if (!ext4_journal_needs_recovery(fs))
		goto out;
	ret = plan(&j);
	if (ret)
		goto out;
	ret = replay(&j, out);
	/*
	 * Written in part, or with a changed geometry: what @fs holds in
	 * memory may no longer match the disk, and nothing of it may reach
	 * the disk, not even through ext2fs_close().
	 */
	if (ret)
		fs->flags &= ~EXT2_FLAG_RW;
out:
	free(j.writes);
	free(j.revokes);
	free(j.buf);
	free(j.data);
	free(j.sb_block);
	return ret;
}
