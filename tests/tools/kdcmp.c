/*
 * kdcmp - compare the guest-physical pages of two crash dumps through
 * libkdumpfile, or list the page frames a dump contains.
 *
 *   kdcmp [options] REFERENCE CANDIDATE
 *   kdcmp --pages-only [options] DUMP
 *
 * Every page frame number from 0 up to the larger max_pfn of the two files
 * (except the skipped ones, see below) is read with kdump_read(KDUMP_MACHPHYSADDR) from both files and put in
 * one class:
 *
 *   equal      present in both, same bytes
 *   differ     present in both, different bytes (always a failure)
 *   ref-only   present in REFERENCE only (failure unless allowed)
 *   cand-only  present in CANDIDATE only (failure when the page is not
 *              all zero, unless allowed)
 *   error      a read failed with something other than "no data"
 *              (always a failure)
 *
 * A page is "present" when kdump_read() returns the whole page; a page that
 * libkdumpfile reports as KDUMP_ERR_NODATA (hole, excluded, filtered, out of
 * range) is absent.
 *
 * For ELF files the PT_LOAD headers are read here as well and a pfn counts
 * as present only if p_paddr .. p_paddr + p_filesz of some PT_LOAD overlaps
 * it: libkdumpfile 0.5.1 also returns a zero-filled page for the pfn just
 * below the start of each PT_LOAD (--raw-elf turns this off).
 *
 * pfns that neither file can have (outside the ELF runs, or clear in
 * libkdumpfile's file.pagemap bitmap) are skipped without a read; reading
 * a missing pfn of a kdump-compressed file costs libkdumpfile several
 * microseconds, which adds up over a 4 GiB physical address range.
 * --no-pagemap reads every pfn instead.
 *
 * libkdumpfile 0.5.1 does not recognise the makedumpfile flattened format,
 * so a flattened file is first rebuilt into an unlinked temporary file
 * (in $TMPDIR, default /tmp) by replaying its records, and that file is
 * handed to libkdumpfile.
 *
 * Exit status: 0 match, 1 mismatch, 2 usage error or unreadable file.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libkdumpfile/kdumpfile.h>

#define EXIT_MATCH 0
#define EXIT_MISMATCH 1
#define EXIT_TROUBLE 2

/* makedumpfile flattened stream: 4096-byte header, then {offset, size}
 * big-endian records each followed by size bytes of data. */
#define FLAT_HEADER_SIZE 4096
#define FLAT_SIGNATURE "makedumpfile"
#define FLAT_BUF_SIZE (8u << 20)

struct dump {
	const char *label;      /* "ref", "cand" or "dump" */
	const char *path;
	int fd;                 /* descriptor handed to libkdumpfile */
	kdump_ctx_t *ctx;
	kdump_num_t max_pfn;
	kdump_num_t page_size;
	const char *format;
	const char *description;
	const char *arch;
	bool flattened;
	bool is_elf;
	bool mmapped;
	uint64_t flat_records;
	/* ELF files: pfn runs [start, end) covered by PT_LOAD file data */
	struct pfn_run *runs;
	size_t nruns;
	size_t run_cursor;
	uint64_t elf_loads;
	/* libkdumpfile's file.pagemap, used to skip pfns that are absent */
	kdump_bmp_t *pagemap;
	uint64_t next_hint;     /* no present pfn in [last query, next_hint) */
	bool hint_valid;
	uint64_t present;
	uint64_t present_zero;
};

struct pfn_run {
	uint64_t start, end;
};

enum page_state { PAGE_ABSENT, PAGE_PRESENT, PAGE_ERROR };

struct options {
	bool allow_missing;
	bool allow_missing_zero;
	bool allow_extra;
	bool strict_extra;
	bool pages_only;
	bool no_ranges;
	bool no_unflatten;
	bool raw_elf;
	bool no_pagemap;
	enum { MMAP_AUTO, MMAP_ALWAYS, MMAP_NEVER } mmap;
	int verbose;
	unsigned max_report;
	const char *kept_path;
	const char *ostype;
	uint64_t below;          /* compare only pfns below this (0 = all) */
	bool ref_errors_missing; /* a ref page that cannot be read counts as absent */
	bool cand_errors_missing; /* the same for CANDIDATE (lost pages of an incomplete dump) */
	uint64_t page_size;      /* for files that do not say (ELF without VMCOREINFO) */
};

static const char *progname = "kdcmp";

/* File being opened or read, named when libkdumpfile crashes on it. */
static const char *volatile crash_path;

static void write_str(const char *str)
{
	size_t len = strlen(str);

	while (len) {
		ssize_t n = write(STDERR_FILENO, str, len);
		if (n <= 0)
			return;
		str += n;
		len -= (size_t)n;
	}
}

static void crash_handler(int sig)
{
	write_str("kdcmp: fatal signal ");
	write_str(sig == SIGBUS ? "SIGBUS" : sig == SIGSEGV ? "SIGSEGV"
					   : "SIGFPE");
	write_str(" inside libkdumpfile or kdcmp");
	if (crash_path) {
		write_str(" while handling ");
		write_str(crash_path);
	}
	write_str(" (corrupt or truncated file?)\n");
	_exit(EXIT_TROUBLE);
}

static void install_crash_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = crash_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
}

