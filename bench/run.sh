#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# make bench: rpifs side by side with the tools people use instead, on one
# Raspberry Pi OS-layout image, every cell cold (page cache dropped, file
# system mounted afresh) and the median of several runs. Prints one table
# and writes it, with the machine it ran on, to bench/RESULTS.md.
#
#   BENCH_RUNS=N      runs per cell (default 5; 3 for the slow references)
#   BENCH_BOOTS=N     boots each way for the boot row (default 3)
#   BENCH_ONLY="a b"  only these tools (rpifs rpifs-512 rpifs-root raw
#                     kernel fuse2fs mtools fusefat guestmount);
#                     BENCH_NO_BOOT=1 skips the launcher rows
#   BENCH_CAP=S       a cell stops after S seconds (default 40)
#   BENCH_COLD=file   cold drops only the image file from the page cache
#                     (default: the whole page cache, as a user's first
#                     access after a boot)
#
# rpifs is boot/ (FAT, 4 KiB clusters); rpifs-512 is boot/ of a second
# image whose FAT has 512-byte clusters (mkfs.fat's default for a 256 MiB
# partition), the same files; rpifs-root is root/ (ext4 through
# libext2fs) of the same mount, compared in a table of its own with
# fuse2fs, which is libext2fs behind FUSE too, on the same partition.
# kernel is Linux's own ext4 on the image's root partition (a loop
# mount): the limit beside every row.
#
# References: raw (the same byte counts read and written straight on the
# image file), fuse2fs on the ext4 root of the same image (the FUSE
# overhead reference), mtools (no mount), fusefat on a loop device over
# the FAT partition, guestmount when libguestfs is installed (mount time).
# Needs root: dropping caches, loop devices.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
RPIFS=$top/$BUILD/rpifs
W=$top/bench/work
RUNS=${BENCH_RUNS:-5}
SLOW_RUNS=${BENCH_SLOW_RUNS:-3}
BOOTS=${BENCH_BOOTS:-3}
ONLY=${BENCH_ONLY:-rpifs rpifs-512 rpifs-root raw kernel fuse2fs mtools fusefat guestmount}
COLD=${BENCH_COLD:-all}
. "$top/tests/lib/images.sh"

die() { echo "bench: $*" >&2; exit 1; }
say() { printf '%s\n' "$*" >&2; }

[ "$(id -u)" -eq 0 ] || die "run as root (sudo make bench): fusefat needs a loop device, fuse2fs and fusefat mount as root"
[ -x "$RPIFS" ] || die "$RPIFS is missing: run make first"
for t in fio fuse2fs fusefat mcopy losetup mkfs.fat mke2fs sfdisk; do
	command -v "$t" >/dev/null || die "$t is missing: run make bench (it installs fio fuse2fs fusefat mtools)"
done
mkdir -p "$W"
exec 9>"$W/.lock"
flock -n 9 || die "another make bench is running"

# ---------------------------------------------------------------------------
# The image: FAT32 boot partition (512 MiB, 4 KiB clusters) and an ext4 root
# (512 MiB) holding the same file set. Cached in bench/work by version.
IMAGE_VERSION=1
PRISTINE=$W/pristine-v$IMAGE_VERSION.img
PRISTINE512=$W/pristine-v$IMAGE_VERSION-512.img
IMG=$W/bench.img
IMG512=$W/bench-512.img
MNT=$W/mnt
SRC=/dev/shm/rpifs-bench-$$

