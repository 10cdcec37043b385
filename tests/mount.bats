#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# rpifs mount through real FUSE: boot/ shows exactly what mtools sees in
# the same partition (names, bytes, sizes, mtimes) on FAT32, FAT16, FAT12
# and GPT images; the usual tools work; mounting and unmounting leave the
# partition clean; errors are one clear line; damage is contained.

load helpers

setup_file() {
	export T=$BATS_FILE_TMPDIR
	if [ ! -w /dev/fuse ]; then
		return 0
	fi
	for f in pios32 fat16 fat12 gpt; do
		copy_fixture "$f.img" "$T/$f.img"
		mount_rpifs "$T/$f.img" "$T/$f"
	done
}

teardown_file() {
	cleanup_mounts "$BATS_FILE_TMPDIR"
}

setup() {
	require_fuse
}

compare_with_mtools() {
	local f=$1
	local p1 out
	p1="$(fixtures)/$f.p1"
	out="$T/$f.mcopy"
	# Names: the same set of paths.
	diff <(mtools_listing "$p1") <(tree_listing "$T/$f/boot")
	# Bytes: mtools' extraction equals the mount, file for file.
	rm -rf "$out"
	mkdir -p "$out"
	mcopy -s -m -i "$p1" '::/*' "$out/"
	diff -r "$out" "$T/$f/boot"
	# Sizes and mtimes (mcopy -m gives the files the FAT's mtimes).
	diff <(cd "$out" && find . -type f -printf '%P %s %T@\n' | LC_ALL=C sort) \
		<(cd "$T/$f/boot" && find . -type f -printf '%P %s %T@\n' | LC_ALL=C sort)
}

@test "FAT32 (4 KiB clusters, 1000-file directory): boot/ equals mtools' view" {
	compare_with_mtools pios32
	[ "$(ls "$T/pios32/boot/many" | wc -l)" -eq 1000 ]
}

@test "FAT16: boot/ equals mtools' view" {
	compare_with_mtools fat16
}

@test "FAT12: boot/ equals mtools' view" {
	compare_with_mtools fat12
}

@test "GPT image: boot/ equals mtools' view" {
	compare_with_mtools gpt
}

@test "the mount's root lists boot/" {
	run ls -a "$T/pios32"
	[ "$status" -eq 0 ]
	[[ "$output" == *boot* ]]
	[[ "$output" == *..* ]]
}

@test "names: case-insensitive lookup, stored case listed, long and non-ASCII names" {
	cat "$T/pios32/boot/CONFIG.TXT" >/dev/null
	cat "$T/pios32/boot/Config.Txt" >/dev/null
	ls "$T/pios32/boot" | grep -qx config.txt
	ls "$T/pios32/boot" | grep -qx 'Grüße aus München.txt'
	ls "$T/pios32/boot" | grep -qx '日本語のファイル.txt'
	[ -f "$T/pios32/boot/a-name-that-is-quite-long-indeed-and-goes-on-and-on-for-a-while-to-test-many-lfn-slots.dat" ]
	[ -f "$T/pios32/boot/deep/a/b/c/d/e/f/g/h/i/j/leaf.txt" ]
}

@test "ls -l, find, du, df and stat work" {
	run ls -l "$T/pios32/boot"
	[ "$status" -eq 0 ]
	[[ "$output" == *kernel8.img* ]]
	[ "$(find "$T/pios32/boot" -type f | wc -l)" -eq "$(find "$(fixtures)/pios32.tree" -type f | wc -l)" ]
	run du -s "$T/pios32/boot"
	[ "$status" -eq 0 ]
	run stat -c '%s %F' "$T/pios32/boot/kernel8.img"
	[ "$output" = "1048699 regular file" ]
	run stat -c '%F' "$T/pios32/boot/overlays"
	[ "$output" = "directory" ]
}

@test "df shows the FAT's size and free space as fsck.fat counts them" {
	local p1 used total cs
	p1="$(fixtures)/pios32.p1"
	read -r used total < <(fsck.fat -n "$p1" | sed -n 's/.* \([0-9]*\)\/\([0-9]*\) clusters.*/\1 \2/p')
	cs=4096
	run df -B1 --output=size,avail "$T/pios32"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | tail -n 1 | awk '{print $1}')" -eq $((total * cs)) ]
	[ "$(echo "$output" | tail -n 1 | awk '{print $2}')" -eq $(((total - used) * cs)) ]
}

@test "du agrees with the cluster use" {
	# Each file occupies whole clusters.
	run stat -c '%b %B' "$T/pios32/boot/one-more-4097.bin"
	[ "$output" = "16 512" ]
	run stat -c '%b' "$T/pios32/boot/ssh"
	[ "$output" = "0" ]
}

