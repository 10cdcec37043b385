#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# root/: the image's root file system through real FUSE, checked against
# e2fsprogs (debugfs reads the same tree back, e2fsck -fn must be silent
# after every clean unmount): every kind of node as the guest sees it, on
# ext4, ext3, ext2 and ext4 with inline data; changes made with real tools;
# the permission model (the image's owner acts as the guest's root); a
# root that needs journal recovery; a killed daemon; random operation
# sequences against a model; concurrent writers; damaged file systems.

load helpers

setup() {
	require_fuse
	R=
}

teardown() {
	cleanup_mounts
	if [ -n "${USERDIR:-}" ]; then
		umount -l "$USERDIR/m" 2>/dev/null || true
		rm -rf "$USERDIR"
	fi
	if [ -n "${FUSE_MODE_WAS:-}" ]; then
		chmod "$FUSE_MODE_WAS" /dev/fuse
	fi
}

# A directory other users can reach (bats's own are the test user's).
user_dir() {
	USERDIR=$(mktemp -d /tmp/rpifs-user.XXXXXX)
	chmod 755 "$USERDIR"
}

# The root partition of IMAGE as debugfs and e2fsck take it in place.
root_dev() {
	echo "$1?offset=$(img_part_offset "$1" 2)"
}

# e2fsck -fn on IMAGE's root: it must find nothing at all.
e2fsck_quiet() {
	run e2fsck -fn "$(root_dev "$1")"
	echo "$output"
	[ "$status" -eq 0 ] || return 1
	not grep -vE '^(e2fsck [0-9]|Pass [1-5][A-E]?:|[^ ]+: [0-9]+/[0-9]+ files)' <<<"$output"
}

# A fresh copy of fixture NAME mounted; R is its root/.
fresh_root() {
	fresh "$@"
	R=$MNT/root
}

tree_of_mount() {
	python3 "$BATS_TEST_DIRNAME/lib/ext4tree.py" mount "$1"
}

tree_of_image() {
	python3 "$BATS_TEST_DIRNAME/lib/ext4tree.py" debugfs "$(root_dev "$1")"
}

