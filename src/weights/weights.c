/* weights.c — weight types, their byte layouts (weights.h), quantization of f32 rows into them, and dequantization. */
#include "weights/weights.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "core/half.h"

const char *npg_wtype_name(npg_wtype t) {
    static const char *const names[NPG_W_COUNT] = {"f32", "f16", "bf16", "int8_cw", "int4_cw", "int4_g", "nf4_cw"};
    return ((int)t >= 0 && t < NPG_W_COUNT) ? names[t] : "unknown";
}

const float npg_nf4_values[16] = {
    -1.0f,
    -0.6961928009986877f,
    -0.5250730514526367f,
    -0.39491748809814453f,
    -0.28444138169288635f,
    -0.18477343022823334f,
    -0.09105003625154495f,
    0.0f,
    0.07958029955625534f,
    0.16093020141124725f,
    0.24611230194568634f,
    0.33791524171829224f,
    0.44070982933044434f,
    0.5626170039176941f,
    0.7229568362236023f,
    1.0f,
};

static int64_t round_up(int64_t v, int64_t to) { return (v + to - 1) / to * to; }

static int is_quantized(npg_wtype type) {
    return type == NPG_W_Q8_CW || type == NPG_W_Q4_CW || type == NPG_W_Q4_G || type == NPG_W_NF4_CW;
}

int64_t npg_quant_row_elems(npg_wtype type, int64_t k) {
    return is_quantized(type) ? round_up(k, NPG_QBLOCK) : k;
}

size_t npg_quant_row_bytes(npg_wtype type, int64_t k) {
    switch (type) {
    case NPG_W_F32: return (size_t)k * 4;
    case NPG_W_F16:
    case NPG_W_BF16: return (size_t)k * 2;
    case NPG_W_Q8_CW: return (size_t)round_up(k, NPG_QBLOCK);
    case NPG_W_Q4_CW:
    case NPG_W_Q4_G:
    case NPG_W_NF4_CW: return (size_t)round_up(k, NPG_QBLOCK) / 2;
    case NPG_W_COUNT: break;
    }
    return 0;
}

size_t npg_quant_data_bytes(npg_wtype type, int64_t n, int64_t k) { return (size_t)n * npg_quant_row_bytes(type, k); }

int64_t npg_quant_scale_count(npg_wtype type, int64_t n, int64_t k, int64_t group_size) {
    switch (type) {
    case NPG_W_Q8_CW:
    case NPG_W_Q4_CW:
    case NPG_W_NF4_CW: return n;
    case NPG_W_Q4_G: return group_size > 0 ? n * (k / group_size) : 0;
    default: return 0;
    }
}

npg_status npg_quant_check(npg_wtype type, int64_t n, int64_t k, int64_t group_size) {
    if ((int)type < 0 || type >= NPG_W_COUNT)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "weight type: %d is not a known type", (int)type);
    if (n < 1 || k < 1)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s weight shape [%lld, %lld]: both dimensions must be >= 1",
                        npg_wtype_name(type), (long long)n, (long long)k);
    if (type == NPG_W_Q4_G && (group_size < 1 || k % group_size != 0))
        return npg_fail(NPG_ERR_INVALID_ARGUMENT,
                        "group_size: %lld does not divide the input size k = %lld of an %s weight",
                        (long long)group_size, (long long)k, npg_wtype_name(type));
    return NPG_OK;
}

/* NNCF's signed symmetric scale for levels [-half, half - 1] (see quant.h). */
static float signed_scale(const float *w, int64_t count, float half) {
    float lo = w[0], hi = w[0];
    for (int64_t i = 1; i < count; i++) {
        lo = w[i] < lo ? w[i] : lo;
        hi = w[i] > hi ? w[i] : hi;
    }
    float s = (fabsf(lo) >= hi ? fabsf(lo) : -hi) / half;
    return fabsf(s) < FLT_EPSILON ? FLT_EPSILON : s;
}

static int quant_level(float v, float scale, float half) {
    float q = nearbyintf(v / scale); /* round half to even, like numpy.round */
    q = q < -half ? -half : q;
    q = q > half - 1.0f ? half - 1.0f : q;
    return (int)q;
}

/* Sets the 4-bit code of value `col` of a packed row (the row's bytes start zeroed). */
static void put_q4(uint8_t *row, int64_t col, unsigned code) {
    uint8_t *byte = &row[(col / 128) * 64 + (col % 64)];
    *byte = (uint8_t)((col % 128) < 64 ? ((*byte & 0xf0u) | code) : ((*byte & 0x0fu) | (code << 4)));
}

static unsigned nf4_code(float v) {
    /* number of code-book midpoints strictly below v: numpy.searchsorted(centers, v, side='left') */
    unsigned code = 0;
    for (int i = 0; i < 15; i++) {
        float mid = (npg_nf4_values[i] + npg_nf4_values[i + 1]) * 0.5f;
        code += mid < v;
    }
    return code;
}

/* Fills a 4-bit row's padding (values k..kp) with the code of 0. */
static void pad_q4(uint8_t *row, int64_t k, int64_t kp, unsigned zero_code) {
    for (int64_t c = k; c < kp; c++)
        put_q4(row, c, zero_code);
}

