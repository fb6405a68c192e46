/* gguf_qdot_vnni.c — decode (few activation rows) dot kernel of Q4_0 weights against int8
 * activations with AVX-512 VNNI (gguf_quants.h, npg_ggml_vnni_*).
 *
 * One vpdpbusd multiplies 64 unsigned weight codes with 64 signed activations: two Q4_0 blocks per
 * instruction. The weights' codes stay unsigned (0..15, value = d·(q − 8)); the −8·Σx of each lane is
 * the accumulator's start value, precomputed once per activation row (nsum4). So per two blocks the
 * work is: unpack the nibbles (and, shift, insert), one vpdpbusd, one int→float conversion, one fma
 * with the per-lane scale d_w·d_x. The activations are stored permuted within each pair of blocks —
 * [x0[0..15], x1[0..15], x0[16..31], x1[16..31]] — which is the order the unpacked nibbles of the two
 * blocks come out in ([low nibbles of both | high nibbles of both]), so no shuffle runs per block. */
#include <immintrin.h>
#include <string.h>

#include "kernels/avx512_inline.h"
#include "kernels/gguf_quants.h"

#define VNNI_TARGET AVX512_TARGET ",avx512vnni"
#define VNNI_FN __attribute__((target(VNNI_TARGET)))

size_t npg_ggml_vnni_row_bytes(int64_t k) {
    /* codes k bytes, nsum4 k/4 int32 (= k bytes), xd k/32 floats; 64-byte multiple when k % 64 == 0 */
    return (size_t)k * 2 + (size_t)(k / 32) * sizeof(float);
}

void npg_ggml_vnni_layout(const int8_t *xq, const float *xd, int64_t k, uint8_t *out) {
    int8_t *codes = (int8_t *)out;
    int32_t *nsum4 = (int32_t *)(out + k);
    float *d = (float *)(out + 2 * k);
    for (int64_t p = 0; p < k / 64; p++) {
        const int8_t *x0 = xq + 64 * p, *x1 = x0 + 32;
        int8_t *c = codes + 64 * p;
        memcpy(c, x0, 16);
        memcpy(c + 16, x1, 16);
        memcpy(c + 32, x0 + 16, 16);
        memcpy(c + 48, x1 + 16, 16);
        for (int l = 0; l < 16; l++)
            nsum4[16 * p + l] = -(c[4 * l] + c[4 * l + 1] + c[4 * l + 2] + c[4 * l + 3]);
    }
    memcpy(d, xd, (size_t)(k / 32) * sizeof(float));
}

/* 8 blocks' f16 scales (stride 18 bytes) → f32 */
VNNI_FN static inline __m256 scales8(const uint8_t *r) {
    uint16_t v[8];
    for (int i = 0; i < 8; i++)
        memcpy(&v[i], r + 18 * i, 2);
    __m128i h = _mm_set_epi16((short)v[7], (short)v[6], (short)v[5], (short)v[4], (short)v[3], (short)v[2], (short)v[1],
                      (short)v[0]);
    return _mm256_cvtph_ps(h);
}

/* the 64 codes of blocks at r and r + 18, in the permuted activation order */
VNNI_FN static inline __m512i codes_pair(const uint8_t *r) {
    const __m256i mask = _mm256_set1_epi8(15);
    __m256i t = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(r + 2))),
                                        _mm_loadu_si128((const __m128i *)(r + 20)), 1);
    __m256i lo = _mm256_and_si256(t, mask), hi = _mm256_and_si256(_mm256_srli_epi16(t, 4), mask);
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

/* the int32 lane sums of one pair: lanes 0-3 and 8-11 are the first block's, 4-7 and 12-15 the second's */
VNNI_FN static inline __m512i pair_dot(const uint8_t *r, const int8_t *c, const int32_t *ns) {
    __m512i acc = _mm512_slli_epi32(_mm512_loadu_si512(ns), 3);
    return _mm512_dpbusd_epi32(acc, codes_pair(r), _mm512_loadu_si512(c));
}

VNNI_FN static float qdot_q4_0_vnni(const uint8_t *r, const int8_t *xq, const float *xd, int64_t k) {
    (void)xd; /* the scales live in the layout (after the codes and sums) */
    const int32_t *ns = (const int32_t *)(xq + k);
    const float *d = (const float *)(xq + 2 * k);
    /* lane → block of the 8-block group for each of the group's 4 pairs */
    const __m512i i0 = _mm512_set_epi32(1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0);
    const __m512i two = _mm512_set1_epi32(2);
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    int64_t nb = k / 32, b = 0;
    for (; b + 8 <= nb; b += 8, r += 144) {
        _mm_prefetch((const char *)(r + 576), _MM_HINT_T0);
        _mm_prefetch((const char *)(r + 640), _MM_HINT_T0);
        __m512 s = _mm512_castps256_ps512(_mm256_mul_ps(scales8(r), _mm256_loadu_ps(d + b)));
        __m512i i1 = _mm512_add_epi32(i0, two), i2 = _mm512_add_epi32(i1, two), i3 = _mm512_add_epi32(i2, two);
        const int8_t *c = xq + 32 * b;
        const int32_t *n = ns + 8 * b; /* 16 lanes per pair of blocks */
        a0 = _mm512_fmadd_ps(_mm512_permutexvar_ps(i0, s), _mm512_cvtepi32_ps(pair_dot(r, c, n)), a0);
        a1 = _mm512_fmadd_ps(_mm512_permutexvar_ps(i1, s), _mm512_cvtepi32_ps(pair_dot(r + 36, c + 64, n + 16)), a1);
        a0 = _mm512_fmadd_ps(_mm512_permutexvar_ps(i2, s), _mm512_cvtepi32_ps(pair_dot(r + 72, c + 128, n + 32)), a0);
        a1 = _mm512_fmadd_ps(_mm512_permutexvar_ps(i3, s), _mm512_cvtepi32_ps(pair_dot(r + 108, c + 192, n + 48)), a1);
    }
    for (; b + 2 <= nb; b += 2, r += 36) {
        uint16_t h0, h1;
        memcpy(&h0, r, 2);
        memcpy(&h1, r + 18, 2);
        float s0 = _cvtsh_ss(h0) * d[b], s1 = _cvtsh_ss(h1) * d[b + 1];
        __m512 s = _mm512_set_ps(s1, s1, s1, s1, s0, s0, s0, s0, s1, s1, s1, s1, s0, s0, s0, s0);
        a0 = _mm512_fmadd_ps(s, _mm512_cvtepi32_ps(pair_dot(r, xq + 32 * b, ns + 8 * b)), a0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}

npg_ggml_qdot_fn npg_ggml_qdot_vnni(npg_wtype t) { return t == NPG_W_GGML_Q4_0 ? qdot_q4_0_vnni : NULL; }
