#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# make soak: a randomized workload on a mounted image for SOAK_TIME seconds
# (default 600), not part of make check. Two workers at once, each running
# seeded operation sequences (tests/tools/opseq: create, write, truncate,
# rename, delete, mkdir, rmdir, read back, each checked against a host
# directory as the model) in its own subdirectory, round after round on the
# state the last round left. Every SOAK_REMOUNT rounds (default 5) the
# image is unmounted, checked with fsck.fat -n (it must be clean), read back
# with mtools and compared with the models, and mounted again. The image is
# FAT32 (SOAK_FAT=fat32-512, or fat16, fat12, pios32). When a third of the
# volume is left, both trees are removed (on the mount and in the models)
# and the rounds start again from empty.
#
# Ends with one line: rounds, operations, remounts, fsck results. On a
# failure it stops and leaves everything in SOAK_DIR (default
# build/soak) for a look.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
BUILD=${BUILD:-build}
RPIFS=$top/$BUILD/rpifs
OPSEQ=$top/$BUILD/tests/opseq
time_limit=${SOAK_TIME:-600}
every=${SOAK_REMOUNT:-5}
fat=${SOAK_FAT:-fat32-512}
ops=${SOAK_OPS:-400}
dir=${SOAK_DIR:-$top/build/soak}
export MTOOLS_SKIP_CHECK=1 TZ=UTC

. tests/lib/images.sh

die() {
	echo "soak: $*" >&2
	echo "soak: FAILED after $round rounds; the image, models and logs are in $dir" >&2
	exit 1
}

[ -c /dev/fuse ] || { echo "soak: no /dev/fuse here: the soak needs FUSE" >&2; exit 2; }
[ -x "$OPSEQ" ] || { echo "soak: $OPSEQ is not built (make tests)" >&2; exit 2; }
fixtures=$(bash tests/lib/fixtures.sh) || exit 2

rm -rf "$dir"
mkdir -p "$dir/mnt" "$dir/model"
img=$dir/image.img
cp --sparse=always "$fixtures/$fat.img" "$img"
"$RPIFS" mount "$img" "$dir/mnt" || exit 1
mkdir -p "$dir/mnt/boot/soak-1" "$dir/mnt/boot/soak-2" "$dir/model/soak-1" "$dir/model/soak-2"

round=0 total_ops=0 remounts=0 fscks=0
start=$(date +%s)
seed_base=${SOAK_SEED:-$start}
echo "soak: $fat for ${time_limit}s, remount and fsck every $every rounds, seeds from $seed_base"

# Trees equal in names, types and contents; mtools 4.0 shows each
# character outside the BMP as "__", so names are compared that way.
same_tree() {
	python3 - "$1" "$2" <<'PY'
import os, re, sys

def tree(root):
    out = {}
    for d, dirs, files in os.walk(root):
        rel = os.path.relpath(d, root)
        for n in dirs:
            out[re.sub("[^\u0000-\uffff]", "__", os.path.join(rel, n))] = None
        for n in files:
            with open(os.path.join(d, n), "rb") as f:
                out[re.sub("[^\u0000-\uffff]", "__", os.path.join(rel, n))] = f.read()
    return out

a, b = tree(sys.argv[1]), tree(sys.argv[2])
for k in sorted(set(a) | set(b)):
    if k not in a or k not in b:
        print("only in", "the model:" if k in a else "mtools:", k)
        sys.exit(1)
    if a[k] != b[k]:
        print("differs:", k)
        sys.exit(1)
PY
}

check_offline() {
	local p=$dir/check.p1 out=$dir/check.out f
	img_extract_part "$img" 1 "$p"
	fsck.fat -n "$p" >"$dir/fsck.log" 2>&1 || die "fsck.fat -n found errors: $(tail -n 5 "$dir/fsck.log")"
	if grep -qiE 'dirty bit|differ|lost|cross|truncat|free cluster summary|orphan|invalid' "$dir/fsck.log"; then
		die "fsck.fat -n complains: $(grep -iE 'dirty|differ|lost|cross|truncat|summary|orphan|invalid' "$dir/fsck.log" | head -n 3)"
	fi
	fscks=$((fscks + 1))
	rm -rf "$out"
	mkdir -p "$out"
	for f in soak-1 soak-2; do
		mcopy -s -n -i "$p" "::/$f" "$out/" 2>>"$dir/mtools.log" || die "mtools cannot read $f back"
		same_tree "$dir/model/$f" "$out/$f" >"$dir/diff.log" 2>&1 || die "mtools reads back something else than the model: $(head -n 3 "$dir/diff.log")"
	done
	rm -f "$p"
}

clears=0
while [ $(($(date +%s) - start)) -lt "$time_limit" ]; do
	round=$((round + 1))
	# The sequences only add up: before the volume fills (which the
	# models cannot follow), both trees are emptied, a big delete too.
	read -r size avail < <(df -k --output=size,avail "$dir/mnt" | tail -n 1)
	if [ "$avail" -lt $((size / 3)) ]; then
		rm -rf "$dir/mnt/boot/soak-1" "$dir/mnt/boot/soak-2" "$dir/model/soak-1" "$dir/model/soak-2" ||
			die "emptying the trees failed"
		mkdir -p "$dir/mnt/boot/soak-1" "$dir/mnt/boot/soak-2" "$dir/model/soak-1" "$dir/model/soak-2"
		clears=$((clears + 1))
	fi
	for w in 1 2; do
		"$OPSEQ" $((seed_base + round * 2 + w)) "$ops" "$dir/mnt/boot/soak-$w" "$dir/model/soak-$w" \
			>"$dir/worker-$w.log" 2>&1 &
		pids[w]=$!
	done
	for w in 1 2; do
		wait "${pids[w]}" || die "worker $w, seed $((seed_base + round * 2 + w)): $(tail -n 3 "$dir/worker-$w.log")"
	done
	total_ops=$((total_ops + 2 * ops))
	if [ $((round % every)) -eq 0 ]; then
		"$RPIFS" umount "$dir/mnt" || die "unmount failed"
		check_offline
		"$RPIFS" mount "$img" "$dir/mnt" || die "mount again failed"
		remounts=$((remounts + 1))
	fi
done
"$RPIFS" umount "$dir/mnt" || die "the last unmount failed"
check_offline
echo "soak: $round rounds, $total_ops operations in $(($(date +%s) - start)) s, $remounts remounts, $fscks fsck.fat runs: all clean, every tree as its model; the trees emptied $clears times as the volume filled"
rm -rf "$dir"
