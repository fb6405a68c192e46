/* gguf_quants_avx512.c — AVX-512 (F + BW) dot kernels for the GGML block types (gguf_quants.h): as
 * the AVX2 ones with 16-lane vectors, so a 16-byte group of codes widens in one conversion. */
#include <immintrin.h>
#include <string.h>

#include "kernels/avx512_inline.h"
#include "kernels/gguf_quants.h"

AVX512_INLINE float f16s(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

AVX512_INLINE __m512 s16(__m128i v) { return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(v)); }
AVX512_INLINE __m512 u16(__m128i v) { return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(v)); }
AVX512_INLINE __m512 ld(const float *x) { return _mm512_loadu_ps(x); }

AVX512_FN static float dot_q8_0(const uint8_t *r, const float *x, int64_t k) {
    __m512 acc = _mm512_setzero_ps();
    for (int64_t b = 0; b < k / 32; b++, r += 34, x += 32) {
        __m512 p = _mm512_mul_ps(s16(_mm_loadu_si128((const __m128i *)(r + 2))), ld(x));
        p = _mm512_fmadd_ps(s16(_mm_loadu_si128((const __m128i *)(r + 18))), ld(x + 16), p);
        acc = _mm512_fmadd_ps(_mm512_set1_ps(f16s(r)), p, acc);
    }
    return _mm512_reduce_add_ps(acc);
}

AVX512_FN static float dot_q4_0(const uint8_t *r, const float *x, int64_t k) {
    __m512 acc = _mm512_setzero_ps();
    const __m128i mask = _mm_set1_epi8(15), eight = _mm_set1_epi8(8);
    for (int64_t b = 0; b < k / 32; b++, r += 18, x += 32) {
        __m128i q = _mm_loadu_si128((const __m128i *)(r + 2));
        __m128i lo = _mm_sub_epi8(_mm_and_si128(q, mask), eight);
        __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(q, 4), mask), eight);
        __m512 p = _mm512_fmadd_ps(s16(hi), ld(x + 16), _mm512_mul_ps(s16(lo), ld(x)));
        acc = _mm512_fmadd_ps(_mm512_set1_ps(f16s(r)), p, acc);
    }
    return _mm512_reduce_add_ps(acc);
}

AVX512_FN static float dot_q4_1(const uint8_t *r, const float *x, int64_t k) {
    __m512 acc = _mm512_setzero_ps();
    const __m128i mask = _mm_set1_epi8(15);
    for (int64_t b = 0; b < k / 32; b++, r += 20, x += 32) {
        __m128i q = _mm_loadu_si128((const __m128i *)(r + 4));
        __m128i lo = _mm_and_si128(q, mask), hi = _mm_and_si128(_mm_srli_epi16(q, 4), mask);
        __m512 p = _mm512_fmadd_ps(u16(hi), ld(x + 16), _mm512_mul_ps(u16(lo), ld(x)));
        acc = _mm512_fmadd_ps(_mm512_set1_ps(f16s(r)), p, acc);
        acc = _mm512_fmadd_ps(_mm512_set1_ps(f16s(r + 2)), _mm512_add_ps(ld(x), ld(x + 16)), acc);
    }
    return _mm512_reduce_add_ps(acc);
}

/* one 32-value sub-block of unsigned codes (qa: values 0..15, qb: 16..31), scale d, min n */
AVX512_INLINE __m512 sub32(__m512 acc, __m128i qa, __m128i qb, const float *x, float d, float n) {
    __m512 p = _mm512_fmadd_ps(u16(qb), ld(x + 16), _mm512_mul_ps(u16(qa), ld(x)));
    acc = _mm512_fmadd_ps(_mm512_set1_ps(d), p, acc);
    return _mm512_fnmadd_ps(_mm512_set1_ps(n), _mm512_add_ps(ld(x), ld(x + 16)), acc);
}

AVX512_FN static float dot_q4_k(const uint8_t *r, const float *x, int64_t k) {
    __m512 acc = _mm512_setzero_ps();
    const __m256i mask = _mm256_set1_epi8(15);
    for (int64_t b = 0; b < k / 256; b++, r += 144, x += 256) {
        float d = f16s(r), dmin = f16s(r + 2);
        for (int j = 0; j < 4; j++) {
            uint8_t s0, m0, s1, m1;
            npg_ggml_scale_min_k4(2 * j, r + 4, &s0, &m0);
            npg_ggml_scale_min_k4(2 * j + 1, r + 4, &s1, &m1);
            __m256i q = _mm256_loadu_si256((const __m256i *)(r + 16 + 32 * j));
            __m256i lo = _mm256_and_si256(q, mask), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), mask);
            const float *xs = x + 64 * j;
            acc = sub32(acc, _mm256_castsi256_si128(lo), _mm256_extracti128_si256(lo, 1), xs, d * s0, dmin * m0);
            acc = sub32(acc, _mm256_castsi256_si128(hi), _mm256_extracti128_si256(hi, 1), xs + 32, d * s1, dmin * m1);
        }
    }
    return _mm512_reduce_add_ps(acc);
}

