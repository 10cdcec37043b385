// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * File contents: reading and mapping byte ranges to runs of the image, one
 * system call per run of contiguous clusters.
 */
#include "fat_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

/* The chain must cover the file's size; a shorter chain is damage. */
static int map_file(struct fat_vol *vol, struct fat_node *node)
{
	uint64_t need;
	int ret = fat_map_build(vol, node);

	if (ret)
		return ret;
	need = ((uint64_t)node->size + vol->bpb.cluster_size - 1) /
	       vol->bpb.cluster_size;
	if (node->map.clusters < need)
		return fat_corrupt(vol,
				   "'%s' is %u bytes but its chain of %u "
				   "clusters holds only %llu",
				   node->name, node->size, node->map.clusters,
				   (unsigned long long)node->map.clusters *
					   vol->bpb.cluster_size);
	return 0;
}

int fat_map(struct fat_vol *vol, struct fat_node *node, uint64_t off,
	    size_t size, uint64_t *pos, size_t *len)
{
	uint32_t cs = vol->bpb.cluster_size;
	uint32_t left, cluster;
	uint64_t run_bytes;
	int ret;

	*len = 0;
	*pos = 0;
	if (node->attr & FAT_ATTR_DIR)
		return -EISDIR;
	if (off >= node->size || size == 0)
		return 0;
	ret = map_file(vol, node);
	if (ret)
		return ret;
	if (size > node->size - off)
		size = (size_t)(node->size - off);
	cluster = fat_map_lookup(&node->map, (uint32_t)(off / cs), &left);
	run_bytes = (uint64_t)left * cs - off % cs;
	*pos = vol->win.offset + fat_cluster_offset(vol, cluster) + off % cs;
	*len = run_bytes < size ? (size_t)run_bytes : size;
	return 0;
}

ssize_t fat_read(struct fat_vol *vol, struct fat_node *node, void *buf,
		 size_t size, uint64_t off)
{
	uint8_t *p = buf;
	size_t done = 0;

	while (done < size) {
		uint64_t pos;
		size_t len;
		int ret =
			fat_map(vol, node, off + done, size - done, &pos, &len);

		if (ret)
			return done ? (ssize_t)done : ret;
		if (len == 0)
			break;
		ret = fat_io_read(vol, pos - vol->win.offset, p + done, len);
		if (ret)
			return done ? (ssize_t)done : ret;
		done += len;
	}
	return (ssize_t)done;
}

void fat_advise(struct fat_vol *vol, struct fat_node *node, uint64_t from,
		uint64_t until)
{
	while (from < until) {
		uint64_t pos;
		size_t len;

		if (fat_map(vol, node, from, (size_t)(until - from), &pos,
			    &len) != 0 ||
		    len == 0)
			break;
		(void)posix_fadvise(vol->win.fd, (off_t)pos, (off_t)len,
				    POSIX_FADV_WILLNEED);
		from += len;
	}
}

#define FAT_ADVISE_MIN (1u << 20)

int fat_read_file(struct fat_vol *vol, const char *path, char **data,
		  size_t *len, size_t max)
{
	struct fat_node *node;
	char *buf;
	ssize_t n;
	int ret = fat_lookup_path(vol, path, &node);

	if (ret)
		return ret;
	if (node->attr & FAT_ATTR_DIR)
		ret = -EISDIR;
	else if (node->size > max)
		ret = -EFBIG;
	else if (!(buf = malloc((size_t)node->size + 1)))
		ret = -ENOMEM;
	if (ret)
		goto out;
	/* A kernel's runs asked for at once: the host's readahead cannot
	 * see a file's next run (in one run it measured no faster). Small
	 * files (config.txt, cmdline.txt, read at every status) skip it. */
	if (node->size >= FAT_ADVISE_MIN)
		fat_advise(vol, node, 0, node->size);
	n = fat_read(vol, node, buf, node->size, 0);
	if (n < 0) {
		free(buf);
		ret = (int)n;
		goto out;
	}
	buf[n] = '\0';
	*data = buf;
	*len = (size_t)n;
out:
	fat_node_put(vol, node);
	return ret;
}

