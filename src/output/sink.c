#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../bytes.h"
#include "../flat.h"

/* Large enough to make few syscalls, small enough that writes do not
 * arrive in bursts the page cache throttles (4 MiB was 30% slower). */
#define SINK_BUF (256u << 10)

/* Sequential writes are gathered in one buffer and leave as one write. */
struct buffered {
	struct sink s;
	int fd;
	bool flat;
	uint8_t *buf;
	uint64_t buf_off;
	size_t buf_len;
};

static err_t *write_all(int fd, const char *name, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err_errno(errno, "cannot write '%s'", name);
		}
		p += n;
		len -= (size_t)n;
	}
	return NULL;
}

static err_t *pwrite_all(int fd, const char *name, uint64_t off, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err_errno(errno, "cannot write '%s' at offset 0x%" PRIx64, name, off);
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return NULL;
}

static err_t *emit(struct buffered *b, uint64_t off, const void *buf, size_t len)
{
	if (!len)
		return NULL;
	if (!b->flat)
		return pwrite_all(b->fd, b->s.name, off, buf, len);
	uint8_t head[FLAT_RECORD_HEAD];
	put64(head, off, true);
	put64(head + 8, len, true);
	TRY(write_all(b->fd, b->s.name, head, sizeof(head)));
	return write_all(b->fd, b->s.name, buf, len);
}

static err_t *buffered_flush(struct sink *s)
{
	struct buffered *b = (struct buffered *)s;
	err_t *e = emit(b, b->buf_off, b->buf, b->buf_len);
	b->buf_len = 0;
	return e;
}

static err_t *buffered_pwrite(struct sink *s, uint64_t off, const void *buf, size_t len)
{
	struct buffered *b = (struct buffered *)s;
	if (b->buf_len && off != b->buf_off + b->buf_len)
		TRY(buffered_flush(s));
	if (len >= SINK_BUF) {
		TRY(buffered_flush(s));
		return emit(b, off, buf, len);
	}
	if (b->buf_len + len > SINK_BUF)
		TRY(buffered_flush(s));
	if (!b->buf_len)
		b->buf_off = off;
	memcpy(b->buf + b->buf_len, buf, len);
	b->buf_len += len;
	return NULL;
}

static err_t *file_finish(struct sink *s)
{
	/* No fsync: like makedumpfile, leave syncing to the caller (the kdump
	 * service syncs before it reboots); write errors still surface. */
	return buffered_flush(s);
}

static err_t *flat_finish(struct sink *s)
{
	struct buffered *b = (struct buffered *)s;
	TRY(buffered_flush(s));
	uint8_t end[FLAT_RECORD_HEAD];
	put64(end, (uint64_t)FLAT_END_MARK, true);
	put64(end + 8, (uint64_t)FLAT_END_MARK, true);
	return write_all(b->fd, s->name, end, sizeof(end));
}

static void buffered_destroy(struct sink *s)
{
	struct buffered *b = (struct buffered *)s;
	if (!b->flat)
		close(b->fd);
	free(b->buf);
	free((char *)s->name);
	free(b);
}

static err_t *buffered_create(int fd, bool flat, const char *name, struct sink **out)
{
	struct buffered *b = calloc(1, sizeof(*b));
	if (!b || !(b->buf = malloc(SINK_BUF)) || !(b->s.name = strdup(name))) {
		if (b)
			free(b->buf);
		free(b);
		return err_new(ERR_NOMEM, "out of memory");
	}
	b->fd = fd;
	b->flat = flat;
	b->s.pwrite = buffered_pwrite;
	b->s.flush = buffered_flush;
	b->s.finish = flat ? flat_finish : file_finish;
	b->s.destroy = buffered_destroy;
	*out = &b->s;
	return NULL;
}

err_t *sink_file_create(const char *path, bool force, struct sink **out)
{
	int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL);
	int fd = open(path, flags, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return err_new(ERR_USAGE, "'%s' already exists (use -f to overwrite it)", path);
		return err_errno(errno, "cannot create '%s'", path);
	}
	err_t *e = buffered_create(fd, false, path, out);
	if (e)
		close(fd);
	return e;
}

err_t *sink_flat_create(int fd, const char *name, struct sink **out)
{
	TRY(buffered_create(fd, true, name, out));
	uint8_t hdr[FLAT_HEADER_SIZE];
	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, FLAT_SIGNATURE, sizeof(FLAT_SIGNATURE));
	put64(hdr + FLAT_SIG_LEN, FLAT_TYPE, true);
	put64(hdr + FLAT_SIG_LEN + 8, FLAT_VERSION, true);
	err_t *e = write_all(fd, name, hdr, sizeof(hdr));
	if (e) {
		sink_destroy(*out);
		*out = NULL;
	}
	return e;
}

err_t *sink_pwrite(struct sink *s, uint64_t off, const void *buf, size_t len)
{
	uint64_t end;
	if (s->limit && (!add_ok(off, len, &end) || end > s->limit))
		return err_new(ERR_NOSPC, "'%s': the size limit of %" PRIu64 " bytes is reached",
			       s->name, s->limit);
	return s->pwrite(s, off, buf, len);
}

void sink_destroy(struct sink *s)
{
	if (s)
		s->destroy(s);
}

static err_t *null_pwrite(struct sink *s, uint64_t off, const void *buf, size_t len)
{
	(void)s, (void)off, (void)buf, (void)len;
	return NULL;
}

static err_t *null_flush(struct sink *s)
{
	(void)s;
	return NULL;
}

static void null_destroy(struct sink *s)
{
	free(s);
}

err_t *sink_null_create(struct sink **out)
{
	struct sink *s = calloc(1, sizeof(*s));
	if (!s)
		return err_new(ERR_NOMEM, "out of memory");
	s->name = "(dry run)";
	s->pwrite = null_pwrite;
	s->flush = null_flush;
	s->finish = null_flush;
	s->destroy = null_destroy;
	*out = s;
	return NULL;
}
