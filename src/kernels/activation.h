/* activation.h — elementwise MLP activations over a whole batch, vectorised and split over the pool.
 *
 * A prefill of 512 tokens gates 512 × intermediate values per layer (2.9 M for TinyLlama); a scalar
 * expf per value on the calling thread alone cost ~5% of the prefill while the other threads waited. */
#ifndef NPG_KERNELS_ACTIVATION_H
#define NPG_KERNELS_ACTIVATION_H

#include <stdint.h>

#include "kernels/matmul.h"

/* g[i] = silu(g[i]) · u[i] for i < n: AVX-512 with npg_exp512 (within ~2 ulp of expf), else
 * exactly models/ops.c's scalar npg_silu_mul semantics (g / (1 + expf(-g)) · u). */
void npg_silu_mul_par(const npg_compute *c, float *g, const float *u, int64_t n);
/* The same on this thread only, for a caller that splits the rows itself (the one-region decode):
 * elementwise, so any split gives npg_silu_mul_par's values bit for bit. */
void npg_silu_mul_isa(npg_isa isa, float *g, const float *u, int64_t n);

#endif
