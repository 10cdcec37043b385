// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Extended attributes through libext2fs's handles, which store them in
 * the inode and an attribute block as the kernel does and translate POSIX
 * ACLs between the kernel's xattr form and ext4's on-disk form.
 */
#include "internal.h"

#include <errno.h>
#include <string.h>
#include <sys/xattr.h>

static int open_xattrs(struct ext4_vol *vol, uint64_t ino,
		       struct ext2_xattr_handle **h)
{
	errcode_t e;

	if (!ext2fs_has_feature_xattr(vol->fs->super))
		return -EOPNOTSUPP;
	e = ext2fs_xattrs_open(vol->fs, (ext2_ino_t)ino, h);
	if (!e) {
		e = ext2fs_xattrs_read(*h);
		if (e)
			ext2fs_xattrs_close(h);
	}
	return ext4_errno(vol, e, "reading extended attributes");
}

static int close_xattrs(struct ext4_vol *vol, struct ext2_xattr_handle **h,
			int ret)
{
	errcode_t e = ext2fs_xattrs_close(h);

	return ret ? ret : ext4_errno(vol, e, "writing extended attributes");
}

ssize_t ext4_getxattr(struct ext4_vol *vol, uint64_t ino, const char *name,
		      void *buf, size_t size)
{
	return ext4_xattr_get_raw(vol, ino, name, buf, size);
}

ssize_t ext4_xattr_get_raw(struct ext4_vol *vol, uint64_t ino, const char *name,
			   void *buf, size_t size)
{
	struct ext2_xattr_handle *h;
	void *value = NULL;
	size_t len = 0;
	errcode_t e;
	int ret = open_xattrs(vol, ino, &h);

	if (ret)
		return ret == -EOPNOTSUPP ? -ENODATA : ret;
	e = ext2fs_xattr_get(h, name, &value, &len);
	ret = ext4_errno(vol, e, "reading an extended attribute");
	if (!ret && size && len > size)
		ret = -ERANGE;
	if (!ret && size)
		memcpy(buf, value, len);
	if (value)
		ext2fs_free_mem(&value);
	ret = close_xattrs(vol, &h, ret);
	return ret ? ret : (ssize_t)len;
}

struct names {
	char *buf;
	size_t size, len;
	bool overflow;
};

static int add_name(char *name, char *value, size_t value_len, void *data)
{
	struct names *n = data;
	size_t len = strlen(name) + 1;

	(void)value;
	(void)value_len;
	if (n->size && n->len + len > n->size)
		n->overflow = true;
	else if (n->size)
		memcpy(n->buf + n->len, name, len);
	n->len += len;
	return 0;
}

ssize_t ext4_listxattr(struct ext4_vol *vol, uint64_t ino, char *buf,
		       size_t size)
{
	struct ext2_xattr_handle *h;
	struct names n = {buf, size, 0, false};
	errcode_t e;
	int ret = open_xattrs(vol, ino, &h);

	if (ret)
		return ret == -EOPNOTSUPP ? 0 : ret;
	e = ext2fs_xattrs_iterate(h, add_name, &n);
	ret = ext4_errno(vol, e, "listing extended attributes");
	if (!ret && n.overflow)
		ret = -ERANGE;
	ret = close_xattrs(vol, &h, ret);
	return ret ? ret : (ssize_t)n.len;
}

/* Whether @name is set on @h. */
static bool has(struct ext2_xattr_handle *h, const char *name)
{
	void *value = NULL;
	size_t len;

	if (ext2fs_xattr_get(h, name, &value, &len) != 0)
		return false;
	ext2fs_free_mem(&value);
	return true;
}

static int touch_ctime(struct ext4_vol *vol, uint64_t ino)
{
	struct ext2_inode_large inode;
	int ret = ext4_read_inode(vol, (ext2_ino_t)ino, &inode);

	if (ret)
		return ret;
	ext4_touch(vol, &inode, false);
	return ext4_write_inode(vol, (ext2_ino_t)ino, &inode);
}

/* Set or (@value NULL) remove @name, as stored; @flags XATTR_*. */
static int set_or_remove(struct ext4_vol *vol, uint64_t ino, const char *name,
			 const void *value, size_t size, int flags)
{
	struct ext2_xattr_handle *h;
	errcode_t e;
	int ret = open_xattrs(vol, ino, &h);

	if (ret)
		return ret;
	if ((flags & XATTR_CREATE) && has(h, name)) {
		ret = -EEXIST;
	} else if ((flags & XATTR_REPLACE) && !has(h, name)) {
		ret = -ENODATA;
	} else if (value) {
		e = ext2fs_xattr_set(h, name, value, size);
		ret = ext4_errno(vol, e, "setting an extended attribute");
	} else if (has(h, name)) {
		e = ext2fs_xattr_remove(h, name);
		ret = ext4_errno(vol, e, "removing an extended attribute");
	}
	return close_xattrs(vol, &h, ret);
}

int ext4_xattr_set_raw(struct ext4_vol *vol, uint64_t ino, const char *name,
		       const void *value, size_t size)
{
	return set_or_remove(vol, ino, name, value, size, 0);
}

/* An access ACL: the mode from it, the ACL itself only when it adds. */
static int set_access_acl(struct ext4_vol *vol, uint64_t ino, const void *value,
			  size_t size, int flags)
{
	struct ext2_inode_large inode;
	mode_t mode;
	bool store;
	int ret = ext4_read_inode(vol, (ext2_ino_t)ino, &inode);

	if (ret)
		return ret;
	mode = inode.i_mode;
	ret = ext4_acl_set_access(value, size, &mode, &store);
	if (ret)
		return ret;
	ret = set_or_remove(vol, ino, "system.posix_acl_access",
			    store ? value : NULL, size, store ? flags : 0);
	if (ret)
		return ret;
	ret = ext4_read_inode(vol, (ext2_ino_t)ino, &inode);
	if (ret)
		return ret;
	inode.i_mode = (uint16_t)mode;
	ext4_touch(vol, &inode, false);
	return ext4_write_inode(vol, (ext2_ino_t)ino, &inode);
}

int ext4_setxattr(struct ext4_vol *vol, uint64_t ino, const char *name,
		  const void *value, size_t size, int flags)
{
	struct ext2_inode_large inode;
	int ret;

	if ((ret = ext4_begin_write(vol)))
		return ret;
	if (strcmp(name, "system.posix_acl_access") == 0)
		return set_access_acl(vol, ino, value, size, flags);
	if (strcmp(name, "system.posix_acl_default") == 0) {
		mode_t mode = 0;
		bool store;

		ret = ext4_read_inode(vol, (ext2_ino_t)ino, &inode);
		if (ret)
			return ret;
		/* Only a directory has one; and it must parse as an ACL. */
		if (!LINUX_S_ISDIR(inode.i_mode))
			return -EACCES;
		if ((ret = ext4_acl_set_access(value, size, &mode, &store)))
			return ret;
	}
	ret = set_or_remove(vol, ino, name, value, size, flags);
	return ret ? ret : touch_ctime(vol, ino);
}

int ext4_removexattr(struct ext4_vol *vol, uint64_t ino, const char *name)
{
	int ret;

	if ((ret = ext4_begin_write(vol)) ||
	    (ret = set_or_remove(vol, ino, name, NULL, 0, XATTR_REPLACE)))
		return ret;
	return touch_ctime(vol, ino);
}
