/* gguf_qdot_vnni.c — decode (few activation rows) dot kernels of Q4_0 and Q6_K weights against int8
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


size_t npg_ggml_vnni_row_bytes(int64_t k) {
    /* codes k bytes, nsum4 k/4 int32 (= k bytes), xd k/32 floats, xs k/32 floats */
    return (size_t)k * 2 + 2 * (size_t)(k / 32) * sizeof(float);
}

/* The 8-block Q4_0 kernel compacts the codes of 4 blocks (at stride 18 bytes) into one register with a
 * byte permute (vpermt2b, AVX-512 VBMI), and takes its scales the same way. */
static bool has_vbmi(void) { return __builtin_cpu_supports("avx512vbmi"); }

static bool quad_ok(npg_wtype t, int64_t k) { return t == NPG_W_GGML_Q4_0 && k % 256 == 0 && has_vbmi(); }

npg_ggml_vnni_order npg_ggml_vnni_order_for(npg_wtype t, int64_t k) {
    return quad_ok(t, k)                                    ? NPG_VNNI_QUAD
           : t == NPG_W_GGML_Q4_0 || t == NPG_W_GGML_Q4_1 ? NPG_VNNI_PAIR
                                                           : NPG_VNNI_NATURAL;
}

void npg_ggml_vnni_layout(const int8_t *xq, const float *xd, int64_t k, npg_ggml_vnni_order order, uint8_t *out) {
    int8_t *codes = (int8_t *)out;
    int32_t *nsum4 = (int32_t *)(out + k);
    float *d = (float *)(out + 2 * k);
    for (int64_t p = 0; p < k / 64; p++) {
        const int8_t *x0 = xq + 64 * p, *x1 = x0 + 32;
        int8_t *c = codes + 64 * p;
        if (order == NPG_VNNI_PAIR) {
            memcpy(c, x0, 16);
            memcpy(c + 16, x1, 16);
            memcpy(c + 32, x0 + 16, 16);
            memcpy(c + 48, x1 + 16, 16);
        } else if (order == NPG_VNNI_QUAD) { /* 64 codes p of a 128-input quad: half p % 2 of 4 blocks */
            const int8_t *q = xq + 128 * (p / 2) + 16 * (p % 2);
            for (int b = 0; b < 4; b++)
                memcpy(c + 16 * b, q + 32 * b, 16);
        } else {
            memcpy(c, x0, 64);
        }
        for (int l = 0; l < 16; l++)
            nsum4[16 * p + l] = -(c[4 * l] + c[4 * l + 1] + c[4 * l + 2] + c[4 * l + 3]);
    }
    memcpy(d, xd, (size_t)(k / 32) * sizeof(float));
    /* xs = dx·Σx per 32-input block (the sum exact): the min term of Q4_1 / Q4_K / Q5_K costs one
     * product per block instead of one per lane */
    for (int64_t b = 0; b < k / 32; b++) {
        int32_t sx = 0;
        for (int j = 0; j < 32; j++)
            sx += xq[32 * b + j];
        d[k / 32 + b] = xd[b] * (float)sx;
    }
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

/* Q4_0, 8 blocks (144 bytes) per step: two byte permutes gather the 16 code bytes of blocks 0-3 and 4-7,
 * a third their 8 f16 scales; the activations are in quad order (npg_ggml_vnni_layout), so the low
 * nibbles of 4 blocks meet inputs 0..15 of those blocks and the high nibbles inputs 16..31. */
__attribute__((target(VNNI_TARGET ",avx512vbmi"))) static float qdot_q4_0_quad(const uint8_t *r, const int8_t *xq,
                                                                             const float *xd, int64_t k) {
    (void)xd;
    const int32_t *ns = (const int32_t *)(xq + k);
    const float *d = (const float *)(xq + 2 * k);
    uint8_t ci[64], si[64];
    for (int j = 0; j < 64; j++) {
        ci[j] = (uint8_t)(18 * (j / 16) + 2 + j % 16); /* block j/16, code byte j%16 */
        si[j] = (uint8_t)(j < 16 ? 18 * (j / 2) + j % 2 : 0);
    }
    const __m512i cidx = _mm512_loadu_si512(ci), sidx = _mm512_loadu_si512(si), m4 = _mm512_set1_epi8(15);
    const __m512i q0 = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
    const __m512i q1 = _mm512_add_epi32(q0, _mm512_set1_epi32(4));
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    for (int64_t b = 0; b < k / 32; b += 8, r += 144) {
        _mm_prefetch((const char *)(r + 576), _MM_HINT_T0);
        _mm_prefetch((const char *)(r + 640), _MM_HINT_T0);
        _mm_prefetch((const char *)(r + 704), _MM_HINT_T0);
        __m512i va = _mm512_loadu_si512(r), vb = _mm512_loadu_si512(r + 64);
        __m512i vc = _mm512_loadu_si512(r + 72);
        __m512i vd = _mm512_castsi128_si512(_mm_loadl_epi64((const __m128i *)(r + 136))); /* bytes 136..143 */
        __m256 s8 = _mm256_mul_ps(_mm256_cvtph_ps(_mm512_castsi512_si128(_mm512_permutex2var_epi8(va, sidx, vb))),
                                  _mm256_loadu_ps(d + b));
        __m512 s = _mm512_castps256_ps512(s8);
        __m512i c0 = _mm512_permutex2var_epi8(va, cidx, vb), c1 = _mm512_permutex2var_epi8(vc, cidx, vd);
        const int8_t *x = xq + 32 * b;
        const int32_t *n = ns + 8 * b;
        __m512i l0 = _mm512_and_si512(c0, m4), h0 = _mm512_and_si512(_mm512_srli_epi16(c0, 4), m4);
        __m512i l1 = _mm512_and_si512(c1, m4), h1 = _mm512_and_si512(_mm512_srli_epi16(c1, 4), m4);
        __m512i i0 = _mm512_dpbusd_epi32(_mm512_slli_epi32(_mm512_loadu_si512(n), 3), l0, _mm512_loadu_si512(x));
        __m512i i1 = _mm512_dpbusd_epi32(_mm512_slli_epi32(_mm512_loadu_si512(n + 16), 3), h0, _mm512_loadu_si512(x + 64));
        __m512i i2 = _mm512_dpbusd_epi32(_mm512_slli_epi32(_mm512_loadu_si512(n + 32), 3), l1, _mm512_loadu_si512(x + 128));
        __m512i i3 = _mm512_dpbusd_epi32(_mm512_slli_epi32(_mm512_loadu_si512(n + 48), 3), h1, _mm512_loadu_si512(x + 192));
        __m512 sa = _mm512_permutexvar_ps(q0, s), sb = _mm512_permutexvar_ps(q1, s);
        a0 = _mm512_fmadd_ps(sa, _mm512_cvtepi32_ps(i0), a0);
        a1 = _mm512_fmadd_ps(sa, _mm512_cvtepi32_ps(i1), a1);
        a2 = _mm512_fmadd_ps(sb, _mm512_cvtepi32_ps(i2), a2);
        a3 = _mm512_fmadd_ps(sb, _mm512_cvtepi32_ps(i3), a3);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

/* Q6_K: per half-block (128 inputs) the 6-bit codes q = low nibble | 2 high bits come out as four runs of
 * 32 consecutive inputs, so two runs make one 64-input vpdpbusd in the natural activation order; each
 * lane (4 inputs) lies in one 16-input sub-block (scale d·sc) and one 32-input activation block (dx),
 * and the −32 offset is the accumulator's start, −32·Σx of the lane. */
VNNI_FN static float qdot_q6_k_vnni(const uint8_t *r, const int8_t *xq, const float *xd, int64_t k) {
    (void)xd;
    const int32_t *ns = (const int32_t *)(xq + k);
    const float *dxa = (const float *)(xq + 2 * k);
    const __m256i m4 = _mm256_set1_epi8(15), m2 = _mm256_set1_epi8(3);
    const __m512i s0 = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
    const __m512i d0 = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512i four = _mm512_set1_epi32(4), two = _mm512_set1_epi32(2);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    for (int64_t sb = 0; sb < k / 256; sb++, r += 210) {
        _mm_prefetch((const char *)(r + 420), _MM_HINT_T0);
        _mm_prefetch((const char *)(r + 484), _MM_HINT_T0);
        _mm_prefetch((const char *)(r + 548), _MM_HINT_T0);
        _mm_prefetch((const char *)(r + 612), _MM_HINT_T0);
        uint16_t hd;
        memcpy(&hd, r + 208, 2);
        __m512 scf = _mm512_mul_ps(_mm512_set1_ps(_cvtsh_ss(hd)),
                                   _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(r + 192)))));
        __m512 dx8 = _mm512_castps256_ps512(_mm256_loadu_ps(dxa + 8 * sb));
        const int8_t *x = xq + 256 * sb;
        const int32_t *n4 = ns + 64 * sb; /* 16 lanes per 64 inputs */
        __m512i si = s0, di = d0;
        for (int n = 0; n < 2; n++) {
            const uint8_t *ql = r + 64 * n, *qh = r + 128 + 32 * n;
            __m256i a = _mm256_loadu_si256((const __m256i *)ql), c = _mm256_loadu_si256((const __m256i *)(ql + 32));
            __m256i h = _mm256_loadu_si256((const __m256i *)qh);
            __m256i q1 = _mm256_or_si256(_mm256_and_si256(a, m4), _mm256_slli_epi16(_mm256_and_si256(h, m2), 4));
            __m256i q2 = _mm256_or_si256(_mm256_and_si256(c, m4),
                                         _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), m2), 4));
            __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(a, 4), m4),
                                         _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), m2), 4));
            __m256i q4 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(c, 4), m4),
                                         _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), m2), 4));
            __m512i ca = _mm512_inserti64x4(_mm512_castsi256_si512(q1), q2, 1);
            __m512i cb = _mm512_inserti64x4(_mm512_castsi256_si512(q3), q4, 1);
            __m512i ia = _mm512_dpbusd_epi32(_mm512_slli_epi32(_mm512_loadu_si512(n4 + 32 * n), 5), ca,
                                             _mm512_loadu_si512(x + 128 * n));
            __m512i ib = _mm512_dpbusd_epi32(_mm512_slli_epi32(_mm512_loadu_si512(n4 + 32 * n + 16), 5), cb,
                                             _mm512_loadu_si512(x + 128 * n + 64));
            __m512 sa = _mm512_mul_ps(_mm512_permutexvar_ps(si, scf), _mm512_permutexvar_ps(di, dx8));
            si = _mm512_add_epi32(si, four), di = _mm512_add_epi32(di, two);
            __m512 sbv = _mm512_mul_ps(_mm512_permutexvar_ps(si, scf), _mm512_permutexvar_ps(di, dx8));
            si = _mm512_add_epi32(si, four), di = _mm512_add_epi32(di, two);
            acc0 = _mm512_fmadd_ps(sa, _mm512_cvtepi32_ps(ia), acc0);
            acc1 = _mm512_fmadd_ps(sbv, _mm512_cvtepi32_ps(ib), acc1);
        }
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

