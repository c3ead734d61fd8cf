#include "dwarfinfo.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum dq_kind { DQ_SIZE, DQ_OFFSET, DQ_MEMBER_LENGTH, DQ_ENUM, DQ_VAR_LENGTH };

struct dq {
	enum dq_kind kind;
	const char *type;     /* struct/typedef name, or variable name */
	const char *member;   /* member or enumerator */
	int64_t value;
	bool found;
};

/* What the filter, the kernel log and the memory model use; printed by -g
 * in this order. */
static struct dq queries[] = {
	{ DQ_SIZE, "page", NULL, 0, false },
	{ DQ_SIZE, "mem_section", NULL, 0, false },
	{ DQ_SIZE, "pglist_data", NULL, 0, false },
	{ DQ_SIZE, "zone", NULL, 0, false },
	{ DQ_SIZE, "free_area", NULL, 0, false },
	{ DQ_SIZE, "list_head", NULL, 0, false },
	{ DQ_SIZE, "nodemask_t", NULL, 0, false },
	{ DQ_OFFSET, "uts_namespace", "name", 0, false },
	{ DQ_OFFSET, "page", "flags", 0, false },
	{ DQ_OFFSET, "page", "_refcount", 0, false },
	{ DQ_OFFSET, "page", "mapping", 0, false },
	{ DQ_OFFSET, "page", "lru", 0, false },
	{ DQ_OFFSET, "page", "_mapcount", 0, false },
	{ DQ_OFFSET, "page", "private", 0, false },
	{ DQ_OFFSET, "page", "compound_dtor", 0, false },
	{ DQ_OFFSET, "page", "compound_order", 0, false },
	{ DQ_OFFSET, "page", "compound_head", 0, false },
	{ DQ_OFFSET, "mem_section", "section_mem_map", 0, false },
	{ DQ_OFFSET, "pglist_data", "node_zones", 0, false },
	{ DQ_OFFSET, "pglist_data", "nr_zones", 0, false },
	{ DQ_OFFSET, "pglist_data", "node_start_pfn", 0, false },
	{ DQ_OFFSET, "pglist_data", "node_spanned_pages", 0, false },
	{ DQ_OFFSET, "pglist_data", "node_id", 0, false },
	{ DQ_OFFSET, "zone", "free_area", 0, false },
	{ DQ_OFFSET, "zone", "vm_stat", 0, false },
	{ DQ_OFFSET, "zone", "spanned_pages", 0, false },
	{ DQ_OFFSET, "free_area", "free_list", 0, false },
	{ DQ_OFFSET, "list_head", "next", 0, false },
	{ DQ_OFFSET, "list_head", "prev", 0, false },
	{ DQ_OFFSET, "vmap_area", "va_start", 0, false },
	{ DQ_OFFSET, "vmap_area", "list", 0, false },
	{ DQ_MEMBER_LENGTH, "zone", "free_area", 0, false },
	{ DQ_SIZE, "printk_ringbuffer", NULL, 0, false },
	{ DQ_OFFSET, "printk_ringbuffer", "desc_ring", 0, false },
	{ DQ_OFFSET, "printk_ringbuffer", "text_data_ring", 0, false },
	{ DQ_OFFSET, "printk_ringbuffer", "fail", 0, false },
	{ DQ_SIZE, "prb_desc_ring", NULL, 0, false },
	{ DQ_OFFSET, "prb_desc_ring", "count_bits", 0, false },
	{ DQ_OFFSET, "prb_desc_ring", "descs", 0, false },
	{ DQ_OFFSET, "prb_desc_ring", "infos", 0, false },
	{ DQ_OFFSET, "prb_desc_ring", "head_id", 0, false },
	{ DQ_OFFSET, "prb_desc_ring", "tail_id", 0, false },
	{ DQ_SIZE, "prb_desc", NULL, 0, false },
	{ DQ_OFFSET, "prb_desc", "state_var", 0, false },
	{ DQ_OFFSET, "prb_desc", "text_blk_lpos", 0, false },
	{ DQ_SIZE, "prb_data_blk_lpos", NULL, 0, false },
	{ DQ_OFFSET, "prb_data_blk_lpos", "begin", 0, false },
	{ DQ_OFFSET, "prb_data_blk_lpos", "next", 0, false },
	{ DQ_SIZE, "printk_info", NULL, 0, false },
	{ DQ_OFFSET, "printk_info", "seq", 0, false },
	{ DQ_OFFSET, "printk_info", "ts_nsec", 0, false },
	{ DQ_OFFSET, "printk_info", "text_len", 0, false },
	{ DQ_OFFSET, "printk_info", "caller_id", 0, false },
	{ DQ_OFFSET, "printk_info", "dev_info", 0, false },
	{ DQ_SIZE, "prb_data_ring", NULL, 0, false },
	{ DQ_OFFSET, "prb_data_ring", "size_bits", 0, false },
	{ DQ_OFFSET, "prb_data_ring", "data", 0, false },
	{ DQ_OFFSET, "prb_data_ring", "head_lpos", 0, false },
	{ DQ_OFFSET, "prb_data_ring", "tail_lpos", 0, false },
	{ DQ_SIZE, "atomic_long_t", NULL, 0, false },
	{ DQ_OFFSET, "atomic_long_t", "counter", 0, false },
	{ DQ_SIZE, "latched_seq", NULL, 0, false },
	{ DQ_OFFSET, "latched_seq", "val", 0, false },
	{ DQ_MEMBER_LENGTH, "free_area", "free_list", 0, false },
	{ DQ_SIZE, "printk_log", NULL, 0, false },
	{ DQ_OFFSET, "printk_log", "ts_nsec", 0, false },
	{ DQ_OFFSET, "printk_log", "len", 0, false },
	{ DQ_OFFSET, "printk_log", "text_len", 0, false },
	{ DQ_ENUM, NULL, "NR_FREE_PAGES", 0, false },
	{ DQ_ENUM, NULL, "PG_lru", 0, false },
	{ DQ_ENUM, NULL, "PG_private", 0, false },
	{ DQ_ENUM, NULL, "PG_swapcache", 0, false },
	{ DQ_ENUM, NULL, "PG_swapbacked", 0, false },
	{ DQ_ENUM, NULL, "PG_slab", 0, false },
	{ DQ_ENUM, NULL, "PG_hwpoison", 0, false },
	{ DQ_ENUM, NULL, "PG_head", 0, false },
	{ DQ_ENUM, NULL, "PG_hugetlb", 0, false },
	{ DQ_ENUM, NULL, "HUGETLB_PAGE_DTOR", 0, false },
	{ DQ_ENUM, NULL, "PGTY_buddy", 0, false },
	{ DQ_ENUM, NULL, "PGTY_offline", 0, false },
	{ DQ_ENUM, NULL, "PGTY_slab", 0, false },
	{ DQ_ENUM, NULL, "PGTY_hugetlb", 0, false },
	{ DQ_VAR_LENGTH, "mem_section", NULL, 0, false },
};
#define NQ (sizeof(queries) / sizeof(queries[0]))

