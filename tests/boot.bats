#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Booting through rpifs under real QEMU, with the boot fixture (Debian's
# arm64 kernel and busybox in Raspberry Pi OS's layout): a user's whole
# session across two boots, raspi3b, stop during boot, unmount with a
# running guest, a panicking kernel, QEMU exiting at once or missing, the
# ssh port forward, the image locks, read-only while running.

load helpers

setup() {
	require_fuse
	require_qemu
}

@test "a user's session: userconf, boot, log in, write a file, power off; boot again, it is there" {
	boot_fixture
	mount_rpifs "$IMG" "$MNT"
	echo 'pi:raspberry' >"$MNT/userconf"
	# A file put in root/ before the boot is the guest's to read.
	echo 'from the host' >"$MNT/root/etc/rpifs-note"
	touch "$MNT/run"
	# --wait on a guest already booting waits for its prompt.
	"$RPIFS" run "$MNT" --wait --timeout 120
	grep -q 'login:' "$MNT/console"
	[[ "$(cat "$MNT/run")" == "running pid "*" since "* ]]
	# The image was not a power of two: grown, and said so.
	[ "$(stat -c %s "$IMG")" -eq $((256 * 1024 * 1024)) ]
	grep -q '^\[rpifs\] grew the image from 165 MiB to 256 MiB' "$MNT/console"
	grep -q '^boot adjustment: grew the image' "$MNT/status"
	grep -q '^boot adjustment: dtb: disabled (the serial console needs ttyAMA0) /soc/serial@7e201000/bluetooth' "$MNT/status"
	grep -q '^qemu argv: .*-machine raspi4b .*-append .console=ttyAMA0,115200 root=PARTUUID=5eedc0de-02' "$MNT/status"
	run console_session "$MNT" pi raspberry "echo 'Hello world!' > hello.txt" 'cat hello.txt' 'cat /etc/rpifs-note'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Hello world!"* ]]
	[[ "$output" == *"from the host"* ]]
	"$CHAT" "$(status_of "$MNT" 'console socket')" 10 'send:poweroff-request\n'
	wait_stopped "$MNT"
	[ "$(cat "$MNT/run")" = "stopped: exit status 0" ]
	# What the guest wrote shows in root/, the guest's pi's.
	[ "$(cat "$MNT/root/home/pi/hello.txt")" = "Hello world!" ]
	[ "$(stat -c %u:%g "$MNT/root/home/pi/hello.txt")" = 1000:1000 ]
	grep -q '^root/: partition 2, ext4 rootfs, read-write$' "$MNT/status"
	# The guest's first boot consumed userconf.txt; boot/ was read again.
	[ ! -e "$B/userconf.txt" ]
	[ -z "$(cat "$MNT/userconf")" ]

	run "$RPIFS" run "$MNT" --wait --timeout 120
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == "login prompt after "* ]]
	run console_session "$MNT" pi raspberry 'cat hello.txt' 'echo second > second.txt'
	[ "$status" -eq 0 ]
	[[ "$output" == *"Hello world!"* ]]
	# Stopped from outside, the orderly way: the guest's init shuts down.
	"$RPIFS" stop "$MNT"
	[ "$(cat "$MNT/run")" = "stopped: exit status 0" ]
	grep -q '^last stop: orderly' "$MNT/status"
	[ "$(cat "$MNT/root/home/pi/second.txt")" = second ]
	umount_rpifs "$MNT"
	fsck_boot "$IMG"
	root_clean "$IMG"
}

@test "while the guest runs: boot/ and control files are read-only, run takes stop, locks hold" {
	boot_fixture
	mount_rpifs "$IMG" "$MNT"
	"$RPIFS" run "$MNT" --wait --timeout 120
	# Shown without write bits, so that editors say "read-only" first.
	for f in "$B" "$B/config.txt" "$MNT/cmdline" "$MNT/userconf" "$MNT/root/etc/hostname"; do
		[[ "$(stat -c %A "$f")" != *w* ]] || { echo "$f: $(stat -c %A "$f")"; false; }
	done
	run touch "$B/new"
	[[ "$output" == *"Read-only file system"* ]]
	run bash -c "echo x > '$MNT/cmdline'"
	[ "$status" -ne 0 ]
	grep -q '^last message: the guest is running: boot/ and the control files are read-only' "$MNT/status"
	cat "$B/config.txt" >/dev/null
	# root/ is the guest's now: read-only, still readable.
	run touch "$MNT/root/etc/new"
	[[ "$output" == *"Read-only file system"* ]]
	grep -q "^root:x:0:0:" "$MNT/root/etc/passwd"
	grep -q '^root/: partition 2, ext4 rootfs, read-only: while the guest runs' "$MNT/status"
	# A second mount, and a QEMU started by hand, are refused.
	mkdir -p "$BATS_TEST_TMPDIR/again"
	run "$RPIFS" mount "$IMG" "$BATS_TEST_TMPDIR/again"
	[ "$status" -eq 1 ]
	[[ "$output" == *"already mounted at $MNT"* ]]
	run timeout 20 qemu-system-aarch64 -machine raspi4b -display none -monitor none \
		-drive "file=$IMG,format=raw,if=sd" -kernel /dev/null
	[ "$status" -ne 0 ]
	[[ "$output" == *"Failed to get"*"lock"* ]]
	# Two viewers on the console at once, both see the guest.
	"$CHAT" "$(status_of "$MNT" 'console socket')" 30 'expect:login:' >"$BATS_TEST_TMPDIR/v1" &
	"$CHAT" "$(status_of "$MNT" 'console socket')" 30 'expect:login:' >"$BATS_TEST_TMPDIR/v2" &
	sleep 0.5
	"$CHAT" "$(status_of "$MNT" 'console socket')" 30 'send:\n' 'expect:login:'
	wait
	grep -q login: "$BATS_TEST_TMPDIR/v1"
	grep -q login: "$BATS_TEST_TMPDIR/v2"
	echo stop >"$MNT/run"
	wait_stopped "$MNT" 120
	# Idle again: writable (write bits back), and QEMU by hand still refused.
	[[ "$(stat -c %A "$B/config.txt")" == *w* ]]
	[[ "$(stat -c %A "$MNT/cmdline")" == *w* ]]
	touch "$B/after"
	run timeout 20 qemu-system-aarch64 -machine raspi4b -display none -monitor none \
		-drive "file=$IMG,format=raw,if=sd" -kernel /dev/null
	[[ "$output" == *"Failed to get"*"lock"* ]]
	umount_rpifs "$MNT"
	fsck_boot "$IMG" --after-power-cut
}

