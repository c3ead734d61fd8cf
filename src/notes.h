/* ELF note blobs: the CORE/PRSTATUS notes, QEMU CPU state notes and the
 * VMCOREINFO note travel verbatim from input to output. */
#ifndef MKDF_NOTES_H
#define MKDF_NOTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct note {
	const char *name;       /* not NUL-terminated necessarily; see namesz */
	uint32_t namesz;        /* including the NUL when present */
	uint32_t type;
	const uint8_t *desc;
	uint32_t descsz;
	size_t offset;          /* of the note header within the blob */
	size_t desc_offset;     /* of the descriptor within the blob */
};

struct note_iter {
	const uint8_t *blob;
	size_t size, pos;
	bool be;
};

void note_iter_init(struct note_iter *it, const void *blob, size_t size, bool be);
/* Next note; returns 0 at the end, 1 with *N filled, -1 on a malformed note
 * (sizes running past the blob). */
int note_next(struct note_iter *it, struct note *n);
bool note_is(const struct note *n, const char *name);

/* Check the whole blob; an error says which note is broken. */
err_t *notes_validate(const void *blob, size_t size, bool be);

/* Count of CORE NT_PRSTATUS notes. */
int notes_count_prstatus(const void *blob, size_t size, bool be);
/* Find the VMCOREINFO note; false when absent. */
bool notes_find(const void *blob, size_t size, bool be, const char *name, uint32_t type,
		struct note *out);

/* Append a note (name, type, desc) to a growing blob. */
err_t *notes_append(uint8_t **blob, size_t *size, bool be, const char *name, uint32_t type,
		    const void *desc, size_t descsz);

#endif
