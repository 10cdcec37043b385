/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the fuzz targets share: an in-memory image file (a memfd, so the
 * code under test does its real pread/pwrite) and the libFuzzer entry
 * points, which replay.c also calls when the targets are built without
 * libFuzzer for make check.
 */
#ifndef RPIFS_FUZZ_H
#define RPIFS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * An image file holding @data, then zeros up to @size bytes (sparse).
 * Aborts when the memfd cannot be made: that is the harness failing, not
 * the code under test. @return the fd.
 */
int fuzz_memfd(const uint8_t *data, size_t len, uint64_t size);

#endif
