/* Preparing the kernel view for a run: origin, phys_base/KASLR, VMCOREINFO
 * (the dump's, guest RAM's, -i, -x), the memory cap, utsname, output notes. */
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

void debug_describe(const struct dump *d)
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


void prep_deinit(struct prep *p)
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
	int ncpu = qemu_cpus(d, NULL, QEMU_CPU_MAX);
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
	if (!k->have_vmci)
		return false;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!vmcoreinfo_has(&k->vmci, keys[i]))
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
int prepare(const struct config *c, struct dump *d, struct prep *p)
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

/* Open the input and prepare the kernel view for the modes that only read
 * it.  Returns -1 to go on (then *D and *P are to be released), else the
 * exit status. */
int open_prepared(const struct config *c, int nargs, struct dump **d, struct prep *p)
{
	if (c->nargs != nargs) {
		usage_hint();
		return 1;
	}
	if (c->check_params)
		return 0;
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
