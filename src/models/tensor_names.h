/* tensor_names.h — one table per architecture naming every tensor a decoder uses (the llama.cpp
 * habit: an enum of tensor roles, and per architecture a name pattern for each role such as
 * "layers.%d.self_attn.q_proj.weight"). The loader, the NPU plan's weight slots, weight fingerprints
 * and the NPU blob's tensor table are all fed from here, so a family's spelling lives in one place.
 *
 * Patterns are relative to the config's tensor_prefix ("model.", "language_model.model.", ...);
 * "%d" stands for the layer. LM_HEAD is the one exception: its full name is the config's
 * lm_head_name (a wrapper puts it outside the decoder prefix). */
#ifndef NPG_MODELS_TENSOR_NAMES_H
#define NPG_MODELS_TENSOR_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/config.h"

typedef enum npg_tensor_role {
    /* model-level */
    NPG_TENSOR_EMBED = 0,  /* [vocab, hidden] matrix */
    NPG_TENSOR_LM_HEAD,    /* [vocab, hidden] matrix (== EMBED when tied) */
    NPG_TENSOR_FINAL_NORM, /* [hidden] */
    /* per layer: matrices */
    NPG_TENSOR_WQ,        /* [q_dim, hidden] */
    NPG_TENSOR_WK,        /* [kv_dim, hidden] */
    NPG_TENSOR_WV,        /* [kv_dim, hidden] */
    NPG_TENSOR_WQKV,      /* [q_dim + 2 kv_dim, hidden]: Phi-3, or q/k/v stacked by the NPU plan */
    NPG_TENSOR_WO,        /* [hidden, q_dim] */
    NPG_TENSOR_W_GATE,    /* [ffn, hidden] */
    NPG_TENSOR_W_UP,      /* [ffn, hidden] */
    NPG_TENSOR_W_GATE_UP, /* [2 ffn, hidden]: Phi-3 (gate rows first), or stacked by the NPU plan */
    NPG_TENSOR_W_DOWN,    /* [hidden, ffn] */
    /* per layer: vectors */
    NPG_TENSOR_BQ,             /* [q_dim] */
    NPG_TENSOR_BK,             /* [kv_dim] */
    NPG_TENSOR_BV,             /* [kv_dim] */
    NPG_TENSOR_BO,             /* [hidden] */
    NPG_TENSOR_ATTN_NORM,      /* [hidden] before attention */
    NPG_TENSOR_POST_ATTN_NORM, /* [hidden] on the attention output (sandwich norms) */
    NPG_TENSOR_FFN_NORM,       /* [hidden] before the MLP */
    NPG_TENSOR_POST_FFN_NORM,  /* [hidden] on the MLP output (sandwich norms) */
    NPG_TENSOR_Q_NORM,         /* [head_dim] qk-norm */
    NPG_TENSOR_K_NORM,         /* [head_dim] */
    NPG_TENSOR_ROLE_COUNT
} npg_tensor_role;

/* Whether a model of a config has the tensor. */
typedef enum npg_tensor_need {
    NPG_TENSOR_ABSENT = 0, /* not part of this config */
    NPG_TENSOR_REQUIRED,   /* must be in the checkpoint */
    NPG_TENSOR_OPTIONAL,   /* used when the checkpoint has it (o_proj bias; lm_head when tied) */
} npg_tensor_need;

static inline bool npg_tensor_role_is_matrix(npg_tensor_role r) {
    return r == NPG_TENSOR_EMBED || r == NPG_TENSOR_LM_HEAD || (r >= NPG_TENSOR_WQ && r <= NPG_TENSOR_W_DOWN);
}
static inline bool npg_tensor_role_per_layer(npg_tensor_role r) { return r >= NPG_TENSOR_WQ; }

/* A short stable identifier of the role ("attn_q", "ffn_down", ...), for messages. */
const char *npg_tensor_role_id(npg_tensor_role r);
/* The architecture's name pattern for the role (relative to tensor_prefix; "%d" = layer), or NULL
 * when the family never stores it. */
const char *npg_tensor_pattern(npg_arch arch, npg_tensor_role r);
/* Whether a model of config `c` has the tensor (from the config's switches). */
npg_tensor_need npg_tensor_needed(const npg_model_config *c, npg_tensor_role r);
/* Shape of the role's tensor under `c`: [rows, cols] for matrices, [rows] (cols = 1) for vectors. */
void npg_tensor_shape(const npg_model_config *c, npg_tensor_role r, int64_t *rows, int64_t *cols);
/* The full tensor name (prefix + pattern, or lm_head_name). NPG_ERR_UNSUPPORTED when the family has
 * no name for the role; NPG_ERR_LIMIT when buf is too small. */
npg_status npg_tensor_name(const npg_model_config *c, npg_tensor_role r, int64_t layer, char *buf, size_t size);
/* The role and layer (-1 for model-level roles) a full name stands for under `c`; false when it
 * names no tensor of this config's family. */
bool npg_tensor_name_parse(const npg_model_config *c, const char *name, npg_tensor_role *r, int64_t *layer);

#endif
