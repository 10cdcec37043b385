#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Several programs at once on one mount: writers of different files and of
# the same file, many short-lived opens, listings while files come and go.
# Every final content is checked, then fsck.fat -n and mtools (finish).

load helpers

setup() {
	require_fuse
	T=$BATS_TEST_TMPDIR
}

# The daemon's pid for mount DIR.
daemon_pid() {
	pgrep -f "rpifs mount .* $1\$" | head -n 1
}

@test "four writers of different files at once: every file intact" {
	local w
	fresh fat32-512
	for w in 1 2 3 4; do
		(
			mkdir -p "$B/w$w"
			for i in $(seq 1 40); do
				img_bytes $((i * 997 + w * 13)) "w$w-$i" >"$B/w$w/f$i.bin"
			done
		) &
	done
	wait
	for w in 1 2 3 4; do
		for i in $(seq 1 40); do
			cmp <(img_bytes $((i * 997 + w * 13)) "w$w-$i") "$B/w$w/f$i.bin"
		done
	done
	finish
}

@test "four writers of one file, each its own blocks: the file holds all of them" {
	fresh fat16
	python3 - "$B/shared.bin" <<'EOF'
import os, sys
from multiprocessing import Process
path = sys.argv[1]
open(path, "wb").close()
BLOCK, BLOCKS, WRITERS = 4096, 64, 4

def writer(w):
    fd = os.open(path, os.O_WRONLY)
    # Interleaved: writer w owns blocks w, w+4, w+8, ... written backwards,
    # so the file grows from several writers at once.
    for b in reversed(range(w, BLOCKS, WRITERS)):
        os.pwrite(fd, bytes([w + 1]) * 100 + bytes([b & 0xff]) * (BLOCK - 100), b * BLOCK)
    os.fsync(fd)
    os.close(fd)

ps = [Process(target=writer, args=(w,)) for w in range(WRITERS)]
for p in ps: p.start()
for p in ps: p.join()
assert all(p.exitcode == 0 for p in ps)
data = open(path, "rb").read()
assert len(data) == BLOCK * BLOCKS, len(data)
for b in range(BLOCKS):
    blk = data[b * BLOCK:(b + 1) * BLOCK]
    want = bytes([b % WRITERS + 1]) * 100 + bytes([b & 0xff]) * (BLOCK - 100)
    assert blk == want, "block %d is wrong" % b
print("ok")
EOF
	finish
}

@test "overlapping writers of one file: every block is one writer's whole write" {
	fresh fat32-512
	python3 - "$B/race.bin" <<'EOF'
import os, sys
from multiprocessing import Process
path = sys.argv[1]
open(path, "wb").close()
BLOCK, BLOCKS, WRITERS, ROUNDS = 8192, 32, 4, 20

def writer(w):
    fd = os.open(path, os.O_WRONLY)
    for r in range(ROUNDS):
        for b in range(BLOCKS):
            os.pwrite(fd, bytes([w * 16 + r % 16]) * BLOCK, b * BLOCK)
    os.close(fd)

ps = [Process(target=writer, args=(w,)) for w in range(WRITERS)]
for p in ps: p.start()
for p in ps: p.join()
assert all(p.exitcode == 0 for p in ps)
data = open(path, "rb").read()
assert len(data) == BLOCK * BLOCKS
for b in range(BLOCKS):
    blk = data[b * BLOCK:(b + 1) * BLOCK]
    assert blk == blk[:1] * BLOCK, "block %d mixes writes" % b
print("ok")
EOF
	finish
}

@test "many short-lived opens from eight processes: no errors, no leaked handles" {
	local pid before after
	fresh fat16
	pid=$(daemon_pid "$MNT")
	[ -n "$pid" ]
	before=$(ls "/proc/$pid/fd" | wc -l)
	python3 - "$B" "$MNT" <<'EOF'
import os, sys
from multiprocessing import Process
boot, mnt = sys.argv[1], sys.argv[2]
want = open(os.path.join(boot, "config.txt"), "rb").read()

def opener(w):
    for i in range(400):
        with open(os.path.join(boot, "config.txt"), "rb") as f:
            assert f.read() == want
        with open(os.path.join(mnt, "status")) as f:
            assert "machine:" in f.read()
        name = os.path.join(boot, "tmp-%d-%d" % (w, i % 5))
        with open(name, "wb") as f:
            f.write(b"x" * (i % 3000))
        os.stat(name)
        if i % 5 == 4:
            os.unlink(name)

ps = [Process(target=opener, args=(w,)) for w in range(8)]
for p in ps: p.start()
for p in ps: p.join()
assert all(p.exitcode == 0 for p in ps), [p.exitcode for p in ps]
print("ok")
EOF
	after=$(ls "/proc/$pid/fd" | wc -l)
	echo "daemon fds: $before before, $after after"
	[ "$after" -le $((before + 2)) ]
	finish
}

@test "listing while files are created and deleted: stable files always listed, once" {
	fresh fat32-512
	mkdir -p "$B/busy"
	for i in $(seq 1 20); do echo "stable $i" >"$B/busy/stable-$i.txt"; done
	python3 - "$B/busy" <<'EOF'
import os, sys, time
from multiprocessing import Process, Event
d = sys.argv[1]
stable = {"stable-%d.txt" % i for i in range(1, 21)}
stop = Event()

def churn(w):
    i = 0
    while not stop.is_set():
        name = os.path.join(d, "churn-%d-%d with a long name.txt" % (w, i % 30))
        with open(name, "w") as f:
            f.write("c" * (i % 700))
        if i % 2:
            os.rename(name, name + ".renamed")
            os.unlink(name + ".renamed")
        else:
            os.unlink(name)
        i += 1

ps = [Process(target=churn, args=(w,)) for w in range(3)]
for p in ps: p.start()
end = time.time() + 8
listings = 0
try:
    while time.time() < end:
        names = os.listdir(d)
        listed = [n for n in names if n.startswith("stable-")]
        assert len(listed) == len(set(listed)), "a stable file listed twice"
        assert set(listed) == stable, "stable files missing: %s" % (stable - set(listed))
        listings += 1
finally:
    stop.set()
    for p in ps: p.join()
assert all(p.exitcode == 0 for p in ps), [p.exitcode for p in ps]
print("listings:", listings)
assert listings > 10
EOF
	for i in $(seq 1 20); do [ "$(cat "$B/busy/stable-$i.txt")" = "stable $i" ]; done
	[ "$(ls "$B/busy" | grep -vc '^stable-')" = 0 ]
	finish
}

@test "readers of a file being appended see a prefix of it, never garbage" {
	fresh fat16
	python3 - "$B/growing.bin" <<'EOF'
import os, sys
from multiprocessing import Process
path = sys.argv[1]
chunk = lambda i: bytes([(i * 7) & 0xff]) * 3000
open(path, "wb").close()

def appender():
    with open(path, "ab") as f:
        for i in range(300):
            f.write(chunk(i))
            f.flush()

def reader():
    for _ in range(200):
        data = open(path, "rb").read()
        full = len(data) // 3000
        for i in range(full):
            assert data[i * 3000:(i + 1) * 3000] == chunk(i), "chunk %d wrong" % i

ps = [Process(target=appender)] + [Process(target=reader) for _ in range(3)]
for p in ps: p.start()
for p in ps: p.join()
assert all(p.exitcode == 0 for p in ps), [p.exitcode for p in ps]
assert os.path.getsize(path) == 300 * 3000
EOF
	finish
}
