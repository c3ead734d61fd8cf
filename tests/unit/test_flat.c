/* Flattened streams: the in-place index must read exactly what replaying
 * the records into a file gives, for random overlapping records. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../src/bytes.h"
#include "../../src/flat.h"
#include "../../src/input/bsrc.h"
#include "unit.h"

static uint32_t rng_state = 12345;
static uint32_t rnd(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return rng_state >> 8;
}

static int memfd_with(const void *buf, size_t len, char *path, size_t plen)
{
	int fd = memfd_create("flat", 0);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		return -1;
	snprintf(path, plen, "/proc/self/fd/%d", fd);
	return fd;
}

static void one_stream(int nrec, uint64_t span)
{
	size_t cap = FLAT_HEADER_SIZE + (size_t)nrec * (16 + 600) + 16;
	uint8_t *s = calloc(1, cap);
	uint8_t *replay = calloc(1, span + 600);
	uint64_t fsize = 0;
	memcpy(s, FLAT_SIGNATURE, sizeof(FLAT_SIGNATURE));
	put64(s + FLAT_SIG_LEN, FLAT_TYPE, true);
	put64(s + FLAT_SIG_LEN + 8, FLAT_VERSION, true);
	size_t pos = FLAT_HEADER_SIZE;
	for (int i = 0; i < nrec; i++) {
		uint64_t off = rnd() % span, len = rnd() % 600;
		put64(s + pos, off, true);
		put64(s + pos + 8, len, true);
		for (uint64_t k = 0; k < len; k++) {
			uint8_t b = (uint8_t)(rnd() | 1);
			s[pos + 16 + k] = b;
			replay[off + k] = b;
		}
		if (off + len > fsize)
			fsize = off + len;
		pos += 16 + len;
	}
	put64(s + pos, UINT64_MAX, true);
	put64(s + pos + 8, UINT64_MAX, true);
	pos += 16;

	char path[64];
	int fd = memfd_with(s, pos, path, sizeof(path));
	CHECK(fd >= 0);
	struct bsrc *b = NULL, *f = NULL;
	CHECK_OK(bsrc_file_open(path, &b));
	CHECK(bsrc_looks_flat(b));
	CHECK_OK(bsrc_flat_open(b, &f));
	if (f) {
		CHECK(f->size == fsize);
		uint8_t *got = malloc(fsize + 1);
		CHECK_OK(bsrc_read(f, 0, got, fsize));
		CHECK(memcmp(got, replay, fsize) == 0);
		/* Reads at odd places agree too. */
		for (int i = 0; i < 200 && fsize > 10; i++) {
			uint64_t o = rnd() % (fsize - 1), n = 1 + rnd() % (fsize - o);
			CHECK_OK(bsrc_read(f, o, got, n));
			CHECK(memcmp(got, replay + o, n) == 0);
		}
		CHECK_ERR(bsrc_read(f, fsize - 1, got, 2));
		free(got);
		bsrc_destroy(f);
	}
	close(fd);
	free(s);
	free(replay);
}

void test_flat_replay(void);
void test_flat_replay(void)
{
	one_stream(1, 1000);
	one_stream(10, 500);       /* dense overlaps */
	one_stream(300, 4000);
	one_stream(2000, 1u << 20);
}

void test_flat_truncated(void);
void test_flat_truncated(void)
{
	uint8_t s[FLAT_HEADER_SIZE + 16 + 8];
	memset(s, 0, sizeof(s));
	memcpy(s, FLAT_SIGNATURE, sizeof(FLAT_SIGNATURE));
	put64(s + FLAT_SIG_LEN, FLAT_TYPE, true);
	put64(s + FLAT_SIG_LEN + 8, FLAT_VERSION, true);
	put64(s + FLAT_HEADER_SIZE, 0, true);
	put64(s + FLAT_HEADER_SIZE + 8, 100, true);   /* claims 100 bytes, has 8 */
	char path[64];
	int fd = memfd_with(s, sizeof(s), path, sizeof(path));
	struct bsrc *b = NULL, *f = NULL;
	CHECK_OK(bsrc_file_open(path, &b));
	CHECK_ERR(bsrc_flat_open(b, &f));
	close(fd);
}
