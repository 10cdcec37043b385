// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz the write path: the input is a sequence of file operations (create,
 * write, truncate, unlink, mkdir, rmdir, rename, read, fsync, remount)
 * applied to a fresh FAT12, FAT16 or FAT32 volume made by mkfs.fat, and to
 * a model of what the volume must then hold. Every result is checked
 * against the model as it happens (errno, bytes written, bytes read back;
 * a full volume gives exact short writes or -ENOSPC with nothing changed);
 * at the end the volume is unmounted, checked with fsck.fat -n (which must
 * find nothing) and mounted read-only, and its whole tree compared with the
 * model.
 */
#include "fuzz.h"

#include "../../fat/fat.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Names distinct case-insensitively; short, long, and non-ASCII. */
static const char *const pool[] = {
	"a",	       "config.txt",
	"Kernel8.IMG", "a long name that takes three slots.data",
	"Grüße.txt",   "x.y.z",
	"UPPER",       "\xf0\x9f\x8d\x93.bin",
};
#define NAMES	 8
#define SLOTS	 (2 * NAMES) /* NAMES in the root, NAMES in SUBDIR */
#define SUBDIR	 "sub dir"
#define FILE_CAP (192u << 10)
#define MAX_OPS	 256

struct slot {
	bool present;
	bool is_dir;
	uint32_t size;
	uint8_t *data; /* FILE_CAP bytes */
};

static struct base {
	const char *args; /* mkfs.fat options */
	uint64_t size;
	uint8_t *head; /* the image up to its last non-zero byte */
	size_t head_len;
} bases[] = {
	{"-F 12 -s 1 -S 512", 1u << 20, NULL, 0},
	{"-F 16 -s 1 -S 512", 4u << 20, NULL, 0},
	{"-F 32 -s 1 -S 512", 34u << 20, NULL, 0},
};

static struct slot model[SLOTS];
static bool trace; /* FUZZ_TRACE=1: print each operation */
static uint8_t iobuf[FILE_CAP];
static int image_fd = -1;
static struct fat_window win;
static struct fat_vol *vol;

#define fail(...)                                                              \
	do {                                                                   \
		fprintf(stderr, "fuzz_ops: " __VA_ARGS__);                     \
		fputc('\n', stderr);                                           \
		abort();                                                       \
	} while (0)

static int run(char *const argv[])
{
	pid_t pid;
	int status;
	posix_spawn_file_actions_t fa;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if (!getenv("FUZZ_VERBOSE"))
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY,
						 0);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0)
		fail("cannot run %s (is dosfstools installed?)", argv[0]);
	posix_spawn_file_actions_destroy(&fa);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) /* libFuzzer's timer */
			fail("waitpid: %s", strerror(errno));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void make_base(struct base *b)
{
	char path[] = "/tmp/rpifs-fuzz-ops-XXXXXX";
	int fd = mkstemp(path);
	char cmd[512];

	if (fd < 0 || ftruncate(fd, (off_t)b->size) < 0)
		fail("cannot make a temporary image");
	snprintf(cmd, sizeof(cmd), "mkfs.fat %s -i 5eedc0de %s", b->args, path);
	char *argv[] = {(char *)"sh", (char *)"-c", cmd, NULL};

	if (run(argv) != 0)
		fail("%s failed", cmd);
	uint8_t *all = malloc(b->size);

	if (!all || pread(fd, all, b->size, 0) != (ssize_t)b->size)
		fail("cannot read %s", path);
	b->head_len = b->size;
	while (b->head_len > 0 && all[b->head_len - 1] == 0)
		b->head_len--;
	b->head = all;
	close(fd);
	unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("PATH",
	       "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	       0);
	if (!strstr(getenv("PATH"), "sbin")) {
		char p[4096];

		snprintf(p, sizeof(p), "%s:/usr/sbin:/sbin", getenv("PATH"));
		setenv("PATH", p, 1);
	}
	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++)
		make_base(&bases[i]);
	for (int i = 0; i < SLOTS; i++)
		model[i].data = malloc(FILE_CAP);
	trace = getenv("FUZZ_TRACE") != NULL;
	return 0;
}

/* ---- input ------------------------------------------------------------ */

static const uint8_t *in;
static size_t in_left;

