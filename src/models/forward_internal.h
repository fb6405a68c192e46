/* forward_internal.h — the pieces of forward.c that the one-region decode step (forward_decode.c)
 * runs between its matrix-vector parts, so both paths compute the same operations in the same order. */
#ifndef NPG_MODELS_FORWARD_INTERNAL_H
#define NPG_MODELS_FORWARD_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "models/model.h"

/* After the q/k/v projection of n rows: fused-output compaction, biases, qk-norm, RoPE, KV cache. */
void npg_fwd_qkv_finish(const npg_model *m, npg_forward_state *s, int64_t l, int64_t n);
/* How many tasks each (row, KV head) of n rows is cut into for `threads` threads: its GQA group's
 * query heads in that many runs (1 when the rows and KV heads alone keep the threads busy). */
int64_t npg_fwd_attend_parts(const npg_model_config *c, int64_t n, int threads);
/* Attention task `task` of n * n_kv_heads * parts (row, KV head, run of its query heads) of layer l
 * into s->xb, with score scratch `slot` of s->att (< s->n_threads; one per concurrently running
 * member). */
void npg_fwd_attend(const npg_model *m, npg_forward_state *s, int64_t l, int64_t n, int64_t parts, int task,
                    int slot);
/* x += (post-norm of) s->proj + bo after the output projection; after the down projection. */
void npg_fwd_attn_out(const npg_model *m, npg_forward_state *s, int64_t l, int64_t n);
void npg_fwd_ffn_out(const npg_model *m, npg_forward_state *s, int64_t l, int64_t n);
/* The state's weights_ready hook for a stage (NPG_OK without one). */
npg_status npg_fwd_weights_ready(npg_forward_state *s, int64_t stage);

/* Whether one decode row (s->row_* filled, s->x its input) can run as one parallel region:
 * a pool of several threads, a decoder-only model, every weight cut into parts, no taps. */
bool npg_fwd_decode_team_ok(const npg_model *m, const npg_forward_state *s);
/* Allocates the step's per-member scratch for the state's pool (forward_state.c, at creation). */
npg_status npg_fwd_decode_reserve(const npg_model *m, npg_forward_state *s);
/* The layers, final norm and lm_head of that row into s->logits[0, vocab) (no soft-capping), in one
 * parallel region; bit for bit the layer-by-layer path. */
npg_status npg_fwd_decode_team(const npg_model *m, npg_forward_state *s);

#endif
