# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Root file systems for root/'s tests: a Raspberry Pi OS-like tree (a pi
# user's home, /etc, a sticky /tmp, setuid and sparse files, a directory of
# 1000 names) made with mke2fs -d, then what a non-root builder cannot
# copy added with debugfs: owners, device nodes (both encodings), a fifo,
# a hard link, extended attributes. Reproducible: fixed UUIDs, hash seed,
# contents and times.
#
#   . tests/lib/images.sh; . tests/lib/rootfs.sh
#   img_root PART SIZE_MIB [ext4|ext3|ext2|inline]

img_root_tree() {
	local d=${1:?img_root_tree: no directory}
	[ "$d" != / ] || return 1
	rm -rf "$d"
	mkdir -p "$d"
	mkdir -p "$d/bin" "$d/boot/firmware" "$d/dev" "$d/etc/ssh" \
		"$d/etc/systemd/system" "$d/home/pi" "$d/root" "$d/run" "$d/tmp" \
		"$d/usr/bin" "$d/usr/lib" "$d/usr/share/many" "$d/var/log"
	printf 'raspberrypi\n' | img_text "$d/etc/hostname" $((IMG_EPOCH + 100))
	printf 'root:x:0:0:root:/root:/bin/bash\npi:x:1000:1000:,,,:/home/pi:/bin/bash\n' |
		img_text "$d/etc/passwd" $((IMG_EPOCH + 101))
	printf 'root:x:0:\nshadow:x:42:\npi:x:1000:\n' |
		img_text "$d/etc/group" $((IMG_EPOCH + 102))
	printf 'root:*:19000:0:99999:7:::\npi:*:19000:0:99999:7:::\n' |
		img_text "$d/etc/shadow" $((IMG_EPOCH + 103))
	printf 'PRETTY_NAME="rpifs test root (Debian GNU/Linux 12 layout)"\nNAME="rpifs-test"\nID=rpifs-test\n' |
		img_text "$d/etc/os-release" $((IMG_EPOCH + 104))
	printf '# ~/.bashrc\n' | img_text "$d/home/pi/.bashrc" $((IMG_EPOCH + 105))
	img_file "$d/usr/bin/busybox" 200000 busybox
	img_file "$d/usr/bin/su" 30000 su
	img_file "$d/usr/lib/big.bin" $((2 * 1024 * 1024 + 123)) big
	img_file "$d/usr/lib/exact4k.bin" 4096 exact4k
	: >"$d/usr/lib/empty"
	img_file "$d/var/log/syslog" 10000 syslog
	for i in $(seq -w 1 1000); do
		printf 'file %s\n' "$i" >"$d/usr/share/many/file-$i"
	done
	touch -d "@$IMG_EPOCH" "$d"/usr/share/many/*
	ln -s usr/bin "$d/sbin"
	ln -s /usr/share/zoneinfo/Etc/UTC "$d/etc/localtime"
	ln -s "$(printf 'x%.0s' $(seq 1 100))" "$d/usr/lib/long-target-link"
	# A sparse file: data at 0, 1 MiB and 5 MiB, holes between.
	img_bytes 4096 sparse1 | dd of="$d/usr/lib/sparse.img" bs=4096 conv=notrunc status=none
	img_bytes 4096 sparse2 | dd of="$d/usr/lib/sparse.img" bs=4096 seek=256 conv=notrunc status=none
	img_bytes 4096 sparse3 | dd of="$d/usr/lib/sparse.img" bs=4096 seek=1280 conv=notrunc status=none
	touch -d "@$IMG_EPOCH" "$d/usr/lib/sparse.img"
	chmod 0755 "$d/usr/bin/busybox"
	chmod 4755 "$d/usr/bin/su"
	chmod 0640 "$d/etc/shadow"
	chmod 1777 "$d/tmp"
	chmod 0700 "$d/root"
}

# What debugfs adds: owners, nodes, a fifo, a hard link, attributes.
img_root_fixups() {
	local part=$1
	printf '%s\n' \
		'sif /home/pi uid 1000' \
		'sif /home/pi gid 1000' \
		'sif /home/pi/.bashrc uid 1000' \
		'sif /home/pi/.bashrc gid 1000' \
		'sif /etc/shadow gid 42' \
		'cd /dev' 'mknod null c 1 3' 'mknod sda b 8 0' \
		'cd /run' 'mknod initctl p' 'cd /' \
		'sif /dev/null mode 020666' \
		'sif /run/initctl mode 010600' \
		'ln /usr/bin/busybox /usr/bin/sh' \
		'sif /usr/bin/busybox links_count 2' \
		'ea_set /home/pi/.bashrc user.origin rpifs-test' \
		'ea_set /usr/bin/busybox trusted.origin root-only' |
		debugfs -w -f - "$part" >/dev/null 2>&1
}

img_root() {
	local part=$1 size=$2 kind=${3:-ext4} tree
	local -a opts
	tree=$(mktemp -d)
	img_root_tree "$tree/root"
	case $kind in
	ext4) opts=(-t ext4) ;;
	ext3) opts=(-t ext3) ;;
	ext2) opts=(-t ext2) ;;
	inline) opts=(-t ext4 -O inline_data) ;;
	esac
	rm -f "$part"
	mke2fs -q -F "${opts[@]}" -b 4096 -L rootfs -I 256 \
		-U 5eedc0de-0000-4000-8000-000000000002 \
		-E hash_seed=5eedc0de-0000-4000-8000-000000000003 \
		-d "$tree/root" "$part" "${size}M" >/dev/null
	img_root_fixups "$part"
	rm -rf "$tree"
}
