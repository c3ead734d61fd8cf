/* makedumpfile: command line.  Options are parsed into a config, a mode is
 * picked from a table and run; this file is the only place that prints
 * messages or decides the exit status. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "diskdump_mod.h"
#include "src/arch.h"
#include "src/codec/codec.h"
#include "src/dump.h"
#include "src/kernel/kernel.h"
#include "src/kernel/vmcoreinfo.h"
#include "src/notes.h"
#include "src/kernel/symbols.h"
#include "src/bytes.h"
#include "src/filter/filter.h"
#include "src/kernel/dmesg.h"
#include "src/kernel/dwarfinfo.h"
#include "src/output/sink.h"
#include "src/qemu/physbase.h"
#include "src/qemu/qemu.h"
#include "src/output/writer.h"
#include "src/rearrange.h"
#include "src/version.h"

/* --message-level bits, as upstream */
#define ML_PROGRESS 1
#define ML_COMMON 2
#define ML_ERROR 4
#define ML_DEBUG 8
#define ML_REPORT 16

#define MAX_LEVELS 8

struct config {
	const struct codec *codec;
	bool elf_out, flatten, rearrange, force, debug, show_stats, dry_run, check_params;
	bool split, reassemble, dump_dmesg, partial_dmesg, mem_usage, generate_vmcoreinfo;
	int levels[MAX_LEVELS], nlevels;
	int message_level;
	uint64_t size_limit;
	int num_threads;
	const char *vmlinux, *vmcoreinfo_in, *vmcoreinfo_out;
	bool physbase_probe, have_phys_base, have_kaslr_offset;
	int64_t phys_base;
	uint64_t kaslr_offset;
	char **args;
	int nargs;
};

static int message_level = ML_PROGRESS | ML_COMMON | ML_ERROR;
static bool messages_to_stderr;   /* -F keeps standard output for data */

static void msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void msg(int level, const char *fmt, ...)
{
	if (!(message_level & level))
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(messages_to_stderr || level == ML_ERROR ? stderr : stdout, fmt, ap);
	va_end(ap);
}

static void print_err(err_t *e)
{
	msg(ML_ERROR, "makedumpfile: %s\n", err_msg(e));
}

static void usage_hint(void)
{
	fprintf(stderr, "makedumpfile: invalid command line; see 'makedumpfile --help'\n");
}

static void print_version(void)
{
	printf("makedumpfile: version %s (%s, released on %s)\n", MKDF_VERSION, MKDF_FLAVOUR,
	       MKDF_RELEASE_DATE);
	size_t n;
	const struct codec *const *all = codec_all(&n);
	for (size_t i = 0; i < n; i++)
		if (all[i]->flag != DUMP_DH_COMPRESSED_ZLIB)
			printf("%s\t%s\n", all[i]->name, all[i]->available ? "enabled" : "disabled");
	printf("\n");
}

static void print_help(void)
{
	printf(
"makedumpfile: version %s (%s)\n\n"
"Usage:\n"
"  Creating DUMPFILE:\n"
"  # makedumpfile [-c|-l|-p|-z|-E] [-d DL] [-x VMLINUX|-i VMCOREINFO] VMCORE DUMPFILE\n\n"
"  Outputting the dump data in the flattened format to the standard output:\n"
"  # makedumpfile -F [-c|-l|-p|-z|-E] [-d DL] [-x VMLINUX|-i VMCOREINFO] VMCORE\n\n"
"  Rearranging the dump data in the flattened format to a readable DUMPFILE:\n"
"  # makedumpfile -R DUMPFILE\n\n"
"  VMCORE may be an ELF vmcore (/proc/vmcore, QEMU dump-guest-memory), a\n"
"  kdump-compressed file, or a flattened stream of either (QEMU kdump-zlib):\n"
"  the format is recognised by content.\n\n"
"Available options:\n"
"  [-c|-l|-p|-z]     Compress each page with zlib, lzo, snappy or zstd.\n"
"  [-E]              Write an ELF vmcore instead of a kdump-compressed file.\n"
"  [-d DL[,DL...]]   Dump level (0-31); a list gives levels to retry with when\n"
"                    the output runs out of space.  Bits: 1 zero pages,\n"
"                    2 cache, 4 cache with private, 8 user, 16 free pages.\n"
"  [-L SIZE]         Limit the output to SIZE bytes (K, M, G suffixes).\n"
"  [-F]              Write a flattened stream to standard output.\n"
"  [-R]              Read a flattened stream from standard input into DUMPFILE.\n"
"  [-f]              Overwrite an existing DUMPFILE.\n"
"  [-x VMLINUX]      The dumped kernel's vmlinux (or System.map): its symbols\n"
"                    help find and check phys_base/KASLR in QEMU dumps.\n"
"  [-i VMCOREINFO]   VMCOREINFO text file filling what the dump's lacks\n"
"                    (exit status 2 when its OSRELEASE differs).\n"
"  [-b ORDER]        Accepted for compatibility (write cache size).\n"
"  [-D]              Print debugging messages.\n"
"  [-v]              Print the version and the compression codecs built in.\n"
"  [-h, --help]      Print this help.\n"
"  [--message-level ML]  Bitmask: 1 progress, 2 common, 4 error, 8 debug,\n"
"                    16 report (default 7).\n"
"  [--num-threads N] Accepted for compatibility.\n"
"  [--cyclic-buffer KB] [--splitblock-size KB] [--work-dir DIR] [--non-mmap]\n"
"                    Accepted for compatibility; memory use does not depend on them.\n"
"  [--check-params]  Only check the command line.\n"
"  [--dry-run]       Do everything but write the output.\n"
"  [--show-stats]    Print page statistics after the dump.\n"
"  [--physbase-probe] Derive phys_base and the KASLR offset by every method,\n"
"                    print each method's verdict and exit (or go on when a\n"
"                    DUMPFILE is given).\n"
"  [--phys-base VALUE] [--kaslr-offset VALUE]\n"
"                    Use these instead of deriving them (0x-hex or decimal).\n"
"  [-e] [-X]         Accepted for compatibility; no effect yet.\n"
"  [--dump-dmesg] [--partial-dmesg]\n"
"                    Write the kernel log of VMCORE to LOGFILE.\n"
"  [--mem-usage]     Print the pages of VMCORE per kind, and exit.\n"
"  [-g VMCOREINFO -x VMLINUX]\n"
"                    Write VMCOREINFO text for VMLINUX.\n"
"  [--split] [--reassemble]\n"
"                    Recognised; reported as not supported yet.\n"
"  [--non-cyclic]    Accepted for compatibility.\n"
"  [--config FILE] [--eppic FILE] [--vtop VADDR] [--xen-syms FILE]\n"
"  [--xen-vmcoreinfo FILE] [--xen_phys_start ADDR]\n"
"                    Refused: not supported by this makedumpfile.\n",
	MKDF_VERSION, MKDF_FLAVOUR);
}

