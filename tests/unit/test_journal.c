// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The JBD2 journal replay (ext4/journal.c), with e2fsck as the oracle. Each
 * test makes an ext3/ext4 partition with mke2fs, derives the next states of
 * the file system from it with debugfs, writes the blocks that changed into
 * the first state's journal as transactions (debugfs jo/jw/jc, which does
 * not checkpoint them, so needs_recovery stays set), and puts the partition
 * at an odd offset inside a larger image file. The replay runs there,
 * through libext2fs's unix io manager; e2fsck -E journal_only replays a
 * copy of the partition alone. The two must agree byte for byte (but for
 * the superblock's write time, lifetime writes and checksum), the bytes
 * around the partition must be untouched, e2fsck -fn must find the result
 * clean, and the files must read back through debugfs as the last state
 * had them. Damaged journals are made by editing the log that debugfs wrote.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../ext4/jbd2.h"
#include "../../ext4/journal.h"

#define UUID "6b1e2f0a-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
#define NOW  1700000000L
/* Not a multiple of any block size: nothing may assume an aligned start. */
#define OFFSET (1048576L + 3 * 512)
#define TAIL   65536L
#define MAX_TX 6

static char dir[256];

/* ---- shell and files ---------------------------------------------------- */

__attribute__((format(printf, 1, 2))) static int run(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	status = system(cmd);
	if (status == -1 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

#define must(...) assert_int_equal(run(__VA_ARGS__), 0)

/*
 * A path in the test's folder. The buffer is reused after 32 more calls:
 * a function that keeps one across calls of its own copies it.
 */
static const char *at(const char *name)
{
	static char paths[32][PATH_MAX];
	static int next;
	char *p = paths[next++ % 32];

	snprintf(p, PATH_MAX, "%s/%s", dir, name);
	return p;
}

/* What a command printed, in a buffer the caller frees. */
__attribute__((format(printf, 1, 2))) static char *output(const char *fmt, ...)
{
	char cmd[4096];
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	va_list ap;
	FILE *p;
	size_t n;

	assert_non_null(buf);
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	assert_non_null(p);
	while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
		len += n;
		if (len + 1 == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
	}
	buf[len] = '\0';
	pclose(p);
	return buf;
}

static uint8_t *slurp(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *buf;

	assert_non_null(f);
	assert_int_equal(fstat(fileno(f), &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)st.st_size, f),
			 (size_t)st.st_size);
	fclose(f);
	*size = (size_t)st.st_size;
	return buf;
}

static void spill(const char *path, const void *buf, size_t size)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, size, f), size);
	assert_int_equal(fclose(f), 0);
}

static void pwrite_file(const char *path, long long off, const void *buf,
			size_t size)
{
	FILE *f = fopen(path, "r+b");

	assert_non_null(f);
	assert_int_equal(fseeko(f, off, SEEK_SET), 0);
	assert_int_equal(fwrite(buf, 1, size, f), size);
	assert_int_equal(fclose(f), 0);
}

static void pread_file(const char *path, long long off, void *buf, size_t size)
{
	FILE *f = fopen(path, "rb");

	assert_non_null(f);
	assert_int_equal(fseeko(f, off, SEEK_SET), 0);
	assert_int_equal(fread(buf, 1, size, f), size);
	fclose(f);
}

