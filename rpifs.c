// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rpifs: the command line. Each command is a function; mounting lives in
 * fs/, the rest in cli/-style helpers here.
 */
#include "common/log.h"
#include "common/mounts.h"
#include "fat/fat.h"
#include "fs/rfs.h"
#include "launcher/client.h"
#include "launcher/config.h"
#include "partition/partition.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char help_text[] =
	"usage: rpifs COMMAND [ARGS]\n"
	"\n"
	"Show a Raspberry Pi OS disk image as a directory, and boot it.\n"
	"\n"
	"commands:\n"
	"  mount [-f] [-d] [-o OPTIONS] IMAGE DIR\n"
	"                     mount IMAGE on DIR: DIR/boot is its FAT boot\n"
	"                     partition; -f stays in the foreground, -d too,\n"
	"                     tracing every FUSE request\n"
	"  umount DIR         stop a running guest, unmount, once everything is\n"
	"                     written\n"
	"  run DIR [--wait] [--timeout S]\n"
	"                     boot (as touch DIR/run); --wait returns 0 at the\n"
	"                     login prompt, 1 on a panic, an early exit or the\n"
	"                     timeout (default 300 s)\n"
	"  stop DIR           stop the guest cleanly (QMP, then SIGTERM, SIGKILL)\n"
	"  console DIR        the terminal on the serial console; Ctrl-] detaches\n"
	"  status DIR         what DIR/status says\n"
	"  info IMAGE         partitions, file systems and boot files\n"
	"  resize IMAGE SIZE [--grow-root]\n"
	"                     grow the image file, sparse (never shrinks; SIZE\n"
	"                     as 4G, 512M or +1G); --grow-root grows the last\n"
	"                     partition and its ext4 file system to the end\n"
	"\n"
	"mount options (-o, comma separated):\n"
	"  ro                 read-only\n"
	"  uid=N, gid=N       owner of the files (default: you)\n"
	"  umask=M, dmask=M, fmask=M\n"
	"                     permission masks, octal (default: your umask)\n"
	"  quiet              chmod and chown that FAT cannot store succeed\n"
	"  machine=raspi4b|raspi3b\n"
	"                     the board to emulate (default raspi4b)\n"
	"  ssh=PORT           forward 127.0.0.1:PORT to the guest's port 22\n"
	"  other options are passed to FUSE (allow_other, ...)\n"
	"\n"
	"  -h, --help         this text\n"
	"  --version          the version\n";

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs(help_text, stdout);
	return 0;
}

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("rpifs %s\n", RPIFS_VERSION);
	return 0;
}

static int cmd_mount(int argc, char **argv)
{
	return rfs_mount_main(argc, argv);
}

/* Run a program (no shell); @return its exit status or -1. */
static int run_program(char *const argv[])
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int cmd_umount(int argc, char **argv)
{
	struct mount_entry m;
	char dir[PATH_MAX];
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: rpifs umount DIR\n");
		return 2;
	}
	if (!realpath(argv[1], dir)) {
		rpifs_log(RPIFS_ERR, "%s: %s", argv[1], strerror(errno));
		return 1;
	}
	if (!mounts_find(dir, NULL, &m) || strcmp(m.fstype, RPIFS_FSTYPE) != 0) {
		rpifs_log(RPIFS_ERR, "%s is not an rpifs mount", dir);
		return 1;
	}
	/* A running guest is stopped first, cleanly. */
	{
		char *stop_argv[] = { (char *)"stop", dir, NULL };

		if (client_stop(2, stop_argv) != 0)
			rpifs_log(RPIFS_WARN, "unmounting anyway: the daemon stops the guest");
	}
	if (geteuid() == 0) {
		ret = umount2(dir, 0) == 0 ? 0 : -errno;
	} else {
		char *fm[] = { (char *)"fusermount3", (char *)"-u", dir, NULL };

		ret = run_program(fm) == 0 ? 0 : -EBUSY;
	}
	if (ret == -EBUSY) {
		rpifs_log(RPIFS_ERR,
			  "%s is busy: a program is using it (leave it with cd, close its files; fuser -vm %s shows which)",
			  dir, dir);
		return 1;
	}
	if (ret) {
		rpifs_log(RPIFS_ERR, "cannot unmount %s: %s", dir,
			  strerror(-ret));
		return 1;
	}
	/* Return once the daemon has written everything and let go. */
	for (int i = 0; i < 600; i++) {
		if (part_lock_test_mounted(m.source) <= 0)
			return 0;
		nanosleep(&(struct timespec){ .tv_nsec = 50 * 1000 * 1000 },
			  NULL);
	}
	rpifs_log(RPIFS_WARN,
		  "%s is unmounted but its daemon has not finished after 30 s",
		  dir);
	return 1;
}

