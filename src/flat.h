/* The makedumpfile flattened stream: a file serialised as records so that it
 * can go through a pipe.  Header fields and record heads are big-endian. */
#ifndef MKDF_FLAT_H
#define MKDF_FLAT_H

#define FLAT_SIGNATURE "makedumpfile"
#define FLAT_SIG_LEN 16          /* signature field, NUL padded */
#define FLAT_TYPE 1
#define FLAT_VERSION 1
#define FLAT_HEADER_SIZE 4096    /* signature, type i64, version i64, zeros */
#define FLAT_RECORD_HEAD 16      /* offset i64, size i64 */
#define FLAT_END_MARK (-1)       /* offset = size = -1 ends the stream */

#endif
