/* The dumped kernel seen through a dump: physical and kernel-virtual reads,
 * and the facts (phys_base, KASLR offset, page-table root) that make them
 * possible.  Kernel facts come from VMCOREINFO first; later sources (CPU
 * state, debug info, guest-RAM scans) fill the same fields. */
#ifndef MKDF_KERNEL_H
#define MKDF_KERNEL_H

#include <stdbool.h>
#include <stdint.h>

#include "../dump.h"
#include "../err.h"
#include "vmcoreinfo.h"

struct kernel {
	struct dump *d;
	const struct arch_ops *arch;
	struct vmcoreinfo vmci;
	bool have_vmci;
	int64_t phys_base;
	bool phys_base_known;
	uint64_t kaslr_offset;
	uint64_t pgd;            /* physical address of the top page table */
	bool pgd_known;
	uint64_t cpu_pgd;        /* a page-table root from the saved CPU state */
	int cpu_levels;
	int levels;              /* paging levels: 4 or 5 on x86_64 */
	uint64_t sme_mask;       /* memory-encryption bit to strip from entries */
	/* last translation (a leaf of tlb_size bytes) */
	uint64_t tlb_va, tlb_pa, tlb_size;
	/* one-page cache for physical reads (page tables, kernel data) */
	uint64_t cache_pfn;
	bool cache_valid;
	uint8_t *cache;
};

/* Set up K over D; takes VMCOREINFO from D's notes when present. */
err_t *kernel_init(struct kernel *k, struct dump *d);
void kernel_deinit(struct kernel *k);

/* Use the VMCOREINFO text TEXT (replacing any). */
err_t *kernel_set_vmcoreinfo(struct kernel *k, const char *text, size_t len);

/* Add the KEY=VALUE lines of TEXT (link-time values from -x or -i) that the
 * kernel's VMCOREINFO lacks, moving SYMBOL() addresses by KASLR; a
 * mem_section that the vmlinux knows as a pointer (SPARSEMEM_EXTREME) is
 * read to give the array address, as VMCOREINFO has it.  *ADDED counts the
 * lines taken. */
err_t *kernel_merge_vmcoreinfo(struct kernel *k, const char *text, uint64_t kaslr, int *added);

err_t *kernel_read_phys(struct kernel *k, uint64_t pa, void *buf, size_t len);
err_t *kernel_vtop(struct kernel *k, uint64_t va, uint64_t *pa);
err_t *kernel_read_virt(struct kernel *k, uint64_t va, void *buf, size_t len);
err_t *kernel_read_u64(struct kernel *k, uint64_t va, uint64_t *out);

/* Prepare virtual translation from what is known (phys_base + a page-table
 * root symbol).  Errors say what is missing. */
err_t *kernel_setup_paging(struct kernel *k);

/* The running kernel's utsname (init_uts_ns), six 65-byte fields
 * (sysname, nodename, release, version, machine, domainname). */
err_t *kernel_read_utsname(struct kernel *k, char uts[6][66]);

/* SPARSEMEM: the encoded mem_map of every present section below
 * LIMIT_PFN (0 for absent ones), indexed by section number; *NSEC entries,
 * *PPS pages per section.  Free *MAPS. */
err_t *kernel_section_maps(struct kernel *k, uint64_t limit_pfn, uint64_t **maps, uint64_t *nsec,
			   uint64_t *pps);

/* SPARSEMEM: one past the last pfn of the last present memory section, as
 * upstream makedumpfile caps max_mapnr. */
err_t *kernel_last_section_end(struct kernel *k, uint64_t limit_pfn, uint64_t *end_pfn);

#endif