static void die(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

static void die(int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

static void usage(FILE *fp)
{
	fprintf(fp,
"Usage: %s [options] REFERENCE CANDIDATE\n"
"       %s --pages-only [options] DUMP\n"
"\n"
"Compare every guest-physical page of two dump files (any format that\n"
"libkdumpfile reads: ELF, kdump-compressed, and here also the makedumpfile\n"
"flattened format) page frame by page frame.\n"
"\n"
"Page classes: equal, differ (present in both, bytes differ), ref-only,\n"
"cand-only, error (a read failed with something other than \"no data\").\n"
"\n"
"Options:\n"
"  --allow-missing-zero  a page present only in REFERENCE is accepted when\n"
"                        it is all zero (e.g. zero pages dropped by dump\n"
"                        level 1)\n"
"  --allow-missing       any page present only in REFERENCE is accepted\n"
"                        (CANDIDATE was filtered)\n"
"  --allow-extra         any page present only in CANDIDATE is accepted\n"
"                        (default: accepted only when all zero)\n"
"  --strict-extra        an all-zero page present only in CANDIDATE is a\n"
"                        failure too\n"
"  --kept FILE           write the page frames present in CANDIDATE (the only\n"
"                        file with --pages-only) to FILE, '-' = stdout\n"
"  --no-ranges           in the --kept list write one pfn per line instead of\n"
"                        collapsing runs into START-END\n"
"  --pages-only          one file: list its present page frames (to --kept\n"
"                        FILE, else stdout) and print its page counts\n"
"  --max-report N        print at most N failing pfns (default 10, 0 = none)\n"
"  --ostype NAME         set libkdumpfile's addrxlat.ostype (not needed for\n"
"                        physical reads)\n"
"  --mmap                let libkdumpfile mmap(2) every file (faster; a\n"
"                        truncated file then ends in SIGBUS, reported as\n"
"                        exit 2); default: mmap for ELF files, whose\n"
"                        segments are checked against the file size first,\n"
"                        read(2) for other formats\n"
"  --no-mmap             read(2) for every file\n"
"  --no-unflatten        do not rebuild flattened files; fail on them\n"
"  --raw-elf             do not use the PT_LOAD headers of ELF files to decide\n"
"                        presence (by default a pfn of an ELF file counts as\n"
"                        present only when PT_LOAD file data overlaps it,\n"
"                        because libkdumpfile 0.5.1 also returns a zero page\n"
"                        for the pfn right before each PT_LOAD; with\n"
"                        --no-pagemap those pfns then show up)\n"
"  --below PFN           compare only page frames below PFN\n"
"  --ref-errors-missing  a REFERENCE page that cannot be read (lost in an\n"
"                        incomplete dump) counts as absent, not as an error\n"
"  --cand-errors-missing the same for CANDIDATE\n"
"  --page-size N         page size for files that do not record one (ELF\n"
"                        vmcores of some architectures without VMCOREINFO)\n"
"  --no-pagemap          try every pfn below max_pfn; by default pfns that\n"
"                        neither file has (per the PT_LOAD headers of an ELF\n"
"                        file, else libkdumpfile's file.pagemap) are skipped\n"
"  -v, --verbose         print what libkdumpfile detected for each file and\n"
"                        the elapsed time; twice: also list accepted pfns\n"
"  -h, --help            this text\n"
"\n"
"Output: a summary line\n"
"  pages: ref=N cand=N equal=N differ=N ref-only=N (zero=N) cand-only=N (zero=N) errors=N\n"
"then the first failing pfns and a final 'result: OK' or 'result: MISMATCH'.\n"
"With --pages-only: 'pages: present=N (zero=N) max_pfn=N'.\n"
"The --kept list holds lowercase hex pfns with 0x, ranges inclusive\n"
"('0x100-0x1ff'), in ascending order.\n"
"\n"
"Exit: 0 match, 1 mismatch, 2 usage error or a file that cannot be opened.\n",
		progname, progname);
}

/* ---------------------------------------------------------------------- */
/* Flattened format */

static uint64_t get_be64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static bool is_flattened(int fd)
{
	unsigned char hdr[32];
	ssize_t n = pread(fd, hdr, sizeof hdr, 0);

	if (n != (ssize_t)sizeof hdr)
		return false;
	if (memcmp(hdr, FLAT_SIGNATURE, sizeof FLAT_SIGNATURE - 1) != 0)
		return false;
	for (size_t i = sizeof FLAT_SIGNATURE - 1; i < 16; i++)
		if (hdr[i] != 0)
			return false;
	return true;
}

static void read_full(int fd, void *buf, size_t len, off_t pos,
		      const char *path, const char *what)
{
	unsigned char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, pos);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die(EXIT_TROUBLE, "%s: read %s: %s", path, what,
			    strerror(errno));
		}
		if (n == 0)
			die(EXIT_TROUBLE, "%s: flattened: truncated %s at "
			    "offset %jd", path, what, (intmax_t)pos);
		p += n;
		len -= (size_t)n;
		pos += n;
	}
}

static void write_full(int fd, const void *buf, size_t len, off_t pos)
{
	const unsigned char *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, pos);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die(EXIT_TROUBLE, "write temporary file: %s",
			    strerror(errno));
		}
		p += n;
		len -= (size_t)n;
		pos += n;
	}
}

/*
 * Replay the records of a flattened file into an unlinked temporary file
 * and return its descriptor. Consecutive records that continue each other
 * are gathered in one buffer and written with one pwrite().
 */
