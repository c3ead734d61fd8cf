/*
 * elf2classic - rewrite an ELF vmcore into the classic /proc/vmcore layout.
 *
 *   elf2classic [-v] [--align N] IN OUT
 *
 * Output layout:
 *   ELF header (e_ehsize = 64 or 52)
 *   program headers, right after the ELF header (e_phoff = e_ehsize)
 *   section header 0 only when the count needs PN_XNUM (sh_info = count)
 *   data of every segment that is not PT_LOAD (PT_NOTE), in header order
 *   data of every PT_LOAD (p_filesz bytes), in header order, each placed so
 *   that p_offset and p_paddr are congruent modulo --align (default 4096;
 *   skipped bytes are left as holes)
 *
 * Only p_offset changes in the program headers; a segment without file data
 * (p_filesz 0, e.g. p_offset -1 for a filtered range) gets the current
 * output offset. Section headers of the input are dropped. ELF32 and ELF64
 * in either byte order are accepted. Every offset is checked against the
 * input size before anything is written.
 *
 * Data is copied with copy_file_range(), falling back to sendfile() and then
 * to pread()/pwrite() with a large buffer. The environment variable
 * ELF2CLASSIC_COPY=sendfile or =rw starts at a later method (for testing
 * the fallbacks).
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_BUF_SIZE (16u << 20)
#define PT_LOAD_TYPE 1u
#define ET_CORE_TYPE 4u
#define PN_XNUM_VALUE 0xffffu

struct phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
	uint64_t new_offset;
};

struct elf {
	bool is64, be;
	unsigned char ident[16];
	uint16_t type, machine;
	uint32_t version, flags;
	uint64_t entry;
	uint64_t phnum;
	struct phdr *ph;
};

static const char *progname = "elf2classic";
static const char *out_path;
static bool out_created;
static int verbose;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2),
						      noreturn));

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (out_created)
		unlink(out_path);
	exit(1);
}

static void usage(FILE *fp)
{
	fprintf(fp,
"Usage: %s [options] IN OUT\n"
"\n"
"Copy the ELF vmcore IN (ELF32 or ELF64, either byte order; any header\n"
"placement, e.g. QEMU dump-guest-memory's section-headers-first layout with\n"
"e_ehsize 8) to OUT in the classic kdump layout: ELF header, program headers\n"
"right after it, note data, then each PT_LOAD's p_filesz bytes. Only p_offset\n"
"is rewritten; section headers are dropped except section 0 when the\n"
"program header count needs PN_XNUM.\n"
"\n"
"Options:\n"
"  --align N   place PT_LOAD data so that p_offset %% N == p_paddr %% N\n"
"              (power of two, default 4096; 1 packs the data)\n"
"  -v          print the layout that was written\n"
"  -h, --help  this text\n"
"\n"
"Exit: 0 on success, 1 on bad input or an I/O error (OUT is removed).\n",
		progname);
}

/* ---------------------------------------------------------------------- */
/* byte order helpers */

static uint64_t get(const struct elf *e, const unsigned char *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[e->be ? i : n - 1 - i] << (8 * (n - 1 - i));
	return v;
}

static void put(const struct elf *e, unsigned char *p, unsigned n, uint64_t v)
{
	for (unsigned i = 0; i < n; i++)
		p[e->be ? n - 1 - i : i] = (unsigned char)(v >> (8 * i));
}

/* ---------------------------------------------------------------------- */
/* input */

static void pread_full(int fd, void *buf, size_t len, uint64_t pos,
		       const char *what)
{
	unsigned char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)pos);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fail("read %s: %s", what, strerror(errno));
		}
		if (n == 0)
			fail("read %s: unexpected end of file", what);
		p += n;
		len -= (size_t)n;
		pos += (uint64_t)n;
	}
}

/* Does [off, off + len) lie inside a file of fsize bytes? */
static bool in_file(uint64_t off, uint64_t len, uint64_t fsize)
{
	return off <= fsize && len <= fsize - off;
}

