/* gguf_quants_avx2.c — AVX2 + FMA + F16C dot kernels for the GGML block types (gguf_quants.h): each
 * block's codes are widened to 8-lane f32 vectors and multiplied with x, the block (or sub-block)
 * scale folded in once per block, the min once per sub-block through Σ x. */
#include <immintrin.h>
#include <string.h>

#include "kernels/avx2_inline.h"
#include "kernels/gguf_quants.h"

AVX2_INLINE float f16s(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

AVX2_INLINE float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* the low 8 bytes of v as f32, signed / unsigned */
AVX2_INLINE __m256 s8(__m128i v) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v)); }
AVX2_INLINE __m256 u8(__m128i v) { return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v)); }

/* Σ q·x over 16 signed / unsigned bytes of v against x[0..15] */
AVX2_INLINE __m256 dot16s(__m128i v, const float *x) {
    __m256 p = _mm256_mul_ps(s8(v), _mm256_loadu_ps(x));
    return _mm256_fmadd_ps(s8(_mm_srli_si128(v, 8)), _mm256_loadu_ps(x + 8), p);
}
AVX2_INLINE __m256 dot16u(__m128i v, const float *x) {
    __m256 p = _mm256_mul_ps(u8(v), _mm256_loadu_ps(x));
    return _mm256_fmadd_ps(u8(_mm_srli_si128(v, 8)), _mm256_loadu_ps(x + 8), p);
}
AVX2_INLINE __m256 sum16(const float *x) { return _mm256_add_ps(_mm256_loadu_ps(x), _mm256_loadu_ps(x + 8)); }

AVX2_FN static float dot_q8_0(const uint8_t *r, const float *x, int64_t k) {
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < k / 32; b++, r += 34, x += 32) {
        __m128i q0 = _mm_loadu_si128((const __m128i *)(r + 2)), q1 = _mm_loadu_si128((const __m128i *)(r + 18));
        __m256 p = _mm256_add_ps(dot16s(q0, x), dot16s(q1, x + 16));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(f16s(r)), p, acc);
    }
    return hsum8(acc);
}

AVX2_FN static float dot_q4_0(const uint8_t *r, const float *x, int64_t k) {
    __m256 acc = _mm256_setzero_ps();
    const __m128i mask = _mm_set1_epi8(15), eight = _mm_set1_epi8(8);
    for (int64_t b = 0; b < k / 32; b++, r += 18, x += 32) {
        __m128i q = _mm_loadu_si128((const __m128i *)(r + 2));
        __m128i lo = _mm_sub_epi8(_mm_and_si128(q, mask), eight);
        __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(q, 4), mask), eight);
        __m256 p = _mm256_add_ps(dot16s(lo, x), dot16s(hi, x + 16));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(f16s(r)), p, acc);
    }
    return hsum8(acc);
}

AVX2_FN static float dot_q4_1(const uint8_t *r, const float *x, int64_t k) {
    __m256 acc = _mm256_setzero_ps();
    const __m128i mask = _mm_set1_epi8(15);
    for (int64_t b = 0; b < k / 32; b++, r += 20, x += 32) {
        __m128i q = _mm_loadu_si128((const __m128i *)(r + 4));
        __m128i lo = _mm_and_si128(q, mask), hi = _mm_and_si128(_mm_srli_epi16(q, 4), mask);
        __m256 p = _mm256_add_ps(dot16u(lo, x), dot16u(hi, x + 16));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(f16s(r)), p, acc);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(f16s(r + 2)), _mm256_add_ps(sum16(x), sum16(x + 16)), acc);
    }
    return hsum8(acc);
}

/* Σ over one 32-value sub-block of unsigned codes (two 16-byte halves) with scale d and min n */
AVX2_INLINE __m256 sub32(__m256 acc, __m128i qa, __m128i qb, const float *x, float d, float n) {
    __m256 p = _mm256_add_ps(dot16u(qa, x), dot16u(qb, x + 16));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), p, acc);
    return _mm256_fnmadd_ps(_mm256_set1_ps(n), _mm256_add_ps(sum16(x), sum16(x + 16)), acc);
}

AVX2_FN static float dot_q4_k(const uint8_t *r, const float *x, int64_t k) {
    __m256 acc = _mm256_setzero_ps();
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
    return hsum8(acc);
}

AVX2_FN static float dot_q5_k(const uint8_t *r, const float *x, int64_t k) {
    __m256 acc = _mm256_setzero_ps();
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
    return hsum8(acc);
}

