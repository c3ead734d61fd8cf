/* kdump-compressed files, header versions 1 to 6, 64- and 32-bit layouts,
 * either byte order, complete, incomplete or split. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../diskdump_mod.h"
#include "../arch.h"
#include "../bytes.h"
#include "../codec/codec.h"
#include "../dump.h"
#include "../notes.h"

#define DESC_BATCH 2048
#define RANK_BITS 512     /* one cumulative count per this many pfns */

/* The bitmaps stay in the file: a block of each is held at a time, so
 * that memory does not grow with the guest (a 1 TiB guest has 32 MiB of
 * each).  Blocks are larger than the byte source's read-ahead requests,
 * so reading them does not disturb the window that page data goes
 * through. */
#define BM_BLOCK (128u << 10)

struct bmcache {
	uint64_t off, used;   /* file offset; bytes of bitmap that hold pages */
	uint64_t first;       /* bitmap byte held in buf[0] */
	size_t len;
	uint8_t tail_mask;    /* bits of the last byte that are pages */
	uint8_t *buf;
};

struct kdump_priv {
	struct bmcache bm1, bm2;
	uint64_t *rank;       /* set bits of bitmap2 below each RANK_BITS chunk */
	uint64_t desc_off;    /* file offset of page_desc[0] */
	uint64_t first_desc;  /* rank of start_pfn (split files) */
	uint8_t *cbuf;        /* compressed page */
	/* Descriptors are read a batch at a time, so that alternating between
	 * the descriptor table and the page data does not thrash the byte
	 * source's read-ahead window. */
	uint8_t *descs;
	uint64_t descs_first, descs_n;
	bool incomplete;
};

static bool kdump_probe(struct bsrc *src)
{
	char sig[KDUMP_SIG_LEN];
	err_t *e = bsrc_read(src, 0, sig, sizeof(sig));
	if (e) {
		err_free(e);
		return false;
	}
	return memcmp(sig, KDUMP_SIGNATURE, KDUMP_SIG_LEN) == 0;
}

/* *P = bitmap byte BYTE and what follows it in the held block (*AVAIL
 * bytes); bytes past the pages read as 0. */
static err_t *bm_at(struct dump *d, struct bmcache *c, uint64_t byte, const uint8_t **p,
		    size_t *avail)
{
	static const uint8_t zeros[64];
	if (byte >= c->used) {
		*p = zeros;
		*avail = sizeof(zeros);
		return NULL;
	}
	if (byte < c->first || byte >= c->first + c->len) {
		uint64_t first = byte / BM_BLOCK * BM_BLOCK;
		size_t len = c->used - first < BM_BLOCK ? (size_t)(c->used - first) : BM_BLOCK;
		c->len = 0;
		TRY(bsrc_read(d->src, c->off + first, c->buf, len));
		if (first + len == c->used)
			c->buf[len - 1] &= c->tail_mask;
		c->first = first;
		c->len = len;
	}
	*p = c->buf + (byte - c->first);
	*avail = c->len - (size_t)(byte - c->first);
	return NULL;
}

static err_t *bm_bit(struct dump *d, struct bmcache *c, uint64_t pfn, bool *set)
{
	const uint8_t *p;
	size_t avail;
	TRY(bm_at(d, c, pfn >> 3, &p, &avail));
	*set = *p >> (pfn & 7) & 1;
	return NULL;
}

static bool power_of_two_in(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v >= lo && v <= hi && (v & (v - 1)) == 0;
}

static void copy_uts(char *dst, const uint8_t *src)
{
	memcpy(dst, src, UTS_FIELD_LEN);
	dst[UTS_FIELD_LEN] = '\0';
}

/* Sub header field offsets per layout (64-bit; 32-bit with u64 aligned to 4
 * as on i386; 32-bit with u64 aligned to 8). */
struct sub_layout {
	int word;                     /* size of unsigned long fields */
	int phys_base, dump_level, split, start_pfn, end_pfn, off_vmci, size_vmci,
	    off_note, size_note, off_erase, size_erase, start64, end64, max64;
};

