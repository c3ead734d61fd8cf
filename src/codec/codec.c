#include "codec.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../../diskdump_mod.h"

#ifdef HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif
#ifdef HAVE_LZO
#include <lzo/lzo1x.h>
#endif
#ifdef HAVE_SNAPPY
#include <snappy-c.h>
#endif
#ifdef HAVE_ZSTD
#include <zstd.h>
#endif

struct codec_ctx {
	const struct codec *codec;
	z_stream zs;             /* zlib: one deflate state, reset per page */
	bool zs_ready;
#ifdef HAVE_LIBDEFLATE
	struct libdeflate_compressor *ld;
#endif
	void *work;              /* lzo work memory */
	void *zctx;              /* zstd compression context */
};

/* ---- zlib: zlib-wrapped deflate, as readers call uncompress() ---- */

static size_t zlib_bound(size_t len) { return compressBound((uLong)len); }

static size_t zlib_compress(struct codec_ctx *c, void *dst, size_t cap, const void *src, size_t len)
{
#ifdef HAVE_LIBDEFLATE
	/* libdeflate writes the same zlib format (readers still call
	 * uncompress()) several times faster than zlib at level 1; given one
	 * byte less than the page, it fails exactly when the result would not
	 * be smaller. */
	if (c->ld) {
		size_t want = cap < len ? cap : len - 1;
		return libdeflate_zlib_compress(c->ld, src, len, dst, want);
	}
#endif
	/* compress2() would allocate and free the deflate state (a few hundred
	 * KiB) for every page; keep one and reset it instead. */
	z_stream *zs = &c->zs;
	if (deflateReset(zs) != Z_OK)
		return 0;
	zs->next_in = (Bytef *)src;
	zs->avail_in = (uInt)len;
	zs->next_out = dst;
	zs->avail_out = (uInt)cap;
	if (deflate(zs, Z_FINISH) != Z_STREAM_END || zs->total_out >= len)
		return 0;
	return zs->total_out;
}

static bool zlib_decompress(void *dst, size_t outlen, const void *src, size_t len)
{
	uLongf out = (uLongf)outlen;
	return uncompress(dst, &out, src, (uLong)len) == Z_OK && out == outlen;
}

static const struct codec codec_zlib = {
	.name = "zlib", .flag = DUMP_DH_COMPRESSED_ZLIB, .option = 'c', .available = true,
#ifdef HAVE_LIBDEFLATE
	.library = "libdeflate (zlib format)",
#else
	.library = "zlib " ZLIB_VERSION,
#endif
	.bound = zlib_bound, .compress = zlib_compress, .decompress = zlib_decompress,
};

/* ---- lzo1x_1 ---- */

#ifdef HAVE_LZO
static size_t lzo_bound(size_t len) { return len + len / 16 + 64 + 3; }

static size_t lzo_compress(struct codec_ctx *c, void *dst, size_t cap, const void *src, size_t len)
{
	lzo_uint out = cap;
	if (lzo1x_1_compress(src, len, dst, &out, c->work) != LZO_E_OK || out >= len)
		return 0;
	return out;
}

static bool lzo_decompress(void *dst, size_t outlen, const void *src, size_t len)
{
	lzo_uint out = outlen;
	return lzo1x_decompress_safe(src, len, dst, &out, NULL) == LZO_E_OK && out == outlen;
}
#endif

static const struct codec codec_lzo = {
	.name = "lzo", .flag = DUMP_DH_COMPRESSED_LZO, .option = 'l',
#ifdef HAVE_LZO
	.available = true, .library = "lzo2",
	.bound = lzo_bound, .compress = lzo_compress, .decompress = lzo_decompress,
#endif
};

/* ---- snappy: raw block format ---- */

#ifdef HAVE_SNAPPY
static size_t snappy_bound(size_t len) { return snappy_max_compressed_length(len); }

static size_t snappy_do_compress(struct codec_ctx *c, void *dst, size_t cap, const void *src,
				 size_t len)
{
	(void)c;
	size_t out = cap;
	if (snappy_compress(src, len, dst, &out) != SNAPPY_OK || out >= len)
		return 0;
	return out;
}

static bool snappy_do_decompress(void *dst, size_t outlen, const void *src, size_t len)
{
	size_t out;
	if (snappy_uncompressed_length(src, len, &out) != SNAPPY_OK || out != outlen)
		return false;
	return snappy_uncompress(src, len, dst, &out) == SNAPPY_OK && out == outlen;
}
#endif

