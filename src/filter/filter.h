/* Kernel-aware page filtering: walks the dumped kernel's struct page arrays
 * (SPARSEMEM) and drops what the dump level asks for from a bitmap. */
#ifndef MKDF_FILTER_H
#define MKDF_FILTER_H

#include <stdint.h>

#include "../err.h"
#include "../kernel/kernel.h"
#include "pageclass.h"

struct filter {
	struct kernel *k;
	struct page_layout L;
	int dump_level;
	uint64_t *maps;           /* encoded mem_map per section, 0 = absent */
	uint64_t nsec, pps;
	uint64_t count[PC_COUNT]; /* pages dropped per class */
	uint64_t unreadable;      /* pfns whose struct page could not be read */
	uint64_t *counted;        /* callers' use: ranges counted, by first pfn */
	size_t ncounted;
	uint8_t *batch;
	char release[66];
};

/* Resolve the struct page layout from the kernel's VMCOREINFO; an error
 * names what is missing. */
err_t *filter_init(struct filter *f, struct kernel *k, int dump_level, uint64_t max_pfn);
void filter_deinit(struct filter *f);

/* Clear bit (pfn - START) of MAP for every pfn in [START, START+N) that the
 * dump level drops (START a multiple of 8). */
err_t *filter_apply(struct filter *f, uint64_t start, uint64_t n, uint8_t *map);

/* What DUMP_LEVEL asks for that this kernel gives no way to tell (such
 * pages are kept): up to MAX descriptions in OUT; returns the count. */
int filter_blind_spots(const struct filter *f, int dump_level, const char **out, int max);

/* Fill the layout from VMCOREINFO text values (for tests too). */
err_t *page_layout_from_vmcoreinfo(const struct vmcoreinfo *v, bool big_endian, int wordsize,
				   struct page_layout *L);

#endif
