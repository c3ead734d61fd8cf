#include "bsrc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../bytes.h"
#include "../flat.h"

err_t *bsrc_read(struct bsrc *b, uint64_t off, void *buf, size_t len)
{
	uint64_t end;
	if (!add_ok(off, len, &end) || end > b->size)
		return err_new(ERR_FORMAT, "'%s': read of %zu bytes at offset 0x%" PRIx64
			       " goes past the end of the file (size 0x%" PRIx64 ")",
			       b->name, len, off, b->size);
	return b->read(b, off, buf, len);
}

uint64_t bsrc_hole_run(struct bsrc *b, uint64_t off, uint64_t max, bool *hole)
{
	*hole = false;
	if (!max)
		return 0;
	if (!b->hole_run || off >= b->size)
		return max;
	if (max > b->size - off)
		max = b->size - off;
	return b->hole_run(b, off, max, hole);
}

void bsrc_destroy(struct bsrc *b)
{
	if (b)
		b->destroy(b);
}

/* ---- plain files: pread through a read-ahead window ---- */

#define WINDOW_SIZE (1u << 20)
#define WINDOW_MAX_REQ (64u << 10) /* larger reads bypass the window */

struct file_src {
	struct bsrc b;
	int fd;
	uint8_t *win;
	uint64_t win_off;
	size_t win_len;
	/* the last extent found by SEEK_DATA / SEEK_HOLE */
	uint64_t ext_start, ext_end;
	bool ext_hole;
};

static err_t *pread_full(int fd, const char *name, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err_errno(errno, "cannot read '%s' at offset 0x%" PRIx64, name, off);
		}
		if (n == 0)
			return err_new(ERR_FORMAT, "'%s': unexpected end of file at offset 0x%" PRIx64,
				       name, off);
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return NULL;
}

static err_t *file_read(struct bsrc *b, uint64_t off, void *buf, size_t len)
{
	struct file_src *f = (struct file_src *)b;
	if (len > WINDOW_MAX_REQ)
		return pread_full(f->fd, b->name, off, buf, len);
	if (off < f->win_off || off + len > f->win_off + f->win_len) {
		uint64_t start = off & ~(uint64_t)4095;
		size_t want = WINDOW_SIZE;
		if (start + want > b->size)
			want = (size_t)(b->size - start);
		f->win_len = 0;
		TRY(pread_full(f->fd, b->name, start, f->win, want));
		f->win_off = start;
		f->win_len = want;
	}
	memcpy(buf, f->win + (off - f->win_off), len);
	return NULL;
}

/* One lseek() per extent met, not per page: a dense file is one extent. */
static uint64_t file_hole_run(struct bsrc *b, uint64_t off, uint64_t max, bool *hole)
{
	struct file_src *f = (struct file_src *)b;
	if (off < f->ext_start || off >= f->ext_end) {
		off_t data = lseek(f->fd, (off_t)off, SEEK_DATA);
		if (data < 0 && errno == ENXIO) {
			f->ext_start = off;           /* a hole up to the end */
			f->ext_end = b->size;
			f->ext_hole = true;
		} else if (data < 0) {
			f->ext_start = 0;             /* no hole information */
			f->ext_end = b->size;
			f->ext_hole = false;
		} else if ((uint64_t)data > off) {
			f->ext_start = off;
			f->ext_end = (uint64_t)data;
			f->ext_hole = true;
		} else {
			off_t h = lseek(f->fd, (off_t)off, SEEK_HOLE);
			f->ext_start = off;
			f->ext_end = h > data ? (uint64_t)h : b->size;
			f->ext_hole = false;
		}
	}
	*hole = f->ext_hole;
	uint64_t n = f->ext_end - off;
	return n < max ? n : max;
}

static void file_destroy(struct bsrc *b)
{
	struct file_src *f = (struct file_src *)b;
	close(f->fd);
	free(f->win);
	free(b->name);
	free(f);
}

