#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Crash states of one recorded workload, built and checked one by one.

    check.py [options] RUN_DIR

RUN_DIR holds what tests/crash/record.sh left: base.p1 (the FAT partition
before the workload), trace (every write and flush rpifs made, fat/io.c),
journal and journal.blob (what the workload did and saw, crashload.c).

The model of the disk: a flush (fdatasync) makes every write before it
durable; of the writes since the last flush, each 512-byte sector may hold
any of the contents it went through (its content before the flush, or after
any one of the writes to it), independently of the other sectors, as a
write-back cache keeps or loses them. The states checked:

  prefix   the partition after the first k writes, for every k;
  drop     for each write since a flush, all those writes but that one;
  only     for each write since a flush, that write alone;
  random   per flush epoch, --random states with every sector of the epoch
           at a random one of its contents (seeded).

Each state is checked with fsck.fat -n and read with rpifs's FAT layer
(fatwalk, read-only); see verdict() for the rules. Prints one summary
line, the violations found, and exits 1 if there are any.
"""

import argparse
import gzip
import hashlib
import mmap
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

SECTOR = 512
# Operations that change bytes of one file: a crash may leave a mix.
DATA_OPS = {"create", "write", "truncate"}
# Names rpifs itself uses while it commits a control file (fs/bootfiles.c).
COMMIT_TEMP = "/.rpifs-new-"

# ---------------------------------------------------------------- inputs


class Record:
    __slots__ = ("seq", "kind", "off", "length", "tag", "data", "end")


def read_bytes(path):
    """A file of the recording, or its gzip'd form (regressions)."""
    if not os.path.exists(path) and os.path.exists(path + ".gz"):
        with gzip.open(path + ".gz", "rb") as f:
            return f.read()
    with open(path, "rb") as f:
        return f.read()


def read_trace(path):
    """The trace's records, and for each the trace size after it."""
    raw = read_bytes(path)
    records, pos = [], 0
    while pos < len(raw):
        magic, kind, _, tag_len, off, length, seq = struct.unpack_from(
            "<4sBBHQQQ", raw, pos)
        if magic != b"RTR1" or seq != len(records):
            sys.exit("%s: bad record at byte %d" % (path, pos))
        r = Record()
        r.seq, r.kind, r.off, r.length = seq, chr(kind), off, length
        r.tag = raw[pos + 32:pos + 32 + tag_len].decode("utf-8", "replace")
        pos += 32 + tag_len
        if r.kind == "W":
            r.data = raw[pos:pos + length]
            pos += length
        else:
            r.data = None
        r.end = pos
        records.append(r)
    return records


class Op:
    __slots__ = ("id", "begin", "end", "ret", "kind", "args", "states",
                 "flushes_inside")


def read_journal(path, records):
    blob = read_bytes(path + ".blob")
    info, ops = {}, []
    ends = [r.end for r in records]

    def index_at(byte):
        # Records wholly written by then.
        lo, hi = 0, len(ends)
        while lo < hi:
            mid = (lo + hi) // 2
            if ends[mid] <= byte:
                lo = mid + 1
            else:
                hi = mid
        return lo

    for line in open(path, encoding="utf-8"):
        f = line.rstrip("\n").split("\t")
        if f[0] == "info":
            info[f[1]] = f[2]
        elif f[0] == "quiet":
            # Written while the workload only read: must be background
            # work, the clusters of a removed file freed at its release.
            for r in records[index_at(int(f[1])):index_at(int(f[2]))]:
                if r.kind == "W" and not r.tag.startswith("release "):
                    sys.exit("%s: write #%d (%s) while only reading" %
                             (path, r.seq, r.tag))
        elif f[0] == "op":
            op = Op()
            op.id = int(f[1])
            op.begin = index_at(int(f[2]))
            op.end = index_at(int(f[3]))
            op.ret, op.kind, op.args = int(f[4]), f[5], f[6:]
            op.states = {}
            op.flushes_inside = any(r.kind == "F"
                                    for r in records[op.begin:op.end])
            ops.append(op)
        elif f[0] == "state":
            kind, size, off = f[3], int(f[4]), int(f[5])
            value = (None if kind == "absent" else "dir" if kind == "dir"
                     else blob[off:off + size])
            ops[-1].states[f[2]] = value
    return info, ops


# ---------------------------------------------------------------- oracles


