#include "physbase.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../arch.h"
#include "../bytes.h"
#include "../notes.h"

const char *pb_verdict_name(enum pb_verdict v)
{
	switch (v) {
	case PB_NOT_TRIED: return "not applicable";
	case PB_FAILED: return "failed";
	case PB_UNCHECKED: return "found, unchecked";
	case PB_VALID: return "valid";
	case PB_INVALID: return "invalid";
	case PB_DISTRUSTED: return "not trusted";
	}
	return "?";
}

const char *pb_fmt_signed(int64_t v, char *buf, size_t len)
{
	if (v < 0)
		snprintf(buf, len, "-0x%" PRIx64, -(uint64_t)v);
	else
		snprintf(buf, len, "0x%" PRIx64, (uint64_t)v);
	return buf;
}

struct pb_cand *pb_add(struct pb_ctx *ctx, const char *method)
{
	if (ctx->n == PB_MAX)
		return NULL;
	struct pb_cand *c = &ctx->c[ctx->n++];
	memset(c, 0, sizeof(*c));
	c->method = method;
	return c;
}

static void say(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* Fill a candidate's values from a VMCOREINFO text. */
static bool values_from_text(struct pb_cand *c, const char *text, size_t len)
{
	struct vmcoreinfo v;
	err_t *e = vmcoreinfo_init(&v, text, len);
	if (e) {
		err_free(e);
		return false;
	}
	int64_t pb;
	uint64_t off;
	if (vmcoreinfo_num(&v, "NUMBER(phys_base)", &pb)) {
		c->phys_base = pb;
		c->has_pb = true;
	}
	if (vmcoreinfo_hex(&v, "KERNELOFFSET", &off)) {
		c->kaslr = off;
		c->has_kaslr = true;
	}
	vmcoreinfo_deinit(&v);
	return c->has_pb || c->has_kaslr;
}

void pb_method_vmcoreinfo_note(struct pb_ctx *ctx)
{
	struct pb_cand *c = pb_add(ctx, "vmcoreinfo-note");
	struct note n;
	struct dump *d = ctx->d;
	if (!c)
		return;
	if (!d->notes || !notes_find(d->notes, d->notes_size, d->big_endian, "VMCOREINFO", 0, &n)) {
		c->verdict = PB_NOT_TRIED;
		say(c->note, sizeof(c->note), "the dump has no VMCOREINFO note");
		return;
	}
	if (!values_from_text(c, (const char *)n.desc, n.descsz)) {
		c->verdict = PB_FAILED;
		say(c->note, sizeof(c->note), "the VMCOREINFO note has neither NUMBER(phys_base) nor "
		    "KERNELOFFSET");
	} else {
		c->verdict = PB_UNCHECKED;
		say(c->note, sizeof(c->note), "written by the guest kernel");
	}
	if ((c->vmcoreinfo = malloc(n.descsz + 1))) {
		memcpy(c->vmcoreinfo, n.desc, n.descsz);
		c->vmcoreinfo[n.descsz] = 0;
		c->vmcoreinfo_len = strnlen(c->vmcoreinfo, n.descsz);
	}
}

void pb_method_kdump_header(struct pb_ctx *ctx)
{
	struct pb_cand *c = pb_add(ctx, "kdump-header");
	struct dump *d = ctx->d;
	if (!c)
		return;
	if (d->format != FMT_KDUMP) {
		c->verdict = PB_NOT_TRIED;
		say(c->note, sizeof(c->note), "not a kdump-compressed input");
		return;
	}
	if (!d->kdump.phys_base_known) {
		c->verdict = PB_FAILED;
		say(c->note, sizeof(c->note), "the header says phys_base is unknown");
		return;
	}
	c->phys_base = d->kdump.phys_base;
	c->has_pb = true;
	if (ctx->origin == ORIGIN_QEMU_KDUMP) {
		/* QEMU writes 0 on x86 without VMCOREINFO, and QEMU 7.2 parses
		 * the guest's decimal NUMBER(phys_base) as hex. */
		c->verdict = PB_DISTRUSTED;
		say(c->note, sizeof(c->note), "written by QEMU, which does not know the guest's "
		    "phys_base");
		return;
	}
	c->verdict = PB_UNCHECKED;
	say(c->note, sizeof(c->note), "from the kdump sub header");
}

/* ---- guest-RAM scan for VMCOREINFO ---- */

struct vmci_copy {
	uint64_t pa;
	char *text;
	size_t len;
	bool note_form;
};

#define MAX_COPIES 8

static const char OSREL[] = "OSRELEASE=";

static size_t text_len(const uint8_t *p, size_t max)
{
	size_t n = 0;
	while (n < max && p[n] && (p[n] == '\n' || (p[n] >= 0x20 && p[n] < 0x7f)))
		n++;
	return n;
}

/* Looks like VMCOREINFO: starts with OSRELEASE= and has a PAGESIZE line. */
static bool plausible(const uint8_t *p, size_t len)
{
	return len > 40 && memcmp(p, OSREL, sizeof(OSREL) - 1) == 0 &&
	       memmem(p, len, "\nPAGESIZE=", 10) != NULL;
}

static void add_copy(struct vmci_copy *cp, int *n, uint64_t pa, const uint8_t *p, size_t len,
		     bool note_form)
{
	if (*n == MAX_COPIES)
		return;
	char *t = malloc(len + 1);
	if (!t)
		return;
	memcpy(t, p, len);
	t[len] = 0;
	cp[(*n)++] = (struct vmci_copy){ pa, t, len, note_form };
}

static err_t *scan_ram(struct dump *d, struct vmci_copy *cp, int *n, bool note_form)
{
	uint64_t ps = d->page_size;
	uint8_t *page = malloc(2 * ps);
	if (!page)
		return err_new(ERR_NOMEM, "out of memory");
	err_t *e = NULL;
	static const char name[] = "VMCOREINFO";
	for (size_t r = 0; r < d->nram && !e; r++) {
		uint64_t first = d->ram[r].start / ps, last = div_up(d->ram[r].data_end, ps);
		bool have_prev = false;
		for (uint64_t pfn = first; pfn < last && !e; pfn++) {
			enum page_state st;
			uint8_t *cur = page + ps;
			if (have_prev)
				memcpy(page, page + ps, ps);
			e = dump_read_page(d, pfn, cur, &st);
			if (e || st != PAGE_PRESENT) {
				have_prev = false;
				continue;
			}
			if (!note_form) {
				/* vmcoreinfo_data (4.13+) is a page of its own */
				size_t len = text_len(cur, ps);
				if (plausible(cur, len))
					add_copy(cp, n, pfn * ps, cur, len, false);
			} else {
				/* The ELF note form: Nhdr, "VMCOREINFO\0" padded to
				 * 12 bytes, text.  Search this page, text may run
				 * into the next one: look in the previous page's
				 * tail too. */
				const uint8_t *base = have_prev ? page : cur;
				size_t span = have_prev ? 2 * ps : ps;
				const uint8_t *p = have_prev ? page + ps - 16 : cur;
				while ((p = memmem(p, (size_t)(base + span - p), name, sizeof(name)))) {
					const uint8_t *text = p + 12;
					size_t avail = (size_t)(base + span - text);
					size_t len = text_len(text, avail);
					if (p >= base + 12 && plausible(text, len)) {
						uint64_t pa = (pfn - (have_prev ? 1 : 0)) * ps +
							      (uint64_t)(text - base);
						add_copy(cp, n, pa, text, len, true);
					}
					p += sizeof(name);
					if (p >= base + span)
						break;
				}
			}
			have_prev = true;
		}
	}
	free(page);
	return e;
}

void pb_method_ram_scan(struct pb_ctx *ctx)
{
	struct pb_cand *c = pb_add(ctx, "ram-scan");
	if (!c)
		return;
	struct vmci_copy cp[MAX_COPIES];
	int n = 0;
	err_t *e = scan_ram(ctx->d, cp, &n, false);
	if (!e && n == 0)
		e = scan_ram(ctx->d, cp, &n, true);
	if (e) {
		c->verdict = PB_FAILED;
		say(c->note, sizeof(c->note), "scan failed: %s", err_msg(e));
		err_free(e);
		return;
	}
	if (n == 0) {
		c->verdict = PB_FAILED;
		say(c->note, sizeof(c->note), "no VMCOREINFO text in guest RAM");
		return;
	}
	/* Several copies (a kdump kernel keeps its own; notes duplicate the
	 * data page): prefer the one matching the vmlinux, then one whose
	 * values the arch can validate, then the lowest address. */
	int best = -1;
	const char *why = "the only copy";
	if (n > 1)
		why = "lowest address";
	for (int i = 0; i < n && best < 0; i++) {
		if (ctx->syms && ctx->syms->build_id[0] &&
		    strstr(cp[i].text, ctx->syms->build_id)) {
			best = i;
			why = "BUILD-ID matches the vmlinux";
		}
	}
	for (int i = 0; i < n && best < 0; i++) {
		struct pb_cand t = { 0 };
		values_from_text(&t, cp[i].text, cp[i].len);
		const struct arch_ops *a = ctx->k->arch;
		if (t.has_pb && a && a->pb_validate &&
		    a->pb_validate(ctx, cp[i].text, cp[i].len, t.phys_base, t.has_kaslr, t.kaslr,
				   t.note, sizeof(t.note))) {
			best = i;
			why = "its values read the kernel's utsname";
		}
	}
	if (best < 0)
		best = 0;
	values_from_text(c, cp[best].text, cp[best].len);
	c->verdict = c->has_pb || c->has_kaslr ? PB_UNCHECKED : PB_FAILED;
	say(c->note, sizeof(c->note), "%d cop%s; chose 0x%" PRIx64 "%s (%s)", n, n == 1 ? "y" : "ies",
	    cp[best].pa, cp[best].note_form ? " (note form)" : "", why);
	c->vmcoreinfo = cp[best].text;
	c->vmcoreinfo_len = cp[best].len;
	for (int i = 0; i < n; i++)
		if (i != best)
			free(cp[i].text);
}

/* ---- choosing ---- */

/* Precedence, most trusted first. */
static const char *const precedence[] = {
	"override", "vmcoreinfo-note", "cpu-state", "ram-scan", "banner-probe", "idt",
	"kdump-header",
};

static int rank(const char *method)
{
	for (size_t i = 0; i < sizeof(precedence) / sizeof(precedence[0]); i++)
		if (strcmp(method, precedence[i]) == 0)
			return (int)i;
	return 100;
}

static const char *best_vmcoreinfo(const struct pb_ctx *ctx, const char **source, size_t *len)
{
	for (int i = 0; i < ctx->n; i++)
		if (ctx->c[i].vmcoreinfo && strcmp(ctx->c[i].method, "vmcoreinfo-note") == 0) {
			*source = "dump";
			*len = ctx->c[i].vmcoreinfo_len;
			return ctx->c[i].vmcoreinfo;
		}
	for (int i = 0; i < ctx->n; i++)
		if (ctx->c[i].vmcoreinfo && ctx->c[i].verdict != PB_INVALID) {
			*source = "guest RAM";
			*len = ctx->c[i].vmcoreinfo_len;
			return ctx->c[i].vmcoreinfo;
		}
	return NULL;
}

static void validate_all(struct pb_ctx *ctx)
{
	const struct arch_ops *a = ctx->k->arch;
	const char *src = NULL;
	size_t vlen = 0;
	const char *vtext = best_vmcoreinfo(ctx, &src, &vlen);
	for (int i = 0; i < ctx->n; i++) {
		struct pb_cand *c = &ctx->c[i];
		if (c->verdict != PB_UNCHECKED || !c->has_pb || !a || !a->pb_validate)
			continue;
		const char *t = c->vmcoreinfo ? c->vmcoreinfo : vtext;
		size_t tl = c->vmcoreinfo ? c->vmcoreinfo_len : vlen;
		bool ok = a->pb_validate(ctx, t, tl, c->phys_base, c->has_kaslr, c->kaslr, c->check,
					 sizeof(c->check));
		if (ok)
			c->verdict = PB_VALID;
		else if (c->check[0])
			c->verdict = PB_INVALID;
	}
}

static bool has_answer(const struct pb_cand *c)
{
	return c->has_pb && (c->verdict == PB_VALID || c->verdict == PB_UNCHECKED);
}

err_t *physbase_derive(struct pb_ctx *ctx, struct pb_result *res)
{
	memset(res, 0, sizeof(*res));
	res->winner = -1;
	const struct arch_ops *a = ctx->k->arch;
	if (ctx->have_override_pb || ctx->have_override_kaslr) {
		struct pb_cand *c = pb_add(ctx, "override");
		if (c) {
			c->has_pb = ctx->have_override_pb;
			c->phys_base = ctx->override_pb;
			c->has_kaslr = ctx->have_override_kaslr;
			c->kaslr = ctx->override_kaslr;
			c->verdict = PB_UNCHECKED;
			say(c->note, sizeof(c->note), "given on the command line");
		}
	}
	pb_method_vmcoreinfo_note(ctx);
	bool have_note = ctx->c[ctx->n - 1].vmcoreinfo != NULL;
	if (a && a->pb_methods)
		a->pb_methods(ctx);
	if (!have_note || ctx->probe_all)
		pb_method_ram_scan(ctx);
	pb_method_kdump_header(ctx);
	validate_all(ctx);

	/* The user's word first, even when it does not validate (the
	 * disagreement is reported); then valid answers by precedence; an
	 * unchecked one only when nothing validates. */
	for (int i = 0; i < ctx->n; i++)
		if (strcmp(ctx->c[i].method, "override") == 0 && ctx->c[i].has_pb)
			res->winner = i;
	for (int pass = 0; pass < 2 && res->winner < 0; pass++) {
		int best = -1;
		for (int i = 0; i < ctx->n; i++) {
			const struct pb_cand *c = &ctx->c[i];
			bool ok = pass == 0 ? c->verdict == PB_VALID && c->has_pb : has_answer(c);
			if (ok && (best < 0 || rank(c->method) < rank(ctx->c[best].method)))
				best = i;
		}
		res->winner = best;
	}
	/* An override of one value only: the other comes from the methods. */
	if (res->winner >= 0) {
		const struct pb_cand *w = &ctx->c[res->winner];
		res->phys_base = w->phys_base;
		res->has_kaslr = w->has_kaslr;
		res->kaslr = w->kaslr;
	} else if (ctx->have_override_kaslr && !ctx->have_override_pb) {
		/* no phys_base at all: fall through to the error */
	}
	if (res->winner >= 0 && (!res->has_kaslr || ctx->c[res->winner].kaslr_assumed)) {
		for (int pass = 0; pass < 2; pass++)
			for (int i = 0; i < ctx->n; i++) {
				const struct pb_cand *c = &ctx->c[i];
				if (c->has_kaslr && !c->kaslr_assumed &&
				    (pass ? has_answer(c) : c->verdict == PB_VALID) &&
				    (!c->has_pb || c->phys_base == res->phys_base)) {
					res->kaslr = c->kaslr;
					res->has_kaslr = true;
					pass = 2;
					break;
				}
			}
	}
	if (res->winner < 0) {
		char *msg = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&msg, &len);
		if (f) {
			fprintf(f, "cannot derive phys_base; tried:");
			for (int i = 0; i < ctx->n; i++)
				fprintf(f, "\n  %-16s %s: %s%s%s", ctx->c[i].method,
					pb_verdict_name(ctx->c[i].verdict), ctx->c[i].note,
					ctx->c[i].check[0] ? "; " : "", ctx->c[i].check);
			fclose(f);
		}
		err_t *e = err_new(ERR_FORMAT, "%s", msg ? msg : "cannot derive phys_base");
		free(msg);
		return e;
	}
	for (int i = 0; i < ctx->n; i++) {
		const struct pb_cand *c = &ctx->c[i];
		if (i == res->winner && c->verdict == PB_INVALID)
			res->disagreements++;   /* an override that does not validate */
		if (!has_answer(c) && c->verdict != PB_DISTRUSTED)
			continue;
		if (c->has_pb && c->phys_base != res->phys_base)
			res->disagreements++;
		else if (c->has_kaslr && !c->kaslr_assumed && res->has_kaslr && c->kaslr != res->kaslr)
			res->disagreements++;
	}
	const char *src = NULL;
	size_t vlen = 0;
	const char *vtext = best_vmcoreinfo(ctx, &src, &vlen);
	if (vtext && (res->vmcoreinfo = malloc(vlen + 1))) {
		memcpy(res->vmcoreinfo, vtext, vlen);
		res->vmcoreinfo[vlen] = 0;
		res->vmcoreinfo_len = vlen;
		res->vmcoreinfo_source = src;
	}
	return NULL;
}

