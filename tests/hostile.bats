#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Hostile images (tests/lib/hostile.py damages copies of the fixtures):
# bad MBR and GPT entries, every boot-sector field out of range, FAT loops,
# chains into reserved, free, bad or out-of-range clusters, directories
# pointing at themselves or their parent, long names with bad checksums or
# order, names that are no good as file names, sizes past their chains, an
# oversized directory. Each gives a clear one-line error and leaves the
# image untouched, or mounts and, where the damage is met, answers EUCLEAN
# ("Structure needs cleaning"), logs the damage with the cluster, turns the
# volume read-only: never a crash, a hang or a write (the dirty flag goes
# on only at a mount's first write).

load helpers

HOSTILE="$BATS_TEST_DIRNAME/lib/hostile.py"

setup() {
	require_fuse
	T=$BATS_TEST_TMPDIR
}

# damage FIXTURE CASE: a damaged copy at $IMG and a pristine one at $IMG.orig
damage() {
	IMG=$T/$2.img
	MNT=$T/$2
	B=$MNT/boot
	copy_fixture "$1.img" "$IMG"
	python3 "$HOSTILE" "$IMG" "$2"
	cp --sparse=always "$IMG" "$IMG.orig"
	mkdir -p "$MNT"
}

# refused FIXTURE CASE PATTERN: mount fails with one line holding PATTERN,
# nothing is mounted and not a byte of the image changed.
refused() {
	damage "$1" "$2"
	run "$RPIFS" mount "$IMG" "$MNT"
	echo "$2: $output"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"$3"* ]]
	not mountpoint -q "$MNT"
	cmp "$IMG.orig" "$IMG"
	rm -f "$IMG" "$IMG.orig"
}

# Read everything under DIR; fails only on a hang (60 s) or a dead daemon.
walk() {
	local rc
	timeout 60 find "$1" >/dev/null 2>&1 && rc=0 || rc=$?
	[ "$rc" -ne 124 ] || { echo "find hung in $1"; return 1; }
	timeout 60 find "$1" -type f -exec cat {} + >/dev/null 2>&1 && rc=0 || rc=$?
	[ "$rc" -ne 124 ] || { echo "reading hung in $1"; return 1; }
	mountpoint -q "$(dirname "$1")" || { echo "the daemon died"; return 1; }
}

# damaged FIXTURE CASE PATH PATTERN: mounts; reading PATH (a file, or a
# directory to list) fails with EUCLEAN; the rest reads; the status file
# and the log say the volume is damaged with PATTERN (which names the
# cluster); writes fail; not a byte of the image was written.
damaged() {
	local fixture=$1 case=$2 path=$3 pattern=$4
	damage "$fixture" "$case"
	mount_rpifs "$IMG" "$MNT"
	if [ -d "$B/$path" ]; then
		run ls "$B/$path"
	else
		run cat "$B/$path"
	fi
	echo "$case: $output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Structure needs cleaning"* ]]
	walk "$B"
	run cat "$MNT/status"
	[ "$status" -eq 0 ]
	grep -q '^boot partition: .*damaged: read-only until fsck.fat repairs it' <<<"$output"
	grep '^last message: ' <<<"$output" | grep -F -- "$pattern"
	run touch "$B/new-file"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Read-only file system"* ]]
	run mkdir "$B/new-dir"
	[ "$status" -ne 0 ]
	umount_rpifs "$MNT"
	cmp "$IMG.orig" "$IMG"
	rm -f "$IMG" "$IMG.orig"
}

@test "partition tables: past the end, huge, at sector 0, no signature, an extended loop" {
	refused fat16 mbr-past-end "partition 1 of $T/mbr-past-end.img ends at"
	refused fat16 mbr-huge-start "ends at 2.0 TiB but the file holds only"
	refused fat16 mbr-at-zero "no FAT boot sector"
	refused fat16 mbr-no-signature "has no partition table"
	refused fat16 mbr-extended-loop "partition 3 of"
}

