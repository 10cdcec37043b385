# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Test image builders: Raspberry Pi OS-layout disk images made without loop
# devices or root (mkfs.fat and mke2fs on files, sfdisk for the table, dd to
# assemble). Everything is reproducible: fixed volume ids, disk identifiers,
# file contents from a seeded generator and fixed timestamps.
#
#   . tests/lib/images.sh
#   img_tree DIR [small]            a boot file tree (config.txt, dtbs, ...)
#   img_fat PART SIZE_MIB BITS SECTORS_PER_CLUSTER SRC_DIR [LABEL]
#   img_disk IMAGE BOOT_PART [dos|gpt] [ROOT_SIZE_MIB]
#   img_pios IMAGE [BITS] [SPC] [dos|gpt]   all of it, cached by parameters

export MTOOLS_SKIP_CHECK=1
export TZ=${TZ:-UTC}

IMG_DISK_ID=5eedc0de
IMG_FAT_ID=5eedc0de
IMG_BOOT_START=8192	# sectors, as Raspberry Pi OS
IMG_EPOCH=1700000000	# fixed mtime base for generated files

# N bytes of deterministic pseudo-random data for seed S on stdout.
img_bytes() {
	local n=$1 seed=$2
	local key
	key=$(printf '%s' "$seed" | sha256sum | cut -c1-32)
	# openssl dies of SIGPIPE once head has enough: that is the normal end.
	{ openssl enc -aes-128-ctr -nosalt -K "$key" \
		-iv 00000000000000000000000000000000 </dev/zero 2>/dev/null ||
		true; } | head -c "$n"
}

# A file with deterministic content and a fixed mtime (even seconds, as FAT
# stores them).
img_file() {
	local path=$1 size=$2 seed=${3:-$1} t=${4:-}
	mkdir -p "$(dirname "$path")"
	img_bytes "$size" "$seed" >"$path"
	if [ -z "$t" ]; then
		t=$((IMG_EPOCH + ($(printf '%s' "$seed" | cksum | cut -d' ' -f1) % 100000) * 2))
	fi
	touch -d "@$t" "$path"
}

img_text() {
	local path=$1 t=$2
	mkdir -p "$(dirname "$path")"
	cat >"$path"
	touch -d "@$t" "$path"
}

