/* gguf_gemm.c — prefill (many activation rows) of GGUF block-type weights by an integer GEMM
 * (gguf_quants.h, npg_matmul_ggml_gemm): the activations are quantized to int8 once per call (for
 * every weight of a q/k/v or gate/up group), then each task unpacks PANELS panels of 32 weight rows
 * to unsigned codes in its scratch and runs the VNNI tile kernel (gguf_gemm_vnni.c) over all rows of
 * x, MR at a time: an MR-row slice of x (4·k bytes) stays in L1/L2 across the task's panels, and each
 * panel's unpacking is paid once for all m rows. */
#include <stdlib.h>

#include "core/threadpool.h"
#include "kernels/gguf_quants.h"
#include "kernels/kernel_set.h"

enum { NR = NPG_GGML_GEMM_NR, MR = NPG_GGML_GEMM_MR, PANELS = 2 };

typedef struct gemm_job {
    const npg_weight *const *w;
    float *const *y;
    int64_t first[NPG_MATMUL_MULTI_MAX + 1]; /* first task of each weight */
    int64_t m;
    const uint8_t *xa; /* m quantized rows */
    size_t xstride;
    uint8_t *scratch; /* [threads][PANELS panels] */
    size_t scratch_stride;
} gemm_job;

typedef struct quant_job {
    const float *x;
    int64_t k, m, rows_per_task;
    uint8_t *xa;
    size_t xstride;
} quant_job;

static void quant_task(void *ctx, int task, int thread) {
    (void)thread;
    const quant_job *q = ctx;
    int64_t r0 = (int64_t)task * q->rows_per_task, r1 = r0 + q->rows_per_task < q->m ? r0 + q->rows_per_task : q->m;
    for (int64_t r = r0; r < r1; r++)
        npg_ggml_gemm_quantize_row(q->x + r * q->k, q->k, q->xa + (size_t)r * q->xstride);
}

static void gemm_task(void *ctx, int task, int thread) {
    const gemm_job *j = ctx;
    int wi = 0;
    while (task >= j->first[wi + 1])
        wi++;
    const npg_weight *w = j->w[wi];
    int64_t k = w->k, j0 = (task - j->first[wi]) * PANELS * NR;
    int np = (int)((w->n - j0 + NR - 1) / NR);
    np = np < PANELS ? np : PANELS;
    size_t pb = npg_ggml_gemm_panel_bytes(k);
    uint8_t *panels = j->scratch + (size_t)thread * j->scratch_stride;
    for (int p = 0; p < np; p++)
        npg_ggml_gemm_pack(w, j0 + p * NR, panels + (size_t)p * pb);
    float *y = j->y[wi];
    for (int64_t i = 0; i < j->m; i += MR) {
        int mr = (int)(j->m - i < MR ? j->m - i : MR);
        for (int p = 0; p < np; p++) {
            int64_t c0 = j0 + p * NR;
            int ncols = (int)(w->n - c0 < NR ? w->n - c0 : NR);
            npg_ggml_gemm_tile(w->type, panels + (size_t)p * pb, k, j->xa + (size_t)i * j->xstride, j->xstride, mr,
                               y + i * w->n + c0, w->n, ncols);
        }
    }
}

bool npg_matmul_ggml_gemm(const npg_compute *c, const float *x, int64_t m, const npg_weight *const *w,
                          float *const *y, int count) {
    npg_isa isa = c ? c->isa : NPG_ISA_SCALAR, best = npg_isa_detect();
    isa = isa > best ? best : isa;
    if (isa < NPG_ISA_AVX512 || !npg_cpu_has_vnni() || count < 1 || count > NPG_MATMUL_MULTI_MAX || m < 1)
        return false;
    int64_t k = w[0]->k;
    for (int i = 0; i < count; i++)
        if (w[i]->type != w[0]->type || w[i]->k != k || w[i]->n < 1 || !npg_ggml_gemm_type(w[i]->type) || k % 32)
            return false;
    npg_threadpool *pool = c ? c->pool : NULL;
    int threads = npg_threadpool_size(pool);
    size_t xstride = npg_ggml_gemm_act_bytes(k), sstride = ((size_t)PANELS * npg_ggml_gemm_panel_bytes(k) + 63) / 64 * 64;
    /* per-call buffers (prefill only): the compute workspace is sized for decode-like activations */
    uint8_t *xa = NULL, *scratch = NULL;
    if (posix_memalign((void **)&xa, 64, (size_t)m * xstride) != 0)
        return false;
    if (posix_memalign((void **)&scratch, 64, (size_t)threads * sstride) != 0) {
        free(xa);
        return false;
    }
    quant_job q = {.x = x, .k = k, .m = m, .xa = xa, .xstride = xstride};
    q.rows_per_task = (m + 4 * (int64_t)threads - 1) / (4 * (int64_t)threads);
    npg_threadpool_run(pool, (int)((m + q.rows_per_task - 1) / q.rows_per_task), quant_task, &q);
    gemm_job j = {.w = w, .y = y, .m = m, .xa = xa, .xstride = xstride, .scratch = scratch, .scratch_stride = sstride};
    j.first[0] = 0;
    for (int i = 0; i < count; i++)
        j.first[i + 1] = j.first[i] + (w[i]->n + PANELS * NR - 1) / (PANELS * NR);
    npg_threadpool_run(pool, (int)j.first[count], gemm_task, &j);
    free(scratch);
    free(xa);
    return true;
}
