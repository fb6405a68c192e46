/* vision_encoder.c — pixel_values to image features: patch embedding as one GEMM, positions, the
 * pre-LN encoder layers (SigLIP and CLIP share them), the feature choice, then the projector. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "kernels/attention_flash.h"
#include "kernels/gemm_packed.h"
#include "models/vision/vision.h"

/* The tower's weights go through the packed GEMM (gemm_packed.h): each matrix is widened into `packed`
 * right before its GEMM (~1 ns per value, against 2 · 4096 FLOPs per value in the GEMM), so the model
 * keeps its BF16/F16/int8 weights and only one f32 copy of one layer's largest matrix exists. */
static npg_gemm_act gemm_act(npg_mlp_act a) {
    return a == NPG_MLP_GELU_TANH    ? NPG_GEMM_ACT_GELU_TANH
           : a == NPG_MLP_QUICK_GELU ? NPG_GEMM_ACT_QUICK_GELU
                                     : NPG_GEMM_ACT_GELU_ERF;
}

/* y[rows, w->n] = act(x · Wᵀ + b) (+ y before the activation when accumulate: the residual stream) */
static void linear(const npg_compute *c, const float *x, int64_t rows, const npg_weight *w, const float *b,
                   npg_gemm_act act, float *y, int accumulate, float *packed) {
    npg_gemm_pack(c, w, 0, w->n, packed);
    npg_gemm_packed(c, rows, w->n, w->k, x, w->k, packed, b, act, y, w->n, accumulate);
}

typedef struct ln_job {
    float *out;
    const float *x, *w, *b;
    int64_t rows, dim;
    float eps;
} ln_job;

enum { LN_ROWS = 64 };

static void ln_task(void *ctx, int task, int thread) {
    (void)thread;
    const ln_job *j = ctx;
    int64_t r0 = (int64_t)task * LN_ROWS, n = j->rows - r0 < LN_ROWS ? j->rows - r0 : LN_ROWS;
    npg_blk_layernorm(j->out + r0 * j->dim, j->x + r0 * j->dim, j->w, j->b, n, j->dim, j->eps);
}