/* A file of @size bytes from a seeded generator, maybe opening with @head. */
static void make_file(const char *name, size_t size, unsigned seed,
		      const void *head, size_t head_size)
{
	uint8_t *buf = malloc(size);
	uint32_t x = seed * 2654435761u + 1;

	assert_non_null(buf);
	for (size_t i = 0; i < size; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
	if (head)
		memcpy(buf, head, head_size);
	spill(at(name), buf, size);
	free(buf);
}

/* ---- file systems ------------------------------------------------------- */

struct layout {
	const char *name;
	const char *mkfs; /* mke2fs options */
	const char *size;
	const char *jo; /* debugfs journal_open options */
	unsigned wrap;	/* > 0: move the log to start this many
			   blocks before the end of the journal */
	bool v1;	/* turn the log's checksums into v1 ones */
};

static const struct layout ext4_default = {
	.name = "ext4, metadata_csum, 64bit: CSUM_V3",
	.mkfs = "-t ext4 -b 4096",
	.size = "32M",
	.jo = "-c",
};

static ext2_filsys open_fs(const char *path, const char *options, int flags)
{
	ext2_filsys fs;
	errcode_t code = ext2fs_open2(path, options, flags | EXT2_FLAG_64BITS,
				      0, 0, unix_io_manager, &fs);

	if (code)
		fail_msg("ext2fs_open2 %s: %s", path, error_message(code));
	fs->now = NOW;
	return fs;
}

static unsigned fs_blocksize(const char *img)
{
	ext2_filsys fs = open_fs(img, NULL, 0);
	unsigned bs = fs->blocksize;

	ext2fs_close2(fs, 0);
	return bs;
}

/* The file-system block of journal block @jblock. */
static blk64_t journal_phys(const char *img, uint32_t jblock)
{
	ext2_filsys fs = open_fs(img, NULL, 0);
	blk64_t phys = 0;

	assert_int_equal(ext2fs_bmap2(fs, fs->super->s_journal_inum, NULL, NULL,
				      0, jblock, NULL, &phys),
			 0);
	ext2fs_close2(fs, 0);
	assert_true(phys != 0);
	return phys;
}

struct jsb {
	char img[PATH_MAX];
	long long off;
	unsigned blocksize;
	struct jbd2_super_disk sb;
};

static void jsb_read(struct jsb *j, const char *img)
{
	snprintf(j->img, sizeof(j->img), "%s", img);
	j->blocksize = fs_blocksize(img);
	j->off = (long long)journal_phys(img, 0) * j->blocksize;
	pread_file(img, j->off, &j->sb, sizeof(j->sb));
	assert_int_equal(get_be32(j->sb.header.magic), JBD2_MAGIC);
}

static void jsb_write(struct jsb *j, bool fix_checksum)
{
	if (fix_checksum && (get_be32(j->sb.feature_incompat) &
			     (JBD2_INCOMPAT_CSUM_V2 | JBD2_INCOMPAT_CSUM_V3))) {
		put_be32(&j->sb.checksum, 0);
		put_be32(&j->sb.checksum,
			 ext2fs_crc32c_le(~0u, (void *)&j->sb, sizeof(j->sb)));
	}
	pwrite_file(j->img, j->off, &j->sb, sizeof(j->sb));
}

static void mkfs(const struct layout *l, const char *img)
{
	must("mke2fs -q -F -o Linux -U " UUID " -E hash_seed=" UUID
	     " %s '%s' %s >/dev/null",
	     l->mkfs, img, l->size);
}

/* A base file system: some files and folders to change. */
static void make_base(const struct layout *l)
{
	FILE *f;

	make_file("hello.txt", 13, 1, "hello, world\n", 13);
	make_file("big.bin", 200000, 2, NULL, 0);
	make_file("small.bin", 5000, 3, NULL, 0);
	mkfs(l, at("s0.img"));
	f = fopen(at("base.cmd"), "w");
	assert_non_null(f);
	fprintf(f,
		"write \"%s\" /hello\nwrite \"%s\" /big\nmkdir /d\n"
		"write \"%s\" /d/small\n",
		at("hello.txt"), at("big.bin"), at("small.bin"));
	fclose(f);
	must("debugfs -w -f '%s' '%s' >/dev/null 2>&1", at("base.cmd"),
	     at("s0.img"));
}

/* ---- transactions -------------------------------------------------------- */

struct tx {
	const char *ops;    /* debugfs commands for the next state */
	const char *blocks; /* more blocks to log, from @data */
	const char *data;
	const char *revoke; /* blocks to revoke */
	bool uncommitted;   /* no commit block */
};

struct log {
	int n;
	size_t logged[MAX_TX]; /* blocks each transaction logs */
};

/*
 * Append to @list the blocks that differ between images @a and @b, and
 * their contents in @b to the file @data.
 */
static size_t diff_blocks(const char *a, const char *b, unsigned bs, char *list,
			  size_t list_size, const char *data)
{
	size_t sa, sb, count = 0, len = strlen(list);
	uint8_t *x = slurp(a, &sa), *y = slurp(b, &sb);
	FILE *f = fopen(data, "wb");

	assert_int_equal(sa, sb);
	assert_non_null(f);
	for (size_t blk = 0; blk < sa / bs; blk++) {
		if (!memcmp(x + blk * bs, y + blk * bs, bs))
			continue;
		len += (size_t)snprintf(list + len, list_size - len, "%s%zu",
					len ? "," : "", blk);
		assert_true(len < list_size);
		assert_int_equal(fwrite(y + blk * bs, 1, bs, f), bs);
		count++;
	}
	fclose(f);
	free(x);
	free(y);
	return count;
}

/*
 * Make states s1..sN of s0.img with the transactions' debugfs commands,
 * then write the transactions into s0.img's journal.
 */
static void write_log(const struct layout *l, const struct tx *tx, int n,
		      struct log *log)
{
	unsigned bs = fs_blocksize(at("s0.img"));
	FILE *script = fopen(at("log.cmd"), "w");
	char name[64], prev[64];

	assert_non_null(script);
	assert_true(n <= MAX_TX);
	fprintf(script, "jo %s\n", l->jo);
	log->n = n;
	for (int i = 0; i < n; i++) {
		char list[16384] = "";
		char data[64];

		/* See four_transactions(). */
		assert_false(tx[i].revoke && (tx[i].ops || tx[i].blocks) &&
			     i + 1 < n);

		snprintf(prev, sizeof(prev), "s%d.img", i);
		snprintf(name, sizeof(name), "s%d.img", i + 1);
		snprintf(data, sizeof(data), "tx%d.data", i + 1);
		must("cp --sparse=always '%s' '%s'", at(prev), at(name));
		if (tx[i].ops) {
			FILE *f = fopen(at("ops.cmd"), "w");

			assert_non_null(f);
			fputs(tx[i].ops, f);
			fclose(f);
			must("cd '%s' && debugfs -w -f ops.cmd '%s' "
			     ">/dev/null 2>&1",
			     dir, name);
		}
		log->logged[i] = diff_blocks(at(prev), at(name), bs, list,
					     sizeof(list), at(data));
		if (tx[i].blocks) {
			must("cat '%s' >> '%s'", at(tx[i].data), at(data));
			snprintf(list + strlen(list),
				 sizeof(list) - strlen(list), "%s%s",
				 list[0] ? "," : "", tx[i].blocks);
			for (const char *p = tx[i].blocks; *p; p++)
				log->logged[i] += *p == ',';
			log->logged[i]++;
		}
		fprintf(script, "jw%s%s%s%s%s \"%s\"\n", list[0] ? " -b " : "",
			list, tx[i].revoke ? " -r " : "",
			tx[i].revoke ? tx[i].revoke : "",
			tx[i].uncommitted ? " -c" : "",
			list[0] ? at(data) : "/dev/null");
	}
	fprintf(script, "jc\n");
	fclose(script);
	must("debugfs -w -f '%s' '%s' >/dev/null 2>&1", at("log.cmd"),
	     at("s0.img"));
}

/* ---- reading the log with debugfs logdump -------------------------------- */

struct jentry {
	unsigned seq;
	unsigned type; /* 1, 2, 5; 0: a logged data block */
	uint32_t jblock;
	unsigned long long home;
	unsigned flags;
};

static size_t logdump(const char *img, struct jentry *e, size_t max)
{
	char *out = output("debugfs -R 'logdump -a' '%s' 2>/dev/null", img);
	size_t n = 0;
	unsigned seq = 0;

	for (char *line = strtok(out, "\n"); line && n < max;
	     line = strtok(NULL, "\n")) {
		unsigned s, t, b, fl;
		unsigned long long home;

		if (sscanf(line,
			   "Found expected sequence %u, type %u (%*[^)]) "
			   "at block %u",
			   &s, &t, &b) == 3) {
			seq = s;
			e[n++] = (struct jentry){s, t, b, 0, 0};
		} else if (sscanf(line,
				  "  FS block %llu logged at journal block %u "
				  "(flags 0x%x)",
				  &home, &b, &fl) == 3) {
			e[n++] = (struct jentry){seq, 0, b, home, fl};
		}
	}
	free(out);
	return n;
}

/* The journal block of the @nth entry of @type in transaction @seq. */
static uint32_t find_block(const char *img, unsigned seq, unsigned type,
			   int nth)
{
	struct jentry e[4096];
	size_t n = logdump(img, e, 4096);

	for (size_t i = 0; i < n; i++)
		if (e[i].seq == seq && e[i].type == type && nth-- == 0)
			return e[i].jblock;
	fail_msg("no block of type %u in transaction %u", type, seq);
	return 0;
}

/* Flip a byte @off bytes into journal block @jblock of @img. */
static void damage_journal_block(const char *img, uint32_t jblock, unsigned off)
{
	unsigned bs = fs_blocksize(img);
	long long pos = (long long)journal_phys(img, jblock) * bs + off;
	uint8_t byte;

	pread_file(img, pos, &byte, 1);
	byte ^= 0x5a;
	pwrite_file(img, pos, &byte, 1);
}

/*
 * Move the whole circular log so that it starts @from_end blocks before
 * its end: the transactions wrap around. Nothing in a log block says where
 * it lies, so the moved log is as valid as the original.
 */
static void wrap_log(const char *img, unsigned from_end)
{
	struct jsb j;
	uint32_t first, last, start, ring, shift;
	uint8_t *ring_buf;
	unsigned bs;

	jsb_read(&j, img);
	bs = j.blocksize;
	first = get_be32(j.sb.first);
	last = get_be32(j.sb.maxlen);
	start = get_be32(j.sb.start);
	ring = last - first;
	shift = (last - from_end - start + ring) % ring;
	ring_buf = malloc((size_t)ring * bs);
	assert_non_null(ring_buf);
	for (uint32_t i = 0; i < ring; i++)
		pread_file(img, (long long)journal_phys(img, first + i) * bs,
			   ring_buf + (size_t)i * bs, bs);
	for (uint32_t i = 0; i < ring; i++)
		pwrite_file(img,
			    (long long)journal_phys(img, first + (i + shift) %
									 ring) *
				    bs,
			    ring_buf + (size_t)i * bs, bs);
	free(ring_buf);
	put_be32(&j.sb.start, last - from_end);
	jsb_write(&j, true);
}

/*
 * Give a log written without checksums the v1 kind: COMPAT_CHECKSUM, and
 * in each commit block the crc32 (big-endian, no inversion) of the
 * transaction's descriptor blocks, each followed by its data blocks.
 */
static void make_v1(const char *img)
{
	struct jentry e[4096];
	size_t n = logdump(img, e, 4096);
	unsigned bs = fs_blocksize(img);
	uint8_t *block = malloc(bs);
	uint32_t crc = ~0u;
	struct jsb j;

	assert_non_null(block);
	for (size_t i = 0; i < n; i++) {
		long long pos = (long long)journal_phys(img, e[i].jblock) * bs;

		pread_file(img, pos, block, bs);
		if (e[i].type == JBD2_DESCRIPTOR_BLOCK || e[i].type == 0) {
			crc = ext2fs_crc32_be(crc, block, bs);
		} else if (e[i].type == JBD2_COMMIT_BLOCK) {
			struct jbd2_commit_disk *c = (void *)block;

			c->chksum_type = JBD2_CHECKSUM_CRC32;
			c->chksum_size = JBD2_CRC32_SIZE;
			put_be32(&c->chksum[0], crc);
			pwrite_file(img, pos, block, bs);
			crc = ~0u;
		}
	}
	free(block);
	jsb_read(&j, img);
	assert_int_equal(get_be32(j.sb.header.blocktype), JBD2_SUPERBLOCK_V2);
	put_be32(&j.sb.feature_compat,
		 get_be32(j.sb.feature_compat) | JBD2_COMPAT_CHECKSUM);
	jsb_write(&j, true);
}

/* ---- replaying -------------------------------------------------------- */

/* The partition at OFFSET in disk.img, between bytes that must not change. */
static void place(const char *part)
{
	size_t size;
	uint8_t *p = slurp(part, &size);
	uint8_t *disk = malloc(OFFSET + size + TAIL);

	assert_non_null(disk);
	memset(disk, 0x5a, OFFSET);
	memcpy(disk + OFFSET, p, size);
	memset(disk + OFFSET + size, 0xa5, TAIL);
	spill(at("disk.img"), disk, OFFSET + size + TAIL);
	free(disk);
	free(p);
}

/* The partition back out of disk.img, checking the bytes around it. */
static void take_out(const char *part)
{
	size_t size;
	uint8_t *disk = slurp(at("disk.img"), &size);

	for (long i = 0; i < OFFSET; i++)
		if (disk[i] != 0x5a)
			fail_msg("byte %ld before the partition changed", i);
	for (size_t i = size - TAIL; i < size; i++)
		if (disk[i] != 0xa5)
			fail_msg("byte %zu after the partition changed",
				 i - (size - TAIL));
	spill(part, disk + OFFSET, size - OFFSET - TAIL);
	free(disk);
}

/* Replay disk.img's partition; the result goes to ours.img. */
static int replay(struct ext4_replay *r, char *err, size_t err_size,
		  bool *needed)
{
	char options[64];
	ext2_filsys fs;
	int ret;

	snprintf(options, sizeof(options), "offset=%ld", OFFSET);
	fs = open_fs(at("disk.img"), options, EXT2_FLAG_RW);
	if (needed)
		*needed = ext4_journal_needs_recovery(fs);
	ret = ext4_journal_replay(fs, r, err, err_size);
	/* Once the replay has written, a failure leaves @fs read-only. */
	if (ret == -ESTALE || ret == -EIO)
		assert_false(fs->flags & EXT2_FLAG_RW);
	assert_int_equal(ext2fs_close2(fs, 0), 0);
	take_out(at("ours.img"));
	return ret;
}

/*
 * e2fsck replays a copy of the partition alone, into ref.img. Without -f:
 * with it, e2fsck 1.47 goes on from the replay to a full check and repair.
 */
static int oracle(const char *part)
{
	must("cp --sparse=always '%s' '%s'", part, at("ref.img"));
	return run("e2fsck -y -E journal_only '%s' >'%s' 2>&1", at("ref.img"),
		   at("e2fsck.log"));
}

/* compare() flags */
#define SAME_BUT_STATE 1 /* the superblocks' s_state may differ */

/* Superblock fields e2fsck and this replay may set differently. */
static void mask_super(uint8_t *block, size_t sb_off, int flags)
{
	struct ext2_super_block *sb = (void *)(block + sb_off);

	sb->s_wtime = 0;
	sb->s_wtime_hi = 0;
	sb->s_kbytes_written = 0;
	sb->s_checksum = 0;
	if (flags & SAME_BUT_STATE)
		sb->s_state = 0;
}

/* Compare two partitions block by block, skipping @skip (may be NULL). */
static void compare(const char *a, const char *b, const bool *skip, int flags,
		    const char *what)
{
	size_t sa, sb;
	uint8_t *x = slurp(a, &sa), *y = slurp(b, &sb);
	unsigned bs = fs_blocksize(a);
	size_t sb_block = SUPERBLOCK_OFFSET / bs,
	       sb_off = SUPERBLOCK_OFFSET % bs;
	int shown = 0;

	assert_int_equal(sa, sb);
	mask_super(x + sb_block * bs, sb_off, flags);
	mask_super(y + sb_block * bs, sb_off, flags);
	for (size_t blk = 0; blk < sa / bs; blk++) {
		if ((skip && skip[blk]) ||
		    !memcmp(x + blk * bs, y + blk * bs, bs))
			continue;
		if (shown++ < 8)
			print_error("%s: block %zu differs\n", what, blk);
	}
	free(x);
	free(y);
	if (shown)
		fail_msg("%s: %d blocks differ", what, shown);
}

static int mark_block(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt,
		      blk64_t ref_blk, int ref_offset, void *priv)
{
	bool *skip = priv;

	(void)fs, (void)blockcnt, (void)ref_blk, (void)ref_offset;
	skip[*blocknr] = true;
	return 0;
}

/* A block set, empty, for @img. */
static bool *no_blocks(const char *img)
{
	ext2_filsys fs = open_fs(img, NULL, 0);
	bool *set = calloc(ext2fs_blocks_count(fs->super), sizeof(bool));

	assert_non_null(set);
	ext2fs_close2(fs, 0);
	return set;
}

/* The journal's blocks, which a replay and debugfs's states differ in. */
static bool *journal_blocks(const char *img)
{
	ext2_filsys fs = open_fs(img, NULL, 0);
	bool *skip = no_blocks(img);

	assert_int_equal(ext2fs_block_iterate3(fs, fs->super->s_journal_inum, 0,
					       NULL, mark_block, skip),
			 0);
	ext2fs_close2(fs, 0);
	return skip;
}

static void fsck_clean(const char *img)
{
	int status = run("e2fsck -fn '%s' >'%s' 2>&1", img, at("fsck.log"));

	if (status != 0) {
		char *log = output("cat '%s'", at("fsck.log"));

		print_error("%s", log);
		free(log);
		fail_msg("e2fsck -fn %s: status %d", img, status);
	}
}

/* @path in @img reads as the host file @expected. */
static void check_file(const char *img, const char *path, const char *expected)
{
	must("debugfs -R 'dump %s %s' '%s' >/dev/null 2>&1", path, at("dumped"),
	     img);
	must("cmp -s '%s' '%s'", at("dumped"), at(expected));
}

static struct ext2_super_block read_super(const char *img)
{
	struct ext2_super_block sb;

	pread_file(img, SUPERBLOCK_OFFSET, &sb, sizeof(sb));
	return sb;
}

/*
 * s0.img holds the log: replay it at OFFSET and through e2fsck, and check
 * that both agree; @expected (an image) is what the file system must be
 * outside its journal, or NULL.
 */
static void replay_and_compare(struct ext4_replay *r, const char *expected_img)
{
	char expected[PATH_MAX];
	struct ext2_super_block sb;
	char err[256];
	bool needed;
	bool *skip;

	if (expected_img)
		snprintf(expected, sizeof(expected), "%s", expected_img);
	place(at("s0.img"));
	assert_true(oracle(at("s0.img")) <= 1);
	assert_int_equal(replay(r, err, sizeof(err), &needed), 0);
	assert_true(needed);
	if (!r->errors)
		assert_string_equal(err, "");
	compare(at("ours.img"), at("ref.img"), NULL, 0, "replay vs e2fsck");
	if (expected_img) {
		skip = journal_blocks(at("ours.img"));
		compare(at("ours.img"), expected, skip, 0,
			"replay vs expected");
		free(skip);
	}
	sb = read_super(at("ours.img"));
	assert_false(ext2fs_has_feature_journal_needs_recovery(&sb));
}

/* ---- the tests ----------------------------------------------------------- */

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	(void)state;
	snprintf(dir, sizeof(dir), "%s/test_journal.XXXXXX", tmp);
	if (!mkdtemp(dir))
		return -1;
	if (getenv("TEST_KEEP"))
		print_message("# files in %s\n", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (getenv("TEST_KEEP"))
		return 0;
	return run("rm -rf '%s'", dir);
}

static int group_setup(void **state)
{
	(void)state;
	/* mke2fs and debugfs stamp this time: reproducible images. */
	setenv("E2FSPROGS_FAKE_TIME", "1700000000", 1);
	return 0;
}

static void need_tools(void)
{
	if (run("(command -v mke2fs && command -v debugfs && "
		"command -v e2fsck && command -v resize2fs) >/dev/null") != 0)
		skip(); /* e2fsprogs is missing: nothing to make images with */
}

/*
 * Four transactions that use each kind of record the log has. (debugfs
 * 1.47.0 drops the commit block of a jw that has both -b and -r when
 * another transaction follows, so revoke records go alone.)
 */
static void four_transactions(const struct layout *l, struct log *log,
			      struct tx *tx)
{
	static const uint8_t magic[4] = {0xc0, 0x3b, 0x39, 0x98};
	static char blocks[32], revoke[32];
	unsigned bs = fs_blocksize(at("s0.img"));
	uint8_t *junk = malloc(bs);
	blk64_t victim;
	char *stat;

	/* A data block of /big, which T3 deletes. */
	stat = output("debugfs -R 'bmap /big 3' '%s' 2>/dev/null",
		      at("s0.img"));
	victim = strtoull(stat, NULL, 10);
	free(stat);
	assert_true(victim > 0);
	assert_non_null(junk);
	memset(junk, 0xee, bs);
	spill(at("junk.data"), junk, bs);
	free(junk);
	snprintf(blocks, sizeof(blocks), "%llu", (unsigned long long)victim);
	snprintf(revoke, sizeof(revoke), "%llu", (unsigned long long)victim);

	make_file("n1.bin", 20000, 11, NULL, 0);
	make_file("n2.bin", 70000, 12, NULL, 0);
	make_file("n3.bin", 3 * bs, 13, NULL, 0);
	/* A data block that begins with the journal's magic: escaped. */
	make_file("esc.bin", 2 * bs, 14, magic, sizeof(magic));
	/*
	 * T1 logs junk for the block, T2 revokes it, T3 frees it, and T4 may
	 * well reuse it, a copy that is replayed.
	 */
	tx[0] = (struct tx){.ops = "write n1.bin /n1\nmkdir /d2\n",
			    .blocks = blocks,
			    .data = "junk.data"};
	tx[1] = (struct tx){.revoke = revoke};
	tx[2] = (struct tx){.ops = "rm /big\n"};
	tx[3] = (struct tx){.ops = "write n2.bin /d2/n2\n"
				   "sif /hello mode 0100600\n"
				   "symlink /sl hello\n"
				   "write n3.bin /n3\nwrite esc.bin /esc\n"
				   "rm /d/small\n"};
	write_log(l, tx, 4, log);
	if (l->wrap)
		wrap_log(at("s0.img"), l->wrap);
	if (l->v1)
		make_v1(at("s0.img"));
}

static void check_four(const char *image)
{
	char img[PATH_MAX];

	snprintf(img, sizeof(img), "%s", image);
	fsck_clean(img);
	check_file(img, "/hello", "hello.txt");
	check_file(img, "/n1", "n1.bin");
	check_file(img, "/d2/n2", "n2.bin");
	check_file(img, "/n3", "n3.bin");
	check_file(img, "/esc", "esc.bin");
	must("debugfs -R 'stat /big' '%s' 2>&1 | grep -q 'not found'", img);
}

static void layout_case(const struct layout *l)
{
	struct ext4_replay r;
	struct log log;
	struct tx tx[4];
	size_t logged = 0;

	need_tools();
	make_base(l);
	four_transactions(l, &log, tx);
	fsck_clean(at("s4.img"));
	replay_and_compare(&r, at("s4.img"));
	for (int i = 0; i < log.n; i++)
		logged += log.logged[i];
	assert_int_equal(r.transactions, 4);
	assert_int_equal(r.revoked, 1);
	assert_int_equal(r.blocks, logged - 1);
	assert_false(r.errors);
	check_four(at("ours.img"));
}

static const struct layout layouts[] = {
	{.name = "ext4, metadata_csum, 64bit: CSUM_V3",
	 .mkfs = "-t ext4 -b 4096",
	 .size = "32M",
	 .jo = "-c"},
	{.name = "ext4, CSUM_V2 (14-byte tags)",
	 .mkfs = "-t ext4 -b 4096",
	 .size = "32M",
	 .jo = "-c -v 2"},
	{.name = "ext4, no checksums, 64bit tags",
	 .mkfs = "-t ext4 -b 4096 -O ^metadata_csum",
	 .size = "32M",
	 .jo = ""},
	{.name = "ext4, 32-bit tags and revoke records",
	 .mkfs = "-t ext4 -b 4096 -O ^64bit,^metadata_csum",
	 .size = "32M",
	 .jo = ""},
	{.name = "ext4, 32-bit, CSUM_V2 (10-byte tags)",
	 .mkfs = "-t ext4 -b 4096 -O ^64bit",
	 .size = "32M",
	 .jo = "-c -v 2"},
	{.name = "ext4, 32-bit, CSUM_V3",
	 .mkfs = "-t ext4 -b 4096 -O ^64bit",
	 .size = "32M",
	 .jo = "-c"},
	{.name = "ext3 (an indirect-mapped journal)",
	 .mkfs = "-t ext3 -b 4096",
	 .size = "32M",
	 .jo = ""},
	{.name = "ext4, 1 KiB blocks",
	 .mkfs = "-t ext4 -b 1024",
	 .size = "16M",
	 .jo = "-c"},
	{.name = "ext4, a small journal that wraps",
	 .mkfs = "-t ext4 -b 4096 -J size=4",
	 .size = "32M",
	 .jo = "-c",
	 .wrap = 3},
	{.name = "ext3, 1 KiB blocks, wrapping in a transaction's data",
	 .mkfs = "-t ext3 -b 1024 -J size=1",
	 .size = "8M",
	 .jo = "",
	 .wrap = 5},
	{.name = "ext4, v1 checksums (COMPAT_CHECKSUM)",
	 .mkfs = "-t ext4 -b 4096 -O ^metadata_csum",
	 .size = "32M",
	 .jo = "",
	 .v1 = true},
	{.name = "ext3, 1 KiB blocks, v1 checksums, wrapping",
	 .mkfs = "-t ext3 -b 1024 -J size=1",
	 .size = "8M",
	 .jo = "",
	 .wrap = 2,
	 .v1 = true},
};

#define LAYOUT_TEST(n)                                                         \
	static void test_layout_##n(void **state)                              \
	{                                                                      \
		(void)state;                                                   \
		print_message("# %s\n", layouts[n].name);                      \
		layout_case(&layouts[n]);                                      \
	}
LAYOUT_TEST(0)
LAYOUT_TEST(1)
LAYOUT_TEST(2)
LAYOUT_TEST(3)
LAYOUT_TEST(4)
LAYOUT_TEST(5)
LAYOUT_TEST(6)
LAYOUT_TEST(7)
LAYOUT_TEST(8)
LAYOUT_TEST(9)
LAYOUT_TEST(10)
LAYOUT_TEST(11)

static void test_clean(void **state)
{
	struct ext4_replay r = {1, 1, 1, true};
	char err[256] = "x";
	bool needed;

	(void)state;
	need_tools();
	make_base(&ext4_default);
	place(at("s0.img"));
	must("cp '%s' '%s'", at("disk.img"), at("before.img"));
	assert_int_equal(replay(&r, err, sizeof(err), &needed), 0);
	assert_false(needed);
	assert_int_equal(r.transactions, 0);
	assert_int_equal(r.blocks, 0);
	assert_int_equal(r.revoked, 0);
	assert_false(r.errors);
	assert_string_equal(err, "");
	must("cmp -s '%s' '%s'", at("disk.img"), at("before.img"));
}

/* A last transaction without its commit block is not replayed. */
static void test_torn(void **state)
{
	struct ext4_replay r;
	struct log log;
	struct tx tx[3] = {
		{.ops = "write n1.bin /n1\n"},
		{.ops = "mkdir /d2\nwrite n2.bin /d2/n2\n"},
		{.ops = "rm /big\nwrite n3.bin /n3\n", .uncommitted = true},
	};

	(void)state;
	need_tools();
	make_base(&ext4_default);
	make_file("n1.bin", 9000, 21, NULL, 0);
	make_file("n2.bin", 9000, 22, NULL, 0);
	make_file("n3.bin", 9000, 23, NULL, 0);
	write_log(&ext4_default, tx, 3, &log);
	replay_and_compare(&r, at("s2.img"));
	assert_int_equal(r.transactions, 2);
	assert_int_equal(r.blocks, log.logged[0] + log.logged[1]);
	assert_false(r.errors);
	fsck_clean(at("ours.img"));
	check_file(at("ours.img"), "/d2/n2", "n2.bin");
	check_file(at("ours.img"), "/big", "big.bin");
}

/*
 * Revoke records cover their own and earlier transactions only, and only
 * committed ones count: X logged in T1 and revoked in T2 stays as it was;
 * Y, logged in T1, revoked in T2 and logged again in T3, gets T3's copy; a
 * torn T4 that revokes Y does not count.
 */
static void test_revoke(void **state)
{
	struct ext4_replay r;
	struct log log;
	unsigned bs;
	char list[64], ys[32], *stat;
	unsigned long long x, y;
	uint8_t *block;
	struct tx tx[4];

	(void)state;
	need_tools();
	make_base(&ext4_default);
	bs = fs_blocksize(at("s0.img"));
	stat = output("debugfs -R 'bmap /big 0' '%s' 2>/dev/null",
		      at("s0.img"));
	x = strtoull(stat, NULL, 10);
	free(stat);
	stat = output("debugfs -R 'bmap /big 1' '%s' 2>/dev/null",
		      at("s0.img"));
	y = strtoull(stat, NULL, 10);
	free(stat);
	assert_true(x && y);

	block = malloc(2 * bs);
	assert_non_null(block);
	memset(block, 'P', 2 * bs);
	spill(at("p.data"), block, 2 * bs);
	memset(block, 'Q', bs);
	spill(at("q.data"), block, bs);
	/* What /big must read as: Q in its second block. */
	make_file("big-q.bin", 200000, 2, NULL, 0);
	pwrite_file(at("big-q.bin"), bs, block, bs);
	free(block);

	snprintf(list, sizeof(list), "%llu,%llu", x, y);
	tx[0] = (struct tx){.blocks = list, .data = "p.data"};
	tx[1] = (struct tx){.revoke = list};
	snprintf(ys, sizeof(ys), "%llu", y);
	tx[2] = (struct tx){.blocks = ys, .data = "q.data"};
	tx[3] = (struct tx){.revoke = ys, .uncommitted = true};
	write_log(&ext4_default, tx, 4, &log);

	replay_and_compare(&r, NULL);
	assert_int_equal(r.transactions, 3);
	assert_int_equal(r.revoked, 2);
	assert_int_equal(r.blocks, 1);
	fsck_clean(at("ours.img"));
	check_file(at("ours.img"), "/big", "big-q.bin");
}

/*
 * A revoke record covers the copies of its own transaction too: Z logged
 * in T1, then logged and revoked in T2, keeps its old contents.
 */
static void test_revoke_same_transaction(void **state)
{
	struct ext4_replay r;
	struct log log;
	unsigned bs;
	char z[32], *stat;
	uint8_t *block;
	struct tx tx[2];

	(void)state;
	need_tools();
	make_base(&ext4_default);
	bs = fs_blocksize(at("s0.img"));
	stat = output("debugfs -R 'bmap /big 2' '%s' 2>/dev/null",
		      at("s0.img"));
	snprintf(z, sizeof(z), "%llu", strtoull(stat, NULL, 10));
	free(stat);
	block = malloc(bs);
	assert_non_null(block);
	memset(block, 'P', bs);
	spill(at("p.data"), block, bs);
	memset(block, 'Q', bs);
	spill(at("q.data"), block, bs);
	free(block);
	tx[0] = (struct tx){.blocks = z, .data = "p.data"};
	tx[1] = (struct tx){.blocks = z, .data = "q.data", .revoke = z};
	write_log(&ext4_default, tx, 2, &log);

	/* No transaction has debugfs commands: s2 is s0 before the log. */
	replay_and_compare(&r, at("s2.img"));
	assert_int_equal(r.transactions, 2);
	assert_int_equal(r.revoked, 2);
	assert_int_equal(r.blocks, 0);
	check_file(at("ours.img"), "/big", "big.bin");
}

/* A block that begins with the magic number travels escaped. */
static void test_escape(void **state)
{
	static const uint8_t magic[4] = {0xc0, 0x3b, 0x39, 0x98};
	struct ext4_replay r;
	struct log log;
	struct jentry e[64];
	struct tx tx[1] = {{.ops = "write esc.bin /esc\n"}};
	size_t n;
	int escaped = 0;
	uint8_t head[4];
	unsigned bs;

	(void)state;
	need_tools();
	make_base(&ext4_default);
	bs = fs_blocksize(at("s0.img"));
	make_file("esc.bin", 3 * bs, 31, magic, sizeof(magic));
	/* The second block too. */
	pwrite_file(at("esc.bin"), bs, magic, sizeof(magic));
	write_log(&ext4_default, tx, 1, &log);

	n = logdump(at("s0.img"), e, 64);
	for (size_t i = 0; i < n; i++) {
		if (e[i].type != 0 || !(e[i].flags & JBD2_FLAG_ESCAPE))
			continue;
		pread_file(at("s0.img"),
			   (long long)journal_phys(at("s0.img"), e[i].jblock) *
				   bs,
			   head, sizeof(head));
		assert_memory_equal(head, "\0\0\0\0", 4);
		escaped++;
	}
	assert_int_equal(escaped, 2);

	replay_and_compare(&r, at("s1.img"));
	assert_int_equal(r.blocks, log.logged[0]);
	fsck_clean(at("ours.img"));
	check_file(at("ours.img"), "/esc", "esc.bin");
}

static void three_committed(struct log *log)
{
	struct tx tx[3] = {
		{.ops = "write n1.bin /n1\n"},
		{.ops = "mkdir /d2\nwrite n2.bin /d2/n2\n"},
		{.ops = "rm /big\nwrite n3.bin /n3\n"},
	};

	make_base(&ext4_default);
	make_file("n1.bin", 9000, 41, NULL, 0);
	make_file("n2.bin", 9000, 42, NULL, 0);
	make_file("n3.bin", 9000, 43, NULL, 0);
	write_log(&ext4_default, tx, 3, log);
}

static void assert_marked_with_errors(const char *img)
{
	struct ext2_super_block sb = read_super(img);

	assert_true(sb.s_state & EXT2_ERROR_FS);
}

/*
 * A last commit block that fails its checksum ends the log before it, as a
 * damaged transaction: the file system is marked with errors.
 */
static void test_bad_commit_checksum(void **state)
{
	struct ext4_replay r;
	struct log log;
	char err[256];
	bool *skip;

	(void)state;
	need_tools();
	three_committed(&log);
	damage_journal_block(at("s0.img"),
			     find_block(at("s0.img"), 3, JBD2_COMMIT_BLOCK, 0),
			     offsetof(struct jbd2_commit_disk, chksum));
	place(at("s0.img"));
	assert_true(oracle(at("s0.img")) <= 1);
	assert_int_equal(replay(&r, err, sizeof(err), NULL), 0);
	assert_int_equal(r.transactions, 2);
	assert_int_equal(r.blocks, log.logged[0] + log.logged[1]);
	assert_true(r.errors);
	assert_non_null(strstr(err, "transaction 3"));
	assert_marked_with_errors(at("ours.img"));
	assert_marked_with_errors(at("ref.img"));
	compare(at("ours.img"), at("ref.img"), NULL, 0, "replay vs e2fsck");
	skip = journal_blocks(at("ours.img"));
	compare(at("ours.img"), at("s2.img"), skip, SAME_BUT_STATE,
		"replay vs expected");
	free(skip);
}

/* With asynchronous commits, a bad last commit block is a torn write. */
static void test_async_commit(void **state)
{
	struct ext4_replay r;
	struct log log;
	struct jsb j;
	char err[256];

	(void)state;
	need_tools();
	three_committed(&log);
	jsb_read(&j, at("s0.img"));
	put_be32(&j.sb.feature_incompat,
		 get_be32(j.sb.feature_incompat) | JBD2_INCOMPAT_ASYNC_COMMIT);
	jsb_write(&j, true);
	damage_journal_block(at("s0.img"),
			     find_block(at("s0.img"), 3, JBD2_COMMIT_BLOCK, 0),
			     offsetof(struct jbd2_commit_disk, chksum));
	place(at("s0.img"));
	assert_true(oracle(at("s0.img")) <= 1);
	assert_int_equal(replay(&r, err, sizeof(err), NULL), 0);
	assert_int_equal(r.transactions, 2);
	assert_false(r.errors);
	assert_string_equal(err, "");
	compare(at("ours.img"), at("ref.img"), NULL, 0, "replay vs e2fsck");
	fsck_clean(at("ours.img"));
}

/*
 * A logged block that fails its checksum is skipped and the rest of the
 * log replayed, as e2fsck does; the file system is marked with errors.
 * e2fsck marks it not clean instead, and leaves s_sequence where it was,
 * where the replay moves it past the log as after any other replay (so
 * that the log's old blocks can never pass for new ones).
 */
static void test_bad_data_checksum(void **state)
{
	struct ext4_replay r;
	struct log log;
	char err[256];
	bool *skip;
	struct jsb j;

	(void)state;
	need_tools();
	three_committed(&log);
	damage_journal_block(at("s0.img"), find_block(at("s0.img"), 3, 0, 0),
			     77);
	place(at("s0.img"));
	assert_true(oracle(at("s0.img")) <= 1);
	assert_int_equal(replay(&r, err, sizeof(err), NULL), 0);
	assert_int_equal(r.transactions, 3);
	assert_int_equal(r.blocks,
			 log.logged[0] + log.logged[1] + log.logged[2] - 1);
	assert_true(r.errors);
	assert_non_null(strstr(err, "fails its checksum"));
	assert_marked_with_errors(at("ours.img"));
	assert_false(read_super(at("ref.img")).s_state & EXT2_VALID_FS);
	skip = no_blocks(at("ours.img"));
	skip[journal_phys(at("ours.img"), 0)] = true;
	compare(at("ours.img"), at("ref.img"), skip, SAME_BUT_STATE,
		"replay vs e2fsck");
	jsb_read(&j, at("ours.img"));
	assert_int_equal(get_be32(j.sb.sequence), 5);
	assert_int_equal(get_be32(j.sb.start), 0);
	free(skip);
}

/*
 * v1 checksums: a last transaction whose crc32 does not match its commit
 * block ends the log, as damage.
 */
static void test_v1_bad_checksum(void **state)
{
	const struct layout *l = &layouts[10];
	struct tx tx[3] = {
		{.ops = "write n1.bin /n1\n"},
		{.ops = "mkdir /d2\nwrite n2.bin /d2/n2\n"},
		{.ops = "rm /big\nwrite n3.bin /n3\n"},
	};
	struct ext4_replay r;
	struct log log;
	char err[256];

	(void)state;
	need_tools();
	assert_true(l->v1);
	make_base(l);
	make_file("n1.bin", 9000, 71, NULL, 0);
	make_file("n2.bin", 9000, 72, NULL, 0);
	make_file("n3.bin", 9000, 73, NULL, 0);
	write_log(l, tx, 3, &log);
	make_v1(at("s0.img"));
	damage_journal_block(at("s0.img"), find_block(at("s0.img"), 3, 0, 1),
			     500);
	place(at("s0.img"));
	assert_true(oracle(at("s0.img")) <= 1);
	assert_int_equal(replay(&r, err, sizeof(err), NULL), 0);
	assert_int_equal(r.transactions, 2);
	assert_true(r.errors);
	assert_marked_with_errors(at("ours.img"));
	compare(at("ours.img"), at("ref.img"), NULL, 0, "replay vs e2fsck");
}

/*
 * A descriptor that fails its checksum in a transaction whose commit block
 * is older than the one before: a stale block of a lazily initialised
 * journal, where the log ends, with no damage.
 */
static void test_stale_transaction(void **state)
{
	struct ext4_replay r;
	struct log log;
	struct jbd2_commit_disk c;
	long long pos;
	unsigned bs;

	(void)state;
	need_tools();
	three_committed(&log);
	bs = fs_blocksize(at("s0.img"));
	damage_journal_block(
		at("s0.img"),
		find_block(at("s0.img"), 3, JBD2_DESCRIPTOR_BLOCK, 0), 3000);
	pos = (long long)journal_phys(
		      at("s0.img"),
		      find_block(at("s0.img"), 3, JBD2_COMMIT_BLOCK, 0)) *
	      bs;
	pread_file(at("s0.img"), pos, &c, sizeof(c));
	assert_true(get_be64(c.commit_sec) > 1000);
	put_be64(&c.commit_sec, 1000);
	pwrite_file(at("s0.img"), pos, &c, sizeof(c));

	replay_and_compare(&r, at("s2.img"));
	assert_int_equal(r.transactions, 2);
	assert_false(r.errors);
	fsck_clean(at("ours.img"));
}

static void expect_refusal(int error, const char *reason)
{
	struct ext4_replay r;
	char err[256];

	place(at("s0.img"));
	must("cp '%s' '%s'", at("disk.img"), at("before.img"));
	assert_int_equal(replay(&r, err, sizeof(err), NULL), error);
	if (!strstr(err, reason))
		fail_msg("reason \"%s\" lacks \"%s\"", err, reason);
	assert_int_equal(r.blocks, 0);
	must("cmp -s '%s' '%s'", at("disk.img"), at("before.img"));
}

/*
 * A descriptor that fails its checksum in a transaction whose commit block
 * is good is damage the replay cannot step over: nothing is written.
 */
static void test_bad_descriptor_checksum(void **state)
{
	struct log log;

	(void)state;
	need_tools();
	three_committed(&log);
	damage_journal_block(
		at("s0.img"),
		find_block(at("s0.img"), 2, JBD2_DESCRIPTOR_BLOCK, 0), 3000);
	expect_refusal(-EUCLEAN, "transaction 2");
}

static void super_bad_magic(struct jbd2_super_disk *sb)
{
	put_be32(&sb->header.magic, 0x12345678);
}

static void super_bad_type(struct jbd2_super_disk *sb)
{
	put_be32(&sb->header.blocktype, JBD2_COMMIT_BLOCK);
}

static void super_bad_blocksize(struct jbd2_super_disk *sb)
{
	put_be32(&sb->blocksize, 1024);
}

static void super_too_long(struct jbd2_super_disk *sb)
{
	put_be32(&sb->maxlen, get_be32(sb->maxlen) + 1);
}

static void super_no_first(struct jbd2_super_disk *sb)
{
	put_be32(&sb->first, 0);
}

static void super_start_outside(struct jbd2_super_disk *sb)
{
	put_be32(&sb->start, get_be32(sb->maxlen) + 7);
}

static void super_bad_checksum(struct jbd2_super_disk *sb)
{
	sb->padding[9] ^= 1;
}

static void super_unknown_feature(struct jbd2_super_disk *sb)
{
	put_be32(&sb->feature_incompat,
		 get_be32(sb->feature_incompat) | 0x4000u);
}

/* A damaged journal superblock: -EUCLEAN, and the image is unchanged. */
static void test_damaged_super(void **state)
{
	static const struct {
		void (*damage)(struct jbd2_super_disk *sb);
		bool fix_checksum;
		int error;
		const char *reason;
	} cases[] = {
		{super_bad_magic, true, -EUCLEAN, "magic"},
		{super_bad_type, true, -EUCLEAN, "unknown type"},
		{super_bad_blocksize, true, -EUCLEAN, "block size"},
		{super_too_long, true, -EUCLEAN, "claims"},
		{super_no_first, true, -EUCLEAN, "starts at block 0"},
		{super_start_outside, true, -EUCLEAN, "log head"},
		{super_bad_checksum, false, -EUCLEAN, "checksum"},
		{super_unknown_feature, true, -EOPNOTSUPP, "unknown features"},
	};
	struct log log;

	(void)state;
	need_tools();
	three_committed(&log);
	must("cp '%s' '%s'", at("s0.img"), at("pristine.img"));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jsb j;

		must("cp '%s' '%s'", at("pristine.img"), at("s0.img"));
		jsb_read(&j, at("s0.img"));
		cases[i].damage(&j.sb);
		jsb_write(&j, cases[i].fix_checksum);
		expect_refusal(cases[i].error, cases[i].reason);
	}
}

