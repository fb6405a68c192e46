/* whisper_forward.c — Whisper's encoder (once per 30 s window) and decoder (per batch of token rows).
 *
 * Encoder (HF WhisperEncoder / OpenAI AudioEncoder), mel [n_mels, 2T] → [T, d]:
 *   x = gelu(conv1(mel)) (k3 p1);  x = gelu(conv2(x)) (k3 s2 p1);  x += embed_positions
 *   per layer: x += attn(LN(x)) (bidirectional over the T rows);  x += fc2(gelu(fc1(LN(x))))
 *   x = LN(x);  then each decoder layer's cross K = x·Wkᵀ, V = x·Wvᵀ + bv into the sequence's slot.
 * Both convolutions run as one GEMM each (im2col rows [t, c_in·3]); attention runs per head as two
 * GEMMs (Q·Kᵀ [T, T], softmax, P·V) so the 1500-row work goes through the prefill tile kernels.
 *
 * Decoder, per row: x = embed_tokens[id] (· embed_scale) + embed_positions[pos]; per layer
 *   x += self_attn(LN(x)) (causal over the row's sequence cache);  x += cross_attn(LN(x)) over the
 *   window's T rows;  x += fc2(gelu(fc1(LN(x))));  logits = LN(x) · embed_tokensᵀ (proj_out). */
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "kernels/gemm.h"
#include "models/blocks/blocks.h"
#include "models/ops.h"
#include "models/whisper.h"

static void add_bias(float *y, const float *b, int64_t rows, int64_t dim) {
    if (!b)
        return;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < dim; i++)
            y[r * dim + i] += b[i];
}

/* ---- encoder ------------------------------------------------------------------------------------- */

typedef struct rows_job {
    float *p;
    int64_t width;
    const float *bias;
    bool gelu;
} rows_job;

/* Row `task` of a [rows, width] buffer: + bias, then GELU. */
static void bias_gelu_task(void *ctx, int task, int thread) {
    (void)thread;
    const rows_job *j = ctx;
    float *r = j->p + (int64_t)task * j->width;
    for (int64_t i = 0; j->bias && i < j->width; i++)
        r[i] += j->bias[i];
    if (j->gelu)
        npg_blk_activate(NPG_MLP_GELU_ERF, r, NULL, j->width);
}

static void bias_gelu(const npg_compute *c, float *p, int64_t rows, int64_t width, const float *bias, bool gelu) {
    rows_job j = {p, width, bias, gelu};
    npg_threadpool_run(c->pool, (int)rows, bias_gelu_task, &j);
}

/* im2col of a 1-D convolution with kernel 3: col[t, ci·3 + j] = x(ci, t·stride - 1 + j), zero outside.
 * x(ci, s) = x[ci · xs_c + s · xs_t] (mel is channel-major, conv1's output time-major). */
static void im2col3(const float *x, int64_t c_in, int64_t t_in, int64_t xs_c, int64_t xs_t, int64_t stride,
                    int64_t t_out, float *col) {
    for (int64_t t = 0; t < t_out; t++) {
        float *row = col + t * c_in * 3;
        for (int64_t j = 0; j < 3; j++) {
            int64_t src = t * stride - 1 + j;
            bool in = src >= 0 && src < t_in;
            for (int64_t ci = 0; ci < c_in; ci++)
                row[ci * 3 + j] = in ? x[ci * xs_c + src * xs_t] : 0.0f;
        }
    }
}

/* y[M, n] = x[M, k] · Wᵀ: the input-major copy through the outer-product GEMM when the weight is
 * float, else the (integer) matmul kernels. */
static void linear(const npg_compute *c, const float *x, int64_t M, const npg_weight *w, const npg_whisper_bt *t,
                   float *y) {
    if (t->data)
        npg_gemm_nn(c, M, w->n, w->k, x, w->k, t->data, t->type, w->n, y, w->n, 0);
    else
        npg_matmul(c, x, M, w, y);
}

/* Bidirectional multi-head attention over w->q/k/v [T, d] into w->o [T, d]: per head, scores = Qh·Khᵀ
 * (q pre-scaled) [T, T], row softmax, o_h = P·Vh, each a GEMM reading the heads in place (Kᵀ is
 * transposed once for all heads). */
static void encoder_attention(const npg_compute *c, npg_whisper_state *w, int64_t d, int64_t heads) {
    int64_t T = w->T, D = d / heads;
    float scale = 1.0f / sqrtf((float)D);
    for (int64_t i = 0; i < T * d; i++)
        w->q[i] *= scale;
    for (int64_t t = 0; t < T; t++)
        for (int64_t i = 0; i < d; i++)
            w->kt[i * T + t] = w->k[t * d + i];
    for (int64_t h = 0; h < heads; h++) {
        npg_gemm_nn(c, T, T, D, w->q + h * D, d, w->kt + h * D * T, NPG_W_F32, T, w->scores, T, 0);
        npg_softmax_rows(c, w->scores, T, T, T);
        npg_gemm_nn(c, T, D, T, w->scores, T, w->v + h * D, NPG_W_F32, d, w->o + h * D, d, 0);
    }
}

