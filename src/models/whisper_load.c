/* whisper_load.c — binds a Whisper checkpoint's tensors (Hugging Face names, `model.encoder.*`,
 * `model.decoder.*`, `proj_out.weight` or tied to embed_tokens) to npg_whisper_weights, checking every
 * shape against config.json. Matrices stay in their stored layout (f16, or an export's int8/int4);
 * conv kernels, positions, norms and biases become f32. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "models/whisper.h"
#include "weights/weights.h"

typedef struct wl {
    npg_model *m;
    const char *prefix; /* "model.encoder." or "model.decoder." */
} wl;

static npg_status name_of(char *buf, size_t size, const char *prefix, int64_t layer, const char *rest) {
    int n = layer >= 0 ? snprintf(buf, size, "%slayers.%lld.%s", prefix, (long long)layer, rest)
                       : snprintf(buf, size, "%s%s", prefix, rest);
    if (n < 0 || (size_t)n >= size)
        return npg_fail(NPG_ERR_INTERNAL, "tensor name too long: %s%s", prefix, rest);
    return NPG_OK;
}

static npg_status vec(wl *w, int64_t layer, const char *rest, int64_t len, float **out) {
    char name[256];
    NPG_TRY(name_of(name, sizeof name, w->prefix, layer, rest));
    NPG_TRY(npg_model_own_floats(w->m, len, out));
    return w->m->source.get_vector(w->m->source.ctx, name, len, *out);
}

static npg_status mat(wl *w, int64_t layer, const char *rest, int64_t rows, int64_t cols, npg_weight *out) {
    char name[256];
    NPG_TRY(name_of(name, sizeof name, w->prefix, layer, rest));
    return w->m->source.get_matrix(w->m->source.ctx, name, rows, cols, out);
}

/* A table stored as a matrix (positions: float in a checkpoint, possibly int8 after an export) as f32. */
static npg_status table(wl *w, const char *rest, int64_t rows, int64_t cols, float **out) {
    npg_weight t;
    NPG_TRY(mat(w, -1, rest, rows, cols, &t));
    NPG_TRY(npg_model_own_floats(w->m, rows * cols, out));
    for (int64_t r = 0; r < rows; r++)
        npg_weight_get_row(&t, r, *out + r * cols);
    return NPG_OK;
}

/* conv{1,2}: weight [d, c_in, 3] as an f32 GEMM matrix [d, c_in·3], bias [d]. */
static npg_status conv(wl *w, const char *which, int64_t c_in, npg_weight *out, float **bias) {
    npg_model *m = w->m;
    int64_t d = m->cfg.hidden;
    char rest[64];
    snprintf(rest, sizeof rest, "%s.weight", which);
    char name[256];
    NPG_TRY(name_of(name, sizeof name, w->prefix, -1, rest));
    if (!m->source.get_array)
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: this weight source cannot read '%s' (a 3-D conv kernel)",
                        m->source.what, name);
    float *data = NULL;
    NPG_TRY(npg_model_own_floats(m, d * c_in * 3, &data));
    int64_t shape[3] = {d, c_in, 3};
    NPG_TRY(m->source.get_array(m->source.ctx, name, 3, shape, data));
    *out = (npg_weight){.type = NPG_W_F32, .n = d, .k = c_in * 3, .data = data};
    snprintf(rest, sizeof rest, "%s.bias", which);
    return vec(w, -1, rest, d, bias);
}

/* The input-major copy of a float matrix (F16 kept F16, F32 and BF16 as F32); quantized weights get
 * none. */
static npg_status transpose(npg_model *m, const npg_weight *w, npg_whisper_bt *out) {
    int64_t n = w->n, k = w->k;
    out->data = NULL;
    if (w->type == NPG_W_F16) {
        float *buf = NULL;
        NPG_TRY(npg_model_own_floats(m, (n * k + 1) / 2, &buf));
        uint16_t *dst = (uint16_t *)buf;
        const uint16_t *src = w->data;
        for (int64_t r = 0; r < n; r++)
            for (int64_t c = 0; c < k; c++)
                dst[c * n + r] = src[r * k + c];
        *out = (npg_whisper_bt){buf, NPG_W_F16};
    } else if (w->type == NPG_W_F32 || w->type == NPG_W_BF16) {
        float *buf = NULL, *row = NULL;
        NPG_TRY(npg_model_own_floats(m, n * k, &buf));
        NPG_TRY(npg_model_own_floats(m, k, &row));
        for (int64_t r = 0; r < n; r++) {
            npg_weight_get_row(w, r, row);
            for (int64_t c = 0; c < k; c++)
                buf[c * n + r] = row[c];
        }
        *out = (npg_whisper_bt){buf, NPG_W_F32};
    }
    return NPG_OK;
}

static npg_status attn(wl *w, int64_t l, const char *which, const char *norm, npg_whisper_attn *a) {
    int64_t d = w->m->cfg.hidden;
    char rest[96];
    const struct {
        const char *proj;
        npg_weight *wt;
        float **b;
    } p[] = {{"q_proj", &a->wq, &a->bq}, {"k_proj", &a->wk, NULL}, {"v_proj", &a->wv, &a->bv},
             {"out_proj", &a->wo, &a->bo}};
    for (size_t i = 0; i < 4; i++) {
        snprintf(rest, sizeof rest, "%s.%s.weight", which, p[i].proj);
        NPG_TRY(mat(w, l, rest, d, d, p[i].wt));
        if (p[i].b) {
            snprintf(rest, sizeof rest, "%s.%s.bias", which, p[i].proj);
            NPG_TRY(vec(w, l, rest, d, p[i].b));
        }
    }
    snprintf(rest, sizeof rest, "%s.weight", norm);
    NPG_TRY(vec(w, l, rest, d, &a->ln_w));
    snprintf(rest, sizeof rest, "%s.bias", norm);
    return vec(w, l, rest, d, &a->ln_b);
}

