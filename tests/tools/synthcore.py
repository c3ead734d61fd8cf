#!/usr/bin/python3
"""Write a small synthetic ELF vmcore (stdlib only) for exercising kdcmp,
elf2classic and dump readers.

Guest RAM (pfns at 4 KiB):
  block 0  0x0 .. 0x9f000                  (0x1000 .. 0x9fc00 with --odd)
  block 1  0x100000 .. MB MiB - 64 KiB
  block 2  MB MiB + 1 MiB, 256 KiB, of which only 192 KiB are in the file
           (p_filesz < p_memsz)
Page contents depend on pfn % 5: all zero, zero but one byte, the pfn
repeated, random, random (seeded by --seed and the pfn).

Layouts:
  kdump  program headers right after the ELF header, PT_LOAD data page
         aligned, p_vaddr in the direct map
  qemu   as QEMU's dump-guest-memory: ELF header with e_ehsize 8, section
         headers (NULL + .shstrtab) first, then program headers, notes,
         unaligned segment data, string table last; p_vaddr = p_paddr
"""
import argparse
import random
import struct

PAGE = 4096


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('out')
    p.add_argument('--layout', choices=['kdump', 'qemu'], default='kdump')
    p.add_argument('--bits', type=int, choices=[32, 64], default=64)
    p.add_argument('--endian', choices=['little', 'big'], default='little',
                   help='big: EM_S390 (64-bit) or EM_MIPS (32-bit)')
    p.add_argument('--mb', type=int, default=64, help='RAM size in MiB (default 64)')
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--vmcoreinfo', action='store_true',
                   help='add a minimal VMCOREINFO note (system makedumpfile then '
                        'wants kernel symbols it cannot find)')
    p.add_argument('--xnum', action='store_true',
                   help='add empty PT_LOADs (p_filesz 0) until the count needs PN_XNUM')
    p.add_argument('--odd', action='store_true',
                   help='block 0 is 0x1000..0x9fc00 (ends inside a page)')
    p.add_argument('--flip', type=lambda s: int(s, 0), action='append', default=[],
                   help='invert the byte at this physical address (repeatable)')
    p.add_argument('--drop-tail', type=int, default=0, metavar='N',
                   help='leave the last N pages of block 1 out of the file '
                        '(p_filesz shrinks, p_memsz stays)')
    a = p.parse_args()

    E = '<' if a.endian == 'little' else '>'
    is64 = a.bits == 64
    if is64:
        machine = 62 if a.endian == 'little' else 22      # EM_X86_64 / EM_S390
    else:
        machine = 3 if a.endian == 'little' else 8        # EM_386 / EM_MIPS
    page_offset = 0xffff888000000000 if is64 else 0xc0000000

    top = a.mb << 20
    blk1 = top - 0x100000 - 0x10000
    # [paddr, memsz, filesz]
    segs = [[0, 0x9f000, 0x9f000],
            [0x100000, blk1, blk1 - a.drop_tail * PAGE],
            [top + 0x100000, 0x40000, 0x30000]]
    if a.odd:
        segs[0] = [0x1000, 0x9ec00, 0x9ec00]

    def page_data(pfn):
        k = pfn % 5
        if k == 0:
            return bytes(PAGE)
        if k == 1:
            b = bytearray(PAGE)
            b[(pfn * 131) % PAGE] = 1 + (pfn & 0x7f)
            return bytes(b)
        if k == 2:
            return struct.pack(E + 'Q', pfn) * (PAGE // 8)
        return random.Random(a.seed << 40 | pfn).randbytes(PAGE)

    def note(name, ntype, desc):
        n = name.encode() + b'\0'
        pad = lambda x: x + bytes((-len(x)) % 4)
        return struct.pack(E + 'III', len(n), len(desc), ntype) + pad(n) + pad(desc)

    notes = note('CORE', 1, bytes(336 if is64 else 144))
    if a.vmcoreinfo:
        notes += note('VMCOREINFO', 0, b'OSRELEASE=6.1.0-synthetic\nPAGESIZE=4096\n'
                      b'SYMBOL(_stext)=ffffffff81000000\nNUMBER(phys_base)=0\n'
                      b'KERNELOFFSET=0\n')

    loads = list(segs)
    if a.xnum:
        base = 0x100000000 if is64 else 0x80000000
        loads += [[base + i * PAGE, PAGE, 0] for i in range(0xffff + 3 - len(loads))]
    nph = 1 + len(loads)
    xnum = nph >= 0xffff

    ehsize, phentsize, shentsize = (64, 56, 64) if is64 else (52, 32, 40)
    none = 0xffffffffffffffff if is64 else 0xffffffff
    shstr = b'\0.shstrtab\0'
    if a.layout == 'qemu':
        shnum, shoff = 2, ehsize
        phoff = shoff + shnum * shentsize
    else:
        shnum, shoff = (1 if xnum else 0), 0
        phoff = ehsize
    notes_off = phoff + nph * phentsize
    off = notes_off + len(notes)
    if a.layout == 'kdump':
        off = (off + PAGE - 1) & ~(PAGE - 1)
    placed = []
    for s, m, f in loads:
        if f:
            placed.append((s, m, f, off))
            off += f
        else:
            placed.append((s, m, f, none if a.layout == 'qemu' else off))
    if a.layout == 'kdump' and xnum:
        shoff = off
        off += shentsize
    strtab_off = off

    def ehdr():
        ident = (b'\x7fELF' + bytes([2 if is64 else 1, 1 if a.endian == 'little' else 2, 1, 0])
                 + bytes(8))
        fmt = E + ('HHIQQQIHHHHHH' if is64 else 'HHIIIIIHHHHHH')
        return ident + struct.pack(fmt, 4, machine, 1, 0, phoff, shoff, 0,
                                   8 if a.layout == 'qemu' else ehsize, phentsize,
                                   0xffff if xnum else nph, shentsize if shnum else 0, shnum,
                                   1 if a.layout == 'qemu' else 0)

    def shdr(name, typ, offset, size, info):
        fmt = E + ('IIQQQQIIQQ' if is64 else 'IIIIIIIIII')
        return struct.pack(fmt, name, typ, 0, 0, offset, size, 0, info, 0, 0)

    def phdr(typ, offset, vaddr, paddr, fsz, msz, align):
        if is64:
            return struct.pack(E + 'IIQQQQQQ', typ, 0, offset, vaddr, paddr, fsz, msz, align)
        return struct.pack(E + 'IIIIIIII', typ, offset, vaddr, paddr, fsz, msz, 0, align)

    with open(a.out, 'wb') as fp:
        fp.write(ehdr())
        if a.layout == 'qemu':
            fp.seek(shoff)
            fp.write(shdr(0, 0, 0, 0, nph if xnum else 0))
            fp.write(shdr(1, 3, strtab_off, len(shstr), 0))
        fp.seek(phoff)
        fp.write(phdr(4, notes_off, 0, 0, len(notes), len(notes), 0))
        for s, m, f, o in placed:
            v = s if a.layout == 'qemu' else (page_offset + s) & none
            fp.write(phdr(1, o, v, s, f, m, 0 if a.layout == 'qemu' else PAGE))
        fp.seek(notes_off)
        fp.write(notes)
        for s, m, f, o in placed:
            if not f:
                continue
            fp.seek(o)
            for pa in range(s & ~(PAGE - 1), s + f, PAGE):
                d = bytearray(page_data(pa // PAGE))
                for x in a.flip:
                    if pa <= x < pa + PAGE:
                        d[x - pa] ^= 0xff
                lo = max(s, pa) - pa
                hi = min(PAGE, s + f - pa)
                fp.write(bytes(d[lo:hi]))
        if a.layout == 'kdump' and xnum:
            fp.seek(shoff)
            fp.write(shdr(0, 0, 0, 0, nph))
        if a.layout == 'qemu':
            fp.seek(strtab_off)
            fp.write(shstr)


if __name__ == '__main__':
    main()
