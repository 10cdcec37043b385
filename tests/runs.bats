#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# What rpifs keeps per image in its state folder: the daemon's log, and
# run folders, listed and cleaned by `rpifs runs [--clean]`.

load helpers

setup() {
	require_fuse
	export XDG_STATE_HOME=$BATS_TEST_TMPDIR/state
	IMG=$BATS_TEST_TMPDIR/a.img
	MNT=$BATS_TEST_TMPDIR/m
	copy_fixture fat32-512.img "$IMG"
}

teardown() {
	cleanup_mounts "$MNT"
}

@test "the daemon's log is in the image's state folder, 0600, named by status" {
	local log
	mount_rpifs "$IMG" "$MNT"
	log=$(sed -n 's/^daemon log: //p' "$MNT/status")
	[[ "$log" == "$XDG_STATE_HOME/rpifs/a.img-"*"/daemon.log" ]]
	[ "$(stat -c %a "$log")" = 600 ]
	grep -q " $IMG mounted on $MNT\$" "$log"
	umount_rpifs "$MNT"
	grep -q " $MNT: unmounted\$" "$log"
	grep -qx "$IMG" "$(dirname "$log")/image"
}

@test "a foreground daemon logs to its terminal; status names no log file" {
	mkdir -p "$MNT"
	"$RPIFS" mount -f "$IMG" "$MNT" 2>"$BATS_TEST_TMPDIR/err" &
	for _ in $(seq 100); do mountpoint -q "$MNT" && break; sleep 0.05; done
	run cat "$MNT/status"
	[[ "$output" != *"daemon log:"* ]]
	umount_rpifs "$MNT"
	wait
}

# A state folder as a mount leaves it, with one run holding a kernel
# linked to the shared blobs: make_state IMAGE-PATH KERNEL-BYTES
make_state() {
	local image=$1 dir
	mkdir -p "$XDG_STATE_HOME/rpifs/blobs"
	dir=$XDG_STATE_HOME/rpifs/$(basename "$image")-0000beef$RANDOM
	mkdir -p "$dir/runs/20261201-120000"
	printf '%s' "$image" >"$dir/image"
	head -c "$2" /dev/urandom >"$XDG_STATE_HOME/rpifs/blobs/k$RANDOM"
	ln "$(ls -t "$XDG_STATE_HOME"/rpifs/blobs/k* | head -1)" "$dir/runs/20261201-120000/kernel8.img"
	echo "$dir"
}

@test "rpifs runs lists each image's folder; --clean removes those of images that are gone, and unused blobs" {
	local kept gone
	kept=$(make_state "$IMG" 100000)
	gone=$(make_state "$BATS_TEST_TMPDIR/deleted.img" 200000)
	head -c 300000 /dev/urandom >"$XDG_STATE_HOME/rpifs/blobs/orphan"
	run "$RPIFS" runs
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"$IMG"$'\n'"  1 run, "*": $kept"* ]]
	[[ "$output" == *"$BATS_TEST_TMPDIR/deleted.img  [gone]"* ]]
	[[ "$output" == *"shared kernels and initramfs: "* ]]
	run "$RPIFS" runs --clean
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"removed $gone (its image $BATS_TEST_TMPDIR/deleted.img is gone)"* ]]
	[ ! -e "$gone" ]
	[ -d "$kept/runs/20261201-120000" ]
	[ -f "$kept/runs/20261201-120000/kernel8.img" ]
	[ ! -e "$XDG_STATE_HOME/rpifs/blobs/orphan" ]
	[ "$(ls "$XDG_STATE_HOME/rpifs/blobs" | wc -l)" -eq 1 ]
	run "$RPIFS" runs
	[[ "$output" != *deleted.img* ]]
}

@test "rpifs runs: a wrong argument gets the usage and status 2" {
	run "$RPIFS" runs --bogus
	[ "$status" -eq 2 ]
	[[ "$output" == *"usage: rpifs runs [--clean]"* ]]
}
