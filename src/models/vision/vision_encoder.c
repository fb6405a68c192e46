/* vision_encoder.c — pixel_values to image features: patch embedding as one GEMM, positions, the
 * pre-LN encoder layers (SigLIP and CLIP share them), the feature choice, then the projector. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "models/vision/vision.h"

static void add_bias(float *y, const float *b, int64_t rows, int64_t dim) {
    if (!b)
        return;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < dim; i++)
            y[r * dim + i] += b[i];
}

static void linear(const npg_compute *c, const float *x, int64_t rows, const npg_weight *w, const float *b, float *y) {
    npg_matmul(c, x, rows, w, y);
    add_bias(y, b, rows, w->n);
}

/* im2col: patch n = row · grid + col, its values in the conv kernel's (channel, y, x) order, so the
 * convolution with kernel = stride = patch is patches [n_patches, C·p²] · Wᵀ. */
static void im2col(const npg_vision_config *c, const float *pv, float *patches) {
    int64_t p = c->patch_size, S = c->image_size, K = c->channels * p * p;
    for (int64_t py = 0; py < c->grid; py++)
        for (int64_t px = 0; px < c->grid; px++) {
            float *o = patches + (py * c->grid + px) * K;
            for (int64_t ch = 0; ch < c->channels; ch++)
                for (int64_t y = 0; y < p; y++)
                    memcpy(o + (ch * p + y) * p, pv + (ch * S + py * p + y) * S + px * p, (size_t)p * sizeof(float));
        }
}

/* hidden_states[0]: patch embeddings (after the CLS row for CLIP) plus learned positions, then CLIP's
 * pre_layrnorm. */
static void embed(const npg_vision_model *vm, const npg_compute *c, const float *pv, float *patches, float *x) {
    const npg_vision_config *cf = &vm->cfg;
    int64_t H = cf->hidden, first = cf->tower == NPG_VISION_CLIP ? 1 : 0;
    im2col(cf, pv, patches);
    linear(c, patches, cf->n_patches, &vm->patch, vm->patch_b, x + first * H);
    if (first)
        memcpy(x, vm->class_emb, (size_t)H * sizeof(float));
    for (int64_t i = 0; i < cf->n_positions * H; i++)
        x[i] += vm->pos_emb[i];
    if (vm->pre_ln_w)
        npg_blk_layernorm(x, x, vm->pre_ln_w, vm->pre_ln_b, cf->n_positions, H, cf->ln_eps);
}

typedef struct scratch {
    float *x, *hb, *q, *k, *v, *att, *proj, *h, *patches, *attn, *projector;
} scratch;

static void layer(const npg_vision_model *vm, const npg_compute *c, const npg_vision_layer *L, scratch *s) {
    const npg_vision_config *cf = &vm->cfg;
    int64_t T = cf->n_positions, H = cf->hidden;
    npg_blk_layernorm(s->hb, s->x, L->ln1_w, L->ln1_b, T, H, cf->ln_eps);
    linear(c, s->hb, T, &L->wq, L->bq, s->q);
    linear(c, s->hb, T, &L->wk, L->bk, s->k);
    linear(c, s->hb, T, &L->wv, L->bv, s->v);
    npg_vision_attention(c, s->q, s->k, s->v, T, cf->n_heads, cf->head_dim, 1.0f / sqrtf((float)cf->head_dim),
                         s->attn, s->att);
    linear(c, s->att, T, &L->wo, L->bo, s->proj);
    for (int64_t i = 0; i < T * H; i++)
        s->x[i] += s->proj[i];
    npg_blk_layernorm(s->hb, s->x, L->ln2_w, L->ln2_b, T, H, cf->ln_eps);
    npg_mlp_weights mw = {.gate = &L->fc1, .down = &L->fc2, .b1 = L->b1, .b2 = L->b2};
    npg_blk_mlp(c, cf->act, &mw, s->hb, T, s->h, NULL, s->proj);
    for (int64_t i = 0; i < T * H; i++)
        s->x[i] += s->proj[i];
}

npg_status npg_vision_encode(const npg_vision_model *vm, const float *pixel_values, npg_threadpool *pool, npg_isa isa,
                             float *features, npg_vision_capture *capture) {
    if (!vm || !pixel_values || !features)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_vision_encode: %s is NULL",
                        !vm ? "model" : !pixel_values ? "pixel_values" : "features");
    const npg_vision_config *cf = &vm->cfg;
    int64_t T = cf->n_positions, H = cf->hidden, F = cf->ffn, K = cf->channels * cf->patch_size * cf->patch_size;
    size_t th = (size_t)(T * H);
    size_t sizes[] = {th, th, th, th, th, th, th, (size_t)(T * F), (size_t)(cf->n_patches * K),
                      npg_vision_attention_scratch(T, cf->head_dim), npg_vision_project_scratch(cf)};
    size_t total = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        total += sizes[i];
    float *mem = malloc(total * sizeof(float));
    if (!mem)
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for the vision tower's %zu MiB of activations",
                        total * sizeof(float) >> 20);
    scratch s;
    float **fields[] = {&s.x, &s.hb, &s.q, &s.k, &s.v, &s.att, &s.proj, &s.h, &s.patches, &s.attn, &s.projector};
    float *at = mem;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        *fields[i] = at;
        at += sizes[i];
    }
    npg_compute c = {.pool = pool, .isa = isa};
    int64_t max_k = K > F ? K : F;
    if (T > max_k)
        max_k = T;
    if (cf->text_hidden > max_k)
        max_k = cf->text_hidden;
    npg_status st = npg_compute_reserve(&c, T, max_k);
    if (st != NPG_OK) {
        free(mem);
        return st;
    }
    embed(vm, &c, pixel_values, s.patches, s.x);
    if (capture && capture->hidden)
        memcpy(capture->hidden, s.x, th * sizeof(float));
    for (int64_t l = 0; l < cf->feature_layer; l++) {
        layer(vm, &c, &vm->layers[l], &s);
        if (capture && capture->hidden)
            memcpy(capture->hidden + (size_t)(l + 1) * th, s.x, th * sizeof(float));
    }
    const float *selected = s.x + (cf->drop_cls ? H : 0);
    if (vm->post_ln_w) { /* SigLIP's last_hidden_state */
        npg_blk_layernorm(s.hb, s.x, vm->post_ln_w, vm->post_ln_b, T, H, cf->ln_eps);
        selected = s.hb;
        if (capture && capture->last)
            memcpy(capture->last, s.hb, th * sizeof(float));
    }
    if (capture && capture->selected)
        memcpy(capture->selected, selected, (size_t)(cf->n_features * H) * sizeof(float));
    npg_vision_project(vm, &c, selected, capture ? capture->pooled : NULL, s.projector, features);
    npg_compute_release(&c);
    free(mem);
    return NPG_OK;
}
