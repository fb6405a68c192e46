/* gguf_quants.c — the scalar reference dot kernels for the GGML block types and the row driver
 * (gguf_quants.h). */
#include "kernels/gguf_quants.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/half.h"
#include "core/threadpool.h"
#include "kernels/kernel_set.h"

/* The reference: dequantize each block (weights/ggml_blocks.c, llama.cpp's arithmetic) and sum
 * value · x in order. */
static float dot_ref(npg_wtype t, const uint8_t *row, const float *x, int64_t k) {
    int64_t bv = npg_ggml_block_values(t);
    size_t bb = npg_ggml_block_bytes(t);
    float buf[NPG_QK_K], acc = 0.0f;
    for (int64_t b = 0; b < k / bv; b++) {
        npg_ggml_dequantize_block(t, row + (size_t)b * bb, buf);
        for (int64_t j = 0; j < bv; j++)
            acc += buf[j] * x[b * bv + j];
    }
    return acc;
}

static float ref_q8_0(const uint8_t *r, const float *x, int64_t k) { return dot_ref(NPG_W_GGML_Q8_0, r, x, k); }
static float ref_q4_0(const uint8_t *r, const float *x, int64_t k) { return dot_ref(NPG_W_GGML_Q4_0, r, x, k); }
static float ref_q4_1(const uint8_t *r, const float *x, int64_t k) { return dot_ref(NPG_W_GGML_Q4_1, r, x, k); }
static float ref_q4_k(const uint8_t *r, const float *x, int64_t k) { return dot_ref(NPG_W_GGML_Q4_K, r, x, k); }
static float ref_q5_k(const uint8_t *r, const float *x, int64_t k) { return dot_ref(NPG_W_GGML_Q5_K, r, x, k); }
static float ref_q6_k(const uint8_t *r, const float *x, int64_t k) { return dot_ref(NPG_W_GGML_Q6_K, r, x, k); }

void npg_ggml_dots_ref(npg_ggml_dot_fn out[NPG_GGML_NTYPES]) {
    out[NPG_W_GGML_Q8_0 - NPG_W_GGML_Q8_0] = ref_q8_0;
    out[NPG_W_GGML_Q4_0 - NPG_W_GGML_Q8_0] = ref_q4_0;
    out[NPG_W_GGML_Q4_1 - NPG_W_GGML_Q8_0] = ref_q4_1;
    out[NPG_W_GGML_Q4_K - NPG_W_GGML_Q8_0] = ref_q4_k;
    out[NPG_W_GGML_Q5_K - NPG_W_GGML_Q8_0] = ref_q5_k;
    out[NPG_W_GGML_Q6_K - NPG_W_GGML_Q8_0] = ref_q6_k;
}

npg_ggml_dot_fn npg_ggml_dot_for(npg_isa isa, npg_wtype t) {
    if (!npg_wtype_is_ggml(t))
        return NULL;
    npg_isa best = npg_isa_detect();
    isa = isa > best ? best : isa;
    npg_ggml_dot_fn tab[NPG_GGML_NTYPES] = {0};
    int i = (int)(t - NPG_W_GGML_Q8_0);
    if (isa >= NPG_ISA_AVX512) {
        npg_ggml_dots_avx512(tab);
        if (tab[i])
            return tab[i];
    }
    if (isa >= NPG_ISA_AVX2) {
        npg_ggml_dots_avx2(tab);
        if (tab[i])
            return tab[i];
    }
    npg_ggml_dots_ref(tab);
    return tab[i];
}

typedef struct rows_job {
    npg_ggml_dot_fn dot;
    const float *x;
    const npg_weight *w;
    float *y;
    int64_t m, rows_per_task;
    size_t row_bytes;
} rows_job;

static void rows_task(void *ctx, int task, int thread) {
    (void)thread;
    const rows_job *j = ctx;
    int64_t n = j->w->n, k = j->w->k;
    int64_t r0 = (int64_t)task * j->rows_per_task, r1 = r0 + j->rows_per_task < n ? r0 + j->rows_per_task : n;
    const uint8_t *base = j->w->data;
    for (int64_t r = r0; r < r1; r++)
        for (int64_t i = 0; i < j->m; i++)
            j->y[i * n + r] = j->dot(base + (size_t)r * j->row_bytes, j->x + i * k, k);
}

