/* npu_weights.h — the NPU plan's view of a model's tensors: the enumeration of its weight slots (fed
 * from the architecture's tensor-name table, models/tensor_names.h; used for fingerprints, blob
 * sections and repacking) and the BEST_PERF repacking.
 *
 * Slots are visited in a fixed order: embed, lm_head (when not tied to embed), then per layer the
 * matrix roles (NPG_TENSOR_WQ .. NPG_TENSOR_W_DOWN) that exist, then final_norm and per layer the
 * vector roles (NPG_TENSOR_BQ .. NPG_TENSOR_K_NORM) that exist. */
#ifndef NPG_DEVICE_NPU_WEIGHTS_H
#define NPG_DEVICE_NPU_WEIGHTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/model.h"

/* Slot pointers inside an npg_model (matrix or vector, never both). */
typedef struct npu_slot {
    npg_tensor_role role;
    int64_t layer;   /* -1 for model-level slots */
    npg_weight *w;   /* matrix slots */
    float **v;       /* vector slots */
    int64_t len;     /* vector length in floats */
} npu_slot;

/* Every slot of `m` a model of this config may have (present or not, in the canonical order), or only
 * the present ones when present_only. Returns the count; writes at most cap entries (call with
 * out NULL to size). lm_head is skipped when it shares embed's data. */
size_t npu_model_slots(npg_model *m, bool present_only, npu_slot *out, size_t cap);
/* The slot (role, layer) of `m`; false when a model of this config has no such slot. */
bool npu_model_slot(npg_model *m, npg_tensor_role role, int64_t layer, npu_slot *out);

/* Bytes of a matrix's data and its scale count. */
size_t npu_weight_data_bytes(const npg_weight *w);
size_t npu_weight_scale_count(const npg_weight *w);

/* Content fingerprint of a model's weights (every slot's tensor name, shape, type and bytes), and their total
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
