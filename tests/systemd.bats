#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The Debian fixture with systemd and openssh (tests/lib/sysimg.sh). On
# raspi3b: its first boot applies userconf.txt and boot/ssh as Raspberry
# Pi OS's services do (status names them), sshd answers through ssh=auto,
# a file written in the guest without a sync survives rpifs umount with
# the guest running, which stops it the orderly way (systemd shuts down on
# ctrl-alt-delete), and both partitions are clean after. On raspi4b, a
# guest whose systemd ignores ctrl-alt-delete (ctrl-alt-del.target
# masked): rpifs stop falls back to the kernel's SysRq (sync, read-only
# remount, power off) within the stop bound, and the unsynced file is
# still kept. On raspi4b, a throwaway boot (-o snapshot): rpifs ssh runs
# commands with their status, the guest's host key is kept in the state
# folder, and a file the guest wrote and synced, then an orderly stop,
# leave the image's bytes as they were. (--force, and the read-only
# mount's boot, are in tests/stop.bats and tests/boot.bats, on the busybox
# fixture.) Slow under TCG: .ci/run runs it once; three boots, one each.

load helpers

bats_require_minimum_version 1.5.0

setup() {
	require_fuse
	require_qemu
}

teardown() {
	cleanup_mounts
}

# Mount a copy of the fixture on BOARD with ssh=auto (and OPTIONS), the
# user pi with KEY's public half, ssh enabled; boot it and wait for sshd.
sys_booted() {
	local board=$1 opts=$2
	fixture_built sysimg.sh || return 1
	IMG=$BATS_TEST_TMPDIR/sys.img
	MNT=$BATS_TEST_TMPDIR/sys
	KEY=$BATS_TEST_TMPDIR/key
	cp --sparse=always "$FIXTURE" "$IMG"
	ssh-keygen -q -t ed25519 -N '' -C rpifs-test -f "$KEY"
	mount_rpifs "$IMG" "$MNT" -o "machine=$board,ssh=auto$opts"
	echo 'pi:raspberry' >"$MNT/userconf"
	touch "$MNT/boot/ssh"
	mkdir "$MNT/root/home/pi"
	chown 1000:1000 "$MNT/root/home/pi"
	install -D -m 600 "$KEY.pub" "$MNT/root/home/pi/.ssh/authorized_keys"
}

# COMMAND in the guest over rpifs ssh with KEY: $status, $output (its
# stdout alone) and $stderr, as bats's run gives them.
guest_sh() {
	run --separate-stderr "$RPIFS" ssh "$MNT" -i "$KEY" -o BatchMode=yes \
		-- "$1"
	echo "$output $stderr"
}

# A file written in the guest without a sync; prints the user.
write_unsynced() {
	guest_sh "echo $1 > /home/pi/kept.txt; id -un"
	[ "$status" -eq 0 ]
	[ "$output" = pi ]
}

@test "systemd guest on raspi3b: status names its first-boot services; ssh; unmounted while running, an orderly stop keeps a file; both partitions clean" {
	sys_booted raspi3b ""
	grep -qx 'user: pi (userconf.txt; created at the next boot by /usr/lib/userconf-pi/userconf-service)' "$MNT/status"
	grep -qx 'ssh: enabled (boot/ssh; /usr/lib/raspberrypi-sys-mods/sshswitch turns sshd on at the next boot)' "$MNT/status"

	run "$RPIFS" run "$MNT" --wait=ssh --timeout 900
	echo "# raspi3b, systemd: $output"
	[ "$status" -eq 0 ]
	grep -qx 'machine: raspi3b' "$MNT/status"
	# Written without a sync: the orderly stop must get it to the disk.
	write_unsynced 'kept by the shutdown'

	# Unmounted with the guest running: rpifs umount stops it the orderly
	# way first, and says so in the run's console log.
	local log
	log=$(status_of "$MNT" 'console log')
	"$RPIFS" umount "$MNT"
	not mountpoint -q "$MNT"
	grep 'rpifs: the guest stopped' "$log" | sed 's/^/# /'
	grep -q 'rpifs: the guest stopped: orderly' "$log"
	fsck_boot "$IMG"
	root_clean "$IMG"
	mount_rpifs "$IMG" "$MNT"
	[ "$(cat "$MNT/root/home/pi/kept.txt")" = 'kept by the shutdown' ]
	# The first boot consumed both files, as Raspberry Pi OS's does.
	[ ! -e "$MNT/boot/userconf.txt" ]
	[ ! -e "$MNT/boot/ssh" ]
	umount_rpifs "$MNT"
}

