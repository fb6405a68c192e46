/* attention_block.c — the score rows of full (encoder) attention for a block of queries at once:
 * S[i, :] = softmax(scale · q[i, :] · Kᵀ) for rows r0..r1, with K given transposed (kt [d, n]) so the
 * inner loop streams contiguous key columns.
 *
 * Why not npg_matmul: a head's Q·Kᵀ has k = head_dim (64..128), far below what the prefill tiles are
 * blocked for (they run it at ~1/8 of their speed); here an 8-row × 32-column register tile walks d
 * once per tile, 16 FMAs per 2 loads. The softmax follows on the rows while they are in cache, with a
 * vectorized exp (Cephes' expf polynomial, 2^n by scaling: within 2 ulp of expf), since a 4096-patch
 * image has 16.7 M scores per head and a scalar expf would cost as much as the tower's projections. */
#include <math.h>

#include "kernels/attention.h"

#if defined(__x86_64__) || defined(__i386__)
#include "kernels/avx2_inline.h"
#include "kernels/avx512_inline.h"
#endif

enum { MR = 8 };

static void scores_scalar(const float *q, const float *kt, int64_t n, int64_t d, float scale, int64_t r0, int64_t r1,
                          float *S) {
    for (int64_t i = r0; i < r1; i++) {
        float *s = S + i * n;
        for (int64_t j = 0; j < n; j++)
            s[j] = 0.0f;
        for (int64_t c = 0; c < d; c++) {
            float a = q[i * d + c];
            const float *k = kt + c * n;
            for (int64_t j = 0; j < n; j++)
                s[j] += a * k[j];
        }
        float mx = -INFINITY;
        for (int64_t j = 0; j < n; j++) {
            s[j] *= scale;
            mx = s[j] > mx ? s[j] : mx;
        }
        float sum = 0.0f;
        for (int64_t j = 0; j < n; j++) {
            s[j] = expf(s[j] - mx);
            sum += s[j];
        }
        for (int64_t j = 0; j < n; j++)
            s[j] /= sum;
    }
}

#if defined(__x86_64__) || defined(__i386__)

/* ---- AVX-512 ----------------------------------------------------------------------------------- */

AVX512_INLINE __m512 exp512(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.3f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

AVX512_INLINE void softmax512(float *s, int64_t n, float scale) {
    __m512 vs = _mm512_set1_ps(scale), mx = _mm512_set1_ps(-INFINITY);
    for (int64_t j = 0; j < n; j += 16) {
        __mmask16 m = n - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - j)) - 1u);
        __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, s + j), vs);
        _mm512_mask_storeu_ps(s + j, m, v);
        mx = _mm512_mask_max_ps(mx, m, mx, v);
    }
    __m512 vmax = _mm512_set1_ps(_mm512_reduce_max_ps(mx)), sum = _mm512_setzero_ps();
    for (int64_t j = 0; j < n; j += 16) {
        __mmask16 m = n - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - j)) - 1u);
        __m512 e = exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, s + j), vmax));
        _mm512_mask_storeu_ps(s + j, m, e);
        sum = _mm512_mask_add_ps(sum, m, sum, e);
    }
    __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
    for (int64_t j = 0; j < n; j += 16) {
        __mmask16 m = n - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - j)) - 1u);
        _mm512_mask_storeu_ps(s + j, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, s + j), inv));
    }
}

/* rows i0..i0+rows (rows <= MR) × all n columns, 32 at a time (masked tail) */
AVX512_INLINE void tile512(const float *q, const float *kt, int64_t n, int64_t d, int64_t i0, int rows, float *S) {
    for (int64_t j = 0; j < n; j += 32) {
        __mmask16 m0 = n - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - j)) - 1u);
        __mmask16 m1 = n - j >= 32 ? (__mmask16)0xFFFF : n - j > 16 ? (__mmask16)((1u << (n - j - 16)) - 1u) : 0;
        __m512 acc0[MR], acc1[MR];
        UNROLL for (int r = 0; r < MR; r++) {
            acc0[r] = _mm512_setzero_ps();
            acc1[r] = _mm512_setzero_ps();
        }
        for (int64_t c = 0; c < d; c++) {
            __m512 k0 = _mm512_maskz_loadu_ps(m0, kt + c * n + j);
            __m512 k1 = _mm512_maskz_loadu_ps(m1, kt + c * n + j + 16);
            UNROLL for (int r = 0; r < MR; r++) {
                if (r < rows) {
                    __m512 a = _mm512_set1_ps(q[(i0 + r) * d + c]);
                    acc0[r] = _mm512_fmadd_ps(a, k0, acc0[r]);
                    acc1[r] = _mm512_fmadd_ps(a, k1, acc1[r]);
                }
            }
        }
        UNROLL for (int r = 0; r < MR; r++) {
            if (r < rows) {
                _mm512_mask_storeu_ps(S + (i0 + r) * n + j, m0, acc0[r]);
                _mm512_mask_storeu_ps(S + (i0 + r) * n + j + 16, m1, acc1[r]);
            }
        }
    }
}