void physbase_ctx_deinit(struct pb_ctx *ctx)
{
	for (int i = 0; i < ctx->n; i++)
		free(ctx->c[i].vmcoreinfo);
	ctx->n = 0;
}

void pb_result_deinit(struct pb_result *res)
{
	free(res->vmcoreinfo);
	memset(res, 0, sizeof(*res));
}

char *pb_output_vmcoreinfo(const char *text, const struct symtab *syms, int64_t phys_base,
			   bool has_kaslr, uint64_t kaslr, uint32_t page_size, const char *release)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	if (text) {
		size_t tl = strlen(text);
		fputs(text, f);
		if (tl && text[tl - 1] != '\n')
			fputc('\n', f);
	} else {
		/* Only what a symbol table gives: enough for readers to place
		 * the kernel (OSRELEASE, symbols, phys_base, KASLR). */
		if (release && release[0])
			fprintf(f, "OSRELEASE=%s\n", release);
		if (syms && syms->build_id[0])
			fprintf(f, "BUILD-ID=%s\n", syms->build_id);
		fprintf(f, "PAGESIZE=%u\n", page_size);
		static const struct { enum sym_id id; const char *name; } exported[] = {
			{ SYM_INIT_UTS_NS, "init_uts_ns" }, { SYM_STEXT, "_stext" },
			{ SYM_INIT_TOP_PGT, "swapper_pg_dir" }, { SYM_VMAP_AREA_LIST, "vmap_area_list" },
			{ SYM_PRB, "prb" },
		};
		uint64_t a;
		for (size_t i = 0; i < sizeof(exported) / sizeof(exported[0]); i++)
			if (has_kaslr && sym_get(syms, exported[i].id, &a))
				fprintf(f, "SYMBOL(%s)=%" PRIx64 "\n", exported[i].name, a + kaslr);
	}
	struct vmcoreinfo v = { 0 };
	bool parsed = text && !vmcoreinfo_init(&v, text, strlen(text));
	if (!parsed || !vmcoreinfo_has(&v, "NUMBER(phys_base)"))
		fprintf(f, "NUMBER(phys_base)=%" PRId64 "\n", phys_base);
	if (has_kaslr && (!parsed || !vmcoreinfo_has(&v, "KERNELOFFSET")))
		fprintf(f, "KERNELOFFSET=%" PRIx64 "\n", kaslr);
	if (parsed)
		vmcoreinfo_deinit(&v);
	fclose(f);
	return out;
}
