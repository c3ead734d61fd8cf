/* ELF vmcore output (-E): the input's segments, split around long runs of
 * excluded pages.  An excluded run stays covered by p_memsz beyond p_filesz,
 * so the output still says which addresses are RAM. */
#include <elf.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../bytes.h"
#include "writer.h"

/* Runs of excluded pages shorter than this are written as zeros rather
 * than cutting the segment: fewer headers, same content. */
#define SPLIT_RUN 256

struct piece {
	uint64_t start, data_end, end, vaddr;
};

struct pieces {
	struct piece *p;
	size_t n, cap;
};

static err_t *push(struct pieces *ps, struct piece pc)
{
	if (ps->n == ps->cap) {
		ps->cap = ps->cap ? ps->cap * 2 : 64;
		struct piece *np = realloc(ps->p, ps->cap * sizeof(*np));
		if (!np)
			return err_new(ERR_NOMEM, "out of memory");
		ps->p = np;
	}
	ps->p[ps->n++] = pc;
	return NULL;
}

/* Which pfns are written, made a cycle of pfns at a time so that memory
 * stays bounded for any guest (see kdump_writer.c).  Segments and pieces
 * are gone through in pfn order, mostly, so a cycle is seldom made twice;
 * a guest of one cycle makes it once. */

struct kept_map {
	struct dump *d;
	const struct out_opts *o;
	struct out_stats *st;
	uint64_t len, start, n;
	uint8_t *counted;        /* per cycle: statistics taken (the first time) */
	uint8_t *bm, *page;
	bool loaded;
	err_t *err;              /* the first failure, kept until the end */
};

static err_t *kept_load(struct kept_map *k, uint64_t start)
{
	struct dump *d = k->d;
	uint64_t n = d->max_pfn - start < k->len ? d->max_pfn - start : k->len;
	size_t bytes = (size_t)div_up(n, 8);
	bool count = !k->counted[start / k->len];
	k->loaded = false;
	memset(k->bm, 0, bytes);
	TRY(dump_saved_map(d, start, n, k->bm));
	if (count)
		for (size_t i = 0; i < bytes; i++)
			k->st->saved_pages += (uint64_t)__builtin_popcount(k->bm[i]);
	if (k->o->filter)
		TRY(k->o->filter(k->o->filter_arg, start, n, k->bm));
	if (k->o->dump_level & 1) {
		/* Zero pages are left out: ELF headers must say so before any
		 * page is written, so they are read here once more. */
		uint64_t known_end = 0;
		bool zero = false;
		for (uint64_t i = 0; i < n; i++) {
			if (!(k->bm[i >> 3] >> (i & 7) & 1))
				continue;
			if (start + i >= known_end)
				known_end = start + i + dump_zero_run(d, start + i, n - i, &zero);
			if (!zero) {
				enum page_state state;
				TRY(dump_read_page(d, start + i, k->page, &state));
				if (!is_zero_page(k->page, d->page_size))
					continue;
			}
			k->bm[i >> 3] &= (uint8_t)~(1u << (i & 7));
			if (count)
				k->st->zero_pages++;
		}
	}
	k->counted[start / k->len] = 1;
	k->start = start;
	k->n = n;
	k->loaded = true;
	return NULL;
}

static bool kept(struct kept_map *k, uint64_t pfn)
{
	if (!k->loaded || pfn < k->start || pfn >= k->start + k->n) {
		if (k->err || pfn >= k->d->max_pfn)
			return false;
		if ((k->err = kept_load(k, pfn / k->len * k->len)))
			return false;
	}
	uint64_t i = pfn - k->start;
	return k->bm[i >> 3] >> (i & 7) & 1;
}

/* Cut one source segment [pa, pa+memsz) into pieces; nothing at or past
 * MAX_PFN is written. */
static err_t *split_segment(struct pieces *out, struct kept_map *bm, uint64_t page, uint64_t max_pfn,
			    uint64_t pa, uint64_t va, uint64_t memsz)
{
	if (pa / page >= max_pfn)
		return NULL;
	if (div_up(pa + memsz, page) > max_pfn)
		memsz = max_pfn * page - pa;
	uint64_t end = pa + memsz, first = pa / page, last = div_up(end, page);
	uint64_t pfn = first;
	struct piece cur = { pa, pa, pa, va };
	bool open = false;
	while (pfn < last) {
		uint64_t run = pfn;
		bool k = kept(bm, pfn);
		while (run < last && kept(bm, run) == k)
			run++;
		uint64_t a = pfn * page < pa ? pa : pfn * page;
		uint64_t b = run * page > end ? end : run * page;
		if (k) {
			if (!open) {
				cur = (struct piece){ a, a, a, va + (a - pa) };
				open = true;
			}
			cur.data_end = cur.end = b;
		} else if (open && run < last && run - pfn < SPLIT_RUN) {
			cur.data_end = cur.end = b;     /* short gap: written as zeros */
		} else {
			if (!open)
				cur = (struct piece){ a, a, a, va + (a - pa) };
			cur.end = b;                    /* long gap: memsz only */
			TRY(push(out, cur));
			open = false;
		}
		pfn = run;
	}
	if (bm->err)
		return bm->err;
	if (open)
		TRY(push(out, cur));
	return NULL;
}

