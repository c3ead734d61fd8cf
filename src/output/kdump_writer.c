/* kdump-compressed output, header version 6. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../../diskdump_mod.h"
#include "../arch.h"
#include "../bytes.h"
#include "../codec/codec.h"
#include "../notes.h"
#include "cpool.h"
#include "writer.h"

#define DESC_BATCH 4096
#define SUB_HDR_SIZE64 104

static void put_str(uint8_t *dst, const char *s, size_t field)
{
	if (s)
		strncpy((char *)dst, s, field - 1);
}

struct layout {
	uint64_t bs, sub_hdr_blocks, bitmap_len, bitmap_off, desc_off, data_off;
	uint64_t max_pfn, count;
	uint64_t vmci_off, vmci_size;
};

static void fill_main_header(uint8_t *h, const struct dump *d, const struct out_opts *o,
			     const struct layout *L, uint32_t status)
{
	bool be = d->big_endian;
	memcpy(h, KDUMP_SIGNATURE, KDUMP_SIG_LEN);
	put32(h + 8, KDUMP_HEADER_VERSION, be);
	uint8_t *u = h + 12;
	put_str(u, o->sysname, UTS_FIELD_LEN);
	put_str(u + UTS_FIELD_LEN, o->nodename, UTS_FIELD_LEN);
	put_str(u + 2 * UTS_FIELD_LEN, o->release, UTS_FIELD_LEN);
	put_str(u + 3 * UTS_FIELD_LEN, o->version, UTS_FIELD_LEN);
	put_str(u + 4 * UTS_FIELD_LEN, o->machine, UTS_FIELD_LEN);
	put_str(u + 5 * UTS_FIELD_LEN, o->domainname, UTS_FIELD_LEN);
	bool is64 = d->wordsize == 8;
	size_t so = is64 ? 424 : DH32_STATUS;
	if (is64)
		put64(h + 408, (uint64_t)o->timestamp, be);
	else
		put32(h + DH32_TIMESTAMP, (uint32_t)o->timestamp, be);
	put32(h + so, status, be);
	put32(h + so + 4, (uint32_t)L->bs, be);
	put32(h + so + 8, (uint32_t)L->sub_hdr_blocks, be);
	put32(h + so + 12, (uint32_t)(2 * L->bitmap_len / L->bs), be);
	put32(h + so + 16, L->max_pfn > UINT32_MAX ? UINT32_MAX : (uint32_t)L->max_pfn, be);
	put32(h + so + 36, (uint32_t)notes_count_prstatus(o->notes, o->notes_size, be), be);
}

static void fill_sub_header(uint8_t *sh, const struct dump *d, const struct out_opts *o,
			    const struct layout *L, uint64_t notes_off)
{
	bool be = d->big_endian;
	bool is64 = d->wordsize == 8, packed = d->arch && d->arch->sub_hdr_packed;
	/* Offsets per layout: see diskdump_mod.h. */
	const int *f;
	static const int o64[] = { 0, 8, 12, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96 };
	static const int o32p[] = { 0, 4, 8, 12, 16, 20, 28, 32, 40, 44, 52, 56, 64, 72 };
	static const int o32a[] = { 0, 4, 8, 12, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88 };
	f = is64 ? o64 : packed ? o32p : o32a;
	int w = d->wordsize;
	put_word(sh + f[0], (uint64_t)o->phys_base, w, be);
	put32(sh + f[1], (uint32_t)o->dump_level, be);
	put32(sh + f[2], 0, be);                      /* split */
	put_word(sh + f[3], 0, w, be);                    /* start_pfn */
	put_word(sh + f[4], 0, w, be);                    /* end_pfn (split only) */
	put64(sh + f[5], L->vmci_off, be);
	put_word(sh + f[6], L->vmci_size, w, be);
	put64(sh + f[7], o->notes_size ? notes_off : 0, be);
	put_word(sh + f[8], o->notes_size, w, be);
	put64(sh + f[9], 0, be);                      /* eraseinfo */
	put_word(sh + f[10], 0, w, be);
	put64(sh + f[11], 0, be);                     /* start_pfn_64 */
	put64(sh + f[12], 0, be);                     /* end_pfn_64 (split only) */
	put64(sh + f[13], L->max_pfn, be);            /* max_mapnr_64 */
}

static uint64_t popcount_map(const uint8_t *map, uint64_t bytes)
{
	uint64_t n = 0;
	for (uint64_t i = 0; i < bytes; i++)
		n += (uint64_t)__builtin_popcount(map[i]);
	return n;
}

struct page_out {
	struct sink *s;
	const struct dump *d;
	uint8_t desc[DESC_BATCH * 24];
	uint64_t first, n;       /* descriptor index of desc[0], count buffered */
	uint64_t desc_off;
};

