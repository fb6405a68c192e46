/* gguf_gemm_vnni.c — the AVX-512 VNNI pieces of the GGUF prefill GEMM (gguf_gemm.c): activation rows
 * quantized to int8 per 32 values, weight panels of 32 rows unpacked to unsigned codes, and the tile
 * kernel (4 activation rows × 32 weight rows).
 *
 * Every supported type is, per 32 consecutive inputs of a weight row, value = dw·u + mn with u an
 * unsigned code (Q4_0: u = q, mn = −8·dw; Q8_0: u = q + 128, mn = −128·dw; Q4_1: mn = m; Q4_K / Q5_K:
 * dw = d·sc, mn = −dmin·m of the sub-block). With the activations x ≈ dx·xq per block (Σ xq = sx):
 *   Σ w·x ≈ dx·dw·Σ u·xq + mn·(dx·sx),
 * so the inner loop is pure vpdpbusd (u unsigned, xq signed) into int32, and each block costs one
 * conversion and two fmas per accumulator. Where mn = −c·dw (Q4_0: c = 8, Q8_0: c = 128) the offset is
 * integer, dx·dw·(Σ u·xq − c·Σ xq): the accumulators start at −c·Σ xq (the row's int sums) and a block
 * costs one conversion, one multiply and one fma per accumulator. The panel stores a block's codes as [8 groups of 4 inputs]
 * [32 rows][4 bytes]: one 64-byte load is 16 rows × 4 inputs, multiplied by one broadcast dword of an
 * activation row. Q6_K (16-value sub-blocks) has no panel: it keeps the f32 path. */
#include <immintrin.h>
#include <string.h>

#include "kernels/avx512_inline.h"
#include "kernels/gguf_quants.h"

enum { NR = NPG_GGML_GEMM_NR, BLOCK_CODES = 32 * NPG_GGML_GEMM_NR };

bool npg_ggml_gemm_type(npg_wtype t) {
    return t == NPG_W_GGML_Q4_0 || t == NPG_W_GGML_Q4_1 || t == NPG_W_GGML_Q8_0 || t == NPG_W_GGML_Q4_K ||
           t == NPG_W_GGML_Q5_K;
}

size_t npg_ggml_gemm_act_bytes(int64_t k) { return ((size_t)k + (size_t)(k / 32) * 3 * sizeof(float) + 63) / 64 * 64; }

/* Round to nearest even (the vector conversion), not the decode quantizer's half away from zero: the
 * two differ only on exact ties, within the same rounding bound. */
VNNI_FN void npg_ggml_gemm_quantize_row(const float *x, int64_t k, uint8_t *out) {
    int8_t *q = (int8_t *)out;
    float *dx = (float *)(out + k), *dxs = dx + k / 32;
    int32_t *sum = (int32_t *)(dxs + k / 32);
    for (int64_t b = 0; b < k / 32; b++) {
        __m512 v0 = _mm512_loadu_ps(x + 32 * b), v1 = _mm512_loadu_ps(x + 32 * b + 16);
        float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
        float d = amax / 127.0f, id = d > 0.0f ? 1.0f / d : 0.0f;
        __m512i i0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, _mm512_set1_ps(id)));
        __m512i i1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, _mm512_set1_ps(id)));
        _mm_storeu_si128((__m128i *)(q + 32 * b), _mm512_cvtsepi32_epi8(i0));
        _mm_storeu_si128((__m128i *)(q + 32 * b + 16), _mm512_cvtsepi32_epi8(i1));
        dx[b] = d;
        /* the int8 codes' sum: the saturating narrowing never clips (|v·id| <= 127.5 rounds to 127) */
        sum[b] = _mm512_reduce_add_epi32(_mm512_add_epi32(i0, i1));
        dxs[b] = d * (float)sum[b];
    }
}

size_t npg_ggml_gemm_panel_bytes(int64_t k) {
    return (size_t)(k / 32) * (BLOCK_CODES + 2 * NR * sizeof(float)); /* codes, then dw, then mn */
}

