// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The mount's root beside boot/: control files and temporary files.
 *
 * A control file is a node standing for a value kept in the image. Opening
 * it takes a snapshot; writes go to the handle and are validated and
 * committed when the writer closes it. Editors work because the root takes
 * temporary files (in memory, gone at unmount) and renames behave:
 * - a temporary file renamed over a control file commits its contents,
 *   and that node becomes the control file (sed -i, vim, rsync);
 * - a control file renamed away becomes a temporary file holding the value,
 *   and a fresh node takes the control file's name (vim's backups).
 */
#include "ctl.h"
#include "../common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* All temporary files together may hold this much. */
#define TEMP_TOTAL_MAX (64u * 1024 * 1024)
#define TEMP_INO_BASE (1ull << 40)

static const char *const names[CTL_KINDS] = {
	[CTL_USERCONF] = "userconf", [CTL_CMDLINE] = "cmdline",
	[CTL_KERNEL] = "kernel",     [CTL_DTB] = "dtb",
	[CTL_STATUS] = "status",     [CTL_RUN] = "run",
	[CTL_CONSOLE] = "console",
};

static bool enabled(enum ctl_kind kind)
{
	return kind < CTL_KINDS;
}

const char *ctl_name(enum ctl_kind kind)
{
	return kind < CTL_KINDS ? names[kind] : "temporary file";
}

enum ctl_kind ctl_kind_of(const char *name)
{
	for (int k = 0; k < CTL_KINDS; k++)
		if (enabled(k) && strcmp(name, names[k]) == 0)
			return k;
	return CTL_TEMP;
}

static struct ctl_node *node_new(struct rfs *fs, enum ctl_kind kind,
				 const char *name)
{
	struct ctl_node *node = calloc(1, sizeof(*node));

	if (!node)
		return NULL;
	node->kind = kind;
	if (name) {
		node->name = strdup(name);
		if (!node->name) {
			free(node);
			return NULL;
		}
	}
	node->ino = TEMP_INO_BASE + fs->next_temp_ino++;
	node->mode = 0644;
	clock_gettime(CLOCK_REALTIME, &node->mtime);
	node->ctime = node->mtime;
	return node;
}

static void node_put(struct rfs *fs, struct ctl_node *node)
{
	if (--node->refs > 0)
		return;
	fs->temp_bytes -= node->data.cap;
	rfs_buf_free(&node->data);
	free(node->name);
	free(node);
}

/* The current node of a control file, made on first use. */
static struct ctl_node *control_node(struct rfs *fs, enum ctl_kind kind)
{
	struct ctl_node *node = fs->ctl[kind];

	if (!node) {
		node = node_new(fs, kind, NULL);
		if (!node)
			return NULL;
		node->ino = 2 + (uint64_t)kind;
		node->attached = true;
		node->refs = 1; /* the root's */
		fs->ctl[kind] = node;
	}
	return node;
}

static struct ctl_node *temp_find(struct rfs *fs, const char *name)
{
	for (struct ctl_node *n = fs->temps; n; n = n->next)
		if (strcmp(n->name, name) == 0)
			return n;
	return NULL;
}

/* Take a node out of the root; it lives on while used. */
static void detach(struct rfs *fs, struct ctl_node *node)
{
	if (!node->attached)
		return;
	if (node->kind == CTL_TEMP) {
		struct ctl_node **pp = &fs->temps;

		while (*pp != node)
			pp = &(*pp)->next;
		*pp = node->next;
		node->next = NULL;
	} else if (fs->ctl[node->kind] == node) {
		fs->ctl[node->kind] = NULL;
	}
	node->attached = false;
	node_put(fs, node);
}

static void temp_attach(struct rfs *fs, struct ctl_node *node)
{
	node->next = fs->temps;
	fs->temps = node;
	node->attached = true;
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
	ret = rfs_buf_write(&node->data, p, n, off, TEMP_TOTAL_MAX);
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
	ret = rfs_buf_truncate(&node->data, size, TEMP_TOTAL_MAX);
	fs->temp_bytes += node->data.cap - before;
	return ret;
}

