/* matmul_scalar.c — portable kernels: the path for CPUs without AVX2, and the exact model of the
 * integer arithmetic the SIMD kernels perform (same int8 activations, same per-block integer dot
 * products, same scale products), so tests can hold the SIMD paths to float rounding against it. */
#include <math.h>
#include <string.h>

#include "core/half.h"
#include "kernels/kernel_set.h"

const int8_t npg_nf4_i8[16] = {-127, -88, -67, -50, -36, -23, -12, 0, 10, 20, 31, 43, 56, 71, 92, 127};

static float w_value(const npg_weight *w, const uint8_t *row, int64_t c) {
    switch (w->type) {
    case NPG_W_F16: {
        uint16_t h;
        memcpy(&h, row + 2 * c, 2);
        return npg_f16_to_f32(h);
    }
    case NPG_W_BF16: {
        uint16_t h;
        memcpy(&h, row + 2 * c, 2);
        return npg_bf16_to_f32(h);
    }
    default: {
        float f;
        memcpy(&f, row + 4 * c, 4);
        return f;
    }
    }
}

static void float_tile(const npg_mm_args *a, int64_t i0, int mr, int64_t j0, int nr, int64_t k0, int64_t k1,
                       int accumulate) {
    const npg_weight *w = a->w;
    size_t rb = npg_quant_row_bytes(w->type, w->k);
    for (int i = 0; i < mr; i++) {
        const float *x = a->x + (i0 + i) * w->k;
        for (int j = 0; j < nr; j++) {
            const uint8_t *row = (const uint8_t *)w->data + (size_t)(j0 + j) * rb;
            float acc = 0.0f;
            for (int64_t c = k0; c < k1; c++)
                acc += x[c] * w_value(w, row, c);
            float *out = &a->y[(i0 + i) * a->ldy + j0 + j];
            *out = accumulate ? *out + acc : acc;
        }
    }
}

/* The signed integer code of value c of an integer-weight row, as the kernels multiply it. */
static int w_code(npg_wtype type, const uint8_t *row, int64_t c) {
    switch (type) {
    case NPG_W_Q8_CW: return (int8_t)row[c];
    case NPG_W_NF4_CW: return npg_nf4_i8[npg_q4_code(row, c)];
    default: return (int)npg_q4_code(row, c) - 8;
    }
}

static int32_t int_dot(npg_wtype type, const uint8_t *row, const int8_t *q, int64_t c0, int64_t c1) {
    int32_t s = 0;
    for (int64_t c = c0; c < c1; c++)
        s += w_code(type, row, c) * q[c];
    return s;
}

/* Per output: F = Σ_blocks float(int dot of the block) · activation scale (· group scale for Q4_G,
 * one term per 32-input part of a block when the group size is not a multiple of 128); y = F · row
 * scale for the channel-wise types. */
static void int_tile(const npg_mm_args *a, int64_t i0, int mr, int64_t j0, int nr, int64_t k0, int64_t k1,
                     int accumulate) {
    const npg_weight *w = a->w;
    size_t rb = npg_quant_row_bytes(w->type, w->k);
    int64_t gs = w->type == NPG_W_Q4_G ? w->group_size : 0;
    int64_t part = gs > 0 && gs % NPG_QBLOCK != 0 ? 32 : NPG_QBLOCK; /* npg_q4g_fast: gs % 32 == 0 */
    for (int i = 0; i < mr; i++) {
        const int8_t *q = npg_qact_q(&a->qa, i0 + i);
        const float *sx = npg_qact_scale(&a->qa, i0 + i);
        for (int j = 0; j < nr; j++) {
            const uint8_t *row = (const uint8_t *)w->data + (size_t)(j0 + j) * rb;
            float f = 0.0f;
            for (int64_t b0 = k0; b0 < k1; b0 += NPG_QBLOCK) {
                for (int64_t p0 = b0; p0 < b0 + NPG_QBLOCK; p0 += part) {
                    int32_t d = int_dot(w->type, row, q, p0, p0 + part);
                    float s = sx[b0 / NPG_QBLOCK];
                    if (gs > 0) {
                        /* parts past k only hold zero codes; any finite scale will do there */
                        int64_t g = p0 < w->k ? p0 / gs : 0;
                        s = s * w->scales[(j0 + j) * (w->k / gs) + g];
                    }
                    f += (float)d * s;
                }
            }
            if (gs == 0) /* the NF4 code book is scaled by 127 in npg_nf4_i8 */
                f *= w->type == NPG_W_NF4_CW ? w->scales[j0 + j] / 127.0f : w->scales[j0 + j];
            float *out = &a->y[(i0 + i) * a->ldy + j0 + j];
            *out = accumulate ? *out + f : f;
        }
    }
}

static void quantize_act(const float *x, int64_t k, const npg_qact *qa, int64_t i) {
    int8_t *q = npg_qact_q(qa, i);
    float *scale = npg_qact_scale(qa, i);
    int16_t *sum4 = npg_qact_sum4(qa, i);
    for (int64_t b0 = 0; b0 < qa->kp; b0 += NPG_QBLOCK) {
        int64_t end = b0 + NPG_QBLOCK < k ? b0 + NPG_QBLOCK : k;
        float amax = 0.0f;
        for (int64_t c = b0; c < end; c++)
            amax = fabsf(x[c]) > amax ? fabsf(x[c]) : amax;
        float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
        scale[b0 / NPG_QBLOCK] = amax / 127.0f;
        for (int64_t c = b0; c < b0 + NPG_QBLOCK; c++)
            q[c] = c < end ? (int8_t)npg_round_even(x[c] * inv) : 0;
    }
    for (int64_t s = 0; s < qa->kp / 4; s++)
        sum4[s] = (int16_t)(q[4 * s] + q[4 * s + 1] + q[4 * s + 2] + q[4 * s + 3]);
    int32_t *bsum = npg_qact_bsum(qa, i);
    for (int64_t b = 0; b < qa->kp / NPG_QBLOCK; b++) {
        int32_t t = 0;
        for (int c = 0; c < NPG_QBLOCK / 4; c++)
            t += sum4[b * (NPG_QBLOCK / 4) + c];
        bsum[b] = t;
    }
}

void npg_kernels_scalar(npg_kernel_set *out) {
    memset(out, 0, sizeof *out);
    out->isa = NPG_ISA_SCALAR;
    for (int t = 0; t < NPG_W_COUNT; t++) {
        npg_tile_fn fn = t <= NPG_W_BF16 ? float_tile : int_tile;
        out->tile[t] = (npg_tile_kernel){fn, 4, 4};
        out->row[t] = (npg_tile_kernel){fn, 1, 4};
        if (t > NPG_W_BF16) /* the integer decode of a few sequences: one input chunk, as the SIMD kernels */
            out->few[t] = (npg_tile_kernel){fn, 4, 4};
    }
    out->quantize_act = quantize_act;
}
