/* forward.c — the decoder forward pass shared by every supported family.
 *
 * Per layer (Llama order; family switches in npg_model_config):
 *   h = norm(x);  q,k,v = h·Wq, h·Wk, h·Wv (+bias);  qk-norm;  RoPE(q, k);  cache k, v
 *   a = softmax(q·Kᵀ · scale [+ softcap], causal [+ sliding window] [or same image]) · V;  o = a·Wo
 *   x += post_attn_norm(o)                                  (Gemma3 sandwich) or x += o
 *   h = norm(x);  f = (act(h·Wg) ⊙ h·Wu)·Wd;  x += post_ffn_norm(f) or x += f
 * then final norm, lm_head and optional final soft-capping. Each step is a block of
 * src/models/blocks/ (norm, RoPE, attention over a range, gated MLP); this file strings them together
 * and keeps the KV cache and the batch's rows. */
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "models/blocks/blocks.h"
#include "models/model.h"
#include "models/forward_internal.h"
#include "models/ops.h"
#include "models/whisper.h"

typedef struct attn_job {
    const npg_model_config *c;
    npg_forward_state *s;
    int64_t layer;
    int64_t n;     /* rows in this call; their positions, sequences and spans are in s->row_* */
    int64_t parts; /* tasks per (row, KV head): its query heads cut into this many runs */
} attn_job;

int64_t npg_fwd_attend_parts(const npg_model_config *c, int64_t n, int threads) {
    int64_t G = c->n_heads / c->n_kv_heads, units = n * c->n_kv_heads;
    int64_t parts = (threads + units - 1) / units; /* enough tasks to keep every thread busy */
    return parts < 1 ? 1 : parts > G ? G : parts;
}

/* One (row, KV head, run of its query heads) task: xb[t, h*D:(h+1)*D] for those heads h = attention
 * over the row's visible keys of its own sequence's cache. The run's heads share the keys and values
 * (GQA), so they are attended together: each cache row read once for all of them. */