/* LayerNorm over 4096 rows is ~1% of a layer on one thread: spread it over the pool. */
static void layernorm(const npg_compute *c, float *out, const float *x, const float *w, const float *b, int64_t rows,
                      int64_t dim, float eps) {
    ln_job j = {out, x, w, b, rows, dim, eps};
    npg_threadpool_run(c->pool, (int)((rows + LN_ROWS - 1) / LN_ROWS), ln_task, &j);
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
static void embed(const npg_vision_model *vm, const npg_compute *c, const float *pv, float *patches, float *x,
                  float *packed) {
    const npg_vision_config *cf = &vm->cfg;
    int64_t H = cf->hidden, first = cf->tower == NPG_VISION_CLIP ? 1 : 0;
    im2col(cf, pv, patches);
    linear(c, patches, cf->n_patches, &vm->patch, vm->patch_b, NPG_GEMM_ACT_NONE, x + first * H, 0, packed);
    if (first)
        memcpy(x, vm->class_emb, (size_t)H * sizeof(float));
    for (int64_t i = 0; i < cf->n_positions * H; i++)
        x[i] += vm->pos_emb[i];
    if (vm->pre_ln_w)
        layernorm(c, x, x, vm->pre_ln_w, vm->pre_ln_b, cf->n_positions, H, cf->ln_eps);
}

typedef struct scratch {
    float *x, *hb, *qkv, *bqkv, *att, *h, *patches, *attn, *projector, *packed;
} scratch;

/* Q, K and V as one GEMM: the three weights packed side by side, [T, 3H] out, biases concatenated. */
static void qkv_proj(const npg_compute *c, const npg_vision_layer *L, int64_t T, int64_t H, scratch *s) {
    const npg_weight *w[3] = {&L->wq, &L->wk, &L->wv};
    const float *b[3] = {L->bq, L->bk, L->bv};
    for (int i = 0; i < 3; i++) {
        npg_gemm_pack(c, w[i], i * H, 3 * H, s->packed);
        if (b[i])
            memcpy(s->bqkv + i * H, b[i], (size_t)H * sizeof(float));
        else
            memset(s->bqkv + i * H, 0, (size_t)H * sizeof(float));
    }
    npg_gemm_packed(c, T, 3 * H, H, s->hb, H, s->packed, s->bqkv, NPG_GEMM_ACT_NONE, s->qkv, 3 * H, 0);
}

static void layer(const npg_vision_model *vm, const npg_compute *c, const npg_vision_layer *L, scratch *s) {
    const npg_vision_config *cf = &vm->cfg;
    int64_t T = cf->n_positions, H = cf->hidden;
    layernorm(c, s->hb, s->x, L->ln1_w, L->ln1_b, T, H, cf->ln_eps);
    qkv_proj(c, L, T, H, s);
    npg_attention_full(c, s->qkv, s->qkv + H, s->qkv + 2 * H, 3 * H, T, cf->n_heads, cf->head_dim,
                       1.0f / sqrtf((float)cf->head_dim), s->att, H, s->attn);
    linear(c, s->att, T, &L->wo, L->bo, NPG_GEMM_ACT_NONE, s->x, 1, s->packed);
    layernorm(c, s->hb, s->x, L->ln2_w, L->ln2_b, T, H, cf->ln_eps);
    linear(c, s->hb, T, &L->fc1, L->b1, gemm_act(cf->act), s->h, 0, s->packed);
    linear(c, s->h, T, &L->fc2, L->b2, NPG_GEMM_ACT_NONE, s->x, 1, s->packed);
}

/* Floats of the packed B the largest of the tower's matrices needs. */
static size_t packed_floats(const npg_vision_config *cf) {
    int64_t H = cf->hidden, F = cf->ffn, K = cf->channels * cf->patch_size * cf->patch_size;
    size_t sz[] = {npg_gemm_packed_size(3 * H, H), npg_gemm_packed_size(F, H), npg_gemm_packed_size(H, F),
                   npg_gemm_packed_size(H, K)};
    size_t m = 0;
    for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++)
        m = sz[i] > m ? sz[i] : m;
    return m;
}

npg_status npg_vision_encode(const npg_vision_model *vm, const float *pixel_values, npg_threadpool *pool, npg_isa isa,
                             float *features, npg_vision_capture *capture) {
    if (!vm || !pixel_values || !features)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_vision_encode: %s is NULL",
                        !vm ? "model" : !pixel_values ? "pixel_values" : "features");
    const npg_vision_config *cf = &vm->cfg;
    int64_t T = cf->n_positions, H = cf->hidden, F = cf->ffn, K = cf->channels * cf->patch_size * cf->patch_size;
    size_t th = (size_t)(T * H);
    int threads = npg_threadpool_size(pool);
    size_t sizes[] = {th, th, 3 * th, (size_t)(3 * H), th, (size_t)(T * F), (size_t)(cf->n_patches * K),
                      npg_attention_full_scratch(T, cf->head_dim, threads), npg_vision_project_scratch(cf),
                      packed_floats(cf)};
    size_t total = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        total += sizes[i];
    float *mem = malloc(total * sizeof(float));
    if (!mem)
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for the vision tower's %zu MiB of activations",
                        total * sizeof(float) >> 20);
    scratch s;
    float **fields[] = {&s.x,       &s.hb,   &s.qkv,       &s.bqkv,  &s.att,
                        &s.h,       &s.patches, &s.attn, &s.projector, &s.packed};
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
    embed(vm, &c, pixel_values, s.patches, s.x, s.packed);
    if (capture && capture->hidden)
        memcpy(capture->hidden, s.x, th * sizeof(float));
    for (int64_t l = 0; l < cf->feature_layer; l++) {
        layer(vm, &c, &vm->layers[l], &s);
        if (capture && capture->hidden)
            memcpy(capture->hidden + (size_t)(l + 1) * th, s.x, th * sizeof(float));
    }
    const float *selected = s.x + (cf->drop_cls ? H : 0);
    if (vm->post_ln_w) { /* SigLIP's last_hidden_state */
        layernorm(&c, s.hb, s.x, vm->post_ln_w, vm->post_ln_b, T, H, cf->ln_eps);
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
