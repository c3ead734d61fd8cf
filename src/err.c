#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct err {
	enum err_code code;
	char *msg;
};

/* Returned when allocating an error fails; never freed. */
static struct err err_oom = { ERR_NOMEM, (char *)"out of memory" };

static char *vformat(const char *fmt, va_list ap)
{
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

err_t *err_new(enum err_code code, const char *fmt, ...)
{
	struct err *e = malloc(sizeof(*e));
	if (!e)
		return &err_oom;
	va_list ap;
	va_start(ap, fmt);
	e->msg = vformat(fmt, ap);
	va_end(ap);
	if (!e->msg) {
		free(e);
		return &err_oom;
	}
	e->code = code;
	return e;
}

err_t *err_errno(int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = vformat(fmt, ap);
	va_end(ap);
	if (!s)
		return &err_oom;
	enum err_code code = errnum == ENOSPC || errnum == EDQUOT || errnum == EFBIG
		? ERR_NOSPC : errnum == ENOMEM ? ERR_NOMEM : ERR_IO;
	err_t *e = err_new(code, "%s: %s", s, strerror(errnum));
	free(s);
	return e;
}

err_t *err_wrap(err_t *e, const char *fmt, ...)
{
	if (!e || e == &err_oom)
		return e;
	va_list ap;
	va_start(ap, fmt);
	char *prefix = vformat(fmt, ap);
	va_end(ap);
	char *s = NULL;
	if (!prefix || asprintf(&s, "%s: %s", prefix, e->msg) < 0) {
		free(prefix);
		return e; /* keep the inner message rather than lose it */
	}
	free(prefix);
	free(e->msg);
	e->msg = s;
	return e;
}

enum err_code err_code(const err_t *e) { return e ? e->code : 0; }
const char *err_msg(const err_t *e) { return e ? e->msg : ""; }

void err_free(err_t *e)
{
	if (!e || e == &err_oom)
		return;
	free(e->msg);
	free(e);
}