static err_t *flush_descs(struct page_out *po)
{
	if (!po->n)
		return NULL;
	err_t *e = sink_pwrite(po->s, po->desc_off + po->first * 24, po->desc, po->n * 24);
	po->first += po->n;
	po->n = 0;
	return e;
}

static err_t *add_desc(struct page_out *po, uint64_t off, uint32_t size, uint32_t flags)
{
	uint8_t *p = po->desc + po->n * 24;
	bool be = po->d->big_endian;
	put64(p, off, be);
	put32(p + 8, size, be);
	put32(p + 12, flags, be);
	put64(p + 16, 0, be);
	if (++po->n == DESC_BATCH)
		return flush_descs(po);
	return NULL;
}

#define BATCH 256    /* pages per batch; one is compressed while the other is written */

/* Write slot SL's page: its descriptor and data. */
static err_t *emit_slot(struct page_out *po, const struct out_opts *o, const struct cslot *sl,
			uint64_t ps, uint64_t zero_off, uint64_t *pos, struct out_stats *st)
{
	switch (sl->kind) {
	case CSLOT_ZERO:
		st->zero_pages++;
		return add_desc(po, zero_off, (uint32_t)ps, 0);
	case CSLOT_COMPRESSED:
		TRY(sink_pwrite(po->s, *pos, sl->out, sl->size));
		TRY(add_desc(po, *pos, (uint32_t)sl->size, o->codec->flag));
		*pos += sl->size;
		break;
	default:
		TRY(sink_pwrite(po->s, *pos, sl->page, ps));
		TRY(add_desc(po, *pos, (uint32_t)ps, 0));
		*pos += ps;
	}
	st->dumped_pages++;
	return NULL;
}

/* Read the next pages of BM2 from *PFN on into batch B; *N is how many. */
static err_t *read_batch(struct dump *d, const struct layout *L, const uint8_t *bm2,
			 struct cpool *pool, int b, uint64_t *pfn, int *n)
{
	uint64_t p = *pfn;
	int k = 0, size = cpool_batch(pool);
	err_t *e = NULL;
	for (; p < L->max_pfn && k < size; p++) {
		if ((p & 7) == 0 && !bm2[p >> 3]) {
			p += 7;
			continue;
		}
		if (!(bm2[p >> 3] >> (p & 7) & 1))
			continue;
		enum page_state state;
		if ((e = dump_read_page(d, p, cpool_slot(pool, b, k)->page, &state)))
			break;
		if (state != PAGE_PRESENT) {
			e = err_new(ERR_FORMAT, "pfn 0x%" PRIx64 ": page vanished from the input", p);
			break;
		}
		k++;
	}
	*pfn = p;
	*n = k;
	return e;
}

/* Write every page of BM2; on success *DATA_END is the end of the data.
 * Batches alternate: while the pool compresses one, this thread writes out
 * the one before and reads the one after. */
static err_t *write_pages(struct dump *d, struct sink *s, const struct out_opts *o,
			  const struct layout *L, const uint8_t *bm2, struct out_stats *st,
			  uint64_t *data_end)
{
	uint64_t ps = L->bs, pos = L->data_off, done = 0;
	struct page_out *po = calloc(1, sizeof(*po));
	struct cpool *pool = NULL;
	err_t *e = NULL;
	if (!po) {
		e = err_new(ERR_NOMEM, "out of memory");
		goto out;
	}
	po->s = s;
	po->d = d;
	po->desc_off = L->desc_off;
	if ((e = cpool_create(o->codec, o->nthreads, (uint32_t)ps, BATCH, &pool)))
		goto out;
	bool share_zero = o->dump_level & 1;
	uint64_t zero_off = pos;
	if (share_zero) {
		/* One zero page, first in the data area; every all-zero page's
		 * descriptor points at it. */
		uint8_t *zero = cpool_slot(pool, 0, 0)->page;
		memset(zero, 0, ps);
		if ((e = sink_pwrite(s, pos, zero, ps)))
			goto out;
		pos += ps;
	}
	uint64_t pfn = 0;
	int cur = 0, prev_n = 0;
	for (;;) {
		int n = 0;
		e = read_batch(d, L, bm2, pool, cur, &pfn, &n);
		if (!e && n)
			cpool_submit(pool, cur, n, share_zero);
		if (prev_n) {
			int b = 1 - cur;
			cpool_wait(pool, b);
			for (int i = 0; i < prev_n && !e; i++)
				e = emit_slot(po, o, cpool_slot(pool, b, i), ps, zero_off, &pos, st);
			done += (uint64_t)prev_n;
			if (o->progress && (done & ~(uint64_t)4095) !=
			    ((done - (uint64_t)prev_n) & ~(uint64_t)4095))
				o->progress(o->progress_arg, done, L->count);
		}
		if (e || !n)
			break;
		prev_n = n;
		cur = 1 - cur;
	}
	if (e)
		goto out;
	e = flush_descs(po);
	if (o->progress)
		o->progress(o->progress_arg, L->count, L->count);
	*data_end = pos;
out:
	/* Out of space: the buffered descriptors all describe data that was
	 * accepted, and the descriptor table lies before the data: write them,
	 * so that the incomplete dump keeps every page it holds. */
	if (e && err_code(e) == ERR_NOSPC && po)
		err_free(flush_descs(po));
	cpool_destroy(pool);
	free(po);
	return e;
}

