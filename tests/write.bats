#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The FAT write path through a real FUSE mount: every operation and its
# errors, on FAT12, FAT16 and FAT32. Each run ends with finish: unmount,
# fsck.fat -n clean, and mtools reading back what the mount showed.

load helpers

setup() {
	require_fuse
}

t_create_write_read() {
	echo hello >"$B/new.txt"
	echo world >>"$B/new.txt"
	[ "$(cat "$B/new.txt")" = "$(printf 'hello\nworld')" ]
	# Overwrite in the middle without truncating.
	printf 'J' | dd of="$B/new.txt" bs=1 seek=6 conv=notrunc status=none
	[ "$(cat "$B/new.txt")" = "$(printf 'hello\nJorld')" ]
	# Past the end: the gap reads as zeros.
	printf 'END' | dd of="$B/gap.bin" bs=1 seek=100000 conv=notrunc status=none
	[ "$(stat -c %s "$B/gap.bin")" -eq 100003 ]
	cmp -n 100000 "$B/gap.bin" /dev/zero
	[ "$(tail -c 3 "$B/gap.bin")" = END ]
	# A gap inside an existing file's last cluster is zeroed too.
	head -c 5000 /dev/urandom >"$B/reuse.bin"
	truncate -s 10 "$B/reuse.bin"
	printf 'Z' | dd of="$B/reuse.bin" bs=1 seek=7000 conv=notrunc status=none
	cmp -i 10:10 -n 6990 "$B/reuse.bin" /dev/zero
	# O_TRUNC empties a file.
	echo short >"$B/new.txt"
	[ "$(cat "$B/new.txt")" = short ]
	# Large writes across many clusters.
	head -c 3000000 /dev/urandom >"$BATS_TEST_TMPDIR/big"
	cp "$BATS_TEST_TMPDIR/big" "$B/big.bin"
	cmp "$BATS_TEST_TMPDIR/big" "$B/big.bin"
}

@test "create, write at any offset, append, overwrite, O_TRUNC" {
	for_each_fat t_create_write_read
}

# A write-only open writes past the page cache (see cache_mode in
# fs/ops.c); what was read through the cache before is not kept stale.
t_write_only_coherent() {
	local r=$BATS_TEST_TMPDIR/wo.ref
	head -c 300000 /dev/urandom >"$r"
	cp "$r" "$B/wo.bin"
	exec 8<"$B/wo.bin"
	cmp "$r" "$B/wo.bin"
	# In the middle and across the end, and a read-write open's write.
	printf 'XY' | dd of="$B/wo.bin" bs=1 seek=5000 conv=notrunc status=none
	printf 'XY' | dd of="$r" bs=1 seek=5000 conv=notrunc status=none
	head -c 9000 /dev/urandom >"$BATS_TEST_TMPDIR/tail"
	dd if="$BATS_TEST_TMPDIR/tail" of="$B/wo.bin" bs=4096 seek=295000 oflag=seek_bytes \
		conv=notrunc status=none
	dd if="$BATS_TEST_TMPDIR/tail" of="$r" bs=4096 seek=295000 oflag=seek_bytes \
		conv=notrunc status=none
	cmp "$r" "$B/wo.bin"
	cmp "$r" /dev/fd/8
	printf 'RW' 1<>"$B/wo.bin"
	printf 'RW' 1<>"$r"
	cmp "$r" "$B/wo.bin"
	exec 8<&-
	[ "$(stat -c %s "$B/wo.bin")" -eq 304000 ]
	# Opened while a write-only open lasts: past the cache too, so not
	# to be mapped shared (rpifs(1)); opened after it, mapped as usual.
	python3 - "$B/wo.bin" <<'EOF'
import errno, mmap, os, sys
p = sys.argv[1]
w = os.open(p, os.O_WRONLY)
r = os.open(p, os.O_RDONLY)
os.pwrite(w, b"W" * 10, 0)
assert os.pread(r, 10, 0) == b"W" * 10
try:
    mmap.mmap(r, 4096, mmap.MAP_SHARED, mmap.PROT_READ)
    raise SystemExit("mapped shared while the writer is open")
except OSError as e:
    assert e.errno == errno.ENODEV, e
os.close(w)
r2 = os.open(p, os.O_RDONLY)
assert mmap.mmap(r2, 4096, mmap.MAP_SHARED, mmap.PROT_READ)[:10] == b"W" * 10
EOF
	printf 'W%.0s' $(seq 10) | dd of="$r" bs=10 conv=notrunc status=none
	cmp "$r" "$B/wo.bin"
}