/* An error the journal recorded moves to the file system's state. */
static void test_recorded_error(void **state)
{
	struct ext4_replay r;
	struct log log;
	struct jsb j;

	(void)state;
	need_tools();
	three_committed(&log);
	jsb_read(&j, at("s0.img"));
	put_be32(&j.sb.error, (uint32_t)-EIO);
	jsb_write(&j, true);
	replay_and_compare(&r, NULL);
	assert_true(r.errors);
	assert_int_equal(r.transactions, 3);
	assert_marked_with_errors(at("ours.img"));
	jsb_read(&j, at("ours.img"));
	assert_int_equal(get_be32(j.sb.error), 0);
	assert_int_equal(get_be32(j.sb.start), 0);
}

/* needs_recovery with an empty log: only the flag goes (and the count). */
static void test_empty_log(void **state)
{
	struct ext4_replay r;

	(void)state;
	need_tools();
	make_base(&ext4_default);
	must("cp '%s' '%s'", at("s0.img"), at("clean.img"));
	must("debugfs -w -R 'feature needs_recovery' '%s' >/dev/null 2>&1",
	     at("s0.img"));
	replay_and_compare(&r, at("clean.img"));
	assert_int_equal(r.transactions, 0);
	assert_int_equal(r.blocks, 0);
	fsck_clean(at("ours.img"));
}

