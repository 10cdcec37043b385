// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * replay_TARGET PATH...: run a fuzz target once on each file given, or on
 * each file in each directory given, without libFuzzer. make check runs
 * the seed corpus and every regression input (a crash, hang or sanitizer
 * report that make fuzz once found) through each target this way; under
 * SANITIZE=1 with ASan and UBSan.
 */
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	long len;

	if (!f || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		if (f)
			fclose(f);
		return -1;
	}
	data = malloc(len ? (size_t)len : 1);
	if (!data || fread(data, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		fclose(f);
		free(data);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, (size_t)len);
	free(data);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned count = 0;
	struct timespec t0, t1;

	LLVMFuzzerInitialize(&argc, &argv);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "replay: no such input: %s\n", argv[i]);
			return 2;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (run_file(argv[i]) < 0)
				return 2;
			count++;
			continue;
		}
		struct dirent **list;
		int n = scandir(argv[i], &list, NULL, alphasort);

		if (n < 0) {
			fprintf(stderr, "replay: cannot list %s\n", argv[i]);
			return 2;
		}
		for (int j = 0; j < n; j++) {
			char path[4096];

			if (list[j]->d_name[0] != '.') {
				snprintf(path, sizeof(path), "%s/%s", argv[i],
					 list[j]->d_name);
				fprintf(stderr, "replay: %s\n", path);
				if (run_file(path) < 0)
					return 2;
				count++;
			}
			free(list[j]);
		}
		free(list);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("replayed %u inputs in %.1f s\n", count,
	       (double)(t1.tv_sec - t0.tv_sec) +
		       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}
