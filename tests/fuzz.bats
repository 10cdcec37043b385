#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The fuzz targets (tests/fuzz), built without libFuzzer, run over their
# seed corpus and every regression input: each crash, hang or sanitizer
# report make fuzz once found, fixed since. Under SANITIZE=1 with ASan and
# UBSan. No FUSE or root needed.

load helpers

replay() {
	local t=$1
	run "$BATS_TEST_DIRNAME/../${BUILD:-build}/tests/replay_$t" \
		"$BATS_TEST_DIRNAME/fuzz/corpus/$t" \
		$(ls -d "$BATS_TEST_DIRNAME/fuzz/regress/$t" 2>/dev/null)
	echo "$output" | tail -n 5
	[ "$status" -eq 0 ]
	[[ "${lines[-1]}" == "replayed "* ]]
}

@test "fuzz target part: seeds and regressions" {
	replay part
}

@test "fuzz target fat: seeds and regressions" {
	replay fat
}

@test "fuzz target ops: seeds and regressions (model and fsck.fat checks)" {
	replay ops
}
