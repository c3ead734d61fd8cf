/* The kernel log readers on synthetic memory: the lockless ring buffer
 * (with a record that wrapped to the start of the data ring, a reusable
 * descriptor and a data-less one) and the older log_buf records. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../arch/x86_64.h"
#include "../../src/arch.h"
#include "../../src/bytes.h"
#include "../../src/kernel/dmesg.h"
#include "memdump.h"
#include "unit.h"

#define MEM (8u << 20)
#define KVA(pa) (X86_64_START_KERNEL_MAP + (pa))   /* phys_base 0 */

static char *run(struct memdump *m, const char *vi, bool partial)
{
	struct kernel k;
	CHECK_OK(kernel_init(&k, &m->d));
	CHECK_OK(kernel_set_vmcoreinfo(&k, vi, strlen(vi)));
	k.phys_base = 0;
	k.phys_base_known = true;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	struct dmesg_stats st;
	CHECK_OK(dmesg_write(&k, partial, f, &st));
	fclose(f);
	kernel_deinit(&k);
	return out;
}

void test_dmesg_prb(void);
void test_dmesg_prb(void)
{
	struct memdump m;
	memdump_init(&m, MEM, &arch_x86_64);
	/* layout: prb pointer at 0x1000, ring at 0x2000, 4 descs at 0x3000,
	 * infos at 0x4000, 256-byte data ring at 0x5000, clear_seq at 0x6000 */
	uint8_t *mem = m.mem;
	put64(mem + 0x1000, KVA(0x2000), false);
	uint8_t *rb = mem + 0x2000;
	put32(rb + 0, 2, false);                 /* count_bits: 4 descriptors */
	put64(rb + 8, KVA(0x3000), false);
	put64(rb + 16, KVA(0x4000), false);
	put64(rb + 24, 5, false);                /* head_id */
	put64(rb + 32, 2, false);                /* tail_id */
	put32(rb + 48, 8, false);                /* data size_bits: 256 */
	put64(rb + 56, KVA(0x5000), false);
	struct { uint64_t id, state, begin, next, seq, ts; const char *text; } recs[] = {
		{ 2, 1, 0x100 + 48, 0x100 + 80, 10, 1500000, "first" },          /* committed */
		{ 3, 2, 0x100 + 96, 0x100 + 160, 11, 2000001000, "two\nlines" }, /* finalized */
		{ 4, 3, 0x100 + 160, 0x100 + 192, 12, 3000000000, "reused" },     /* reusable: skipped */
		{ 5, 2, 0x100 + 224, 0x200 + 40, 13, 123456789012ull, "wrapped" }, /* wraps to 0 */
	};
	for (int i = 0; i < 4; i++) {
		uint64_t idx = recs[i].id & 3;
		uint8_t *d = mem + 0x3000 + idx * 24, *in = mem + 0x4000 + idx * 88;
		put64(d, recs[i].state << 62 | recs[i].id, false);
		put64(d + 8, recs[i].begin, false);
		put64(d + 16, recs[i].next, false);
		put64(in, recs[i].seq, false);
		put64(in + 8, recs[i].ts, false);
		put16(in + 16, (uint16_t)strlen(recs[i].text), false);
		uint64_t at = recs[i].begin & 255;
		if ((recs[i].begin >> 8) != (recs[i].next >> 8))
			at = 0;
		put64(mem + 0x5000 + at, recs[i].id, false);
		memcpy(mem + 0x5000 + at + 8, recs[i].text, strlen(recs[i].text));
	}
	put64(mem + 0x6000 + 8, 11, false);       /* clear_seq.val[0] */
	char vi[2048];
	snprintf(vi, sizeof(vi), "SYMBOL(prb)=%" PRIx64 "\nSYMBOL(clear_seq)=%" PRIx64 "\n"
		 "OFFSET(printk_ringbuffer.desc_ring)=0\nOFFSET(printk_ringbuffer.text_data_ring)=48\n"
		 "OFFSET(prb_desc_ring.count_bits)=0\nOFFSET(prb_desc_ring.descs)=8\n"
		 "OFFSET(prb_desc_ring.infos)=16\nOFFSET(prb_desc_ring.head_id)=24\n"
		 "OFFSET(prb_desc_ring.tail_id)=32\nSIZE(prb_desc)=24\nOFFSET(prb_desc.state_var)=0\n"
		 "OFFSET(prb_desc.text_blk_lpos)=8\nOFFSET(prb_data_blk_lpos.begin)=0\n"
		 "OFFSET(prb_data_blk_lpos.next)=8\nSIZE(printk_info)=88\nOFFSET(printk_info.seq)=0\n"
		 "OFFSET(printk_info.ts_nsec)=8\nOFFSET(printk_info.text_len)=16\n"
		 "OFFSET(prb_data_ring.size_bits)=0\nOFFSET(prb_data_ring.data)=8\n"
		 "OFFSET(latched_seq.val)=8\n", KVA(0x1000), KVA(0x6000));
	char *out = run(&m, vi, false);
	const char *want = "[    0.001500] first\n"
			   "[    2.000001] two\n"
			   "               lines\n"
			   "[  123.456789] wrapped\n";
	CHECK(out && strcmp(out, want) == 0);
	if (out && strcmp(out, want) != 0)
		fprintf(stderr, "got:\n%s", out);
	free(out);
	out = run(&m, vi, true);                  /* from seq 11 on */
	CHECK(out && strncmp(out, "[    2.000001] two", 18) == 0);
	free(out);
	memdump_deinit(&m);
}

void test_dmesg_log_buf(void);
void test_dmesg_log_buf(void)
{
	struct memdump m;
	memdump_init(&m, MEM, &arch_x86_64);
	/* log_buf pointer at 0x1000 -> 0x8000, 128 bytes; struct printk_log:
	 * ts_nsec u64 @0, len u16 @8, text_len u16 @10, 16 bytes */
	uint8_t *mem = m.mem;
	put64(mem + 0x1000, KVA(0x8000), false);
	put32(mem + 0x1008, 128, false);          /* log_buf_len */
	put32(mem + 0x1010, 64, false);           /* log_first_idx */
	put32(mem + 0x1018, 40, false);           /* log_next_idx (wrapped) */
	uint8_t *b = mem + 0x8000;
	put64(b + 64, 5000000000ull, false);      /* record at 64 */
	put16(b + 72, 24, false);
	put16(b + 74, 5, false);
	memcpy(b + 80, "older", 5);
	put16(b + 88 + 8, 0, false);              /* wrap marker at 88 */
	put64(b + 0, 7000000000ull, false);       /* record at 0 */
	put16(b + 8, 40, false);
	put16(b + 10, 6, false);
	memcpy(b + 16, "newest", 6);
	char vi[512];
	snprintf(vi, sizeof(vi), "SYMBOL(log_buf)=%" PRIx64 "\nSYMBOL(log_buf_len)=%" PRIx64 "\n"
		 "SYMBOL(log_first_idx)=%" PRIx64 "\nSYMBOL(log_next_idx)=%" PRIx64 "\n"
		 "SIZE(printk_log)=16\nOFFSET(printk_log.ts_nsec)=0\nOFFSET(printk_log.len)=8\n"
		 "OFFSET(printk_log.text_len)=10\n", KVA(0x1000), KVA(0x1008), KVA(0x1010),
		 KVA(0x1018));
	char *out = run(&m, vi, false);
	CHECK(out && strcmp(out, "[    5.000000] older\n[    7.000000] newest\n") == 0);
	free(out);
	memdump_deinit(&m);
}