@test "owner and modes follow uid=, gid=, umask= as vfat does" {
	local img=$T/own.img dir=$T/own
	copy_fixture fat16.img "$img"
	mount_rpifs "$img" "$dir" -o uid=1234,gid=4321,umask=027
	run stat -c '%u %g %a' "$dir/boot/config.txt"
	[ "$output" = "1234 4321 750" ]
	run stat -c '%a' "$dir/boot/overlays"
	[ "$output" = "750" ]
	umount_rpifs "$dir"
	mount_rpifs "$img" "$dir" -o fmask=133,dmask=022
	run stat -c '%a' "$dir/boot/config.txt"
	[ "$output" = "644" ]
	run stat -c '%a' "$dir/boot/overlays"
	[ "$output" = "755" ]
	umount_rpifs "$dir"
}

@test "mount is ready when the command returns; umount returns once the daemon is done" {
	local img=$T/ready.img dir=$T/ready
	copy_fixture fat16.img "$img"
	mount_rpifs "$img" "$dir"
	[ -f "$dir/boot/config.txt" ]
	"$RPIFS" umount "$dir"
	not mountpoint -q "$dir"
	# The image is free again: a new mount works at once.
	mount_rpifs "$img" "$dir"
	umount_rpifs "$dir"
}

@test "mount and unmount leave the partition clean (fsck.fat -n, no dirty bit)" {
	local img=$T/clean.img dir=$T/clean
	copy_fixture pios32.img "$img"
	mount_rpifs "$img" "$dir"
	find "$dir/boot" -type f -exec cat {} + >/dev/null
	umount_rpifs "$dir"
	fsck_boot "$img"
	cmp <(dd if="$(fixtures)/pios32.img" bs=1M skip=4 count=1 status=none) \
		<(dd if="$img" bs=1M skip=4 count=1 status=none)
}

@test "the dirty flag is set from the first write until unmount; reading writes nothing" {
	local img=$T/dirty.img dir=$T/dirty
	copy_fixture fat16.img "$img"
	mount_rpifs "$img" "$dir"
	# FAT16: the state byte is at 0x25 of the boot sector, at 4 MiB.
	find "$dir/boot" -type f -exec cat {} + >/dev/null
	cat "$dir/status" >/dev/null
	cmp "$(fixtures)/fat16.img" "$img"
	echo x >"$dir/boot/new.txt"
	[ "$(le_at "$img" $((4194304 + 0x25)) 1)" -eq 1 ]
	umount_rpifs "$dir"
	[ "$(le_at "$img" $((4194304 + 0x25)) 1)" -eq 0 ]
}

@test "-o ro: read-only, nothing written" {
	local img=$T/ro.img dir=$T/ro sum
	copy_fixture fat16.img "$img"
	sum=$(sha256sum <"$img")
	mount_rpifs "$img" "$dir" -o ro
	run touch "$dir/boot/new"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Read-only file system"* ]]
	cat "$dir/boot/config.txt" >/dev/null
	# Every kind of change is refused by rpifs itself (the kernel's mount
	# is not read-only: run still takes a start, for a throwaway boot).
	local f
	for f in "mkdir '$dir/boot/d'" "rm '$dir/boot/config.txt'" \
		"chmod a-w '$dir/boot/config.txt'" "truncate -s 0 '$dir/boot/config.txt'" \
		"echo x >> '$dir/boot/config.txt'" "mv '$dir/boot/config.txt' '$dir/boot/c.txt'" \
		"echo 'pi:raspberry' > '$dir/userconf'" "echo quiet > '$dir/cmdline'" \
		"touch '$dir/editor-tmp'"; do
		run bash -c "$f"
		echo "$f: $output"
		[ "$status" -ne 0 ]
	done
	grep -q '^image: .*, read-only: boots discard the guest.s writes' "$dir/status"
	umount_rpifs "$dir"
	[ "$(sha256sum <"$img")" = "$sum" ]
}

@test "a read-only image file mounts read-only" {
	local img=$T/rofile.img dir=$T/rofile
	copy_fixture fat16.img "$img"
	mkdir -p "$dir"
	chmod 0444 "$img"
	if [ "$(id -u)" = 0 ]; then
		chattr +i "$img" 2>/dev/null || skip "root ignores file modes and chattr +i is not supported here"
	fi
	run "$RPIFS" mount "$img" "$dir"
	chattr -i "$img" 2>/dev/null || true
	[ "$status" -eq 0 ]
	[[ "$output" == *"read-only: mounting read-only"* ]]
	run touch "$dir/boot/new"
	[[ "$output" == *"Read-only file system"* ]]
	umount_rpifs "$dir"
}

@test "a second mount of the same image is refused, naming the first" {
	local dir2=$T/second
	mkdir -p "$dir2"
	run "$RPIFS" mount "$T/fat16.img" "$dir2"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"already mounted at $T/fat16"* ]]
	not mountpoint -q "$dir2"
}

@test "mounting on an rpifs mount point is refused" {
	local img=$T/again.img
	copy_fixture fat12.img "$img"
	run "$RPIFS" mount "$img" "$T/fat16"
	[ "$status" -eq 1 ]
	[[ "$output" == *"already an rpifs mount"* ]]
}

