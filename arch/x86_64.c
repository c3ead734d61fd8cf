/* x86_64 (and i386) facts needed to read and write their dumps. */
#include "../src/arch.h"

#include <elf.h>

const struct arch_ops arch_x86_64 = {
	.name = "x86_64",
	.e_machine = EM_X86_64,
	.wordsize = 8,
	.page_size = 4096,
	.prstatus_size = 336,
};

const struct arch_ops arch_i386 = {
	.name = "i386",
	.e_machine = EM_386,
	.wordsize = 4,
	.page_size = 4096,
	.sub_hdr_packed = true,
	.prstatus_size = 144,
};
