#include "filter.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bytes.h"

#define BATCH 512    /* struct pages read at once */

static int64_t num_or(const struct vmcoreinfo *v, const char *key, int64_t dflt)
{
	int64_t x;
	return vmcoreinfo_num(v, key, &x) ? x : dflt;
}

/* "6.1.0-56-cloud-amd64" -> 6 * 1000 + 1 */
static int kernel_version(const struct vmcoreinfo *v)
{
	char rel[66];
	int major = 0, minor = 0;
	if (!vmcoreinfo_get(v, "OSRELEASE", rel, sizeof(rel)) || sscanf(rel, "%d.%d", &major, &minor) != 2)
		return 0;
	return major * 1000 + minor;
}

err_t *page_layout_from_vmcoreinfo(const struct vmcoreinfo *v, bool big_endian, int wordsize,
				   struct page_layout *L)
{
	memset(L, 0, sizeof(*L));
	L->big_endian = big_endian;
	L->wordsize = wordsize;
	int64_t size = num_or(v, "SIZE(page)", NOT_KNOWN);
	L->off_flags = num_or(v, "OFFSET(page.flags)", NOT_KNOWN);
	L->off_mapping = num_or(v, "OFFSET(page.mapping)", NOT_KNOWN);
	L->off_mapcount = num_or(v, "OFFSET(page._mapcount)", NOT_KNOWN);
	L->off_private = num_or(v, "OFFSET(page.private)", NOT_KNOWN);
	L->off_compound_head = num_or(v, "OFFSET(page.compound_head)", NOT_KNOWN);
	if (size == NOT_KNOWN || size <= 0 || size > 1024 || L->off_flags == NOT_KNOWN ||
	    L->off_mapping == NOT_KNOWN)
		return err_new(ERR_NODATA, "VMCOREINFO lacks SIZE(page), OFFSET(page.flags) or "
			       "OFFSET(page.mapping)");
	L->size = (uint32_t)size;
	int64_t *offs[] = { &L->off_flags, &L->off_mapping, &L->off_mapcount, &L->off_private,
			    &L->off_compound_head };
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		if (*offs[i] != NOT_KNOWN && (*offs[i] < 0 || *offs[i] + wordsize > size))
			return err_new(ERR_FORMAT, "VMCOREINFO gives a struct page member offset "
				       "outside SIZE(page)");
	L->pg_lru = num_or(v, "NUMBER(PG_lru)", NOT_KNOWN);
	L->pg_private = num_or(v, "NUMBER(PG_private)", NOT_KNOWN);
	L->pg_swapcache = num_or(v, "NUMBER(PG_swapcache)", NOT_KNOWN);
	L->pg_swapbacked = num_or(v, "NUMBER(PG_swapbacked)", NOT_KNOWN);
	L->pg_slab = num_or(v, "NUMBER(PG_slab)", NOT_KNOWN);
	L->pg_buddy = num_or(v, "NUMBER(PG_buddy)", NOT_KNOWN);
	L->pg_hwpoison = num_or(v, "NUMBER(PG_hwpoison)", NOT_KNOWN);
	L->pg_hugetlb = num_or(v, "NUMBER(PG_hugetlb)", NOT_KNOWN);
	int64_t head = num_or(v, "NUMBER(PG_head_mask)", NOT_KNOWN);
	L->pg_head_mask = head == NOT_KNOWN ? 0 : (uint64_t)head;
	L->buddy_mapcount = num_or(v, "NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)", NOT_KNOWN);
	L->offline_mapcount = num_or(v, "NUMBER(PAGE_OFFLINE_MAPCOUNT_VALUE)", NOT_KNOWN);
	L->slab_mapcount = num_or(v, "NUMBER(PAGE_SLAB_MAPCOUNT_VALUE)", NOT_KNOWN);
	L->hugetlb_mapcount = num_or(v, "NUMBER(PAGE_HUGETLB_MAPCOUNT_VALUE)", NOT_KNOWN);
	L->unaccepted_mapcount = num_or(v, "NUMBER(PAGE_UNACCEPTED_MAPCOUNT_VALUE)", NOT_KNOWN);
	L->hugetlb_dtor = num_or(v, "NUMBER(HUGETLB_PAGE_DTOR)", NOT_KNOWN);
	L->max_order = num_or(v, "LENGTH(zone.free_area)", NOT_KNOWN);
	if (L->pg_lru == NOT_KNOWN)
		return err_new(ERR_NODATA, "VMCOREINFO lacks NUMBER(PG_lru)");

	/* Where the compound order lives depends on the kernel era. */
	int ver = kernel_version(v);
	if (ver >= 6006) {
		L->era = ORDER_FLAGS1;
	} else if (ver >= 6003) {
		int64_t o = num_or(v, "OFFSET(folio._folio_order)", NOT_KNOWN);
		int64_t d = num_or(v, "OFFSET(folio._folio_dtor)", NOT_KNOWN);
		if (o != NOT_KNOWN && d != NOT_KNOWN && o >= size && d >= size) {
			L->era = ORDER_FOLIO;
			L->off_order = o - size;   /* folio fields of the second page */
			L->off_dtor = d - size;
		}
	} else {
		L->off_order = num_or(v, "OFFSET(page.compound_order)", NOT_KNOWN);
		L->off_dtor = num_or(v, "OFFSET(page.compound_dtor)", NOT_KNOWN);
		if (L->off_order != NOT_KNOWN && L->off_dtor != NOT_KNOWN)
			L->era = ver >= 4016 || ver == 0 ? ORDER_PAGE_U8 : ORDER_PAGE_U16;
	}
	if (L->era != ORDER_FLAGS1 && L->era != ORDER_NONE &&
	    (L->off_order < 0 || L->off_order + 2 > size || L->off_dtor < 0 || L->off_dtor + 2 > size))
		L->era = ORDER_NONE;
	return NULL;
}