/* 32 signed 6-bit codes (minus 32) against x[0..31]: two sub-blocks of 16, scales da and db */
AVX2_INLINE __m256 q6_part(__m256 acc, __m256i q, const float *x, float da, float db) {
    q = _mm256_sub_epi8(q, _mm256_set1_epi8(32));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(da), dot16s(_mm256_castsi256_si128(q), x), acc);
    return _mm256_fmadd_ps(_mm256_set1_ps(db), dot16s(_mm256_extracti128_si256(q, 1), x + 16), acc);
}

AVX2_FN static float dot_q6_k(const uint8_t *r, const float *x, int64_t k) {
    __m256 acc = _mm256_setzero_ps();
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
    return hsum8(acc);
}

void npg_ggml_dots_avx2(npg_ggml_dot_fn out[NPG_GGML_NTYPES]) {
    out[NPG_W_GGML_Q8_0 - NPG_W_GGML_Q8_0] = dot_q8_0;
    out[NPG_W_GGML_Q4_0 - NPG_W_GGML_Q8_0] = dot_q4_0;
    out[NPG_W_GGML_Q4_1 - NPG_W_GGML_Q8_0] = dot_q4_1;
    out[NPG_W_GGML_Q4_K - NPG_W_GGML_Q8_0] = dot_q4_k;
    out[NPG_W_GGML_Q5_K - NPG_W_GGML_Q8_0] = dot_q5_k;
    out[NPG_W_GGML_Q6_K - NPG_W_GGML_Q8_0] = dot_q6_k;
}

/* ---- int8 activations (gguf_quants.h): signed byte products through the sign trick (maddubs takes
 * an unsigned and a signed operand: |w| · (x with w's sign)), as llama.cpp's AVX2 path ---- */

AVX2_INLINE __m256 block_dot_i8(__m256i w, __m256i x) {
    __m256i ax = _mm256_sign_epi8(w, w), sx = _mm256_sign_epi8(x, w);
    __m256i p16 = _mm256_maddubs_epi16(ax, sx);
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
}

/* one block's scaled integer dot (w: 32 signed codes) */
AVX2_INLINE __m256 q8_block(const uint8_t *r, const int8_t *xq, float xd) {
    __m256i w = _mm256_loadu_si256((const __m256i *)(r + 2));
    __m256i x = _mm256_loadu_si256((const __m256i *)xq);
    return _mm256_mul_ps(_mm256_set1_ps(f16s(r) * xd), block_dot_i8(w, x));
}

AVX2_INLINE __m256 q4_block(const uint8_t *r, const int8_t *xq, float xd) {
    const __m256i mask = _mm256_set1_epi8(15), eight = _mm256_set1_epi8(8);
    __m128i q = _mm_loadu_si128((const __m128i *)(r + 2));
    __m256i w = _mm256_sub_epi8(_mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), mask), eight);
    __m256i x = _mm256_loadu_si256((const __m256i *)xq);
    return _mm256_mul_ps(_mm256_set1_ps(f16s(r) * xd), block_dot_i8(w, x));
}

/* two blocks per step into two accumulators: the adds of one block no longer wait for the previous */
AVX2_FN static float qdot_q8_0(const uint8_t *r, const int8_t *xq, const float *xd, int64_t k) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int64_t nb = k / 32, b = 0;
    for (; b + 1 < nb; b += 2) {
        _mm_prefetch((const char *)(r + 34 * b + 512), _MM_HINT_T0);
        a0 = _mm256_add_ps(a0, q8_block(r + 34 * b, xq + 32 * b, xd[b]));
        a1 = _mm256_add_ps(a1, q8_block(r + 34 * (b + 1), xq + 32 * (b + 1), xd[b + 1]));
    }
    if (b < nb)
        a0 = _mm256_add_ps(a0, q8_block(r + 34 * b, xq + 32 * b, xd[b]));
    return hsum8(_mm256_add_ps(a0, a1));
}

AVX2_FN static float qdot_q4_0(const uint8_t *r, const int8_t *xq, const float *xd, int64_t k) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int64_t nb = k / 32, b = 0;
    for (; b + 1 < nb; b += 2) {
        _mm_prefetch((const char *)(r + 18 * b + 512), _MM_HINT_T0);
        a0 = _mm256_add_ps(a0, q4_block(r + 18 * b, xq + 32 * b, xd[b]));
        a1 = _mm256_add_ps(a1, q4_block(r + 18 * (b + 1), xq + 32 * (b + 1), xd[b + 1]));
    }
    if (b < nb)
        a0 = _mm256_add_ps(a0, q4_block(r + 18 * b, xq + 32 * b, xd[b]));
    return hsum8(_mm256_add_ps(a0, a1));
}

npg_ggml_qdot_fn npg_ggml_qdot_avx2(npg_wtype t) {
    return t == NPG_W_GGML_Q8_0 ? qdot_q8_0 : t == NPG_W_GGML_Q4_0 ? qdot_q4_0 : NULL;
}
