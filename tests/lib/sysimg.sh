#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# sysimg.sh [OUT]: build (once; cached) the system fixture: a Debian arm64
# system with systemd and openssh in Raspberry Pi OS's layout, which boots
# under qemu-system-aarch64 (raspi4b, raspi3b) through rpifs. Prints the
# image's path; a failure says why in one line on stderr and exits
# non-zero, with the build's log in $CACHE/logs.
#
# - boot partition (FAT32, label bootfs): as the busybox fixture's
#   (debboot.sh): Debian's arm64 kernel as kernel8.img, the busybox
#   initramfs that loads the SD card and ext4 modules, Debian's upstream
#   device trees unmodified, config.txt and cmdline.txt as Raspberry Pi OS
#   has them;
# - root partition (ext4, label rootfs, bookworm's default ext4 features):
#   mmdebstrap --variant=minbase with systemd, udev, openssh-server
#   (installed, not enabled), systemd-networkd with DHCP on every en*/eth*
#   interface (usb-net is enx...), the kernel's modules with their
#   modules.dep (unpacked on this machine, not installed by dpkg: the
#   kernel package's initramfs hooks were most of the build's time), no
#   time sync and no apt or man-db timers (a guest here reaches nothing),
#   the magic SysRq key on, hostname rpifs-sys, /etc/fstab by PARTUUID.
#   No user until userconf.txt supplies one; root is locked.
# - for QEMU's sake only: cdc_subset (which takes usb-net from cdc_ether)
#   and the drivers for hardware QEMU's boards lack are blacklisted, and
#   systemd waits 300 s, not 90, for a device or a service.
#
# What imitates Raspberry Pi OS, and why: rpifs tells from an image's own
# files what its first boot will do with boot/userconf.txt and boot/ssh,
# by the paths Raspberry Pi OS installs, so the fixture has units at those
# paths that do the same (written here, not copied):
#   /lib/systemd/system/userconfig.service and /usr/lib/userconf-pi/
#     userconf-service (package userconf-pi): if the boot partition holds
#     userconf.txt (or userconf) with "user:password" (a crypt hash or
#     plain text), create the first user (uid 1000) or rename it, set the
#     password, give it sudo without a password as Raspberry Pi OS does,
#     and delete the file;
#   /lib/systemd/system/sshswitch.service and /usr/lib/raspberrypi-sys-mods/
#     sshswitch (package raspberrypi-sys-mods): if the boot partition holds
#     ssh or ssh.txt, delete it, then enable and start ssh.
# (/lib is /usr/lib on bookworm, so the units are in /usr/lib/systemd/system.)
# The boot partition's layout and files imitate Raspberry Pi OS for the
# same reason (see debboot.sh).
#
# Needs root (mmdebstrap's root mode) and qemu-aarch64 in binfmt_misc, to
# run the arm64 packages' maintainer scripts; installs what is missing
# with apt from the machine's configured sources, whose Debian entries
# are also what the image is built from. Downloads are cached under
# $RPIFS_TEST_CACHE (default ~/.cache/rpifs-test): the kernel and busybox
# as for bootimg.sh, and every .deb mmdebstrap fetched, so a rebuild
# after a change here downloads only the package indexes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC2034 # for debboot.sh's messages
FIXTURE=sysimg
. "$here/images.sh"
. "$here/debboot.sh"

HOST_TOOLS="mmdebstrap qemu-user-static binfmt-support arch-test dosfstools
mtools fdisk e2fsprogs cpio gzip kmod util-linux"
PACKAGES=(systemd systemd-sysv udev dbus libpam-systemd openssh-server
	iproute2 kmod sudo e2fsprogs dosfstools procps netbase)
MASKED=(systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer
	man-db.timer)
ROOT_UUID=5eedc0de-0000-4000-8000-000000000012
ROOT_HASH_SEED=5eedc0de-0000-4000-8000-000000000013

LOG=
fail() {
	echo "sysimg: $*${LOG:+ (log: $LOG)}" >&2
	exit 1
}

