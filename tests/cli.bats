#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The command line's own errors: -h and --help after every command, a
# directory that is not there, unknown options, and a /dev/fuse that a
# user who is not root may not open. Each is one line that names the
# problem and what to do.

load helpers

setup() {
	T=$BATS_TEST_TMPDIR
}

teardown() {
	cleanup_mounts
	if [ -n "${USERDIR:-}" ]; then
		rm -rf "$USERDIR"
	fi
	if [ -n "${FUSE_MODE_WAS:-}" ]; then
		chmod "$FUSE_MODE_WAS" /dev/fuse
	fi
}

# The commands rpifs --help lists, and the alias.
commands() {
	"$RPIFS" --help | awk '/^commands:/ { f = 1; next } /^[^ ]/ { f = 0 } f && /^  [a-z]/ { print $1 }'
	echo unmount
}

@test "-h and --help after every command: its usage, exit 0" {
	local c n=0
	for c in $(commands); do
		for h in -h --help; do
			run "$RPIFS" "$c" "$h"
			echo "rpifs $c $h: $status: $output"
			[ "$status" -eq 0 ]
			[[ "${lines[0]}" == "usage: rpifs $c"* ]]
		done
		n=$((n + 1))
	done
	[ "$n" -ge 9 ]
	# After other arguments too, and not read as a path.
	run "$RPIFS" umount "$T/nowhere" --help
	[ "$status" -eq 0 ] && [[ "${lines[0]}" == "usage: rpifs umount DIR" ]]
	run "$RPIFS" run "$T/nowhere" --wait -h
	[ "$status" -eq 0 ] && [[ "${lines[0]}" == "usage: rpifs run DIR"* ]]
	run "$RPIFS" mount "$T/x.img" "$T/nowhere" --help
	[ "$status" -eq 0 ] && [[ "${lines[0]}" == "usage: rpifs mount"* ]]
	[[ "$output" != *"No such file"* ]]
}

@test "a directory that is not there: one line that says what to give" {
	local c
	for c in umount run stop console status; do
		run "$RPIFS" "$c" "$T/nodir"
		echo "rpifs $c: $status: $output"
		[ "$status" -eq 1 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"$T/nodir: no such directory: name the directory an image is mounted on (rpifs mount IMAGE DIR mounts one)"* ]]
	done
	# A directory that is there but not a mount.
	run "$RPIFS" run "$T"
	[ "$status" -eq 1 ] && [ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"$T is not an rpifs mount (rpifs mount IMAGE $T)"* ]]
	# An option a command does not have is not taken for a directory.
	run "$RPIFS" status --bogus
	[ "$status" -eq 1 ] && [ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"--bogus: not an option of this command (its --help lists them)"* ]]
	run "$RPIFS" run "$T" --bogus
	[ "$status" -eq 2 ] && [[ "$output" == *"usage: rpifs run"* ]]
}

@test "unknown and malformed mount options: one line naming the option" {
	mkdir -p "$T/m"
	copy_fixture fat16.img "$T/fat16.img"
	run "$RPIFS" mount -o bogus "$T/fat16.img" "$T/m"
	echo "$output"
	[ "$status" -eq 2 ] && [ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *bogus* ]]
	run "$RPIFS" mount -o uid=abc "$T/fat16.img" "$T/m"
	echo "$output"
	[ "$status" -eq 2 ] && [ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"uid="* ]]
	not mountpoint -q "$T/m"
}

@test "a user who is not root, /dev/fuse mode 0600: one line naming the mode and the fix, not 'install fuse3'" {
	[ "$(id -u)" = 0 ] || skip "needs root to set /dev/fuse's mode and run as another user"
	[ -c /dev/fuse ] || skip "no /dev/fuse on this machine"
	command -v fusermount3 >/dev/null || skip "no fusermount3 (package fuse3): the case is fuse3 installed"
	FUSE_MODE_WAS=$(stat -c %a /dev/fuse)
	chmod 0600 /dev/fuse
	USERDIR=$(mktemp -d /tmp/rpifs-user.XXXXXX)
	chmod 755 "$USERDIR"
	mkdir -p "$USERDIR/m" "$USERDIR/home"
	copy_fixture fat16.img "$USERDIR/fat16.img"
	chown -R 65534:65534 "$USERDIR"
	run setpriv --reuid=65534 --regid=65534 --clear-groups \
		env HOME="$USERDIR/home" "$RPIFS" mount "$USERDIR/fat16.img" "$USERDIR/m"
	echo "$output"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"cannot mount on $USERDIR/m: /dev/fuse is mode 0600, not open to you; as root, chmod 0666 /dev/fuse"* ]]
	[[ "$output" != *"install fuse3"* ]]
	[[ "$output" != *"Permission denied"* ]]
	not mountpoint -q "$USERDIR/m"
}
