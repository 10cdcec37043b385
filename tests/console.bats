#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The console and run --wait as scripts use them, under real QEMU with the
# boot fixture: rpifs console through a pipe ends by itself once its input
# has ended and the guest has gone quiet, with plain text and little CPU;
# on a terminal it stays interactive and Ctrl-] detaches; Ctrl-C during
# run --wait leaves the guest running and says so; a --wait that times out
# shows the console's last lines and not QEMU's warnings.

load helpers

setup() {
	require_fuse
	require_qemu
}

# Copy stdin to FILE and, at its end, print how many seconds passed
# between the last byte and the end: how long the writer lingered.
stamp_to() {
	python3 -c '
import sys, time
last = time.monotonic()
with open(sys.argv[1], "wb") as out:
    while True:
        chunk = sys.stdin.buffer.read1(65536)
        if not chunk:
            break
        last = time.monotonic()
        out.write(chunk)
print("%.2f" % (time.monotonic() - last))
' "$1"
}

# console_pipe INPUT_SCRIPT: run INPUT_SCRIPT (bash) into rpifs console;
# sets OUT (what it printed), LINGER (seconds from its last output to its
# end), CPU (its user + system seconds) and CONSOLE_STATUS.
console_pipe() {
	local t=$BATS_TEST_TMPDIR cpu
	OUT=$t/out
	TIMEFORMAT='%U %S'
	LINGER=$(bash -c "$1" |
		{ time timeout 30 "$RPIFS" console "$MNT" 2>"$t/err"; } 2>"$t/cpu" |
		stamp_to "$OUT"; echo "${PIPESTATUS[1]}" >"$t/status")
	CONSOLE_STATUS=$(cat "$t/status")
	cpu=$(tail -n 1 "$t/cpu")
	CPU=$(awk '{ print $1 + $2 }' <<<"$cpu")
	echo "status $CONSOLE_STATUS, linger $LINGER s, cpu $CPU s"
	cat -A "$OUT"
	cat "$t/err"
}

@test "rpifs console through a pipe: ends by itself once its input ends and the guest is quiet, plain text, little CPU" {
	boot_fixture
	mount_rpifs "$IMG" "$MNT"
	echo 'pi:raspberry' >"$MNT/userconf"
	"$RPIFS" run "$MNT" --wait --timeout 240
	run console_session "$MNT" pi raspberry 'cd /tmp'
	[ "$status" -eq 0 ]

	# The input ends at once.
	console_pipe "printf 'echo one-\$((6*7))\n'"
	[ "$CONSOLE_STATUS" -eq 0 ]
	grep -q '^one-42' "$OUT"
	# It waited for the quiet second (less the reader's own start), and
	# not much longer.
	awk -v s="$LINGER" 'BEGIN { exit !(s >= 0.5 && s <= 3) }'
	awk -v s="$CPU" 'BEGIN { exit !(s < 0.5) }'

	# Input that lasts: nothing ends while it is open.
	console_pipe "printf 'echo two\n'; sleep 3; printf 'echo three-\$((7*7))\n'"
	[ "$CONSOLE_STATUS" -eq 0 ]
	grep -q '^two' "$OUT"
	grep -q '^three-49' "$OUT"
	awk -v s="$LINGER" 'BEGIN { exit !(s >= 0.5 && s <= 3) }'
	awk -v s="$CPU" 'BEGIN { exit !(s < 0.5) }'

	# busybox's shell asks the terminal where the cursor is after each
	# prompt; the pipe gets none of it, nor any other escape.
	grep -q $'\e\\[6n' "$MNT/console"
	[ "$(grep -c $'\e' "$OUT")" -eq 0 ]
	# Nothing of rpifs's own without a terminal.
	[ ! -s "$BATS_TEST_TMPDIR/err" ]

	# Input that is not there at all: the output drains, then it ends.
	console_pipe "exec </dev/null"
	[ "$CONSOLE_STATUS" -eq 0 ]
	"$RPIFS" stop "$MNT"
	umount_rpifs "$MNT"
}

