/* dataaware.h — data-aware weight compression for `npugen export --dataset` (NNCF's meanings):
 *
 *  AWQ (awq.c): per input channel scales s = mean|x|^alpha (normalised by sqrt(max s * min s)), alpha
 *    searched on the grid 0, 0.05, ..., 0.95 (even points, then the best one's neighbours) for the
 *    smallest output error sum (w - w^)^T H (w - w^) of the group's quantized layers (H = X^T X over all
 *    calibration tokens; under --scale-estimation the quantization in the search uses a light scale
 *    estimation); W[:, c] *= s[c] and the producer of x divides by s: the preceding RMSNorm weight
 *    (q/k/v share the attention norm, gate/up the MLP norm: one scale for the group), up_proj's rows
 *    (for down_proj) or v_proj's rows (for o_proj; under GQA the o_proj channels of one KV head share
 *    a scale). The runtime format is unchanged.
 *  Scale estimation (qsolve.c): per row (channel-wise) or group, starting from the RTN scale shrunk by
 *    factors 1.0 .. 0.7, a few rounds of "codes for this scale, then the least-squares scale of those
 *    codes"; the scale of least output error (w - q)^T H (w - q) wins.
 *  GPTQ (qsolve.c): Hessian H = X^T X, dampening 0.01 * mean(diag H), columns quantized in order (or by
 *    decreasing diag H with act_order) with the error spread over the remaining columns through the
 *    upper Cholesky factor of H^-1, in blocks of 128 columns; scales are RTN's (or scale estimation's)
 *    per row, per group computed when the group starts (static groups under act_order); with fixed
 *    scales each row also tries them shrunk by 0.975 .. 0.7 and keeps the least output error.
 * All of them work on the 4-bit matrices (int4 channel-wise / group-wise, NF4). */
#ifndef NPG_COMPRESS_DATAAWARE_H
#define NPG_COMPRESS_DATAAWARE_H

#include "compress/calib.h"
#include "compress/export.h"
#include "core/threadpool.h"
#include "kernels/matmul.h"

/* Applies --awq / --scale-estimation / --gptq to the planned 4-bit items (sets their codes, or the
 * override of a norm / non-4-bit producer AWQ rescaled), layer by layer over the calibration samples
 * of o->dataset run through the model in src_dir (npg_calib_stream). */
npg_status npg_dataaware_apply(npg_export_plan *p, const char *src_dir, const npg_export_options *o);

/* The values the export will store for item `name` ([count] f32: its codes dequantized, or its
 * override / source through the writer's quantizer). */
npg_status npg_dataaware_stored(npg_export_plan *p, const char *name, float *out, int64_t count);

/* Loads an item's source values into its override (no-op when already there). */
npg_status npg_dataaware_load(npg_export_item *it);

/* AWQ over the groups of layer l (awq.c). */
npg_status npg_awq_layer(npg_export_plan *p, npg_calib *c, const npg_export_options *o, int64_t l);

/* Fake quantization of w [n, k] into out (the values the writer's RTN would store). */
npg_status npg_fake_quant(npg_wtype t, int64_t group, const float *w, int64_t n, int64_t k, float *out);

/* Fake quantization with a light scale estimation on H [k, k] and C (NULL: the float target is H's;
 * AWQ's search under --scale-estimation). */
npg_status npg_se_fake_quant(npg_wtype t, int64_t group, const float *w, int64_t n, int64_t k, const double *H,
                             const double *C, const npg_compute *mm, float *out);

/* se_subset.c: channel-wise scale estimation in X-form on the slot's token subset, used for inputs
 * wider than NPG_SE_EXACT_MAX (narrower ones take qsolve.c's exact search on H, which is cheaper
 * there). scales [n]: RTN's on entry, the estimated ones on return; codes [n, k]: the stored codes. */
#define NPG_SE_EXACT_MAX 1024
bool npg_se_subset_usable(const npg_calib_slot *s, int64_t k);
npg_status npg_se_subset(npg_wtype t, const float *W, int64_t n, int64_t k, const npg_calib_slot *s,
                         const npg_compute *mm, float *scales, uint8_t *codes);

/* qsolve.c: final codes and scales of one 4-bit item from its (possibly overridden) values. */
npg_status npg_scale_estimation(npg_export_item *it, const npg_calib_slot *s, const npg_compute *mm);
/* RTN's codes and scales of the item's override (what the writer would store). */
npg_status npg_rtn_codes(npg_export_item *it);

/* Shared by qsolve.c and gptq_solve.c: the stored code of w under scale s (weights.c's rounding) and
 * the value it stands for; RTN (or, with estimate and s's H, estimated) scales of every row / group of
 * W [n, k]; the writer's int4 scale of one group alone; the item's codes / qscales buffers. */
float npg_q4_level(npg_wtype t, float w, float s, uint8_t *code);
npg_status npg_q4_row_scales(const npg_export_item *it, const float *W, const npg_calib_slot *s, bool estimate,
                            const npg_compute *mm, float *scales);
npg_status npg_q4_group_scale(const float *w, int64_t g, float *scale);
npg_status npg_q4_alloc_result(npg_export_item *it);

/* gptq_solve.c: GPTQ's factor of one input slot (the matrices reading the same input share it): the
 * column order (identity, or decreasing diag H under act-order) and the upper U with U^T U = (P^T H P +
 * damp I)^-1, f32 [k, k] row-major, plus H in f32 for the output errors. */
typedef struct npg_gptq_factor {
    const npg_calib_slot *slot; /* the slot it was made from (NULL: none yet) */
    int64_t k;
    int64_t *perm;
    float *u, *hf;
    double damp; /* added to A's diagonal */
} npg_gptq_factor;
npg_status npg_gptq_factor_make(const npg_calib_slot *s, bool act_order, const npg_compute *mm, npg_gptq_factor *f);
void npg_gptq_factor_free(npg_gptq_factor *f);
npg_status npg_gptq_quantize(npg_export_item *it, const npg_calib_slot *s, const npg_gptq_factor *f,
                             const npg_compute *mm, bool act_order, bool estimate_scales);

#endif
