/* attention.c — scores q·k and the weighted sum of values, the part of attention that grows with
 * the context. A scalar loop here cost as much as all the int4 matmuls of a decode step at 512
 * positions; the SIMD paths keep it a small fraction. Summation order differs between paths (the
 * model goldens' tolerances absorb it). */
#include "kernels/attention.h"

#include <immintrin.h>
#include <string.h>

#include "kernels/avx512_inline.h"

static void scores_scalar(const float *q, const float *k, int64_t stride, int64_t len, int64_t d, float scale,
                          float *scores) {
    for (int64_t i = 0; i < len; i++) {
        const float *ki = k + i * stride;
        float s = 0.0f;
        for (int64_t c = 0; c < d; c++)
            s += q[c] * ki[c];
        scores[i] = s * scale;
    }
}

static void wsum_scalar(const float *w, const float *v, int64_t stride, int64_t len, int64_t d, float *out) {
    memset(out, 0, (size_t)d * sizeof *out);
    for (int64_t i = 0; i < len; i++) {
        const float *vi = v + i * stride;
        for (int64_t c = 0; c < d; c++)
            out[c] += w[i] * vi[c];
    }
}

#if defined(__x86_64__) || defined(__i386__)
#define AVX2_FN __attribute__((target("avx2,fma")))

AVX2_FN static float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2_FN static void scores_avx2(const float *q, const float *k, int64_t stride, int64_t len, int64_t d, float scale,
                                float *scores) {
    int64_t d8 = d & ~(int64_t)7;
    for (int64_t i = 0; i < len; i++) {
        const float *ki = k + i * stride;
        __m256 acc = _mm256_setzero_ps();
        for (int64_t c = 0; c < d8; c += 8)
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + c), _mm256_loadu_ps(ki + c), acc);
        float s = hsum256(acc);
        for (int64_t c = d8; c < d; c++)
            s += q[c] * ki[c];
        scores[i] = s * scale;
    }
}

/* Columns in blocks of 8, positions inner: each block's sum stays in a register. */
AVX2_FN static void wsum_avx2(const float *w, const float *v, int64_t stride, int64_t len, int64_t d, float *out) {
    int64_t c = 0;
    for (; c + 32 <= d; c += 32) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int64_t i = 0; i < len; i++) {
            const float *vi = v + i * stride + c;
            __m256 wi = _mm256_set1_ps(w[i]);
            a0 = _mm256_fmadd_ps(wi, _mm256_loadu_ps(vi), a0);
            a1 = _mm256_fmadd_ps(wi, _mm256_loadu_ps(vi + 8), a1);
            a2 = _mm256_fmadd_ps(wi, _mm256_loadu_ps(vi + 16), a2);
            a3 = _mm256_fmadd_ps(wi, _mm256_loadu_ps(vi + 24), a3);
        }
        _mm256_storeu_ps(out + c, a0);
        _mm256_storeu_ps(out + c + 8, a1);
        _mm256_storeu_ps(out + c + 16, a2);
        _mm256_storeu_ps(out + c + 24, a3);
    }
    for (; c + 8 <= d; c += 8) {
        __m256 a0 = _mm256_setzero_ps();
        for (int64_t i = 0; i < len; i++)
            a0 = _mm256_fmadd_ps(_mm256_set1_ps(w[i]), _mm256_loadu_ps(v + i * stride + c), a0);
        _mm256_storeu_ps(out + c, a0);
    }
    for (; c < d; c++) {
        float s = 0.0f;
        for (int64_t i = 0; i < len; i++)
            s += w[i] * v[i * stride + c];
        out[c] = s;
    }
}

/* Four keys at a time: their four sums reduce together (npg_hsum4_512), where one reduction per key
 * cost more than the key's dot product. */
