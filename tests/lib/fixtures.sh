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
# and for each, IMAGE.tree/ (what was copied in) and IMAGE.p1 (the FAT
# partition alone, for mtools and fsck.fat).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/images.sh"

hash=$(cat "$here/images.sh" "$here/fixtures.sh" | sha256sum | cut -c1-12)
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

pids=()
build pios32 32 8 dos "" & pids+=($!)
build fat32-512 32 1 dos small & pids+=($!)
build fat16 16 4 dos small & pids+=($!)
build fat12 12 8 dos small & pids+=($!)
build gpt 32 1 gpt small & pids+=($!)
for pid in "${pids[@]}"; do
	wait "$pid" || { echo "building a test image failed" >&2; exit 1; }
done
touch "$dir/.done"
echo "$dir"
