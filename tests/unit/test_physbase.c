/* phys_base/KASLR methods on synthetic guests: page tables and CPU state
 * built in memory, kernel data placed where a kernel would have it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../arch/x86_64.h"
#include "../../src/arch.h"
#include "../../src/bytes.h"
#include "../../src/notes.h"
#include "../../src/qemu/physbase.h"
#include "memdump.h"
#include "unit.h"

#define MEM (96u << 20)
#define START X86_64_START_KERNEL_MAP

struct guest {
	struct memdump m;
	struct kernel k;
	struct pb_ctx ctx;
	struct pb_result res;
};

static void add_cpu(struct guest *g, uint64_t cr3, uint64_t cr4)
{
	uint8_t st[440];
	memset(st, 0, sizeof(st));
	put32(st, 1, false);
	put32(st + 4, 440, false);
	put64(st + 0x1a0, cr3, false);
	put64(st + 0x1a8, cr4, false);
	CHECK_OK(notes_append(&g->m.d.notes, &g->m.d.notes_size, false, "QEMU", 0, st, sizeof(st)));
}

static void guest_init(struct guest *g)
{
	memset(g, 0, sizeof(*g));
	memdump_init(&g->m, MEM, &arch_x86_64);
	CHECK_OK(dump_add_range(&g->m.d, 0, MEM, MEM));
	g->m.next_table = MEM - (16u << 20);   /* tables in the top 16 MiB */
}

static err_t *guest_derive(struct guest *g)
{
	CHECK_OK(kernel_init(&g->k, &g->m.d));
	g->ctx = (struct pb_ctx){ .d = &g->m.d, .k = &g->k, .origin = ORIGIN_QEMU_ELF };
	return physbase_derive(&g->ctx, &g->res);
}

static void guest_deinit(struct guest *g)
{
	pb_result_deinit(&g->res);
	physbase_ctx_deinit(&g->ctx);
	kernel_deinit(&g->k);
	free(g->m.d.notes);
	free(g->m.d.ram);
	memdump_deinit(&g->m);
}

static const struct pb_cand *cand(const struct guest *g, const char *method)
{
	for (int i = 0; i < g->ctx.n; i++)
		if (strcmp(g->ctx.c[i].method, method) == 0)
			return &g->ctx.c[i];
	return NULL;
}

/* Map the kernel image [text_va, +size) at text_pa with LEAF-sized pages. */
static void map_kernel(struct guest *g, uint64_t root, int levels, uint64_t text_va,
		       uint64_t text_pa, uint64_t size, uint64_t leaf)
{
	for (uint64_t off = 0; off < size; off += leaf)
		memdump_map(&g->m, root, levels, text_va + off, text_pa + off, leaf, 0);
}

/* Put a utsname at the runtime address of init_uts_ns and a VMCOREINFO
 * page naming it, as the guest kernel would. */
static void put_kernel_data(struct guest *g, int64_t phys_base, uint64_t kaslr, uint64_t vi_pa,
			    int64_t vi_phys_base)
{
	uint64_t uts_va = 0xffffffff82a00000ull + kaslr;
	uint64_t uts_pa = uts_va - START + (uint64_t)phys_base;
	memcpy(g->m.mem + uts_pa, "Linux", 6);
	memcpy(g->m.mem + uts_pa + 130, "6.1.0-test", 11);
	char text[512];
	int n = snprintf(text, sizeof(text), "OSRELEASE=6.1.0-test\nPAGESIZE=4096\n"
			 "SYMBOL(init_uts_ns)=%" PRIx64 "\nOFFSET(uts_namespace.name)=0\n"
			 "NUMBER(phys_base)=%" PRId64 "\nKERNELOFFSET=%" PRIx64 "\n",
			 uts_va, vi_phys_base, kaslr);
	memcpy(g->m.mem + vi_pa, text, (size_t)n);
}

void test_pb_negative_2m(void);
void test_pb_negative_2m(void)
{
	struct guest g;
	guest_init(&g);
	/* KASLR moved the image up 0x2000000 virtually, down physically:
	 * phys_base = 0x1000000 - 0x3000000 = -0x2000000 */
	uint64_t kaslr = 0x2000000, text_va = 0xffffffff81000000ull + kaslr, text_pa = 0x1000000;
	int64_t pb = (int64_t)text_pa - (int64_t)(text_va - START);
	uint64_t root = memdump_alloc(&g.m);
	map_kernel(&g, root, 4, text_va, text_pa, 0x2000000, 1u << 21);
	add_cpu(&g, root | 0x3, 0);           /* PCID 3 */
	add_cpu(&g, root, 0);
	put_kernel_data(&g, pb, kaslr, 0x4000000, pb);
	CHECK_OK(guest_derive(&g));
	CHECK(g.res.phys_base == -0x2000000 && g.res.has_kaslr && g.res.kaslr == kaslr);
	const struct pb_cand *c = cand(&g, "cpu-state"), *r = cand(&g, "ram-scan");
	CHECK(c && c->verdict == PB_VALID && c->phys_base == pb && c->kaslr_assumed);
	CHECK(r && r->verdict == PB_VALID && r->phys_base == pb && r->kaslr == kaslr);
	CHECK(g.res.disagreements == 0 && g.res.vmcoreinfo != NULL);
	guest_deinit(&g);
}

