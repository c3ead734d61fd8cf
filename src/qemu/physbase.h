/* Deriving phys_base and the KASLR offset (KERNELOFFSET) of the dumped
 * kernel.  Each method is its own function and yields a candidate; every
 * candidate is validated against the dump, the candidates are cross-checked,
 * and a fixed precedence picks the answer.  Architecture-specific methods
 * come from the arch ops table. */
#ifndef MKDF_PHYSBASE_H
#define MKDF_PHYSBASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../dump.h"
#include "../err.h"
#include "../kernel/kernel.h"
#include "../kernel/symbols.h"
#include "qemu.h"

enum pb_verdict {
	PB_NOT_TRIED,    /* does not apply to this dump */
	PB_FAILED,       /* applies, found nothing */
	PB_UNCHECKED,    /* found a value, nothing to validate it with */
	PB_VALID,        /* found and validated */
	PB_INVALID,      /* found, but validation failed */
	PB_DISTRUSTED,   /* present but not to be trusted (QEMU header) */
};

struct pb_cand {
	const char *method;
	enum pb_verdict verdict;
	bool has_pb, has_kaslr;
	int64_t phys_base;
	uint64_t kaslr;
	bool kaslr_assumed;     /* from the default link address, not a symbol */
	char note[256];         /* how it was found, or why not */
	char check[160];        /* validation detail */
	char *vmcoreinfo;       /* text found by this method (owned) */
	size_t vmcoreinfo_len;
};

#define PB_MAX 16

struct pb_ctx {
	struct dump *d;
	struct kernel *k;
	const struct symtab *syms;     /* may be NULL */
	enum dump_origin origin;
	bool probe_all;                /* run every method, even when not needed */
	bool have_override_pb, have_override_kaslr;
	int64_t override_pb;
	uint64_t override_kaslr;
	struct pb_cand c[PB_MAX];
	int n;
};

struct pb_result {
	int64_t phys_base;
	uint64_t kaslr;
	bool has_kaslr;
	int winner;                    /* index into ctx->c */
	int disagreements;
	/* VMCOREINFO text to embed in the output (NULL if none), and where it
	 * came from: "dump", "guest RAM", "generated". */
	char *vmcoreinfo;
	size_t vmcoreinfo_len;
	const char *vmcoreinfo_source;
};

struct pb_cand *pb_add(struct pb_ctx *ctx, const char *method);

/* Run the methods, validate, cross-check, choose.  An error lists every
 * method and why it failed. */
err_t *physbase_derive(struct pb_ctx *ctx, struct pb_result *res);
void physbase_ctx_deinit(struct pb_ctx *ctx);
void pb_result_deinit(struct pb_result *res);

const char *pb_verdict_name(enum pb_verdict v);
/* "0x1c00000" or "-0x14a00000" */
const char *pb_fmt_signed(int64_t v, char *buf, size_t len);

/* Generic methods (any architecture). */
void pb_method_vmcoreinfo_note(struct pb_ctx *ctx);
void pb_method_ram_scan(struct pb_ctx *ctx);
void pb_method_kdump_header(struct pb_ctx *ctx);



/* VMCOREINFO text for the output: TEXT (may be NULL) completed with
 * NUMBER(phys_base) and KERNELOFFSET when it lacks them, or, without TEXT,
 * generated from the vmlinux symbols (may be NULL) and the derived values.
 * Returns a malloc'd string or NULL. */
char *pb_output_vmcoreinfo(const char *text, const struct symtab *syms, int64_t phys_base,
			   bool has_kaslr, uint64_t kaslr, uint32_t page_size, const char *release);

#endif
