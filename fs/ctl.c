// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Control files: the table that describes each one, the nodes of the
 * mount's root and their lifetime (control files and temporary files
 * alike), handles, and the three kinds of control file: values kept in
 * the image (userconf, cmdline, kernel, dtb: read-only while a guest
 * runs), run (which takes words), and text (status, console).
 */
#include "ctl.h"
#include "run.h"
#include "status.h"
#include "values.h"
#include "../common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TEMP_INO_BASE (1ull << 40)
#define RUN_MAX	      256

static const struct ctl_desc descs[] = {
	{.name = "userconf",
	 .kind = &rfs_ctl_value_kind,
	 .mode = 0600,
	 .max = VALUE_SMALL_MAX,
	 .secret = true,
	 .read = value_userconf_read,
	 .stat = value_userconf_stat,
	 .precheck = value_userconf_precheck,
	 .commit = value_userconf_commit},
	{.name = "cmdline",
	 .kind = &rfs_ctl_value_kind,
	 .mode = 0644,
	 .max = VALUE_SMALL_MAX,
	 .read = value_cmdline_read,
	 .stat = value_cmdline_stat,
	 .precheck = value_cmdline_precheck,
	 .commit = value_cmdline_commit},
	{.name = "kernel",
	 .kind = &rfs_ctl_value_kind,
	 .mode = 0644,
	 .max = VALUE_BLOB_MAX,
	 .file = value_kernel_file,
	 .stat = value_kernel_stat,
	 .commit = value_kernel_commit},
	{.name = "dtb",
	 .kind = &rfs_ctl_value_kind,
	 .mode = 0644,
	 .max = VALUE_BLOB_MAX,
	 .file = value_dtb_file,
	 .stat = value_dtb_stat,
	 .commit = value_dtb_commit},
	{.name = "status",
	 .kind = &rfs_ctl_text_kind,
	 .mode = 0444,
	 .read = status_text,
	 .stat = status_stat},
	{.name = "run",
	 .kind = &rfs_ctl_run_kind,
	 .mode = 0644,
	 .max = RUN_MAX,
	 .read = run_state_text,
	 .stat = run_state_stat,
	 .command = run_command},
	{.name = "console",
	 .kind = &rfs_ctl_text_kind,
	 .mode = 0444,
	 .open_fd = run_console_open,
	 .stat = run_console_stat},
};

#define DESC_COUNT (sizeof(descs) / sizeof(descs[0]))

unsigned ctl_count(void)
{
	return DESC_COUNT;
}

const struct ctl_desc *ctl_desc_at(unsigned index)
{
	return index < DESC_COUNT ? &descs[index] : NULL;
}

const struct ctl_desc *ctl_desc_of(const char *name)
{
	for (size_t i = 0; i < DESC_COUNT; i++)
		if (strcmp(name, descs[i].name) == 0)
			return &descs[i];
	return NULL;
}

static size_t desc_index(const struct ctl_desc *desc)
{
	return (size_t)(desc - descs);
}

/* ---- nodes ---- */

struct ctl_node *ctl_node_new(struct rfs *fs, const struct ctl_desc *desc,
			      const char *name)
{
	struct ctl_node *node = calloc(1, sizeof(*node));

	if (!node)
		return NULL;
	node->desc = desc;
	node->kind = desc ? desc->kind : NULL;
	if (name) {
		node->name = strdup(name);
		if (!node->name) {
			free(node);
			return NULL;
		}
	}
	node->ino = TEMP_INO_BASE + fs->next_temp_ino++;
	node->mode = 0644;
	node->refs = 1;
	clock_gettime(CLOCK_REALTIME, &node->mtime);
	node->ctime = node->mtime;
	return node;
}

void ctl_node_put(struct rfs *fs, struct ctl_node *node)
{
	if (--node->refs > 0)
		return;
	fs->temp_bytes -= node->data.cap;
	buf_free(&node->data);
	free(node->name);
	free(node);
}

