/* libFuzzer target for the input readers.  The same source is built once per
 * reader with -DFUZZ_FORMAT=elf|kdump|flat; each build forces the bytes that
 * route the input to its reader, so the fuzzer spends its time inside it:
 *
 *   elf    the first 4 bytes become "\x7fELF"
 *   kdump  the first 8 bytes become "KDUMP   "
 *   flat   the input is the record stream: a valid 4 KiB flattened header
 *          (signature, type 1, version 1) is put in front of it
 *
 * The result goes into a memfd and is opened by path like any dump.  When it
 * opens, pages at both ends of the pfn range are read and the saved/RAM maps
 * of those windows are asked for, all of it bounded so that one input stays
 * fast whatever the header claims. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "src/dump.h"
#include "src/flat.h"

#define FMT_elf 1
#define FMT_kdump 2
#define FMT_flat 3
#define FMT_(x) FMT_##x
#define FMT(x) FMT_(x)

#ifndef FUZZ_FORMAT
#error "build with -DFUZZ_FORMAT=elf, kdump or flat"
#endif
#define FORMAT FMT(FUZZ_FORMAT)
#if FORMAT != FMT_elf && FORMAT != FMT_kdump && FORMAT != FMT_flat
#error "FUZZ_FORMAT must be elf, kdump or flat"
#endif

#define MAX_PAGES 4096              /* pages read from each end of the range */
#define MAX_READ_BYTES (64u << 20)  /* page data touched per input */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd = -1;
static char path[64];

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Put the input into the memfd the way this target wants it. */
static int stage(const uint8_t *data, size_t size)
{
	if (ftruncate(memfd, 0) < 0 || lseek(memfd, 0, SEEK_SET) < 0)
		return -1;
#if FORMAT == FMT_flat
	static uint8_t hdr[FLAT_HEADER_SIZE];
	memcpy(hdr, FLAT_SIGNATURE, sizeof(FLAT_SIGNATURE));
	hdr[FLAT_SIG_LEN + 7] = FLAT_TYPE;       /* big-endian i64 */
	hdr[FLAT_SIG_LEN + 15] = FLAT_VERSION;
	if (write_all(memfd, hdr, sizeof(hdr)) < 0)
		return -1;
	return write_all(memfd, data, size);
#else
#if FORMAT == FMT_elf
	static const char magic[] = "\x7f" "ELF";
#else
	static const char magic[] = "KDUMP   ";
#endif
	size_t m = sizeof(magic) - 1;
	if (write_all(memfd, magic, m) < 0)
		return -1;
	return size > m ? write_all(memfd, data + m, size - m) : 0;
#endif
}

static void drop(err_t *e)
{
	if (e) {
		/* Touch the message so that a bad format string or a dangling
		 * name in it shows up under the sanitizers. */
		volatile size_t n = strlen(err_msg(e));
		(void)n;
		err_free(e);
	}
}

static void read_window(struct dump *d, uint8_t *page, uint64_t start, uint64_t n)
{
	for (uint64_t pfn = start; pfn < start + n; pfn++) {
		enum page_state st;
		drop(dump_read_page(d, pfn, page, &st));
	}
	uint8_t *map = calloc(1, n / 8 + 1);
	if (!map)
		return;
	drop(dump_saved_map(d, start, n, map));
	memset(map, 0, n / 8 + 1);
	dump_ram_map(d, start, n, map);
	free(map);
}

static void exercise(struct dump *d)
{
	char desc[128];
	dump_describe(d, desc, sizeof(desc));
	uint64_t cap = MAX_READ_BYTES / d->page_size;
	if (cap > MAX_PAGES)
		cap = MAX_PAGES;
	uint64_t n = d->max_pfn < cap ? d->max_pfn : cap;
	uint8_t *page = malloc(d->page_size);
	if (!page)
		return;
	read_window(d, page, 0, n);
	/* The top of the range, and one page past it. */
	uint64_t tail = d->max_pfn < 16 ? d->max_pfn : 16;
	if (d->max_pfn > n)
		read_window(d, page, d->max_pfn - tail, tail + 1);
	free(page);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (memfd < 0) {
		memfd = memfd_create("fuzz-dump", MFD_CLOEXEC);
		if (memfd < 0) {
			perror("memfd_create");
			abort();
		}
		snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	}
	if (stage(data, size) < 0) {
		perror("memfd write");
		abort();
	}
	struct dump *d;
	err_t *e = dump_open(path, &d);
	if (e) {
		drop(e);
		return 0;
	}
	exercise(d);
	dump_close(d);
	return 0;
}
