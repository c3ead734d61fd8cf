/* x86_64 page-table walks and the memory-section scan on synthetic memory. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../../arch/x86_64.h"
#include "../../src/arch.h"
#include "../../src/bytes.h"
#include "../../src/kernel/kernel.h"
#include "memdump.h"
#include "unit.h"

#define MEM (32u << 20)

static void setup(struct memdump *m, struct kernel *k)
{
	memdump_init(m, MEM, &arch_x86_64);
	CHECK_OK(kernel_init(k, &m->d));
}

static void teardown(struct memdump *m, struct kernel *k)
{
	kernel_deinit(k);
	memdump_deinit(m);
}

static uint64_t walk(struct kernel *k, uint64_t root, int levels, uint64_t va, err_t **e)
{
	uint64_t pa = 0;
	*e = x86_64_walk(k, root, levels, va, &pa);
	return pa;
}

void test_x86_walk_leaves(void);
void test_x86_walk_leaves(void)
{
	struct memdump m;
	struct kernel k;
	setup(&m, &k);
	err_t *e;
	uint64_t root = memdump_alloc(&m);
	memdump_map(&m, root, 4, 0xffffffff81234000ull, 0x1234000, 4096, 0);
	memdump_map(&m, root, 4, 0xffffffff82000000ull, 0x2000000, 1u << 21, 0);
	memdump_map(&m, root, 4, 0xffff888000000000ull, 0x0, 1u << 30, 0);
	CHECK(walk(&k, root, 4, 0xffffffff81234567ull, &e) == 0x1234567 && !e);
	CHECK(walk(&k, root, 4, 0xffffffff821fffffull, &e) == 0x21fffff && !e);
	CHECK(walk(&k, root, 4, 0xffff888012345678ull, &e) == 0x12345678 && !e);
	walk(&k, root, 4, 0xffffffff81235000ull, &e);   /* next 4K page: not mapped */
	CHECK(e && err_code(e) == ERR_NODATA);
	err_free(e);
	walk(&k, root, 4, 0x0000900000000000ull, &e);   /* not canonical for 48 bits */
	CHECK(e != NULL);
	err_free(e);
	/* Flag bits in the root (PCID) are ignored. */
	CHECK(walk(&k, root | 0x5, 4, 0xffffffff81234567ull, &e) == 0x1234567 && !e);
	teardown(&m, &k);
}

void test_x86_walk_5level_sme(void);
void test_x86_walk_5level_sme(void)
{
	struct memdump m;
	struct kernel k;
	setup(&m, &k);
	err_t *e;
	uint64_t root = memdump_alloc(&m);
	uint64_t sme = 1ull << 47;
	/* 5-level direct map at 0xff11000000000000; every entry carries the
	 * encryption bit, which the walk must strip. */
	memdump_map(&m, root, 5, 0xff11000000001000ull, 0x3000, 4096, sme);
	k.sme_mask = sme;
	CHECK(walk(&k, root, 5, 0xff11000000001abcull, &e) == 0x3abc && !e);
	k.sme_mask = 0;
	walk(&k, root, 5, 0xff11000000001abcull, &e);   /* without the mask: garbage */
	CHECK(e != NULL);
	err_free(e);
	teardown(&m, &k);
}

/* mem_section as SPARSEMEM_EXTREME: roots of 256 16-byte sections. */
void test_sections_extreme(void);
void test_sections_extreme(void)
{
	struct memdump m;
	struct kernel k;
	setup(&m, &k);
	uint64_t root = memdump_alloc(&m);
	uint64_t page_offset = 0xffff888000000000ull;
	memdump_map(&m, root, 4, page_offset, 0, 1u << 30, 0);     /* direct map */
	/* 2048 root pointers: four consecutive pages */
	uint64_t roots = memdump_alloc(&m);
	for (int i = 0; i < 3; i++)
		memdump_alloc(&m);
	uint64_t sec0 = memdump_alloc(&m);
	put64(m.mem + roots, page_offset + sec0, false);
	/* sections 0-3 present, 5 present, 6 not */
	for (int i = 0; i <= 5; i++)
		if (i != 4)
			put64(m.mem + sec0 + 16 * i, 0x1000 | 1 | 2, false);
	put64(m.mem + sec0 + 16 * 6, 0x1000, false);
	char vi[512];
	snprintf(vi, sizeof(vi), "OSRELEASE=6.1.0\nSYMBOL(mem_section)=%" PRIx64 "\n"
		 "LENGTH(mem_section)=2048\nSIZE(mem_section)=16\n"
		 "OFFSET(mem_section.section_mem_map)=0\nNUMBER(SECTION_SIZE_BITS)=27\n"
		 "NUMBER(MAX_PHYSMEM_BITS)=46\nNUMBER(phys_base)=-16777216\n",
		 page_offset + roots);
	CHECK_OK(kernel_set_vmcoreinfo(&k, vi, strlen(vi)));
	CHECK(k.phys_base_known && k.phys_base == -16777216);
	k.pgd = root;
	k.pgd_known = true;
	k.levels = 4;
	uint64_t end = 0;
	CHECK_OK(kernel_last_section_end(&k, 1ull << 40, &end));
	CHECK(end == 6 * 0x8000);
	/* A limit below the last section stops the scan there. */
	CHECK_OK(kernel_last_section_end(&k, 2 * 0x8000, &end));
	CHECK(end == 2 * 0x8000);
	teardown(&m, &k);
}
