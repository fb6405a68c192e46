/* matmul_avx2.c — AVX2 + FMA + F16C kernels (Haswell / Zen and later).
 *
 * Every function carries its own target attribute: the project is built without -march, and this
 * code only runs after npg_isa_detect() has seen the features. The tile bodies are always-inline
 * functions whose MR / NR / weight-type parameters are constants at each call site, so each
 * instantiation keeps its accumulators in registers. */
#include <immintrin.h>
#include <string.h>

#include "kernels/avx2_inline.h"
#include "kernels/kernel_set.h"

/* 8 weights at column c of a float-type row, as f32. */
AVX2_INLINE __m256 load_w8(const void *row, int64_t c, npg_wtype t) {
    if (t == NPG_W_F32)
        return _mm256_loadu_ps((const float *)row + c);
    __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)row + c));
    if (t == NPG_W_F16)
        return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/* The last n (< 8) weights from column c, zero filled. */
AVX2_INLINE __m256 load_w8_tail(const void *row, int64_t c, int n, npg_wtype t) {
    uint8_t buf[32] = {0};
    size_t es = t == NPG_W_F32 ? 4 : 2;
    memcpy(buf, (const uint8_t *)row + (size_t)c * es, (size_t)n * es);
    return load_w8(buf, 0, t);
}

AVX2_INLINE __m256 load_x8_tail(const float *x, int n) {
    float buf[8] = {0};
    memcpy(buf, x, (size_t)n * sizeof(float));
    return _mm256_loadu_ps(buf);
}

enum { F_MR_MAX = 4, F_NR_MAX = 8 };

AVX2_INLINE void float_tile_body(const npg_mm_args *a, int64_t i0, int mr, int64_t j0, int nr, int64_t k0, int64_t k1,
                                 int accumulate, const int MR, const int NR, const npg_wtype WT) {
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
    __m256 acc[F_MR_MAX][F_NR_MAX];
    UNROLL
    for (int i = 0; i < MR; i++)
        UNROLL
        for (int j = 0; j < NR; j++)
            acc[i][j] = _mm256_setzero_ps();
    int64_t c = k0;
    for (; c + 8 <= k1; c += 8) {
        __m256 xv[F_MR_MAX];
        UNROLL
        for (int i = 0; i < MR; i++)
            xv[i] = _mm256_loadu_ps(xr[i] + c);
        UNROLL
        for (int j = 0; j < NR; j++) {
            __m256 wv = load_w8(wr[j], c, WT);
            UNROLL
            for (int i = 0; i < MR; i++)
                acc[i][j] = _mm256_fmadd_ps(xv[i], wv, acc[i][j]);
        }
    }
    if (c < k1) {
        int n = (int)(k1 - c);
        __m256 xv[F_MR_MAX];
        UNROLL
        for (int i = 0; i < MR; i++)
            xv[i] = load_x8_tail(xr[i] + c, n);
        UNROLL
        for (int j = 0; j < NR; j++) {
            __m256 wv = load_w8_tail(wr[j], c, n, WT);
            UNROLL
            for (int i = 0; i < MR; i++)
                acc[i][j] = _mm256_fmadd_ps(xv[i], wv, acc[i][j]);
        }
    }
    UNROLL
    for (int i = 0; i < MR && i < mr; i++) {
        float *y = a->y + (i0 + i) * a->ldy + j0;
        UNROLL
        for (int j = 0; j < NR; j += 4) {
            if (j >= nr)
                break;
            __m128 s = npg_hsum4_256(acc[i][j], acc[i][j + 1], acc[i][j + 2], acc[i][j + 3]);
            npg_store4_256(y + j, s, nr - j < 4 ? nr - j : 4, accumulate);
        }
    }
}

#define FLOAT_KERNEL(name, MR, NR, WT)                                                                           \
    AVX2_FN static void name(const npg_mm_args *a, int64_t i0, int mr, int64_t j0, int nr, int64_t k0, int64_t k1, \
                             int accumulate) {                                                                   \
        float_tile_body(a, i0, mr, j0, nr, k0, k1, accumulate, MR, NR, WT);                                      \
    }

FLOAT_KERNEL(f32_tile, 3, 4, NPG_W_F32)
FLOAT_KERNEL(f16_tile, 3, 4, NPG_W_F16)
FLOAT_KERNEL(bf16_tile, 3, 4, NPG_W_BF16)
FLOAT_KERNEL(f32_row, 1, 8, NPG_W_F32)
FLOAT_KERNEL(f16_row, 1, 8, NPG_W_F16)
FLOAT_KERNEL(bf16_row, 1, 8, NPG_W_BF16)

void npg_kernels_avx2(npg_kernel_set *out) {
    npg_kernels_scalar(out);
    npg_kernels_avx2_int(out);
    out->isa = NPG_ISA_AVX2;
    out->tile[NPG_W_F32] = (npg_tile_kernel){f32_tile, 3, 4};
    out->tile[NPG_W_F16] = (npg_tile_kernel){f16_tile, 3, 4};
    out->tile[NPG_W_BF16] = (npg_tile_kernel){bf16_tile, 3, 4};
    out->row[NPG_W_F32] = (npg_tile_kernel){f32_row, 1, 8};
    out->row[NPG_W_F16] = (npg_tile_kernel){f16_row, 1, 8};
    out->row[NPG_W_BF16] = (npg_tile_kernel){bf16_row, 1, 8};
}