# Run a build step with its output in the log; on failure say which. The
# step runs as a job of its own so that set -e holds inside it (not in the
# caller's shell: what it sets is lost).
step() {
	local what=$1
	shift
	printf '\n== %s: %s\n' "$(date +%T)" "$what" >>"$LOG"
	"$@" >>"$LOG" 2>&1 &
	wait $! || fail "$what failed"
}

installed() {
	dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q ' installed$'
}

need_tools() {
	local p missing=""
	for p in $HOST_TOOLS; do
		installed "$p" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	command -v apt-get >/dev/null ||
		fail "missing:$missing, and this is not a Debian system to install them on"
	[ "$(id -u)" = 0 ] || fail "missing:$missing; installing them needs root"
	# shellcheck disable=SC2086
	{ DEBIAN_FRONTEND=noninteractive apt-get -q update &&
		DEBIAN_FRONTEND=noninteractive apt-get -q -y -o Dpkg::Use-Pty=0 \
			install --no-install-recommends $missing; } >>"$LOG" 2>&1 ||
		fail "apt-get install$missing failed"
}

aarch64_registered() {
	[ "$(head -n 1 /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null)" = enabled ]
}

# The arm64 packages' maintainer scripts run under qemu-aarch64-static,
# which the kernel starts through binfmt_misc. qemu-user-static registers
# it when systemd (systemd-binfmt) or binfmt-support runs at boot; on a
# machine booted without either, or installed just now, do it here.
need_binfmt() {
	aarch64_registered && return 0
	[ -d /proc/sys/fs/binfmt_misc ] ||
		fail "this kernel has no binfmt_misc (no /proc/sys/fs/binfmt_misc): it cannot run arm64 maintainer scripts under qemu-aarch64-static; load the binfmt_misc module"
	if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
		mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc >>"$LOG" 2>&1 ||
			fail "cannot mount binfmt_misc on /proc/sys/fs/binfmt_misc (a container without that privilege?): qemu-aarch64 must be registered there to build an arm64 root"
	fi
	update-binfmts --enable qemu-aarch64 >>"$LOG" 2>&1 || true
	aarch64_registered ||
		fail "qemu-aarch64 is not enabled in /proc/sys/fs/binfmt_misc and could not be registered (update-binfmts --enable qemu-aarch64 failed)"
	arch-test arm64 >>"$LOG" 2>&1 ||
		fail "qemu-aarch64 is registered but arm64 programs do not run (arch-test arm64 failed)"
}

# The machine's configured Debian entries for the release and its updates
# and security suites, one-line style, for mmdebstrap: no mirror is named
# here.
debian_sources() {
	local codename=$1
	# shellcheck disable=SC2016 # apt's own $(FIELD) syntax
	apt-get indextargets --format '$(TARGET_OF) $(REPO_URI) $(RELEASE) $(COMPONENT)' \
		'Identifier: Packages' 2>/dev/null |
		awk -v c="$codename" '$1 == "deb" && $4 == "main" &&
			($3 == c || $3 == c "-updates" || $3 == c "-security") {
			print "deb " $2 " " $3 " main" }' | sort -u
}

