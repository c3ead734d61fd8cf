/* Architectures as run-time operation tables: a dump of any architecture is
 * read on any host, and callers never test for a particular architecture. */
#ifndef MKDF_ARCH_H
#define MKDF_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kernel;
struct pb_ctx;

struct arch_ops {
	const char *name;        /* utsname.machine spelling */
	uint16_t e_machine;      /* ELF machine number */
	int wordsize;            /* 4 or 8 */
	bool big_endian;         /* usual byte order (a dump's own header wins) */
	uint32_t page_size;      /* usual page size */
	bool sub_hdr_packed;     /* 32-bit kdump sub header with 4-byte aligned u64 */
	/* Size of the NT_PRSTATUS descriptor (0 if unknown). */
	uint32_t prstatus_size;
	/* Kernel address translation, NULL where not implemented yet. */
	struct err *(*setup_paging)(struct kernel *k);
	struct err *(*vtop)(struct kernel *k, uint64_t va, uint64_t *pa);
	/* The kernel image mapping (virtual start, physical start, length),
	 * as /proc/vmcore describes it with a PT_LOAD of its own. */
	struct err *(*kernel_image)(struct kernel *k, uint64_t *va, uint64_t *pa, uint64_t *size);
	/* phys_base/KASLR methods of this architecture: add candidates. */
	void (*pb_methods)(struct pb_ctx *ctx);
	/* Does (phys_base, KASLR offset) read the kernel where it should be?
	 * VMCOREINFO text (may be NULL) gives runtime symbols.  False with an
	 * empty WHY means there was nothing to check against. */
	bool (*pb_validate)(struct pb_ctx *ctx, const char *vmcoreinfo, size_t len,
			    int64_t phys_base, bool has_kaslr, uint64_t kaslr, char *why,
			    size_t whylen);
};

extern const struct arch_ops arch_x86_64, arch_i386, arch_aarch64, arch_arm,
	arch_ppc64, arch_ppc64le, arch_s390x, arch_riscv64, arch_mips, arch_loongarch64;

const struct arch_ops *arch_by_elf(uint16_t e_machine, int wordsize, bool big_endian);
const struct arch_ops *arch_by_name(const char *machine);

#endif