static bool get_udata(Dwarf_Die *die, unsigned attr, Dwarf_Word *out)
{
	Dwarf_Attribute a;
	return dwarf_attr_integrate(die, attr, &a) && dwarf_formudata(&a, out) == 0;
}

static bool member_offset(Dwarf_Die *m, Dwarf_Word *off)
{
	Dwarf_Attribute a;
	if (!dwarf_attr_integrate(m, DW_AT_data_member_location, &a))
		return false;
	if (dwarf_formudata(&a, off) == 0)
		return true;
	Dwarf_Op *ops;
	size_t n;
	if (dwarf_getlocation(&a, &ops, &n) == 0 && n == 1 && ops[0].atom == DW_OP_plus_uconst) {
		*off = ops[0].number;
		return true;
	}
	return false;
}

static int64_t array_length(Dwarf_Die *type)
{
	Dwarf_Die t = *type, sub;
	if (dwarf_peel_type(&t, &t) != 0 || dwarf_tag(&t) != DW_TAG_array_type)
		return -1;
	if (dwarf_child(&t, &sub) != 0)
		return -1;
	Dwarf_Word v;
	if (get_udata(&sub, DW_AT_count, &v))
		return (int64_t)v;
	if (get_udata(&sub, DW_AT_upper_bound, &v))
		return (int64_t)v + 1;
	return -1;
}