bench_tree() {
	local d=$1 i n
	rm -rf "$d"
	mkdir -p "$d/overlays"
	printf 'dtparam=audio=on\ncamera_auto_detect=1\nauto_initramfs=1\ndtoverlay=vc4-kms-v3d\narm_64bit=1\n\n[pi4]\narm_boost=1\n\n[all]\n' >"$d/config.txt"
	printf 'console=serial0,115200 console=tty1 root=PARTUUID=%s-02 rootfstype=ext4 fsck.repair=yes rootwait\n' \
		"$IMG_DISK_ID" >"$d/cmdline.txt"
	n=0
	for i in bcm2708-rpi-b bcm2708-rpi-b-plus bcm2708-rpi-b-rev1 bcm2708-rpi-cm \
		bcm2708-rpi-zero bcm2708-rpi-zero-w bcm2709-rpi-2-b bcm2709-rpi-cm2 \
		bcm2710-rpi-2-b bcm2710-rpi-3-b bcm2710-rpi-3-b-plus bcm2710-rpi-cm3 \
		bcm2710-rpi-zero-2 bcm2710-rpi-zero-2-w bcm2711-rpi-4-b bcm2711-rpi-400 \
		bcm2711-rpi-cm4 bcm2711-rpi-cm4-io bcm2711-rpi-cm4s bcm2712-rpi-5-b \
		bcm2712-rpi-500 bcm2712-rpi-cm5-cm5io bcm2712-rpi-cm5-cm4io \
		bcm2712d0-rpi-5-b bcm2712-rpi-cm5l-cm5io; do
		n=$((n + 1))
		img_file "$d/$i.dtb" $((20000 + n * 1600)) "$i"
	done
	for i in $(seq -w 1 250); do
		img_file "$d/overlays/overlay-$i.dtbo" $((1024 + (10#$i * 2039) % 5120)) "ov$i"
	done
	for i in kernel kernel7 kernel7l kernel8 kernel_2712; do
		img_file "$d/$i.img" $((8 * 1024 * 1024 + ${#i} * 4099)) "$i"
	done
	img_file "$d/big.bin" $((64 * 1024 * 1024)) big
}

# build_image OUT SECTORS_PER_CLUSTER
build_image() {
	local out=$1 spc=$2 tmp
	tmp=$W/build
	rm -rf "$tmp"
	mkdir -p "$tmp"
	say "building the benchmark image (once; cached in bench/work)..."
	bench_tree "$tmp/tree"
	img_fat "$tmp/boot.part" 512 32 "$spc" "$tmp/tree"
	mke2fs -q -F -t ext4 -L rootfs -d "$tmp/tree" "$tmp/root.part" 512M >/dev/null
	img_disk_parts "$tmp/disk.img" "$tmp/boot.part" "$tmp/root.part" dos
	mv "$tmp/disk.img" "$out"
	rm -rf "$tmp"
}

[ -f "$PRISTINE" ] || build_image "$PRISTINE" 8
rm -f "$IMG" "$IMG512"
cp --sparse=always "$PRISTINE" "$IMG"
case " $ONLY " in
*" rpifs-512 "*)
	[ -f "$PRISTINE512" ] || build_image "$PRISTINE512" 1
	cp --sparse=always "$PRISTINE512" "$IMG512"
	;;
esac
BOOT_OFF=$(img_part_offset "$IMG" 1)
ROOT_OFF=$(img_part_offset "$IMG" 2)

# Where a file of the FAT partition starts, in bytes from the image's start
# (the raw reads read the same bytes rpifs does).
fat_file_offset() {
	local name=$1 bpb rsv nfats fatsz spc bps first
	bpb=$(od -An -tu1 -j "$BOOT_OFF" -N 48 "$IMG" | tr -s ' \n' ' ')
	set -- $bpb
	bps=$((${12} + ${13} * 256))
	spc=${14}
	rsv=$((${15} + ${16} * 256))
	nfats=${17}
	fatsz=$((${37} + ${38} * 256 + ${39} * 65536 + ${40} * 16777216))
	first=$(mshowfat -i "$IMG@@$BOOT_OFF" "::$name" | sed -n 's/.*<\([0-9]*\)-.*/\1/p' | head -n 1)
	[ -n "$first" ] || die "mshowfat found no clusters for $name"
	echo $((BOOT_OFF + (rsv + nfats * fatsz) * bps + (first - 2) * spc * bps))
}
K8_OFF=$(fat_file_offset kernel8.img)
K8_SIZE=$((8 * 1024 * 1024 + 7 * 4099))	# as bench_tree makes it
BIG_OFF=$(fat_file_offset big.bin)
BIG_SIZE=$((64 * 1024 * 1024))
# Raw writes go to the last 64 MiB of the FAT partition, which the file
# set (about 110 MiB, allocated from the start) leaves free.
RAW_WRITE_OFF=$((BOOT_OFF + 448 * 1024 * 1024))

rm -rf "$SRC"
mkdir -p "$SRC/many"
trap 'cleanup' EXIT
img_bytes $((64 * 1024 * 1024)) write64 >"$SRC/w64.bin"
awk -v d="$SRC/many" 'BEGIN { for (i = 1; i <= 1000; i++) {
	f = sprintf("%s/note-%04d.txt", d, i); printf "small file %d\n", i > f; close(f) } }'

# ---------------------------------------------------------------------------
# The tools. Each has mount/umount and ROOT (where the file set is); raw and
# mtools mount nothing.
ROOT=
LOOP=
DAEMON_PID=

cleanup() {
	set +e
	tool_umount 2>/dev/null
	[ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
	rm -rf "$SRC"
}

wait_gone() {
	local pid=$1
	[ -n "$pid" ] || return 0
	for _ in $(seq 500); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.01; done
	die "daemon $pid did not exit after unmount"
}

# The newest process whose command line starts with $1 (the daemon).
daemon_pid() {
	pgrep -n -f "^$1" || true
}

TOOL=
tool_mount() {
	case $TOOL in
	rpifs)
		"$RPIFS" mount "$IMG" "$MNT"
		ROOT=$MNT/boot
		;;
	rpifs-512)
		"$RPIFS" mount "$IMG512" "$MNT"
		ROOT=$MNT/boot
		;;
	rpifs-root)
		"$RPIFS" mount "$IMG" "$MNT"
		ROOT=$MNT/root
		;;
	kernel)
		mount -t ext4 -o "loop,offset=$ROOT_OFF,sizelimit=$((512 * 1024 * 1024))" "$IMG" "$MNT"
		ROOT=$MNT
		;;
	fuse2fs)
		fuse2fs -o "offset=$ROOT_OFF,fakeroot" "$IMG" "$MNT" >/dev/null
		ROOT=$MNT
		;;
	fusefat)
		LOOP=$(losetup --find --show --offset "$BOOT_OFF" --sizelimit $((512 * 1024 * 1024)) "$IMG")
		fusefat -o rw+ "$LOOP" "$MNT" >/dev/null 2>&1
		ROOT=$MNT
		;;
	guestmount)
		LIBGUESTFS_BACKEND_SETTINGS=force_tcg guestmount -a "$IMG" -m /dev/sda1 "$MNT"
		ROOT=$MNT
		;;
	*) ROOT= ;;
	esac
	# Ready: the first file answers.
	[ -z "$ROOT" ] || stat "$ROOT/config.txt" >/dev/null
}

