/* kdump-compressed ("diskdump") on-disk format.
 *
 * The structures below describe the 64-bit layout; every field is stored in
 * the dumped machine's byte order, so code reads and writes them through the
 * byte-order helpers at the offsets given by offsetof(), never by casting a
 * file buffer.  The 32-bit layouts differ only in the timestamp and in the
 * alignment of the sub header; their offsets are listed separately. */
#ifndef DISKDUMP_MOD_H
#define DISKDUMP_MOD_H

#include <stddef.h>
#include <stdint.h>

#define KDUMP_SIGNATURE "KDUMP   "
#define KDUMP_SIG_LEN 8
#define KDUMP_HEADER_VERSION 6   /* written; 1..6 are read */
#define UTS_FIELD_LEN 65

/* disk_dump_header.status and page_desc.flags bits */
#define DUMP_DH_COMPRESSED_ZLIB    0x01
#define DUMP_DH_COMPRESSED_LZO     0x02
#define DUMP_DH_COMPRESSED_SNAPPY  0x04
#define DUMP_DH_COMPRESSED_INCOMPLETE 0x08  /* the dump was cut short */
#define DUMP_DH_EXCLUDED_VMEMMAP   0x10
#define DUMP_DH_COMPRESSED_ZSTD    0x20
/* Set by this makedumpfile in the main header only: the dump was made by
 * QEMU's dump-guest-memory (directly or converted), and phys_base/VMCOREINFO
 * were derived by this tool rather than recorded by the guest kernel.
 * Readers that do not know the bit ignore it (crash, libkdumpfile, and
 * makedumpfile 1.7 all decompress by the per-page flags only). */
#define DUMP_DH_QEMU_ORIGIN        0x40

#define DUMP_DH_COMPRESSION_MASK (DUMP_DH_COMPRESSED_ZLIB | DUMP_DH_COMPRESSED_LZO | \
				  DUMP_DH_COMPRESSED_SNAPPY | DUMP_DH_COMPRESSED_ZSTD)

struct new_utsname_disk {
	char sysname[UTS_FIELD_LEN];
	char nodename[UTS_FIELD_LEN];
	char release[UTS_FIELD_LEN];
	char version[UTS_FIELD_LEN];
	char machine[UTS_FIELD_LEN];
	char domainname[UTS_FIELD_LEN];
};

struct disk_dump_header64 {
	char signature[KDUMP_SIG_LEN];
	int32_t header_version;
	struct new_utsname_disk utsname;
	char pad[2];
	int64_t timestamp_sec;
	int64_t timestamp_usec;
	uint32_t status;
	int32_t block_size;
	int32_t sub_hdr_size;       /* blocks: sub header + notes */
	uint32_t bitmap_blocks;     /* both bitmaps */
	uint32_t max_mapnr;         /* truncated; see max_mapnr_64 */
	uint32_t total_ram_blocks;
	uint32_t device_blocks;
	uint32_t written_blocks;
	uint32_t current_cpu;
	int32_t nr_cpus;
};

_Static_assert(offsetof(struct disk_dump_header64, utsname) == 12, "utsname");
_Static_assert(offsetof(struct disk_dump_header64, utsname.machine) == 0x110, "machine");
_Static_assert(offsetof(struct disk_dump_header64, timestamp_sec) == 408, "timestamp");
_Static_assert(offsetof(struct disk_dump_header64, status) == 424, "status");
_Static_assert(offsetof(struct disk_dump_header64, block_size) == 428, "block_size");
_Static_assert(offsetof(struct disk_dump_header64, sub_hdr_size) == 432, "sub_hdr_size");
_Static_assert(offsetof(struct disk_dump_header64, bitmap_blocks) == 436, "bitmap_blocks");
_Static_assert(offsetof(struct disk_dump_header64, max_mapnr) == 440, "max_mapnr");
_Static_assert(offsetof(struct disk_dump_header64, nr_cpus) == 460, "nr_cpus");
_Static_assert(sizeof(struct disk_dump_header64) == 464, "disk_dump_header size");

/* 32-bit targets: timestamp is two int32 at 404; everything after moves. */
#define DH32_TIMESTAMP 404
#define DH32_STATUS 412
#define DH32_SIZE 452

struct kdump_sub_header64 {
	uint64_t phys_base;
	int32_t dump_level;         /* v1 */
	int32_t split;              /* v2 */
	uint64_t start_pfn;         /* v2 */
	uint64_t end_pfn;           /* v2 */
	uint64_t offset_vmcoreinfo; /* v3: file offset of the VMCOREINFO text */
	uint64_t size_vmcoreinfo;   /* v3 */
	uint64_t offset_note;       /* v4 */
	uint64_t size_note;         /* v4 */
	uint64_t offset_eraseinfo;  /* v5 */
	uint64_t size_eraseinfo;    /* v5 */
	uint64_t start_pfn_64;      /* v6 */
	uint64_t end_pfn_64;        /* v6, exclusive */
	uint64_t max_mapnr_64;      /* v6 */
};

_Static_assert(offsetof(struct kdump_sub_header64, offset_vmcoreinfo) == 32, "vmcoreinfo");
_Static_assert(offsetof(struct kdump_sub_header64, offset_note) == 48, "note");
_Static_assert(offsetof(struct kdump_sub_header64, start_pfn_64) == 80, "pfn64");
_Static_assert(sizeof(struct kdump_sub_header64) == 104, "kdump_sub_header size");

/* i386 packs the sub header's u64 fields on 4-byte boundaries (80 bytes);
 * ARM32/MIPS32 align them to 8 (96 bytes, like the 64-bit layout minus the
 * 32-bit start_pfn/end_pfn). */

struct page_desc {
	int64_t offset;     /* file offset of the page data */
	uint32_t size;      /* stored size */
	uint32_t flags;     /* 0 = raw, else one DUMP_DH_COMPRESSED_* bit */
	uint64_t page_flags;
};

_Static_assert(sizeof(struct page_desc) == 24, "page_desc size");

#endif
