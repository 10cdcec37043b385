#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# rpifs resize: growing the image file sparse, and with --grow-root the
# last partition (MBR and GPT, the backup table moved) and its ext4 file
# system, checked with sfdisk --verify, e2fsck -fn, debugfs (a file
# written before is intact) and fsck.fat on the untouched boot partition;
# and every refusal, each leaving the image as it was.

load helpers

setup() {
	IMG=$BATS_TEST_TMPDIR/pi.img
}

# Write a 3 MB random file into the root file system (partition 2) of
# IMAGE with debugfs; prints its checksum.
put_root_file() {
	local image=$1 off
	off=$(img_part_offset "$image" 2)
	head -c 3000000 /dev/urandom >"$BATS_TEST_TMPDIR/blob"
	debugfs -w -R "write $BATS_TEST_TMPDIR/blob blob" "$image?offset=$off" >/dev/null 2>&1
	md5sum <"$BATS_TEST_TMPDIR/blob"
}

root_file_sum() {
	debugfs -R 'cat blob' "$1?offset=$(img_part_offset "$1" 2)" 2>/dev/null | md5sum
}

# Partition N's size in sectors, from sfdisk.
part_sectors() {
	sfdisk -J "$1" | awk -v n="$2" '/"size"/ { gsub(/[^0-9]/, ""); s[++i] = $0 } END { print s[n] }'
}

# Blocks and block size of the ext4 file system in partition 2.
root_fs_bytes() {
	dumpe2fs -h "$1?offset=$(img_part_offset "$1" 2)" 2>/dev/null |
		awk -F: '/^Block count/ { c = $2 } /^Block size/ { b = $2 } END { print c * b }'
}

grow_root_checks() {
	local label=$1 sum boot_before
	copy_fixture "$label.img" "$IMG"
	sum=$(put_root_file "$IMG")
	boot_before=$(img_extract_part "$IMG" 1 /dev/stdout | md5sum)
	run "$RPIFS" resize "$IMG" 1G --grow-root
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"-> 1 GiB"* ]]
	[[ "$output" == *"; partition 2 and its file system: "* ]]
	# resize2fs's own complaints stay out of a successful run.
	[[ "$output" != *resize2fs* ]]
	[ "$(stat -c %s "$IMG")" -eq $((1 << 30)) ]
	run sfdisk --verify "$IMG"
	[ "$status" -eq 0 ]
	[[ "$output" == *"No errors detected."* ]]
	# The partition now reaches the end (GPT: up to the backup table).
	local start end sectors
	start=$(($(img_part_offset "$IMG" 2) / 512))
	sectors=$(part_sectors "$IMG" 2)
	end=$((start + sectors))
	if [ "$label" = gpt ]; then
		[ "$end" -eq $(((1 << 30) / 512 - 33)) ]
	else
		[ "$end" -eq $(((1 << 30) / 512)) ]
	fi
	# The file system fills the partition (to a whole block), is clean,
	# and holds what it held.
	local fs
	fs=$(root_fs_bytes "$IMG")
	[ "$fs" -le $((sectors * 512)) ]
	[ "$fs" -gt $((sectors * 512 - 4096)) ]
	e2fsck -fn "$IMG?offset=$(img_part_offset "$IMG" 2)"
	[ "$(root_file_sum "$IMG")" = "$sum" ]
	[ "$(img_extract_part "$IMG" 1 /dev/stdout | md5sum)" = "$boot_before" ]
	fsck_boot "$IMG"
	run "$RPIFS" info "$IMG"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "--grow-root on an MBR image: partition 2 and its ext4 reach the end, data intact" {
	grow_root_checks fat16
}

@test "--grow-root on a GPT image: the backup table moves to the new end, checksums right" {
	grow_root_checks gpt
	# Both GPT headers, as another tool reads them.
	run sfdisk -l "$IMG"
	[[ "$output" != *"backup"* && "$output" != *"corrupt"* ]]
	# The protective MBR covers the whole disk again.
	[ "$(le_at "$IMG" $((446 + 12)) 4)" -eq $(((1 << 30) / 512 - 1)) ]
}

