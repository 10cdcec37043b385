#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Crash states (tests/crash/README.md): workloads run through a real FUSE
# mount of the tracing build of rpifs, which records every write and
# flush; the partition is then built as a power cut would leave it after
# every write, and checked with fsck.fat -n and rpifs's FAT layer. Here
# the quick set, every write boundary of a few workloads on FAT12, FAT16
# and FAT32 (make crash runs them all, with the states a write-back cache
# allows between flushes); the regressions, states that once broke the
# rules, still flagged; and the checker's own test on broken recordings.

load helpers

CRASH="$BATS_TEST_DIRNAME/crash"

need_trace_build() {
	[ -x "$BATS_TEST_DIRNAME/../${BUILD:-build}/trace/rpifs" ] ||
		skip "no tracing build (make check builds it: make TRACE=1 BUILD=${BUILD:-build}/trace)"
	[ -x "$BATS_TEST_DIRNAME/../${BUILD:-build}/tests/crashload" ] ||
		skip "tests/tools/crashload is not built (make tests)"
}

@test "crash states: every write boundary of create, mkdir, rename, fragdel and control on FAT12/16/32" {
	require_fuse
	need_trace_build
	CRASH_RUNS=$BATS_TEST_TMPDIR/runs run bash "$CRASH/run.sh" quick
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *" 0 violations,"* ]]
}

@test "crash states: the regressions are still flagged by the checker" {
	run bash "$CRASH/replay.sh" "$CRASH"/regress/*
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c ' flagged: ' <<<"$output")" -eq "$(ls -d "$CRASH"/regress/* | wc -l)" ]
}

@test "crash states: the checker flags an fsync that did not flush, and a damaged durable file" {
	require_fuse
	need_trace_build
	local r=$BATS_TEST_TMPDIR/append walk="$BATS_TEST_DIRNAME/../${BUILD:-build}/tests/fatwalk"
	bash "$CRASH/record.sh" fat16 append "$r"
	run python3 "$CRASH/check.py" --fatwalk "$walk" --random 1 "$r"
	echo "$output" | head -n 5
	[ "$status" -eq 0 ]
	run python3 "$CRASH/check.py" --fatwalk "$walk" --random 1 --show 1000 --mutate no-fsync-flush "$r"
	echo "$output" | head -n 5
	[ "$status" -eq 1 ]
	[[ "$output" == *"fsync /log.txt returned"* ]]
	run python3 "$CRASH/check.py" --fatwalk "$walk" --prefix-only --show 1000 --mutate flip-data "$r"
	echo "$output" | head -n 5
	[ "$status" -eq 1 ]
	[[ "$output" == *"damaged: /log.txt (durable, untouched since)"* ]]
}
