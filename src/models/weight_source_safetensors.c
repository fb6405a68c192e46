/* weight_source_safetensors.c — tensors read in place from memory-mapped safetensors files. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "format/safetensors.h"
#include "models/weight_source.h"
#include "weights/weights.h"

static bool st_has(void *ctx, const char *name) { return npg_tensor_store_find(ctx, name) != NULL; }

static npg_status st_find(npg_tensor_store *ts, const char *name, const npg_tensor_info **out) {
    const npg_tensor_info *t = npg_tensor_store_find(ts, name);
    if (!t)
        return npg_fail(NPG_ERR_NOT_FOUND, "%s: tensor '%s' is missing", npg_tensor_store_shard_path(ts, 0), name);
    *out = t;
    return NPG_OK;
}

/* *type = the weight type of float tensor t; another dtype is NPG_ERR_UNSUPPORTED naming the file,
 * the tensor and `want` (the message's words for what is accepted). */
static npg_status float_type(npg_tensor_store *ts, const npg_tensor_info *t, const char *name, const char *want,
                             npg_wtype *type) {
    switch (t->dtype) {
    case NPG_DT_F32: *type = NPG_W_F32; return NPG_OK;
    case NPG_DT_F16: *type = NPG_W_F16; return NPG_OK;
    case NPG_DT_BF16: *type = NPG_W_BF16; return NPG_OK;
    default:
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: tensor '%s' has dtype %s; %s F32, F16 or BF16",
                        npg_tensor_store_shard_path(ts, t->shard), name, npg_dtype_name(t->dtype), want);
    }
}

/* Float tensor t's `count` values widened to f32 (the quantizers' row conversion of a
 * [1, count] weight). */
static npg_status read_floats(npg_tensor_store *ts, const npg_tensor_info *t, const char *name, int64_t count,
                              float *out) {
    npg_wtype type = NPG_W_F32; /* set by float_type (gcc cannot tell) */
    NPG_TRY(float_type(ts, t, name, "expected", &type));
    npg_weight row = {.type = type, .n = 1, .k = count, .data = t->data};
    npg_dequantize_row(&row, 0, out);
    return NPG_OK;
}

static npg_status st_get_matrix(void *ctx, const char *name, int64_t rows, int64_t cols, npg_weight *w) {
    npg_tensor_store *ts = ctx;
    const npg_tensor_info *t = NULL;
    NPG_TRY(st_find(ts, name, &t));
    const char *file = npg_tensor_store_shard_path(ts, t->shard);
    if (t->n_dims != 2 || t->shape[0] != rows || t->shape[1] != cols)
        return npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s' has shape [%lld%s%lld] but config.json implies [%lld, %lld]",
                        file, name, (long long)t->shape[0], t->n_dims >= 2 ? ", " : "",
                        t->n_dims >= 2 ? (long long)t->shape[1] : 0LL, (long long)rows, (long long)cols);
    NPG_TRY(float_type(ts, t, name, "weights must be", &w->type));
    w->n = rows;
    w->k = cols;
    w->group_size = 0;
    w->data = t->data;
    w->scales = NULL;
    return NPG_OK;
}

static npg_status st_get_vector(void *ctx, const char *name, int64_t len, float *out) {
    npg_tensor_store *ts = ctx;
    const npg_tensor_info *t = NULL;
    NPG_TRY(st_find(ts, name, &t));
    const char *file = npg_tensor_store_shard_path(ts, t->shard);
    if (t->n_dims != 1 || t->shape[0] != len)
        return npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s' has %d dims / %lld elements but config.json implies [%lld]",
                        file, name, t->n_dims, (long long)t->n_elements, (long long)len);
    return read_floats(ts, t, name, len, out);
}

static npg_status st_get_array(void *ctx, const char *name, int n_dims, const int64_t *shape, float *out) {
    npg_tensor_store *ts = ctx;
    const npg_tensor_info *t = NULL;
    NPG_TRY(st_find(ts, name, &t));
    bool same = t->n_dims == n_dims;
    int64_t count = 1;
    for (int d = 0; d < n_dims; d++) {
        same = same && t->shape[d] == shape[d];
        count *= shape[d];
    }
    if (!same)
        return npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s' has %d dims / %lld elements, not the shape config.json implies",
                        npg_tensor_store_shard_path(ts, t->shard), name, t->n_dims, (long long)t->n_elements);
    return read_floats(ts, t, name, count, out);
}

static npg_status st_get_flat(void *ctx, const char *name, int64_t n_elements, float *out) {
    npg_tensor_store *ts = ctx;
    const npg_tensor_info *t = NULL;
    NPG_TRY(st_find(ts, name, &t));
    if ((int64_t)t->n_elements != n_elements)
        return npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s' has %lld elements but config.json implies %lld",
                        npg_tensor_store_shard_path(ts, t->shard), name, (long long)t->n_elements,
                        (long long)n_elements);
    return read_floats(ts, t, name, n_elements, out);
}

static size_t st_total(void *ctx) { return npg_tensor_store_data_bytes(ctx); }

static void st_free(void *ctx) { npg_tensor_store_free(ctx); }

npg_status npg_weight_source_safetensors(const char *dir, bool lazy, npg_weight_source *out) {
    npg_tensor_store *ts = NULL;
    NPG_TRY(lazy ? npg_tensor_store_open_dir_streaming(dir, &ts) : npg_tensor_store_open_dir(dir, &ts));
    out->ctx = ts;
    out->what = dir;
    out->has = st_has;
    out->get_matrix = st_get_matrix;
    out->get_vector = st_get_vector;
    out->get_array = st_get_array;
    out->get_flat = st_get_flat;
    out->total_bytes = st_total;
    out->free = st_free;
    return NPG_OK;
}
