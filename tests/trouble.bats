#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# When the world goes wrong under a mounted image: the disk holding the
# image fills up (its sparse holes cannot be filled), the image file is
# deleted, shrinks, or becomes unreadable (its own file system dies). Each
# gives ENOSPC or EIO to the program writing, never a crash; whatever was
# written before is kept, and fsck.fat finds the partition clean.

load helpers

setup() {
	require_fuse
	T=$BATS_TEST_TMPDIR
}

teardown() {
	cleanup_mounts
	if [ -n "${SMALL:-}" ] && mountpoint -q "$SMALL"; then
		umount -l "$SMALL" || true
	fi
}

# A tmpfs of SIZE (e.g. 3m) at $SMALL: a small disk to fill.
small_disk() {
	[ "$(id -u)" = 0 ] || skip "mounting a small tmpfs needs root"
	SMALL=$T/small
	mkdir -p "$SMALL"
	mount -t tmpfs -o size="$1" rpifs-test "$SMALL" ||
		skip "cannot mount a tmpfs here"
}

@test "the disk holding the image fills up: ENOSPC, nothing written before is lost, fsck clean" {
	local used i rc
	small_disk 8m
	IMG=$SMALL/fat16.img
	MNT=$T/m
	B=$MNT/boot
	copy_fixture fat16.img "$IMG"
	mount_rpifs "$IMG" "$MNT"
	head -c 300000 /dev/urandom >"$T/kept"
	cp "$T/kept" "$B/kept.bin"
	sync "$B/kept.bin"
	used=$(df -k --output=avail "$SMALL" | tail -n 1)
	echo "host space left: ${used} KiB"
	# A file larger than what is left on the host: the FAT has room, the
	# host does not.
	run dd if=/dev/urandom of="$B/big.bin" bs=64k count=200 conv=fsync
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"No space left on device"* ]]
	# Many small files until the host refuses.
	rc=0
	for i in $(seq 1 400); do
		head -c 20000 /dev/urandom >"$B/small-$i.bin" 2>/dev/null || { rc=1; break; }
	done
	echo "small files written: $((i - 1))"
	mkdir "$B/a-dir" 2>/dev/null || true
	sync "$B" || true
	mountpoint -q "$MNT"
	cmp "$T/kept" "$B/kept.bin"
	# What the mount shows is what is on the partition, and fsck is clean.
	finish
}

@test "a mount on a full disk: refused read-write with what to do; -o ro works" {
	small_disk 4m
	IMG=$SMALL/fat16.img
	# Copied sparse, the unused part of the FAT is holes; then the disk
	# is filled.
	copy_fixture fat16.img "$IMG"
	dd if=/dev/zero of="$SMALL/filler" bs=64k 2>/dev/null || true
	mkdir -p "$T/m"
	run "$RPIFS" mount "$IMG" "$T/m"
	echo "$output"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"the disk holding the image is full"*"-o ro"* ]]
	mount_rpifs "$IMG" "$T/m" -o ro
	cat "$T/m/boot/config.txt" >/dev/null
	umount_rpifs "$T/m"
}

@test "the image file deleted under a mounted daemon: writes fail with EIO, reads work, no crash" {
	fresh fat16
	echo before >"$B/before.txt"
	sync "$B/before.txt"
	rm "$IMG"
	run bash -c "echo after >'$B/after.txt'"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Input/output error"* ]]
	run mkdir "$B/newdir"
	[ "$status" -ne 0 ]
	[ "$(cat "$B/before.txt")" = before ]
	cat "$B/config.txt" >/dev/null
	grep -q "the image file was deleted while mounted" "$MNT/status"
	mountpoint -q "$MNT"
	umount_rpifs "$MNT"
}

@test "the image file shrinking under a mounted daemon: EIO on reads past its end and on writes" {
	fresh fat16
	# Keep the boot sector, the FATs and the root directory only.
	truncate -s $((4194304 + 90112)) "$IMG"
	run bash -c "cat '$B'/*.img '$B'/*.dtb >/dev/null"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Input/output error"* ]]
	run bash -c "echo x >'$B/new.txt'"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Input/output error"* ]]
	grep -q "shrank" "$MNT/status"
	# The image did not grow back under the daemon's writes.
	[ "$(stat -c %s "$IMG")" -eq $((4194304 + 90112)) ]
	mountpoint -q "$MNT"
	umount_rpifs "$MNT"
}

@test "the image becoming unreadable (its file system's daemon killed): EIO, no crash, unmount works" {
	local outer=$T/outer pid
	# The image lives on another rpifs mount, whose daemon then dies: every
	# read and write of the image fails as on a dead disk.
	IMG=$T/outer.img
	copy_fixture fat32-512.img "$IMG"
	mount_rpifs "$IMG" "$outer"
	cp --sparse=always "$(fixtures)/fat12.img" "$outer/boot/inner.img" || skip "the outer volume is too small"
	mount_rpifs "$outer/boot/inner.img" "$T/inner"
	cat "$T/inner/boot/config.txt" >/dev/null
	pid=$(pgrep -f "rpifs mount .*$IMG $outer" | head -n 1)
	[ -n "$pid" ]
	kill -KILL "$pid"
	sleep 0.5
	run cat "$T/inner/boot/kernel8.img"
	echo "$output"
	[ "$status" -ne 0 ]
	run bash -c "echo x >'$T/inner/boot/new.txt'"
	[ "$status" -ne 0 ]
	mountpoint -q "$T/inner"
	umount_rpifs "$T/inner"
	umount -l "$outer" 2>/dev/null || true
}
