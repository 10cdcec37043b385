#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Installs what rpifs needs to build, test and boot images, from the Debian
# archive the machine already uses. Quick and silent when everything is
# there. QEMU 9 or newer (for -machine raspi4b) comes from the release's
# backports suite, which is added by reusing the URI of the machine's own
# Debian sources: no mirror is named here.
#
#   scripts/deps.sh [build|check|demo|bench|fuzz|deb]
set -eu

purpose=${1:-check}

build_pkgs="gcc make pkg-config libfuse3-dev libblkid-dev libcrypt-dev libfdt-dev libext2fs-dev comerr-dev fuse3"
test_pkgs="libcmocka-dev bats dosfstools mtools fdisk e2fsprogs cpio gzip rsync vim openssl xxd python3 python3-yaml strace device-tree-compiler groff-base tzdata clang-format attr acl bash-completion man-db debhelper dpkg-dev lintian"
deb_pkgs="debhelper dpkg-dev"
bench_pkgs="fio fuse2fs fusefat procps"
fuzz_pkgs="clang libclang-rt-14-dev"

case $purpose in
build) pkgs=$build_pkgs; want_qemu=0 ;;
check | demo) pkgs="$build_pkgs $test_pkgs"; want_qemu=1 ;;
bench) pkgs="$build_pkgs $test_pkgs $bench_pkgs"; want_qemu=1 ;;
fuzz) pkgs="$build_pkgs $test_pkgs $fuzz_pkgs"; want_qemu=0 ;;
deb) pkgs="$build_pkgs $deb_pkgs"; want_qemu=0 ;;
*) echo "usage: $0 [build|check|demo|bench|fuzz|deb]" >&2; exit 2 ;;
esac

say() { printf 'deps: %s\n' "$*" >&2; }

installed() {
	dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q ' installed$'
}

# The major version of qemu-system-aarch64 on PATH, or 0.
qemu_major() {
	v=$(qemu-system-aarch64 -version 2>/dev/null | sed -n 's/.*version \([0-9][0-9]*\)\..*/\1/p' | head -n 1)
	echo "${v:-0}"
}

missing=""
for p in $pkgs; do
	installed "$p" || missing="$missing $p"
done
need_qemu=0
# qemu-img (qemu-utils) makes the overlay of a throwaway boot.
if [ "$want_qemu" = 1 ] && { [ "$(qemu_major)" -lt 9 ] || ! command -v qemu-img >/dev/null; }; then
	need_qemu=1
fi
[ -z "$missing" ] && [ "$need_qemu" = 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
	say "this is not a Debian system; install by hand:$missing${need_qemu:+ qemu-system-arm (9 or newer)}"
	exit 1
fi

if [ "$(id -u)" = 0 ]; then
	as_root=""
elif command -v sudo >/dev/null 2>&1; then
	as_root="sudo"
else
	say "missing:$missing$( [ "$need_qemu" = 1 ] && echo ' qemu-system-arm>=9')"
	say "installing them needs root and there is no sudo: run this as root, e.g. 'su -c \"make check\"'"
	exit 1
fi

apt_get() {
	$as_root env DEBIAN_FRONTEND=noninteractive apt-get -q -y \
		-o Dpkg::Use-Pty=0 "$@"
}

# The URI (and keyring) of the machine's main Debian suite for the codename,
# from deb822 .sources files or one-line .list files.
main_source() {
	codename=$1
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk -v want="$codename" '
		function flush() {
			if (!done && uri != "" && types ~ /(^| )deb( |$)/ &&
			    (" " suites " ") ~ (" " want " ")) {
				print uri "|" key; done = 1
			}
			uri = ""; suites = ""; types = ""; key = ""
		}
		/^[ \t]*#/ { next }
		/^[ \t]*$/ { flush(); next }
		/^URIs:/ { uri = $2 }
		/^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
		/^Types:/ { sub(/^Types:[ \t]*/, ""); types = $0 }
		/^Signed-By:/ { key = $2 }
		END { flush() }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk -v want="$codename" '
		/^[ \t]*deb[ \t]/ {
			i = 2
			if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
			if ($(i + 1) == want) { print $i "|"; exit }
		}' "$f"
	done
}

has_suite() {
	grep -rqsE "(^|[[:space:]])$1([[:space:]]|$)" /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null
}

say "installing:$missing$( [ "$need_qemu" = 1 ] && echo ' qemu-system-arm (9 or newer)')"
apt_get update >/dev/null
if [ -n "$missing" ]; then
	# shellcheck disable=SC2086
	apt_get install --no-install-recommends $missing >/dev/null
fi

# A QEMU new enough already: qemu-utils of the same version, from
# wherever that came (backports, usually).
if [ "$need_qemu" = 1 ] && [ "$(qemu_major)" -ge 9 ]; then
	ver=$(dpkg-query -W -f='${Version}' qemu-system-arm 2>/dev/null || true)
	if [ -n "$ver" ] && apt_get install --no-install-recommends "qemu-utils=$ver" >/dev/null; then
		need_qemu=0
	fi
fi
if [ "$need_qemu" = 1 ]; then
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	# A release whose own QEMU is new enough (trixie and later) needs no
	# backports.
	cand=$(apt-cache policy qemu-system-arm 2>/dev/null | sed -n 's/^ *Candidate: *\([0-9]*:\)\{0,1\}\([0-9]*\)\..*/\2/p')
	if [ "${cand:-0}" -ge 9 ] 2>/dev/null; then
		apt_get install --no-install-recommends qemu-system-arm qemu-utils >/dev/null
	else
		if ! has_suite "$codename-backports"; then
			src=$(main_source "$codename" | head -n 1)
			uri=${src%%|*}
			key=${src#*|}
			if [ -z "$uri" ]; then
				say "found no Debian '$codename' entry in /etc/apt/sources.list*; add $codename-backports by hand and run again"
				exit 1
			fi
			say "adding $codename-backports from the configured archive"
			{
				echo "Types: deb"
				echo "URIs: $uri"
				echo "Suites: $codename-backports"
				echo "Components: main"
				[ -n "$key" ] && echo "Signed-By: $key"
			} | $as_root tee /etc/apt/sources.list.d/rpifs-backports.sources >/dev/null
			apt_get update >/dev/null
		fi
		apt_get install -t "$codename-backports" --no-install-recommends qemu-system-arm qemu-utils >/dev/null
	fi
	if [ "$(qemu_major)" -lt 9 ]; then
		say "qemu-system-aarch64 is still older than 9 ($(qemu-system-aarch64 -version | head -n 1)); install QEMU 9 or newer"
		exit 1
	fi
fi
say "done"