static void put_phdr(uint8_t *p, bool is64, bool be, uint32_t type, uint64_t off, uint64_t va,
		     uint64_t pa, uint64_t filesz, uint64_t memsz)
{
	put32(p, type, be);
	if (is64) {
		put32(p + 4, type == PT_LOAD ? PF_R | PF_W | PF_X : 0, be);
		put64(p + 8, off, be), put64(p + 16, va, be), put64(p + 24, pa, be);
		put64(p + 32, filesz, be), put64(p + 40, memsz, be), put64(p + 48, 0, be);
	} else {
		put32(p + 4, (uint32_t)off, be), put32(p + 8, (uint32_t)va, be);
		put32(p + 12, (uint32_t)pa, be), put32(p + 16, (uint32_t)filesz, be);
		put32(p + 20, (uint32_t)memsz, be);
		put32(p + 24, type == PT_LOAD ? PF_R | PF_W | PF_X : 0, be), put32(p + 28, 0, be);
	}
}

static err_t *write_headers(struct dump *d, struct sink *s, const struct out_opts *o,
			    const struct pieces *pcs, bool is64, uint64_t data_off)
{
	bool be = d->big_endian;
	uint64_t phnum = pcs->n + 1, ehsize = is64 ? 64 : 52, phent = is64 ? 56 : 32;
	bool xnum = phnum >= PN_XNUM;
	uint64_t shoff = xnum ? ehsize + phnum * phent + o->notes_size : 0;
	uint8_t eh[64];
	memset(eh, 0, sizeof(eh));
	memcpy(eh, ELFMAG, SELFMAG);
	eh[EI_CLASS] = is64 ? ELFCLASS64 : ELFCLASS32;
	eh[EI_DATA] = be ? ELFDATA2MSB : ELFDATA2LSB;
	eh[EI_VERSION] = EV_CURRENT;
	put16(eh + 16, ET_CORE, be);
	put16(eh + 18, d->e_machine, be);
	put32(eh + 20, EV_CURRENT, be);
	uint16_t phnum16 = xnum ? PN_XNUM : (uint16_t)phnum;
	if (is64) {
		put64(eh + 32, ehsize, be), put64(eh + 40, shoff, be);
		put16(eh + 52, (uint16_t)ehsize, be), put16(eh + 54, (uint16_t)phent, be);
		put16(eh + 56, phnum16, be), put16(eh + 58, xnum ? 64 : 0, be);
		put16(eh + 60, xnum ? 1 : 0, be);
	} else {
		put32(eh + 28, (uint32_t)ehsize, be), put32(eh + 32, (uint32_t)shoff, be);
		put16(eh + 40, (uint16_t)ehsize, be), put16(eh + 42, (uint16_t)phent, be);
		put16(eh + 44, phnum16, be), put16(eh + 46, xnum ? 40 : 0, be);
		put16(eh + 48, xnum ? 1 : 0, be);
	}
	TRY(sink_pwrite(s, 0, eh, ehsize));
	uint8_t *ph = calloc(phnum, phent);
	if (!ph)
		return err_new(ERR_NOMEM, "out of memory");
	uint64_t notes_off = ehsize + phnum * phent;
	put_phdr(ph, is64, be, PT_NOTE, notes_off, 0, 0, o->notes_size, o->notes_size);
	uint64_t off = data_off;
	for (size_t i = 0; i < pcs->n; i++) {
		const struct piece *p = &pcs->p[i];
		uint64_t filesz = p->data_end - p->start;
		put_phdr(ph + (i + 1) * phent, is64, be, PT_LOAD, filesz ? off : 0, p->vaddr,
			 p->start, filesz, p->end - p->start);
		off += filesz;
	}
	err_t *e = sink_pwrite(s, ehsize, ph, phnum * phent);
	free(ph);
	TRY(e);
	if (o->notes_size)
		TRY(sink_pwrite(s, notes_off, o->notes, o->notes_size));
	if (xnum) {
		uint8_t sh[64];
		memset(sh, 0, sizeof(sh));
		put32(sh + (is64 ? 44 : 28), (uint32_t)phnum, be);  /* sh_info */
		TRY(sink_pwrite(s, shoff, sh, is64 ? 64 : 40));
	}
	return NULL;
}

