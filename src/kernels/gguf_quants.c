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

npg_ggml_qdot_fn npg_ggml_qdot_for(npg_isa isa, npg_wtype t) {
    npg_isa best = npg_isa_detect();
    isa = isa > best ? best : isa;
    if (isa >= NPG_ISA_AVX2) /* AVX-512 without VNNI gains nothing on byte products: the AVX2 kernel */
        return npg_ggml_qdot_avx2(t);
    return t == NPG_W_GGML_Q8_0 ? qref_q8_0 : t == NPG_W_GGML_Q4_0 ? qref_q4_0 : NULL;
}

typedef struct qrows_job {
    npg_ggml_qdot_fn dot;
    const int8_t *xq;
    const float *xd;
    const npg_weight *w;
    float *y;
    int64_t m, rows_per_task;
    size_t row_bytes, xstride; /* bytes of one quantized activation row (codes, then scales) */
} qrows_job;

static void qrows_task(void *ctx, int task, int thread) {
    (void)thread;
    const qrows_job *j = ctx;
    int64_t n = j->w->n, k = j->w->k;
    int64_t r0 = (int64_t)task * j->rows_per_task, r1 = r0 + j->rows_per_task < n ? r0 + j->rows_per_task : n;
    const uint8_t *base = j->w->data;
    for (int64_t r = r0; r < r1; r++)
        for (int64_t i = 0; i < j->m; i++) {
            const int8_t *xq = (const int8_t *)((const uint8_t *)j->xq + (size_t)i * j->xstride);
            j->y[i * n + r] = j->dot(base + (size_t)r * j->row_bytes, xq, (const float *)(xq + k), k);
        }
}

bool npg_matmul_ggml_q8(const npg_compute *c, const float *x, int64_t m, const npg_weight *w, float *y, uint8_t *ws,
                        size_t ws_size) {
    npg_isa isa = c ? c->isa : NPG_ISA_SCALAR;
    npg_ggml_qdot_fn dot = isa >= NPG_ISA_AVX2 ? npg_ggml_qdot_for(isa, w->type) : NULL;
    size_t xstride = ((size_t)w->k + (size_t)(w->k / 32) * sizeof(float) + 63) / 64 * 64;
    if (!dot || !ws || w->k % 32 != 0 || (size_t)m * xstride > ws_size)
        return false;
    for (int64_t i = 0; i < m; i++) {
        int8_t *xq = (int8_t *)(ws + (size_t)i * xstride);
        npg_ggml_quantize_act(x + i * w->k, w->k, xq, (float *)(xq + w->k));
    }
    qrows_job j = {.dot = dot, .xq = (const int8_t *)ws, .w = w, .y = y, .m = m,
                   .row_bytes = npg_ggml_row_bytes(w->type, w->k), .xstride = xstride};
    npg_threadpool *pool = c ? c->pool : NULL;
    int threads = npg_threadpool_size(pool);
    int64_t per = (w->n + 4 * (int64_t)threads - 1) / (4 * (int64_t)threads);
    j.rows_per_task = (per + 15) / 16 * 16;
    npg_threadpool_run(pool, (int)((w->n + j.rows_per_task - 1) / j.rows_per_task), qrows_task, &j);
    return true;
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
