/* safetensors_writer.h — streaming writer of Hugging Face safetensors files.
 *
 * Life of a writer (the file layout is the one safetensors.h describes):
 *   1. npg_safetensors_writer_create(path)          nothing is written yet
 *   2. _add_metadata(key, value)  (optional, any number) -> the "__metadata__" string map
 *      _declare(name, dtype, n_dims, shape)         for every tensor, in the order its data will follow
 *   3. _write_header()                               u64 header length + JSON header, padded with spaces
 *                                                    to a multiple of 8 bytes (as HF does) so the data
 *                                                    section starts 8-byte aligned
 *   4. _write(data, n) any number of times           the tensors' bytes back to back, in declaration order,
 *      or _write_tensor(name, data, n)               chunks of any size (they may cross tensor boundaries)
 *   5. _finish()                                     checks every declared byte arrived, then fsyncs and
 *                                                    renames the temporary file over `path`
 *   _free() at any point; before a successful _finish it removes the temporary file.
 *
 * Only the header (names, shapes, offsets) is held in memory: tensor data streams straight to the
 * file, so a model of any size is written with a few kilobytes of state plus the caller's chunk.
 * Tensors lie back to back without holes (the format forbids gaps), so a tensor is aligned to its own
 * element size only when every tensor before it has a byte size that is a multiple of it; declare
 * the widest dtypes first (HF sorts by dtype width for this reason) where alignment matters.
 *
 * Every function returns NPG_OK or a status whose npg_last_error() names the file and the tensor. A
 * call out of order (declare after the header, write before it) is NPG_ERR_INVALID_ARGUMENT. A failed
 * _write_header, _write or _finish leaves the writer unusable except for _free; other failures change
 * nothing. */
#ifndef NPG_FORMAT_SAFETENSORS_WRITER_H
#define NPG_FORMAT_SAFETENSORS_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "format/safetensors.h"
#include "npugen.h"

typedef struct npg_safetensors_writer npg_safetensors_writer;

/* The file appears at `path` only after _finish; until then data goes to a temporary name beside it
 * (core/file.h npg_atomic_*). The temporary file is created here, so an unwritable folder fails now. */
npg_status npg_safetensors_writer_create(const char *path, npg_safetensors_writer **out);
/* Frees the writer (NULL is fine); removes the temporary file unless _finish succeeded. */
void npg_safetensors_writer_free(npg_safetensors_writer *w);

/* One "__metadata__" entry (both strings copied). Keys are unique. */
npg_status npg_safetensors_writer_add_metadata(npg_safetensors_writer *w, const char *key, const char *value);
/* Declares the next tensor: a unique non-empty name other than "__metadata__", a dtype < NPG_DT_COUNT,
 * 0..NPG_MAX_DIMS dimensions each >= 0 (n_dims 0 is a scalar of one element). Duplicate names are
 * reported by _write_header, which sees them all. */
npg_status npg_safetensors_writer_declare(npg_safetensors_writer *w, const char *name, npg_dtype dtype, int n_dims,
                                          const int64_t *shape);
/* Writes the header; declarations end here. */
npg_status npg_safetensors_writer_write_header(npg_safetensors_writer *w);

/* Appends `n` bytes of tensor data. Fails without writing when they would go past the last tensor. */
npg_status npg_safetensors_writer_write(npg_safetensors_writer *w, const void *data, size_t n);
/* Writes a whole tensor at once: `name` must be the next tensor to start and `n` its full byte size. */
npg_status npg_safetensors_writer_write_tensor(npg_safetensors_writer *w, const char *name, const void *data, size_t n);
/* Finishes the file (see above). The writer must still be freed. */
npg_status npg_safetensors_writer_finish(npg_safetensors_writer *w);

/* Progress, for callers that report it: declared tensors, index of the tensor the next byte belongs to
 * (== count when all data is written), bytes of tensor data declared and written so far. */
size_t npg_safetensors_writer_tensor_count(const npg_safetensors_writer *w);
size_t npg_safetensors_writer_current_tensor(const npg_safetensors_writer *w);
uint64_t npg_safetensors_writer_data_bytes(const npg_safetensors_writer *w);
uint64_t npg_safetensors_writer_bytes_written(const npg_safetensors_writer *w);
/* The byte size of the i-th declared tensor (0 when i is out of range). */
uint64_t npg_safetensors_writer_tensor_bytes(const npg_safetensors_writer *w, size_t i);

#endif
