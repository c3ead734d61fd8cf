#include "kernel.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../arch.h"
#include "../bytes.h"
#include "../notes.h"

err_t *kernel_init(struct kernel *k, struct dump *d)
{
	memset(k, 0, sizeof(*k));
	k->d = d;
	k->arch = d->arch;
	if (!(k->cache = malloc(d->page_size)))
		return err_new(ERR_NOMEM, "out of memory");
	struct note n;
	if (d->notes && notes_find(d->notes, d->notes_size, d->big_endian, "VMCOREINFO", 0, &n))
		TRY(kernel_set_vmcoreinfo(k, (const char *)n.desc, n.descsz));
	return NULL;
}

void kernel_deinit(struct kernel *k)
{
	if (k->have_vmci)
		vmcoreinfo_deinit(&k->vmci);
	free(k->cache);
	memset(k, 0, sizeof(*k));
}

err_t *kernel_set_vmcoreinfo(struct kernel *k, const char *text, size_t len)
{
	if (k->have_vmci)
		vmcoreinfo_deinit(&k->vmci);
	k->have_vmci = false;
	TRY(vmcoreinfo_init(&k->vmci, text, len));
	k->have_vmci = true;
	int64_t pb;
	if (vmcoreinfo_num(&k->vmci, "NUMBER(phys_base)", &pb)) {
		k->phys_base = pb;
		k->phys_base_known = true;
	}
	uint64_t off;
	if (vmcoreinfo_hex(&k->vmci, "KERNELOFFSET", &off))
		k->kaslr_offset = off;
	return NULL;
}

err_t *kernel_merge_vmcoreinfo(struct kernel *k, const char *text, uint64_t kaslr, int *added)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return err_new(ERR_NOMEM, "out of memory");
	if (k->have_vmci)
		fputs(k->vmci.text, f);
	if (len && out[len - 1] != '\n')
		fputc('\n', f);
	*added = 0;
	struct vmcoreinfo sup;
	err_t *e = vmcoreinfo_init(&sup, text, strlen(text));
	int64_t sec_len = 0, sbits = 27, pbits = 46;
	bool extreme = vmcoreinfo_num(&sup, "LENGTH(mem_section)", &sec_len) &&
		vmcoreinfo_num(&sup, "NUMBER(SECTION_SIZE_BITS)", &sbits) &&
		vmcoreinfo_num(&sup, "NUMBER(MAX_PHYSMEM_BITS)", &pbits) && pbits > sbits &&
		pbits - sbits < 40 && sec_len != (int64_t)(1ull << (pbits - sbits));
	for (const char *p = text; !e && p && *p; ) {
		const char *eol = strchr(p, '\n');
		size_t l = eol ? (size_t)(eol - p) : strlen(p);
		const char *eq = memchr(p, '=', l);
		char key[128];
		if (eq && (size_t)(eq - p) < sizeof(key)) {
			memcpy(key, p, (size_t)(eq - p));
			key[eq - p] = '\0';
			bool missing = !k->have_vmci || !vmcoreinfo_has(&k->vmci, key);
			if (missing && strcmp(key, "KERNELOFFSET") != 0) {
				uint64_t a;
				if (strncmp(key, "SYMBOL(", 7) == 0 && vmcoreinfo_hex(&sup, key, &a)) {
					a += kaslr;
					if (strcmp(key, "SYMBOL(mem_section)") == 0 && extreme) {
						uint64_t roots;
						if (!kernel_read_u64(k, a, &roots))
							a = roots;
					}
					fprintf(f, "%s=%" PRIx64 "\n", key, a);
				} else {
					fprintf(f, "%.*s\n", (int)l, p);
				}
				(*added)++;
			}
		}
		p = eol ? eol + 1 : NULL;
	}
	vmcoreinfo_deinit(&sup);
	fclose(f);
	if (!e)
		e = kernel_set_vmcoreinfo(k, out, len);
	free(out);
	return e;
}

err_t *kernel_read_phys(struct kernel *k, uint64_t pa, void *buf, size_t len)
{
	uint8_t *p = buf;
	uint64_t ps = k->d->page_size;
	while (len) {
		uint64_t pfn = pa / ps, in = pa % ps;
		size_t n = ps - in < len ? (size_t)(ps - in) : len;
		if (!k->cache_valid || k->cache_pfn != pfn) {
			enum page_state st;
			k->cache_valid = false;
			TRY(dump_read_page(k->d, pfn, k->cache, &st));
			if (st != PAGE_PRESENT)
				return err_new(ERR_NODATA, "physical address 0x%" PRIx64 " is not in the dump",
					       pa);
			k->cache_pfn = pfn;
			k->cache_valid = true;
		}
		memcpy(p, k->cache + in, n);
		p += n, pa += n, len -= n;
	}
	return NULL;
}

