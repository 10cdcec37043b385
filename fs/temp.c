// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Temporary files: nodes of the mount's root with their contents in
 * memory, accounted against one total, read and written like any file.
 */
#include "temp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

/* All temporary files together may hold this much. */
#define TEMP_TOTAL_MAX (64u * 1024 * 1024)
#define NAME_MAX_BYTES 255

struct ctl_node *temp_find(struct rfs *fs, const char *name)
{
	for (struct ctl_node *n = fs->temps; n; n = n->next)
		if (strcmp(n->name, name) == 0)
			return n;
	return NULL;
}

void temp_attach(struct rfs *fs, struct ctl_node *node)
{
	node->kind = &rfs_temp_kind;
	node->next = fs->temps;
	fs->temps = node;
	node->attached = true;
}

int temp_create(struct rfs *fs, const char *name, mode_t mode,
		struct fuse_entry_param *e)
{
	struct ctl_node *node;

	if (strlen(name) > NAME_MAX_BYTES)
		return -ENAMETOOLONG;
	node = ctl_node_new(fs, NULL, name);
	if (!node)
		return -ENOMEM;
	node->mode = mode & 07777;
	temp_attach(fs, node);
	return ctl_entry(fs, node, e);
}

/* Account a temporary file's growth against the total. */
static int temp_write(struct rfs *fs, struct ctl_node *node, const void *p,
		      size_t n, uint64_t off)
{
	size_t before = node->data.cap;
	int ret;

	if (off + n > node->data.len &&
	    fs->temp_bytes + (off + n - node->data.len) > TEMP_TOTAL_MAX)
		return -ENOSPC;
	ret = buf_write(&node->data, p, n, off, TEMP_TOTAL_MAX);
	fs->temp_bytes += node->data.cap - before;
	return ret;
}

static int temp_truncate(struct rfs *fs, struct ctl_node *node, uint64_t size)
{
	size_t before = node->data.cap;
	int ret;

	if (size > node->data.len &&
	    fs->temp_bytes + (size - node->data.len) > TEMP_TOTAL_MAX)
		return -ENOSPC;
	ret = buf_truncate(&node->data, size, TEMP_TOTAL_MAX);
	fs->temp_bytes += node->data.cap - before;
	return ret;
}

int temp_fill(struct rfs *fs, struct ctl_node *node, const struct buf *value)
{
	int ret = temp_truncate(fs, node, 0);

	node->data.secret = value->secret;
	if (!ret)
		ret = temp_write(fs, node,
				 value->data ? value->data : (uint8_t *)"",
				 value->len, 0);
	return ret;
}

void temp_drop_data(struct rfs *fs, struct ctl_node *node)
{
	fs->temp_bytes -= node->data.cap;
	buf_free(&node->data);
	free(node->name);
	node->name = NULL;
}

static int temp_getattr(struct rfs *fs, struct rfs_inode *inode,
			struct stat *st)
{
	return ctl_getattr_node(fs, inode->ctl, st);
}

static int temp_open(struct rfs *fs, struct rfs_inode *inode, int flags,
		     struct rfs_file **filep)
{
	struct ctl_node *node = inode->ctl;
	struct rfs_file *file;
	struct ctl_handle *h;
	int ret = 0;

	if ((flags & O_ACCMODE) != O_RDONLY && (flags & O_TRUNC))
		ret = temp_truncate(fs, node, 0);
	if (ret)
		return ret;
	file = calloc(1, sizeof(*file));
	h = calloc(1, sizeof(*h));
	if (!file || !h) {
		free(file);
		free(h);
		return -ENOMEM;
	}
	h->node = node;
	h->flags = flags;
	h->log_fd = -1;
	node->refs++;
	file->kind = &rfs_temp_kind;
	file->inode = inode;
	file->handle = h;
	*filep = file;
	return 0;
}

static int temp_read(struct rfs *fs, struct rfs_file *file, size_t size,
		     off_t off, struct fuse_bufvec **bufvp)
{
	const struct buf *b = &file->handle->node->data;
	size_t len;

	(void)fs;
	if (off < 0)
		return -EINVAL;
	len = (uint64_t)off >= b->len ? 0 : b->len - (size_t)off;
	return rfs_bufvec_mem(len ? b->data + off : NULL,
			      len < size ? len : size, bufvp);
}

static ssize_t temp_write_op(struct rfs *fs, struct rfs_file *file,
			     const char *buf, size_t size, off_t off)
{
	struct ctl_node *node = file->handle->node;
	int ret;

	if (off < 0)
		return -EINVAL;
	if (node->desc)
		return -ESTALE; /* renamed over a control file meanwhile */
	if (file->handle->flags & O_APPEND)
		off = (off_t)node->data.len;
	ret = temp_write(fs, node, buf, size, (uint64_t)off);
	if (ret)
		return ret;
	clock_gettime(CLOCK_REALTIME, &node->mtime);
	return (ssize_t)size;
}

static int temp_setattr(struct rfs *fs, struct rfs_inode *inode,
			struct rfs_file *file, const struct stat *attr,
			int to_set)
{
	struct ctl_node *node = inode->ctl;
	int ret = 0;

	(void)file;
	if ((to_set & FUSE_SET_ATTR_UID && attr->st_uid != fs->opt.uid) ||
	    (to_set & FUSE_SET_ATTR_GID && attr->st_gid != fs->opt.gid)) {
		if (!fs->opt.quiet)
			return -EPERM;
	}
	if (to_set & FUSE_SET_ATTR_SIZE)
		ret = temp_truncate(fs, node, (uint64_t)attr->st_size);
	if (!ret && (to_set & FUSE_SET_ATTR_MODE))
		node->mode = attr->st_mode & 07777;
	if (!ret && (to_set & FUSE_SET_ATTR_MTIME))
		node->mtime = attr->st_mtim;
	if (!ret && (to_set & FUSE_SET_ATTR_MTIME_NOW))
		clock_gettime(CLOCK_REALTIME, &node->mtime);
	return ret;
}

static int temp_fsync(struct rfs *fs, struct rfs_inode *inode,
		      struct rfs_file *file, int datasync)
{
	(void)fs;
	(void)inode;
	(void)file;
	(void)datasync;
	return 0; /* in memory: nothing to make durable */
}

static void temp_release(struct rfs *fs, struct rfs_file *file)
{
	ctl_handle_close(fs, file->handle);
	free(file);
}

static void temp_forget(struct rfs *fs, struct rfs_inode *inode)
{
	inode->ctl->inode = NULL;
	ctl_node_put(fs, inode->ctl);
}

const struct rfs_kind rfs_temp_kind = {
	.name = "temporary file",
	.getattr = temp_getattr,
	.open = temp_open,
	.read = temp_read,
	.write = temp_write_op,
	.fsync = temp_fsync,
	.release = temp_release,
	.setattr = temp_setattr,
	.forget = temp_forget,
};