AVX512_FN static void scores_avx512(const float *q, const float *k, int64_t stride, int64_t len, int64_t d,
                                    float scale, float *scores) {
    int64_t d16 = d & ~(int64_t)15, i = 0;
    for (; d16 == d && i + 4 <= len; i += 4) {
        const float *k0 = k + i * stride, *k1 = k0 + stride, *k2 = k1 + stride, *k3 = k2 + stride;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int64_t c = 0; c < d; c += 16) {
            __m512 qc = _mm512_loadu_ps(q + c);
            a0 = _mm512_fmadd_ps(qc, _mm512_loadu_ps(k0 + c), a0);
            a1 = _mm512_fmadd_ps(qc, _mm512_loadu_ps(k1 + c), a1);
            a2 = _mm512_fmadd_ps(qc, _mm512_loadu_ps(k2 + c), a2);
            a3 = _mm512_fmadd_ps(qc, _mm512_loadu_ps(k3 + c), a3);
        }
        _mm_storeu_ps(scores + i, _mm_mul_ps(npg_hsum4_512(a0, a1, a2, a3), _mm_set1_ps(scale)));
    }
    for (; i < len; i++) {
        const float *ki = k + i * stride;
        __m512 acc = _mm512_setzero_ps();
        for (int64_t c = 0; c < d16; c += 16)
            acc = _mm512_fmadd_ps(_mm512_loadu_ps(q + c), _mm512_loadu_ps(ki + c), acc);
        float s = _mm512_reduce_add_ps(acc);
        for (int64_t c = d16; c < d; c++)
            s += q[c] * ki[c];
        scores[i] = s * scale;
    }
}

AVX512_FN static void wsum_avx512(const float *w, const float *v, int64_t stride, int64_t len, int64_t d,
                                  float *out) {
    int64_t c = 0;
    for (; c + 64 <= d; c += 64) {
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int64_t i = 0; i < len; i++) {
            const float *vi = v + i * stride + c;
            __m512 wi = _mm512_set1_ps(w[i]);
            a0 = _mm512_fmadd_ps(wi, _mm512_loadu_ps(vi), a0);
            a1 = _mm512_fmadd_ps(wi, _mm512_loadu_ps(vi + 16), a1);
            a2 = _mm512_fmadd_ps(wi, _mm512_loadu_ps(vi + 32), a2);
            a3 = _mm512_fmadd_ps(wi, _mm512_loadu_ps(vi + 48), a3);
        }
        _mm512_storeu_ps(out + c, a0);
        _mm512_storeu_ps(out + c + 16, a1);
        _mm512_storeu_ps(out + c + 32, a2);
        _mm512_storeu_ps(out + c + 48, a3);
    }
    for (; c + 16 <= d; c += 16) {
        __m512 a0 = _mm512_setzero_ps();
        for (int64_t i = 0; i < len; i++)
            a0 = _mm512_fmadd_ps(_mm512_set1_ps(w[i]), _mm512_loadu_ps(v + i * stride + c), a0);
        _mm512_storeu_ps(out + c, a0);
    }
    if (c < d)
        wsum_avx2(w, v + c, stride, len, d - c, out + c);
}

/* ---- one GQA group's query heads together --------------------------------------------------------
 * Each key (value) row is loaded once for all G heads of its KV head, where a per-head call streamed
 * it G times. Every head's arithmetic is the per-head kernel's, in the same order (same key blocks,
 * lanes, FMA chain and reduction), only interleaved across heads: results are bit-identical. */

AVX2_FN static void scores_group_avx2(const float *q, int64_t qld, int64_t G, const float *k, int64_t stride,
                                      int64_t len, int64_t d, float scale, float *scores, int64_t sld) {
    int64_t d8 = d & ~(int64_t)7;
    for (int64_t i = 0; i < len; i++) {
        const float *ki = k + i * stride;
        for (int64_t g = 0; g < G; g++) {
            const float *qg = q + g * qld;
            __m256 acc = _mm256_setzero_ps();
            for (int64_t c = 0; c < d8; c += 8)
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(qg + c), _mm256_loadu_ps(ki + c), acc);
            float s = hsum256(acc);
            for (int64_t c = d8; c < d; c++)
                s += qg[c] * ki[c];
            scores[g * sld + i] = s * scale;
        }
    }
}

/* Columns c..c+7 of GN heads (GN a constant after inlining: the accumulators stay in registers). */
static inline __attribute__((always_inline, target("avx2,fma"))) void
wsum8_heads_avx2(const float *w, int64_t wld, int GN, const float *v, int64_t stride, int64_t len, float *out,
                 int64_t old) {
    __m256 a[8];
    UNROLL for (int g = 0; g < GN; g++) a[g] = _mm256_setzero_ps();
    for (int64_t i = 0; i < len; i++) {
        __m256 vi = _mm256_loadu_ps(v + i * stride);
        UNROLL for (int g = 0; g < GN; g++) a[g] = _mm256_fmadd_ps(_mm256_set1_ps(w[g * wld + i]), vi, a[g]);
    }
    UNROLL for (int g = 0; g < GN; g++) _mm256_storeu_ps(out + g * old, a[g]);
}

