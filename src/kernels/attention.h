/* attention.h — the two inner loops of attention for one (token, head) pair, per ISA.
 *
 * Keys and values sit in the KV cache with a row stride (the cache holds all KV heads of a position
 * side by side): key i of this head is k + i * stride, a [d] vector; likewise v. */
#ifndef NPG_KERNELS_ATTENTION_H
#define NPG_KERNELS_ATTENTION_H

#include <stdint.h>

#include "kernels/matmul.h"

/* scores[i] = scale * dot(q[d], k[i * stride .. + d]) for i < len. */
void npg_attn_scores(npg_isa isa, const float *q, const float *k, int64_t stride, int64_t len, int64_t d,
                     float scale, float *scores);
/* out[d] = Σ_i w[i] * v[i * stride .. + d] over i < len (out is overwritten). */
void npg_attn_weighted_sum(npg_isa isa, const float *w, const float *v, int64_t stride, int64_t len, int64_t d,
                           float *out);

/* The same for the G query heads of one GQA group, which share k (v): head g's query is q + g * qld,
 * its scores (weights) scores + g * sld (w + g * wld), its output out + g * old. Each key and value
 * row is read once for all G heads; every head's result is bit-identical to the per-head call's. */
void npg_attn_scores_group(npg_isa isa, const float *q, int64_t qld, int64_t G, const float *k, int64_t stride,
                           int64_t len, int64_t d, float scale, float *scores, int64_t sld);
void npg_attn_weighted_sum_group(npg_isa isa, const float *w, int64_t wld, int64_t G, const float *v, int64_t stride,
                                 int64_t len, int64_t d, float *out, int64_t old);

#endif
