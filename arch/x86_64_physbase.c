/* x86_64 phys_base/KASLR methods: the saved CPU state's page tables, IDT
 * gate 0, and the vmlinux-driven linux_banner probe; and validation of a
 * candidate by reading the kernel where it should be. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../src/arch.h"
#include "../src/bytes.h"
#include "../src/kernel/kernel.h"
#include "../src/qemu/physbase.h"
#include "../src/qemu/qemu.h"
#include "x86_64.h"

void x86_64_pb_methods(struct pb_ctx *ctx);
bool x86_64_pb_validate(struct pb_ctx *ctx, const char *vmcoreinfo, size_t len, int64_t phys_base,
			bool has_kaslr, uint64_t kaslr, char *why, size_t whylen);

#define KERNEL_IMAGE_MAX (1ull << 30)    /* the kernel-text mapping spans 1 GiB */
#define TWO_MIB (2ull << 20)

/* The first present mapping at or above START (and below END) in the
 * tables at TABLE (physical) of LEVEL; ENTRY_VA is the address the table
 * begins at. */
static err_t *first_mapped(struct kernel *k, uint64_t table, int level, uint64_t entry_va,
			   uint64_t start, uint64_t end, uint64_t *va, uint64_t *pa)
{
	int shift = 12 + 9 * (level - 1);
	uint64_t span = 1ull << shift;
	uint64_t mask = X86_64_PTE_ADDR_MASK & ~k->sme_mask;
	uint8_t t[4096];
	TRY(kernel_read_phys(k, table, t, sizeof(t)));
	for (int idx = 0; idx < 512; idx++) {
		uint64_t lo = entry_va + (uint64_t)idx * span, hi = lo + span - 1;
		if (hi < start || lo >= end)
			continue;
		uint64_t pte = get64(t + 8 * idx, false);
		if (!(pte & X86_64_PTE_PRESENT))
			continue;
		if (level == 1 || ((level == 2 || level == 3) && (pte & X86_64_PTE_PSE))) {
			uint64_t v = lo < start ? start : lo;
			*va = v;
			*pa = (pte & mask & ~(span - 1)) + (v - lo);
			return NULL;
		}
		err_t *e = first_mapped(k, pte & mask, level - 1, lo, start, end, va, pa);
		if (!e)
			return NULL;
		if (err_code(e) != ERR_NODATA)
			return e;
		err_free(e);
	}
	return err_new(ERR_NODATA, "nothing mapped");
}

/* The kernel-text mapping as the tables at ROOT see it. */
static err_t *kernel_text_mapping(struct kernel *k, uint64_t root, int levels, uint64_t *va,
				  uint64_t *pa)
{
	/* Take the top-level entry for __START_KERNEL_map, then search the
	 * 1 GiB below it from there down. */
	uint64_t top_shift = levels == 5 ? 48 : 39;
	err_t *e = NULL;
	uint8_t t[8];
	uint64_t idx = (X86_64_START_KERNEL_MAP >> top_shift) & 511;
	uint64_t mask = X86_64_PTE_ADDR_MASK & ~k->sme_mask;
	TRY(kernel_read_phys(k, (root & mask) + idx * 8, t, 8));
	uint64_t pte = get64(t, false);
	if (!(pte & X86_64_PTE_PRESENT))
		return err_new(ERR_NODATA, "no kernel-half mapping");
	uint64_t entry_va = X86_64_START_KERNEL_MAP & ~((1ull << top_shift) - 1);
	e = first_mapped(k, pte & mask, levels - 1, entry_va, X86_64_START_KERNEL_MAP,
			 X86_64_START_KERNEL_MAP + KERNEL_IMAGE_MAX - 1, va, pa);
	return e;
}

struct cpu_answer {
	bool ok;
	uint64_t va, pa, root;
	int levels;
	char why[80];
};