class Walker:
    """A fatwalk process that lists partition files on request."""

    def __init__(self, binary):
        self.proc = subprocess.Popen([binary, "-"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)

    def walk(self, image):
        self.proc.stdin.write(image + "\n")
        self.proc.stdin.flush()
        lines = []
        while True:
            line = self.proc.stdout.readline()
            if not line:
                sys.exit("fatwalk died")
            line = line.rstrip("\n")
            if line == "END":
                return lines
            lines.append(line.split("\t"))

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


class Listing:
    """What rpifs's FAT layer read: volume facts, entries by path."""

    def __init__(self, lines):
        self.mount_error = None
        self.entries = {}    # path -> ("dir",) | ("bad", errno) | file tuple
        self.by_short = {}   # upper-case 8.3 path -> path
        self.vol = None
        for f in lines:
            if f[0] == "M":
                self.mount_error = "%s (errno %s)" % (f[2], f[1])
            elif f[0] == "V":
                self.vol = tuple(int(x) for x in f[1:])
            elif f[0] == "D":
                self.entries[f[2]] = ("dir",)
                self.by_short[f[1].upper()] = f[2]
            elif f[0] == "X":
                self.entries[f[3]] = ("bad", int(f[1]))
                self.by_short[f[2].upper()] = f[3]
            elif f[0] == "F":
                size, first, err = int(f[1]), int(f[2]), int(f[3])
                runs = [] if f[5] == "-" else [
                    tuple(int(x) for x in r.split("+")) for r in f[5].split(",")]
                self.entries[f[7]] = ("file", size, first, err, f[4], runs)
                self.by_short[f[6].upper()] = f[7]

    def path_of_fsck(self, name):
        """fsck.fat names files by 8.3 path, or by long name: find it."""
        if name in self.entries:
            return name
        key = name.upper()
        if key in self.by_short:
            return self.by_short[key]
        for p in self.entries:
            if p.upper() == key:
                return p
        return name


FSCK = shutil.which("fsck.fat") or "/sbin/fsck.fat"


def fsck(image):
    """fsck.fat -n's report: spawned directly (posix_spawn), its output
    into a file next to the image (thousands of runs: it adds up)."""
    report = image + ".fsck"
    pid = os.posix_spawn(FSCK, [FSCK, "-n", image], os.environ, file_actions=[
        (os.POSIX_SPAWN_OPEN, 1, report, os.O_WRONLY | os.O_CREAT |
         os.O_TRUNC, 0o600),
        (os.POSIX_SPAWN_DUP2, 1, 2)])
    _, status = os.waitpid(pid, 0)
    with open(report, encoding="utf-8", errors="replace") as f:
        return os.waitstatus_to_exitcode(status), f.read().splitlines()


GENERIC_OK = (
    "Leaving filesystem unchanged.",
    "There are differences between boot sector and its backup.",
    "This is mostly harmless. Differences: (offset:original/backup)",
    "  Not automatically fixing this.",
    "Dirty bit is set. Fs was not properly unmounted and some data may be corrupt.",
    " Automatically removing dirty bit.",
    "  Auto-correcting.",
    # A crash between the FAT and its copy: fsck uses the first, as rpifs
    # and Linux do, and rpifs writes it first.
    "FATs differ but appear to be intact.",
    "  Using first FAT.",
)
# What a file whose data was not durable yet may show: a size its chain
# does not match, or a chain that runs into a cluster still free.
FILE_DETAIL_OK = ("  File size is ", "  Truncating file to ",
                  "  Contains a free cluster", "  Size of file ")


def classify_fsck(lines, image):
    """(generic problems, {fsck path: [detail lines]}, crash leftovers)."""
    bad, files, leftovers = [], {}, []
    current = None
    for line in lines:
        if (line.startswith("fsck.fat ") or line == "" or
                line.startswith(image + ":") or line in GENERIC_OK):
            current = None
            if line.startswith("Dirty bit"):
                leftovers.append("dirty flag")
            continue
        if line in ("  65:01/00", "  37:01/00"):
            continue  # the backup boot sector differs in the dirty flag
        if line.startswith("Free cluster summary wrong"):
            leftovers.append("free count")
            continue
        if line.startswith("Reclaimed ") and "unused cluster" in line:
            leftovers.append("lost clusters")
            continue
        if line.startswith("/"):
            # A cross-link: "/A  and" (or "/A", "  and"), "/B", "  share..."
            if line.endswith("  and"):
                current = line[:-len("  and")]
                files.setdefault(current, []).append("  and")
                continue
            current = line
            files.setdefault(current, [])
            continue
        if current and line.startswith("  "):
            files[current].append(line)
            continue
        bad.append(line)
    return bad, files, leftovers


# ---------------------------------------------------------------- the model


def build_models(initial, ops):
    """models[i]: every path's value after the first i operations."""
    models = [initial]
    for op in ops:
        m = dict(models[-1])
        for path, value in op.states.items():
            if value is None:
                m.pop(path, None)
                # A directory removed takes nothing with it: it was empty.
            else:
                m[path] = value
        models.append(m)
    return models


def paths_of(op):
    return set(op.states)


def read_runs(image_bytes, runs, limit):
    out = bytearray()
    for off, length in runs:
        out += image_bytes[off:off + length]
    return bytes(out[:limit])


def chain_bytes(image_bytes, vol, first, limit):
    """Follow a chain as far as it goes (for a file fatwalk refused)."""
    fat_type, cs, data_off, count, fat_off, _ = vol
    out, c, seen = bytearray(), first, 0
    while 2 <= c < count + 2 and len(out) < limit and seen <= count:
        base = data_off + (c - 2) * cs
        out += image_bytes[base:base + cs]
        seen += 1
        if fat_type == 12:
            v = struct.unpack_from("<H", image_bytes, fat_off + c + c // 2)[0]
            v = v >> 4 if c & 1 else v & 0xfff
            eoc = 0xff8
        elif fat_type == 16:
            v = struct.unpack_from("<H", image_bytes, fat_off + 2 * c)[0]
            eoc = 0xfff8
        else:
            v = struct.unpack_from("<I", image_bytes, fat_off + 4 * c)[0]
            v &= 0x0fffffff
            eoc = 0x0ffffff8
        if v == 0 or v >= eoc:
            break
        c = v
    return bytes(out[:limit])


_crcs = {}


def crc(data):
    """zlib's CRC-32, remembered for the model's (long-lived) contents."""
    key = id(data)
    hit = _crcs.get(key)
    if hit is None or hit[0] is not data:
        hit = (data, "%08x" % zlib.crc32(data))
        if len(data) > 256:
            _crcs[key] = hit
    return hit[1]


def mixes(actual, versions):
    """Whether @actual can be what a crash left of versions of one file
    changed by data operations only: a size one of them had or between,
    and every byte below the smallest size one that some version has
    there (the sectors of a file are kept or lost one by one); above it,
    clusters just allocated may hold anything."""
    sizes = [len(v) for v in versions]
    if not min(sizes) <= len(actual) <= max(sizes):
        return False
    low = min(min(sizes), len(actual))
    for start in range(0, low, SECTOR):
        stop = min(start + SECTOR, low)
        block = actual[start:stop]
        if any(v[start:stop] == block for v in versions):
            continue
        for i in range(start, stop):
            if all(v[i] != actual[i] for v in versions):
                return False
    return True


class Verdict:
    """Violations, and states at a limit rpifs documents."""

    def __init__(self):
        self.problems = []
        self.limits = []

    def add(self, fmt, *args):
        self.problems.append(fmt % args)

    def limit(self, fmt, *args):
        self.limits.append(fmt % args)


def parent_of(path):
    return path.rsplit("/", 1)[0] or "/"


def verdict(image_bytes, listing, fsck_lines, image, models, ops, settled,
            returned, begun, final):
    """The rules, for a state where operations [0, settled) are durable,
    [0, returned) had returned, and [settled, begun) may have reached the
    disk in part.

    fsck.fat may find only the dirty flag (and the backup boot sector
    differing in it), a wrong free count, lost clusters, FAT copies that
    differ, and a size or chain mismatch of a file an unsettled data
    operation was changing. A path no unsettled operation touched must be
    as the durable model has it, byte for byte. A path one touched must be
    one of the contents it had, or a mix of them across data operations
    (write, truncate, create) only: a rename, an unlink, a control file's
    commit, a mkdir or rmdir leaves the old or the new, never a part. A
    file renamed after it was durable is under exactly one of its names.
    What an fsync, an fsync of a directory or a control file's commit
    that returned promised holds whatever the flushes say: the file's
    contents, the entries of the directory, the committed file. After the
    final unmount fsck.fat must find nothing at all."""
    v = Verdict()
    durable = models[settled]
    unsettled = ops[settled:begun]
    touched = {}
    for i, op in enumerate(unsettled):
        for p in paths_of(op):
            touched.setdefault(p, []).append(settled + i)
    commit_running = any(op.kind == "ctl" for op in unsettled)
    data_touched = {p for p, idx in touched.items()
                    if any(ops[i].kind in DATA_OPS for i in idx)}

    # fsck.fat
    bad, files, leftovers = classify_fsck(fsck_lines, image)
    for line in bad:
        v.add("fsck.fat: %s", line)
    two_step_pairs = [{ops[i].args[0], ops[i].args[1]}
                      for i in range(settled, begun)
                      if ops[i].kind == "rename" and ops[i].flushes_inside]
    names = list(files)
    for k, name in enumerate(names):
        # "/A", "  and", "/B", "  share clusters.": a file named twice.
        if files[name] == ["  and"] and k + 1 < len(names) and \
                files[names[k + 1]][:1] == ["  share clusters."]:
            pair = {listing.path_of_fsck(name),
                    listing.path_of_fsck(names[k + 1])}
            if pair in two_step_pairs:
                # What follows is fsck's view with the second name cut.
                v.limit("fsck.fat: %s and %s share clusters", name,
                        names[k + 1])
                files[name] = []
                files[names[k + 1]] = []
    for name, details in files.items():
        if not details:
            continue
        path = listing.path_of_fsck(name)
        ok_detail = all(d.startswith(FILE_DETAIL_OK) for d in details)
        if ok_detail and (path in data_touched or
                          (commit_running and path.startswith(COMMIT_TEMP))):
            leftovers.append("size of %s" % path)
            continue
        v.add("fsck.fat: %s: %s", name, " / ".join(details) or "?")
    if final and (leftovers or bad or files):
        v.add("fsck.fat after the unmount is not clean: %s",
              ", ".join(leftovers) or "see above")

    if listing.mount_error:
        v.add("rpifs cannot mount it: %s", listing.mount_error)
        return v, leftovers

    # Every entry read must be one the model knows.
    known = set()
    for m in models[settled:begun + 1]:
        known.update(m)
    for path, e in listing.entries.items():
        if e[0] == "bad":
            v.add("directory %s does not load (errno %d)", path, e[1])
        if path not in known and not (commit_running and
                                      path.startswith(COMMIT_TEMP)):
            v.add("unexpected entry %s", path)

    def actual_bytes(path, e):
        if e[3] == 0:
            return read_runs(image_bytes, e[5], e[1])
        return chain_bytes(image_bytes, listing.vol, e[2], e[1])

    def matches(path, want):
        e = listing.entries.get(path)
        if want is None:
            return e is None
        if want == "dir":
            return e is not None and e[0] == "dir"
        return (e is not None and e[0] == "file" and e[3] == 0 and
                e[1] == len(want) and e[4] == crc(want))

    # Renames written in two steps with a flush between (their old and
    # new entries are in different sectors): rpifs(1) says what a power
    # cut between leaves.
    two_step = [i for i in range(settled, begun)
                if ops[i].kind == "rename" and ops[i].flushes_inside]
    two_step_targets = {ops[i].args[1] for i in two_step}

    for path in sorted(known):
        e = listing.entries.get(path)
        if path not in touched:
            want = durable.get(path)
            if matches(path, want):
                continue
            if e is None:
                v.add("lost: %s (durable, untouched since)", path)
            else:
                v.add("damaged: %s (durable, untouched since): %s",
                      path, describe(e, want))
            continue
        idx = touched[path]
        versions = [models[settled].get(path)] + [models[i + 1].get(path)
                                                  for i in idx]
        if any(matches(path, w) for w in versions):
            continue
        if e is not None and e[0] == "file":
            # Mixes only across consecutive data operations.
            segments, seg = [], [versions[0]]
            for k, i in enumerate(idx):
                nxt = versions[k + 1]
                if ops[i].kind in DATA_OPS and isinstance(seg[-1], bytes) \
                        and isinstance(nxt, bytes):
                    seg.append(nxt)
                else:
                    segments.append(seg)
                    seg = [nxt]
            segments.append(seg)
            data = actual_bytes(path, e)
            if any(len(sg) > 1 and mixes_partial(data, sg, e)
                   for sg in segments):
                continue
        if e is None and path in two_step_targets:
            continue  # judged below, with the rename
        v.add("%s is none of its versions (%s): %s", path,
              ", ".join(ops[i].kind for i in idx),
              describe(e, versions[-1]))

    # What returned promised.
    for j in range(settled, returned):
        op = ops[j]
        if op.kind == "fsync":
            promised = [op.args[0]]
        elif op.kind == "ctl":
            promised = [op.args[1]]
        elif op.kind == "fsyncdir":
            promised = sorted({p for k in range(settled, j)
                               if ops[k].kind in ("create", "rename", "unlink",
                                                  "mkdir", "rmdir")
                               for p in paths_of(ops[k])
                               if parent_of(p) == op.args[0]})
        else:
            continue
        for p in promised:
            if any(p in paths_of(ops[k]) for k in range(j + 1, begun)):
                continue
            if not matches(p, models[j + 1].get(p)):
                v.add("%s %s returned (operation %d), but %s: %s", op.kind,
                      op.args[0], op.id, p,
                      describe(listing.entries.get(p), models[j + 1].get(p)))

    # A durable file renamed: under exactly one name.
    for i in range(settled, begun):
        op = ops[i]
        if op.kind != "rename":
            continue
        src, dst = op.args[0], op.args[1]
        before = models[i]
        content = before.get(src)
        if not isinstance(content, bytes):
            continue
        if any(src in paths_of(ops[j]) for j in range(settled, i)):
            continue  # the source itself was not durable
        if any({src, dst} & paths_of(ops[j]) for j in range(i + 1, begun)):
            continue
        at_src, at_dst = matches(src, content), matches(dst, content)
        if at_src and at_dst:
            if op.flushes_inside:
                v.limit("rename %s -> %s: both names (the new entry "
                        "written, the old one not yet removed)", src, dst)
            else:
                v.add("rename %s -> %s: both names", src, dst)
        elif not at_src and not at_dst:
            v.add("rename %s -> %s: neither name holds the file", src, dst)
        elif at_src and dst not in listing.entries and \
                before.get(dst) is not None:
            if op.flushes_inside:
                v.limit("rename %s -> %s: the replaced %s removed, the "
                        "file still under its old name", src, dst, dst)
            else:
                v.add("rename %s -> %s: the old %s is gone, the new not "
                      "there", src, dst, dst)
    return v, leftovers


def mixes_partial(data, run, e):
    if e[3]:
        # fatwalk refused it (its chain is shorter than its size): what the
        # chain holds must be a mix; its size is checked by fsck's rules.
        sizes = [len(r) for r in run]
        low = min(min(sizes), len(data))
        cut = [r[:low] for r in run]
        return mixes(data[:low], cut) if low else True
    return mixes(data, run)


def describe(e, want):
    if e is None:
        return "missing"
    if e[0] != "file":
        return e[0]
    w = ("absent" if want is None else "a directory" if want == "dir"
         else "%d bytes, crc %s" % (len(want), crc(want)))
    got = ("unreadable (errno %d), %d bytes" % (e[3], e[1]) if e[3]
           else "%d bytes, crc %s" % (e[1], e[4]))
    return "has %s, want %s" % (got, w)


# ---------------------------------------------------------------- states


def sectors_of(off, length):
    return range(off // SECTOR, (off + length + SECTOR - 1) // SECTOR)


def apply(buf, r):
    if r.kind == "W":
        buf[r.off:r.off + r.length] = r.data
    elif r.kind == "Z":
        buf[r.off:r.off + r.length] = bytes(r.length)


class Checker:
    def __init__(self, args, run_dir):
        self.args = args
        self.run_dir = run_dir
        self.records = read_trace(os.path.join(run_dir, "trace"))
        self.info, self.ops = read_journal(os.path.join(run_dir, "journal"),
                                           self.records)
        self.base = bytearray(open(os.path.join(run_dir, "base.p1"),
                                   "rb").read())
        if args.mutate:
            mutate(self.records, args.mutate, self.base)
        mounts = [r for r in self.records if r.kind == "M"]
        if mounts and mounts[0].length != len(self.base):
            sys.exit("the trace's volume is %d bytes, base.p1 %d" %
                     (mounts[0].length, len(self.base)))
        tmpdir = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        self.tmp = tempfile.mkdtemp(prefix="rpifs-crash-", dir=tmpdir)
        self.image = os.path.join(self.tmp, "state.p1")
        self.walker = Walker(args.fatwalk)
        self.counts = {}
        self.violations = []
        self.limits = []
        self.seen = set()
        self.leftovers = {}

    def initial_model(self):
        with open(self.image, "wb") as f:
            f.write(self.base)
        listing = Listing(self.walker.walk(self.image))
        if listing.mount_error:
            sys.exit("base.p1: " + listing.mount_error)
        model = {}
        for path, e in listing.entries.items():
            model[path] = "dir" if e[0] == "dir" else \
                read_runs(self.base, e[5], e[1])
        return model

    def op_window(self, flush_index, crash_index):
        """(settled, begun): operations [0, settled) wrote everything
        before the flush and returned; [settled, begun) had begun."""
        settled = 0
        while settled < len(self.ops) and \
                self.ops[settled].end <= min(flush_index + 1, crash_index):
            settled += 1
        begun = settled
        while begun < len(self.ops) and (
                self.ops[begun].begin < crash_index or
                self.ops[begun].end <= crash_index):
            begun += 1
        return settled, begun

    def check(self, kind, ident, desc, fingerprint, flush_index, crash_index,
              final=False):
        """Check the state now in the state file. @fingerprint: the epoch
        and the sectors that differ from its durable image."""
        settled, begun = self.op_window(flush_index, crash_index)
        returned = sum(1 for op in self.ops[:begun] if op.end <= crash_index)
        key = (fingerprint, settled, returned, begun, final)
        if key in self.seen:
            return
        self.seen.add(key)
        self.counts[kind] = self.counts.get(kind, 0) + 1
        _, lines = fsck(self.image)
        listing = Listing(self.walker.walk(self.image))
        with open(self.image, "rb") as f:
            buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            v, leftovers = verdict(buf, listing, lines, self.image,
                                   self.models, self.ops, settled, returned,
                                   begun, final)
        finally:
            buf.close()
        for item in leftovers:
            name = item.split(" of ")[0]
            self.leftovers[name] = self.leftovers.get(name, 0) + 1
        if v.limits and not v.problems:
            self.limits.append(("%s %s" % (kind, ident), desc, v.limits))
        if v.problems:
            self.violations.append(("%s %s" % (kind, ident), desc,
                                    v.problems, lines))
            if self.args.save:
                shutil.copyfile(self.image, os.path.join(
                    self.args.save, "%s-%s.p1" % (
                        kind, str(ident).replace(":", "-"))))
            if self.args.stop:
                raise StopIteration

    def wanted(self, kind, ident):
        o = self.args.only_state
        return o is None or (o[0] == kind and o[1] == str(ident))

    def write_file(self, buf, sectors):
        with open(self.image, "r+b") as f:
            for s in sectors:
                f.seek(s * SECTOR)
                f.write(buf[s * SECTOR:(s + 1) * SECTOR])

    def run(self):
        self.models = build_models(self.initial_model(), self.ops)
        cur = bytearray(self.base)
        with open(self.image, "wb") as f:
            f.write(cur)
        recs = self.records
        flushes = [i for i, r in enumerate(recs) if r.kind == "F"]
        starts = [0] + [f + 1 for f in flushes]
        last_flush = -1
        try:
            if self.wanted("prefix", 0):
                self.check("prefix", 0, "before the first write", (0,), -1, 0)
            for e, start in enumerate(starts):
                stop = flushes[e] if e < len(flushes) else len(recs)
                writes = [i for i in range(start, stop)
                          if recs[i].kind in "WZ"]
                durable = self.epoch_states(e, cur, writes, last_flush, stop)
                changed = {}
                for i in writes:
                    apply(cur, recs[i])
                    touched = sectors_of(recs[i].off, recs[i].length)
                    self.write_file(cur, touched)
                    for s in touched:
                        now = bytes(cur[s * SECTOR:(s + 1) * SECTOR])
                        if now == durable[s]:
                            changed.pop(s, None)
                        else:
                            changed[s] = now
                    if self.wanted("prefix", i + 1):
                        self.check("prefix", i + 1, "after write #%d (%s)" %
                                   (i, recs[i].tag),
                                   fingerprint(e, changed), last_flush, i + 1)
                if e < len(flushes):
                    last_flush = flushes[e]
            if self.wanted("final", 0):
                self.check("final", 0, "after the unmount", (len(starts),),
                           len(recs), len(recs), final=True)
        except StopIteration:
            pass
        self.walker.close()

    def epoch_states(self, e, cur, writes, last_flush, stop):
        """States where the writes since the last flush are kept in part.
        @return each sector's durable content, for the epoch's sectors."""
        recs = self.records
        versions = {}  # sector -> its contents: [0] durable, then each write's
        owner = {}     # sector -> the write of each content ([0]: None)
        for i in writes:
            r = recs[i]
            for s in sectors_of(r.off, r.length):
                if s not in versions:
                    versions[s] = [bytes(cur[s * SECTOR:(s + 1) * SECTOR])]
                    owner[s] = [None]
                sec = bytearray(versions[s][-1])
                lo = max(r.off, s * SECTOR)
                hi = min(r.off + r.length, (s + 1) * SECTOR)
                sec[lo - s * SECTOR:hi - s * SECTOR] = (
                    r.data[lo - r.off:hi - r.off] if r.kind == "W"
                    else bytes(hi - lo))
                versions[s].append(bytes(sec))
                owner[s].append(i)
        durable = {s: v[0] for s, v in versions.items()}
        if not writes or self.args.prefix_only:
            return durable

        def state(kind, ident, desc, choice):
            if not self.wanted(kind, ident):
                return
            changed = {}
            with open(self.image, "r+b") as f:
                for s, k in choice.items():
                    f.seek(s * SECTOR)
                    f.write(versions[s][k])
                    if versions[s][k] != versions[s][0]:
                        changed[s] = versions[s][k]
            self.check(kind, ident, "epoch %d: %s" % (e, desc),
                       fingerprint(e, changed), last_flush, stop)
            self.write_file(cur, choice)

        latest = {s: len(v) - 1 for s, v in versions.items()}
        for i in writes:
            # Everything since the flush but the last content write #i
            # gave its sectors.
            mine = [s for s in versions if owner[s][-1] == i]
            if mine:
                choice = dict(latest)
                for s in mine:
                    choice[s] -= 1
                state("drop", i, "write #%d lost (%s)" % (i, recs[i].tag),
                      choice)
            # Write #i alone reached the disk (with what came before it in
            # its sectors: a sector is written whole).
            choice = {s: owner[s].index(i)
                      for s in sectors_of(recs[i].off, recs[i].length)}
            state("only", i, "write #%d alone kept (%s)" % (i, recs[i].tag),
                  choice)
        for n in range(self.args.random):
            rnd = random.Random("%d-%d-%d" % (self.args.seed, e, n))
            choice = {s: rnd.randrange(len(v)) for s, v in versions.items()}
            state("random", "%d:%d" % (e, n), "random state %d" % n, choice)
        return durable


def data_offset(base):
    """Where cluster 2 starts, from the boot sector."""
    bps, spc, reserved, fats, root_entries, total16, _, fat16 = \
        struct.unpack_from("<HBHBHHBH", base, 11)
    fat_sectors = fat16 or struct.unpack_from("<I", base, 36)[0]
    root = (root_entries * 32 + bps - 1) // bps
    return (reserved + fats * fat_sectors + root) * bps


def mutate(records, how, base):
    """Break the recording on purpose, for the checker's self-test.
    no-fsync-flush: the flushes of fsync(2) never happened (an fsync
    that returns before the data is on the disk); flip-data: the last
    write of file data had one byte wrong (a damaged durable file)."""
    if how == "no-fsync-flush":
        records[:] = [r for r in records
                      if not (r.kind == "F" and r.tag == "sync ")]
    elif how == "flip-data":
        # A write(2) writes its entry (32 bytes) besides the data.
        first_data = data_offset(base)
        last = [r for r in records if r.kind == "W" and r.length > 32 and
                r.tag.startswith("write ") and r.off >= first_data]
        if not last:
            sys.exit("--mutate flip-data: no data written")
        r = last[-1]
        r.data = bytes([r.data[0] ^ 0x55]) + r.data[1:]
    else:
        sys.exit("--mutate: no-fsync-flush or flip-data")


def fingerprint(epoch, changed):
    h = hashlib.blake2b(digest_size=16)
    for s in sorted(changed):
        h.update(struct.pack("<Q", s))
        h.update(changed[s])
    return (epoch, h.digest())


def keep(c, args):
    """The recording up to the state's crash point, and what was wrong."""
    if not c.violations:
        sys.exit("--keep: that state has no violation")
    kind, ident = args.only_state
    recs = c.records
    if kind == "prefix":
        crash = int(ident)
    elif kind in ("drop", "only"):
        crash = next(i for i in range(int(ident), len(recs) + 1)
                     if i == len(recs) or recs[i].kind == "F")
    elif kind == "random":
        flushes = [i for i, r in enumerate(recs) if r.kind == "F"]
        epoch = int(ident.split(":")[0])
        crash = flushes[epoch] if epoch < len(flushes) else len(recs)
    else:
        sys.exit("--keep: prefix, drop, only or random states")
    os.makedirs(args.keep, exist_ok=True)
    raw = read_bytes(os.path.join(c.run_dir, "trace"))
    cut = recs[crash - 1].end if crash else 0
    with gzip.open(os.path.join(args.keep, "trace.gz"), "wb") as f:
        f.write(raw[:cut])
    blob_end = 0
    with open(os.path.join(args.keep, "journal"), "w") as out:
        for line in open(os.path.join(c.run_dir, "journal")):
            f = line.rstrip("\n").split("\t")
            if f[0] == "op" and int(f[2]) >= cut:
                break
            if f[0] == "quiet" and int(f[1]) >= cut:
                continue
            if f[0] == "op":
                f[3] = str(min(int(f[3]), cut))
            if f[0] == "state":
                blob_end = max(blob_end, int(f[4]) + int(f[5]))
            out.write("\t".join(f) + "\n")
    blob = read_bytes(os.path.join(c.run_dir, "journal.blob"))
    with gzip.open(os.path.join(args.keep, "journal.blob.gz"), "wb") as f:
        f.write(blob[:blob_end])
    with open(os.path.join(args.keep, "state"), "w") as f:
        f.write("fat\tfat%s\nworkload\t%s\nstate\t%s\t%s\nseed\t%d\n" % (
            c.info.get("fat"), c.info.get("workload"), kind, ident,
            args.seed))
        for p in c.violations[0][2]:
            f.write("expect\t%s\n" % p)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir")
    ap.add_argument("--fatwalk", required=True, help="the fatwalk binary")
    ap.add_argument("--random", type=int, default=4,
                    help="random states per flush epoch (default 4)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--prefix-only", action="store_true",
                    help="only the states at each write boundary")
    ap.add_argument("--state", dest="only_state", nargs=2,
                    metavar=("KIND", "ID"),
                    help="check one state: prefix K, drop W, only W, "
                    "random EPOCH:N, final 0 (as the summary names them)")
    ap.add_argument("--save", help="write violating states here")
    ap.add_argument("--keep", metavar="DIR",
                    help="with --state: write the recording cut at that "
                    "state (a regression, tests/crash/regress/) into DIR")
    ap.add_argument("--stop", action="store_true",
                    help="stop at the first violation")
    ap.add_argument("--label", default="", help="name for the summary")
    ap.add_argument("--mutate", metavar="HOW",
                    help="self-test: break the recording first "
                    "(no-fsync-flush, flip-data)")
    ap.add_argument("--show", type=int, default=5,
                    help="violations to print in full (default 5)")
    args = ap.parse_args()
    if args.save:
        os.makedirs(args.save, exist_ok=True)
    if args.keep and not args.only_state:
        sys.exit("--keep needs --state")
    t0 = time.time()
    c = Checker(args, args.run_dir)
    try:
        c.run()
    finally:
        for f in os.listdir(c.tmp):
            os.unlink(os.path.join(c.tmp, f))
        os.rmdir(c.tmp)
    total = sum(c.counts.values())
    label = args.label or "%s/FAT%s" % (c.info.get("workload"),
                                        c.info.get("fat"))
    print("%s: %d crash states (%s), %d writes, %d flushes, %d violations, "
          "%d at documented limits, %.1f s" % (
              label, total,
              " ".join("%s %d" % kv for kv in sorted(c.counts.items())),
              sum(1 for r in c.records if r.kind in "WZ"),
              sum(1 for r in c.records if r.kind == "F"),
              len(c.violations), len(c.limits), time.time() - t0))
    if c.leftovers:
        print("  crash leftovers seen: " + ", ".join(
            "%s %d" % kv for kv in sorted(c.leftovers.items())))
    for ident, desc, limits in c.limits[:2]:
        print("  limit %s: %s: %s" % (ident, desc, "; ".join(limits)))
    for ident, desc, problems, lines in c.violations[:args.show]:
        print("VIOLATION %s: %s" % (ident, desc))
        for p in problems:
            print("    " + p)
        for l in lines:
            print("    | " + l)
    if len(c.violations) > args.show:
        print("... and %d more violations" % (len(c.violations) - args.show))
    if args.keep:
        keep(c, args)
    sys.exit(1 if c.violations else 0)


if __name__ == "__main__":
    main()
