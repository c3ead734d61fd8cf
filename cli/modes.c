/* The modes: conversion (kdump, ELF, flattened), -R, --dump-dmesg,
 * --mem-usage, -g. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../diskdump_mod.h"
#include "../src/arch.h"
#include "../src/bytes.h"
#include "../src/codec/codec.h"
#include "../src/kernel/dmesg.h"
#include "../src/kernel/dwarfinfo.h"
#include "../src/notes.h"
#include "../src/output/sink.h"
#include "../src/rearrange.h"
#include "cli.h"

struct progress {
	const char *label;
	struct timespec start;
	bool tty;
	int last_tenth;
	uint32_t page_size;
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
	/* pages gone through (read, or known zero), in MB of guest memory */
	double rate = t > 0 ? (double)done * p->page_size / 1e6 / t : 0;
	fprintf(stderr, "\r%-34s: [%5.1f %%] eta: %4.0fs  %7.1f MB/s", p->label, frac * 100.0,
		final ? 0 : eta, rate);
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
}

/* ---- create mode ---- */


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

/* The writers may go over a cycle of pfns more than once (bitmaps made a
 * cycle at a time): the counts of excluded pages are those of the first
 * time.  Cycles are known by their first pfn. */
static err_t *filter_cb(void *arg, uint64_t start, uint64_t n, uint8_t *map)
{
	struct filter *f = arg;
	bool seen = false;
	for (size_t i = 0; i < f->ncounted && !seen; i++)
		seen = f->counted[i] == start;
	if (!seen) {
		uint64_t *nc = realloc(f->counted, (f->ncounted + 1) * sizeof(*nc));
		if (!nc)
			return err_new(ERR_NOMEM, "out of memory");
		f->counted = nc;
		f->counted[f->ncounted++] = start;
		return filter_apply(f, start, n, map);
	}
	uint64_t count[PC_COUNT], unreadable = f->unreadable;
	memcpy(count, f->count, sizeof(count));
	err_t *e = filter_apply(f, start, n, map);
	memcpy(f->count, count, sizeof(count));
	f->unreadable = unreadable;
	return e;
}

static void print_stats(const struct out_stats *st, const struct dump *d, const struct filter *f,
			double seconds)
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
	if (seconds > 0) {
		double pages = (double)(st->dumped_pages + st->zero_pages);
		msg(lv, "  time writing pages    : %.2f s\n", seconds);
		msg(lv, "  throughput            : %.1f MB/s of guest pages, %.1f MB/s written\n",
		    pages * d->page_size / 1e6 / seconds, (double)st->bytes / 1e6 / seconds);
	}
}


/* --num-threads, else one per online CPU. */
static int compression_threads(const struct config *c)
{
	long n = c->num_threads > 0 ? c->num_threads : sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (n > 64)
		n = 64;
	if (!c->elf_out && n > 1)
		msg(ML_COMMON, "Compressing with %ld threads.\n", n);
	return (int)n;
}

int run_create(struct config *c)
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
				 .last_tenth = -1, .page_size = d->page_size };
	struct out_opts o = {
		.codec = c->codec, .phys_base = hf.phys_base, .nthreads = compression_threads(c),
		.cycle_pfns = c->non_cyclic ? UINT64_MAX : c->cyclic_kib > UINT64_MAX / 8192 ?
			      UINT64_MAX : c->cyclic_kib * 8192,
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
	double seconds = 0;
	int status = 1;
	bool keep = false, created = false;
	for (int li = 0; li < c->nlevels; li++) {
		memset(&st, 0, sizeof(st));
		o.dump_level = c->levels[li] | prev_level;
		memset(flt.count, 0, sizeof(flt.count));
		flt.ncounted = 0;
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
		seconds = elapsed(&prog.start);
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
			print_stats(&st, d, o.filter ? &flt : NULL, seconds);
		if (!c->flatten && !c->dry_run)
			msg(ML_COMMON, "\nThe dumpfile is saved to %s.\n", out);
		status = 0;
	}
	filter_deinit(&flt);
	prep_deinit(&p);
	dump_close(d);
	return status;
}