static void encoder_layer(const npg_model *m, npg_forward_state *s, const npg_whisper_layer *L) {
    npg_whisper_state *w = s->whisper;
    const npg_compute *c = &s->compute;
    int64_t T = w->T, d = m->cfg.hidden, F = m->cfg.whisper.enc_ffn;
    npg_blk_layernorm(w->xb, w->x, L->self.ln_w, L->self.ln_b, T, d, m->cfg.norm_eps);
    linear(c, w->xb, T, &L->self.wq, &L->self.tq, w->q);
    linear(c, w->xb, T, &L->self.wk, &L->self.tk, w->k);
    linear(c, w->xb, T, &L->self.wv, &L->self.tv, w->v);
    add_bias(w->q, L->self.bq, T, d);
    add_bias(w->v, L->self.bv, T, d);
    encoder_attention(c, w, d, m->cfg.whisper.enc_heads);
    linear(c, w->o, T, &L->self.wo, &L->self.to, w->xb);
    add_bias(w->xb, L->self.bo, T, d);
    for (int64_t i = 0; i < T * d; i++)
        w->x[i] += w->xb[i];
    npg_blk_layernorm(w->xb, w->x, L->ln_w, L->ln_b, T, d, m->cfg.norm_eps);
    linear(c, w->xb, T, &L->fc1, &L->tfc1, w->h);
    bias_gelu(c, w->h, T, F, L->b1, true);
    linear(c, w->h, T, &L->fc2, &L->tfc2, w->o);
    add_bias(w->o, L->b2, T, d);
    for (int64_t i = 0; i < T * d; i++)
        w->x[i] += w->o[i];
}

npg_status npg_whisper_encode(const npg_model *m, npg_forward_state *s, const float *mel, int64_t n_frames,
                              int64_t seq, float *enc_out) {
    npg_whisper_state *w = s->whisper;
    if (!m->whisper || !w)
        return npg_fail(NPG_ERR_UNSUPPORTED, "encode: %s has no encoder", m->cfg.arch_name);
    const npg_whisper_dims *dm = &m->cfg.whisper;
    const npg_whisper_weights *W = m->whisper;
    int64_t T = w->T, d = m->cfg.hidden, L = m->cfg.n_layers;
    if (!mel)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "encode: the features are NULL");
    if (n_frames != 2 * T)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT,
                        "encode: %lld mel frames given; Whisper's encoder takes exactly %lld (30 s, padded or trimmed)",
                        (long long)n_frames, (long long)(2 * T));
    if (seq < 0 || seq >= w->n_slots)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "encode: sequence %lld is outside the %lld the engine holds",
                        (long long)seq, (long long)w->n_slots);
    NPG_TRY(npg_whisper_state_reserve_slot(w, m, seq));
    const npg_compute *c = &s->compute;
    /* conv1 (stride 1): [2T, n_mels·3] · W1ᵀ → c1 [2T, d] */
    im2col3(mel, dm->n_mels, 2 * T, 2 * T, 1, 1, 2 * T, w->col);
    linear(c, w->col, 2 * T, &W->conv1, &W->tconv1, w->c1);
    bias_gelu(c, w->c1, 2 * T, d, W->conv1_b, true);
    /* conv2 (stride 2) over c1 (time-major: x(ci, s) = c1[s · d + ci]) → x [T, d] */
    im2col3(w->c1, d, 2 * T, 1, d, 2, T, w->col);
    linear(c, w->col, T, &W->conv2, &W->tconv2, w->x);
    bias_gelu(c, w->x, T, d, W->conv2_b, true);
    for (int64_t i = 0; i < T * d; i++)
        w->x[i] += W->enc_pos[i];
    for (int64_t l = 0; l < dm->enc_layers; l++)
        encoder_layer(m, s, &W->enc[l]);
    npg_blk_layernorm(w->x, w->x, W->enc_ln_w, W->enc_ln_b, T, d, m->cfg.norm_eps);
    if (enc_out)
        memcpy(enc_out, w->x, (size_t)(T * d) * sizeof(float));
    for (int64_t l = 0; l < L; l++) {
        const npg_whisper_attn *a = &W->dec[l].cross;
        linear(c, w->x, T, &a->wk, &a->tk, w->cross_k[seq * L + l]);
        linear(c, w->x, T, &a->wv, &a->tv, w->cross_v[seq * L + l]);
        add_bias(w->cross_v[seq * L + l], a->bv, T, d);
    }
    w->cross_of[seq] = seq;
    w->last_slot = seq;
    return NPG_OK;
}

