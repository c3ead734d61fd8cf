#include "cpool.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../bytes.h"
#include "../codec/codec.h"

#define CHUNK 4                  /* pages a thread takes at a time */

struct batch {
	struct cslot *slots;
	int n, next, done;       /* pages; next to hand out; finished */
	unsigned long seq;       /* submission order */
	bool zero_check;
};

struct cpool {
	const struct codec *codec;
	uint32_t page_size;
	int nthreads, size;
	struct batch b[CPOOL_BATCHES];
	uint8_t *mem;
	size_t out_cap;
	struct codec_ctx **cc;   /* one per thread, the last one the caller's */
	/* An all-zero page, compressed once (or raw). */
	struct cslot zero_slot;
	pthread_mutex_t lock;
	pthread_cond_t work, done;
	unsigned long seq;
	bool quit;
	int started;
	pthread_t *threads;
};

/* ---- incompressible pages ---- */

/* c * log2(c) for the counts of one 4 KiB piece. */
#define EPIECE 4096
static float xlog2x[EPIECE + 1];
static pthread_once_t xlog2x_once = PTHREAD_ONCE_INIT;

static void xlog2x_init(void)
{
	for (int c = 1; c <= EPIECE; c++)
		xlog2x[c] = (float)(c * log2((double)c));
}

/* The byte entropy of 4096 random bytes is 7.955 bits on average (a finite
 * sample never shows the full 8); 2 KiB of random bytes written twice,
 * which deflate halves, show 7.91.  Above 7.93, measured on the pages of
 * a busy guest, no codec made a page smaller. */
#define ENTROPY_MIN 7.93

/* Byte counts of P[FROM, TO), in four tables (no store waits for the
 * one before). */
static void count_bytes(uint32_t h[4][256], const uint8_t *p, int from, int to)
{
	for (int i = from; i < to; i += 4) {
		h[0][p[i]]++;
		h[1][p[i + 1]]++;
		h[2][p[i + 2]]++;
		h[3][p[i + 3]]++;
	}
}

static bool piece_random(const uint8_t *p)
{
	uint32_t h[4][256];
	memset(h, 0, sizeof(h));
	/* The first KiB alone usually settles it: random bytes show about 251
	 * of the 256 values there, text and kernel data far fewer. */
	count_bytes(h, p, 0, 1024);
	int distinct = 0;
	for (int v = 0; v < 256; v++)
		distinct += (h[0][v] | h[1][v] | h[2][v] | h[3][v]) != 0;
	if (distinct < 224)
		return false;
	count_bytes(h, p, 1024, EPIECE);
	/* n * H = n log2 n - sum c log2 c */
	float sum = 0;
	for (int v = 0; v < 256; v++)
		sum += xlog2x[h[0][v] + h[1][v] + h[2][v] + h[3][v]];
	return sum <= (float)(EPIECE * (12.0 - ENTROPY_MIN));
}

bool page_looks_incompressible(const uint8_t *page, size_t len)
{
	if (len < EPIECE || len % EPIECE)
		return false;
	pthread_once(&xlog2x_once, xlog2x_init);
	for (size_t off = 0; off < len; off += EPIECE)
		if (!piece_random(page + off))
			return false;
	return true;
}

/* ---- the pool ---- */

static void do_page(struct cpool *p, struct codec_ctx *cc, struct cslot *s, bool zero_check)
{
	if (is_zero_page(s->page, p->page_size)) {
		if (zero_check) {
			s->kind = CSLOT_ZERO;
		} else {
			s->kind = p->zero_slot.kind;
			s->out = p->zero_slot.out;
			s->size = p->zero_slot.size;
		}
		return;
	}
	size_t c = 0;
	if (p->codec && !page_looks_incompressible(s->page, p->page_size))
		c = p->codec->compress(cc, s->buf, p->out_cap, s->page, p->page_size);
	s->kind = c ? CSLOT_COMPRESSED : CSLOT_RAW;
	s->out = c ? s->buf : s->page;
	s->size = c ? c : p->page_size;
}

/* With the lock held: the oldest submitted batch with pages to hand out. */
static struct batch *pending_batch(struct cpool *p)
{
	struct batch *best = NULL;
	for (int i = 0; i < CPOOL_BATCHES; i++)
		if (p->b[i].next < p->b[i].n && (!best || p->b[i].seq < best->seq))
			best = &p->b[i];
	return best;
}

/* With the lock held: do one chunk of B; the lock is dropped meanwhile. */
static void do_chunk(struct cpool *p, struct batch *b, struct codec_ctx *cc)
{
	int first = b->next, k = b->n - first < CHUNK ? b->n - first : CHUNK;
	bool zc = b->zero_check;
	b->next += k;
	pthread_mutex_unlock(&p->lock);
	for (int i = first; i < first + k; i++)
		do_page(p, cc, &b->slots[i], zc);
	pthread_mutex_lock(&p->lock);
	b->done += k;
	if (b->done == b->n)
		pthread_cond_broadcast(&p->done);
}

struct thread_arg {
	struct cpool *pool;
	int index;
};