@test "systemd guest on raspi4b ignoring ctrl-alt-delete: SysRq within the stop bound, the unsynced file kept" {
	sys_booted raspi4b ",stop_timeout=15"
	# systemd's own way to ignore the key: the target masked.
	ln -s /dev/null "$MNT/root/etc/systemd/system/ctrl-alt-del.target"
	run "$RPIFS" run "$MNT" --wait=ssh --timeout 900
	echo "# raspi4b, systemd: $output"
	[ "$status" -eq 0 ]
	write_unsynced 'kept by SysRq'

	local t0=$SECONDS took line
	"$RPIFS" stop "$MNT"
	took=$((SECONDS - t0))
	line=$(grep '^last stop:' "$MNT/status")
	echo "# $line (rpifs stop: $took s)"
	[[ "$line" == "last stop: emergency: "* ]]
	grep -q 'sysrq: Emergency Sync' "$MNT/console"
	# The bound (15 s of the key), then the SysRq steps, each awaited.
	[ "$took" -lt 60 ]
	[ "$(cat "$MNT/root/home/pi/kept.txt")" = 'kept by SysRq' ]
	local remounted
	remounted=$(grep -c 'sysrq: Emergency Remount R/O' "$MNT/console" || :)
	umount_rpifs "$MNT"
	if [[ "$line" == *"SysRq sync, read-only remount and power off"* ]]; then
		# Remounted read-only before the power went: nothing to replay.
		[ "$remounted" -ge 1 ]
		root_clean "$IMG"
		fsck_boot "$IMG"
	else
		# This OS allows SysRq sync only (systemd's kernel.sysrq=16).
		e2fsck_root "$IMG"
		fsck_boot "$IMG" --after-power-cut
	fi
}

@test "systemd guest on raspi4b, throwaway (-o snapshot): rpifs ssh runs commands, its status theirs, the host key in the state folder; the guest writes and syncs, an orderly stop; the image's sha256 stays" {
	sys_booted raspi4b ""
	umount_rpifs "$MNT"
	local sum line known kh_before
	sum=$(sha256sum <"$IMG")
	kh_before=$(sha256sum ~/.ssh/known_hosts 2>/dev/null || echo absent)

	mount_rpifs "$IMG" "$MNT" -o machine=raspi4b,ssh=auto,snapshot
	run "$RPIFS" run "$MNT" --wait=ssh --timeout 900
	echo "# raspi4b, snapshot: $output"
	[ "$status" -eq 0 ]
	[[ "$output" == "ssh answers on 127.0.0.1:"*" after "*" s" ]]
	grep -q '^network: restricted (usb-net' "$MNT/status"

	# rpifs ssh: the remote command's status is its own.
	guest_sh 'exit 3'
	[ "$status" -eq 3 ]
	# The userconf user, the hostname, and the guest's network seen from
	# inside: the address from QEMU's DHCP, no default route (restrict=on).
	guest_sh 'id -un; cat /etc/hostname; ip -4 -o addr show scope global; ip route show default | wc -l'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = pi ]
	[ "${lines[1]}" = rpifs-sys ]
	[[ "${lines[2]}" == *"inet 10.0.2.15/24"* ]]
	[ "${lines[3]}" = 0 ]
	# -l: another user; root has no key here, so ssh's own failure (255).
	run --separate-stderr "$RPIFS" ssh "$MNT" -l root -i "$KEY" -o BatchMode=yes -- true
	[ "$status" -eq 255 ]
	# The guest's host key is kept in the state folder, not the user's
	# ~/.ssh/known_hosts.
	known=$(status_of "$MNT" 'ssh known hosts')
	[[ "$known" == "${XDG_STATE_HOME:-$HOME/.local/state}/rpifs/sys.img-"*/known_hosts ]]
	[ -s "$known" ]
	grep -q "^rpifs-sys.img-[0-9a-f]* ssh-" "$known"
	[ "$(sha256sum ~/.ssh/known_hosts 2>/dev/null || echo absent)" = "$kh_before" ]

	# Written and synced, then systemd's own shutdown: all of it was the
	# snapshot's, none the image's.
	guest_sh 'echo gone > /home/pi/gone.txt && sync && cat /home/pi/gone.txt'
	[ "$status" -eq 0 ]
	[ "$output" = gone ]
	"$RPIFS" stop "$MNT"
	line=$(grep '^last stop:' "$MNT/status")
	echo "# $line"
	[[ "$line" == "last stop: orderly: "* ]]
	[ ! -e "$MNT/root/home/pi/gone.txt" ]
	# The first-boot files the guest consumed are back: nothing was kept.
	[ -e "$MNT/boot/userconf.txt" ]
	[ -e "$MNT/boot/ssh" ]
	umount_rpifs "$MNT"
	[ "$(sha256sum <"$IMG")" = "$sum" ]
}
