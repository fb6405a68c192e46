/* ggml_blocks.c — llama.cpp block layouts: sizes, reference dequantization, simple quantizers. */
#include "weights/ggml_blocks.h"

#include <math.h>
#include <string.h>

#include "core/half.h"

int64_t npg_ggml_block_values(npg_wtype t) {
    switch (t) {
    case NPG_W_GGML_Q8_0: case NPG_W_GGML_Q4_0: case NPG_W_GGML_Q4_1: return 32;
    case NPG_W_GGML_Q4_K: case NPG_W_GGML_Q5_K: case NPG_W_GGML_Q6_K: return NPG_QK_K;
    default: return 0;
    }
}

size_t npg_ggml_block_bytes(npg_wtype t) {
    switch (t) {
    case NPG_W_GGML_Q8_0: return 34;
    case NPG_W_GGML_Q4_0: return 18;
    case NPG_W_GGML_Q4_1: return 20;
    case NPG_W_GGML_Q4_K: return 144;
    case NPG_W_GGML_Q5_K: return 176;
    case NPG_W_GGML_Q6_K: return 210;
    default: return 0;
    }
}

size_t npg_ggml_row_bytes(npg_wtype t, int64_t k) {
    int64_t bv = npg_ggml_block_values(t);
    return bv ? (size_t)(k / bv) * npg_ggml_block_bytes(t) : 0;
}

static const struct {
    npg_wtype w;
    uint32_t id;
    const char *name;
} ggml_types[] = {
    {NPG_W_GGML_Q8_0, 8, "gguf_q8_0"}, {NPG_W_GGML_Q4_0, 2, "gguf_q4_0"}, {NPG_W_GGML_Q4_1, 3, "gguf_q4_1"},
    {NPG_W_GGML_Q4_K, 12, "gguf_q4_k"}, {NPG_W_GGML_Q5_K, 13, "gguf_q5_k"}, {NPG_W_GGML_Q6_K, 14, "gguf_q6_k"},
};

const char *npg_ggml_wtype_name(npg_wtype t) {
    for (size_t i = 0; i < sizeof ggml_types / sizeof ggml_types[0]; i++)
        if (ggml_types[i].w == t)
            return ggml_types[i].name;
    return "unknown";
}

uint32_t npg_ggml_type_id(npg_wtype t) {
    for (size_t i = 0; i < sizeof ggml_types / sizeof ggml_types[0]; i++)
        if (ggml_types[i].w == t)
            return ggml_types[i].id;
    return UINT32_MAX;
}

bool npg_ggml_wtype_from_id(uint32_t id, npg_wtype *out) {
    for (size_t i = 0; i < sizeof ggml_types / sizeof ggml_types[0]; i++)
        if (ggml_types[i].id == id) {
            *out = ggml_types[i].w;
            return true;
        }
    return false;
}

static float f16_at(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return npg_f16_to_f32(h);
}

static void put_f16(uint8_t *p, float v) {
    uint16_t h = npg_f32_to_f16(v);
    memcpy(p, &h, 2);
}

/* ---- dequantization (llama.cpp's dequantize_row_*, same f32 operation order) ---- */

static void deq_q8_0(const uint8_t *b, float *y) {
    float d = f16_at(b);
    for (int j = 0; j < 32; j++)
        y[j] = (float)(int8_t)b[2 + j] * d;
}

static void deq_q4_0(const uint8_t *b, float *y) {
    float d = f16_at(b);
    for (int j = 0; j < 16; j++) {
        y[j] = (float)((b[2 + j] & 15) - 8) * d;
        y[j + 16] = (float)((b[2 + j] >> 4) - 8) * d;
    }
}

static void deq_q4_1(const uint8_t *b, float *y) {
    float d = f16_at(b), m = f16_at(b + 2);
    for (int j = 0; j < 16; j++) {
        y[j] = (float)(b[4 + j] & 15) * d + m;
        y[j + 16] = (float)(b[4 + j] >> 4) * d + m;
    }
}

