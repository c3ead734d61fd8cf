#include "notes.h"

#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"

void note_iter_init(struct note_iter *it, const void *blob, size_t size, bool be)
{
	it->blob = blob;
	it->size = size;
	it->pos = 0;
	it->be = be;
}

int note_next(struct note_iter *it, struct note *n)
{
	/* Trailing padding (zeros shorter than a header) ends the blob. */
	if (it->size - it->pos < 12)
		return 0;
	const uint8_t *h = it->blob + it->pos;
	uint32_t namesz = get32(h, it->be), descsz = get32(h + 4, it->be);
	if (namesz == 0 && descsz == 0 && get32(h + 8, it->be) == 0) {
		/* /proc/vmcore pads its PT_NOTE with zeros after the last note. */
		for (size_t i = it->pos; i < it->size; i++)
			if (it->blob[i])
				return -1;
		return 0;
	}
	uint64_t name_off = it->pos + 12;
	uint64_t desc_off = name_off + align_up(namesz, 4);
	uint64_t end = desc_off + align_up(descsz, 4);
	if (desc_off > it->size || desc_off + descsz > it->size)
		return -1;
	n->name = (const char *)it->blob + name_off;
	n->namesz = namesz;
	n->type = get32(h + 8, it->be);
	n->desc = it->blob + desc_off;
	n->descsz = descsz;
	n->offset = it->pos;
	n->desc_offset = (size_t)desc_off;
	it->pos = end > it->size ? it->size : (size_t)end;
	return 1;
}

bool note_is(const struct note *n, const char *name)
{
	size_t len = strlen(name);
	if (n->namesz == len + 1)
		return memcmp(n->name, name, len) == 0 && n->name[len] == '\0';
	return n->namesz == len && memcmp(n->name, name, len) == 0;
}

err_t *notes_validate(const void *blob, size_t size, bool be)
{
	struct note_iter it;
	struct note n;
	int r, i = 0;
	note_iter_init(&it, blob, size, be);
	while ((r = note_next(&it, &n)) > 0)
		i++;
	if (r < 0)
		return err_new(ERR_FORMAT, "note %d at offset 0x%zx of the note data has sizes "
			       "past its end (%zu bytes)", i, it.pos, size);
	return NULL;
}

int notes_count_prstatus(const void *blob, size_t size, bool be)
{
	struct note_iter it;
	struct note n;
	int count = 0;
	note_iter_init(&it, blob, size, be);
	while (note_next(&it, &n) > 0)
		if (n.type == NT_PRSTATUS && note_is(&n, "CORE"))
			count++;
	return count;
}

bool notes_find(const void *blob, size_t size, bool be, const char *name, uint32_t type,
		struct note *out)
{
	struct note_iter it;
	struct note n;
	note_iter_init(&it, blob, size, be);
	while (note_next(&it, &n) > 0)
		if (n.type == type && note_is(&n, name)) {
			*out = n;
			return true;
		}
	return false;
}

err_t *notes_append(uint8_t **blob, size_t *size, bool be, const char *name, uint32_t type,
		    const void *desc, size_t descsz)
{
	size_t namesz = strlen(name) + 1;
	size_t add = 12 + align_up(namesz, 4) + align_up(descsz, 4);
	uint8_t *nb = realloc(*blob, *size + add);
	if (!nb)
		return err_new(ERR_NOMEM, "out of memory");
	uint8_t *p = nb + *size;
	memset(p, 0, add);
	put32(p, (uint32_t)namesz, be);
	put32(p + 4, (uint32_t)descsz, be);
	put32(p + 8, type, be);
	memcpy(p + 12, name, namesz);
	memcpy(p + 12 + align_up(namesz, 4), desc, descsz);
	*blob = nb;
	*size += add;
	return NULL;
}