void ctl_node_install(struct rfs *fs, struct ctl_node *node,
		      const struct ctl_desc *desc)
{
	node->desc = desc;
	node->kind = desc->kind;
	node->attached = true;
	fs->ctl[desc_index(desc)] = node;
}

void ctl_node_uninstall(struct rfs *fs, struct ctl_node *node)
{
	fs->ctl[desc_index(node->desc)] = NULL;
	node->desc = NULL;
	node->attached = false;
	/* Its number was the control file's: a temporary file's from now. */
	if (node->ino < TEMP_INO_BASE)
		node->ino = TEMP_INO_BASE + fs->next_temp_ino++;
}

struct ctl_node *ctl_node_of(struct rfs *fs, const struct ctl_desc *desc)
{
	struct ctl_node *node = fs->ctl[desc_index(desc)];

	if (!node) {
		node = ctl_node_new(fs, desc, NULL);
		if (!node)
			return NULL;
		node->ino = 2 + desc_index(desc);
		ctl_node_install(fs, node, desc);
	}
	return node;
}

void ctl_detach(struct rfs *fs, struct ctl_node *node)
{
	if (!node->attached)
		return;
	if (!node->desc) {
		struct ctl_node **pp = &fs->temps;

		while (*pp != node)
			pp = &(*pp)->next;
		*pp = node->next;
		node->next = NULL;
	} else if (fs->ctl[desc_index(node->desc)] == node) {
		fs->ctl[desc_index(node->desc)] = NULL;
	}
	node->attached = false;
	ctl_node_put(fs, node);
}

int ctl_getattr_node(struct rfs *fs, struct ctl_node *node, struct stat *st)
{
	uint64_t size = 0;

	memset(st, 0, sizeof(*st));
	st->st_uid = fs->opt.uid;
	st->st_gid = fs->opt.gid;
	st->st_nlink = 1;
	st->st_ino = node->ino;
	st->st_blksize = 4096;
	if (!node->desc) {
		st->st_mode = S_IFREG | (node->mode & 07777);
		st->st_size = (off_t)node->data.len;
		st->st_mtim = node->mtime;
		st->st_ctim = node->ctime;
		st->st_atim = node->mtime;
		return 0;
	}
	st->st_mode = S_IFREG | (node->desc->mode & ~(mode_t)fs->opt.fmask);
	clock_gettime(CLOCK_REALTIME, &st->st_mtim);
	node->desc->stat(fs, &size, &st->st_mtim);
	st->st_size = (off_t)size;
	st->st_atim = st->st_ctim = st->st_mtim;
	st->st_blocks = (blkcnt_t)((size + 511) / 512);
	return 0;
}

int ctl_entry(struct rfs *fs, struct ctl_node *node, struct fuse_entry_param *e)
{
	struct rfs_inode *inode = node->inode;
	struct stat st;

	if (!inode) {
		inode = rfs_inode_new(fs, node->kind);
		if (!inode)
			return -ENOMEM;
		inode->ctl = node;
		node->inode = inode;
		node->refs++;
	}
	ctl_getattr_node(fs, node, &st);
	rfs_inode_entry(fs, inode, &st, e);
	return 0;
}

void ctl_free_all(struct rfs *fs)
{
	for (size_t k = 0; k < DESC_COUNT; k++)
		if (fs->ctl[k])
			ctl_detach(fs, fs->ctl[k]);
	while (fs->temps)
		ctl_detach(fs, fs->temps);
}

int ctl_value_bytes(struct rfs *fs, const struct ctl_desc *desc,
		    struct buf *out)
{
	struct fat_node *fat = NULL;
	struct fat_stat st;
	int ret;

	out->len = 0;
	out->secret = desc->secret;
	if (!desc->file)
		return desc->read ? desc->read(fs, out) : 0;
	ret = desc->file(fs, &fat);
	if (ret)
		return ret;
	fat_node_stat(fs->vol, fat, &st);
	ret = buf_truncate(out, st.size, (size_t)-1);
	if (!ret &&
	    fat_read(fs->vol, fat, out->data, st.size, 0) != (ssize_t)st.size)
		ret = -EIO;
	fat_node_put(fs->vol, fat);
	return ret;
}

