/* ELF vmcores: /proc/vmcore as kdump writes it and QEMU's dump-guest-memory
 * output in all its layouts.  Nothing is assumed about where headers sit:
 * e_phoff and e_shoff are followed, every offset is checked. */
#include <elf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../arch.h"
#include "../bytes.h"
#include "../dump.h"
#include "../notes.h"

#define MAX_NOTES_SIZE (64u << 20)

/* Physical map entry: RAM [start, end) of which [start, data_end) is saved
 * at file offset off. */
struct pmap {
	uint64_t start, end, data_end, off;
};

#define MAX_PT_NOTES 16

struct elf_priv {
	struct pmap *map;
	size_t nmap;
	uint64_t note_off[MAX_PT_NOTES], note_len[MAX_PT_NOTES];
	size_t nnotes;
	uint64_t phoff, phsize;
};

static bool elf_probe(struct bsrc *src)
{
	uint8_t id[EI_NIDENT];
	err_t *e = bsrc_read(src, 0, id, sizeof(id));
	if (e) {
		err_free(e);
		return false;
	}
	return memcmp(id, ELFMAG, SELFMAG) == 0;
}

struct ehdr {
	uint16_t type, machine, ehsize, phentsize, phnum, shentsize, shnum;
	uint64_t phoff, shoff;
};

static err_t *read_ehdr(struct dump *d, struct ehdr *h)
{
	uint8_t b[64];
	bool is64 = d->elf_class == 64;
	TRY(bsrc_read(d->src, 0, b, is64 ? 64 : 52));
	bool be = d->big_endian;
	h->type = get16(b + 16, be);
	h->machine = get16(b + 18, be);
	if (is64) {
		h->phoff = get64(b + 32, be);
		h->shoff = get64(b + 40, be);
		h->ehsize = get16(b + 52, be);
		h->phentsize = get16(b + 54, be);
		h->phnum = get16(b + 56, be);
		h->shentsize = get16(b + 58, be);
		h->shnum = get16(b + 60, be);
	} else {
		h->phoff = get32(b + 28, be);
		h->shoff = get32(b + 32, be);
		h->ehsize = get16(b + 40, be);
		h->phentsize = get16(b + 42, be);
		h->phnum = get16(b + 44, be);
		h->shentsize = get16(b + 46, be);
		h->shnum = get16(b + 48, be);
	}
	return NULL;
}

/* With 0xffff or more program headers, e_phnum is PN_XNUM and the real
 * count is in section header 0's sh_info. */
static err_t *real_phnum(struct dump *d, const struct ehdr *h, uint64_t *phnum)
{
	*phnum = h->phnum;
	if (h->phnum != PN_XNUM)
		return NULL;
	bool is64 = d->elf_class == 64;
	if (!h->shoff || h->shentsize != (is64 ? 64 : 40))
		return err_new(ERR_FORMAT, "e_phnum is PN_XNUM but there is no section header 0 "
			       "to hold the count");
	uint8_t sh[4];
	uint64_t at;
	if (!add_ok(h->shoff, is64 ? 44 : 28, &at))
		return err_new(ERR_FORMAT, "section header offset 0x%" PRIx64 " is past any file",
			       h->shoff);
	TRY(err_wrap(bsrc_read(d->src, at, sh, 4), "section header 0"));
	*phnum = get32(sh, d->big_endian);
	return NULL;
}