static const struct sub_layout sub64 = { 8, 0, 8, 12, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96 };
static const struct sub_layout sub32_packed = { 4, 0, 4, 8, 12, 16, 20, 28, 32, 40, 44, 52, 56, 64, 72 };
static const struct sub_layout sub32_aligned = { 4, 0, 4, 8, 12, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88 };

struct hdr_fields {
	int version;
	uint32_t status, bitmap_blocks, max_mapnr;
	int32_t block_size, sub_hdr_size, nr_cpus;
	int64_t timestamp;
};

static void parse_main(const uint8_t *h, bool be, bool is64, struct hdr_fields *f)
{
	f->version = (int32_t)get32(h + 8, be);
	size_t o = is64 ? 424 : DH32_STATUS;
	f->timestamp = is64 ? (int64_t)get64(h + 408, be) : (int32_t)get32(h + DH32_TIMESTAMP, be);
	f->status = get32(h + o, be);
	f->block_size = (int32_t)get32(h + o + 4, be);
	f->sub_hdr_size = (int32_t)get32(h + o + 8, be);
	f->bitmap_blocks = get32(h + o + 12, be);
	f->max_mapnr = get32(h + o + 16, be);
	f->nr_cpus = (int32_t)get32(h + o + 36, be);
}

static err_t *kdump_read_notes(struct dump *d, const uint8_t *sh, const struct sub_layout *L,
			       int version)
{
	bool be = d->big_endian;
	uint64_t end, size = d->src->size;
	if (version >= 4) {
		uint64_t off = get64(sh + L->off_note, be), len = get_word(sh + L->size_note, L->word, be);
		if (len) {
			if (!add_ok(off, len, &end) || end > size || len > (64u << 20))
				return err_new(ERR_FORMAT, "note data at offset 0x%" PRIx64 " size 0x%"
					       PRIx64 " lies outside the file", off, len);
			if (!(d->notes = malloc(len)))
				return err_new(ERR_NOMEM, "out of memory");
			d->notes_size = len;
			TRY(bsrc_read(d->src, off, d->notes, len));
			TRY(err_wrap(notes_validate(d->notes, len, be), "note data"));
			return NULL;
		}
	}
	if (version >= 3) {
		/* Before notes were stored, only the VMCOREINFO text was: keep it
		 * as a note so that it reaches the output. */
		uint64_t off = get64(sh + L->off_vmci, be), len = get_word(sh + L->size_vmci, L->word, be);
		if (!len)
			return NULL;
		if (!add_ok(off, len, &end) || end > size || len > (16u << 20))
			return err_new(ERR_FORMAT, "VMCOREINFO at offset 0x%" PRIx64 " size 0x%" PRIx64
				       " lies outside the file", off, len);
		uint8_t *text = malloc(len);
		if (!text)
			return err_new(ERR_NOMEM, "out of memory");
		err_t *e = bsrc_read(d->src, off, text, len);
		if (!e)
			e = notes_append(&d->notes, &d->notes_size, be, "VMCOREINFO", 0, text, len);
		free(text);
		return e;
	}
	return NULL;
}

static err_t *build_ranks(struct dump *d, struct kdump_priv *kp)
{
	uint64_t chunks = div_up(d->max_pfn, RANK_BITS) + 1;
	if (!(kp->rank = malloc(chunks * sizeof(*kp->rank))))
		return err_new(ERR_NOMEM, "out of memory");
	uint64_t count = 0;
	for (uint64_t c = 0; c < chunks; c++) {
		kp->rank[c] = count;
		uint64_t lo = c * RANK_BITS / 8, hi = lo + RANK_BITS / 8;
		if (hi > kp->bm2.used)
			hi = kp->bm2.used;
		while (lo < hi) {
			const uint8_t *p;
			size_t avail;
			TRY(bm_at(d, &kp->bm2, lo, &p, &avail));
			size_t k = hi - lo < avail ? (size_t)(hi - lo) : avail;
			for (size_t i = 0; i < k; i++)
				count += (uint64_t)__builtin_popcount(p[i]);
			lo += k;
		}
	}
	return NULL;
}