err_t *write_kdump(struct dump *d, struct sink *s, const struct out_opts *o, struct out_stats *st)
{
	struct layout L = { .bs = d->page_size, .max_pfn = d->max_pfn };
	uint64_t bs = L.bs;
	if (bs < 512)
		return err_new(ERR_FORMAT, "page size %" PRIu64 " is too small for a kdump file", bs);
	uint64_t map_bytes = div_up(L.max_pfn, 8);
	L.bitmap_len = (map_bytes ? div_up(map_bytes, bs) : 1) * bs;
	uint64_t sub_size = SUB_HDR_SIZE64;
	L.sub_hdr_blocks = div_up(sub_size + o->notes_size, bs);
	L.bitmap_off = (1 + L.sub_hdr_blocks) * bs;
	L.desc_off = L.bitmap_off + 2 * L.bitmap_len;
	uint64_t notes_off = bs + sub_size;
	struct note vn;
	if (o->notes_size && notes_find(o->notes, o->notes_size, d->big_endian, "VMCOREINFO", 0, &vn)) {
		L.vmci_off = notes_off + vn.desc_offset;
		L.vmci_size = vn.descsz;
	}

	err_t *e = NULL;
	uint8_t *bm1 = calloc(1, L.bitmap_len), *bm2 = calloc(1, L.bitmap_len);
	uint8_t *hdr = calloc(1, bs), *sub = calloc(1, L.sub_hdr_blocks * bs);
	if (!bm1 || !bm2 || !hdr || !sub) {
		e = err_new(ERR_NOMEM, "out of memory");
		goto out;
	}
	dump_ram_map(d, 0, L.max_pfn, bm1);
	e = dump_saved_map(d, 0, L.max_pfn, bm2);
	if (e)
		goto out;
	for (uint64_t i = 0; i < map_bytes; i++)
		bm1[i] |= bm2[i];   /* a saved page is RAM, whatever the ranges say */
	st->ram_pages = popcount_map(bm1, map_bytes);
	st->saved_pages = popcount_map(bm2, map_bytes);
	if (o->filter && (e = o->filter(o->filter_arg, 0, L.max_pfn, bm2)))
		goto out;
	L.count = popcount_map(bm2, map_bytes);
	L.data_off = L.desc_off + L.count * 24;

	uint32_t status = (o->codec ? o->codec->flag : 0) | o->extra_status;
	fill_main_header(hdr, d, o, &L, status);
	fill_sub_header(sub, d, o, &L, notes_off);
	if (o->notes_size)
		memcpy(sub + sub_size, o->notes, o->notes_size);
	if ((e = sink_pwrite(s, 0, hdr, bs)) || (e = sink_pwrite(s, bs, sub, L.sub_hdr_blocks * bs)) ||
	    (e = sink_pwrite(s, L.bitmap_off, bm1, L.bitmap_len)) ||
	    (e = sink_pwrite(s, L.bitmap_off + L.bitmap_len, bm2, L.bitmap_len)))
		goto out;
	uint64_t end = 0;
	e = write_pages(d, s, o, &L, bm2, st, &end);
	if (!e)
		e = s->flush(s);
	if (e && err_code(e) == ERR_NOSPC) {
		/* Keep what was written as an incomplete dump: readers take the
		 * descriptors that were never written (zeros) as lost pages. */
		st->incomplete = true;
		fill_main_header(hdr, d, o, &L, status | DUMP_DH_COMPRESSED_INCOMPLETE);
		uint64_t limit = s->limit;
		s->limit = 0;    /* the header already lies within the limit */
		err_t *e2 = sink_pwrite(s, 0, hdr, bs);
		if (!e2)
			e2 = s->flush(s);
		s->limit = limit;
		if (e2) {
			st->incomplete = false;
			err_free(e2);
		}
		goto out;
	}
	st->bytes = end;
out:
	free(bm1);
	free(bm2);
	free(hdr);
	free(sub);
	return e;
}