AVX2_FN static void wsum_group_avx2(const float *w, int64_t wld, int64_t G, const float *v, int64_t stride,
                                    int64_t len, int64_t d, float *out, int64_t old) {
    int64_t c = 0;
    for (; c + 8 <= d; c += 8) {
        int64_t g = 0;
        for (; g + 8 <= G; g += 8)
            wsum8_heads_avx2(w + g * wld, wld, 8, v + c, stride, len, out + g * old + c, old);
        for (; g + 4 <= G; g += 4)
            wsum8_heads_avx2(w + g * wld, wld, 4, v + c, stride, len, out + g * old + c, old);
        for (; g + 2 <= G; g += 2)
            wsum8_heads_avx2(w + g * wld, wld, 2, v + c, stride, len, out + g * old + c, old);
        for (; g < G; g++)
            wsum8_heads_avx2(w + g * wld, wld, 1, v + c, stride, len, out + g * old + c, old);
    }
    for (; c < d; c++)
        for (int64_t g = 0; g < G; g++) {
            const float *wg = w + g * wld;
            float s = 0.0f;
            for (int64_t i = 0; i < len; i++)
                s += wg[i] * v[i * stride + c];
            out[g * old + c] = s;
        }
}

/* Four keys of NC * 16 floats held in registers (NC <= 4: 16 of the 32 zmm) for all G heads: per
 * head only its query is loaded, not the keys again. */
AVX512_INLINE void scores4_group_avx512(const float *q, int64_t qld, int64_t G, const float *k0, int64_t stride,
                                        int NC, float scale, float *scores, int64_t sld) {
    __m512 kk[4][4];
    UNROLL for (int r = 0; r < 4; r++) UNROLL for (int c = 0; c < NC; c++) kk[r][c] =
        _mm512_loadu_ps(k0 + r * stride + c * 16);
    for (int64_t g = 0; g < G; g++) {
        const float *qg = q + g * qld;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        UNROLL for (int c = 0; c < NC; c++) {
            __m512 qc = _mm512_loadu_ps(qg + c * 16);
            a0 = _mm512_fmadd_ps(qc, kk[0][c], a0);
            a1 = _mm512_fmadd_ps(qc, kk[1][c], a1);
            a2 = _mm512_fmadd_ps(qc, kk[2][c], a2);
            a3 = _mm512_fmadd_ps(qc, kk[3][c], a3);
        }
        _mm_storeu_ps(scores + g * sld, _mm_mul_ps(npg_hsum4_512(a0, a1, a2, a3), _mm_set1_ps(scale)));
    }
}

AVX512_FN static void scores_group_avx512(const float *q, int64_t qld, int64_t G, const float *k, int64_t stride,
                                          int64_t len, int64_t d, float scale, float *scores, int64_t sld) {
    int64_t d16 = d & ~(int64_t)15, i = 0;
    for (; d == 64 && i + 4 <= len; i += 4) /* TinyLlama's, Llama-3.2-1B's, Qwen2's 0.5B head size */
        scores4_group_avx512(q, qld, G, k + i * stride, stride, 4, scale, scores + i, sld);
    for (; d == 32 && i + 4 <= len; i += 4)
        scores4_group_avx512(q, qld, G, k + i * stride, stride, 2, scale, scores + i, sld);
    for (; d16 == d && i + 4 <= len; i += 4) {
        const float *k0 = k + i * stride, *k1 = k0 + stride, *k2 = k1 + stride, *k3 = k2 + stride;
        for (int64_t g = 0; g < G; g++) {
            const float *qg = q + g * qld;
            __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (int64_t c = 0; c < d; c += 16) {
                __m512 qc = _mm512_loadu_ps(qg + c);
                a0 = _mm512_fmadd_ps(qc, _mm512_loadu_ps(k0 + c), a0);
                a1 = _mm512_fmadd_ps(qc, _mm512_loadu_ps(k1 + c), a1);
                a2 = _mm512_fmadd_ps(qc, _mm512_loadu_ps(k2 + c), a2);
                a3 = _mm512_fmadd_ps(qc, _mm512_loadu_ps(k3 + c), a3);
            }
            _mm_storeu_ps(scores + g * sld + i, _mm_mul_ps(npg_hsum4_512(a0, a1, a2, a3), _mm_set1_ps(scale)));
        }
    }
    for (; i < len; i++) {
        const float *ki = k + i * stride;
        for (int64_t g = 0; g < G; g++) {
            const float *qg = q + g * qld;
            __m512 acc = _mm512_setzero_ps();
            for (int64_t c = 0; c < d16; c += 16)
                acc = _mm512_fmadd_ps(_mm512_loadu_ps(qg + c), _mm512_loadu_ps(ki + c), acc);
            float s = _mm512_reduce_add_ps(acc);
            for (int64_t c = d16; c < d; c++)
                s += qg[c] * ki[c];
            scores[g * sld + i] = s * scale;
        }
    }
}