/* ---- handles ---- */

static bool writing(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY;
}

/* What a handle of a control file starts with. */
static int snapshot(struct rfs *fs, struct ctl_handle *h)
{
	const struct ctl_desc *d = h->desc;
	int ret;

	if (d->command && writing(h->flags))
		return 0; /* words act as they are written */
	if (d->open_fd) {
		h->log_fd = d->open_fd(fs);
		return 0;
	}
	if (writing(h->flags) && (h->flags & O_TRUNC)) {
		h->dirty = true; /* even with nothing written: ": > userconf" */
		return 0;
	}
	if (d->file && !writing(h->flags)) {
		/* Read a kernel in place, not as a copy. */
		h->fat_gen = fs->vol_gen;
		return d->file(fs, &h->fat);
	}
	ret = ctl_value_bytes(fs, d, &h->buf);
	if (ret == -ENOENT && writing(h->flags))
		ret = 0; /* writing creates the file */
	return ret;
}

int ctl_handle_open(struct rfs *fs, struct ctl_node *node, int flags,
		    struct ctl_handle **hp)
{
	struct ctl_handle *h;
	int ret;

	*hp = NULL;
	if (writing(flags) && !node->desc->commit && !node->desc->command)
		return -EACCES;
	if (writing(flags) && node->desc->commit && fat_is_read_only(fs->vol))
		return -EROFS;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->node = node;
	h->desc = node->desc;
	h->flags = flags;
	h->log_fd = -1;
	h->buf.secret = node->desc->secret;
	ret = snapshot(fs, h);
	if (ret) {
		buf_free(&h->buf);
		free(h);
		return ret;
	}
	node->refs++;
	*hp = h;
	return 0;
}

void ctl_handle_close(struct rfs *fs, struct ctl_handle *h)
{
	if (h->fat && h->fat_gen == fs->vol_gen)
		fat_node_put(fs->vol, h->fat);
	if (h->log_fd >= 0)
		close(h->log_fd);
	buf_free(&h->buf);
	ctl_node_put(fs, h->node);
	free(h);
}

/* ---- the kinds' operations ---- */

static int ctl_getattr(struct rfs *fs, struct rfs_inode *inode, struct stat *st)
{
	return ctl_getattr_node(fs, inode->ctl, st);
}

static int ctl_open(struct rfs *fs, struct rfs_inode *inode, int flags,
		    struct rfs_file **filep)
{
	struct rfs_file *file = calloc(1, sizeof(*file));
	int ret;

	if (!file)
		return -ENOMEM;
	ret = ctl_handle_open(fs, inode->ctl, flags, &file->handle);
	if (ret) {
		free(file);
		return ret;
	}
	file->kind = inode->kind;
	file->inode = inode;
	*filep = file;
	return 0;
}

static int ctl_read(struct rfs *fs, struct rfs_file *file, size_t size,
		    off_t off, struct fuse_bufvec **bufvp)
{
	struct ctl_handle *h = file->handle;
	char *tmp;
	ssize_t n;
	int ret;

	if (off < 0)
		return -EINVAL;
	if (h->log_fd < 0 && !h->fat) {
		size_t len = (uint64_t)off >= h->buf.len
				     ? 0
				     : h->buf.len - (size_t)off;

		return rfs_bufvec_mem(h->buf.data + (len ? off : 0),
				      len < size ? len : size, bufvp);
	}
	if (h->fat && h->fat_gen != fs->vol_gen)
		return -ESTALE;
	tmp = malloc(size ? size : 1);
	if (!tmp)
		return -ENOMEM;
	if (h->fat) {
		n = fat_read(fs->vol, h->fat, tmp, size, (uint64_t)off);
	} else {
		n = pread(h->log_fd, tmp, size, off);
		if (n < 0)
			n = -errno;
	}
	ret = n < 0 ? (int)n : rfs_bufvec_mem(tmp, (size_t)n, bufvp);
	free(tmp);
	return ret;
}