static int unflatten(struct dump *d, int in)
{
	const char *dir = getenv("TMPDIR");
	char tmpl[4096];
	unsigned char hdr[FLAT_HEADER_SIZE];
	unsigned char rec[16];
	unsigned char *buf;
	size_t buffered = 0;
	off_t buf_start = 0;
	off_t pos = FLAT_HEADER_SIZE;
	struct stat st;
	int out;

	if (fstat(in, &st) != 0)
		die(EXIT_TROUBLE, "%s: stat: %s", d->path, strerror(errno));
	read_full(in, hdr, sizeof hdr, 0, d->path, "header");
	if (get_be64(hdr + 16) != 1 || get_be64(hdr + 24) != 1)
		die(EXIT_TROUBLE, "%s: flattened: unsupported type %" PRIu64
		    " / version %" PRIu64, d->path, get_be64(hdr + 16),
		    get_be64(hdr + 24));

	if (!dir || !*dir)
		dir = "/tmp";
	if ((size_t)snprintf(tmpl, sizeof tmpl, "%s/kdcmp-XXXXXX", dir)
	    >= sizeof tmpl)
		die(EXIT_TROUBLE, "TMPDIR too long");
	out = mkstemp(tmpl);
	if (out < 0)
		die(EXIT_TROUBLE, "%s: %s", tmpl, strerror(errno));
	unlink(tmpl);

	buf = malloc(FLAT_BUF_SIZE);
	if (!buf)
		die(EXIT_TROUBLE, "out of memory");

	for (;;) {
		uint64_t off, size;

		read_full(in, rec, sizeof rec, pos, d->path, "record header");
		pos += (off_t)sizeof rec;
		off = get_be64(rec);
		size = get_be64(rec + 8);
		if (off == UINT64_MAX && size == UINT64_MAX)
			break;
		if (size <= INT64_MAX && size > (uint64_t)(st.st_size - pos))
			die(EXIT_TROUBLE, "%s: flattened: file ends inside the "
			    "record at offset %jd (needs 0x%" PRIx64 " bytes, "
			    "0x%jx left)", d->path,
			    (intmax_t)(pos - (off_t)sizeof rec), size,
			    (intmax_t)(st.st_size - pos));
		if (off > INT64_MAX || size > INT64_MAX ||
		    off + size > (uint64_t)INT64_MAX)
			die(EXIT_TROUBLE, "%s: flattened: bad record at offset "
			    "%jd (offset 0x%" PRIx64 ", size 0x%" PRIx64 ")",
			    d->path, (intmax_t)(pos - (off_t)sizeof rec),
			    off, size);
		d->flat_records++;

		if (buffered && (off_t)off != buf_start + (off_t)buffered) {
			write_full(out, buf, buffered, buf_start);
			buffered = 0;
		}
		while (size) {
			size_t chunk;

			if (buffered == FLAT_BUF_SIZE) {
				write_full(out, buf, buffered, buf_start);
				buffered = 0;
			}
			if (!buffered)
				buf_start = (off_t)off;
			chunk = FLAT_BUF_SIZE - buffered;
			if (chunk > size)
				chunk = (size_t)size;
			read_full(in, buf + buffered, chunk, pos, d->path,
				  "record data");
			buffered += chunk;
			pos += (off_t)chunk;
			off += chunk;
			size -= chunk;
		}
	}
	if (buffered)
		write_full(out, buf, buffered, buf_start);
	free(buf);
	return out;
}

/* ---------------------------------------------------------------------- */
/* ELF program headers (presence mask for ELF files) */

struct elf_reader {
	const unsigned char *id;
	bool be;
};

static uint64_t elf_get(const struct elf_reader *r, const unsigned char *p,
			unsigned size)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)p[r->be ? i : size - 1 - i] << (8 * (size - 1 - i));
	return v;
}

