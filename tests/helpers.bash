# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Shared by the bats suites: finding the binary and the fixtures, mounting
# through real FUSE, checking partitions with fsck.fat and mtools, and
# poking damage into images.

: "${RPIFS:=$BATS_TEST_DIRNAME/../build/rpifs}"
export MTOOLS_SKIP_CHECK=1
export TZ=UTC

. "$BATS_TEST_DIRNAME/lib/images.sh"

fixtures() {
	if [ -z "${RPIFS_FIXTURES:-}" ]; then
		RPIFS_FIXTURES=$(bash "$BATS_TEST_DIRNAME/lib/fixtures.sh")
		export RPIFS_FIXTURES
	fi
	echo "$RPIFS_FIXTURES"
}

# Skip (saying why) when this machine cannot mount FUSE.
require_fuse() {
	if [ ! -c /dev/fuse ]; then
		skip "no /dev/fuse on this machine: mount tests need FUSE"
	fi
	if [ ! -w /dev/fuse ]; then
		skip "/dev/fuse is not writable by $(id -un): mount tests need FUSE access"
	fi
	if [ "$(id -u)" != 0 ] && ! command -v fusermount3 >/dev/null; then
		skip "no fusermount3 (package fuse3): mount tests need it"
	fi
}

# A private copy of a fixture image: copy_fixture NAME DEST
copy_fixture() {
	cp --sparse=always "$(fixtures)/$1" "$2"
}

# mount_rpifs IMAGE DIR [rpifs mount options...]
# A guest a test boots reaches nothing off this machine: unless the test
# chooses the network itself (a net= option), the mount gets
# net=restricted (QEMU's restrict=on: the guest reaches only what is
# forwarded to it, and it is never forwarded anything but 127.0.0.1).
mount_rpifs() {
	local image=$1 dir=$2 net=(-o net=restricted)
	shift 2
	[[ " $* " == *net=* ]] && net=()
	mkdir -p "$dir"
	"$RPIFS" mount "${net[@]}" "$@" "$image" "$dir"
}

umount_rpifs() {
	if mountpoint -q "$1"; then
		"$RPIFS" umount "$1"
	fi
}

# Partition N of IMAGE as a file, for fsck.fat and mtools.
part_file() {
	local image=$1 n=$2 out=$3
	img_extract_part "$image" "$n" "$out"
}

# e2fsck -fn on a copy of IMAGE's root partition (2), after replaying
# its journal as the kernel would at the next mount: rpifs stop ends QEMU
# with QMP quit (raspi boards have no power button a guest could act on),
# which leaves the guest's ext4 as a power cut would, with metadata still
# only in the journal; a read-only check alone reports that as errors.
e2fsck_root() {
	local image=$1 p
	p="$BATS_TEST_TMPDIR/root.p2"
	part_file "$image" 2 "$p"
	run e2fsck -E journal_only -y "$p"
	echo "$output"
	[ "$status" -le 1 ] || return 1
	e2fsck -fn "$p"
}

# Partition 2 of IMAGE as an orderly shutdown leaves it: no journal to
# replay, and e2fsck -fn finds nothing.
root_clean() {
	local image=$1 p
	p="$BATS_TEST_TMPDIR/root.p2"
	part_file "$image" 2 "$p"
	dumpe2fs -h "$p" 2>/dev/null | not grep -q needs_recovery
	e2fsck -fn "$p"
}

# fsck.fat -n on partition 1 of IMAGE; prints its report, fails unless clean.
# With --after-power-cut (a guest ended by rpifs stop: the raspi boards have
# no power button), the dirty flag the guest's kernel set when it mounted
# the partition, which rpifs leaves set as Linux does, and the boot
# sector's backup differing in it, are the only complaints allowed.
fsck_boot() {
	local image=$1 mode=${2:-} p report
	p=$(mktemp)
	part_file "$image" 1 "$p"
	run fsck.fat -n "$p"
	rm -f "$p"
	echo "$output"
	report=$output
	if [ "$mode" = --after-power-cut ]; then
		# fsck.fat -n exits 1 for the dirty flag alone; the text decides.
		[ "$status" -le 1 ] || return 1
		report=$(grep -vE 'Dirty bit is set|Automatically removing dirty bit|differences between boot sector and its backup|mostly harmless|^ *(65|37):01/00$|Not automatically fixing' <<<"$output")
	else
		[ "$status" -eq 0 ] || return 1
	fi
	# fsck.fat -n exits 0 even when it would change something.
	if grep -qiE 'dirty bit|differ|lost|cross|truncat|free cluster summary|orphan|invalid|bad' <<<"$report"; then
		return 1
	fi
}

