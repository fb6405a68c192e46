/* model_slots.c — where each tensor role lives inside an npg_model (the loader, the NPU plan and the
 * NPU blob reach weights through these instead of naming struct fields). */
#include "models/model.h"

npg_weight *npg_model_matrix(npg_model *m, npg_tensor_role r, int64_t layer) {
    if (r == NPG_TENSOR_EMBED)
        return &m->embed;
    if (r == NPG_TENSOR_LM_HEAD)
        return &m->lm_head;
    if (!npg_tensor_role_is_matrix(r) || !m->layers || layer < 0 || layer >= m->cfg.n_layers)
        return NULL;
    npg_layer_weights *L = &m->layers[layer];
    switch (r) {
    case NPG_TENSOR_WQ: return &L->wq;
    case NPG_TENSOR_WK: return &L->wk;
    case NPG_TENSOR_WV: return &L->wv;
    case NPG_TENSOR_WQKV: return &L->wqkv;
    case NPG_TENSOR_WO: return &L->wo;
    case NPG_TENSOR_W_GATE: return &L->w_gate;
    case NPG_TENSOR_W_UP: return &L->w_up;
    case NPG_TENSOR_W_GATE_UP: return &L->w_gate_up;
    case NPG_TENSOR_W_DOWN: return &L->w_down;
    default: return NULL;
    }
}

float **npg_model_vector(npg_model *m, npg_tensor_role r, int64_t layer) {
    if (r == NPG_TENSOR_FINAL_NORM)
        return &m->final_norm;
    if (npg_tensor_role_is_matrix(r) || !npg_tensor_role_per_layer(r) || !m->layers || layer < 0 ||
        layer >= m->cfg.n_layers)
        return NULL;
    npg_layer_weights *L = &m->layers[layer];
    switch (r) {
    case NPG_TENSOR_BQ: return &L->bq;
    case NPG_TENSOR_BK: return &L->bk;
    case NPG_TENSOR_BV: return &L->bv;
    case NPG_TENSOR_BO: return &L->bo;
    case NPG_TENSOR_ATTN_NORM: return &L->attn_norm;
    case NPG_TENSOR_POST_ATTN_NORM: return &L->post_attn_norm;
    case NPG_TENSOR_FFN_NORM: return &L->ffn_norm;
    case NPG_TENSOR_POST_FFN_NORM: return &L->post_ffn_norm;
    case NPG_TENSOR_Q_NORM: return &L->q_norm;
    case NPG_TENSOR_K_NORM: return &L->k_norm;
    default: return NULL;
    }
}
