#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# record.sh FAT WORKLOAD OUT [SEED]: run one crash-state workload
# (tests/tools/crashload.c) through a real FUSE mount of the tracing build
# of rpifs (make TRACE=1, $BUILD/trace/rpifs) on a small image of type FAT
# (fat12, fat16 or fat32, tests/crash/base.sh), and leave in OUT what
# tests/crash/check.py reads: base.p1 (the boot partition before), trace,
# journal, journal.blob.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/tests/lib/images.sh"

fat=$1 workload=$2 out=$3 seed=${4:-1}
BUILD=${BUILD:-build}
rpifs=$top/$BUILD/trace/rpifs
crashload=$top/$BUILD/tests/crashload
bases=${CRASH_BASES:-$top/$BUILD/crash/bases}
for b in "$rpifs" "$crashload"; do
	[ -x "$b" ] || { echo "record.sh: $b is not built (make TRACE=1 BUILD=$BUILD/trace all; make tests)" >&2; exit 2; }
done

mkdir -p "$out"
base=$(bash "$here/base.sh" "$fat" "$bases")
rm -f "$out/trace" "$out/journal" "$out/journal.blob"
cp --sparse=always "$base" "$out/work.img"
img_extract_part "$base" 1 "$out/base.p1"
mnt=$(mktemp -d)
RPIFS_IO_TRACE=$out/trace "$rpifs" mount -f "$out/work.img" "$mnt" 2>"$out/daemon.log" &
daemon=$!
for _ in $(seq 200); do mountpoint -q "$mnt" && break; sleep 0.02; done
mountpoint -q "$mnt" || { echo "record.sh: the mount did not come up" >&2; cat "$out/daemon.log" >&2; exit 1; }
status=0
"$crashload" "$mnt" "$out/trace" "$out/journal" "$workload" "$seed" || status=$?
fusermount3 -u "$mnt" 2>/dev/null || umount "$mnt"
wait "$daemon" || status=$?
rmdir "$mnt"
rm -f "$out/work.img"
exit "$status"