static void cpu_text(struct kernel *k, const struct qemu_cpu *cpu, struct cpu_answer *a)
{
	memset(a, 0, sizeof(*a));
	uint64_t cr3 = cpu->cr[3], cr4 = cpu->cr[4];
	if (!cr3) {
		snprintf(a->why, sizeof(a->why), "CR3 is 0");
		return;
	}
	a->levels = cr4 & (1ull << 12) ? 5 : 4;   /* CR4.LA57 */
	/* PCID lives in CR3's low 12 bits.  With page-table isolation a vCPU
	 * in user mode runs on the user copy, 4 KiB above the kernel's: try
	 * both and keep the one mapping the lowest kernel address (the user
	 * copy maps only the entry code, which lies above _text). */
	uint64_t roots[2] = { cr3 & ~0xfffull & X86_64_PTE_ADDR_MASK,
			      cr3 & ~0x1fffull & X86_64_PTE_ADDR_MASK };
	for (int i = 0; i < (roots[0] == roots[1] ? 1 : 2); i++) {
		uint64_t va, pa;
		err_t *e = kernel_text_mapping(k, roots[i], a->levels, &va, &pa);
		if (e) {
			if (!a->ok)
				snprintf(a->why, sizeof(a->why), "%s", err_msg(e));
			err_free(e);
			continue;
		}
		if (!a->ok || va < a->va) {
			a->ok = true;
			a->va = va;
			a->pa = pa;
			a->root = roots[i];
		}
	}
}

static void method_cpu_state(struct pb_ctx *ctx)
{
	struct pb_cand *c = pb_add(ctx, "cpu-state");
	if (!c)
		return;
	static struct qemu_cpu cpus[QEMU_CPU_MAX];
	int n = qemu_cpus(ctx->d, cpus, QEMU_CPU_MAX);
	if (!n) {
		c->verdict = PB_NOT_TRIED;
		snprintf(c->note, sizeof(c->note), "no QEMU CPU state in the dump");
		return;
	}
	struct cpu_answer first = { 0 };
	int agree = 0, tried = 0;
	char disagree[128] = "", fail[128] = "";
	for (int i = 0; i < n; i++) {
		struct cpu_answer a;
		cpu_text(ctx->k, &cpus[i], &a);
		if (!a.ok) {
			if (!fail[0])
				snprintf(fail, sizeof(fail), "cpu%d: %s", i, a.why);
			continue;
		}
		tried++;
		if (!first.ok) {
			first = a;
			agree = 1;
		} else if (a.pa - a.va == first.pa - first.va) {
			agree++;
		} else if (!disagree[0]) {
			snprintf(disagree, sizeof(disagree), "cpu%d maps _text at 0x%" PRIx64
				 " -> 0x%" PRIx64, i, a.va, a.pa);
		}
	}
	if (!first.ok) {
		c->verdict = PB_FAILED;
		snprintf(c->note, sizeof(c->note), "no kernel-text mapping found (%s)", fail);
		return;
	}
	c->phys_base = (int64_t)(first.pa - (first.va - X86_64_START_KERNEL_MAP));
	c->has_pb = true;
	uint64_t text;
	if (sym_get(ctx->syms, SYM_TEXT, &text)) {
		c->kaslr = first.va - text;
	} else {
		c->kaslr = first.va - X86_64_DEFAULT_TEXT;
		c->kaslr_assumed = true;
	}
	c->has_kaslr = true;
	ctx->k->cpu_pgd = first.root;
	ctx->k->cpu_levels = first.levels;
	if (disagree[0]) {
		c->verdict = PB_INVALID;
		snprintf(c->note, sizeof(c->note), "vCPUs disagree: %s", disagree);
		return;
	}
	c->verdict = PB_UNCHECKED;
	snprintf(c->note, sizeof(c->note), "%d of %d vCPUs map the kernel at 0x%" PRIx64 " -> phys 0x%"
		 PRIx64 " (%d-level)%s", agree, n, first.va, first.pa, first.levels,
		 c->kaslr_assumed ? "; KASLR offset assumes _text links at 0xffffffff81000000" : "");
	(void)tried;
}

