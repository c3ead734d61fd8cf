#include "rearrange.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bytes.h"
#include "flat.h"

#define CHUNK (4u << 20)

static err_t *read_full(int fd, const char *name, void *buf, size_t len, uint64_t pos)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = read(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err_errno(errno, "cannot read %s", name);
		}
		if (n == 0)
			return err_new(ERR_FORMAT, "%s: flattened stream ends at byte 0x%" PRIx64
				       " without its end marker", name, pos);
		p += n;
		len -= (size_t)n;
		pos += (uint64_t)n;
	}
	return NULL;
}

err_t *rearrange_stream(int fd, const char *name, struct sink *out, uint64_t *bytes)
{
	uint8_t hdr[FLAT_HEADER_SIZE];
	uint64_t pos = 0, size = 0;
	TRY(read_full(fd, name, hdr, sizeof(hdr), pos));
	pos += sizeof(hdr);
	if (memcmp(hdr, FLAT_SIGNATURE, sizeof(FLAT_SIGNATURE)) != 0 ||
	    get64(hdr + FLAT_SIG_LEN, true) != FLAT_TYPE ||
	    get64(hdr + FLAT_SIG_LEN + 8, true) != FLAT_VERSION)
		return err_new(ERR_FORMAT, "%s is not a flattened dump stream", name);
	uint8_t *buf = malloc(CHUNK);
	if (!buf)
		return err_new(ERR_NOMEM, "out of memory");
	err_t *e = NULL;
	for (;;) {
		uint8_t rh[FLAT_RECORD_HEAD];
		if ((e = read_full(fd, name, rh, sizeof(rh), pos)))
			break;
		pos += sizeof(rh);
		int64_t off = (int64_t)get64(rh, true), len = (int64_t)get64(rh + 8, true);
		if (off == FLAT_END_MARK && len == FLAT_END_MARK)
			break;
		uint64_t end;
		if (off < 0 || len < 0 || !add_ok((uint64_t)off, (uint64_t)len, &end)) {
			e = err_new(ERR_FORMAT, "%s: record at byte 0x%" PRIx64 " has a bad offset %"
				    PRId64 " or size %" PRId64, name, pos - sizeof(rh), off, len);
			break;
		}
		while (len > 0 && !e) {
			size_t n = (uint64_t)len < CHUNK ? (size_t)len : CHUNK;
			if (!(e = read_full(fd, name, buf, n, pos)))
				e = sink_pwrite(out, (uint64_t)off, buf, n);
			pos += n, off += (int64_t)n, len -= (int64_t)n;
		}
		if (e)
			break;
		if (end > size)
			size = end;
	}
	free(buf);
	*bytes = size;
	return e;
}
