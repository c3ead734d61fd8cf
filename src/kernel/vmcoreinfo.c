#include "vmcoreinfo.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

err_t *vmcoreinfo_init(struct vmcoreinfo *v, const void *text, size_t len)
{
	v->text = malloc(len + 1);
	if (!v->text)
		return err_new(ERR_NOMEM, "out of memory");
	memcpy(v->text, text, len);
	v->text[len] = '\0';
	/* The note may be NUL padded; the text ends at the first NUL. */
	v->len = strlen(v->text);
	return NULL;
}

void vmcoreinfo_deinit(struct vmcoreinfo *v)
{
	free(v->text);
	v->text = NULL;
	v->len = 0;
}

/* The value of KEY's line (not NUL-terminated), or NULL. */
static const char *find_value(const struct vmcoreinfo *v, const char *key, size_t *vlen)
{
	size_t klen = strlen(key);
	const char *p = v->text;
	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t llen = eol ? (size_t)(eol - p) : strlen(p);
		if (llen > klen && p[klen] == '=' && memcmp(p, key, klen) == 0) {
			*vlen = llen - klen - 1;
			return p + klen + 1;
		}
		p = eol ? eol + 1 : NULL;
	}
	return NULL;
}

bool vmcoreinfo_has(const struct vmcoreinfo *v, const char *key)
{
	size_t vlen;
	return find_value(v, key, &vlen) != NULL;
}

bool vmcoreinfo_get(const struct vmcoreinfo *v, const char *key, char *buf, size_t len)
{
	size_t vlen;
	const char *val = find_value(v, key, &vlen);
	if (!val || vlen >= len)
		return false;
	memcpy(buf, val, vlen);
	buf[vlen] = '\0';
	return true;
}

bool vmcoreinfo_hex(const struct vmcoreinfo *v, const char *key, uint64_t *out)
{
	char buf[64], *end;
	if (!vmcoreinfo_get(v, key, buf, sizeof(buf)) || !buf[0])
		return false;
	errno = 0;
	unsigned long long x = strtoull(buf, &end, 16);
	if (errno || *end)
		return false;
	*out = x;
	return true;
}

bool vmcoreinfo_num(const struct vmcoreinfo *v, const char *key, int64_t *out)
{
	char buf[64], *end;
	if (!vmcoreinfo_get(v, key, buf, sizeof(buf)) || !buf[0])
		return false;
	errno = 0;
	long long x;
	if (strncmp(buf, "0x", 2) == 0 || strncmp(buf, "-0x", 3) == 0) {
		bool neg = buf[0] == '-';
		unsigned long long u = strtoull(buf + (neg ? 3 : 2), &end, 16);
		x = neg ? -(long long)u : (long long)u;
	} else {
		x = strtoll(buf, &end, 10);
	}
	if (errno || *end)
		return false;
	*out = x;
	return true;
}
