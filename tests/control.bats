#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The control files through a real mount: userconf (hashed, verified with
# openssl), cmdline, kernel, dtb, status; every refusal; editors and tools
# (echo, cat, cp, tee, truncate, sed -i, vim); config.txt choosing other
# files; temporary files in the root; a cloud-init image. Each test ends
# with fsck.fat -n clean.

load helpers

setup() {
	require_fuse
	fresh fat32-512
	D=$MNT
}

hash_of() {
	cut -d: -f2- "$1" | tr -d '\n'
}

# The stored hash is crypt's SHA-512 of PASSWORD: recomputed by openssl.
verify_hash() {
	local hash=$1 password=$2 salt
	salt=$(cut -d'$' -f3 <<<"$hash")
	[ "$(openssl passwd -6 -salt "$salt" "$password")" = "$hash" ]
}

@test "the root lists boot/, root/ and the control files, with their modes" {
	run ls "$D"
	[ "$output" = "$(printf 'boot\ncmdline\nconsole\ndtb\nkernel\nroot\nrun\nstatus\nuserconf')" ]
	[ "$(stat -c %a "$D/userconf")" = 600 ]
	[ "$(stat -c %a "$D/status")" = 444 ]
	[ "$(stat -c %a "$D/cmdline")" = 644 ]
	finish
}

@test "userconf: user:password is stored hashed (SHA-512, fresh salt), read shows the stored line" {
	echo 'pi:raspberry' >"$D/userconf"
	run cat "$D/userconf"
	[[ "$output" == 'pi:$6$'* ]]
	[ "$output" = "$(cat "$B/userconf.txt")" ]
	verify_hash "$(hash_of "$B/userconf.txt")" raspberry
	first=$(hash_of "$B/userconf.txt")
	echo 'pi:raspberry' >"$D/userconf"
	[ "$(hash_of "$B/userconf.txt")" != "$first" ]
	finish
}

@test "userconf: the password never reaches the image or the log" {
	local secret=Sup3r-S3cret-xyzzy-42 stored
	umount_rpifs "$MNT"
	"$RPIFS" mount -f "$IMG" "$MNT" 2>"$BATS_TEST_TMPDIR/daemon.log" &
	for _ in $(seq 50); do mountpoint -q "$MNT" && break; sleep 0.1; done
	echo "pi:$secret" >"$D/userconf"
	stored=$(cat "$D/userconf")
	# Refused at the write (no colon), and nothing changed.
	run bash -c "printf 'pi\n' >'$D/userconf'"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Invalid argument"* ]]
	[ "$(cat "$D/userconf")" = "$stored" ]
	sed -i "s/^.*\$/pi:$secret/" "$D/userconf"
	umount_rpifs "$MNT"
	wait
	not grep -qa "$secret" "$IMG"
	not grep -qa "$secret" "$BATS_TEST_TMPDIR/daemon.log"
	mount_rpifs "$IMG" "$MNT"
	verify_hash "$(hash_of "$B/userconf.txt")" "$secret"
	finish
}

@test "userconf: each bad input is refused (EINVAL), says why, changes nothing" {
	echo 'pi:raspberry' >"$D/userconf"
	local before
	before=$(cat "$B/userconf.txt")
	for bad in 'no-colon' ':password' 'pi:' 'Pi:pw' '1pi:pw' 'pi x:pw' \
		'averyveryveryverylongusername1234:pw' 'pi:$9$unknown' 'pi:$1$legacy$x'; do
		run bash -c "echo '$bad' > '$D/userconf'"
		[ "$status" -ne 0 ]
		[[ "$output" == *"Invalid argument"* ]]
		[ "$(cat "$B/userconf.txt")" = "$before" ]
	done
	run bash -c "printf 'pi:pw\nother:pw\n' > '$D/userconf'"
	[ "$status" -ne 0 ]
	# The reason shows in status.
	grep -q '^last message: userconf: .*write user:password' "$D/status"
	# Without a final newline the check comes at close: cp reports it.
	printf 'nocolon' >"$BATS_TEST_TMPDIR/u"
	run cp "$BATS_TEST_TMPDIR/u" "$D/userconf"
	[[ "$output" == *"Invalid argument"* ]]
	[ "$(cat "$B/userconf.txt")" = "$before" ]
	finish
}