static void test_external_journal(void **state)
{
	(void)state;
	need_tools();
	make_base(&ext4_default);
	must("debugfs -w -R 'feature needs_recovery' '%s' >/dev/null 2>&1",
	     at("s0.img"));
	must("debugfs -w -R 'ssv journal_uuid " UUID "' '%s' >/dev/null 2>&1",
	     at("s0.img"));
	must("debugfs -w -R 'ssv journal_inum 0' '%s' >/dev/null 2>&1",
	     at("s0.img"));
	expect_refusal(-EOPNOTSUPP, "external journal");
}

/*
 * FAST_COMMIT in the journal: the full commits replay as usual, unless the
 * fast-commit area opens with a head for the transaction after them.
 */
static void test_fast_commit(void **state)
{
	struct layout l = {.name = "fast_commit",
			   .mkfs = "-t ext4 -b 4096 -O fast_commit",
			   .size = "32M",
			   .jo = "-c"};
	struct tx tx[2] = {{.ops = "write n1.bin /n1\n"},
			   {.ops = "mkdir /d2\n"}};
	struct ext4_replay r;
	struct log log;
	struct jsb j;
	uint8_t fc[12];
	uint32_t fc_first;

	(void)state;
	need_tools();
	make_base(&l);
	make_file("n1.bin", 9000, 51, NULL, 0);
	jsb_read(&j, at("s0.img"));
	put_be32(&j.sb.feature_incompat,
		 get_be32(j.sb.feature_incompat) | JBD2_INCOMPAT_FAST_COMMIT);
	jsb_write(&j, true);
	write_log(&l, tx, 2, &log);
	jsb_read(&j, at("s0.img"));
	assert_true(get_be32(j.sb.feature_incompat) &
		    JBD2_INCOMPAT_FAST_COMMIT);
	must("cp '%s' '%s'", at("s0.img"), at("log.img"));

	replay_and_compare(&r, at("s2.img"));
	assert_int_equal(r.transactions, 2);

	/* A fast-commit head for transaction 3, after the two full ones. */
	must("cp '%s' '%s'", at("log.img"), at("s0.img"));
	fc_first = get_be32(j.sb.maxlen) - get_be32(j.sb.num_fc_blocks) + 1;
	memset(fc, 0, sizeof(fc));
	store_le16(fc, EXT4_FC_TAG_HEAD);
	store_le16(fc + 2, 8);
	store_le32(fc + 8, get_be32(j.sb.sequence) + 2);
	pwrite_file(at("s0.img"),
		    (long long)journal_phys(at("s0.img"), fc_first) *
			    j.blocksize,
		    fc, sizeof(fc));
	expect_refusal(-EOPNOTSUPP, "fast commits");
}