err_t *filter_init(struct filter *f, struct kernel *k, int dump_level, uint64_t max_pfn)
{
	memset(f, 0, sizeof(*f));
	f->k = k;
	f->dump_level = dump_level;
	if (!k->have_vmci)
		return err_new(ERR_NODATA, "no VMCOREINFO: the kernel's struct page layout is unknown");
	TRY(page_layout_from_vmcoreinfo(&k->vmci, k->d->big_endian, k->d->wordsize, &f->L));
	vmcoreinfo_get(&k->vmci, "OSRELEASE", f->release, sizeof(f->release));
	if (!k->pgd_known)
		TRY(kernel_setup_paging(k));
	TRY(kernel_section_maps(k, max_pfn, &f->maps, &f->nsec, &f->pps));
	if (!(f->batch = malloc((BATCH + 1) * (size_t)f->L.size)))
		return err_new(ERR_NOMEM, "out of memory");
	return NULL;
}

void filter_deinit(struct filter *f)
{
	free(f->maps);
	free(f->batch);
	free(f->counted);
	f->counted = NULL;
	f->ncounted = 0;
	f->maps = NULL;
	f->batch = NULL;
}

static void clear_bits(uint8_t *map, uint64_t start, uint64_t lim, uint64_t a, uint64_t b,
		       uint64_t *count)
{
	if (a < start)
		a = start;
	if (b > lim)
		b = lim;
	for (uint64_t pfn = a; pfn < b; pfn++) {
		uint64_t i = pfn - start;
		if (map[i >> 3] >> (i & 7) & 1) {
			map[i >> 3] &= (uint8_t)~(1u << (i & 7));
			(*count)++;
		}
	}
}

/* Read struct pages [pfn, pfn + n) of a section into f->batch; the
 * encoded map makes each pfn's struct page sit at map + pfn * size. */
static err_t *read_pages(struct filter *f, uint64_t map, uint64_t pfn, uint64_t n)
{
	return kernel_read_virt(f->k, map + pfn * f->L.size, f->batch, n * f->L.size);
}

err_t *filter_apply(struct filter *f, uint64_t start, uint64_t n, uint8_t *map)
{
	uint64_t lim = start + n, size = f->L.size;
	for (uint64_t pfn = start; pfn < lim; ) {
		uint64_t sec = pfn / f->pps;
		uint64_t sec_end = (sec + 1) * f->pps;
		if (sec >= f->nsec)
			break;
		if (!f->maps[sec]) {
			pfn = sec_end;
			continue;
		}
		uint64_t end = sec_end < lim ? sec_end : lim;
		/* one extra struct page for the compound order, when in the
		 * same section */
		uint64_t cnt = end - pfn > BATCH ? BATCH : end - pfn;
		uint64_t want = cnt + (pfn + cnt < sec_end ? 1 : 0);
		err_t *e = read_pages(f, f->maps[sec], pfn, want);
		if (e && want > cnt) {
			err_free(e);
			want = cnt;
			e = read_pages(f, f->maps[sec], pfn, want);
		}
		if (e) {
			/* struct pages missing from the dump: keep these pfns */
			err_free(e);
			f->unreadable += cnt;
			pfn += cnt;
			continue;
		}
		uint64_t i = 0;
		while (i < cnt) {
			uint64_t p = pfn + i;
			uint64_t bi = p - start;
			if (!(map[bi >> 3] >> (bi & 7) & 1)) {
				i++;
				continue;
			}
			const uint8_t *sp = f->batch + i * size;
			const uint8_t *next = i + 1 < want ? sp + size : NULL;
			struct page_decision dec;
			page_classify(&f->L, p, sp, next, f->dump_level, &dec);
			if (dec.cls == PC_KEEP || dec.cls == PC_TAIL) {
				i++;
				continue;
			}
			clear_bits(map, start, lim, p, p + dec.npages, &f->count[dec.cls]);
			i += dec.npages;
		}
		pfn += i > cnt ? i : cnt;
	}
	return NULL;
}

int filter_blind_spots(const struct filter *f, int dump_level, const char **out, int max)
{
	const struct page_layout *L = &f->L;
	int n = 0;
	if ((dump_level & DL_FREE) && L->buddy_mapcount == NOT_KNOWN && L->pg_buddy == NOT_KNOWN &&
	    n < max)
		out[n++] = "free pages (no buddy marker)";
	bool hugetlb_known = L->era == ORDER_FLAGS1
		? L->pg_hugetlb != NOT_KNOWN || L->hugetlb_mapcount != NOT_KNOWN
		: L->hugetlb_dtor != NOT_KNOWN;
	if ((dump_level & DL_USER) && !hugetlb_known && n < max)
		out[n++] = "hugetlbfs pages";
	if ((dump_level & (DL_USER | DL_FREE | DL_CACHE | DL_CACHE_PRI)) &&
	    (L->era == ORDER_NONE || !L->pg_head_mask) && n < max)
		out[n++] = "the tail pages of compound pages (no compound order)";
	/* PG_hwpoison is exported only when the kernel can poison pages, and
	 * offline pages exist since the mapcount value is exported: their
	 * absence is no blind spot. */
	return n;
}
