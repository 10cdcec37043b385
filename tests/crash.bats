#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Crash safety: the daemon is killed with SIGKILL at a seeded random moment
# of a write storm (tests/tools/storm.c). Then fsck.fat -n may find only
# what a crash may leave (dirty bit, stale free count, lost clusters, the
# size of a file that was not fsynced) and every fsynced file must be
# intact (tests/lib/crash_check.sh, itself tested on made-up leftovers).

load helpers

setup() {
	require_fuse
	STORM="$BATS_TEST_DIRNAME/../${BUILD:-build}/tests/storm"
	[ -x "$STORM" ] || skip "tests/tools/storm is not built (make tests)"
}

# One iteration: crash_once FIXTURE SEED
crash_once() {
	local fat=$1 seed=$2
	local img=$BATS_TEST_TMPDIR/crash.img mnt=$BATS_TEST_TMPDIR/crash
	local log=$BATS_TEST_TMPDIR/crash.log part=$BATS_TEST_TMPDIR/crash.p1
	local daemon storm delay
	copy_fixture "$fat.img" "$img"
	rm -f "$log"
	mkdir -p "$mnt"
	"$RPIFS" mount -f "$img" "$mnt" 2>/dev/null &
	daemon=$!
	for _ in $(seq 100); do mountpoint -q "$mnt" && break; sleep 0.05; done
	"$STORM" "$mnt/boot" "$log" "$seed" 2>/dev/null &
	storm=$!
	# 50 ms to 1.5 s into the storm, from the seed.
	delay=$(((seed * 7919) % 1450 + 50))
	sleep "$(awk -v ms="$delay" 'BEGIN { printf "%.3f", ms / 1000 }')"
	kill -9 "$daemon"
	wait "$storm" 2>/dev/null || true
	wait "$daemon" 2>/dev/null || true
	umount -l "$mnt" 2>/dev/null || fusermount3 -u -z "$mnt" 2>/dev/null || true
	part_file "$img" 1 "$part"
	echo "# $fat seed $seed, killed after ${delay} ms"
	bash "$BATS_TEST_DIRNAME/lib/crash_check.sh" "$part" "$log" "$STORM"
}

@test "SIGKILL during a write storm, FAT32: 12 seeded iterations" {
	for seed in $(seq 1 12); do crash_once fat32-512 "$seed"; done
}

@test "SIGKILL during a write storm, FAT16: 8 seeded iterations" {
	for seed in $(seq 101 108); do crash_once fat16 "$seed"; done
}

@test "SIGKILL during a write storm, FAT12: 6 seeded iterations" {
	for seed in $(seq 201 206); do crash_once fat12 "$seed"; done
}

@test "the crash checker itself catches a damaged fsynced file" {
	local img=$BATS_TEST_TMPDIR/c.img mnt=$BATS_TEST_TMPDIR/c part=$BATS_TEST_TMPDIR/c.p1
	local log=$BATS_TEST_TMPDIR/c.log first
	copy_fixture fat32-512.img "$img"
	mount_rpifs "$img" "$mnt"
	"$STORM" --gen 42 9000 >"$mnt/boot/keep.bin"
	echo "keep.bin 9000 42" >"$log"
	umount_rpifs "$mnt"
	part_file "$img" 1 "$part"
	bash "$BATS_TEST_DIRNAME/lib/crash_check.sh" "$part" "$log" "$STORM"
	# Flip one byte of its data: the check must fail.
	first=$(first_cluster "$part" keep.bin)
	printf 'X' | dd of="$part" bs=1 conv=notrunc status=none \
		seek=$(( ($(le_at "$part" 14 2) + 2 * $(le_at "$part" 36 4)) * 512 + (first - 2) * 512 + 100 ))
	run bash "$BATS_TEST_DIRNAME/lib/crash_check.sh" "$part" "$log" "$STORM"
	[ "$status" -ne 0 ]
	[[ "$output" == *"damaged: fsynced file keep.bin"* ]]
}

@test "the crash checker: a chain longer than its file is a leftover if unsynced, damage if fsynced" {
	local img=$BATS_TEST_TMPDIR/c.img mnt=$BATS_TEST_TMPDIR/c part=$BATS_TEST_TMPDIR/c.p1
	local log=$BATS_TEST_TMPDIR/c.log first last free
	copy_fixture fat32-512.img "$img"
	mount_rpifs "$img" "$mnt"
	"$STORM" --gen 7 1000 >"$mnt/boot/grown.bin"
	umount_rpifs "$mnt"
	part_file "$img" 1 "$part"
	# What a crash between the FAT and the directory entry leaves: the
	# chain took one more (free) cluster, the size did not follow.
	first=$(first_cluster "$part" grown.bin)
	last=$((first + 1))
	free=$(($(le_at "$part" 32 4) / 1 - 1000))
	free=$((free > 100000 ? 100000 : free))
	poke_fat32 "$part" 0 "$last" "$free"
	poke_fat32 "$part" 0 "$free" $((0x0ffffff8))
	: >"$log"
	run bash "$BATS_TEST_DIRNAME/lib/crash_check.sh" "$part" "$log" "$STORM"
	echo "$output"
	[ "$status" -eq 0 ]
	echo "grown.bin 1000 7" >"$log"
	run bash "$BATS_TEST_DIRNAME/lib/crash_check.sh" "$part" "$log" "$STORM"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"an fsynced file is damaged: /GROWN.BIN"* ]]
}

@test "the crash checker: one file under two names (a rename between directories cut short) is a leftover" {
	local img=$BATS_TEST_TMPDIR/c.img mnt=$BATS_TEST_TMPDIR/c part=$BATS_TEST_TMPDIR/c.p1
	local log=$BATS_TEST_TMPDIR/c.log data dir entry
	copy_fixture fat32-512.img "$img"
	mount_rpifs "$img" "$mnt"
	mkdir "$mnt/boot/d1"
	"$STORM" --gen 5 3000 >"$mnt/boot/a.tmp"
	"$STORM" --gen 6 3000 >"$mnt/boot/b.tmp"
	umount_rpifs "$mnt"
	part_file "$img" 1 "$part"
	# The rename's first step: the entry written into d1, the old one
	# not yet removed. Both name the same clusters.
	data=$(( ($(le_at "$part" 14 2) + 2 * $(le_at "$part" 36 4)) * 512 ))
	dir=$(( data + ($(first_cluster "$part" d1) - 2) * 512 ))
	entry=$(grep -obUaF 'A       TMP' "$part" | head -1 | cut -d: -f1)
	dd if="$part" of="$part" bs=1 skip="$entry" seek=$((dir + 64)) count=32 \
		conv=notrunc status=none
	: >"$log"
	run bash "$BATS_TEST_DIRNAME/lib/crash_check.sh" "$part" "$log" "$STORM"
	echo "$output"
	[ "$status" -eq 0 ]
	# Two files sharing clusters are damage: b.tmp's chain made to run
	# into a.tmp's second cluster.
	entry=$(grep -obUaF 'B       TMP' "$part" | head -1 | cut -d: -f1)
	poke_le "$part" $((entry + 26)) 2 $(($(first_cluster "$part" a.tmp) + 1))
	run bash "$BATS_TEST_DIRNAME/lib/crash_check.sh" "$part" "$log" "$STORM"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"share clusters"* ]]
}