/*
 * After a replay the same handle describes the replayed file system: it
 * reads a file the log created, and a directory made through it leaves a
 * clean file system (stale group descriptors in memory would not).
 */
static void test_same_handle(void **state)
{
	struct ext4_replay r;
	struct log log;
	char err[256], options[64], buf[64];
	ext2_filsys fs;
	ext2_ino_t ino;
	ext2_file_t file;
	unsigned got;

	(void)state;
	need_tools();
	three_committed(&log);
	place(at("s0.img"));
	snprintf(options, sizeof(options), "offset=%ld", OFFSET);
	fs = open_fs(at("disk.img"), options, EXT2_FLAG_RW);
	assert_int_equal(ext4_journal_replay(fs, &r, err, sizeof(err)), 0);
	assert_int_equal(r.transactions, 3);

	assert_int_equal(
		ext2fs_namei(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, "n3", &ino), 0);
	assert_int_equal(ext2fs_file_open(fs, ino, 0, &file), 0);
	assert_int_equal(ext2fs_file_read(file, buf, sizeof(buf), &got), 0);
	assert_int_equal(got, sizeof(buf));
	ext2fs_file_close(file);
	{
		uint8_t want[64];

		pread_file(at("n3.bin"), 0, want, sizeof(want));
		assert_memory_equal(buf, want, sizeof(want));
	}
	assert_int_equal(ext2fs_read_bitmaps(fs), 0);
	assert_int_equal(ext2fs_mkdir(fs, EXT2_ROOT_INO, 0, "made"), 0);
	assert_int_equal(ext2fs_close2(fs, 0), 0);
	take_out(at("ours.img"));
	fsck_clean(at("ours.img"));
	must("debugfs -R 'stat /made' '%s' >/dev/null 2>&1", at("ours.img"));
}