static bool parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return false;
	uint64_t mul = 1;
	switch (*end) {
	case 'K': case 'k': mul = 1ull << 10; end++; break;
	case 'M': case 'm': mul = 1ull << 20; end++; break;
	case 'G': case 'g': mul = 1ull << 30; end++; break;
	default: break;
	}
	if (*end || v > UINT64_MAX / mul)
		return false;
	*out = v * mul;
	return true;
}

static bool parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);   /* decimal, as upstream: 010 is ten */
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = (int)v;
	return true;
}

/* 0x-hex or decimal, with a sign when SIGNED_OK ("-0x14a00000"). */
static bool parse_address(const char *s, bool signed_ok, int64_t *out)
{
	bool neg = false;
	if (*s == '-' && signed_ok) {
		neg = true;
		s++;
	}
	if (!*s || *s == '-' || *s == '+')
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strncmp(s, "0x", 2) == 0 || strncmp(s, "0X", 2) == 0
		? strtoull(s + 2, &end, 16) : strtoull(s, &end, 10);
	if (errno || *end || end == s)
		return false;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return true;
}

static bool parse_levels(const char *s, struct config *c)
{
	char *copy = strdup(s), *save = NULL;
	if (!copy)
		return false;
	c->nlevels = 0;
	bool ok = true;
	/* strtok would skip empty items: walk the commas by hand. */
	for (char *tok = copy, *next; tok && ok; tok = next) {
		next = strchr(tok, ',');
		if (next)
			*next++ = '\0';
		ok = c->nlevels < MAX_LEVELS && parse_int(tok, 0, 31, &c->levels[c->nlevels]);
		c->nlevels++;
	}
	(void)save;
	free(copy);
	return ok && c->nlevels > 0;
}

enum {
	OPT_MESSAGE_LEVEL = 256, OPT_NUM_THREADS, OPT_SPLIT, OPT_REASSEMBLE, OPT_DUMP_DMESG,
	OPT_PARTIAL_DMESG, OPT_MEM_USAGE, OPT_CYCLIC_BUFFER, OPT_SPLITBLOCK, OPT_WORK_DIR,
	OPT_NON_MMAP, OPT_CONFIG, OPT_EPPIC, OPT_CHECK_PARAMS, OPT_DRY_RUN, OPT_SHOW_STATS,
	OPT_VTOP, OPT_NON_CYCLIC, OPT_XEN_SYMS, OPT_XEN_VMCOREINFO, OPT_XEN_PHYS_START,
	OPT_PHYSBASE_PROBE, OPT_PHYS_BASE, OPT_KASLR_OFFSET,
};

static const struct option long_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "message-level", required_argument, NULL, OPT_MESSAGE_LEVEL },
	{ "num-threads", required_argument, NULL, OPT_NUM_THREADS },
	{ "split", no_argument, NULL, OPT_SPLIT },
	{ "reassemble", no_argument, NULL, OPT_REASSEMBLE },
	{ "dump-dmesg", no_argument, NULL, OPT_DUMP_DMESG },
	{ "partial-dmesg", no_argument, NULL, OPT_PARTIAL_DMESG },
	{ "mem-usage", no_argument, NULL, OPT_MEM_USAGE },
	{ "cyclic-buffer", required_argument, NULL, OPT_CYCLIC_BUFFER },
	{ "splitblock-size", required_argument, NULL, OPT_SPLITBLOCK },
	{ "work-dir", required_argument, NULL, OPT_WORK_DIR },
	{ "non-mmap", no_argument, NULL, OPT_NON_MMAP },
	{ "non-cyclic", no_argument, NULL, OPT_NON_CYCLIC },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "eppic", required_argument, NULL, OPT_EPPIC },
	{ "check-params", no_argument, NULL, OPT_CHECK_PARAMS },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ "show-stats", no_argument, NULL, OPT_SHOW_STATS },
	{ "vtop", required_argument, NULL, OPT_VTOP },
	{ "xen-syms", required_argument, NULL, OPT_XEN_SYMS },
	{ "xen-vmcoreinfo", required_argument, NULL, OPT_XEN_VMCOREINFO },
	{ "xen_phys_start", required_argument, NULL, OPT_XEN_PHYS_START },
	{ "physbase-probe", no_argument, NULL, OPT_PHYSBASE_PROBE },
	{ "phys-base", required_argument, NULL, OPT_PHYS_BASE },
	{ "kaslr-offset", required_argument, NULL, OPT_KASLR_OFFSET },
	{ NULL, 0, NULL, 0 },
};

