/* Output sinks: writers place bytes at file offsets; the sink either writes
 * them into a file or serialises them as flattened-stream records, so that no
 * writer knows whether its output goes through a pipe. */
#ifndef MKDF_SINK_H
#define MKDF_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../err.h"

struct sink {
	const char *name;
	uint64_t limit;          /* -L: refuse bytes past this size; 0 = none */
	err_t *(*pwrite)(struct sink *s, uint64_t off, const void *buf, size_t len);
	err_t *(*flush)(struct sink *s);
	err_t *(*finish)(struct sink *s);  /* flush and close the stream properly */
	void (*destroy)(struct sink *s);
};

/* Create PATH (refusing an existing file unless FORCE). */
err_t *sink_file_create(const char *path, bool force, struct sink **out);
/* Flattened stream on FD (standard output for -F). */
err_t *sink_flat_create(int fd, const char *name, struct sink **out);

/* Discards everything (--dry-run), still counting what would be written. */
err_t *sink_null_create(struct sink **out);

err_t *sink_pwrite(struct sink *s, uint64_t off, const void *buf, size_t len);
void sink_destroy(struct sink *s);

#endif