static ssize_t value_write(struct rfs *fs, struct rfs_file *file,
			   const char *buf, size_t size, off_t off)
{
	struct ctl_handle *h = file->handle;
	int ret;

	(void)fs;
	if (off < 0)
		return -EINVAL;
	if (h->failed)
		return -EINVAL;
	if (h->flags & O_APPEND)
		off = (off_t)h->buf.len;
	ret = buf_write(&h->buf, buf, size, (uint64_t)off, h->desc->max);
	if (ret == 0)
		h->dirty = h->written = true;
	/* Refuse at once what no later write can make valid; a refused
	   write fails the handle, so that nothing of it is committed. */
	if (ret == 0 && h->desc->precheck && h->desc->precheck(&h->buf) != 0)
		ret = -EINVAL;
	if (ret == -EFBIG)
		rpifs_log(
			RPIFS_WARN,
			"%s: more than the %zu bytes it takes; nothing changed",
			h->desc->name, h->desc->max);
	if (ret) {
		h->failed = true;
		return ret;
	}
	return (ssize_t)size;
}

static int commit(struct rfs *fs, struct ctl_handle *h)
{
	int ret;

	h->dirty = false;
	ret = h->desc->commit(fs, &h->buf);
	if (ret)
		h->failed = true;
	else
		rpifs_log_clear_last();
	return ret;
}

static int value_flush(struct rfs *fs, struct rfs_file *file)
{
	struct ctl_handle *h = file->handle;

	if (h->failed)
		return -EINVAL;
	/* Shells close a duplicate before writing: a truncation alone waits
	   for the release. */
	if (!h->dirty || !h->written)
		return 0;
	return commit(fs, h);
}

static void value_release(struct rfs *fs, struct rfs_file *file)
{
	struct ctl_handle *h = file->handle;

	if (h->dirty && !h->failed) {
		/* Truncated and closed with nothing written: ": > userconf". */
		int ret = commit(fs, h);

		if (ret)
			rpifs_log(RPIFS_WARN, "%s: not changed: %s",
				  h->desc->name, strerror(-ret));
	}
	ctl_handle_close(fs, h);
	free(file);
}

static void text_release(struct rfs *fs, struct rfs_file *file)
{
	ctl_handle_close(fs, file->handle);
	free(file);
}

/* truncate(1) on the name: the value cut, committed now. */
static int truncate_value(struct rfs *fs, const struct ctl_desc *d,
			  uint64_t size)
{
	struct buf value = {.secret = d->secret};
	int ret = ctl_value_bytes(fs, d, &value);

	if (ret == -ENOENT)
		ret = 0;
	if (!ret)
		ret = buf_truncate(&value, size, d->max);
	if (!ret)
		ret = d->commit(fs, &value);
	buf_free(&value);
	return ret;
}

static int value_setattr(struct rfs *fs, struct rfs_inode *inode,
			 struct rfs_file *file, const struct stat *attr,
			 int to_set)
{
	const struct ctl_desc *d = inode->ctl->desc;
	struct ctl_handle *h = file ? file->handle : NULL;
	int ret;

	if ((to_set & FUSE_SET_ATTR_UID && attr->st_uid != fs->opt.uid) ||
	    (to_set & FUSE_SET_ATTR_GID && attr->st_gid != fs->opt.gid)) {
		if (!fs->opt.quiet)
			return -EPERM;
	}
	if (!(to_set & FUSE_SET_ATTR_SIZE))
		return 0; /* modes and times of control files are their own */
	if (h && h->desc == d) {
		/* ftruncate by a writer: part of what it will commit. */
		ret = buf_truncate(&h->buf, (uint64_t)attr->st_size, d->max);
		if (!ret)
			h->dirty = h->written = true;
		return ret;
	}
	return truncate_value(fs, d, (uint64_t)attr->st_size);
}