void test_pb_5level_4k(void);
void test_pb_5level_4k(void)
{
	struct guest g;
	guest_init(&g);
	uint64_t kaslr = 0x400000, text_va = 0xffffffff81000000ull + kaslr, text_pa = 0x2600000;
	int64_t pb = (int64_t)text_pa - (int64_t)(text_va - START);
	uint64_t root = memdump_alloc(&g.m);
	map_kernel(&g, root, 5, text_va, text_pa, 0x200000, 4096);
	add_cpu(&g, root, 1u << 12);           /* CR4.LA57 */
	put_kernel_data(&g, pb, kaslr, 0x5000000, pb);
	/* the utsname lies beyond the 2 MiB mapped; it is read through
	 * phys_base alone, as the kernel image is contiguous */
	CHECK_OK(guest_derive(&g));
	const struct pb_cand *c = cand(&g, "cpu-state");
	CHECK(c && c->verdict == PB_VALID && c->phys_base == pb);
	CHECK(c && strstr(c->note, "5-level"));
	CHECK(g.res.phys_base == pb);
	guest_deinit(&g);
}

void test_pb_pti_user_cr3(void);
void test_pb_pti_user_cr3(void)
{
	struct guest g;
	guest_init(&g);
	uint64_t kaslr = 0, text_va = 0xffffffff81000000ull, text_pa = 0x1000000;
	/* an 8 KiB-aligned pair: kernel tables, then the user copy that maps
	 * only the entry code 6 MiB into the image */
	while (g.m.next_table & 0x1fff)
		memdump_alloc(&g.m);
	uint64_t kroot = memdump_alloc(&g.m), uroot = memdump_alloc(&g.m);
	CHECK(uroot == kroot + 4096);
	map_kernel(&g, kroot, 4, text_va, text_pa, 0x1000000, 1u << 21);
	memdump_map(&g.m, uroot, 4, text_va + 0x600000, text_pa + 0x600000, 4096, 0);
	add_cpu(&g, uroot | 0x801, 0);       /* user CR3: bit 12 set, PCID */
	put_kernel_data(&g, 0, kaslr, 0x4000000, 0);
	CHECK_OK(guest_derive(&g));
	const struct pb_cand *c = cand(&g, "cpu-state");
	CHECK(c && c->phys_base == 0 && c->verdict == PB_VALID);
	guest_deinit(&g);
}

void test_pb_1g_leaf(void);
void test_pb_1g_leaf(void)
{
	struct guest g;
	guest_init(&g);
	/* a 1 GiB leaf covering the kernel half, phys_base 0x3000000 */
	uint64_t root = memdump_alloc(&g.m);
	memdump_map(&g.m, root, 4, START, 0, 1u << 30, 0);
	add_cpu(&g, root, 0);
	CHECK_OK(kernel_init(&g.k, &g.m.d));
	g.ctx = (struct pb_ctx){ .d = &g.m.d, .k = &g.k, .origin = ORIGIN_QEMU_ELF };
	err_t *e = physbase_derive(&g.ctx, &g.res);
	/* nothing to validate with, but the walk itself answers */
	CHECK(!e);
	err_free(e);
	const struct pb_cand *c = cand(&g, "cpu-state");
	CHECK(c && c->verdict == PB_UNCHECKED && c->phys_base == 0);
	guest_deinit(&g);
}

void test_pb_no_kernel(void);
void test_pb_no_kernel(void)
{
	struct guest g;
	guest_init(&g);
	add_cpu(&g, 0, 0);
	err_t *e = guest_derive(&g);
	CHECK(e && strstr(err_msg(e), "tried:") && strstr(err_msg(e), "cpu-state") &&
	      strstr(err_msg(e), "ram-scan"));
	err_free(e);
	guest_deinit(&g);
}

void test_pb_two_vmcoreinfo_copies(void);
void test_pb_two_vmcoreinfo_copies(void)
{
	struct guest g;
	guest_init(&g);
	int64_t pb = 0x600000;
	uint64_t kaslr = 0x1000000;
	/* a stale copy first (another kernel's values), then the live one */
	put_kernel_data(&g, pb, kaslr, 0x3000000, pb);
	char stale[256];
	int n = snprintf(stale, sizeof(stale), "OSRELEASE=6.1.0-test\nPAGESIZE=4096\n"
			 "SYMBOL(init_uts_ns)=ffffffff90000000\nNUMBER(phys_base)=-16777216\n"
			 "KERNELOFFSET=2000000\n");
	memcpy(g.m.mem + 0x100000, stale, (size_t)n);
	CHECK_OK(guest_derive(&g));
	const struct pb_cand *r = cand(&g, "ram-scan");
	CHECK(r && r->phys_base == pb && r->verdict == PB_VALID);
	CHECK(r && strstr(r->note, "2 copies") && strstr(r->note, "utsname"));
	CHECK(g.res.phys_base == pb && g.res.kaslr == kaslr);
	guest_deinit(&g);
}

void test_pb_override_and_disagreement(void);
void test_pb_override_and_disagreement(void)
{
	struct guest g;
	guest_init(&g);
	put_kernel_data(&g, 0, 0, 0x3000000, 0);
	CHECK_OK(kernel_init(&g.k, &g.m.d));
	g.ctx = (struct pb_ctx){ .d = &g.m.d, .k = &g.k, .origin = ORIGIN_QEMU_ELF,
				 .have_override_pb = true, .override_pb = 0x200000 };
	CHECK_OK(physbase_derive(&g.ctx, &g.res));
	/* the override wins though it fails validation; the RAM copy, which
	 * validates, disagrees, and both facts are reported */
	const struct pb_cand *o = cand(&g, "override"), *r = cand(&g, "ram-scan");
	CHECK(o && o->verdict == PB_INVALID);
	CHECK(r && r->verdict == PB_VALID && r->phys_base == 0);
	CHECK(g.res.phys_base == 0x200000 && g.res.disagreements == 2);
	guest_deinit(&g);
}