void npg_matmul_ggml_rows(const npg_compute *c, const float *x, int64_t m, const npg_weight *w, float *y) {
    rows_job j = {.dot = npg_ggml_dot_for(c ? c->isa : NPG_ISA_SCALAR, w->type), .x = x, .w = w, .y = y, .m = m,
                  .row_bytes = npg_ggml_row_bytes(w->type, w->k)};
    npg_threadpool *pool = c ? c->pool : NULL;
    int threads = npg_threadpool_size(pool);
    /* about 4 contiguous stretches of rows per thread, 16-row aligned (as matmul.c's decode split) */
    int64_t per = (w->n + 4 * (int64_t)threads - 1) / (4 * (int64_t)threads);
    j.rows_per_task = (per + 15) / 16 * 16;
    npg_threadpool_run(pool, (int)((w->n + j.rows_per_task - 1) / j.rows_per_task), rows_task, &j);
}

/* ---- int8 activations ---- */

void npg_ggml_quantize_act(const float *x, int64_t k, int8_t *xq, float *xd) {
    for (int64_t b = 0; b < k / 32; b++) {
        float amax = 0.0f;
        for (int j = 0; j < 32; j++)
            amax = fabsf(x[32 * b + j]) > amax ? fabsf(x[32 * b + j]) : amax;
        float d = amax / 127.0f, id = d > 0.0f ? 1.0f / d : 0.0f;
        xd[b] = d;
        for (int j = 0; j < 32; j++)
            xq[32 * b + j] = (int8_t)lroundf(x[32 * b + j] * id);
    }
}

static float f16_at(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return npg_f16_to_f32(h);
}

/* references: per block the exact integer dot, scaled by d_w · d_x */
static float qref_q8_0(const uint8_t *r, const int8_t *xq, const float *xd, int64_t k) {
    float acc = 0.0f;
    for (int64_t b = 0; b < k / 32; b++, r += 34) {
        int32_t s = 0;
        for (int j = 0; j < 32; j++)
            s += (int8_t)r[2 + j] * xq[32 * b + j];
        acc += f16_at(r) * xd[b] * (float)s;
    }
    return acc;
}

static float qref_q4_0(const uint8_t *r, const int8_t *xq, const float *xd, int64_t k) {
    float acc = 0.0f;
    for (int64_t b = 0; b < k / 32; b++, r += 18) {
        int32_t s = 0;
        for (int j = 0; j < 16; j++)
            s += ((r[2 + j] & 15) - 8) * xq[32 * b + j] + ((r[2 + j] >> 4) - 8) * xq[32 * b + 16 + j];
        acc += f16_at(r) * xd[b] * (float)s;
    }
    return acc;
}

/* per 16-input sub-block the integer dot of (q − 32) and x, times the sub-block's int8 scale; per 32
 * inputs (one activation block) scaled by d·dx */
static float qref_q6_k(const uint8_t *r, const int8_t *xq, const float *xd, int64_t k) {
    float acc = 0.0f;
    for (int64_t sb = 0; sb < k / 256; sb++, r += 210) {
        const uint8_t *ql = r, *qh = r + 128;
        const int8_t *sc = (const int8_t *)(r + 192);
        int q[256];
        for (int n = 0; n < 2; n++)
            for (int l = 0; l < 32; l++) {
                q[128 * n + l] = ((ql[64 * n + l] & 15) | (((qh[32 * n + l] >> 0) & 3) << 4)) - 32;
                q[128 * n + l + 32] = ((ql[64 * n + l + 32] & 15) | (((qh[32 * n + l] >> 2) & 3) << 4)) - 32;
                q[128 * n + l + 64] = ((ql[64 * n + l] >> 4) | (((qh[32 * n + l] >> 4) & 3) << 4)) - 32;
                q[128 * n + l + 96] = ((ql[64 * n + l + 32] >> 4) | (((qh[32 * n + l] >> 6) & 3) << 4)) - 32;
            }
        for (int b = 0; b < 8; b++) {
            int32_t s = 0;
            for (int h = 0; h < 2; h++) {
                int32_t t = 0;
                for (int j = 0; j < 16; j++)
                    t += q[32 * b + 16 * h + j] * xq[256 * sb + 32 * b + 16 * h + j];
                s += sc[2 * b + h] * t;
            }
            acc += f16_at(r + 208) * xd[8 * sb + b] * (float)s;
        }
    }
    return acc;
}