/* An io manager that fails the write_budget-th write, once. */
static struct struct_io_manager failing_manager;
static int write_budget;

static errcode_t failing_write(io_channel channel, unsigned long long block,
			       int count, const void *data)
{
	if (write_budget > 0 && --write_budget == 0)
		return EIO;
	return unix_io_manager->write_blk64(channel, block, count, data);
}

static errcode_t failing_open(const char *name, int flags, io_channel *channel)
{
	errcode_t code = unix_io_manager->open(name, flags, channel);

	if (!code)
		(*channel)->manager = &failing_manager;
	return code;
}

/*
 * A write that fails half way: -EIO, and the log is left whole, so that a
 * second replay starts over and ends where e2fsck does.
 */
static void test_failed_write(void **state)
{
	struct log log;
	char options[64], err[256];
	unsigned total;

	(void)state;
	need_tools();
	three_committed(&log);
	total = (unsigned)(log.logged[0] + log.logged[1] + log.logged[2]);
	failing_manager = *unix_io_manager;
	failing_manager.name = "failing";
	failing_manager.open = failing_open;
	failing_manager.write_blk64 = failing_write;
	snprintf(options, sizeof(options), "offset=%ld", OFFSET);
	place(at("s0.img"));
	assert_true(oracle(at("s0.img")) <= 1);

	for (unsigned fail_at = 1; fail_at <= total + 2; fail_at += total / 2) {
		struct ext4_replay r;
		ext2_filsys fs;
		errcode_t code;

		code = ext2fs_open2(at("disk.img"), options,
				    EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0,
				    &failing_manager, &fs);
		assert_int_equal(code, 0);
		write_budget = (int)fail_at;
		assert_int_equal(ext4_journal_replay(fs, &r, err, sizeof(err)),
				 -EIO);
		assert_non_null(strstr(err, "cannot write"));
		assert_false(fs->flags & EXT2_FLAG_RW);
		write_budget = 0;
		assert_int_equal(ext2fs_close2(fs, 0), 0);
		fs = open_fs(at("disk.img"), options, EXT2_FLAG_RW);
		assert_true(ext4_journal_needs_recovery(fs));
		ext2fs_free(fs);
	}
	assert_int_equal(replay(NULL, err, sizeof(err), NULL), 0);
	compare(at("ours.img"), at("ref.img"), NULL, 0, "replay vs e2fsck");
	fsck_clean(at("ours.img"));
}