@test "resize without --grow-root: the file grows sparse, the partitions stay" {
	copy_fixture fat16.img "$IMG"
	before=$(sfdisk -d "$IMG" | grep -v '^device')
	run "$RPIFS" resize "$IMG" +100M
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"not a power of two: the first boot grows the image to 256 MiB (rpifs resize IMAGE 256M now avoids that)"* ]]
	[ "$(stat -c %s "$IMG")" -eq $((55574528 + 100 * 1048576)) ]
	[ "$(sfdisk -d "$IMG" | grep -v '^device')" = "$before" ]
	# Sparse: the new 100 MiB take no blocks.
	[ "$(du -k "$IMG" | cut -f1)" -lt 40000 ]
	run "$RPIFS" resize "$IMG" 256MiB
	[ "$status" -eq 0 ]
	[[ "$output" != *"power of two"* ]]
	[ "$(stat -c %s "$IMG")" -eq $((256 << 20)) ]
	# The same size again changes nothing and is not an error.
	run "$RPIFS" resize "$IMG" 256M
	[ "$status" -eq 0 ]
}

@test "resize refuses to shrink, a bad size, a mounted image; the image stays as it was" {
	copy_fixture fat16.img "$IMG"
	sum=$(md5sum <"$IMG")
	run "$RPIFS" resize "$IMG" 10M
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"never shrinks"* ]]
	for bad in 12Q abc -5G 0 1.5 4G5; do
		run "$RPIFS" resize "$IMG" "$bad"
		echo "$bad: $output"
		[ "$status" -eq 2 ]
		[[ "$output" == *"give a size such as 4G"* ]]
	done
	run "$RPIFS" resize "$IMG"
	[ "$status" -eq 2 ]
	[[ "$output" == *"usage: rpifs resize IMAGE SIZE [--grow-root]"* ]]
	[ "$(md5sum <"$IMG")" = "$sum" ]

	require_fuse
	mount_rpifs "$IMG" "$BATS_TEST_TMPDIR/m"
	run "$RPIFS" resize "$IMG" 1G --grow-root
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"is mounted at $BATS_TEST_TMPDIR/m: unmount it first"* ]]
	umount_rpifs "$BATS_TEST_TMPDIR/m"
	[ "$(stat -c %s "$IMG")" -eq 55574528 ]
}

@test "--grow-root refuses a last partition that is not ext4, and a root that needs repair" {
	# The last partition holds FAT.
	img_fat "$BATS_TEST_TMPDIR/a.fat" 8 12 4 ""
	img_fat "$BATS_TEST_TMPDIR/b.fat" 8 12 4 ""
	img_disk_parts "$IMG" "$BATS_TEST_TMPDIR/a.fat" "$BATS_TEST_TMPDIR/b.fat"
	table=$(sfdisk -d "$IMG")
	run "$RPIFS" resize "$IMG" 64M --grow-root
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"holds vfat, not ext4"* ]]
	[ "$(sfdisk -d "$IMG")" = "$table" ]

	# A root whose superblock counts are wrong and whose bitmap is
	# damaged: e2fsck -p will not fix that alone.
	copy_fixture fat16.img "$IMG"
	table=$(sfdisk -d "$IMG")
	off=$(img_part_offset "$IMG" 2)
	debugfs -w -R 'ssv state 2' "$IMG?offset=$off" >/dev/null 2>&1
	debugfs -w -R 'clri <2>' "$IMG?offset=$off" >/dev/null 2>&1
	run "$RPIFS" resize "$IMG" 128M --grow-root
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"the root file system needs repair first: rpifs fsck '$IMG'"* ]]
	# Nothing changed: neither the file's size nor the table.
	[ "$(stat -c %s "$IMG")" -eq 55574528 ]
	[ "$(sfdisk -d "$IMG")" = "$table" ]
}

