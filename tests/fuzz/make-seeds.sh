#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/fuzz/make-seeds.sh: (re)make the seed corpus in tests/fuzz/corpus:
# small FAT12/16/32 volumes made by mkfs.fat and filled with mtools (long
# and short names, nested directories, a deleted file, a config.txt), Pi-like
# MBR and GPT images, and operation sequences. Images are cut after their
# last non-zero byte; the targets pad them with zeros again. The output is
# committed; run this only to change the seeds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$here/corpus
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export MTOOLS_SKIP_CHECK=1 PATH=$PATH:/usr/sbin:/sbin

trim() { python3 -c '
import sys
d = open(sys.argv[1], "rb").read().rstrip(b"\0")
open(sys.argv[2], "wb").write(d)' "$1" "$2"; }

fill() { # fill IMAGE[@@OFFSET]
	local i=$1
	printf 'arm_64bit=1\nkernel=kernel8.img\n' >"$tmp/config.txt"
	head -c 3000 /dev/urandom >"$tmp/blob"
	mcopy -i "$i" "$tmp/config.txt" ::config.txt
	mcopy -i "$i" "$tmp/blob" "::A long file name with spaces.dat"
	mcopy -i "$i" "$tmp/blob" ::SHORT.BIN
	mmd -i "$i" ::overlays ::overlays/deeper
	mcopy -i "$i" "$tmp/config.txt" "::overlays/Grüße vom Pi.dtbo"
	mcopy -i "$i" "$tmp/config.txt" ::overlays/deeper/x.y.z
	mcopy -i "$i" "$tmp/blob" ::gone.txt
	mdel -i "$i" ::gone.txt
}

rm -rf "$out"
mkdir -p "$out/fat" "$out/part" "$out/ops"

# FAT32 with fewer clusters than the type needs (-s 8): what Linux mounts
# but mtools does not fill, so it stays empty.
for spec in "12 -s 1:200" "12 -s 4:1024" "16 -s 1:4200" "32 -s 8:34816" "32 -s 1 -f 1:33800"; do
	args=${spec%%:*} kib=${spec##*:}
	img=$tmp/v.img
	rm -f "$img"
	truncate -s "${kib}K" "$img"
	mkfs.fat -F $args -i 5eedc0de -n SEED "$img" >/dev/null
	trim "$img" "$out/fat/empty-fat${args%% *}-${kib}k"
	[ "$args" = "32 -s 8" ] && continue
	fill "$img"
	trim "$img" "$out/fat/filled-fat${args%% *}-${kib}k"
done

# Disk images: 8 MiB (the part target's size), a FAT partition at sector 64
# and a Linux one after it.
for label in dos gpt; do
	img=$tmp/d.img
	rm -f "$img"
	truncate -s 8M "$img"
	if [ $label = dos ]; then
		printf 'label: dos\nlabel-id: 0x5eedc0de\nstart=64, size=8192, type=c\nstart=8256, type=83\n' |
			sfdisk -q "$img"
	else
		printf 'label: gpt\nfirst-lba: 34\nstart=64, size=8192, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7\nstart=8256, size=4096, type=0FC63DAF-8483-4E3D-A4FB-3D01CF84E4AF\n' |
			sfdisk -q "$img"
	fi
	truncate -s $((8192 * 512)) "$tmp/p1"
	mkfs.fat -F 12 -i 5eedc0de -n BOOTFS "$tmp/p1" >/dev/null
	dd if="$tmp/p1" of="$img" bs=512 seek=64 conv=notrunc status=none
	rm -f "$tmp/p1"
	# Without GPT's backup at the end, as the target pads with zeros.
	truncate -s $((8 * 1024 * 1024 - 33 * 512)) "$img"
	trim "$img" "$out/part/pi-$label"
done
head -c 512 "$out/part/pi-dos" >"$out/part/mbr-only"

# Operation sequences: the first byte picks FAT12/16/32.
for seed in 1 2 3 4 5 6; do
	python3 -c '
import random, sys
r = random.Random(int(sys.argv[1]))
body = bytes(r.randrange(256) for _ in range(r.randrange(64, 600)))
sys.stdout.buffer.write(bytes([int(sys.argv[1]) % 3]) + body)' "$seed" >"$out/ops/random-$seed"
done
ls -l "$out"/*
