# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Shared by the boot fixtures (bootimg.sh, sysimg.sh): Debian's arm64
# kernel and busybox-static fetched into a cache outside the checkout, the
# busybox initramfs that loads the SD card and ext4 modules and switches to
# the root partition, and the boot partition's files as Raspberry Pi OS has
# them. The caller sets FIXTURE (its name, for messages) and sources
# images.sh first.
#
#   fetch_debs                          sets KERNEL_DEB and BUSYBOX_DEB
#   mods_closure KDIR NAME...           module files, dependencies first
#   write_initramfs OUT KDIR WORK       WORK/busybox holds busybox-static
#   write_boot_tree DIR KROOT KVER WORK kernel8.img, initramfs8, dtbs,
#                                       config.txt, cmdline.txt
#
# Downloads (.debs) are cached in $RPIFS_TEST_CACHE (default
# ~/.cache/rpifs-test) with a private apt state over the machine's own
# apt sources: the machine's dpkg architectures are not changed.

CACHE=${RPIFS_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rpifs-test}
APT_DIR=$CACHE/apt
DEBS=$CACHE/debs
mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial" "$DEBS"

apt_arm64() {
	apt-get -q -o APT::Architecture=arm64 -o APT::Architectures::=arm64 \
		-o Dir::State::Lists="$APT_DIR/lists" -o Dir::Cache="$APT_DIR/cache" \
		-o Dir::State::status=/dev/null -o Debug::NoLocking=1 "$@"
}

apt_cache_arm64() {
	apt-cache -o APT::Architecture=arm64 -o APT::Architectures::=arm64 \
		-o Dir::State::Lists="$APT_DIR/lists" -o Dir::Cache="$APT_DIR/cache" \
		-o Dir::State::status=/dev/null "$@"
}