static void attn_task(void *ctx, int task, int thread) {
    const attn_job *j = ctx;
    const npg_model_config *c = j->c;
    npg_forward_state *s = j->s;
    int64_t G = c->n_heads / c->n_kv_heads, per_row = c->n_kv_heads * j->parts;
    int64_t t = task / per_row, kvh = task % per_row / j->parts, part = task % j->parts;
    int64_t g0 = G * part / j->parts, g1 = G * (part + 1) / j->parts, h = kvh * G + g0;
    int64_t D = c->head_dim, kvd = c->n_kv_heads * D;
    int64_t seq = s->row_seq[t];
    int64_t span_lo = -1, span_hi = -1;
    int32_t span = s->row_span[t];
    if (span) {
        /* transformers' Gemma-3 mask: (causal [AND window]) OR same image. The run [a, b] of rows with
         * this span id holds t and consecutive positions. */
        int64_t a = t, b = t;
        while (a > 0 && s->row_span[a - 1] == span && s->row_seq[a - 1] == seq)
            a--;
        while (b + 1 < j->n && s->row_span[b + 1] == span && s->row_seq[b + 1] == seq)
            b++;
        span_lo = s->row_pos[a];
        span_hi = s->row_pos[b];
    }
    int64_t window = c->sliding_window > 0 && c->layer_sliding[j->layer] ? c->sliding_window : 0;
    int64_t lo = 0, hi = 0;
    npg_blk_causal_range(s->row_pos[t], window, span_lo, span_hi, &lo, &hi);
    npg_blk_attend_group(s->compute.isa, s->q + t * (c->n_heads * D) + h * D, g1 - g0,
                         s->k_cache[seq * s->n_layers + j->layer] + kvh * D,
                         s->v_cache[seq * s->n_layers + j->layer] + kvh * D, kvd, lo, hi, D, c->attn_scale,
                         c->attn_softcap, s->att + (int64_t)thread * G * s->max_ctx,
                         s->xb + t * (c->n_heads * D) + h * D);
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

/* x += post_norm(proj) (Gemma3 sandwich norms) or x += proj. */
static void residual_add(const npg_model_config *c, npg_forward_state *s, const float *post_norm, int64_t n) {
    int64_t H = c->hidden;
    if (post_norm)
        npg_blk_rmsnorm(s->proj, s->proj, post_norm, n, H, c->norm_eps, c->norm_plus_one);
    for (int64_t i = 0; i < n * H; i++)
        s->x[i] += s->proj[i];
}

/* The calibration hook (compress/): what linear layer `r` of layer l reads, x[n, k]. */
static void tap(npg_forward_state *s, int64_t l, npg_tensor_role r, const float *x, int64_t n, int64_t k) {
    if (s->linear_tap)
        s->linear_tap(s->linear_tap_user, l, r, x, n, k);
}

/* After the q/k/v projection of n rows (s->q, or the fused [n, qd + 2 kvd] output in s->q): compacts
 * a fused output, adds the biases, qk-norm, RoPE, and stores k, v in the rows' caches. */
void npg_fwd_qkv_finish(const npg_model *m, npg_forward_state *s, int64_t l, int64_t n) {
    const npg_model_config *c = &m->cfg;
    const npg_layer_weights *L = &m->layers[l];
    int64_t D = c->head_dim, qd = c->n_heads * D, kvd = c->n_kv_heads * D;
    if (c->fused_qkv) {
        float *qkv = s->q; /* [n, qd + 2 kvd]: compact into q, k, v */
        int64_t w = qd + 2 * kvd;
        for (int64_t t = 0; t < n; t++) {
            memcpy(s->k + t * kvd, qkv + t * w + qd, (size_t)kvd * sizeof(float));
            memcpy(s->v + t * kvd, qkv + t * w + qd + kvd, (size_t)kvd * sizeof(float));
        }
        for (int64_t t = 1; t < n; t++)
            memmove(s->q + t * qd, qkv + t * w, (size_t)qd * sizeof(float));
    }
    add_bias(s->q, L->bq, n, qd);
    add_bias(s->k, L->bk, n, kvd);
    add_bias(s->v, L->bv, n, kvd);
    bool sliding = c->sliding_window > 0 && c->layer_sliding[l];
    const float *cos_tab = sliding ? s->rope_cos_local : s->rope_cos;
    const float *sin_tab = sliding ? s->rope_sin_local : s->rope_sin;
    /* longrope (transformers' dynamic_rope_update): one factor set per call and sequence, long when
     * the sequence's end in this call passes original_max_pos; the main table already holds long rows
     * from there on. */
    int64_t half = c->rotary_dim / 2, orig = c->rope.original_max_pos;
    bool longrope = s->rope_cos_long && cos_tab == s->rope_cos;
    for (int64_t t = 0; t < n; t++) {
        int64_t p = s->row_pos[t], seq = s->row_seq[t];
        bool low_long = longrope && s->row_end[t] > orig && p < orig;
        const float *cr = (low_long ? s->rope_cos_long : cos_tab) + p * half;
        const float *sr = (low_long ? s->rope_sin_long : sin_tab) + p * half;
        if (L->q_norm) /* qk-norm: one RMSNorm per head vector */
            npg_blk_rmsnorm(s->q + t * qd, s->q + t * qd, L->q_norm, c->n_heads, D, c->norm_eps, c->norm_plus_one);
        if (L->k_norm)
            npg_blk_rmsnorm(s->k + t * kvd, s->k + t * kvd, L->k_norm, c->n_kv_heads, D, c->norm_eps,
                            c->norm_plus_one);
        npg_blk_rope(s->q + t * qd, c->n_heads, D, c->rotary_dim, cr, sr, NPG_ROPE_HALF);
        npg_blk_rope(s->k + t * kvd, c->n_kv_heads, D, c->rotary_dim, cr, sr, NPG_ROPE_HALF);
        memcpy(s->k_cache[seq * s->n_layers + l] + p * kvd, s->k + t * kvd, (size_t)kvd * sizeof(float));
        memcpy(s->v_cache[seq * s->n_layers + l] + p * kvd, s->v + t * kvd, (size_t)kvd * sizeof(float));
    }
}

void npg_fwd_attn_out(const npg_model *m, npg_forward_state *s, int64_t l, int64_t n) {
    add_bias(s->proj, m->layers[l].bo, n, m->cfg.hidden);
    residual_add(&m->cfg, s, m->layers[l].post_attn_norm, n);
}

void npg_fwd_ffn_out(const npg_model *m, npg_forward_state *s, int64_t l, int64_t n) {
    residual_add(&m->cfg, s, m->layers[l].post_ffn_norm, n);
}

void npg_fwd_attend(const npg_model *m, npg_forward_state *s, int64_t l, int64_t n, int64_t parts, int task,
                    int slot) {
    attn_job job = {&m->cfg, s, l, n, parts};
    attn_task(&job, task, slot);
}

static void attention_block(const npg_model *m, npg_forward_state *s, int64_t l, int64_t n) {
    const npg_model_config *c = &m->cfg;
    const npg_layer_weights *L = &m->layers[l];
    int64_t H = c->hidden, D = c->head_dim, qd = c->n_heads * D;
    npg_blk_rmsnorm(s->xb, s->x, L->attn_norm, n, H, c->norm_eps, c->norm_plus_one);
    /* q [n, qd], k [n, kvd], v [n, kvd] */
    tap(s, l, NPG_TENSOR_WQ, s->xb, n, H);
    if (c->fused_qkv) {
        npg_matmul(&s->compute, s->xb, n, &L->wqkv, s->q);
    } else {
        /* one parallel region for the three (the activations quantized once, one barrier) */
        const npg_weight *w[3] = {&L->wq, &L->wk, &L->wv};
        float *y[3] = {s->q, s->k, s->v};
        npg_matmul_multi(&s->compute, s->xb, n, w, y, 3);
    }
    npg_fwd_qkv_finish(m, s, l, n);
    attn_job job = {c, s, l, n, npg_fwd_attend_parts(c, n, npg_threadpool_size(s->compute.pool))};
    npg_threadpool_run(s->compute.pool, (int)(n * c->n_kv_heads * job.parts), attn_task, &job);
    tap(s, l, NPG_TENSOR_WO, s->xb, n, qd);
    npg_matmul(&s->compute, s->xb, n, &L->wo, s->proj);
    npg_fwd_attn_out(m, s, l, n);
}

static void ffn_block(const npg_model *m, npg_forward_state *s, int64_t l, int64_t n) {
    const npg_model_config *c = &m->cfg;
    const npg_layer_weights *L = &m->layers[l];
    npg_blk_rmsnorm(s->xb, s->x, L->ffn_norm, n, c->hidden, c->norm_eps, c->norm_plus_one);
    npg_mlp_weights w = {.gate = &L->w_gate, .up = &L->w_up, .down = &L->w_down,
                         .gate_up = c->fused_gate_up ? &L->w_gate_up : NULL};
    tap(s, l, NPG_TENSOR_W_GATE, s->xb, n, c->hidden);
    npg_blk_mlp_hidden(&s->compute, c->act == NPG_ACT_GELU_TANH ? NPG_MLP_GATED_GELU_TANH : NPG_MLP_GATED_SILU, &w,
                       s->xb, n, s->gate, s->up);
    tap(s, l, NPG_TENSOR_W_DOWN, s->gate, n, c->ffn);
    npg_matmul(&s->compute, s->gate, n, &L->w_down, s->proj);
    npg_fwd_ffn_out(m, s, l, n);
}

/* Checks the batch against the state and fills s->row_* (positions, sequences, spans, longrope ends,
 * the rows whose logits are wanted); *n_out = how many. */
static npg_status prepare_rows(npg_forward_state *s, const npg_batch *b, int64_t *n_wanted) {
    int64_t n = b->n;
    if (n <= 0 || n > s->max_batch)
        return npg_fail(NPG_ERR_INTERNAL, "forward: %lld tokens exceed the planned batch of %lld", (long long)n,
                        (long long)s->max_batch);
    if (!b->pos || (!b->ids && !b->embeds))
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "forward: the batch has no %s", b->pos ? "ids or embeddings" : "positions");
    for (int64_t t = 0; t < n; t++) {
        int64_t p = b->pos[t], seq = b->seq ? b->seq[t] : 0;
        if (p < 0 || p >= s->max_ctx)
            return npg_fail(NPG_ERR_LIMIT, "forward: position %lld of row %lld exceeds the context of %lld",
                            (long long)p, (long long)t, (long long)s->max_ctx);
        if (seq < 0 || seq >= s->n_seqs)
            return npg_fail(NPG_ERR_INVALID_ARGUMENT, "forward: row %lld names sequence %lld; the state holds %lld",
                            (long long)t, (long long)seq, (long long)s->n_seqs);
        s->row_pos[t] = p;
        s->row_seq[t] = seq;
        s->row_span[t] = b->span ? b->span[t] : 0;
    }
    /* longrope's sequence end: the caller's rope_seq_end when set (exact: a prompt cut into chunks, or
     * padded to the NPU's static shape), else the largest position + 1 of the row's sequence in this
     * call. Quadratic in rows, but only comparisons: negligible next to the layers. */
    for (int64_t t = 0; t < n; t++) {
        int64_t end = 0;
        for (int64_t u = 0; s->rope_seq_end <= 0 && u < n; u++)
            if (s->row_seq[u] == s->row_seq[t] && s->row_pos[u] + 1 > end)
                end = s->row_pos[u] + 1;
        s->row_end[t] = s->rope_seq_end > 0 ? s->rope_seq_end : end;
    }
    int64_t k = 0;
    if (!b->want_logits)
        s->row_out[k++] = n - 1;
    else
        for (int64_t t = 0; t < n; t++)
            if (b->want_logits[t])
                s->row_out[k++] = t;
    *n_wanted = k;
    return NPG_OK;
}

