/* attention_flash.h — full (bidirectional, unmasked) multi-head attention over T rows at once, as a
 * vision encoder needs it (4096 patches: ~40% of a SigLIP layer's FLOPs), flash style: per head and per
 * block of QB queries, the keys go by in tiles of KT; each tile's scores come from one GEMM, an online
 * softmax (running max and sum per query, vectorised exp) turns them into weights, and a second GEMM
 * adds weights · V to the block's output, so the [T, T] score matrix never exists. Heads run in
 * parallel, one per thread at a time (no barrier inside a head).
 *
 * The tiles are computed transposed so both GEMMs are plain outer products through npg_gemm_nn (the
 * 8 × 32 micro-kernel of gemm.c) and the softmax runs across queries, 16 lanes at a time:
 *   Sᵀ[kt, q] = K_tile · (scale · Q_blockᵀ)    A = keys straight from the input rows, B = Qᵀ packed [d, QB]
 *   Oᵀ[d, q] += Vᵀ_tile · Pᵀ                   A = the head's Vᵀ, packed once per head [d, T]
 */
#ifndef NPG_KERNELS_ATTENTION_FLASH_H
#define NPG_KERNELS_ATTENTION_FLASH_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/matmul.h"

/* Floats of scratch npg_attention_full needs for T rows and head size d with `threads` threads. */
size_t npg_attention_full_scratch(int64_t T, int64_t d, int threads);

/* out[t * ldo + h * d + i] = Σ_s softmax_s(scale · q_t · k_s) v_s[i] for every head h < heads, where
 * q_t = q + t * ld + h * d (likewise k, v: Q, K and V may be column ranges of one [T, 3D] buffer).
 * scratch: npg_attention_full_scratch(T, d, npg_threadpool_size(c->pool)) floats. */
void npg_attention_full(const npg_compute *c, const float *q, const float *k, const float *v, int64_t ld, int64_t T,
                        int64_t heads, int64_t d, float scale, float *out, int64_t ldo, float *scratch);

#endif
