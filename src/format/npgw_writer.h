/* npgw_writer.h — streaming writer of the weight container (layout in format/npgw.h).
 *
 * Life of a writer:
 *   1. npgw_writer_create(path)
 *   2. _set_metadata(json) (optional); _declare(...) for every tensor, in the order its bytes follow
 *   3. _begin()           computes the layout, writes header, table, names and metadata (hashes zero)
 *   4. _write(bytes, n)   any number of times: each tensor's data bytes, then its scales bytes, tensor
 *                         after tensor; chunks may have any size and cross region boundaries. The
 *                         writer inserts the alignment padding and hashes each tensor as it streams.
 *   5. _finish()          checks every declared byte arrived, rewrites the table with the tensor hashes
 *                         and the header with both checksums, fsyncs and renames the temporary file
 *                         ("<path>.tmp.<pid>") to `path`.
 *   _free() at any point; before a successful _finish it removes the temporary file.
 * Memory: the table and names only; tensor bytes stream straight to the file. */
#ifndef NPG_FORMAT_NPGW_WRITER_H
#define NPG_FORMAT_NPGW_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "format/npgw.h"

typedef struct npgw_writer npgw_writer;

npg_status npgw_writer_create(const char *path, npgw_writer **out);
void npgw_writer_free(npgw_writer *w);

/* A JSON object text (copied). */
npg_status npgw_writer_set_metadata(npgw_writer *w, const char *json);
/* Float types: 1..4 dims; quantized types: 2 dims [n, k] and (Q4_G) a group size dividing k.
 * Names are unique, 1..NPGW_MAX_NAME bytes. */
npg_status npgw_writer_declare(npgw_writer *w, const char *name, npg_wtype wtype, int n_dims, const int64_t *shape,
                               int64_t group_size);
npg_status npgw_writer_begin(npgw_writer *w);
npg_status npgw_writer_write(npgw_writer *w, const void *data, size_t n);
npg_status npgw_writer_finish(npgw_writer *w);

/* Progress: bytes of tensor data (+ scales) declared and written so far. */
uint64_t npgw_writer_total_bytes(const npgw_writer *w);
uint64_t npgw_writer_written_bytes(const npgw_writer *w);

#endif