/* Returns 0 to go on, or an exit status. */
static int parse_args(int argc, char **argv, struct config *c)
{
	int opt, ncodec = 0, n, longindex = -1;
	uint64_t size;
	c->levels[0] = 0;
	c->nlevels = 1;
	c->message_level = ML_PROGRESS | ML_COMMON | ML_ERROR;
	while ((opt = getopt_long(argc, argv, "b:cDd:eEFfg:hi:lL:pRvXx:z", long_options,
				  &longindex)) != -1) {
		switch (opt) {
		case 'c': case 'l': case 'p': case 'z':
			c->codec = codec_by_option((char)opt);
			ncodec++;
			break;
		case 'E': c->elf_out = true; break;
		case 'F': c->flatten = true; break;
		case 'R': c->rearrange = true; break;
		case 'f': c->force = true; break;
		case 'D': c->debug = true; break;
		case 'x': c->vmlinux = optarg; break;
		case 'i': c->vmcoreinfo_in = optarg; break;
		case 'g': c->vmcoreinfo_out = optarg; c->generate_vmcoreinfo = true; break;
		case 'd':
			if (!parse_levels(optarg, c)) {
				fprintf(stderr, "makedumpfile: dump level '%s' is not a list of at most %d "
					"numbers from 0 to 31\n", optarg, MAX_LEVELS);
				return 1;
			}
			break;
		case 'L':
			if (!parse_size(optarg, &c->size_limit) || !c->size_limit) {
				fprintf(stderr, "makedumpfile: size limit '%s' is not a size\n", optarg);
				return 1;
			}
			break;
		case 'b':
			if (!parse_int(optarg, 0, 30, &n)) {
				fprintf(stderr, "makedumpfile: block order '%s' is not a number from "
					"0 to 30\n", optarg);
				return 1;
			}
			break;
		case 'h': print_help(); return -1;
		case 'v': print_version(); return -1;
		case 'e': case 'X':
			break;  /* kernel-aware features: accepted, see the man page */
		case OPT_MESSAGE_LEVEL:
			if (!parse_int(optarg, 0, 31, &c->message_level)) {
				fprintf(stderr, "makedumpfile: message level '%s' is not a number from "
					"0 to 31\n", optarg);
				return 1;
			}
			break;
		case OPT_NUM_THREADS:
			if (!parse_int(optarg, 0, 1024, &c->num_threads)) {
				fprintf(stderr, "makedumpfile: thread count '%s' is not a number\n", optarg);
				return 1;
			}
			break;
		case OPT_SPLIT: c->split = true; break;
		case OPT_REASSEMBLE: c->reassemble = true; break;
		case OPT_DUMP_DMESG: c->dump_dmesg = true; break;
		case OPT_PARTIAL_DMESG: c->partial_dmesg = true; break;
		case OPT_MEM_USAGE: c->mem_usage = true; break;
		case OPT_CYCLIC_BUFFER: case OPT_SPLITBLOCK:
			if (!parse_size(optarg, &size)) {
				fprintf(stderr, "makedumpfile: '%s' is not a size in KiB\n", optarg);
				return 1;
			}
			break;
		case OPT_WORK_DIR: case OPT_NON_MMAP: case OPT_NON_CYCLIC: break;
		case OPT_CHECK_PARAMS: c->check_params = true; break;
		case OPT_PHYSBASE_PROBE: c->physbase_probe = true; break;
		case OPT_PHYS_BASE:
			if (!parse_address(optarg, true, &c->phys_base)) {
				fprintf(stderr, "makedumpfile: phys_base '%s' is not a number (0x-hex, "
					"decimal, possibly negative)\n", optarg);
				return 1;
			}
			c->have_phys_base = true;
			break;
		case OPT_KASLR_OFFSET: {
			int64_t v;
			if (!parse_address(optarg, false, &v)) {
				fprintf(stderr, "makedumpfile: KASLR offset '%s' is not a number\n", optarg);
				return 1;
			}
			c->kaslr_offset = (uint64_t)v;
			c->have_kaslr_offset = true;
			break;
		}
		case OPT_DRY_RUN: c->dry_run = true; break;
		case OPT_SHOW_STATS: c->show_stats = true; break;
		case OPT_CONFIG: case OPT_EPPIC: case OPT_VTOP: case OPT_XEN_SYMS:
		case OPT_XEN_VMCOREINFO: case OPT_XEN_PHYS_START:
			fprintf(stderr, "makedumpfile: option '--%s' is not supported by this "
				"makedumpfile\n", long_options[longindex].name);
			return 1;
		default:
			usage_hint();
			return 1;
		}
	}
	c->args = argv + optind;
	c->nargs = argc - optind;
	if (ncodec > 1 || (c->elf_out && ncodec)) {
		fprintf(stderr, "makedumpfile: choose one of -c, -l, -p, -z, or -E without them\n");
		return 1;
	}
	if (c->codec && !c->codec->available) {
		fprintf(stderr, "makedumpfile: %s compression is not built into this makedumpfile\n",
			c->codec->name);
		return 1;
	}
	if (c->flatten && c->rearrange) {
		usage_hint();
		return 1;
	}
	return 0;
}

/* ---- progress ---- */

struct progress {
	const char *label;
	struct timespec start;
	bool tty;
	int last_tenth;
};

static double elapsed(const struct timespec *t0)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void progress_cb(void *arg, uint64_t done, uint64_t total)
{
	struct progress *p = arg;
	if (!(message_level & ML_PROGRESS))
		return;
	double frac = total ? (double)done / (double)total : 1.0;
	int tenth = (int)(frac * 1000);
	bool final = done >= total;
	if (!p->tty && !final)
		return;
	if (tenth == p->last_tenth && !final)
		return;
	p->last_tenth = tenth;
	double t = elapsed(&p->start);
	double eta = frac > 0 ? t / frac - t : 0;
	fprintf(stderr, "\r%-34s: [%5.1f %%] eta: %4.0fs", p->label, frac * 100.0, final ? 0 : eta);
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
}

/* ---- create mode ---- */

static void debug_describe(const struct dump *d)
{
	char buf[128];
	msg(ML_DEBUG, "input         : %s\n", dump_describe(d, buf, sizeof(buf)));
	msg(ML_DEBUG, "architecture  : %s (e_machine %u), %s-endian, %d-bit\n",
	    d->arch ? d->arch->name : "unknown", d->e_machine, d->big_endian ? "big" : "little",
	    d->wordsize * 8);
	msg(ML_DEBUG, "page size     : %u\n", d->page_size);
	msg(ML_DEBUG, "max pfn       : 0x%" PRIx64 "\n", d->max_pfn);
	for (size_t i = 0; i < d->nram; i++)
		msg(ML_DEBUG, "RAM           : 0x%016" PRIx64 "-0x%016" PRIx64 "%s\n", d->ram[i].start,
		    d->ram[i].end, d->ram[i].data_end < d->ram[i].end ? " (partly not saved)" : "");
	struct note_iter it;
	struct note n;
	note_iter_init(&it, d->notes, d->notes_size, d->big_endian);
	while (note_next(&it, &n) > 0)
		msg(ML_DEBUG, "note          : %.*s type %u, %u bytes\n",
		    (int)(n.namesz && !n.name[n.namesz - 1] ? n.namesz - 1 : n.namesz), n.name,
		    n.type, n.descsz);
	if (d->format == FMT_KDUMP)
		msg(ML_DEBUG, "kdump header  : version %d, status 0x%x, dump_level %d, phys_base %s0x%"
		    PRIx64 "\n", d->kdump.header_version, d->kdump.status, d->kdump.dump_level,
		    d->kdump.phys_base < 0 ? "-" : "",
		    d->kdump.phys_base < 0 ? -(uint64_t)d->kdump.phys_base : (uint64_t)d->kdump.phys_base);
}

/* Header facts for the output: from the input's kdump header, else from its
 * VMCOREINFO, else from the architecture. */
struct header_facts {
	char release[66], machine[66], version[66], nodename[66], domainname[66];
	int64_t phys_base;
	int64_t timestamp;
};