@test "userconf: a refused write changes nothing and fails at the write: 100 kB, a 512-byte password" {
	echo 'pi:raspberry' >"$D/userconf"
	local before
	before=$(cat "$B/userconf.txt")
	run bash -c "head -c 100000 /dev/zero | tr '\\0' a >'$D/userconf'"
	[ "$status" -ne 0 ]
	[ "$(cat "$B/userconf.txt")" = "$before" ]
	# The shell's own echo sees the refusal (at the write, not at close).
	run bash -c "echo 'pi:$(head -c 512 /dev/zero | tr '\0' b)' >'$D/userconf'"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"write error: Invalid argument"* ]]
	[ "$(cat "$B/userconf.txt")" = "$before" ]
	finish
}

@test "status: an old failure's message goes once a later write succeeds; an empty cmdline is warned of" {
	run bash -c "echo nocolon >'$D/userconf'"
	[ "$status" -ne 0 ]
	grep -q '^last message: userconf: ' "$D/status"
	echo 'pi:raspberry' >"$D/userconf"
	not grep -q '^last message: ' "$D/status"
	: >"$D/cmdline"
	grep -qx "cmdline warning: the command line has no root=: the guest's kernel will not find its root file system" "$D/status"
	finish
}

@test "a file of boot/ never leaves the image for the mount's in-memory root: mv is refused, the file stays" {
	echo keep >"$B/keep.txt"
	run mv "$B/keep.txt" "$D/"
	[ "$status" -ne 0 ]
	[ "$(cat "$B/keep.txt")" = keep ]
	[ ! -e "$D/keep.txt" ]
	finish
}

@test "userconf: a line that is already a hash (\$6\$, \$5\$, \$y\$) is stored as is" {
	local h6 h5 hy
	h6=$(openssl passwd -6 -salt abcdefgh pw)
	h5=$(openssl passwd -5 -salt abcdefgh pw)
	hy='$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7'
	for h in "$h6" "$h5" "$hy"; do
		echo "pi:$h" >"$D/userconf"
		[ "$(cat "$B/userconf.txt")" = "pi:$h" ]
	done
	finish
}

@test "userconf: writing nothing, truncate or rm removes userconf.txt" {
	echo 'pi:raspberry' >"$D/userconf"
	: >"$D/userconf"
	[ ! -e "$B/userconf.txt" ]
	[ -z "$(cat "$D/userconf")" ]
	echo 'pi:raspberry' >"$D/userconf"
	truncate -s 0 "$D/userconf"
	[ ! -e "$B/userconf.txt" ]
	echo 'pi:raspberry' >"$D/userconf"
	rm "$D/userconf"
	[ ! -e "$B/userconf.txt" ]
	[ -e "$D/userconf" ]
	finish
}

@test "userconf on a cloud-init image: the user goes into user-data too, valid YAML" {
	printf '#cloud-config\nhostname: raspberrypi\nusers:\n- default\n' >"$B/user-data"
	echo 'pi:raspberry' >"$D/userconf"
	grep -q '^- name: pi$' "$B/user-data"
	grep -q '^  lock_passwd: false$' "$B/user-data"
	verify_hash "$(sed -n 's/^  passwd: //p' "$B/user-data")" raspberry
	if python3 -c 'import yaml' 2>/dev/null; then
		python3 -c '
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
u = [x for x in d["users"] if isinstance(x, dict)][0]
assert u["name"] == "pi" and u["lock_passwd"] is False and "sudo" in u["groups"]
assert d["users"][-1] == "default"' "$B/user-data"
	fi
	# A truncation alone commits at the last close, the release, which
	# FUSE sends after close(2) returns: give it a moment.
	: >"$D/userconf"
	local want i
	want=$(printf '#cloud-config\nhostname: raspberrypi\nusers:\n- default')
	for i in $(seq 50); do
		[ "$(cat "$B/user-data")" = "$want" ] && break
		sleep 0.1
	done
	[ "$(cat "$B/user-data")" = "$want" ]
	finish
}

