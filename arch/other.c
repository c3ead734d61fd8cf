/* Architectures whose dumps are converted page by page without kernel
 * knowledge yet: only their on-disk facts live here. */
#include "../src/arch.h"

#include <elf.h>
#include <string.h>

#ifndef EM_RISCV
#define EM_RISCV 243
#endif
#ifndef EM_LOONGARCH
#define EM_LOONGARCH 258
#endif

const struct arch_ops arch_aarch64 = { .name = "aarch64", .e_machine = EM_AARCH64,
	.wordsize = 8, .page_size = 4096, .prstatus_size = 392 };
const struct arch_ops arch_arm = { .name = "arm", .e_machine = EM_ARM,
	.wordsize = 4, .page_size = 4096, .prstatus_size = 148 };
const struct arch_ops arch_ppc64 = { .name = "ppc64", .e_machine = EM_PPC64,
	.wordsize = 8, .big_endian = true, .page_size = 65536, .prstatus_size = 504 };
const struct arch_ops arch_ppc64le = { .name = "ppc64le", .e_machine = EM_PPC64,
	.wordsize = 8, .page_size = 65536, .prstatus_size = 504 };
const struct arch_ops arch_s390x = { .name = "s390x", .e_machine = EM_S390,
	.wordsize = 8, .big_endian = true, .page_size = 4096, .prstatus_size = 336 };
const struct arch_ops arch_riscv64 = { .name = "riscv64", .e_machine = EM_RISCV,
	.wordsize = 8, .page_size = 4096, .prstatus_size = 376 };
const struct arch_ops arch_mips = { .name = "mips", .e_machine = EM_MIPS,
	.wordsize = 4, .big_endian = true, .page_size = 4096 };
const struct arch_ops arch_loongarch64 = { .name = "loongarch64", .e_machine = EM_LOONGARCH,
	.wordsize = 8, .page_size = 16384 };

static const struct arch_ops *const all_arches[] = {
	&arch_x86_64, &arch_i386, &arch_aarch64, &arch_arm, &arch_ppc64, &arch_ppc64le,
	&arch_s390x, &arch_riscv64, &arch_mips, &arch_loongarch64,
};

const struct arch_ops *arch_by_elf(uint16_t e_machine, int wordsize, bool big_endian)
{
	if (e_machine == EM_PPC64)
		return big_endian ? &arch_ppc64 : &arch_ppc64le;
	for (unsigned i = 0; i < sizeof(all_arches) / sizeof(all_arches[0]); i++)
		if (all_arches[i]->e_machine == e_machine && all_arches[i]->wordsize == wordsize)
			return all_arches[i];
	return NULL;
}

const struct arch_ops *arch_by_name(const char *machine)
{
	static const struct { const char *alias; const struct arch_ops *arch; } aliases[] = {
		{ "amd64", &arch_x86_64 }, { "i686", &arch_i386 }, { "i586", &arch_i386 },
		{ "arm64", &arch_aarch64 }, { "s390", &arch_s390x },
	};
	for (unsigned i = 0; i < sizeof(all_arches) / sizeof(all_arches[0]); i++)
		if (strcmp(all_arches[i]->name, machine) == 0)
			return all_arches[i];
	for (unsigned i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcmp(aliases[i].alias, machine) == 0)
			return aliases[i].arch;
	if (strncmp(machine, "arm", 3) == 0)
		return &arch_arm;
	if (strncmp(machine, "mips", 4) == 0)
		return &arch_mips;
	return NULL;
}