/* Set bits of the second bitmap below PFN. */
static err_t *rank_of(struct dump *d, struct kdump_priv *kp, uint64_t pfn, uint64_t *out)
{
	uint64_t c = pfn / RANK_BITS, r = kp->rank[c], from = c * RANK_BITS;
	const uint8_t *p;
	size_t avail;
	/* a rank chunk is 64 bytes of bitmap, within one block */
	TRY(bm_at(d, &kp->bm2, from >> 3, &p, &avail));
	uint64_t bytes = (pfn - from) >> 3;
	for (uint64_t i = 0; i < bytes && i < avail; i++)
		r += (uint64_t)__builtin_popcount(p[i]);
	if ((pfn & 7) && bytes < avail)
		r += (uint64_t)__builtin_popcount(p[bytes] & ((1u << (pfn & 7)) - 1));
	*out = r;
	return NULL;
}

/* RAM ranges are the runs of the first bitmap. */
/* RAM ranges are the runs of the first bitmap. */
static err_t *ranges_from_bitmap(struct dump *d, struct kdump_priv *kp)
{
	uint64_t ps = d->page_size, max = d->max_pfn, pfn = 0, start = 0;
	bool in_run = false;
	d->max_pfn = 0;
	err_t *e = NULL;
	while (pfn < max && !e) {
		const uint8_t *p;
		size_t avail;
		if ((e = bm_at(d, &kp->bm1, pfn >> 3, &p, &avail)))
			break;
		for (size_t i = 0; i < avail && pfn < max && !e; i++) {
			uint8_t b = p[i];
			if ((b == 0 && !in_run) || (b == 0xff && in_run)) {
				pfn += 8;
				continue;
			}
			for (int bit = 0; bit < 8 && pfn < max; bit++, pfn++) {
				bool set = b >> bit & 1;
				if (set && !in_run) {
					start = pfn;
					in_run = true;
				} else if (!set && in_run) {
					e = dump_add_range(d, start * ps, pfn * ps, pfn * ps);
					in_run = false;
				}
			}
		}
	}
	if (pfn > max)
		pfn = max;
	if (!e && in_run)
		e = dump_add_range(d, start * ps, pfn * ps, pfn * ps);
	d->max_pfn = max;
	return e;
}

