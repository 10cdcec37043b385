#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# base.sh FAT DIR: the disk image the crash-state workloads start from,
# for FAT type fat12, fat16 or fat32, built into DIR once (DIR/FAT.img)
# and its path printed.
#
# The images are small so that fsck.fat takes milliseconds: FAT12 3 MiB
# with 1 KiB clusters, FAT16 8 MiB and FAT32 34 MiB (the smallest FAT32
# has 65525 clusters) with 512-byte clusters. A few Raspberry Pi boot
# files, then a deleted file of random bytes, so that a cluster taken
# again and read before it was written shows garbage, not zeros. Built
# from fixed inputs (tests/lib/images.sh): the same bytes every time but
# the times mtools gives the "." and ".." entries it makes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/images.sh"

# The base image of FAT type $1 into $2.
crash_base() {
	local fat=$1 img=$2 tmp size bits spc
	case $fat in
	fat12) size=3 bits=12 spc=2 ;;
	fat16) size=8 bits=16 spc=1 ;;
	fat32) size=34 bits=32 spc=1 ;;
	*) echo "base.sh: no FAT type $fat" >&2; exit 2 ;;
	esac
	tmp=$(mktemp -d)
	img_text "$tmp/tree/config.txt" $((IMG_EPOCH + 10)) <<'TXT'
# For more options and information see
# http://rpf.io/configtxt
dtparam=audio=on
camera_auto_detect=1
auto_initramfs=1
dtoverlay=vc4-kms-v3d
arm_64bit=1

[pi4]
arm_boost=1

[all]
TXT
	printf 'console=serial0,115200 console=tty1 root=PARTUUID=%s-02 rootfstype=ext4 fsck.repair=yes rootwait\n' \
		"$IMG_DISK_ID" | img_text "$tmp/tree/cmdline.txt" $((IMG_EPOCH + 12))
	img_file "$tmp/tree/kernel8.img" 40123 kernel8
	img_file "$tmp/tree/bcm2711-rpi-4-b.dtb" 9321 dtb4
	img_file "$tmp/tree/bcm2710-rpi-3-b.dtb" 7012 dtb3
	img_file "$tmp/tree/issue.txt" 145 issue
	img_file "$tmp/tree/Long File Name With Spaces.txt" 777 lfn1
	for i in 1 2 3 4 5 6; do
		img_file "$tmp/tree/overlays/overlay-$i.dtbo" $((500 + 37 * i)) "ov$i"
	done
	img_text "$tmp/tree/overlays/README" $((IMG_EPOCH + 30)) <<'TXT'
Device tree overlays go here.
TXT
	img_file "$tmp/tree/deep/a/b/leaf.txt" 123 leaf
	mkdir -p "$tmp/tree/empty-dir"
	img_fat "$tmp/boot.p1" "$size" "$bits" "$spc" "$tmp/tree"
	img_file "$tmp/garbage.bin" 262144 garbage $((IMG_EPOCH + 40))
	mcopy -m -i "$tmp/boot.p1" "$tmp/garbage.bin" ::/garbage.bin
	mdel -i "$tmp/boot.p1" ::/garbage.bin
	img_disk "$img.tmp" "$tmp/boot.p1" dos 4 >/dev/null 2>&1
	mv "$img.tmp" "$img"
	rm -rf "$tmp"
}

fat=$1 dir=$2
mkdir -p "$dir"
[ -f "$dir/$fat.img" ] || crash_base "$fat" "$dir/$fat.img"
echo "$dir/$fat.img"