static void method_idt(struct pb_ctx *ctx)
{
	struct pb_cand *c = pb_add(ctx, "idt");
	if (!c)
		return;
	uint64_t handler_sym;
	struct qemu_cpu cpu;
	if (qemu_cpus(ctx->d, &cpu, 1) < 1) {
		c->verdict = PB_NOT_TRIED;
		snprintf(c->note, sizeof(c->note), "no QEMU CPU state in the dump");
		return;
	}
	if (!sym_get(ctx->syms, SYM_DIVIDE_ERROR, &handler_sym)) {
		c->verdict = PB_NOT_TRIED;
		snprintf(c->note, sizeof(c->note), "needs the vmlinux's divide-error handler (-x)");
		return;
	}
	struct cpu_answer a;
	cpu_text(ctx->k, &cpu, &a);
	uint64_t gate_pa, hpa;
	uint8_t g[16];
	err_t *e = NULL;
	if (!a.ok)
		e = err_new(ERR_NODATA, "%s", a.why);
	if (!e)
		e = x86_64_walk(ctx->k, a.root, a.levels, cpu.idt_base, &gate_pa);
	if (!e)
		e = kernel_read_phys(ctx->k, gate_pa, g, sizeof(g));
	uint64_t handler = (uint64_t)get16(g, false) | (uint64_t)get16(g + 6, false) << 16 |
			   (uint64_t)get32(g + 8, false) << 32;
	if (!e)
		e = x86_64_walk(ctx->k, a.root, a.levels, handler, &hpa);
	if (e) {
		c->verdict = PB_FAILED;
		snprintf(c->note, sizeof(c->note), "IDT at 0x%" PRIx64 ": %s", cpu.idt_base, err_msg(e));
		err_free(e);
		return;
	}
	c->kaslr = handler - handler_sym;
	c->has_kaslr = true;
	c->phys_base = (int64_t)(hpa - (handler - X86_64_START_KERNEL_MAP));
	c->has_pb = true;
	c->verdict = PB_UNCHECKED;
	snprintf(c->note, sizeof(c->note), "gate 0 of the IDT at 0x%" PRIx64 " points to 0x%" PRIx64,
		 cpu.idt_base, handler);
}

static void method_banner_probe(struct pb_ctx *ctx)
{
	struct pb_cand *c = pb_add(ctx, "banner-probe");
	if (!c)
		return;
	const struct symtab *st = ctx->syms;
	uint64_t banner, pbsym;
	if (!st || !st->banner_len || !sym_get(st, SYM_LINUX_BANNER, &banner) ||
	    !sym_get(st, SYM_PHYS_BASE, &pbsym)) {
		c->verdict = PB_NOT_TRIED;
		snprintf(c->note, sizeof(c->note), "needs linux_banner and phys_base from a vmlinux (-x)");
		return;
	}
	struct dump *d = ctx->d;
	size_t blen = st->banner_len < 64 ? st->banner_len : 64;
	/* The image sits at a 2 MiB-aligned physical address, so the banner
	 * can only be at addresses congruent to its link offset. */
	uint64_t r = (banner - X86_64_START_KERNEL_MAP) % TWO_MIB;
	int hits = 0, probes = 0;
	uint64_t hit_pa = 0;
	int64_t hit_pb = 0;
	uint8_t buf[64];
	for (size_t i = 0; i < d->nram; i++) {
		uint64_t a = align_up(d->ram[i].start >= r ? d->ram[i].start - r : 0, TWO_MIB) + r;
		for (; a + blen <= d->ram[i].data_end; a += TWO_MIB) {
			probes++;
			err_t *e = kernel_read_phys(ctx->k, a, buf, blen);
			if (e) {
				err_free(e);
				continue;
			}
			if (memcmp(buf, st->banner, blen) != 0)
				continue;
			uint8_t v[8];
			e = kernel_read_phys(ctx->k, a + (pbsym - banner), v, 8);
			if (e) {
				err_free(e);
				continue;
			}
			int64_t pbv = (int64_t)get64(v, false);
			uint64_t kaslr = a - (uint64_t)pbv - (banner - X86_64_START_KERNEL_MAP);
			hits++;
			/* keep the first hit whose phys_base makes a sane offset */
			if (!c->has_pb && kaslr % TWO_MIB == 0 && kaslr < KERNEL_IMAGE_MAX) {
				c->phys_base = pbv;
				c->kaslr = kaslr;
				c->has_pb = c->has_kaslr = true;
				hit_pa = a;
				hit_pb = pbv;
			}
		}
	}
	(void)hit_pb;
	if (!c->has_pb) {
		c->verdict = PB_FAILED;
		snprintf(c->note, sizeof(c->note), "%d probes, %d banner hits, none consistent", probes,
			 hits);
		return;
	}
	c->verdict = PB_UNCHECKED;
	snprintf(c->note, sizeof(c->note), "linux_banner at phys 0x%" PRIx64 " (%d probes, %d hit%s); "
		 "the kernel's phys_base variable beside it", hit_pa, probes, hits, hits == 1 ? "" : "s");
}