err_t *kernel_setup_paging(struct kernel *k)
{
	if (!k->arch || !k->arch->setup_paging)
		return err_new(ERR_FAIL, "no kernel address translation for architecture %s",
			       k->arch ? k->arch->name : "unknown");
	return k->arch->setup_paging(k);
}

err_t *kernel_vtop(struct kernel *k, uint64_t va, uint64_t *pa)
{
	if (!k->arch || !k->arch->vtop)
		return err_new(ERR_FAIL, "no kernel address translation for architecture %s",
			       k->arch ? k->arch->name : "unknown");
	if (k->tlb_size && va - k->tlb_va < k->tlb_size) {
		*pa = k->tlb_pa + (va - k->tlb_va);
		return NULL;
	}
	return k->arch->vtop(k, va, pa);
}

err_t *kernel_read_virt(struct kernel *k, uint64_t va, void *buf, size_t len)
{
	uint8_t *p = buf;
	uint64_t ps = k->d->page_size;
	while (len) {
		uint64_t pa, in = va % ps;
		size_t n = ps - in < len ? (size_t)(ps - in) : len;
		TRY(kernel_vtop(k, va, &pa));
		TRY(kernel_read_phys(k, pa, p, n));
		p += n, va += n, len -= n;
	}
	return NULL;
}

err_t *kernel_read_u64(struct kernel *k, uint64_t va, uint64_t *out)
{
	uint8_t b[8];
	TRY(kernel_read_virt(k, va, b, 8));
	*out = get64(b, k->d->big_endian);
	return NULL;
}

err_t *kernel_read_utsname(struct kernel *k, char uts[6][66])
{
	uint64_t sym;
	int64_t off = 0;
	if (!k->have_vmci || !vmcoreinfo_hex(&k->vmci, "SYMBOL(init_uts_ns)", &sym))
		return err_new(ERR_NODATA, "the address of init_uts_ns is unknown");
	vmcoreinfo_num(&k->vmci, "OFFSET(uts_namespace.name)", &off);
	if (off < 0 || off > 4096)
		return err_new(ERR_FORMAT, "implausible OFFSET(uts_namespace.name) %" PRId64, off);
	uint8_t buf[6 * 65];
	TRY(err_wrap(kernel_read_virt(k, sym + (uint64_t)off, buf, sizeof(buf)), "init_uts_ns"));
	if (memcmp(buf, "Linux", 6) != 0)
		return err_new(ERR_FORMAT, "init_uts_ns at 0x%" PRIx64 " does not start with \"Linux\"",
			       sym);
	for (int i = 0; i < 6; i++) {
		memcpy(uts[i], buf + 65 * i, 65);
		uts[i][65] = '\0';
	}
	return NULL;
}

/* ---- memory model ---- */

#define SECTION_MARKED_PRESENT 1ull

/* The low bits of section_mem_map are flags (up to bit 5 in 6.x); struct
 * page arrays are at least 64-byte aligned, so six bits can always go. */
#define SECTION_MAP_MASK (~(uint64_t)0x3f)

/* FLATMEM: one mem_map for every pfn (from pfn 0). */
static err_t *flatmem_maps(struct kernel *k, uint64_t limit_pfn, uint64_t **maps, uint64_t *nsec,
			   uint64_t *pps)
{
	uint64_t sym, map;
	if (!vmcoreinfo_hex(&k->vmci, "SYMBOL(mem_map)", &sym))
		return err_new(ERR_NODATA, "VMCOREINFO describes neither SPARSEMEM sections nor a "
			       "FLATMEM mem_map");
	TRY(err_wrap(kernel_read_u64(k, sym, &map), "mem_map"));
	if (!(*maps = malloc(sizeof(**maps))))
		return err_new(ERR_NOMEM, "out of memory");
	**maps = map;
	*nsec = 1;
	*pps = limit_pfn ? limit_pfn : 1;
	return NULL;
}

static err_t *sparse_maps(struct kernel *k, uint64_t ms, uint64_t limit_pfn, uint64_t **maps,
			  uint64_t *nsec, uint64_t *pps);

