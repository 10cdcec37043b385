#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# crash_check.sh PARTITION LOG STORM: after a killed daemon, check a FAT
# partition: fsck.fat -n may report only what a crash may leave (the dirty
# bit, the backup boot sector differing in it, a stale free count, lost
# clusters, and a wrong size for a file that was not fsynced); and every
# file in LOG (written by the storm tool after its fsync) must be intact.
# Prints what is wrong and exits 1, or prints a summary and exits 0.
set -u
part=$1 log=$2 storm=$3
export MTOOLS_SKIP_CHECK=1
bad=0

# The clusters of the file at PATH (fsck.fat's spelling), as mshowfat lists them.
chain() {
	mshowfat -i "$part" "::$1" 2>/dev/null | sed 's/^[^<]*//'
}

report=$(fsck.fat -n "$part" 2>&1)
while IFS= read -r line; do
	case $line in
	"fsck.fat "* | "Leaving filesystem unchanged." | "" | "$part: "*" files, "*) ;;
	"There are differences between boot sector and its backup.") ;;
	"This is mostly harmless. Differences: (offset:original/backup)") ;;
	"  65:01/00" | "  37:01/00") ;; # the dirty bit (FAT32, FAT12/16)
	"  Not automatically fixing this.") ;;
	"Dirty bit is set. Fs was not properly unmounted and some data may be corrupt.") ;;
	" Automatically removing dirty bit.") ;;
	"Free cluster summary wrong"* | "  Auto-correcting.") ;;
	"Reclaimed "*" unused cluster"*) ;; # lost clusters
	# A kill between writing the first FAT and its copy: fsck.fat reads
	# the first, which rpifs writes first.
	"FATs differ but appear to be intact." | "  Using first FAT.") ;;
	"/"*"  and") # two entries share clusters: fsck names both
		first=${line%  and}
		IFS= read -r second
		IFS= read -r detail
		# A rename between directories cut short leaves one file under
		# both names (rpifs writes the new entry, flushes, then removes
		# the old): the same chain from the same first cluster. Any
		# other sharing is damage.
		if [ "$detail" != "  share clusters." ] ||
			[ "$(chain "$first")" != "$(chain "$second")" ] ||
			[ -z "$(chain "$first")" ]; then
			echo "fsck: $first and $second share clusters and are not one file under two names"
			bad=1
		fi
		;;
	"  Truncating second to 0 bytes.") ;;
	"/"*) # a file fsck would change: fine only if it was not fsynced
		path=${line#/}
		# fsck.fat shows 8.3 names in upper case; FAT ignores case.
		if cut -d' ' -f1 "$log" | grep -qixF -- "$path"; then
			echo "fsck: an fsynced file is damaged: $line"
			bad=1
		fi
		IFS= read -r detail
		case $detail in
		"  File size is "*" bytes, cluster chain length is "*) ;;
		*) echo "fsck: unexpected: $line / $detail"; bad=1 ;;
		esac
		;;
	"  Truncating file to "*) ;;
	*)
		echo "fsck: unexpected: $line"
		bad=1
		;;
	esac
done <<<"$report"

out=$(mktemp -d)
mcopy -s -n -i "$part" '::/*' "$out/" 2>/dev/null
n=0
while read -r path size seed; do
	n=$((n + 1))
	if [ ! -f "$out/$path" ]; then
		echo "lost: fsynced file $path is missing"
		bad=1
	elif ! cmp -s <("$storm" --gen "$seed" "$size") "$out/$path"; then
		echo "damaged: fsynced file $path differs ($(stat -c %s "$out/$path") bytes, want $size)"
		bad=1
	fi
done <"$log"
rm -rf "$out"
if [ "$bad" -ne 0 ]; then
	echo "--- fsck.fat -n said:"
	echo "$report"
	exit 1
fi
echo "$n fsynced files intact; fsck: $(grep -cE 'Reclaimed|File size' <<<"$report") crash leftovers"