static err_t *kdump_open(struct dump *d)
{
	uint8_t h[464];
	memset(h, 0, sizeof(h));
	size_t hlen = d->src->size < sizeof(h) ? (size_t)d->src->size : sizeof(h);
	if (hlen < DH32_SIZE)
		return err_new(ERR_FORMAT, "kdump header is truncated (%zu bytes)", hlen);
	TRY(bsrc_read(d->src, 0, h, hlen));
	struct kdump_info *ki = &d->kdump;
	copy_uts(ki->nodename, h + 12 + UTS_FIELD_LEN);
	copy_uts(ki->release, h + 12 + 2 * UTS_FIELD_LEN);
	copy_uts(ki->version, h + 12 + 3 * UTS_FIELD_LEN);
	copy_uts(ki->machine, h + 12 + 4 * UTS_FIELD_LEN);

	/* The header has no byte-order mark: the version and block size must
	 * make sense in exactly one order.  The word size follows the machine
	 * name, or failing that the layout whose block size is plausible. */
	d->arch = arch_by_name(ki->machine);
	struct hdr_fields f = { 0 };
	bool found = false;
	for (int be = 0; be < 2 && !found; be++) {
		for (int w = 0; w < 2 && !found; w++) {
			bool is64 = w == 0;
			if (d->arch && (d->arch->wordsize == 8) != is64)
				continue;
			parse_main(h, be, is64, &f);
			if (f.version >= 1 && f.version <= 6 &&
			    power_of_two_in((uint32_t)f.block_size, 512, 1u << 20)) {
				found = true;
				d->big_endian = be;
				d->wordsize = is64 ? 8 : 4;
			}
		}
	}
	if (!found)
		return err_new(ERR_FORMAT, "kdump header has an unsupported version %d or a bad "
			       "block size %d", (int32_t)get32(h + 8, false),
			       (int32_t)get32(h + 428, false));
	d->e_machine = d->arch ? d->arch->e_machine : 0;
	d->page_size = (uint32_t)f.block_size;
	ki->header_version = f.version;
	ki->status = f.status;
	ki->timestamp = f.timestamp;
	ki->nr_cpus = f.nr_cpus;
	uint64_t bs = (uint64_t)f.block_size, fsize = d->src->size;
	if (f.sub_hdr_size < 0 || (uint64_t)f.sub_hdr_size > fsize / bs)
		return err_new(ERR_FORMAT, "kdump header: sub header size of %d blocks is past the "
			       "end of the file", f.sub_hdr_size);
	if (f.bitmap_blocks == 0 || f.bitmap_blocks % 2)
		return err_new(ERR_FORMAT, "kdump header: bitmap_blocks %u is not a positive even "
			       "number", f.bitmap_blocks);
	uint64_t bitmap_off = (1 + (uint64_t)f.sub_hdr_size) * bs;
	uint64_t bitmap_len = (uint64_t)f.bitmap_blocks / 2 * bs;
	if (bitmap_off + 2 * bitmap_len > fsize)
		return err_new(ERR_FORMAT, "kdump header: the bitmaps (%u blocks at offset 0x%" PRIx64
			       ") run past the end of the file (size 0x%" PRIx64 ")",
			       f.bitmap_blocks, bitmap_off, fsize);

	const struct sub_layout *L = d->wordsize == 8 ? &sub64
		: d->arch && d->arch->sub_hdr_packed ? &sub32_packed : &sub32_aligned;
	uint8_t sh[104];
	memset(sh, 0, sizeof(sh));
	if (f.sub_hdr_size > 0)
		TRY(err_wrap(bsrc_read(d->src, bs, sh, sizeof(sh) <= bs ? sizeof(sh) : bs), "sub header"));
	bool be = d->big_endian;
	uint64_t max_mapnr = f.max_mapnr;
	uint64_t phys_base = get_word(sh + L->phys_base, L->word, be);
	ki->phys_base_known = f.version >= 1 && f.sub_hdr_size > 0 &&
		phys_base != (L->word == 8 ? UINT64_MAX : UINT32_MAX);
	ki->phys_base = L->word == 8 ? (int64_t)phys_base : (int32_t)phys_base;
	ki->dump_level = (int32_t)get32(sh + L->dump_level, be);
	if (f.version >= 2) {
		ki->split = get32(sh + L->split, be) != 0;
		ki->start_pfn = get_word(sh + L->start_pfn, L->word, be);
		ki->end_pfn = get_word(sh + L->end_pfn, L->word, be);
	}
	if (f.version >= 6) {
		uint64_t m64 = get64(sh + L->max64, be);
		if (m64)
			max_mapnr = m64;
		if (ki->split) {
			ki->start_pfn = get64(sh + L->start64, be);
			ki->end_pfn = get64(sh + L->end64, be);
		}
	}
	if (max_mapnr > bitmap_len * 8)
		return err_new(ERR_FORMAT, "kdump header: max_mapnr %" PRIu64 " needs more bitmap than "
			       "the %u blocks present", max_mapnr, f.bitmap_blocks);
	if (ki->split && (ki->start_pfn > ki->end_pfn || ki->end_pfn > max_mapnr))
		return err_new(ERR_FORMAT, "kdump sub header: split range %" PRIu64 "-%" PRIu64
			       " is outside 0-%" PRIu64, ki->start_pfn, ki->end_pfn, max_mapnr);
	d->max_pfn = max_mapnr;
	TRY(kdump_read_notes(d, sh, L, f.version));

	struct kdump_priv *kp = calloc(1, sizeof(*kp));
	if (!kp)
		return err_new(ERR_NOMEM, "out of memory");
	d->priv = kp;
	kp->incomplete = f.status & DUMP_DH_COMPRESSED_INCOMPLETE;
	uint64_t used = div_up(max_mapnr, 8);
	/* Bits past max_mapnr in the last byte are not pages. */
	uint8_t mask = max_mapnr & 7 ? (uint8_t)((1u << (max_mapnr & 7)) - 1) : 0xff;
	kp->bm1 = (struct bmcache){ .off = bitmap_off, .used = used, .tail_mask = mask };
	kp->bm2 = (struct bmcache){ .off = bitmap_off + bitmap_len, .used = used, .tail_mask = mask };
	kp->bm1.buf = malloc(BM_BLOCK);
	kp->bm2.buf = malloc(BM_BLOCK);
	kp->cbuf = malloc(bs);
	kp->descs = malloc(DESC_BATCH * 24);
	if (!kp->bm1.buf || !kp->bm2.buf || !kp->cbuf || !kp->descs)
		return err_new(ERR_NOMEM, "out of memory");
	kp->desc_off = bitmap_off + 2 * bitmap_len;
	TRY(err_wrap(build_ranks(d, kp), "2nd bitmap"));
	if (ki->split)
		TRY(rank_of(d, kp, ki->start_pfn, &kp->first_desc));
	return err_wrap(ranges_from_bitmap(d, kp), "1st bitmap");
}

