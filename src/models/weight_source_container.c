/* weight_source_container.c — tensors read in place from an `npugen export` container (model.npgw).
 *
 * Matrices of any stored type (float or quantized) are handed to the kernels as they lie in the
 * mapping; 1-D tensors (norms, biases) are float and converted to f32. Every tensor's checksum is
 * verified when the source opens (one read of the file; see docs/format.md). */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "format/npgw.h"
#include "models/weight_source.h"
#include "weights/weights.h"

static bool c_has(void *ctx, const char *name) { return npgw_find(ctx, name) != NULL; }

static npg_status c_find(npgw_file *f, const char *name, const npgw_tensor **out) {
    const npgw_tensor *t = npgw_find(f, name);
    if (!t)
        return npg_fail(NPG_ERR_NOT_FOUND, "%s: tensor '%s' is missing", npgw_path(f), name);
    *out = t;
    return NPG_OK;
}

/* Float tensor t's `count` values widened to f32 (the quantizers' row conversion of a [1, count]
 * weight); only matrices may be stored quantized, so another type is NPG_ERR_FORMAT. */
static npg_status read_floats(npgw_file *f, const npgw_tensor *t, const char *name, int64_t count, float *out) {
    if (t->wtype != NPG_W_F32 && t->wtype != NPG_W_F16 && t->wtype != NPG_W_BF16)
        return npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s' is stored as %s; it must be F32, F16 or BF16", npgw_path(f),
                        name, npg_wtype_name(t->wtype));
    npg_weight row = {.type = t->wtype, .n = 1, .k = count, .data = t->data};
    npg_dequantize_row(&row, 0, out);
    return NPG_OK;
}

static npg_status c_get_matrix(void *ctx, const char *name, int64_t rows, int64_t cols, npg_weight *w) {
    const npgw_tensor *t = NULL;
    NPG_TRY(c_find(ctx, name, &t));
    if (t->n_dims != 2 || t->shape[0] != rows || t->shape[1] != cols)
        return npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s' has %d dims [%lld, %lld, ..] but config.json implies [%lld, %lld]",
                        npgw_path(ctx), name, t->n_dims, (long long)t->shape[0], (long long)t->shape[1],
                        (long long)rows, (long long)cols);
    w->type = t->wtype;
    w->n = rows;
    w->k = cols;
    w->group_size = t->wtype == NPG_W_Q4_G ? t->group_size : 0;
    w->data = t->data;
    w->scales = t->scales;
    return NPG_OK;
}

static npg_status c_get_vector(void *ctx, const char *name, int64_t len, float *out) {
    const npgw_tensor *t = NULL;
    NPG_TRY(c_find(ctx, name, &t));
    if (t->n_dims != 1 || t->shape[0] != len)
        return npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s' has %d dims / first %lld but config.json implies [%lld]",
                        npgw_path(ctx), name, t->n_dims, (long long)t->shape[0], (long long)len);
    return read_floats(ctx, t, name, len, out);
}

static npg_status c_get_array(void *ctx, const char *name, int n_dims, const int64_t *shape, float *out) {
    const npgw_tensor *t = NULL;
    NPG_TRY(c_find(ctx, name, &t));
    bool same = t->n_dims == n_dims;
    int64_t count = 1;
    for (int d = 0; d < n_dims; d++) {
        same = same && t->shape[d] == shape[d];
        count *= shape[d];
    }
    if (!same)
        return npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s' has %d dims, not the shape config.json implies",
                        npgw_path(ctx), name, t->n_dims);
    return read_floats(ctx, t, name, count, out);
}

static npg_status c_get_flat(void *ctx, const char *name, int64_t n_elements, float *out) {
    const npgw_tensor *t = NULL;
    NPG_TRY(c_find(ctx, name, &t));
    int64_t count = 1;
    for (int i = 0; i < t->n_dims; i++)
        count *= t->shape[i];
    if (count != n_elements)
        return npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s' has %lld elements but config.json implies %lld",
                        npgw_path(ctx), name, (long long)count, (long long)n_elements);
    return read_floats(ctx, t, name, n_elements, out);
}

static size_t c_total(void *ctx) { return (size_t)npgw_data_bytes(ctx); }

static void c_free(void *ctx) { npgw_close(ctx); }

bool npg_weight_source_container_present(const char *dir) {
    char *path = npg_path_join(dir, NPGW_FILE_NAME);
    bool yes = path && npg_path_exists(path);
    free(path);
    return yes;
}

npg_status npg_weight_source_container(const char *dir, npg_weight_source *out) {
    char *path = npg_path_join(dir, NPGW_FILE_NAME);
    NPG_CHECK_ALLOC(path);
    npgw_file *f = NULL;
    npg_status st = npgw_open(path, &f);
    free(path);
    if (st == NPG_OK)
        st = npgw_verify_data(f);
    if (st != NPG_OK) {
        npgw_close(f);
        return st;
    }
    out->ctx = f;
    out->what = dir;
    out->has = c_has;
    out->get_matrix = c_get_matrix;
    out->get_vector = c_get_vector;
    out->get_array = c_get_array;
    out->get_flat = c_get_flat;
    out->total_bytes = c_total;
    out->free = c_free;
    return NPG_OK;
}
