/* Writers: turn an open dump into an output format through a sink. */
#ifndef MKDF_WRITER_H
#define MKDF_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "../dump.h"
#include "../err.h"
#include "sink.h"

struct codec;

struct out_opts {
	const struct codec *codec;    /* NULL: pages stored raw */
	int dump_level;
	int nthreads;                 /* compression threads (1 = the caller only) */
	/* pfns whose bitmap bits are made at a time (0: the default, 4 MiB of
	 * bits; UINT64_MAX: all at once) */
	uint64_t cycle_pfns;
	uint32_t extra_status;        /* e.g. DUMP_DH_QEMU_ORIGIN */
	int64_t phys_base;
	/* The note blob to write (may differ from the input's, e.g. with a
	 * VMCOREINFO note added). */
	const uint8_t *notes;
	size_t notes_size;
	/* utsname fields for the kdump header (NUL-terminated, may be "") */
	const char *sysname, *nodename, *release, *version, *machine, *domainname;
	int64_t timestamp;
	/* ELF output: an extra PT_LOAD for the kernel image mapping, first, as
	 * /proc/vmcore has it (drgn bootstraps its page-table walk from it). */
	bool has_kimage;
	uint64_t kimage_va, kimage_pa, kimage_size;
	/* Kernel-aware filtering: clear from MAP (bit i = pfn START + i) the
	 * pfns the dump level drops.  NULL: nothing beyond zero pages. */
	err_t *(*filter)(void *arg, uint64_t start, uint64_t n, uint8_t *map);
	void *filter_arg;
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *progress_arg;
};

struct out_stats {
	uint64_t ram_pages;       /* pfns that are RAM */
	uint64_t saved_pages;     /* pfns the input holds */
	uint64_t dumped_pages;    /* pfns written with data */
	uint64_t zero_pages;      /* all-zero pages dropped or shared */
	uint64_t bytes;           /* output size */
	bool incomplete;          /* out of space: the output is a partial dump */
};

err_t *write_kdump(struct dump *d, struct sink *s, const struct out_opts *o, struct out_stats *st);
err_t *write_elf(struct dump *d, struct sink *s, const struct out_opts *o, struct out_stats *st);

/* Page bitmaps are made a cycle of pfns at a time, so that memory stays
 * bounded whatever the guest's size: by default 32 Mi pfns (4 MiB of bits,
 * 128 GiB of 4 KiB pages).  Cycles start on multiples of 2^18 pfns, so that
 * no naturally aligned block the kernel manages as one (a buddy block, a
 * huge page up to 1 GiB) is split between two cycles and seen from its
 * tail only. */
#define CYCLE_ALIGN (UINT64_C(1) << 18)
#define CYCLE_PFNS (UINT64_C(32) << 20)

/* The cycle length for MAX_PFN pfns and a wish of LIMIT pfns (0: the
 * default): a multiple of CYCLE_ALIGN, or all the pfns (a multiple of 8)
 * when they fit in one cycle. */
static inline uint64_t cycle_len(uint64_t max_pfn, uint64_t limit)
{
	uint64_t len = (limit ? limit : CYCLE_PFNS) / CYCLE_ALIGN * CYCLE_ALIGN;
	if (len < CYCLE_ALIGN)
		len = CYCLE_ALIGN;
	return max_pfn < len ? (max_pfn + 7) / 8 * 8 : len;
}

#endif
