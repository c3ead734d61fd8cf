/* Byte sources: random-access reads of an input file, whether it is a plain
 * file or a makedumpfile flattened stream indexed in place.  Format readers
 * sit on top of a byte source and never know which one they have. */
#ifndef MKDF_BSRC_H
#define MKDF_BSRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../err.h"

struct bsrc {
	char *name;        /* for messages */
	uint64_t size;     /* readable size in bytes */
	bool flattened;    /* content comes from a flattened stream */
	err_t *(*read)(struct bsrc *b, uint64_t off, void *buf, size_t len);
	/* Optional: the length of the run from OFF (at most MAX bytes) that is
	 * all a hole of the file (*HOLE true: reads as zeros, costs no disk)
	 * or not known to be one (*HOLE false). */
	uint64_t (*hole_run)(struct bsrc *b, uint64_t off, uint64_t max, bool *hole);
	void (*destroy)(struct bsrc *b);
};

/* Open PATH for reading through a read-ahead window. */
err_t *bsrc_file_open(const char *path, struct bsrc **out);

/* True when the first bytes of B are a flattened-stream header. */
bool bsrc_looks_flat(struct bsrc *b);

/* Index the records of the flattened stream in INNER once and present the
 * rearranged file.  Takes ownership of INNER (also on failure). */
err_t *bsrc_flat_open(struct bsrc *inner, struct bsrc **out);

/* Read exactly LEN bytes at OFF; an error names the file and the offset. */
err_t *bsrc_read(struct bsrc *b, uint64_t off, void *buf, size_t len);

/* b->hole_run, or "no hole" when the source cannot tell. */
uint64_t bsrc_hole_run(struct bsrc *b, uint64_t off, uint64_t max, bool *hole);

void bsrc_destroy(struct bsrc *b);

#endif