/* 8 f16 values at stride bytes → f32 */
VNNI_FN static inline __m256 f16x8(const uint8_t *r, size_t stride) {
    uint16_t v[8];
    for (int i = 0; i < 8; i++)
        memcpy(&v[i], r + stride * i, 2);
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)v));
}

/* Q8_0: two blocks' 64 signed codes per vpdpbusd, made unsigned by flipping the sign bit (w + 128);
 * the accumulator starts at −128·Σx of the lane (nsum4 · 128), so the lane sums are Σ w·x exactly.
 * Natural activation order: lanes 0-7 are the first block's, 8-15 the second's. */
VNNI_FN static float qdot_q8_0_vnni(const uint8_t *r, const int8_t *xq, const float *xd, int64_t k) {
    (void)xd;
    const int32_t *ns = (const int32_t *)(xq + k);
    const float *d = (const float *)(xq + 2 * k);
    const __m512i flip = _mm512_set1_epi8((char)0x80), two = _mm512_set1_epi32(2);
    const __m512i i0 = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    int64_t nb = k / 32, b = 0;
    for (; b + 8 <= nb; b += 8, r += 272) {
        _mm_prefetch((const char *)(r + 544), _MM_HINT_T0);
        _mm_prefetch((const char *)(r + 608), _MM_HINT_T0);
        _mm_prefetch((const char *)(r + 672), _MM_HINT_T0);
        _mm_prefetch((const char *)(r + 736), _MM_HINT_T0);
        _mm_prefetch((const char *)(r + 800), _MM_HINT_T0);
        __m512 s = _mm512_castps256_ps512(_mm256_mul_ps(f16x8(r, 34), _mm256_loadu_ps(d + b)));
        __m512i idx = i0;
        for (int p = 0; p < 4; p++, idx = _mm512_add_epi32(idx, two)) {
            const uint8_t *q = r + 68 * p;
            __m512i c = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(q + 2))),
                                           _mm256_loadu_si256((const __m256i *)(q + 36)), 1);
            __m512i acc = _mm512_slli_epi32(_mm512_loadu_si512(ns + 8 * b + 16 * p), 7);
            __m512i dot = _mm512_dpbusd_epi32(acc, _mm512_xor_si512(c, flip), _mm512_loadu_si512(xq + 32 * b + 64 * p));
            if (p % 2)
                a1 = _mm512_fmadd_ps(_mm512_permutexvar_ps(idx, s), _mm512_cvtepi32_ps(dot), a1);
            else
                a0 = _mm512_fmadd_ps(_mm512_permutexvar_ps(idx, s), _mm512_cvtepi32_ps(dot), a0);
        }
    }
    for (; b + 2 <= nb; b += 2, r += 68) {
        uint16_t h0, h1;
        memcpy(&h0, r, 2);
        memcpy(&h1, r + 34, 2);
        __m512 s =
            _mm512_insertf32x8(_mm512_set1_ps(_cvtsh_ss(h0) * d[b]), _mm256_set1_ps(_cvtsh_ss(h1) * d[b + 1]), 1);
        __m512i c = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(r + 2))),
                                       _mm256_loadu_si256((const __m256i *)(r + 36)), 1);
        __m512i acc = _mm512_slli_epi32(_mm512_loadu_si512(ns + 8 * b), 7);
        __m512i dot = _mm512_dpbusd_epi32(acc, _mm512_xor_si512(c, flip), _mm512_loadu_si512(xq + 32 * b));
        a0 = _mm512_fmadd_ps(s, _mm512_cvtepi32_ps(dot), a0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}

