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
# - root partition (ext4): busybox, an init that runs, as Raspberry Pi OS
#   does, /usr/lib/userconf-pi/userconf-service for userconf.txt (create or
#   rename the first user with the hashed password, then delete the file),
#   a getty with a password login on ttyAMA0, a port-22 responder on
#   usb-net, and poweroff on request (poweroff-request, for any user).
#
# Downloads (.debs) are cached in $RPIFS_TEST_CACHE (default
# ~/.cache/rpifs-test), outside the checkout, with a private apt state:
# the machine's dpkg architectures are not changed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
FIXTURE=bootimg
. "$here/images.sh"
. "$here/debboot.sh"

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
	# phy-generic before dwc2, or the USB devices come ~10 s after the
	# prompt (dwc2 waits out the deferred probe); the HID modules for the
	# keyboard rpifs stop sends ctrl-alt-delete on.
	done < <(mods_closure "$kdir" bcm2835_wdt fat vfat nls_cp437 nls_ascii \
		phy-generic usb-common usbcore roles udc-core dwc2 mii usbnet \
		cdc_ether hid usbhid hid-generic)
	# ctrl-alt-delete reboots as Raspberry Pi OS's systemd does; the
	# shutdown unmounts what it can and leaves / read-only.
	cat >"$root/etc/inittab" <<'EOF'
::sysinit:/etc/init.d/rcS
ttyAMA0::respawn:/bin/getty -L 115200 ttyAMA0 vt100
::ctrlaltdel:/bin/reboot
::shutdown:/bin/sync
::shutdown:/bin/umount -a -r
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
# Raspberry Pi OS's first-boot service for userconf.txt, where its
# package (userconf-pi) puts it: rpifs's status looks for it there.
[ -f /boot/firmware/userconf.txt ] && /usr/lib/userconf-pi/userconf-service
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
	mkdir -p "$root/usr/lib/userconf-pi"
	cat >"$root/usr/lib/userconf-pi/userconf-service" <<'EOF'
#!/bin/sh
# What Raspberry Pi OS's userconf-service (package userconf-pi) does with
# boot/userconf.txt: create or rename the first user (uid 1000) with the
# hashed password, then delete the file.
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
EOF
	chmod 0755 "$root/usr/lib/userconf-pi/userconf-service"
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

	write_boot_tree "$work/boot" "$work/kernel" "$kver" "$work"
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

key=$(cat "$here/bootimg.sh" "$here/images.sh" "$here/debboot.sh" | sha256sum | cut -c1-12)
out=${1:-$CACHE/images/$key/boot.img}
if [ ! -f "$out" ]; then
	mkdir -p "$(dirname "$out")"
	build "$out.tmp"
	mv "$out.tmp.kernel-version" "$out.kernel-version"
	mv "$out.tmp" "$out"
fi
echo "$out"