AVX512_FN static float dot_q5_k(const uint8_t *r, const float *x, int64_t k) {
    __m512 acc = _mm512_setzero_ps();
    const __m256i mask = _mm256_set1_epi8(15), sixteen = _mm256_set1_epi8(16);
    for (int64_t b = 0; b < k / 256; b++, r += 176, x += 256) {
        float d = f16s(r), dmin = f16s(r + 2);
        __m256i qh = _mm256_loadu_si256((const __m256i *)(r + 16));
        for (int j = 0; j < 4; j++) {
            uint8_t s0, m0, s1, m1;
            npg_ggml_scale_min_k4(2 * j, r + 4, &s0, &m0);
            npg_ggml_scale_min_k4(2 * j + 1, r + 4, &s1, &m1);
            __m256i q = _mm256_loadu_si256((const __m256i *)(r + 48 + 32 * j));
            __m256i u1 = _mm256_set1_epi8((char)(1 << (2 * j))), u2 = _mm256_set1_epi8((char)(2 << (2 * j)));
            __m256i h1 = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, u1), u1), sixteen);
            __m256i h2 = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, u2), u2), sixteen);
            __m256i lo = _mm256_or_si256(_mm256_and_si256(q, mask), h1);
            __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), mask), h2);
            const float *xs = x + 64 * j;
            acc = sub32(acc, _mm256_castsi256_si128(lo), _mm256_extracti128_si256(lo, 1), xs, d * s0, dmin * m0);
            acc = sub32(acc, _mm256_castsi256_si128(hi), _mm256_extracti128_si256(hi, 1), xs + 32, d * s1, dmin * m1);
        }
    }
    return _mm512_reduce_add_ps(acc);
}

AVX512_INLINE __m512 q6_part(__m512 acc, __m256i q, const float *x, float da, float db) {
    q = _mm256_sub_epi8(q, _mm256_set1_epi8(32));
    acc = _mm512_fmadd_ps(_mm512_set1_ps(da), _mm512_mul_ps(s16(_mm256_castsi256_si128(q)), ld(x)), acc);
    return _mm512_fmadd_ps(_mm512_set1_ps(db), _mm512_mul_ps(s16(_mm256_extracti128_si256(q, 1)), ld(x + 16)), acc);
}

AVX512_FN static float dot_q6_k(const uint8_t *r, const float *x, int64_t k) {
    __m512 acc = _mm512_setzero_ps();
    const __m256i mask = _mm256_set1_epi8(15), three = _mm256_set1_epi8(3);
    for (int64_t b = 0; b < k / 256; b++, r += 210, x += 256) {
        float d = f16s(r + 208);
        const int8_t *sc = (const int8_t *)(r + 192);
        for (int n = 0; n < 2; n++) {
            const uint8_t *ql = r + 64 * n, *qhp = r + 128 + 32 * n;
            const int8_t *s = sc + 8 * n;
            const float *xs = x + 128 * n;
            __m256i a = _mm256_loadu_si256((const __m256i *)ql), c = _mm256_loadu_si256((const __m256i *)(ql + 32));
            __m256i h = _mm256_loadu_si256((const __m256i *)qhp);
            __m256i q1 = _mm256_or_si256(_mm256_and_si256(a, mask), _mm256_slli_epi16(_mm256_and_si256(h, three), 4));
            __m256i q2 = _mm256_or_si256(_mm256_and_si256(c, mask),
                                         _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), three), 4));
            __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(a, 4), mask),
                                         _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), three), 4));
            __m256i q4 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(c, 4), mask),
                                         _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), three), 4));
            acc = q6_part(acc, q1, xs, d * s[0], d * s[1]);
            acc = q6_part(acc, q2, xs + 32, d * s[2], d * s[3]);
            acc = q6_part(acc, q3, xs + 64, d * s[4], d * s[5]);
            acc = q6_part(acc, q4, xs + 96, d * s[6], d * s[7]);
        }
    }
    return _mm512_reduce_add_ps(acc);
}

void npg_ggml_dots_avx512(npg_ggml_dot_fn out[NPG_GGML_NTYPES]) {
    out[NPG_W_GGML_Q8_0 - NPG_W_GGML_Q8_0] = dot_q8_0;
    out[NPG_W_GGML_Q4_0 - NPG_W_GGML_Q8_0] = dot_q4_0;
    out[NPG_W_GGML_Q4_1 - NPG_W_GGML_Q8_0] = dot_q4_1;
    out[NPG_W_GGML_Q4_K - NPG_W_GGML_Q8_0] = dot_q4_k;
    out[NPG_W_GGML_Q5_K - NPG_W_GGML_Q8_0] = dot_q5_k;
    out[NPG_W_GGML_Q6_K - NPG_W_GGML_Q8_0] = dot_q6_k;
}

/* npg_ggml_quantize_act with AVX-512: the same codes and scales bit for bit (the max is exact in any
 * order; lroundf's half away from zero = truncate, then step away from zero when |fraction| >= 0.5). */
AVX512_FN void npg_ggml_quantize_act_avx512(const float *x, int64_t k, int8_t *xq, float *xd) {
    const __m512 half = _mm512_set1_ps(0.5f), one = _mm512_set1_ps(1.0f);
    const __m512i sign = _mm512_set1_epi32((int)0x80000000u);
    for (int64_t b = 0; b < k / 32; b++) {
        __m512 v0 = _mm512_loadu_ps(x + 32 * b), v1 = _mm512_loadu_ps(x + 32 * b + 16);
        float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
        float d = amax / 127.0f, id = d > 0.0f ? 1.0f / d : 0.0f;
        xd[b] = d;
        for (int h = 0; h < 2; h++) {
            __m512 v = _mm512_mul_ps(h ? v1 : v0, _mm512_set1_ps(id));
            __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            __mmask16 up = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_sub_ps(v, t)), half, _CMP_GE_OQ);
            __m512 step = _mm512_castsi512_ps(
                _mm512_or_si512(_mm512_and_si512(_mm512_castps_si512(v), sign), _mm512_castps_si512(one)));
            __m512 r = _mm512_mask_add_ps(t, up, t, step);
            _mm_storeu_si128((__m128i *)(xq + 32 * b + 16 * h), _mm512_cvtsepi32_epi8(_mm512_cvttps_epi32(r)));
        }
    }
}
