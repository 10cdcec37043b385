#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/fuzz/make-seeds.sh [TARGET...]: (re)make the seed corpus in
# tests/fuzz/corpus (of every target, or of those named): small FAT12/16/32
# volumes made by mkfs.fat and filled with mtools (long and short names,
# nested directories, a deleted file, a config.txt), Pi-like MBR and GPT
# images, operation sequences, and ext2/3/4 file systems made by mke2fs -d
# (with and without checksums, inline data, a journal that needs recovery).
# FAT images are cut after their last non-zero byte (the targets pad them
# with zeros again); ext4 ones are given as their non-zero sectors. The
# output is committed; run this only to change the seeds.
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

targets=${*:-fat part ops ext4}
wanted() { [[ " $targets " == *" $1 "* ]]; }
for t in $targets; do
	rm -rf "${out:?}/$t"
	mkdir -p "$out/$t"
done

if wanted fat; then

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
fi

# Disk images: 8 MiB (the part target's size), a FAT partition at sector 64
# and a Linux one after it.
if wanted part; then
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
fi

# Operation sequences: the first byte picks FAT12/16/32.
if wanted ops; then
for seed in 1 2 3 4 5 6; do
	python3 -c '
import random, sys
r = random.Random(int(sys.argv[1]))
body = bytes(r.randrange(256) for _ in range(r.randrange(64, 600)))
sys.stdout.buffer.write(bytes([int(sys.argv[1]) % 3]) + body)' "$seed" >"$out/ops/random-$seed"
done
fi

# ext2/3/4 file systems of 4 MiB (the ext4 target's size), 1 KiB blocks,
# each with a small tree: files, a hole, a symlink (fast and slow), a hard
# link, a fifo, a device node, xattrs, a directory with many names.
sparse() { python3 -c '
import struct, sys
d = open(sys.argv[1], "rb").read()
out = bytearray()
s = 0
while s < len(d) // 512:
	if d[s*512:(s+1)*512].strip(b"\0"):
		e = s
		while e < len(d) // 512 and e - s < 127 and d[e*512:(e+1)*512].strip(b"\0"):
			e += 1
		out += struct.pack("<IH", s, (e - s) * 512) + d[s*512:e*512]
		s = e
	else:
		s += 1
open(sys.argv[2], "wb").write(out)' "$1" "$2"; }

if wanted ext4; then
tree=$tmp/tree
mkdir -p "$tree/etc" "$tree/home/pi/.ssh" "$tree/many"
printf 'raspberrypi\n' >"$tree/etc/hostname"
head -c 5000 /dev/urandom >"$tree/etc/blob"
truncate -s 300000 "$tree/etc/sparse"
printf 'ssh-ed25519 AAAA seed\n' >"$tree/home/pi/.ssh/authorized_keys"
ln -s hostname "$tree/etc/short-link"
ln -s "$(printf 'x%.0s' $(seq 1 100))/deep/target" "$tree/etc/long-link"
ln "$tree/etc/hostname" "$tree/etc/hard"
mkfifo "$tree/etc/fifo"
for i in $(seq 1 60); do : >"$tree/many/name-$i"; done
for spec in "ext4:ext4:-J size=1" "ext4-nocsum:ext4:-J size=1 -O ^metadata_csum" \
	"ext4-inline:ext4:-O inline_data,^has_journal" "ext3:ext3:-J size=1" \
	"ext2:ext2:"; do
	name=${spec%%:*} spec=${spec#*:}
	type=${spec%%:*} opts=${spec#*:}
	img=$tmp/e.img
	rm -f "$img"
	# shellcheck disable=SC2086
	mke2fs -q -F -t "$type" -b 1024 -N 128 $opts -L seed \
		-U 5eedc0de-0000-4000-8000-000000000002 -E nodiscard \
		-d "$tree" "$img" 4M
	printf 'cd /etc\nmknod null c 1 3\n' | debugfs -w -f - "$img" >/dev/null 2>&1
	debugfs -w -R 'ea_set /etc/hostname user.seed value' "$img" >/dev/null 2>&1
	debugfs -w -R 'sif /home/pi uid 1000' "$img" >/dev/null 2>&1
	sparse "$img" "$out/ext4/$name"
	if [ "$name" = ext4 ]; then
		# The same with a journal transaction not yet replayed.
		blk=$(debugfs -R 'bmap /etc/hostname 0' "$img" 2>/dev/null)
		{ printf 'journaled\n'; head -c 1014 /dev/zero; } >"$tmp/block"
		printf 'jo\njw -b %s %s\njc\n' "$blk" "$tmp/block" |
			debugfs -w -f - "$img" >/dev/null 2>&1
		sparse "$img" "$out/ext4/ext4-needs-recovery"
	fi
done
fi
ls -l "$out"/*
