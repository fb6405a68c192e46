/* weight_source.h — where a model's tensors come from (a Hugging Face safetensors folder, or an
 * `npugen export` container), behind one small interface the model loader uses. */
#ifndef NPG_MODELS_WEIGHT_SOURCE_H
#define NPG_MODELS_WEIGHT_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "weights/weights.h"
#include "npugen.h"

typedef struct npg_weight_source {
    void *ctx;
    const char *what; /* file or folder name for messages */
    bool (*has)(void *ctx, const char *name);
    /* A [rows, cols] matrix usable by npg_matmul, pointing into storage owned by the source.
     * NPG_ERR_NOT_FOUND names the tensor; a dtype or shape that contradicts rows/cols is NPG_ERR_FORMAT. */
    npg_status (*get_matrix)(void *ctx, const char *name, int64_t rows, int64_t cols, npg_weight *out);
    /* A [len] vector converted to f32 into out[len]. */
    npg_status (*get_vector)(void *ctx, const char *name, int64_t len, float *out);
    /* A float tensor of exactly n_dims dims `shape` converted to f32 into out (conv kernels). */
    npg_status (*get_array)(void *ctx, const char *name, int n_dims, const int64_t *shape, float *out);
    /* Any float tensor of n_elements values (whatever its rank: a conv kernel [o, c, p, p], a table
     * [rows, dim]) converted to f32 into out[n_elements], row-major. NULL in sources that hold only a
     * decoder (the NPU blob). */
    npg_status (*get_flat)(void *ctx, const char *name, int64_t n_elements, float *out);
    size_t (*total_bytes)(void *ctx);
    void (*free)(void *ctx); /* releases the storage; called by npg_model_free */
} npg_weight_source;

/* The safetensors source over a model folder. lazy: map without reading the files in (a load that
 * only checks names and shapes, e.g. export's pre-check, then touches a few pages, not the model). */
npg_status npg_weight_source_safetensors(const char *dir, bool lazy, npg_weight_source *out);
/* The container source over <dir>/model.npgw (src/models/weight_source_container.c); checksums are
 * verified on open. _present: whether the folder holds a container (it then wins over safetensors). */
npg_status npg_weight_source_container(const char *dir, npg_weight_source *out);
bool npg_weight_source_container_present(const char *dir);

#endif
