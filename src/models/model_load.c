/* model_load.c — binds a model folder's tensors to the decoder's weight slots, checking every name,
 * dtype and shape against config.json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "models/model.h"
#include "weights/weights.h"

typedef struct loader {
    npg_model *m;
    char name[256];
} loader;

/* "<prefix>layers.<layer>.<suffix>" in the loader's buffer. */
static const char *tname(loader *ld, long long layer, const char *suffix) {
    snprintf(ld->name, sizeof ld->name, "%slayers.%lld.%s", ld->m->cfg.tensor_prefix, layer, suffix);
    return ld->name;
}

static npg_status own_vector(npg_model *m, int64_t len, float **out) {
    if (m->n_owned == m->cap_owned) {
        size_t cap = m->cap_owned ? m->cap_owned * 2 : 64;
        float **p = realloc(m->owned, cap * sizeof *p);
        NPG_CHECK_ALLOC(p);
        m->owned = p;
        m->cap_owned = cap;
    }
    float *v = malloc((size_t)len * sizeof(float));
    NPG_CHECK_ALLOC(v);
    m->owned[m->n_owned++] = v;
    *out = v;
    return NPG_OK;
}

static npg_status load_vector(loader *ld, const char *name, int64_t len, float **out) {
    NPG_TRY(own_vector(ld->m, len, out));
    return ld->m->source.get_vector(ld->m->source.ctx, name, len, *out);
}

/* Loads an optional vector: NULL when absent. */
static npg_status load_vector_opt(loader *ld, const char *name, int64_t len, float **out) {
    *out = NULL;
    if (!ld->m->source.has(ld->m->source.ctx, name))
        return NPG_OK;
    return load_vector(ld, name, len, out);
}

static npg_status load_matrix(loader *ld, const char *name, int64_t rows, int64_t cols, npg_weight *w) {
    NPG_TRY(ld->m->source.get_matrix(ld->m->source.ctx, name, rows, cols, w));
    return NPG_OK;
}

/* Bytes the weight occupies in its own layout (padded quantized rows included) plus its scales. */
static size_t weight_bytes(const npg_weight *w) {
    return npg_quant_data_bytes(w->type, w->n, w->k) +
           (size_t)npg_quant_scale_count(w->type, w->n, w->k, w->group_size) * sizeof(float);
}

static npg_status load_layer(loader *ld, int64_t l, npg_layer_weights *L) {
    const npg_model_config *c = &ld->m->cfg;
    int64_t H = c->hidden, qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim;
    if (c->fused_qkv) {
        NPG_TRY(load_matrix(ld, tname(ld, l, "self_attn.qkv_proj.weight"), qd + 2 * kvd, H, &L->wqkv));
    } else {
        NPG_TRY(load_matrix(ld, tname(ld, l, "self_attn.q_proj.weight"), qd, H, &L->wq));
        NPG_TRY(load_matrix(ld, tname(ld, l, "self_attn.k_proj.weight"), kvd, H, &L->wk));
        NPG_TRY(load_matrix(ld, tname(ld, l, "self_attn.v_proj.weight"), kvd, H, &L->wv));
    }
    NPG_TRY(load_matrix(ld, tname(ld, l, "self_attn.o_proj.weight"), H, qd, &L->wo));
    if (c->qkv_bias) {
        NPG_TRY(load_vector(ld, tname(ld, l, "self_attn.q_proj.bias"), qd, &L->bq));
        NPG_TRY(load_vector(ld, tname(ld, l, "self_attn.k_proj.bias"), kvd, &L->bk));
        NPG_TRY(load_vector(ld, tname(ld, l, "self_attn.v_proj.bias"), kvd, &L->bv));
    }
    if (c->o_bias)
        NPG_TRY(load_vector_opt(ld, tname(ld, l, "self_attn.o_proj.bias"), H, &L->bo));
    if (c->fused_gate_up) {
        NPG_TRY(load_matrix(ld, tname(ld, l, "mlp.gate_up_proj.weight"), 2 * c->ffn, H, &L->w_gate_up));
    } else {
        NPG_TRY(load_matrix(ld, tname(ld, l, "mlp.gate_proj.weight"), c->ffn, H, &L->w_gate));
        NPG_TRY(load_matrix(ld, tname(ld, l, "mlp.up_proj.weight"), c->ffn, H, &L->w_up));
    }
    NPG_TRY(load_matrix(ld, tname(ld, l, "mlp.down_proj.weight"), H, c->ffn, &L->w_down));
    NPG_TRY(load_vector(ld, tname(ld, l, "input_layernorm.weight"), H, &L->attn_norm));
    if (c->sandwich_norms) {
        NPG_TRY(load_vector(ld, tname(ld, l, "post_attention_layernorm.weight"), H, &L->post_attn_norm));
        NPG_TRY(load_vector(ld, tname(ld, l, "pre_feedforward_layernorm.weight"), H, &L->ffn_norm));
        NPG_TRY(load_vector(ld, tname(ld, l, "post_feedforward_layernorm.weight"), H, &L->post_ffn_norm));
    } else {
        NPG_TRY(load_vector(ld, tname(ld, l, "post_attention_layernorm.weight"), H, &L->ffn_norm));
    }
    if (c->qk_norm) {
        NPG_TRY(load_vector(ld, tname(ld, l, "self_attn.q_norm.weight"), c->head_dim, &L->q_norm));
        NPG_TRY(load_vector(ld, tname(ld, l, "self_attn.k_norm.weight"), c->head_dim, &L->k_norm));
    }
    const npg_weight *mats[] = {&L->wq, &L->wk, &L->wv, &L->wqkv, &L->wo, &L->w_gate, &L->w_up, &L->w_gate_up, &L->w_down};
    for (size_t i = 0; i < sizeof mats / sizeof mats[0]; i++)
        if (mats[i]->data)
            ld->m->weight_bytes += weight_bytes(mats[i]);
    return NPG_OK;
}