# The first cluster of a file, as mtools sees it: first_cluster PART PATH
first_cluster() {
	mshowfat -i "$1" "::/$2" | sed -n 's/.*<\([0-9]*\).*/\1/p'
}

# Little-endian integer of N bytes at byte OFFSET of FILE.
le_at() {
	local file=$1 off=$2 n=$3
	od -An -t "u$n" -j "$off" -N "$n" --endian=little "$file" | tr -d ' '
}

# Write a little-endian integer of N bytes at OFFSET of FILE.
poke_le() {
	local file=$1 off=$2 n=$3 value=$4 bytes="" i
	for ((i = 0; i < n; i++)); do
		bytes+=$(printf '\\x%02x' $(((value >> (8 * i)) & 0xff)))
	done
	printf "$bytes" | dd of="$file" bs=1 seek="$off" conv=notrunc status=none
}

# Set FAT32 entry CLUSTER to VALUE in every FAT copy of the FAT32 volume
# at byte BASE of FILE.
poke_fat32() {
	local file=$1 base=$2 cluster=$3 value=$4
	local bps reserved fats fatsz copy
	bps=$(le_at "$file" $((base + 11)) 2)
	reserved=$(le_at "$file" $((base + 14)) 2)
	fats=$(le_at "$file" $((base + 16)) 1)
	fatsz=$(le_at "$file" $((base + 36)) 4)
	for ((copy = 0; copy < fats; copy++)); do
		poke_le "$file" $((base + (reserved + copy * fatsz) * bps + cluster * 4)) 4 "$value"
	done
}

# Sorted relative paths under DIR (directories end with /).
tree_listing() {
	(cd "$1" && find . -mindepth 1 \( -type d -printf '%P/\n' \) -o -printf '%P\n') | LC_ALL=C sort
}

# The same from mtools for a FAT partition file.
mtools_listing() {
	mdir -/ -a -b -i "$1" :: | sed 's|^::/||' | LC_ALL=C sort
}

# Unmount whatever a test left mounted under its temporary directory.
# not CMD...: succeeds when CMD fails. Under bats a bare "! CMD" never
# fails a test (set -e ignores a negated command), so checks use this.
not() {
	! "$@"
}

# Unmount every rpifs mount under DIR (default: this test's folder), so
# that bats's removal of its folders never walks into an image.
cleanup_mounts() {
	local m under=${1:-$BATS_TEST_TMPDIR}
	for m in $(awk -v t="$under" '$3 == "fuse.rpifs" && index($2, t) == 1 { print $2 }' /proc/mounts); do
		"$RPIFS" umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
}

teardown() {
	cleanup_mounts
}

teardown_file() {
	cleanup_mounts "$BATS_FILE_TMPDIR"
}

# A fresh private copy of fixture NAME mounted at $BATS_TEST_TMPDIR/NAME;
# sets IMG (the image), MNT (the mount) and B (its boot/).
fresh() {
	local name=$1
	shift
	IMG=$BATS_TEST_TMPDIR/$name.img
	MNT=$BATS_TEST_TMPDIR/$name
	B=$MNT/boot
	copy_fixture "$name.img" "$IMG"
	mount_rpifs "$IMG" "$MNT" "$@"
}

# What a tree holds: directories, files with sizes and checksums.
tree_snapshot() {
	(cd "$1" && find . -mindepth 1 -type d -printf '%P/\n' | LC_ALL=C sort &&
		find . -type f -printf '%P\n' | LC_ALL=C sort | while IFS= read -r f; do
			printf '%s %s %s\n' "$f" "$(stat -c %s "$f")" "$(sha256sum <"$f" | cut -c1-16)"
		done)
}

