#include "dump.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"

static const struct dump_reader *const readers[] = { &reader_elf, &reader_kdump };

err_t *dump_add_range(struct dump *d, uint64_t start, uint64_t end, uint64_t data_end)
{
	if (d->nram && d->ram[d->nram - 1].end == start &&
	    d->ram[d->nram - 1].data_end == start) {
		/* Contiguous with the previous one: merge. */
		d->ram[d->nram - 1].end = end;
		d->ram[d->nram - 1].data_end = data_end;
	} else {
		if ((d->nram & (d->nram - 1)) == 0) {
			size_t cap = d->nram ? d->nram * 2 : 8;
			struct ram_range *r = realloc(d->ram, cap * sizeof(*r));
			if (!r)
				return err_new(ERR_NOMEM, "out of memory");
			d->ram = r;
		}
		d->ram[d->nram++] = (struct ram_range){ start, end, data_end };
	}
	uint64_t last = div_up(end, d->page_size);
	if (last > d->max_pfn)
		d->max_pfn = last;
	return NULL;
}

err_t *dump_open(const char *path, struct dump **out)
{
	struct bsrc *src;
	TRY(bsrc_file_open(path, &src));
	bool flat = bsrc_looks_flat(src);
	if (flat)
		TRY(bsrc_flat_open(src, &src));   /* its errors name the file */
	if (src->size == 0) {
		bsrc_destroy(src);
		return err_new(ERR_FORMAT, "'%s' is empty", path);
	}
	const struct dump_reader *reader = NULL;
	for (size_t i = 0; i < sizeof(readers) / sizeof(readers[0]) && !reader; i++)
		if (readers[i]->probe(src))
			reader = readers[i];
	if (!reader) {
		bsrc_destroy(src);
		return err_new(ERR_FORMAT, "'%s' is not a vmcore: neither ELF, kdump-compressed "
			       "nor a flattened stream of either", path);
	}
	struct dump *d = calloc(1, sizeof(*d));
	if (!d) {
		bsrc_destroy(src);
		return err_new(ERR_NOMEM, "out of memory");
	}
	d->name = src->name;
	d->src = src;
	d->reader = reader;
	d->flattened = flat;
	d->format = reader == &reader_elf ? FMT_ELF : FMT_KDUMP;
	err_t *e = reader->open(d);
	if (!e && !d->page_size)
		e = err_new(ERR_FORMAT, "page size unknown");
	if (e) {
		e = err_wrap(e, "'%s'", path);
		dump_close(d);
		return e;
	}
	*out = d;
	return NULL;
}

err_t *dump_read_run(struct dump *d, uint64_t pfn, uint64_t n, void *buf, uint64_t *got)
{
	*got = 0;
	if (n > 1 && d->reader->read_run) {
		TRY(d->reader->read_run(d, pfn, n, buf, got));
		if (*got)
			return NULL;
	}
	enum page_state state;
	TRY(dump_read_page(d, pfn, buf, &state));
	if (state != PAGE_PRESENT)
		return err_new(ERR_FORMAT, "pfn 0x%" PRIx64 ": page vanished from the input", pfn);
	*got = 1;
	return NULL;
}

uint64_t dump_zero_run(struct dump *d, uint64_t pfn, uint64_t max, bool *zero)
{
	*zero = false;
	if (!max)
		return 0;
	if (!d->reader->zero_run)
		return max;
	return d->reader->zero_run(d, pfn, max, zero);
}

err_t *dump_read_page(struct dump *d, uint64_t pfn, void *buf, enum page_state *state)
{
	if (pfn >= d->max_pfn) {
		memset(buf, 0, d->page_size);
		*state = PAGE_ABSENT;
		return NULL;
	}
	return err_wrap(d->reader->read_page(d, pfn, buf, state), "'%s'", d->name);
}

/* Set bits [a, b) of MAP. */
void bitmap_set_range(uint8_t *map, uint64_t a, uint64_t b)
{
	while (a < b && (a & 7))
		map[a >> 3] |= (uint8_t)(1u << (a & 7)), a++;
	if (b - a >= 8) {
		memset(map + (a >> 3), 0xff, (b - a) >> 3);
		a += (b - a) & ~(uint64_t)7;
	}
	while (a < b)
		map[a >> 3] |= (uint8_t)(1u << (a & 7)), a++;
}

void dump_ram_map(const struct dump *d, uint64_t start, uint64_t n, uint8_t *map)
{
	uint64_t ps = d->page_size, lim = start + n;
	for (size_t i = 0; i < d->nram; i++) {
		/* A page the range covers only in part counts at its start and
		 * not at its end, as makedumpfile has always counted pfns. */
		uint64_t a = d->ram[i].start / ps, b = d->ram[i].end / ps;
		if (b == a && d->ram[i].end > d->ram[i].start)
			b = a + 1;
		if (a < start)
			a = start;
		if (b > lim)
			b = lim;
		if (a < b)
			bitmap_set_range(map, a - start, b - start);
	}
}

err_t *dump_saved_map(struct dump *d, uint64_t start, uint64_t n, uint8_t *map)
{
	return err_wrap(d->reader->saved_map(d, start, n, map), "'%s'", d->name);
}

uint64_t dump_limit_pfn(struct dump *d, uint64_t limit)
{
	if (limit >= d->max_pfn)
		return 0;
	uint64_t ps = d->page_size, end = limit * ps, dropped = 0;
	size_t n = 0;
	for (size_t i = 0; i < d->nram; i++) {
		struct ram_range r = d->ram[i];
		if (r.start >= end) {
			dropped += div_up(r.end, ps) - r.start / ps;
			continue;
		}
		if (r.end > end) {
			dropped += div_up(r.end, ps) - limit;
			r.end = end;
			if (r.data_end > end)
				r.data_end = end;
		}
		d->ram[n++] = r;
	}
	d->nram = n;
	n = 0;
	for (size_t i = 0; i < d->nsegs; i++) {
		struct dump_seg g = d->segs[i];
		if (g.paddr >= end)
			continue;
		if (g.paddr + g.memsz > end) {
			g.memsz = end - g.paddr;
			if (g.filesz > g.memsz)
				g.filesz = g.memsz;
		}
		d->segs[n++] = g;
	}
	d->nsegs = n;
	d->max_pfn = limit;
	return dropped;
}

void dump_close(struct dump *d)
{
	if (!d)
		return;
	if (d->reader && d->reader->close)
		d->reader->close(d);
	free(d->notes);
	free(d->ram);
	free(d->segs);
	bsrc_destroy(d->src);
	free(d);
}

const char *dump_describe(const struct dump *d, char *buf, size_t len)
{
	if (d->format == FMT_ELF)
		snprintf(buf, len, "%sELF%d %s-endian (%s)", d->flattened ? "flattened " : "",
			 d->elf_class, d->big_endian ? "big" : "little", d->layout);
	else
		snprintf(buf, len, "%skdump-compressed v%d", d->flattened ? "flattened " : "",
			 d->kdump.header_version);
	return buf;
}