static unsigned get8(void)
{
	if (!in_left)
		return 0;
	in_left--;
	return *in++;
}

static unsigned get16(void)
{
	return get8() | get8() << 8;
}

/* ---- the volume ------------------------------------------------------- */

static void mount_vol(unsigned flags)
{
	char err[512];
	int ret = fat_mount(&vol, &win, flags, err, sizeof(err));

	if (ret)
		fail("mount: %s", err);
	if (!(flags & FAT_MOUNT_RDONLY) && fat_is_read_only(vol))
		fail("a volume we wrote came back read-only (damaged)");
}

static void unmount_vol(void)
{
	int ret = fat_unmount(vol);

	vol = NULL;
	if (ret)
		fail("unmount: %s", strerror(-ret));
}

/* The directory holding @slot; a reference the caller drops. */
static struct fat_node *parent_of(int slot)
{
	struct fat_node *dir = fat_root(vol);

	if (slot < NAMES) {
		fat_node_get(dir);
		return dir;
	}
	if (fat_lookup(vol, fat_root(vol), SUBDIR, &dir) != 0)
		fail("%s is gone", SUBDIR);
	return dir;
}

static int lookup(int slot, struct fat_node **node)
{
	struct fat_node *dir = parent_of(slot);
	int ret = fat_lookup(vol, dir, pool[slot % NAMES], node);

	fat_node_put(vol, dir);
	return ret;
}

static void expect(int step, const char *op, int slot, int got, int want)
{
	if (got != want)
		fail("step %d: %s %s/%s: got %d (%s), want %d (%s)", step, op,
		     slot < NAMES ? "" : SUBDIR, pool[slot % NAMES], got,
		     strerror(got < 0 ? -got : 0), want,
		     strerror(want < 0 ? -want : 0));
}

static void check_file(int step, int slot)
{
	struct fat_node *node;
	struct fat_stat st;
	struct slot *m = &model[slot];
	ssize_t n;

	if (lookup(slot, &node) != 0)
		fail("step %d: %s is missing", step, pool[slot % NAMES]);
	fat_node_stat(vol, node, &st);
	if (st.is_dir != m->is_dir)
		fail("step %d: %s: wrong type", step, pool[slot % NAMES]);
	if (!m->is_dir) {
		if (st.size != m->size)
			fail("step %d: %s: size %u, want %u", step,
			     pool[slot % NAMES], st.size, m->size);
		n = fat_read(vol, node, iobuf, FILE_CAP, 0);
		if (n != (ssize_t)m->size || memcmp(iobuf, m->data, m->size))
			fail("step %d: %s: contents differ (read %zd)", step,
			     pool[slot % NAMES], n);
	}
	fat_node_put(vol, node);
}

/* The whole tree against the model: nothing missing, nothing extra. */
static void check_tree(int step)
{
	for (int dir = 0; dir < 2; dir++) {
		struct fat_node *d = parent_of(dir * NAMES), *child;
		uint64_t cookie = 0;
		int seen = 0, want = 0;

		while (fat_readdir(vol, d, &cookie, &child) == 1) {
			const char *name = fat_node_name(child);
			int i;

			if (dir == 0 && strcmp(name, SUBDIR) == 0)
				continue;
			for (i = 0; i < NAMES; i++)
				if (strcmp(name, pool[i]) == 0)
					break;
			if (i == NAMES || !model[dir * NAMES + i].present)
				fail("step %d: unexpected entry %s", step,
				     name);
			seen++;
		}
		fat_node_put(vol, d);
		for (int i = 0; i < NAMES; i++)
			if (model[dir * NAMES + i].present) {
				want++;
				check_file(step, dir * NAMES + i);
			}
		if (seen != want)
			fail("step %d: %d entries, want %d", step, seen, want);
	}
}

/* ---- operations ------------------------------------------------------- */

