#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# make demo: the whole of rpifs on a small image in Raspberry Pi OS's
# layout (Debian's arm64 kernel and a busybox userland, since no Raspberry
# Pi OS image can be downloaded here): resize it, mount it under the
# checkout, write a user through userconf, boot it with run --wait, log in
# over rpifs console, run uname -a and friends, power off, unmount, check
# both partitions. Numbered steps with their times; a failure names the
# step and what to do. The image's inputs are cached (~/.cache/rpifs-test),
# so a second run starts at once.
set -eEuo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
RPIFS=$top/$BUILD/rpifs
demo=$top/demo
mnt=$demo/pi
image=$demo/pi.img
. "$top/tests/lib/images.sh"

step_no=0
step_start=0
step_name=
hint=
demo_start=$(date +%s%N)

ms_since() {
	echo $((($(date +%s%N) - $1) / 1000000))
}

# step TITLE HINT: HINT is what to do when this step fails.
step() {
	step_end
	step_no=$((step_no + 1))
	step_name=$1
	hint=$2
	step_start=$(date +%s%N)
	printf '\n\033[1m== %d. %s\033[0m\n' "$step_no" "$1"
}

step_end() {
	if [ "$step_start" -ne 0 ]; then
		printf '   (%s ms)\n' "$(ms_since "$step_start")"
	fi
	step_start=0
}

indent() {
	sed 's/^/   /'
}

cleanup() {
	if [ -n "${CON_PID:-}" ]; then
		kill "$CON_PID" 2>/dev/null || true
	fi
	if mountpoint -q "$mnt" 2>/dev/null; then
		"$RPIFS" umount "$mnt" 2>/dev/null || true
	fi
}

failed() {
	echo
	echo "demo: step $step_no ($step_name) failed: $hint"
	cleanup
	exit 1
}
trap failed ERR

# ---- talking to the console (rpifs console, driven through a pipe) ----

# expect TEXT [SECONDS]: read the console until TEXT has appeared; what the
# guest says is shown indented (terminal escape sequences left out) and
# kept in $seen.
col=0
seen=
expect() {
	local want=$1 limit=${2:-30} c status esc=0
	local deadline=$((SECONDS + limit))
	seen=
	while [ "$SECONDS" -lt "$deadline" ]; do
		if IFS= read -r -t 1 -n 1 c <&"${CON[0]}"; then
			[ -z "$c" ] && c=$'\n'
			if [ "$esc" = 1 ]; then
				[[ "$c" == [A-Za-z] ]] && esc=0
				continue
			fi
			case $c in
			$'\e') esc=1; continue ;;
			$'\r') continue ;;
			esac
			seen+=$c
			[ "$col" = 0 ] && printf '   | '
			printf '%s' "$c"
			if [ "$c" = $'\n' ]; then col=0; else col=1; fi
			[[ "$seen" == *"$want" ]] && return 0
		else
			status=$?
			# 1: the console closed; above 128: a quiet second.
			[ "$status" -gt 128 ] || { end_line; return 1; }
		fi
	done
	end_line
	printf '   (no "%s" within %d s)\n' "$want" "$limit"
	return 1
}

end_line() {
	if [ "$col" != 0 ]; then
		echo
		col=0
	fi
}

send() {
	printf '%s\n' "$1" >&"${CON[1]}"
}

# ---- the demo ----

mkdir -p "$demo"
if mountpoint -q "$mnt" 2>/dev/null; then
	"$RPIFS" umount "$mnt"
fi

step "build the demo image (Debian arm64 kernel, busybox, Raspberry Pi OS layout)" \
	"it needs Debian's arm64 packages from the machine's apt sources: check that apt-get update works"
src=$(bash "$top/tests/lib/bootimg.sh")
cp --sparse=always "$src" "$image"
echo "   cached in $(dirname "$src"); copied to demo/pi.img ($(du -h --apparent-size "$image" | cut -f1))"