npg_status npg_fwd_weights_ready(npg_forward_state *s, int64_t stage) {
    return s->weights_ready ? s->weights_ready(s->weights_ready_user, stage) : NPG_OK;
}

static npg_status weights_ready(npg_forward_state *s, int64_t stage) { return npg_fwd_weights_ready(s, stage); }

static npg_status final_softcap(const npg_model_config *c, npg_forward_state *s, int64_t n_out) {
    if (c->final_softcap > 0.0f)
        for (int64_t i = 0; i < n_out * c->vocab; i++)
            s->logits[i] = c->final_softcap * tanhf(s->logits[i] / c->final_softcap);
    return NPG_OK;
}

/* The decoder over s->x [n, hidden] (input embeddings, already scaled) and s->row_*, then the logits of
 * the n_out rows in s->row_out. */
static npg_status forward_rows(const npg_model *m, npg_forward_state *s, int64_t n, int64_t n_out) {
    const npg_model_config *c = &m->cfg;
    int64_t H = c->hidden;
    if (n == 1 && n_out == 1 && npg_fwd_decode_team_ok(m, s)) {
        /* decode: the whole step in one parallel region (forward_decode.c) */
        NPG_TRY(npg_fwd_decode_team(m, s));
        return final_softcap(c, s, 1);
    }
    capture(c, s, 0, n);
    for (int64_t l = 0; l < c->n_layers; l++) {
        NPG_TRY(weights_ready(s, 1 + l));
        attention_block(m, s, l, n);
        ffn_block(m, s, l, n);
        capture(c, s, l + 1, n);
    }
    NPG_TRY(weights_ready(s, c->n_layers + 1));
    for (int64_t t = 0; t < n_out; t++)
        npg_rmsnorm(s->xb + t * H, s->x + s->row_out[t] * H, m->final_norm, H, c->norm_eps, c->norm_plus_one);
    if (n_out == 0)
        return NPG_OK;
    npg_matmul(&s->compute, s->xb, n_out, &m->lm_head, s->logits);
    return final_softcap(c, s, n_out);
}