/*
 * A log that grows the file system (an online resize cut short): the
 * replay completes, and says the handle is stale.
 */
static void test_resize_in_log(void **state)
{
	struct layout l = {.name = "resize",
			   .mkfs = "-t ext4 -b 4096",
			   .size = "32M",
			   .jo = "-c"};
	struct ext4_replay r;
	char err[256];
	bool *skip;

	(void)state;
	need_tools();
	make_base(&l);
	/* s1 is s0 grown to 48 MiB; s0's file grows with it. */
	must("cp '%s' '%s' && truncate -s 48M '%s' '%s' && "
	     "resize2fs '%s' 48M >/dev/null 2>&1",
	     at("s0.img"), at("s1.img"), at("s0.img"), at("s1.img"),
	     at("s1.img"));
	{
		char list[65536] = "";
		size_t n = diff_blocks(at("s0.img"), at("s1.img"), 4096, list,
				       sizeof(list), at("tx1.data"));
		FILE *f = fopen(at("log.cmd"), "w");

		assert_true(n > 0);
		assert_non_null(f);
		fprintf(f, "jo -c\njw -b %s \"%s\"\njc\n", list,
			at("tx1.data"));
		fclose(f);
	}
	must("debugfs -w -f '%s' '%s' >/dev/null 2>&1", at("log.cmd"),
	     at("s0.img"));
	place(at("s0.img"));
	assert_true(oracle(at("s0.img")) <= 1);
	assert_int_equal(replay(&r, err, sizeof(err), NULL), -ESTALE);
	assert_int_equal(r.transactions, 1);
	compare(at("ours.img"), at("ref.img"), NULL, 0, "replay vs e2fsck");
	skip = journal_blocks(at("ours.img"));
	compare(at("ours.img"), at("s1.img"), skip, 0, "replay vs expected");
	free(skip);
	fsck_clean(at("ours.img"));
}

