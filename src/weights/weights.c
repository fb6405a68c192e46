/* weights.c — weight types, their byte layouts (weights.h), quantization of f32 rows into them, and dequantization. */
#include "weights/weights.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "core/half.h"
#include "weights/ggml_blocks.h"

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

static bool is_quantized(npg_wtype type) {
    const npg_wtype_traits *t = npg_wtype_traits_of(type);
    return t && t->quantized;
}

int64_t npg_quant_row_elems(npg_wtype type, int64_t k) {
    return is_quantized(type) ? round_up(k, NPG_QBLOCK) : k;
}

size_t npg_quant_row_bytes(npg_wtype type, int64_t k) {
    if (npg_wtype_is_ggml(type))
        return npg_ggml_row_bytes(type, k);
    const npg_wtype_traits *t = npg_wtype_traits_of(type);
    return t ? (size_t)npg_quant_row_elems(type, k) * (size_t)t->bits / 8 : 0;
}

size_t npg_quant_data_bytes(npg_wtype type, int64_t n, int64_t k) { return (size_t)n * npg_quant_row_bytes(type, k); }

/* Scales of one row: none, one (channel-wise) or one per group. */
static int64_t row_scales(const npg_wtype_traits *t, int64_t k, int64_t group_size) {
    if (!t || !t->quantized)
        return 0;
    if (!t->grouped)
        return 1;
    return group_size > 0 ? k / group_size : 0;
}