# A transaction in IMAGE's root journal, not replayed: what a power cut
# leaves. Its block is /etc/hostname's (or blob's) first, holding WORD.
journal_left() {
	local image=$1 file=$2 word=$3 dev blk
	dev="$image?offset=$(img_part_offset "$image" 2)"
	blk=$(debugfs -R "bmap $file 0" "$dev" 2>/dev/null)
	{ printf '%s\n' "$word"; head -c $((4096 - ${#word} - 1)) /dev/zero; } >"$BATS_TEST_TMPDIR/block"
	printf 'jo\njw -b %s %s\njc\n' "$blk" "$BATS_TEST_TMPDIR/block" | debugfs -w -f - "$dev" >/dev/null 2>&1
	dumpe2fs -h "$dev" 2>/dev/null | grep -q needs_recovery
}

@test "--grow-root on a root a power cut left needing journal recovery: replayed first, then grown" {
	copy_fixture root4.img "$IMG"
	journal_left "$IMG" /etc/hostname replayed
	# e2fsck alone cannot: it loses the ?offset= when it reopens.
	cp --sparse=always "$IMG" "$BATS_TEST_TMPDIR/copy.img"
	run e2fsck -fy "$BATS_TEST_TMPDIR/copy.img?offset=$(img_part_offset "$IMG" 2)"
	[[ "$output" == *"Bad magic number in super-block while trying to re-open"* ]]
	run "$RPIFS" resize "$IMG" 256M --grow-root
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"replayed the journal of partition 2 (1 transactions a power cut left)"* ]]
	[[ "$output" == *"; partition 2 and its file system: "* ]]
	e2fsck -fn "$IMG?offset=$(img_part_offset "$IMG" 2)"
	[ "$(debugfs -R 'cat /etc/hostname' "$IMG?offset=$(img_part_offset "$IMG" 2)" 2>/dev/null | head -n 1)" = replayed ]
}

@test "rpifs fsck: the command info prints works on a root needing recovery and marked with errors" {
	local cmd
	copy_fixture root4.img "$IMG"
	journal_left "$IMG" /etc/hostname replayed
	debugfs -w -R 'ssv state 3' "$IMG?offset=$(img_part_offset "$IMG" 2)" >/dev/null 2>&1
	run "$RPIFS" info "$IMG"
	echo "$output"
	[[ "$output" == *"needs journal recovery (a guest lost power)"* ]]
	cmd=$(sed -n 's/^root file system check: \(rpifs fsck .*\) (replays.*/\1/p' <<<"$output")
	[ "$cmd" = "rpifs fsck '$IMG'" ]
	# -n writes nothing, even with a journal to replay.
	local sum
	sum=$(sha256sum <"$IMG")
	run "$RPIFS" fsck "$IMG" -n
	echo "$output"
	[ "$(sha256sum <"$IMG")" = "$sum" ]
	# The printed command, as printed.
	run bash -c "${cmd/rpifs/\"$RPIFS\"}"
	echo "$output"
	[ "$status" -le 1 ]
	[[ "$output" == *"replayed the journal of partition 2"* ]]
	e2fsck -fn "$IMG?offset=$(img_part_offset "$IMG" 2)"
	run "$RPIFS" info "$IMG"
	[[ "$output" == *"root file system: partition 2, ext4 \"rootfs\""*", clean"* ]]
	# Refused while mounted.
	mkdir -p "$BATS_TEST_TMPDIR/m"
	if [ -e /dev/fuse ]; then
		"$RPIFS" mount "$IMG" "$BATS_TEST_TMPDIR/m"
		run "$RPIFS" fsck "$IMG"
		"$RPIFS" umount "$BATS_TEST_TMPDIR/m"
		echo "$output"
		[ "$status" -ne 0 ]
		[[ "$output" == *"is mounted at $BATS_TEST_TMPDIR/m"* ]]
	fi
}