# The versioned kernel package linux-image-arm64 points to.
fetch_debs() {
	local kpkg
	if [ -z "$(ls "$APT_DIR/lists" 2>/dev/null | grep -m1 Packages)" ] ||
		[ -n "$(find "$APT_DIR/lists" -maxdepth 1 -name '*Packages*' -mtime +7 | head -n 1)" ]; then
		apt_arm64 update >/dev/null 2>&1 || {
			echo "$FIXTURE: apt-get update for arm64 failed (no network to the Debian archive?)" >&2
			return 1
		}
	fi
	kpkg=$(apt_cache_arm64 depends linux-image-arm64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	[ -n "$kpkg" ] || { echo "$FIXTURE: no arm64 kernel package found" >&2; return 1; }
	if ! ls "$DEBS/${kpkg}_"*.deb >/dev/null 2>&1; then
		(cd "$DEBS" && apt_arm64 download "$kpkg" >/dev/null 2>&1)
	fi
	if ! ls "$DEBS"/busybox-static_*.deb >/dev/null 2>&1; then
		(cd "$DEBS" && apt_arm64 download busybox-static >/dev/null 2>&1)
	fi
	KERNEL_DEB=$(ls "$DEBS/${kpkg}_"*.deb | tail -n 1)
	BUSYBOX_DEB=$(ls "$DEBS"/busybox-static_*.deb | tail -n 1)
}

# Modules with their dependencies, dependencies first: mods_closure DIR NAME...
mods_closure() {
	local kdir=$1
	shift
	local -A seen=()
	local order=()
	visit() {
		local m=${1//-/_} f deps d
		[ -n "${seen[$m]:-}" ] && return
		seen[$m]=1
		f=$(find "$kdir" \( -name "$1.ko" -o -name "${1//_/-}.ko" -o -name "${1//-/_}.ko" \) | head -n 1)
		[ -n "$f" ] || return 0 # built in
		deps=$(grep -a -o 'depends=[^[:cntrl:]]*' "$f" | head -n 1 | cut -d= -f2)
		for d in ${deps//,/ }; do visit "$d"; done
		order+=("$f")
	}
	for m in "$@"; do visit "$m"; done
	printf '%s\n' "${order[@]}"
}

APPLETS="sh ash cat cp dd df echo grep head tail hexdump od ls mkdir mknod
mount umount mv rm rmdir sleep sync touch uname init getty login su poweroff
reboot halt insmod switch_root ifconfig ip route udhcpc nc sed awk cut tr id
chmod chown ln ps kill dmesg hostname date free wc stat true false test [
printf seq mountpoint find xargs passwd vi clear env basename dirname"

busybox_links() {
	local root=$1 a
	for a in $APPLETS; do
		ln -sf busybox "$root/bin/$a"
	done
}

write_initramfs() {
	local out=$1 kdir=$2 work=$3
	local d=$work/initramfs
	rm -rf "$d"
	mkdir -p "$d/bin" "$d/dev" "$d/proc" "$d/sys" "$d/newroot" "$d/modules"
	cp "$work/busybox/bin/busybox" "$d/bin/busybox"
	busybox_links "$d"
	: >"$d/modules.order"
	while read -r f; do
		cp "$f" "$d/modules/"
		basename "$f" >>"$d/modules.order"
	done < <(mods_closure "$kdir" sdhci sdhci-pltfm sdhci-iproc bcm2835 \
		crc16 mbcache crc32c_generic jbd2 ext4)
	cat >"$d/init" <<'EOF'
#!/bin/sh
# The fixture's initramfs: load what Debian's kernel needs for the SD card
# and ext4, find root= (PARTUUID is the MBR disk identifier plus -NN), mount
# it and switch to it.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules.order); do insmod "/modules/$m" 2>/dev/null; done
root=$(sed -n 's/.*root=\([^ ]*\).*/\1/p' /proc/cmdline)
dev=
for i in $(seq 100); do
	case $root in
	PARTUUID=*)
		id=${root#PARTUUID=}; disk=${id%-*}; part=$((1${id##*-} - 100))
		for b in /sys/block/mmcblk*; do
			[ -e "$b" ] || continue
			b=${b##*/}
			sig=$(dd if=/dev/$b bs=1 skip=440 count=4 2>/dev/null | hexdump -e '1/4 "%08x"')
			[ "$sig" = "$disk" ] && [ -e /dev/${b}p$part ] && dev=/dev/${b}p$part
		done ;;
	/dev/*) [ -e "$root" ] && dev=$root ;;
	esac
	[ -n "$dev" ] && break
	sleep 0.1
done
if [ -z "$dev" ] || ! mount -t ext4 "$dev" /newroot; then
	echo "initramfs: cannot mount root=$root" >&2
	exec sh
fi
echo "initramfs: root is $dev"
exec switch_root /newroot /sbin/init
EOF
	chmod 0755 "$d/init"
	(cd "$d" && find . | cpio -o -H newc --quiet | gzip -9) >"$out"
}

# The boot partition's files: write_boot_tree DIR KROOT KVER WORK, where
# KROOT is the unpacked kernel package and WORK/busybox busybox-static.
write_boot_tree() {
	local dir=$1 kroot=$2 kver=$3 work=$4
	mkdir -p "$dir"
	cp "$kroot/boot/vmlinuz-$kver" "$dir/kernel8.img"
	write_initramfs "$dir/initramfs8" "$kroot/lib/modules/$kver/kernel" "$work"
	cp "$kroot/usr/lib/linux-image-$kver/broadcom/bcm2711-rpi-4-b.dtb" "$dir/"
	cp "$kroot/usr/lib/linux-image-$kver/broadcom/bcm2837-rpi-3-b.dtb" "$dir/"
	cat >"$dir/config.txt" <<'EOF'
# For more options and information see
# http://rptl.io/configtxt
# Some settings may impact device functionality. See link above for details

# Enable audio (loads snd_bcm2835)
dtparam=audio=on

# Automatically load initramfs files, if found
auto_initramfs=1

# Enable DRM VC4 V3D driver
dtoverlay=vc4-kms-v3d
max_framebuffers=2

# Run in 64-bit mode
arm_64bit=1

[cm4]
otg_mode=1

[all]
EOF
	printf 'console=serial0,115200 console=tty1 root=PARTUUID=%s-02 rootfstype=ext4 fsck.repair=yes rootwait\n' \
		"$IMG_DISK_ID" >"$dir/cmdline.txt"
}
