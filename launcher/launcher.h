/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The launcher: boots a snapshot of a boot plan under qemu-system-aarch64
 * and supervises it (console, QMP, stop). It knows QEMU and processes;
 * what to boot comes in as values (pi/plan.h).
 */
#ifndef RPIFS_LAUNCHER_H
#define RPIFS_LAUNCHER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "../pi/plan.h"
#include "net.h"

enum launch_state {
	LAUNCH_STOPPED,
	LAUNCH_STARTING, /* QEMU started, its QMP not answering yet */
	LAUNCH_RUNNING,
	LAUNCH_STOPPING,
};

struct launch_ops {
	void *ctx;
	/* QEMU has opened the image (QMP answers): take the locks back. */
	void (*running)(void *ctx);
	/* QEMU is gone (wait status); the state is STOPPED after this. */
	void (*exited)(void *ctx, int status);
};

struct launch_request {
	const struct boot_plan *plan; /* board, files, command line, notes */
	const char *name;   /* for ps and the status: the image's name */
	const char *image;  /* the image file, as QEMU's SD card */
	bool snapshot;	    /* discard the guest's writes */
	uint64_t card_size; /* the SD card QEMU needs (a power of two) */
	const struct net_config *net; /* NULL: no network */
	unsigned stop_timeout_s; /* the orderly stop's bound (0: the default) */
	bool tcg_multi;		 /* one TCG thread per vCPU */
	char *const *extra;	 /* NULL, or qemu_args='s arguments */
};

/* How long a stop waits for the guest's init before SysRq (seconds). */
#define LAUNCH_STOP_TIMEOUT_S 60

struct launch_status {
	enum launch_state state;
	enum board board;
	pid_t pid;
	struct timespec started; /* wall clock */
	bool ran;		 /* a boot happened during this mount */
	int exit_status;	 /* wait status of the last boot */
	unsigned ssh_port;	 /* the boot's ssh forward, ssh=auto's pick */
	unsigned stop_timeout_s;
	char last_stop[256]; /* how the last boot ended ("" before) */
	char qemu_version[64];
	char run_dir[PATH_MAX];
	char console_log[PATH_MAX];
	char console_socket[PATH_MAX];
	char *argv_text; /* malloc'd: the argument vector, quoted */
	char *notes;	 /* malloc'd: every adjustment of the boot */
};

/*
 * A launcher keeping its run folders under @state_dir (created as
 * needed). Starts the supervisor thread: call after daemonizing.
 */
struct launcher *launch_create(const char *state_dir,
			       const struct launch_ops *ops);

/*
 * The board a boot would use: @wanted, or raspi3b when this QEMU has no
 * raspi4b and raspi4b was not asked for explicitly. Finds QEMU the first
 * time. @return 0, or -errno with @err saying what to install.
 */
int launch_board(struct launcher *l, enum board wanted, bool explicit,
		 enum board *board, char *err, size_t err_size);

/*
 * Snapshot the request into a new run folder and start QEMU.
 * @return 0 once QEMU runs, or -EBUSY (not stopped), -errno with @err.
 */
int launch_start(struct launcher *l, const struct launch_request *req,
		 char *err, size_t err_size);

/*
 * Begin a stop: the guest's init (ctrl-alt-delete), then its kernel
 * (SysRq sync, remount read-only, power off), then the power (QMP quit,
 * SIGTERM, SIGKILL), each bounded; @force: the power at once, also when
 * a stop is going on. @return 0, or -ESRCH when nothing runs.
 */
int launch_stop(struct launcher *l, bool force);

/* The state alone: cheap enough for every write's check. */
enum launch_state launch_state(struct launcher *l);

/* The state with what the run file says of it. */
struct launch_brief {
	enum launch_state state;
	pid_t pid;
	struct timespec started;
	bool ran;
	int exit_status;
};
void launch_brief(struct launcher *l, struct launch_brief *b);
/* The console log of the current or last boot ("" when none). */
void launch_console_log(struct launcher *l, char *path, size_t size);
void launch_status(struct launcher *l, struct launch_status *st);
void launch_status_free(struct launch_status *st);
const char *launch_state_name(enum launch_state state);

/* Stop the guest, wait for it, end the thread, free everything. */
void launch_destroy(struct launcher *l);

/* ---- runs.c ---- */

/*
 * Make a new run folder under @state_dir/runs (0700), keeping the newest
 * @keep folders. @return 0 with the path in @dir, or -errno; the newest
 * earlier folder's path is in @prev ("" when there is none).
 */
int runs_new(const char *state_dir, unsigned keep, char *dir, size_t size,
	     char *prev, size_t prev_size);
/* DIR/NAME into @out. @return 0 or -ENAMETOOLONG. */
int runs_path(char *out, size_t size, const char *dir, const char *name);
/* Write a file in a run folder. @return 0 or -errno. */
int runs_write(const char *dir, const char *name, const void *data, size_t len);
/*
 * The same, as a hard link to one shared copy of the same bytes under
 * the state folders' blobs/ (the kernel and initramfs of boot after boot,
 * and of other images: never written again, tens of MiB each).
 */
int runs_write_shared(const char *state_dir, const char *dir, const char *name,
		      const void *data, size_t len);
/* The 128-bit hash of every byte that names a blob (not cryptographic). */
void runs_content_hash(const void *data, size_t len, uint64_t out[2]);

/* Where every image's state folder is: $XDG_STATE_HOME/rpifs. */
void runs_base(char *out, size_t size);
/* The state folder of the image at the absolute path @image. */
void runs_state_dir(const char *image, char *out, size_t size);
/* Make @state_dir (0700) and note in it which image it is for. */
int runs_prepare(const char *state_dir, const char *image);
/* Remove the state folders of images no longer there, and unused blobs. */
void runs_forget_gone(void);

/* What rpifs runs lists: one state folder. */
struct runs_entry {
	char state_dir[PATH_MAX];
	char image[PATH_MAX]; /* "" when the folder does not say */
	bool gone;	      /* its image is no longer there */
	unsigned runs;
	char newest[64]; /* the newest run's folder name (its time) */
	uint64_t bytes;	 /* on disk, the shared blobs not counted */
};
/* Every state folder (malloc'd list), and the bytes of the blobs. */
int runs_scan(struct runs_entry **list, size_t *count, uint64_t *blob_bytes);
/*
 * Remove the folders of images no longer there, then unused blobs;
 * @removed is told of each folder. @return the bytes freed.
 */
uint64_t runs_clean(void (*removed)(const char *state_dir, const char *image));

#endif
