#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The fuzz targets (tests/fuzz), built without libFuzzer, run over their
# seed corpus and every regression input: each crash, hang or sanitizer
# report make fuzz once found, fixed since. Under SANITIZE=1 with ASan and
# UBSan. No FUSE or root needed.

load helpers

# replay TARGET: its seed corpus, and its regression inputs when it has any.
replay() {
	local t=$1 dirs want
	dirs=("$BATS_TEST_DIRNAME/fuzz/corpus/$t")
	[ -d "$BATS_TEST_DIRNAME/fuzz/regress/$t" ] && dirs+=("$BATS_TEST_DIRNAME/fuzz/regress/$t")
	want=$(find "${dirs[@]}" -type f | wc -l)
	[ "$want" -gt 0 ]
	run "$BATS_TEST_DIRNAME/../${BUILD:-build}/tests/replay_$t" "${dirs[@]}"
	echo "$output" | tail -n 5
	[ "$status" -eq 0 ]
	[ "${lines[-1]% in *}" = "replayed $want inputs" ]
}

@test "every regression folder belongs to a fuzz target" {
	local d
	for d in "$BATS_TEST_DIRNAME"/fuzz/regress/*/; do
		[ -f "$BATS_TEST_DIRNAME/fuzz/fuzz_$(basename "$d").c" ]
	done
	# The ext4 target's first finding: a name holding '/' on disk.
	[ -f "$BATS_TEST_DIRNAME/fuzz/regress/ext4/slash-in-a-name" ]
}

@test "fuzz target part: seeds (and regressions, when it has any)" {
	replay part
}

@test "fuzz target fat: seeds (and regressions, when it has any)" {
	replay fat
}

@test "fuzz target ops: seeds (and regressions, when it has any; model and fsck.fat checks)" {
	replay ops
}

@test "fuzz target ext4: seeds and regressions" {
	replay ext4
}