@test "cmdline: reads and writes the command line file; one line, at most 2047 bytes" {
	[ "$(cat "$D/cmdline")" = "$(cat "$B/cmdline.txt")" ]
	echo 'console=serial0,115200 root=/dev/mmcblk0p2 rootwait' >"$D/cmdline"
	[ "$(cat "$B/cmdline.txt")" = 'console=serial0,115200 root=/dev/mmcblk0p2 rootwait' ]
	printf 'no newline' >"$D/cmdline"
	[ "$(cat "$B/cmdline.txt")" = 'no newline' ]
	[ "$(tail -c 1 "$B/cmdline.txt" | od -An -c | tr -d ' ')" = '\n' ]
	run bash -c "printf 'one\ntwo\n' > '$D/cmdline'"
	[ "$status" -ne 0 ]
	head -c 2048 /dev/zero | tr '\0' x >"$BATS_TEST_TMPDIR/long"
	run cp "$BATS_TEST_TMPDIR/long" "$D/cmdline"
	[ "$status" -ne 0 ]
	head -c 2047 /dev/zero | tr '\0' y >"$BATS_TEST_TMPDIR/ok"
	cp "$BATS_TEST_TMPDIR/ok" "$D/cmdline"
	[ "$(wc -c <"$B/cmdline.txt")" -eq 2048 ]
	finish
}

@test "cmdline with sed -i, vim (both backup modes), tee, truncate, echo >>" {
	vim --version 2>/dev/null | grep -q '+writebackup' || skip "no full vim (package vim)"
	sed -i 's/rootwait/rootwait quiet/' "$D/cmdline"
	grep -q 'rootwait quiet$' "$B/cmdline.txt"
	vim -u NONE -N -es -c 'set backup writebackup backupcopy=no backupskip=' \
		-c '%s/quiet/splash/' -c wq "$D/cmdline"
	grep -q 'rootwait splash$' "$B/cmdline.txt"
	[ -f "$D/cmdline~" ] && [ ! -e "$B/cmdline.txt~" ]
	vim -u NONE -N -es -c 'set backup writebackup backupcopy=yes backupskip=' \
		-c '%s/splash/loglevel=3/' -c wq "$D/cmdline"
	grep -q 'rootwait loglevel=3$' "$B/cmdline.txt"
	echo 'a b c' | tee "$D/cmdline" >/dev/null
	[ "$(cat "$B/cmdline.txt")" = 'a b c' ]
	truncate -s 3 "$D/cmdline"
	[ "$(cat "$B/cmdline.txt")" = 'a b' ]
	# Appending after the final newline makes a second line, which the
	# firmware would ignore: refused, as the classic mistake it is.
	run bash -c "echo quiet >> '$D/cmdline'"
	[ "$status" -ne 0 ]
	[ "$(cat "$B/cmdline.txt")" = 'a b' ]
	# No editor leftovers on the boot partition.
	[ -z "$(ls -a "$B" | grep -E '^(\.|sed|4913)' | grep -vxE '\.|\.\.')" ]
	finish
}

@test "a reader sees the value as it was when it opened the file" {
	exec 9<"$D/cmdline"
	echo 'changed' >"$D/cmdline"
	[ "$(cat <&9)" != changed ]
	exec 9<&-
	[ "$(cat "$D/cmdline")" = changed ]
	finish
}