@test "rpifs console on a terminal: raw, the guest's bytes as sent, Ctrl-] detaches" {
	boot_fixture
	mount_rpifs "$IMG" "$MNT"
	echo 'pi:raspberry' >"$MNT/userconf"
	"$RPIFS" run "$MNT" --wait --timeout 240
	run console_session "$MNT" pi raspberry 'cd /tmp'
	[ "$status" -eq 0 ]
	run timeout 60 python3 -c '
import os, pty, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "console", sys.argv[2]])
seen = b""
def until(text, seconds=30):
    global seen
    end = time.monotonic() + seconds
    while text not in seen and time.monotonic() < end:
        try:
            seen += os.read(fd, 4096)
        except OSError:
            break
    return text in seen
ok = until(b"Ctrl-] detaches")
os.write(fd, b"echo pty-$((3*3))\r")
ok = ok and until(b"pty-9") and until(b"\x1b[6n")
os.write(fd, b"\x1d")
ok = ok and until(b"[detached]")
_, st = os.waitpid(pid, 0)
sys.stdout.write(repr(seen) + "\n")
sys.exit(0 if ok and os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0 else 1)
' "$RPIFS" "$MNT"
	echo "$output"
	[ "$status" -eq 0 ]
	# The guest still runs: detaching stopped nothing.
	[[ "$(cat "$MNT/run")" == "running pid "* ]]
	"$RPIFS" stop "$MNT"
	umount_rpifs "$MNT"
}

@test "a guest that never reaches login: Ctrl-C ends run --wait and leaves it running; a timeout shows the console's last lines, not QEMU's warnings" {
	boot_fixture
	mount_rpifs "$IMG" "$MNT"
	# The initramfs finds no such root, says so and runs a shell.
	sed -i 's/root=[^ ]*/root=PARTUUID=deadbeef-02/' "$MNT/cmdline"
	# Started with SIGINT at its default, as from a terminal (bash starts
	# background jobs with it ignored, and rpifs keeps it so then).
	env --default-signal=INT "$RPIFS" run "$MNT" --wait --timeout 600 \
		>"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	local pid=$! status=0
	for _ in $(seq 600); do
		[[ "$(cat "$MNT/run")" == "running pid "* ]] && break
		sleep 0.2
	done
	[[ "$(cat "$MNT/run")" == "running pid "* ]]
	kill -INT "$pid"
	wait "$pid" || status=$?
	cat "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/err"
	[ "$status" -eq 130 ]
	[ "$(wc -l <"$BATS_TEST_TMPDIR/err")" -eq 1 ]
	grep -qF "stopped waiting; the guest still runs (rpifs stop $MNT stops it)" "$BATS_TEST_TMPDIR/err"
	[[ "$(cat "$MNT/run")" == "running pid "* ]]

	for _ in $(seq 900); do
		grep -q 'initramfs: cannot mount root=' "$MNT/console" && break
		sleep 0.2
	done
	run "$RPIFS" run "$MNT" --wait --timeout 3
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "${lines[0]}" == "rpifs: the last lines of $MNT/console:" ]]
	[[ "$output" == *"initramfs: cannot mount root=PARTUUID=deadbeef-02"* ]]
	[[ "${lines[-1]}" == "rpifs: no login prompt after 3 s (the guest still runs; rpifs stop stops it)" ]]
	# 20 console lines between the heading and the reason.
	[ "${#lines[@]}" -eq 22 ]
	# QEMU warned about the board, but it runs: its messages are no reason.
	grep -q 'has been disabled' "$(status_of "$MNT" 'run folder')/qemu.log"
	[[ "$output" != *"QEMU said"* && "$output" != *"has been disabled"* ]]
	[[ "$output" != *$'\e'* ]]
	"$RPIFS" stop "$MNT"
	umount_rpifs "$MNT"
}