static void parse(int fd, uint64_t fsize, struct elf *e)
{
	unsigned char eh[64];
	uint64_t phoff, shoff, phentsize, shentsize, shnum, tabsize;
	unsigned ehsize, phsize, shsize;
	unsigned char *tab;

	if (fsize < 52)
		fail("input too small for an ELF header (%" PRIu64 " bytes)",
		     fsize);
	pread_full(fd, eh, fsize < 64 ? 52 : 64, 0, "ELF header");
	if (memcmp(eh, "\177ELF", 4) != 0)
		fail("input is not an ELF file");
	if (eh[4] != 1 && eh[4] != 2)
		fail("bad ELF class %u", eh[4]);
	if (eh[5] != 1 && eh[5] != 2)
		fail("bad ELF data encoding %u", eh[5]);
	if (eh[6] != 1)
		fail("bad ELF ident version %u", eh[6]);
	e->is64 = eh[4] == 2;
	e->be = eh[5] == 2;
	ehsize = e->is64 ? 64 : 52;
	phsize = e->is64 ? 56 : 32;
	shsize = e->is64 ? 64 : 40;
	if (fsize < ehsize)
		fail("input too small for an ELF%u header",
		     e->is64 ? 64u : 32u);
	memcpy(e->ident, eh, 16);
	e->type = (uint16_t)get(e, eh + 16, 2);
	e->machine = (uint16_t)get(e, eh + 18, 2);
	e->version = (uint32_t)get(e, eh + 20, 4);
	if (e->is64) {
		e->entry = get(e, eh + 24, 8);
		phoff = get(e, eh + 32, 8);
		shoff = get(e, eh + 40, 8);
		e->flags = (uint32_t)get(e, eh + 48, 4);
		phentsize = get(e, eh + 54, 2);
		e->phnum = get(e, eh + 56, 2);
		shentsize = get(e, eh + 58, 2);
		shnum = get(e, eh + 60, 2);
	} else {
		e->entry = get(e, eh + 24, 4);
		phoff = get(e, eh + 28, 4);
		shoff = get(e, eh + 32, 4);
		e->flags = (uint32_t)get(e, eh + 36, 4);
		phentsize = get(e, eh + 42, 2);
		e->phnum = get(e, eh + 44, 2);
		shentsize = get(e, eh + 46, 2);
		shnum = get(e, eh + 48, 2);
	}
	/* e_ehsize is not checked: QEMU 7.2 writes 8 there. */
	if (e->type != ET_CORE_TYPE)
		fail("e_type is %u, not ET_CORE", e->type);
	if (phentsize != phsize)
		fail("e_phentsize is %" PRIu64 ", expected %u", phentsize,
		     phsize);

	if (e->phnum == PN_XNUM_VALUE) {
		unsigned char sh[64];

		if (shoff == 0)
			fail("e_phnum is PN_XNUM but there are no section "
			     "headers");
		if (shentsize < shsize)
			fail("e_shentsize %" PRIu64 " too small", shentsize);
		if (!in_file(shoff, shsize, fsize))
			fail("section header 0 at 0x%" PRIx64 " is beyond the "
			     "end of the file", shoff);
		pread_full(fd, sh, shsize, shoff, "section header 0");
		e->phnum = get(e, sh + (e->is64 ? 44 : 28), 4);
		if (e->phnum < PN_XNUM_VALUE)
			fail("PN_XNUM with sh_info %" PRIu64 " below 0xffff",
			     e->phnum);
	} else if (shnum && shoff && !in_file(shoff, shnum * shentsize,
					      fsize)) {
		fail("section headers beyond the end of the file");
	}
	if (e->phnum == 0)
		fail("no program headers");
	tabsize = e->phnum * phsize;
	if (!in_file(phoff, tabsize, fsize))
		fail("program headers (0x%" PRIx64 " + %" PRIu64 " x %u) are "
		     "beyond the end of the file (%" PRIu64 " bytes)", phoff,
		     e->phnum, phsize, fsize);

	tab = malloc(tabsize);
	e->ph = calloc(e->phnum, sizeof *e->ph);
	if (!tab || !e->ph)
		fail("out of memory");
	pread_full(fd, tab, tabsize, phoff, "program headers");

	uint64_t loads = 0;
	for (uint64_t i = 0; i < e->phnum; i++) {
		const unsigned char *p = tab + i * phsize;
		struct phdr *h = &e->ph[i];

		h->type = (uint32_t)get(e, p, 4);
		if (e->is64) {
			h->flags = (uint32_t)get(e, p + 4, 4);
			h->offset = get(e, p + 8, 8);
			h->vaddr = get(e, p + 16, 8);
			h->paddr = get(e, p + 24, 8);
			h->filesz = get(e, p + 32, 8);
			h->memsz = get(e, p + 40, 8);
			h->align = get(e, p + 48, 8);
		} else {
			h->offset = get(e, p + 4, 4);
			h->vaddr = get(e, p + 8, 4);
			h->paddr = get(e, p + 12, 4);
			h->filesz = get(e, p + 16, 4);
			h->memsz = get(e, p + 20, 4);
			h->flags = (uint32_t)get(e, p + 24, 4);
			h->align = get(e, p + 28, 4);
		}
		if (h->filesz && !in_file(h->offset, h->filesz, fsize))
			fail("program header %" PRIu64 " (type %" PRIu32 "): "
			     "data 0x%" PRIx64 " + 0x%" PRIx64 " is beyond the "
			     "end of the file (%" PRIu64 " bytes)", i, h->type,
			     h->offset, h->filesz, fsize);
		if (h->type == PT_LOAD_TYPE)
			loads++;
	}
	free(tab);
	if (!loads)
		fail("no PT_LOAD program header");
}