err_t *kernel_section_maps(struct kernel *k, uint64_t limit_pfn, uint64_t **maps, uint64_t *nsec,
			   uint64_t *pps)
{
	uint64_t ms;
	if (!k->have_vmci)
		return err_new(ERR_NODATA, "no VMCOREINFO");
	if (!vmcoreinfo_hex(&k->vmci, "SYMBOL(mem_section)", &ms))
		return flatmem_maps(k, limit_pfn, maps, nsec, pps);
	TRY(sparse_maps(k, ms, limit_pfn, maps, nsec, pps));
	for (uint64_t i = 0; i < *nsec; i++)
		if ((*maps)[i])
			return NULL;
	/* Nothing present: SYMBOL(mem_section) may name the pointer variable
	 * (as a symbol table does, 4.15+) rather than the array VMCOREINFO
	 * exports; follow it once. */
	uint64_t roots;
	free(*maps);
	*maps = NULL;
	if (!kernel_read_u64(k, ms, &roots) && roots && roots != ms) {
		err_t *e = sparse_maps(k, roots, limit_pfn, maps, nsec, pps);
		if (!e)
			return NULL;
		err_free(e);
	}
	return err_new(ERR_NODATA, "no present memory section in mem_section at 0x%" PRIx64, ms);
}

static err_t *sparse_maps(struct kernel *k, uint64_t ms, uint64_t limit_pfn, uint64_t **maps,
			  uint64_t *nsec, uint64_t *pps)
{
	const struct vmcoreinfo *v = &k->vmci;
	int64_t length, size, off_map, sbits, pbits;
	if (!vmcoreinfo_num(v, "SIZE(mem_section)", &size) ||
	    !vmcoreinfo_num(v, "OFFSET(mem_section.section_mem_map)", &off_map) ||
	    !vmcoreinfo_num(v, "NUMBER(SECTION_SIZE_BITS)", &sbits))
		return err_new(ERR_NODATA, "VMCOREINFO does not describe SPARSEMEM sections");
	if (!vmcoreinfo_num(v, "NUMBER(MAX_PHYSMEM_BITS)", &pbits))
		pbits = k->levels == 5 ? 52 : 46;
	int page_shift = __builtin_ctz(k->d->page_size);
	if (size <= 0 || size > 4096 || off_map < 0 || off_map + 8 > size || sbits <= page_shift ||
	    sbits > 40 || pbits <= sbits || pbits > 60)
		return err_new(ERR_FORMAT, "VMCOREINFO has implausible SPARSEMEM numbers");
	uint64_t nr_sections = 1ull << (pbits - sbits);
	uint64_t pages_per_section = 1ull << (sbits - page_shift);
	uint64_t wanted = div_up(limit_pfn, pages_per_section);
	if (wanted < nr_sections)
		nr_sections = wanted;
	uint64_t per_root = k->d->page_size / (uint64_t)size;
	bool extreme = !vmcoreinfo_num(v, "LENGTH(mem_section)", &length) ||
		(uint64_t)length != (1ull << (pbits - sbits));
	uint64_t *out = calloc(nr_sections ? nr_sections : 1, sizeof(*out));
	uint8_t *buf = malloc(k->d->page_size);
	if (!out || !buf) {
		free(out);
		free(buf);
		return err_new(ERR_NOMEM, "out of memory");
	}
	err_t *e = NULL;
	for (uint64_t nr = 0; nr < nr_sections && !e; ) {
		uint64_t base, count = per_root;
		if (extreme) {
			/* mem_section is an array of root pointers. */
			uint64_t root;
			e = kernel_read_u64(k, ms + (nr / per_root) * 8, &root);
			if (e)
				break;
			if (!root) {
				nr += per_root;
				continue;
			}
			base = root;
		} else {
			base = ms + nr * (uint64_t)size;
		}
		if (nr + count > nr_sections)
			count = nr_sections - nr;
		e = kernel_read_virt(k, base, buf, count * (uint64_t)size);
		for (uint64_t j = 0; !e && j < count; j++) {
			uint64_t map = get64(buf + j * (uint64_t)size + off_map, k->d->big_endian);
			if (map & SECTION_MARKED_PRESENT)
				out[nr + j] = map & SECTION_MAP_MASK;
		}
		nr += count;
	}
	free(buf);
	if (e) {
		free(out);
		return err_wrap(e, "reading mem_section");
	}
	*maps = out;
	*nsec = nr_sections;
	*pps = pages_per_section;
	return NULL;
}

err_t *kernel_last_section_end(struct kernel *k, uint64_t limit_pfn, uint64_t *end_pfn)
{
	uint64_t *maps, n, pps;
	TRY(kernel_section_maps(k, limit_pfn, &maps, &n, &pps));
	uint64_t last = n;
	while (last && !maps[last - 1])
		last--;
	free(maps);
	if (!last)
		return err_new(ERR_NODATA, "no present memory section");
	*end_pfn = last * pps;
	return NULL;
}