int run_rearrange(struct config *c)
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

/* A text output: refused when it exists, unless -f. */
static err_t *create_file(const char *path, bool force, int mode, int *fd)
{
	*fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL), mode);
	if (*fd >= 0)
		return NULL;
	if (errno == EEXIST)
		return err_new(ERR_USAGE, "'%s' already exists (use -f to overwrite it)", path);
	return err_errno(errno, "cannot create '%s'", path);
}

static int not_yet(const char *what)
{
	fprintf(stderr, "makedumpfile: %s is not supported by this makedumpfile yet\n", what);
	return 1;
}
int run_split(struct config *c) { (void)c; return not_yet("--split"); }
int run_reassemble(struct config *c) { (void)c; return not_yet("--reassemble"); }
int run_dmesg(struct config *c)
{
	struct dump *d = NULL;
	struct prep p;
	int st = open_prepared(c, 2, &d, &p);
	if (st >= 0)
		return st;
	err_t *e = NULL;
	if (!p.k.pgd_known && (e = kernel_setup_paging(&p.k)))
		e = err_wrap(e, "'%s': cannot read the kernel's memory", d->name);
	FILE *f = NULL;
	int fd = -1;
	if (!e && !(e = create_file(c->args[1], c->force, 0600, &fd)) && !(f = fdopen(fd, "w"))) {
		e = err_errno(errno, "cannot write '%s'", c->args[1]);
		close(fd);
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
int run_mem_usage(struct config *c)
{
	struct dump *d = NULL;
	struct prep p;
	int st = open_prepared(c, 1, &d, &p);
	if (st >= 0)
		return st;
	err_t *e = NULL;
	struct filter f;
	/* a cycle of pfns at a time, as the writers do */
	uint64_t len = cycle_len(d->max_pfn, 0), zero = 0, kept = 0, total = 0;
	uint64_t bytes = div_up(len, 8);
	uint8_t *map = malloc(bytes + 8), *page = malloc(d->page_size);
	e = !map || !page ? err_new(ERR_NOMEM, "out of memory") : NULL;
	if (!e)
		e = filter_init(&f, &p.k, DL_CACHE | DL_CACHE_PRI | DL_USER | DL_FREE, d->max_pfn);
	for (uint64_t start = 0; !e && start < d->max_pfn; start += len) {
		uint64_t n = d->max_pfn - start < len ? d->max_pfn - start : len;
		memset(map, 0, bytes + 8);
		if ((e = dump_saved_map(d, start, n, map)))
			break;
		for (uint64_t i = 0; i < div_up(n, 8); i++)
			total += (uint64_t)__builtin_popcount(map[i]);
		if ((e = filter_apply(&f, start, n, map)))
			break;
		uint64_t known_end = 0;
		bool known_zero = false;
		for (uint64_t i = 0; !e && i < n; i++) {
			if (!(map[i >> 3] >> (i & 7) & 1))
				continue;
			if (start + i >= known_end)
				known_end = start + i + dump_zero_run(d, start + i, n - i, &known_zero);
			if (known_zero) {
				zero++;
				continue;
			}
			enum page_state ps;
			e = dump_read_page(d, start + i, page, &ps);
			if (!e && is_zero_page(page, d->page_size))
				zero++;
			else
				kept++;
		}
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
int run_generate(struct config *c)
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
	if (!e)
		e = create_file(c->vmcoreinfo_out, c->force, 0644, &fd);
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

int run_convert(struct config *c)
{
	bool probe_only = c->physbase_probe && c->nargs == 1 && !c->flatten;
	if (!probe_only && c->nargs != (c->flatten ? 1 : 2)) {
		usage_hint();
		return 1;
	}
	return run_create(c);
}
