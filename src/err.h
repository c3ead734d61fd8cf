/* Errors are values: a function that can fail returns NULL on success or an
 * error object carrying a code and a message.  Callers add context with
 * err_wrap(), which prefixes the message; only the command line prints. */
#ifndef MKDF_ERR_H
#define MKDF_ERR_H

#include <stdarg.h>

enum err_code {
	ERR_FAIL = 1,    /* generic failure */
	ERR_NOMEM,
	ERR_IO,
	ERR_FORMAT,      /* malformed or unsupported input */
	ERR_NOSPC,       /* output full: device or -L limit */
	ERR_USAGE,       /* bad command line */
	ERR_MISMATCH,    /* VMCOREINFO file does not match the dump (exit 2) */
	ERR_NODATA,      /* requested data is not in the dump */
};

typedef struct err err_t;

err_t *err_new(enum err_code code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prefix "CONTEXT: " to e's message; returns e (or NULL if e is NULL). */
err_t *err_wrap(err_t *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* err_new() with ": strerror(errno)" appended and a code derived from it. */
err_t *err_errno(int errnum, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
enum err_code err_code(const err_t *e);
const char *err_msg(const err_t *e);
void err_free(err_t *e);

/* Evaluate an err_t expression and return it from the caller when set. */
#define TRY(expr) do { err_t *try_e_ = (expr); if (try_e_) return try_e_; } while (0)

#endif
