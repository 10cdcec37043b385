/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Journal replay for the root file system: after a power cut (QEMU killed)
 * an ext3/ext4 file system has needs_recovery set and committed
 * transactions in its internal JBD2 journal. libext2fs cannot replay them,
 * and e2fsck loses the partition offset when it reopens the image, so this
 * replays them itself, through the caller's open ext2_filsys, the way the
 * kernel does at mount.
 */
#ifndef RPIFS_EXT4_JOURNAL_H
#define RPIFS_EXT4_JOURNAL_H

#include <ext2fs/ext2fs.h>

#include <stdbool.h>
#include <stddef.h>

struct ext4_replay {
	unsigned transactions; /* committed transactions replayed */
	unsigned blocks;       /* blocks written home */
	unsigned revoked;      /* blocks skipped by revoke records */
	/*
	 * The replay stepped over damage, or the journal had recorded an
	 * error: the file system is marked with errors (EXT2_ERROR_FS) so that
	 * e2fsck, or the guest's boot-time fsck, checks it. The reason is in
	 * @err.
	 */
	bool errors;
};

/*
 * Whether the file system needs its journal replayed before any write: the
 * needs_recovery feature is set.
 */
bool ext4_journal_needs_recovery(ext2_filsys fs);

/*
 * Replay the internal journal, as the kernel would at mount, then mark the
 * journal empty and clear needs_recovery. @fs must be open read-write, with
 * nothing changed and no bitmaps read yet. The log is scanned and every
 * checksum checked before anything is written; then the blocks go home, the
 * journal superblock is reset, and the superblock is written (the primary
 * only, as e2fsck does), each step flushed before the next. Afterwards @fs
 * describes the replayed file system (superblock, group descriptors; its
 * inode cache is dropped).
 *
 * The end of the log is found as the kernel finds it: a transaction counts
 * if its commit block is there and, with journal checksums, matches. A
 * transaction whose commit block fails its checksum ends the log, and that is
 * damage (@out->errors) unless the journal commits asynchronously. A data
 * block that fails its checksum is skipped, and that is damage too.
 *
 * @out may be NULL. @return 0 or -errno, with a one-line reason in @err
 * (which is "" after a clean replay):
 * -EOPNOTSUPP an external journal, an unknown journal feature, fast-commit
 *             blocks to replay;
 * -EUCLEAN    a damaged journal superblock, journal inode or log (a
 *             descriptor or revoke block that fails its checksum in a
 *             transaction whose commit block is good, a tag naming a block
 *             past the end); nothing was written;
 * -EROFS, -EBUSY  @fs is read-only, or has changes or bitmaps in memory;
 * -EIO        a read or write failed; a failed write leaves the log whole,
 *             so that a second replay starts over;
 * -ESTALE     the replay is complete, but the log changed the file system's
 *             geometry (an online resize was under way).
 * The errors above leave @fs as it was, except once writing has begun
 * (-EIO on a write, -ESTALE): @fs is then made read-only, so that its
 * memory, which may no longer match the disk, never reaches it. Close it
 * and open the file system again.
 */
int ext4_journal_replay(ext2_filsys fs, struct ext4_replay *out, char *err,
			size_t err_size);

#endif