/* Q4_1: per block d·dx·Σq·x + m·dx·Σx, both sums exact integers */
static float qref_q4_1(const uint8_t *r, const int8_t *xq, const float *xd, int64_t k) {
    float acc = 0.0f;
    for (int64_t b = 0; b < k / 32; b++, r += 20) {
        int32_t s = 0, sx = 0;
        for (int j = 0; j < 16; j++) {
            s += (r[4 + j] & 15) * xq[32 * b + j] + (r[4 + j] >> 4) * xq[32 * b + 16 + j];
            sx += xq[32 * b + j] + xq[32 * b + 16 + j];
        }
        acc += f16_at(r) * xd[b] * (float)s + f16_at(r + 2) * xd[b] * (float)sx;
    }
    return acc;
}

/* Q4_K / Q5_K: per 32-input sub-block (one activation block) d·sc·dx·Σq·x − dmin·m·dx·Σx, both sums
 * exact integers (q = 4-bit code, plus Q5_K's fifth bit from qh) */
static float qref_k4(const uint8_t *r, const int8_t *xq, const float *xd, int64_t k, bool q5) {
    size_t bb = q5 ? 176 : 144;
    float acc = 0.0f;
    for (int64_t sb = 0; sb < k / 256; sb++, r += bb) {
        float d = f16_at(r), dmin = f16_at(r + 2);
        const uint8_t *qh = r + 16, *qs = r + (q5 ? 48 : 16);
        for (int b = 0; b < 8; b++) {
            uint8_t sc, m;
            npg_ggml_scale_min_k4(b, r + 4, &sc, &m);
            int32_t s = 0, sx = 0;
            for (int l = 0; l < 32; l++) {
                int nib = b % 2 ? qs[32 * (b / 2) + l] >> 4 : qs[32 * (b / 2) + l] & 15;
                int q = nib + (q5 ? ((qh[l] >> b) & 1) * 16 : 0);
                s += q * xq[256 * sb + 32 * b + l];
                sx += xq[256 * sb + 32 * b + l];
            }
            float dx = xd[8 * sb + b];
            acc += d * (float)sc * dx * (float)s - dmin * (float)m * dx * (float)sx;
        }
    }
    return acc;
}
static float qref_q4_k(const uint8_t *r, const int8_t *xq, const float *xd, int64_t k) {
    return qref_k4(r, xq, xd, k, false);
}
static float qref_q5_k(const uint8_t *r, const int8_t *xq, const float *xd, int64_t k) {
    return qref_k4(r, xq, xd, k, true);
}

npg_ggml_qdot_fn npg_ggml_qdot_for(npg_isa isa, npg_wtype t) {
    npg_isa best = npg_isa_detect();
    isa = isa > best ? best : isa;
    if (isa >= NPG_ISA_AVX2) /* AVX-512 without VNNI gains nothing on byte products: the AVX2 kernel */
        return npg_ggml_qdot_avx2(t);
    switch (t) { /* below AVX2 npg_ggml_qdot_pick takes none: these are the SIMD kernels' references */
    case NPG_W_GGML_Q8_0: return qref_q8_0;
    case NPG_W_GGML_Q4_0: return qref_q4_0;
    case NPG_W_GGML_Q4_1: return qref_q4_1;
    case NPG_W_GGML_Q4_K: return qref_q4_k;
    case NPG_W_GGML_Q5_K: return qref_q5_k;
    case NPG_W_GGML_Q6_K: return qref_q6_k;
    default: return NULL;
    }
}