# Files of the root that are the fixture's own: write_overlay DIR
write_overlay() {
	local o=$1
	mkdir -p "$o/etc/systemd/network" "$o/etc/sysctl.d" \
		"$o/usr/lib/systemd/system" "$o/usr/lib/systemd/system-preset" \
		"$o/usr/lib/userconf-pi" "$o/usr/lib/raspberrypi-sys-mods" \
		"$o/boot/firmware"
	echo rpifs-sys >"$o/etc/hostname"
	cat >"$o/etc/hosts" <<'EOF'
127.0.0.1	localhost
::1		localhost ip6-localhost ip6-loopback
ff02::1		ip6-allnodes
ff02::2		ip6-allrouters

127.0.1.1	rpifs-sys
EOF
	cat >"$o/etc/fstab" <<EOF
proc            /proc           proc    defaults          0       0
PARTUUID=$IMG_DISK_ID-01  /boot/firmware  vfat    defaults          0       2
PARTUUID=$IMG_DISK_ID-02  /               ext4    defaults,noatime  0       1
EOF
	cat >"$o/etc/systemd/network/20-wired.network" <<'EOF'
# Every wired interface by DHCP: usb-net (QEMU's -device usb-net, the
# emulated boards' only network) is enx<MAC>, a Pi's own Ethernet eth0.
[Match]
Name=en* eth*

[Network]
DHCP=ipv4
EOF
	cat >"$o/etc/sysctl.d/90-sysrq.conf" <<'EOF'
# Every magic SysRq function (an orderly stop from the serial console).
kernel.sysrq = 1
EOF
	mkdir -p "$o/etc/modprobe.d" "$o/etc/systemd/system.conf.d"
	cat >"$o/etc/modprobe.d/rpifs-fixture.conf" <<'EOF'
# QEMU's usb-net has the ids of Linux's USB Ethernet gadget, which
# cdc_subset claims too: leave it to cdc_ether (built into Raspberry Pi
# OS's kernel, so there it always wins), whose interface is enx<MAC>.
blacklist cdc_subset
# What QEMU's raspi boards do not emulate (VideoCore services and the
# camera and audio on them, the GPU, Wi-Fi): each of these takes seconds
# to load under TCG, and then fails.
blacklist vchiq
blacklist vc4
blacklist v3d
blacklist brcmfmac
EOF
	cat >"$o/etc/systemd/system.conf.d/rpifs-fixture.conf" <<'EOF'
# An emulated board on a busy machine can take minutes to boot: wait
# longer than systemd's 90 s for a device (the boot partition) or a
# service before giving up and going to emergency mode.
[Manager]
DefaultTimeoutStartSec=300s
DefaultDeviceTimeoutSec=300s
EOF
	# mmdebstrap leaves /etc/machine-id empty, so the first boot applies
	# the presets: keep ssh off until boot/ssh asks for it.
	cat >"$o/usr/lib/systemd/system-preset/10-rpifs-fixture.preset" <<'EOF'
disable ssh.service
disable ssh.socket
disable systemd-networkd-wait-online.service
EOF

	cat >"$o/usr/lib/systemd/system/userconfig.service" <<'EOF'
# The fixture's first-user setup, named and placed as Raspberry Pi OS's
# (package userconf-pi): boot/userconf.txt gives the first user.
[Unit]
Description=First user from userconf.txt on the boot partition
ConditionPathExists=|/boot/firmware/userconf.txt
ConditionPathExists=|/boot/firmware/userconf
RequiresMountsFor=/boot/firmware
Before=systemd-user-sessions.service ssh.service

[Service]
Type=oneshot
ExecStart=/usr/lib/userconf-pi/userconf-service
StandardOutput=journal+console

[Install]
WantedBy=multi-user.target
EOF
	cat >"$o/usr/lib/userconf-pi/userconf-service" <<'EOF'
#!/bin/sh
# The fixture's first-user setup, at the path of Raspberry Pi OS's own
# (package userconf-pi), doing what it does without its dialog: the first
# line of userconf.txt (or userconf) on the boot partition is
# user:password, the password a crypt hash or plain text; the first user
# (uid 1000) is created, or renamed, and given the password and sudo
# without a password; then the file is deleted.
set -eu
fw=/boot/firmware
for f in "$fw/userconf.txt" "$fw/userconf"; do
	[ -f "$f" ] || continue
	line=$(head -n 1 "$f" | tr -d '\r')
	user=${line%%:*}
	pass=${line#*:}
	if [ "$user" = "$line" ] || [ -z "$pass" ] || [ "$user" = root ] ||
		! printf '%s\n' "$user" | grep -Eqx '[a-z][a-z0-9-]{0,31}'; then
		echo "userconf: ${f##*/} does not start with a valid user:password line; not applied" >&2
		exit 1
	fi
	old=$(getent passwd 1000 | cut -d: -f1) || old=
	if [ -z "$old" ]; then
		groups=
		for g in adm dialout cdrom sudo audio video plugdev games users input render netdev; do
			getent group "$g" >/dev/null && groups=${groups:+$groups,}$g
		done
		useradd --create-home --uid 1000 --user-group --shell /bin/bash \
			--groups "$groups" "$user"
		echo "userconf: created user $user (uid 1000)"
	elif [ "$old" != "$user" ]; then
		usermod --login "$user" --home "/home/$user" --move-home "$old"
		if getent group "$old" >/dev/null; then
			groupmod --new-name "$user" "$old"
		fi
		echo "userconf: renamed user $old to $user"
	fi
	case $pass in
	'$'*) printf '%s:%s\n' "$user" "$pass" | chpasswd --encrypted ;;
	*) printf '%s:%s\n' "$user" "$pass" | chpasswd ;;
	esac
	printf '%s ALL=(ALL) NOPASSWD: ALL\n' "$user" >/etc/sudoers.d/010_pi-nopasswd
	chmod 0440 /etc/sudoers.d/010_pi-nopasswd
	rm -f "$f"
	sync
	echo "userconf: password of $user set from ${f##*/}, which is deleted"
	exit 0