@test "raspi3b boots (the upstream dtb name as fallback)" {
	boot_fixture
	mount_rpifs "$IMG" "$MNT" -o machine=raspi3b
	run "$RPIFS" run "$MNT" --wait --timeout 120
	echo "$output"
	[ "$status" -eq 0 ]
	grep -qx 'machine: raspi3b' "$MNT/status"
	grep -q '^qemu argv: .*-machine raspi3b' "$MNT/status"
	grep -q 'dtb-qemu' <<<"$(status_of "$MNT" 'qemu argv')"
	cmp "$(status_of "$MNT" 'run folder')/dtb" "$B/bcm2837-rpi-3-b.dtb"
	"$RPIFS" stop "$MNT"
	umount_rpifs "$MNT"
	fsck_boot "$IMG" --after-power-cut
}

@test "stop during boot, and unmount with a running guest, leave no QEMU and clean partitions" {
	boot_fixture
	# Early in the boot the keyboard is not there yet: the key is lost,
	# SysRq comes after the (here short) bound.
	mount_rpifs "$IMG" "$MNT" -o stop_timeout=5
	touch "$MNT/run"
	sleep 1
	echo stop >"$MNT/run"
	wait_stopped "$MNT" 60
	not pgrep -f "file=$IMG,format=raw" >/dev/null
	touch "$MNT/run"
	sleep 2
	pgrep -f "file=$IMG,format=raw" >/dev/null
	"$RPIFS" umount "$MNT"
	not mountpoint -q "$MNT"
	not pgrep -f "file=$IMG,format=raw" >/dev/null
	fsck_boot "$IMG" --after-power-cut
}

@test "run --wait on a kernel that panics fails with the panic lines" {
	boot_fixture
	mount_rpifs "$IMG" "$MNT"
	# An init that exits at once: the kernel panics (killed init).
	sed -i 's/$/ rdinit=\/bin\/false/' "$MNT/cmdline"
	run "$RPIFS" run "$MNT" --wait --timeout 120
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"panicked"* ]]
	[[ "$output" == *"Kernel panic - not syncing"* ]]
	"$RPIFS" stop "$MNT"
	umount_rpifs "$MNT"
}

@test "QEMU exiting at once: run --wait fails and shows what QEMU said" {
	boot_fixture
	local fake=$BATS_TEST_TMPDIR/fake-qemu
	cat >"$fake" <<'SH'
#!/bin/sh
case "$1" in
-version) echo "QEMU emulator version 10.0.0"; exit 0 ;;
-machine) printf 'raspi3b              Raspberry Pi 3B\nraspi4b              Raspberry Pi 4B\n'; exit 0 ;;
esac
echo "qemu-system-aarch64: fake: cannot do that" >&2
exit 1
SH
	chmod +x "$fake"
	RPIFS_QEMU=$fake mount_rpifs "$IMG" "$MNT"
	run "$RPIFS" run "$MNT" --wait --timeout 60
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"QEMU ended before a login prompt (stopped: exit status 1)"* ]]
	[[ "$output" == *"fake: cannot do that"* ]]
	umount_rpifs "$MNT"
}

@test "QEMU missing: one line saying what to install" {
	boot_fixture
	mkdir -p "$MNT"
	env PATH=/nonexistent "$RPIFS" mount "$IMG" "$MNT"
	run "$RPIFS" run "$MNT"
	echo "$output"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"qemu-system-aarch64 is not installed: install QEMU 9 or newer"* ]]
	run touch "$MNT/run"
	[ "$status" -ne 0 ]
	umount_rpifs "$MNT"
}

