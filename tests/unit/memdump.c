#include "memdump.h"

#include <stdlib.h>
#include <string.h>

#include "../../src/bytes.h"

static err_t *mem_read_page(struct dump *d, uint64_t pfn, void *buf, enum page_state *state)
{
	struct memdump *m = (struct memdump *)d;
	uint64_t off = pfn * d->page_size;
	if (off + d->page_size > m->size) {
		memset(buf, 0, d->page_size);
		*state = PAGE_ABSENT;
		return NULL;
	}
	memcpy(buf, m->mem + off, d->page_size);
	*state = PAGE_PRESENT;
	return NULL;
}

static const struct dump_reader mem_reader = { .name = "memory", .read_page = mem_read_page };

void memdump_init(struct memdump *m, uint64_t size, const struct arch_ops *arch)
{
	memset(m, 0, sizeof(*m));
	m->mem = calloc(1, size);
	m->size = size;
	m->next_table = size / 2;     /* tables in the upper half */
	m->d.name = "memory";
	m->d.page_size = 4096;
	m->d.wordsize = 8;
	m->d.arch = arch;
	m->d.max_pfn = size / 4096;
	m->d.reader = &mem_reader;
}

void memdump_deinit(struct memdump *m)
{
	free(m->mem);
}

uint64_t memdump_alloc(struct memdump *m)
{
	uint64_t pa = m->next_table;
	m->next_table += 4096;
	memset(m->mem + pa, 0, 4096);
	return pa;
}

void memdump_map(struct memdump *m, uint64_t root, int levels, uint64_t va, uint64_t pa,
		 uint64_t leaf, uint64_t entry_extra)
{
	uint64_t table = root;
	int leaf_level = leaf == (1ull << 30) ? 3 : leaf == (1ull << 21) ? 2 : 1;
	for (int level = levels; level >= 1; level--) {
		int shift = 12 + 9 * (level - 1);
		uint8_t *e = m->mem + table + ((va >> shift) & 511) * 8;
		if (level == leaf_level) {
			uint64_t v = (pa & ~(leaf - 1)) | 1 | entry_extra | (level > 1 ? 0x80 : 0);
			put64(e, v, false);
			return;
		}
		uint64_t cur = get64(e, false);
		if (!(cur & 1)) {
			uint64_t next = memdump_alloc(m);
			put64(e, next | 1 | entry_extra, false);
			cur = next | 1;
		}
		table = cur & 0x000ffffffffff000ull;
	}
}
