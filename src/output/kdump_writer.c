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

/* The bitmaps are made a cycle of pfns at a time (writer.h): a guest of
 * one cycle has its bitmaps made once; a larger one is gone through twice,
 * once to count the pages kept and write the bitmaps, once to write the
 * pages. */
struct cycles {
	struct dump *d;
	const struct out_opts *o;
	uint64_t max_pfn, len;       /* pfns per cycle */
	uint8_t *bm1, *bm2;          /* the current cycle's bits */
	uint64_t start, n;           /* the current cycle */
	/* pfns below known_end are known to be zero (known_zero) or not */
	uint64_t known_end;
	bool known_zero;
};

/* Make the 2nd bitmap of the cycle starting at START (the kernel-aware
 * filter included); with ST, the first time, also the 1st bitmap and the
 * page counts. */
static err_t *cycle_load(struct cycles *c, uint64_t start, struct out_stats *st)
{
	uint64_t n = c->max_pfn - start < c->len ? c->max_pfn - start : c->len;
	size_t bytes = (size_t)div_up(n, 8);
	memset(c->bm2, 0, bytes);
	TRY(dump_saved_map(c->d, start, n, c->bm2));
	if (st) {
		memset(c->bm1, 0, bytes);
		dump_ram_map(c->d, start, n, c->bm1);
		for (size_t i = 0; i < bytes; i++)
			c->bm1[i] |= c->bm2[i];   /* a saved page is RAM, whatever the ranges say */
		st->ram_pages += popcount_map(c->bm1, bytes);
		st->saved_pages += popcount_map(c->bm2, bytes);
	}
	if (c->o->filter)
		TRY(c->o->filter(c->o->filter_arg, start, n, c->bm2));
	c->start = start;
	c->n = n;
	return NULL;
}

#define BATCH 256    /* pages per batch of the compression pool */

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
		TRY(sink_pwrite(po->s, *pos, sl->out, ps));
		TRY(add_desc(po, *pos, (uint32_t)ps, 0));
		*pos += ps;
	}
	st->dumped_pages++;
	return NULL;
}

/* Read the next pages to dump from *PFN on into batch B; *N is how many.
 * Or, when the next page to dump starts a run known to be zero without
 * reading it (holes of a sparse input), return no pages but the run:
 * [*ZFIRST, *ZFIRST + *ZLEN), within the current cycle. */
static err_t *read_batch(struct dump *d, struct cycles *cy, struct cpool *pool, int b,
			 uint64_t *pfn, int *n, uint64_t *zfirst, uint64_t *zlen)
{
	uint64_t p = *pfn;
	int k = 0, size = cpool_batch(pool);
	err_t *e = NULL;
	*zlen = 0;
	while (k < size && p < cy->max_pfn) {
		if (p >= cy->start + cy->n && (e = cycle_load(cy, cy->start + cy->n, NULL)))
			break;
		uint64_t i = p - cy->start, end = cy->n;
		const uint8_t *bm = cy->bm2;
		for (; i < end && k < size; i++) {
			if ((i & 7) == 0 && !bm[i >> 3]) {
				i += 7;
				continue;
			}
			if (!(bm[i >> 3] >> (i & 7) & 1))
				continue;
			uint64_t pf = cy->start + i;
			if (pf >= cy->known_end) {
				uint64_t run = dump_zero_run(d, pf, cy->start + end - pf, &cy->known_zero);
				cy->known_end = pf + run;
			}
			if (cy->known_zero) {
				if (k)
					break;          /* the run comes next time */
				*zfirst = pf;
				*zlen = cy->known_end - pf;
				*pfn = cy->known_end;
				*n = 0;
				return NULL;
			}
			/* the run of pages to dump from here, read with one call
			 * into the batch's consecutive pages where the input
			 * allows */
			uint64_t r = 1, lim = end - i;
			if (lim > (uint64_t)(size - k))
				lim = (uint64_t)(size - k);
			if (lim > cy->known_end - pf)
				lim = cy->known_end - pf;
			while (r < lim && bm[(i + r) >> 3] >> ((i + r) & 7) & 1)
				r++;
			uint64_t got;
			if ((e = dump_read_run(d, pf, r, cpool_slot(pool, b, k)->page, &got)))
				break;
			k += (int)got;
			i += got - 1;
		}
		p = cy->start + (i < end ? i : end);
		if (e || (i < end && k < size))
			break;
	}
	*pfn = p;
	*n = k;
	return e;
}

/* Descriptors (and data) for the pages of [FIRST, FIRST + LEN) kept by the
 * current cycle, all known to be zero. */
static err_t *emit_zero_run(struct page_out *po, const struct out_opts *o, struct cycles *cy,
			    struct cpool *pool, bool share_zero, uint64_t first, uint64_t len,
			    uint64_t ps, uint64_t zero_off, uint64_t *pos, struct out_stats *st,
			    uint64_t *count)
{
	struct cslot zs = *cpool_zero_slot(pool);
	if (share_zero)
		zs.kind = CSLOT_ZERO;
	const uint8_t *bm = cy->bm2;
	for (uint64_t i = first - cy->start, end = i + len; i < end; i++) {
		if ((i & 7) == 0 && end - i >= 8 && !bm[i >> 3]) {
			i += 7;
			continue;
		}
		if (!(bm[i >> 3] >> (i & 7) & 1))
			continue;
		TRY(emit_slot(po, o, &zs, ps, zero_off, pos, st));
		(*count)++;
	}
	return NULL;
}

