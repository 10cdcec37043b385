#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Nobody gets in: no allow_other unless asked; the run folder and the
# socket folder are the user's alone; port forwards bind 127.0.0.1 only;
# the password never reaches the image, the run folder, QEMU's argv or
# environment, or the status file; command lines and image paths with
# spaces, quotes, commas and shell characters reach QEMU as one argument
# each, unexpanded. QEMU here is a stand-in (RPIFS_QEMU) that records its
# argv and environment; one test hands the escaped -drive option to the
# real QEMU to show it parses back to the path.

load helpers

SECRET='Pa55-w0rd "quoted" $(touch /tmp/rpifs-pwned) ; `id`'

setup() {
	require_fuse
	T=$BATS_TEST_TMPDIR
	FAKE=$T/fake-qemu
	export FAKE_OUT=$T/fake-out
	mkdir -p "$FAKE_OUT"
	cat >"$FAKE" <<'SH'
#!/bin/sh
case "$1" in
-version) echo "QEMU emulator version 10.0.0"; exit 0 ;;
-machine) printf 'raspi3b              Raspberry Pi 3B\nraspi4b              Raspberry Pi 4B\n'; exit 0 ;;
esac
for a in "$@"; do printf '%s\0' "$a"; done >"$FAKE_OUT/argv"
env -0 >"$FAKE_OUT/env"
exit 0
SH
	chmod +x "$FAKE"
	rm -f /tmp/rpifs-pwned
}

# The recorded argv element after OPTION.
arg_after() {
	python3 -c '
import sys
a = open(sys.argv[1], "rb").read().split(b"\0")[:-1]
i = a.index(sys.argv[2].encode())
sys.stdout.buffer.write(a[i + 1])' "$FAKE_OUT/argv" "$1"
}

boot_fake() {
	RPIFS_QEMU=$FAKE mount_rpifs "$IMG" "$MNT" "$@"
	printf 'pi:%s\n' "$SECRET" >"$MNT/userconf"
	touch "$MNT/run"
	wait_stopped "$MNT" 30
	[ -s "$FAKE_OUT/argv" ]
}

@test "no allow_other unless asked for" {
	fresh fat16
	grep " $MNT " /proc/mounts | not grep -q allow_other
	umount_rpifs "$MNT"
	[ "$(id -u)" = 0 ] || skip "allow_other needs root or user_allow_other"
	mount_rpifs "$IMG" "$MNT" -o allow_other
	grep " $MNT " /proc/mounts | grep -q allow_other
	umount_rpifs "$MNT"
}

@test "the run folder and the socket folder are 0700, their files not readable by others" {
	boot_fixture
	boot_fake
	local run sock
	run=$(status_of "$MNT" "run folder")
	sock=$(dirname "$(status_of "$MNT" "console socket")")
	[ -d "$run" ] && [ -d "$sock" ]
	[ "$(stat -c %a "$run")" = 700 ]
	[ "$(stat -c %a "$(dirname "$run")")" = 700 ]
	[ "$(stat -c %a "$sock")" = 700 ]
	# Nothing in them is readable or writable by group or others.
	find "$run" "$sock" -mindepth 1 -perm /077 ! -type l -exec ls -la {} +
	[ -z "$(find "$run" "$sock" -mindepth 1 -perm /077 ! -type l)" ]
	umount_rpifs "$MNT"
}

@test "the password reaches no argv, environment, run folder, status or image" {
	boot_fixture
	boot_fake
	local run
	run=$(status_of "$MNT" "run folder")
	not grep -aqF "Pa55-w0rd" "$FAKE_OUT/argv"
	not grep -aqF "Pa55-w0rd" "$FAKE_OUT/env"
	not grep -rqaF "Pa55-w0rd" "$run"
	not grep -qaF "Pa55-w0rd" "$MNT/status"
	not grep -qaF "Pa55-w0rd" "$MNT/userconf"
	# The daemon's own argv and environment do not hold it either.
	local pid
	pid=$(pgrep -f "rpifs mount .* $MNT\$" | head -n 1)
	not grep -aqF "Pa55-w0rd" "/proc/$pid/cmdline"
	not grep -aqF "Pa55-w0rd" "/proc/$pid/environ"
	umount_rpifs "$MNT"
	not grep -aqF "Pa55-w0rd" "$IMG"
	[ ! -e /tmp/rpifs-pwned ]
}

@test "a command line with spaces, quotes and shell characters reaches QEMU as one argument" {
	boot_fixture
	RPIFS_QEMU=$FAKE mount_rpifs "$IMG" "$MNT"
	local line='console=serial0,115200 root=/dev/mmcblk0p2 rootwait x="a b" y='"'"'$(touch /tmp/rpifs-pwned)'"'"' z=`id`;w|v&u>t'
	printf '%s\n' "$line" >"$MNT/cmdline"
	touch "$MNT/run"
	wait_stopped "$MNT" 30
	local got
	got=$(arg_after -append)
	echo "append: $got"
	[[ "$got" == *"$line"* ]] || [[ "$got" == *'x="a b" y='"'"'$(touch /tmp/rpifs-pwned)'"'"' z=`id`;w|v&u>t'* ]]
	[ "$got" = "$(status_of "$MNT" cmdline)" ]
	[ ! -e /tmp/rpifs-pwned ]
	umount_rpifs "$MNT"
}

@test "an image path with spaces, commas and shell characters: one -drive argument QEMU parses back" {
	boot_fixture
	local odd="$T/my image, v2 \$(id) 'q' \"d\";x.img" got
	mv "$IMG" "$odd"
	IMG=$odd
	boot_fake
	got=$(arg_after -drive)
	echo "drive: $got"
	[ "$got" = "file=${odd//,/,,},format=raw,if=sd" ]
	umount_rpifs "$MNT"
	# The real QEMU reads that option back as the file (it opens it).
	require_qemu
	run timeout 10 qemu-system-aarch64 -machine raspi4b -S -display none \
		-monitor none -serial none -drive "$got" -qmp stdio </dev/null
	echo "$output"
	[[ "$output" != *"Could not open"* ]]
	[[ "$output" == *'"QMP"'* ]]
}

@test "-o ssh=PORT forwards from 127.0.0.1 only" {
	boot_fixture
	local port=$((20000 + RANDOM % 20000)) got
	boot_fake -o ssh=$port
	python3 -c '
import sys
a = open(sys.argv[1], "rb").read().split(b"\0")[:-1]
fwd = [x for x in a if b"hostfwd" in x]
assert fwd, "no forward"
for x in fwd:
    for part in x.split(b","):
        if part.startswith(b"hostfwd="):
            assert part.startswith(b"hostfwd=tcp:127.0.0.1:"), part
print("ok")' "$FAKE_OUT/argv"
	umount_rpifs "$MNT"
}
