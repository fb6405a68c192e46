/* forward.c — the decoder forward pass shared by every supported family.
 *
 * Per layer (Llama order; family switches in npg_model_config):
 *   h = norm(x);  q,k,v = h·Wq, h·Wk, h·Wv (+bias);  qk-norm;  RoPE(q, k);  cache k, v
 *   a = softmax(q·Kᵀ · scale [+ softcap], causal [+ sliding window] [or same image]) · V;  o = a·Wo
 *   x += post_attn_norm(o)                                  (Gemma3 sandwich) or x += o
 *   h = norm(x);  f = (act(h·Wg) ⊙ h·Wu)·Wd;  x += post_ffn_norm(f) or x += f
 * then final norm, lm_head and optional final soft-capping. */
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "kernels/attention.h"
#include "models/model.h"
#include "models/ops.h"

typedef struct attn_job {
    const npg_model_config *c;
    npg_forward_state *s;
    int64_t layer;
    int64_t n;   /* tokens in this call */
    int64_t pos; /* absolute position of token 0 */
    const uint8_t *bidir; /* [n] or NULL: contiguous runs of nonzero entries see each other (images) */
} attn_job;

/* One (token, head) pair: xb[t, h*D:(h+1)*D] = softmax(q k^T) v over the visible cache. */
static void attn_task(void *ctx, int task, int thread) {
    const attn_job *j = ctx;
    const npg_model_config *c = j->c;
    npg_forward_state *s = j->s;
    int64_t t = task / c->n_heads, h = task % c->n_heads;
    int64_t D = c->head_dim, kvd = c->n_kv_heads * D;
    int64_t kvh = h / (c->n_heads / c->n_kv_heads);
    int64_t p = j->pos + t;
    int64_t lo = 0, hi = p;
    if (c->sliding_window > 0 && c->layer_sliding[j->layer] && p - c->sliding_window + 1 > 0)
        lo = p - c->sliding_window + 1;
    if (j->bidir && j->bidir[t]) {
        /* transformers' Gemma-3 mask: (causal [AND window]) OR same image. The run [a, b] holds t, so
         * its union with [lo, p] is the contiguous range [min(lo, a), b]; its keys are all cached. */
        int64_t a = t, b = t;
        while (a > 0 && j->bidir[a - 1])
            a--;
        while (b + 1 < j->n && j->bidir[b + 1])
            b++;
        if (j->pos + a < lo)
            lo = j->pos + a;
        hi = j->pos + b;
    }
    const float *q = s->q + t * (c->n_heads * D) + h * D;
    const float *kc = s->k_cache[j->layer] + kvh * D;
    const float *vc = s->v_cache[j->layer] + kvh * D;
    float *att = s->att + (int64_t)thread * s->max_ctx;
    int64_t len = hi - lo + 1;
    npg_attn_scores(s->compute.isa, q, kc + lo * kvd, kvd, len, D, c->attn_scale, att);
    if (c->attn_softcap > 0.0f)
        for (int64_t i = 0; i < len; i++)
            att[i] = c->attn_softcap * tanhf(att[i] / c->attn_softcap);
    npg_softmax(att, len);
    float *out = s->xb + t * (c->n_heads * D) + h * D;
    npg_attn_weighted_sum(s->compute.isa, att, vc + lo * kvd, kvd, len, D, out);
}

static void add_bias(float *y, const float *b, int64_t n, int64_t dim) {
    if (!b)
        return;
    for (int64_t t = 0; t < n; t++)
        for (int64_t i = 0; i < dim; i++)
            y[t * dim + i] += b[i];
}

static void capture(const npg_model_config *c, npg_forward_state *s, int64_t slot, int64_t n) {
    if (s->hidden_capture)
        memcpy(s->hidden_capture + slot * n * c->hidden, s->x, (size_t)(n * c->hidden) * sizeof(float));
}

static void tap(npg_forward_state *s, int64_t l, npg_tensor_role r, const float *x, int64_t n, int64_t k) {
    if (s->linear_tap)
        s->linear_tap(s->linear_tap_user, l, r, x, n, k);
}