done
EOF
	cat >"$o/usr/lib/systemd/system/sshswitch.service" <<'EOF'
# The fixture's ssh switch, named and placed as Raspberry Pi OS's (package
# raspberrypi-sys-mods): boot/ssh turns ssh on.
[Unit]
Description=Turn on ssh if /boot/firmware/ssh is present
ConditionPathExists=|/boot/firmware/ssh
ConditionPathExists=|/boot/firmware/ssh.txt
RequiresMountsFor=/boot/firmware

[Service]
Type=oneshot
ExecStart=/usr/lib/raspberrypi-sys-mods/sshswitch
StandardOutput=journal+console

[Install]
WantedBy=multi-user.target
EOF
	cat >"$o/usr/lib/raspberrypi-sys-mods/sshswitch" <<'EOF'
#!/bin/sh
# The fixture's ssh switch, at the path of Raspberry Pi OS's own (package
# raspberrypi-sys-mods): ssh or ssh.txt on the boot partition enables and
# starts ssh, and is deleted.
set -eu
found=
for f in /boot/firmware/ssh /boot/firmware/ssh.txt; do
	[ -e "$f" ] && found="$found $f"
done
[ -n "$found" ] || exit 0
systemctl enable --now --no-block ssh.service
# shellcheck disable=SC2086
rm -f $found
sync
echo "sshswitch: ssh enabled and started"
EOF
	chmod 0755 "$o/usr/lib/userconf-pi/userconf-service" \
		"$o/usr/lib/raspberrypi-sys-mods/sshswitch"
}

# Run in the new root by mmdebstrap (customize hook): units on and off.
CUSTOMIZE='set -e
systemctl enable systemd-networkd.service userconfig.service sshswitch.service
systemctl disable ssh.service systemd-networkd-wait-online.service
systemctl mask '"${MASKED[*]}"'
sed -i "/^force-unsafe-io/d" /etc/dpkg/dpkg.cfg.d/99mmdebstrap'

# Each line of the input with the time before it (for the log).
stamp() {
	local line
	while IFS= read -r line; do
		printf '%(%T)T %s\n' -1 "$line"
	done
}

build_root() {
	local tree=$1 codename=$2 overlay=$3 sources=$4
	local debcache=$CACHE/mmdebstrap/$codename-arm64
	mkdir -p "$debcache"
	# shellcheck disable=SC2016 # "$1" is the hook's argument
	mmdebstrap --mode=root --arch=arm64 --variant=minbase \
		--include="$(IFS=,; echo "${PACKAGES[*]}")" \
		--aptopt='Acquire::Languages "none"' \
		--dpkgopt=force-unsafe-io \
		--dpkgopt='path-exclude=/usr/share/man/*' \
		--dpkgopt='path-exclude=/usr/share/info/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		--dpkgopt='path-include=/usr/share/locale/locale.alias' \
		--dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-include=/usr/share/doc/*/copyright' \
		--skip=essential/unlink \
		--setup-hook='mkdir -p "$1/var/cache/apt/archives"' \
		--setup-hook="sync-in $debcache /var/cache/apt/archives/" \
		--customize-hook="sync-out /var/cache/apt/archives $debcache" \
		--customize-hook="sync-in $overlay /" \
		--customize-hook='chroot "$1" sh -c '"'$CUSTOMIZE'" \
		"$codename" "$tree" - <"$sources" 2>&1 | stamp
}

