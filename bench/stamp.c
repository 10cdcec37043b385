// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * stamp: stands in for QEMU in the benchmark (rpifs mount with
 * RPIFS_QEMU=stamp): appends the wall-clock time in nanoseconds to the
 * file $BENCH_STAMP, then becomes $BENCH_QEMU with the same arguments.
 * So the benchmark sees when rpifs started QEMU, at a cost of one exec.
 * Only boots are stamped (an argument -kernel), not rpifs's probes of
 * QEMU's version and machines.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *stamp = getenv("BENCH_STAMP"), *qemu = getenv("BENCH_QEMU");
	struct timespec t;
	char line[32];
	int fd, len;
	int boot = 0;

	clock_gettime(CLOCK_REALTIME, &t);
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "-kernel") == 0)
			boot = 1;
	if (stamp && boot) {
		fd = open(stamp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			  0644);
		if (fd >= 0) {
			len = snprintf(line, sizeof(line), "%lld%09ld\n",
				       (long long)t.tv_sec, t.tv_nsec);
			if (write(fd, line, (size_t)len) != len)
				perror("stamp");
			close(fd);
		}
	}
	if (!qemu) {
		fprintf(stderr, "stamp: BENCH_QEMU is not set\n");
		return 127;
	}
	argv[0] = (char *)qemu;
	execv(qemu, argv);
	perror(qemu);
	return 127;
}