@test "root/ shows each kind of root file system as debugfs reads it, and reading writes nothing" {
	local k sum type
	for k in root4:ext4 root3:ext3 root2:ext2 rootin:ext4; do
		type=${k#*:}
		k=${k%:*}
		echo "# $k"
		fresh_root "$k"
		sum=$(sha256sum <"$IMG")
		[ -d "$R/etc" ]
		tree_of_mount "$R" >"$BATS_TEST_TMPDIR/mount.txt"
		tree_of_image "$IMG" >"$BATS_TEST_TMPDIR/image.txt"
		diff "$BATS_TEST_TMPDIR/image.txt" "$BATS_TEST_TMPDIR/mount.txt"
		grep -q '^/dev/null c 0666 0 0 1 0 1:3$' "$BATS_TEST_TMPDIR/mount.txt"
		grep -q '^/usr/bin/sh f 0755 0 0 2 200000 ' "$BATS_TEST_TMPDIR/mount.txt"
		grep -q '^/home/pi d 0755 1000 1000 ' "$BATS_TEST_TMPDIR/mount.txt"
		grep -q '^/tmp d 1777 ' "$BATS_TEST_TMPDIR/mount.txt"
		grep -q '^/usr/bin/su f 4755 ' "$BATS_TEST_TMPDIR/mount.txt"
		[ "$(stat -c %F "$R/run/initctl")" = fifo ]
		[ "$(readlink "$R/sbin")" = usr/bin ]
		grep -q "^root/: partition 2, $type rootfs, read-write$" "$MNT/status"
		umount_rpifs "$MNT"
		[ "$(sha256sum <"$IMG")" = "$sum" ]
	done
}

@test "nanosecond times, statfs, sparse files and extended attributes, as stored" {
	fresh_root root4
	touch -d '2024-01-02 03:04:05.123456789 UTC' "$R/etc/hostname"
	[ "$(stat -c %y "$R/etc/hostname")" = "2024-01-02 03:04:05.123456789 +0000" ]
	# The sparse file: its holes read as zeros and take no blocks.
	[ "$(stat -c %s "$R/usr/lib/sparse.img")" -eq $((1281 * 4096)) ]
	[ "$(stat -c %b "$R/usr/lib/sparse.img")" -le 32 ]
	cmp <(head -c 4096 /dev/zero) <(dd if="$R/usr/lib/sparse.img" bs=4096 skip=1 count=1 status=none)
	[ "$(getfattr --only-values -n user.origin "$R/home/pi/.bashrc")" = rpifs-test ]
	[ "$(getfattr --only-values -n trusted.origin "$R/usr/bin/busybox")" = root-only ]
	setfattr -n user.new -v hello "$R/etc/passwd"
	setfacl -m u:1000:r "$R/etc/shadow"
	getfacl -n "$R/etc/shadow" | grep -qx 'user:1000:r--'
	setfattr -x user.origin "$R/home/pi/.bashrc"
	run getfattr -n user.origin "$R/home/pi/.bashrc"
	[ "$status" -ne 0 ]
	# statfs: the root file system's own figures.
	local blocks free
	blocks=$(dumpe2fs -h "$(root_dev "$IMG")" 2>/dev/null | sed -n 's/^Block count: *//p')
	free=$(dumpe2fs -h "$(root_dev "$IMG")" 2>/dev/null | sed -n 's/^Free blocks: *//p')
	[ "$(stat -f -c %S "$R")" -eq 4096 ]
	[ "$(stat -f -c %b "$R")" -le "$blocks" ]
	[ "$(stat -f -c %f "$R")" -ge $((free - 64)) ]
	umount_rpifs "$MNT"
	e2fsck_quiet "$IMG"
	debugfs -R 'ea_list /etc/passwd' "$(root_dev "$IMG")" 2>/dev/null | grep -q 'user.new (5) = "hello"'
	debugfs -R 'ea_list /etc/shadow' "$(root_dev "$IMG")" 2>/dev/null | grep -q 'system.posix_acl_access'
	debugfs -R 'stat /etc/hostname' "$(root_dev "$IMG")" 2>/dev/null |
		grep -q 'mtime: 0x65937d25:1d6f3454'
}

@test "changes made with real tools: debugfs reads them back, e2fsck -fn is silent" {
	fresh_root root4
	echo hello >"$R/root/new.txt"
	dd if=/dev/urandom of="$R/usr/lib/big.bin" bs=64k count=20 seek=50 conv=notrunc status=none
	printf 'more\n' >>"$R/etc/hostname"
	truncate -s 100000 "$R/var/log/syslog"
	truncate -s 10 "$R/usr/lib/exact4k.bin"
	rm "$R/usr/lib/empty"
	mkdir -p "$R/srv/a/b/c"
	rmdir "$R/srv/a/b/c"
	echo over >"$R/srv/a/over"
	mv "$R/srv/a/over" "$R/etc/passwd"
	mv "$R/srv/a" "$R/var/moved"
	python3 - "$R" <<'PY'
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
r = sys.argv[1]
def renameat2(a, b, flags):
    if libc.renameat2(-100, a.encode(), -100, b.encode(), flags) != 0:
        return ctypes.get_errno()
    return 0
# RENAME_NOREPLACE over an existing name: EEXIST, nothing changes.
assert renameat2(r + "/etc/hostname", r + "/etc/passwd", 1) == errno.EEXIST
# RENAME_EXCHANGE of a file and a directory.
assert renameat2(r + "/etc/os-release", r + "/var/log", 2) == 0
import socket
s = socket.socket(socket.AF_UNIX)
s.bind(r + "/run/sock")
s.close()
PY
	[ -d "$R/etc/os-release" ] && [ -f "$R/var/log" ]
	ln -s ../etc/hostname "$R/root/link"
	ln "$R/root/new.txt" "$R/root/hard"
	mknod "$R/dev/wide" c 300 70000
	mkfifo "$R/run/fifo2"
	chmod 4750 "$R/root/new.txt"
	chown 1000:1000 "$R/root/hard"
	touch -d '@1600000000.5' "$R/root/link" 2>/dev/null || touch -h -d '@1600000000.5' "$R/root/link"
	fallocate -l 1M "$R/root/alloc"
	touch "$R/root/alloc-keep"
	fallocate -n -l 2M "$R/root/alloc-keep"
	[ "$(stat -c %s "$R/root/alloc")" -eq 1048576 ]
	[ "$(stat -c %s "$R/root/alloc-keep")" -eq 0 ]
	cmp <(head -c 1048576 /dev/zero) "$R/root/alloc"
	[ "$(stat -c %h "$R/root/new.txt")" -eq 2 ]
	[ "$(stat -c '%t:%T' "$R/dev/wide")" = "12c:11170" ]
	[ "$(stat -c %F "$R/run/sock")" = socket ]
	sync
	tree_of_mount "$R" >"$BATS_TEST_TMPDIR/mount.txt"
	umount_rpifs "$MNT"
	e2fsck_quiet "$IMG"
	tree_of_image "$IMG" >"$BATS_TEST_TMPDIR/image.txt"
	diff "$BATS_TEST_TMPDIR/mount.txt" "$BATS_TEST_TMPDIR/image.txt"
}

@test "the image's owner acts as the guest's root; new files belong to their directory's owner" {
	local key=$BATS_TEST_TMPDIR/key.pub
	fresh_root root4
	printf 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake rpifs-test\n' >"$key"
	chmod 600 "$key"
	# The ssh key job: pi's, 0600, in a .ssh that is pi's too.
	install -D -m 600 "$key" "$R/home/pi/.ssh/authorized_keys"
	[ "$(stat -c '%u:%g %a' "$R/home/pi/.ssh/authorized_keys")" = "1000:1000 600" ]
	[ "$(stat -c '%u:%g' "$R/home/pi/.ssh")" = "1000:1000" ]
	cp "$key" "$R/home/pi/copied"
	[ "$(stat -c '%u:%g %a' "$R/home/pi/copied")" = "1000:1000 600" ]
	# Root's files stay root's; chown and setuid work for the image's owner.
	echo mypi >"$R/etc/hostname"
	touch "$R/etc/systemd/system/rpifs-test.service"
	[ "$(stat -c '%u:%g' "$R/etc/systemd/system/rpifs-test.service")" = "0:0" ]
	chown 1000:1000 "$R/etc/hostname"
	[ "$(stat -c '%u:%g' "$R/etc/hostname")" = "1000:1000" ]
	chown 0:0 "$R/etc/hostname"
	# Nobody else gets in without allow_other, not even the host's root.
	run setpriv --reuid=65534 --regid=65534 --clear-groups ls "$MNT"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Permission denied"* ]]
	umount_rpifs "$MNT"
	e2fsck_quiet "$IMG"
	debugfs -R 'cat /home/pi/.ssh/authorized_keys' "$(root_dev "$IMG")" 2>/dev/null | cmp - "$key"
}

@test "ACLs as ext4 keeps them: sed -i keeps the mode, setfacl sets it, chmod rewrites the mask, defaults are inherited" {
	fresh_root root4
	sed -i 's/raspberrypi/sedded/' "$R/etc/hostname"
	[ "$(stat -c %a "$R/etc/hostname")" = 644 ]
	[ -z "$(getfattr -m - -d "$R/etc/hostname" 2>/dev/null)" ]
	setfacl -m u:1000:rw "$R/etc/passwd"
	[ "$(stat -c %a "$R/etc/passwd")" = 664 ]
	chmod 600 "$R/etc/passwd"
	getfacl -n "$R/etc/passwd" 2>/dev/null | grep -qx 'mask::---'
	mkdir "$R/shared"
	setfacl -d -m u:1000:rwx "$R/shared"
	touch "$R/shared/f"
	mkdir "$R/shared/sub"
	getfacl -n "$R/shared/f" 2>/dev/null | grep -q '^user:1000:rwx'
	getfacl -n "$R/shared/sub" 2>/dev/null | grep -q '^default:user:1000:rwx'
	(umask 077 && touch "$R/masked")
	[ "$(stat -c %a "$R/masked")" = 600 ]
	umount_rpifs "$MNT"
	e2fsck_quiet "$IMG"
}

@test "with allow_other, other users are checked against the guest's owners and modes" {
	user_dir
	IMG=$USERDIR/r.img
	MNT=$USERDIR/m
	R=$MNT/root
	copy_fixture root4.img "$IMG"
	mount_rpifs "$IMG" "$MNT" -o allow_other
	as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
	as_nobody cat "$R/etc/hostname" >/dev/null
	run as_nobody cat "$R/etc/shadow"
	[ "$status" -ne 0 ] && [[ "$output" == *"Permission denied"* ]]
	run as_nobody sh -c "echo x > '$R/etc/hostname'"
	[ "$status" -ne 0 ] && [[ "$output" == *"Permission denied"* ]]
	run as_nobody chown 65534 "$R/etc/hostname"
	[ "$status" -ne 0 ]
	run as_nobody ls "$R/root"
	[ "$status" -ne 0 ]
	# /tmp is 1777: anyone creates, only the owner removes.
	as_nobody touch "$R/tmp/nobodys"
	[ "$(stat -c %u "$R/tmp/nobodys")" = 65534 ]
	run setpriv --reuid=1001 --regid=1001 --clear-groups rm -f "$R/tmp/nobodys"
	[ "$status" -ne 0 ] && [[ "$output" == *"Operation not permitted"* ]]
	as_nobody rm "$R/tmp/nobodys"
	umount_rpifs "$MNT"
	e2fsck_quiet "$IMG"
}

@test "a user who is not root mounts an image they own and acts as its root" {
	[ "$(id -u)" = 0 ] || skip "needs root to make a second user's copy and mount"
	if ! setpriv --reuid=65534 --regid=65534 --clear-groups test -r /dev/fuse -a -w /dev/fuse; then
		# Debian's fuse3 udev rule makes it 0666; some containers keep 0600.
		FUSE_MODE_WAS=$(stat -c %a /dev/fuse)
		chmod 0666 /dev/fuse
	fi
	local d
	user_dir
	d=$USERDIR
	mkdir -p "$d/m" "$d/home"
	copy_fixture root4.img "$d/r.img"
	chown -R 65534:65534 "$d"
	as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$d/home" "$@"; }
	as_user "$RPIFS" mount "$d/r.img" "$d/m"
	as_user sh -c "echo theirs > '$d/m/root/etc/hostname'"
	as_user touch "$d/m/root/etc/made-by-user"
	[ "$(as_user stat -c '%u:%g' "$d/m/root/etc/made-by-user")" = "0:0" ]
	as_user chown 1000:1000 "$d/m/root/etc/made-by-user"
	as_user head -c 1 "$d/m/root/etc/shadow" >/dev/null
	run ls "$d/m"
	[ "$status" -ne 0 ]
	as_user "$RPIFS" umount "$d/m"
	debugfs -R 'cat /etc/hostname' "$(root_dev "$d/r.img")" 2>/dev/null | grep -qx theirs
	e2fsck_quiet "$d/r.img"
}

# Put a transaction in IMAGE's journal that rewrites /etc/hostname's block
# with "journaled", and leave it unreplayed (needs_recovery), as a power
# cut would.
journal_hostname() {
	local image=$1 dev blk block
	dev=$(root_dev "$image")
	blk=$(debugfs -R 'bmap /etc/hostname 0' "$dev" 2>/dev/null)
	block=$BATS_TEST_TMPDIR/block
	{ printf 'journaled\n'; head -c 4086 /dev/zero; } >"$block"
	printf 'jo\njw -b %s %s\njc\n' "$blk" "$block" | debugfs -w -f - "$dev" >/dev/null 2>&1
	dumpe2fs -h "$dev" 2>/dev/null | grep -q 'needs_recovery'
}

@test "a root that needs journal recovery: read-only shows it unreplayed and says so; read-write replays it first" {
	local sum
	IMG=$BATS_TEST_TMPDIR/j.img
	MNT=$BATS_TEST_TMPDIR/j
	copy_fixture root4.img "$IMG"
	journal_hostname "$IMG"
	sum=$(sha256sum <"$IMG")
	mount_rpifs "$IMG" "$MNT" -o ro
	[ "$(cat "$MNT/root/etc/hostname")" = raspberrypi ]
	grep -q "^root/: partition 2, ext4 rootfs, read-only: its journal was not replayed" "$MNT/status"
	umount_rpifs "$MNT"
	[ "$(sha256sum <"$IMG")" = "$sum" ]
	run "$RPIFS" info "$IMG"
	[[ "$output" == *"needs journal recovery"* ]]
	mount_rpifs "$IMG" "$MNT"
	[ "$(head -c 10 "$MNT/root/etc/hostname")" = journaled ]
	grep -q '^root/: partition 2, ext4 rootfs, read-write$' "$MNT/status"
	echo after >"$MNT/root/after-replay"
	umount_rpifs "$MNT"
	dumpe2fs -h "$(root_dev "$IMG")" 2>/dev/null | not grep -q needs_recovery
	e2fsck_quiet "$IMG"
}

@test "a killed daemon leaves a root marked not clean, repaired by e2fsck -p; fsynced files are whole" {
	local STORM=$BATS_TEST_DIRNAME/../${BUILD:-build}/tests/storm
	local log=$BATS_TEST_TMPDIR/storm.log daemon storm seed report
	for seed in 1 2 3; do
		IMG=$BATS_TEST_TMPDIR/k.img
		MNT=$BATS_TEST_TMPDIR/k
		copy_fixture root4.img "$IMG"
		rm -f "$log"
		mkdir -p "$MNT"
		"$RPIFS" mount -f "$IMG" "$MNT" 2>/dev/null &
		daemon=$!
		for _ in $(seq 100); do mountpoint -q "$MNT" && break; sleep 0.05; done
		mkdir "$MNT/root/storm"
		"$STORM" "$MNT/root/storm" "$log" "$seed" 2>/dev/null &
		storm=$!
		sleep "0.$((seed * 3))"
		kill -9 "$daemon"
		wait "$storm" 2>/dev/null || true
		wait "$daemon" 2>/dev/null || true
		umount -l "$MNT" 2>/dev/null || fusermount3 -u -z "$MNT" 2>/dev/null || true
		dumpe2fs -h "$(root_dev "$IMG")" 2>/dev/null | grep -q '^Filesystem state: *not clean'
		report=$(e2fsck -fn "$(root_dev "$IMG")" 2>&1 || true)
		echo "# seed $seed: $(grep -cE 'differences|count wrong|Unattached|zero dtime|was not cleanly' <<<"$report") leftover lines"
		# What a crash without a journal may leave: bitmaps and counts
		# behind, an inode without a name; never two owners of a block.
		not grep -qiE 'multiply-claimed|duplicate|bad block|illegal|invalid' <<<"$report"
		run e2fsck -fy "$(root_dev "$IMG")"
		[ "$status" -le 1 ]
		e2fsck_quiet "$IMG"
		while read -r path size cseed; do
			debugfs -R "cat /storm/$path" "$(root_dev "$IMG")" 2>/dev/null |
				cmp - <("$STORM" --gen "$cseed" "$size")
		done <"$log"
		echo "# $(wc -l <"$log") fsynced files whole"
	done
}

@test "vim, sed -i, cp -a, rsync -a, tar with owners, ln -s, mkfifo in root/" {
	local src=$BATS_TEST_TMPDIR/src
	fresh_root root4
	vim -u NONE -n -es -c '%s/raspberrypi/vimmed/' -c 'wq' "$R/etc/hostname"
	[ "$(cat "$R/etc/hostname")" = vimmed ]
	sed -i 's/vimmed/sedded/' "$R/etc/hostname"
	[ "$(cat "$R/etc/hostname")" = sedded ]
	[ "$(stat -c '%u:%g %a' "$R/etc/hostname")" = "0:0 644" ]
	cp -a "$R/usr/lib" "$R/srv-copy"
	diff -r --no-dereference "$R/usr/lib" "$R/srv-copy"
	mkdir -p "$src/opt/app"
	printf 'data\n' >"$src/opt/app/file"
	chmod 0640 "$src/opt/app/file"
	rsync -a "$src/opt/" "$R/opt/"
	cmp "$src/opt/app/file" "$R/opt/app/file"
	[ "$(stat -c %a "$R/opt/app/file")" = 640 ]
	tar -C "$src" --owner=1000 --group=1000 -cf "$BATS_TEST_TMPDIR/a.tar" opt
	tar -C "$R/home/pi" --same-owner -xf "$BATS_TEST_TMPDIR/a.tar"
	[ "$(stat -c '%u:%g' "$R/home/pi/opt/app/file")" = "1000:1000" ]
	ln -s /usr/lib/big.bin "$R/usr/bin/biglink"
	mkfifo "$R/run/another"
	tree_of_mount "$R" >"$BATS_TEST_TMPDIR/mount.txt"
	umount_rpifs "$MNT"
	e2fsck_quiet "$IMG"
	tree_of_image "$IMG" | diff "$BATS_TEST_TMPDIR/mount.txt" -
}

@test "random POSIX operation sequences against a model: 4 x 20000 on ext4, 5000 each on ext3, ext2, inline data" {
	local POSIXSEQ=$BATS_TEST_DIRNAME/../${BUILD:-build}/tests/posixseq
	local run=0 k seed count
	for k in root4:1 root4:2 root4:3 root4:4 root3:5 root2:6 rootin:7; do
		seed=${k#*:}
		k=${k%:*}
		count=$([ "$k" = root4 ] && echo 20000 || echo 5000)
		# The model is the host's own file system: its new files are
		# their maker's.
		fresh_root "$k" -o new_owner=caller
		mkdir "$R/work"
		rm -rf "$BATS_TEST_TMPDIR/model"
		mkdir -p "$BATS_TEST_TMPDIR/model"
		"$POSIXSEQ" "$seed" "$count" "$R/work" "$BATS_TEST_TMPDIR/model"
		umount_rpifs "$MNT"
		e2fsck_quiet "$IMG"
		run=$((run + count))
	done
	echo "# $run operations"
}

@test "concurrent writers under root/: every file whole, e2fsck -fn silent" {
	fresh_root root4
	local w
	for w in 1 2 3 4; do
		(
			mkdir "$R/srv$w"
			for i in $(seq 1 60); do
				head -c $((i * 997)) /dev/urandom >"$R/srv$w/f$i.tmp"
				cp "$R/srv$w/f$i.tmp" "$R/srv$w/f$i.copy"
				mv "$R/srv$w/f$i.tmp" "$R/srv$w/f$i"
				[ $((i % 3)) -eq 0 ] && rm "$R/srv$w/f$((i - 1))"
			done
		) &
	done
	wait
	for w in 1 2 3 4; do
		for i in $(seq 1 60); do
			if [ -e "$R/srv$w/f$i" ]; then
				cmp "$R/srv$w/f$i" "$R/srv$w/f$i.copy"
			fi
		done
	done
	tree_of_mount "$R" >"$BATS_TEST_TMPDIR/mount.txt"
	umount_rpifs "$MNT"
	e2fsck_quiet "$IMG"
	tree_of_image "$IMG" | diff "$BATS_TEST_TMPDIR/mount.txt" -
}

@test "-o root=ro, root=off and -o ro: what is shown, and nothing written" {
	local sum
	fresh_root root4 -o root=ro
	sum=$(sha256sum <"$IMG")
	run touch "$R/etc/x"
	[[ "$output" == *"Read-only file system"* ]]
	grep -q '^root/: partition 2, ext4 rootfs, read-only$' "$MNT/status"
	touch "$B/boot-is-writable"
	umount_rpifs "$MNT"
	mount_rpifs "$IMG" "$MNT" -o root=off
	[ ! -e "$MNT/root" ]
	grep -q '^root/: off' "$MNT/status"
	umount_rpifs "$MNT"
	sum=$(sha256sum <"$IMG")
	mount_rpifs "$IMG" "$MNT" -o ro
	run touch "$MNT/root/etc/x"
	[ "$status" -ne 0 ]
	umount_rpifs "$MNT"
	[ "$(sha256sum <"$IMG")" = "$sum" ]
	run "$RPIFS" mount -o root=maybe "$IMG" "$MNT"
	[ "$status" -eq 2 ]
	[[ "$output" == *"root=rw, root=ro or root=off"* ]]
}

# damage_root NAME WHAT: a copy of root4 with its root damaged as WHAT says.
damage_root() {
	IMG=$BATS_TEST_TMPDIR/$1.img
	MNT=$BATS_TEST_TMPDIR/$1
	R=$MNT/root
	B=$MNT/boot
	copy_fixture root4.img "$IMG"
	local dev off blk
	dev=$(root_dev "$IMG")
	off=$(img_part_offset "$IMG" 2)
	case $2 in
	magic) printf '\0\0' | dd of="$IMG" bs=1 seek=$((off + 1024 + 56)) conv=notrunc status=none ;;
	extent) debugfs -w -R 'sif /usr/lib/big.bin block[0] 0x12345678' "$dev" >/dev/null 2>&1 ;;
	dirblock)
		blk=$(debugfs -R 'bmap /usr/share/many 0' "$dev" 2>/dev/null)
		dd if=/dev/urandom of="$IMG" bs=4096 seek=$(((off / 4096) + blk)) count=1 conv=notrunc status=none
		;;
	inode) debugfs -w -R 'sif /etc/passwd checksum 0x1234' "$dev" >/dev/null 2>&1 ;;
	loop) debugfs -w -R 'link /usr /usr/lib/loop' "$dev" >/dev/null 2>&1 ;;
	esac
	SUM=$(sha256sum <"$IMG")
	mount_rpifs "$IMG" "$MNT"
}