build() {
	local out=$1 codename=$2 work tree kver size_mib
	work=$(mktemp -d "${TMPDIR:-/tmp}/sysimg.XXXXXX")
	# The tree's /proc and /dev are mounted while mmdebstrap runs; it
	# unmounts them itself, also when it fails.
	trap 'rm -rf --one-file-system "$work"; trap - RETURN' RETURN
	tree=$work/root

	fetch_debs >>"$LOG" 2>&1 || true
	if [ ! -f "${KERNEL_DEB:-}" ] || [ ! -f "${BUSYBOX_DEB:-}" ]; then
		fail "could not fetch Debian's arm64 kernel and busybox-static"
	fi
	step "unpacking the kernel" dpkg -x "$KERNEL_DEB" "$work/kernel"
	step "unpacking busybox" dpkg -x "$BUSYBOX_DEB" "$work/busybox"
	kver=$(ls "$work/kernel/lib/modules")

	debian_sources "$codename" >"$work/sources.list"
	[ -s "$work/sources.list" ] ||
		fail "the machine's apt sources have no Debian '$codename' main entry to build from"
	write_overlay "$work/overlay"
	step "mmdebstrap (arm64, $codename)" build_root "$tree" "$codename" \
		"$work/overlay" "$work/sources.list"

	# The kernel's modules, not the kernel package: its image is on the
	# boot partition and its hooks (initramfs-tools) are not wanted.
	[ -d "$tree/lib/modules" ] || mkdir -p "$tree/lib/modules"
	step "copying the kernel's modules" cp -a "$work/kernel/lib/modules/$kver" "$tree/lib/modules/"
	step "depmod" depmod -b "$tree" "$kver"
	[ -s "$tree/lib/modules/$kver/modules.dep" ] || fail "depmod wrote no modules.dep"
	# Nothing in the image names this machine's mirror or resolver.
	rm -f "$tree/etc/resolv.conf" "$tree/etc/apt/sources.list"
	rm -rf "$tree/etc/apt/sources.list.d"
	mkdir -p "$tree/etc/apt/sources.list.d"

	step "writing the boot partition's files" write_boot_tree "$work/boot" "$work/kernel" "$kver" "$work"
	step "making the boot partition" img_fat "$work/boot.p1" 128 32 1 "$work/boot" bootfs
	# The tree plus a quarter, and 128 MiB more for the tests' writes.
	size_mib=$(($(du -s -B 1M "$tree" | cut -f1) * 5 / 4 + 128))
	step "making the root partition (${size_mib} MiB)" \
		mke2fs -q -F -t ext4 -L rootfs -U "$ROOT_UUID" -E "hash_seed=$ROOT_HASH_SEED" \
		-d "$tree" "$work/root.img" "${size_mib}M"
	step "assembling the image" img_disk_parts "$out" "$work/boot.p1" "$work/root.img"
	echo "$kver" >"$out.kernel-version"
}

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
key=$({ cat "$here/sysimg.sh" "$here/debboot.sh" "$here/images.sh"; echo "$codename"; } |
	sha256sum | cut -c1-12)
out=${1:-$CACHE/images/$key/sys.img}
if [ -f "$out" ]; then
	echo "$out"
	exit 0
fi

mkdir -p "$CACHE/logs" "$(dirname "$out")"
LOG=$CACHE/logs/sysimg-$key.log
exec 9>"$CACHE/sysimg-$key.lock"
flock 9
if [ ! -f "$out" ]; then
	: >"$LOG"
	[ -n "$codename" ] || fail "no VERSION_CODENAME in /etc/os-release: not a Debian release to build from"
	[ "$(id -u)" = 0 ] || fail "building the system fixture needs root (mmdebstrap's root mode, binfmt_misc)"
	need_tools
	need_binfmt
	start=$(date +%s)
	build "$out.tmp" "$codename"
	mv "$out.tmp.kernel-version" "$out.kernel-version"
	mv "$out.tmp" "$out"
	printf '\n== built in %d s: %s\n' $(($(date +%s) - start)) "$out" >>"$LOG"
fi
echo "$out"