# The daemon's pid, for its RSS and to wait for its exit (not timed).
tool_pid() {
	case $TOOL in
	rpifs | rpifs-512 | rpifs-root) DAEMON_PID=$(daemon_pid "$RPIFS mount") ;;
	fuse2fs | fusefat) DAEMON_PID=$(daemon_pid "$TOOL") ;;
	*) DAEMON_PID= ;;
	esac
}

fuse_umount() {
	local i
	for i in $(seq 100); do
		fusermount3 -u "$MNT" 2>/dev/null && return 0
		# Busy: a killed command's requests are still being answered.
		sleep 0.1
	done
	fusermount3 -u "$MNT"
}

tool_umount() {
	case $TOOL in
	rpifs | rpifs-512 | rpifs-root) "$RPIFS" umount "$MNT" ;;
	fuse2fs | fusefat | guestmount) fuse_umount ;;
	kernel) umount "$MNT" ;;
	*) return 0 ;;
	esac
	wait_gone "$DAEMON_PID"
	if [ -n "$LOOP" ]; then
		losetup -d "$LOOP"
		LOOP=
	fi
	DAEMON_PID=
}

# Cold: the whole page cache dropped, as at a user's first access after a
# boot (BENCH_COLD=file: only the image file, the programs stay cached);
# the kernel's FUSE caches go with the unmount, a loop device's with its
# detach.
cold() {
	sync
	if [ "$COLD" = file ]; then
		dd if="$1" iflag=nocache count=0 status=none
	else
		echo 3 >/proc/sys/vm/drop_caches
	fi
}

now_us() { echo "${EPOCHREALTIME/./}"; }

# The operations: op_NAME runs on $ROOT (or the image, for raw and mtools);
# prints nothing; its time is the cell. An op that a tool cannot do is
# listed in NA.
M() { mtools_cmd=$1; shift; "$mtools_cmd" -i "$IMG@@$BOOT_OFF" "$@"; }

raw_read() { dd if="$IMG" of=/dev/null bs=1M iflag=skip_bytes,count_bytes skip="$1" count="$2" status=none; }