static int cmp_run(const void *a, const void *b)
{
	const struct pfn_run *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * Check the program headers of an ELF file (every segment's file data must
 * lie inside the file: libkdumpfile zero-fills or, with mmap, crashes on
 * data beyond the end) and keep the byte ranges p_paddr .. p_paddr +
 * p_filesz of the PT_LOADs in d->runs. Returns false if fd is not ELF.
 */
static bool check_elf(struct dump *d)
{
	unsigned char eh[64], sh[64], *ph;
	struct elf_reader r;
	struct stat st;
	bool is64;
	uint64_t phoff, shoff, phnum, phentsize, shentsize, size;
	size_t n = 0;

	if (fstat(d->fd, &st) != 0)
		die(EXIT_TROUBLE, "%s: stat: %s", d->path, strerror(errno));
	if (pread(d->fd, eh, sizeof eh, 0) < 4 || memcmp(eh, "\177ELF", 4))
		return false;
	if (st.st_size < 52)
		die(EXIT_TROUBLE, "%s: truncated ELF header", d->path);
	if ((eh[4] != 1 && eh[4] != 2) || (eh[5] != 1 && eh[5] != 2))
		die(EXIT_TROUBLE, "%s: bad ELF class/data", d->path);
	is64 = eh[4] == 2;
	r.id = eh;
	r.be = eh[5] == 2;
	if (is64) {
		phoff = elf_get(&r, eh + 32, 8);
		shoff = elf_get(&r, eh + 40, 8);
		phentsize = elf_get(&r, eh + 54, 2);
		phnum = elf_get(&r, eh + 56, 2);
		shentsize = elf_get(&r, eh + 58, 2);
	} else {
		phoff = elf_get(&r, eh + 28, 4);
		shoff = elf_get(&r, eh + 32, 4);
		phentsize = elf_get(&r, eh + 42, 2);
		phnum = elf_get(&r, eh + 44, 2);
		shentsize = elf_get(&r, eh + 46, 2);
	}
	if (phentsize < (is64 ? 56u : 32u))
		die(EXIT_TROUBLE, "%s: bad e_phentsize", d->path);
	if (phnum == 0xffff) {
		/* PN_XNUM: the real count is sh_info of section 0 */
		if (!shoff || shentsize < (is64 ? 64u : 40u) ||
		    shoff > (uint64_t)st.st_size ||
		    (uint64_t)st.st_size - shoff < shentsize ||
		    pread(d->fd, sh, is64 ? 64 : 40, (off_t)shoff) !=
		    (is64 ? 64 : 40))
			die(EXIT_TROUBLE, "%s: PN_XNUM without section 0",
			    d->path);
		phnum = elf_get(&r, sh + (is64 ? 44 : 28), 4);
	}
	size = phnum * phentsize;
	if (phoff > (uint64_t)st.st_size ||
	    size > (uint64_t)st.st_size - phoff)
		die(EXIT_TROUBLE, "%s: program headers beyond end of file",
		    d->path);
	ph = malloc(size ? size : 1);
	d->runs = malloc((phnum ? phnum : 1) * sizeof *d->runs);
	if (!ph || !d->runs)
		die(EXIT_TROUBLE, "out of memory");
	if (size && pread(d->fd, ph, size, (off_t)phoff) != (ssize_t)size)
		die(EXIT_TROUBLE, "%s: cannot read program headers", d->path);

	for (uint64_t i = 0; i < phnum; i++) {
		const unsigned char *p = ph + i * phentsize;
		uint64_t type, offset, paddr, filesz;

		type = elf_get(&r, p, 4);
		if (is64) {
			offset = elf_get(&r, p + 8, 8);
			paddr = elf_get(&r, p + 24, 8);
			filesz = elf_get(&r, p + 32, 8);
		} else {
			offset = elf_get(&r, p + 4, 4);
			paddr = elf_get(&r, p + 12, 4);
			filesz = elf_get(&r, p + 16, 4);
		}
		if (filesz && (offset > (uint64_t)st.st_size ||
			       filesz > (uint64_t)st.st_size - offset))
			die(EXIT_TROUBLE, "%s: program header %" PRIu64
			    " (type %" PRIu64 "): data 0x%" PRIx64 " + 0x%"
			    PRIx64 " beyond end of file (0x%jx bytes)",
			    d->path, i, type, offset, filesz,
			    (intmax_t)st.st_size);
		if (type != 1)	/* PT_LOAD */
			continue;
		d->elf_loads++;
		if (!filesz)
			continue;
		if (paddr + filesz < paddr)
			die(EXIT_TROUBLE, "%s: PT_LOAD wraps around", d->path);
		d->runs[n].start = paddr;
		d->runs[n].end = paddr + filesz;
		n++;
	}
	free(ph);
	d->nruns = n;
	return true;
}

/* Turn the byte ranges from check_elf() into sorted, merged pfn runs. */
static void make_pfn_runs(struct dump *d)
{
	size_t n = d->nruns;

	for (size_t i = 0; i < n; i++) {
		d->runs[i].start /= d->page_size;
		d->runs[i].end = (d->runs[i].end - 1) / d->page_size + 1;
	}
	qsort(d->runs, n, sizeof *d->runs, cmp_run);
	d->nruns = 0;
	for (size_t i = 0; i < n; i++) {
		if (d->nruns && d->runs[i].start <= d->runs[d->nruns - 1].end) {
			if (d->runs[i].end > d->runs[d->nruns - 1].end)
				d->runs[d->nruns - 1].end = d->runs[i].end;
		} else {
			d->runs[d->nruns++] = d->runs[i];
		}
	}
}

/* Is pfn covered by PT_LOAD data? pfns must be asked in ascending order. */
static bool elf_covers(struct dump *d, uint64_t pfn)
{
	while (d->run_cursor < d->nruns && d->runs[d->run_cursor].end <= pfn)
		d->run_cursor++;
	return d->run_cursor < d->nruns && d->runs[d->run_cursor].start <= pfn;
}

/* ---------------------------------------------------------------------- */
/* libkdumpfile access */

static void open_dump(struct dump *d, const struct options *o)
{
	kdump_status st;
	int fd;

	fd = open(d->path, O_RDONLY);
	if (fd < 0)
		die(EXIT_TROUBLE, "%s: %s", d->path, strerror(errno));
	if (is_flattened(fd)) {
		if (o->no_unflatten)
			die(EXIT_TROUBLE, "%s: makedumpfile flattened format "
			    "(not unflattened because of --no-unflatten)",
			    d->path);
		d->flattened = true;
		d->fd = unflatten(d, fd);
		close(fd);
	} else {
		d->fd = fd;
	}

	d->ctx = kdump_new();
	if (!d->ctx)
		die(EXIT_TROUBLE, "kdump_new failed");
	crash_path = d->path;
	d->is_elf = check_elf(d);
	/*
	 * With mmap(2) a page beyond the end of a truncated file kills the
	 * process with SIGBUS. ELF files have just been bounds-checked and
	 * read(2) makes libkdumpfile ten times slower on them, so they are
	 * mapped; other formats are read with read(2) unless --mmap.
	 */
	d->mmapped = o->mmap == MMAP_ALWAYS ||
		     (o->mmap == MMAP_AUTO && d->is_elf);
	st = kdump_set_number_attr(d->ctx, KDUMP_ATTR_FILE_MMAP_POLICY,
				   d->mmapped ? KDUMP_MMAP_TRY
					      : KDUMP_MMAP_NEVER);
	if (st != KDUMP_OK)
		die(EXIT_TROUBLE, "set %s: %s", KDUMP_ATTR_FILE_MMAP_POLICY,
		    kdump_get_err(d->ctx));
	st = kdump_open_fd(d->ctx, d->fd);
	if (st != KDUMP_OK)
		die(EXIT_TROUBLE, "%s: libkdumpfile cannot open it: %s",
		    d->path, kdump_get_err(d->ctx));
	if (o->ostype) {
		st = kdump_set_string_attr(d->ctx, KDUMP_ATTR_OSTYPE,
					   o->ostype);
		if (st != KDUMP_OK)
			die(EXIT_TROUBLE, "%s: set %s=%s: %s", d->path,
			    KDUMP_ATTR_OSTYPE, o->ostype,
			    kdump_get_err(d->ctx));
	}
	if (kdump_get_number_attr(d->ctx, "max_pfn", &d->max_pfn) != KDUMP_OK)
		die(EXIT_TROUBLE, "%s: no max_pfn: %s", d->path,
		    kdump_get_err(d->ctx));
	if (o->page_size &&
	    kdump_get_number_attr(d->ctx, KDUMP_ATTR_PAGE_SIZE, &d->page_size) != KDUMP_OK &&
	    kdump_set_number_attr(d->ctx, KDUMP_ATTR_PAGE_SIZE, o->page_size) != KDUMP_OK)
		die(EXIT_TROUBLE, "%s: cannot set the page size: %s", d->path,
		    kdump_get_err(d->ctx));
	if (kdump_get_number_attr(d->ctx, KDUMP_ATTR_PAGE_SIZE,
				  &d->page_size) != KDUMP_OK)
		die(EXIT_TROUBLE, "%s: no page size: %s", d->path,
		    kdump_get_err(d->ctx));
	if (d->page_size == 0 || d->page_size > (1u << 24) ||
	    (d->page_size & (d->page_size - 1)))
		die(EXIT_TROUBLE, "%s: odd page size %" PRIuFAST64, d->path,
		    d->page_size);
	if (kdump_get_string_attr(d->ctx, KDUMP_ATTR_FILE_FORMAT,
				  &d->format) != KDUMP_OK)
		d->format = "?";
	if (kdump_get_string_attr(d->ctx, "file.description",
				  &d->description) != KDUMP_OK)
		d->description = "?";
	if (kdump_get_string_attr(d->ctx, KDUMP_ATTR_ARCH_NAME,
				  &d->arch) != KDUMP_OK)
		d->arch = "?";
	kdump_clear_err(d->ctx);
	if (d->runs && !o->raw_elf && strcmp(d->format, "elf") == 0) {
		make_pfn_runs(d);
	} else {
		free(d->runs);
		d->runs = NULL;
		d->nruns = 0;
	}
	if (!o->no_pagemap && !d->runs) {
		kdump_attr_t attr;

		attr.type = KDUMP_BITMAP;
		if (kdump_get_typed_attr(d->ctx, KDUMP_ATTR_FILE_PAGEMAP,
					 &attr) == KDUMP_OK) {
			d->pagemap = attr.val.bitmap;
			kdump_bmp_incref(d->pagemap);
		}
		kdump_clear_err(d->ctx);
	}
}

static void close_dump(struct dump *d)
{
	if (d->pagemap)
		kdump_bmp_decref(d->pagemap);
	kdump_free(d->ctx);
	close(d->fd);
	free(d->runs);
}

static void describe(const struct dump *d)
{
	printf("%s: %s: format=%s (%s) arch=%s page_size=%" PRIuFAST64
	       " max_pfn=0x%" PRIxFAST64, d->label, d->path, d->format,
	       d->description, d->arch, d->page_size, d->max_pfn);
	if (d->flattened)
		printf(" flattened (%" PRIu64 " records, rebuilt in a "
		       "temporary file)", d->flat_records);
	printf(" %s", d->mmapped ? "mmap" : "read");
	if (d->runs)
		printf(" elf: %" PRIu64 " PT_LOAD, %zu pfn run(s)",
		       d->elf_loads, d->nruns);
	else if (d->pagemap)
		printf(" (skipping by file.pagemap)");
	putchar('\n');
}

/* Message of the last failed read, kept for reports. */
static char read_err[256];

static enum page_state read_page(struct dump *d, uint64_t pfn,
				 unsigned char *buf)
{
	size_t len = (size_t)d->page_size;
	kdump_status st;

	if (pfn >= d->max_pfn)
		return PAGE_ABSENT;
	if (d->runs && !elf_covers(d, pfn))
		return PAGE_ABSENT;
	crash_path = d->path;
	st = kdump_read(d->ctx, KDUMP_MACHPHYSADDR,
			(kdump_addr_t)(pfn * d->page_size), buf, &len);
	if (st == KDUMP_OK && len == d->page_size)
		return PAGE_PRESENT;
	if (st == KDUMP_ERR_NODATA)
		return PAGE_ABSENT;
	snprintf(read_err, sizeof read_err, "%s: %s", d->label,
		 st == KDUMP_OK ? "short read" : kdump_get_err(d->ctx));
	return PAGE_ERROR;
}

/*
 * Smallest pfn >= from that may be present in d (max_pfn if none). Without
 * ELF runs or a page map every pfn may be present. Queries must not go
 * backwards.
 */
static uint64_t next_candidate(struct dump *d, uint64_t from, bool exhaustive)
{
	kdump_addr_t idx = from;

	if (from >= d->max_pfn)
		return d->max_pfn;
	if (exhaustive)
		return from;
	if (d->runs) {
		if (elf_covers(d, from))
			return from;
		return d->run_cursor < d->nruns &&
		       d->runs[d->run_cursor].start < d->max_pfn
			? d->runs[d->run_cursor].start : d->max_pfn;
	}
	if (!d->pagemap)
		return from;
	if (d->hint_valid && from <= d->next_hint)
		return d->next_hint;
	switch (kdump_bmp_find_set(d->pagemap, &idx)) {
	case KDUMP_OK:
		break;
	case KDUMP_ERR_NODATA:
		idx = d->max_pfn;
		break;
	default:
		/* unusable page map: fall back to reading every pfn */
		kdump_bmp_decref(d->pagemap);
		d->pagemap = NULL;
		return from;
	}
	if (idx > d->max_pfn || idx < from)
		idx = idx < from ? from : d->max_pfn;
	d->next_hint = idx;
	d->hint_valid = true;
	return idx;
}

static bool all_zero(const unsigned char *p, size_t len)
{
	/* p[0] == 0 and every byte equals its successor */
	return p[0] == 0 && memcmp(p, p + 1, len - 1) == 0;
}

/* ---------------------------------------------------------------------- */
/* --kept output: ascending pfns, runs collapsed unless --no-ranges */

struct kept_list {
	FILE *fp;
	bool ranges;
	bool open_run;
	uint64_t start, last;
};

static void kept_flush(struct kept_list *k)
{
	if (!k->fp || !k->open_run)
		return;
	if (k->start == k->last)
		fprintf(k->fp, "0x%" PRIx64 "\n", k->start);
	else
		fprintf(k->fp, "0x%" PRIx64 "-0x%" PRIx64 "\n", k->start,
			k->last);
	k->open_run = false;
}

static void kept_add(struct kept_list *k, uint64_t pfn)
{
	if (!k->fp)
		return;
	if (!k->ranges) {
		fprintf(k->fp, "0x%" PRIx64 "\n", pfn);
		return;
	}
	if (k->open_run && pfn == k->last + 1) {
		k->last = pfn;
		return;
	}
	kept_flush(k);
	k->start = k->last = pfn;
	k->open_run = true;
}

static void kept_open(struct kept_list *k, const char *path, bool ranges)
{
	memset(k, 0, sizeof *k);
	k->ranges = ranges;
	if (!path)
		return;
	if (strcmp(path, "-") == 0) {
		k->fp = stdout;
		return;
	}
	k->fp = fopen(path, "w");
	if (!k->fp)
		die(EXIT_TROUBLE, "%s: %s", path, strerror(errno));
}

static void kept_close(struct kept_list *k, const char *path)
{
	kept_flush(k);
	if (!k->fp)
		return;
	if (k->fp == stdout) {
		fflush(stdout);
		return;
	}
	if (ferror(k->fp) | fclose(k->fp))
		die(EXIT_TROUBLE, "%s: write error", path);
}

/* ---------------------------------------------------------------------- */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int pages_only(struct dump *d, const struct options *o)
{
	struct kept_list kept;
	const char *kept_path = o->kept_path ? o->kept_path : "-";
	FILE *info = strcmp(kept_path, "-") == 0 ? stderr : stdout;
	unsigned char *buf = malloc((size_t)d->page_size);
	uint64_t errors = 0;
	double t0 = now();

	if (!buf)
		die(EXIT_TROUBLE, "out of memory");
	kept_open(&kept, kept_path, !o->no_ranges);
	for (uint64_t pfn = 0;; pfn++) {
		pfn = next_candidate(d, pfn, o->no_pagemap);
		if (pfn >= d->max_pfn)
			break;
		switch (read_page(d, pfn, buf)) {
		case PAGE_PRESENT:
			d->present++;
			if (all_zero(buf, (size_t)d->page_size))
				d->present_zero++;
			kept_add(&kept, pfn);
			break;
		case PAGE_ABSENT:
			break;
		case PAGE_ERROR:
			if (errors++ < o->max_report)
				fprintf(info, "error pfn 0x%" PRIx64 ": %s\n",
					pfn, read_err);
			break;
		}
	}
	kept_close(&kept, kept_path);
	fprintf(info, "pages: present=%" PRIu64 " (zero=%" PRIu64
		") max_pfn=0x%" PRIxFAST64 " errors=%" PRIu64 "\n",
		d->present, d->present_zero, d->max_pfn, errors);
	if (o->verbose)
		fprintf(info, "time: %.2f s\n", now() - t0);
	free(buf);
	return errors ? EXIT_MISMATCH : EXIT_MATCH;
}

struct counts {
	uint64_t equal, differ, ref_only, ref_only_zero;
	uint64_t cand_only, cand_only_zero, errors;
	uint64_t reported;
};

static void report(struct counts *c, const struct options *o,
		   const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(struct counts *c, const struct options *o,
		   const char *fmt, ...)
{
	va_list ap;

	if (c->reported++ >= o->max_report)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void note_accepted(const struct options *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void note_accepted(const struct options *o, const char *fmt, ...)
{
	va_list ap;

	if (o->verbose < 2)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void describe_difference(struct counts *c, const struct options *o,
				uint64_t pfn, const unsigned char *r,
				const unsigned char *x, size_t len)
{
	size_t first = 0, ndiff = 0;

	if (c->reported >= o->max_report) {
		c->reported++;
		return;
	}
	while (r[first] == x[first])
		first++;
	for (size_t i = first; i < len; i++)
		ndiff += r[i] != x[i];
	report(c, o, "differ    pfn 0x%" PRIx64 ": %zu byte(s) differ, first "
	       "at +0x%zx (ref 0x%02x, cand 0x%02x)%s%s", pfn, ndiff, first,
	       r[first], x[first], all_zero(r, len) ? ", ref page zero" : "",
	       all_zero(x, len) ? ", cand page zero" : "");
}

static int compare(struct dump *ref, struct dump *cand,
		   const struct options *o)
{
	struct counts c;
	struct kept_list kept;
	size_t ps = (size_t)ref->page_size;
	uint64_t limit;
	unsigned char *rbuf, *cbuf;
	bool fail;
	double t0 = now();

	memset(&c, 0, sizeof c);
	if (ref->page_size != cand->page_size) {
		printf("page size differs: ref %" PRIuFAST64 ", cand %"
		       PRIuFAST64 "\nresult: MISMATCH\n", ref->page_size,
		       cand->page_size);
		return EXIT_MISMATCH;
	}
	rbuf = malloc(ps);
	cbuf = malloc(ps);
	if (!rbuf || !cbuf)
		die(EXIT_TROUBLE, "out of memory");

	kept_open(&kept, o->kept_path, !o->no_ranges);
	limit = ref->max_pfn > cand->max_pfn ? ref->max_pfn : cand->max_pfn;
	if (o->below && o->below < limit)
		limit = o->below;
	for (uint64_t pfn = 0;; pfn++) {
		enum page_state rs, cs;
		uint64_t rn = next_candidate(ref, pfn, o->no_pagemap);
		uint64_t cn = next_candidate(cand, pfn, o->no_pagemap);

		if (rn == ref->max_pfn)
			rn = limit;
		if (cn == cand->max_pfn)
			cn = limit;
		pfn = rn < cn ? rn : cn;
		if (pfn >= limit)
			break;
		rs = read_page(ref, pfn, rbuf);

		if (rs == PAGE_ERROR && o->ref_errors_missing) {
			rs = PAGE_ABSENT;
		} else if (rs == PAGE_ERROR) {
			c.errors++;
			report(&c, o, "error     pfn 0x%" PRIx64 ": %s", pfn,
			       read_err);
		}
		cs = read_page(cand, pfn, cbuf);
		if (cs == PAGE_ERROR && o->cand_errors_missing) {
			cs = PAGE_ABSENT;
		} else if (cs == PAGE_ERROR) {
			c.errors++;
			report(&c, o, "error     pfn 0x%" PRIx64 ": %s", pfn,
			       read_err);
		}
		if (rs == PAGE_PRESENT)
			ref->present++;
		if (cs == PAGE_PRESENT) {
			cand->present++;
			kept_add(&kept, pfn);
		}

		if (rs == PAGE_PRESENT && cs == PAGE_PRESENT) {
			if (memcmp(rbuf, cbuf, ps) == 0) {
				c.equal++;
			} else {
				c.differ++;
				describe_difference(&c, o, pfn, rbuf, cbuf,
						    ps);
			}
		} else if (rs == PAGE_PRESENT && cs == PAGE_ABSENT) {
			bool zero = all_zero(rbuf, ps);

			c.ref_only++;
			c.ref_only_zero += zero;
			if (o->allow_missing || (zero && o->allow_missing_zero))
				note_accepted(o, "accepted  pfn 0x%" PRIx64
					      ": ref-only%s", pfn,
					      zero ? " (zero)" : "");
			else
				report(&c, o, "ref-only  pfn 0x%" PRIx64
				       "%s", pfn, zero ? " (zero page)" :
				       " (non-zero page)");
		} else if (rs == PAGE_ABSENT && cs == PAGE_PRESENT) {
			bool zero = all_zero(cbuf, ps);

			c.cand_only++;
			c.cand_only_zero += zero;
			if (o->allow_extra || (zero && !o->strict_extra))
				note_accepted(o, "accepted  pfn 0x%" PRIx64
					      ": cand-only%s", pfn,
					      zero ? " (zero)" : "");
			else
				report(&c, o, "cand-only pfn 0x%" PRIx64
				       "%s", pfn, zero ? " (zero page)" :
				       " (non-zero page)");
		}
	}
	kept_close(&kept, o->kept_path);

	fail = c.differ || c.errors;
	if (!o->allow_missing) {
		uint64_t bad = c.ref_only;
		if (o->allow_missing_zero)
			bad -= c.ref_only_zero;
		fail |= bad != 0;
	}
	if (!o->allow_extra) {
		uint64_t bad = c.cand_only;
		if (!o->strict_extra)
			bad -= c.cand_only_zero;
		fail |= bad != 0;
	}

	if (c.reported > o->max_report)
		printf("(%" PRIu64 " more failing pfns not shown)\n",
		       c.reported - o->max_report);
	printf("pages: ref=%" PRIu64 " cand=%" PRIu64 " equal=%" PRIu64
	       " differ=%" PRIu64 " ref-only=%" PRIu64 " (zero=%" PRIu64
	       ") cand-only=%" PRIu64 " (zero=%" PRIu64 ") errors=%" PRIu64
	       "\n", ref->present, cand->present, c.equal, c.differ,
	       c.ref_only, c.ref_only_zero, c.cand_only, c.cand_only_zero,
	       c.errors);
	if (o->verbose)
		printf("time: %.2f s for pfns below 0x%" PRIx64 "\n",
		       now() - t0, limit);
	printf("result: %s\n", fail ? "MISMATCH" : "OK");
	free(rbuf);
	free(cbuf);
	return fail ? EXIT_MISMATCH : EXIT_MATCH;
}

int main(int argc, char **argv)
{
	enum {
		OPT_ALLOW_MISSING = 256, OPT_ALLOW_MISSING_ZERO,
		OPT_ALLOW_EXTRA, OPT_STRICT_EXTRA, OPT_KEPT, OPT_NO_RANGES,
		OPT_PAGES_ONLY, OPT_MAX_REPORT, OPT_OSTYPE, OPT_NO_UNFLATTEN,
		OPT_RAW_ELF, OPT_NO_PAGEMAP, OPT_MMAP, OPT_NO_MMAP,
		OPT_BELOW, OPT_REF_ERRORS_MISSING, OPT_PAGE_SIZE, OPT_CAND_ERRORS_MISSING,
	};
	static const struct option longopts[] = {
		{ "allow-missing", no_argument, NULL, OPT_ALLOW_MISSING },
		{ "allow-missing-zero", no_argument, NULL,
		  OPT_ALLOW_MISSING_ZERO },
		{ "allow-extra", no_argument, NULL, OPT_ALLOW_EXTRA },
		{ "strict-extra", no_argument, NULL, OPT_STRICT_EXTRA },
		{ "kept", required_argument, NULL, OPT_KEPT },
		{ "no-ranges", no_argument, NULL, OPT_NO_RANGES },
		{ "pages-only", no_argument, NULL, OPT_PAGES_ONLY },
		{ "max-report", required_argument, NULL, OPT_MAX_REPORT },
		{ "ostype", required_argument, NULL, OPT_OSTYPE },
		{ "no-unflatten", no_argument, NULL, OPT_NO_UNFLATTEN },
		{ "raw-elf", no_argument, NULL, OPT_RAW_ELF },
		{ "no-pagemap", no_argument, NULL, OPT_NO_PAGEMAP },
		{ "mmap", no_argument, NULL, OPT_MMAP },
		{ "no-mmap", no_argument, NULL, OPT_NO_MMAP },
		{ "below", required_argument, NULL, OPT_BELOW },
		{ "ref-errors-missing", no_argument, NULL, OPT_REF_ERRORS_MISSING },
		{ "cand-errors-missing", no_argument, NULL, OPT_CAND_ERRORS_MISSING },
		{ "page-size", required_argument, NULL, OPT_PAGE_SIZE },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct options o;
	struct dump ref, cand;
	int opt, rc;

	memset(&o, 0, sizeof o);
	o.max_report = 10;
	install_crash_handler();
	while ((opt = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_ALLOW_MISSING: o.allow_missing = true; break;
		case OPT_ALLOW_MISSING_ZERO: o.allow_missing_zero = true; break;
		case OPT_ALLOW_EXTRA: o.allow_extra = true; break;
		case OPT_STRICT_EXTRA: o.strict_extra = true; break;
		case OPT_KEPT: o.kept_path = optarg; break;
		case OPT_NO_RANGES: o.no_ranges = true; break;
		case OPT_PAGES_ONLY: o.pages_only = true; break;
		case OPT_MAX_REPORT: {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 0);
			if (errno || *end || end == optarg || v > 1000000000ul)
				die(EXIT_TROUBLE, "bad --max-report '%s'",
				    optarg);
			o.max_report = (unsigned)v;
			break;
		}
		case OPT_OSTYPE: o.ostype = optarg; break;
		case OPT_BELOW: case OPT_PAGE_SIZE: {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(optarg, &end, 0);
			if (errno || *end || end == optarg)
				die(EXIT_TROUBLE, "bad number '%s'", optarg);
			if (opt == OPT_BELOW)
				o.below = v;
			else
				o.page_size = v;
			break;
		}
		case OPT_REF_ERRORS_MISSING: o.ref_errors_missing = true; break;
		case OPT_CAND_ERRORS_MISSING: o.cand_errors_missing = true; break;
		case OPT_NO_UNFLATTEN: o.no_unflatten = true; break;
		case OPT_RAW_ELF: o.raw_elf = true; break;
		case OPT_NO_PAGEMAP: o.no_pagemap = true; break;
		case OPT_MMAP: o.mmap = MMAP_ALWAYS; break;
		case OPT_NO_MMAP: o.mmap = MMAP_NEVER; break;
		case 'v': o.verbose++; break;
		case 'h': usage(stdout); return EXIT_MATCH;
		default: usage(stderr); return EXIT_TROUBLE;
		}
	}
	if (o.allow_extra && o.strict_extra)
		die(EXIT_TROUBLE, "--allow-extra and --strict-extra conflict");

	memset(&ref, 0, sizeof ref);
	memset(&cand, 0, sizeof cand);
	if (o.pages_only) {
		if (argc - optind != 1) {
			usage(stderr);
			return EXIT_TROUBLE;
		}
		ref.label = "dump";
		ref.path = argv[optind];
		open_dump(&ref, &o);
		if (o.verbose) {
			FILE *info = (!o.kept_path ||
				      strcmp(o.kept_path, "-") == 0)
				     ? stderr : stdout;
			fflush(stdout);
			fprintf(info, "dump: %s: format=%s (%s) arch=%s "
				"page_size=%" PRIuFAST64 " max_pfn=0x%"
				PRIxFAST64 "%s\n", ref.path, ref.format,
				ref.description, ref.arch, ref.page_size,
				ref.max_pfn,
				ref.flattened ? " flattened" : "");
			if (ref.runs)
				fprintf(info, "dump: elf: %" PRIu64 " PT_LOAD,"
					" %zu pfn run(s)\n", ref.elf_loads,
					ref.nruns);
		}
		rc = pages_only(&ref, &o);
		close_dump(&ref);
		return rc;
	}

	if (argc - optind != 2) {
		usage(stderr);
		return EXIT_TROUBLE;
	}
	if (o.kept_path && strcmp(o.kept_path, "-") == 0)
		die(EXIT_TROUBLE, "--kept - is only allowed with --pages-only");
	ref.label = "ref";
	ref.path = argv[optind];
	cand.label = "cand";
	cand.path = argv[optind + 1];
	open_dump(&ref, &o);
	open_dump(&cand, &o);
	if (o.verbose) {
		describe(&ref);
		describe(&cand);
	}
	rc = compare(&ref, &cand, &o);
	close_dump(&ref);
	close_dump(&cand);
	return rc;
}