static void gather_facts(const struct dump *d, struct header_facts *h)
{
	memset(h, 0, sizeof(*h));
	struct note vn;
	struct vmcoreinfo vi = { 0 };
	bool have_vi = d->notes && notes_find(d->notes, d->notes_size, d->big_endian, "VMCOREINFO", 0,
					      &vn) && !vmcoreinfo_init(&vi, vn.desc, vn.descsz);
	if (d->format == FMT_KDUMP) {
		memcpy(h->release, d->kdump.release, sizeof(h->release));
		memcpy(h->machine, d->kdump.machine, sizeof(h->machine));
		memcpy(h->version, d->kdump.version, sizeof(h->version));
		memcpy(h->nodename, d->kdump.nodename, sizeof(h->nodename));
		if (d->kdump.phys_base_known)
			h->phys_base = d->kdump.phys_base;
		h->timestamp = d->kdump.timestamp;
	}
	int64_t pb;
	if (have_vi && vmcoreinfo_num(&vi, "NUMBER(phys_base)", &pb))
		h->phys_base = pb;
	if (have_vi && !h->release[0])
		vmcoreinfo_get(&vi, "OSRELEASE", h->release, sizeof(h->release));
	if (have_vi && !h->timestamp) {
		int64_t t;
		if (vmcoreinfo_num(&vi, "CRASHTIME", &t))
			h->timestamp = t;
	}
	if (!h->machine[0] && d->arch)
		snprintf(h->machine, sizeof(h->machine), "%s", d->arch->name);
	if (!h->timestamp)
		h->timestamp = (int64_t)time(NULL);
	if (have_vi)
		vmcoreinfo_deinit(&vi);
}

/* Like upstream, leave out pfns above the kernel's last memory section:
 * QEMU dumps device memory (video RAM, firmware ROM) there, which has no
 * struct page, and upstream makedumpfile cannot re-filter a kdump file whose
 * max_mapnr goes past it.  Needs the kernel's memory model; without it the
 * whole range is kept, as upstream does. */
static void cap_to_kernel_memory(struct dump *d, struct kernel *k, bool quiet)
{
	uint64_t end;
	err_t *e = kernel_setup_paging(k);
	if (!e)
		e = kernel_last_section_end(k, d->max_pfn, &end);
	if (e) {
		msg(ML_DEBUG, "memory sections: %s; keeping every pfn\n", err_msg(e));
		err_free(e);
		return;
	}
	uint64_t dropped = dump_limit_pfn(d, end);
	if (dropped)
		msg(quiet ? ML_DEBUG : ML_COMMON, "%" PRIu64 " pages at or above 0x%" PRIx64 ", past the kernel's last memory "
		    "section, are device memory and are left out\n", dropped, end * d->page_size);
}

/* The header's utsname comes from the guest's own init_uts_ns when it can be
 * read: libkdumpfile (drgn) ignores a header whose version field is empty. */
static void fill_utsname(struct kernel *k, struct header_facts *h)
{
	char uts[6][66];
	err_t *e = kernel_read_utsname(k, uts);
	if (e) {
		msg(ML_DEBUG, "utsname: %s\n", err_msg(e));
		err_free(e);
		return;
	}
	memcpy(h->nodename, uts[1], sizeof(h->nodename));
	memcpy(h->release, uts[2], sizeof(h->release));
	memcpy(h->version, uts[3], sizeof(h->version));
	memcpy(h->machine, uts[4], sizeof(h->machine));
	memcpy(h->domainname, uts[5], sizeof(h->domainname));
}


static err_t *open_sink(const struct config *c, const char *out, struct sink **s)
{
	if (c->dry_run) {
		TRY(sink_null_create(s));
	} else if (c->flatten) {
		TRY(sink_flat_create(STDOUT_FILENO, "standard output", s));
	} else {
		TRY(sink_file_create(out, c->force, s));
	}
	(*s)->limit = c->size_limit;
	return NULL;
}

static err_t *filter_cb(void *arg, uint64_t start, uint64_t n, uint8_t *map)
{
	return filter_apply(arg, start, n, map);
}

static void print_stats(const struct out_stats *st, const struct dump *d, const struct filter *f)
{
	const int lv = ML_REPORT | ML_COMMON;
	msg(lv, "\nSTATS\n");
	if (f) {
		static const enum page_class shown[] = { PC_CACHE, PC_CACHE_PRIVATE, PC_USER, PC_FREE,
							 PC_HWPOISON, PC_OFFLINE, PC_UNACCEPTED };
		for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++)
			msg(lv, "  excluded %-12s : %" PRIu64 "\n", page_class_name(shown[i]),
			    f->count[shown[i]]);
		if (f->unreadable)
			msg(lv, "  unclassified pages    : %" PRIu64 " (struct page not in the dump)\n",
			    f->unreadable);
	}
	msg(lv, "  RAM pages             : %" PRIu64 "\n", st->ram_pages);
	msg(lv, "  pages in the input    : %" PRIu64 "\n", st->saved_pages);
	msg(lv, "  zero pages            : %" PRIu64 "\n", st->zero_pages);
	msg(lv, "  pages written         : %" PRIu64 "\n", st->dumped_pages);
	msg(lv, "  output size           : %" PRIu64 " bytes (%.1f%% of RAM)\n", st->bytes,
	    st->ram_pages ? 100.0 * (double)st->bytes / ((double)st->ram_pages * d->page_size) : 0);
}

/* What the kernel view adds to a conversion. */
struct prep {
	struct symtab syms;
	bool have_syms;
	struct kernel k;
	bool have_k;
	enum dump_origin origin;
	struct pb_ctx pb;
	struct pb_result pr;
	bool derived;
	uint8_t *notes;          /* output note blob: owned when notes_owned */
	size_t notes_size;
	bool notes_owned;
	struct header_facts hf;
	bool has_kimage;
	uint64_t kimage_va, kimage_pa, kimage_size;
};

static void prep_deinit(struct prep *p)
{
	if (p->notes_owned)
		free(p->notes);
	pb_result_deinit(&p->pr);
	physbase_ctx_deinit(&p->pb);
	if (p->have_k)
		kernel_deinit(&p->k);
	if (p->have_syms)
		symtab_deinit(&p->syms);
}