static void deq_q4_k(const uint8_t *b, float *y) {
    float d = f16_at(b), dmin = f16_at(b + 2);
    const uint8_t *sc = b + 4, *q = b + 16;
    for (int j = 0; j < 4; j++) {
        uint8_t s0, m0, s1, m1;
        npg_ggml_scale_min_k4(2 * j, sc, &s0, &m0);
        npg_ggml_scale_min_k4(2 * j + 1, sc, &s1, &m1);
        float d1 = d * s0, n1 = dmin * m0, d2 = d * s1, n2 = dmin * m1;
        for (int l = 0; l < 32; l++)
            y[64 * j + l] = d1 * (float)(q[32 * j + l] & 15) - n1;
        for (int l = 0; l < 32; l++)
            y[64 * j + 32 + l] = d2 * (float)(q[32 * j + l] >> 4) - n2;
    }
}

static void deq_q5_k(const uint8_t *b, float *y) {
    float d = f16_at(b), dmin = f16_at(b + 2);
    const uint8_t *sc = b + 4, *qh = b + 16, *q = b + 48;
    for (int j = 0; j < 4; j++) {
        uint8_t s0, m0, s1, m1;
        npg_ggml_scale_min_k4(2 * j, sc, &s0, &m0);
        npg_ggml_scale_min_k4(2 * j + 1, sc, &s1, &m1);
        float d1 = d * s0, n1 = dmin * m0, d2 = d * s1, n2 = dmin * m1;
        unsigned u1 = 1u << (2 * j), u2 = 2u << (2 * j);
        for (int l = 0; l < 32; l++)
            y[64 * j + l] = d1 * (float)((q[32 * j + l] & 15) + (qh[l] & u1 ? 16 : 0)) - n1;
        for (int l = 0; l < 32; l++)
            y[64 * j + 32 + l] = d2 * (float)((q[32 * j + l] >> 4) + (qh[l] & u2 ? 16 : 0)) - n2;
    }
}

