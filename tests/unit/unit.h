/* A minimal unit-test harness: CHECK records a failure and goes on. */
#ifndef MKDF_UNIT_H
#define MKDF_UNIT_H

#include <stdio.h>

extern int unit_failures, unit_checks;

#define CHECK(cond) do { \
	unit_checks++; \
	if (!(cond)) { \
		unit_failures++; \
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
	} \
} while (0)

#define CHECK_OK(expr) do { \
	err_t *check_e_ = (expr); \
	unit_checks++; \
	if (check_e_) { \
		unit_failures++; \
		fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #expr, \
			err_msg(check_e_)); \
		err_free(check_e_); \
	} \
} while (0)

#define CHECK_ERR(expr) do { \
	err_t *check_e_ = (expr); \
	unit_checks++; \
	if (!check_e_) { \
		unit_failures++; \
		fprintf(stderr, "%s:%d: %s succeeded, expected an error\n", __FILE__, __LINE__, \
			#expr); \
	} \
	err_free(check_e_); \
} while (0)

struct unit_test {
	const char *name;
	void (*fn)(void);
};

#endif
