/* Classifying a page frame from its struct page, as makedumpfile decides
 * what each dump level drops.  Pure logic over raw struct page bytes and a
 * layout resolved per kernel: no reads of the dump here. */
#ifndef MKDF_PAGECLASS_H
#define MKDF_PAGECLASS_H

#include <stdbool.h>
#include <stdint.h>

/* dump level bits */
#define DL_ZERO 1
#define DL_CACHE 2
#define DL_CACHE_PRI 4
#define DL_USER 8
#define DL_FREE 16

enum page_class {
	PC_KEEP,          /* nothing the level drops */
	PC_CACHE,         /* page cache without PG_private (level 2 and 4) */
	PC_CACHE_PRIVATE, /* page cache with PG_private (level 4) */
	PC_USER,          /* anonymous or hugetlbfs (level 8) */
	PC_FREE,          /* in the buddy allocator (level 16) */
	PC_HWPOISON,      /* always dropped */
	PC_OFFLINE,       /* always dropped */
	PC_UNACCEPTED,    /* unaccepted memory: treated as free */
	PC_TAIL,          /* compound tail: decided with its head */
	PC_COUNT
};

/* How the compound order and hugetlb marker are found, by kernel era. */
enum order_era {
	ORDER_NONE,        /* no compound order known */
	ORDER_PAGE_U16,    /* 4.4-4.15: page[1].compound_order u16, compound_dtor u16 */
	ORDER_PAGE_U8,     /* 4.16-6.2: page[1].compound_order/compound_dtor u8 */
	ORDER_FOLIO,       /* 6.3-6.5: folio._folio_order/_folio_dtor (same place) */
	ORDER_FLAGS1,      /* 6.6+: page[1].flags & 0xff */
};

#define NOT_KNOWN INT64_MIN

struct page_layout {
	uint32_t size;                          /* SIZE(page) */
	int64_t off_flags, off_mapping, off_mapcount, off_private, off_compound_head;
	int64_t off_order, off_dtor;            /* in the next struct page */
	enum order_era era;
	int64_t pg_lru, pg_private, pg_swapcache, pg_swapbacked, pg_slab, pg_buddy,
		pg_hwpoison, pg_hugetlb;
	uint64_t pg_head_mask;                  /* 0 when unknown */
	int64_t buddy_mapcount, offline_mapcount, slab_mapcount, hugetlb_mapcount,
		unaccepted_mapcount, hugetlb_dtor;
	int64_t max_order;                      /* LENGTH(zone.free_area) */
	bool big_endian;
	int wordsize;
};

struct page_decision {
	enum page_class cls;
	uint64_t npages;     /* pages the decision covers, from this pfn */
};

/* Decide for PFN given its struct page P and the next one NEXT (NULL when
 * not available) under DUMP_LEVEL. */
void page_classify(const struct page_layout *L, uint64_t pfn, const uint8_t *p, const uint8_t *next,
		   int dump_level, struct page_decision *out);

/* The class ignoring the dump level (for --mem-usage). */
enum page_class page_kind(const struct page_layout *L, uint64_t pfn, const uint8_t *p,
			  const uint8_t *next, uint64_t *npages);

const char *page_class_name(enum page_class c);

#endif
