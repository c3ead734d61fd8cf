#include "symbols.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Each id may be spelled several ways across kernel versions; the first
 * spelling found wins. */
static const char *const sym_spellings[SYM_COUNT][3] = {
	[SYM_TEXT] = { "_text" },
	[SYM_STEXT] = { "_stext" },
	[SYM_LINUX_BANNER] = { "linux_banner" },
	[SYM_PHYS_BASE] = { "phys_base" },
	[SYM_INIT_UTS_NS] = { "init_uts_ns" },
	/* 5.8+ idtentry rework; before it the handler was divide_error */
	[SYM_DIVIDE_ERROR] = { "asm_exc_divide_error", "divide_error" },
	[SYM_IDT_TABLE] = { "idt_table" },
	[SYM_SWAPPER_PG_DIR] = { "swapper_pg_dir" },
	[SYM_INIT_TOP_PGT] = { "init_top_pgt", "init_level4_pgt" },
	[SYM_VMCOREINFO_DATA] = { "vmcoreinfo_data" },
	[SYM_NODE_ONLINE_MAP] = { "node_online_map" },
	[SYM_VMAP_AREA_LIST] = { "vmap_area_list" },
	[SYM_MEM_SECTION] = { "mem_section" },
	[SYM_PRB] = { "prb" },
	[SYM_END] = { "_end" },
	[SYM_PRINTK_RB_STATIC] = { "printk_rb_static" },
	[SYM_CLEAR_SEQ] = { "clear_seq" },
	[SYM_LOG_BUF] = { "log_buf" },
	[SYM_LOG_BUF_LEN] = { "log_buf_len" },
	[SYM_LOG_FIRST_IDX] = { "log_first_idx" },
	[SYM_LOG_NEXT_IDX] = { "log_next_idx" },
	[SYM_CLEAR_IDX] = { "clear_idx" },
	[SYM_MEM_MAP] = { "mem_map" },
	[SYM_CONTIG_PAGE_DATA] = { "contig_page_data" },
	[SYM_NODE_DATA] = { "node_data" },
};

const char *const sym_names[SYM_COUNT] = {
	"_text", "_stext", "linux_banner", "phys_base", "init_uts_ns", "divide error handler",
	"idt_table", "swapper_pg_dir", "init_top_pgt", "vmcoreinfo_data", "node_online_map",
	"vmap_area_list", "mem_section", "prb", "_end", "printk_rb_static", "clear_seq", "log_buf",
	"log_buf_len", "log_first_idx", "log_next_idx", "clear_idx", "mem_map", "contig_page_data",
	"node_data",
};

static void consider(struct symtab *st, const char *name, uint64_t addr)
{
	for (int id = 0; id < SYM_COUNT; id++)
		for (int s = 0; s < 3 && sym_spellings[id][s]; s++)
			if (strcmp(name, sym_spellings[id][s]) == 0) {
				/* an earlier spelling beats a later one */
				if (!st->have[id] || s == 0) {
					st->addr[id] = addr;
					st->have[id] = true;
				}
				return;
			}
}

/* "Linux version 6.1.0-56-cloud-amd64 (...)" -> "6.1.0-56-cloud-amd64" */
static void release_from_banner(struct symtab *st)
{
	const char *p = "Linux version ";
	size_t n = strlen(p);
	if (st->banner_len <= n || memcmp(st->banner, p, n) != 0)
		return;
	size_t i = 0;
	while (n + i < st->banner_len && st->banner[n + i] != ' ' && i + 1 < sizeof(st->release)) {
		st->release[i] = (char)st->banner[n + i];
		i++;
	}
	st->release[i] = '\0';
}

static err_t *read_banner(Elf *elf, struct symtab *st)
{
	Elf_Scn *scn = NULL;
	uint64_t v = st->addr[SYM_LINUX_BANNER];
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS)
			continue;
		if (v < sh.sh_addr || v >= sh.sh_addr + sh.sh_size)
			continue;
		/* Read just the banner: elf_getdata would map the whole
		 * section. */
		Elf_Data *data = elf_rawdata(scn, NULL);
		if (!data || !data->d_buf)
			return NULL;
		size_t off = (size_t)(v - sh.sh_addr), max = data->d_size - off;
		const uint8_t *b = (const uint8_t *)data->d_buf + off;
		size_t len = 0;
		while (len < max && len < 512 && b[len])
			len++;
		if (!(st->banner = malloc(len + 1)))
			return err_new(ERR_NOMEM, "out of memory");
		memcpy(st->banner, b, len);
		st->banner[len] = 0;
		st->banner_len = len;
		release_from_banner(st);
		return NULL;
	}
	return NULL;
}

static void read_build_id(Elf *elf, struct symtab *st)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		size_t off = 0, name_off, desc_off;
		GElf_Nhdr nh;
		while (data && (off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    memcmp((char *)data->d_buf + name_off, "GNU", 4) == 0 && nh.n_descsz <= 20) {
				const uint8_t *id = (const uint8_t *)data->d_buf + desc_off;
				for (size_t i = 0; i < nh.n_descsz; i++)
					snprintf(st->build_id + 2 * i, 3, "%02x", id[i]);
				return;
			}
		}
	}
}

static err_t *load_vmlinux(int fd, struct symtab *st)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return err_new(ERR_FAIL, "libelf is unusable: %s", elf_errmsg(-1));
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return err_new(ERR_FORMAT, "not a readable ELF file: %s", elf_errmsg(-1));
	err_t *e = NULL;
	Elf_Scn *scn = NULL;
	bool found = false;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		if (!data || !sh.sh_entsize)
			continue;
		found = true;
		size_t n = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; i < n; i++) {
			GElf_Sym sym;
			if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF)
				continue;
			const char *name = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (name && name[0])
				consider(st, name, sym.st_value);
		}
	}
	if (!found)
		e = err_new(ERR_FORMAT, "no symbol table (a stripped vmlinux?)");
	if (!e && st->have[SYM_LINUX_BANNER])
		e = read_banner(elf, st);
	if (!e)
		read_build_id(elf, st);
	elf_end(elf);
	return e;
}

static err_t *load_map(FILE *f, struct symtab *st)
{
	char line[512];
	int good = 0;
	while (fgets(line, sizeof(line), f)) {
		char type, name[256];
		unsigned long long addr;
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3)
			continue;
		good++;
		consider(st, name, addr);
	}
	if (!good)
		return err_new(ERR_FORMAT, "neither an ELF vmlinux nor a System.map");
	return NULL;
}

err_t *symtab_load(const char *path, struct symtab *st)
{
	memset(st, 0, sizeof(*st));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(errno, "cannot open '%s'", path);
	unsigned char magic[4] = { 0 };
	ssize_t got = pread(fd, magic, 4, 0);
	err_t *e;
	if (got == 4 && memcmp(magic, ELFMAG, SELFMAG) == 0) {
		st->from_vmlinux = true;
		e = load_vmlinux(fd, st);
		close(fd);
	} else {
		FILE *f = fdopen(fd, "r");
		if (!f) {
			close(fd);
			return err_errno(errno, "cannot read '%s'", path);
		}
		e = load_map(f, st);
		fclose(f);
	}
	if (!e && !(st->path = strdup(path)))
		e = err_new(ERR_NOMEM, "out of memory");
	if (e) {
		symtab_deinit(st);
		return err_wrap(e, "'%s'", path);
	}
	return NULL;
}

void symtab_deinit(struct symtab *st)
{
	free(st->path);
	free(st->banner);
	memset(st, 0, sizeof(*st));
}