@test "a write-only open's writes: readers of bytes cached before, and opens made meanwhile (past the cache: not mapped shared), see them" {
	for_each_fat t_write_only_coherent
}

t_truncate() {
	head -c 20000 /dev/urandom >"$B/t.bin"
	cp "$B/t.bin" "$BATS_TEST_TMPDIR/t.orig"
	truncate -s 30000 "$B/t.bin"
	[ "$(stat -c %s "$B/t.bin")" -eq 30000 ]
	cmp -n 20000 "$B/t.bin" "$BATS_TEST_TMPDIR/t.orig"
	cmp -i 20000:0 -n 10000 "$B/t.bin" /dev/zero
	truncate -s 777 "$B/t.bin"
	[ "$(stat -c %s "$B/t.bin")" -eq 777 ]
	cmp -n 777 "$B/t.bin" "$BATS_TEST_TMPDIR/t.orig"
	truncate -s 0 "$B/t.bin"
	[ "$(stat -c %s "$B/t.bin")" -eq 0 ]
	truncate -s 5000 "$B/t.bin"
	cmp -n 5000 "$B/t.bin" /dev/zero
	# Through an open descriptor (ftruncate).
	head -c 9000 /dev/urandom >"$B/f.bin"
	exec 9<>"$B/f.bin"
	truncate -s 4000 /proc/self/fd/9
	exec 9>&-
	[ "$(stat -c %s "$B/f.bin")" -eq 4000 ]
	run truncate -s 4G "$B/f.bin"
	[ "$status" -ne 0 ]
	[[ "$output" == *"File too large"* ]]
}

@test "truncate and ftruncate, growing (zeros) and shrinking; 4 GiB is too large" {
	for_each_fat t_truncate
}

t_unlink_open() {
	local free_before free_open free_after
	free_before=$(df -B1 --output=avail "$MNT" | tail -n 1)
	head -c 500000 /dev/urandom >"$B/open.bin"
	exec 9<>"$B/open.bin"
	rm "$B/open.bin"
	[ ! -e "$B/open.bin" ]
	# Still readable and writable through the descriptor.
	[ "$(stat -L -c %s /proc/self/fd/9)" -eq 500000 ]
	printf 'tail' >>/proc/self/fd/9
	[ "$(tail -c 4 /proc/self/fd/9)" = tail ]
	free_open=$(df -B1 --output=avail "$MNT" | tail -n 1)
	[ "$free_open" -lt "$free_before" ]
	exec 9>&-
	sleep 0.2
	free_after=$(df -B1 --output=avail "$MNT" | tail -n 1)
	[ "$free_after" -eq "$free_before" ]
	run rm "$B/open.bin"
	[ "$status" -ne 0 ]
}

@test "unlink: an open file stays readable and writable until its last close" {
	for_each_fat t_unlink_open
}

t_dirs() {
	mkdir "$B/d"
	run mkdir "$B/d"
	[[ "$output" == *"File exists"* ]]
	mkdir -p "$B/d/e/f/g"
	echo x >"$B/d/e/file"
	run rmdir "$B/d/e"
	[[ "$output" == *"not empty"* ]]
	run rmdir "$B/d/e/file"
	[[ "$output" == *"Not a directory"* ]]
	run rm "$B/d/e/f"
	[[ "$output" == *"Is a directory"* ]]
	rmdir "$B/d/e/f/g"
	rmdir "$B/d/e/f"
	rm "$B/d/e/file"
	rmdir "$B/d/e"
	[ -d "$B/d" ] && [ ! -e "$B/d/e" ]
	# A directory grows past one cluster and shrinks back to empty.
	for i in $(seq 1 60); do : >"$B/d/entry-with-a-long-name-$i.txt"; done
	[ "$(ls "$B/d" | wc -l)" -eq 60 ]
	rm "$B/d"/entry-*
	rmdir "$B/d"
	run mkdir "$B/missing/x"
	[ "$status" -ne 0 ]
}

