/* VMCOREINFO text: KEY=VALUE lines exported by the kernel. */
#ifndef MKDF_VMCOREINFO_H
#define MKDF_VMCOREINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../err.h"

struct vmcoreinfo {
	char *text;           /* NUL-terminated copy */
	size_t len;
};

err_t *vmcoreinfo_init(struct vmcoreinfo *v, const void *text, size_t len);
void vmcoreinfo_deinit(struct vmcoreinfo *v);

/* Raw value of KEY ("OSRELEASE", "SYMBOL(phys_base)"), copied into BUF. */
bool vmcoreinfo_get(const struct vmcoreinfo *v, const char *key, char *buf, size_t len);
/* Whether KEY has a line, whatever the length of its value. */
bool vmcoreinfo_has(const struct vmcoreinfo *v, const char *key);
/* SYMBOL(x) and KERNELOFFSET are hex; NUMBER/SIZE/OFFSET/LENGTH signed
 * decimal with a 0x fallback. */
bool vmcoreinfo_hex(const struct vmcoreinfo *v, const char *key, uint64_t *out);
bool vmcoreinfo_num(const struct vmcoreinfo *v, const char *key, int64_t *out);

#endif