/* Find MEMBER in the struct DIE, looking into anonymous members. */
static bool find_member(Dwarf_Die *st, const char *member, uint64_t base, uint64_t *off,
			Dwarf_Die *found)
{
	Dwarf_Die m;
	if (dwarf_child(st, &m) != 0)
		return false;
	do {
		if (dwarf_tag(&m) != DW_TAG_member)
			continue;
		Dwarf_Word o = 0;
		member_offset(&m, &o);
		const char *name = dwarf_diename(&m);
		if (name && strcmp(name, member) == 0) {
			*off = base + o;
			*found = m;
			return true;
		}
		if (!name) {
			Dwarf_Die t;
			Dwarf_Attribute a;
			if (dwarf_attr_integrate(&m, DW_AT_type, &a) && dwarf_formref_die(&a, &t) &&
			    dwarf_peel_type(&t, &t) == 0 && find_member(&t, member, base + o, off, found))
				return true;
		}
	} while (dwarf_siblingof(&m, &m) == 0);
	return false;
}

static void answer_struct(Dwarf_Die *st, const char *name, size_t *left)
{
	if (dwarf_hasattr(st, DW_AT_declaration))
		return;
	for (size_t i = 0; i < NQ; i++) {
		struct dq *q = &queries[i];
		if (q->found || !q->type || q->kind == DQ_ENUM || q->kind == DQ_VAR_LENGTH ||
		    strcmp(q->type, name) != 0)
			continue;
		if (q->kind == DQ_SIZE) {
			Dwarf_Word sz;
			if (get_udata(st, DW_AT_byte_size, &sz)) {
				q->value = (int64_t)sz;
				q->found = true;
			}
			continue;
		}
		uint64_t off;
		Dwarf_Die m;
		if (!find_member(st, q->member, 0, &off, &m))
			continue;
		if (q->kind == DQ_OFFSET) {
			q->value = (int64_t)off;
			q->found = true;
		} else {
			Dwarf_Die t;
			Dwarf_Attribute a;
			int64_t len;
			if (dwarf_attr_integrate(&m, DW_AT_type, &a) && dwarf_formref_die(&a, &t) &&
			    (len = array_length(&t)) >= 0) {
				q->value = len;
				q->found = true;
			}
		}
		if (q->found)
			(*left)--;
	}
}

static void answer_enum(Dwarf_Die *en, size_t *left)
{
	Dwarf_Die e;
	if (dwarf_child(en, &e) != 0)
		return;
	do {
		const char *name = dwarf_diename(&e);
		if (!name)
			continue;
		for (size_t i = 0; i < NQ; i++) {
			struct dq *q = &queries[i];
			if (q->found || q->kind != DQ_ENUM || strcmp(q->member, name) != 0)
				continue;
			Dwarf_Attribute a;
			Dwarf_Sword sv;
			if (dwarf_attr(&e, DW_AT_const_value, &a) && dwarf_formsdata(&a, &sv) == 0) {
				q->value = sv;
				q->found = true;
				(*left)--;
			}
		}
	} while (dwarf_siblingof(&e, &e) == 0);
}

static void answer_variable(Dwarf_Die *v, const char *name, size_t *left)
{
	for (size_t i = 0; i < NQ; i++) {
		struct dq *q = &queries[i];
		if (q->found || q->kind != DQ_VAR_LENGTH || strcmp(q->type, name) != 0)
			continue;
		Dwarf_Die t;
		Dwarf_Attribute a;
		if (!dwarf_attr_integrate(v, DW_AT_type, &a) || !dwarf_formref_die(&a, &t))
			continue;
		q->value = array_length(&t);   /* -1: a pointer (SPARSEMEM_EXTREME) */
		q->found = true;
		(*left)--;
	}
}