# What Linux's vfat does, done the same: fallocate, link counts, ctime.
t_like_vfat() {
	local cs c0 c1
	cs=$(stat -f -c %S "$B")
	# fallocate mode 0: a growing truncate (zeros); never shrinks.
	echo hello >"$B/fa"
	fallocate -l 10000 "$B/fa"
	[ "$(stat -c %s "$B/fa")" -eq 10000 ]
	[ "$(head -c 6 "$B/fa")" = hello ]
	cmp -i 6:0 -n 9994 "$B/fa" /dev/zero
	fallocate -l 100 "$B/fa"
	[ "$(stat -c %s "$B/fa")" -eq 10000 ]
	# FALLOC_FL_KEEP_SIZE: the clusters are taken, the size stays; the
	# blocks show them, and writing there needs no more.
	echo keep >"$B/fk"
	fallocate -n -l 50000 "$B/fk"
	[ "$(stat -c %s "$B/fk")" -eq 5 ]
	[ "$(stat -c %b "$B/fk")" -eq $(((50000 + cs - 1) / cs * cs / 512)) ]
	dd if=/dev/zero of="$B/fk" bs=1000 count=20 seek=1 conv=notrunc status=none
	[ "$(stat -c %s "$B/fk")" -eq 21000 ]
	# Punching holes and the other modes: not on FAT (EOPNOTSUPP).
	run fallocate -p -o 0 -l 10 "$B/fa"
	[ "$status" -ne 0 ]
	[[ "$output" == *"unsupported"* ]]
	run fallocate -z -o 0 -l 10 "$B/fa"
	[ "$status" -ne 0 ]
	# A KEEP_SIZE larger than the free space takes nothing.
	run fallocate -n -l 4000000000 "$B/fa"
	[ "$status" -ne 0 ]
	[ "$(stat -c %b "$B/fa")" -eq $(((10000 + cs - 1) / cs * cs / 512)) ]
	# Directories: 2 links and one per subdirectory; files 1.
	mkdir -p "$B/nl/a" "$B/nl/b/c"
	: >"$B/nl/file"
	[ "$(stat -c %h "$B/nl")" -eq 4 ]
	[ "$(stat -c %h "$B/nl/b")" -eq 3 ]
	[ "$(stat -c %h "$B/nl/a")" -eq 2 ]
	[ "$(stat -c %h "$B/nl/file")" -eq 1 ]
	rmdir "$B/nl/a"
	[ "$(stat -c %h "$B/nl")" -eq 3 ]
	mv "$B/nl/b" "$B/nlb"
	[ "$(stat -c %h "$B/nl")" -eq 2 ]
	mv "$B/nlb" "$B/nl/b2"
	[ "$(stat -c %h "$B/nl")" -eq 3 ]
	# Counted again from the entries on the disk.
	umount_rpifs "$MNT"
	mount_rpifs "$IMG" "$MNT"
	[ "$(stat -c %h "$B/nl")" -eq 3 ]
	[ "$(stat -c %h "$B/nl/b2")" -eq 3 ]
	# An open file that is removed has no links.
	exec 8<>"$B/gone"
	rm "$B/gone"
	[ "$(stat -L -c %h /proc/self/fd/8)" -eq 0 ]
	exec 8<&-
	# ctime moves with every change (vfat keeps it in the creation time
	# field) and not on a read.
	echo c >"$B/ct"
	c0=$(stat -c %Z.%z "$B/ct")
	sleep 1.1
	cat "$B/ct" >/dev/null
	[ "$(stat -c %Z.%z "$B/ct")" = "$c0" ]
	echo more >>"$B/ct"
	c1=$(stat -c %Z "$B/ct")
	[ "$c1" -gt "${c0%%.*}" ]
	sleep 1.1
	chmod a-w "$B/ct"
	[ "$(stat -c %Z "$B/ct")" -gt "$c1" ]
	chmod u+w "$B/ct"
	c1=$(stat -c %Z "$B/ct")
	sleep 1.1
	touch -m -d '2020-01-01 00:00' "$B/ct"
	[ "$(stat -c %Z "$B/ct")" -gt "$c1" ]
}