static int cmp_pmap(const void *a, const void *b)
{
	const struct pmap *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Several PT_LOADs may describe the same physical bytes (the kernel text
 * segment of /proc/vmcore; QEMU's paging=true dumps map RAM under several
 * virtual addresses).  Keep each physical byte once, from the first
 * segment (in address order, then file order) that has it. */
static size_t dedup_pmap(struct pmap *m, size_t n)
{
	/* qsort is not stable: entries carry their file order in .off ties
	 * rarely matter; identical ranges have identical content anyway. */
	qsort(m, n, sizeof(*m), cmp_pmap);
	size_t out = 0;
	uint64_t covered = 0;
	for (size_t i = 0; i < n; i++) {
		struct pmap p = m[i];
		if (out && p.start < covered) {
			if (p.end <= covered)
				continue;
			uint64_t cut = covered - p.start;
			p.start = covered;
			p.off += cut;
			p.data_end = p.data_end > p.start ? p.data_end : p.start;
		}
		if (p.end == p.start)
			continue;
		m[out++] = p;
		covered = p.end;
	}
	return out;
}

static err_t *elf_load_phdrs(struct dump *d, struct elf_priv *ep, const struct ehdr *h)
{
	bool is64 = d->elf_class == 64, be = d->big_endian;
	uint64_t phnum;
	TRY(real_phnum(d, h, &phnum));
	if (phnum == 0)
		return err_new(ERR_FORMAT, "no program headers");
	if (h->phentsize != (is64 ? 56 : 32))
		return err_new(ERR_FORMAT, "unexpected program header size %u", h->phentsize);
	uint64_t table = phnum * h->phentsize, end;
	if (phnum > UINT32_MAX || !add_ok(h->phoff, table, &end) || end > d->src->size)
		return err_new(ERR_FORMAT, "%" PRIu64 " program headers at offset 0x%" PRIx64
			       " do not fit in the file", phnum, h->phoff);
	ep->phoff = h->phoff;
	ep->phsize = table;
	uint8_t *ph = malloc(table);
	ep->map = calloc(phnum, sizeof(*ep->map));
	d->segs = calloc(phnum, sizeof(*d->segs));
	if (!ph || !ep->map || !d->segs) {
		free(ph);
		return err_new(ERR_NOMEM, "out of memory");
	}
	err_t *e = bsrc_read(d->src, h->phoff, ph, table);
	for (uint64_t i = 0; !e && i < phnum; i++) {
		const uint8_t *p = ph + i * h->phentsize;
		uint32_t type = get32(p, be);
		uint64_t off, vaddr, paddr, filesz, memsz;
		if (is64) {
			off = get64(p + 8, be), vaddr = get64(p + 16, be), paddr = get64(p + 24, be);
			filesz = get64(p + 32, be), memsz = get64(p + 40, be);
		} else {
			off = get32(p + 4, be), vaddr = get32(p + 8, be), paddr = get32(p + 12, be);
			filesz = get32(p + 16, be), memsz = get32(p + 20, be);
		}
		if (type == PT_NOTE) {
			if (!filesz)
				continue;
			if (!add_ok(off, filesz, &end) || end > d->src->size ||
			    d->notes_size + filesz > MAX_NOTES_SIZE) {
				e = err_new(ERR_FORMAT, "program header %" PRIu64 ": PT_NOTE at offset 0x%"
					    PRIx64 " size 0x%" PRIx64 " lies outside the file",
					    i, off, filesz);
				break;
			}
			if (ep->nnotes == MAX_PT_NOTES) {
				e = err_new(ERR_FORMAT, "more than %d PT_NOTE program headers", MAX_PT_NOTES);
				break;
			}
			ep->note_off[ep->nnotes] = off;
			ep->note_len[ep->nnotes++] = filesz;
			uint8_t *nb = realloc(d->notes, d->notes_size + filesz);
			if (!nb) {
				e = err_new(ERR_NOMEM, "out of memory");
				break;
			}
			d->notes = nb;
			e = bsrc_read(d->src, off, d->notes + d->notes_size, filesz);
			d->notes_size += filesz;
			continue;
		}
		if (type != PT_LOAD)
			continue;
		/* Segments that were filtered away carry no file data:
		 * p_offset ~0 (QEMU) or p_filesz 0. */
		if (is64 ? off == UINT64_MAX : off == UINT32_MAX)
			filesz = 0;
		if (filesz > memsz) {
			e = err_new(ERR_FORMAT, "program header %" PRIu64 ": p_filesz 0x%" PRIx64
				    " exceeds p_memsz 0x%" PRIx64, i, filesz, memsz);
			break;
		}
		if (!add_ok(paddr, memsz, &end)) {
			e = err_new(ERR_FORMAT, "program header %" PRIu64 ": physical range 0x%"
				    PRIx64 "+0x%" PRIx64 " overflows", i, paddr, memsz);
			break;
		}
		if (filesz && (!add_ok(off, filesz, &end) || end > d->src->size)) {
			e = err_new(ERR_FORMAT, "program header %" PRIu64 ": data at offset 0x%" PRIx64
				    " size 0x%" PRIx64 " lies past the end of the file (size 0x%"
				    PRIx64 ")", i, off, filesz, d->src->size);
			break;
		}
		if (!memsz)
			continue;
		d->segs[d->nsegs++] = (struct dump_seg){ paddr, vaddr, memsz, filesz };
		ep->map[ep->nmap++] = (struct pmap){ paddr, paddr + memsz, paddr + filesz, off };
	}
	free(ph);
	return e;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

/* The headers and notes must not share bytes with memory data: a file
 * where they do has lying counts or offsets. */
static err_t *check_overlaps(struct dump *d, const struct elf_priv *ep, uint64_t phoff,
			     uint64_t phsize, const uint64_t *note_off, const uint64_t *note_len,
			     size_t nnotes)
{
	for (size_t i = 0; i < ep->nmap; i++) {
		const struct pmap *m = &ep->map[i];
		uint64_t len = m->data_end - m->start;
		if (overlaps(phoff, phsize, m->off, len))
			return err_new(ERR_FORMAT, "the program header table (offset 0x%" PRIx64
				       ", 0x%" PRIx64 " bytes) overlaps the memory data at 0x%" PRIx64,
				       phoff, phsize, m->off);
		for (size_t k = 0; k < nnotes; k++)
			if (overlaps(note_off[k], note_len[k], m->off, len))
				return err_new(ERR_FORMAT, "the notes at offset 0x%" PRIx64 " overlap the "
					       "memory data at 0x%" PRIx64, note_off[k], m->off);
	}
	(void)d;
	return NULL;
}

static err_t *elf_open(struct dump *d)
{
	uint8_t id[EI_NIDENT];
	TRY(bsrc_read(d->src, 0, id, sizeof(id)));
	if (id[EI_CLASS] != ELFCLASS64 && id[EI_CLASS] != ELFCLASS32)
		return err_new(ERR_FORMAT, "unknown ELF class %u", id[EI_CLASS]);
	if (id[EI_DATA] != ELFDATA2LSB && id[EI_DATA] != ELFDATA2MSB)
		return err_new(ERR_FORMAT, "unknown ELF byte order %u", id[EI_DATA]);
	d->elf_class = id[EI_CLASS] == ELFCLASS64 ? 64 : 32;
	d->wordsize = d->elf_class / 8;
	d->big_endian = id[EI_DATA] == ELFDATA2MSB;
	struct ehdr h;
	TRY(read_ehdr(d, &h));
	if (h.type != ET_CORE)
		return err_new(ERR_FORMAT, "ELF file of type %u is not a core dump", h.type);
	d->e_machine = h.machine;
	d->arch = arch_by_elf(h.machine, d->wordsize, d->big_endian);
	d->page_size = d->arch ? d->arch->page_size : 4096;
	/* QEMU 7.x writes section headers first and, in 7.2, e_ehsize 8. */
	bool qemu_layout = h.shoff && h.shoff < h.phoff;
	snprintf(d->layout, sizeof(d->layout), "%s%s", qemu_layout ? "sections first" : "classic",
		 h.phnum == PN_XNUM ? ", PN_XNUM" : "");

	struct elf_priv *ep = calloc(1, sizeof(*ep));
	if (!ep)
		return err_new(ERR_NOMEM, "out of memory");
	d->priv = ep;
	TRY(elf_load_phdrs(d, ep, &h));
	if (d->notes)
		TRY(err_wrap(notes_validate(d->notes, d->notes_size, d->big_endian), "PT_NOTE"));
	if (!ep->nmap)
		return err_new(ERR_FORMAT, "no PT_LOAD segments: the dump holds no memory");
	TRY(check_overlaps(d, ep, ep->phoff, ep->phsize, ep->note_off, ep->note_len, ep->nnotes));
	ep->nmap = dedup_pmap(ep->map, ep->nmap);
	for (size_t i = 0; i < ep->nmap; i++)
		TRY(dump_add_range(d, ep->map[i].start, ep->map[i].end, ep->map[i].data_end));
	return NULL;
}

/* The index of the first map entry ending after PA (nmap when none). */
static size_t pmap_find(const struct elf_priv *ep, uint64_t pa)
{
	size_t lo = 0, hi = ep->nmap;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ep->map[mid].end <= pa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static err_t *elf_read_page(struct dump *d, uint64_t pfn, void *buf, enum page_state *state)
{
	struct elf_priv *ep = d->priv;
	uint64_t ps = d->page_size, pa = pfn * ps, pend = pa + ps;
	size_t lo = pmap_find(ep, pa);
	const struct pmap *m = lo < ep->nmap ? &ep->map[lo] : NULL;
	/* Fast path: the whole page is saved in one segment. */
	if (m && m->start <= pa && m->data_end >= pend) {
		*state = PAGE_PRESENT;
		return bsrc_read(d->src, m->off + (pa - m->start), buf, ps);
	}
	memset(buf, 0, ps);
	bool ram = false, data = false;
	for (; lo < ep->nmap && ep->map[lo].start < pend; lo++) {
		m = &ep->map[lo];
		ram = true;
		uint64_t a = m->start > pa ? m->start : pa;
		uint64_t b = m->data_end < pend ? m->data_end : pend;
		if (a >= b)
			continue;
		data = true;
		TRY(bsrc_read(d->src, m->off + (a - m->start), (uint8_t *)buf + (a - pa), b - a));
	}
	*state = data ? PAGE_PRESENT : ram ? PAGE_EXCLUDED : PAGE_ABSENT;
	return NULL;
}

static err_t *elf_read_run(struct dump *d, uint64_t pfn, uint64_t n, void *buf, uint64_t *got)
{
	struct elf_priv *ep = d->priv;
	uint64_t ps = d->page_size, pa = pfn * ps;
	size_t lo = pmap_find(ep, pa);
	const struct pmap *m = lo < ep->nmap ? &ep->map[lo] : NULL;
	*got = 0;
	if (!m || m->start > pa || m->data_end < pa + ps)
		return NULL;
	uint64_t k = (m->data_end - pa) / ps;
	if (k > n)
		k = n;
	TRY(bsrc_read(d->src, m->off + (pa - m->start), buf, k * ps));
	*got = k;
	return NULL;
}

static uint64_t elf_zero_run(struct dump *d, uint64_t pfn, uint64_t max, bool *zero)
{
	struct elf_priv *ep = d->priv;
	uint64_t ps = d->page_size, pa = pfn * ps;
	size_t lo = pmap_find(ep, pa);
	const struct pmap *m = lo < ep->nmap ? &ep->map[lo] : NULL;
	if (!m || m->start > pa || m->data_end < pa + ps)
		return 1;       /* not one whole saved page: read it */
	uint64_t pages = (m->data_end - pa) / ps;
	if (pages > max)
		pages = max;
	bool hole;
	uint64_t len = bsrc_hole_run(d->src, m->off + (pa - m->start), pages * ps, &hole);
	if (hole && len >= ps) {
		*zero = true;
		return len / ps;
	}
	if (hole)
		return 1;
	len = div_up(len, ps);
	return len < 1 ? 1 : len;
}

static err_t *elf_saved_map(struct dump *d, uint64_t start, uint64_t n, uint8_t *map)
{
	struct elf_priv *ep = d->priv;
	uint64_t ps = d->page_size, lim = start + n;
	for (size_t i = 0; i < ep->nmap; i++) {
		/* Pages count from the one holding the first saved byte up to the
		 * last whole one, as makedumpfile has always counted them. */
		uint64_t a = ep->map[i].start / ps, b = ep->map[i].data_end / ps;
		if (b == a && ep->map[i].data_end > ep->map[i].start)
			b = a + 1;
		if (ep->map[i].data_end == ep->map[i].start)
			continue;
		if (a < start)
			a = start;
		if (b > lim)
			b = lim;
		if (a < b)
			bitmap_set_range(map, a - start, b - start);
	}
	return NULL;
}

static void elf_close(struct dump *d)
{
	struct elf_priv *ep = d->priv;
	if (ep)
		free(ep->map);
	free(ep);
}

const struct dump_reader reader_elf = {
	.name = "ELF",
	.probe = elf_probe,
	.open = elf_open,
	.read_page = elf_read_page,
	.saved_map = elf_saved_map, .zero_run = elf_zero_run, .read_run = elf_read_run,
	.close = elf_close,
};
