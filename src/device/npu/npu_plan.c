/* npu_plan.c — building and executing the NPU device's static-shape plan. */
#include "device/npu/npu_plan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "device/engine.h"
#include "models/ops.h"

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
    const npg_model_config *c = &p->model.cfg;
    NPG_TRY(npg_threadpool_create(p->cfg.threads, &p->pool));
    NPG_TRY(npg_forward_state_create(&p->model, p->cfg.prefill_rows, p->cfg.context, p->pool, p->cfg.isa, &p->state));
    p->logits = malloc((size_t)c->vocab * sizeof(float));
    p->chunk_ids = calloc((size_t)p->cfg.prefill_rows, sizeof(int32_t));
    p->chunk_embeds = calloc((size_t)(p->cfg.prefill_rows * c->hidden), sizeof(float));
    p->chunk_span = calloc((size_t)p->cfg.prefill_rows, sizeof(int32_t));
    if (!p->logits || !p->chunk_ids || !p->chunk_embeds || !p->chunk_span)
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for the plan's logits (%lld) and staging (%lld rows)",
                        (long long)c->vocab, (long long)p->cfg.prefill_rows);
    return NPG_OK;
}

void npu_plan_free(npu_plan *p) {
    if (!p)
        return;
    npg_forward_state_free(p->state);
    npg_threadpool_free(p->pool);
    free(p->logits);
    free(p->chunk_ids);
    free(p->chunk_embeds);
    free(p->chunk_span);
    npu_owned_free(&p->owned);
    free(p->model.layers);
    free(p);
}

/* Logits of row `row` of the last forward call (its residual stream is still in state->x): the same
 * final norm, lm_head and soft-capping the forward pass applies to its last row. */
static void row_logits(npu_plan *p, int64_t row) {
    const npg_model *m = &p->model;
    const npg_model_config *c = &m->cfg;
    npg_forward_state *s = p->state;
    int64_t H = c->hidden;
    npg_rmsnorm(s->xb, s->x + row * H, m->final_norm, H, c->norm_eps, c->norm_plus_one);
    npg_matmul(&s->compute, s->xb, 1, &m->lm_head, p->logits);
    if (c->final_softcap > 0.0f)
        for (int64_t i = 0; i < c->vocab; i++)
            p->logits[i] = c->final_softcap * tanhf(p->logits[i] / c->final_softcap);
}

npg_status npu_plan_prefill(npu_plan *p, const int32_t *ids, size_t n, size_t pos, float **logits) {
    size_t S = (size_t)p->cfg.prefill_rows, ctx = (size_t)p->cfg.context;
    if (n == 0 || pos + n > ctx)
        return npg_fail(NPG_ERR_LIMIT, "NPU prefill of %zu tokens at position %zu does not fit the plan's context of %zu",
                        n, pos, ctx);
    size_t real = 0, rows = 0;
    /* Longrope picks one factor set for the whole prompt, by its real end (as the CPU engine): not per
     * chunk, and not by where the padding reaches. */
    p->state->rope_seq_end = (int64_t)(pos + n);
    npg_status st = NPG_OK;
    for (size_t done = 0; done < n && st == NPG_OK; done += real) {
        size_t at = pos + done;
        real = n - done < S ? n - done : S;
        rows = at + S <= ctx ? S : ctx - at; /* padding clipped at the end of the context */
        memcpy(p->chunk_ids, ids + done, real * sizeof *ids);
        memset(p->chunk_ids + real, 0, (rows - real) * sizeof *ids);
        st = npg_model_forward(&p->model, p->state, p->chunk_ids, (int64_t)rows, (int64_t)at, false);
    }
    p->state->rope_seq_end = 0;
    NPG_TRY(st);
    if (real == rows) {
        *logits = p->state->logits;
    } else {
        row_logits(p, (int64_t)real - 1);
        *logits = p->logits;
    }
    return NPG_OK;
}

npg_status npu_plan_prefill_embeds(npu_plan *p, const float *embeds, const int32_t *span, size_t n, size_t pos,
                                   float **logits) {
    size_t S = (size_t)p->cfg.prefill_rows, ctx = (size_t)p->cfg.context, H = (size_t)p->model.cfg.hidden;
    if (n == 0 || pos + n > ctx)
        return npg_fail(NPG_ERR_LIMIT, "NPU prefill of %zu rows at position %zu does not fit the plan's context of %zu",
                        n, pos, ctx);
    size_t real = 0, rows = 0;
    p->state->rope_seq_end = (int64_t)(pos + n);
    npg_status st = NPG_OK;
    for (size_t done = 0; done < n && st == NPG_OK; done += real) {
        size_t at = pos + done;
        real = npg_engine_span_chunk(span, done, n, S);
        if (real == 0) {
            st = npg_fail(NPG_ERR_LIMIT,
                          "an image's tokens do not fit one NPU prefill chunk of %zu rows: raise "
                          "NPUW_LLM_PREFILL_CHUNK_SIZE or use PREFILL_HINT STATIC",
                          S);
            break;
        }
        rows = at + S <= ctx ? S : ctx - at;
        /* the static shape: real rows, then zero rows at the following positions (causal, span 0) */
        memcpy(p->chunk_embeds, embeds + done * H, real * H * sizeof(float));
        memset(p->chunk_embeds + real * H, 0, (rows - real) * H * sizeof(float));
        for (size_t t = 0; t < rows; t++) {
            p->state->stage_pos[t] = (int32_t)(at + t);
            p->chunk_span[t] = span && t < real ? span[done + t] : 0;
        }
        npg_batch b = {.n = (int64_t)rows, .embeds = p->chunk_embeds, .pos = p->state->stage_pos,
                       .span = p->chunk_span, .want_logits = NULL};
        st = npg_model_forward_batch(&p->model, p->state, &b);
    }
    p->state->rope_seq_end = 0;
    NPG_TRY(st);
    if (real == rows) {
        *logits = p->state->logits;
    } else {
        row_logits(p, (int64_t)real - 1);
        *logits = p->logits;
    }
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