/* ---- decoder ------------------------------------------------------------------------------------- */

typedef struct dec_job {
    const npg_model *m;
    npg_forward_state *s;
    int64_t layer;
    bool cross;
} dec_job;

/* The slot whose cross K/V a row reads; -1 when nothing was encoded. */
static int64_t row_slot(const npg_whisper_state *w, int64_t seq) {
    if (w->aligning || w->cross_of[seq] < 0)
        return w->last_slot;
    return w->cross_of[seq];
}

/* One (row, head) pair of self- or cross-attention: xb[t, h·D..] = attention of q[t, h·D..]. */
static void dec_attn_task(void *ctx, int task, int thread) {
    const dec_job *j = ctx;
    const npg_model_config *c = &j->m->cfg;
    npg_forward_state *s = j->s;
    npg_whisper_state *w = s->whisper;
    int64_t H = c->n_heads, D = c->head_dim, d = c->hidden, L = c->n_layers;
    int64_t t = task / H, h = task % H, seq = s->row_seq[t], l = j->layer;
    float *scores = w->att + (int64_t)thread * (w->T > s->max_ctx ? w->T : s->max_ctx);
    const float *k, *v;
    int64_t hi;
    if (j->cross) {
        int64_t slot = row_slot(w, seq);
        k = w->cross_k[slot * L + l];
        v = w->cross_v[slot * L + l];
        hi = w->T - 1;
    } else {
        k = w->aligning ? w->align_k[l] : s->k_cache[seq * L + l];
        v = w->aligning ? w->align_v[l] : s->v_cache[seq * L + l];
        hi = s->row_pos[t];
    }
    npg_blk_attend(s->compute.isa, s->q + t * d + h * D, k + h * D, v + h * D, d, 0, hi, D, c->attn_scale, 0.0f,
                   scores, s->xb + t * d + h * D);
    int a = j->cross && w->aligning ? w->align_index[l * H + h] : -1;
    if (a >= 0) /* scores now hold the softmaxed weights */
        memcpy(w->align_out + ((int64_t)a * w->align_n + w->align_row0 + t) * w->T, scores,
               (size_t)w->T * sizeof(float));
}

/* x += out_proj(attention(LN(x))) for the n rows; self-attention stores the rows' K/V first. */
static void dec_attention(const npg_model *m, npg_forward_state *s, int64_t l, bool cross, int64_t n) {
    const npg_whisper_attn *a = cross ? &m->whisper->dec[l].cross : &m->whisper->dec[l].self;
    npg_whisper_state *w = s->whisper;
    int64_t d = m->cfg.hidden, L = m->cfg.n_layers;
    npg_blk_layernorm(s->xb, s->x, a->ln_w, a->ln_b, n, d, m->cfg.norm_eps);
    npg_matmul(&s->compute, s->xb, n, &a->wq, s->q);
    add_bias(s->q, a->bq, n, d);
    if (!cross) {
        npg_matmul(&s->compute, s->xb, n, &a->wk, s->k);
        npg_matmul(&s->compute, s->xb, n, &a->wv, s->v);
        add_bias(s->v, a->bv, n, d);
        for (int64_t t = 0; t < n; t++) {
            int64_t p = s->row_pos[t], seq = s->row_seq[t];
            float *kc = w->aligning ? w->align_k[l] : s->k_cache[seq * L + l];
            float *vc = w->aligning ? w->align_v[l] : s->v_cache[seq * L + l];
            memcpy(kc + p * d, s->k + t * d, (size_t)d * sizeof(float));
            memcpy(vc + p * d, s->v + t * d, (size_t)d * sizeof(float));
        }
    }
    dec_job job = {m, s, l, cross};
    npg_threadpool_run(s->compute.pool, (int)(n * m->cfg.n_heads), dec_attn_task, &job);
    npg_matmul(&s->compute, s->xb, n, &a->wo, s->proj);
    add_bias(s->proj, a->bo, n, d);
    for (int64_t i = 0; i < n * d; i++)
        s->x[i] += s->proj[i];
}

static void dec_mlp(const npg_model *m, npg_forward_state *s, int64_t l, int64_t n) {
    const npg_whisper_layer *L = &m->whisper->dec[l];
    int64_t d = m->cfg.hidden;
    npg_blk_layernorm(s->xb, s->x, L->ln_w, L->ln_b, n, d, m->cfg.norm_eps);
    npg_mlp_weights mw = {.gate = &L->fc1, .down = &L->fc2, .b1 = L->b1, .b2 = L->b2};
    npg_blk_mlp(&s->compute, NPG_MLP_GELU_ERF, &mw, s->xb, n, s->gate, s->up, s->proj);
    for (int64_t i = 0; i < n * d; i++)
        s->x[i] += s->proj[i];
}

