/* model_load.c — binds a model folder's tensors to the decoder's weight slots, checking every name,
 * dtype and shape against config.json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "format/gguf.h"
#include "hub/hub.h"
#include "models/gguf_model.h"
#include "models/model.h"
#include "models/whisper.h"
#include "weights/weights.h"

typedef struct loader {
    npg_model *m;
} loader;

npg_status npg_model_own_floats(npg_model *m, int64_t len, float **out) {
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
    NPG_TRY(npg_model_own_floats(ld->m, len, out));
    return ld->m->source.get_vector(ld->m->source.ctx, name, len, *out);
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

/* Loads the tensor of role r (layer ignored for model-level roles) under the name the architecture's
 * table gives it, with the shape the config implies. Absent roles are skipped, optional ones when the
 * checkpoint lacks them. */
static npg_status load_role(loader *ld, npg_tensor_role r, int64_t layer) {
    npg_model *m = ld->m;
    npg_tensor_need need = npg_tensor_needed(&m->cfg, r);
    if (need == NPG_TENSOR_ABSENT)
        return NPG_OK;
    char name[256];
    NPG_TRY(npg_tensor_name(&m->cfg, r, layer, name, sizeof name));
    if (need == NPG_TENSOR_OPTIONAL && !m->source.has(m->source.ctx, name))
        return NPG_OK;
    int64_t rows, cols;
    npg_tensor_shape(&m->cfg, r, &rows, &cols);
    if (npg_tensor_role_is_matrix(r))
        return load_matrix(ld, name, rows, cols, npg_model_matrix(m, r, layer));
    return load_vector(ld, name, rows, npg_model_vector(m, r, layer));
}

static npg_status load_layer(loader *ld, int64_t l) {
    for (int r = NPG_TENSOR_WQ; r < NPG_TENSOR_ROLE_COUNT; r++)
        NPG_TRY(load_role(ld, (npg_tensor_role)r, l));
    for (int r = NPG_TENSOR_WQ; r <= NPG_TENSOR_W_DOWN; r++) {
        const npg_weight *w = npg_model_matrix(ld->m, (npg_tensor_role)r, l);
        if (w->data)
            ld->m->weight_bytes += weight_bytes(w);
    }
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
    NPG_TRY(load_role(&ld, NPG_TENSOR_EMBED, -1));
    NPG_TRY(load_role(&ld, NPG_TENSOR_FINAL_NORM, -1));
    NPG_TRY(load_role(&ld, NPG_TENSOR_LM_HEAD, -1)); /* optional when tied */
    if (!m->lm_head.data)
        m->lm_head = m->embed;
    m->layers = calloc((size_t)c->n_layers, sizeof *m->layers);
    NPG_CHECK_ALLOC(m->layers);
    for (int64_t l = 0; l < c->n_layers; l++)
        NPG_TRY(load_layer(&ld, l));
    m->weight_bytes += weight_bytes(&m->lm_head) + (size_t)c->hidden * (m->embed.type == NPG_W_F32 ? 4 : 2);
    return NPG_OK;
}

static npg_status model_load_dir(const char *dir, bool lazy, npg_model **out) {
    if (!npg_is_dir(dir))
        return npg_fail(NPG_ERR_NOT_FOUND, "%s: not a folder", dir);
    npg_model *m = calloc(1, sizeof *m);
    NPG_CHECK_ALLOC(m);
    npg_status st = npg_model_config_load(dir, &m->cfg);
    if (st == NPG_OK)
        st = npg_weight_source_container_present(dir) ? npg_weight_source_container(dir, &m->source)
                                                      : npg_weight_source_safetensors(dir, lazy, &m->source);
    if (st == NPG_OK && m->cfg.arch == NPG_ARCH_WHISPER)
        st = npg_whisper_config_alignment(dir, &m->cfg);
    if (st == NPG_OK)
        st = m->cfg.arch == NPG_ARCH_WHISPER ? npg_whisper_load_weights(m) : load_weights(m);
    if (st != NPG_OK) {
        npg_model_free(m);
        return st;
    }
    *out = m;
    return NPG_OK;
}

/* A GGUF file: config and weights both come from it (gguf_model.h). */
static npg_status model_load_gguf(const char *path, npg_model **out) {
    npg_model *m = calloc(1, sizeof *m);
    NPG_CHECK_ALLOC(m);
    npg_status st = npg_weight_source_gguf(path, &m->cfg, &m->source);
    if (st == NPG_OK)
        st = load_weights(m);
    if (st != NPG_OK) {
        npg_model_free(m);
        return st;
    }
    *out = m;
    return NPG_OK;
}

static npg_status model_load(const char *dir, bool lazy, npg_model **out) {
    if (!dir)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "model path is NULL");
    char *resolved = NULL; /* a folder, or a cached Hub repo id ("ORG/NAME") */
    NPG_TRY(npg_hub_resolve_model_dir(dir, &resolved));
    char *gguf = NULL; /* a .gguf file, or a folder holding one and no config.json */
    npg_status st = npg_gguf_locate(resolved, &gguf);
    if (st == NPG_OK)
        st = gguf ? model_load_gguf(gguf, out) : model_load_dir(resolved, lazy, out);
    free(gguf);
    free(resolved);
    return st;
}

npg_status npg_model_load(const char *dir, npg_model **out) { return model_load(dir, false, out); }

npg_status npg_model_load_lazy(const char *dir, npg_model **out) { return model_load(dir, true, out); }

void npg_model_free(npg_model *m) {
    if (!m)
        return;
    for (size_t i = 0; i < m->n_owned; i++)
        free(m->owned[i]);
    free(m->owned);
    free(m->layers);
    npg_whisper_weights_free(m->whisper);
    if (m->source.free)
        m->source.free(m->source.ctx);
    free(m);
}
