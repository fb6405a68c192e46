/* blocks.h — the reusable pieces models are built from (f32 activations, row-major [rows, dim]).
 *
 * Decoder-only LLMs, encoder-decoder speech models and vision encoders differ in which norm, which
 * positions, which attention mask and which MLP they use, not in how those work. Each block is one
 * function over rows; forward.c strings them together for today's decoder-only families, and the
 * Whisper and vision encoders will string together other ones. Every block is tested against a
 * straightforward double-precision reference in tests/test_blocks.c. One file per kind:
 * norm.c, position.c, mlp.c, attention.c, conv.c. */
#ifndef NPG_MODELS_BLOCKS_H
#define NPG_MODELS_BLOCKS_H

#include <stdbool.h>
#include <stdint.h>

#include "kernels/matmul.h"

/* ---- norms (norm.c); out may alias x ---------------------------------------------------------- */

/* RMSNorm: x / sqrt(mean(x²) + eps) · w, or · (1 + w) with plus_one (Gemma); w NULL = no weight. */
void npg_blk_rmsnorm(float *out, const float *x, const float *w, int64_t rows, int64_t dim, float eps, bool plus_one);
/* LayerNorm: (x - mean) / sqrt(var + eps) · w + b; b NULL = no bias (w NULL = no weight). */
void npg_blk_layernorm(float *out, const float *x, const float *w, const float *b, int64_t rows, int64_t dim,
                       float eps);

/* ---- positions (position.c) ------------------------------------------------------------------- */

typedef enum npg_rope_style {
    NPG_ROPE_HALF = 0,       /* rotate_half (Llama, Qwen, Gemma, Phi-3): pairs (i, i + rot/2) */
    NPG_ROPE_INTERLEAVED = 1 /* GPT-J / rotate_every_two: pairs (2i, 2i + 1) */
} npg_rope_style;

/* Rotates the first `rot` dims of each of the `heads` head vectors of one row x[heads * head_dim] by
 * the angles whose cos/sin are cos_[rot/2], sin_[rot/2] (one position's table row: the table holds
 * the variant — default, linear, llama3, longrope, attention factor). */
void npg_blk_rope(float *x, int64_t heads, int64_t head_dim, int64_t rot, const float *cos_, const float *sin_,
                  npg_rope_style style);
/* Learned absolute positions: x[r] += table[pos[r]] ([rows, dim]; GPT-2, Whisper's decoder). */
void npg_blk_learned_positions(float *x, const float *table, const int32_t *pos, int64_t rows, int64_t dim);
/* Sinusoidal positions, Whisper's encoder (sinusoids()): out[p, i] = sin(p · inc^i) for i < dim/2,
 * cos(p · inc^(i - dim/2)) after, inc = exp(-log(max_timescale) / (dim/2 - 1)); dim even. */
void npg_blk_sinusoidal_positions(float *out, int64_t n_pos, int64_t dim, float max_timescale);

/* ---- MLPs (mlp.c) ------------------------------------------------------------------------------ */

typedef enum npg_mlp_act {
    NPG_MLP_GATED_SILU = 0,      /* down(silu(gate(x)) ⊙ up(x)): Llama, Qwen, Phi-3 */
    NPG_MLP_GATED_GELU_TANH = 1, /* down(gelu_tanh(gate(x)) ⊙ up(x)): Gemma */
    NPG_MLP_GELU_ERF = 2,        /* fc2(gelu(fc1(x) + b1)) + b2: Whisper, ViT */
    NPG_MLP_QUICK_GELU = 3,      /* fc2(x·σ(1.702 x)) with fc1(x) + b1: CLIP */
    NPG_MLP_GELU_TANH = 4        /* fc2(gelu_tanh(fc1(x) + b1)) + b2: SigLIP (gelu_pytorch_tanh) */
} npg_mlp_act;

