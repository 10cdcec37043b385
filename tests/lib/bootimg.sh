#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bootimg.sh [OUT]: build (once; cached) the boot fixture: a disk image in
# Raspberry Pi OS's layout that boots under qemu-system-aarch64, made from
# Debian's arm64 packages since no Raspberry Pi OS image can be downloaded
# here. Prints the image's path.
#
# - boot partition (FAT32): kernel8.img (Debian's arm64 kernel),
#   initramfs8, Debian's upstream device trees unmodified (rpifs applies
#   the QEMU adjustments), config.txt and cmdline.txt as Raspberry Pi OS
#   has them (console=serial0, root=PARTUUID=..., auto_initramfs=1);
# - root partition (ext4): busybox, an init that does what Raspberry Pi OS
#   does with userconf.txt (create or rename the first user with the
#   hashed password, then delete the file), a getty with a password login
#   on ttyAMA0, a port-22 responder on usb-net, and poweroff on request
#   (poweroff-request, for any user).
#
# Downloads (.debs) are cached in $RPIFS_TEST_CACHE (default
# ~/.cache/rpifs-test), outside the checkout, with a private apt state:
# the machine's dpkg architectures are not changed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/images.sh"

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
			echo "bootimg: apt-get update for arm64 failed (no network to the Debian archive?)" >&2
			return 1
		}
	fi
	kpkg=$(apt_cache_arm64 depends linux-image-arm64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	[ -n "$kpkg" ] || { echo "bootimg: no arm64 kernel package found" >&2; return 1; }
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

write_rootfs() {
	local root=$1 kdir=$2 work=$3
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,etc/init.d,dev,proc,sys,run,tmp,root,home,boot/firmware,lib/modules,usr/bin,usr/share/udhcpc}
	cp "$work/busybox/bin/busybox" "$root/bin/busybox"
	busybox_links "$root"
	ln -sf ../bin/busybox "$root/sbin/init"
	while read -r f; do
		cp "$f" "$root/lib/modules/"
		basename "$f" >>"$root/lib/modules/order"
	done < <(mods_closure "$kdir" bcm2835_wdt fat vfat nls_cp437 nls_ascii \
		usb-common usbcore roles udc-core dwc2 mii usbnet cdc_ether)
	cat >"$root/etc/inittab" <<'EOF'
::sysinit:/etc/init.d/rcS
ttyAMA0::respawn:/bin/getty -L 115200 ttyAMA0 vt100
::shutdown:/bin/sync
EOF
	cat >"$root/etc/init.d/rcS" <<'EOF'
#!/bin/sh
# The fixture's boot: what Raspberry Pi OS does with userconf.txt, usb-net
# with a responder on port 22, and poweroff on request.
export PATH=/bin:/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -o remount,rw /
for m in $(cat /lib/modules/order); do insmod "/lib/modules/$m" 2>/dev/null; done
hostname rpifs-fixture
rootdev=$(awk '$2 == "/" { print $1 }' /proc/mounts)
bootdev=${rootdev%p*}p1
mount -t vfat -o codepage=437,iocharset=ascii "$bootdev" /boot/firmware
if [ -f /boot/firmware/userconf.txt ]; then
	line=$(head -n 1 /boot/firmware/userconf.txt)
	user=${line%%:*}
	hash=${line#*:}
	old=$(awk -F: '$3 == 1000 { print $1 }' /etc/passwd)
	if [ -n "$old" ] && [ "$old" != "$user" ]; then
		sed -i "s/^$old:/$user:/; s|:/home/$old:|:/home/$user:|" /etc/passwd
		sed -i "s/^$old:/$user:/" /etc/shadow /etc/group
		mv "/home/$old" "/home/$user"
	elif [ -z "$old" ]; then
		echo "$user:x:1000:1000::/home/$user:/bin/sh" >>/etc/passwd
		echo "$user:!:19000:0:99999:7:::" >>/etc/shadow
		echo "$user:x:1000:" >>/etc/group
		mkdir -p "/home/$user"
		chown 1000:1000 "/home/$user"
	fi
	awk -F: -v u="$user" -v h="$hash" 'BEGIN { OFS = ":" } $1 == u { $2 = h } { print }' \
		/etc/shadow >/etc/shadow.new && mv /etc/shadow.new /etc/shadow
	chmod 0600 /etc/shadow
	rm -f /boot/firmware/userconf.txt
	sync
	echo "fixture: user $user set from userconf.txt"
fi
# usb-net appears when the USB controller's (deferred) probe is done.
(for i in $(seq 600); do
	[ -e /sys/class/net/eth0 ] && break
	sleep 0.1
done
if [ -e /sys/class/net/eth0 ]; then
	ifconfig eth0 up
	udhcpc -i eth0 -q -n -t 10 -T 1 -s /usr/share/udhcpc/default.script >/dev/null 2>&1
	(while true; do echo "SSH-2.0-rpifs-fixture" | nc -l -p 22 >/dev/null 2>&1; done) &
	sleep 0.5
	echo "fixture: network up"
fi) &
(while sleep 0.2; do
	if [ -e /run/poweroff-request ]; then
		sync
		umount /boot/firmware
		mount -o remount,ro /
		poweroff -f
	fi
done) &
echo "fixture: up"
EOF
	chmod 0755 "$root/etc/init.d/rcS"
	cat >"$root/usr/share/udhcpc/default.script" <<'EOF'
#!/bin/sh
[ "$1" = bound ] || [ "$1" = renew ] || exit 0
ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}"
[ -n "$router" ] && route add default gw "${router%% *}" dev "$interface"
exit 0
EOF
	chmod 0755 "$root/usr/share/udhcpc/default.script"
	cat >"$root/usr/bin/poweroff-request" <<'EOF'
#!/bin/sh
sync
touch /run/poweroff-request
EOF
	chmod 0755 "$root/usr/bin/poweroff-request"
	echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
	echo "root:*:19000:0:99999:7:::" >"$root/etc/shadow"
	chmod 0600 "$root/etc/shadow"
	printf 'root:x:0:\n' >"$root/etc/group"
	echo 'PS1='"'"'\u@\h:\w\$ '"'" >"$root/etc/profile"
	echo "/bin/sh" >"$root/etc/shells"
	cat >"$root/etc/os-release" <<'EOF'
PRETTY_NAME="rpifs boot fixture (Debian arm64 kernel, busybox)"
NAME="rpifs-fixture"
ID=rpifs-fixture
EOF
}

