/* npu_plan.c — building and executing the NPU device's static-shape plan. */
#include "device/npu/npu_plan.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "device/engine.h"

npg_status npu_plan_create(const npu_config *cfg, const npu_layout *layout, const npg_model_config *mc,
                           npu_plan **out) {
    npu_plan *p = calloc(1, sizeof *p);
    NPG_CHECK_ALLOC(p);
    p->cfg = *cfg;
    p->layout = *layout;
    p->model.cfg = *mc;
    p->model.cfg.fused_qkv = mc->fused_qkv || layout->fuse_qkv;
    p->model.cfg.fused_gate_up = mc->fused_gate_up || layout->fuse_gate_up;
    p->model.layers = calloc((size_t)(mc->n_layers > 0 ? mc->n_layers : 1), sizeof *p->model.layers);
    if (!p->model.layers) {
        free(p);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for the plan's %lld layers", (long long)mc->n_layers);
    }
    *out = p;
    return NPG_OK;
}

npg_status npu_plan_bind_model(npu_plan *p, const npg_model *src) {
    return npu_weights_repack(src, &p->layout, &p->model, &p->owned);
}

/* Every tensor the plan's config needs (the tensor-name table's rules, with the fusion the layout
 * added) is present with its shape. */
npg_status npu_plan_check_weights(const npu_plan *p) {
    npg_model *m = (npg_model *)&p->model; /* slots are looked at, not written */
    const npg_model_config *c = &m->cfg;
    for (int64_t l = -1; l < c->n_layers; l++) {
        for (int i = 0; i < NPG_TENSOR_ROLE_COUNT; i++) {
            npg_tensor_role r = (npg_tensor_role)i;
            if ((l >= 0) != npg_tensor_role_per_layer(r) || npg_tensor_needed(c, r) != NPG_TENSOR_REQUIRED)
                continue;
            npu_slot s;
            int64_t rows, cols;
            npg_tensor_shape(c, r, &rows, &cols);
            bool ok = npu_model_slot(m, r, l, &s) &&
                      (s.w ? s.w->data && s.w->n == rows && s.w->k == cols : *s.v != NULL);
            if (!ok && l < 0)
                return npg_fail(NPG_ERR_FORMAT, "NPU plan: %s missing or of the wrong shape", npg_tensor_role_id(r));
            if (!ok)
                return npg_fail(NPG_ERR_FORMAT, "NPU plan: layer %lld lacks its %s tensor or has one of the wrong shape",
                                (long long)l, npg_tensor_role_id(r));
        }
    }
    if (!m->lm_head.data || m->lm_head.n != c->vocab || m->lm_head.k != c->hidden)
        return npg_fail(NPG_ERR_FORMAT, "NPU plan: lm_head missing or of the wrong shape");
    return NPG_OK;
}

npg_status npu_plan_alloc_buffers(npu_plan *p) {
    NPG_TRY(npg_threadpool_create(p->cfg.threads, &p->pool));
    NPG_TRY(npg_forward_state_create(&p->model, p->cfg.prefill_rows, p->cfg.context, p->pool, p->cfg.isa, &p->state));
    return NPG_OK;
}

void npu_plan_free(npu_plan *p) {
    if (!p)
        return;
    npg_forward_state_free(p->state);
    npg_threadpool_free(p->pool);
    npu_owned_free(&p->owned);
    free(p->model.layers);
    free(p);
}

npg_status npu_plan_prefill(npu_plan *p, const int32_t *ids, size_t n, size_t pos, float **logits) {
    size_t S = (size_t)p->cfg.prefill_rows, ctx = (size_t)p->cfg.context;
    if (n == 0 || pos + n > ctx)
        return npg_fail(NPG_ERR_LIMIT, "NPU prefill of %zu tokens at position %zu does not fit the plan's context of %zu",
                        n, pos, ctx);
    /* Each chunk is the static shape of S rows, but only its real rows are computed: a padded row's
     * output is discarded and its keys/values sit at positions no real row attends to, so computing it
     * would only cost time (a 16-token prompt would pay a whole 1024-row prefill). The buffers stay the
     * ones sized for S rows at compile time; a shorter call uses their first rows. Longrope picks one
     * factor set for the whole prompt, by its real end (as the CPU engine): not per chunk. */
    p->state->rope_seq_end = (int64_t)(pos + n);
    npg_status st = NPG_OK;
    for (size_t done = 0; done < n && st == NPG_OK; done += S) {
        size_t real = n - done < S ? n - done : S;
        st = npg_model_forward(&p->model, p->state, ids + done, (int64_t)real, (int64_t)(pos + done), false);
    }
    p->state->rope_seq_end = 0;
    NPG_TRY(st);
    *logits = p->state->logits;
    return NPG_OK;
}

npg_status npu_plan_prefill_embeds(npu_plan *p, const float *embeds, const int32_t *span, size_t n, size_t pos,
                                   float **logits) {
    size_t S = (size_t)p->cfg.prefill_rows, ctx = (size_t)p->cfg.context, H = (size_t)p->model.cfg.hidden;
    if (n == 0 || pos + n > ctx)
        return npg_fail(NPG_ERR_LIMIT, "NPU prefill of %zu rows at position %zu does not fit the plan's context of %zu",
                        n, pos, ctx);
    /* Chunks of the static shape of S rows, cut so that no image's span straddles two chunks (its rows
     * attend to each other both ways); as npu_plan_prefill, only the real rows are computed. */
    p->state->rope_seq_end = (int64_t)(pos + n);
    npg_status st = NPG_OK;
    for (size_t done = 0, real = 0; done < n && st == NPG_OK; done += real) {
        real = npg_engine_span_chunk(span, done, n, S);
        if (real == 0) {
            st = npg_fail(NPG_ERR_LIMIT,
                          "an image's tokens do not fit one NPU prefill chunk of %zu rows: raise "
                          "NPUW_LLM_PREFILL_CHUNK_SIZE or use PREFILL_HINT STATIC",
                          S);
            break;
        }
        for (size_t t = 0; t < real; t++)
            p->state->stage_pos[t] = (int32_t)(pos + done + t);
        npg_batch b = {.n = (int64_t)real, .embeds = embeds + done * H, .pos = p->state->stage_pos,
                       .span = span ? span + done : NULL, .want_logits = NULL};
        st = npg_model_forward_batch(&p->model, p->state, &b);
    }
    p->state->rope_seq_end = 0;
    NPG_TRY(st);
    *logits = p->state->logits;
    return NPG_OK;
}

npg_status npu_plan_decode(npu_plan *p, int32_t id, size_t pos, float **logits) {
    if (pos + 1 > (size_t)p->cfg.context)
        return npg_fail(NPG_ERR_LIMIT, "NPU decode at position %zu: the plan's context of %lld positions is full", pos,
                        (long long)p->cfg.context);
    NPG_TRY(npg_model_forward(&p->model, p->state, &id, 1, (int64_t)pos, false));
    *logits = p->state->logits;
    return NPG_OK;
}
