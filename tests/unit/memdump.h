/* A dump held in memory, for tests that need guest-physical reads. */
#ifndef MKDF_MEMDUMP_H
#define MKDF_MEMDUMP_H

#include <stdint.h>

#include "../../src/dump.h"

struct memdump {
	struct dump d;
	uint8_t *mem;
	uint64_t size;
	uint64_t next_table;   /* bump allocator for page tables */
};

void memdump_init(struct memdump *m, uint64_t size, const struct arch_ops *arch);
void memdump_deinit(struct memdump *m);
/* A zeroed, page-aligned page of M; returns its physical address. */
uint64_t memdump_alloc(struct memdump *m);
/* x86_64: map VA to PA in the tables at ROOT with a leaf of LEAF bytes
 * (4 KiB, 2 MiB or 1 GiB); ENTRY_EXTRA is ORed into every entry. */
void memdump_map(struct memdump *m, uint64_t root, int levels, uint64_t va, uint64_t pa,
		 uint64_t leaf, uint64_t entry_extra);

#endif