# A boot file tree like Raspberry Pi OS's, plus the awkward cases: long,
# mixed-case and non-ASCII names, a deep tree, empty and cluster-edge files,
# and (unless "small") a directory of 1000 files.
img_tree() {
	local d=$1 small=${2:-}
	rm -rf "$d"
	mkdir -p "$d"
	img_text "$d/config.txt" $((IMG_EPOCH + 10)) <<'EOF'
# For more options and information see
# http://rpf.io/configtxt
dtparam=audio=on
camera_auto_detect=1
display_auto_detect=1
auto_initramfs=1
dtoverlay=vc4-kms-v3d
max_framebuffers=2
disable_fw_kms_setup=1
arm_64bit=1
disable_overscan=1
arm_boost=1

[cm4]
otg_mode=1

[pi4]
arm_boost=1

[all]
EOF
	printf 'console=serial0,115200 console=tty1 root=PARTUUID=%s-02 rootfstype=ext4 fsck.repair=yes rootwait\n' \
		"$IMG_DISK_ID" | img_text "$d/cmdline.txt" $((IMG_EPOCH + 12))
	img_file "$d/kernel8.img" $((1024 * 1024 + 123)) kernel8
	img_file "$d/kernel7l.img" 300000 kernel7l
	img_file "$d/bcm2711-rpi-4-b.dtb" 52593 dtb4
	img_file "$d/bcm2710-rpi-3-b.dtb" 31012 dtb3
	img_file "$d/start4.elf" 200000 start4
	img_file "$d/fixup4.dat" 5446 fixup4
	img_file "$d/issue.txt" 145 issue
	: >"$d/ssh"
	touch -d "@$((IMG_EPOCH + 20))" "$d/ssh"
	img_file "$d/exactly-4096.bin" 4096 e4096
	img_file "$d/one-more-4097.bin" 4097 e4097
	img_file "$d/exactly-512.bin" 512 e512
	img_file "$d/LICENCE.broadcom" 1594 licence
	img_file "$d/Long File Name With Spaces.txt" 777 lfn1
	img_file "$d/Mixed.Case.Name.TXT" 10 mixed
	img_file "$d/Grüße aus München.txt" 33 umlaut
	img_file "$d/日本語のファイル.txt" 44 cjk
	img_file "$d/★ Ωmega ∑.txt" 55 symbols
	img_file "$d/a-name-that-is-quite-long-indeed-and-goes-on-and-on-for-a-while-to-test-many-lfn-slots.dat" 66 verylong
	for i in $(seq -w 1 30); do
		img_file "$d/overlays/overlay-$i.dtbo" $((500 + 37 * 10#$i)) "ov$i"
	done
	img_text "$d/overlays/README" $((IMG_EPOCH + 30)) <<'EOF'
Device tree overlays go here.
EOF
	img_file "$d/deep/a/b/c/d/e/f/g/h/i/j/leaf.txt" 123 leaf
	mkdir -p "$d/empty-dir"
	if [ "$small" != small ]; then
		mkdir -p "$d/many"
		awk -v d="$d/many" 'BEGIN {
			for (i = 1; i <= 1000; i++) {
				f = sprintf("%s/file-%04d.txt", d, i)
				for (j = 0; j < i % 7; j++)
					printf "line %d of file %d\n", j, i > f
				printf "" > f
				close(f)
			}
		}'
		touch -d "@$((IMG_EPOCH + 40))" "$d"/many/*
	fi
	# Directory mtimes are not compared (mcopy sets its own).
}

# A FAT partition file of SIZE_MIB with the tree copied in by mtools.
img_fat() {
	local part=$1 size=$2 bits=$3 spc=$4 src=$5 label=${6:-BOOTFS}
	rm -f "$part"
	mkfs.fat -C "$part" $((size * 1024)) -F "$bits" -s "$spc" -n "$label" \
		-i "$IMG_FAT_ID" >/dev/null
	if [ -n "$src" ] && [ -n "$(ls -A "$src")" ]; then
		(cd "$src" && mcopy -s -m -Q -i "$part" ./* ::/)
	fi
}

# Assemble a disk: the boot partition at sector 8192, an ext4 root after it.
img_disk() {
	local image=$1 boot=$2 label=${3:-dos} root_mib=${4:-16}
	local tmp
	tmp=$(mktemp -d)
	mkdir -p "$tmp/root/etc" "$tmp/root/home"
	cat >"$tmp/root/etc/os-release" <<'EOF'
PRETTY_NAME="rpifs test image"
NAME="rpifs-test"
ID=rpifs-test
EOF
	mke2fs -q -F -t ext4 -L rootfs -U 5eedc0de-0000-4000-8000-000000000002 \
		-E hash_seed=5eedc0de-0000-4000-8000-000000000003 \
		-d "$tmp/root" "$tmp/root.img" "${root_mib}M" >/dev/null 2>&1
	img_disk_parts "$image" "$boot" "$tmp/root.img" "$label"
	rm -rf "$tmp"
}

# Assemble a disk from partition files: img_disk_parts IMAGE BOOT ROOT [dos|gpt]
img_disk_parts() {
	local image=$1 boot=$2 root=$3 label=${4:-dos}
	local boot_sectors root_sectors root_start total
	boot_sectors=$(($(stat -c %s "$boot") / 512))
	root_sectors=$(($(stat -c %s "$root") / 512))
	root_start=$((IMG_BOOT_START + boot_sectors))
	total=$((root_start + root_sectors + 2048))
	rm -f "$image"
	truncate -s $((total * 512)) "$image"
	if [ "$label" = gpt ]; then
		sfdisk -q "$image" <<EOF
label: gpt
label-id: 5EEDC0DE-0000-4000-8000-000000000001
first-lba: 2048
start=$IMG_BOOT_START, size=$boot_sectors, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, uuid=5EEDC0DE-0000-4000-8000-0000000000B1
start=$root_start, size=$root_sectors, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=5EEDC0DE-0000-4000-8000-0000000000B2
EOF
	else
		sfdisk -q "$image" <<EOF
label: dos
label-id: 0x$IMG_DISK_ID
start=$IMG_BOOT_START, size=$boot_sectors, type=c
start=$root_start, size=$root_sectors, type=83
EOF
	fi
	dd if="$boot" of="$image" bs=512 seek=$IMG_BOOT_START conv=notrunc,sparse status=none
	dd if="$root" of="$image" bs=512 seek="$root_start" conv=notrunc,sparse status=none
}

# Byte offset and size of partition N of IMAGE.
img_part_offset() {
	sfdisk -J "$1" | awk -v n="$2" '
		/"start"/ { gsub(/[^0-9]/, "", $0); start[++i] = $0 }
		END { print start[n] * 512 }'
}

# Copy partition N of IMAGE out to a file (for fsck.fat and mtools).
img_extract_part() {
	local image=$1 n=$2 out=$3
	local start size
	start=$(sfdisk -J "$image" | awk -v n="$n" '/"start"/ { gsub(/[^0-9]/, ""); s[++i] = $0 } END { print s[n] }')
	size=$(sfdisk -J "$image" | awk -v n="$n" '/"size"/ { gsub(/[^0-9]/, ""); s[++i] = $0 } END { print s[n] }')
	dd if="$image" of="$out" bs=512 skip="$start" count="$size" conv=sparse status=none
}

# A complete image: img_pios IMAGE [BITS] [SECTORS_PER_CLUSTER] [dos|gpt] [small]
img_pios() {
	local image=$1 bits=${2:-32} spc=${3:-8} label=${4:-dos} small=${5:-}
	local size tmp
	# FAT32 needs 65525 clusters or more (mtools, like the specification,
	# decides the FAT type by the cluster count).
	case $bits in
	12) size=8 ;;
	16) size=32 ;;
	*) size=$((spc * 512 * 66000 / 1048576 + 2))
	   [ "$size" -lt 64 ] && size=64 ;;
	esac
	tmp=$(mktemp -d)
	img_tree "$tmp/tree" "$small"
	img_fat "$tmp/boot.img" "$size" "$bits" "$spc" "$tmp/tree"
	img_disk "$image" "$tmp/boot.img" "$label"
	rm -rf "$tmp"
}
