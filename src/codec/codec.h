/* Per-page compression codecs behind one table.  Only codec.c knows which
 * codecs were built in (the Makefile decides). */
#ifndef MKDF_CODEC_H
#define MKDF_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../err.h"

struct codec_ctx;

struct codec {
	const char *name;        /* "zlib", "lzo", "snappy", "zstd" */
	uint32_t flag;           /* DUMP_DH_COMPRESSED_* */
	char option;             /* command line letter */
	bool available;          /* built in */
	const char *library;     /* implementation in use, for -v */
	/* Worst-case output size for LEN input bytes. */
	size_t (*bound)(size_t len);
	/* Compress SRC into DST (capacity CAP); returns the size, or 0 when the
	 * result would not be smaller than LEN (the caller stores it raw). */
	size_t (*compress)(struct codec_ctx *c, void *dst, size_t cap, const void *src, size_t len);
	/* Decompress exactly OUTLEN bytes; false on any corruption. */
	bool (*decompress)(void *dst, size_t outlen, const void *src, size_t len);
};

const struct codec *codec_by_flag(uint32_t flag);
const struct codec *codec_by_name(const char *name);
const struct codec *codec_by_option(char option);
const struct codec *const *codec_all(size_t *n);

/* Per-thread compression state (work memory, contexts). */
err_t *codec_ctx_create(const struct codec *codec, struct codec_ctx **out);
void codec_ctx_destroy(struct codec_ctx *c);

#endif
