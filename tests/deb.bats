#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The Debian package: make deb builds it with dpkg-buildpackage -us -uc -b
# from a copy of the checkout's files (a package build writes under
# debian/), lintian finds no error in it, and installed on this machine it
# gives rpifs on PATH, its man pages, the completion and the mount helpers;
# removed, it takes them all away.

load helpers

setup() {
	[ "$(id -u)" = 0 ] || skip "needs root to install a package"
	command -v dpkg-buildpackage >/dev/null || skip "no dpkg-buildpackage (package dpkg-dev; make check installs it)"
	command -v dh >/dev/null || skip "no debhelper (make check installs it)"
	command -v lintian >/dev/null || skip "no lintian (make check installs it)"
	if dpkg-query -W -f='${Status}' rpifs 2>/dev/null | grep -q ' installed$'; then
		skip "an rpifs package is installed already: not replacing it"
	fi
	SRC=$BATS_TEST_TMPDIR/src/rpifs
	mkdir -p "$SRC"
	git -C "$BATS_TEST_DIRNAME/.." ls-files -z --cached --others --exclude-standard |
		(cd "$BATS_TEST_DIRNAME/.." && tar --null -T - -cf -) | tar -xf - -C "$SRC"
}

teardown() {
	if dpkg-query -W -f='${Status}' rpifs 2>/dev/null | grep -q ' installed$'; then
		dpkg --purge rpifs >/dev/null
	fi
}

@test "make deb: a package lintian finds no error in; installed: rpifs --version, man -w rpifs, the helpers; purged: gone" {
	local deb v
	v=$(sed -n 's/^VERSION := //p' "$SRC/Makefile")
	# Not the outer make's variables (SANITIZE=1, BUILD=): a plain build.
	run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u BUILD -u SANITIZE -u WERROR \
		make -C "$SRC" --no-print-directory deb
	[ "$status" -eq 0 ] || { echo "$output" | tail -30; false; }
	deb=$(ls "$SRC"/build/deb/rpifs_"$v"_*.deb)
	[ -f "$deb" ]
	# Nothing left beside the checkout.
	[ -z "$(ls "$SRC/.." | grep -v '^rpifs$')" ]
	run lintian --fail-on error "$deb"
	echo "$output"
	[ "$status" -eq 0 ]
	not grep -q '^E: ' <<<"$output"
	dpkg -i "$deb"
	[ "$(/usr/bin/rpifs --version)" = "rpifs $v" ]
	man -w rpifs
	man -w mount.fuse.rpifs
	[ -x /usr/sbin/mount.fuse.rpifs ]
	grep -qx 'RPIFS=${RPIFS_BIN:-/usr/bin/rpifs}' /usr/sbin/mount.fuse.rpifs
	[ -f /usr/share/bash-completion/completions/rpifs ]
	dpkg-query -W -f='${Depends}\n' rpifs | grep -q 'fuse3'
	dpkg --purge rpifs
	[ ! -e /usr/bin/rpifs ]
	[ ! -e /usr/sbin/mount.fuse.rpifs ]
}