/* Q4_1 (value d·q + m, q unsigned): the Q4_0 pair kernel without the −8 offset (the accumulator
 * starts at 0), and the min term m·dx·Σx from the layout's per-block xs = dx·Σx, 8 blocks a step. */
VNNI_FN static float qdot_q4_1_vnni(const uint8_t *r, const int8_t *xq, const float *xd, int64_t k) {
    (void)xd;
    const float *d = (const float *)(xq + 2 * k), *xs = d + k / 32;
    const __m256i m4 = _mm256_set1_epi8(15);
    const __m512i i0 = _mm512_set_epi32(1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0), two = _mm512_set1_epi32(2);
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    __m256 mn = _mm256_setzero_ps();
    int64_t nb = k / 32, b = 0;
    while (b < nb) { /* nb is even (k % 64 == 0) */
        int np = b + 8 <= nb ? 4 : 1; /* pairs this step: 4, or 1 in the tail */
        _mm_prefetch((const char *)(r + 640), _MM_HINT_T0);
        _mm_prefetch((const char *)(r + 704), _MM_HINT_T0);
        _mm_prefetch((const char *)(r + 768), _MM_HINT_T0);
        __m512 s;
        if (np == 4) {
            s = _mm512_castps256_ps512(_mm256_mul_ps(f16x8(r, 20), _mm256_loadu_ps(d + b)));
            mn = _mm256_fmadd_ps(f16x8(r + 2, 20), _mm256_loadu_ps(xs + b), mn);
        } else {
            uint16_t h[4];
            memcpy(&h[0], r, 2), memcpy(&h[1], r + 20, 2), memcpy(&h[2], r + 2, 2), memcpy(&h[3], r + 22, 2);
            s = _mm512_castps128_ps512(_mm_setr_ps(_cvtsh_ss(h[0]) * d[b], _cvtsh_ss(h[1]) * d[b + 1], 0.0f, 0.0f));
            mn = _mm256_add_ps(mn, _mm256_setr_ps(_cvtsh_ss(h[2]) * xs[b], _cvtsh_ss(h[3]) * xs[b + 1], 0.0f, 0.0f,
                                                  0.0f, 0.0f, 0.0f, 0.0f));
        }
        __m512i idx = i0;
        for (int p = 0; p < np; p++, idx = _mm512_add_epi32(idx, two)) {
            const uint8_t *q = r + 40 * p;
            __m256i t = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(q + 4))),
                                                _mm_loadu_si128((const __m128i *)(q + 24)), 1);
            __m256i lo = _mm256_and_si256(t, m4), hi = _mm256_and_si256(_mm256_srli_epi16(t, 4), m4);
            __m512i c = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
            __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), c, _mm512_loadu_si512(xq + 32 * b + 64 * p));
            if (p % 2)
                a1 = _mm512_fmadd_ps(_mm512_permutexvar_ps(idx, s), _mm512_cvtepi32_ps(dot), a1);
            else
                a0 = _mm512_fmadd_ps(_mm512_permutexvar_ps(idx, s), _mm512_cvtepi32_ps(dot), a0);
        }
        b += 2 * np, r += 40 * np;
    }
    __m128 m2 = _mm_add_ps(_mm256_castps256_ps128(mn), _mm256_extractf128_ps(mn, 1));
    m2 = _mm_add_ps(m2, _mm_movehl_ps(m2, m2));
    return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1)) + _mm_cvtss_f32(_mm_add_ss(m2, _mm_movehdup_ps(m2)));
}