static int info_read(void *ctx, const char *path, char **data, size_t *len)
{
	return fat_read_file(ctx, path, data, len, 1024 * 1024);
}

static bool info_exists(void *ctx, const char *path)
{
	struct fat_node *node;
	bool file;

	if (fat_lookup_path(ctx, path, &node) != 0)
		return false;
	file = !fat_node_is_dir(node);
	fat_node_put(ctx, node);
	return file;
}

/* What a boot on each board would load, by config.txt. */
static void print_boot_choice(struct fat_vol *vol)
{
	static const enum board boards[] = { BOARD_RASPI4B, BOARD_RASPI3B };
	struct config_io io = { vol, info_read, info_exists };

	for (size_t i = 0; i < 2; i++) {
		struct boot_config cfg;

		if (config_eval(boards[i], &io, &cfg) != 0)
			continue;
		printf("%s boots: kernel %s%s, dtb %s%s, cmdline %s%s", board_name(boards[i]),
		       cfg.kernel, info_exists(vol, cfg.kernel) ? "" : " (missing)",
		       cfg.device_tree,
		       info_exists(vol, cfg.device_tree) ? "" : " (missing)",
		       cfg.cmdline, info_exists(vol, cfg.cmdline) ? "" : " (missing)");
		for (int j = 0; j < cfg.initramfs_count; j++)
			printf(", initramfs %s", cfg.initramfs[j]);
		printf("\n");
	}
}

static void print_fat_info(struct part_image *img)
{
	static const char *const files[] = {
		"config.txt",	   "cmdline.txt",	  "kernel8.img",
		"kernel_2712.img", "kernel7l.img",	  "kernel7.img",
		"kernel.img",	   "initramfs8",	  "bcm2711-rpi-4-b.dtb",
		"bcm2710-rpi-3-b.dtb", "bcm2837-rpi-3-b.dtb", "userconf.txt",
		"ssh",		   "user-data",
	};
	const struct part_entry *boot = part_boot(img);
	struct fat_window win = { img->fd, boot->start, boot->size };
	struct fat_vol *vol;
	struct fat_info info;
	char err[256], free_s[32], total_s[32];
	bool any = false;

	if (fat_mount(&vol, &win, FAT_MOUNT_RDONLY, err, sizeof(err))) {
		printf("boot partition: %u, damaged: %s\n", boot->number, err);
		return;
	}
	fat_get_info(vol, &info);
	part_format_size((uint64_t)info.free_clusters * info.cluster_size,
			 free_s, sizeof(free_s));
	part_format_size((uint64_t)info.cluster_count * info.cluster_size,
			 total_s, sizeof(total_s));
	printf("boot partition: %u, FAT%d, %u-byte clusters, %s free of %s%s\n",
	       boot->number, info.type, info.cluster_size, free_s, total_s,
	       info.was_dirty ? " (not cleanly unmounted)" : "");
	printf("boot files:");
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct fat_node *node;

		if (fat_lookup_path(vol, files[i], &node) == 0) {
			printf(" %s", fat_node_name(node));
			fat_node_put(vol, node);
			any = true;
		}
	}
	printf("%s\n", any ? "" : " none of the usual ones");
	print_boot_choice(vol);
	fat_unmount(vol);
}

/*
 * PRETTY_NAME from the root file system's os-release, read in place with
 * e2fsprogs' debugfs (it takes IMAGE?offset=N). "" when unknown.
 */
