/* gemm_packed.h — C = A · Wᵀ for many rows (a vision tower's 4096 patches, an encoder's frames) with
 * W in the weight layout ([n, k], any npg_wtype), through a cache-blocked GEMM over a packed copy of
 * W: npg_gemm_pack widens (dequantizes) W once per call into panels of NPG_GEMM_PANEL output columns,
 * each panel [k][NPG_GEMM_PANEL] f32 contiguous, so the micro-kernel streams B from L1 with unit
 * stride and broadcasts A. npg_matmul's tiles (dot products, horizontal sums per tile) are built for
 * decode and int8/int4 weights; against them a projection of 4096 rows runs ~5-10% faster here, and
 * this GEMM also serves short-k products (attention's 72-dim heads) that the tiles handle badly.
 *
 * Several weights can share one packed B (Q, K and V side by side: one GEMM, one barrier): pack each
 * at its column offset. The bias and the activation of an MLP's first layer are applied inside the
 * GEMM while the block is in cache; `accumulate` adds to C (a residual stream) instead of overwriting.
 * Nothing is allocated: the caller provides the packed buffer (npg_gemm_packed_size floats). */
#ifndef NPG_KERNELS_GEMM_PACKED_H
#define NPG_KERNELS_GEMM_PACKED_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/matmul.h"

enum { NPG_GEMM_PANEL = 32 };

typedef enum npg_gemm_act {
    NPG_GEMM_ACT_NONE = 0,
    NPG_GEMM_ACT_GELU_TANH,  /* 0.5 x (1 + tanh(√(2/π)(x + 0.044715 x³))) = x · σ(2u) */
    NPG_GEMM_ACT_QUICK_GELU, /* x · σ(1.702 x) */
    NPG_GEMM_ACT_GELU_ERF    /* 0.5 x (1 + erf(x / √2)) */
} npg_gemm_act;

/* Floats of a packed B with n columns (all weights packed into it together) and k inputs. */
size_t npg_gemm_packed_size(int64_t n, int64_t k);

/* Writes w ([w->n, k]) as columns col0 .. col0 + w->n - 1 of the packed B `packed` with n_total
 * columns and k = w->k inputs; the padding columns past n_total in the last panel are zeroed when
 * this weight ends there. Panels split over the pool's threads. */
void npg_gemm_pack(const npg_compute *c, const npg_weight *w, int64_t col0, int64_t n_total, float *packed);

/* C[i * ldc + j] = act(bias[j] + Σ_k A[i * lda + k] · B[k, j]) (+ C[i * ldc + j] before the activation
 * when accumulate) for i < M, j < N; B packed with N columns and K inputs; bias may be NULL.
 * Threads split the rows and columns. */
void npg_gemm_packed(const npg_compute *c, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                     const float *packed, const float *bias, npg_gemm_act act, float *C, int64_t ldc, int accumulate);

#endif