static npg_status layer(wl *w, int64_t l, int64_t ffn, bool decoder, npg_whisper_layer *L) {
    int64_t d = w->m->cfg.hidden;
    NPG_TRY(attn(w, l, "self_attn", "self_attn_layer_norm", &L->self));
    if (decoder) {
        NPG_TRY(attn(w, l, "encoder_attn", "encoder_attn_layer_norm", &L->cross));
        NPG_TRY(transpose(w->m, &L->cross.wk, &L->cross.tk)); /* K/V of 1500 encoder rows per window */
        NPG_TRY(transpose(w->m, &L->cross.wv, &L->cross.tv));
    }
    NPG_TRY(mat(w, l, "fc1.weight", ffn, d, &L->fc1));
    NPG_TRY(vec(w, l, "fc1.bias", ffn, &L->b1));
    NPG_TRY(mat(w, l, "fc2.weight", d, ffn, &L->fc2));
    if (!decoder) {
        const npg_weight *src[] = {&L->self.wq, &L->self.wk, &L->self.wv, &L->self.wo, &L->fc1, &L->fc2};
        npg_whisper_bt *dst[] = {&L->self.tq, &L->self.tk, &L->self.tv, &L->self.to, &L->tfc1, &L->tfc2};
        for (size_t i = 0; i < 6; i++)
            NPG_TRY(transpose(w->m, src[i], dst[i]));
    }
    NPG_TRY(vec(w, l, "fc2.bias", d, &L->b2));
    NPG_TRY(vec(w, l, "final_layer_norm.weight", d, &L->ln_w));
    return vec(w, l, "final_layer_norm.bias", d, &L->ln_b);
}

static size_t bytes_of(const npg_weight *w) {
    return npg_quant_data_bytes(w->type, w->n, w->k) +
           (size_t)npg_quant_scale_count(w->type, w->n, w->k, w->group_size) * sizeof(float);
}

npg_status npg_whisper_load_weights(npg_model *m) {
    const npg_model_config *c = &m->cfg;
    const npg_whisper_dims *dims = &c->whisper;
    int64_t d = c->hidden;
    npg_whisper_weights *W = calloc(1, sizeof *W);
    NPG_CHECK_ALLOC(W);
    m->whisper = W;
    W->enc = calloc((size_t)dims->enc_layers, sizeof *W->enc);
    W->dec = calloc((size_t)c->n_layers, sizeof *W->dec);
    NPG_CHECK_ALLOC(W->enc);
    NPG_CHECK_ALLOC(W->dec);
    wl e = {.m = m, .prefix = "model.encoder."};
    NPG_TRY(conv(&e, "conv1", dims->n_mels, &W->conv1, &W->conv1_b));
    NPG_TRY(conv(&e, "conv2", d, &W->conv2, &W->conv2_b));
    NPG_TRY(transpose(m, &W->conv1, &W->tconv1));
    NPG_TRY(transpose(m, &W->conv2, &W->tconv2));
    NPG_TRY(table(&e, "embed_positions.weight", dims->n_audio_ctx, d, &W->enc_pos));
    for (int64_t l = 0; l < dims->enc_layers; l++)
        NPG_TRY(layer(&e, l, dims->enc_ffn, false, &W->enc[l]));
    NPG_TRY(vec(&e, -1, "layer_norm.weight", d, &W->enc_ln_w));
    NPG_TRY(vec(&e, -1, "layer_norm.bias", d, &W->enc_ln_b));
    wl dl = {.m = m, .prefix = "model.decoder."};
    NPG_TRY(mat(&dl, -1, "embed_tokens.weight", c->vocab, d, &m->embed));
    NPG_TRY(table(&dl, "embed_positions.weight", c->max_pos, d, &W->dec_pos));
    for (int64_t l = 0; l < c->n_layers; l++)
        NPG_TRY(layer(&dl, l, c->ffn, true, &W->dec[l]));
    NPG_TRY(vec(&dl, -1, "layer_norm.weight", d, &W->dec_ln_w));
    NPG_TRY(vec(&dl, -1, "layer_norm.bias", d, &W->dec_ln_b));
    m->lm_head = m->embed;
    if (m->source.has(m->source.ctx, c->lm_head_name))
        NPG_TRY(m->source.get_matrix(m->source.ctx, c->lm_head_name, c->vocab, d, &m->lm_head));
    else if (!c->tie_embeddings)
        return npg_fail(NPG_ERR_NOT_FOUND, "%s: tensor '%s' is missing (tie_word_embeddings is false)", m->source.what,
                        c->lm_head_name);
    /* bytes read per decoded token: every decoder matrix but the cross K/V projections (used once per
     * window), the output projection and one embedding row */
    for (int64_t l = 0; l < c->n_layers; l++) {
        const npg_whisper_layer *L = &W->dec[l];
        const npg_weight *ws[] = {&L->self.wq, &L->self.wk, &L->self.wv, &L->self.wo,
                                  &L->cross.wq, &L->cross.wo, &L->fc1, &L->fc2};
        for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++)
            m->weight_bytes += bytes_of(ws[i]);
    }
    m->weight_bytes += bytes_of(&m->lm_head) + (size_t)d * (m->embed.type == NPG_W_F32 ? 4 : 2);
    return NPG_OK;
}

void npg_whisper_weights_free(npg_whisper_weights *w) {
    if (!w)
        return;
    free(w->enc);
    free(w->dec);
    free(w);
}