void fat_now(uint16_t *date, uint16_t *time, uint8_t *cs)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	fat_time_from_timespec(&now, date, time, cs);
}

void fat_touch_ctime(struct fat_node *node)
{
	if (!node->is_root)
		fat_now(&node->cdate, &node->ctime, &node->ctime_cs);
}

/*
 * Record a change of contents: mtime, access date, archive bit, and the
 * creation time field, which Linux's vfat reads as ctime and sets at every
 * change (rfs_boot_stat shows it as ctime).
 */
static void touch_file(struct fat_node *node)
{
	fat_now(&node->mdate, &node->mtime, NULL);
	fat_touch_ctime(node);
	node->adate = node->mdate;
	node->attr |= FAT_ATTR_ARCHIVE;
}

/*
 * Write @len bytes of @buf (zeros when NULL) at file offset @off, inside
 * the file's clusters.
 */
static int write_data(struct fat_vol *vol, struct fat_node *node,
		      const uint8_t *buf, uint64_t off, uint64_t len)
{
	uint32_t cs = vol->bpb.cluster_size;

	while (len > 0) {
		uint32_t left, cluster;
		uint64_t run, n, pos;
		int ret;

		cluster =
			fat_map_lookup(&node->map, (uint32_t)(off / cs), &left);
		run = (uint64_t)left * cs - off % cs;
		n = run < len ? run : len;
		pos = fat_cluster_offset(vol, cluster) + off % cs;
		ret = buf ? fat_io_write(vol, pos, buf, (size_t)n)
			  : fat_io_zero(vol, pos, n);
		if (ret)
			return ret;
		if (buf)
			buf += n;
		off += n;
		len -= n;
	}
	return 0;
}

/*
 * Make the chain at least @clusters long. The new clusters are linked in
 * the cached FAT only; the caller writes data, then flushes the FAT.
 * @return the clusters now in the chain (fewer when the volume is full).
 */
static int64_t extend_chain(struct fat_vol *vol, struct fat_node *node,
			    uint32_t clusters)
{
	struct fat_map *map = &node->map;
	uint32_t have = map->clusters, first, got, last;
	int ret;

	if (clusters <= have)
		return have;
	last = fat_map_last(map);
	ret = fat_alloc_chain(vol, last ? last + 1 : 0, clusters - have, &first,
			      &got);
	if (ret == -ENOSPC)
		return have;
	if (ret)
		return ret;
	ret = last ? fat_ent_set(vol, last, first) : 0;
	if (ret) {
		fat_free_chain(vol, first);
		return ret;
	}
	if (!last)
		node->first_cluster = first;
	/* The new chain is contiguous when it can be: add it run by run. */
	for (uint32_t c = first, i = 0; i < got; i++) {
		uint32_t next = 0;

		ret = fat_map_append(map, c, 1);
		if (!ret && i + 1 < got)
			ret = fat_ent_get(vol, c, &next);
		if (ret) {
			map->valid =
				false; /* rebuilt from the FAT on next use */
			return ret;
		}
		c = next;
	}
	return map->clusters;
}

/*
 * Cut the chain to @keep clusters in the cached FAT, freeing the rest:
 * at once when undoing an extension that was never committed, else
 * (@later) once the entry's new size is durable.
 */
static int cut_chain(struct fat_vol *vol, struct fat_node *node, uint32_t keep,
		     bool later)
{
	struct fat_map *map = &node->map;
	uint32_t cut;
	int ret = 0;

	if (keep >= map->clusters)
		return 0;
	cut = fat_map_lookup(map, keep, NULL);
	if (keep)
		ret = fat_ent_set(vol, fat_map_lookup(map, keep - 1, NULL),
				  fat_eoc(vol));
	else
		node->first_cluster = FAT_CLUSTER_FREE;
	if (!ret)
		ret = later ? fat_free_chain_later(vol, cut)
			    : fat_free_chain(vol, cut);
	fat_map_truncate(map, keep);
	return ret;
}