static void *worker_main(void *arg)
{
	struct cpool *p = ((struct thread_arg *)arg)->pool;
	struct codec_ctx *cc = p->cc[((struct thread_arg *)arg)->index];
	free(arg);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct batch *b;
		while (!p->quit && !(b = pending_batch(p)))
			pthread_cond_wait(&p->work, &p->lock);
		if (p->quit)
			break;
		do_chunk(p, b, cc);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

err_t *cpool_create(const struct codec *codec, int nthreads, uint32_t page_size, int size,
		    struct cpool **out)
{
	struct cpool *p = calloc(1, sizeof(*p));
	if (!p)
		return err_new(ERR_NOMEM, "out of memory");
	if (nthreads < 1)
		nthreads = 1;
	p->codec = codec;
	p->page_size = page_size;
	p->nthreads = nthreads;
	p->size = size;
	p->out_cap = codec ? codec->bound(page_size) : 0;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	/* Pages and outputs start on cache lines (and 8-byte words). */
	size_t out_space = (p->out_cap + 63) / 64 * 64, per_slot = page_size + out_space;
	p->mem = aligned_alloc(64, ((size_t)CPOOL_BATCHES * size + 1) * per_slot);
	p->cc = calloc((size_t)nthreads + 1, sizeof(*p->cc));
	p->threads = calloc((size_t)nthreads, sizeof(*p->threads));
	err_t *e = NULL;
	if (!p->mem || !p->cc || !p->threads)
		e = err_new(ERR_NOMEM, "out of memory");
	uint8_t *m = p->mem;
	for (int b = 0; !e && b < CPOOL_BATCHES; b++) {
		if (!(p->b[b].slots = calloc((size_t)size, sizeof(struct cslot)))) {
			e = err_new(ERR_NOMEM, "out of memory");
			break;
		}
		/* a batch's pages one after the other, so that a run of them
		 * can be read with one call; then their outputs */
		for (int i = 0; i < size; i++) {
			p->b[b].slots[i].page = m + (size_t)i * page_size;
			p->b[b].slots[i].buf = m + (size_t)size * page_size + (size_t)i * out_space;
		}
		m += (size_t)size * per_slot;
	}
	for (int t = 0; !e && codec && t <= nthreads; t++)
		e = codec_ctx_create(codec, &p->cc[t]);
	if (!e) {
		/* The compressed zero page, for dumps that keep zero pages. */
		uint8_t *zero = m, *zout = m + page_size;
		memset(zero, 0, page_size);
		size_t c = codec ? codec->compress(p->cc[nthreads], zout, p->out_cap, zero,
						   page_size) : 0;
		p->zero_slot = (struct cslot){ .kind = c ? CSLOT_COMPRESSED : CSLOT_RAW,
					       .size = c ? c : page_size, .page = zero,
					       .out = c ? zout : zero };
	}
	/* One thread does the work in cpool_wait() itself. */
	for (int t = 0; !e && nthreads > 1 && t < nthreads; t++) {
		struct thread_arg *a = malloc(sizeof(*a));
		if (a) {
			a->pool = p;
			a->index = t;
		}
		if (!a || pthread_create(&p->threads[t], NULL, worker_main, a) != 0) {
			free(a);
			e = err_new(ERR_FAIL, "cannot start a compression thread");
			break;
		}
		p->started++;
	}
	if (e) {
		cpool_destroy(p);
		return e;
	}
	*out = p;
	return NULL;
}

void cpool_destroy(struct cpool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->quit = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (int t = 0; t < p->started; t++)
		pthread_join(p->threads[t], NULL);
	if (p->cc)
		for (int t = 0; t <= p->nthreads; t++)
			codec_ctx_destroy(p->cc[t]);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	for (int b = 0; b < CPOOL_BATCHES; b++)
		free(p->b[b].slots);
	free(p->threads);
	free(p->cc);
	free(p->mem);
	free(p);
}

const struct cslot *cpool_zero_slot(const struct cpool *p)
{
	return &p->zero_slot;
}

int cpool_batch(const struct cpool *p)
{
	return p->size;
}

struct cslot *cpool_slot(struct cpool *p, int b, int i)
{
	return &p->b[b].slots[i];
}

void cpool_submit(struct cpool *p, int b, int n, bool zero_check)
{
	struct batch *B = &p->b[b];
	pthread_mutex_lock(&p->lock);
	B->n = n;
	B->next = 0;
	B->done = 0;
	B->zero_check = zero_check;
	B->seq = ++p->seq;
	if (p->started)
		pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
}

void cpool_wait(struct cpool *p, int b)
{
	struct batch *B = &p->b[b];
	pthread_mutex_lock(&p->lock);
	while (B->next < B->n)
		do_chunk(p, B, p->cc[p->nthreads]);
	while (B->done < B->n)
		pthread_cond_wait(&p->done, &p->lock);
	/* Spent: nothing more to hand out until the next submit. */
	B->n = B->next = B->done = 0;
	pthread_mutex_unlock(&p->lock);
}
