/* The kernel log from a dump: the lockless printk ring buffer (5.10+) and
 * the older variable-length record buffer, located through VMCOREINFO. */
#ifndef MKDF_DMESG_H
#define MKDF_DMESG_H

#include <stdbool.h>
#include <stdio.h>

#include "../err.h"
#include "kernel.h"

struct dmesg_stats {
	unsigned long records;     /* written */
	unsigned long skipped;     /* reserved, reused or overwritten records */
};

/* Write the log as `dmesg` and crash's `log` print it: one
 * "[%5lu.%06lu] text" line per line of each record.  PARTIAL: only what
 * follows the last clear (clear_seq). */
err_t *dmesg_write(struct kernel *k, bool partial, FILE *out, struct dmesg_stats *st);

#endif
