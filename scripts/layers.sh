#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The layers, checked: each folder may include only the folders below it
# (the table here is the one HACKING.md draws), and no file outside fs/
# includes FUSE. Prints every include that breaks a rule; exits 1 if any.
#   scripts/layers.sh [TREE]   (default: this checkout)
set -u
cd "${1:-$(dirname "$0")/..}" || exit 1

# folder: the folders its files may include (besides their own).
allowed() {
	case $1 in
	common) echo "" ;;
	fat | partition | pi) echo "common" ;;
	ext4) echo "common" ;;
	launcher) echo "common pi" ;;
	cli) echo "common fat partition pi ext4 launcher" ;;
	fs) echo "common fat partition pi ext4 launcher" ;;
	.) echo "cli common fs" ;; # rpifs.c: fs/mount.h only, see below
	*) echo "-" ;;
	esac
}

bad=0
files() {
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files '*.c' '*.h'
	else
		find . -name '*.[ch]' | sed 's|^\./||'
	fi
}

for f in $(files | grep -vE '^(tests|bench|debian)/'); do
	dir=$(dirname "$f")
	ok=$(allowed "$dir")
	if [ "$ok" = "-" ]; then
		echo "$f: folder $dir is not in the layer table (scripts/layers.sh)"
		bad=1
		continue
	fi
	if [ "$dir" != fs ] && grep -qE '^#include <fuse' "$f"; then
		echo "$f: includes FUSE; only fs/ may"
		bad=1
	fi
	for inc in $(sed -n 's/^#include "\(.*\)"/\1/p' "$f"); do
		case $inc in
		../*) target=$(echo "$inc" | cut -d/ -f2) ;;
		*/*) target=$(echo "$inc" | cut -d/ -f1) ;;
		*) target=$dir ;;
		esac
		[ "$target" = "$dir" ] && continue
		case " $ok " in
		*" $target "*) ;;
		*)
			echo "$f: includes $inc, but $dir/ may include only: ${ok:-nothing}"
			bad=1
			;;
		esac
		if [ "$dir" = . ] && [ "$target" = fs ] && [ "$inc" != fs/mount.h ]; then
			echo "$f: includes $inc; the command line takes only fs/mount.h from fs/"
			bad=1
		fi
	done
done
exit $bad