static int text_setattr(struct rfs *fs, struct rfs_inode *inode,
			struct rfs_file *file, const struct stat *attr,
			int to_set)
{
	(void)fs;
	(void)inode;
	(void)file;
	(void)attr;
	return to_set & FUSE_SET_ATTR_SIZE ? -EACCES : 0;
}

static int text_open(struct rfs *fs, struct rfs_inode *inode, int flags,
		     struct rfs_file **filep)
{
	if (writing(flags))
		return -EACCES;
	return ctl_open(fs, inode, flags, filep);
}

/*
 * Words written to run: "start" boots, "stop" stops. They act as soon as
 * a word is complete, so that echo sees a refusal.
 */
static int run_words(struct rfs *fs, struct ctl_handle *h, const char *buf,
		     size_t size)
{
	int ret = buf_write(&h->buf, buf, size, h->buf.len, RUN_MAX);

	while (!ret) {
		char word[32];
		size_t start = 0, end, len = h->buf.len;
		const char *p = (const char *)h->buf.data;

		while (start < len && strchr(" \t\r\n", p[start]))
			start++;
		end = start;
		while (end < len && !strchr(" \t\r\n", p[end]))
			end++;
		if (end == len || end == start) {
			/* An unfinished word waits; a finished line is done. */
			if (end == start)
				h->buf.len = 0;
			break;
		}
		snprintf(word, sizeof(word), "%.*s", (int)(end - start),
			 p + start);
		memmove(h->buf.data, p + end, len - end);
		h->buf.len = len - end;
		ret = h->desc->command(fs, word);
	}
	if (ret)
		h->buf.len = 0;
	return ret;
}

static ssize_t run_write(struct rfs *fs, struct rfs_file *file, const char *buf,
			 size_t size, off_t off)
{
	int ret;

	(void)off;
	ret = run_words(fs, file->handle, buf, size);
	return ret ? ret : (ssize_t)size;
}

static int run_flush(struct rfs *fs, struct rfs_file *file)
{
	struct ctl_handle *h = file->handle;

	/* "echo -n start > run": the last word ends at the close. */
	if (writing(h->flags) && h->buf.len > 0)
		return run_words(fs, h, "\n", 1);
	return 0;
}

static int run_setattr(struct rfs *fs, struct rfs_inode *inode,
		       struct rfs_file *file, const struct stat *attr,
		       int to_set)
{
	(void)file;
	(void)attr;
	/* touch run: boot. */
	if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME))
		return inode->ctl->desc->command(fs, "start");
	return 0;
}

static int ctl_fsync(struct rfs *fs, struct rfs_inode *inode,
		     struct rfs_file *file, int datasync)
{
	(void)fs;
	(void)inode;
	(void)file;
	(void)datasync;
	return 0; /* committed at close, synced then */
}

static void ctl_forget(struct rfs *fs, struct rfs_inode *inode)
{
	inode->ctl->inode = NULL;
	ctl_node_put(fs, inode->ctl);
}

/* Values change behind the kernel's back: no caching (timeout 0). */
const struct rfs_kind rfs_ctl_value_kind = {
	.name = "control value",
	.guest_owned = true,
	.getattr = ctl_getattr,
	.open = ctl_open,
	.read = ctl_read,
	.write = value_write,
	.flush = value_flush,
	.fsync = ctl_fsync,
	.release = value_release,
	.setattr = value_setattr,
	.forget = ctl_forget,
};

const struct rfs_kind rfs_ctl_run_kind = {
	.name = "run",
	.getattr = ctl_getattr,
	.open = ctl_open,
	.read = ctl_read,
	.write = run_write,
	.flush = run_flush,
	.fsync = ctl_fsync,
	.release = text_release,
	.setattr = run_setattr,
	.forget = ctl_forget,
};

const struct rfs_kind rfs_ctl_text_kind = {
	.name = "control text",
	.getattr = ctl_getattr,
	.open = text_open,
	.read = ctl_read,
	.fsync = ctl_fsync,
	.release = text_release,
	.setattr = text_setattr,
	.forget = ctl_forget,
};