static void attention_block(const npg_model *m, npg_forward_state *s, int64_t l, int64_t n, int64_t pos,
                            const uint8_t *bidir) {
    const npg_model_config *c = &m->cfg;
    const npg_layer_weights *L = &m->layers[l];
    int64_t H = c->hidden, D = c->head_dim, qd = c->n_heads * D, kvd = c->n_kv_heads * D;
    for (int64_t t = 0; t < n; t++)
        npg_rmsnorm(s->xb + t * H, s->x + t * H, L->attn_norm, H, c->norm_eps, c->norm_plus_one);
    /* q [n, qd], k [n, kvd], v [n, kvd] */
    tap(s, l, NPG_TENSOR_WQ, s->xb, n, H);
    if (c->fused_qkv) {
        float *qkv = s->q; /* [n, qd + 2 kvd]: compact into q, k, v */
        npg_matmul(&s->compute, s->xb, n, &L->wqkv, qkv);
        int64_t w = qd + 2 * kvd;
        for (int64_t t = 0; t < n; t++) {
            memcpy(s->k + t * kvd, qkv + t * w + qd, (size_t)kvd * sizeof(float));
            memcpy(s->v + t * kvd, qkv + t * w + qd + kvd, (size_t)kvd * sizeof(float));
        }
        for (int64_t t = 1; t < n; t++)
            memmove(s->q + t * qd, qkv + t * w, (size_t)qd * sizeof(float));
    } else {
        npg_matmul(&s->compute, s->xb, n, &L->wq, s->q);
        npg_matmul(&s->compute, s->xb, n, &L->wk, s->k);
        npg_matmul(&s->compute, s->xb, n, &L->wv, s->v);
    }
    add_bias(s->q, L->bq, n, qd);
    add_bias(s->k, L->bk, n, kvd);
    add_bias(s->v, L->bv, n, kvd);
    bool sliding = c->sliding_window > 0 && c->layer_sliding[l];
    const float *cos_tab = sliding ? s->rope_cos_local : s->rope_cos;
    const float *sin_tab = sliding ? s->rope_sin_local : s->rope_sin;
    /* longrope (transformers' dynamic_rope_update): one factor set per call, long when the call's
     * sequence end passes original_max_pos; the main table already holds long rows from there on.
     * rope_seq_end, when set, is that end exactly: rows past it are padding (the NPU's static shapes)
     * and must not switch the prompt to the long factors. */
    const float *cos_low = cos_tab, *sin_low = sin_tab;
    int64_t seq_end = s->rope_seq_end > 0 ? s->rope_seq_end : pos + n;
    if (s->rope_cos_long && cos_tab == s->rope_cos && seq_end > c->rope.original_max_pos) {
        cos_low = s->rope_cos_long;
        sin_low = s->rope_sin_long;
    }
    int64_t half = c->rotary_dim / 2;
    for (int64_t t = 0; t < n; t++) {
        int64_t p = pos + t;
        const float *cr = (p < c->rope.original_max_pos ? cos_low : cos_tab) + p * half;
        const float *sr = (p < c->rope.original_max_pos ? sin_low : sin_tab) + p * half;
        for (int64_t h = 0; h < c->n_heads; h++) {
            float *qh = s->q + t * qd + h * D;
            if (L->q_norm)
                npg_rmsnorm(qh, qh, L->q_norm, D, c->norm_eps, c->norm_plus_one);
            npg_rope_apply(qh, cr, sr, c->rotary_dim);
        }
        for (int64_t h = 0; h < c->n_kv_heads; h++) {
            float *kh = s->k + t * kvd + h * D;
            if (L->k_norm)
                npg_rmsnorm(kh, kh, L->k_norm, D, c->norm_eps, c->norm_plus_one);
            npg_rope_apply(kh, cr, sr, c->rotary_dim);
        }
        memcpy(s->k_cache[l] + p * kvd, s->k + t * kvd, (size_t)kvd * sizeof(float));
        memcpy(s->v_cache[l] + p * kvd, s->v + t * kvd, (size_t)kvd * sizeof(float));
    }
    attn_job job = {c, s, l, n, pos, bidir};
    npg_threadpool_run(s->compute.pool, (int)(n * c->n_heads), attn_task, &job);
    tap(s, l, NPG_TENSOR_WO, s->xb, n, qd);
    npg_matmul(&s->compute, s->xb, n, &L->wo, s->proj);
    add_bias(s->proj, L->bo, n, H);
    for (int64_t t = 0; t < n; t++) {
        float *o = s->proj + t * H;
        if (L->post_attn_norm)
            npg_rmsnorm(o, o, L->post_attn_norm, H, c->norm_eps, c->norm_plus_one);
        for (int64_t i = 0; i < H; i++)
            s->x[t * H + i] += o[i];
    }
}

