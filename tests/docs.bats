#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The documentation matches the program: rpifs --help and rpifs(1) list
# the same commands, options and mount options; the man page is
# warning-free under groff; the bash completion offers the same commands;
# make install puts the seven files in place (binary, man page, completion,
# mount and umount helpers and their page) and make uninstall removes them.

load helpers

TOP=$BATS_TEST_DIRNAME/..
MAN=$TOP/man/rpifs.1

# The lines of a man page section: man_section NAME
man_section() {
	awk -v name="$1" '/^\.SH / { f = ($0 == ".SH " name) || ($0 == ".SH \"" name "\""); next } f' "$MAN"
}

# roff source to plain words: macros, font escapes, quotes and \- go.
plain() {
	sed -E 's/^\.[A-Z]+ ?//; s/\\f[BIRP]//g; s/\\-/-/g; s/"//g; s/\\\(ti/~/g'
}

# The heading line after each .TP of a section.
man_tags() {
	man_section "$1" | awk 'prev == ".TP" { print } { prev = $0 }' | plain
}

# Options (-x, --word) in some text.
options_in() {
	grep -oE '(^|[^a-z0-9-])--?[a-z][a-z-]*' | sed -E 's/^[^-]*//' | LC_ALL=C sort -u
}

# A --help section's lines: help_section HEADING
help_section() {
	"$RPIFS" --help | awk -v h="$1" 'index($0, h) == 1 { f = 1; next } /^[^ ]/ { f = 0 } f'
}

# Mount option names (uid=, ro) from item texts, one per line.
mount_names() {
	awk '{ n = 0; s = $0
	       while (match(s, /[a-z_]+=/)) { print substr(s, RSTART, RLENGTH); s = substr(s, RSTART + RLENGTH); n++ }
	       if (!n) print $1 }' | LC_ALL=C sort -u
}

@test "the man pages are warning-free under groff -man -ww -z" {
	command -v groff >/dev/null || skip "no groff (package groff-base)"
	for page in "$MAN" "$TOP/man/mount.fuse.rpifs.8"; do
		run groff -man -ww -z "$page"
		echo "$page: $output"
		[ "$status" -eq 0 ]
		[ -z "$output" ]
	done
}

@test "--help and the man page list the same commands" {
	local help man synopsis
	help=$(help_section commands: | awk '/^  [a-z]/ { print $1 }' | LC_ALL=C sort -u)
	man=$(man_tags COMMANDS | awk '$1 ~ /^[a-z]/ { print $1 }' | LC_ALL=C sort -u)
	synopsis=$(man_section SYNOPSIS | awk '$1 == ".B" && $2 == "rpifs" && $3 != "" { print $3 }' | LC_ALL=C sort -u)
	echo "help: $help" | tr '\n' ' '; echo
	echo "man: $man" | tr '\n' ' '; echo
	echo "synopsis: $synopsis" | tr '\n' ' '; echo
	[ "$(wc -l <<<"$help")" -ge 8 ]
	[ "$help" = "$man" ]
	[ "$help" = "$synopsis" ]
	# Each is a command the program knows.
	for c in $help; do
		run "$RPIFS" "$c"
		[[ "$output" != *"unknown command"* ]]
	done
}

@test "each command's --help gives the usage rpifs --help lists" {
	local c synopsis usage n=0
	for c in $(help_section commands: | awk '/^  [a-z]/ { print $1 }'); do
		# The command's line in rpifs --help, without its description.
		synopsis=$(help_section commands: | awk -v c="$c" '$1 == c { sub(/^  /, ""); sub(/  .*/, ""); print }')
		usage=$("$RPIFS" "$c" --help | head -n 1)
		echo "$c: '$synopsis' / '$usage'"
		[ "$usage" = "usage: rpifs $synopsis" ]
		n=$((n + 1))
	done
	[ "$n" -ge 8 ]
}

@test "--help and the man page list the same options" {
	local help man
	help=$( (help_section commands: | grep -E '^  [a-z]'; "$RPIFS" --help | grep -E '^  -') | options_in)
	man=$( (man_section SYNOPSIS | plain; man_tags COMMANDS) | options_in)
	echo "help: $(echo $help)"
	echo "man: $(echo $man)"
	[[ "$help" == *--grow-root* && "$help" == *--timeout* ]]
	[ "$help" = "$man" ]
}

@test "--help and the man page list the same mount options" {
	local help man
	help=$(help_section 'mount options' | grep -E '^  [a-z]' |
		sed -nE 's/^  ([^ ]+(, [^ ]+)*)( {2,}.*)?$/\1/p' | mount_names)
	man=$(man_tags 'MOUNT OPTIONS' | mount_names)
	echo "help: $(echo $help)"
	echo "man: $(echo $man)"
	[[ "$help" == *ssh=* && "$help" == *machine=* && "$help" == *ro* ]]
	[ "$help" = "$man" ]
}

@test "the version agrees: rpifs --version, the man page, the Makefile" {
	local v
	v=$(sed -n 's/^VERSION := //p' "$TOP/Makefile")
	[ -n "$v" ]
	[[ "$("$RPIFS" --version)" == *"$v"* ]]
	grep -q "^\.TH RPIFS 1 .*\"rpifs $v\"" "$MAN"
	grep -q "^\.TH MOUNT.FUSE.RPIFS 8 .*\"rpifs $v\"" "$TOP/man/mount.fuse.rpifs.8"
	# The Debian package's version is the same (a native package).
	[ "$(sed -n '1s/^rpifs (\([^)]*\)).*/\1/p' "$TOP/debian/changelog")" = "$v" ]
}

@test "the bash completion offers the commands --help lists" {
	local help comp
	help=$(help_section commands: | awk '/^  [a-z]/ { print $1 }' | LC_ALL=C sort -u)
	comp=$(sed -n 's/^\tlocal commands="\(.*\)"$/\1/p' "$TOP/scripts/rpifs.bash-completion" |
		tr ' ' '\n' | grep -v '^-' | LC_ALL=C sort -u)
	[ "$help" = "$comp" ]
	bash -n "$TOP/scripts/rpifs.bash-completion"
}

@test "make install DESTDIR= installs the binary, the man page, the completion and the mount helpers; uninstall removes them" {
	local d=$BATS_TEST_TMPDIR/root
	make -C "$TOP" --no-print-directory -o "${BUILD:-build}/rpifs" \
		BUILD="${BUILD:-build}" PREFIX=/usr/local DESTDIR="$d" install
	run find "$d" -type f
	echo "$output"
	[ "$(wc -l <<<"$output")" -eq 7 ]
	[ -f "$d/usr/local/share/man/man8/mount.fuse.rpifs.8" ]
	[ -x "$d/usr/local/bin/rpifs" ]
	[ -x "$d/sbin/mount.fuse.rpifs" ]
	[ -x "$d/sbin/umount.fuse.rpifs" ]
	grep -qx 'RPIFS=${RPIFS_BIN:-/usr/local/bin/rpifs}' "$d/sbin/mount.fuse.rpifs"
	[ -f "$d/usr/local/share/man/man1/rpifs.1" ]
	[ -f "$d/usr/local/share/bash-completion/completions/rpifs" ]
	"$d/usr/local/bin/rpifs" --version
	make -C "$TOP" --no-print-directory -o "${BUILD:-build}/rpifs" \
		BUILD="${BUILD:-build}" PREFIX=/usr/local DESTDIR="$d" uninstall
	[ -z "$(find "$d" -type f)" ]
}