op_read8() {
	case $TOOL in
	raw) raw_read "$K8_OFF" "$K8_SIZE" ;;
	mtools) M mtype ::kernel8.img >/dev/null ;;
	*) cat "$ROOT/kernel8.img" >/dev/null ;;
	esac
}
op_read64() {
	case $TOOL in
	raw) raw_read "$BIG_OFF" "$BIG_SIZE" ;;
	mtools) M mtype ::big.bin >/dev/null ;;
	*) cat "$ROOT/big.bin" >/dev/null ;;
	esac
}
# fio's own figure (mean latency times the count), without its start-up.
op_rand4k() {
	local file=$ROOT/big.bin off=0 out
	[ "$TOOL" = raw ] && file=$IMG off=$BIG_OFF
	out=$(fio --name=rand --filename="$file" --readonly --rw=randread --bs=4k \
		--offset="$off" --size="$BIG_SIZE" --number_ios=2000 --randrepeat=1 \
		--randseed=7 --ioengine=psync --invalidate=0 --output-format=json)
	python3 -c 'import json, sys
j = json.load(sys.stdin)["jobs"][0]["read"]
print(int(j["lat_ns"]["mean"] * j["total_ios"] / 1000))' <<<"$out" >"$W/cell-us"
}
op_statall() {
	case $TOOL in
	mtools) M mdir -/ -a ::/ >/dev/null ;;
	*) find "$ROOT" -printf '%s %T@\n' >/dev/null ;;
	esac
}
op_du() {
	case $TOOL in
	mtools) M mdu -s ::/ >/dev/null ;;
	*) du -s "$ROOT" >/dev/null ;;
	esac
}
op_lsov() {
	case $TOOL in
	mtools) M mdir ::/overlays >/dev/null ;;
	*) ls -l "$ROOT/overlays" >/dev/null ;;
	esac
}
op_write64() {
	case $TOOL in
	raw) dd if="$SRC/w64.bin" of="$IMG" bs=1M oflag=seek_bytes seek="$RAW_WRITE_OFF" \
		conv=notrunc,fsync status=none ;;
	mtools) M mcopy -o "$SRC/w64.bin" ::w64.bin && sync "$IMG" ;;
	*) dd if="$SRC/w64.bin" of="$ROOT/w64.bin" bs=1M conv=fsync status=none ;;
	esac
}
op_create() {
	case $TOOL in
	mtools) M mcopy -s "$SRC/many" ::many && sync "$IMG" ;;
	*) cp -r "$SRC/many" "$ROOT/many" && sync ;;
	esac
}
op_lsnew() {
	case $TOOL in
	mtools) M mdir ::/many >/dev/null ;;
	*) ls -l "$ROOT/many" >/dev/null ;;
	esac
}
op_delete() {
	case $TOOL in
	mtools) M mdeltree ::many && sync "$IMG" ;;
	*) rm -r "$ROOT/many" && sync ;;
	esac
}
op_cpov() {
	case $TOOL in
	mtools)
		# No copy inside the image: out and back in, as one would.
		rm -rf "$W/ov-out"
		M mcopy -s ::overlays "$W/ov-out" && M mcopy -s "$W/ov-out" ::ov-copy && sync "$IMG"
		;;
	*) cp -r "$ROOT/overlays" "$ROOT/ov-copy" && sync ;;
	esac
}
# Untimed: put the image back as it was for the next run.
tidy() {
	case $TOOL in
	raw) ;;
	mtools)
		M mdel ::w64.bin 2>/dev/null || true
		M mdeltree ::ov-copy 2>/dev/null || true
		rm -rf "$W/ov-out"
		;;
	*) rm -rf "$ROOT/w64.bin" "$ROOT/ov-copy" "$ROOT/many" ;;
	esac
}

OPS="mount read8 read64 rand4k statall du lsov write64 create lsnew delete cpov"
declare -A LABEL=(
	[mount]="mount ready"
	[read8]="read 8 MiB (kernel8.img)"
	[read64]="read 64 MiB"
	[rand4k]="2000 random 4 KiB reads (fio)"
	[statall]="stat every file (find)"
	[du]="du -s"
	[lsov]="ls -l overlays/ (250 files)"
	[write64]="write 64 MiB + fsync"
	[create]="create 1000 files + sync"
	[lsnew]="ls -l of those 1000"
	[delete]="rm -r them + sync"
	[cpov]="cp -r overlays/ + sync"
	[rss]="daemon peak RSS"
	[touchrun]="touch run -> QEMU started"
	[boot]="boot to login: prompt"
)
# What a tool cannot do, or what its row would not mean.
na() {
	case "$1:$2" in
	raw:statall | raw:du | raw:lsov | raw:create | raw:lsnew | raw:delete | raw:cpov) return 0 ;;
	raw:mount | mtools:mount | mtools:rand4k) return 0 ;;
	guestmount:mount) return 1 ;;
	guestmount:*) return 0 ;;
	esac
	return 1
}