# Unmount the fresh() mount; fsck.fat -n must find the partition clean and
# mtools must read back exactly what the mount showed.
finish() {
	local before after p out
	# mtools 4.0 shows each character outside the BMP as "__".
	before=$(tree_snapshot "$B" | perl -CS -pe 's/[^\x{0}-\x{FFFF}]/__/g' | LC_ALL=C sort)
	umount_rpifs "$MNT"
	fsck_boot "$IMG"
	p=$BATS_TEST_TMPDIR/check.p1
	out=$BATS_TEST_TMPDIR/check.out
	part_file "$IMG" 1 "$p"
	rm -rf "$out"
	mkdir -p "$out"
	if [ -n "$(mdir -b -a -i "$p" ::)" ]; then
		mcopy -s -n -i "$p" '::/*' "$out/"
	fi
	after=$(tree_snapshot "$out" | LC_ALL=C sort)
	diff <(echo "$before") <(echo "$after")
}

# Run a test body once per FAT type: for_each_fat FUNCTION
FATS="fat12 fat16 fat32-512"
for_each_fat() {
	local f
	for f in $FATS; do
		echo "# $f"
		fresh "$f"
		"$@"
		finish
	done
}

# mdir's line for NAME in DIR of the boot partition of IMG (after finish).
mdir_line() {
	local p=$BATS_TEST_TMPDIR/mdir.p1
	part_file "$IMG" 1 "$p"
	mdir -i "$p" "::/$1" | grep -F -- "$2"
}

# ---- booting ----

# Skip (saying why) without a QEMU that can boot raspi4b.
require_qemu() {
	local v
	command -v qemu-system-aarch64 >/dev/null ||
		skip "no qemu-system-aarch64: boot tests need QEMU 9 or newer"
	v=$(qemu-system-aarch64 -version | sed -n 's/.*version \([0-9]*\)\..*/\1/p')
	[ "${v:-0}" -ge 9 ] || skip "QEMU $v has no raspi4b: boot tests need QEMU 9 or newer"
}

# fixture_built SCRIPT: build (or find in the cache) the fixture
# tests/lib/SCRIPT makes; FIXTURE is its path. Without Debian's archive
# (a machine offline) the test is skipped, saying so, unless
# RPIFS_REQUIRE_FIXTURES=1 (CI, which has the archive): any other failure
# fails the test with the builder's messages.
fixture_built() {
	local err=$BATS_TEST_TMPDIR/fixture.err
	if FIXTURE=$(bash "$BATS_TEST_DIRNAME/lib/$1" 2>"$err"); then
		return 0
	fi
	cat "$err" >&2
	if grep -q 'no network to the Debian archive' "$err" &&
		[ -z "${RPIFS_REQUIRE_FIXTURES:-}" ]; then
		skip "$1: Debian's arm64 packages are unreachable from here, so there is no boot fixture"
	fi
	echo "the fixture of tests/lib/$1 could not be built (above)" >&2
	return 1
}

# The boot fixture (built once, cached), copied to $BATS_TEST_TMPDIR/NAME.
boot_fixture() {
	local name=${1:-pi} src
	fixture_built bootimg.sh || return 1
	src=$FIXTURE
	IMG=$BATS_TEST_TMPDIR/$name.img
	MNT=$BATS_TEST_TMPDIR/$name
	B=$MNT/boot
	cp --sparse=always "$src" "$IMG"
}

CHAT="$BATS_TEST_DIRNAME/../${BUILD:-build}/tests/chat"

status_of() {
	sed -n "s/^$2: //p" "$1/status"
}

# Wait until the run file says "stopped..." (at most SECONDS, default 30).
wait_stopped() {
	local dir=$1 limit=${2:-30} i
	for ((i = 0; i < limit * 10; i++)); do
		case $(cat "$dir/run") in stopped*) return 0 ;; esac
		sleep 0.1
	done
	echo "still $(cat "$dir/run") after $limit s"
	return 1
}

# Log in on the console of DIR as USER/PASSWORD and run COMMAND... in turn.
console_session() {
	local dir=$1 user=$2 password=$3
	shift 3
	local steps=('send:\n' 'expect:login:' "send:$user\n" 'expect:Password:'
		"send:$password\n" 'expect:$ ')
	local c
	for c in "$@"; do
		steps+=("send:$c\n" 'expect:$ ')
	done
	"$CHAT" "$(status_of "$dir" 'console socket')" 60 "${steps[@]}"
}
