/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QEMU itself: finding qemu-system-aarch64, what it can emulate, and the
 * argument vector for a boot. Started without a shell: every argument is
 * one element, whatever it contains.
 */
#ifndef RPIFS_QEMU_H
#define RPIFS_QEMU_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../pi/board.h"
#include "net.h"

struct qemu_info {
	char path[PATH_MAX];
	char version[64]; /* "10.0.2" */
	int major;
	bool has_board[BOARD_COUNT]; /* its -machine help names the board */
};

/*
 * Find QEMU ($RPIFS_QEMU, else qemu-system-aarch64 on PATH) and ask it what
 * it is. @return 0, or -ENOENT / -ENOEXEC with a sentence in @err saying
 * what to install.
 */
int qemu_probe(struct qemu_info *q, char *err, size_t err_size);

/*
 * TCG's threading: one thread for all four vCPUs, or one each. Single
 * boots about twice as fast on two cores; multi needs a core per vCPU and
 * one for QEMU's I/O and rpifs, so auto takes it from this many host CPUs.
 */
enum tcg_mode { TCG_AUTO, TCG_SINGLE, TCG_MULTI };
#define TCG_MULTI_FROM_CPUS 6
/* Whether a boot uses multi-threaded TCG on a host with @cpus CPUs. */
bool qemu_tcg_multi(enum tcg_mode mode, unsigned cpus);
/* The CPUs this process may run on (sched_getaffinity), at least 1. */
unsigned qemu_host_cpus(void);

/*
 * Check extra QEMU arguments (qemu_args=): none may be an option rpifs
 * sets itself (the machine, accelerator, kernel, dtb, command line, SD
 * card, serial port, QMP, monitor, display, the ids serial0 and net0).
 * @return 0, or -EINVAL with a sentence in @err naming the argument.
 */
int qemu_extra_check(char *const *extra, char *err, size_t err_size);
/*
 * Read extra QEMU arguments from @path: one argument per line, as given
 * (no shell: spaces and quotes are the argument's own), blank lines and
 * lines starting with # left out; then qemu_extra_check(). @return 0 with
 * a malloc'd NULL-ended vector in @out (qemu_argv_free), or -errno with a
 * sentence in @err.
 */
int qemu_extra_load(const char *path, char ***out, char *err, size_t err_size);

struct qemu_config {
	enum board board;
	const char *name; /* shown in ps: "rpifs:IMAGE" */
	const char *kernel;
	const char *dtb;
	const char *initrd; /* NULL: none */
	const char *append;
	const char *image;
	const char *format; /* "raw" (the image) or "qcow2" (an overlay) */
	bool snapshot;	    /* discard the guest's writes */
	const char *serial_socket;
	const char *serial_log;
	const char *qmp_socket;
	const struct net_config *net; /* NULL or NET_NONE: no network */
	unsigned ssh_port;	      /* this boot's ssh forward (0: none) */
	const char *relay;	      /* the program guestfwd rules run */
	bool tcg_multi;		      /* one TCG thread per vCPU */
	char *const *extra;	      /* NULL or NULL-ended: qemu_args= */
};

/*
 * A qcow2 overlay at @path over the raw @image, @size bytes long (a power
 * of two, where the image is not): the guest's writes land there and the
 * image is only read. Made with qemu-img (next to QEMU, else on PATH).
 * @return 0, or -errno with a sentence in @err.
 */
int qemu_overlay(const struct qemu_info *q, const char *image, uint64_t size,
		 const char *path, char *err, size_t err_size);

/* The argument vector (malloc'd, NULL-terminated), or NULL. */
char **qemu_argv(const struct qemu_info *q, const struct qemu_config *c);
void qemu_argv_free(char **argv);

#endif