declare -A CELLS=() RSS=()
record() { CELLS[$1:$2]+="$3 "; }

# One run of every operation for TOOL, each cold and on a fresh mount.
run_tool() {
	TOOL=$1
	local op t0 t1 hwm many_lost=
	for op in $OPS; do
		na "$TOOL" "$op" && continue
		if [ -n "$many_lost" ]; then
			case $op in lsnew | delete) continue ;; esac
		fi
		cold "$IMG"
		if [ "$op" = mount ]; then
			t0=$(now_us)
			tool_mount
			t1=$(now_us)
			record "$TOOL" mount $((t1 - t0))
			tool_pid
			tool_umount
			continue
		fi
		tool_mount
		tool_pid
		if run_capped "$op"; then
			record "$TOOL" "$op" "$(cat "$W/cell-us")"
		else
			# Over the cap: noted as such; the 1000 files are
			# removed without timing.
			TIMEDOUT[$TOOL:$op]=1
			[ "$op" = create ] && many_lost=1
		fi
		if [ -n "$DAEMON_PID" ]; then
			hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$DAEMON_PID/status")
			[ "${RSS[$TOOL]:-0}" -ge "$hwm" ] || RSS[$TOOL]=$hwm
		fi
		[ "$op" = cpov ] && tidy
		tool_umount
		# A killed mcopy may have written no entry for the folder.
		if [ "$op" = create ] && [ -n "$many_lost" ] &&
			M mdir -b ::many >/dev/null 2>&1; then
			M mdeltree ::many
		fi
	done
}

# Run op_$1 with its own timing in $W/cell-us; give up after the cap
# (BENCH_CAP seconds, default 40: fusefat creates 1000 files in minutes,
# mtools in 9 to 20 s depending on the machine).
CAP_US=$((${BENCH_CAP:-40} * 1000000))
declare -A TIMEDOUT=()
run_capped() {
	local op=$1 pid t0
	rm -f "$W/cell-us"
	(
		t0=$(now_us)
		"op_$op"
		t1=$(now_us)
		[ -s "$W/cell-us" ] || echo $((t1 - t0)) >"$W/cell-us"
	) &
	pid=$!
	t0=$(now_us)
	while kill -0 "$pid" 2>/dev/null; do
		if [ $(($(now_us) - t0)) -gt "$CAP_US" ]; then
			pkill -KILL -P "$pid" 2>/dev/null || true
			kill -KILL "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
			return 1
		fi
		sleep 0.05
	done
	wait "$pid"
}

have_tool() {
	case " $ONLY " in *" $1 "*) ;; *) return 1 ;; esac
	case $1 in
	guestmount) command -v guestmount >/dev/null ;;
	*) return 0 ;;
	esac
}

TOOLS=
for t in rpifs rpifs-512 rpifs-root raw kernel fuse2fs mtools fusefat guestmount; do
	have_tool "$t" && TOOLS+="$t "
done
mkdir -p "$MNT"
mountpoint -q "$MNT" && die "$MNT is still mounted from an earlier run: umount it"
start=$(now_us)
for r in $(seq "$RUNS"); do
	for t in $TOOLS; do
		case $t in
		mtools | fusefat | guestmount) [ "$r" -le "$SLOW_RUNS" ] || continue ;;
		esac
		say "run $r/$RUNS: $t"
		run_tool "$t"
	done
done

