#include "pageclass.h"

#include "../bytes.h"

const char *page_class_name(enum page_class c)
{
	static const char *const names[PC_COUNT] = {
		"kept", "cache", "cache_private", "user", "free", "hwpoison", "offline",
		"unaccepted", "tail",
	};
	return c < PC_COUNT ? names[c] : "?";
}

static uint64_t word(const struct page_layout *L, const uint8_t *p, int64_t off)
{
	if (off == NOT_KNOWN)
		return 0;
	return get_word(p + off, L->wordsize, L->big_endian);
}

static int32_t mapcount(const struct page_layout *L, const uint8_t *p)
{
	if (L->off_mapcount == NOT_KNOWN)
		return 0;
	return (int32_t)get32(p + L->off_mapcount, L->big_endian);
}

static bool flag(const struct page_layout *L, uint64_t flags, int64_t bit)
{
	(void)L;
	return bit != NOT_KNOWN && bit >= 0 && bit < 64 && (flags >> bit & 1);
}

static bool is_slab(const struct page_layout *L, uint64_t flags, int32_t mc)
{
	/* 6.10+: a page type in _mapcount; before: PG_slab */
	if (L->slab_mapcount != NOT_KNOWN)
		return mc == (int32_t)L->slab_mapcount;
	return flag(L, flags, L->pg_slab);
}

static bool is_buddy(const struct page_layout *L, uint64_t flags, int32_t mc)
{
	if (L->buddy_mapcount != NOT_KNOWN)
		return mc == (int32_t)L->buddy_mapcount && !(L->slab_mapcount == NOT_KNOWN &&
							     flag(L, flags, L->pg_slab));
	return flag(L, flags, L->pg_buddy);
}

static bool is_cache(const struct page_layout *L, uint64_t flags)
{
	if (flag(L, flags, L->pg_lru))
		return true;
	/* PG_swapcache means swap cache only with PG_swapbacked (4.10+);
	 * kernels without PG_swapbacked used it alone. */
	bool swapbacked_ok = L->pg_swapbacked == NOT_KNOWN || flag(L, flags, L->pg_swapbacked);
	return swapbacked_ok && flag(L, flags, L->pg_swapcache);
}

/* Order of a compound head (0 for anything else), from the next struct
 * page; an order that is not plausible for this pfn counts as 0. */
static uint64_t compound_order(const struct page_layout *L, uint64_t pfn, uint64_t flags,
			       const uint8_t *next, bool *hugetlb)
{
	*hugetlb = false;
	if (!L->pg_head_mask || !(flags & L->pg_head_mask) || !next)
		return 0;
	uint64_t order = 0;
	switch (L->era) {
	case ORDER_PAGE_U16:
		order = get16(next + L->off_order, L->big_endian);
		*hugetlb = L->hugetlb_dtor != NOT_KNOWN &&
			   get16(next + L->off_dtor, L->big_endian) == (uint16_t)L->hugetlb_dtor;
		break;
	case ORDER_PAGE_U8:
	case ORDER_FOLIO:
		order = next[L->off_order];
		*hugetlb = L->hugetlb_dtor != NOT_KNOWN && next[L->off_dtor] == (uint8_t)L->hugetlb_dtor;
		break;
	case ORDER_FLAGS1: {
		uint64_t f1 = word(L, next, L->off_flags);
		order = f1 & 0xff;
		if (L->hugetlb_mapcount != NOT_KNOWN)          /* 6.9+ */
			*hugetlb = (int32_t)get32(next + L->off_mapcount, L->big_endian) ==
				   (int32_t)L->hugetlb_mapcount;
		else
			*hugetlb = flag(L, f1, L->pg_hugetlb);  /* 6.6-6.8 */
		break;
	}
	default:
		return 0;
	}
	if (order >= 64 || (pfn & ((1ull << order) - 1)))
		return 0;
	return order;
}

enum page_class page_kind(const struct page_layout *L, uint64_t pfn, const uint8_t *p,
			  const uint8_t *next, uint64_t *npages)
{
	uint64_t flags = word(L, p, L->off_flags);
	uint64_t mapping = word(L, p, L->off_mapping);
	uint64_t head = word(L, p, L->off_compound_head);
	int32_t mc = mapcount(L, p);
	*npages = 1;
	if (L->off_compound_head != NOT_KNOWN && (head & 1))
		return PC_TAIL;
	bool hugetlb;
	uint64_t order = compound_order(L, pfn, flags, next, &hugetlb);
	*npages = 1ull << order;
	if (is_buddy(L, flags, mc)) {
		uint64_t o = word(L, p, L->off_private);
		if (L->max_order != NOT_KNOWN && o >= (uint64_t)L->max_order)
			o = 0;
		if (o >= 64 || (pfn & ((1ull << o) - 1)))
			o = 0;
		*npages = 1ull << o;
		return PC_FREE;
	}
	if (L->unaccepted_mapcount != NOT_KNOWN && mc == (int32_t)L->unaccepted_mapcount) {
		*npages = L->max_order != NOT_KNOWN && L->max_order > 0 ?
			1ull << (L->max_order - 1) : 1;
		if (pfn & (*npages - 1))
			*npages = 1;
		return PC_UNACCEPTED;
	}
	bool slab = is_slab(L, flags, mc);
	bool anon = (mapping & 1) && !slab;
	if (is_cache(L, flags) && !anon)
		return flag(L, flags, L->pg_private) ? PC_CACHE_PRIVATE : PC_CACHE;
	if (anon || hugetlb)
		return PC_USER;
	if (flag(L, flags, L->pg_hwpoison))
		return PC_HWPOISON;
	if (L->offline_mapcount != NOT_KNOWN && mc == (int32_t)L->offline_mapcount && !slab)
		return PC_OFFLINE;
	return PC_KEEP;
}

void page_classify(const struct page_layout *L, uint64_t pfn, const uint8_t *p, const uint8_t *next,
		   int dump_level, struct page_decision *out)
{
	uint64_t n;
	enum page_class k = page_kind(L, pfn, p, next, &n);
	out->npages = n;
	switch (k) {
	case PC_FREE:
	case PC_UNACCEPTED:
		out->cls = dump_level & DL_FREE ? k : PC_KEEP;
		break;
	case PC_CACHE:
		out->cls = dump_level & (DL_CACHE | DL_CACHE_PRI) ? k : PC_KEEP;
		break;
	case PC_CACHE_PRIVATE:
		out->cls = dump_level & DL_CACHE_PRI ? k : PC_KEEP;
		break;
	case PC_USER:
		out->cls = dump_level & DL_USER ? k : PC_KEEP;
		break;
	default:
		out->cls = k;
	}
	/* A page kept by the level is still checked for the classes that
	 * are always dropped, as a lower-priority test would have. */
	if (out->cls == PC_KEEP && k != PC_KEEP && k != PC_TAIL) {
		uint64_t flags = word(L, p, L->off_flags);
		int32_t mc = mapcount(L, p);
		if (flag(L, flags, L->pg_hwpoison))
			out->cls = PC_HWPOISON;
		else if (L->offline_mapcount != NOT_KNOWN && mc == (int32_t)L->offline_mapcount &&
			 !is_slab(L, flags, mc))
			out->cls = PC_OFFLINE;
	}
	/* A kept page decides for itself only: following pages of a kept
	 * buddy block are looked at one by one, tails stay with the head. */
	if (out->cls == PC_KEEP)
		out->npages = 1;
}