@test "as Linux's vfat: fallocate (0, KEEP_SIZE), directory link counts, nlink 0 once removed, ctime on change" {
	for_each_fat t_like_vfat
}

# The same operations on the kernel's vfat and on rpifs, from one image:
# the same answers (root only: a loop mount).
@test "side by side with the kernel's vfat: fallocate, link counts and ctime agree" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to loop-mount the kernel's vfat"
	modprobe vfat 2>/dev/null || true
	grep -qw vfat /proc/filesystems || skip "this kernel has no vfat"
	local k=$BATS_TEST_TMPDIR/k r out side
	fresh fat16
	part_file "$IMG" 1 "$BATS_TEST_TMPDIR/k.p1"
	mkdir -p "$k"
	mount -t vfat -o loop "$BATS_TEST_TMPDIR/k.p1" "$k"
	for side in "$k" "$B"; do
		out=$BATS_TEST_TMPDIR/$(basename "$side").out
		(
			cd "$side"
			mkdir -p nl/a nl/b/c
			echo x >f
			fallocate -l 3000 f
			echo y >g
			fallocate -n -l 9000 g
			c0=$(stat -c %Z f)
			sleep 1.1
			chmod a-w f
			c1=$(stat -c %Z f)
			exec 8<>gone
			rm gone
			echo "nlink: $(stat -c %h nl nl/a nl/b f) open-unlinked $(stat -L -c %h /proc/self/fd/8)"
			echo "sizes: $(stat -c %s f g) blocks of g: $(stat -c %b g)"
			echo "ctime moved on chmod: $([ "$c1" -gt "$c0" ] && echo yes || echo no)"
			fallocate -p -l 10 f 2>&1 | sed 's/.*: //'
		) >"$out"
	done
	umount "$k"
	cat "$BATS_TEST_TMPDIR/k.out"
	diff "$BATS_TEST_TMPDIR/k.out" "$BATS_TEST_TMPDIR/boot.out"
	finish
}

@test "mkdir, rmdir and their errors (EEXIST, ENOTEMPTY, ENOTDIR, EISDIR)" {
	for_each_fat t_dirs
}

t_rename() {
	echo one >"$B/one"
	echo two >"$B/two"
	mkdir -p "$B/a/b" "$B/c" "$B/empty" "$B/full"
	echo f >"$B/full/f"
	mv "$B/one" "$B/uno"
	[ "$(cat "$B/uno")" = one ] && [ ! -e "$B/one" ]
	# Replacing an existing file.
	mv "$B/uno" "$B/two"
	[ "$(cat "$B/two")" = one ]
	# Across directories, files and directories.
	mv "$B/two" "$B/a/b/deux"
	[ "$(cat "$B/a/b/deux")" = one ]
	mv "$B/a/b" "$B/c/b"
	[ "$(cat "$B/c/b/deux")" = one ]
	# The moved directory's ".." follows: fsck checks it in finish.
	mv "$B/c/b" "$B/b"
	# A change of case only: the kernel sees "B" as the same file as "b"
	# and does nothing (FUSE has no case-insensitive dentries), so it
	# goes through another name, as the man page says.
	mv "$B/b" "$B/b.tmp" && mv "$B/b.tmp" "$B/B"
	ls "$B" | grep -qx B
	mv "$B/b/deux" "$B/b/x" && mv "$B/b/x" "$B/b/DEUX"
	ls "$B/B" | grep -qx DEUX
	# Errors.
	run mv -T "$B/c" "$B/c/inside"
	[[ "$output" == *"Invalid argument"* ]] || [[ "$output" == *"itself"* ]]
	run python3 -c 'import os,sys; os.rename(sys.argv[1], sys.argv[2])' "$B/c" "$B/c/inside"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Invalid argument"* ]]
	echo g >"$B/g"
	run python3 -c 'import os,sys; os.rename(sys.argv[1], sys.argv[2])' "$B/g" "$B/empty"
	[[ "$output" == *"Is a directory"* ]]
	run python3 -c 'import os,sys; os.rename(sys.argv[1], sys.argv[2])' "$B/empty" "$B/g"
	[[ "$output" == *"Not a directory"* ]]
	run python3 -c 'import os,sys; os.rename(sys.argv[1], sys.argv[2])' "$B/c" "$B/full"
	[[ "$output" == *"not empty"* ]]
	# A directory over an empty directory is fine.
	mv -T "$B/c" "$B/empty"
	[ -d "$B/empty" ] && [ ! -e "$B/c" ]
	# No replacing with --no-clobber (RENAME_NOREPLACE).
	echo keep >"$B/keep"
	mv -n "$B/g" "$B/keep"
	[ "$(cat "$B/keep")" = keep ] && [ -e "$B/g" ]
	run mv "$B/nope" "$B/x"
	[ "$status" -ne 0 ]
}