# ---------------------------------------------------------------------------
# The launcher: touch run until QEMU is started (a stand-in, bench/stamp.c,
# notes the time and becomes QEMU), and boot to the login prompt through
# rpifs against the same QEMU argument vector run by hand, alternating.
QEMU=$(command -v qemu-system-aarch64 || true)
boot_rows() {
	local bimg=$W/boot.img fixture i t0 t1 stamp argv run_dir qpid
	fixture=$(bash "$top/tests/lib/bootimg.sh" 2>"$W/bootimg.log") ||
		{ say "no boot rows: the boot fixture could not be built (see $W/bootimg.log)"; return 0; }
	cc -O2 -o "$W/stamp" "$top/bench/stamp.c"
	rm -f "$bimg"
	cp --sparse=always "$fixture" "$bimg"
	"$RPIFS" resize "$bimg" 256M >/dev/null
	stamp=$W/stamp.txt
	TOOL=rpifs
	for i in $(seq "$RUNS"); do
		for mode in cold warm; do
			rm -f "$stamp"
			if [ "$mode" = cold ]; then
				RPIFS_QEMU=$W/stamp BENCH_QEMU=$QEMU BENCH_STAMP=$stamp \
					"$RPIFS" mount "$bimg" "$MNT" 2>>"$W/boot-mount.log"
				DAEMON_PID=$(daemon_pid "$RPIFS mount")
				# The launcher asks QEMU its version and machines a
				# second after the mount: a user's first touch run
				# comes later than that. Then the image goes cold.
				sleep 1.5
				cold "$bimg"
			fi
			t0=$(now_us)
			touch "$MNT/run"
			for _ in $(seq 1000); do [ -s "$stamp" ] && break; sleep 0.005; done
			[ -s "$stamp" ] || die "QEMU was not started 5 s after touch run"
			record touchrun "$mode" $(($(head -n 1 "$stamp") / 1000 - t0))
			"$RPIFS" stop "$MNT"
			[ "$mode" = warm ] && tool_umount
		done
	done
	say "boot: through rpifs and by hand, $BOOTS each"
	for i in $(seq "$BOOTS"); do
		# Through rpifs: from touch run to login: in the console log.
		# (The last boot ended with a stop, a power cut for the guest:
		# rpifs warns that the FAT was not cleanly unmounted.)
		"$RPIFS" mount "$bimg" "$MNT" 2>>"$W/boot-mount.log"
		DAEMON_PID=$(daemon_pid "$RPIFS mount")
		t0=$(now_us)
		touch "$MNT/run"
		for _ in $(seq 12000); do grep -qs 'login:' "$MNT/console" && break; sleep 0.01; done
		t1=$(now_us)
		grep -qs 'login:' "$MNT/console" || die "no login prompt through rpifs after 120 s"
		record boot rpifs $((t1 - t0))
		run_dir=$(sed -n 's/^run folder: //p' "$MNT/status")
		"$RPIFS" stop "$MNT"
		tool_umount
		# By hand: the same argument vector, its sockets and log moved.
		mapfile -t argv <"$run_dir/argv"
		for j in "${!argv[@]}"; do
			case ${argv[$j]} in
			socket,id=serial0,*) argv[j]="socket,id=serial0,path=$W/serial,server=on,wait=off,logfile=$W/bare.log" ;;
			unix:*) argv[j]="unix:$W/qmp,server=on,wait=off" ;;
			esac
		done
		rm -f "$W/bare.log" "$W/serial" "$W/qmp"
		t0=$(now_us)
		"${argv[@]}" </dev/null >/dev/null 2>&1 &
		qpid=$!
		# A reader on the serial socket, as rpifs's launcher is: with
		# nobody connected QEMU's socket chardev holds the guest's
		# output back, which would slow the reference.
		python3 - "$W/serial" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
for _ in range(2000):
    try:
        s.connect(sys.argv[1])
        break
    except OSError:
        time.sleep(0.005)
while s.recv(65536):
    pass
PY
		rpid=$!
		for _ in $(seq 12000); do grep -qs 'login:' "$W/bare.log" && break; sleep 0.01; done
		t1=$(now_us)
		grep -qs 'login:' "$W/bare.log" || die "no login prompt by hand after 120 s"
		record boot bare $((t1 - t0))
		kill "$qpid"
		wait "$qpid" 2>/dev/null || true
		wait "$rpid" 2>/dev/null || true
	done
}
if [ -z "${BENCH_NO_BOOT:-}" ] && [ -n "$QEMU" ] && have_tool rpifs; then
	boot_rows
fi
elapsed=$((($(now_us) - start) / 1000000))