typedef struct qrows_job {
    npg_ggml_qdot_fn dot;
    const int8_t *xq;
    const npg_weight *const *w; /* count weights over the same quantized activations */
    float *const *y;
    int64_t first[NPG_MATMUL_MULTI_MAX + 1]; /* first task of each weight */
    int64_t rows_per_task[NPG_MATMUL_MULTI_MAX];
    int64_t m;
    int count;
    size_t xstride; /* bytes of one quantized activation row */
    size_t xd_offset; /* where a row's scales start after its codes */
} qrows_job;

static void qrows_task(void *ctx, int task, int thread) {
    (void)thread;
    const qrows_job *j = ctx;
    int wi = 0;
    while (task >= j->first[wi + 1])
        wi++;
    const npg_weight *w = j->w[wi];
    int64_t n = w->n, k = w->k, per = j->rows_per_task[wi];
    int64_t r0 = (task - j->first[wi]) * per, r1 = r0 + per < n ? r0 + per : n;
    const uint8_t *base = w->data;
    size_t row_bytes = npg_ggml_row_bytes(w->type, k);
    float *y = j->y[wi];
    for (int64_t r = r0; r < r1; r++)
        for (int64_t i = 0; i < j->m; i++) {
            const int8_t *xq = (const int8_t *)((const uint8_t *)j->xq + (size_t)i * j->xstride);
            y[i * n + r] = j->dot(base + (size_t)r * row_bytes, xq, (const float *)((const uint8_t *)xq + j->xd_offset), k);
        }
}

/* The int8-activation kernel for weights of type t and k inputs, and whether it takes the VNNI layout
 * (npg_ggml_vnni_layout) instead of plain codes + scales. */
npg_ggml_qdot_fn npg_ggml_qdot_pick(npg_isa isa, npg_wtype t, int64_t k, bool *vnni) {
    *vnni = false;
    if (isa < NPG_ISA_AVX2 || k % 32 != 0)
        return NULL;
    if (isa >= NPG_ISA_AVX512 && npg_cpu_has_vnni() && k % 64 == 0 && npg_ggml_qdot_vnni(t, k) &&
        k % npg_ggml_block_values(t) == 0) {
        *vnni = true;
        return npg_ggml_qdot_vnni(t, k);
    }
    return npg_ggml_qdot_for(isa, t);
}

bool npg_matmul_ggml_q8_multi(const npg_compute *c, const float *x, int64_t m, const npg_weight *const *w,
                              float *const *y, int count, uint8_t *ws, size_t ws_size) {
    npg_isa isa = c ? c->isa : NPG_ISA_SCALAR, best = npg_isa_detect();
    isa = isa > best ? best : isa;
    if (count < 1 || count > NPG_MATMUL_MULTI_MAX || !ws)
        return false;
    int64_t k = w[0]->k;
    for (int i = 1; i < count; i++)
        if (w[i]->type != w[0]->type || w[i]->k != k)
            return false;
    bool vnni = false;
    npg_ggml_qdot_fn dot = npg_ggml_qdot_pick(isa, w[0]->type, k, &vnni);
    size_t plain = (size_t)k + (size_t)(k / 32) * sizeof(float);
    size_t xstride = ((vnni ? npg_ggml_vnni_row_bytes(k) : plain) + 63) / 64 * 64;
    /* the VNNI layout is built from the plain codes, quantized into the row's tail first */
    size_t need = (size_t)m * xstride + (vnni ? (plain + 63) / 64 * 64 : 0);
    if (!dot || need > ws_size)
        return false;
    void (*quantize)(const float *, int64_t, int8_t *, float *) =
        isa >= NPG_ISA_AVX512 ? npg_ggml_quantize_act_avx512 : npg_ggml_quantize_act;
    for (int64_t i = 0; i < m; i++) {
        uint8_t *row = ws + (size_t)i * xstride;
        if (vnni) {
            int8_t *tmp = (int8_t *)(ws + (size_t)m * xstride);
            quantize(x + i * k, k, tmp, (float *)(tmp + k));
            npg_ggml_vnni_layout(tmp, (const float *)(tmp + k), k, npg_ggml_vnni_order_for(w[0]->type, k), row);
        } else {
            quantize(x + i * k, k, (int8_t *)row, (float *)(row + k));
        }
    }
    qrows_job j = {.dot = dot, .xq = (const int8_t *)ws, .w = w, .y = y, .m = m, .count = count,
                   .xstride = xstride, .xd_offset = vnni ? 2 * (size_t)k : (size_t)k};
    npg_threadpool *pool = c ? c->pool : NULL;
    int threads = npg_threadpool_size(pool);
    j.first[0] = 0;
    for (int i = 0; i < count; i++) {
        /* about 4 contiguous stretches of rows per thread and weight, 16-row aligned */
        int64_t per = (w[i]->n + 4 * (int64_t)threads - 1) / (4 * (int64_t)threads);
        j.rows_per_task[i] = (per + 15) / 16 * 16;
        j.first[i + 1] = j.first[i] + (w[i]->n + j.rows_per_task[i] - 1) / j.rows_per_task[i];
    }
    npg_threadpool_run(pool, (int)j.first[count], qrows_task, &j);
    return true;
}

