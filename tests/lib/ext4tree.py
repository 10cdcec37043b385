#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The whole of an ext2/3/4 tree, one line a node, sorted by path:

    path type mode uid gid nlink size detail

detail is a regular file's sha256, a symlink's target, a device's
major:minor. Read two ways, so that one oracle checks the other:

    ext4tree.py debugfs PARTITION [ROOT]   through e2fsprogs' debugfs
    ext4tree.py mount DIR                   through a mounted tree (lstat)

Directories' sizes and lost+found are left out (how big a directory's
blocks are is not what a tree holds).
"""
import hashlib
import os
import re
import stat
import subprocess
import sys
import tempfile

TYPES = {0o040000: "d", 0o100000: "f", 0o120000: "l", 0o020000: "c",
         0o060000: "b", 0o010000: "p", 0o140000: "s"}


def debugfs(part, commands):
    out = subprocess.run(["debugfs", "-f", "-", part], input=commands,
                         capture_output=True, text=True, errors="replace")
    return out.stdout


def walk_debugfs(part, top):
    lines, dirs, files, others = [], [top], [], []
    while dirs:
        d = dirs.pop()
        for line in debugfs(part, "ls -p %s\n" % d).splitlines():
            m = re.match(r"^/(\d+)/(\d+)/(\d+)/(\d+)/(.*)/(\d*)/$", line)
            if not m:
                continue
            ino, mode, uid, gid, name, size = m.groups()
            # debugfs lists an empty inline-data directory's free space
            # as an entry of inode 0.
            if name in (".", "..") or ino == "0":
                continue
            path = (d.rstrip("/") + "/" + name)
            if path == "/lost+found":
                continue
            mode = int(mode, 8)
            kind = TYPES.get(mode & 0o170000, "?")
            node = {"path": path, "type": kind, "mode": mode & 0o7777,
                    "uid": int(uid), "gid": int(gid),
                    "size": int(size or 0)}
            lines.append(node)
            if kind == "d":
                dirs.append(path)
            elif kind == "f":
                files.append(node)
            else:
                others.append(node)
    with tempfile.TemporaryDirectory() as tmp:
        script = "".join("dump %s %s/%d\n" % (n["path"], tmp, i)
                         for i, n in enumerate(files))
        debugfs(part, script)
        for i, n in enumerate(files):
            # debugfs dumps an inline-data file's whole inline area.
            with open("%s/%d" % (tmp, i), "rb") as f:
                data = f.read()[:n["size"]]
            n["detail"] = hashlib.sha256(data).hexdigest()[:16]
    stats = debugfs(part, "".join("stat %s\n" % n["path"] for n in lines))
    # One "Inode:" block per node, in order.
    blocks = re.split(r"(?m)^debugfs: stat ", stats)[1:]
    for n, block in zip(lines, blocks):
        m = re.search(r"Links: (\d+)", block)
        n["nlink"] = int(m.group(1)) if m else 0
        if n["type"] == "l":
            m = re.search(r'Fast link dest: "(.*)"', block)
            if m:
                n["detail"] = m.group(1)
            else:
                n["detail"] = debugfs(part, "cat %s\n" % n["path"]).split(
                    "\n", 1)[1].rstrip("\n")
        elif n["type"] in "cb":
            m = re.search(r"Device major/minor number: (\d+):(\d+)", block)
            n["detail"] = "%d:%d" % (int(m.group(1)), int(m.group(2)))
    return lines


def walk_mount(top):
    lines = []
    for d, subdirs, names in os.walk(top):
        for name in sorted(subdirs + names):
            p = os.path.join(d, name)
            rel = "/" + os.path.relpath(p, top)
            if rel == "/lost+found":
                continue
            st = os.lstat(p)
            kind = TYPES.get(stat.S_IFMT(st.st_mode), "?")
            n = {"path": rel, "type": kind,
                 "mode": stat.S_IMODE(st.st_mode), "uid": st.st_uid,
                 "gid": st.st_gid, "nlink": st.st_nlink, "size": st.st_size}
            if kind == "f":
                with open(p, "rb") as f:
                    n["detail"] = hashlib.sha256(f.read()).hexdigest()[:16]
            elif kind == "l":
                n["detail"] = os.readlink(p)
            elif kind in "cb":
                n["detail"] = "%d:%d" % (os.major(st.st_rdev),
                                         os.minor(st.st_rdev))
            lines.append(n)
        subdirs[:] = [s for s in subdirs
                      if not os.path.islink(os.path.join(d, s))]
    return lines


def show(nodes):
    for n in sorted(nodes, key=lambda n: n["path"]):
        size = "-" if n["type"] == "d" else n["size"]
        nlink = "-" if n["type"] == "d" else n["nlink"]
        print("%s %s %04o %d %d %s %s %s" % (n["path"], n["type"], n["mode"],
                                             n["uid"], n["gid"], nlink, size,
                                             n.get("detail", "")))


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "debugfs":
        show(walk_debugfs(sys.argv[2], sys.argv[3] if len(sys.argv) > 3
                          else "/"))
    elif len(sys.argv) == 3 and sys.argv[1] == "mount":
        show(walk_mount(sys.argv[2]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