/* ---------------------------------------------------------------------- */
/* output */

static void pwrite_full(int fd, const void *buf, size_t len, uint64_t pos)
{
	const unsigned char *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)pos);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fail("write %s: %s", out_path, strerror(errno));
		}
		p += n;
		len -= (size_t)n;
		pos += (uint64_t)n;
	}
}

enum copy_method { COPY_RANGE, COPY_SENDFILE, COPY_RW };
static enum copy_method method = COPY_RANGE;
static unsigned char *copy_buf;

static bool fallback_errno(int err)
{
	return err == EXDEV || err == ENOSYS || err == EINVAL ||
	       err == EOPNOTSUPP || err == EBADF || err == ETXTBSY ||
	       err == EPERM;
}

/* Copy len bytes from in at src to out at dst. */
static void copy_range(int in, uint64_t src, int out, uint64_t dst,
		       uint64_t len)
{
	while (len && method == COPY_RANGE) {
		loff_t ioff = (loff_t)src, ooff = (loff_t)dst;
		size_t chunk = len > (1u << 30) ? (1u << 30) : (size_t)len;
		ssize_t n = copy_file_range(in, &ioff, out, &ooff, chunk, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && fallback_errno(errno)) {
			method = COPY_SENDFILE;
			break;
		}
		if (n < 0)
			fail("copy_file_range: %s", strerror(errno));
		if (n == 0)
			fail("input shrank while copying");
		src += (uint64_t)n;
		dst += (uint64_t)n;
		len -= (uint64_t)n;
	}
	if (len && method == COPY_SENDFILE) {
		if (lseek(out, (off_t)dst, SEEK_SET) < 0)
			fail("seek %s: %s", out_path, strerror(errno));
		while (len) {
			off_t ioff = (off_t)src;
			size_t chunk = len > (1u << 30) ? (1u << 30)
							: (size_t)len;
			ssize_t n = sendfile(out, in, &ioff, chunk);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && fallback_errno(errno)) {
				method = COPY_RW;
				break;
			}
			if (n < 0)
				fail("sendfile: %s", strerror(errno));
			if (n == 0)
				fail("input shrank while copying");
			src += (uint64_t)n;
			dst += (uint64_t)n;
			len -= (uint64_t)n;
		}
	}
	if (len && !copy_buf) {
		copy_buf = malloc(COPY_BUF_SIZE);
		if (!copy_buf)
			fail("out of memory");
	}
	while (len) {
		size_t chunk = len > COPY_BUF_SIZE ? COPY_BUF_SIZE
						   : (size_t)len;

		pread_full(in, copy_buf, chunk, src, "segment data");
		pwrite_full(out, copy_buf, chunk, dst);
		src += chunk;
		dst += chunk;
		len -= chunk;
	}
}