typedef struct npg_mlp_weights {
    const npg_weight *gate;    /* gated: gate [F, H]; plain: fc1 [F, H] */
    const npg_weight *up;      /* gated: up [F, H]; NULL when fused into gate_up or plain */
    const npg_weight *gate_up; /* gated, fused [2F, H] (gate rows first: Phi-3), or NULL */
    const npg_weight *down;    /* down / fc2 [H, F] */
    const float *b1, *b2;      /* plain MLPs' biases [F], [H] or NULL */
} npg_mlp_weights;

/* The MLP up to its down projection: h[rows, F] = act(gate(x)) (· up(x) when gated), the input of
 * `down`; h must hold [rows, 2F] (scratch for a fused gate_up), u [rows, F] is scratch. */
void npg_blk_mlp_hidden(const npg_compute *c, npg_mlp_act act, const npg_mlp_weights *w, const float *x, int64_t rows,
                        float *h, float *u);
/* out[rows, H] = MLP(x[rows, H]); h[rows, 2F] and u[rows, F] are scratch. */
void npg_blk_mlp(const npg_compute *c, npg_mlp_act act, const npg_mlp_weights *w, const float *x, int64_t rows,
                 float *h, float *u, float *out);
/* The element-wise activations on their own: g[i] = act(g[i]) (· u[i] when gated; u NULL otherwise). */
void npg_blk_activate(npg_mlp_act act, float *g, const float *u, int64_t n);

/* ---- attention (attention.c) -------------------------------------------------------------------- */

/* One query row of one head against keys/values [lo, hi] of a cache whose position p lies at
 * k + p * stride (any mask is a range per row: causal [0, p], sliding window [p - w + 1, p], a
 * bidirectional span widens hi, cross-attention is [0, T - 1]): out[d] = softmax(scale · q·kᵀ
 * [→ softcap · tanh(·/softcap)]) · v. scores: [hi - lo + 1] scratch. */
void npg_blk_attend(npg_isa isa, const float *q, const float *k, const float *v, int64_t stride, int64_t lo, int64_t hi,
                    int64_t d, float scale, float softcap, float *scores, float *out);
/* The same for G query heads sharing these keys/values (a GQA group): q[G, d] and out[G, d] packed,
 * scores [G, hi - lo + 1] scratch. Each key and value row is read once for the G heads; every head's
 * output is bit-identical to npg_blk_attend's. */
void npg_blk_attend_group(npg_isa isa, const float *q, int64_t G, const float *k, const float *v, int64_t stride,
                          int64_t lo, int64_t hi, int64_t d, float scale, float softcap, float *scores, float *out);
/* The visible key range of a decoder row at position p: causal, less a sliding window (window <= 0 =
 * none), widened to [span_lo, span_hi] when the row is in a bidirectional span (span_lo < 0 = none). */
void npg_blk_causal_range(int64_t p, int64_t window, int64_t span_lo, int64_t span_hi, int64_t *lo, int64_t *hi);
/* Cross-attention's K/V, filled once by an encode step: k[T, kv_dim] = enc[T, H]·Wkᵀ (+ bk),
 * v likewise; the decoder rows then attend to [0, T - 1] of them at every step. */
void npg_blk_cross_kv(const npg_compute *c, const float *enc, int64_t T, const npg_weight *wk, const float *bk,
                      const npg_weight *wv, const float *bv, float *k, float *v);

/* ---- convolutions (conv.c) ------------------------------------------------------------------- */

/* 1-D convolution (Whisper's audio stem): x[c_in, t_in] → out[c_out, t_out], w[c_out, c_in, ks],
 * b[c_out] or NULL, zero padding `pad` on both sides, t_out = (t_in + 2 pad - ks) / stride + 1. */
void npg_blk_conv1d(const float *x, int64_t c_in, int64_t t_in, const float *w, const float *b, int64_t c_out,
                    int64_t ks, int64_t stride, int64_t pad, float *out);
/* Patch embedding (ViT / SigLIP): image[c, h, w] cut into p×p patches, row-major over the patch grid,
 * each projected by w[dim, c, p, p] (+ b[dim]): out[(h/p) · (w/p), dim]. */
void npg_blk_patch_embed(const float *image, int64_t c, int64_t h, int64_t w, int64_t p, const float *weight,
                         const float *b, int64_t dim, float *out);

#endif