VNNI_INLINE float f16at(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

/* 32 codes of nibbles: the low ones (inputs 0..15) then the high ones (16..31) of 16 bytes */
VNNI_INLINE void nibbles16(const uint8_t *q, uint8_t *u) {
    __m128i v = _mm_loadu_si128((const __m128i *)q), m = _mm_set1_epi8(15);
    _mm_storeu_si128((__m128i *)u, _mm_and_si128(v, m));
    _mm_storeu_si128((__m128i *)(u + 16), _mm_and_si128(_mm_srli_epi16(v, 4), m));
}

/* chunk s (32 inputs) of a row: codes u[32], dw, mn */
VNNI_INLINE void unpack32(npg_wtype t, const uint8_t *row, int64_t s, uint8_t *u, float *dw, float *mn) {
    const __m256i m4 = _mm256_set1_epi8(15);
    switch (t) {
    case NPG_W_GGML_Q4_0: {
        const uint8_t *b = row + 18 * s;
        *dw = f16at(b);
        *mn = -8.0f * *dw;
        nibbles16(b + 2, u);
        break;
    }
    case NPG_W_GGML_Q4_1: {
        const uint8_t *b = row + 20 * s;
        *dw = f16at(b);
        *mn = f16at(b + 2);
        nibbles16(b + 4, u);
        break;
    }
    case NPG_W_GGML_Q8_0: {
        const uint8_t *b = row + 34 * s;
        *dw = f16at(b);
        *mn = -128.0f * *dw;
        __m256i v = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(b + 2)), _mm256_set1_epi8((char)0x80));
        _mm256_storeu_si256((__m256i *)u, v);
        break;
    }
    case NPG_W_GGML_Q4_K:
    case NPG_W_GGML_Q5_K: {
        bool q5 = t == NPG_W_GGML_Q5_K;
        const uint8_t *b = row + (q5 ? 176 : 144) * (s / 8);
        int j = (int)(s % 8);
        uint8_t sc, m;
        npg_ggml_scale_min_k4(j, b + 4, &sc, &m);
        *dw = f16at(b) * sc;
        *mn = -f16at(b + 2) * m;
        __m256i q = _mm256_loadu_si256((const __m256i *)(b + (q5 ? 48 : 16) + 32 * (j / 2)));
        __m256i v = _mm256_and_si256(j % 2 ? _mm256_srli_epi16(q, 4) : q, m4);
        if (q5) { /* bit j of qh[l] is input l's 5th bit */
            __m256i h = _mm256_loadu_si256((const __m256i *)(b + 16)), bit = _mm256_set1_epi8((char)(1 << j));
            v = _mm256_or_si256(v, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(h, bit), bit),
                                                    _mm256_set1_epi8(16)));
        }
        _mm256_storeu_si256((__m256i *)u, v);
        break;
    }
    default: memset(u, 0, 32), *dw = 0.0f, *mn = 0.0f; break;
    }
}

/* Q4_0 / Q8_0 rows r..r+3 of block b (the generic path's bytes, without its per-row type switch and
 * its codes' round trip through the stack): a row's 32 codes are two 16-byte halves of 4 dwords each,
 * dword g of the first half holding inputs 4g..4g+3 (Q4_0: the low nibbles; Q8_0: bytes 0..15), of
 * the second inputs 16+4g.. (the high nibbles; bytes 16..31); a 4 × 4 dword transpose turns the 4
 * rows' dwords g into the 16 bytes the panel stores at group g (second half: group 4 + g). */
VNNI_INLINE void pack_rows4(const uint8_t *base, size_t rb, int64_t b, int64_t r, uint8_t *dst, float *dw, float *mn,
                            const bool q8) {
    const __m128i m4 = _mm_set1_epi8(15), x80 = _mm_set1_epi8((char)0x80);
    __m128i lo[4], hi[4];
    for (int i = 0; i < 4; i++) {
        const uint8_t *blk = base + (size_t)(r + i) * rb + (q8 ? 34 : 18) * (size_t)b;
        __m128i v = _mm_loadu_si128((const __m128i *)(blk + 2));
        if (q8) {
            lo[i] = _mm_xor_si128(v, x80);
            hi[i] = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(blk + 18)), x80);
        } else {
            lo[i] = _mm_and_si128(v, m4);
            hi[i] = _mm_and_si128(_mm_srli_epi16(v, 4), m4);
        }
        float d = f16at(blk);
        dw[r + i] = d;
        mn[r + i] = (q8 ? -128.0f : -8.0f) * d;
    }
    for (int h = 0; h < 2; h++) {
        const __m128i *x = h ? hi : lo;
        __m128i t0 = _mm_unpacklo_epi32(x[0], x[1]), t1 = _mm_unpackhi_epi32(x[0], x[1]);
        __m128i t2 = _mm_unpacklo_epi32(x[2], x[3]), t3 = _mm_unpackhi_epi32(x[2], x[3]);
        uint8_t *o = dst + 4 * r + (size_t)h * 4 * 4 * NR;
        _mm_storeu_si128((__m128i *)(o + 0 * 4 * NR), _mm_unpacklo_epi64(t0, t2));
        _mm_storeu_si128((__m128i *)(o + 1 * 4 * NR), _mm_unpackhi_epi64(t0, t2));
        _mm_storeu_si128((__m128i *)(o + 2 * 4 * NR), _mm_unpacklo_epi64(t1, t3));
        _mm_storeu_si128((__m128i *)(o + 3 * 4 * NR), _mm_unpackhi_epi64(t1, t3));
    }
}

