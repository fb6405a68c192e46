/* npu_plan.h — the compiled static-shape plan the NPU device executes (on host cores: there is no NPU
 * chip here; the plan keeps the NPU's contract — fixed shapes, every buffer allocated up front).
 *
 * Shapes: the KV cache holds cfg.context positions; prefill runs in chunks of the static shape of
 * cfg.prefill_rows rows (the chunk, or MAX_PROMPT_LEN when static); decode runs one row. A chunk's
 * padded rows are never computed: their outputs would be discarded and their keys/values sit at
 * positions no real token attends to, so only the real rows run (and attention covers only the real
 * positions). The buffers are those of the full shape.
 *
 * Buffers allocated by npu_plan_alloc_buffers (the compile or import step) and never again: the KV
 * cache, RoPE tables, activations for prefill_rows rows and the kernel workspace (forward state). */
#ifndef NPG_DEVICE_NPU_PLAN_H
#define NPG_DEVICE_NPU_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "core/threadpool.h"
#include "device/npu/npu_config.h"
#include "device/npu/npu_weights.h"
#include "models/model.h"

typedef struct npu_plan {
    npu_config cfg;
    npu_layout layout;
    /* The plan's model: config (with fusion flags the layout adds) and weights, borrowed from the
     * source model, owned (repacked: `owned`) or mapped from a blob. source is NULL and owned is
     * zero-length for weights mapped from a blob. */
    npg_model model;
    npu_owned owned;
    npg_threadpool *pool;
    npg_forward_state *state;
} npu_plan;

/* An empty plan for a model of config `mc`: layers allocated, weights unset. */
npg_status npu_plan_create(const npu_config *cfg, const npu_layout *layout, const npg_model_config *mc,
                           npu_plan **out);
/* Weights from a loaded model, repacked following the plan's layout (the compile step's main work
 * for BEST_PERF; FAST_COMPILE only borrows). */
npg_status npu_plan_bind_model(npu_plan *p, const npg_model *src);
/* Every tensor the config needs is present with its shape (a blob's tensors are checked here). */
npg_status npu_plan_check_weights(const npu_plan *p);
/* Thread pool, forward state (KV cache, RoPE tables, activations, workspace, logits). */
npg_status npu_plan_alloc_buffers(npu_plan *p);
void npu_plan_free(npu_plan *p);

/* ids[0..n) at positions pos..pos+n-1 (pos + n <= context), in chunks of at most prefill_rows; *logits = the last
 * real token's [vocab] logits, valid until the next call. */
npg_status npu_plan_prefill(npu_plan *p, const int32_t *ids, size_t n, size_t pos, float **logits);
/* The same over input embeddings [n, hidden] with span ids (NULL = causal): a VLM's merged prompt.
 * Chunks end before an image that would not fit; an image longer than a chunk is refused. */
npg_status npu_plan_prefill_embeds(npu_plan *p, const float *embeds, const int32_t *span, size_t n, size_t pos,
                                   float **logits);
npg_status npu_plan_decode(npu_plan *p, int32_t id, size_t pos, float **logits);

#endif
