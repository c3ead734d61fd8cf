/* Parallel page compression: the caller fills a batch of pages, the pool's
 * threads (the caller among them) zero-check and compress them, and the
 * caller writes the results in order.  Each page is compressed on its own,
 * so the output is the same bytes whatever the number of threads. */
#ifndef MKDF_CPOOL_H
#define MKDF_CPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../err.h"

struct codec;
struct cpool;

enum cslot_kind { CSLOT_ZERO, CSLOT_COMPRESSED, CSLOT_RAW };

struct cslot {
	enum cslot_kind kind;
	size_t size;             /* compressed size (CSLOT_COMPRESSED) */
	uint8_t *page;           /* input, filled by the caller */
	uint8_t *out;            /* compressed data */
};

/* CODEC may be NULL (pages stored raw).  NTHREADS >= 1. */
err_t *cpool_create(const struct codec *codec, int nthreads, uint32_t page_size, int batch,
		    struct cpool **out);
void cpool_destroy(struct cpool *p);

struct cslot *cpool_slot(struct cpool *p, int i);
int cpool_batch(const struct cpool *p);

/* Zero-check (when ZERO_CHECK) and compress slots [0, N). */
void cpool_run(struct cpool *p, int n, bool zero_check);

#endif