@test "kernel and dtb: the selected files' bytes; cp replaces them; bad dtb refused" {
	cmp "$D/kernel" "$B/kernel8.img"
	cmp "$D/dtb" "$B/bcm2711-rpi-4-b.dtb"
	head -c 3000000 /dev/urandom >"$BATS_TEST_TMPDIR/k"
	cp "$BATS_TEST_TMPDIR/k" "$D/kernel"
	cmp "$BATS_TEST_TMPDIR/k" "$B/kernel8.img"
	cmp "$BATS_TEST_TMPDIR/k" "$D/kernel"
	printf '/dts-v1/; / { model = "x"; };' | dtc -q -I dts -O dtb -o "$BATS_TEST_TMPDIR/x.dtb" 2>/dev/null ||
		skip "dtc (device-tree-compiler) is needed for a valid dtb"
	cp "$BATS_TEST_TMPDIR/x.dtb" "$D/dtb"
	cmp "$BATS_TEST_TMPDIR/x.dtb" "$B/bcm2711-rpi-4-b.dtb"
	head -c 1000 /dev/urandom >"$BATS_TEST_TMPDIR/bad"
	run cp "$BATS_TEST_TMPDIR/bad" "$D/dtb"
	[ "$status" -ne 0 ]
	cmp "$BATS_TEST_TMPDIR/x.dtb" "$B/bcm2711-rpi-4-b.dtb"
	run bash -c ": > '$D/kernel'"
	cmp "$BATS_TEST_TMPDIR/k" "$B/kernel8.img"
	finish
}

@test "config.txt selects other kernel, dtb, cmdline and initramfs files" {
	mkdir -p "$B/alt"
	echo other-kernel >"$B/alt/Image"
	echo other-dtb >"$B/alt/board.dtb"
	echo 'other cmdline' >"$B/other-cmdline.txt"
	echo initrd >"$B/initrd.img"
	cat >>"$B/config.txt" <<'EOF'
[pi4]
kernel=alt/Image
device_tree=alt/board.dtb
cmdline=other-cmdline.txt
initramfs initrd.img followkernel
[pi3]
kernel=never.img
[all]
EOF
	[ "$(cat "$D/kernel")" = other-kernel ]
	[ "$(cat "$D/dtb")" = other-dtb ]
	[ "$(cat "$D/cmdline")" = 'other cmdline' ]
	grep -qx 'kernel: alt/Image (13 B)' "$D/status"
	grep -qx 'initramfs: initrd.img (7 B)' "$D/status"
	grep -qx 'cmdline file: other-cmdline.txt' "$D/status"
	echo 'changed cmdline' >"$D/cmdline"
	[ "$(cat "$B/other-cmdline.txt")" = 'changed cmdline' ]
	# A selected file that is missing: ENOENT and the reason.
	rm "$B/alt/Image"
	run cat "$D/kernel"
	[ "$status" -ne 0 ]
	[[ "$output" == *"No such file"* ]]
	grep -q '^last message: kernel: config.txt selects alt/Image, which is not on the boot partition' "$D/status"
	grep -qx 'kernel: alt/Image (missing)' "$D/status"
	finish
}

@test "auto_initramfs=1 picks initramfs8 beside kernel8.img; os_prefix moves everything" {
	grep -qx 'initramfs: none' "$D/status"
	echo ramdisk >"$B/initramfs8"
	grep -qx 'initramfs: initramfs8 (8 B), by auto_initramfs=1' "$D/status"
	mkdir "$B/v2"
	cp "$B/kernel8.img" "$B/bcm2711-rpi-4-b.dtb" "$B/v2/"
	echo 'v2 line' >"$B/v2/cmdline.txt"
	echo 'os_prefix=v2/' >>"$B/config.txt"
	[ "$(cat "$D/cmdline")" = 'v2 line' ]
	grep -qx 'os_prefix: v2/' "$D/status"
	rm "$B/v2/bcm2711-rpi-4-b.dtb"
	grep -q '^os_prefix: ignored' "$D/status"
	finish
}