static err_t *scan(Dwarf *dw)
{
	size_t left = NQ;
	for (size_t i = 0; i < NQ; i++)
		queries[i].found = false;
	Dwarf_Off off = 0, next;
	size_t hsize;
	/* Stop once nothing is left, and give up on questions a kernel
	 * version has no answer to after this many compile units. */
	int cus = 0;
	while (left && dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0 && cus < 4000) {
		Dwarf_Die cu, d;
		cus++;
		if (!dwarf_offdie(dw, off + hsize, &cu) || dwarf_child(&cu, &d) != 0) {
			off = next;
			continue;
		}
		do {
			int tag = dwarf_tag(&d);
			const char *name = dwarf_diename(&d);
			if (tag == DW_TAG_enumeration_type) {
				answer_enum(&d, &left);
			} else if (name && (tag == DW_TAG_structure_type || tag == DW_TAG_union_type)) {
				answer_struct(&d, name, &left);
			} else if (name && tag == DW_TAG_typedef) {
				Dwarf_Die t;
				if (dwarf_peel_type(&d, &t) == 0 && dwarf_tag(&t) == DW_TAG_structure_type)
					answer_struct(&t, name, &left);
			} else if (name && tag == DW_TAG_variable) {
				answer_variable(&d, name, &left);
			}
		} while (dwarf_siblingof(&d, &d) == 0);
		off = next;
	}
	return NULL;
}

static const struct dq *q_get(enum dq_kind kind, const char *type, const char *member)
{
	for (size_t i = 0; i < NQ; i++) {
		const struct dq *q = &queries[i];
		if (q->kind == kind && q->found && (!type || (q->type && strcmp(q->type, type) == 0)) &&
		    (!member || (q->member && strcmp(q->member, member) == 0)))
			return q;
	}
	return NULL;
}