err_t *bsrc_file_open(const char *path, struct bsrc **out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(errno, "cannot open '%s'", path);
	struct stat st;
	if (fstat(fd, &st) < 0) {
		err_t *e = err_errno(errno, "cannot stat '%s'", path);
		close(fd);
		return e;
	}
	uint64_t size = (uint64_t)st.st_size;
	if (!S_ISREG(st.st_mode)) {
		/* /proc/vmcore is a regular file; block devices report size 0. */
		off_t end = lseek(fd, 0, SEEK_END);
		if (end <= 0) {
			close(fd);
			return err_new(ERR_FORMAT, "'%s' is not a seekable file", path);
		}
		size = (uint64_t)end;
	}
	struct file_src *f = calloc(1, sizeof(*f));
	uint8_t *win = malloc(WINDOW_SIZE);
	char *name = strdup(path);
	if (!f || !win || !name) {
		free(f);
		free(win);
		free(name);
		close(fd);
		return err_new(ERR_NOMEM, "out of memory");
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	f->fd = fd;
	f->win = win;
	f->b.name = name;
	f->b.size = size;
	f->b.read = file_read;
	f->b.destroy = file_destroy;
	if (S_ISREG(st.st_mode))
		f->b.hole_run = file_hole_run;
	*out = &f->b;
	return NULL;
}

/* ---- flattened streams, indexed once ---- */

struct flat_rec {
	uint64_t dst, len, src;  /* bytes [dst, dst+len) of the file are at src */
	uint64_t seq;            /* record order: a later record wins */
};

/* Bytes of the rearranged file that no record needs to write, beyond as
 * many as the records do write. */
#define FLAT_MAX_UNWRITTEN (64u << 20)

struct flat_src {
	struct bsrc b;
	struct bsrc *inner;
	struct flat_rec *seg;    /* non-overlapping, sorted by dst */
	size_t nseg;
};

bool bsrc_looks_flat(struct bsrc *b)
{
	uint8_t hdr[FLAT_SIG_LEN];
	if (b->size < FLAT_HEADER_SIZE)
		return false;
	err_t *e = bsrc_read(b, 0, hdr, sizeof(hdr));
	if (e) {
		err_free(e);
		return false;
	}
	return memcmp(hdr, FLAT_SIGNATURE, sizeof(FLAT_SIGNATURE)) == 0;
}

static err_t *flat_read(struct bsrc *b, uint64_t off, void *buf, size_t len)
{
	struct flat_src *f = (struct flat_src *)b;
	uint8_t *p = buf;
	/* First segment that ends after OFF. */
	size_t lo = 0, hi = f->nseg;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->seg[mid].dst + f->seg[mid].len <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (len) {
		const struct flat_rec *s = lo < f->nseg ? &f->seg[lo] : NULL;
		if (!s || s->dst > off) {
			/* A gap nobody wrote reads as zeros, as in the rearranged file. */
			uint64_t gap = s ? s->dst - off : len;
			size_t n = gap < len ? (size_t)gap : len;
			memset(p, 0, n);
			p += n, off += n, len -= n;
			continue;
		}
		uint64_t in = off - s->dst, avail = s->len - in;
		size_t n = avail < len ? (size_t)avail : len;
		TRY(f->inner->read(f->inner, s->src + in, p, n));
		p += n, off += n, len -= n;
		lo++;
	}
	return NULL;
}

static void flat_destroy(struct bsrc *b)
{
	struct flat_src *f = (struct flat_src *)b;
	bsrc_destroy(f->inner);
	free(f->seg);
	free(b->name);
	free(f);
}

static int cmp_dst(const void *a, const void *b)
{
	const struct flat_rec *x = a, *y = b;
	if (x->dst != y->dst)
		return x->dst < y->dst ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Max-heap of record pointers keyed by seq: the active record that wins. */
static void heap_push(struct flat_rec **h, size_t *n, struct flat_rec *r)
{
	size_t i = (*n)++;
	while (i && h[(i - 1) / 2]->seq < r->seq) {
		h[i] = h[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h[i] = r;
}

static void heap_pop(struct flat_rec **h, size_t *n)
{
	struct flat_rec *last = h[--*n];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= *n)
			break;
		if (c + 1 < *n && h[c + 1]->seq > h[c]->seq)
			c++;
		if (h[c]->seq <= last->seq)
			break;
		h[i] = h[c];
		i = c;
	}
	if (*n)
		h[i] = last;
}

/* Turn records, which may overlap (a later record wins, as when the stream
 * is replayed into a file), into sorted non-overlapping segments: sweep the
 * record boundaries keeping the active records in a heap by record order. */
static err_t *flat_resolve(struct flat_rec *rec, size_t n, struct flat_rec **out, size_t *nout)
{
	if (n)   /* REC is NULL for a stream of no records */
		qsort(rec, n, sizeof(*rec), cmp_dst);
	uint64_t *bound = malloc((2 * n + 1) * sizeof(*bound));
	struct flat_rec **heap = malloc((n + 1) * sizeof(*heap));
	struct flat_rec *seg = malloc((2 * n + 1) * sizeof(*seg));
	if (!bound || !heap || !seg) {
		free(bound), free(heap), free(seg);
		return err_new(ERR_NOMEM, "out of memory");
	}
	size_t nb = 0;
	for (size_t i = 0; i < n; i++) {
		bound[nb++] = rec[i].dst;
		bound[nb++] = rec[i].dst + rec[i].len;
	}
	qsort(bound, nb, sizeof(*bound), cmp_u64);
	size_t nh = 0, m = 0, next = 0;
	for (size_t i = 0; i + 1 < nb; i++) {
		uint64_t lo = bound[i], hi = bound[i + 1];
		if (lo == hi)
			continue;
		while (next < n && rec[next].dst <= lo)
			heap_push(heap, &nh, &rec[next++]);
		while (nh && heap[0]->dst + heap[0]->len <= lo)
			heap_pop(heap, &nh);
		/* Records that ended but are not on top stay until they surface;
		 * the top is always checked, which is all that matters. */
		if (!nh)
			continue;
		struct flat_rec *w = heap[0];
		uint64_t src = w->src + (lo - w->dst);
		if (m && seg[m - 1].seq == w->seq && seg[m - 1].dst + seg[m - 1].len == lo) {
			seg[m - 1].len += hi - lo;
		} else {
			seg[m++] = (struct flat_rec){ lo, hi - lo, src, w->seq };
		}
	}
	free(bound);
	free(heap);
	*out = seg;
	*nout = m;
	return NULL;
}

err_t *bsrc_flat_open(struct bsrc *inner, struct bsrc **out)
{
	err_t *e = NULL;
	struct flat_rec *rec = NULL;
	size_t n = 0, cap = 0;
	uint8_t hdr[FLAT_HEADER_SIZE];
	e = bsrc_read(inner, 0, hdr, sizeof(hdr));
	if (e)
		goto fail;
	if (memcmp(hdr, FLAT_SIGNATURE, sizeof(FLAT_SIGNATURE)) != 0) {
		e = err_new(ERR_FORMAT, "'%s' is not a flattened dump", inner->name);
		goto fail;
	}
	uint64_t type = get64(hdr + FLAT_SIG_LEN, true), version = get64(hdr + FLAT_SIG_LEN + 8, true);
	if (type != FLAT_TYPE || version != FLAT_VERSION) {
		e = err_new(ERR_FORMAT, "'%s': flattened stream of unknown type %" PRIu64
			    " version %" PRIu64, inner->name, type, version);
		goto fail;
	}
	uint64_t pos = FLAT_HEADER_SIZE, fsize = 0;
	bool ended = false;
	while (pos + 16 <= inner->size) {
		uint8_t rh[16];
		e = bsrc_read(inner, pos, rh, sizeof(rh));
		if (e)
			goto fail;
		int64_t off = (int64_t)get64(rh, true), len = (int64_t)get64(rh + 8, true);
		if (off == -1 && len == -1) {
			ended = true;
			break;
		}
		uint64_t end;
		if (off < 0 || len < 0 || !add_ok((uint64_t)off, (uint64_t)len, &end) ||
		    (uint64_t)len > inner->size - pos - 16) {
			e = err_new(ERR_FORMAT, "'%s': flattened record at offset 0x%" PRIx64
				    " has a bad offset 0x%" PRIx64 " or size 0x%" PRIx64,
				    inner->name, pos, (uint64_t)off, (uint64_t)len);
			goto fail;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			struct flat_rec *nr = realloc(rec, cap * sizeof(*rec));
			if (!nr) {
				e = err_new(ERR_NOMEM, "out of memory");
				goto fail;
			}
			rec = nr;
		}
		rec[n] = (struct flat_rec){ (uint64_t)off, (uint64_t)len, pos + 16, n };
		n++;
		if (end > fsize)
			fsize = end;
		pos += 16 + (uint64_t)len;
	}
	if (!ended) {
		e = err_new(ERR_FORMAT, "'%s': flattened stream is truncated at offset 0x%" PRIx64
			    " (no end marker)", inner->name, pos);
		goto fail;
	}
	struct flat_src *f = calloc(1, sizeof(*f));
	if (!f || !(f->b.name = strdup(inner->name))) {
		free(f);
		e = err_new(ERR_NOMEM, "out of memory");
		goto fail;
	}
	e = flat_resolve(rec, n, &f->seg, &f->nseg);
	/* Writers leave only small gaps (header padding), and readers size
	 * their tables by the file: a few records placed far apart must not
	 * make a huge, almost empty file. */
	uint64_t written = 0;
	for (size_t i = 0; !e && i < f->nseg; i++)
		written += f->seg[i].len;
	if (!e && fsize - written > written + FLAT_MAX_UNWRITTEN)
		e = err_new(ERR_FORMAT, "'%s': flattened stream writes only 0x%" PRIx64 " of the 0x%"
			    PRIx64 " bytes of its file", inner->name, written, fsize);
	if (e) {
		free(f->seg);
		free(f->b.name);
		free(f);
		goto fail;
	}
	free(rec);
	f->inner = inner;
	f->b.size = fsize;
	f->b.flattened = true;
	f->b.read = flat_read;
	f->b.destroy = flat_destroy;
	*out = &f->b;
	return NULL;
fail:
	free(rec);
	bsrc_destroy(inner);
	return e;
}
