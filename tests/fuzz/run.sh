#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/fuzz/run.sh TARGET...: run each libFuzzer target (build/fuzz/fuzz_T,
# made by make fuzz) for FUZZ_TIME seconds (default 300), one after the
# other, from a working copy of its seed corpus (tests/fuzz/corpus/T plus
# tests/fuzz/regress/T). A crash, hang (FUZZ_TIMEOUT, default 10 s) or
# sanitizer report is saved in build/fuzz/findings/T/; fix it, then copy
# the input into tests/fuzz/regress/T/ so make check replays it for ever.
# FUZZ_JOBS=N runs N workers per target (default 1). Prints one line per
# target: runs, coverage, findings.
set -uo pipefail
cd "$(dirname "$0")/../.."
time=${FUZZ_TIME:-300}
timeout=${FUZZ_TIMEOUT:-10}
jobs=${FUZZ_JOBS:-1}
out=build/fuzz
export PATH=$PATH:/usr/sbin:/sbin

max_len() {
	case $1 in
	part) echo 65536 ;;
	fat) echo 400000 ;;
	ext4) echo 262144 ;;
	*) echo 4096 ;;
	esac
}

found=0
summary=()
for t in "$@"; do
	bin=$out/fuzz_$t
	[ -x "$bin" ] || { echo "fuzz: $bin is not built (make fuzz builds it)" >&2; exit 2; }
	work=$out/corpus/$t
	findings=$out/findings/$t
	mkdir -p "$work" "$findings"
	cp -n tests/fuzz/corpus/"$t"/* "$work"/ 2>/dev/null
	[ -d tests/fuzz/regress/$t ] && cp -n tests/fuzz/regress/"$t"/* "$work"/ 2>/dev/null
	before=$(ls "$findings" | wc -l)
	echo "fuzz: $t for ${time}s (log: $out/$t.log)"
	args=(-max_total_time="$time" -timeout="$timeout" -rss_limit_mb=4096
		-max_len="$(max_len "$t")" -artifact_prefix="$findings/"
		-print_final_stats=1)
	if [ "$jobs" -gt 1 ]; then
		args+=(-jobs="$jobs" -workers="$jobs")
	fi
	"$bin" "${args[@]}" "$work" >"$out/$t.log" 2>&1
	rc=$?
	after=$(ls "$findings" | wc -l)
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t.log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$out/$t.log" | tail -n 1)
	line="$t: ${runs:-?} runs in ${time}s, ${cov:-cov: ?}, $((after - before)) new findings (exit $rc)"
	summary+=("$line")
	[ "$after" -gt "$before" ] && found=1
	[ $rc -ne 0 ] && found=1
done
printf 'fuzz: %s\n' "${summary[@]}"
[ $found = 0 ] || echo "fuzz: findings in $out/findings; see the logs"
exit $found
