/* makedumpfile: command line.  Options are parsed into a config, a mode is
 * picked from a table and run (cli/modes.c); the command line is the only
 * place that prints messages or decides the exit status. */
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

#include "cli/cli.h"
#include "diskdump_mod.h"
#include "src/codec/codec.h"
#include "src/version.h"

int message_level = ML_PROGRESS | ML_COMMON | ML_ERROR;
bool messages_to_stderr;

void msg(int level, const char *fmt, ...)
{
	if (!(message_level & level))
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(messages_to_stderr || level == ML_ERROR ? stderr : stdout, fmt, ap);
	va_end(ap);
}

void print_err(err_t *e)
{
	msg(ML_ERROR, "makedumpfile: %s\n", err_msg(e));
}

void usage_hint(void)
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
"  [--num-threads N] Compression threads (default: one per online CPU).\n"
"  [--cyclic-buffer KB] Page bitmaps made KB KiB at a time (default 4096);\n"
"                    memory stays bounded for any guest size.\n"
"  [--non-cyclic]    Page bitmaps made all at once.\n"
"  [--splitblock-size KB] [--work-dir DIR] [--non-mmap]\n"
"                    Accepted for compatibility.\n"
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
			if (opt == OPT_CYCLIC_BUFFER)
				c->cyclic_kib = size;
			break;
		case OPT_NON_CYCLIC: c->non_cyclic = true; break;
		case OPT_WORK_DIR: case OPT_NON_MMAP: break;
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