/*
 * The high half of a 64-bit tag's block number counts with 64BIT: set, it
 * names a block past the end (refused); the same bytes in a 32-bit log
 * are the tag's UUID, and change nothing.
 */
static void test_block_number_high_bits(void **state)
{
	static const struct layout wide = {
		.name = "64bit, no checksums",
		.mkfs = "-t ext4 -b 4096 -O ^metadata_csum",
		.size = "32M",
		.jo = "",
	};
	static const struct layout narrow = {
		.name = "32-bit, no checksums",
		.mkfs = "-t ext4 -b 4096 -O ^64bit,^metadata_csum",
		.size = "32M",
		.jo = "",
	};
	const struct layout *layouts2[] = {&wide, &narrow};

	(void)state;
	need_tools();
	for (int i = 0; i < 2; i++) {
		struct tx tx[1] = {{.ops = "write n1.bin /n1\n"}};
		struct ext4_replay r;
		struct log log;
		const uint8_t one[4] = {0, 0, 0, 1};
		uint32_t desc;

		must("rm -f '%s'/s*.img", dir);
		make_base(layouts2[i]);
		make_file("n1.bin", 9000, 81, NULL, 0);
		write_log(layouts2[i], tx, 1, &log);
		desc = find_block(at("s0.img"), 1, JBD2_DESCRIPTOR_BLOCK, 0);
		/* The first tag's t_blocknr_high, or its UUID. */
		pwrite_file(at("s0.img"),
			    (long long)journal_phys(at("s0.img"), desc) * 4096 +
				    sizeof(struct jbd2_header_disk) + 8,
			    one, sizeof(one));
		if (i == 0) {
			expect_refusal(-EUCLEAN, "past the end");
			continue;
		}
		replay_and_compare(&r, at("s1.img"));
		assert_int_equal(r.blocks, log.logged[0]);
	}
}

/*
 * A log that never ends: every block of the circular log a descriptor of
 * the expected transaction, with one tag. Nothing in the format bounds
 * such a walk; the replay stops after one turn and writes nothing.
 */
static void test_endless_log(void **state)
{
	static const struct layout l = {
		.name = "no checksums",
		.mkfs = "-t ext4 -b 4096 -O ^metadata_csum",
		.size = "32M",
		.jo = "",
	};
	struct jbd2_header_disk h;
	struct jbd2_tag_disk tag = {0};
	uint8_t *block;
	uint32_t first, maxlen;
	struct jsb j;

	(void)state;
	need_tools();
	make_base(&l);
	must("debugfs -w -R 'feature needs_recovery' '%s' >/dev/null 2>&1",
	     at("s0.img"));
	jsb_read(&j, at("s0.img"));
	first = get_be32(j.sb.first);
	maxlen = get_be32(j.sb.maxlen);
	block = calloc(1, j.blocksize);
	assert_non_null(block);
	put_be32(&h.magic, JBD2_MAGIC);
	put_be32(&h.blocktype, JBD2_DESCRIPTOR_BLOCK);
	put_be32(&h.sequence, get_be32(j.sb.sequence));
	memcpy(block, &h, sizeof(h));
	put_be32(&tag.blocknr, 100);
	put_be16(&tag.flags, JBD2_FLAG_LAST_TAG | JBD2_FLAG_SAME_UUID);
	memcpy(block + sizeof(h), &tag, 8);
	for (uint32_t b = first; b < maxlen; b++)
		pwrite_file(at("s0.img"),
			    (long long)journal_phys(at("s0.img"), b) *
				    j.blocksize,
			    block, j.blocksize);
	free(block);
	put_be32(&j.sb.start, first);
	jsb_write(&j, true);
	expect_refusal(-EUCLEAN, "runs on");
}

/*
 * Bytes flipped anywhere in the log: the replay either succeeds or refuses,
 * and when it refuses, nothing was written.
 */
static void test_flipped_bytes(void **state)
{
	struct layout l = {.name = "small",
			   .mkfs = "-t ext4 -b 1024 -J size=1",
			   .size = "8M",
			   .jo = "-c"};
	struct tx tx[4] = {
		{.ops = "write n1.bin /n1\n"},
		{.ops = "mkdir /d2\nwrite n2.bin /d2/n2\n"},
		{.revoke = "3000"},
		{.ops = "rm /big\n"},
	};
	struct log log;
	uint32_t x = 12345;
	unsigned end;
	struct jentry e[256];

	(void)state;
	need_tools();
	make_base(&l);
	make_file("n1.bin", 9000, 61, NULL, 0);
	make_file("n2.bin", 3000, 62, NULL, 0);
	write_log(&l, tx, 4, &log);
	end = e[logdump(at("s0.img"), e, 256) - 1].jblock + 1;
	must("cp '%s' '%s'", at("s0.img"), at("pristine.img"));
	for (int round = 0; round < 40; round++) {
		struct ext4_replay r;
		char err[256];
		int ret;

		must("cp '%s' '%s'", at("pristine.img"), at("s0.img"));
		for (int k = 0; k < 3; k++) {
			x = x * 1103515245u + 12345u;
			damage_journal_block(at("s0.img"), (x >> 8) % end,
					     (x >> 4) % 1024);
		}
		place(at("s0.img"));
		must("cp '%s' '%s'", at("disk.img"), at("before.img"));
		ret = replay(&r, err, sizeof(err), NULL);
		if (ret == 0)
			continue;
		assert_true(ret == -EUCLEAN || ret == -EOPNOTSUPP);
		assert_true(err[0] != '\0');
		must("cmp -s '%s' '%s'", at("disk.img"), at("before.img"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_layout_0),
		T(test_layout_1),
		T(test_layout_2),
		T(test_layout_3),
		T(test_layout_4),
		T(test_layout_5),
		T(test_layout_6),
		T(test_layout_7),
		T(test_layout_8),
		T(test_layout_9),
		T(test_layout_10),
		T(test_layout_11),
		T(test_clean),
		T(test_torn),
		T(test_revoke),
		T(test_revoke_same_transaction),
		T(test_escape),
		T(test_bad_commit_checksum),
		T(test_async_commit),
		T(test_bad_data_checksum),
		T(test_bad_descriptor_checksum),
		T(test_v1_bad_checksum),
		T(test_stale_transaction),
		T(test_damaged_super),
		T(test_recorded_error),
		T(test_empty_log),
		T(test_external_journal),
		T(test_fast_commit),
		T(test_same_handle),
		T(test_failed_write),
		T(test_resize_in_log),
		T(test_block_number_high_bits),
		T(test_endless_log),
		T(test_flipped_bytes),
#undef T
	};

	/* TEST_FILTER=test_torn runs one; TEST_KEEP=1 keeps its files. */
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