int ctl_getattr(struct rfs *fs, struct ctl_node *node, struct stat *st)
{
	uint64_t size;

	memset(st, 0, sizeof(*st));
	st->st_uid = fs->opt.uid;
	st->st_gid = fs->opt.gid;
	st->st_nlink = 1;
	st->st_ino = node->ino;
	st->st_blksize = 4096;
	if (node->kind == CTL_TEMP) {
		st->st_mode = S_IFREG | (node->mode & 07777);
		st->st_size = (off_t)node->data.len;
		st->st_mtim = node->mtime;
		st->st_ctim = node->ctime;
		st->st_atim = node->mtime;
		return 0;
	}
	switch (node->kind) {
	case CTL_USERCONF:
		st->st_mode = S_IFREG | 0600;
		break;
	case CTL_STATUS:
	case CTL_CONSOLE:
		st->st_mode = S_IFREG | 0444;
		break;
	default:
		st->st_mode = S_IFREG | 0644;
		break;
	}
	st->st_mode &= ~(mode_t)fs->opt.fmask | S_IFMT;
	ctl_value_stat(fs, node->kind, &size, &st->st_mtim);
	st->st_size = (off_t)size;
	st->st_atim = st->st_ctim = st->st_mtim;
	st->st_blocks = (blkcnt_t)((size + 511) / 512);
	return 0;
}

/* Describe a node to the kernel, counting one lookup. */
static int entry_of(struct rfs *fs, struct ctl_node *node,
		    struct fuse_entry_param *e)
{
	struct rfs_inode *inode = node->inode;

	if (!inode) {
		inode = calloc(1, sizeof(*inode));
		if (!inode)
			return -ENOMEM;
		inode->kind = RFS_CTL;
		inode->ctl = node;
		node->inode = inode;
		node->refs++;
	}
	inode->nlookup++;
	memset(e, 0, sizeof(*e));
	e->ino = rfs_ino(fs, inode);
	e->generation = 1;
	/* Values change behind the kernel's back: no caching. */
	e->attr_timeout = 0;
	e->entry_timeout = 0;
	return ctl_getattr(fs, node, &e->attr);
}

void ctl_forget(struct rfs *fs, struct ctl_node *node)
{
	node->inode = NULL;
	node_put(fs, node);
}

int ctl_lookup(struct rfs *fs, const char *name, struct fuse_entry_param *e)
{
	enum ctl_kind kind = ctl_kind_of(name);
	struct ctl_node *node =
		kind == CTL_TEMP ? temp_find(fs, name) : control_node(fs, kind);

	if (!node)
		return kind == CTL_TEMP ? -ENOENT : -ENOMEM;
	return entry_of(fs, node, e);
}

int ctl_readdir_entry(struct rfs *fs, unsigned index, char *name, size_t size,
		      struct fuse_entry_param *e, bool plus)
{
	struct ctl_node *node = NULL;
	unsigned i = 0;

	for (int k = 0; k < CTL_KINDS && !node; k++) {
		if (!enabled(k))
			continue;
		if (i++ == index)
			node = control_node(fs, k);
	}
	for (struct ctl_node *t = fs->temps; t && !node; t = t->next)
		if (i++ == index)
			node = t;
	if (!node)
		return 0;
	snprintf(name, size, "%s", node->kind == CTL_TEMP ? node->name
							    : names[node->kind]);
	memset(e, 0, sizeof(*e));
	if (plus)
		return entry_of(fs, node, e) ? -ENOMEM : 1;
	ctl_getattr(fs, node, &e->attr);
	return 1;
}

int ctl_open(struct rfs *fs, struct ctl_node *node, int flags,
	     struct ctl_handle **hp)
{
	bool writing = (flags & O_ACCMODE) != O_RDONLY;
	struct ctl_handle *h;
	int ret = 0;

