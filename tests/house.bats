#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The house rules, checked: the layers (no include runs up, nothing but
# fs/ includes FUSE, and the checker itself catches a file that breaks
# them), no function over 80 lines without a reason, the core linked
# without FUSE, and the code formatted as .clang-format says.

load helpers

@test "no include runs up the layers, and only fs/ includes FUSE" {
	run "$BATS_TEST_DIRNAME/../scripts/layers.sh"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "the layer check catches an include that runs up, and FUSE in the core" {
	local t=$BATS_TEST_TMPDIR/tree
	mkdir -p "$t/fat" "$t/fs" "$t/pi"
	printf '#include "../fs/rfs.h"\n' >"$t/fat/up.c"
	printf '#include <fuse_lowlevel.h>\n' >"$t/pi/fuse.c"
	printf '#include "../fat/fat.h"\n' >"$t/fs/fine.c"
	run "$BATS_TEST_DIRNAME/../scripts/layers.sh" "$t"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"fat/up.c: includes ../fs/rfs.h"* ]]
	[[ "$output" == *"pi/fuse.c: includes FUSE"* ]]
	[[ "$output" != *"fs/fine.c"* ]]
}

@test "no function over 80 lines without its reason (scripts/longfuncs.sh)" {
	run "$BATS_TEST_DIRNAME/../scripts/longfuncs.sh"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "the length check catches a long function, and takes a reason given with long:" {
	local t=$BATS_TEST_TMPDIR/tree i
	mkdir -p "$t/fat"
	{
		printf '/* short */\nint f(void)\n{\n'
		for i in $(seq 85); do printf '\tx();\n'; done
		printf '}\n\n/* long: one switch over every opcode */\nint g(int a,\n      int b)\n{\n'
		for i in $(seq 85); do printf '\ty();\n'; done
		printf '}\n'
	} >"$t/fat/a.c"
	run "$BATS_TEST_DIRNAME/../scripts/longfuncs.sh" "$t"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"fat/a.c:2: f is 86 lines"* ]]
	[[ "$output" != *" g is "* ]]
}

@test "unit tests, tools and fuzz replays link the core without libfuse3" {
	local b n=0
	for b in "$BATS_TEST_DIRNAME/../${BUILD:-build}"/tests/*; do
		[ -x "$b" ] || continue
		n=$((n + 1))
		if ldd "$b" | grep -q libfuse3; then
			echo "$b links libfuse3"
			return 1
		fi
	done
	[ "$n" -ge 5 ]
	ldd "$RPIFS" | grep -q libfuse3
}

@test "the code is formatted as .clang-format says (make format-check)" {
	command -v clang-format >/dev/null || skip "no clang-format (package clang-format)"
	run make -s -C "$BATS_TEST_DIRNAME/.." format-check
	echo "$output"
	[ "$status" -eq 0 ]
}