static const char *method_name(void)
{
	switch (method) {
	case COPY_RANGE: return "copy_file_range";
	case COPY_SENDFILE: return "sendfile";
	default: return "read/write";
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "align", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct elf e;
	struct stat ist, ost;
	uint64_t align = 4096, pos, tab_off, sh_off = 0, data_size = 0;
	unsigned ehsize, phsize, shsize;
	bool xnum;
	unsigned char *hdr;
	size_t hdr_size;
	int opt, in, out;

	while ((opt = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'a': {
			char *end;

			errno = 0;
			align = strtoull(optarg, &end, 0);
			if (errno || *end || end == optarg || align == 0 ||
			    (align & (align - 1)) || align > (1u << 30)) {
				fprintf(stderr, "%s: bad --align '%s'\n",
					progname, optarg);
				return 1;
			}
			break;
		}
		case 'v': verbose++; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return 1;
	}
	out_path = argv[optind + 1];
	{
		const char *m = getenv("ELF2CLASSIC_COPY");

		if (m && strcmp(m, "sendfile") == 0)
			method = COPY_SENDFILE;
		else if (m && strcmp(m, "rw") == 0)
			method = COPY_RW;
	}

	in = open(argv[optind], O_RDONLY);
	if (in < 0)
		fail("%s: %s", argv[optind], strerror(errno));
	if (fstat(in, &ist) != 0)
		fail("%s: %s", argv[optind], strerror(errno));
	if (!S_ISREG(ist.st_mode))
		fail("%s: not a regular file", argv[optind]);
	if (stat(out_path, &ost) == 0 && ost.st_dev == ist.st_dev &&
	    ost.st_ino == ist.st_ino)
		fail("IN and OUT are the same file");

	memset(&e, 0, sizeof e);
	parse(in, (uint64_t)ist.st_size, &e);

	/* layout */
	ehsize = e.is64 ? 64 : 52;
	phsize = e.is64 ? 56 : 32;
	shsize = e.is64 ? 64 : 40;
	xnum = e.phnum >= PN_XNUM_VALUE;
	if (!e.is64 && e.phnum > UINT32_MAX / phsize)
		fail("too many program headers for ELF32");
	tab_off = ehsize;
	pos = tab_off + e.phnum * phsize;
	if (xnum) {
		sh_off = pos;
		pos += shsize;
	}
	hdr_size = (size_t)pos;
	for (uint64_t i = 0; i < e.phnum; i++) {
		struct phdr *h = &e.ph[i];

		if (h->type == PT_LOAD_TYPE)
			continue;
		h->new_offset = pos;
		pos += h->filesz;
		data_size += h->filesz;
	}
	for (uint64_t i = 0; i < e.phnum; i++) {
		struct phdr *h = &e.ph[i];
		uint64_t want;

		if (h->type != PT_LOAD_TYPE)
			continue;
		if (h->filesz) {
			want = h->paddr & (align - 1);
			pos += (want - (pos & (align - 1))) & (align - 1);
		}
		h->new_offset = pos;
		if (pos + h->filesz < pos)
			fail("output size overflows");
		pos += h->filesz;
		data_size += h->filesz;
	}
	if (!e.is64 && pos > UINT32_MAX)
		fail("output would exceed 4 GiB, too large for ELF32");

	/* headers */
	hdr = calloc(1, hdr_size);
	if (!hdr)
		fail("out of memory");
	memcpy(hdr, e.ident, 16);
	put(&e, hdr + 16, 2, e.type);
	put(&e, hdr + 18, 2, e.machine);
	put(&e, hdr + 20, 4, e.version);
	if (e.is64) {
		put(&e, hdr + 24, 8, e.entry);
		put(&e, hdr + 32, 8, tab_off);
		put(&e, hdr + 40, 8, sh_off);
		put(&e, hdr + 48, 4, e.flags);
		put(&e, hdr + 52, 2, ehsize);
		put(&e, hdr + 54, 2, phsize);
		put(&e, hdr + 56, 2, xnum ? PN_XNUM_VALUE : e.phnum);
		put(&e, hdr + 58, 2, xnum ? shsize : 0);
		put(&e, hdr + 60, 2, xnum ? 1 : 0);
		put(&e, hdr + 62, 2, 0);
	} else {
		put(&e, hdr + 24, 4, e.entry);
		put(&e, hdr + 28, 4, tab_off);
		put(&e, hdr + 32, 4, sh_off);
		put(&e, hdr + 36, 4, e.flags);
		put(&e, hdr + 40, 2, ehsize);
		put(&e, hdr + 42, 2, phsize);
		put(&e, hdr + 44, 2, xnum ? PN_XNUM_VALUE : e.phnum);
		put(&e, hdr + 46, 2, xnum ? shsize : 0);
		put(&e, hdr + 48, 2, xnum ? 1 : 0);
		put(&e, hdr + 50, 2, 0);
	}
	for (uint64_t i = 0; i < e.phnum; i++) {
		unsigned char *p = hdr + tab_off + i * phsize;
		const struct phdr *h = &e.ph[i];

		put(&e, p, 4, h->type);
		if (e.is64) {
			put(&e, p + 4, 4, h->flags);
			put(&e, p + 8, 8, h->new_offset);
			put(&e, p + 16, 8, h->vaddr);
			put(&e, p + 24, 8, h->paddr);
			put(&e, p + 32, 8, h->filesz);
			put(&e, p + 40, 8, h->memsz);
			put(&e, p + 48, 8, h->align);
		} else {
			put(&e, p + 4, 4, h->new_offset);
			put(&e, p + 8, 4, h->vaddr);
			put(&e, p + 12, 4, h->paddr);
			put(&e, p + 16, 4, h->filesz);
			put(&e, p + 20, 4, h->memsz);
			put(&e, p + 24, 4, h->flags);
			put(&e, p + 28, 4, h->align);
		}
	}
	if (xnum)	/* section 0: SHT_NULL, sh_info = program header count */
		put(&e, hdr + sh_off + (e.is64 ? 44 : 28), 4, e.phnum);

	/* write */
	out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0)
		fail("%s: %s", out_path, strerror(errno));
	out_created = true;
	pwrite_full(out, hdr, hdr_size, 0);
	for (uint64_t i = 0; i < e.phnum; i++)
		if (e.ph[i].type != PT_LOAD_TYPE && e.ph[i].filesz)
			copy_range(in, e.ph[i].offset, out, e.ph[i].new_offset,
				   e.ph[i].filesz);
	for (uint64_t i = 0; i < e.phnum; i++)
		if (e.ph[i].type == PT_LOAD_TYPE && e.ph[i].filesz)
			copy_range(in, e.ph[i].offset, out, e.ph[i].new_offset,
				   e.ph[i].filesz);
	if (ftruncate(out, (off_t)pos) != 0)
		fail("truncate %s: %s", out_path, strerror(errno));
	if (close(out) != 0)
		fail("close %s: %s", out_path, strerror(errno));
	close(in);

	if (verbose) {
		uint64_t loads = 0;

		for (uint64_t i = 0; i < e.phnum; i++)
			loads += e.ph[i].type == PT_LOAD_TYPE;
		printf("%s: ELF%u %s-endian, %" PRIu64 " program headers (%"
		       PRIu64 " PT_LOAD)%s, %" PRIu64 " bytes of segment data,"
		       " output %" PRIu64 " bytes, copied with %s\n", out_path,
		       e.is64 ? 64u : 32u, e.be ? "big" : "little", e.phnum,
		       loads, xnum ? ", PN_XNUM" : "", data_size, pos,
		       method_name());
		if (verbose > 1)
			for (uint64_t i = 0; i < e.phnum; i++)
				printf("  [%" PRIu64 "] type %" PRIu32
				       " offset 0x%" PRIx64 " -> 0x%" PRIx64
				       " paddr 0x%" PRIx64 " filesz 0x%" PRIx64
				       " memsz 0x%" PRIx64 "\n", i,
				       e.ph[i].type, e.ph[i].offset,
				       e.ph[i].new_offset, e.ph[i].paddr,
				       e.ph[i].filesz, e.ph[i].memsz);
	}
	free(hdr);
	free(e.ph);
	free(copy_buf);
	return 0;
}