@test "rename of files and directories, across directories, replacing, and its errors" {
	command -v python3 >/dev/null || skip "python3 is needed to see rename(2)'s errno"
	for_each_fat t_rename
}

t_replace_open() {
	echo old >"$B/target"
	echo new >"$B/source"
	exec 9<"$B/target"
	mv "$B/source" "$B/target"
	[ "$(cat "$B/target")" = new ]
	[ "$(cat <&9)" = old ]
	exec 9<&-
}

@test "rename over a file that is open: the reader keeps the old contents" {
	for_each_fat t_replace_open
}

t_times() {
	echo x >"$B/t"
	touch -m -d '2021-03-04 05:06:08' "$B/t"
	[ "$(stat -c %Y "$B/t")" -eq "$(date -d '2021-03-04 05:06:08' +%s)" ]
	touch -a -d '2022-01-02 10:00:00' "$B/t"
	# FAT keeps only the date of the last access.
	[ "$(stat -c %X "$B/t")" -eq "$(date -d '2022-01-02' +%s)" ]
	touch -d '1970-01-01 00:00:00' "$B/t"
	[ "$(stat -c %Y "$B/t")" -eq "$(date -d '1980-01-01' +%s)" ]
	touch -m -d '2021-03-04 05:06:09' "$B/t"
	[ "$(stat -c %Y "$B/t")" -eq "$(date -d '2021-03-04 05:06:08' +%s)" ]
	local before
	before=$(date +%s)
	touch "$B/t"
	[ "$(stat -c %Y "$B/t")" -ge $((before - 2)) ]
	mkdir "$B/d"
	touch -m -d '2020-01-01 00:00:00' "$B/d"
	[ "$(stat -c %Y "$B/d")" -eq "$(date -d '2020-01-01' +%s)" ]
}

@test "utimens: mtime (2 s), atime (a date), clamping to 1980, directories" {
	for_each_fat t_times
}

t_sync() {
	dd if=/dev/urandom of="$B/s.bin" bs=64k count=4 conv=fsync status=none
	sync "$B/s.bin"
	sync -f "$B"
	mkdir "$B/sd"
	# A directory's fsync (as editors and package managers do).
	python3 -c 'import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd)' "$B/sd"
}

@test "fsync, fdatasync and syncfs succeed" {
	for_each_fat t_sync
}

t_statfs() {
	local cs before after
	cs=$(stat -f -c %S "$B")
	before=$(stat -f -c %a "$B")
	head -c 1048576 /dev/zero >"$B/m.bin"
	after=$(stat -f -c %a "$B")
	[ $((before - after)) -eq $(((1048576 + cs - 1) / cs)) ]
	rm "$B/m.bin"
	[ "$(stat -f -c %a "$B")" -eq "$before" ]
}

@test "statfs: free space moves by exactly the clusters used" {
	for_each_fat t_statfs
}