void x86_64_pb_methods(struct pb_ctx *ctx)
{
	method_cpu_state(ctx);
	method_idt(ctx);
	method_banner_probe(ctx);
}

static bool read_kimage(struct pb_ctx *ctx, int64_t phys_base, uint64_t va, void *buf, size_t len)
{
	if (va < X86_64_START_KERNEL_MAP)
		return false;
	uint64_t pa = va - X86_64_START_KERNEL_MAP + (uint64_t)phys_base;
	err_t *e = kernel_read_phys(ctx->k, pa, buf, len);
	if (e) {
		err_free(e);
		return false;
	}
	return true;
}

bool x86_64_pb_validate(struct pb_ctx *ctx, const char *vmcoreinfo, size_t len, int64_t phys_base,
			bool has_kaslr, uint64_t kaslr, char *why, size_t whylen)
{
	const struct symtab *st = ctx->syms;
	uint64_t sym;
	why[0] = 0;
	/* With a vmlinux: its banner bytes where they must be. */
	if (st && st->banner_len && has_kaslr && sym_get(st, SYM_LINUX_BANNER, &sym)) {
		uint8_t buf[64];
		size_t n = st->banner_len < sizeof(buf) ? st->banner_len : sizeof(buf);
		if (read_kimage(ctx, phys_base, sym + kaslr, buf, n) && memcmp(buf, st->banner, n) == 0) {
			snprintf(why, whylen, "linux_banner reads \"%.40s\"", (const char *)st->banner);
			return true;
		}
		snprintf(why, whylen, "linux_banner is not at 0x%" PRIx64,
			 sym + kaslr - X86_64_START_KERNEL_MAP + (uint64_t)phys_base);
		return false;
	}
	/* With VMCOREINFO: the runtime init_uts_ns holds "Linux" and the
	 * release the text names. */
	if (vmcoreinfo) {
		struct vmcoreinfo v;
		err_t *e = vmcoreinfo_init(&v, vmcoreinfo, len);
		if (e) {
			err_free(e);
			return false;
		}
		char rel[66] = "";
		int64_t off = 0;
		bool ok = false, tried = false;
		if (vmcoreinfo_hex(&v, "SYMBOL(init_uts_ns)", &sym)) {
			tried = true;
			vmcoreinfo_get(&v, "OSRELEASE", rel, sizeof(rel));
			vmcoreinfo_num(&v, "OFFSET(uts_namespace.name)", &off);
			uint8_t u[3 * 65];
			if (off >= 0 && off < 4096 &&
			    read_kimage(ctx, phys_base, sym + (uint64_t)off, u, sizeof(u)) &&
			    memcmp(u, "Linux", 6) == 0 && strncmp((char *)u + 130, rel, 65) == 0) {
				ok = true;
				snprintf(why, whylen, "init_uts_ns reads \"Linux\" \"%.40s\"", rel);
			} else {
				snprintf(why, whylen, "init_uts_ns is not at 0x%" PRIx64,
					 sym - X86_64_START_KERNEL_MAP + (uint64_t)phys_base);
			}
		}
		vmcoreinfo_deinit(&v);
		if (tried)
			return ok;
	}
	return false;
}