static void print_probe(const struct prep *p, const struct dump *d)
{
	char buf[128], a[32], b[32];
	int ncpu = 0;
	struct qemu_cpu cpu;
	ncpu = qemu_cpus(d, &cpu, 1) ? qemu_cpus(d, (struct qemu_cpu[QEMU_CPU_MAX]){ 0 },
						  QEMU_CPU_MAX) : 0;
	printf("input   : %s\n", dump_describe(d, buf, sizeof(buf)));
	printf("origin  : %s", origin_name(p->origin));
	if (ncpu)
		printf(" (%d vCPU state note%s)", ncpu, ncpu == 1 ? "" : "s");
	printf("\n");
	if (p->have_syms)
		printf("vmlinux : %s%s%s\n", p->syms.path, p->syms.release[0] ? ", " : "",
		       p->syms.release);
	printf("\n%-16s %-20s %-20s %s\n", "method", "phys_base", "KERNELOFFSET", "verdict");
	for (int i = 0; i < p->pb.n; i++) {
		const struct pb_cand *c = &p->pb.c[i];
		snprintf(a, sizeof(a), "%s", "-");
		snprintf(b, sizeof(b), "%s", "-");
		if (c->has_pb)
			pb_fmt_signed(c->phys_base, a, sizeof(a));
		if (c->has_kaslr)
			snprintf(b, sizeof(b), "0x%" PRIx64 "%s", c->kaslr, c->kaslr_assumed ? "?" : "");
		printf("%-16s %-20s %-20s %s%s\n", c->method, a, b, pb_verdict_name(c->verdict),
		       i == p->pr.winner ? "  <= chosen" : "");
		printf("%-16s %s%s%s\n", "", c->note, c->check[0] ? "; " : "", c->check);
	}
	if (p->derived) {
		printf("\nphys_base=%s", pb_fmt_signed(p->pr.phys_base, a, sizeof(a)));
		if (p->pr.has_kaslr)
			printf(" KERNELOFFSET=0x%" PRIx64, p->pr.kaslr);
		printf(" (from %s)\n", p->pb.c[p->pr.winner].method);
		if (p->pr.disagreements)
			printf("warning: %d method%s disagree%s with the chosen value (see above)\n",
			       p->pr.disagreements, p->pr.disagreements == 1 ? "" : "s",
			       p->pr.disagreements == 1 ? "s" : "");
		if (p->pr.vmcoreinfo_source)
			printf("VMCOREINFO: from the %s\n", p->pr.vmcoreinfo_source);
	}
	fflush(stdout);
}

static err_t *read_text_file(const char *path, char **out)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return err_errno(errno, "cannot open '%s'", path);
	char *buf = NULL;
	size_t cap = 0, len = 0;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 65536;
			char *nb = cap <= (16u << 20) ? realloc(buf, cap) : NULL;
			if (!nb) {
				free(buf);
				fclose(f);
				return err_new(ERR_FORMAT, "'%s' is too large for a VMCOREINFO file", path);
			}
			buf = nb;
		}
		size_t n = fread(buf + len, 1, 4096, f);
		len += n;
		if (n < 4096)
			break;
	}
	bool bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		return err_new(ERR_IO, "cannot read '%s'", path);
	}
	buf[len] = '\0';
	*out = buf;
	return NULL;
}

/* Entries the filter and the kernel log use: when the dump's VMCOREINFO
 * has them all, the vmlinux's debug information is not read. */
static bool vmcoreinfo_complete(const struct kernel *k)
{
	static const char *const keys[] = {
		"SIZE(page)", "OFFSET(page.flags)", "OFFSET(page.mapping)", "NUMBER(PG_lru)",
		"SYMBOL(mem_section)", "OFFSET(mem_section.section_mem_map)", "SYMBOL(init_uts_ns)",
	};
	char buf[80];
	if (!k->have_vmci)
		return false;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!vmcoreinfo_get(&k->vmci, keys[i], buf, sizeof(buf)))
			return false;
	return true;
}

/* -i FILE, or the debug information of -x, fill what the dump's own
 * VMCOREINFO lacks.  Returns -1 to go on, else the exit status. */
static int add_kernel_info(const struct config *c, struct dump *d, struct prep *p)
{
	char *text = NULL;
	const char *from = NULL;
	err_t *e = NULL;
	uint64_t kaslr = p->derived && p->pr.has_kaslr ? p->pr.kaslr : p->k.kaslr_offset;
	if (c->vmcoreinfo_in) {
		from = c->vmcoreinfo_in;
		if ((e = read_text_file(c->vmcoreinfo_in, &text)))
			goto fail;
		struct vmcoreinfo v;
		char theirs[66] = "", ours[66] = "";
		if ((e = vmcoreinfo_init(&v, text, strlen(text))))
			goto fail;
		vmcoreinfo_get(&v, "OSRELEASE", theirs, sizeof(theirs));
		vmcoreinfo_deinit(&v);
		if (p->k.have_vmci)
			vmcoreinfo_get(&p->k.vmci, "OSRELEASE", ours, sizeof(ours));
		else if (d->format == FMT_KDUMP)
			snprintf(ours, sizeof(ours), "%s", d->kdump.release);
		if (theirs[0] && ours[0] && strcmp(theirs, ours) != 0) {
			fprintf(stderr, "makedumpfile: '%s' describes kernel %s, but '%s' holds %s\n",
				c->vmcoreinfo_in, theirs, d->name, ours);
			free(text);
			return 2;
		}
	} else if (c->vmlinux && p->have_syms && p->syms.from_vmlinux && !vmcoreinfo_complete(&p->k)) {
		from = c->vmlinux;
		if ((e = dwarf_vmcoreinfo(c->vmlinux, &p->syms, d->page_size, &text)))
			goto fail;
	}
	if (text) {
		int added = 0;
		if ((e = kernel_merge_vmcoreinfo(&p->k, text, kaslr, &added)))
			goto fail;
		msg(ML_DEBUG, "kernel info  : %d entries from '%s'\n", added, from);
	}
	free(text);
	return -1;
fail:
	free(text);
	print_err(e);
	err_free(e);
	return 1;
}

static void report_disagreements(const struct prep *p)
{
	char a[32], b[32];
	const struct pb_cand *w = &p->pb.c[p->pr.winner];
	for (int i = 0; i < p->pb.n; i++) {
		const struct pb_cand *c = &p->pb.c[i];
		bool usable = c->verdict == PB_VALID || c->verdict == PB_UNCHECKED ||
			      c->verdict == PB_DISTRUSTED;
		if (i == p->pr.winner || !usable || !c->has_pb || c->phys_base == p->pr.phys_base)
			continue;
		msg(ML_COMMON, "makedumpfile: %s says phys_base %s%s; using %s from %s\n", c->method,
		    pb_fmt_signed(c->phys_base, a, sizeof(a)),
		    c->verdict == PB_DISTRUSTED ? " (written by QEMU, not trusted)" : "",
		    pb_fmt_signed(p->pr.phys_base, b, sizeof(b)), w->method);
	}
	if (w->verdict == PB_INVALID)
		msg(ML_COMMON, "makedumpfile: the given phys_base does not validate (%s)\n", w->check);
}

