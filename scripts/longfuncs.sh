#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Functions longer than LIMIT lines (default 80) in the project's C files,
# one per line as "FILE:LINE: NAME is N lines", unless the comment just
# above the function gives the reason with "long:". Exits 1 if any.
#   scripts/longfuncs.sh [TREE] [LIMIT]
# A function is read as the kernel style writes it: its name at the start
# of a line, "{" alone on the next line after the parameters, "}" alone at
# the start of a line where it ends.
set -u
cd "${1:-$(dirname "$0")/..}" || exit 1
limit=${2:-80}

files() {
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files '*.c'
	else
		find . -name '*.c' | sed 's|^\./||'
	fi
}

bad=0
for f in $(files); do
	awk -v F="$f" -v L="$limit" '
	# the comment block that ends just above a signature gives the reason
	/^\/\*/ { in_comment = 1; comment = "" }
	in_comment { comment = comment $0 "\n" }
	in_comment && /\*\/$/ { in_comment = 0; comment_end = NR; next }
	in_comment { next }
	/^[A-Za-z_].*\(/ && !start {
		sig = $0; sigline = NR
		reason = comment_end == NR - 1 && comment ~ /long:/
	}
	$0 == "{" && sig != "" && !start { start = NR }
	$0 == "}" && start {
		n = NR - start
		if (n > L && !reason) {
			name = sig
			sub(/\(.*/, "", name)
			sub(/.*[ *]/, "", name)
			printf "%s:%d: %s is %d lines\n", F, sigline, name, n
			found = 1
		}
		start = 0; sig = ""
	}
	END { exit found }' "$f" || bad=1
done
exit $bad