static void deq_q6_k(const uint8_t *b, float *y) {
    const uint8_t *ql = b, *qh = b + 128;
    const int8_t *sc = (const int8_t *)(b + 192);
    float d = f16_at(b + 208);
    for (int n = 0; n < 2; n++) {
        for (int l = 0; l < 32; l++) {
            int is = l / 16;
            int q1 = ((ql[l] & 15) | (((qh[l] >> 0) & 3) << 4)) - 32;
            int q2 = ((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32;
            int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            y[l] = d * sc[is] * (float)q1;
            y[l + 32] = d * sc[is + 2] * (float)q2;
            y[l + 64] = d * sc[is + 4] * (float)q3;
            y[l + 96] = d * sc[is + 6] * (float)q4;
        }
        y += 128;
        ql += 64;
        qh += 32;
        sc += 8;
    }
}

void npg_ggml_dequantize_block(npg_wtype t, const uint8_t *blk, float *out) {
    switch (t) {
    case NPG_W_GGML_Q8_0: deq_q8_0(blk, out); break;
    case NPG_W_GGML_Q4_0: deq_q4_0(blk, out); break;
    case NPG_W_GGML_Q4_1: deq_q4_1(blk, out); break;
    case NPG_W_GGML_Q4_K: deq_q4_k(blk, out); break;
    case NPG_W_GGML_Q5_K: deq_q5_k(blk, out); break;
    case NPG_W_GGML_Q6_K: deq_q6_k(blk, out); break;
    default: break;
    }
}

void npg_ggml_dequantize_range(npg_wtype t, const uint8_t *row, int64_t c0, int64_t c1, float *out) {
    int64_t bv = npg_ggml_block_values(t);
    size_t bb = npg_ggml_block_bytes(t);
    if (!bv) {
        memset(out, 0, (size_t)(c1 - c0) * sizeof(float));
        return;
    }
    float buf[NPG_QK_K];
    for (int64_t b = c0 / bv; b * bv < c1; b++) {
        npg_ggml_dequantize_block(t, row + (size_t)b * bb, buf);
        int64_t s = b * bv < c0 ? c0 : b * bv, e = (b + 1) * bv < c1 ? (b + 1) * bv : c1;
        memcpy(out + (s - c0), buf + (s - b * bv), (size_t)(e - s) * sizeof(float));
    }
}

/* ---- quantizers ---- */

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static float absmax(const float *x, int n) {
    float a = 0.0f;
    for (int i = 0; i < n; i++)
        a = fabsf(x[i]) > a ? fabsf(x[i]) : a;
    return a;
}

static void q_q8_0(const float *x, uint8_t *b) {
    float d = absmax(x, 32) / 127.0f, id = d ? 1.0f / d : 0.0f;
    put_f16(b, d);
    for (int j = 0; j < 32; j++)
        b[2 + j] = (uint8_t)(int8_t)clampi((int)lrintf(x[j] * id), -127, 127);
}

static void q_q4_0(const float *x, uint8_t *b) {
    /* llama.cpp: the value of largest magnitude maps to -8 */
    float mx = 0.0f;
    for (int j = 0; j < 32; j++)
        if (fabsf(x[j]) > fabsf(mx))
            mx = x[j];
    float d = mx / -8.0f, id = d ? 1.0f / d : 0.0f;
    put_f16(b, d);
    for (int j = 0; j < 16; j++) {
        int a = clampi((int)(x[j] * id + 8.5f), 0, 15), c = clampi((int)(x[j + 16] * id + 8.5f), 0, 15);
        b[2 + j] = (uint8_t)(a | (c << 4));
    }
}

static void q_q4_1(const float *x, uint8_t *b) {
    float lo = x[0], hi = x[0];
    for (int j = 1; j < 32; j++) {
        lo = x[j] < lo ? x[j] : lo;
        hi = x[j] > hi ? x[j] : hi;
    }
    float d = (hi - lo) / 15.0f, id = d ? 1.0f / d : 0.0f;
    put_f16(b, d);
    put_f16(b + 2, lo);
    for (int j = 0; j < 16; j++) {
        int a = clampi((int)((x[j] - lo) * id + 0.5f), 0, 15), c = clampi((int)((x[j + 16] - lo) * id + 0.5f), 0, 15);
        b[4 + j] = (uint8_t)(a | (c << 4));
    }
}

/* Q4_K / Q5_K: per sub-block of 32 a scale and a (non-negative) min, both 6-bit multiples of the
 * block's d and dmin; q = round((x + min) / scale) in [0, nmax]. */
static void q_k_minmax(const float *x, uint8_t *b, int nmax, bool five) {
    float sc[8], mn[8];
    for (int s = 0; s < 8; s++) {
        float lo = 0.0f, hi = 0.0f; /* lo <= 0 so the min is >= 0 as the format needs */
        for (int l = 0; l < 32; l++) {
            lo = x[32 * s + l] < lo ? x[32 * s + l] : lo;
            hi = x[32 * s + l] > hi ? x[32 * s + l] : hi;
        }
        sc[s] = (hi - lo) / (float)nmax;
        mn[s] = -lo;
    }
    float msc = 0.0f, mmn = 0.0f;
    for (int s = 0; s < 8; s++) {
        msc = sc[s] > msc ? sc[s] : msc;
        mmn = mn[s] > mmn ? mn[s] : mmn;
    }
    float d = msc / 63.0f, dmin = mmn / 63.0f;
    put_f16(b, d);
    put_f16(b + 2, dmin);
    d = npg_f16_to_f32(npg_f32_to_f16(d));
    dmin = npg_f16_to_f32(npg_f32_to_f16(dmin));
    uint8_t ls[8], lm[8];
    for (int s = 0; s < 8; s++) {
        ls[s] = (uint8_t)clampi(d ? (int)lrintf(sc[s] / d) : 0, 0, 63);
        lm[s] = (uint8_t)clampi(dmin ? (int)lrintf(mn[s] / dmin) : 0, 0, 63);
    }
    uint8_t *q = b + 4;
    for (int j = 0; j < 4; j++) {
        q[j] = (uint8_t)(ls[j] | ((ls[j + 4] >> 4) << 6));
        q[j + 4] = (uint8_t)(lm[j] | ((lm[j + 4] >> 4) << 6));
        q[j + 8] = (uint8_t)((ls[j + 4] & 15) | ((lm[j + 4] & 15) << 4));
    }
    uint8_t codes[256];
    for (int s = 0; s < 8; s++) {
        float ds = d * ls[s], ms = dmin * lm[s];
        for (int l = 0; l < 32; l++)
            codes[32 * s + l] = (uint8_t)clampi(ds ? (int)lrintf((x[32 * s + l] + ms) / ds) : 0, 0, nmax);
    }
    uint8_t *qh = b + 16, *qs = five ? b + 48 : b + 16;
    if (five)
        memset(qh, 0, 32);
    for (int j = 0; j < 4; j++)
        for (int l = 0; l < 32; l++) {
            uint8_t a = codes[64 * j + l], c = codes[64 * j + 32 + l];
            qs[32 * j + l] = (uint8_t)((a & 15) | ((c & 15) << 4));
            if (five)
                qh[l] |= (uint8_t)(((a >> 4) << (2 * j)) | ((c >> 4) << (2 * j + 1)));
        }
}

static void q_q6_k(const float *x, uint8_t *b) {
    float sc[16], msc = 0.0f;
    for (int s = 0; s < 16; s++) {
        float mx = 0.0f;
        for (int l = 0; l < 16; l++)
            if (fabsf(x[16 * s + l]) > fabsf(mx))
                mx = x[16 * s + l];
        sc[s] = mx / -32.0f;
        msc = fabsf(sc[s]) > fabsf(msc) ? sc[s] : msc;
    }
    float d = msc / -128.0f;
    put_f16(b + 208, d);
    d = npg_f16_to_f32(npg_f32_to_f16(d));
    int8_t *ls = (int8_t *)(b + 192);
    uint8_t codes[256];
    for (int s = 0; s < 16; s++) {
        ls[s] = (int8_t)clampi(d ? (int)lrintf(sc[s] / d) : 0, -128, 127);
        float ds = d * ls[s];
        for (int l = 0; l < 16; l++)
            codes[16 * s + l] = (uint8_t)(clampi(ds ? (int)lrintf(x[16 * s + l] / ds) : 0, -32, 31) + 32);
    }
    uint8_t *ql = b, *qh = b + 128;
    for (int n = 0; n < 2; n++) {
        const uint8_t *c = codes + 128 * n;
        for (int l = 0; l < 32; l++) {
            ql[64 * n + l] = (uint8_t)((c[l] & 15) | ((c[l + 64] & 15) << 4));
            ql[64 * n + l + 32] = (uint8_t)((c[l + 32] & 15) | ((c[l + 96] & 15) << 4));
            qh[32 * n + l] = (uint8_t)((c[l] >> 4) | ((c[l + 32] >> 4) << 2) | ((c[l + 64] >> 4) << 4) |
                                       ((c[l + 96] >> 4) << 6));
        }
    }
}

void npg_ggml_quantize_row(npg_wtype t, const float *src, int64_t k, uint8_t *row) {
    int64_t bv = npg_ggml_block_values(t);
    size_t bb = npg_ggml_block_bytes(t);
    for (int64_t b = 0; bv && b < k / bv; b++) {
        const float *x = src + b * bv;
        uint8_t *o = row + (size_t)b * bb;
        switch (t) {
        case NPG_W_GGML_Q8_0: q_q8_0(x, o); break;
        case NPG_W_GGML_Q4_0: q_q4_0(x, o); break;
        case NPG_W_GGML_Q4_1: q_q4_1(x, o); break;
        case NPG_W_GGML_Q4_K: q_k_minmax(x, o, 15, false); break;
        case NPG_W_GGML_Q5_K: q_k_minmax(x, o, 31, true); break;
        case NPG_W_GGML_Q6_K: q_q6_k(x, o); break;
        default: break;
        }
    }
}