# ---------------------------------------------------------------------------
# The table: the median per cell in ms; x = the reference's time over
# rpifs's (above 1, rpifs is faster); for raw, the fraction of the raw limit.
median() {
	tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ v[NR] = $1 } END {
		if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
ms() { awk -v us="$1" 'BEGIN { if (us >= 100000) printf "%.0f", us / 1000; else if (us >= 10000) printf "%.1f", us / 1000; else printf "%.2f", us / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# rpifs's own columns, which have tables of their own.
mine() { case $1 in rpifs | rpifs-512 | rpifs-root) return 0 ;; esac; return 1; }

table() {
	local t op cell r m head sep
	head="| operation | rpifs ms |"
	sep="|---|---:|"
	for t in $TOOLS; do
		mine "$t" && continue
		head+=" $t ms | × |"
		sep+="---:|---:|"
	done
	echo "$head"
	echo "$sep"
	for op in $OPS; do
		r=$(median "${CELLS[rpifs:$op]:-}")
		cell="| ${LABEL[$op]} | $([ -n "$r" ] && ms "$r" || echo —) |"
		for t in $TOOLS; do
			mine "$t" && continue
			m=$(median "${CELLS[$t:$op]:-}")
			if [ -n "${TIMEDOUT[$t:$op]:-}" ] && [ -n "$r" ]; then
				cell+=" > $(ms "$CAP_US") | > $(ratio "$CAP_US" "$r") |"
			elif [ -n "$m" ] && [ -n "$r" ]; then
				cell+=" $(ms "$m") | $(ratio "$m" "$r") |"
			else
				cell+=" — | |"
			fi
		done
		echo "$cell"
	done
	cell="| ${LABEL[rss]} | $([ -n "${RSS[rpifs]:-}" ] && echo "$((RSS[rpifs] / 1024)) MiB" || echo —) |"
	for t in $TOOLS; do
		mine "$t" && continue
		if [ -n "${RSS[$t]:-}" ] && [ -n "${RSS[rpifs]:-}" ]; then
			cell+=" $((RSS[$t] / 1024)) MiB | $(ratio "${RSS[$t]}" "${RSS[rpifs]}") |"
		else
			cell+=" — | |"
		fi
	done
	echo "$cell"
	[ -n "${CELLS[rpifs-512:read8]:-}" ] && side_table rpifs-512 "boot/, 512-byte clusters" "rpifs 512 ms"
	[ -n "${CELLS[rpifs-root:read8]:-}" ] && side_table rpifs-root "root/ (ext4)" "rpifs root/ ms"
	if [ -n "${CELLS[touchrun:cold]:-}" ]; then
		echo
		echo "| launcher | rpifs ms | by hand ms | × |"
		echo "|---|---:|---:|---:|"
		echo "| touch run -> QEMU started, cold | $(ms "$(median "${CELLS[touchrun:cold]}")") | | |"
		echo "| touch run -> QEMU started, warm | $(ms "$(median "${CELLS[touchrun:warm]}")") | | |"
	fi
	if [ -n "${CELLS[boot:rpifs]:-}" ]; then
		r=$(median "${CELLS[boot:rpifs]}")
		m=$(median "${CELLS[boot:bare]}")
		echo "| boot to \`login:\` (touch run vs. the same QEMU command) | $(ms "$r") | $(ms "$m") | $(ratio "$m" "$r") |"
	fi
}

# One of rpifs's other columns against the references that do the same
# work: fuse2fs and the kernel's ext4 (on the root partition), raw.
side_table() {
	local col=$1 title=$2 head=$3 op r m cell t refs=
	for t in raw kernel fuse2fs; do
		case " $TOOLS " in *" $t "*) refs+="$t " ;; esac
	done
	echo
	cell="| $title | $head |"
	for t in $refs; do cell+=" $t ms | × |"; done
	echo "$cell"
	cell="|---|---:|"
	for t in $refs; do cell+="---:|---:|"; done
	echo "$cell"
	for op in $OPS; do
		r=$(median "${CELLS[$col:$op]:-}")
		cell="| ${LABEL[$op]} | $([ -n "$r" ] && ms "$r" || echo —) |"
		for t in $refs; do
			m=$(median "${CELLS[$t:$op]:-}")
			if [ -n "$r" ] && [ -n "$m" ]; then
				cell+=" $(ms "$m") | $(ratio "$m" "$r") |"
			else
				cell+=" — | |"
			fi
		done
		echo "$cell"
	done
	# Peak RSS: only the FUSE daemons have one.
	if [ -n "${RSS[$col]:-}" ] && [ -n "${RSS[fuse2fs]:-}" ]; then
		cell="| ${LABEL[rss]} | $((RSS[$col] / 1024)) MiB |"
		for t in $refs; do
			if [ "$t" = fuse2fs ]; then
				cell+=" $((RSS[fuse2fs] / 1024)) MiB | $(ratio "${RSS[fuse2fs]}" "${RSS[$col]}") |"
			else
				cell+=" — | |"
			fi
		done
		echo "$cell"
	fi
}

