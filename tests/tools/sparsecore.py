#!/usr/bin/python3
"""Write a huge, sparse synthetic ELF64 x86_64 vmcore: guest RAM of SIZE GiB
whose pages are zero (file holes, no disk) but for a few written ones, to
show what a dump tool's memory and time do with guest size.

Layout: kdump style (ELF header, program headers, a VMCOREINFO note, then
page-aligned segment data); RAM [0, 640 KiB) and [1 MiB, SIZE GiB) in
PT_LOADs of at most 64 GiB each.  Written pages: the first 16 MiB of RAM
(a pattern per pfn), then one page in every GiB.  The pfns written are
listed on stdout with --list.
"""
import argparse
import os
import struct

PAGE = 4096
GiB = 1 << 30
SEG_MAX = 64 * GiB


def page_bytes(pfn):
    word = struct.pack('<Q', pfn * 0x9E3779B97F4A7C15 & (1 << 64) - 1)
    return (word + struct.pack('<Q', pfn)) * (PAGE // 16)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('out')
    p.add_argument('--gib', type=int, default=1024, help='RAM size in GiB (default 1024)')
    p.add_argument('--list', action='store_true', help='print the pfns written')
    a = p.parse_args()

    ranges = [(0, 640 << 10)]
    start = 1 << 20
    end = a.gib * GiB
    while start < end:
        n = min(SEG_MAX - (start % SEG_MAX), end - start)
        ranges.append((start, start + n))
        start += n

    vmci = b'OSRELEASE=6.1.0-sparse\nPAGESIZE=4096\n'
    name = b'VMCOREINFO\0'
    note = struct.pack('<III', len(name), len(vmci), 0) + name.ljust(12, b'\0') + \
        vmci.ljust((len(vmci) + 3) // 4 * 4, b'\0')
    phnum = 1 + len(ranges)
    ph_off = 64
    note_off = ph_off + 56 * phnum
    data_off = (note_off + len(note) + PAGE - 1) // PAGE * PAGE

    ehdr = b'\x7fELF' + bytes([2, 1, 1, 0]) + bytes(8)
    ehdr += struct.pack('<HHIQQQIHHHHHH', 4, 62, 1, 0, ph_off, 0, 0, 64, 56, phnum, 64, 0, 0)
    phdrs = struct.pack('<IIQQQQQQ', 4, 0, note_off, 0, 0, len(note), len(note), 0)
    offsets = []
    off = data_off
    for (s, e) in ranges:
        offsets.append(off)
        phdrs += struct.pack('<IIQQQQQQ', 1, 7, off, 0xffff888000000000 + s, s, e - s, e - s, PAGE)
        off += e - s
    total = off

    written = []
    with open(a.out, 'wb') as f:
        f.write(ehdr + phdrs + note)
        f.truncate(total)

        def put(pa):
            for (s, e), o in zip(ranges, offsets):
                if s <= pa < e:
                    f.seek(o + pa - s)
                    f.write(page_bytes(pa // PAGE))
                    written.append(pa // PAGE)
                    return
        for pa in range(1 << 20, 17 << 20, PAGE):
            put(pa)
        for g in range(1, a.gib):
            put(g * GiB + 5 * PAGE)
    if a.list:
        for pfn in written:
            print(pfn)


if __name__ == '__main__':
    main()
