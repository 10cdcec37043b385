#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# make demo: build a small image in Raspberry Pi OS's layout, mount it with
# rpifs, look around and edit boot/, unmount, and check the partition.
# Numbered steps with their times; a failure names the step.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
RPIFS=$top/$BUILD/rpifs
demo=$top/demo
. "$top/tests/lib/images.sh"

step_no=0
step_start=0
step() {
	step_end
	step_no=$((step_no + 1))
	step_name=$1
	step_start=$(date +%s%N)
	printf '\n== %d. %s\n' "$step_no" "$1"
}
step_end() {
	if [ "$step_start" -ne 0 ]; then
		printf '   (%d ms)\n' $((($(date +%s%N) - step_start) / 1000000))
	fi
}
trap 'echo; echo "demo: step $step_no ($step_name) failed: see the messages above"; \
	mountpoint -q "$demo/pi" && "$RPIFS" umount "$demo/pi"' ERR

mkdir -p "$demo"
step "make a Raspberry Pi OS-layout image (MBR, FAT32 boot, ext4 root)"
img_pios "$demo/demo.img" 32 8 dos small >/dev/null 2>&1
ls -lh "$demo/demo.img" | awk '{print "   " $5, $NF}'

step "rpifs info"
"$RPIFS" info "$demo/demo.img" | sed 's/^/   /'

step "rpifs mount demo.img pi"
mkdir -p "$demo/pi"
"$RPIFS" mount "$demo/demo.img" "$demo/pi"
ls "$demo/pi" | sed 's/^/   /'

step "the boot partition, with ordinary tools"
ls -l "$demo/pi/boot" | head -n 12 | sed 's/^/   /'
echo "   ..."
sed -i 's/$/ quiet/' "$demo/pi/boot/cmdline.txt"
echo "   cmdline.txt now: $(cat "$demo/pi/boot/cmdline.txt")"
touch "$demo/pi/boot/ssh"
df -h "$demo/pi/boot" | sed 's/^/   /'

step "rpifs umount pi"
"$RPIFS" umount "$demo/pi"

step "fsck.fat -n on the boot partition"
img_extract_part "$demo/demo.img" 1 "$demo/boot.p1"
fsck.fat -n "$demo/boot.p1" | sed 's/^/   /'
rm -f "$demo/boot.p1"
step_end
echo
echo "demo: done (booting the image comes with the launcher)"