static err_t *kdump_read_page(struct dump *d, uint64_t pfn, void *buf, enum page_state *state)
{
	struct kdump_priv *kp = d->priv;
	uint32_t ps = d->page_size;
	bool in_split = !d->kdump.split || (pfn >= d->kdump.start_pfn && pfn < d->kdump.end_pfn);
	bool saved, ram;
	TRY(bm_bit(d, &kp->bm2, pfn, &saved));
	if (!saved || !in_split) {
		memset(buf, 0, ps);
		TRY(bm_bit(d, &kp->bm1, pfn, &ram));
		*state = ram || saved ? PAGE_EXCLUDED : PAGE_ABSENT;
		return NULL;
	}
	uint64_t idx;
	TRY(rank_of(d, kp, pfn, &idx));
	idx -= kp->first_desc;
	uint8_t pd[24];
	uint64_t at = kp->desc_off + idx * 24;
	if (at + 24 > d->src->size) {
		if (kp->incomplete)
			goto lost;
		return err_new(ERR_FORMAT, "pfn 0x%" PRIx64 ": page descriptor at offset 0x%" PRIx64
			       " lies past the end of the file", pfn, at);
	}
	if (idx < kp->descs_first || idx >= kp->descs_first + kp->descs_n) {
		uint64_t n = (d->src->size - kp->desc_off) / 24 - idx;
		if (n > DESC_BATCH)
			n = DESC_BATCH;
		kp->descs_n = 0;
		TRY(bsrc_read(d->src, at, kp->descs, n * 24));
		kp->descs_first = idx;
		kp->descs_n = n;
	}
	memcpy(pd, kp->descs + (idx - kp->descs_first) * 24, sizeof(pd));
	bool be = d->big_endian;
	uint64_t off = get64(pd, be);
	uint32_t size = get32(pd + 8, be), flags = get32(pd + 12, be);
	if (off == 0 && size == 0 && kp->incomplete)
		goto lost;
	uint64_t end;
	if (size == 0 || size > ps || !add_ok(off, size, &end) || end > d->src->size) {
		if (kp->incomplete)
			goto lost;
		return err_new(ERR_FORMAT, "pfn 0x%" PRIx64 ": page descriptor at offset 0x%" PRIx64
			       " gives data at 0x%" PRIx64 " size %u outside the file (size 0x%"
			       PRIx64 ")", pfn, at, off, size, d->src->size);
	}
	uint32_t codec_flags = flags & DUMP_DH_COMPRESSION_MASK;
	if (!codec_flags) {
		if (size != ps)
			return err_new(ERR_FORMAT, "pfn 0x%" PRIx64 ": raw page stored with size %u, "
				       "not the page size %u", pfn, size, ps);
		*state = PAGE_PRESENT;
		return bsrc_read(d->src, off, buf, ps);
	}
	const struct codec *c = codec_by_flag(codec_flags);
	if (!c)
		return err_new(ERR_FORMAT, "pfn 0x%" PRIx64 ": page flags 0x%x name more than one "
			       "compression", pfn, flags);
	if (!c->available)
		return err_new(ERR_FORMAT, "pfn 0x%" PRIx64 ": page is %s-compressed, which this "
			       "makedumpfile was built without", pfn, c->name);
	if (size >= ps)
		return err_new(ERR_FORMAT, "pfn 0x%" PRIx64 ": compressed size %u is not smaller "
			       "than the page", pfn, size);
	TRY(bsrc_read(d->src, off, kp->cbuf, size));
	if (!c->decompress(buf, ps, kp->cbuf, size))
		return err_new(ERR_FORMAT, "pfn 0x%" PRIx64 ": %s data at offset 0x%" PRIx64
			       " does not decompress to a page", pfn, c->name, off);
	*state = PAGE_PRESENT;
	return NULL;
lost:
	memset(buf, 0, ps);
	*state = PAGE_LOST;
	return NULL;
}