static const struct codec codec_snappy = {
	.name = "snappy", .flag = DUMP_DH_COMPRESSED_SNAPPY, .option = 'p',
#ifdef HAVE_SNAPPY
	.available = true, .library = "snappy",
	.bound = snappy_bound, .compress = snappy_do_compress, .decompress = snappy_do_decompress,
#endif
};

/* ---- zstd: one frame per page ---- */

#ifdef HAVE_ZSTD
static size_t zstd_bound(size_t len) { return ZSTD_compressBound(len); }

static size_t zstd_compress(struct codec_ctx *c, void *dst, size_t cap, const void *src, size_t len)
{
	size_t out = ZSTD_compressCCtx(c->zctx, dst, cap, src, len, 1);
	if (ZSTD_isError(out) || out >= len)
		return 0;
	return out;
}

static bool zstd_decompress(void *dst, size_t outlen, const void *src, size_t len)
{
	size_t out = ZSTD_decompress(dst, outlen, src, len);
	return !ZSTD_isError(out) && out == outlen;
}
#endif

static const struct codec codec_zstd = {
	.name = "zstd", .flag = DUMP_DH_COMPRESSED_ZSTD, .option = 'z',
#ifdef HAVE_ZSTD
	.available = true, .library = "zstd",
	.bound = zstd_bound, .compress = zstd_compress, .decompress = zstd_decompress,
#endif
};

static const struct codec *const codecs[] = { &codec_zlib, &codec_lzo, &codec_snappy, &codec_zstd };
#define NCODECS (sizeof(codecs) / sizeof(codecs[0]))

const struct codec *const *codec_all(size_t *n)
{
	*n = NCODECS;
	return codecs;
}

const struct codec *codec_by_flag(uint32_t flag)
{
	for (size_t i = 0; i < NCODECS; i++)
		if (codecs[i]->flag == flag)
			return codecs[i];
	return NULL;
}

const struct codec *codec_by_name(const char *name)
{
	for (size_t i = 0; i < NCODECS; i++)
		if (strcmp(codecs[i]->name, name) == 0)
			return codecs[i];
	return NULL;
}

const struct codec *codec_by_option(char option)
{
	for (size_t i = 0; i < NCODECS; i++)
		if (codecs[i]->option == option)
			return codecs[i];
	return NULL;
}

err_t *codec_ctx_create(const struct codec *codec, struct codec_ctx **out)
{
	if (!codec->available)
		return err_new(ERR_USAGE, "%s compression is not built into this makedumpfile",
			       codec->name);
	struct codec_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return err_new(ERR_NOMEM, "out of memory");
	c->codec = codec;
	if (codec == &codec_zlib) {
		/* Level 1, as makedumpfile has always used: dumps are taken while
		 * a machine is down and speed matters more than the last percent. */
#ifdef HAVE_LIBDEFLATE
		if ((c->ld = libdeflate_alloc_compressor(1))) {
			*out = c;
			return NULL;
		}
#endif
		if (deflateInit(&c->zs, Z_BEST_SPEED) != Z_OK) {
			free(c);
			return err_new(ERR_NOMEM, "cannot set up zlib compression");
		}
		c->zs_ready = true;
	}
#ifdef HAVE_LZO
	if (codec == &codec_lzo) {
		static int lzo_ready;
		if (!lzo_ready && lzo_init() != LZO_E_OK) {
			free(c);
			return err_new(ERR_FAIL, "lzo_init failed");
		}
		lzo_ready = 1;
		c->work = malloc(LZO1X_1_MEM_COMPRESS);
	}
#endif
#ifdef HAVE_ZSTD
	if (codec == &codec_zstd)
		c->zctx = ZSTD_createCCtx();
#endif
	if ((codec == &codec_lzo && !c->work) || (codec == &codec_zstd && !c->zctx)) {
		codec_ctx_destroy(c);
		return err_new(ERR_NOMEM, "out of memory");
	}
	*out = c;
	return NULL;
}

void codec_ctx_destroy(struct codec_ctx *c)
{
	if (!c)
		return;
	if (c->zs_ready)
		deflateEnd(&c->zs);
#ifdef HAVE_LIBDEFLATE
	if (c->ld)
		libdeflate_free_compressor(c->ld);
#endif
#ifdef HAVE_ZSTD
	ZSTD_freeCCtx(c->zctx);
#endif
	free(c->work);
	free(c);
}
