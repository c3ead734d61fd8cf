#include "dmesg.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../bytes.h"

#define MAX_RECORD_TEXT (64u << 10)

struct vi_num {
	const char *key;
	int64_t *val;
};

static err_t *need(const struct vmcoreinfo *v, const struct vi_num *n, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (!vmcoreinfo_num(v, n[i].key, n[i].val))
			return err_new(ERR_NODATA, "VMCOREINFO lacks %s", n[i].key);
	return NULL;
}

static uint64_t rd(const struct kernel *k, const uint8_t *p, int64_t off, int size)
{
	bool be = k->d->big_endian;
	switch (size) {
	case 2: return get16(p + off, be);
	case 4: return get32(p + off, be);
	default: return get64(p + off, be);
	}
}

/* One record's text with the record's timestamp; further lines of the
 * record are indented under the first, as crash's log and dmesg show them. */
static void emit(FILE *out, uint64_t ts_nsec, const char *text, size_t len)
{
	unsigned long long sec = ts_nsec / 1000000000ull, usec = ts_nsec % 1000000000ull / 1000;
	const char *p = text, *end = text + len;
	char prefix[48];
	int plen = snprintf(prefix, sizeof(prefix), "[%5llu.%06llu] ", sec, usec);
	bool first = true;
	do {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (first)
			fputs(prefix, out);
		else
			fprintf(out, "%*s", plen, "");
		first = false;
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)p[i];
			/* control characters as the kernel's own escapes */
			if (c < 0x20 && c != '\t')
				fprintf(out, "\\x%02x", c);
			else
				fputc(c, out);
		}
		fputc('\n', out);
		p = nl ? nl + 1 : end;
	} while (p < end);
}

/* ---- 5.10+: struct printk_ringbuffer ---- */

