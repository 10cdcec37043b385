#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Build the shared test images once into DIR (default build/fixtures/HASH,
# the hash of the builders, so a changed builder rebuilds them) and print
# the directory. Images:
#   pios32.img    FAT32, 4 KiB clusters, MBR, the full tree (1000-file dir)
#   fat32-512.img FAT32, 512-byte clusters, MBR
#   fat16.img     FAT16, 2 KiB clusters, MBR
#   fat12.img     FAT12, 4 KiB clusters, MBR
#   gpt.img       FAT32, 512-byte clusters, GPT
#   root4.img     FAT32 boot, and a Pi OS-like ext4 root (tests/lib/rootfs.sh)
#   root3.img, root2.img, rootin.img   the same root as ext3, ext2, and
#                 ext4 with inline data
# and for each, IMAGE.tree/ (what was copied in) and IMAGE.p1 (the FAT
# partition alone, for mtools and fsck.fat).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/images.sh"
. "$here/rootfs.sh"

hash=$(cat "$here/images.sh" "$here/rootfs.sh" "$here/fixtures.sh" | sha256sum | cut -c1-12)
dir=${1:-$here/../../build/fixtures/$hash}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
if [ -f "$dir/.done" ]; then
	echo "$dir"
	exit 0
fi
rm -rf "${dir:?}"/*

build() {
	local name=$1 bits=$2 spc=$3 label=$4 small=$5 size
	img_tree "$dir/$name.tree" "$small"
	case $bits in
	12) size=8 ;;
	16) size=32 ;;
	*) size=$((spc * 512 * 66000 / 1048576 + 2)); [ "$size" -lt 64 ] && size=64 ;;
	esac
	img_fat "$dir/$name.p1" "$size" "$bits" "$spc" "$dir/$name.tree"
	img_disk "$dir/$name.img" "$dir/$name.p1" "$label" >/dev/null 2>&1
}

# A boot partition (the small tree) and a 64 MiB root of @kind.
build_root() {
	local name=$1 kind=$2
	img_tree "$dir/$name.tree" small
	img_fat "$dir/$name.p1" 64 32 1 "$dir/$name.tree"
	img_root "$dir/$name.p2" 64 "$kind"
	img_disk_parts "$dir/$name.img" "$dir/$name.p1" "$dir/$name.p2" >/dev/null 2>&1
}

pids=()
build pios32 32 8 dos "" & pids+=($!)
build fat32-512 32 1 dos small & pids+=($!)
build fat16 16 4 dos small & pids+=($!)
build fat12 12 8 dos small & pids+=($!)
build gpt 32 1 gpt small & pids+=($!)
build_root root4 ext4 & pids+=($!)
build_root root3 ext3 & pids+=($!)
build_root root2 ext2 & pids+=($!)
build_root rootin inline & pids+=($!)
for pid in "${pids[@]}"; do
	wait "$pid" || { echo "building a test image failed" >&2; exit 1; }
done
touch "$dir/.done"
echo "$dir"
