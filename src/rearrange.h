/* -R: replay a flattened stream from a file descriptor into a file. */
#ifndef MKDF_REARRANGE_H
#define MKDF_REARRANGE_H

#include <stdint.h>

#include "err.h"
#include "output/sink.h"

err_t *rearrange_stream(int fd, const char *name, struct sink *out, uint64_t *bytes);

#endif
