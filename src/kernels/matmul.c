/* matmul.c — dispatch of npg_matmul over weight types and ISAs, split across threads by output rows. */
#include "kernels/matmul.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/half.h"

npg_isa npg_isa_detect(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma"))
        return NPG_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return NPG_ISA_AVX2;
#endif
    return NPG_ISA_SCALAR;
}

const char *npg_isa_name(npg_isa isa) {
    switch (isa) {
    case NPG_ISA_SCALAR: return "scalar";
    case NPG_ISA_AVX2: return "avx2";
    case NPG_ISA_AVX512: return "avx512";
    }
    return "unknown";
}

npg_status npg_isa_parse(const char *name, npg_isa *out) {
    npg_isa best = npg_isa_detect();
    npg_isa want;
    if (!name || strcmp(name, "auto") == 0)
        want = best;
    else if (strcmp(name, "scalar") == 0)
        want = NPG_ISA_SCALAR;
    else if (strcmp(name, "avx2") == 0)
        want = NPG_ISA_AVX2;
    else if (strcmp(name, "avx512") == 0)
        want = NPG_ISA_AVX512;
    else
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "KERNEL_ISA: '%s' is not one of auto, scalar, avx2, avx512", name);
    if (want > best)
        return npg_fail(NPG_ERR_UNSUPPORTED, "KERNEL_ISA: this CPU does not support %s (best: %s)",
                        npg_isa_name(want), npg_isa_name(best));
    *out = want;
    return NPG_OK;
}

const char *npg_wtype_name(npg_wtype t) {
    static const char *const names[NPG_W_COUNT] = {"f32", "f16", "bf16", "int8_cw", "int4_cw", "int4_g", "nf4_cw"};
    return (t >= 0 && t < NPG_W_COUNT) ? names[t] : "unknown";
}

npg_status npg_compute_reserve(npg_compute *c, int64_t max_m, int64_t max_k) {
    /* int8 activations + per-row scales/sums, with headroom for alignment */
    size_t need = (size_t)max_m * ((size_t)max_k + 64) + (size_t)max_m * 16 + 256;
    if (need <= c->workspace_size)
        return NPG_OK;
    void *p = NULL;
    if (posix_memalign(&p, 64, need) != 0)
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory reserving %zu bytes of kernel workspace", need);
    free(c->workspace);
    c->workspace = p;
    c->workspace_size = need;
    return NPG_OK;
}

void npg_compute_release(npg_compute *c) {
    free(c->workspace);
    c->workspace = NULL;
    c->workspace_size = 0;
}

void npg_weight_get_row(const npg_weight *w, int64_t row, float *out) {
    int64_t k = w->k;
    switch (w->type) {
    case NPG_W_F32:
        memcpy(out, (const float *)w->data + row * k, (size_t)k * sizeof(float));
        break;
    case NPG_W_F16: {
        const uint16_t *r = (const uint16_t *)w->data + row * k;
        for (int64_t i = 0; i < k; i++)
            out[i] = npg_f16_to_f32(r[i]);
        break;
    }
    case NPG_W_BF16: {
        const uint16_t *r = (const uint16_t *)w->data + row * k;
        for (int64_t i = 0; i < k; i++)
            out[i] = npg_bf16_to_f32(r[i]);
        break;
    }
    default:
        memset(out, 0, (size_t)k * sizeof(float));
        break;
    }
}

static float dot_row_ref(const float *x, const npg_weight *w, int64_t row) {
    int64_t k = w->k;
    float acc = 0.0f;
    switch (w->type) {
    case NPG_W_F32: {
        const float *r = (const float *)w->data + row * k;
        for (int64_t i = 0; i < k; i++)
            acc += x[i] * r[i];
        break;
    }
    case NPG_W_F16: {
        const uint16_t *r = (const uint16_t *)w->data + row * k;
        for (int64_t i = 0; i < k; i++)
            acc += x[i] * npg_f16_to_f32(r[i]);
        break;
    }
    case NPG_W_BF16: {
        const uint16_t *r = (const uint16_t *)w->data + row * k;
        for (int64_t i = 0; i < k; i++)
            acc += x[i] * npg_bf16_to_f32(r[i]);
        break;
    }
    default:
        break;
    }
    return acc;
}

void npg_matmul_ref(const float *x, int64_t m, const npg_weight *w, float *y) {
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < w->n; j++)
            y[i * w->n + j] = dot_row_ref(x + i * w->k, w, j);
}

typedef struct matmul_job {
    const float *x;
    int64_t m;
    const npg_weight *w;
    float *y;
    int64_t rows_per_task;
} matmul_job;

static void matmul_task(void *ctx, int task, int thread) {
    (void)thread;
    const matmul_job *job = ctx;
    int64_t r0 = (int64_t)task * job->rows_per_task;
    int64_t r1 = r0 + job->rows_per_task;
    if (r1 > job->w->n)
        r1 = job->w->n;
    for (int64_t i = 0; i < job->m; i++)
        for (int64_t j = r0; j < r1; j++)
            job->y[i * job->w->n + j] = dot_row_ref(job->x + i * job->w->k, job->w, j);
}

void npg_matmul(const npg_compute *c, const float *x, int64_t m, const npg_weight *w, float *y) {
    int threads = npg_threadpool_size(c ? c->pool : NULL);
    int64_t tasks = (int64_t)threads * 4;
    if (tasks > w->n)
        tasks = w->n;
    if (tasks < 1)
        tasks = 1;
    matmul_job job = {x, m, w, y, (w->n + tasks - 1) / tasks};
    npg_threadpool_run(c ? c->pool : NULL, (int)((w->n + job.rows_per_task - 1) / job.rows_per_task), matmul_task,
                       &job);
}