npg_status npg_whisper_forward_rows(const npg_model *m, npg_forward_state *s, const npg_batch *b, int64_t n_out) {
    const npg_model_config *c = &m->cfg;
    const npg_whisper_weights *W = m->whisper;
    npg_whisper_state *w = s->whisper;
    int64_t d = c->hidden, n = b->n;
    if (!w)
        return npg_fail(NPG_ERR_INTERNAL, "forward: the state was not created for this Whisper model");
    if (!b->ids)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "forward: Whisper's decoder takes token ids, not embeddings");
    for (int64_t t = 0; t < n; t++) {
        int64_t slot = row_slot(w, s->row_seq[t]);
        if (slot < 0 || !w->cross_k[slot * c->n_layers])
            return npg_fail(NPG_ERR_INVALID_ARGUMENT,
                            "forward: sequence %lld has no encoded audio (run the encode step first)",
                            (long long)s->row_seq[t]);
        if (s->row_pos[t] >= c->max_pos)
            return npg_fail(NPG_ERR_LIMIT, "forward: position %lld exceeds Whisper's %lld decoder positions "
                            "(max_target_positions)", (long long)s->row_pos[t], (long long)c->max_pos);
        if (b->ids[t] < 0 || b->ids[t] >= c->vocab)
            return npg_fail(NPG_ERR_INVALID_ARGUMENT, "token id %d is outside the vocabulary [0, %lld)", b->ids[t],
                            (long long)c->vocab);
        float *row = s->x + t * d;
        npg_weight_get_row(&m->embed, b->ids[t], row);
        for (int64_t i = 0; i < d; i++)
            row[i] = row[i] * c->embed_scale + W->dec_pos[s->row_pos[t] * d + i];
    }
    for (int64_t l = 0; l < c->n_layers; l++) {
        dec_attention(m, s, l, false, n);
        dec_attention(m, s, l, true, n);
        dec_mlp(m, s, l, n);
    }
    if (n_out == 0)
        return NPG_OK;
    for (int64_t t = 0; t < n_out; t++)
        npg_blk_layernorm(s->xb + t * d, s->x + s->row_out[t] * d, W->dec_ln_w, W->dec_ln_b, 1, d, c->norm_eps);
    npg_matmul(&s->compute, s->xb, n_out, &m->lm_head, s->logits);
    return NPG_OK;
}

npg_status npg_whisper_alignment(const npg_model *m, npg_forward_state *s, const int32_t *ids, size_t n, float *out) {
    npg_whisper_state *w = s->whisper;
    const npg_model_config *c = &m->cfg;
    if (!m->whisper || !w)
        return npg_fail(NPG_ERR_UNSUPPORTED, "alignment: %s is not a Whisper model", c->arch_name);
    if (!ids || !out || n == 0)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "alignment: ids and out must be given, with at least one id");
    if ((int64_t)n > c->max_pos || (int64_t)n > s->max_ctx)
        return npg_fail(NPG_ERR_LIMIT, "alignment: %zu tokens exceed the decoder's %lld positions", n,
                        (long long)(c->max_pos < s->max_ctx ? c->max_pos : s->max_ctx));
    if (w->last_slot < 0)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "alignment: no audio window was encoded");
    for (int64_t i = 0; i < c->n_layers * c->n_heads; i++)
        w->align_index[i] = -1;
    for (int a = 0; a < c->whisper.n_align; a++)
        w->align_index[c->whisper.align[a][0] * c->n_heads + c->whisper.align[a][1]] = a;
    w->aligning = true;
    w->align_out = out;
    w->align_n = (int64_t)n;
    npg_status st = NPG_OK;
    for (size_t done = 0; done < n && st == NPG_OK;) {
        size_t chunk = n - done < (size_t)s->max_batch ? n - done : (size_t)s->max_batch;
        for (size_t t = 0; t < chunk; t++)
            s->stage_pos[t] = (int32_t)(done + t);
        w->align_row0 = (int64_t)done;
        /* no logits wanted (the caller's last logits stay valid): only the attention weights */
        npg_batch b = {.n = (int64_t)chunk, .ids = ids + done, .pos = s->stage_pos, .want_logits = w->no_logits};
        st = npg_model_forward_batch(m, s, &b);
        done += chunk;
    }
    w->aligning = false;
    w->align_out = NULL;
    return st;
}
