/* npu_weights.h — the NPU plan's view of a model's tensors: one canonical enumeration of every
 * weight slot (used for fingerprints, blob sections and repacking) and the BEST_PERF repacking.
 *
 * Slots are visited in a fixed order: embed, lm_head (when not tied to embed), then per layer the
 * matrices wq wk wv wqkv wo w_gate w_up w_gate_up w_down that exist, then final_norm and per layer the
 * vectors bq bk bv bo attn_norm post_attn_norm ffn_norm post_ffn_norm q_norm k_norm that exist. */
#ifndef NPG_DEVICE_NPU_WEIGHTS_H
#define NPG_DEVICE_NPU_WEIGHTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/model.h"

typedef enum npu_slot_id {
    NPU_SLOT_EMBED = 0,
    NPU_SLOT_LM_HEAD,
    NPU_SLOT_WQ,
    NPU_SLOT_WK,
    NPU_SLOT_WV,
    NPU_SLOT_WQKV,
    NPU_SLOT_WO,
    NPU_SLOT_W_GATE,
    NPU_SLOT_W_UP,
    NPU_SLOT_W_GATE_UP,
    NPU_SLOT_W_DOWN,
    NPU_SLOT_FIRST_VECTOR = 16,
    NPU_SLOT_FINAL_NORM = NPU_SLOT_FIRST_VECTOR,
    NPU_SLOT_BQ,
    NPU_SLOT_BK,
    NPU_SLOT_BV,
    NPU_SLOT_BO,
    NPU_SLOT_ATTN_NORM,
    NPU_SLOT_POST_ATTN_NORM,
    NPU_SLOT_FFN_NORM,
    NPU_SLOT_POST_FFN_NORM,
    NPU_SLOT_Q_NORM,
    NPU_SLOT_K_NORM,
    NPU_SLOT_END
} npu_slot_id;

/* Slot pointers inside an npg_model (matrix or vector, never both). */
typedef struct npu_slot {
    int id;          /* npu_slot_id */
    int64_t layer;   /* -1 for model-level slots */
    npg_weight *w;   /* matrix slots */
    float **v;       /* vector slots */
    int64_t len;     /* vector length in floats */
} npu_slot;

/* Every slot of `m` a model of this config has (present or not, in the canonical order), or only
 * the present ones when present_only. Returns the count; writes at most cap entries (call with
 * out NULL to size). lm_head is skipped when it shares embed's data. */
size_t npu_model_slots(npg_model *m, bool present_only, npu_slot *out, size_t cap);
/* The slot (id, layer) of `m`; false when a model of this config has no such slot. */
bool npu_model_slot(npg_model *m, int id, int64_t layer, npu_slot *out);

/* Bytes of a matrix's data and its scale count. */
size_t npu_weight_data_bytes(const npg_weight *w);
size_t npu_weight_scale_count(const npg_weight *w);

/* Content fingerprint of a model's weights (every slot's shape, type and bytes), and their total
 * size in bytes. Deterministic across runs and machines. */
npg_status npu_weights_fingerprint(const npg_model *m, uint64_t *hash, uint64_t *bytes);

/* How BEST_PERF repacks the weights (all choices keep every output bit-identical). */
typedef struct npu_layout {
    bool fuse_qkv;     /* q, k, v → one [qd + 2 kvd, hidden] matrix: one matmul and one pool barrier */
    bool fuse_gate_up; /* gate, up → one [2 ffn, hidden] matrix */
    bool to_f32;       /* F16 / BF16 matrices converted to F32 (small models: conversion-bound) */
} npu_layout;

/* BEST_PERF's choices for this model (FAST_COMPILE: all false). */
void npu_layout_choose(const npg_model *src, bool best_perf, npu_layout *out);

/* Fills the plan model `dst` (cfg and layers already set up, weights zero) from `src` following
 * `layout`: weights are borrowed where unchanged; fused or converted matrices are allocated and
 * recorded in owned[] (the caller frees them). */
typedef struct npu_owned {
    void **ptr;
    size_t n, cap;
} npu_owned;
npg_status npu_owned_add(npu_owned *o, void *p);
void npu_owned_free(npu_owned *o);
npg_status npu_weights_repack(const npg_model *src, const npu_layout *layout, npg_model *dst, npu_owned *owned);

#endif