VNNI_FN void npg_ggml_gemm_pack(const npg_weight *w, int64_t r0, uint8_t *panel) {
    int64_t nb = w->k / 32, rows = w->n - r0 < NR ? w->n - r0 : NR;
    float *dw = (float *)(panel + (size_t)nb * BLOCK_CODES), *mn = dw + nb * NR;
    size_t rb = npg_ggml_row_bytes(w->type, w->k);
    if (rows < NR) { /* rows past n: zero codes and scales, so their (unstored) sums are 0 */
        memset(panel, 0, npg_ggml_gemm_panel_bytes(w->k));
    }
    /* block-major: a block's 1 KiB of codes is written whole while in L1 (row-major passes rewrote
     * every line of the panel, larger than L1, once per row); the rows' reads advance together */
    const uint8_t *base = (const uint8_t *)w->data + (size_t)r0 * rb;
    /* the rows' bytes come from memory once per call, 32 streams side by side that the hardware
     * prefetchers missed (the unpacking stalled on its loads): ask for them PREFETCH bytes ahead, and
     * for the rows' first PREFETCH bytes before the first block (their misses, not prefetched, were
     * the loads the unpacking stalled on most) */
    const size_t bb = rb / (size_t)nb; /* bytes per 32 inputs (a K super-block's share) */
    enum { PREFETCH = 320 };
    for (int64_t r = 0; r < rows; r++)
        for (size_t off = 0; off < PREFETCH && off < rb; off += 64)
            _mm_prefetch((const char *)base + (size_t)r * rb + off, _MM_HINT_T0);
    for (int64_t b = 0; b < nb; b++) {
        uint8_t *dst = panel + (size_t)b * BLOCK_CODES;
        size_t off = (size_t)b * bb + PREFETCH;
        if (off < rb && off / 64 != (off + bb) / 64) /* once per cache line */
            for (int64_t r = 0; r < rows; r++)
                _mm_prefetch((const char *)base + (size_t)r * rb + off, _MM_HINT_T0);
        int64_t r = 0;
        if (w->type == NPG_W_GGML_Q4_0)
            for (; r + 4 <= rows; r += 4)
                pack_rows4(base, rb, b, r, dst, dw + b * NR, mn + b * NR, false);
        else if (w->type == NPG_W_GGML_Q8_0)
            for (; r + 4 <= rows; r += 4)
                pack_rows4(base, rb, b, r, dst, dw + b * NR, mn + b * NR, true);
        for (; r < rows; r++) {
            uint8_t u[32];
            unpack32(w->type, base + (size_t)r * rb, b, u, &dw[b * NR + r], &mn[b * NR + r]);
            for (int g = 0; g < 8; g++)
                memcpy(dst + g * 4 * NR + 4 * r, u + 4 * g, 4);
        }
    }
}

/* mr (<= 6) activation rows × 32 weight rows over all k; mr a constant after inlining, so the
 * accumulators stay in registers (6 × 2 int32 + 6 × 2 f32 + 2 weight + 1 broadcast + 2 scale registers
 * of 32): each 128-byte weight step read from L2 feeds 12 vpdpbusd (8 with 4 rows). */
