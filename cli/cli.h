/* The command line's shared parts: the parsed options, messages, and the
 * preparation of the kernel view that several modes use.  Only the
 * command line (makedumpfile.c and cli/) prints or decides exit status. */
#ifndef MKDF_CLI_H
#define MKDF_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "../src/dump.h"
#include "../src/err.h"
#include "../src/filter/filter.h"
#include "../src/kernel/kernel.h"
#include "../src/kernel/symbols.h"
#include "../src/output/writer.h"
#include "../src/qemu/physbase.h"
#include "../src/qemu/qemu.h"

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
	uint64_t cyclic_kib;          /* --cyclic-buffer; 0: default */
	bool non_cyclic;
	const char *vmlinux, *vmcoreinfo_in, *vmcoreinfo_out;
	bool physbase_probe, have_phys_base, have_kaslr_offset;
	int64_t phys_base;
	uint64_t kaslr_offset;
	char **args;
	int nargs;
};

extern int message_level;
extern bool messages_to_stderr;   /* -F keeps standard output for data */

void msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void print_err(err_t *e);
void usage_hint(void);

/* Header facts for the output: from the input's kdump header, else from its
 * VMCOREINFO, else from the architecture. */
struct header_facts {
	char release[66], machine[66], version[66], nodename[66], domainname[66];
	int64_t phys_base;
	int64_t timestamp;
};

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

/* Symbols, origin, phys_base/KASLR, VMCOREINFO, utsname and the output
 * notes.  Returns -1 to go on, else the exit status. */
int prepare(const struct config *c, struct dump *d, struct prep *p);
void prep_deinit(struct prep *p);
/* For the modes that only read the input: check there are NARGS file
 * arguments, then open the input and prepare it.  Returns -1 to go on
 * (then *D and *P are to be released), else the exit status. */
int open_prepared(const struct config *c, int nargs, struct dump **d, struct prep *p);
void debug_describe(const struct dump *d);

int run_create(struct config *c);
int run_rearrange(struct config *c);
int run_split(struct config *c);
int run_reassemble(struct config *c);
int run_dmesg(struct config *c);
int run_mem_usage(struct config *c);
int run_generate(struct config *c);
int run_convert(struct config *c);

#endif
