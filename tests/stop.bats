#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# How a guest is stopped (rpifs stop, echo stop > run, rpifs umount): its
# own init first (ctrl-alt-delete on the USB keyboard), then its kernel
# (SysRq sync, read-only remount, power off over the serial line), then
# the power, each step bounded; --force and echo kill > run cut the power
# at once. On the busybox boot fixture, whose init reboots on
# ctrl-alt-delete and unmounts at shutdown; a guest that ignores the key,
# and one whose kernel has SysRq off too, are made by editing the image's
# root/ before the boot.

load helpers

setup() {
	require_fuse
	require_qemu
}

# Boot the fixture to its login prompt; extra arguments are mount options.
booted() {
	boot_fixture
	mount_rpifs "$IMG" "$MNT" "$@"
}

login_prompt() {
	"$RPIFS" run "$MNT" --wait --timeout 180
}

@test "rpifs stop: the guest's init shuts it down; both partitions clean, nothing to replay" {
	booted
	echo 'pi:raspberry' >"$MNT/userconf"
	login_prompt
	run console_session "$MNT" pi raspberry 'echo kept > kept.txt'
	[ "$status" -eq 0 ]
	"$RPIFS" stop "$MNT"
	[ "$(cat "$MNT/run")" = "stopped: exit status 0" ]
	grep -q '^last stop: orderly: the guest.s init shut it down after ctrl-alt-delete, in [0-9.]* s$' "$MNT/status"
	grep -q 'rpifs: the guest stopped: orderly' "$MNT/console"
	[ "$(cat "$MNT/root/home/pi/kept.txt")" = kept ]
	umount_rpifs "$MNT"
	fsck_boot "$IMG"
	root_clean "$IMG"
}

@test "a guest whose init ignores ctrl-alt-delete: SysRq sync, read-only remount, power off after the bound" {
	booted -o stop_timeout=5
	sed -i '/ctrlaltdel/d' "$MNT/root/etc/inittab"
	login_prompt
	local t0=$SECONDS
	"$RPIFS" stop "$MNT"
	echo "stop took $((SECONDS - t0)) s"
	grep -q '^last stop: emergency: no shutdown within 5 s, so SysRq sync, read-only remount and power off' "$MNT/status"
	grep -q 'sysrq: Emergency Remount R/O' "$MNT/console"
	umount_rpifs "$MNT"
	fsck_boot "$IMG"
	root_clean "$IMG"
}

@test "a guest that ignores the key and allows SysRq sync only: synced, then a power cut" {
	booted -o stop_timeout=3
	sed -i '/ctrlaltdel/d' "$MNT/root/etc/inittab"
	# 16: sync alone (Debian's default, 438, allows remount and power off).
	sed -i 's|^echo "fixture: up"$|echo 16 >/proc/sys/kernel/sysrq\necho "fixture: up"|' "$MNT/root/etc/init.d/rcS"
	grep -q '^echo 16 >/proc/sys/kernel/sysrq$' "$MNT/root/etc/init.d/rcS"
	login_prompt
	"$RPIFS" stop "$MNT"
	grep -q '^last stop: emergency: SysRq sync (no read-only remount), then a power cut, in [0-9.]* s$' "$MNT/status"
	grep -q 'This sysrq operation is disabled' "$MNT/console"
	grep -q 'Emergency Sync complete' "$MNT/console"
	umount_rpifs "$MNT"
	fsck_boot "$IMG" --after-power-cut
	e2fsck_root "$IMG"
}

@test "rpifs stop --force and echo kill > run: the power at once" {
	booted
	login_prompt
	local t0=$SECONDS
	"$RPIFS" stop --force "$MNT"
	[ $((SECONDS - t0)) -lt 20 ]
	grep -q '^last stop: power cut (forced), in [0-9.]* s$' "$MNT/status"
	login_prompt
	echo kill >"$MNT/run"
	wait_stopped "$MNT" 20
	grep -q '^last stop: power cut (forced)' "$MNT/status"
	# A stop under way is forced too.
	sed -i '/ctrlaltdel/d' "$MNT/root/etc/inittab"
	login_prompt
	echo stop >"$MNT/run"
	sleep 1
	[ "$(cat "$MNT/run")" = stopping ]
	"$RPIFS" stop --force "$MNT"
	grep -q '^last stop: power cut (forced)' "$MNT/status"
	umount_rpifs "$MNT"
}

@test "rpifs umount with a running guest stops it the orderly way first" {
	booted
	login_prompt
	local log
	log=$(status_of "$MNT" 'console log')
	"$RPIFS" umount "$MNT"
	not mountpoint -q "$MNT"
	grep -q 'rpifs: the guest stopped: orderly' "$log"
	fsck_boot "$IMG"
	root_clean "$IMG"
}

@test "a busy mount: rpifs umount refuses before it stops anything" {
	booted
	login_prompt
	(cd "$MNT/boot" && exec sleep 600) &
	local holder=$!
	sleep 0.5
	run "$RPIFS" umount "$MNT"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"is busy"* ]]
	[[ "$(cat "$MNT/run")" == "running pid "* ]]
	kill "$holder"
	wait "$holder" 2>/dev/null || true
	"$RPIFS" umount "$MNT"
	not mountpoint -q "$MNT"
}

@test "a stop before the guest has printed anything cuts the power: nothing is mounted yet" {
	boot_fixture
	local fake=$BATS_TEST_TMPDIR/silent-qemu
	# A QEMU that answers QMP and prints nothing on the serial line.
	cat >"$fake" <<'SH'
#!/bin/sh
case "$1" in
-version|-machine) exec qemu-system-aarch64 "$@" ;;
esac
exec qemu-system-aarch64 "$@" -S
SH
	chmod +x "$fake"
	RPIFS_QEMU=$fake mount_rpifs "$IMG" "$MNT"
	touch "$MNT/run"
	for _ in $(seq 100); do [[ "$(cat "$MNT/run")" == "running "* ]] && break; sleep 0.1; done
	[[ "$(cat "$MNT/run")" == "running "* ]]
	"$RPIFS" stop "$MNT"
	grep -q '^last stop: power cut, in [0-9.]* s$' "$MNT/status"
	umount_rpifs "$MNT"
}
