#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# run.sh quick|full [WORKLOAD...]: record each crash-state workload
# (tests/tools/crashload.c) on FAT12, FAT16 and FAT32 through the tracing
# build of rpifs, check its crash states (check.py), and print the states
# checked per workload and FAT type. quick: every write boundary of a few
# small workloads (make check); full: every workload, every boundary, and
# for each flush epoch each write lost, each write alone, and random
# states, for two seeds (make crash). Exits 1 if a state broke the rules.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-build}
export BUILD
mode=${1:-quick}
shift || true
fats="fat12 fat16 fat32"
case $mode in
quick) workloads=${*:-"create mkdir rename fragdel control"}; seeds=1; opts="--prefix-only" ;;
full) workloads=${*:-$("$top/$BUILD/tests/crashload" --list)}; seeds="1 2"; opts="--random 8" ;;
*) echo "usage: run.sh quick|full [WORKLOAD...]" >&2; exit 2 ;;
esac
runs=${CRASH_RUNS:-$top/$BUILD/crash/runs}
mkdir -p "$runs"
declare -A count
total=0 violations=0 limits=0 failed=0
start=$(date +%s)
for w in $workloads; do
	for fat in $fats; do
		for seed in $seeds; do
			dir=$runs/$fat-$w-$seed
			if ! bash "$here/record.sh" "$fat" "$w" "$dir" "$seed" >"$dir.log" 2>&1; then
				echo "$w on $fat (seed $seed): the workload failed:"
				sed 's/^/  | /' "$dir.log"
				failed=1
				continue
			fi
			out=$(python3 "$here/check.py" --fatwalk "$top/$BUILD/tests/fatwalk" \
				--seed "$seed" --label "$w/$fat seed $seed" $opts "$dir")
			status=$?
			echo "$out" | head -n 1
			[ "$status" -ne 0 ] && { echo "$out" | tail -n +2; failed=1; }
			n=$(sed -n '1s/^[^:]*: \([0-9]*\) crash states.*/\1/p' <<<"$out")
			v=$(sed -n '1s/.* \([0-9]*\) violations.*/\1/p' <<<"$out")
			l=$(sed -n '1s/.* \([0-9]*\) at documented limits.*/\1/p' <<<"$out")
			limits=$((limits + ${l:-0}))
			count[$w/$fat]=$(( ${count[$w/$fat]:-0} + ${n:-0} ))
			total=$((total + ${n:-0}))
			violations=$((violations + ${v:-0}))
		done
	done
done
echo
printf '%-10s %8s %8s %8s %8s\n' workload FAT12 FAT16 FAT32 total
for w in $workloads; do
	row=0
	for fat in $fats; do row=$((row + ${count[$w/$fat]:-0})); done
	printf '%-10s %8d %8d %8d %8d\n' "$w" "${count[$w/fat12]:-0}" \
		"${count[$w/fat16]:-0}" "${count[$w/fat32]:-0}" "$row"
done
echo "$total crash states checked ($mode), $violations violations, $limits at documented limits, $(( $(date +%s) - start )) s"
exit "$failed"