@test "GPT: an entry past the end, both headers bad" {
	refused gpt gpt-past-end "has no FAT partition"
	refused gpt gpt-both-headers-bad "has no partition table"
}

@test "GPT with a bad primary header or absurd entry count: read from the backup" {
	local c
	for c in gpt-primary-bad gpt-huge-entry-count; do
		damage gpt $c
		mount_rpifs "$IMG" "$MNT" -o ro
		cmp "$B/config.txt" "$(fixtures)/gpt.tree/config.txt"
		walk "$B"
		umount_rpifs "$MNT"
		cmp "$IMG.orig" "$IMG"
	done
}

@test "overlapping partitions: refused read-write (naming both), readable with -o ro" {
	refused fat16 mbr-overlap "partitions 1 and 2 of $T/mbr-overlap.img overlap"
	damage fat16 mbr-overlap
	mount_rpifs "$IMG" "$MNT" -o ro
	cmp "$B/config.txt" "$(fixtures)/fat16.tree/config.txt"
	umount_rpifs "$MNT"
	cmp "$IMG.orig" "$IMG"
}

@test "every boot-sector field out of range: refused, the field named, image untouched" {
	local f
	for f in fat16 fat32-512; do
		refused $f bpb-jump "no FAT boot sector"
		refused $f bpb-bytes-per-sector-0 "bytes per sector is 0"
		refused $f bpb-bytes-per-sector-300 "bytes per sector is 300"
		refused $f bpb-bytes-per-sector-8192 "bytes per sector is 8192"
		refused $f bpb-sectors-per-cluster-0 "sectors per cluster is 0"
		refused $f bpb-sectors-per-cluster-3 "sectors per cluster is 3"
		refused $f bpb-reserved-0 "no reserved sectors"
		refused $f bpb-fats-0 "0 FAT copies"
		refused $f bpb-fats-9 "9 FAT copies"
		refused $f bpb-media "media byte 0x12"
		refused $f bpb-total-0 "total sectors is 0"
		refused $f bpb-total-huge "claims 2199023247360 bytes but its partition holds"
		refused $f bpb-fat-size-0 "the FAT size is 0"
		refused $f bpb-fat-size-huge "fill the whole volume"
		refused $f bpb-fat-too-small "is too small for"
	done
	refused fat16 bpb-root-entries-0 "no root directory entries"
	refused fat32-512 bpb-root-cluster-0 "root directory cluster 0 is outside the volume"
	refused fat32-512 bpb-root-cluster-huge "root directory cluster 268435440 is outside"
	refused fat32-512 bpb-fat32-version "FAT32 version 257 is unknown"
	refused fat32-512 bpb-active-fat-7 "the active FAT is 7 of 2"
	refused fat32-512 bpb-sectors-per-cluster-128 "the root directory is damaged: the chain of '/' goes from cluster"
	refused fat32-512 root-chain-loop "the root directory is damaged: the cluster chain of '/' loops"
}

@test "a FAT loop: EUCLEAN, the cluster named, read-only, the rest reads" {
	damaged fat16 chain-loop kernel8.img "the cluster chain of 'kernel8.img' loops (seen at cluster"
	damaged fat32-512 chain-loop kernel8.img "the cluster chain of 'kernel8.img' loops (seen at cluster"
	damaged fat12 chain-loop kernel8.img "the cluster chain of 'kernel8.img' loops (seen at cluster"
}

@test "chains into a reserved, an out-of-range, a free and a bad cluster" {
	local f
	for f in fat12 fat16 fat32-512; do
		damaged $f chain-into-reserved kernel8.img "to 1, outside the volume"
		damaged $f chain-out-of-range kernel8.img ", outside the volume"
		damaged $f chain-into-free kernel8.img "which is marked free"
		damaged $f chain-bad-cluster kernel8.img "which points to a bad cluster"
	done
}