static void op_create(int step, int slot, bool dir)
{
	struct slot *m = &model[slot];
	struct fat_node *parent = parent_of(slot), *node;
	int ret = fat_create(vol, parent, pool[slot % NAMES],
			     dir ? FAT_ATTR_DIR : FAT_ATTR_ARCHIVE, &node);

	fat_node_put(vol, parent);
	if (ret == -ENOSPC && !m->present) {
		if (lookup(slot, &node) != -ENOENT)
			fail("step %d: a failed create left an entry", step);
		return;
	}
	expect(step, dir ? "mkdir" : "create", slot, ret,
	       m->present ? -EEXIST : 0);
	if (ret == 0) {
		fat_node_put(vol, node);
		m->present = true;
		m->is_dir = dir;
		m->size = 0;
	}
}

static void op_write(int step, int slot, uint32_t off, uint32_t len,
		     uint8_t fill)
{
	struct slot *m = &model[slot];
	struct fat_node *node;
	ssize_t n;

	if (!m->present || m->is_dir)
		return;
	if (off + len > FILE_CAP)
		len = FILE_CAP - off;
	if (lookup(slot, &node) != 0)
		fail("step %d: write: %s is missing", step, pool[slot % NAMES]);
	for (uint32_t i = 0; i < len; i++)
		iobuf[i] = (uint8_t)(fill + i * 7);
	n = fat_write(vol, node, iobuf, len, off);
	fat_node_put(vol, node);
	if (n == -ENOSPC)
		return; /* nothing changed (checked by the next read) */
	if (n < 0 || (uint32_t)n > len)
		fail("step %d: write %u at %u: %zd", step, len, off, n);
	if (n == 0 && len)
		fail("step %d: write returned 0", step);
	if (n == 0)
		return; /* writing nothing changes nothing, not even the size */
	if (off > m->size)
		memset(m->data + m->size, 0, off - m->size);
	memcpy(m->data + off, iobuf, (size_t)n);
	if (off + (uint32_t)n > m->size)
		m->size = off + (uint32_t)n;
}

static void op_truncate(int step, int slot, uint32_t size)
{
	struct slot *m = &model[slot];
	struct fat_node *node;
	int ret;

	if (!m->present || m->is_dir)
		return;
	if (lookup(slot, &node) != 0)
		fail("step %d: truncate: missing", step);
	ret = fat_truncate(vol, node, size);
	fat_node_put(vol, node);
	if (ret == -ENOSPC && size > m->size)
		return;
	expect(step, "truncate", slot, ret, 0);
	if (size > m->size)
		memset(m->data + m->size, 0, size - m->size);
	m->size = size;
}

static void op_remove(int step, int slot, bool dir)
{
	struct slot *m = &model[slot];
	struct fat_node *parent = parent_of(slot);
	int want, ret;

	ret = dir ? fat_rmdir(vol, parent, pool[slot % NAMES])
		  : fat_unlink(vol, parent, pool[slot % NAMES]);
	fat_node_put(vol, parent);
	if (!m->present)
		want = -ENOENT;
	else if (dir && !m->is_dir)
		want = -ENOTDIR;
	else if (!dir && m->is_dir)
		want = -EISDIR;
	else
		want = 0;
	expect(step, dir ? "rmdir" : "unlink", slot, ret, want);
	if (ret == 0)
		m->present = false;
}

static void op_rename(int step, int from, int to, bool noreplace)
{
	struct slot *a = &model[from], *b = &model[to];
	struct fat_node *pa = parent_of(from), *pb = parent_of(to);
	int want, ret;

	ret = fat_rename(vol, pa, pool[from % NAMES], pb, pool[to % NAMES],
			 noreplace ? FAT_RENAME_NOREPLACE : 0);
	fat_node_put(vol, pa);
	fat_node_put(vol, pb);
	if (!a->present)
		want = -ENOENT;
	else if (from == to)
		want = noreplace ? -EEXIST : 0;
	else if (b->present && noreplace)
		want = -EEXIST;
	else if (b->present && a->is_dir && !b->is_dir)
		want = -ENOTDIR;
	else if (b->present && !a->is_dir && b->is_dir)
		want = -EISDIR;
	else
		want = 0;
	if (ret == -ENOSPC && want == 0)
		return;
	if (from == to && ret == 0 && want == -EEXIST)
		want = 0; /* renaming a name onto itself: either is fine */
	expect(step, "rename", from, ret, want);
	if (ret == 0 && from != to) {
		uint8_t *data = b->data;

		*b = *a;
		b->present = true;
		a->present = false;
		a->data = data;
	}
}

