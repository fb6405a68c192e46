/* safetensors.h — memory-mapped reading of Hugging Face safetensors files, single and sharded.
 *
 * File layout (https://huggingface.co/docs/safetensors): u64 little-endian N, then N bytes of JSON
 * header {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}},
 * then the data section; offsets are relative to the data section. Every offset, shape and dtype is
 * checked against the file size and each other before any tensor is exposed, so a truncated or
 * hostile file is an error, never an out-of-bounds read. Tensor data is used in place (mmap, no copy). */
#ifndef NPG_FORMAT_SAFETENSORS_H
#define NPG_FORMAT_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "core/file.h"
#include "npugen.h"

typedef enum npg_dtype {
    NPG_DT_F32 = 0,
    NPG_DT_F16,
    NPG_DT_BF16,
    NPG_DT_F64,
    NPG_DT_I8,
    NPG_DT_U8,
    NPG_DT_I16,
    NPG_DT_I32,
    NPG_DT_I64,
    NPG_DT_BOOL,
    NPG_DT_COUNT
} npg_dtype;

enum { NPG_MAX_DIMS = 8 };

const char *npg_dtype_name(npg_dtype dt);
size_t npg_dtype_size(npg_dtype dt);

typedef struct npg_tensor_info {
    char *name;
    npg_dtype dtype;
    int n_dims;
    int64_t shape[NPG_MAX_DIMS];
    int64_t n_elements;
    const uint8_t *data; /* into the mapped file; valid while the store lives */
    size_t n_bytes;
    int shard;           /* index of the file that holds it */
} npg_tensor_info;

typedef struct npg_tensor_store npg_tensor_store;

/* Opens <dir>/model.safetensors, or the shards listed by <dir>/model.safetensors.index.json.
 * NPG_ERR_NOT_FOUND when the folder has neither. */
npg_status npg_tensor_store_open_dir(const char *dir, npg_tensor_store **out);
/* The same for one pass over the tensors (export): the shards are mapped without reading them in, so
 * the resident size follows the tensors being read instead of the whole model. */
npg_status npg_tensor_store_open_dir_streaming(const char *dir, npg_tensor_store **out);
/* Opens one file. */
npg_status npg_tensor_store_open_file(const char *path, npg_tensor_store **out);
void npg_tensor_store_free(npg_tensor_store *ts);

/* NULL when absent. */
const npg_tensor_info *npg_tensor_store_find(const npg_tensor_store *ts, const char *name);
size_t npg_tensor_store_count(const npg_tensor_store *ts);
const npg_tensor_info *npg_tensor_store_at(const npg_tensor_store *ts, size_t i);
/* Total bytes of tensor data (all shards). */
size_t npg_tensor_store_data_bytes(const npg_tensor_store *ts);
/* The path of shard i (for messages). */
const char *npg_tensor_store_shard_path(const npg_tensor_store *ts, int shard);

#endif
