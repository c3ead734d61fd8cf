/* Kernel symbols from a vmlinux (ELF symbol table, read once) or from a
 * System.map-style text file: only the symbols this tool asks for. */
#ifndef MKDF_SYMBOLS_H
#define MKDF_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../err.h"

enum sym_id {
	SYM_TEXT, SYM_STEXT, SYM_LINUX_BANNER, SYM_PHYS_BASE, SYM_INIT_UTS_NS,
	SYM_DIVIDE_ERROR, SYM_IDT_TABLE, SYM_SWAPPER_PG_DIR, SYM_INIT_TOP_PGT,
	SYM_VMCOREINFO_DATA, SYM_NODE_ONLINE_MAP, SYM_VMAP_AREA_LIST, SYM_MEM_SECTION,
	SYM_PRB, SYM_END, SYM_PRINTK_RB_STATIC, SYM_CLEAR_SEQ, SYM_LOG_BUF, SYM_LOG_BUF_LEN,
	SYM_LOG_FIRST_IDX, SYM_LOG_NEXT_IDX, SYM_CLEAR_IDX, SYM_MEM_MAP, SYM_CONTIG_PAGE_DATA,
	SYM_NODE_DATA,
	SYM_COUNT
};

struct symtab {
	char *path;
	bool from_vmlinux;          /* false: System.map text */
	uint64_t addr[SYM_COUNT];   /* link-time addresses */
	bool have[SYM_COUNT];
	uint8_t *banner;            /* linux_banner bytes (vmlinux only) */
	size_t banner_len;
	char build_id[41];          /* hex, "" if unknown */
	char release[65];           /* from the banner, "" if unknown */
};

extern const char *const sym_names[SYM_COUNT];

err_t *symtab_load(const char *path, struct symtab *st);
void symtab_deinit(struct symtab *st);

static inline bool sym_get(const struct symtab *st, enum sym_id id, uint64_t *addr)
{
	if (!st || !st->have[id])
		return false;
	*addr = st->addr[id];
	return true;
}

#endif
