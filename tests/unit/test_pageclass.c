/* Page classes on synthetic struct page arrays, per kernel era. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/bytes.h"
#include "../../src/filter/filter.h"
#include "../../src/filter/pageclass.h"
#include "unit.h"

/* The 6.1 x86_64 layout, as its VMCOREINFO says. */
static const char vi_61[] =
	"OSRELEASE=6.1.0-56-cloud-amd64\nSIZE(page)=64\nOFFSET(page.flags)=0\n"
	"OFFSET(page._refcount)=52\nOFFSET(page.mapping)=24\nOFFSET(page.lru)=8\n"
	"OFFSET(page._mapcount)=48\nOFFSET(page.private)=40\nOFFSET(page.compound_dtor)=16\n"
	"OFFSET(page.compound_order)=17\nOFFSET(page.compound_head)=8\nLENGTH(zone.free_area)=11\n"
	"NUMBER(PG_lru)=4\nNUMBER(PG_private)=13\nNUMBER(PG_swapcache)=10\n"
	"NUMBER(PG_swapbacked)=19\nNUMBER(PG_slab)=9\nNUMBER(PG_head_mask)=65536\n"
	"NUMBER(PG_hwpoison)=23\nNUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)=-129\n"
	"NUMBER(HUGETLB_PAGE_DTOR)=2\nNUMBER(PAGE_OFFLINE_MAPCOUNT_VALUE)=-257\n";

#define PS 64
#define N 1024

struct arr {
	uint8_t p[N * PS];
	struct page_layout L;
};

static void layout(struct arr *a, const char *text)
{
	struct vmcoreinfo v;
	memset(a->p, 0, sizeof(a->p));
	CHECK_OK(vmcoreinfo_init(&v, text, strlen(text)));
	CHECK_OK(page_layout_from_vmcoreinfo(&v, false, 8, &a->L));
	vmcoreinfo_deinit(&v);
	/* every page: _mapcount -1, as the kernel leaves unmapped pages */
	for (int i = 0; i < N; i++)
		put32(a->p + i * PS + 48, 0xffffffffu, false);
}

static void set64(struct arr *a, int pfn, int off, uint64_t v) { put64(a->p + pfn * PS + off, v, false); }
static void set32(struct arr *a, int pfn, int off, uint32_t v) { put32(a->p + pfn * PS + off, v, false); }

static enum page_class kind(struct arr *a, int pfn, uint64_t *n)
{
	return page_kind(&a->L, (uint64_t)pfn, a->p + pfn * PS, pfn + 1 < N ? a->p + (pfn + 1) * PS : NULL, n);
}

static struct page_decision decide(struct arr *a, int pfn, int level)
{
	struct page_decision d;
	page_classify(&a->L, (uint64_t)pfn, a->p + pfn * PS, a->p + (pfn + 1) * PS, level, &d);
	return d;
}