static void op_read(int step, int slot, uint32_t off, uint32_t len)
{
	struct slot *m = &model[slot];
	struct fat_node *node;
	ssize_t n, want;

	if (!m->present || m->is_dir)
		return;
	if (lookup(slot, &node) != 0)
		fail("step %d: read: missing", step);
	n = fat_read(vol, node, iobuf, len, off);
	fat_node_put(vol, node);
	want = off >= m->size
		       ? 0
		       : (ssize_t)(m->size - off < len ? m->size - off : len);
	if (n != want || (n > 0 && memcmp(iobuf, m->data + off, (size_t)n)))
		fail("step %d: read %u at %u of %s: got %zd, want %zd%s", step,
		     len, off, pool[slot % NAMES], n, want,
		     n == want ? " (bytes differ)" : "");
}

static void fsck_image(int step)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)getpid(), image_fd);
	char *argv[] = {(char *)"fsck.fat", (char *)"-n", path, NULL};
	int rc = run(argv);

	if (rc != 0)
		fail("step %d: fsck.fat -n found errors (exit %d); run with "
		     "FUZZ_VERBOSE=1 to see them",
		     step, rc);
}

/* One operation of the fuzzer's input on @slot. */
static void run_op(int step, unsigned op, unsigned slot)
{
	switch (op) {
	case 0:
	case 1:
		op_create(step, (int)slot, false);
		break;
	case 2:
	case 3: {
		uint32_t off = get16() * 3u % FILE_CAP;
		uint32_t len = get16() % (64u << 10);

		op_write(step, (int)slot, off, len, (uint8_t)get8());
		break;
	}
	case 4:
		op_truncate(step, (int)slot, get16() * 3u % FILE_CAP);
		break;
	case 5:
		op_remove(step, (int)slot, false);
		break;
	case 6:
		op_create(step, (int)slot, true);
		break;
	case 7:
		op_remove(step, (int)slot, true);
		break;
	case 8: {
		unsigned to = get8();

		op_rename(step, (int)slot, (int)(to % SLOTS), to & 0x80);
		break;
	}
	case 9: {
		uint32_t off = get16() * 3u % FILE_CAP;

		op_read(step, (int)slot, off, get16());
		break;
	}
	case 10:
		if (model[slot].present) {
			check_file(step, (int)slot);
		} else {
			struct fat_node *node;

			if (lookup((int)slot, &node) != -ENOENT)
				fail("step %d: %s exists", step,
				     pool[slot % NAMES]);
		}
		break;
	case 11:
		if (slot & 1) {
			unmount_vol();
			mount_vol(0);
		} else {
			int ret = fat_sync(vol);

			if (ret)
				fail("step %d: sync: %s", step, strerror(-ret));
		}
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct base *b;
	struct fat_node *sub;
	int step;

	if (size < 1)
		return 0;
	in = data;
	in_left = size;
	b = &bases[get8() % 3];
	image_fd = fuzz_memfd(b->head, b->head_len, b->size);
	win = (struct fat_window){image_fd, 0, b->size};
	for (int i = 0; i < SLOTS; i++)
		model[i].present = false;

	mount_vol(0);
	if (fat_create(vol, fat_root(vol), SUBDIR, FAT_ATTR_DIR, &sub) != 0)
		fail("cannot create %s", SUBDIR);
	fat_node_put(vol, sub);

	for (step = 0; in_left > 0 && step < MAX_OPS; step++) {
		unsigned op = get8() % 12, slot = get8() % SLOTS;
		const uint8_t *args = in;

		run_op(step, op, slot);
		if (trace) {
			fprintf(stderr, "step %d: op %u slot %u (%s%s) args",
				step, op, slot, slot < NAMES ? "" : SUBDIR "/",
				pool[slot % NAMES]);
			for (const uint8_t *p = args; p < in; p++)
				fprintf(stderr, " %02x", *p);
			fprintf(stderr, " -> %s size %u\n",
				model[slot].present ? "present" : "absent",
				model[slot].size);
		}
	}
	check_tree(step);
	unmount_vol();
	fsck_image(step);
	mount_vol(FAT_MOUNT_RDONLY);
	check_tree(step);
	unmount_vol();
	close(image_fd);
	return 0;
}
