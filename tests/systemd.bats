#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The Debian fixture with systemd and openssh (tests/lib/sysimg.sh) on
# raspi3b: its first boot applies userconf.txt and boot/ssh as Raspberry Pi
# OS's services do (status names them), sshd answers through ssh=auto, a
# file written in the guest without a sync survives rpifs stop, which is
# orderly (systemd shuts down on ctrl-alt-delete), and both partitions are
# clean after. (raspi4b's boot of the same fixture is in tests/net.bats.)
# Slow under TCG: .ci/run runs it once.

load helpers

bats_require_minimum_version 1.5.0

setup() {
	require_fuse
	require_qemu
}

teardown() {
	cleanup_mounts
}

@test "systemd guest on raspi3b: status names its first-boot services; ssh; a file kept by an orderly stop; both partitions clean" {
	fixture_built sysimg.sh || return 1
	IMG=$BATS_TEST_TMPDIR/sys.img
	MNT=$BATS_TEST_TMPDIR/sys
	cp --sparse=always "$FIXTURE" "$IMG"
	local key=$BATS_TEST_TMPDIR/key
	ssh-keygen -q -t ed25519 -N '' -C rpifs-test -f "$key"
	mount_rpifs "$IMG" "$MNT" -o machine=raspi3b,ssh=auto
	echo 'pi:raspberry' >"$MNT/userconf"
	touch "$MNT/boot/ssh"
	grep -qx 'user: pi (userconf.txt; created at the next boot by /usr/lib/userconf-pi/userconf-service)' "$MNT/status"
	grep -qx 'ssh: enabled (boot/ssh; /usr/lib/raspberrypi-sys-mods/sshswitch turns sshd on at the next boot)' "$MNT/status"
	mkdir "$MNT/root/home/pi"
	chown 1000:1000 "$MNT/root/home/pi"
	install -D -m 600 "$key.pub" "$MNT/root/home/pi/.ssh/authorized_keys"

	run "$RPIFS" run "$MNT" --wait=ssh --timeout 900
	echo "# raspi3b, systemd: $output"
	[ "$status" -eq 0 ]
	grep -qx 'machine: raspi3b' "$MNT/status"
	# Written without a sync: the orderly stop must get it to the disk.
	run --separate-stderr "$RPIFS" ssh "$MNT" -i "$key" -o BatchMode=yes \
		-- 'echo kept by the shutdown > /home/pi/kept.txt; id -un'
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[ "$output" = pi ]

	"$RPIFS" stop "$MNT"
	echo "# $(grep '^last stop:' "$MNT/status")"
	grep -q '^last stop: orderly: ' "$MNT/status"
	[ "$(cat "$MNT/root/home/pi/kept.txt")" = 'kept by the shutdown' ]
	# The first boot consumed both files, as Raspberry Pi OS's does.
	[ ! -e "$MNT/boot/userconf.txt" ]
	[ ! -e "$MNT/boot/ssh" ]
	umount_rpifs "$MNT"
	fsck_boot "$IMG"
	root_clean "$IMG"
}