void test_pageclass_61(void);
void test_pageclass_61(void)
{
	static struct arr a;
	uint64_t n;
	layout(&a, vi_61);
	CHECK(a.L.era == ORDER_PAGE_U8 && a.L.off_order == 17 && a.L.off_dtor == 16);
	/* free: buddy marker and order 2 in private */
	set32(&a, 4, 48, (uint32_t)-129);
	set64(&a, 4, 40, 2);
	CHECK(kind(&a, 4, &n) == PC_FREE && n == 4);
	/* an order that does not fit the pfn's alignment counts as 0 */
	set32(&a, 9, 48, (uint32_t)-129);
	set64(&a, 9, 40, 3);
	CHECK(kind(&a, 9, &n) == PC_FREE && n == 1);
	/* page cache without and with PG_private, and swap cache */
	set64(&a, 16, 0, 1u << 4);
	set64(&a, 16, 24, 0xffff888001234000ull);
	CHECK(kind(&a, 16, &n) == PC_CACHE);
	set64(&a, 17, 0, 1u << 4 | 1u << 13);
	CHECK(kind(&a, 17, &n) == PC_CACHE_PRIVATE);
	set64(&a, 18, 0, 1u << 10 | 1u << 19);
	CHECK(kind(&a, 18, &n) == PC_CACHE);
	set64(&a, 19, 0, 1u << 10);            /* swapcache without swapbacked */
	CHECK(kind(&a, 19, &n) == PC_KEEP);
	/* anonymous on the LRU is user, not cache */
	set64(&a, 20, 0, 1u << 4);
	set64(&a, 20, 24, 0xffff888001234001ull);
	CHECK(kind(&a, 20, &n) == PC_USER);
	/* a slab page whose mapping has bit 0 set is not anonymous */
	set64(&a, 21, 0, 1u << 9);
	set64(&a, 21, 24, 0xffff888001234001ull);
	CHECK(kind(&a, 21, &n) == PC_KEEP);
	/* anonymous THP of order 9 at pfn 512: head decides for 512 pages */
	set64(&a, 512, 0, 65536);
	set64(&a, 512, 24, 0xffff888001234001ull);
	a.p[513 * PS + 17] = 9;
	set64(&a, 513, 8, (0xffffea0000000000ull + 512 * PS) | 1);  /* tail */
	CHECK(kind(&a, 512, &n) == PC_USER && n == 512);
	CHECK(kind(&a, 513, &n) == PC_TAIL);
	/* hugetlb head (dtor 2), not anonymous, order 2 at 256 */
	set64(&a, 256, 0, 65536);
	a.p[257 * PS + 17] = 2;
	a.p[257 * PS + 16] = 2;
	CHECK(kind(&a, 256, &n) == PC_USER && n == 4);
	/* offline and hwpoison */
	set32(&a, 30, 48, (uint32_t)-257);
	CHECK(kind(&a, 30, &n) == PC_OFFLINE);
	set64(&a, 31, 0, 1u << 23);
	CHECK(kind(&a, 31, &n) == PC_HWPOISON);
	CHECK(kind(&a, 32, &n) == PC_KEEP);

	/* dump levels */
	CHECK(decide(&a, 4, 31).cls == PC_FREE && decide(&a, 4, 15).cls == PC_KEEP);
	CHECK(decide(&a, 16, 2).cls == PC_CACHE && decide(&a, 16, 4).cls == PC_CACHE);
	CHECK(decide(&a, 17, 2).cls == PC_KEEP && decide(&a, 17, 4).cls == PC_CACHE_PRIVATE);
	CHECK(decide(&a, 20, 8).cls == PC_USER && decide(&a, 20, 6).cls == PC_KEEP);
	struct page_decision d = decide(&a, 512, 8);
	CHECK(d.cls == PC_USER && d.npages == 512);
	d = decide(&a, 512, 1);
	CHECK(d.cls == PC_KEEP && d.npages == 1);
	/* always dropped, whatever the level */
	CHECK(decide(&a, 30, 0).cls == PC_OFFLINE && decide(&a, 31, 0).cls == PC_HWPOISON);
}

void test_pageclass_66_69(void);
void test_pageclass_66_69(void)
{
	static struct arr a;
	uint64_t n;
	/* 6.6-6.8: order in page[1].flags, hugetlb as PG_hugetlb there */
	char text[2048];
	snprintf(text, sizeof(text), "%s", vi_61);
	char *p = strstr(text, "6.1.0-56");
	memcpy(p, "6.6.0-00", 8);
	strcat(text, "NUMBER(PG_hugetlb)=21\n");
	layout(&a, text);
	CHECK(a.L.era == ORDER_FLAGS1);
	set64(&a, 64, 0, 65536);
	set64(&a, 65, 0, 3 | 1u << 21);         /* order 3, PG_hugetlb */
	CHECK(kind(&a, 64, &n) == PC_USER && n == 8);
	set64(&a, 65, 0, 3);
	CHECK(kind(&a, 64, &n) == PC_KEEP && n == 8);

	/* 6.9+: hugetlb as a page type in page[1]._mapcount */
	snprintf(text, sizeof(text), "%s", vi_61);
	p = strstr(text, "6.1.0-56");
	memcpy(p, "6.9.0-00", 8);
	strcat(text, "NUMBER(PAGE_HUGETLB_MAPCOUNT_VALUE)=-2049\n");
	layout(&a, text);
	set64(&a, 64, 0, 65536);
	set64(&a, 65, 0, 4);
	set32(&a, 65, 48, (uint32_t)-2049);
	CHECK(kind(&a, 64, &n) == PC_USER && n == 16);
}

