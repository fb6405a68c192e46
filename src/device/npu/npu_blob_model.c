/* npu_blob_model.c — a model whose weights live in a full NPU blob, so importing one needs no model
 * weights on disk (the pipeline only reads the tokenizer and generation config from the folder); for
 * a weightless blob with WEIGHTS_PATH, the model WEIGHTS_PATH names (same folder rule).
 *
 * The npg_model's weight source is the open blob itself: its mapping backs every tensor, and
 * npg_model_free closes it. The NPU engine recognises such a model and builds its plan on the same
 * mapping without opening or verifying the file a second time. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "device/engine.h"
#include "device/npu/npu_blob.h"

static bool blob_has(void *ctx, const char *name) {
    (void)ctx, (void)name;
    return false;
}

static npg_status blob_get_matrix(void *ctx, const char *name, int64_t rows, int64_t cols, npg_weight *out) {
    (void)ctx, (void)rows, (void)cols, (void)out;
    return npg_fail(NPG_ERR_NOT_FOUND, "tensor '%s': a model imported from an NPU blob has no named tensors", name);
}

static npg_status blob_get_vector(void *ctx, const char *name, int64_t len, float *out) {
    (void)ctx, (void)len, (void)out;
    return npg_fail(NPG_ERR_NOT_FOUND, "tensor '%s': a model imported from an NPU blob has no named tensors", name);
}

static size_t blob_total(void *ctx) { return ((const npu_blob *)ctx)->header.weights_size; }

static void blob_free(void *ctx) {
    npu_blob_close(ctx);
    free(ctx);
}

const npu_blob *npu_blob_of_model(const npg_model *m) {
    return m && m->source.free == blob_free ? (const npu_blob *)m->source.ctx : NULL;
}

npg_status npg_npu_blob_model(const npg_properties *props, npg_model **out, bool *from_weights_path) {
    npu_config cfg;
    *from_weights_path = false;
    NPG_TRY(npu_config_parse(props, &cfg));
    if (!cfg.blob_path || cfg.export_blob)
        return NPG_ERR_NOT_FOUND;
    npu_blob *b = calloc(1, sizeof *b);
    NPG_CHECK_ALLOC(b);
    npg_status st = npu_blob_open_deferred(cfg.blob_path, props, cfg.threads, b);
    if (st != NPG_OK) {
        free(b);
        return st;
    }
    if (!b->m->with_weights) { /* weightless: the weights come from the folder or WEIGHTS_PATH */
        blob_free(b);
        if (!cfg.weights_path)
            return NPG_ERR_NOT_FOUND;
        /* WEIGHTS_PATH holds the model (config.json and weights), so the pipeline's folder needs only
         * the tokenizer files, as with a full blob; loaded once, for the pipeline and the plan */
        NPG_TRY(npu_load_weights_path(cfg.weights_path, out));
        *from_weights_path = true;
        return NPG_OK;
    }
    npu_plan *plan = NULL;
    npg_model *m = calloc(1, sizeof *m);
    st = m ? npu_blob_plan(b, &cfg, &plan) : npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
    if (st == NPG_OK)
        st = npu_plan_check_weights(plan);
    if (st != NPG_OK) {
        npu_plan_free(plan);
        free(m);
        blob_free(b);
        return st;
    }
    *m = plan->model; /* take the layer array and the mapped weights; the plan keeps nothing */
    plan->model.layers = NULL;
    npu_plan_free(plan);
    m->source = (npg_weight_source){.ctx = b,
                                    .what = cfg.blob_path,
                                    .has = blob_has,
                                    .get_matrix = blob_get_matrix,
                                    .get_vector = blob_get_vector,
                                    .total_bytes = blob_total,
                                    .free = blob_free};
    m->weight_bytes = 0;
    for (uint32_t i = 0; i < b->m->n_tensors; i++)
        if (b->roles[i] != NPG_TENSOR_EMBED && npg_tensor_role_is_matrix(b->roles[i]))
            m->weight_bytes += b->tensors[i].data_bytes + b->tensors[i].scales_count * sizeof(float);
    *out = m;
    return NPG_OK;
}