/* Columns c..c+15 of GN heads: one 64-byte line of each value row, read once for the GN heads. */
AVX512_INLINE void wsum16_heads_avx512(const float *w, int64_t wld, int GN, const float *v, int64_t stride,
                                       int64_t len, float *out, int64_t old) {
    __m512 a[8];
    UNROLL for (int g = 0; g < GN; g++) a[g] = _mm512_setzero_ps();
    for (int64_t i = 0; i < len; i++) {
        __m512 vi = _mm512_loadu_ps(v + i * stride);
        UNROLL for (int g = 0; g < GN; g++) a[g] = _mm512_fmadd_ps(_mm512_set1_ps(w[g * wld + i]), vi, a[g]);
    }
    UNROLL for (int g = 0; g < GN; g++) _mm512_storeu_ps(out + g * old, a[g]);
}

AVX512_FN static void wsum_group_avx512(const float *w, int64_t wld, int64_t G, const float *v, int64_t stride,
                                        int64_t len, int64_t d, float *out, int64_t old) {
    int64_t c = 0;
    for (; c + 16 <= d; c += 16) {
        int64_t g = 0;
        for (; g + 8 <= G; g += 8)
            wsum16_heads_avx512(w + g * wld, wld, 8, v + c, stride, len, out + g * old + c, old);
        for (; g + 4 <= G; g += 4)
            wsum16_heads_avx512(w + g * wld, wld, 4, v + c, stride, len, out + g * old + c, old);
        for (; g + 2 <= G; g += 2)
            wsum16_heads_avx512(w + g * wld, wld, 2, v + c, stride, len, out + g * old + c, old);
        for (; g < G; g++)
            wsum16_heads_avx512(w + g * wld, wld, 1, v + c, stride, len, out + g * old + c, old);
    }
    if (c < d)
        wsum_group_avx2(w, wld, G, v + c, stride, len, d - c, out + c, old);
}
#endif

void npg_attn_scores(npg_isa isa, const float *q, const float *k, int64_t stride, int64_t len, int64_t d,
                     float scale, float *scores) {
#if defined(__x86_64__) || defined(__i386__)
    if (isa == NPG_ISA_AVX512)
        return scores_avx512(q, k, stride, len, d, scale, scores);
    if (isa == NPG_ISA_AVX2)
        return scores_avx2(q, k, stride, len, d, scale, scores);
#endif
    scores_scalar(q, k, stride, len, d, scale, scores);
}

void npg_attn_weighted_sum(npg_isa isa, const float *w, const float *v, int64_t stride, int64_t len, int64_t d,
                           float *out) {
#if defined(__x86_64__) || defined(__i386__)
    if (isa == NPG_ISA_AVX512)
        return wsum_avx512(w, v, stride, len, d, out);
    if (isa == NPG_ISA_AVX2)
        return wsum_avx2(w, v, stride, len, d, out);
#endif
    wsum_scalar(w, v, stride, len, d, out);
}

void npg_attn_scores_group(npg_isa isa, const float *q, int64_t qld, int64_t G, const float *k, int64_t stride,
                           int64_t len, int64_t d, float scale, float *scores, int64_t sld) {
#if defined(__x86_64__) || defined(__i386__)
    if (isa == NPG_ISA_AVX512)
        return scores_group_avx512(q, qld, G, k, stride, len, d, scale, scores, sld);
    if (isa == NPG_ISA_AVX2)
        return scores_group_avx2(q, qld, G, k, stride, len, d, scale, scores, sld);
#endif
    for (int64_t g = 0; g < G; g++) /* the fallback: one head at a time */
        scores_scalar(q + g * qld, k, stride, len, d, scale, scores + g * sld);
}

void npg_attn_weighted_sum_group(npg_isa isa, const float *w, int64_t wld, int64_t G, const float *v, int64_t stride,
                                 int64_t len, int64_t d, float *out, int64_t old) {
#if defined(__x86_64__) || defined(__i386__)
    if (isa == NPG_ISA_AVX512)
        return wsum_group_avx512(w, wld, G, v, stride, len, d, out, old);
    if (isa == NPG_ISA_AVX2)
        return wsum_group_avx2(w, wld, G, v, stride, len, d, out, old);
#endif
    for (int64_t g = 0; g < G; g++)
        wsum_scalar(w + g * wld, v, stride, len, d, out + g * old);
}