	*hp = NULL;
	if (node->kind != CTL_TEMP && writing) {
		if (!ctl_writable(node->kind))
			return -EACCES;
		/* run takes "stop" while the guest runs. */
		if (node->kind != CTL_RUN &&
		    (run_check_writable(fs) || fat_is_read_only(fs->vol)))
			return -EROFS;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->node = node;
	h->kind = node->kind;
	h->flags = flags;
	h->log_fd = -1;
	h->buf.secret = node->kind == CTL_USERCONF;
	if (node->kind == CTL_RUN && writing) {
		/* Commands act as they are written; nothing to snapshot. */
	} else if (node->kind == CTL_CONSOLE) {
		ret = ctl_console_open(fs, &h->log_fd);
	} else if (node->kind == CTL_TEMP) {
		if (writing && (flags & O_TRUNC))
			ret = temp_truncate(fs, node, 0);
	} else if (writing && (flags & O_TRUNC)) {
		h->dirty = true; /* even with nothing written: ": > userconf" */
	} else {
		ret = ctl_value_read(fs, node->kind, &h->buf, &h->fat);
		h->fat_gen = fs->vol_gen;
		if (ret == -ENOENT && writing) {
			ret = 0; /* writing creates the file */
		} else if (!ret && writing && h->fat) {
			/* Appending to a kernel: its bytes, then the writes. */
			struct fat_stat st;
			char *bytes;

			fat_node_stat(fs->vol, h->fat, &st);
			bytes = malloc(st.size ? st.size : 1);
			ret = bytes ? 0 : -ENOMEM;
			if (!ret && fat_read(fs->vol, h->fat, bytes, st.size, 0) !=
					    (ssize_t)st.size)
				ret = -EIO;
			if (!ret)
				ret = rfs_buf_set(&h->buf, bytes, st.size);
			free(bytes);
			fat_node_put(fs->vol, h->fat);
			h->fat = NULL;
		}
	}
	if (ret) {
		rfs_buf_free(&h->buf);
		if (h->fat)
			fat_node_put(fs->vol, h->fat);
		if (h->log_fd >= 0)
			close(h->log_fd);
		free(h);
		return ret;
	}
	node->refs++;
	*hp = h;
	return 0;
}

ssize_t ctl_read(struct rfs *fs, struct ctl_handle *h, char *buf, size_t size,
		 off_t off)
{
	const struct rfs_buf *b = h->kind == CTL_TEMP ? &h->node->data : &h->buf;

	if (off < 0)
		return -EINVAL;
	if (h->log_fd >= 0) {
		ssize_t n = pread(h->log_fd, buf, size, off);

		return n < 0 ? -errno : n;
	}
	if (h->fat)
		return h->fat_gen == fs->vol_gen
			       ? fat_read(fs->vol, h->fat, buf, size, (uint64_t)off)
			       : -ESTALE;
	if ((uint64_t)off >= b->len)
		return 0;
	if (size > b->len - (size_t)off)
		size = b->len - (size_t)off;
	memcpy(buf, b->data + off, size);
	return (ssize_t)size;
}

/*
 * Words written to run: "start" boots, "stop" stops. They act as soon as
 * a word is complete, so that echo sees a refusal.
 */
static int run_command(struct rfs *fs, struct ctl_handle *h, const char *buf,
		       size_t size)
{
	int ret = rfs_buf_write(&h->buf, buf, size, h->buf.len, 256);

	while (!ret) {
		char word[32];
		size_t start, end, len = h->buf.len;
		const char *p = (const char *)h->buf.data;

		start = 0;
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
		snprintf(word, sizeof(word), "%.*s", (int)(end - start), p + start);
		memmove(h->buf.data, p + end, len - end);
		h->buf.len = len - end;
		if (strcmp(word, "start") == 0) {
			ret = run_start(fs);
		} else if (strcmp(word, "stop") == 0) {
			ret = run_stop(fs);
		} else {
			rpifs_log(RPIFS_WARN, "run: \"%s\": write start or stop", word);
			ret = -EINVAL;
		}
	}
	if (ret)
		h->buf.len = 0;
	return ret;
}

ssize_t ctl_write(struct rfs *fs, struct ctl_handle *h, const char *buf,
		  size_t size, off_t off)
{
	struct ctl_node *node = h->node;
	int ret;

	if (off < 0)
		return -EINVAL;
	if (h->kind == CTL_TEMP) {
		if (node->kind != CTL_TEMP)
			return -ESTALE; /* renamed over a control file meanwhile */
		if (h->flags & O_APPEND)
			off = (off_t)node->data.len;
		ret = temp_write(fs, node, buf, size, (uint64_t)off);
		if (ret)
			return ret;
		clock_gettime(CLOCK_REALTIME, &node->mtime);
		return (ssize_t)size;
	}
	if (h->failed)
		return -EINVAL;
	if (h->kind == CTL_RUN) {
		ret = run_command(fs, h, buf, size);
		return ret ? ret : (ssize_t)size;
	}
	if (h->flags & O_APPEND)
		off = (off_t)h->buf.len;
	ret = rfs_buf_write(&h->buf, buf, size, (uint64_t)off,
			    ctl_value_max(h->kind));
	if (ret)
		return ret;
	h->dirty = h->written = true;
	/* Refuse at once what no later write can make valid. */
	if (ctl_value_precheck(fs, h->kind, &h->buf) != 0) {
		h->failed = true;
		return -EINVAL;
	}
	return (ssize_t)size;
}

int ctl_flush(struct rfs *fs, struct ctl_handle *h)
{
	int ret;

	if (h->kind == CTL_RUN) {
		/* "echo -n start > run": the last word ends at the close. */
		if ((h->flags & O_ACCMODE) != O_RDONLY && h->buf.len > 0)
			return run_command(fs, h, "\n", 1);
		return 0;
	}
	if (h->kind == CTL_TEMP)
		return 0;
	if (h->failed)
		return -EINVAL;
	if (!h->dirty || !h->written)
		return 0;
	h->dirty = false;
	ret = ctl_value_commit(fs, h->kind, &h->buf);
	if (ret)
		h->failed = true;
	return ret;
}

void ctl_release(struct rfs *fs, struct ctl_handle *h)
{
	if (h->kind != CTL_TEMP && h->kind != CTL_RUN && h->dirty && !h->failed) {
		/* Truncated and closed with nothing written: ": > userconf". */
		int ret = ctl_value_commit(fs, h->kind, &h->buf);

		if (ret)
			rpifs_log(RPIFS_WARN, "%s: not changed: %s",
				  ctl_name(h->kind), strerror(-ret));
	}
	if (h->fat && h->fat_gen == fs->vol_gen)
		fat_node_put(fs->vol, h->fat);
	if (h->log_fd >= 0)
		close(h->log_fd);
	rfs_buf_free(&h->buf);
	node_put(fs, h->node);
	free(h);
}

int ctl_setattr(struct rfs *fs, struct ctl_node *node, struct ctl_handle *h,
		const struct stat *attr, int to_set)
{
	int ret = 0;

	if ((to_set & FUSE_SET_ATTR_UID && attr->st_uid != fs->opt.uid) ||
	    (to_set & FUSE_SET_ATTR_GID && attr->st_gid != fs->opt.gid)) {
		if (!fs->opt.quiet)
			return -EPERM;
	}
	if (node->kind == CTL_TEMP) {
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
	/* touch run: boot. */
	if (node->kind == CTL_RUN && (to_set & (FUSE_SET_ATTR_ATIME |
						FUSE_SET_ATTR_MTIME)))
		return run_start(fs);
	if (!(to_set & FUSE_SET_ATTR_SIZE) || node->kind == CTL_RUN)
		return 0; /* modes and times of control files are their own */
	if (!ctl_writable(node->kind))
		return -EACCES;
	if (run_check_writable(fs))
		return -EROFS;
	if (h && h->kind == node->kind) {
		/* ftruncate by a writer: part of what it will commit. */
		ret = rfs_buf_truncate(&h->buf, (uint64_t)attr->st_size,
				       ctl_value_max(h->kind));
		if (!ret)
			h->dirty = h->written = true;
		return ret;
	}
	{
		/* truncate(1) on the name: the value cut, committed now. */
		struct rfs_buf value = { .secret = node->kind == CTL_USERCONF };
		struct fat_node *fat = NULL;

		ret = ctl_value_read(fs, node->kind, &value, &fat);
		if (ret == -ENOENT)
			ret = 0;
		if (!ret && fat) {
			struct fat_stat st;

			fat_node_stat(fs->vol, fat, &st);
			ret = rfs_buf_truncate(&value, st.size, ctl_value_max(node->kind));
			if (!ret && fat_read(fs->vol, fat, value.data, st.size, 0) !=
					    (ssize_t)st.size)
				ret = -EIO;
		}
		if (fat)
			fat_node_put(fs->vol, fat);
		if (!ret)
			ret = rfs_buf_truncate(&value, (uint64_t)attr->st_size,
					       ctl_value_max(node->kind));
		if (!ret)
			ret = ctl_value_commit(fs, node->kind, &value);
		rfs_buf_free(&value);
		return ret;
	}
}

int ctl_create(struct rfs *fs, const char *name, mode_t mode,
	       struct fuse_entry_param *e)
{
	struct ctl_node *node;

	if (ctl_kind_of(name) != CTL_TEMP || strcmp(name, "boot") == 0 ||
	    temp_find(fs, name))
		return -EEXIST;
	if (strlen(name) > 255)
		return -ENAMETOOLONG;
	node = node_new(fs, CTL_TEMP, name);
	if (!node)
		return -ENOMEM;
	node->mode = mode & 07777;
	node->refs = 1;
	temp_attach(fs, node);
	return entry_of(fs, node, e);
}

int ctl_unlink(struct rfs *fs, const char *name)
{
	enum ctl_kind kind = ctl_kind_of(name);
	struct ctl_node *node;

	if (strcmp(name, "boot") == 0)
		return -EISDIR;
	if (kind == CTL_USERCONF) {
		/* Removing userconf removes the user, as writing nothing does. */
		struct rfs_buf none = { 0 };

		return run_check_writable(fs) ? -EROFS
					      : ctl_value_commit(fs, kind, &none);
	}
	if (kind != CTL_TEMP)
		return -EPERM;
	node = temp_find(fs, name);
	if (!node)
		return -ENOENT;
	detach(fs, node);
	return 0;
}

/* A control file's value as the contents of a temporary file. */
static int snapshot_into(struct rfs *fs, struct ctl_node *node)
{
	struct rfs_buf value = { .secret = node->kind == CTL_USERCONF };
	struct fat_node *fat = NULL;
	int ret = ctl_value_read(fs, node->kind, &value, &fat);

	if (ret == -ENOENT)
		ret = 0;
	if (!ret && fat) {
		struct fat_stat st;

		fat_node_stat(fs->vol, fat, &st);
		ret = rfs_buf_truncate(&value, st.size, (size_t)-1);
		if (!ret && fat_read(fs->vol, fat, value.data, st.size, 0) !=
				    (ssize_t)st.size)
			ret = -EIO;
	}
	if (fat)
		fat_node_put(fs->vol, fat);
	if (!ret)
		ret = temp_write(fs, node, value.data ? value.data : (uint8_t *)"",
				 value.len, 0);
	node->data.secret = value.secret;
	rfs_buf_free(&value);
	return ret;
}

int ctl_rename(struct rfs *fs, const char *from, const char *to,
	       unsigned flags)
{
	enum ctl_kind src = ctl_kind_of(from), dst = ctl_kind_of(to);
	struct ctl_node *node, *target;
	char *new_name;
	int ret;

	if (strcmp(from, "boot") == 0 || strcmp(to, "boot") == 0)
		return -EBUSY;
	if (strcmp(from, to) == 0)
		return 0;
	if (src != CTL_TEMP && dst != CTL_TEMP)
		return -EPERM; /* control files keep their names */
	node = src == CTL_TEMP ? temp_find(fs, from) : control_node(fs, src);
	if (!node)
		return -ENOENT;
	target = dst == CTL_TEMP ? temp_find(fs, to) : control_node(fs, dst);
	if (target && (flags & RENAME_NOREPLACE))
		return -EEXIST;

	if (dst != CTL_TEMP) {
		/* A temporary file over a control file: commit its contents. */
		if (!ctl_writable(dst))
			return -EPERM;
		if (run_check_writable(fs) || fat_is_read_only(fs->vol))
			return -EROFS;
		ret = ctl_value_commit(fs, dst, &node->data);
		if (ret)
			return ret;
		node->refs++;	     /* the root's, as the control file */
		detach(fs, node);    /* out of the temporary files ... */
		if (target)
			detach(fs, target);
		fs->temp_bytes -= node->data.cap;
		rfs_buf_free(&node->data);
		free(node->name);
		node->name = NULL;
		node->kind = dst;    /* ... into the control file's place */
		node->attached = true;
		fs->ctl[dst] = node;
		return 0;
	}

	new_name = strdup(to);
	if (!new_name)
		return -ENOMEM;
	if (src != CTL_TEMP) {
		/* A control file renamed away: its value, as a temporary file. */
		ret = snapshot_into(fs, node);
		if (ret) {
			free(new_name);
			return ret;
		}
		fs->ctl[src] = NULL;
		node->kind = CTL_TEMP;
		node->mode = src == CTL_USERCONF ? 0600 : 0644;
		if (node->ino < TEMP_INO_BASE)
			node->ino = TEMP_INO_BASE + fs->next_temp_ino++;
		temp_attach(fs, node);
	}
	if (target)
		detach(fs, target);
	free(node->name);
	node->name = new_name;
	clock_gettime(CLOCK_REALTIME, &node->ctime);
	return 0;
}

void ctl_free_all(struct rfs *fs)
{
	for (int k = 0; k < CTL_KINDS; k++)
		if (fs->ctl[k])
			detach(fs, fs->ctl[k]);
	while (fs->temps)
		detach(fs, fs->temps);
}