@test "sizes larger than their chains, a first cluster outside the volume" {
	local f
	for f in fat16 fat32-512; do
		damaged $f size-past-chain config.txt "bytes but its chain of 1 clusters holds only"
		damaged $f size-4g-no-cluster config.txt "'config.txt' is 4294967295 bytes but its chain of 0 clusters"
		damaged $f first-cluster-out-of-range config.txt "'config.txt' starts at cluster"
	done
}

@test "the status file still answers when config.txt is unreadable" {
	damage fat16 size-past-chain
	mount_rpifs "$IMG" "$MNT"
	run cat "$MNT/status"
	[ "$status" -eq 0 ]
	grep -q '^config.txt: unreadable (Structure needs cleaning)' <<<"$output"
	grep -q '^boot partition: .*damaged' <<<"$output"
	run cat "$MNT/run"
	[ "$status" -eq 0 ]
	[[ "$output" == stopped* ]]
	umount_rpifs "$MNT"
}

@test "a directory pointing at itself, at its parent, into a free cluster" {
	local f
	for f in fat16 fat32-512; do
		damaged $f dir-points-at-itself overlays/myself "directory 'myself' starts at cluster"
		damaged $f dir-in-free-cluster nowhere "the chain of 'nowhere' reaches cluster"
	done
	damaged fat32-512 dir-points-at-parent overlays/up "directory 'up' starts at cluster 2, as its ancestor '/' does"
	# On FAT12/16 the root has no cluster: pointing at it is cluster 0.
	damaged fat16 dir-points-at-parent overlays/up "directory 'up' has no clusters"
}

@test "a directory over the 2 MiB limit: EUCLEAN at once, no hang" {
	damaged fat16 huge-directory overlays "directory 'overlays' is 10244096 bytes, over the 2 MiB limit"
	damaged fat32-512 huge-directory overlays "over the 2 MiB limit"
}

@test "long names with a bad checksum or order show as their 8.3 alias, as vfat does" {
	local f sum
	for f in fat16 fat32-512; do
		damage $f lfn-bad-checksum
		python3 "$HOSTILE" "$IMG" lfn-bad-order
		sum=$(sha256sum <"$IMG")
		mount_rpifs "$IMG" "$MNT"
		[ -f "$B/LONGNA~1.TXT" ]
		[ -f "$B/ORDERB~1.TXT" ]
		run ls "$B"
		[[ "$output" != *"bad checksum"* ]]
		[[ "$output" != *"out of order"* ]]
		not grep -q damaged "$MNT/status"
		umount_rpifs "$MNT"
		# fsck.fat complains about such slots itself; reading them
		# wrote nothing.
		[ "$(sha256sum <"$IMG")" = "$sum" ]
	done
}

@test "hostile names: '/', '.', '..', control characters, lone surrogates never escape the mount" {
	local f name
	for f in fat16 fat32-512; do
		damage $f hostile-names
		touch "$T/canary"
		mount_rpifs "$IMG" "$MNT"
		# The long names are unusable: each entry shows as its 8.3 alias.
		for name in ESCAPE~1 CTLNAM~1 DOTDOT~1 DOT~1 SURROG~1; do
			[ -f "$B/$name" ]
		done
		# 8.3 names with a slash or a control byte are skipped, logged.
		grep -q "^last message: fat: skipping an entry with an unusable name in '/'" "$MNT/status"
		# No listed name holds a control character; . and .. once each.
		run bash -c "ls -a '$B' | LC_ALL=C grep -c '[[:cntrl:]]'"
		[ "$output" = 0 ]
		[ "$(ls -a "$B" | grep -cx '\.\.')" = 1 ]
		[ "$(ls -a "$B" | grep -cx '\.')" = 1 ]
		walk "$B"
		# Nothing appeared outside the mount.
		[ "$(ls "$T" | grep -c escape)" = 0 ]
		[ -f "$T/canary" ]
		umount_rpifs "$MNT"
		cmp "$IMG.orig" "$IMG"
		rm -f "$IMG" "$IMG.orig"
	done
}