static err_t *dmesg_prb(struct kernel *k, bool partial, FILE *out, struct dmesg_stats *st)
{
	const struct vmcoreinfo *v = &k->vmci;
	uint64_t prb_sym, clear_sym = 0;
	int64_t o_desc_ring, o_text_ring, o_count_bits, o_descs, o_infos, o_head, o_tail,
		sz_desc, o_state, o_lpos, o_begin, o_next, sz_info, o_seq, o_ts, o_text_len,
		o_size_bits, o_data, o_latched_val = 8;
	const struct vi_num nums[] = {
		{ "OFFSET(printk_ringbuffer.desc_ring)", &o_desc_ring },
		{ "OFFSET(printk_ringbuffer.text_data_ring)", &o_text_ring },
		{ "OFFSET(prb_desc_ring.count_bits)", &o_count_bits },
		{ "OFFSET(prb_desc_ring.descs)", &o_descs },
		{ "OFFSET(prb_desc_ring.infos)", &o_infos },
		{ "OFFSET(prb_desc_ring.head_id)", &o_head },
		{ "OFFSET(prb_desc_ring.tail_id)", &o_tail },
		{ "SIZE(prb_desc)", &sz_desc },
		{ "OFFSET(prb_desc.state_var)", &o_state },
		{ "OFFSET(prb_desc.text_blk_lpos)", &o_lpos },
		{ "OFFSET(prb_data_blk_lpos.begin)", &o_begin },
		{ "OFFSET(prb_data_blk_lpos.next)", &o_next },
		{ "SIZE(printk_info)", &sz_info },
		{ "OFFSET(printk_info.seq)", &o_seq },
		{ "OFFSET(printk_info.ts_nsec)", &o_ts },
		{ "OFFSET(printk_info.text_len)", &o_text_len },
		{ "OFFSET(prb_data_ring.size_bits)", &o_size_bits },
		{ "OFFSET(prb_data_ring.data)", &o_data },
	};
	if (!vmcoreinfo_hex(v, "SYMBOL(prb)", &prb_sym))
		return err_new(ERR_NODATA, "VMCOREINFO lacks SYMBOL(prb)");
	TRY(need(v, nums, sizeof(nums) / sizeof(nums[0])));
	if (sz_desc <= 0 || sz_desc > 256 || sz_info <= 0 || sz_info > 1024)
		return err_new(ERR_FORMAT, "implausible printk ring buffer sizes in VMCOREINFO");
	vmcoreinfo_num(v, "OFFSET(latched_seq.val)", &o_latched_val);

	uint64_t rb, w;
	TRY(err_wrap(kernel_read_u64(k, prb_sym, &rb), "prb"));
	uint8_t hdr[256];
	if (o_text_ring + 32 > (int64_t)sizeof(hdr) || o_desc_ring + 48 > (int64_t)sizeof(hdr))
		return err_new(ERR_FORMAT, "implausible printk_ringbuffer layout");
	TRY(err_wrap(kernel_read_virt(k, rb, hdr, sizeof(hdr)), "printk_ringbuffer"));
	const uint8_t *dr = hdr + o_desc_ring, *tr = hdr + o_text_ring;
	uint32_t count_bits = (uint32_t)rd(k, dr, o_count_bits, 4);
	uint64_t descs = rd(k, dr, o_descs, 8), infos = rd(k, dr, o_infos, 8);
	uint64_t head_id = rd(k, dr, o_head, 8), tail_id = rd(k, dr, o_tail, 8);
	uint32_t size_bits = (uint32_t)rd(k, tr, o_size_bits, 4);
	uint64_t data = rd(k, tr, o_data, 8);
	if (count_bits > 30 || size_bits > 34)
		return err_new(ERR_FORMAT, "implausible printk ring sizes (2^%u records, 2^%u bytes)",
			       count_bits, size_bits);
	uint64_t count = 1ull << count_bits, dsize = 1ull << size_bits;
	uint64_t min_seq = 0;
	if (partial && vmcoreinfo_hex(v, "SYMBOL(clear_seq)", &clear_sym) &&
	    !kernel_read_u64(k, clear_sym + (uint64_t)o_latched_val, &w))
		min_seq = w;

	/* The state is in the top two bits of state_var; the rest is the id. */
	const uint64_t flags_mask = 3ull << 62, id_mask = ~flags_mask;
	enum { RESERVED, COMMITTED, FINALIZED, REUSABLE };
	uint8_t desc[256], info[1024];
	char *text = malloc(MAX_RECORD_TEXT);
	if (!text)
		return err_new(ERR_NOMEM, "out of memory");
	err_t *e = NULL;
	tail_id &= id_mask;
	head_id &= id_mask;
	uint64_t span = (head_id - tail_id) & id_mask;
	if (span >= count)
		span = count - 1;
	for (uint64_t n = 0; n <= span && !e; n++) {
		uint64_t id = (tail_id + n) & id_mask, idx = id & (count - 1);
		if ((e = kernel_read_virt(k, descs + idx * (uint64_t)sz_desc, desc, (size_t)sz_desc)))
			break;
		uint64_t sv = rd(k, desc, o_state, 8);
		unsigned state = (unsigned)(sv >> 62);
		if ((sv & id_mask) != id || (state != COMMITTED && state != FINALIZED)) {
			st->skipped++;
			continue;
		}
		if ((e = kernel_read_virt(k, infos + idx * (uint64_t)sz_info, info, (size_t)sz_info)))
			break;
		uint64_t seq = rd(k, info, o_seq, 8), ts = rd(k, info, o_ts, 8);
		uint16_t tlen = (uint16_t)rd(k, info, o_text_len, 2);
		if (seq < min_seq)
			continue;
		uint64_t begin = rd(k, desc + o_lpos, o_begin, 8), next = rd(k, desc + o_lpos, o_next, 8);
		size_t len = 0;
		if (!(begin & 1) && !(next & 1)) {          /* bit 0: no data block */
			uint64_t at, size;
			if ((begin >> size_bits) == (next >> size_bits) && begin < next) {
				at = begin & (dsize - 1);
				size = next - begin;
			} else if (((begin + dsize) >> size_bits) == (next >> size_bits)) {
				at = 0;                     /* the block wrapped to the start */
				size = next & (dsize - 1);
			} else {
				st->skipped++;
				continue;
			}
			/* a block starts with the descriptor id (one long) */
			if (size < 8 || size - 8 > MAX_RECORD_TEXT) {
				st->skipped++;
				continue;
			}
			len = tlen < size - 8 ? tlen : (size_t)(size - 8);
			if ((e = kernel_read_virt(k, data + at + 8, text, len)))
				break;
		}
		emit(out, ts, text, len);
		st->records++;
	}
	free(text);
	return e;
}