/* Write the entry (size, first cluster, times) after data and FAT. */
static int commit(struct fat_vol *vol, struct fat_node *node)
{
	int ret = fat_table_flush(vol);

	if (ret)
		return ret;
	fat_dir_store_entry(vol, node);
	return fat_dir_flush(vol);
}

/*
 * Grow the file to @end (<= its chain's capacity after extend_chain):
 * the bytes between the old size and @zero_to are zeroed first, since
 * the clusters may hold anything.
 */
static int zero_gap(struct fat_vol *vol, struct fat_node *node,
		    uint64_t zero_to)
{
	if (zero_to <= node->size)
		return 0;
	return write_data(vol, node, NULL, node->size, zero_to - node->size);
}

ssize_t fat_write(struct fat_vol *vol, struct fat_node *node, const void *buf,
		  size_t size, uint64_t off)
{
	uint32_t cs = vol->bpb.cluster_size;
	uint64_t end, capacity, last;
	int64_t clusters;
	uint32_t had;
	int ret = fat_check_writable(vol);

	if (ret)
		return ret;
	fat_trace_call("write", node, NULL, NULL, NULL);
	if (node->attr & FAT_ATTR_DIR)
		return -EISDIR;
	if (size == 0)
		return 0;
	if (off >= FAT_FILE_MAX)
		return -EFBIG;
	if (size > FAT_FILE_MAX - off)
		size = (size_t)(FAT_FILE_MAX - off);
	ret = map_file(vol, node);
	if (ret)
		return ret;

	end = off + size;
	had = node->map.clusters;
	clusters = extend_chain(vol, node, (uint32_t)((end + cs - 1) / cs));
	if (clusters < 0)
		return (ssize_t)clusters;
	capacity = (uint64_t)clusters * cs;
	if (capacity <= off) {
		/* Full before the offset: give back what the gap took. */
		ret = cut_chain(vol, node, had, false);
		if (!ret)
			ret = fat_table_flush(vol);
		return ret ? ret : -ENOSPC;
	}
	if (end > capacity)
		end = capacity; /* a short write: the volume is full */

	last = (end - 1) / cs * cs;
	if (end % cs && last / cs >= had) {
		/*
		 * The write ends inside a cluster this call allocated: that
		 * cluster is written whole, zeros around the data (its old
		 * bytes are nobody's), in one write, which spares the host
		 * reading the image's page in first: a small file written to
		 * a cold image would otherwise wait for the disk.
		 */
		uint64_t from = off > last ? off : last;
		uint8_t *whole = calloc(1, cs);

		if (!whole)
			return -ENOMEM;
		memcpy(whole + (from - last), buf + (from - off), end - from);
		ret = zero_gap(vol, node, off < last ? off : last);
		if (!ret && off < last)
			ret = write_data(vol, node, buf, off, last - off);
		if (!ret)
			ret = write_data(vol, node, whole, last, cs);
		free(whole);
	} else {
		ret = zero_gap(vol, node, off);
		if (!ret)
			ret = write_data(vol, node, buf, off, end - off);
	}
	if (ret) {
		/*
		 * The data did not land (the disk holding the image is full,
		 * or failing): the file stays as it was, and what this call
		 * allocated goes back, so the FAT on disk never lists it.
		 */
		if (cut_chain(vol, node, had, false) == 0)
			fat_table_flush(vol);
		return ret;
	}
	if (end > node->size)
		node->size = (uint32_t)end;
	touch_file(node);
	ret = commit(vol, node);
	return ret ? ret : (ssize_t)(end - off);
}