npg_status npg_model_forward_batch(const npg_model *m, npg_forward_state *s, const npg_batch *b) {
    const npg_model_config *c = &m->cfg;
    if (!b)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "forward: the batch is NULL");
    int64_t n_out = 0;
    NPG_TRY(prepare_rows(s, b, &n_out));
    if (m->whisper) /* encoder-decoder: its own layers (whisper_forward.c) */
        return npg_whisper_forward_rows(m, s, b, n_out);
    int64_t H = c->hidden, n = b->n;
    NPG_TRY(weights_ready(s, 0));
    if (b->embeds) {
        memcpy(s->x, b->embeds, (size_t)(n * H) * sizeof(float));
    } else {
        for (int64_t t = 0; t < n; t++) {
            if (b->ids[t] < 0 || b->ids[t] >= c->vocab)
                return npg_fail(NPG_ERR_INVALID_ARGUMENT, "token id %d is outside the vocabulary [0, %lld)", b->ids[t],
                                (long long)c->vocab);
            float *row = s->x + t * H;
            npg_weight_get_row(&m->embed, b->ids[t], row);
            if (c->embed_scale != 1.0f)
                for (int64_t i = 0; i < H; i++)
                    row[i] *= c->embed_scale;
        }
    }
    return forward_rows(m, s, n, n_out);
}

