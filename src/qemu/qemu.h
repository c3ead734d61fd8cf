/* Where a dump came from, and the vCPU state QEMU saves in its notes. */
#ifndef MKDF_QEMU_H
#define MKDF_QEMU_H

#include <stdbool.h>
#include <stdint.h>

#include "../dump.h"

enum dump_origin {
	ORIGIN_UNKNOWN,
	ORIGIN_KDUMP,         /* /proc/vmcore or a kdump-made file */
	ORIGIN_QEMU_ELF,      /* dump-guest-memory, ELF */
	ORIGIN_QEMU_KDUMP,    /* dump-guest-memory, kdump-compressed (flattened or raw) */
	ORIGIN_CONVERTED,     /* a QEMU dump this tool already converted */
};

const char *origin_name(enum dump_origin o);

/* QEMUCPUState version 1 (x86), as saved in "QEMU" notes. */
struct qemu_cpu {
	uint64_t regs[16];        /* rax rbx rcx rdx rsi rdi rsp rbp r8..r15 */
	uint64_t rip, rflags;
	uint64_t gdt_base, idt_base;
	uint32_t idt_limit;
	uint64_t cr[5];
	uint64_t kernel_gs_base;
	bool has_kernel_gs_base;
};

#define QEMU_CPU_MAX 256

/* All QEMU CPU notes in D's note blob (x86 layout), at most MAX, into OUT
 * (NULL: only count them); returns the count. */
int qemu_cpus(const struct dump *d, struct qemu_cpu *out, int max);

enum dump_origin dump_origin(const struct dump *d);

#endif