bool npg_matmul_ggml_q8(const npg_compute *c, const float *x, int64_t m, const npg_weight *w, float *y, uint8_t *ws,
                        size_t ws_size) {
    return npg_matmul_ggml_q8_multi(c, x, m, &w, &y, 1, ws, ws_size);
}

/* ---- prefill: blocks of 64 weight rows dequantized once, then the f32 tile kernels ---- */

enum { PF_ROWS = 64, PF_CHUNK = 1024 };

typedef struct pf_job {
    npg_tile_kernel kern;
    const float *x;
    const npg_weight *w;
    float *y;
    float *scratch; /* [threads][PF_ROWS * k] */
    int64_t m;
} pf_job;

static void pf_task(void *ctx, int task, int thread) {
    const pf_job *j = ctx;
    int64_t n = j->w->n, k = j->w->k, j0 = (int64_t)task * PF_ROWS;
    int64_t rows = n - j0 < PF_ROWS ? n - j0 : PF_ROWS;
    float *buf = j->scratch + (size_t)thread * PF_ROWS * (size_t)k;
    for (int64_t r = 0; r < rows; r++)
        npg_dequantize_row(j->w, j0 + r, buf + r * k);
    npg_weight tmp = {.type = NPG_W_F32, .n = rows, .k = k, .data = buf};
    npg_mm_args a = {.w = &tmp, .x = j->x, .y = j->y + j0, .ldy = n};
    int mr = j->kern.mr, nr = j->kern.nr;
    /* per input chunk, activation-row-major: one MR-row slice of x stays in L1 while the block's
     * dequantized rows stream from L2 (as matmul.c's tiles_task) */
    for (int64_t k0 = 0; k0 < k; k0 += PF_CHUNK) {
        int64_t k1 = k0 + PF_CHUNK < k ? k0 + PF_CHUNK : k;
        for (int64_t i = 0; i < j->m; i += mr)
            for (int64_t c = 0; c < rows; c += nr)
                j->kern.fn(&a, i, (int)(j->m - i < mr ? j->m - i : mr), c, (int)(rows - c < nr ? rows - c : nr), k0, k1,
                           k0 > 0);
    }
}

bool npg_matmul_ggml_prefill(const npg_compute *c, const float *x, int64_t m, const npg_weight *w, float *y) {
    npg_isa isa = c ? c->isa : NPG_ISA_SCALAR, best = npg_isa_detect();
    isa = isa > best ? best : isa;
    npg_kernel_set ks;
    if (isa == NPG_ISA_AVX512)
        npg_kernels_avx512(&ks);
    else if (isa == NPG_ISA_AVX2)
        npg_kernels_avx2(&ks);
    else
        npg_kernels_scalar(&ks);
    npg_threadpool *pool = c ? c->pool : NULL;
    int threads = npg_threadpool_size(pool);
    /* a per-call scratch (prefill only, a few MB): the compute workspace is sized for activations */
    float *scratch = malloc((size_t)threads * PF_ROWS * (size_t)w->k * sizeof(float));
    if (!scratch)
        return false;
    pf_job j = {.kern = ks.tile[NPG_W_F32], .x = x, .w = w, .y = y, .scratch = scratch, .m = m};
    npg_threadpool_run(pool, (int)((w->n + PF_ROWS - 1) / PF_ROWS), pf_task, &j);
    free(scratch);
    return true;
}