npg_status npg_quantize_rows(npg_wtype type, const float *src, int64_t n, int64_t k, int64_t group_size,
                             void *data, float *scales) {
    NPG_TRY(npg_quant_check(type, n, k, group_size));
    if (!src || !data || (is_quantized(type) && !scales))
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_quantize_rows: NULL src, data or scales for %s",
                        npg_wtype_name(type));
    if (is_quantized(type)) {
        for (int64_t i = 0; i < n * k; i++)
            if (!isfinite(src[i]))
                return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s quantization: value %lld (row %lld, column %lld) is not finite",
                                npg_wtype_name(type), (long long)i, (long long)(i / k), (long long)(i % k));
    }
    size_t rb = npg_quant_row_bytes(type, k);
    int64_t kp = npg_quant_row_elems(type, k);
    for (int64_t r = 0; r < n; r++) {
        const float *w = src + r * k;
        uint8_t *row = (uint8_t *)data + (size_t)r * rb;
        switch (type) {
        case NPG_W_F32: memcpy(row, w, rb); break;
        case NPG_W_F16:
            for (int64_t c = 0; c < k; c++) {
                uint16_t h = npg_f32_to_f16(w[c]);
                memcpy(row + 2 * c, &h, 2);
            }
            break;
        case NPG_W_BF16:
            for (int64_t c = 0; c < k; c++) {
                uint16_t h = npg_f32_to_bf16(w[c]);
                memcpy(row + 2 * c, &h, 2);
            }
            break;
        case NPG_W_Q8_CW: {
            float s = signed_scale(w, k, 128.0f);
            scales[r] = s;
            memset(row, 0, rb);
            for (int64_t c = 0; c < k; c++)
                row[c] = (uint8_t)(int8_t)quant_level(w[c], s, 128.0f);
            break;
        }
        case NPG_W_Q4_CW:
        case NPG_W_Q4_G: {
            int64_t g = type == NPG_W_Q4_G ? group_size : k;
            memset(row, 0, rb);
            for (int64_t g0 = 0; g0 < k; g0 += g) {
                float s = signed_scale(w + g0, g, 8.0f);
                scales[r * (k / g) + g0 / g] = s;
                for (int64_t c = g0; c < g0 + g; c++)
                    put_q4(row, c, (unsigned)(quant_level(w[c], s, 8.0f) + 8));
            }
            pad_q4(row, k, kp, 8);
            break;
        }
        case NPG_W_NF4_CW: {
            float amax = 0.0f;
            for (int64_t c = 0; c < k; c++)
                amax = fabsf(w[c]) > amax ? fabsf(w[c]) : amax;
            float s = amax < FLT_EPSILON ? FLT_EPSILON : amax;
            scales[r] = s;
            memset(row, 0, rb);
            for (int64_t c = 0; c < k; c++)
                put_q4(row, c, nf4_code(w[c] / s));
            pad_q4(row, k, kp, 7);
            break;
        }
        case NPG_W_COUNT: break;
        }
    }
    return NPG_OK;
}

void npg_dequantize_range(const npg_weight *w, int64_t row, int64_t c0, int64_t c1, float *out) {
    const uint8_t *r = (const uint8_t *)w->data + (size_t)row * npg_quant_row_bytes(w->type, w->k);
    switch (w->type) {
    case NPG_W_F32: memcpy(out, r + 4 * c0, (size_t)(c1 - c0) * sizeof(float)); break;
    case NPG_W_F16:
        for (int64_t c = c0; c < c1; c++) {
            uint16_t h;
            memcpy(&h, r + 2 * c, 2);
            out[c - c0] = npg_f16_to_f32(h);
        }
        break;
    case NPG_W_BF16:
        for (int64_t c = c0; c < c1; c++) {
            uint16_t h;
            memcpy(&h, r + 2 * c, 2);
            out[c - c0] = npg_bf16_to_f32(h);
        }
        break;
    case NPG_W_Q8_CW: {
        float s = w->scales[row];
        for (int64_t c = c0; c < c1; c++)
            out[c - c0] = (float)(int8_t)r[c] * s;
        break;
    }
    case NPG_W_Q4_CW: {
        float s = w->scales[row];
        for (int64_t c = c0; c < c1; c++)
            out[c - c0] = (float)((int)npg_q4_code(r, c) - 8) * s;
        break;
    }
    case NPG_W_Q4_G: {
        int64_t g = w->group_size;
        const float *s = w->scales + row * (w->k / g);
        for (int64_t c = c0; c < c1; c++)
            out[c - c0] = (float)((int)npg_q4_code(r, c) - 8) * s[c / g];
        break;
    }
    case NPG_W_NF4_CW: {
        float s = w->scales[row];
        for (int64_t c = c0; c < c1; c++)
            out[c - c0] = npg_nf4_values[npg_q4_code(r, c)] * s;
        break;
    }
    case NPG_W_COUNT: memset(out, 0, (size_t)(c1 - c0) * sizeof(float)); break;
    }
}

void npg_dequantize_row(const npg_weight *w, int64_t row, float *out) { npg_dequantize_range(w, row, 0, w->k, out); }
