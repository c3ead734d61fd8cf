/* x86_64 address-space facts shared by the page-table walk and the
 * phys_base methods. */
#ifndef MKDF_ARCH_X86_64_H
#define MKDF_ARCH_X86_64_H

#include <stdint.h>

#include "../src/err.h"

struct kernel;

#define X86_64_START_KERNEL_MAP UINT64_C(0xffffffff80000000)
#define X86_64_DEFAULT_TEXT     UINT64_C(0xffffffff81000000)  /* CONFIG_PHYSICAL_START 16 MiB */
#define X86_64_PTE_PRESENT      UINT64_C(0x1)
#define X86_64_PTE_PSE          UINT64_C(0x80)
#define X86_64_PTE_ADDR_MASK    UINT64_C(0x000ffffffffff000)

err_t *x86_64_setup_paging(struct kernel *k);
/* Translate VA through the page tables at physical ROOT (CR3 or
 * swapper_pg_dir; low flag bits are ignored), 4 or 5 LEVELS. */
err_t *x86_64_walk(struct kernel *k, uint64_t root, int levels, uint64_t va, uint64_t *pa);
/* The same, also giving the size of the leaf that maps VA. */
err_t *x86_64_walk_leaf(struct kernel *k, uint64_t root, int levels, uint64_t va, uint64_t *pa,
			uint64_t *leaf);

#endif