/* The single-sequence entry points: consecutive positions pos..pos+n-1 of sequence 0, staged as a
 * batch in the state's own arrays (prepare_rows reads row t of the span array before writing it). */
static npg_status forward_seq0(const npg_model *m, npg_forward_state *s, const int32_t *tokens, const float *embeds,
                               int64_t n, int64_t pos, bool all_logits, const uint8_t *bidir) {
    if (n <= 0 || n > s->max_batch)
        return npg_fail(NPG_ERR_INTERNAL, "forward: %lld tokens exceed the planned batch of %lld", (long long)n,
                        (long long)s->max_batch);
    if (pos < 0 || pos + n > s->max_ctx)
        return npg_fail(NPG_ERR_LIMIT, "forward: positions %lld..%lld exceed the context of %lld", (long long)pos,
                        (long long)(pos + n - 1), (long long)s->max_ctx);
    for (int64_t t = 0; t < n; t++) {
        s->stage_pos[t] = (int32_t)(pos + t);
        s->stage_want[t] = 1;
        s->row_span[t] = bidir && bidir[t] ? 1 : 0;
    }
    npg_batch b = {.n = n, .ids = tokens, .embeds = embeds, .pos = s->stage_pos};
    b.span = bidir ? s->row_span : NULL;
    b.want_logits = all_logits ? s->stage_want : NULL;
    return npg_model_forward_batch(m, s, &b);
}

npg_status npg_model_forward_embeds(const npg_model *m, npg_forward_state *s, const float *embeds, int64_t n,
                                    int64_t pos, bool all_logits, const uint8_t *bidir) {
    if (!embeds)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "forward: embeddings are NULL");
    return forward_seq0(m, s, NULL, embeds, n, pos, all_logits, bidir);
}

npg_status npg_model_forward(const npg_model *m, npg_forward_state *s, const int32_t *tokens, int64_t n,
                             int64_t pos, bool all_logits) {
    return forward_seq0(m, s, tokens, NULL, n, pos, all_logits, NULL);
}

/* Export calibration (compress/calib.c) runs the model one layer at a time over every sample, so only
 * one layer's statistics are held at once: layer l alone over in[n, hidden] (a sequence 0 at positions
 * 0..n-1), its output rows into out (may be NULL: only the linear taps matter). */
npg_status npg_model_forward_layer(const npg_model *m, npg_forward_state *s, int64_t l, const float *in, float *out,
                                   int64_t n) {
    if (l < 0 || l >= m->cfg.n_layers || n <= 0 || n > s->max_batch || n > s->max_ctx)
        return npg_fail(NPG_ERR_INTERNAL, "forward: layer %lld over %lld rows is outside the model or the state",
                        (long long)l, (long long)n);
    for (int64_t t = 0; t < n; t++) {
        s->stage_pos[t] = (int32_t)t;
        s->row_span[t] = 0;
    }
    npg_batch b = {.n = n, .embeds = in, .pos = s->stage_pos};
    int64_t n_out = 0;
    NPG_TRY(prepare_rows(s, &b, &n_out));
    memcpy(s->x, in, (size_t)(n * m->cfg.hidden) * sizeof(float));
    attention_block(m, s, l, n);
    ffn_block(m, s, l, n);
    if (out)
        memcpy(out, s->x, (size_t)(n * m->cfg.hidden) * sizeof(float));
    return NPG_OK;
}
