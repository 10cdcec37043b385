#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Where Linux users put mounts: mount(8) with -t fuse.rpifs and /etc/fstab
# lines, through scripts/mount.fuse.rpifs and umount.fuse.rpifs (installed
# in /sbin, the one place mount(8) looks, for the test and removed after),
# as root and as a user with "user,noauto".

load helpers

HELPER=/sbin/mount.fuse.rpifs
UHELPER=/sbin/umount.fuse.rpifs
MARK="# rpifs-test-$$"

# Wait (at most 10 s) until no process has FILE open: a root's umount(8)
# returns before the daemon has let go (it asks statfs, sees "fuse", and
# looks for no helper); the daemon then clears the dirty flag and exits.
wait_released() {
	local i
	for i in $(seq 100); do
		if ! ls -l /proc/[0-9]*/fd 2>/dev/null | grep -qF -- "-> $1"; then
			return 0
		fi
		sleep 0.1
	done
	echo "# $1 still open 10 s after the unmount"
	return 1
}

setup() {
	require_fuse
	[ "$(id -u)" = 0 ] || skip "needs root to install a mount helper in /sbin"
	command -v mount >/dev/null || skip "no mount(8)"
	T=$BATS_TEST_TMPDIR
	[ -e "$HELPER" ] && cp -p "$HELPER" "$T/helper.was"
	[ -e "$UHELPER" ] && cp -p "$UHELPER" "$T/uhelper.was"
	sed "s|@RPIFS@|$RPIFS|" "$BATS_TEST_DIRNAME/../scripts/mount.fuse.rpifs" >"$HELPER"
	sed "s|@RPIFS@|$RPIFS|" "$BATS_TEST_DIRNAME/../scripts/umount.fuse.rpifs" >"$UHELPER"
	chmod 0755 "$HELPER" "$UHELPER"
	IMG=$T/pi.img
	MNT=$T/pi
	copy_fixture fat32-512.img "$IMG"
	mkdir -p "$MNT"
}

teardown() {
	cleanup_mounts
	[ -n "${USERDIR:-}" ] && cleanup_mounts "$USERDIR" && rm -rf "$USERDIR"
	if [ -f "$T/helper.was" ]; then
		cp -p "$T/helper.was" "$HELPER"
	else
		rm -f "$HELPER"
	fi
	if [ -f "$T/uhelper.was" ]; then
		cp -p "$T/uhelper.was" "$UHELPER"
	else
		rm -f "$UHELPER"
	fi
	if [ -n "${FSTAB_TOUCHED:-}" ]; then
		sed -i "\\|$MARK\$|d" /etc/fstab
	fi
	if [ -n "${FUSE_MODE_WAS:-}" ]; then
		chmod "$FUSE_MODE_WAS" /dev/fuse
	fi
}

@test "mount -t fuse.rpifs IMAGE DIR -o OPTIONS mounts as rpifs mount does; umount(8) unmounts cleanly" {
	mount -t fuse.rpifs -o ssh=auto,machine=raspi3b,noatime "$IMG" "$MNT"
	grep -q " $MNT fuse.rpifs .*noatime" /proc/mounts
	grep -qx 'machine: raspi3b' "$MNT/status"
	grep -q '^ssh port: auto' "$MNT/status"
	echo 'from mount(8)' >"$MNT/boot/fstab.txt"
	umount "$MNT"
	not mountpoint -q "$MNT"
	wait_released "$IMG"
	fsck_boot "$IMG"
	part_file "$IMG" 1 "$T/p1"
	[ "$(mtype -i "$T/p1" ::/fstab.txt)" = 'from mount(8)' ]
}

@test "mount.fuse.rpifs: mount(8)'s own options are taken out; a bad rpifs option is rpifs's one-line error" {
	# What mount(8) passes from a line with defaults, nofail and x- options.
	"$HELPER" "$IMG" "$MNT" -o rw,defaults,nofail,x-systemd.automount,noauto,_netdev,ro -n
	grep -q '^state: stopped' "$MNT/status"
	run touch "$MNT/boot/x"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Read-only file system"* ]]
	"$RPIFS" umount "$MNT"
	run "$HELPER" "$IMG" "$MNT" -o bogus
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *bogus* ]]
	run "$HELPER" "$IMG"
	[ "$status" -ne 0 ]
	[[ "$output" == *"usage: mount.fuse.rpifs IMAGE DIR"* ]]
}

@test "an fstab line: mount DIR, as root (mount -T) and as a user with user,noauto in /etc/fstab" {
	printf '%s %s fuse.rpifs defaults,noauto,uid=1000 0 0\n' "$IMG" "$MNT" >"$T/fstab"
	mount -T "$T/fstab" "$MNT"
	[ "$(stat -c %u "$MNT/boot")" -eq 1000 ]
	umount "$MNT"
	wait_released "$IMG"
	fsck_boot "$IMG"

	if ! setpriv --reuid=65534 --regid=65534 --clear-groups test -r /dev/fuse -a -w /dev/fuse; then
		# Debian's fuse3 udev rule makes it 0666; some containers keep 0600.
		FUSE_MODE_WAS=$(stat -c %a /dev/fuse)
		chmod 0666 /dev/fuse
	fi
	USERDIR=$(mktemp -d /tmp/rpifs-user.XXXXXX)
	chmod 755 "$USERDIR"
	mkdir -p "$USERDIR/m" "$USERDIR/home"
	copy_fixture fat32-512.img "$USERDIR/u.img"
	chown -R 65534:65534 "$USERDIR"
	FSTAB_TOUCHED=1
	printf '%s %s fuse.rpifs user,noauto,ssh=auto 0 0 %s\n' "$USERDIR/u.img" "$USERDIR/m" "$MARK" >>/etc/fstab
	as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$USERDIR/home" "$@"; }
	as_user mount "$USERDIR/m"
	grep -q " $USERDIR/m fuse.rpifs .*user_id=65534" /proc/mounts
	as_user sh -c "echo mine > '$USERDIR/m/boot/user.txt'"
	as_user grep -q '^ssh port: auto' "$USERDIR/m/status"
	# A user's umount(8) finds the type in the mount table and runs
	# umount.fuse.rpifs: rpifs umount, which returns once the daemon has
	# let go of the image.
	as_user umount "$USERDIR/m"
	not mountpoint -q "$USERDIR/m"
	not pgrep -f "rpifs mount .*$USERDIR/u.img"
	fsck_boot "$USERDIR/u.img"
	part_file "$USERDIR/u.img" 1 "$T/u.p1"
	[ "$(mtype -i "$T/u.p1" ::/user.txt)" = mine ]
}