static void os_release(const struct part_image *img, char *out, size_t size)
{
	static const char *const paths[] = { "/usr/lib/os-release",
					     "/etc/os-release" };
	const struct part_entry *root = NULL;
	char device[4096 + 64], text[4096];

	out[0] = '\0';
	for (unsigned i = 0; i < img->count && !root; i++)
		if (strncmp(img->parts[i].fstype, "ext", 3) == 0)
			root = &img->parts[i];
	if (!root)
		return;
	snprintf(device, sizeof(device), "%s?offset=%llu", img->path,
		 (unsigned long long)root->start);
	for (size_t i = 0; i < 2 && !out[0]; i++) {
		char request[64];
		char *argv[] = { (char *)"debugfs", (char *)"-R", request, device, NULL };
		int fds[2];
		ssize_t n, got = 0;
		pid_t pid;
		char *p;

		snprintf(request, sizeof(request), "cat %s", paths[i]);
		if (pipe(fds) < 0)
			return;
		pid = fork();
		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY);

			dup2(fds[1], 1);
			if (null >= 0)
				dup2(null, 2);
			close(fds[0]);
			execvp(argv[0], argv);
			_exit(127);
		}
		close(fds[1]);
		while (pid > 0 && (n = read(fds[0], text + got,
					   sizeof(text) - 1 - (size_t)got)) > 0)
			got += n;
		close(fds[0]);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		text[got] = '\0';
		p = strstr(text, "PRETTY_NAME=");
		if (p) {
			p += strlen("PRETTY_NAME=");
			p += *p == '"';
			snprintf(out, size, "%.*s", (int)strcspn(p, "\"\n"), p);
		}
	}
}

static int cmd_info(int argc, char **argv)
{
	struct part_image *img;
	char err[512], size[32], start[32];

	if (argc != 2) {
		fprintf(stderr, "usage: rpifs info IMAGE\n");
		return 2;
	}
	if (part_open(argv[1], PART_OPEN_RDONLY | PART_OPEN_LENIENT, &img, err,
		      sizeof(err))) {
		rpifs_log(RPIFS_ERR, "%s", err);
		return 1;
	}
	part_format_size(img->size, size, sizeof(size));
	printf("image: %s (%s)\n", img->path, size);
	printf("partition table: %s, disk identifier %s\n", img->table,
	       img->disk_id);
	printf("%-3s %-10s %-10s %-22s %-38s %-6s %s\n", "#", "start", "size",
	       "type", "PARTUUID", "fs", "label");
	for (unsigned i = 0; i < img->count; i++) {
		const struct part_entry *e = &img->parts[i];
		char type[64];

		part_format_size(e->start, start, sizeof(start));
		part_format_size(e->size, size, sizeof(size));
		snprintf(type, sizeof(type), "%s%s%s",
			 strncmp(e->type, "0x", 2) == 0 ? e->type + 2 : "",
			 strncmp(e->type, "0x", 2) == 0 ? " " : "",
			 e->type_name[0] ? e->type_name : e->type);
		printf("%-3u %-10s %-10s %-22s %-38s %-6s %s%s\n", e->number,
		       start, size, type, e->partuuid,
		       e->fstype[0] ? e->fstype : "-", e->label,
		       e->past_end ? "  (past the end of the file!)" : "");
	}
	if (img->boot < 0) {
		printf("boot partition: none (no FAT partition)\n");
	} else {
		print_fat_info(img);
	}
	{
		char release[256];

		os_release(img, release, sizeof(release));
		printf("os release: %s\n",
		       release[0] ? release : "unknown (no ext4 root, or no debugfs)");
	}
	part_close(img);
	return 0;
}

/* "4G", "512MiB", "+1G" (more than now), "1073741824". @return 0 or -1. */
static int parse_size(const char *s, uint64_t now, uint64_t *out)
{
	bool relative = *s == '+';
	char *end;
	double v;
	uint64_t unit = 1;

	if (relative)
		s++;
	v = strtod(s, &end);
	if (end == s || v <= 0)
		return -1;
	switch (*end) {
	case 'k': case 'K': unit = 1ull << 10; end++; break;
	case 'm': case 'M': unit = 1ull << 20; end++; break;
	case 'g': case 'G': unit = 1ull << 30; end++; break;
	case 't': case 'T': unit = 1ull << 40; end++; break;
	default: break;
	}
	if (unit > 1 && (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0))
		end += strlen(end);
	if (*end || !isfinite(v) || v * (double)unit >= 0x1p62 ||
	    (unit == 1 && v != (double)(uint64_t)v))
		return -1;
	*out = (uint64_t)(v * (double)unit);
	if (relative)
		*out += now;
	return 0;
}

