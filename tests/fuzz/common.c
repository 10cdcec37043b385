// SPDX-License-Identifier: GPL-2.0-or-later
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int fuzz_memfd(const uint8_t *data, size_t len, uint64_t size)
{
	int fd = memfd_create("fuzz-image", MFD_CLOEXEC);
	size_t done = 0;

	if (fd < 0) {
		perror("memfd_create");
		abort();
	}
	if (size < len)
		size = len;
	if (ftruncate(fd, (off_t)size) < 0) {
		perror("ftruncate");
		abort();
	}
	while (done < len) {
		ssize_t n = pwrite(fd, data + done, len - done, (off_t)done);

		if (n <= 0) {
			perror("pwrite");
			abort();
		}
		done += (size_t)n;
	}
	return fd;
}