/* ---- before 5.10: struct printk_log records in log_buf ---- */

static err_t *dmesg_log_buf(struct kernel *k, bool partial, FILE *out, struct dmesg_stats *st)
{
	const struct vmcoreinfo *v = &k->vmci;
	uint64_t buf_sym, len_sym, first_sym, next_sym, clear_idx_sym = 0;
	int64_t sz_log, o_ts, o_len, o_text_len;
	const struct vi_num nums[] = {
		{ "SIZE(printk_log)", &sz_log },
		{ "OFFSET(printk_log.ts_nsec)", &o_ts },
		{ "OFFSET(printk_log.len)", &o_len },
		{ "OFFSET(printk_log.text_len)", &o_text_len },
	};
	if (!vmcoreinfo_hex(v, "SYMBOL(log_buf)", &buf_sym) ||
	    !vmcoreinfo_hex(v, "SYMBOL(log_buf_len)", &len_sym) ||
	    !vmcoreinfo_hex(v, "SYMBOL(log_first_idx)", &first_sym) ||
	    !vmcoreinfo_hex(v, "SYMBOL(log_next_idx)", &next_sym))
		return err_new(ERR_NODATA, "VMCOREINFO lacks the log_buf symbols");
	TRY(need(v, nums, sizeof(nums) / sizeof(nums[0])));
	uint64_t buf;
	uint8_t b4[4];
	TRY(kernel_read_u64(k, buf_sym, &buf));
	TRY(kernel_read_virt(k, len_sym, b4, 4));
	uint32_t buf_len = get32(b4, k->d->big_endian);
	TRY(kernel_read_virt(k, first_sym, b4, 4));
	uint32_t idx = get32(b4, k->d->big_endian);
	TRY(kernel_read_virt(k, next_sym, b4, 4));
	uint32_t next_idx = get32(b4, k->d->big_endian);
	if (partial && vmcoreinfo_hex(v, "SYMBOL(clear_idx)", &clear_idx_sym) &&
	    !kernel_read_virt(k, clear_idx_sym, b4, 4))
		idx = get32(b4, k->d->big_endian);
	if (buf_len == 0 || buf_len > (1u << 30) || sz_log <= 0 || sz_log > 64)
		return err_new(ERR_FORMAT, "implausible log_buf (%u bytes)", buf_len);
	uint8_t *lb = malloc(buf_len);
	if (!lb)
		return err_new(ERR_NOMEM, "out of memory");
	err_t *e = kernel_read_virt(k, buf, lb, buf_len);
	for (uint32_t guard = 0; !e && idx != next_idx && guard < buf_len; guard++) {
		if (idx + (uint64_t)sz_log > buf_len) {
			e = err_new(ERR_FORMAT, "log record at %u runs past log_buf", idx);
			break;
		}
		const uint8_t *r = lb + idx;
		uint16_t len = (uint16_t)rd(k, r, o_len, 2), tlen = (uint16_t)rd(k, r, o_text_len, 2);
		if (len == 0) {          /* wrap marker: continue at the start */
			idx = 0;
			continue;
		}
		if (idx + (uint64_t)len > buf_len || (uint64_t)sz_log + tlen > len) {
			e = err_new(ERR_FORMAT, "log record at %u has a bad length", idx);
			break;
		}
		emit(out, rd(k, r, o_ts, 8), (const char *)r + sz_log, tlen);
		st->records++;
		idx += len;
	}
	free(lb);
	return e;
}

err_t *dmesg_write(struct kernel *k, bool partial, FILE *out, struct dmesg_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!k->have_vmci)
		return err_new(ERR_NODATA, "no VMCOREINFO to find the kernel log with");
	uint64_t x;
	if (vmcoreinfo_hex(&k->vmci, "SYMBOL(prb)", &x))
		return dmesg_prb(k, partial, out, st);
	return dmesg_log_buf(k, partial, out, st);
}