static int cmd_resize(int argc, char **argv)
{
	const char *image = NULL, *size_arg = NULL;
	struct part_image *img;
	bool grow_root = false;
	char err[600], a[32], b[32];
	uint64_t size;
	int ret = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--grow-root") == 0)
			grow_root = true;
		else if (!image)
			image = argv[i];
		else if (!size_arg)
			size_arg = argv[i];
		else
			image = NULL, i = argc;
	}
	if (!image || !size_arg) {
		fprintf(stderr, "usage: rpifs resize IMAGE SIZE [--grow-root]\n");
		return 2;
	}
	if (part_open(image, 0, &img, err, sizeof(err))) {
		rpifs_log(RPIFS_ERR, "%s", err);
		return 1;
	}
	if (parse_size(size_arg, img->size, &size)) {
		rpifs_log(RPIFS_ERR, "%s: give a size such as 4G, 8GiB, 512M or +1G",
			  size_arg);
		part_close(img);
		return 2;
	}
	if (img->read_only) {
		rpifs_log(RPIFS_ERR, "%s is read-only: rpifs resize needs to write it",
			  img->path);
		goto out;
	}
	if (part_lock_mount(img, err, sizeof(err))) {
		struct mount_entry m;
		char real[PATH_MAX];

		if (realpath(image, real) && mounts_find(NULL, real, &m))
			rpifs_log(RPIFS_ERR,
				  "%s is mounted at %s: unmount it first (rpifs umount %s)",
				  img->path, m.mountpoint, m.mountpoint);
		else
			rpifs_log(RPIFS_ERR, "%s", err);
		goto out;
	}
	part_format_size(img->size, a, sizeof(a));
	part_format_size(size, b, sizeof(b));
	if (size < img->size) {
		rpifs_log(RPIFS_ERR,
			  "%s is %s; rpifs never shrinks an image (asked for %s)",
			  img->path, a, b);
		goto out_unlock;
	}
	if (size % 512) {
		rpifs_log(RPIFS_ERR, "%s: the size must be a multiple of 512 bytes",
			  size_arg);
		goto out_unlock;
	}
	if (grow_root) {
		char part_size[32];
		unsigned number;
		uint64_t root_size;

		if (part_grow_root(img, size, &number, &root_size, err,
				   sizeof(err))) {
			rpifs_log(RPIFS_ERR, "%s", err);
			goto out_unlock;
		}
		part_format_size(root_size, part_size, sizeof(part_size));
		printf("%s: %s -> %s; partition %u and its file system: %s\n",
		       img->path, a, b, number, part_size);
	} else {
		if (part_grow(img, size, err, sizeof(err))) {
			rpifs_log(RPIFS_ERR, "%s", err);
			goto out_unlock;
		}
		printf("%s: %s -> %s\n", img->path, a, b);
	}
	if (part_pow2_ceil(size) != size) {
		uint64_t p2 = part_pow2_ceil(size);

		part_format_size(p2, a, sizeof(a));
		printf("%s is not a power of two: the first boot grows the image to %s (rpifs resize IMAGE %llu%s now avoids that)\n",
		       b, a, (unsigned long long)(p2 >> (p2 >= 1ull << 30 ? 30 : 20)),
		       p2 >= 1ull << 30 ? "G" : "M");
	}
	ret = 0;
out_unlock:
	part_unlock(img);
out:
	part_close(img);
	return ret;
}

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "mount", cmd_mount },
	{ "umount", cmd_umount },
	{ "unmount", cmd_umount },
	{ "info", cmd_info },
	{ "run", client_run },
	{ "stop", client_stop },
	{ "console", client_console },
	{ "status", client_status },
	{ "resize", cmd_resize },
	{ "help", cmd_help },
	{ "--help", cmd_help },
	{ "-h", cmd_help },
	{ "--version", cmd_version },
	{ "version", cmd_version },
};

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(help_text, stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	rpifs_log(RPIFS_ERR, "unknown command '%s': see rpifs --help", argv[1]);
	return 2;
}