/* Q4_K / Q5_K: the 32 code bytes of 64 inputs hold inputs 0..31 in their low nibbles and 32..63 in
 * their high ones, i.e. the natural order: the bytes go to both halves of a register, shifted by 0 | 4
 * and masked, for one vpdpbusd (Q5_K ORs in the fifth bit from qh, bit 2j | 2j + 1). Per super-block
 * one vector holds the 8 sub-blocks' scales d·sc·dx (lanes 0-7) and mins dmin·m·dx·Σx (lanes 8-15,
 * from the layout's xs): the mins are summed once at the end, the scales spread to the dot lanes by a
 * permute. */
VNNI_INLINE float qdot_k4(const uint8_t *r, const int8_t *xq, int64_t k, bool q5) {
    const float *dx = (const float *)(xq + 2 * k), *xs = dx + k / 32;
    const size_t bb = q5 ? 176 : 144;
    const __m512i m4 = _mm512_set1_epi8(15), one = _mm512_set1_epi8(1), two = _mm512_set1_epi32(2);
    const __m512i nib = _mm512_set_epi64(4, 4, 4, 4, 0, 0, 0, 0), hb0 = _mm512_set_epi64(1, 1, 1, 1, 0, 0, 0, 0);
    const __m512i half = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), mins = _mm512_setzero_ps();
    for (int64_t sb = 0; sb < k / 256; sb++, r += bb) {
        _mm_prefetch((const char *)(r + 2 * bb), _MM_HINT_T0);
        _mm_prefetch((const char *)(r + 2 * bb + 64), _MM_HINT_T0);
        _mm_prefetch((const char *)(r + 2 * bb + 128), _MM_HINT_T0);
        _mm_prefetch((const char *)(r + 3 * bb - 1), _MM_HINT_T0);
        /* the 12 scale bytes → 8 6-bit scales and 8 6-bit mins (npg_ggml_scale_min_k4, 4 at a time) */
        uint32_t u[3], dd;
        memcpy(u, r + 4, 12);
        memcpy(&dd, r, 4);
        uint32_t sc_lo = u[0] & 0x3f3f3f3fu, m_lo = u[1] & 0x3f3f3f3fu;
        uint32_t sc_hi = (u[2] & 0x0f0f0f0fu) | (((u[0] >> 6) & 0x03030303u) << 4);
        uint32_t m_hi = ((u[2] >> 4) & 0x0f0f0f0fu) | (((u[1] >> 6) & 0x03030303u) << 4);
        __m128i scb = _mm_set_epi32((int)m_hi, (int)m_lo, (int)sc_hi, (int)sc_lo);
        __m512 scm = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(scb));
        __m512 ddv = _mm512_permutexvar_ps(half, _mm512_castps128_ps512(_mm_cvtph_ps(_mm_cvtsi32_si128((int)dd))));
        __m512 dxs =
            _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(dx + 8 * sb)), _mm256_loadu_ps(xs + 8 * sb), 1);
        __m512 pre = _mm512_mul_ps(_mm512_mul_ps(scm, ddv), dxs);
        mins = _mm512_mask_add_ps(mins, 0xFF00, mins, pre);
        const uint8_t *qs = r + (q5 ? 48 : 16);
        __m512i qh =
            q5 ? _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(r + 16))) : _mm512_setzero_si512();
        const int8_t *x = xq + 256 * sb;
        __m512i idx = half, hsh = hb0;
        for (int j = 0; j < 4; j++, idx = _mm512_add_epi32(idx, two)) {
            __m512i q = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(qs + 32 * j)));
            __m512i c = _mm512_and_si512(_mm512_srlv_epi64(q, nib), m4);
            if (q5) {
                __m512i h = _mm512_and_si512(_mm512_srlv_epi64(qh, hsh), one);
                c = _mm512_or_si512(c, _mm512_slli_epi64(h, 4));
                hsh = _mm512_add_epi64(hsh, _mm512_set1_epi64(2));
            }
            __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), c, _mm512_loadu_si512(x + 64 * j));
            if (j % 2)
                a1 = _mm512_fmadd_ps(_mm512_permutexvar_ps(idx, pre), _mm512_cvtepi32_ps(dot), a1);
            else
                a0 = _mm512_fmadd_ps(_mm512_permutexvar_ps(idx, pre), _mm512_cvtepi32_ps(dot), a0);
        }
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1)) - _mm512_reduce_add_ps(mins);
}

VNNI_FN static float qdot_q4_k_vnni(const uint8_t *r, const int8_t *xq, const float *xd, int64_t k) {
    (void)xd;
    return qdot_k4(r, xq, k, false);
}

VNNI_FN static float qdot_q5_k_vnni(const uint8_t *r, const int8_t *xq, const float *xd, int64_t k) {
    (void)xd;
    return qdot_k4(r, xq, k, true);
}

npg_ggml_qdot_fn npg_ggml_qdot_vnni(npg_wtype t, int64_t k) {
    if (quad_ok(t, k))
        return qdot_q4_0_quad;
    switch (t) {
    case NPG_W_GGML_Q8_0: return qdot_q8_0_vnni;
    case NPG_W_GGML_Q4_0: return qdot_q4_0_vnni;
    case NPG_W_GGML_Q4_1: return qdot_q4_1_vnni;
    case NPG_W_GGML_Q4_K: return qdot_q4_k_vnni;
    case NPG_W_GGML_Q5_K: return qdot_q5_k_vnni;
    case NPG_W_GGML_Q6_K: return qdot_q6_k_vnni;
    default: return NULL;
    }
}