static err_t *write_data(struct dump *d, struct sink *s, const struct out_opts *o,
			 const struct pieces *pcs, struct kept_map *bm, uint64_t off,
			 struct out_stats *st, uint64_t *end)
{
	uint64_t ps = d->page_size, total = 0, done = 0;
	for (size_t i = 0; i < pcs->n; i++)
		total += div_up(pcs->p[i].data_end - pcs->p[i].start, ps);
	uint8_t *page = malloc(ps);
	if (!page)
		return err_new(ERR_NOMEM, "out of memory");
	err_t *e = NULL;
	for (size_t i = 0; i < pcs->n && !e; i++) {
		const struct piece *p = &pcs->p[i];
		for (uint64_t a = p->start; a < p->data_end && !e; ) {
			uint64_t pfn = a / ps, b = (pfn + 1) * ps;
			if (b > p->data_end)
				b = p->data_end;
			enum page_state state = PAGE_EXCLUDED;
			if (kept(bm, pfn)) {
				e = dump_read_page(d, pfn, page, &state);
				st->dumped_pages++;
			}
			if (state != PAGE_PRESENT)
				memset(page, 0, ps);
			if (!e)
				e = sink_pwrite(s, off, page + (a - pfn * ps), b - a);
			off += b - a;
			a = b;
			if (o->progress && (++done & 4095) == 0)
				o->progress(o->progress_arg, done, total);
		}
	}
	free(page);
	if (!e && bm->err)
		e = bm->err;
	if (!e && o->progress)
		o->progress(o->progress_arg, total, total);
	*end = off;
	return e;
}

err_t *write_elf(struct dump *d, struct sink *s, const struct out_opts *o, struct out_stats *st)
{
	uint64_t ps = d->page_size;
	struct kept_map km = { .d = d, .o = o, .st = st };
	km.len = cycle_len(d->max_pfn, o->cycle_pfns);
	struct pieces pcs = { 0 };
	km.bm = malloc((size_t)div_up(km.len, 8));
	km.page = malloc(ps);
	km.counted = calloc(1, (size_t)div_up(d->max_pfn, km.len) + 1);
	err_t *e = NULL;
	if (!km.bm || !km.page || !km.counted)
		e = err_new(ERR_NOMEM, "out of memory");
	uint64_t max_addr = 0;
	if (!e && o->has_kimage)
		e = split_segment(&pcs, &km, ps, d->max_pfn, o->kimage_pa, o->kimage_va, o->kimage_size);
	if (d->nsegs) {
		for (size_t i = 0; i < d->nsegs && !e; i++) {
			const struct dump_seg *g = &d->segs[i];
			e = split_segment(&pcs, &km, ps, d->max_pfn, g->paddr, g->vaddr, g->memsz);
		}
	} else {
		/* No virtual layout known (kdump-compressed input): physical
		 * addresses double as virtual ones, as QEMU writes them. */
		for (size_t i = 0; i < d->nram && !e; i++) {
			const struct ram_range *r = &d->ram[i];
			e = split_segment(&pcs, &km, ps, d->max_pfn, r->start, r->start, r->end - r->start);
		}
	}
	for (size_t i = 0; i < pcs.n; i++) {
		if (pcs.p[i].end > max_addr)
			max_addr = pcs.p[i].end;
		if (pcs.p[i].vaddr + (pcs.p[i].end - pcs.p[i].start) > max_addr)
			max_addr = pcs.p[i].vaddr + (pcs.p[i].end - pcs.p[i].start);
	}
	bool is64 = !(d->format == FMT_ELF && d->elf_class == 32 && max_addr <= UINT32_MAX);
	uint64_t hdr_end = (is64 ? 64 : 52) + (pcs.n + 1) * (is64 ? 56 : 32) + o->notes_size +
			   (pcs.n + 1 >= PN_XNUM ? 64 : 0);
	uint64_t data_off = align_up(hdr_end, ps), end = 0;
	if (!e)
		e = write_headers(d, s, o, &pcs, is64, data_off);
	if (!e)
		e = write_data(d, s, o, &pcs, &km, data_off, st, &end);
	st->ram_pages = 0;
	for (size_t i = 0; i < d->nram; i++)
		st->ram_pages += div_up(d->ram[i].end, ps) - d->ram[i].start / ps;
	st->bytes = end;
	free(pcs.p);
	free(km.bm);
	free(km.page);
	free(km.counted);
	return e;
}