machine() {
	local cpu mem
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	mem=$(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); took ${elapsed} s"
	echo "- machine: $(uname -srm); ${cpu:-unknown CPU}, $(nproc) CPUs, $mem RAM"
	echo "- image file on: $(df -T "$W" | awk 'NR == 2 { print $2 }') ($(findmnt -no SOURCE --target "$W" | head -n 1))"
	echo "- rpifs $("$RPIFS" --version | head -n 1 | awk '{ print $NF }') ($(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)); fuse2fs $(dpkg-query -W -f='${Version}' fuse2fs 2>/dev/null); fusefat $(dpkg-query -W -f='${Version}' fusefat 2>/dev/null); mtools $(dpkg-query -W -f='${Version}' mtools 2>/dev/null); fio $(fio --version); QEMU $("$QEMU" -version 2>/dev/null | head -n 1 | awk '{ print $4 }')"
	echo "- runs per cell: $RUNS (mtools, fusefat, guestmount: $SLOW_RUNS); boots each way: $BOOTS"
	command -v guestmount >/dev/null || echo "- guestmount: not installed (libguestfs-tools), so not measured"
}

report=$(table)
echo
echo "$report"
{
	cat <<'HDR'
# rpifs benchmark results

Written by `make bench` (bench/run.sh). One Raspberry Pi OS-layout image:
a FAT32 boot partition of 512 MiB with 4 KiB clusters (25 dtbs of 20-60 KB,
`overlays/` with 250 files of 1-6 KB, five kernels of 8 MiB, `big.bin` of
64 MiB) and a 512 MiB ext4 root holding the same files; a second image the
same but for 512-byte clusters in its FAT (mkfs.fat's default for a
256 MiB partition), measured through rpifs alone. Every cell is cold:
`sync`, the whole page cache dropped (`echo 3 > /proc/sys/vm/drop_caches`:
the programs too, as at a user's first access after a boot;
`BENCH_COLD=file` drops only the image file) and a fresh mount (raw and
mtools mount nothing); the figure is the median of the runs, in ms.

`×` is the reference's time divided by rpifs's: above 1, rpifs is faster.
In the raw column it is the fraction of the raw limit rpifs reaches (raw:
the same bytes read with `dd bs=1M` straight from the image file at the
file's offset; writes to free space of the partition with `conv=fsync`).
kernel is Linux's own ext4 on the image's root partition (a loop mount;
the same files): the limit for every row. fuse2fs works on the same ext4
root: the FUSE overhead reference for `boot/`, and the reference of the
`root/` table, where rpifs's `root/` (the same ext4 root, through
libext2fs as fuse2fs) does the same work. mtools works without a mount
(`mtype`, `mdir -/`, `mdu`, `mcopy`, `mdeltree`; `cp -r` is `mcopy` out
and back in). fusefat runs on a loop device over the FAT partition. `+
sync` means the time includes a `sync` (of the image file, for mtools).
The random reads are fio's own figure (mean latency times 2000), without
its start-up. RSS is the daemon's VmHWM over the runs. A cell over the cap
(BENCH_CAP, 40 s by default) is stopped and shown as `>`; when creating
the 1000 files does not finish, the two rows after it are not measured
for that tool.

The launcher rows: `touch run` until QEMU is executed (bench/stamp.c
stands in for QEMU, notes the time and becomes it) on the boot fixture
(31 MiB kernel, 1.5 MiB initramfs): cold (mounted 1.5 s before, then the
page cache dropped; the kernel is read from disk, and an earlier run
folder holding the same kernel is linked, not written again) and warm (a
second boot right after). Then from `touch run` until the console shows
`login:`, against the argument vector rpifs used (from its run folder)
started by hand, with a reader on its serial socket (as the launcher is)
and the same polling, alternating.

HDR
	echo "$report"
	echo
	echo "## The machine"
	echo
	machine
} >"$top/bench/RESULTS.md"
echo
echo "wrote bench/RESULTS.md (${elapsed} s)"
