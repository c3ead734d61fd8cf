#!/usr/bin/python3
"""Print the header facts of a kdump-compressed file (64-bit little-endian
layout), independently of the project's C code: phys_base (signed), status,
dump_level, utsname fields, and the VMCOREINFO text's phys_base and
KERNELOFFSET.  Output: KEY=VALUE lines."""
import struct
import sys


def main(path):
    with open(path, "rb") as f:
        head = f.read(464)
        if head[:8] != b"KDUMP   ":
            sys.exit("%s: not a kdump-compressed file" % path)
        block = struct.unpack_from("<i", head, 428)[0]
        uts = [head[12 + 65 * i:12 + 65 * (i + 1)].split(b"\0")[0].decode() for i in range(6)]
        status = struct.unpack_from("<I", head, 424)[0]
        f.seek(block)
        sub = f.read(104)
        phys_base = struct.unpack_from("<q", sub, 0)[0]
        dump_level = struct.unpack_from("<i", sub, 8)[0]
        off_vi, size_vi = struct.unpack_from("<QQ", sub, 32)
        vi = b""
        if size_vi:
            f.seek(off_vi)
            vi = f.read(size_vi)
    print("phys_base=%d" % phys_base)
    print("status=0x%x" % status)
    print("dump_level=%d" % dump_level)
    for name, value in zip(("sysname", "nodename", "release", "version", "machine",
                            "domainname"), uts):
        print("uts_%s=%s" % (name, value))
    for line in vi.decode(errors="replace").split("\n"):
        if line.startswith("NUMBER(phys_base)="):
            print("vmcoreinfo_phys_base=%d" % int(line.split("=", 1)[1]))
        elif line.startswith("KERNELOFFSET="):
            print("vmcoreinfo_kerneloffset=%d" % int(line.split("=", 1)[1], 16))
        elif line.startswith("OSRELEASE="):
            print("vmcoreinfo_osrelease=" + line.split("=", 1)[1])


if __name__ == "__main__":
    main(sys.argv[1])
