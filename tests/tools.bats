#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Everyday tools on boot/: cp, mv, rm -r, mkdir -p, touch, sed -i, vim
# (renaming and copying backups), echo >>, dd conv=notrunc, truncate,
# tar x, rsync. Each ends with fsck.fat -n clean and mtools agreeing.

load helpers

setup() {
	require_fuse
	SRC=$BATS_TEST_TMPDIR/src
	mkdir -p "$SRC/sub/deeper"
	for i in $(seq 1 40); do
		head -c $((i * 997)) /dev/urandom >"$SRC/file-$i.bin"
	done
	echo "nested" >"$SRC/sub/deeper/note.txt"
	echo "top" >"$SRC/Top Level.TXT"
}

@test "cp -r, cp -p, mv, rm -r, mkdir -p, touch" {
	fresh fat32-512
	cp -r "$SRC" "$B/copy"
	diff -r "$SRC" "$B/copy"
	cp -p "$SRC/file-3.bin" "$B/p.bin"
	[ "$(stat -c %Y "$B/p.bin")" -eq "$(( $(stat -c %Y "$SRC/file-3.bin") / 2 * 2 ))" ]
	mkdir -p "$B/x/y/z"
	touch "$B/x/y/z/new" "$B/x/y/z/new2"
	mv "$B/copy/sub" "$B/x/moved"
	[ -f "$B/x/moved/deeper/note.txt" ]
	mv "$B/x/y/z/new" "$B/copy/"
	rm -r "$B/copy"
	[ ! -e "$B/copy" ]
	cp -r "$B/overlays" "$B/overlays.bak"
	diff -r "$B/overlays" "$B/overlays.bak"
	finish
}

@test "sed -i (temporary file renamed over the original)" {
	fresh fat32-512
	sed -i 's/dtparam=audio=on/dtparam=audio=off/' "$B/config.txt"
	grep -qx 'dtparam=audio=off' "$B/config.txt"
	sed -i -e '$a enable_uart=1' "$B/config.txt"
	[ "$(tail -n 1 "$B/config.txt")" = enable_uart=1 ]
	[ "$(ls -a "$B" | grep -c '^sed')" -eq 0 ]
	finish
}

# backupskip= : vim skips backups under /tmp by default, where tests run.
vim_edit() {
	local mode=$1 file=$2
	vim -u NONE -N -es -c "set backup writebackup backupcopy=$mode backupskip=" \
		-c '%s/rootwait/rootwait quiet/' -c 'wq' "$file"
}

@test "vim with renaming backups (backupcopy=no) and copied ones (yes)" {
	vim --version 2>/dev/null | grep -q '+writebackup' ||
		skip "no full vim (package vim) on this machine"
	fresh fat16
	vim_edit no "$B/cmdline.txt"
	grep -q 'rootwait quiet' "$B/cmdline.txt"
	[ -f "$B/cmdline.txt~" ]
	vim_edit yes "$B/cmdline.txt"
	grep -q 'rootwait quiet quiet' "$B/cmdline.txt"
	rm "$B/cmdline.txt~"
	vim_edit auto "$B/cmdline.txt"
	grep -q 'rootwait quiet quiet quiet' "$B/cmdline.txt"
	[ ! -e "$B/.cmdline.txt.swp" ] && [ ! -e "$B/4913" ]
	finish
}

@test "echo >>, dd conv=notrunc, truncate" {
	fresh fat12
	echo one >"$B/log.txt"
	for i in $(seq 2 100); do echo "line $i" >>"$B/log.txt"; done
	[ "$(wc -l <"$B/log.txt")" -eq 100 ]
	dd if=/dev/zero of="$B/log.txt" bs=1 seek=5 count=3 conv=notrunc status=none
	[ "$(wc -c <"$B/log.txt")" -eq "$(wc -c <"$B/log.txt")" ]
	truncate -s 50 "$B/log.txt"
	truncate -s +10 "$B/log.txt"
	[ "$(stat -c %s "$B/log.txt")" -eq 60 ]
	finish
}

@test "tar x (without owners, as on vfat) and tar c of boot/" {
	fresh fat32-512
	tar -C "$SRC" -cf "$BATS_TEST_TMPDIR/a.tar" .
	mkdir "$B/untar"
	tar -C "$B/untar" --no-same-owner --no-same-permissions -xf "$BATS_TEST_TMPDIR/a.tar"
	diff -r "$SRC" "$B/untar"
	tar -C "$B" -cf "$BATS_TEST_TMPDIR/b.tar" overlays
	[ "$(tar -tf "$BATS_TEST_TMPDIR/b.tar" | wc -l)" -eq 32 ]
	finish
}

@test "plain tar x works with -o quiet" {
	fresh fat16 -o quiet
	tar -C "$SRC" -cf "$BATS_TEST_TMPDIR/a.tar" .
	mkdir "$B/untar"
	tar -C "$B/untar" -xf "$BATS_TEST_TMPDIR/a.tar"
	diff -r "$SRC" "$B/untar"
	finish
}

@test "rsync (temporary files renamed into place), twice" {
	command -v rsync >/dev/null || skip "no rsync on this machine"
	fresh fat32-512
	rsync -rt "$SRC/" "$B/synced/"
	diff -r "$SRC" "$B/synced"
	echo changed >"$SRC/file-7.bin"
	rm "$SRC/file-8.bin"
	rsync -rt --delete "$SRC/" "$B/synced/"
	diff -r "$SRC" "$B/synced"
	rsync -a "$SRC/" "$B/synced-a/"
	diff -r "$SRC" "$B/synced-a"
	finish
}

@test "parallel writers on different files, and readers of the same file" {
	fresh fat32-512
	for i in $(seq 1 8); do
		(for j in $(seq 1 20); do head -c $((j * 1000 + i)) /dev/urandom >"$B/p$i-$j"; done) &
	done
	for i in 1 2 3 4; do (for j in $(seq 1 20); do cat "$B/kernel8.img" >/dev/null; done) & done
	wait
	[ "$(ls "$B" | grep -c '^p')" -eq 160 ]
	[ "$(stat -c %s "$B/p3-20")" -eq 20003 ]
	finish
}
