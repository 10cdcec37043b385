#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Run the tests and end with one line: "N passed, N failed".
#   tests/run.sh          every test: unit tests, then the bats suites
#   tests/run.sh unit     the unit tests only
#   tests/run.sh NAME...  the named bats suites (tests/NAME.bats)
# Each suite speaks TAP; skipped tests are counted and their reasons shown,
# and each suite's time is shown after its name. RPIFS_QUICK=1 (set by
# .ci/run for its sanitizer pass) leaves out the suites in ONCE_SUITES,
# the slow ones, which its -Werror pass runs, and says so.
set -u
BUILD=${BUILD:-build}
export BUILD
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
export RPIFS="$top/$BUILD/rpifs"
log_dir="$top/$BUILD/test-logs"
mkdir -p "$log_dir"

what=${1:-all}

printf 'building test images...\n'
if ! RPIFS_FIXTURES=$(bash tests/lib/fixtures.sh) ; then
	echo "could not build the test images"
	echo "0 passed, 1 failed"
	exit 1
fi
export RPIFS_FIXTURES

passed=0 failed=0 skipped=0
# Slow suites that a second pass over the same tree need not repeat: the
# boots (busybox and systemd guests) and the Debian package build.
ONCE_SUITES="boot console stop net systemd deb"

# Count one suite's TAP from a file; a crash (fewer results than planned,
# or a bad exit status with no failure reported) counts as a failure.
count() {
	name=$1 out=$2 status=$3
	ok=$(grep -c '^ok ' "$out")
	nok=$(grep -c '^not ok ' "$out")
	skip=$(grep -ciE '^ok .*# skip' "$out")
	plan=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' "$out" | head -n 1)
	missing=0
	if [ -n "$plan" ] && [ $((ok + nok)) -lt "$plan" ]; then
		missing=$((plan - ok - nok))
		echo "# $name: $missing tests did not report (crashed?)"
	fi
	if [ "$status" -ne 0 ] && [ "$nok" -eq 0 ] && [ "$missing" -eq 0 ]; then
		echo "# $name: exited with status $status"
		missing=1
	fi
	passed=$((passed + ok - skip))
	skipped=$((skipped + skip))
	failed=$((failed + nok + missing))
}

run_unit() {
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		out="$log_dir/$name.tap"
		echo "== $name"
		CMOCKA_MESSAGE_OUTPUT=TAP "$t" >"$out" 2>"$log_dir/$name.err"
		status=$?
		grep -E '^(not ok|ok .*# [Ss][Kk][Ii][Pp])' "$out"
		[ "$status" -ne 0 ] && tail -n 20 "$log_dir/$name.err"
		count "$name" "$out" "$status"
	done
}

run_bats() {
	for f in "$@"; do
		name=$(basename "$f" .bats)
		out="$log_dir/$name.tap"
		if [ "${RPIFS_QUICK:-0}" = 1 ] &&
			case " $ONCE_SUITES " in *" $name "*) true ;; *) false ;; esac; then
			echo "== $name: not in this pass (RPIFS_QUICK=1: .ci/run's -Werror pass runs it)"
			continue
		fi
		start=$(date +%s)
		bats --tap "$f" >"$out" 2>&1
		status=$?
		echo "== $name ($(($(date +%s) - start)) s)"
		grep -E '^(not ok|#|ok .*# skip)' "$out" | head -n 200
		count "$name" "$out" "$status"
	done
}

case $what in
unit) run_unit ;;
all) run_unit; run_bats tests/*.bats ;;
*) for n in "$@"; do run_bats "tests/$n.bats"; done ;;
esac

if [ "$skipped" -gt 0 ]; then
	echo "$skipped skipped (the reasons are above)"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