@test "-o ssh=PORT: 127.0.0.1:PORT reaches the guest's port 22 over usb-net" {
	boot_fixture
	local port=$((20000 + RANDOM % 20000))
	mount_rpifs "$IMG" "$MNT" -o "ssh=$port"
	grep -qx "ssh port: 127.0.0.1:$port -> guest port 22 (usb-net)" "$MNT/status"
	"$RPIFS" run "$MNT" --wait --timeout 120
	grep -q "hostfwd=tcp:127.0.0.1:$port-:22" <<<"$(status_of "$MNT" 'qemu argv')"
	for _ in $(seq 600); do grep -q 'fixture: network up' "$MNT/console" && break; sleep 0.1; done
	grep -q 'fixture: network up' "$MNT/console"
	local banner=""
	for _ in $(seq 20); do
		if exec 8<>"/dev/tcp/127.0.0.1/$port"; then
			read -r -t 5 banner <&8 || true
			exec 8<&-
		fi
		[[ "$banner" == SSH-2.0-rpifs-fixture* ]] && break
		sleep 0.5
	done
	[[ "$banner" == SSH-2.0-rpifs-fixture* ]]
	"$RPIFS" stop "$MNT"
	umount_rpifs "$MNT"
}

@test "rpifs resize --grow-root after a killed QEMU: info says so, the journal is replayed, the booted guest's df shows the space" {
	boot_fixture
	# A guest whose power is cut while its root is mounted read-write:
	# its ext4 is left needing journal recovery. (root=off: with root/
	# on, rpifs replays the journal itself when it takes root/ back.)
	mount_rpifs "$IMG" "$MNT" -o root=off
	echo 'pi:raspberry' >"$MNT/userconf"
	"$RPIFS" run "$MNT" --wait --timeout 120
	"$RPIFS" stop --force "$MNT"
	umount_rpifs "$MNT"
	run "$RPIFS" info "$IMG"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"needs journal recovery (a guest lost power)"* ]]

	run "$RPIFS" resize "$IMG" 512M --grow-root
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"replayed the journal of partition 2"* ]]
	mount_rpifs "$IMG" "$MNT"
	# Again: the first boot's user may not have reached the journal.
	echo 'pi:raspberry' >"$MNT/userconf"
	"$RPIFS" run "$MNT" --wait --timeout 120
	# A power of two already: the launcher did not grow it again.
	[ "$(stat -c %s "$IMG")" -eq $((512 << 20)) ]
	not grep -q 'grew the image' "$MNT/console"
	run console_session "$MNT" pi raspberry "df -k / | awk 'NR == 2 { print \"root-kib=\" \$2 }'"
	echo "$output"
	[ "$status" -eq 0 ]
	local kib
	kib=$(sed -n 's/^root-kib=\([0-9]*\).*/\1/p' <<<"$output" | tail -n 1)
	echo "guest root: $kib KiB"
	# Partition 2 starts at 68 MiB: about 444 MiB of ext4 (less its
	# metadata), where the fixture had 96 MiB.
	[ "${kib:-0}" -gt $((400 * 1024)) ]
	[ "$kib" -le $((444 * 1024)) ]
	"$RPIFS" stop "$MNT"
	umount_rpifs "$MNT"
	e2fsck_root "$IMG"
}

@test "-o snapshot and a read-only mount boot throwaway: the image's bytes stay as they were" {
	boot_fixture
	local sum
	mount_rpifs "$IMG" "$MNT"
	echo 'pi:raspberry' >"$MNT/userconf"
	umount_rpifs "$MNT"
	sum=$(sha256sum <"$IMG")
	mount_rpifs "$IMG" "$MNT" -o snapshot
	grep -q '^image: .*-o snapshot: boots discard the guest.s writes' "$MNT/status"
	"$RPIFS" run "$MNT" --wait --timeout 180
	# Not a power of two: an overlay of the card's size, not a grown image.
	grep -q "^boot adjustment: the guest's writes go to .*/overlay.qcow2, deleted when it stops" "$MNT/status"
	local overlay
	overlay=$(sed -n "s/^boot adjustment: the guest's writes go to \(.*\), deleted when it stops$/\1/p" "$MNT/status")
	[ -f "$overlay" ]
	run console_session "$MNT" pi raspberry 'echo gone > gone.txt' 'sync'
	[ "$status" -eq 0 ]
	"$RPIFS" stop "$MNT"
	[ ! -e "$overlay" ]
	[ ! -e "$MNT/root/home/pi/gone.txt" ]
	umount_rpifs "$MNT"
	[ "$(sha256sum <"$IMG")" = "$sum" ]

	# Read-only: the same, and nothing of the host's either.
	mount_rpifs "$IMG" "$MNT" -o ro
	run touch "$B/x"
	[[ "$output" == *"Read-only file system"* ]]
	touch "$MNT/run"
	"$RPIFS" run "$MNT" --wait --timeout 180
	run console_session "$MNT" pi raspberry 'echo gone > gone.txt' 'sync'
	[ "$status" -eq 0 ]
	"$RPIFS" stop "$MNT"
	umount_rpifs "$MNT"
	[ "$(sha256sum <"$IMG")" = "$sum" ]
}
