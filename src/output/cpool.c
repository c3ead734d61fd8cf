#include "cpool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../bytes.h"
#include "../codec/codec.h"

struct worker {
	struct cpool *pool;
	int index;
	pthread_t thread;
	struct codec_ctx *cc;
};

struct cpool {
	const struct codec *codec;
	uint32_t page_size;
	int nthreads, batch;
	struct cslot *slots;
	uint8_t *pages, *outs;
	size_t out_cap;
	struct worker *w;       /* w[0] is the caller */
	pthread_mutex_t lock;
	pthread_cond_t go, done;
	unsigned long generation;
	int n, pending;
	bool zero_check, quit;
	int started;            /* worker threads running */
};

static void work(struct cpool *p, struct worker *w, int n, bool zero_check)
{
	for (int i = w->index; i < n; i += p->nthreads) {
		struct cslot *s = &p->slots[i];
		if (zero_check && is_zero_page(s->page, p->page_size)) {
			s->kind = CSLOT_ZERO;
			continue;
		}
		size_t c = p->codec ? p->codec->compress(w->cc, s->out, p->out_cap, s->page,
							 p->page_size) : 0;
		s->kind = c ? CSLOT_COMPRESSED : CSLOT_RAW;
		s->size = c;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct cpool *p = w->pool;
	unsigned long seen = 0;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->quit && p->generation == seen)
			pthread_cond_wait(&p->go, &p->lock);
		if (p->quit)
			break;
		seen = p->generation;
		int n = p->n;
		bool zc = p->zero_check;
		pthread_mutex_unlock(&p->lock);
		work(p, w, n, zc);
		pthread_mutex_lock(&p->lock);
		if (--p->pending == 0)
			pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

err_t *cpool_create(const struct codec *codec, int nthreads, uint32_t page_size, int batch,
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
	p->batch = batch;
	p->out_cap = codec ? codec->bound(page_size) : 0;
	p->slots = calloc((size_t)batch, sizeof(*p->slots));
	p->pages = malloc((size_t)batch * page_size);
	p->outs = codec ? malloc((size_t)batch * p->out_cap) : NULL;
	p->w = calloc((size_t)nthreads, sizeof(*p->w));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->go, NULL);
	pthread_cond_init(&p->done, NULL);
	err_t *e = NULL;
	if (!p->slots || !p->pages || (codec && !p->outs) || !p->w)
		e = err_new(ERR_NOMEM, "out of memory");
	for (int i = 0; !e && i < batch; i++) {
		p->slots[i].page = p->pages + (size_t)i * page_size;
		p->slots[i].out = codec ? p->outs + (size_t)i * p->out_cap : NULL;
	}
	for (int t = 0; !e && t < nthreads; t++) {
		p->w[t].pool = p;
		p->w[t].index = t;
		if (codec)
			e = codec_ctx_create(codec, &p->w[t].cc);
	}
	for (int t = 1; !e && t < nthreads; t++) {
		if (pthread_create(&p->w[t].thread, NULL, worker_main, &p->w[t]) != 0)
			e = err_new(ERR_FAIL, "cannot start a compression thread");
		else
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
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->lock);
	for (int t = 1; t <= p->started; t++)
		pthread_join(p->w[t].thread, NULL);
	if (p->w)
		for (int t = 0; t < p->nthreads; t++)
			codec_ctx_destroy(p->w[t].cc);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->go);
	pthread_cond_destroy(&p->done);
	free(p->w);
	free(p->slots);
	free(p->pages);
	free(p->outs);
	free(p);
}

struct cslot *cpool_slot(struct cpool *p, int i)
{
	return &p->slots[i];
}

int cpool_batch(const struct cpool *p)
{
	return p->batch;
}

void cpool_run(struct cpool *p, int n, bool zero_check)
{
	if (p->started == 0) {
		work(p, &p->w[0], n, zero_check);
		return;
	}
	pthread_mutex_lock(&p->lock);
	p->n = n;
	p->zero_check = zero_check;
	p->pending = p->started;
	p->generation++;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->lock);
	work(p, &p->w[0], n, zero_check);
	pthread_mutex_lock(&p->lock);
	while (p->pending)
		pthread_cond_wait(&p->done, &p->lock);
	pthread_mutex_unlock(&p->lock);
}