AVX512_FN static void scores_avx512(const float *q, const float *kt, int64_t n, int64_t d, float scale, int64_t r0,
                                    int64_t r1, float *S) {
    for (int64_t i = r0; i < r1; i += MR) {
        int rows = r1 - i < MR ? (int)(r1 - i) : MR;
        tile512(q, kt, n, d, i, rows, S);
        for (int r = 0; r < rows; r++)
            softmax512(S + (i + r) * n, n, scale);
    }
}

/* ---- AVX2 -------------------------------------------------------------------------------------- */

AVX2_INLINE __m256 exp256(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.3f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    /* 2^n through the exponent bits (n in [-126, 0] after the clamp: normal numbers) */
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

AVX2_FN static void softmax256(float *s, int64_t n, float scale) {
    int64_t n8 = n & ~(int64_t)7;
    __m256 vs = _mm256_set1_ps(scale), mx = _mm256_set1_ps(-INFINITY);
    float smax = -INFINITY;
    for (int64_t j = 0; j < n8; j += 8) {
        __m256 v = _mm256_mul_ps(_mm256_loadu_ps(s + j), vs);
        _mm256_storeu_ps(s + j, v);
        mx = _mm256_max_ps(mx, v);
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, mx);
    for (int i = 0; i < 8; i++)
        smax = lanes[i] > smax ? lanes[i] : smax;
    for (int64_t j = n8; j < n; j++) {
        s[j] *= scale;
        smax = s[j] > smax ? s[j] : smax;
    }
    __m256 vmax = _mm256_set1_ps(smax), sum = _mm256_setzero_ps();
    for (int64_t j = 0; j < n8; j += 8) {
        __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(s + j), vmax));
        _mm256_storeu_ps(s + j, e);
        sum = _mm256_add_ps(sum, e);
    }
    _mm256_storeu_ps(lanes, sum);
    float total = 0.0f;
    for (int i = 0; i < 8; i++)
        total += lanes[i];
    for (int64_t j = n8; j < n; j++) {
        s[j] = expf(s[j] - smax);
        total += s[j];
    }
    __m256 inv = _mm256_set1_ps(1.0f / total);
    for (int64_t j = 0; j < n8; j += 8)
        _mm256_storeu_ps(s + j, _mm256_mul_ps(_mm256_loadu_ps(s + j), inv));
    for (int64_t j = n8; j < n; j++)
        s[j] /= total;
}

AVX2_FN static void scores_avx2(const float *q, const float *kt, int64_t n, int64_t d, float scale, int64_t r0,
                                int64_t r1, float *S) {
    int64_t n16 = n & ~(int64_t)15;
    for (int64_t i = r0; i < r1; i += MR) {
        int rows = r1 - i < MR ? (int)(r1 - i) : MR;
        for (int64_t j = 0; j < n16; j += 16) {
            __m256 acc0[MR], acc1[MR];
            UNROLL for (int r = 0; r < MR; r++) {
                acc0[r] = _mm256_setzero_ps();
                acc1[r] = _mm256_setzero_ps();
            }
            for (int64_t c = 0; c < d; c++) {
                __m256 k0 = _mm256_loadu_ps(kt + c * n + j), k1 = _mm256_loadu_ps(kt + c * n + j + 8);
                UNROLL for (int r = 0; r < MR; r++) {
                    if (r < rows) {
                        __m256 a = _mm256_set1_ps(q[(i + r) * d + c]);
                        acc0[r] = _mm256_fmadd_ps(a, k0, acc0[r]);
                        acc1[r] = _mm256_fmadd_ps(a, k1, acc1[r]);
                    }
                }
            }
            UNROLL for (int r = 0; r < MR; r++) {
                if (r < rows) {
                    _mm256_storeu_ps(S + (i + r) * n + j, acc0[r]);
                    _mm256_storeu_ps(S + (i + r) * n + j + 8, acc1[r]);
                }
            }
        }
        for (int r = 0; r < rows; r++) { /* the last n % 16 columns */
            float *s = S + (i + r) * n;
            for (int64_t j = n16; j < n; j++) {
                float acc = 0.0f;
                for (int64_t c = 0; c < d; c++)
                    acc += q[(i + r) * d + c] * kt[c * n + j];
                s[j] = acc;
            }
            softmax256(s, n, scale);
        }
    }
}
#endif

void npg_attn_block_softmax(npg_isa isa, const float *q, const float *kt, int64_t n, int64_t d, float scale,
                            int64_t r0, int64_t r1, float *S) {
#if defined(__x86_64__) || defined(__i386__)
    if (isa == NPG_ISA_AVX512) {
        scores_avx512(q, kt, n, d, scale, r0, r1, S);
        return;
    }
    if (isa == NPG_ISA_AVX2) {
        scores_avx2(q, kt, n, d, scale, r0, r1, S);
        return;
    }
#endif
    scores_scalar(q, kt, n, d, scale, r0, r1, S);
}
