/* An open input dump seen as guest-physical memory: every reader (ELF,
 * kdump-compressed, either of them flattened) fills the same description and
 * answers page reads through the same call. */
#ifndef MKDF_DUMP_H
#define MKDF_DUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "input/bsrc.h"

struct arch_ops;

enum page_state {
	PAGE_PRESENT,   /* data returned */
	PAGE_ABSENT,    /* not RAM: a hole between ranges */
	PAGE_EXCLUDED,  /* RAM whose content was not saved (filtered) */
	PAGE_LOST,      /* should be there, but the dump was cut short */
};

/* One saved segment as the input describes it (ELF PT_LOAD), kept for
 * writers that reproduce the input's virtual layout. */
struct dump_seg {
	uint64_t paddr, vaddr, memsz, filesz;
};

/* A contiguous run of physical RAM, in bytes; ranges are sorted and
 * disjoint.  Bytes at or past data_end were not saved. */
struct ram_range {
	uint64_t start, end, data_end;
};

enum dump_format { FMT_ELF, FMT_KDUMP };

struct kdump_info {            /* header facts of a kdump-compressed input */
	int header_version;
	uint32_t status;
	int64_t phys_base;
	bool phys_base_known;      /* false when the header says ~0 or has none */
	int dump_level;
	char release[66], machine[66], version[66], nodename[66];
	int64_t timestamp;
	int nr_cpus;
	bool split;
	uint64_t start_pfn, end_pfn;
};

struct dump {
	const char *name;
	enum dump_format format;
	bool flattened;
	bool big_endian;
	int wordsize;
	uint32_t page_size;
	uint16_t e_machine;
	const struct arch_ops *arch;   /* NULL when unknown */
	uint8_t *notes;                /* verbatim note blob, may be NULL */
	size_t notes_size;
	struct ram_range *ram;
	size_t nram;
	struct dump_seg *segs;         /* ELF inputs: PT_LOADs in file order */
	size_t nsegs;
	uint64_t max_pfn;              /* exclusive */
	struct kdump_info kdump;       /* valid when format == FMT_KDUMP */
	int elf_class;                 /* 32 or 64 for ELF inputs */
	char layout[48];               /* e.g. "qemu (sections first)" */

	/* reader internals */
	struct bsrc *src;
	const struct dump_reader *reader;
	void *priv;
};

struct dump_reader {
	const char *name;
	bool (*probe)(struct bsrc *src);
	err_t *(*open)(struct dump *d);
	/* Fill BUF (page_size bytes) with page PFN and set *STATE; BUF is zeroed
	 * for anything but PAGE_PRESENT. */
	err_t *(*read_page)(struct dump *d, uint64_t pfn, void *buf, enum page_state *state);
	/* Set bit (pfn - START) of MAP for every pfn in [START, START+N) whose
	 * content the dump holds (MAP is zeroed by the caller). */
	err_t *(*saved_map)(struct dump *d, uint64_t start, uint64_t n, uint8_t *map);
	/* Optional: read from PFN on up to N pages that are all saved whole,
	 * in one go, into BUF; *GOT is how many (0: read them one by one). */
	err_t *(*read_run)(struct dump *d, uint64_t pfn, uint64_t n, void *buf, uint64_t *got);
	/* Optional: see dump_zero_run(). */
	uint64_t (*zero_run)(struct dump *d, uint64_t pfn, uint64_t max, bool *zero);
	void (*close)(struct dump *d);
};

extern const struct dump_reader reader_elf, reader_kdump;

/* Detect the format by content and open PATH. */
err_t *dump_open(const char *path, struct dump **out);
err_t *dump_read_page(struct dump *d, uint64_t pfn, void *buf, enum page_state *state);
/* Read pages PFN, PFN+1, ... (at most N) that are all present into BUF, one
 * after the other; *GOT >= 1 is how many.  An error when page PFN is not
 * present. */
err_t *dump_read_run(struct dump *d, uint64_t pfn, uint64_t n, void *buf, uint64_t *got);
void dump_close(struct dump *d);

/* The length (1 to MAX pages) of the run from PFN whose pages are all
 * known to be saved and zero without reading them (*ZERO true: holes of
 * a sparse input file), or not known to be (*ZERO false: read them). */
uint64_t dump_zero_run(struct dump *d, uint64_t pfn, uint64_t max, bool *zero);

/* A human description: "QEMU ELF64 (sections first)", "flattened kdump-compressed v6" */
const char *dump_describe(const struct dump *d, char *buf, size_t len);

/* Set bit (pfn - START) of MAP for each pfn in [START, START+N) that is
 * RAM (any byte of it lies in a RAM range). */
void dump_ram_map(const struct dump *d, uint64_t start, uint64_t n, uint8_t *map);
/* dump_saved_map() through the reader. */
err_t *dump_saved_map(struct dump *d, uint64_t start, uint64_t n, uint8_t *map);

/* Leave out every pfn at or above LIMIT (RAM ranges and segments are cut);
 * returns the number of RAM pages dropped. */
uint64_t dump_limit_pfn(struct dump *d, uint64_t limit);

/* Shared helpers for readers. */
void bitmap_set_range(uint8_t *map, uint64_t a, uint64_t b);
err_t *dump_add_range(struct dump *d, uint64_t start, uint64_t end, uint64_t data_end);

#endif
