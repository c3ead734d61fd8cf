/* VMCOREINFO parsing, note iteration, bitmaps and pfn limits. */
#include <stdlib.h>
#include <string.h>

#include "../../src/bytes.h"
#include "../../src/dump.h"
#include "../../src/kernel/vmcoreinfo.h"
#include "../../src/notes.h"
#include "unit.h"

void test_vmcoreinfo_values(void);
void test_vmcoreinfo_values(void)
{
	const char text[] = "OSRELEASE=6.1.0-56-cloud-amd64\nKERNELOFFSET=3a800000\n"
		"NUMBER(phys_base)=-587202560\nSIZE(page)=64\nNUMBER(x)=0x10\n"
		"SYMBOL(init_uts_ns)=ffffffffbd3f9b60\nNUMBER(bad)=12z\n\0\0padding";
	struct vmcoreinfo v;
	CHECK_OK(vmcoreinfo_init(&v, text, sizeof(text)));
	char buf[80];
	int64_t n;
	uint64_t h;
	CHECK(vmcoreinfo_get(&v, "OSRELEASE", buf, sizeof(buf)) &&
	      strcmp(buf, "6.1.0-56-cloud-amd64") == 0);
	CHECK(vmcoreinfo_num(&v, "NUMBER(phys_base)", &n) && n == -587202560);
	CHECK(vmcoreinfo_num(&v, "SIZE(page)", &n) && n == 64);
	CHECK(vmcoreinfo_num(&v, "NUMBER(x)", &n) && n == 16);
	CHECK(!vmcoreinfo_num(&v, "NUMBER(bad)", &n));
	CHECK(vmcoreinfo_hex(&v, "KERNELOFFSET", &h) && h == 0x3a800000);
	CHECK(vmcoreinfo_hex(&v, "SYMBOL(init_uts_ns)", &h) && h == 0xffffffffbd3f9b60ull);
	CHECK(!vmcoreinfo_get(&v, "SYMBOL(init_uts", buf, sizeof(buf)));   /* no prefix match */
	CHECK(!vmcoreinfo_get(&v, "padding", buf, sizeof(buf)));           /* past the NUL */
	vmcoreinfo_deinit(&v);
}

void test_notes(void);
void test_notes(void)
{
	uint8_t *blob = NULL;
	size_t size = 0;
	uint8_t desc[336] = { 0 };
	for (int be = 0; be < 2; be++) {
		free(blob);
		blob = NULL, size = 0;
		CHECK_OK(notes_append(&blob, &size, be, "CORE", 1, desc, sizeof(desc)));
		CHECK_OK(notes_append(&blob, &size, be, "CORE", 1, desc, sizeof(desc)));
		CHECK_OK(notes_append(&blob, &size, be, "VMCOREINFO", 0, "A=1\n", 4));
		CHECK(notes_count_prstatus(blob, size, be) == 2);
		struct note n;
		CHECK(notes_find(blob, size, be, "VMCOREINFO", 0, &n) && n.descsz == 4 &&
		      memcmp(n.desc, "A=1\n", 4) == 0);
		CHECK_OK(notes_validate(blob, size, be));
		/* A lying descsz in the last note is caught. */
		put32(blob + size - 4 - 12 - 12 + 4, 1000, be);
		CHECK_ERR(notes_validate(blob, size, be));
	}
	free(blob);
}

void test_bitmap_and_limit(void);
void test_bitmap_and_limit(void)
{
	uint8_t map[16];
	memset(map, 0, sizeof(map));
	bitmap_set_range(map, 3, 21);
	CHECK(map[0] == 0xf8 && map[1] == 0xff && map[2] == 0x1f && map[3] == 0);
	struct dump d;
	memset(&d, 0, sizeof(d));
	d.page_size = 4096;
	CHECK_OK(dump_add_range(&d, 0, 0xa0000, 0xa0000));
	CHECK_OK(dump_add_range(&d, 0x100000, 0x20000000, 0x20000000));
	CHECK_OK(dump_add_range(&d, 0xfd000000, 0xfe000000, 0xfe000000));
	CHECK(d.nram == 3 && d.max_pfn == 0xfe000);
	CHECK(dump_limit_pfn(&d, 0x20000) == 0x1000);
	CHECK(d.nram == 2 && d.max_pfn == 0x20000);
	CHECK(dump_limit_pfn(&d, 0x10000) == 0x10000);
	CHECK(d.ram[1].end == 0x10000000 && d.ram[1].data_end == 0x10000000);
	free(d.ram);
}