static void ffn_block(const npg_model *m, npg_forward_state *s, int64_t l, int64_t n) {
    const npg_model_config *c = &m->cfg;
    const npg_layer_weights *L = &m->layers[l];
    int64_t H = c->hidden, F = c->ffn;
    for (int64_t t = 0; t < n; t++)
        npg_rmsnorm(s->xb + t * H, s->x + t * H, L->ffn_norm, H, c->norm_eps, c->norm_plus_one);
    tap(s, l, NPG_TENSOR_W_GATE, s->xb, n, H);
    if (c->fused_gate_up) {
        /* [n, 2F]: gate in the first F columns, up in the last F (Phi-3 chunk(2) order) */
        npg_matmul(&s->compute, s->xb, n, &L->w_gate_up, s->gate);
        for (int64_t t = 0; t < n; t++)
            memcpy(s->up + t * F, s->gate + t * 2 * F + F, (size_t)F * sizeof(float));
        for (int64_t t = 1; t < n; t++)
            memmove(s->gate + t * F, s->gate + t * 2 * F, (size_t)F * sizeof(float));
    } else {
        npg_matmul(&s->compute, s->xb, n, &L->w_gate, s->gate);
        npg_matmul(&s->compute, s->xb, n, &L->w_up, s->up);
    }
    if (c->act == NPG_ACT_GELU_TANH)
        npg_gelu_tanh_mul(s->gate, s->up, n * F);
    else
        npg_silu_mul(s->gate, s->up, n * F);
    tap(s, l, NPG_TENSOR_W_DOWN, s->gate, n, F);
    npg_matmul(&s->compute, s->gate, n, &L->w_down, s->proj);
    for (int64_t t = 0; t < n; t++) {
        float *o = s->proj + t * H;
        if (L->post_ffn_norm)
            npg_rmsnorm(o, o, L->post_ffn_norm, H, c->norm_eps, c->norm_plus_one);
        for (int64_t i = 0; i < H; i++)
            s->x[t * H + i] += o[i];
    }
}

static npg_status check_call(const npg_forward_state *s, int64_t n, int64_t pos) {
    if (n <= 0 || n > s->max_batch)
        return npg_fail(NPG_ERR_INTERNAL, "forward: %lld tokens exceed the planned batch of %lld", (long long)n,
                        (long long)s->max_batch);
    if (pos < 0 || pos + n > s->max_ctx)
        return npg_fail(NPG_ERR_LIMIT, "forward: positions %lld..%lld exceed the context of %lld", (long long)pos,
                        (long long)(pos + n - 1), (long long)s->max_ctx);
    return NPG_OK;
}

/* The decoder over s->x [n, hidden] (input embeddings, already scaled), then the logits. */
static void forward_rows(const npg_model *m, npg_forward_state *s, int64_t n, int64_t pos, bool all_logits,
                         const uint8_t *bidir) {
    const npg_model_config *c = &m->cfg;
    int64_t H = c->hidden;
    capture(c, s, 0, n);
    for (int64_t l = 0; l < c->n_layers; l++) {
        attention_block(m, s, l, n, pos, bidir);
        ffn_block(m, s, l, n);
        capture(c, s, l + 1, n);
    }
    int64_t first = all_logits ? 0 : n - 1, rows = n - first;
    for (int64_t t = 0; t < rows; t++)
        npg_rmsnorm(s->xb + t * H, s->x + (first + t) * H, m->final_norm, H, c->norm_eps, c->norm_plus_one);
    npg_matmul(&s->compute, s->xb, rows, &m->lm_head, s->logits);
    if (c->final_softcap > 0.0f)
        for (int64_t i = 0; i < rows * c->vocab; i++)
            s->logits[i] = c->final_softcap * tanhf(s->logits[i] / c->final_softcap);
}

npg_status npg_model_forward_embeds(const npg_model *m, npg_forward_state *s, const float *embeds, int64_t n,
                                    int64_t pos, bool all_logits, const uint8_t *bidir) {
    if (!embeds)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "forward: embeddings are NULL");
    NPG_TRY(check_call(s, n, pos));
    memcpy(s->x, embeds, (size_t)(n * m->cfg.hidden) * sizeof(float));
    forward_rows(m, s, n, pos, all_logits, bidir);
    return NPG_OK;
}

npg_status npg_model_forward(const npg_model *m, npg_forward_state *s, const int32_t *tokens, int64_t n,
                             int64_t pos, bool all_logits) {
    const npg_model_config *c = &m->cfg;
    NPG_TRY(check_call(s, n, pos));
    int64_t H = c->hidden;
    for (int64_t t = 0; t < n; t++) {
        if (tokens[t] < 0 || tokens[t] >= c->vocab)
            return npg_fail(NPG_ERR_INVALID_ARGUMENT, "token id %d is outside the vocabulary [0, %lld)", tokens[t],
                            (long long)c->vocab);
        float *row = s->x + t * H;
        npg_weight_get_row(&m->embed, tokens[t], row);
        if (c->embed_scale != 1.0f)
            for (int64_t i = 0; i < H; i++)
                row[i] *= c->embed_scale;
    }
    forward_rows(m, s, n, pos, all_logits, NULL);
    return NPG_OK;
}