/* Write every page the cycles keep; on success *DATA_END is the end of the
 * data.  Batches go round: while the pool compresses some, this thread
 * writes out the oldest and reads the next. */
static err_t *write_pages(struct dump *d, struct sink *s, const struct out_opts *o,
			  const struct layout *L, struct cycles *cy, struct out_stats *st,
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
	/* Up to CPOOL_BATCHES batches in flight: this thread reads the next
	 * one and writes out the oldest while the pool compresses the rest. */
	uint64_t pfn = 0;
	int cur = 0, head = 0, inflight = 0, nb[CPOOL_BATCHES];
	for (;;) {
		int n = 0;
		uint64_t zfirst = 0, zlen = 0;
		e = read_batch(d, cy, pool, cur, &pfn, &n, &zfirst, &zlen);
		if (!e && n) {
			cpool_submit(pool, cur, n, share_zero);
			nb[cur] = n;
			inflight++;
			cur = (cur + 1) % CPOOL_BATCHES;
		}
		/* At the end, before a zero run and on errors, everything in
		 * flight goes out first, in order. */
		bool all = e || zlen || !n;
		uint64_t before = done;
		while (inflight && (all || inflight == CPOOL_BATCHES)) {
			cpool_wait(pool, head);
			for (int i = 0; i < nb[head] && !e; i++)
				e = emit_slot(po, o, cpool_slot(pool, head, i), ps, zero_off, &pos, st);
			done += (uint64_t)nb[head];
			head = (head + 1) % CPOOL_BATCHES;
			inflight--;
		}
		if (!e && zlen)
			e = emit_zero_run(po, o, cy, pool, share_zero, zfirst, zlen, ps, zero_off, &pos,
					  st, &done);
		if (o->progress && (done >> 12) != (before >> 12))
			o->progress(o->progress_arg, done, L->count);
		if (e || (!n && !zlen))
			break;
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
	struct cycles cy = { .d = d, .o = o, .max_pfn = L.max_pfn };
	cy.len = cycle_len(L.max_pfn, o->cycle_pfns);
	size_t cbytes = (size_t)div_up(cy.len, 8);
	cy.bm1 = malloc(cbytes);
	cy.bm2 = malloc(cbytes);
	uint8_t *hdr = calloc(1, bs), *sub = calloc(1, L.sub_hdr_blocks * bs);
	if (!cy.bm1 || !cy.bm2 || !hdr || !sub) {
		e = err_new(ERR_NOMEM, "out of memory");
		goto out;
	}
	/* First pass: both bitmaps, a cycle at a time, and the count of pages
	 * kept, which places the data after the descriptors. */
	st->ram_pages = st->saved_pages = 0;
	for (uint64_t start = 0; start < L.max_pfn; start += cy.len) {
		if ((e = cycle_load(&cy, start, st)))
			goto out;
		size_t bytes = (size_t)div_up(cy.n, 8);
		L.count += popcount_map(cy.bm2, bytes);
		if ((e = sink_pwrite(s, L.bitmap_off + start / 8, cy.bm1, bytes)) ||
		    (e = sink_pwrite(s, L.bitmap_off + L.bitmap_len + start / 8, cy.bm2, bytes)))
			goto out;
	}
	/* the bitmaps' padding to whole blocks */
	if (map_bytes < L.bitmap_len) {
		uint64_t pad = L.bitmap_len - map_bytes;
		uint8_t *zero = calloc(1, pad);
		if (!zero) {
			e = err_new(ERR_NOMEM, "out of memory");
			goto out;
		}
		if (!(e = sink_pwrite(s, L.bitmap_off + map_bytes, zero, pad)))
			e = sink_pwrite(s, L.bitmap_off + L.bitmap_len + map_bytes, zero, pad);
		free(zero);
		if (e)
			goto out;
	}
	/* One cycle: its bitmap is still there for the pages.  More: the
	 * second pass starts over from pfn 0. */
	if (cy.start != 0) {
		cy.start = 0;
		cy.n = 0;
	}
	L.data_off = L.desc_off + L.count * 24;

	uint32_t status = (o->codec ? o->codec->flag : 0) | o->extra_status;
	fill_main_header(hdr, d, o, &L, status);
	fill_sub_header(sub, d, o, &L, notes_off);
	if (o->notes_size)
		memcpy(sub + sub_size, o->notes, o->notes_size);
	if ((e = sink_pwrite(s, 0, hdr, bs)) || (e = sink_pwrite(s, bs, sub, L.sub_hdr_blocks * bs)))
		goto out;
	uint64_t end = 0;
	e = write_pages(d, s, o, &L, &cy, st, &end);
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
	free(cy.bm1);
	free(cy.bm2);
	free(hdr);
	free(sub);
	return e;
}