int fat_truncate(struct fat_vol *vol, struct fat_node *node, uint64_t size)
{
	uint32_t cs = vol->bpb.cluster_size;
	uint32_t keep = (uint32_t)((size + cs - 1) / cs);
	int ret = fat_check_writable(vol);

	if (ret)
		return ret;
	fat_trace_call("truncate", node, NULL, NULL, NULL);
	if (node->attr & FAT_ATTR_DIR)
		return -EISDIR;
	if (size > FAT_FILE_MAX)
		return -EFBIG;
	ret = map_file(vol, node);
	if (ret)
		return ret;

	if (size > node->size) {
		uint32_t had = node->map.clusters;
		int64_t clusters = extend_chain(vol, node, keep);

		if (clusters < 0)
			return (int)clusters;
		if (clusters < keep) {
			/* Not enough room: undo; the size stays. */
			ret = cut_chain(vol, node, had, false);
			if (!ret)
				ret = fat_table_flush(vol);
			return ret ? ret : -ENOSPC;
		}
		ret = zero_gap(vol, node, size);
		if (ret) {
			if (cut_chain(vol, node, had, false) == 0)
				fat_table_flush(vol);
			return ret;
		}
		node->size = (uint32_t)size;
		touch_file(node);
		return commit(vol, node);
	}

	/* Shrink: the entry first, then free what is past the new end. */
	node->size = (uint32_t)size;
	touch_file(node);
	if (keep == 0)
		node->first_cluster = FAT_CLUSTER_FREE;
	fat_dir_store_entry(vol, node);
	ret = fat_dir_flush(vol);
	if (!ret && keep < node->map.clusters) {
		ret = cut_chain(vol, node, keep, true);
		if (!ret)
			ret = fat_table_flush(vol);
	}
	return ret;
}

int fat_fallocate(struct fat_vol *vol, struct fat_node *node, bool keep_size,
		  uint64_t off, uint64_t len)
{
	uint32_t cs = vol->bpb.cluster_size;
	uint64_t end = off + len;
	uint32_t had;
	int64_t clusters;
	int ret = fat_check_writable(vol);

	if (ret)
		return ret;
	if (node->attr & FAT_ATTR_DIR)
		return -EISDIR;
	if (len == 0 || end < off)
		return -EINVAL;
	if (end > FAT_FILE_MAX)
		return -EFBIG;
	if (!keep_size)
		return end > node->size ? fat_truncate(vol, node, end) : 0;
	fat_trace_call("fallocate", node, NULL, NULL, NULL);
	ret = map_file(vol, node);
	if (ret)
		return ret;
	had = node->map.clusters;
	clusters = extend_chain(vol, node, (uint32_t)((end + cs - 1) / cs));
	if (clusters < 0)
		return (int)clusters;
	if ((uint64_t)clusters * cs < end) {
		/* Not all of it: take nothing, as vfat does. */
		ret = cut_chain(vol, node, had, false);
		if (!ret)
			ret = fat_table_flush(vol);
		return ret ? ret : -ENOSPC;
	}
	if ((uint32_t)clusters == had)
		return 0;
	/*
	 * The new clusters are past the size: the entry does not change, and
	 * a crash leaves at most a chain longer than the file (fsck.fat cuts
	 * it). The first cluster of an empty file is in its entry, though.
	 */
	node->prealloc = true;
	ret = fat_table_flush(vol);
	if (!ret && had == 0) {
		fat_touch_ctime(node);
		fat_dir_store_entry(vol, node);
		ret = fat_dir_flush(vol);
	}
	return ret;
}

int fat_trim_prealloc(struct fat_vol *vol)
{
	uint32_t cs = vol->bpb.cluster_size;
	int ret = 0;

	for (struct fat_node *n = vol->all_nodes; n && !ret; n = n->all_next) {
		uint32_t keep = (uint32_t)(((uint64_t)n->size + cs - 1) / cs);

		if (!n->prealloc || n->unlinked)
			continue;
		n->prealloc = false;
		ret = map_file(vol, n);
		if (ret || keep >= n->map.clusters)
			continue;
		if (keep == 0) {
			/* The entry first: it names the chain. */
			n->first_cluster = FAT_CLUSTER_FREE;
			fat_dir_store_entry(vol, n);
			ret = fat_dir_flush(vol);
		}
		if (!ret)
			ret = cut_chain(vol, n, keep, true);
	}
	return ret ? ret : fat_table_flush(vol);
}