@test "mount errors are one line that says what to do" {
	mkdir -p "$T/e"
	# A mount point that is a file would hide it: refused.
	echo 'a file' >"$T/afile"
	run "$RPIFS" mount "$T/fat16.img" "$T/afile"
	[ "$status" -eq 1 ] && [ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"is not a directory"* ]]
	[ "$(cat "$T/afile")" = 'a file' ]
	not mountpoint -q "$T/afile"
	run "$RPIFS" mount "$T/nope.img" "$T/e"
	[ "$status" -eq 1 ] && [ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"no such file"* ]]
	run "$RPIFS" mount "$T/fat16.img" "$T/nodir"
	[ "$status" -eq 1 ] && [ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"mkdir -p"* ]]
	run "$RPIFS" mount "$(fixtures)/fat16.p1" "$T/e"
	[ "$status" -eq 1 ] && [ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"no partition table"* ]]
	head -c 100000 /dev/zero | xz >"$T/img.xz"
	run "$RPIFS" mount "$T/img.xz" "$T/e"
	[ "$status" -eq 1 ] && [ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"xz -dk"* ]]
	run "$RPIFS" mount -o machine=pi5 "$T/fat16.img" "$T/e"
	[ "$status" -eq 2 ] && [ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"raspi4b"* ]]
	run "$RPIFS" mount
	[ "$status" -eq 2 ]
	[[ "$output" == *usage* ]]
	not mountpoint -q "$T/e"
}

@test "a damaged boot sector is refused with the reason" {
	local img=$T/badbpb.img
	copy_fixture fat16.img "$img"
	poke_le "$img" $((4194304 + 11)) 2 300
	mkdir -p "$T/badbpb"
	run "$RPIFS" mount "$img" "$T/badbpb"
	[ "$status" -eq 1 ] && [ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"bytes per sector is 300"* ]]
}

@test "a cluster loop: reading that file fails, the rest reads, the daemon lives" {
	local img=$T/loop.img dir=$T/loop p first
	copy_fixture fat32-512.img "$img"
	p=$(mktemp)
	part_file "$img" 1 "$p"
	first=$(first_cluster "$p" kernel8.img)
	rm -f "$p"
	poke_fat32 "$img" 4194304 $((first + 5)) $((first + 2))
	mount_rpifs "$img" "$dir" -f 2>"$T/loop.log" &
	for _ in $(seq 50); do mountpoint -q "$dir" && break; sleep 0.1; done
	run cat "$dir/boot/kernel8.img"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Structure needs cleaning"* ]]
	cat "$dir/boot/config.txt" >/dev/null
	mountpoint -q "$dir"
	grep -q "loops" "$T/loop.log"
	# The volume turned read-only: nothing more is written.
	run touch "$dir/boot/x"
	[ "$status" -ne 0 ]
	umount_rpifs "$dir"
	wait
}

@test "a chain pointing outside the volume and a truncated chain give errors, not crashes" {
	local img=$T/out.img dir=$T/out p first
	copy_fixture fat32-512.img "$img"
	p=$(mktemp)
	part_file "$img" 1 "$p"
	first=$(first_cluster "$p" kernel7l.img)
	poke_fat32 "$img" 4194304 $((first + 3)) 999999
	first=$(first_cluster "$p" start4.elf)
	poke_fat32 "$img" 4194304 $((first + 1)) $((0x0ffffff8))
	rm -f "$p"
	mount_rpifs "$img" "$dir"
	run cat "$dir/boot/kernel7l.img"
	[[ "$output" == *"Structure needs cleaning"* ]]
	run cat "$dir/boot/start4.elf"
	[[ "$output" == *"Structure needs cleaning"* ]]
	cat "$dir/boot/cmdline.txt" >/dev/null
	umount_rpifs "$dir"
}

@test "rpifs info: table, PARTUUIDs, file systems, boot partition, boot files" {
	run "$RPIFS" info "$T/pios32.img"
	[ "$status" -eq 0 ]
	[[ "$output" == *"partition table: dos, disk identifier 5eedc0de"* ]]
	[[ "$output" == *"5eedc0de-01"*vfat*BOOTFS* ]]
	[[ "$output" == *"5eedc0de-02"*ext4*rootfs* ]]
	[[ "$output" == *"boot partition: 1, FAT32, 4096-byte clusters"* ]]
	[[ "$output" == *"boot files: config.txt cmdline.txt kernel8.img"* ]]
	run "$RPIFS" info "$T/gpt.img"
	[[ "$output" == *"gpt"*"5eedc0de-0000-4000-8000-0000000000b1"* ]]
	run "$RPIFS" info "$T/nope.img"
	[ "$status" -eq 1 ]
}

@test "--help and --version" {
	run "$RPIFS" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"mount [-f] [-d] [-o OPTIONS] IMAGE DIR"* ]]
	run "$RPIFS" --version
	[[ "$output" == "rpifs "* ]]
	run "$RPIFS" frobnicate
	[ "$status" -eq 2 ]
}
