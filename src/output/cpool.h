/* Parallel page compression.  The caller owns CPOOL_BATCHES batches of page
 * slots: while the pool's threads zero-check and compress some, the caller
 * writes out the oldest and reads the next.  Each page is compressed
 * on its own, so the output is the same bytes whatever the number of
 * threads. */
#ifndef MKDF_CPOOL_H
#define MKDF_CPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../err.h"

struct codec;
struct cpool;

enum cslot_kind {
	CSLOT_ZERO,              /* all zero; only with zero_check */
	CSLOT_COMPRESSED,        /* out[0..size) */
	CSLOT_RAW,               /* stored as it is */
};

struct cslot {
	enum cslot_kind kind;
	size_t size;             /* bytes at out (not for CSLOT_ZERO) */
	uint8_t *page;           /* input, filled by the caller */
	const uint8_t *out;      /* what to write: compressed data, or the page */
	uint8_t *buf;            /* the slot's own output buffer */
};

#define CPOOL_BATCHES 3

/* CODEC may be NULL (pages stored raw).  NTHREADS >= 1: with 1 the caller
 * does the work itself when it waits for a batch. */
err_t *cpool_create(const struct codec *codec, int nthreads, uint32_t page_size, int batch,
		    struct cpool **out);
void cpool_destroy(struct cpool *p);

int cpool_batch(const struct cpool *p);
/* What an all-zero page becomes without the zero check (compressed or
 * raw), for pages known to be zero without reading them. */
const struct cslot *cpool_zero_slot(const struct cpool *p);
/* Slot I of batch B; the pages of a batch's slots lie one after the other. */
struct cslot *cpool_slot(struct cpool *p, int b, int i);

/* Hand batch B's slots [0, N) to the threads.  With ZERO_CHECK, all-zero
 * pages become CSLOT_ZERO; without it they are compressed like any page
 * (from a copy made once, as the result is always the same). */
void cpool_submit(struct cpool *p, int b, int n, bool zero_check);
/* Wait until batch B is done (the caller helps with it meanwhile). */
void cpool_wait(struct cpool *p, int b);

/* True when PAGE's bytes look so random that no codec would make it
 * smaller: its byte entropy is close to 8 bits.  Such pages are stored
 * raw without trying. */
bool page_looks_incompressible(const uint8_t *page, size_t len);

#endif