int64_t npg_quant_scale_count(npg_wtype type, int64_t n, int64_t k, int64_t group_size) {
    return n * row_scales(npg_wtype_traits_of(type), k, group_size);
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

/* ---- per-type row quantizers: src[k] into one stored row (zeroed here first) and its scales ---- */

static void quant_f32(const float *w, int64_t k, int64_t g, uint8_t *row, float *scales) {
    (void)g, (void)scales;
    memcpy(row, w, (size_t)k * sizeof(float));
}

static void quant_f16(const float *w, int64_t k, int64_t g, uint8_t *row, float *scales) {
    (void)g, (void)scales;
    for (int64_t c = 0; c < k; c++) {
        uint16_t h = npg_f32_to_f16(w[c]);
        memcpy(row + 2 * c, &h, 2);
    }
}

static void quant_bf16(const float *w, int64_t k, int64_t g, uint8_t *row, float *scales) {
    (void)g, (void)scales;
    for (int64_t c = 0; c < k; c++) {
        uint16_t h = npg_f32_to_bf16(w[c]);
        memcpy(row + 2 * c, &h, 2);
    }
}

static void quant_q8_cw(const float *w, int64_t k, int64_t g, uint8_t *row, float *scales) {
    (void)g;
    float s = signed_scale(w, k, 128.0f);
    scales[0] = s;
    memset(row, 0, npg_quant_row_bytes(NPG_W_Q8_CW, k));
    for (int64_t c = 0; c < k; c++)
        row[c] = (uint8_t)(int8_t)quant_level(w[c], s, 128.0f);
}

/* Q4_CW is Q4_G with one group of k inputs. */
static void quant_q4(const float *w, int64_t k, int64_t g, uint8_t *row, float *scales) {
    memset(row, 0, npg_quant_row_bytes(NPG_W_Q4_G, k));
    for (int64_t g0 = 0; g0 < k; g0 += g) {
        float s = signed_scale(w + g0, g, 8.0f);
        scales[g0 / g] = s;
        for (int64_t c = g0; c < g0 + g; c++)
            put_q4(row, c, (unsigned)(quant_level(w[c], s, 8.0f) + 8));
    }
    pad_q4(row, k, npg_quant_row_elems(NPG_W_Q4_G, k), 8);
}

static void quant_q4_cw(const float *w, int64_t k, int64_t g, uint8_t *row, float *scales) {
    (void)g;
    quant_q4(w, k, k, row, scales);
}

static void quant_nf4_cw(const float *w, int64_t k, int64_t g, uint8_t *row, float *scales) {
    (void)g;
    float amax = 0.0f;
    for (int64_t c = 0; c < k; c++)
        amax = fabsf(w[c]) > amax ? fabsf(w[c]) : amax;
    float s = amax < FLT_EPSILON ? FLT_EPSILON : amax;
    scales[0] = s;
    memset(row, 0, npg_quant_row_bytes(NPG_W_NF4_CW, k));
    for (int64_t c = 0; c < k; c++)
        put_q4(row, c, nf4_code(w[c] / s));
    pad_q4(row, k, npg_quant_row_elems(NPG_W_NF4_CW, k), 7);
}

/* ---- per-type dequantizers: values c0 .. c1-1 of one stored row, given the row's scales ---- */

static void deq_f32(const uint8_t *r, const float *s, int64_t g, int64_t c0, int64_t c1, float *out) {
    (void)s, (void)g;
    memcpy(out, r + 4 * c0, (size_t)(c1 - c0) * sizeof(float));
}

static void deq_f16(const uint8_t *r, const float *s, int64_t g, int64_t c0, int64_t c1, float *out) {
    (void)s, (void)g;
    for (int64_t c = c0; c < c1; c++) {
        uint16_t h;
        memcpy(&h, r + 2 * c, 2);
        out[c - c0] = npg_f16_to_f32(h);
    }
}

static void deq_bf16(const uint8_t *r, const float *s, int64_t g, int64_t c0, int64_t c1, float *out) {
    (void)s, (void)g;
    for (int64_t c = c0; c < c1; c++) {
        uint16_t h;
        memcpy(&h, r + 2 * c, 2);
        out[c - c0] = npg_bf16_to_f32(h);
    }
}

static void deq_q8_cw(const uint8_t *r, const float *s, int64_t g, int64_t c0, int64_t c1, float *out) {
    (void)g;
    for (int64_t c = c0; c < c1; c++)
        out[c - c0] = (float)(int8_t)r[c] * s[0];
}

static void deq_q4_cw(const uint8_t *r, const float *s, int64_t g, int64_t c0, int64_t c1, float *out) {
    (void)g;
    for (int64_t c = c0; c < c1; c++)
        out[c - c0] = (float)((int)npg_q4_code(r, c) - 8) * s[0];
}

static void deq_q4_g(const uint8_t *r, const float *s, int64_t g, int64_t c0, int64_t c1, float *out) {
    for (int64_t c = c0; c < c1; c++)
        out[c - c0] = (float)((int)npg_q4_code(r, c) - 8) * s[c / g];
}

static void deq_nf4_cw(const uint8_t *r, const float *s, int64_t g, int64_t c0, int64_t c1, float *out) {
    (void)g;
    for (int64_t c = c0; c < c1; c++)
        out[c - c0] = npg_nf4_values[npg_q4_code(r, c)] * s[0];
}

/* The traits table: everything the rest of npugen asks about a weight type. */
static const npg_wtype_traits traits[NPG_W_COUNT] = {
    [NPG_W_F32] = {"f32", false, false, 32, quant_f32, deq_f32},
    [NPG_W_F16] = {"f16", false, false, 16, quant_f16, deq_f16},
    [NPG_W_BF16] = {"bf16", false, false, 16, quant_bf16, deq_bf16},
    [NPG_W_Q8_CW] = {"int8_cw", true, false, 8, quant_q8_cw, deq_q8_cw},
    [NPG_W_Q4_CW] = {"int4_cw", true, false, 4, quant_q4_cw, deq_q4_cw},
    [NPG_W_Q4_G] = {"int4_g", true, true, 4, quant_q4, deq_q4_g},
    [NPG_W_NF4_CW] = {"nf4_cw", true, false, 4, quant_nf4_cw, deq_nf4_cw},
};

const npg_wtype_traits *npg_wtype_traits_of(npg_wtype t) {
    return (int)t >= 0 && t < NPG_W_COUNT ? &traits[t] : NULL;
}

const char *npg_wtype_name(npg_wtype t) {
    if (npg_wtype_is_ggml(t))
        return npg_ggml_wtype_name(t);
    const npg_wtype_traits *tr = npg_wtype_traits_of(t);
    return tr ? tr->name : "unknown";
}

npg_status npg_quantize_rows(npg_wtype type, const float *src, int64_t n, int64_t k, int64_t group_size,
                             void *data, float *scales) {
    NPG_TRY(npg_quant_check(type, n, k, group_size));
    const npg_wtype_traits *t = npg_wtype_traits_of(type);
    if (!src || !data || (t->quantized && !scales))
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_quantize_rows: NULL src, data or scales for %s", t->name);
    if (t->quantized) {
        for (int64_t i = 0; i < n * k; i++)
            if (!isfinite(src[i]))
                return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s quantization: value %lld (row %lld, column %lld) is not finite",
                                t->name, (long long)i, (long long)(i / k), (long long)(i % k));
    }
    size_t rb = npg_quant_row_bytes(type, k);
    int64_t per_row = row_scales(t, k, group_size);
    for (int64_t r = 0; r < n; r++)
        t->quantize_row(src + r * k, k, group_size, (uint8_t *)data + (size_t)r * rb, scales ? scales + r * per_row : NULL);
    return NPG_OK;
}

void npg_dequantize_range(const npg_weight *w, int64_t row, int64_t c0, int64_t c1, float *out) {
    if (npg_wtype_is_ggml(w->type)) {
        npg_ggml_dequantize_range(w->type, (const uint8_t *)w->data + (size_t)row * npg_ggml_row_bytes(w->type, w->k),
                                  c0, c1, out);
        return;
    }
    const npg_wtype_traits *t = npg_wtype_traits_of(w->type);
    if (!t) {
        memset(out, 0, (size_t)(c1 - c0) * sizeof(float));
        return;
    }
    const uint8_t *r = (const uint8_t *)w->data + (size_t)row * npg_quant_row_bytes(w->type, w->k);
    const float *s = t->quantized ? w->scales + row * row_scales(t, w->k, w->group_size) : NULL;
    t->dequantize(r, s, w->group_size, c0, c1, out);
}

void npg_dequantize_row(const npg_weight *w, int64_t row, float *out) { npg_dequantize_range(w, row, 0, w->k, out); }
