#include "qemu.h"

#include <string.h>

#include "../../diskdump_mod.h"
#include "../bytes.h"
#include "../notes.h"

/* QEMUCPUState v1 offsets (x86); 432 bytes before QEMU 3.0, 440 after
 * (kernel_gs_base appended). */
#define QCPU_VERSION 0x000
#define QCPU_SIZE 0x004
#define QCPU_REGS 0x008
#define QCPU_RIP 0x088
#define QCPU_RFLAGS 0x090
#define QCPU_GDT_BASE 0x168
#define QCPU_IDT_LIMIT 0x174
#define QCPU_IDT_BASE 0x180
#define QCPU_CR 0x188
#define QCPU_KGS 0x1b0

const char *origin_name(enum dump_origin o)
{
	switch (o) {
	case ORIGIN_KDUMP: return "kdump";
	case ORIGIN_QEMU_ELF: return "QEMU ELF";
	case ORIGIN_QEMU_KDUMP: return "QEMU kdump";
	case ORIGIN_CONVERTED: return "QEMU (converted by makedumpfile)";
	default: return "unknown";
	}
}

static bool parse_cpu(const struct note *n, bool be, struct qemu_cpu *c)
{
	if (n->descsz < 432)
		return false;
	const uint8_t *p = n->desc;
	uint32_t version = get32(p + QCPU_VERSION, be), size = get32(p + QCPU_SIZE, be);
	if (version != 1 || (size != 432 && size != 440) || size > n->descsz)
		return false;
	memset(c, 0, sizeof(*c));
	for (int i = 0; i < 16; i++)
		c->regs[i] = get64(p + QCPU_REGS + 8 * i, be);
	c->rip = get64(p + QCPU_RIP, be);
	c->rflags = get64(p + QCPU_RFLAGS, be);
	c->gdt_base = get64(p + QCPU_GDT_BASE, be);
	c->idt_limit = get32(p + QCPU_IDT_LIMIT, be);
	c->idt_base = get64(p + QCPU_IDT_BASE, be);
	for (int i = 0; i < 5; i++)
		c->cr[i] = get64(p + QCPU_CR + 8 * i, be);
	if (size >= 440) {
		c->kernel_gs_base = get64(p + QCPU_KGS, be);
		c->has_kernel_gs_base = true;
	}
	return true;
}

int qemu_cpus(const struct dump *d, struct qemu_cpu *out, int max)
{
	struct note_iter it;
	struct note n;
	struct qemu_cpu scratch;
	int count = 0;
	note_iter_init(&it, d->notes, d->notes_size, d->big_endian);
	while (count < max && note_next(&it, &n) > 0)
		if (note_is(&n, "QEMU") && parse_cpu(&n, d->big_endian, out ? &out[count] : &scratch))
			count++;
	return count;
}

enum dump_origin dump_origin(const struct dump *d)
{
	bool qemu_notes = qemu_cpus(d, NULL, 1) > 0;
	if (d->format == FMT_KDUMP) {
		if (d->kdump.status & DUMP_DH_QEMU_ORIGIN)
			return ORIGIN_CONVERTED;
		/* QEMU's kdump writer: empty utsname but for the machine, no
		 * timestamp, dump level 1 (aarch64 has no CPU-state note). */
		bool fingerprint = !d->kdump.release[0] && !d->kdump.nodename[0] &&
			d->kdump.timestamp == 0 && d->kdump.dump_level == 1;
		if (qemu_notes || fingerprint)
			return ORIGIN_QEMU_KDUMP;
		return ORIGIN_KDUMP;
	}
	if (qemu_notes)
		return ORIGIN_QEMU_ELF;
	struct note vn;
	if (d->notes && notes_find(d->notes, d->notes_size, d->big_endian, "VMCOREINFO", 0, &vn))
		return ORIGIN_KDUMP;
	return ORIGIN_UNKNOWN;
}