@test "status: one key: value per line, with the command line the next boot uses" {
	echo 'pi:raspberry' >"$D/userconf"
	run cat "$D/status"
	[ "$status" -eq 0 ]
	not grep -vE '^[a-z0-9 ._/-]+: ' <<<"$output"
	for key in machine state image 'boot partition' 'root partition' kernel dtb initramfs cmdline user ssh; do
		grep -q "^$key: " <<<"$output"
	done
	grep -qx 'machine: raspi4b' <<<"$output"
	grep -qx 'state: stopped' <<<"$output"
	grep -qx 'cmdline: console=ttyAMA0,115200 root=PARTUUID=5eedc0de-02 rootfstype=ext4 fsck.repair=yes rootwait usbcore.autosuspend=-1 systemd.watchdog_device=/dev/rpifs-none' <<<"$output"
	grep -q '^adjustment: console=serial0,115200 console=tty1 -> console=ttyAMA0,115200' <<<"$output"
	# This image's root has no first-boot service: status says so.
	grep -qx 'user: pi (userconf.txt; not applied: this OS has no first-boot service that reads it, neither userconf-pi nor cloud-init)' <<<"$output"
	run bash -c "echo x > '$D/status'"
	[ "$status" -ne 0 ]
	finish
}

@test "status: who applies userconf.txt and boot/ssh, read from root/: Raspberry Pi OS's services, cloud-init, or nobody" {
	echo 'pi:raspberry' >"$D/userconf"
	touch "$B/ssh"
	grep -qx 'ssh: boot/ssh is there, but not applied: this OS has no sshswitch (raspberrypi-sys-mods)' "$D/status"
	mkdir -p "$D/root/usr/bin" "$D/root/usr/lib/raspberrypi-sys-mods"
	touch "$D/root/usr/bin/cloud-init"
	grep -qx 'user: pi (userconf.txt; created at the next boot by /usr/bin/cloud-init)' "$D/status"
	mkdir -p "$D/root/usr/lib/userconf-pi"
	touch "$D/root/usr/lib/userconf-pi/userconf-service"
	grep -qx 'user: pi (userconf.txt; created at the next boot by /usr/lib/userconf-pi/userconf-service)' "$D/status"
	touch "$D/root/usr/lib/raspberrypi-sys-mods/sshswitch"
	grep -qx 'ssh: enabled (boot/ssh; /usr/lib/raspberrypi-sys-mods/sshswitch turns sshd on at the next boot)' "$D/status"
	# Without root/, rpifs cannot tell, and says so.
	umount_rpifs "$MNT"
	mount_rpifs "$IMG" "$MNT" -o root=off
	grep -qx "user: pi (userconf.txt; created at the next first boot, if the OS has Raspberry Pi OS's userconf-pi or cloud-init: root/ not read)" "$D/status"
	grep -qx 'ssh: enabled (boot/ssh; root/ not read)' "$D/status"
	finish
}

@test "machine=raspi3b: the dtb is bcm2710-rpi-3-b.dtb" {
	umount_rpifs "$MNT"
	mount_rpifs "$IMG" "$MNT" -o machine=raspi3b
	cmp "$D/dtb" "$B/bcm2710-rpi-3-b.dtb"
	grep -qx 'machine: raspi3b' "$D/status"
	finish
}

@test "temporary files in the root live in memory and vanish at unmount" {
	echo scratch >"$D/notes.txt"
	[ "$(cat "$D/notes.txt")" = scratch ]
	mv "$D/notes.txt" "$D/notes2.txt"
	cp "$D/notes2.txt" "$D/copy.txt"
	ls "$D" | grep -qx copy.txt
	[ ! -e "$B/notes2.txt" ] && [ ! -e "$B/copy.txt" ]
	rm "$D/copy.txt"
	run mkdir "$D/dir"
	[ "$status" -ne 0 ]
	# Renamed over a control file, a temporary file commits.
	echo 'from temp' >"$D/new"
	mv "$D/new" "$D/cmdline"
	[ "$(cat "$B/cmdline.txt")" = 'from temp' ]
	echo 'bad' >"$D/new-user"
	run mv "$D/new-user" "$D/userconf"
	[ "$status" -ne 0 ]
	[ -e "$D/new-user" ]
	# Across boot/ and the root, mv copies.
	mv "$D/notes2.txt" "$B/moved.txt"
	[ "$(cat "$B/moved.txt")" = scratch ]
	umount_rpifs "$MNT"
	mount_rpifs "$IMG" "$MNT"
	[ ! -e "$D/new-user" ]
	finish
}
