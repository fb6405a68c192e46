/* ops.h — the element-wise and row-wise operations of the decoder (f32). */
#ifndef NPG_MODELS_OPS_H
#define NPG_MODELS_OPS_H

#include <stdbool.h>
#include <stdint.h>

/* out[n] = x[n] / rms(x) * (w or 1 + w); out may alias x. */
void npg_rmsnorm(float *out, const float *x, const float *w, int64_t n, float eps, bool plus_one);
/* In-place softmax over x[n]. */
void npg_softmax(float *x, int64_t n);
/* gate[i] = act(gate[i]) * up[i] for i < n. */
void npg_silu_mul(float *gate, const float *up, int64_t n);
void npg_gelu_tanh_mul(float *gate, const float *up, int64_t n);
/* Rotates the first `rot` dims of one head vector x[head_dim] in place, rotate_half convention:
 * pairs (i, i + rot/2) with cos[i], sin[i] for i < rot/2. */
void npg_rope_apply(float *x, const float *cos_, const float *sin_, int64_t rot);

#endif
