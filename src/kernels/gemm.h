/* gemm.h — C = A · B for many rows at once, B stored input-major ([K, N], row k holds every output's
 * weight for input k), with an outer-product micro-kernel (broadcast one A value, FMA it into 2 B
 * vectors of outputs, MR rows at a time).
 *
 * npg_matmul (matmul.h) computes dot products of x rows with W rows ([N, K]) and sums each tile's
 * accumulators horizontally at the end: right for decode and for long inputs, but a short K (an
 * attention head's 64 dims) pays that sum every 64 inputs. Whisper's encoder (1500 rows per window:
 * convolutions as GEMMs, q/k/v/o, the MLP, Q·Kᵀ and P·V per head) goes through here instead, its
 * float weights transposed once at load.
 *
 * B is F32 or F16 (widened on the fly); A and C are f32. Threads from the compute context's pool split
 * the rows and columns; nothing is allocated. */
#ifndef NPG_KERNELS_GEMM_H
#define NPG_KERNELS_GEMM_H

#include <stdint.h>

#include "kernels/matmul.h"

/* C[i * ldc + j] = Σ_k A[i * lda + k] · B[k * ldb + j] for i < M, j < N (accumulate: C += instead). */
void npg_gemm_nn(const npg_compute *c, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const void *B,
                 npg_wtype btype, int64_t ldb, float *C, int64_t ldc, int accumulate);

/* Softmax of each of `rows` rows x[r * ld .. + n] in place, exp by a vectorised polynomial (within
 * ~2 ulp of expf) where the ISA has one; rows split over the pool. */
void npg_softmax_rows(const npg_compute *c, float *x, int64_t rows, int64_t n, int64_t ld);

#endif