t_chmod() {
	echo x >"$B/ro"
	chmod a-w "$B/ro"
	[ "$(stat -c %a "$B/ro")" = 555 ]
	chmod u+w "$B/ro"
	[ "$(stat -c %a "$B/ro")" = 755 ]
	chmod a-w "$B/ro"
	# Modes FAT cannot hold are ignored without an error, as vfat does.
	chmod 600 "$B/ro"
	[ "$(stat -c %a "$B/ro")" = 555 ]
	chmod 755 "$B/ro"
	[ "$(stat -c %a "$B/ro")" = 755 ]
	chmod a-w "$B/ro"
	mkdir "$B/dir"
	chmod 500 "$B/dir"
	[ "$(stat -c %a "$B/dir")" = 755 ]
	# Creating with no write bits gives a read-only file.
	python3 -c 'import os,sys; os.close(os.open(sys.argv[1], os.O_CREAT|os.O_WRONLY, 0o444))' "$B/created-ro"
	[ "$(stat -c %a "$B/created-ro")" = 555 ]
	# Owners cannot change.
	run chown 1234 "$B/ro"
	[[ "$output" == *"Operation not permitted"* ]]
	chown "$(id -u):$(id -g)" "$B/ro"
}

@test "chmod maps to the read-only attribute; chown to another owner is refused" {
	command -v python3 >/dev/null || skip "python3 is needed to create a file with mode 0444"
	umask 022
	for_each_fat t_chmod
	# mtools sees the attribute.
	mdir_line "" "ro" >/dev/null
	local p=$BATS_TEST_TMPDIR/attr.p1
	part_file "$IMG" 1 "$p"
	mattrib -i "$p" ::/ro | grep -q '^ *A* *R'
	run mattrib -i "$p" ::/created-ro
	[[ "$output" == *R* ]]
}

@test "-o quiet: chown and chmod that FAT cannot store succeed silently" {
	fresh fat16 -o quiet
	echo x >"$B/q"
	chown 1234:1234 "$B/q"
	chmod 4755 "$B/q"
	[ "$(stat -c %u "$B/q")" = "$(id -u)" ]
	finish
}

t_names() {
	: >"$B/config.txt"
	: >"$B/README.TXT"
	: >"$B/Notes.md"
	: >"$B/Mixed.TXT"
	: >"$B/readme.MD"
	for i in 1 2 3 4 5 6 7; do : >"$B/a long file name $i.data"; done
	: >"$B/Grüße.txt"
	: >"$B/.dotfile"
	: >"$B/name with  spaces"
	: >"$B/a+b,c;d=e[f].txt"
	: >"$B/bootfs"
	: >"$B/many.dots.in.name.tar.gz"
	ls "$B" | grep -qx config.txt
	ls "$B" | grep -qx README.TXT
	ls "$B" | grep -qx Mixed.TXT
	ls "$B" | grep -qx readme.MD
	ls "$B" | grep -qx 'a long file name 7.data'
	# Case-insensitive: the same file under another case.
	echo y >"$B/CONFIG.TXT"
	[ "$(cat "$B/config.txt")" = y ]
	[ "$(ls "$B" | grep -ci '^config.txt$')" -eq 1 ]
	# Names FAT cannot hold.
	for bad in 'a:b' 'a*b' 'a?b' 'a<b' 'a>b' 'a|b' 'a"b' 'a\b' 'trailing.' 'trailing '; do
		run touch "$B/$bad"
		[ "$status" -ne 0 ]
		[[ "$output" == *"Invalid argument"* ]]
	done
	run touch "$B/$(printf 'x%.0s' $(seq 256))"
	[[ "$output" == *"File name too long"* ]]
	touch "$B/$(printf 'y%.0s' $(seq 255))"
	[ -e "$B/$(printf 'y%.0s' $(seq 255))" ]
}

@test "names: 8.3 with case flags, long names with ~N and hashed aliases, refusals" {
	for_each_fat t_names
	# What mtools sees on the last image (FAT32): 8.3-only entries carry
	# the case flags; mixed case and long names have long entries.
	mdir_line "" "config   txt" | grep -qvE 'config.txt$'
	mdir_line "" "README   TXT" >/dev/null
	mdir_line "" "MIXED    TXT" | grep -q 'Mixed.TXT$'
	mdir_line "" "ALONGF~1 DAT" | grep -q 'a long file name 1.data$'
	mdir_line "" "ALONGF~4 DAT" | grep -q 'a long file name 4.data$'
	# From the fifth on, Windows-style hashed aliases.
	[ "$(mdir_line "" "a long file name" | grep -cE '^AL[0-9A-F]{4}~[0-9] DAT')" -eq 3 ]
	mdir_line "" "BOOTFS~1" | grep -q 'bootfs$'
}