VNNI_INLINE void tile(const uint8_t *panel, int64_t k, const uint8_t *xa, size_t xstride, float *y, int64_t ldy,
                      int ncols, const int mr, const int c) {
    int64_t nb = k / 32;
    const float *dw = (const float *)(panel + (size_t)nb * BLOCK_CODES), *mn = dw + nb * NR;
    const int8_t *xq[NPG_GGML_GEMM_MR];
    const float *dx[NPG_GGML_GEMM_MR], *dxs[NPG_GGML_GEMM_MR];
    const int32_t *sums[NPG_GGML_GEMM_MR];
    __m512 f[NPG_GGML_GEMM_MR][2];
    UNROLL for (int i = 0; i < mr; i++) {
        xq[i] = (const int8_t *)(xa + (size_t)i * xstride);
        dx[i] = (const float *)(xa + (size_t)i * xstride + k);
        dxs[i] = dx[i] + nb;
        sums[i] = (const int32_t *)(dxs[i] + nb);
        f[i][0] = f[i][1] = _mm512_setzero_ps();
    }
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *pc = panel + (size_t)b * BLOCK_CODES;
        __m512i a[NPG_GGML_GEMM_MR][2];
        UNROLL for (int i = 0; i < mr; i++) a[i][0] = a[i][1] =
            c ? _mm512_set1_epi32(-c * sums[i][b]) : _mm512_setzero_si512();
        UNROLL for (int g = 0; g < 8; g++) {
            __m512i w0 = _mm512_loadu_si512(pc + 128 * g), w1 = _mm512_loadu_si512(pc + 128 * g + 64);
            UNROLL for (int i = 0; i < mr; i++) {
                int32_t xv;
                memcpy(&xv, xq[i] + 32 * b + 4 * g, 4);
                __m512i xb = _mm512_set1_epi32(xv);
                a[i][0] = npg_dpbusd512(a[i][0], w0, xb);
                a[i][1] = npg_dpbusd512(a[i][1], w1, xb);
            }
        }
        __m512 d0 = _mm512_loadu_ps(dw + b * NR), d1 = _mm512_loadu_ps(dw + b * NR + 16);
        if (c) {
            UNROLL for (int i = 0; i < mr; i++) {
                __m512 sx = _mm512_set1_ps(dx[i][b]);
                f[i][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a[i][0]), _mm512_mul_ps(sx, d0), f[i][0]);
                f[i][1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a[i][1]), _mm512_mul_ps(sx, d1), f[i][1]);
            }
            continue;
        }
        __m512 m0 = _mm512_loadu_ps(mn + b * NR), m1 = _mm512_loadu_ps(mn + b * NR + 16);
        UNROLL for (int i = 0; i < mr; i++) {
            __m512 sx = _mm512_set1_ps(dx[i][b]), so = _mm512_set1_ps(dxs[i][b]);
            f[i][0] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(a[i][0]), sx), d0, f[i][0]);
            f[i][1] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(a[i][1]), sx), d1, f[i][1]);
            f[i][0] = _mm512_fmadd_ps(so, m0, f[i][0]);
            f[i][1] = _mm512_fmadd_ps(so, m1, f[i][1]);
        }
    }
    __mmask16 k0 = ncols >= 16 ? 0xFFFF : (__mmask16)((1u << ncols) - 1);
    __mmask16 k1 = ncols >= 32 ? 0xFFFF : ncols <= 16 ? 0 : (__mmask16)((1u << (ncols - 16)) - 1);
    UNROLL for (int i = 0; i < mr; i++) {
        _mm512_mask_storeu_ps(y + i * ldy, k0, f[i][0]);
        _mm512_mask_storeu_ps(y + i * ldy + 16, k1, f[i][1]);
    }
}

VNNI_FN void npg_ggml_gemm_tile(npg_wtype t, const uint8_t *panel, int64_t k, const uint8_t *xa, size_t xstride, int mr,
                                float *y, int64_t ldy, int ncols) {
    /* c: the integer offset of Q4_0 / Q8_0 codes (0: the per-block mn of the other types) */
    const int c = t == NPG_W_GGML_Q4_0 ? 8 : t == NPG_W_GGML_Q8_0 ? 128 : 0;
#define TILE_C(C)                                                     \
    switch (mr) {                                                     \
    case 6: tile(panel, k, xa, xstride, y, ldy, ncols, 6, C); break;  \
    case 5: tile(panel, k, xa, xstride, y, ldy, ncols, 5, C); break;  \
    case 4: tile(panel, k, xa, xstride, y, ldy, ncols, 4, C); break;  \
    case 3: tile(panel, k, xa, xstride, y, ldy, ncols, 3, C); break;  \
    case 2: tile(panel, k, xa, xstride, y, ldy, ncols, 2, C); break;  \
    default: tile(panel, k, xa, xstride, y, ldy, ncols, 1, C); break; \
    }
    if (c == 8)
        TILE_C(8)
    else if (c == 128)
        TILE_C(128)
    else
        TILE_C(0)
#undef TILE_C
}
