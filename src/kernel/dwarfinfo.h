/* Kernel type facts from the vmlinux debug information (libdw), gathered
 * in one pass over the compile units that stops as soon as every question
 * is answered; and VMCOREINFO text built from them (-g). */
#ifndef MKDF_DWARFINFO_H
#define MKDF_DWARFINFO_H

#include <stdbool.h>
#include <stdint.h>

#include "../err.h"
#include "symbols.h"

/* VMCOREINFO text with link-time values, in the kernel's own key format:
 * OSRELEASE, PAGESIZE, SYMBOL(), SIZE(), OFFSET(), LENGTH(), NUMBER(). */
err_t *dwarf_vmcoreinfo(const char *vmlinux, const struct symtab *st, uint32_t page_size,
			char **text);

#endif
