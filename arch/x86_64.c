/* x86_64 (and i386) facts needed to read and write their dumps, and the
 * x86_64 kernel page-table walk. */
#include "../src/arch.h"

#include <elf.h>
#include <inttypes.h>

#include "../src/bytes.h"
#include "../src/kernel/kernel.h"
#include "x86_64.h"

err_t *x86_64_setup_paging(struct kernel *k)
{
	int64_t l5 = 0, sme = 0;
	uint64_t pgd_sym;
	if (!k->phys_base_known)
		return err_new(ERR_NODATA, "phys_base is unknown");
	if (k->have_vmci) {
		vmcoreinfo_num(&k->vmci, "NUMBER(pgtable_l5_enabled)", &l5);
		if (vmcoreinfo_num(&k->vmci, "NUMBER(sme_mask)", &sme))
			k->sme_mask = (uint64_t)sme;
	}
	k->levels = l5 ? 5 : 4;
	k->tlb_size = 0;
	if (!k->have_vmci || (!vmcoreinfo_hex(&k->vmci, "SYMBOL(init_top_pgt)", &pgd_sym) &&
			      !vmcoreinfo_hex(&k->vmci, "SYMBOL(swapper_pg_dir)", &pgd_sym))) {
		/* No symbol: the page tables a vCPU was using map the kernel
		 * half the same way. */
		if (k->cpu_pgd) {
			k->pgd = k->cpu_pgd;
			k->levels = k->cpu_levels;
			k->pgd_known = true;
			return NULL;
		}
		return err_new(ERR_NODATA, "no page-table root symbol (swapper_pg_dir)");
	}
	if (pgd_sym < X86_64_START_KERNEL_MAP)
		return err_new(ERR_FORMAT, "swapper_pg_dir 0x%" PRIx64 " is not a kernel-image "
			       "address", pgd_sym);
	k->pgd = pgd_sym - X86_64_START_KERNEL_MAP + (uint64_t)k->phys_base;
	k->pgd_known = true;
	return NULL;
}

err_t *x86_64_walk(struct kernel *k, uint64_t root, int levels, uint64_t va, uint64_t *pa)
{
	return x86_64_walk_leaf(k, root, levels, va, pa, NULL);
}

err_t *x86_64_walk_leaf(struct kernel *k, uint64_t root, int levels, uint64_t va, uint64_t *pa,
			uint64_t *leaf)
{
	/* Canonical addresses only. */
	int vbits = levels == 5 ? 57 : 48;
	uint64_t top = va >> (vbits - 1);
	if (top != 0 && top != (UINT64_MAX >> (vbits - 1)))
		return err_new(ERR_FORMAT, "0x%016" PRIx64 " is not a canonical address", va);
	uint64_t mask = X86_64_PTE_ADDR_MASK & ~k->sme_mask;
	uint64_t table = root & mask;
	for (int level = levels; level >= 1; level--) {
		int shift = 12 + 9 * (level - 1);
		uint64_t idx = (va >> shift) & 511;
		uint8_t b[8];
		TRY(err_wrap(kernel_read_phys(k, table + idx * 8, b, 8),
			     "page table entry for 0x%016" PRIx64, va));
		uint64_t pte = get64(b, false);
		if (!(pte & X86_64_PTE_PRESENT))
			return err_new(ERR_NODATA, "0x%016" PRIx64 " is not mapped (level %d entry 0x%"
				       PRIx64 ")", va, level, pte);
		/* 1 GiB and 2 MiB leaves */
		if ((level == 3 || level == 2) && (pte & X86_64_PTE_PSE)) {
			uint64_t size = 1ull << shift;
			*pa = (pte & mask & ~(size - 1)) | (va & (size - 1));
			if (leaf)
				*leaf = size;
			return NULL;
		}
		table = pte & mask;
	}
	*pa = table | (va & 0xfff);
	if (leaf)
		*leaf = 4096;
	return NULL;
}

static err_t *x86_64_vtop(struct kernel *k, uint64_t va, uint64_t *pa)
{
	if (k->pgd_known) {
		uint64_t leaf;
		TRY(x86_64_walk_leaf(k, k->pgd, k->levels, va, pa, &leaf));
		k->tlb_va = va & ~(leaf - 1);
		k->tlb_pa = *pa & ~(leaf - 1);
		k->tlb_size = leaf;
		return NULL;
	}
	/* Before the page tables are found, the kernel image is still
	 * reachable from phys_base alone. */
	if (k->phys_base_known && va >= X86_64_START_KERNEL_MAP) {
		*pa = va - X86_64_START_KERNEL_MAP + (uint64_t)k->phys_base;
		return NULL;
	}
	return err_new(ERR_NODATA, "cannot translate 0x%016" PRIx64 ": kernel page tables unknown",
		       va);
}

/* From _stext (VMCOREINFO) or the default link address plus the KASLR
 * offset, as far as the kernel-text mapping runs physically contiguous. */
static err_t *x86_64_kernel_image(struct kernel *k, uint64_t *va, uint64_t *pa, uint64_t *size)
{
	uint64_t text;
	if (!k->phys_base_known || !k->pgd_known)
		return err_new(ERR_NODATA, "phys_base or the kernel page tables are unknown");
	if (!k->have_vmci || !vmcoreinfo_hex(&k->vmci, "SYMBOL(_stext)", &text))
		text = X86_64_DEFAULT_TEXT + k->kaslr_offset;
	text &= ~(uint64_t)0x1fffff;
	uint64_t base = text - X86_64_START_KERNEL_MAP + (uint64_t)k->phys_base, len = 0;
	const uint64_t step = 2u << 20;
	while (len < (1ull << 30)) {
		uint64_t p;
		err_t *e = kernel_vtop(k, text + len, &p);
		if (e) {
			err_free(e);
			break;
		}
		if (p != base + len)
			break;
		len += step;
	}
	if (!len)
		return err_new(ERR_NODATA, "the kernel image at 0x%" PRIx64 " is not mapped", text);
	*va = text;
	*pa = base;
	*size = len;
	return NULL;
}

void x86_64_pb_methods(struct pb_ctx *ctx);
bool x86_64_pb_validate(struct pb_ctx *ctx, const char *vmcoreinfo, size_t len, int64_t phys_base,
			bool has_kaslr, uint64_t kaslr, char *why, size_t whylen);

const struct arch_ops arch_x86_64 = {
	.name = "x86_64",
	.e_machine = EM_X86_64,
	.wordsize = 8,
	.page_size = 4096,
	.prstatus_size = 336,
	.setup_paging = x86_64_setup_paging,
	.vtop = x86_64_vtop,
	.kernel_image = x86_64_kernel_image,
	.pb_methods = x86_64_pb_methods,
	.pb_validate = x86_64_pb_validate,
};

const struct arch_ops arch_i386 = {
	.name = "i386",
	.e_machine = EM_386,
	.wordsize = 4,
	.page_size = 4096,
	.sub_hdr_packed = true,
	.prstatus_size = 144,
};