/* Symbols, origin, phys_base/KASLR, VMCOREINFO, utsname and the output
 * notes.  Returns -1 to go on, else the exit status. */
static int prepare(const struct config *c, struct dump *d, struct prep *p)
{
	memset(p, 0, sizeof(*p));
	err_t *e = NULL;
	int st;
	if (c->vmlinux) {
		if ((e = symtab_load(c->vmlinux, &p->syms)))
			goto fail;
		p->have_syms = true;
	}
	if ((e = kernel_init(&p->k, d)))
		goto fail;
	p->have_k = true;
	p->origin = dump_origin(d);
	msg(ML_DEBUG, "origin        : %s\n", origin_name(p->origin));
	bool qemu = p->origin == ORIGIN_QEMU_ELF || p->origin == ORIGIN_QEMU_KDUMP;
	bool can = d->arch && d->arch->pb_methods;
	if (can || c->have_phys_base || c->physbase_probe) {
		p->pb = (struct pb_ctx){ .d = d, .k = &p->k, .syms = p->have_syms ? &p->syms : NULL,
					 .origin = p->origin, .probe_all = c->physbase_probe,
					 .have_override_pb = c->have_phys_base, .override_pb = c->phys_base,
					 .have_override_kaslr = c->have_kaslr_offset,
					 .override_kaslr = c->kaslr_offset };
		e = physbase_derive(&p->pb, &p->pr);
		if (!e) {
			p->derived = true;
		} else if (!qemu && !c->physbase_probe) {
			/* A kdump-made file keeps what its header says. */
			msg(ML_DEBUG, "phys_base: %s\n", err_msg(e));
			err_free(e);
			e = NULL;
		}
	}
	if (c->physbase_probe)
		print_probe(p, d);
	if (e) {
		if (qemu)
			e = err_wrap(e, "'%s' was written by QEMU, which does not record where the "
				     "guest kernel is (give --phys-base, or -x VMLINUX to search)", d->name);
		goto fail;
	}
	if (c->physbase_probe && c->nargs < 2)
		return 0;

	gather_facts(d, &p->hf);
	p->notes = d->notes;
	p->notes_size = d->notes_size;
	if (p->derived) {
		struct kernel *k = &p->k;
		struct note vn;
		bool has_note = d->notes && notes_find(d->notes, d->notes_size, d->big_endian,
						       "VMCOREINFO", 0, &vn);
		char *text = NULL;
		if (!has_note)
			text = pb_output_vmcoreinfo(p->pr.vmcoreinfo, p->have_syms ? &p->syms : NULL,
						    p->pr.phys_base, p->pr.has_kaslr, p->pr.kaslr,
						    d->page_size, p->have_syms ? p->syms.release : NULL);
		if (text) {
			if ((e = kernel_set_vmcoreinfo(k, text, strlen(text)))) {
				free(text);
				goto fail;
			}
			size_t sz = d->notes_size;
			uint8_t *blob = malloc(sz ? sz : 1);
			if (!blob) {
				free(text);
				e = err_new(ERR_NOMEM, "out of memory");
				goto fail;
			}
			if (sz)
				memcpy(blob, d->notes, sz);
			e = notes_append(&blob, &sz, d->big_endian, "VMCOREINFO", 0, text, strlen(text));
			free(text);
			if (e) {
				free(blob);
				goto fail;
			}
			p->notes = blob;
			p->notes_size = sz;
			p->notes_owned = true;
		}
		k->phys_base = p->pr.phys_base;
		k->phys_base_known = true;
		if (p->pr.has_kaslr)
			k->kaslr_offset = p->pr.kaslr;
		p->hf.phys_base = p->pr.phys_base;
		if (p->pr.disagreements && !c->physbase_probe)
			report_disagreements(p);
	}
	if ((st = add_kernel_info(c, d, p)) >= 0)
		return st;
	cap_to_kernel_memory(d, &p->k, c->dump_dmesg || c->mem_usage);
	fill_utsname(&p->k, &p->hf);
	/* ELF output of a dump without a kernel-image segment (QEMU's) gets
	 * one, as /proc/vmcore has. */
	bool has_kseg = false;
	for (size_t i = 0; i < d->nsegs; i++)
		if (d->segs[i].vaddr != d->segs[i].paddr && d->segs[i].vaddr >= 0xffffffff80000000ull)
			has_kseg = true;
	if (c->elf_out && p->derived && !has_kseg && d->arch && d->arch->kernel_image) {
		err_t *ke = d->arch->kernel_image(&p->k, &p->kimage_va, &p->kimage_pa, &p->kimage_size);
		if (ke) {
			msg(ML_DEBUG, "kernel image segment: %s\n", err_msg(ke));
			err_free(ke);
		} else {
			p->has_kimage = true;
		}
	}
	if (c->debug)
		debug_describe(d);
	return -1;
fail:
	print_err(e);
	err_free(e);
	return 1;
}

