/* Byte-order accessors: the dumped machine's byte order is a property of the
 * open dump, never of the host.  All reads go through these helpers so that
 * unaligned fields inside file buffers are safe. */
#ifndef MKDF_BYTES_H
#define MKDF_BYTES_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t get16(const void *p, bool be)
{
	const uint8_t *b = p;
	return be ? (uint16_t)(b[0] << 8 | b[1]) : (uint16_t)(b[1] << 8 | b[0]);
}

static inline uint32_t get32(const void *p, bool be)
{
	const uint8_t *b = p;
	return be ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]
		  : (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
}

static inline uint64_t get64(const void *p, bool be)
{
	const uint8_t *b = p;
	uint64_t hi = get32(b + (be ? 0 : 4), be), lo = get32(b + (be ? 4 : 0), be);
	return hi << 32 | lo;
}

static inline void put16(void *p, uint16_t v, bool be)
{
	uint8_t *b = p;
	b[be ? 0 : 1] = (uint8_t)(v >> 8);
	b[be ? 1 : 0] = (uint8_t)v;
}

static inline void put32(void *p, uint32_t v, bool be)
{
	uint8_t *b = p;
	for (int i = 0; i < 4; i++)
		b[be ? 3 - i : i] = (uint8_t)(v >> (8 * i));
}

static inline void put64(void *p, uint64_t v, bool be)
{
	uint8_t *b = p;
	for (int i = 0; i < 8; i++)
		b[be ? 7 - i : i] = (uint8_t)(v >> (8 * i));
}

/* Word-size aware access: 4- or 8-byte target longs. */
static inline uint64_t get_word(const void *p, int wordsize, bool be)
{
	return wordsize == 8 ? get64(p, be) : get32(p, be);
}

static inline void put_word(void *p, uint64_t v, int wordsize, bool be)
{
	if (wordsize == 8)
		put64(p, v, be);
	else
		put32(p, (uint32_t)v, be);
}

static inline bool is_zero_page(const void *p, size_t len)
{
	const uint64_t *w = p;
	for (size_t i = 0; i < len / 8; i += 4)
		if (w[i] | w[i + 1] | w[i + 2] | w[i + 3])
			return false;
	return true;
}

static inline uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }
/* No intermediate sum: safe up to UINT64_MAX. */
static inline uint64_t div_up(uint64_t v, uint64_t d) { return v / d + (v % d != 0); }

/* a + b with overflow detection: false when the sum wraps. */
static inline bool add_ok(uint64_t a, uint64_t b, uint64_t *sum)
{
	return !__builtin_add_overflow(a, b, sum);
}

#endif
