/* matmul_avx512.c — AVX-512 F/BW/VL kernels (Skylake-SP, Ice Lake, Zen 4 and later); the integer
 * kernels use VNNI (vpdpbusd) when cpuid has it and the AVX2 ones otherwise.
 *
 * Same structure as matmul_avx2.c: always-inline tile bodies instantiated with constant MR / NR /
 * weight type, 16 inputs per step, masked loads for the last partial step. */
#include <immintrin.h>
#include <string.h>

#include "kernels/avx512_inline.h"
#include "kernels/kernel_set.h"

/* 16 weights at column c of a float-type row (the first `n` of them when mask != 0xffff). */
AVX512_INLINE __m512 load_w16(const void *row, int64_t c, __mmask16 mask, npg_wtype t) {
    if (t == NPG_W_F32)
        return _mm512_maskz_loadu_ps(mask, (const float *)row + c);
    __m256i h = _mm256_maskz_loadu_epi16(mask, (const uint16_t *)row + c);
    if (t == NPG_W_F16)
        return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

enum { F_MR_MAX = 4, F_NR_MAX = 8 };

AVX512_INLINE void float_tile_body(const npg_mm_args *a, int64_t i0, int mr, int64_t j0, int nr, int64_t k0,
                                   int64_t k1, int accumulate, const int MR, const int NR, const npg_wtype WT) {
    const npg_weight *w = a->w;
    size_t rb = npg_quant_row_bytes(WT, w->k);
    const float *xr[F_MR_MAX];
    const uint8_t *wr[F_NR_MAX];
    UNROLL
    for (int i = 0; i < MR; i++)
        xr[i] = a->x + (i0 + (i < mr ? i : mr - 1)) * w->k;
    UNROLL
    for (int j = 0; j < NR; j++)
        wr[j] = (const uint8_t *)w->data + (size_t)(j0 + (j < nr ? j : nr - 1)) * rb;
    __m512 acc[F_MR_MAX][F_NR_MAX];
    UNROLL
    for (int i = 0; i < MR; i++)
        UNROLL
        for (int j = 0; j < NR; j++)
            acc[i][j] = _mm512_setzero_ps();
    int64_t c = k0;
    for (; c + 16 <= k1; c += 16) {
        __m512 xv[F_MR_MAX];
        UNROLL
        for (int i = 0; i < MR; i++)
            xv[i] = _mm512_loadu_ps(xr[i] + c);
        UNROLL
        for (int j = 0; j < NR; j++) {
            __m512 wv = load_w16(wr[j], c, 0xffff, WT);
            UNROLL
            for (int i = 0; i < MR; i++)
                acc[i][j] = _mm512_fmadd_ps(xv[i], wv, acc[i][j]);
        }
    }
    if (c < k1) {
        __mmask16 mask = (__mmask16)((1u << (k1 - c)) - 1u);
        __m512 xv[F_MR_MAX];
        UNROLL
        for (int i = 0; i < MR; i++)
            xv[i] = _mm512_maskz_loadu_ps(mask, xr[i] + c);
        UNROLL
        for (int j = 0; j < NR; j++) {
            __m512 wv = load_w16(wr[j], c, mask, WT);
            UNROLL
            for (int i = 0; i < MR; i++)
                acc[i][j] = _mm512_fmadd_ps(xv[i], wv, acc[i][j]);
        }
    }
    UNROLL
    for (int i = 0; i < MR && i < mr; i++) {
        float *y = a->y + (i0 + i) * a->ldy + j0;
        UNROLL
        for (int j = 0; j < NR; j += 4) {
            if (j >= nr)
                break;
            __m128 s = npg_hsum4_512(acc[i][j], acc[i][j + 1], acc[i][j + 2], acc[i][j + 3]);
            npg_store4_512(y + j, s, nr - j < 4 ? nr - j : 4, accumulate);
        }
    }
}

#define FLOAT_KERNEL(name, MR, NR, WT)                                                                             \
    AVX512_FN static void name(const npg_mm_args *a, int64_t i0, int mr, int64_t j0, int nr, int64_t k0, int64_t k1, \
                               int accumulate) {                                                                   \
        float_tile_body(a, i0, mr, j0, nr, k0, k1, accumulate, MR, NR, WT);                                        \
    }

FLOAT_KERNEL(f32_tile, 4, 4, NPG_W_F32)
FLOAT_KERNEL(f16_tile, 4, 4, NPG_W_F16)
FLOAT_KERNEL(bf16_tile, 4, 4, NPG_W_BF16)
FLOAT_KERNEL(f32_row, 1, 8, NPG_W_F32)
FLOAT_KERNEL(f16_row, 1, 8, NPG_W_F16)
FLOAT_KERNEL(bf16_row, 1, 8, NPG_W_BF16)

void npg_kernels_avx512(npg_kernel_set *out) {
    npg_kernels_avx2(out);
    npg_kernels_avx512_int(out);
    out->isa = NPG_ISA_AVX512;
    out->tile[NPG_W_F32] = (npg_tile_kernel){f32_tile, 4, 4};
    out->tile[NPG_W_F16] = (npg_tile_kernel){f16_tile, 4, 4};
    out->tile[NPG_W_BF16] = (npg_tile_kernel){bf16_tile, 4, 4};
    out->row[NPG_W_F32] = (npg_tile_kernel){f32_row, 1, 8};
    out->row[NPG_W_F16] = (npg_tile_kernel){f16_row, 1, 8};
    out->row[NPG_W_BF16] = (npg_tile_kernel){bf16_row, 1, 8};
}