err_t *dwarf_vmcoreinfo(const char *vmlinux, const struct symtab *st, uint32_t page_size,
			char **text)
{
	int fd = open(vmlinux, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(errno, "cannot open '%s'", vmlinux);
	Dwarf *dw = dwarf_begin(fd, DWARF_C_READ);
	if (!dw) {
		close(fd);
		return err_new(ERR_FORMAT, "'%s' has no usable debug information: %s", vmlinux,
			       dwarf_errmsg(-1));
	}
	err_t *e = scan(dw);
	dwarf_end(dw);
	close(fd);
	if (e)
		return e;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return err_new(ERR_NOMEM, "out of memory");
	if (st->release[0])
		fprintf(f, "OSRELEASE=%s\n", st->release);
	if (st->build_id[0])
		fprintf(f, "BUILD-ID=%s\n", st->build_id);
	fprintf(f, "PAGESIZE=%u\n", page_size);
	static const struct { enum sym_id id; const char *name; } syms[] = {
		{ SYM_INIT_UTS_NS, "init_uts_ns" }, { SYM_NODE_ONLINE_MAP, "node_online_map" },
		{ SYM_INIT_TOP_PGT, "swapper_pg_dir" }, { SYM_STEXT, "_stext" },
		{ SYM_VMAP_AREA_LIST, "vmap_area_list" }, { SYM_MEM_SECTION, "mem_section" },
		{ SYM_MEM_MAP, "mem_map" }, { SYM_CONTIG_PAGE_DATA, "contig_page_data" },
		{ SYM_NODE_DATA, "node_data" }, { SYM_PRB, "prb" },
		{ SYM_PRINTK_RB_STATIC, "printk_rb_static" }, { SYM_CLEAR_SEQ, "clear_seq" },
		{ SYM_LOG_BUF, "log_buf" }, { SYM_LOG_BUF_LEN, "log_buf_len" },
		{ SYM_LOG_FIRST_IDX, "log_first_idx" }, { SYM_LOG_NEXT_IDX, "log_next_idx" },
		{ SYM_CLEAR_IDX, "clear_idx" },
	};
	uint64_t a;
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++)
		if (sym_get(st, syms[i].id, &a))
			fprintf(f, "SYMBOL(%s)=%" PRIx64 "\n", syms[i].name, a);
	const struct dq *ml = q_get(DQ_VAR_LENGTH, "mem_section", NULL);
	const struct dq *msz = q_get(DQ_SIZE, "mem_section", NULL);
	/* x86_64 SPARSEMEM constants (4-level paging) */
	const int64_t section_bits = 27, physmem_bits = 46;
	if (ml && ml->value >= 0)
		fprintf(f, "LENGTH(mem_section)=%" PRId64 "\n", ml->value);
	else if (ml && msz && msz->value > 0)   /* pointer to roots: NR_SECTION_ROOTS */
		fprintf(f, "LENGTH(mem_section)=%" PRId64 "\n",
			(int64_t)((INT64_C(1) << (physmem_bits - section_bits)) / ((int64_t)page_size / msz->value)));
	for (size_t i = 0; i < NQ; i++) {
		const struct dq *q = &queries[i];
		if (!q->found)
			continue;
		if (q->kind == DQ_SIZE)
			fprintf(f, "SIZE(%s)=%" PRId64 "\n", q->type, q->value);
		else if (q->kind == DQ_OFFSET)
			fprintf(f, "OFFSET(%s.%s)=%" PRId64 "\n", q->type, q->member, q->value);
		else if (q->kind == DQ_MEMBER_LENGTH)
			fprintf(f, "LENGTH(%s.%s)=%" PRId64 "\n", q->type, q->member, q->value);
		else if (q->kind == DQ_ENUM && strncmp(q->member, "PG_", 3) == 0 &&
			 strcmp(q->member, "PG_head") != 0)
			fprintf(f, "NUMBER(%s)=%" PRId64 "\n", q->member, q->value);
		else if (q->kind == DQ_ENUM && (strcmp(q->member, "NR_FREE_PAGES") == 0 ||
						strcmp(q->member, "HUGETLB_PAGE_DTOR") == 0))
			fprintf(f, "NUMBER(%s)=%" PRId64 "\n", q->member, q->value);
	}
	const struct dq *head = q_get(DQ_ENUM, NULL, "PG_head");
	if (head)
		fprintf(f, "NUMBER(PG_head_mask)=%" PRId64 "\n", (int64_t)1 << head->value);
	fprintf(f, "NUMBER(SECTION_SIZE_BITS)=%" PRId64 "\nNUMBER(MAX_PHYSMEM_BITS)=%" PRId64 "\n",
		section_bits, physmem_bits);
	/* Page types: 6.12+ export PGTY_x << 24; before, the mapcount values
	 * are macros (~PG_buddy, ~PG_offline) that debug info does not keep. */
	const struct dq *pb = q_get(DQ_ENUM, NULL, "PGTY_buddy");
	if (pb) {
		static const char *const ty[][2] = {
			{ "PGTY_buddy", "PAGE_BUDDY_MAPCOUNT_VALUE" },
			{ "PGTY_offline", "PAGE_OFFLINE_MAPCOUNT_VALUE" },
			{ "PGTY_slab", "PAGE_SLAB_MAPCOUNT_VALUE" },
			{ "PGTY_hugetlb", "PAGE_HUGETLB_MAPCOUNT_VALUE" },
		};
		for (size_t i = 0; i < 4; i++) {
			const struct dq *q = q_get(DQ_ENUM, NULL, ty[i][0]);
			if (q)
				fprintf(f, "NUMBER(%s)=%d\n", ty[i][1], (int32_t)((uint32_t)q->value << 24));
		}
	} else {
		int major = 0, minor = 0;
		sscanf(st->release, "%d.%d", &major, &minor);
		int ver = major * 1000 + minor;
		/* PG_buddy 0x80 as a page type since 4.18 (-128 before);
		 * PG_offline 0x100 since 5.0 */
		fprintf(f, "NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)=%d\n", ver >= 4018 ? -129 : -128);
		if (ver >= 5000)
			fprintf(f, "NUMBER(PAGE_OFFLINE_MAPCOUNT_VALUE)=%d\n", -257);
	}
	fclose(f);
	*text = out;
	return NULL;
}