@test "damaged root file systems: not shown, or EUCLEAN for what is damaged, never a hang; the image unchanged" {
	damage_root magic magic
	[ ! -e "$R" ]
	grep -q '^root/: none: partition 2 is not shown: no file system found on it' "$MNT/status"
	ls "$B" >/dev/null
	umount_rpifs "$MNT"
	[ "$(sha256sum <"$IMG")" = "$SUM" ]

	damage_root extent extent
	run cat "$R/usr/lib/big.bin"
	[ "$status" -ne 0 ] && [[ "$output" == *"Structure needs cleaning"* ]]
	cat "$R/etc/hostname" >/dev/null
	run touch "$R/etc/after-damage"
	[[ "$output" == *"Read-only file system"* ]]
	umount_rpifs "$MNT"
	[ "$(sha256sum <"$IMG")" = "$SUM" ]

	damage_root dirblock dirblock
	run ls "$R/usr/share/many"
	[ "$status" -ne 0 ]
	timeout 60 find "$R" >/dev/null 2>&1 || [ $? -ne 124 ]
	umount_rpifs "$MNT"
	[ "$(sha256sum <"$IMG")" = "$SUM" ]

	damage_root inode inode
	run stat "$R/etc/passwd"
	[ "$status" -ne 0 ] && [[ "$output" == *"Structure needs cleaning"* ]]
	umount_rpifs "$MNT"
	[ "$(sha256sum <"$IMG")" = "$SUM" ]

	damage_root loop loop
	run timeout 60 find "$R"
	[ "$status" -ne 124 ]
	umount_rpifs "$MNT"
	[ "$(sha256sum <"$IMG")" = "$SUM" ]
}