void test_pageclass_612_pgty(void);
void test_pageclass_612_pgty(void)
{
	static struct arr a;
	uint64_t n;
	/* 6.12: page types are PGTY_x << 24 in the top byte of page_type
	 * (buddy 0xf0, offline 0xf1, table 0xf2, guard 0xf3, hugetlb 0xf4,
	 * slab 0xf5), compared exactly; PG_slab is gone. */
	char text[2048];
	snprintf(text, sizeof(text), "%s", vi_61);
	char *p = strstr(text, "6.1.0-56");
	memcpy(p, "6.12.0-0", 8);
	p = strstr(text, "NUMBER(PG_slab)=9\n");
	memmove(p, p + 18, strlen(p + 18) + 1);
	p = strstr(text, "NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)=-129");
	memmove(p, p + 39, strlen(p + 39) + 1);
	p = strstr(text, "NUMBER(PAGE_OFFLINE_MAPCOUNT_VALUE)=-257");
	memmove(p, p + 41, strlen(p + 41) + 1);
	strcat(text, "NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)=-268435456\n"
		     "NUMBER(PAGE_OFFLINE_MAPCOUNT_VALUE)=-251658240\n"
		     "NUMBER(PAGE_SLAB_MAPCOUNT_VALUE)=-184549376\n"
		     "NUMBER(PAGE_HUGETLB_MAPCOUNT_VALUE)=-201326592\n");
	layout(&a, text);
	CHECK(a.L.pg_slab == NOT_KNOWN && a.L.slab_mapcount == -184549376);
	set32(&a, 8, 48, 0xf0000000u);
	set64(&a, 8, 40, 3);
	CHECK(kind(&a, 8, &n) == PC_FREE && n == 8);
	/* a slab page is neither buddy nor anonymous */
	set32(&a, 20, 48, 0xf5000000u);
	set64(&a, 20, 24, 0xffff888001234001ull);
	CHECK(kind(&a, 20, &n) == PC_KEEP);
	/* an ordinary mapped page (_mapcount 0) and an unmapped one (-1) */
	set32(&a, 21, 48, 0);
	CHECK(kind(&a, 21, &n) == PC_KEEP);
	CHECK(kind(&a, 22, &n) == PC_KEEP);
	set32(&a, 23, 48, 0xf1000000u);
	CHECK(kind(&a, 23, &n) == PC_OFFLINE);
}

void test_pageclass_49_u16(void);
void test_pageclass_49_u16(void)
{
	static struct arr a;
	uint64_t n;
	/* 4.9: u16 compound order/dtor, no PG_swapbacked: swapcache alone is
	 * cache */
	static const char vi_49[] =
		"OSRELEASE=4.9.0-19-amd64\nSIZE(page)=64\nOFFSET(page.flags)=0\n"
		"OFFSET(page.mapping)=8\nOFFSET(page._mapcount)=24\nOFFSET(page.private)=48\n"
		"OFFSET(page.compound_dtor)=40\nOFFSET(page.compound_order)=44\n"
		"OFFSET(page.compound_head)=32\nLENGTH(zone.free_area)=11\nNUMBER(PG_lru)=5\n"
		"NUMBER(PG_private)=11\nNUMBER(PG_swapcache)=15\nNUMBER(PG_slab)=7\n"
		"NUMBER(PG_head_mask)=16384\nNUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)=-128\n"
		"NUMBER(HUGETLB_PAGE_DTOR)=2\n";
	struct vmcoreinfo v;
	memset(a.p, 0, sizeof(a.p));
	CHECK_OK(vmcoreinfo_init(&v, vi_49, strlen(vi_49)));
	CHECK_OK(page_layout_from_vmcoreinfo(&v, false, 8, &a.L));
	vmcoreinfo_deinit(&v);
	CHECK(a.L.era == ORDER_PAGE_U16);
	set64(&a, 3, 0, 1u << 15);
	CHECK(kind(&a, 3, &n) == PC_CACHE);
	set64(&a, 8, 0, 16384);
	put16(a.p + 9 * PS + 44, 3, false);
	put16(a.p + 9 * PS + 40, 2, false);
	CHECK(kind(&a, 8, &n) == PC_USER && n == 8);
	put32(a.p + 16 * PS + 24, (uint32_t)-128, false);
	put64(a.p + 16 * PS + 48, 4, false);
	CHECK(kind(&a, 16, &n) == PC_FREE && n == 16);
}