static int run_create(struct config *c)
{
	const char *in = c->args[0], *out = c->flatten ? "standard output" : c->args[1];
	struct dump *d = NULL;
	struct sink *s = NULL;
	err_t *e = NULL;
	if (c->check_params)
		return 0;
	if (!e)
		e = dump_open(in, &d);
	if (e) {
		print_err(e);
		err_free(e);
		return 1;
	}
	struct prep p;
	int pst = prepare(c, d, &p);
	if (pst >= 0) {
		prep_deinit(&p);
		dump_close(d);
		return pst;
	}
	struct header_facts hf = p.hf;
	/* Levels above 1 need the kernel's struct pages. */
	bool need_filter = false;
	for (int i = 0; i < c->nlevels; i++)
		need_filter |= ((c->levels[i] | (d->format == FMT_KDUMP ? d->kdump.dump_level : 0)) & ~1) != 0;
	struct filter flt;
	memset(&flt, 0, sizeof(flt));
	if (need_filter && (e = filter_init(&flt, &p.k, 0, d->max_pfn))) {
		e = err_wrap(e, "dump levels above 1 need the kernel's page structures (VMCOREINFO "
			     "or -x)");
		print_err(e);
		err_free(e);
		filter_deinit(&flt);
		prep_deinit(&p);
		dump_close(d);
		return 1;
	}
	struct progress prog = { .label = "Copying data", .tty = isatty(STDERR_FILENO),
				 .last_tenth = -1 };
	struct out_opts o = {
		.codec = c->codec, .phys_base = hf.phys_base,
		.notes = p.notes, .notes_size = p.notes_size,
		.sysname = "Linux", .nodename = hf.nodename, .release = hf.release,
		.version = hf.version, .machine = hf.machine, .domainname = hf.domainname,
		.timestamp = hf.timestamp,
		.has_kimage = p.has_kimage, .kimage_va = p.kimage_va, .kimage_pa = p.kimage_pa,
		.kimage_size = p.kimage_size,
		.progress = progress_cb, .progress_arg = &prog,
	};
	/* Re-filtering a kdump file: levels add up and the origin mark stays. */
	int prev_level = d->format == FMT_KDUMP ? d->kdump.dump_level & 31 : 0;
	if (p.origin == ORIGIN_QEMU_ELF || p.origin == ORIGIN_QEMU_KDUMP ||
	    p.origin == ORIGIN_CONVERTED)
		o.extra_status |= DUMP_DH_QEMU_ORIGIN;
	struct out_stats st;
	int status = 1;
	bool keep = false, created = false;
	for (int li = 0; li < c->nlevels; li++) {
		memset(&st, 0, sizeof(st));
		o.dump_level = c->levels[li] | prev_level;
		memset(flt.count, 0, sizeof(flt.count));
		flt.dump_level = o.dump_level;
		if (need_filter) {
			const char *blind[4];
			int nb = filter_blind_spots(&flt, o.dump_level, blind, 4);
			for (int b = 0; b < nb; b++)
				msg(ML_COMMON, "makedumpfile: this kernel gives no way to tell %s; such "
				    "pages are kept\n", blind[b]);
		}
		o.filter = o.dump_level & ~1 ? filter_cb : NULL;
		o.filter_arg = &flt;
		if ((e = open_sink(c, out, &s)))
			break;
		created = !c->flatten && !c->dry_run;
		clock_gettime(CLOCK_MONOTONIC, &prog.start);
		prog.last_tenth = -1;
		e = c->elf_out ? write_elf(d, s, &o, &st) : write_kdump(d, s, &o, &st);
		if (!e)
			e = s->finish(s);
		sink_destroy(s);
		s = NULL;
		if (e && st.incomplete && li + 1 < c->nlevels && !c->flatten) {
			msg(ML_COMMON, "makedumpfile: %s; retrying with dump level %d\n", err_msg(e),
			    c->levels[li + 1]);
			err_free(e);
			e = NULL;
			c->force = true;   /* replace our own incomplete file */
			continue;
		}
		keep = st.incomplete;
		break;
	}
	if (e) {
		print_err(e);
		if (keep)
			msg(ML_COMMON, "The incomplete dumpfile is kept as %s.\n", out);
		else if (created)
			unlink(out);
		err_free(e);
	} else {
		if (c->show_stats)
			print_stats(&st, d, o.filter ? &flt : NULL);
		if (!c->flatten && !c->dry_run)
			msg(ML_COMMON, "\nThe dumpfile is saved to %s.\n", out);
		status = 0;
	}
	filter_deinit(&flt);
	prep_deinit(&p);
	dump_close(d);
	return status;
}

static int run_rearrange(struct config *c)
{
	if (c->nargs != 1) {
		usage_hint();
		return 1;
	}
	if (c->check_params)
		return 0;
	struct sink *s = NULL;
	uint64_t bytes = 0;
	bool created = false;
	err_t *e = sink_file_create(c->args[0], c->force, &s);
	created = !e;
	if (!e)
		e = rearrange_stream(STDIN_FILENO, "standard input", s, &bytes);
	if (!e)
		e = s->finish(s);
	sink_destroy(s);
	if (e) {
		print_err(e);
		if (created)
			unlink(c->args[0]);
		err_free(e);
		return 1;
	}
	msg(ML_COMMON, "\nThe dumpfile is saved to %s.\n", c->args[0]);
	return 0;
}

static int not_yet(const char *what)
{
	fprintf(stderr, "makedumpfile: %s is not supported by this makedumpfile yet\n", what);
	return 1;
}

/* Open the input and prepare the kernel view for the modes that only read
 * it.  Returns -1 to go on (then *D and *P are to be released), else the
 * exit status. */
static int open_prepared(const struct config *c, struct dump **d, struct prep *p)
{
	err_t *e = dump_open(c->args[0], d);
	if (e) {
		print_err(e);
		err_free(e);
		return 1;
	}
	int st = prepare(c, *d, p);
	if (st >= 0) {
		prep_deinit(p);
		dump_close(*d);
	}
	return st;
}

