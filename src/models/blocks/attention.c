/* attention.c — one query row against a range of a K/V cache, the decoder's visible range, and the
 * K/V of cross-attention filled once from an encoder's output. */
#include <math.h>

#include "kernels/attention.h"
#include "kernels/gemm.h"
#include "models/blocks/blocks.h"
#include "models/ops.h"

void npg_blk_attend(npg_isa isa, const float *q, const float *k, const float *v, int64_t stride, int64_t lo, int64_t hi,
                    int64_t d, float scale, float softcap, float *scores, float *out) {
    int64_t len = hi - lo + 1;
    npg_attn_scores(isa, q, k + lo * stride, stride, len, d, scale, scores);
    if (softcap > 0.0f)
        for (int64_t i = 0; i < len; i++)
            scores[i] = softcap * tanhf(scores[i] / softcap);
    /* the vectorised exp of the f32 GEMM's softmax (one row, on this thread): a scalar expf per
     * score cost a prefill of 512 tokens as much as its attention dot products */
    npg_compute one = {.pool = NULL, .isa = isa};
    npg_softmax_rows(&one, scores, 1, len, len);
    npg_attn_weighted_sum(isa, scores, v + lo * stride, stride, len, d, out);
}

void npg_blk_attend_group(npg_isa isa, const float *q, int64_t G, const float *k, const float *v, int64_t stride,
                          int64_t lo, int64_t hi, int64_t d, float scale, float softcap, float *scores, float *out) {
    int64_t len = hi - lo + 1;
    npg_attn_scores_group(isa, q, d, G, k + lo * stride, stride, len, d, scale, scores, len);
    if (softcap > 0.0f)
        for (int64_t i = 0; i < G * len; i++)
            scores[i] = softcap * tanhf(scores[i] / softcap);
    npg_compute one = {.pool = NULL, .isa = isa};
    npg_softmax_rows(&one, scores, G, len, len); /* row by row, as npg_blk_attend's */
    npg_attn_weighted_sum_group(isa, scores, len, G, v + lo * stride, stride, len, d, out, d);
}

void npg_blk_causal_range(int64_t p, int64_t window, int64_t span_lo, int64_t span_hi, int64_t *lo, int64_t *hi) {
    *lo = 0;
    *hi = p;
    if (window > 0 && p - window + 1 > 0)
        *lo = p - window + 1;
    if (span_lo >= 0) {
        /* (causal [AND window]) OR same span: the span holds p, so the union is contiguous */
        if (span_lo < *lo)
            *lo = span_lo;
        if (span_hi > *hi)
            *hi = span_hi;
    }
}

void npg_blk_cross_kv(const npg_compute *c, const float *enc, int64_t T, const npg_weight *wk, const float *bk,
                      const npg_weight *wv, const float *bv, float *k, float *v) {
    npg_matmul(c, enc, T, wk, k);
    npg_matmul(c, enc, T, wv, v);
    for (int64_t t = 0; t < T; t++) {
        for (int64_t i = 0; bk && i < wk->n; i++)
            k[t * wk->n + i] += bk[i];
        for (int64_t i = 0; bv && i < wv->n; i++)
            v[t * wv->n + i] += bv[i];
    }
}
