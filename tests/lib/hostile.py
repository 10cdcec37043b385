#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""hostile.py IMAGE CASE: damage a copy of a test image (MBR or GPT disk
with a FAT boot partition, as tests/lib/images.sh builds them) in one
named way, in place. hostile.py --list prints the cases.

The FAT is read here with a small parser of its own (not rpifs's code), so
the damage lands where the case says: in a named file's chain, a named
directory's entries, a boot-sector field.
"""
import struct
import sys
import zlib

SECTOR = 512


class Disk:
    def __init__(self, path):
        self.path = path
        self.f = open(path, "r+b")
        self.f.seek(0, 2)
        self.size = self.f.tell()

    def read(self, off, n):
        self.f.seek(off)
        return self.f.read(n)

    def write(self, off, data):
        self.f.seek(off)
        self.f.write(data)

    def u(self, off, n):
        return int.from_bytes(self.read(off, n), "little")

    def put(self, off, n, value):
        self.write(off, value.to_bytes(n, "little"))

    # ---- partition tables ----
    def is_gpt(self):
        return self.read(SECTOR, 8) == b"EFI PART"

    def mbr_entry(self, i):
        return 446 + 16 * i

    def part_start(self, n=1):
        if self.is_gpt():
            hdr = SECTOR
            lba = self.u(hdr + 72, 8)
            esize = self.u(hdr + 84, 4)
            return self.u(lba * SECTOR + (n - 1) * esize + 32, 8) * SECTOR
        return self.u(self.mbr_entry(n - 1) + 8, 4) * SECTOR

    def gpt_fix_crcs(self, hdr_lba):
        hdr = hdr_lba * SECTOR
        lba = self.u(hdr + 72, 8)
        count = self.u(hdr + 80, 4)
        esize = self.u(hdr + 84, 4)
        entries = self.read(lba * SECTOR, count * esize)
        self.put(hdr + 88, 4, zlib.crc32(entries))
        hsize = self.u(hdr + 12, 4)
        self.put(hdr + 16, 4, 0)
        self.put(hdr + 16, 4, zlib.crc32(self.read(hdr, hsize)))


class Fat:
    """The FAT volume of partition 1 of a disk."""

    def __init__(self, disk):
        self.d = disk
        b = self.base = disk.part_start(1)
        self.bps = disk.u(b + 11, 2)
        self.spc = disk.u(b + 13, 1)
        self.reserved = disk.u(b + 14, 2)
        self.fats = disk.u(b + 16, 1)
        self.root_entries = disk.u(b + 17, 2)
        total = disk.u(b + 19, 2) or disk.u(b + 32, 4)
        fat16 = disk.u(b + 22, 2)
        self.fatsz = fat16 or disk.u(b + 36, 4)
        root_sectors = (self.root_entries * 32 + self.bps - 1) // self.bps
        self.data = self.reserved + self.fats * self.fatsz + root_sectors
        self.clusters = (total - self.data) // self.spc
        if fat16 == 0:
            self.bits = 32
        elif self.clusters < 4085:
            self.bits = 12
        else:
            self.bits = 16
        self.csize = self.bps * self.spc
        self.root_cluster = disk.u(b + 44, 4) if self.bits == 32 else 0
        self.eoc = {12: 0xFFF, 16: 0xFFFF, 32: 0x0FFFFFFF}[self.bits]

    def fat_off(self, copy=0):
        return self.base + (self.reserved + copy * self.fatsz) * self.bps

    def get(self, c):
        off = self.fat_off()
        if self.bits == 32:
            return self.d.u(off + 4 * c, 4) & 0x0FFFFFFF
        if self.bits == 16:
            return self.d.u(off + 2 * c, 2)
        v = self.d.u(off + c * 3 // 2, 2)
        return v >> 4 if c & 1 else v & 0xFFF

    def set(self, c, value):
        for copy in range(self.fats):
            off = self.fat_off(copy)
            if self.bits == 32:
                self.d.put(off + 4 * c, 4, value)
            elif self.bits == 16:
                self.d.put(off + 2 * c, 2, value)
            else:
                o = off + c * 3 // 2
                v = self.d.u(o, 2)
                if c & 1:
                    v = (v & 0x000F) | (value << 4)
                else:
                    v = (v & 0xF000) | value
                self.d.put(o, 2, v)

    def chain(self, first):
        out = []
        c = first
        while 2 <= c < self.clusters + 2 and len(out) <= self.clusters:
            out.append(c)
            c = self.get(c)
        return out

    def coff(self, c):
        return self.base + self.data * self.bps + (c - 2) * self.csize

    def dir_slots(self, first):
        """Byte offsets of every 32-byte slot of a directory."""
        if first == 0:  # the FAT12/16 root
            start = self.base + (self.reserved + self.fats * self.fatsz) * self.bps
            return [start + 32 * i for i in range(self.root_entries)]
        return [self.coff(c) + 32 * i for c in self.chain(first)
                for i in range(self.csize // 32)]

    def entries(self, first):
        """(short name, slot offset, long name or None) of a directory."""
        out, lfn = [], {}
        for off in self.dir_slots(first):
            e = self.d.read(off, 32)
            if e[0] == 0:
                break
            if e[0] == 0xE5:
                lfn = {}
                continue
            if e[11] == 0x0F:
                units = e[1:11] + e[14:26] + e[28:32]
                lfn[e[0] & 0x1F] = units
                continue
            name = None
            if lfn:
                raw = b"".join(lfn[k] for k in sorted(lfn))
                name = raw.decode("utf-16-le", "replace").split("\0")[0]
            out.append((e[0:11], off, name))
            lfn = {}
        return out

    def root(self):
        return self.root_cluster

    def find(self, path):
        """The slot offset of PATH's 8.3 entry (case-insensitive)."""
        first = self.root()
        off = None
        for part in path.split("/"):
            for short, o, long in self.entries(first):
                sname = short[:8].rstrip() + (b"." + short[8:].rstrip() if short[8:].strip() else b"")
                if (long or "").lower() == part.lower() or sname.decode("latin-1").lower() == part.lower():
                    off = o
                    break
            else:
                raise SystemExit(f"hostile.py: {path} not found")
            first = self.first_cluster(off)
        return off

    def first_cluster(self, slot):
        hi = self.d.u(slot + 20, 2) if self.bits == 32 else 0
        return hi << 16 | self.d.u(slot + 26, 2)

    def set_first_cluster(self, slot, c):
        if self.bits == 32:
            self.d.put(slot + 20, 2, c >> 16)
        self.d.put(slot + 26, 2, c & 0xFFFF)

    def free_cluster(self):
        for c in range(self.clusters + 1, 1, -1):
            if self.get(c) == 0:
                return c
        raise SystemExit("hostile.py: no free cluster")


def lfn_checksum(short):
    s = 0
    for b in short:
        s = (((s & 1) << 7) + (s >> 1) + b) & 0xFF
    return s


def lfn_slots(name_units, short):
    """Long-name slots (last first, as stored) for a list of UTF-16 units."""
    units = list(name_units)
    if len(units) % 13:
        units += [0] + [0xFFFF] * (12 - len(units) % 13)
    n = len(units) // 13
    out = []
    for i in range(n, 0, -1):
        u = units[(i - 1) * 13:i * 13]
        raw = b"".join(struct.pack("<H", x) for x in u)
        e = bytes([i | (0x40 if i == n else 0)]) + raw[0:10] + b"\x0f\x00" + \
            bytes([lfn_checksum(short)]) + raw[10:22] + b"\0\0" + raw[22:26]
        out.append(e)
    return out


def add_entry(fat, dir_first, long_units, short, cluster=0, size=0, attr=0x20):
    """Write a long name + 8.3 entry at the end of a directory."""
    slots = lfn_slots(long_units, short) if long_units is not None else []
    e = bytearray(32)
    e[0:11] = short
    e[11] = attr
    e[20:22] = (cluster >> 16).to_bytes(2, "little")
    e[26:28] = (cluster & 0xFFFF).to_bytes(2, "little")
    e[28:32] = size.to_bytes(4, "little")
    slots.append(bytes(e))
    offs = fat.dir_slots(dir_first)
    used = 0
    while used < len(offs) and fat.d.read(offs[used], 1) != b"\0":
        used += 1
    if used + len(slots) >= len(offs):
        if dir_first == 0:
            raise SystemExit("hostile.py: the root directory is full")
        c = fat.free_cluster()
        fat.set(fat.chain(dir_first)[-1], c)
        fat.set(c, fat.eoc)
        fat.d.write(fat.coff(c), bytes(fat.csize))
        return add_entry(fat, dir_first, long_units, short, cluster, size, attr)
    for i, s in enumerate(slots):
        fat.d.write(offs[used + i], s)


def utf16(s):
    b = s.encode("utf-16-le", "surrogatepass")
    return list(struct.unpack("<%dH" % (len(b) // 2), b))


# ---- the cases -------------------------------------------------------------

def boot_field(off, n, value):
    def f(d):
        fat = Fat(d)
        d.put(fat.base + off, n, value)
    return f


def mbr_past_end(d):
    e = d.mbr_entry(0)
    d.put(e + 12, 4, d.size // SECTOR)  # size: the whole file, from sector 8192


def mbr_huge(d):
    e = d.mbr_entry(0)
    d.put(e + 8, 4, 0xFFFFFF00)


def mbr_overlap(d):
    e1, e2 = d.mbr_entry(0), d.mbr_entry(1)
    start1, size1 = d.u(e1 + 8, 4), d.u(e1 + 12, 4)
    d.put(e2 + 8, 4, start1 + size1 // 2)


def mbr_at_zero(d):
    e = d.mbr_entry(0)
    d.put(e + 8, 4, 0)


def mbr_no_signature(d):
    d.write(510, b"\0\0")


def mbr_ext_loop(d):
    # Partition 3: an extended partition whose first EBR links to itself.
    e3 = d.mbr_entry(2)
    e2 = d.mbr_entry(1)
    start = d.u(e2 + 8, 4) + d.u(e2 + 12, 4) + 8
    entry = bytearray(16)
    entry[4] = 0x05
    entry[8:12] = start.to_bytes(4, "little")
    entry[12:16] = (2048).to_bytes(4, "little")
    d.write(e3, bytes(entry))
    ebr = bytearray(512)
    link = bytearray(16)
    link[4] = 0x05
    link[8:12] = (0).to_bytes(4, "little")  # relative to the extended start: itself
    link[12:16] = (2048).to_bytes(4, "little")
    ebr[446 + 16:446 + 32] = link
    ebr[510:512] = b"\x55\xaa"
    d.write(start * SECTOR, bytes(ebr))


def gpt_past_end(d):
    lba = d.u(SECTOR + 72, 8)
    d.put(lba * SECTOR + 40, 8, d.size // SECTOR + 100000)  # last LBA of entry 1
    d.gpt_fix_crcs(1)
    d.gpt_fix_crcs(d.u(SECTOR + 32, 8))


def gpt_both_bad(d):
    d.put(SECTOR + 16, 4, d.u(SECTOR + 16, 4) ^ 1)
    alt = d.u(SECTOR + 32, 8)
    d.put(alt * SECTOR + 16, 4, d.u(alt * SECTOR + 16, 4) ^ 1)


def gpt_primary_bad(d):
    d.put(SECTOR + 16, 4, d.u(SECTOR + 16, 4) ^ 1)


def gpt_huge_count(d):
    d.put(SECTOR + 80, 4, 0x100000)  # 128 MiB of entries, past the end
    d.gpt_fix_crcs(1)


def fat_loop(path):
    def f(d):
        fat = Fat(d)
        c = fat.chain(fat.first_cluster(fat.find(path)))
        fat.set(c[-1], c[0])
    return f


def fat_next(path, value):
    def f(d):
        fat = Fat(d)
        c = fat.chain(fat.first_cluster(fat.find(path)))
        v = value(fat) if callable(value) else value
        fat.set(c[len(c) // 2], v)
    return f


def size_past_chain(d):
    fat = Fat(d)
    slot = fat.find("config.txt")
    d.put(slot + 28, 4, 10 * fat.csize + 7)


def size_4g_no_cluster(d):
    fat = Fat(d)
    slot = fat.find("config.txt")
    fat.set_first_cluster(slot, 0)
    d.put(slot + 28, 4, 0xFFFFFFFF)


def first_out_of_range(d):
    fat = Fat(d)
    fat.set_first_cluster(fat.find("config.txt"), fat.clusters + 100)


def dir_self(d):
    """overlays/ holds a directory entry pointing at overlays itself."""
    fat = Fat(d)
    ov = fat.first_cluster(fat.find("overlays"))
    add_entry(fat, ov, utf16("myself"), b"MYSELF     ", ov, 0, 0x10)


def dir_parent(d):
    """overlays/ holds a directory entry pointing at the root (its parent)."""
    fat = Fat(d)
    ov = fat.first_cluster(fat.find("overlays"))
    add_entry(fat, ov, utf16("up"), b"UP         ", fat.root(), 0, 0x10)


def dir_free_cluster(d):
    """A directory entry whose cluster is free in the FAT."""
    fat = Fat(d)
    add_entry(fat, fat.root(), utf16("nowhere"), b"NOWHERE    ",
              fat.free_cluster(), 0, 0x10)


def root_loop(d):
    fat = Fat(d)
    if fat.bits != 32:
        raise SystemExit("hostile.py: root-loop needs FAT32")
    c = fat.chain(fat.root())
    fat.set(c[-1], c[0])


def lfn_bad_checksum(d):
    fat = Fat(d)
    add_entry(fat, fat.root(), utf16("long name with a bad checksum.txt"),
              b"LONGNA~1TXT")
    # Break the checksum of the slots just written.
    offs = fat.dir_slots(fat.root())
    for o in offs:
        e = d.read(o, 32)
        if e[0] == 0:
            break
        if e[11] == 0x0F and e[13] == lfn_checksum(b"LONGNA~1TXT"):
            d.put(o + 13, 1, e[13] ^ 0x55)


def lfn_bad_order(d):
    fat = Fat(d)
    short = b"ORDERB~1TXT"
    slots = lfn_slots(utf16("a long name whose slots are out of order.txt"), short)
    slots[0], slots[1] = slots[1], slots[0]
    e = bytearray(32)
    e[0:11] = short
    e[11] = 0x20
    offs = fat.dir_slots(fat.root())
    used = 0
    while d.read(offs[used], 1) != b"\0":
        used += 1
    for i, s in enumerate(slots + [bytes(e)]):
        d.write(offs[used + i], s)


def names_hostile(d):
    """Entries whose names are no good as file names: long names with '/',
    a control character, '..', '.', a lone surrogate; an 8.3 name with a
    slash and one with a control byte."""
    fat = Fat(d)
    r = fat.root()
    add_entry(fat, r, utf16("../../escape"), b"ESCAPE~1   ", 0, 0)
    add_entry(fat, r, utf16("ctl\x01name"), b"CTLNAM~1   ", 0, 0)
    add_entry(fat, r, utf16(".."), b"DOTDOT~1   ", 0, 0)
    add_entry(fat, r, utf16("."), b"DOT~1      ", 0, 0)
    add_entry(fat, r, [0x61, 0xD800, 0x62], b"SURROG~1   ", 0, 0)
    add_entry(fat, r, None, b"SL/SH   TXT", 0, 0)
    add_entry(fat, r, None, b"CT\x02L    TXT", 0, 0)


def huge_dir(d):
    """overlays/ grows a chain of 5000 clusters of deleted entries."""
    fat = Fat(d)
    ov = fat.first_cluster(fat.find("overlays"))
    last = fat.chain(ov)[-1]
    filler = b"\xe5" * fat.csize
    added = 0
    for c in range(2, fat.clusters + 2):
        if added == 5000:
            break
        if fat.get(c) == 0:
            fat.set(last, c)
            fat.set(c, fat.eoc)
            d.write(fat.coff(c), filler)
            last = c
            added += 1


CASES = {
    # partition tables
    "mbr-past-end": mbr_past_end,
    "mbr-huge-start": mbr_huge,
    "mbr-overlap": mbr_overlap,
    "mbr-at-zero": mbr_at_zero,
    "mbr-no-signature": mbr_no_signature,
    "mbr-extended-loop": mbr_ext_loop,
    "gpt-past-end": gpt_past_end,
    "gpt-both-headers-bad": gpt_both_bad,
    "gpt-primary-bad": gpt_primary_bad,
    "gpt-huge-entry-count": gpt_huge_count,
    # boot sector fields (offsets in the FAT boot sector)
    "bpb-jump": boot_field(0, 1, 0x00),
    "bpb-bytes-per-sector-0": boot_field(11, 2, 0),
    "bpb-bytes-per-sector-300": boot_field(11, 2, 300),
    "bpb-bytes-per-sector-8192": boot_field(11, 2, 8192),
    "bpb-sectors-per-cluster-0": boot_field(13, 1, 0),
    "bpb-sectors-per-cluster-3": boot_field(13, 1, 3),
    "bpb-sectors-per-cluster-128": boot_field(13, 1, 128),
    "bpb-reserved-0": boot_field(14, 2, 0),
    "bpb-fats-0": boot_field(16, 1, 0),
    "bpb-fats-9": boot_field(16, 1, 9),
    "bpb-root-entries-0": boot_field(17, 2, 0),
    "bpb-media": boot_field(21, 1, 0x12),
    "bpb-total-0": lambda d: (boot_field(19, 2, 0)(d), boot_field(32, 4, 0)(d)),
    "bpb-total-huge": lambda d: (boot_field(19, 2, 0)(d), boot_field(32, 4, 0xFFFFFFF0)(d)),
    "bpb-fat-size-0": lambda d: (boot_field(22, 2, 0)(d), boot_field(36, 4, 0)(d)),
    "bpb-fat-size-huge": lambda d: boot_field(22, 2, 0xFFFF)(d) if Fat(d).bits != 32 else boot_field(36, 4, 0x7FFFFFFF)(d),
    "bpb-fat-too-small": lambda d: boot_field(22, 2, 1)(d) if Fat(d).bits != 32 else boot_field(36, 4, 1)(d),
    "bpb-root-cluster-0": boot_field(44, 4, 0),
    "bpb-root-cluster-huge": boot_field(44, 4, 0x0FFFFFF0),
    "bpb-fat32-version": boot_field(42, 2, 0x0101),
    "bpb-active-fat-7": boot_field(40, 2, 0x87),
    # FAT chains and directory entries
    "chain-loop": fat_loop("kernel8.img"),
    "chain-into-reserved": fat_next("kernel8.img", 1),
    "chain-out-of-range": fat_next("kernel8.img", lambda f: f.clusters + 10),
    "chain-into-free": fat_next("kernel8.img", lambda f: f.free_cluster()),
    "chain-bad-cluster": fat_next("kernel8.img", lambda f: f.eoc - 8),
    "size-past-chain": size_past_chain,
    "size-4g-no-cluster": size_4g_no_cluster,
    "first-cluster-out-of-range": first_out_of_range,
    "dir-points-at-itself": dir_self,
    "dir-points-at-parent": dir_parent,
    "dir-in-free-cluster": dir_free_cluster,
    "root-chain-loop": root_loop,
    "lfn-bad-checksum": lfn_bad_checksum,
    "lfn-bad-order": lfn_bad_order,
    "hostile-names": names_hostile,
    "huge-directory": huge_dir,
}


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "--list":
        print("\n".join(CASES))
        return
    if len(sys.argv) != 3 or sys.argv[2] not in CASES:
        raise SystemExit("usage: hostile.py IMAGE CASE (--list for the cases)")
    d = Disk(sys.argv[1])
    CASES[sys.argv[2]](d)
    d.f.close()


if __name__ == "__main__":
    main()
