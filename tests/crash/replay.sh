#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# replay.sh REGRESSION...: each a folder of tests/crash/regress/, a
# recording cut at a crash state that once broke the rules (the state
# file says which state, why, and what the checker must say). The base
# image is built again (base.sh), the state checked with check.py: it
# must be flagged, with every "expect" line in the report. The fixed
# write order itself is tested by running the workload again (run.sh).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/tests/lib/images.sh"
BUILD=${BUILD:-build}
bases=${CRASH_BASES:-$top/$BUILD/crash/bases}
fatwalk=$top/$BUILD/tests/fatwalk
bad=0
for reg in "$@"; do
	name=$(basename "$reg")
	fat=$(awk -F'\t' '$1 == "fat" { print $2 }' "$reg/state")
	read -r kind id < <(awk -F'\t' '$1 == "state" { print $2, $3 }' "$reg/state")
	seed=$(awk -F'\t' '$1 == "seed" { print $2 }' "$reg/state")
	tmp=$(mktemp -d)
	cp "$reg"/trace* "$reg/journal" "$reg"/journal.blob* "$tmp/"
	img_extract_part "$(bash "$here/base.sh" "$fat" "$bases")" 1 "$tmp/base.p1"
	out=$(python3 "$here/check.py" --fatwalk "$fatwalk" --state "$kind" "$id" \
		--seed "${seed:-1}" --show 1 "$tmp" 2>&1)
	status=$?
	rm -rf "$tmp"
	missing=$(awk -F'\t' '$1 == "expect" { print $2 }' "$reg/state" |
		while IFS= read -r want; do
			grep -qF -- "$want" <<<"$out" || echo "$want"
		done)
	if [ "$status" -ne 1 ] || [ -n "$missing" ]; then
		echo "regression $name: state $kind $id not flagged as expected (status $status)"
		[ -n "$missing" ] && echo "  missing: $missing"
		echo "$out" | head -n 20 | sed 's/^/  | /'
		bad=1
	else
		echo "regression $name: $kind $id flagged: $(awk -F'\t' '$1 == "note" { print $2 }' "$reg/state" | cut -c1-100)..."
	fi
done
exit "$bad"