step "rpifs info demo/pi.img" "the image was not built right: remove $(dirname "$src") and run make demo again"
"$RPIFS" info "$image" | indent

step "rpifs resize demo/pi.img 512M --grow-root (a power of two, the space inside the root)" \
	"rpifs resize needs e2fsprogs (e2fsck, resize2fs)"
"$RPIFS" resize "$image" 512M --grow-root | indent

step "rpifs mount demo/pi.img demo/pi" \
	"mounting needs FUSE: /dev/fuse and the fuse3 package"
mkdir -p "$mnt"
"$RPIFS" mount "$image" "$mnt"
(cd "$mnt" && ls -l) | indent

step "echo 'pi:raspberry' > demo/pi/userconf (stored hashed in boot/userconf.txt)" \
	"see the message above; the mount's log is in the journal (rpifs mount -f shows it)"
echo 'pi:raspberry' >"$mnt/userconf"
echo "   userconf: $(cut -c1-40 "$mnt/userconf")..."
echo "   boot/: $(cd "$mnt/boot" && ls | tr '\n' ' ')"

step "cat demo/pi/status (what the next boot will use)" "see the message above"
indent <"$mnt/status"

step "rpifs run demo/pi --wait (touch demo/pi/run does the same, without waiting)" \
	"the guest did not boot: its serial output is in demo/pi/console; QEMU 9 or newer must be installed"
"$RPIFS" run "$mnt" --wait --timeout 180 | indent
echo "   run: $(cat "$mnt/run")"
echo "   the QEMU command rpifs ran: $(sed -n 's/^qemu argv: //p' "$mnt/status")"

step "log in over rpifs console demo/pi, run some commands" \
	"the console did not answer as expected: see the transcript above and demo/pi/console"
coproc CON { exec "$RPIFS" console "$mnt" 2>&1; }
send ''
expect 'login:'
send pi
expect 'Password:'
send raspberry
expect '$ '
send 'uname -a'
expect '$ '
uname_line=$(grep -m1 '^Linux ' <<<"$seen" || true)
send 'cat /etc/os-release'
expect '$ '
send 'head -n 8 /proc/cpuinfo'
expect '$ '
send 'df -h /'
expect '$ '
end_line

step "power off from inside the guest" \
	"the guest did not stop: rpifs stop demo/pi stops it from outside"
# The demo userland's stand-in for sudo poweroff.
send 'poweroff-request'
expect 'reboot: Power down' 60 || true
end_line
eval "exec ${CON[1]}>&-"
wait "$CON_PID" 2>/dev/null || true
CON_PID=
for _ in $(seq 300); do
	case $(cat "$mnt/run") in stopped*) break ;; esac
	sleep 0.1
done
echo "   run: $(cat "$mnt/run")"
case $(cat "$mnt/run") in stopped*) ;; *) false ;; esac
echo "   boot/ again, as the guest left it (userconf.txt was consumed at its first boot):"
echo "   $(cd "$mnt/boot" && ls | tr '\n' ' ')"

step "rpifs umount demo/pi" "something still uses demo/pi: close it and run rpifs umount demo/pi"
"$RPIFS" umount "$mnt"

step "check both partitions (fsck.fat -n, e2fsck -fn)" \
	"a partition is damaged: that is a bug in rpifs, please report it with the output above"
img_extract_part "$image" 1 "$demo/boot.p1"
fsck.fat -n "$demo/boot.p1" | indent
rm -f "$demo/boot.p1"
e2fsck -fn "$image?offset=$(img_part_offset "$image" 2)" 2>&1 | tail -n 1 | indent
step_end

echo
echo "demo: done in $(($(ms_since "$demo_start") / 1000)) s. Try it yourself:"
echo "   $BUILD/rpifs mount demo/pi.img demo/pi && $BUILD/rpifs run demo/pi --wait && $BUILD/rpifs console demo/pi"
echo
echo "the guest's uname -a: $uname_line"
