// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Permissions, checked by rpifs rather than by the kernel (the mount has
 * no default_permissions): the kernel would check root/'s files against
 * the guest's owners as if they were the host's, and refuse the image's
 * own owner most of /etc. The model:
 * - boot/ and the control files belong to the mounting user (uid=, gid=,
 *   umask=), checked as Linux's vfat is;
 * - in root/ the owners and modes are the guest's, and the image's owner
 *   (the mounting user) and the host's root act as the guest's root: they
 *   may read, write and chown everything; other users (with allow_other)
 *   are checked against the guest's numbers as they stand.
 */
#include "rfs.h"

#include <errno.h>
#include <unistd.h>

bool rfs_superuser(struct rfs *fs, const struct rfs_kind *kind)
{
	return fs->caller.uid == 0 ||
	       (kind->guest_ids && fs->caller.uid == fs->owner_uid);
}

bool rfs_in_group(struct rfs *fs, gid_t gid)
{
	struct rfs_caller *c = &fs->caller;
	int n;

	if (c->gid == gid)
		return true;
	if (c->group_count < 0) {
		n = c->req ? fuse_req_getgroups(c->req, 64, c->groups) : 0;
		c->group_count = n < 0 ? 0 : n > 64 ? 64 : n;
	}
	for (int i = 0; i < c->group_count; i++)
		if (c->groups[i] == gid)
			return true;
	return false;
}

int rfs_may(struct rfs *fs, const struct rfs_kind *kind, const struct stat *st,
	    int mask)
{
	unsigned bits;

	mask &= R_OK | W_OK | X_OK;
	if (rfs_superuser(fs, kind)) {
		/* Root executes only what someone may execute. */
		if ((mask & X_OK) && !S_ISDIR(st->st_mode) &&
		    !(st->st_mode & 0111))
			return -EACCES;
		return 0;
	}
	if (fs->caller.uid == st->st_uid)
		bits = (st->st_mode >> 6) & 7;
	else if (rfs_in_group(fs, st->st_gid))
		bits = (st->st_mode >> 3) & 7;
	else
		bits = st->st_mode & 7;
	return ((int)bits & mask) == mask ? 0 : -EACCES;
}