build() {
	local out=$1 work kdir kver
	work=$(mktemp -d)
	trap 'rm -rf "$work"' RETURN
	fetch_debs
	dpkg -x "$KERNEL_DEB" "$work/kernel"
	dpkg -x "$BUSYBOX_DEB" "$work/busybox"
	kver=$(ls "$work/kernel/lib/modules")
	kdir=$work/kernel/lib/modules/$kver/kernel

	mkdir -p "$work/boot"
	cp "$work/kernel/boot/vmlinuz-$kver" "$work/boot/kernel8.img"
	write_initramfs "$work/boot/initramfs8" "$kdir" "$work"
	cp "$work/kernel/usr/lib/linux-image-$kver/broadcom/bcm2711-rpi-4-b.dtb" "$work/boot/"
	cp "$work/kernel/usr/lib/linux-image-$kver/broadcom/bcm2837-rpi-3-b.dtb" "$work/boot/"
	cat >"$work/boot/config.txt" <<'EOF'
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
		"$IMG_DISK_ID" >"$work/boot/cmdline.txt"
	write_rootfs "$work/root" "$kdir" "$work"

	img_fat "$work/boot.p1" 64 32 1 "$work/boot"
	# The root partition from the tree, then the disk (not a power of two:
	# 4 + 64 + 96 + 1 MiB, as a real image often is not).
	mke2fs -q -F -t ext4 -L rootfs -U 5eedc0de-0000-4000-8000-000000000002 \
		-E hash_seed=5eedc0de-0000-4000-8000-000000000003 \
		-d "$work/root" "$work/root.img" 96M >/dev/null 2>&1
	img_disk_parts "$out" "$work/boot.p1" "$work/root.img"
	echo "$kver" >"$out.kernel-version"
}

key=$(cat "$here/bootimg.sh" "$here/images.sh" | sha256sum | cut -c1-12)
out=${1:-$CACHE/images/$key/boot.img}
if [ ! -f "$out" ]; then
	mkdir -p "$(dirname "$out")"
	build "$out.tmp"
	mv "$out.tmp.kernel-version" "$out.kernel-version"
	mv "$out.tmp" "$out"
fi
echo "$out"