@test "names outside the BMP (UTF-16 surrogate pairs) are stored and read back" {
	fresh fat16
	echo berry >"$B/🍓 berry.txt"
	umount_rpifs "$MNT"
	fsck_boot "$IMG"
	mount_rpifs "$IMG" "$MNT"
	[ "$(cat "$B/🍓 berry.txt")" = berry ]
	ls "$B" | grep -qx '🍓 berry.txt'
	umount_rpifs "$MNT"
}

t_enospc() {
	local free keep
	head -c 200000 /dev/urandom >"$BATS_TEST_TMPDIR/keep"
	cp "$BATS_TEST_TMPDIR/keep" "$B/keep.bin"
	run dd if=/dev/zero of="$B/fill" bs=64k status=none
	[ "$status" -ne 0 ]
	[[ "$output" == *"No space left on device"* ]]
	[ "$(stat -f -c %a "$B")" -eq 0 ]
	run sh -c "echo more >'$B/another'"
	cmp "$BATS_TEST_TMPDIR/keep" "$B/keep.bin"
	rm -f "$B/fill" "$B/another"
	[ "$(stat -f -c %a "$B")" -gt 0 ]
	run dd if=/dev/zero of="$B/fill2" bs=1M status=none
	[[ "$output" == *"No space left on device"* ]]
	cmp "$BATS_TEST_TMPDIR/keep" "$B/keep.bin"
	rm "$B/fill2"
}

@test "filling to ENOSPC, deleting, filling again: nothing written before is lost" {
	FATS="fat12 fat16" for_each_fat t_enospc
}

@test "a 1000-file directory: create, list, delete" {
	fresh fat32-512
	mkdir "$B/thousand"
	for i in $(seq -w 1 1000); do : >"$B/thousand/file-number-$i.txt"; done
	[ "$(ls "$B/thousand" | wc -l)" -eq 1000 ]
	[ "$(ls "$B/thousand" | sort | head -n 1)" = file-number-0001.txt ]
	echo data >"$B/thousand/file-number-0500.txt"
	umount_rpifs "$MNT"
	fsck_boot "$IMG"
	mount_rpifs "$IMG" "$MNT"
	[ "$(ls "$B/thousand" | wc -l)" -eq 1000 ]
	[ "$(cat "$B/thousand/file-number-0500.txt")" = data ]
	rm "$B/thousand"/*
	rmdir "$B/thousand"
	finish
}

@test "a full FAT12/16 root directory gives ENOSPC" {
	fresh fat16
	# 512 root entries; long names take 3 each.
	local i err=""
	for i in $(seq 1 400); do
		if ! err=$( (: >"$B/a-long-name-for-entry-$i") 2>&1); then
			break
		fi
	done
	[ "$i" -lt 400 ]
	[[ "$err" == *"No space left on device"* ]]
	rm -f "$B"/a-long-name-for-entry-*
	finish
}

@test "the dirty flag is cleared after writes and a clean unmount" {
	fresh fat32-512
	echo x >"$B/x"
	[ "$(le_at "$IMG" $((4194304 + 0x41)) 1)" -eq 1 ]
	finish
	[ "$(le_at "$IMG" $((4194304 + 0x41)) 1)" -eq 0 ]
}

@test "uid=, gid=, umask=: new files and directories get the vfat modes" {
	fresh fat16 -o uid=1000,gid=1000,fmask=133,dmask=022
	echo x >"$B/f"
	mkdir "$B/d"
	[ "$(stat -c '%u %g %a' "$B/f")" = "1000 1000 644" ]
	[ "$(stat -c '%u %g %a' "$B/d")" = "1000 1000 755" ]
	finish
}