static int run_split(struct config *c) { (void)c; return not_yet("--split"); }
static int run_reassemble(struct config *c) { (void)c; return not_yet("--reassemble"); }
static int run_dmesg(struct config *c)
{
	if (c->nargs != 2) {
		usage_hint();
		return 1;
	}
	if (c->check_params)
		return 0;
	struct dump *d = NULL;
	struct prep p;
	int st = open_prepared(c, &d, &p);
	if (st >= 0)
		return st;
	err_t *e = NULL;
	if (!p.k.pgd_known && (e = kernel_setup_paging(&p.k)))
		e = err_wrap(e, "'%s': cannot read the kernel's memory", d->name);
	FILE *f = NULL;
	if (!e) {
		int fd = open(c->args[1], O_WRONLY | O_CREAT | O_CLOEXEC | (c->force ? O_TRUNC : O_EXCL),
			      0600);
		if (fd < 0)
			e = errno == EEXIST ? err_new(ERR_USAGE, "'%s' already exists (use -f to "
						      "overwrite it)", c->args[1])
					    : err_errno(errno, "cannot create '%s'", c->args[1]);
		else if (!(f = fdopen(fd, "w"))) {
			e = err_errno(errno, "cannot write '%s'", c->args[1]);
			close(fd);
		}
	}
	struct dmesg_stats ds;
	if (!e)
		e = err_wrap(dmesg_write(&p.k, c->partial_dmesg, f, &ds), "'%s': kernel log", d->name);
	if (f && fclose(f) != 0 && !e)
		e = err_errno(errno, "cannot write '%s'", c->args[1]);
	if (e) {
		print_err(e);
		if (f)
			unlink(c->args[1]);
		err_free(e);
	} else {
		msg(ML_COMMON, "\nThe dmesg log is saved to %s (%lu records).\n", c->args[1], ds.records);
	}
	prep_deinit(&p);
	dump_close(d);
	return e ? 1 : 0;
}
/* --mem-usage: what each dump level would drop, before choosing one. */
static int run_mem_usage(struct config *c)
{
	if (c->nargs != 1) {
		usage_hint();
		return 1;
	}
	if (c->check_params)
		return 0;
	struct dump *d = NULL;
	struct prep p;
	int st = open_prepared(c, &d, &p);
	if (st >= 0)
		return st;
	err_t *e = NULL;
	struct filter f;
	uint64_t bytes = div_up(d->max_pfn, 8) + 8, zero = 0, kept = 0, total = 0;
	uint8_t *map = calloc(1, bytes), *page = malloc(d->page_size);
	e = !map || !page ? err_new(ERR_NOMEM, "out of memory") : NULL;
	if (!e)
		e = filter_init(&f, &p.k, DL_CACHE | DL_CACHE_PRI | DL_USER | DL_FREE, d->max_pfn);
	if (!e)
		e = dump_saved_map(d, 0, d->max_pfn, map);
	for (uint64_t i = 0; !e && i < bytes; i++)
		total += (uint64_t)__builtin_popcount(map[i]);
	if (!e)
		e = filter_apply(&f, 0, d->max_pfn, map);
	for (uint64_t pfn = 0; !e && pfn < d->max_pfn; pfn++) {
		if (!(map[pfn >> 3] >> (pfn & 7) & 1))
			continue;
		enum page_state ps;
		e = dump_read_page(d, pfn, page, &ps);
		if (!e && is_zero_page(page, d->page_size))
			zero++;
		else
			kept++;
	}
	if (e) {
		print_err(e);
		err_free(e);
	} else {
		printf("TYPE            PAGES        EXCLUDABLE  DESCRIPTION\n");
		printf("-----------------------------------------------------------------------\n");
		printf("ZERO            %-12" PRIu64 " yes         Pages that hold only zeros\n", zero);
		printf("NON_PRI_CACHE   %-12" PRIu64 " yes         Page cache without PG_private\n",
		       f.count[PC_CACHE]);
		printf("PRI_CACHE       %-12" PRIu64 " yes         Page cache with PG_private\n",
		       f.count[PC_CACHE_PRIVATE]);
		printf("USER            %-12" PRIu64 " yes         Anonymous and hugetlbfs pages\n",
		       f.count[PC_USER]);
		printf("FREE            %-12" PRIu64 " yes         Pages in the buddy allocator\n",
		       f.count[PC_FREE] + f.count[PC_UNACCEPTED]);
		printf("KERN_DATA       %-12" PRIu64 " no          Everything else the kernel holds\n",
		       kept);
		if (f.count[PC_HWPOISON] + f.count[PC_OFFLINE])
			printf("POISON/OFFLINE  %-12" PRIu64 " always      Never written\n",
			       f.count[PC_HWPOISON] + f.count[PC_OFFLINE]);
		printf("\npage size:              %u\n", d->page_size);
		printf("Total pages on system:  %" PRIu64 "\n", total);
		printf("Total size on system:   %" PRIu64 " Byte\n", total * d->page_size);
		if (f.unreadable)
			printf("(%" PRIu64 " pages could not be classified: their struct page is not "
			       "in the dump)\n", f.unreadable);
	}
	filter_deinit(&f);
	free(map);
	free(page);
	prep_deinit(&p);
	dump_close(d);
	return e ? 1 : 0;
}
/* -g FILE -x VMLINUX: VMCOREINFO text from the vmlinux, link-time values. */
static int run_generate(struct config *c)
{
	if (c->nargs != 0 || !c->vmlinux) {
		fprintf(stderr, "makedumpfile: -g needs -x VMLINUX and no other file arguments\n");
		return 1;
	}
	if (c->check_params)
		return 0;
	struct symtab st;
	char *text = NULL;
	err_t *e = symtab_load(c->vmlinux, &st);
	if (!e) {
		e = dwarf_vmcoreinfo(c->vmlinux, &st, 4096, &text);
		symtab_deinit(&st);
	}
	int fd = -1;
	if (!e) {
		fd = open(c->vmcoreinfo_out, O_WRONLY | O_CREAT | O_CLOEXEC | (c->force ? O_TRUNC : O_EXCL),
			  0644);
		if (fd < 0)
			e = errno == EEXIST ? err_new(ERR_USAGE, "'%s' already exists (use -f to overwrite "
						      "it)", c->vmcoreinfo_out)
					    : err_errno(errno, "cannot create '%s'", c->vmcoreinfo_out);
	}
	if (!e) {
		size_t len = strlen(text);
		if (write(fd, text, len) != (ssize_t)len)
			e = err_errno(errno, "cannot write '%s'", c->vmcoreinfo_out);
		if (close(fd) != 0 && !e)
			e = err_errno(errno, "cannot write '%s'", c->vmcoreinfo_out);
		if (e)
			unlink(c->vmcoreinfo_out);
	}
	free(text);
	if (e) {
		print_err(e);
		err_free(e);
		return 1;
	}
	msg(ML_COMMON, "\nThe vmcoreinfo is saved to %s.\n", c->vmcoreinfo_out);
	return 0;
}

static int run_convert(struct config *c)
{
	bool probe_only = c->physbase_probe && c->nargs == 1 && !c->flatten;
	if (!probe_only && c->nargs != (c->flatten ? 1 : 2)) {
		usage_hint();
		return 1;
	}
	return run_create(c);
}

static bool is_rearrange(const struct config *c) { return c->rearrange; }
static bool is_split(const struct config *c) { return c->split; }
static bool is_reassemble(const struct config *c) { return c->reassemble; }
static bool is_dmesg(const struct config *c) { return c->dump_dmesg; }
static bool is_mem_usage(const struct config *c) { return c->mem_usage; }
static bool is_generate(const struct config *c) { return c->generate_vmcoreinfo; }
static bool is_convert(const struct config *c) { (void)c; return true; }

/* The first mode whose test matches runs. */
static const struct mode {
	bool (*matches)(const struct config *c);
	int (*run)(struct config *c);
} modes[] = {
	{ is_rearrange, run_rearrange },
	{ is_split, run_split },
	{ is_reassemble, run_reassemble },
	{ is_dmesg, run_dmesg },
	{ is_mem_usage, run_mem_usage },
	{ is_generate, run_generate },
	{ is_convert, run_convert },
};

int main(int argc, char **argv)
{
	struct config c;
	memset(&c, 0, sizeof(c));
	int status = parse_args(argc, argv, &c);
	if (status < 0)
		return 0;
	message_level = c.message_level;
	if (c.debug)
		message_level |= ML_DEBUG;
	messages_to_stderr = c.flatten;
	if (!status) {
		for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
			if (modes[i].matches(&c)) {
				status = modes[i].run(&c);
				break;
			}
	}
	msg(ML_COMMON, "\nmakedumpfile %s.\n", status ? "Failed" : "Completed");
	return status;
}