static err_t *kdump_saved_map(struct dump *d, uint64_t start, uint64_t n, uint8_t *map)
{
	struct kdump_priv *kp = d->priv;
	const struct kdump_info *ki = &d->kdump;
	uint64_t lim = start + n;
	if (lim > d->max_pfn)
		lim = d->max_pfn;
	uint8_t *page = NULL;
	if (kp->incomplete && !(page = malloc(d->page_size)))
		return err_new(ERR_NOMEM, "out of memory");
	err_t *e = NULL;
	const uint8_t *p = NULL;
	size_t avail = 0;
	uint64_t held = UINT64_MAX;      /* bitmap byte at p[0] */
	for (uint64_t pfn = start; pfn < lim; pfn++) {
		uint64_t byte = pfn >> 3;
		if (byte < held || byte >= held + avail) {
			if ((e = bm_at(d, &kp->bm2, byte, &p, &avail)))
				break;
			held = byte;
		}
		uint8_t b = p[byte - held];
		if ((pfn & 7) == 0 && pfn + 8 <= lim && !b) {
			pfn += 7;
			continue;
		}
		if (!(b >> (pfn & 7) & 1))
			continue;
		if (ki->split && (pfn < ki->start_pfn || pfn >= ki->end_pfn))
			continue;
		if (kp->incomplete) {
			/* Only pages whose descriptor was written are there. */
			enum page_state st;
			if ((e = kdump_read_page(d, pfn, page, &st)))
				break;
			held = UINT64_MAX;   /* reading may have moved the block */
			if (st != PAGE_PRESENT)
				continue;
		}
		map[(pfn - start) >> 3] |= (uint8_t)(1u << ((pfn - start) & 7));
	}
	free(page);
	return e;
}

static void kdump_close(struct dump *d)
{
	struct kdump_priv *kp = d->priv;
	if (!kp)
		return;
	free(kp->bm1.buf);
	free(kp->bm2.buf);
	free(kp->rank);
	free(kp->cbuf);
	free(kp->descs);
	free(kp);
}

const struct dump_reader reader_kdump = {
	.name = "kdump-compressed",
	.probe = kdump_probe,
	.open = kdump_open,
	.read_page = kdump_read_page,
	.saved_map = kdump_saved_map,
	.close = kdump_close,
};