/* Multimodal checkpoints spell the decoder prefix two ways (`language_model.model.` on the Hub,
 * `model.language_model.` in newer transformers); pick the one the file uses. */
static void resolve_prefix(npg_model *m) {
    char name[256];
    snprintf(name, sizeof name, "%sembed_tokens.weight", m->cfg.tensor_prefix);
    if (m->source.has(m->source.ctx, name))
        return;
    if (m->source.has(m->source.ctx, "model.language_model.embed_tokens.weight")) {
        snprintf(m->cfg.tensor_prefix, sizeof m->cfg.tensor_prefix, "model.language_model.");
        snprintf(m->cfg.lm_head_name, sizeof m->cfg.lm_head_name, "lm_head.weight");
    }
}

static npg_status load_weights(npg_model *m) {
    const npg_model_config *c = &m->cfg;
    loader ld = {.m = m};
    resolve_prefix(m);
    char name[256];
    snprintf(name, sizeof name, "%sembed_tokens.weight", c->tensor_prefix);
    NPG_TRY(load_matrix(&ld, name, c->vocab, c->hidden, &m->embed));
    snprintf(name, sizeof name, "%snorm.weight", c->tensor_prefix);
    NPG_TRY(load_vector(&ld, name, c->hidden, &m->final_norm));
    if (c->tie_embeddings && !m->source.has(m->source.ctx, c->lm_head_name)) {
        m->lm_head = m->embed;
    } else {
        NPG_TRY(load_matrix(&ld, c->lm_head_name, c->vocab, c->hidden, &m->lm_head));
    }
    m->layers = calloc((size_t)c->n_layers, sizeof *m->layers);
    NPG_CHECK_ALLOC(m->layers);
    for (int64_t l = 0; l < c->n_layers; l++)
        NPG_TRY(load_layer(&ld, l, &m->layers[l]));
    m->weight_bytes += weight_bytes(&m->lm_head) + (size_t)c->hidden * (m->embed.type == NPG_W_F32 ? 4 : 2);
    return NPG_OK;
}

npg_status npg_model_load(const char *dir, npg_model **out) {
    if (!dir)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "model path is NULL");
    if (!npg_is_dir(dir))
        return npg_fail(NPG_ERR_NOT_FOUND, "%s: not a folder", dir);
    npg_model *m = calloc(1, sizeof *m);
    NPG_CHECK_ALLOC(m);
    npg_status st = npg_model_config_load(dir, &m->cfg);
    if (st == NPG_OK)
        st = npg_weight_source_container_present(dir) ? npg_weight_source_container(dir, &m->source)
                                                      : npg_weight_source_safetensors(dir, &m->source);
    if (st == NPG_OK)
        st = load_weights(m);
    if (st != NPG_OK) {
        npg_model_free(m);
        return st;
    }
    *out = m;
    return NPG_OK;
}

void npg_model_free(npg_model *m) {
    if (!m)
        return;
    for (size_t i = 0; i < m->n_owned; i++)
        free(m->owned[i]);
    free(m->owned);
    free(m->layers);
    if (m->source.free)
        m->source.free(m->source.ctx);
    free(m);
}
