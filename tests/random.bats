#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Randomized operation sequences with fixed seeds (tests/tools/opseq.c),
# applied to boot/ and to a host directory as the model: every result and
# the final trees must match; then fsck.fat -n is clean and mtools reads
# back what the mount showed. Seeds: 1-6 on each FAT type in a
# subdirectory, 31-33 in the root directory (fixed-size on FAT12/16).

load helpers

setup() {
	require_fuse
	OPSEQ="$BATS_TEST_DIRNAME/../${BUILD:-build}/tests/opseq"
	[ -x "$OPSEQ" ] || skip "tests/tools/opseq is not built (make tests)"
}

run_seeds() {
	local fat=$1 count=$2 where=$3
	shift 3
	local seed model
	for seed in "$@"; do
		echo "# $fat seed $seed"
		fresh "$fat"
		model=$BATS_TEST_TMPDIR/model-$seed
		rm -rf "$model"
		if [ "$where" = root ]; then
			cp -r "$B" "$model"
			"$OPSEQ" "$seed" "$count" "$B" "$model"
		else
			mkdir "$B/t" "$model"
			"$OPSEQ" "$seed" "$count" "$B/t" "$model"
		fi
		finish
	done
}

@test "FAT32: seeds 1-6, 800 operations each" {
	run_seeds fat32-512 800 sub 1 2 3 4 5 6
}

@test "FAT16: seeds 1-6, 800 operations each" {
	run_seeds fat16 800 sub 1 2 3 4 5 6
}

@test "FAT12: seeds 1-6, 400 operations each (an 8 MiB volume)" {
	run_seeds fat12 400 sub 1 2 3 4 5 6
}

@test "in the root directory: seeds 31-33 on FAT12, FAT16 and FAT32" {
	run_seeds fat12 300 root 31 32 33
	run_seeds fat16 600 root 31 32 33
	run_seeds fat32-512 600 root 31 32 33
}
