/* matmul.c — ISA selection, workspace, and the driver that cuts y = x · Wᵀ into tiles for the thread
 * pool and hands them to the tile kernels of the chosen ISA (kernel_set.h).
 *
 * Blocking: a task owns a block of up to 64 activation rows × 64 weight rows. Inside it the input
 * dimension is cut into chunks (1024 floats / 2048 int8 inputs for m > 1) and, per chunk, the tiles
 * run activation-row-major, so one MR-row slice of x stays in L1 while the block's weight rows stream
 * from L2: each weight byte comes from memory once per 64 activation rows. For m = 1 (decode) the
 * row kernels stream every weight row once, split across threads by output rows; for 2 .. NPG_FEW_ROWS
 * rows (sequences decoded together) the "few" kernels do the same, all activation tiles of a weight
 * tile before the next weight tile. */
#include "kernels/matmul.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "core/error.h"
#include "kernels/gemm_int8.h"
#include "kernels/gguf_quants.h"
#include "kernels/kernel_set.h"
#include "weights/weights.h"

enum {
    BLOCK_M = 64,      /* activation rows per task */
    BLOCK_N = 64,      /* weight rows per task (before splitting for threads) */
    CHUNK_F = 1024,    /* inputs per chunk, float weights, m > 1 */
    CHUNK_Q = NPG_QCHUNK, /* inputs per chunk, integer weights, m > 1 */
    DEQ_ROWS = 8,      /* weight rows dequantized at a time by the fallback (>= every float kernel's nr) */
    WS_ALIGN = 64,
};

#if defined(__x86_64__) || defined(__i386__)
/* F16C through cpuid leaf 1 (ECX bit 29): clang 14's __builtin_cpu_supports has no "f16c". */
static bool cpu_has_f16c(void) {
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29));
}
#endif

/* bits 0-3: the best npg_isa; bit 4: AVX-512 VNNI */
static int detect_uncached(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c();
    if (avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return NPG_ISA_AVX512 | (__builtin_cpu_supports("avx512vnni") ? 16 : 0);
    if (avx2)
        return NPG_ISA_AVX2;
#endif
    return NPG_ISA_SCALAR;
}

/* The once-detected CPU features (-1 until the first call). A cpuid instruction traps to the
 * hypervisor in a virtual machine — 30 µs on the machine the benchmarks ran on, more than a whole
 * decode matmul — so it must not run per call. Racing first calls store the same value. */
static atomic_int detected_features = -1;

static int cpu_features(void) {
    int v = atomic_load_explicit(&detected_features, memory_order_relaxed);
    if (v < 0) {
        v = detect_uncached();
        atomic_store_explicit(&detected_features, v, memory_order_relaxed);
    }
    return v;
}

npg_isa npg_isa_detect(void) { return (npg_isa)(cpu_features() & 15); }

bool npg_cpu_has_vnni(void) { return (cpu_features() & 16) != 0; }

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

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t round_up(int64_t v, int64_t to) { return (v + to - 1) / to * to; }

static size_t qact_bytes(int64_t m, int64_t k) { return (size_t)m * npg_qact_row_bytes(round_up(k, NPG_QBLOCK)); }

static size_t dequant_stride(int64_t k) { return (size_t)DEQ_ROWS * (size_t)round_up(k, 16); /* floats */ }

npg_status npg_compute_reserve(npg_compute *c, int64_t max_m, int64_t max_k) {
    if (!c || max_m < 0 || max_k < 0)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_compute_reserve: NULL context or negative size (m %lld, k %lld)",
                        (long long)max_m, (long long)max_k);
    /* Integer weights need the quantized activations; the Q4_G fallback for odd group sizes needs
     * DEQ_ROWS dequantized rows per thread. The two never coexist. */
    size_t q = qact_bytes(max_m, max_k);
    size_t d = (size_t)npg_threadpool_size(c->pool) * dequant_stride(max_k) * sizeof(float);
    size_t ps = max_m >= NPG_PANEL_MIN_M ? (size_t)npg_threadpool_size(c->pool) * NPG_PANEL_SCRATCH : 0;
    size_t need = (q > d ? q : d) + ps + WS_ALIGN;
    if (need <= c->workspace_size)
        return NPG_OK;
    void *p = NULL;
    if (posix_memalign(&p, WS_ALIGN, need) != 0)
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory reserving %zu bytes of kernel workspace", need);
    free(c->workspace);
    c->workspace = p;
    c->workspace_size = need;
    return NPG_OK;
}

void npg_compute_release(npg_compute *c) {
    if (!c)
        return;
    free(c->workspace);
    c->workspace = NULL;
    c->workspace_size = 0;
}

void npg_qact_finish_row(const npg_qact *a, int64_t i) {
    const float *sx = npg_qact_scale(a, i);
    const int32_t *bs = npg_qact_bsum(a, i);
    float *cb = npg_qact_cbias(a, i);
    int64_t nb = a->kp / NPG_QBLOCK, per = NPG_QCHUNK / NPG_QBLOCK;
    float total = 0.0f;
    for (int64_t c = 0; c * per < nb; c++) {
        float t = 0.0f;
        for (int64_t b = c * per; b < nb && b < (c + 1) * per; b++)
            t += sx[b] * (float)bs[b];
        cb[c] = t;
        total += t;
    }
    cb[(nb + per - 1) / per] = total;
}

void npg_weight_get_row(const npg_weight *w, int64_t row, float *out) { npg_dequantize_row(w, row, out); }

static void kernel_set_for(npg_isa isa, npg_kernel_set *ks) {
    switch (isa) {
    case NPG_ISA_AVX512: npg_kernels_avx512(ks); break;
    case NPG_ISA_AVX2: npg_kernels_avx2(ks); break;
    case NPG_ISA_SCALAR: npg_kernels_scalar(ks); break;
    }
}

/* One matmul cut into tasks; a task is (activation block bi, weight block bj). */
typedef struct mm_job {
    npg_mm_args args;
    npg_tile_kernel kern;
    int64_t m, n;
    int64_t klen; /* k, or kp for integer weights */
    int64_t kc;   /* chunk of the input dimension */
    int64_t mb, nb, n_blocks;
    bool stream; /* decode-like: every weight read once (one row, or a few sequences' rows) */
    bool panel;  /* gemm_int8.h's panel kernel: one call per weight panel, all rows and inputs */
    uint8_t *panel_ws; /* its per-thread scratch, NPG_PANEL_SCRATCH bytes each */
    /* dequantizing fallback only */
    const npg_weight *src;
    float *scratch;
    size_t scratch_stride;
} mm_job;

static void plan_blocks(mm_job *jb, int threads) {
    int64_t mr = jb->kern.mr, nr = jb->kern.nr;
    if (jb->panel) { /* tasks = the weight's panels; each unpacks its panel once for every row */
        jb->mb = jb->m;
        jb->nb = nr;
        jb->n_blocks = (jb->n + nr - 1) / nr;
        return;
    }
    jb->mb = jb->stream ? jb->m : round_up(min64(jb->m, BLOCK_M), mr);
    jb->nb = round_up(BLOCK_N, nr);
    /* Decode: about 4 contiguous stretches of rows per thread — enough to even out the threads, few
     * enough that the kernels' prefetch past a task's last row (into the next task) rarely fetches
     * rows another thread will read. */
    if (jb->stream) {
        int64_t per = round_up((jb->n + 4 * (int64_t)threads - 1) / (4 * (int64_t)threads), nr);
        jb->nb = per > jb->nb ? per : jb->nb;
    }
    /* enough tasks for dynamic scheduling to even out the threads */
    for (;;) {
        int64_t tasks = ((jb->m + jb->mb - 1) / jb->mb) * ((jb->n + jb->nb - 1) / jb->nb);
        if (tasks >= 4 * (int64_t)threads)
            break;
        if (jb->nb > nr)
            jb->nb = round_up(jb->nb / 2, nr);
        else if (jb->mb > mr)
            jb->mb = round_up(jb->mb / 2, mr);
        else
            break;
    }
    jb->n_blocks = (jb->n + jb->nb - 1) / jb->nb;
}

static void tiles_task(void *ctx, int task, int thread) {
    (void)thread;
    const mm_job *jb = ctx;
    if (jb->panel) { /* one call: all rows and inputs of the panel, on this thread's scratch */
        npg_mm_args a = jb->args;
        a.scratch = jb->panel_ws + (size_t)thread * NPG_PANEL_SCRATCH;
        int64_t j0 = (int64_t)task * jb->nb;
        jb->kern.fn(&a, 0, (int)jb->m, j0, (int)min64(jb->nb, jb->n - j0), 0, jb->klen, 0);
        return;
    }
    int64_t i0 = (task / jb->n_blocks) * jb->mb, i1 = min64(i0 + jb->mb, jb->m);
    int64_t j0 = (task % jb->n_blocks) * jb->nb, j1 = min64(j0 + jb->nb, jb->n);
    int mr = jb->kern.mr, nr = jb->kern.nr;
    if (jb->stream) {
        /* decode (one chunk: kc = klen): every activation tile of an nr-row weight tile in turn, so
         * the tile comes from memory once and the later activation tiles read it from L1 (up to
         * NPG_FEW_ROWS rows in tiles of mr) */
        for (int64_t j = j0; j < j1; j += nr)
            for (int64_t i = i0; i < i1; i += mr)
                jb->kern.fn(&jb->args, i, (int)min64(mr, i1 - i), j, (int)min64(nr, j1 - j), 0, jb->klen, 0);
        return;
    }
    for (int64_t k0 = 0; k0 < jb->klen; k0 += jb->kc) {
        int64_t k1 = min64(k0 + jb->kc, jb->klen);
        for (int64_t i = i0; i < i1; i += mr)
            for (int64_t j = j0; j < j1; j += nr)
                jb->kern.fn(&jb->args, i, (int)min64(mr, i1 - i), j, (int)min64(nr, j1 - j), k0, k1, k0 > 0);
    }
}

/* Fallback for Q4_G group sizes the integer kernels do not take: DEQ_ROWS weight rows at a time are
 * dequantized into this thread's scratch and multiplied by the float kernel. */
static void dequant_task(void *ctx, int task, int thread) {
    const mm_job *jb = ctx;
    float *buf = jb->scratch + (size_t)thread * jb->scratch_stride;
    int64_t k = jb->src->k;
    npg_weight tmp = {.type = NPG_W_F32, .n = 0, .k = k, .data = buf};
    npg_mm_args args = jb->args;
    args.w = &tmp;
    int64_t j0 = (int64_t)task * jb->nb, j1 = min64(j0 + jb->nb, jb->n);
    int mr = jb->kern.mr, nr = jb->kern.nr;
    for (int64_t j = j0; j < j1; j += nr) {
        int cnt = (int)min64(nr, j1 - j);
        for (int r = 0; r < cnt; r++)
            npg_dequantize_row(jb->src, j + r, buf + (size_t)r * (size_t)k);
        tmp.n = cnt;
        args.y = jb->args.y + j;
        for (int64_t i = 0; i < jb->m; i += mr)
            jb->kern.fn(&args, i, (int)min64(mr, jb->m - i), 0, cnt, 0, k, 0);
    }
}

typedef struct qact_job {
    const float *x;
    int64_t k, rows_per_task, m;
    const npg_qact *qa;
    void (*fn)(const float *x, int64_t k, const npg_qact *qa, int64_t i);
} qact_job;

static void qact_task(void *ctx, int task, int thread) {
    (void)thread;
    const qact_job *q = ctx;
    int64_t r1 = min64((int64_t)(task + 1) * q->rows_per_task, q->m);
    for (int64_t r = (int64_t)task * q->rows_per_task; r < r1; r++) {
        q->fn(q->x + r * q->k, q->k, q->qa, r);
        npg_qact_finish_row(q->qa, r);
    }
}

static uint8_t *aligned_workspace(const npg_compute *c, size_t *usable) {
    uintptr_t p = (uintptr_t)c->workspace;
    uintptr_t a = (p + WS_ALIGN - 1) / WS_ALIGN * WS_ALIGN;
    if (!c->workspace || c->workspace_size < a - p) {
        *usable = 0;
        return NULL;
    }
    *usable = c->workspace_size - (a - p);
    return (uint8_t *)a;
}

/* The panel kernels' per-thread scratch comes off the end of the workspace (the quantized activations
 * keep its start); when what is left would not hold NPG_PANEL_MIN_M activation rows, the jobs go back
 * to the tile kernels. */
static void panel_scratch(mm_job *jobs, int count, const npg_kernel_set *ks, uint8_t *ws, size_t *ws_size,
                          int threads, size_t row_bytes) {
    bool any = false;
    for (int i = 0; i < count; i++)
        any = any || jobs[i].panel;
    if (!any)
        return;
    size_t p = (size_t)threads * NPG_PANEL_SCRATCH;
    bool fits = *ws_size >= p + (size_t)NPG_PANEL_MIN_M * row_bytes;
    if (fits)
        *ws_size = (*ws_size - p) / WS_ALIGN * WS_ALIGN;
    for (int i = 0; i < count; i++) {
        if (!jobs[i].panel)
            continue;
        jobs[i].panel = fits;
        jobs[i].panel_ws = fits ? ws + *ws_size : NULL;
        if (!fits)
            jobs[i].kern = ks->tile[jobs[i].args.w->type];
    }
}

/* The job of one weight: kernel choice (row / few / tile) and output layout. */
static void job_init(mm_job *jb, const npg_kernel_set *ks, const float *x, int64_t m, const npg_weight *w, float *y) {
    *jb = (mm_job){.m = m, .n = w->n};
    jb->args.w = w;
    jb->args.x = x;
    jb->args.y = y;
    jb->args.ldy = w->n;
    jb->kern = m == 1 ? ks->row[w->type] : ks->tile[w->type];
    /* a few rows (several sequences decoded together): the streaming kernel takes them, weight tile by
     * weight tile (tiles_task) */
    bool few = m > 1 && ks->few[w->type].fn && m <= NPG_FEW_ROWS;
    if (few)
        jb->kern = ks->few[w->type];
    jb->stream = m == 1 || few;
    if (!jb->stream && m >= NPG_PANEL_MIN_M && w->type > NPG_W_BF16) {
        npg_tile_kernel pk = npg_int_panel_kernel(ks->isa, w);
        if (pk.fn) {
            jb->kern = pk;
            jb->panel = true;
        }
    }
}

static npg_isa compute_isa(const npg_compute *c) {
    npg_isa isa = c ? c->isa : NPG_ISA_SCALAR, best = npg_isa_detect();
    return isa > best ? best : isa;
}

void npg_matmul(const npg_compute *c, const float *x, int64_t m, const npg_weight *w, float *y) {
    if (m <= 0 || w->n <= 0 || w->k <= 0)
        return;
    npg_kernel_set ks;
    kernel_set_for(compute_isa(c), &ks);
    npg_threadpool *pool = c ? c->pool : NULL;
    int threads = npg_threadpool_size(pool);
    size_t ws_size = 0;
    uint8_t *ws = c ? aligned_workspace(c, &ws_size) : NULL;

    /* llama.cpp block types (GGUF in place, gguf_quants.h): decode by the row dot kernels (int8
     * activations where they pay), prefill by the VNNI integer GEMM where the type has one, else by
     * dequantized 64-row blocks and the f32 tile kernels */
    bool ggml = npg_wtype_is_ggml(w->type);
    if (ggml) {
        if (m > 2 ? !npg_matmul_ggml_gemm(c, x, m, &w, &y, 1) && !npg_matmul_ggml_prefill(c, x, m, w, y)
                  : !npg_matmul_ggml_q8(c, x, m, w, y, ws, ws_size))
            npg_matmul_ggml_rows(c, x, m, w, y);
        return;
    }

    mm_job jb;
    job_init(&jb, &ks, x, m, w, y);

    if (w->type <= NPG_W_BF16) {
        jb.klen = w->k;
        jb.kc = m == 1 ? w->k : CHUNK_F;
        plan_blocks(&jb, threads);
        int64_t tasks = ((m + jb.mb - 1) / jb.mb) * jb.n_blocks;
        npg_threadpool_run(pool, (int)tasks, tiles_task, &jb);
        return;
    }

    if (w->type == NPG_W_Q4_G && !npg_q4g_fast(w->group_size)) {
        size_t stride = dequant_stride(w->k);
        if (ws_size < (size_t)threads * stride * sizeof(float)) {
            npg_matmul_ref(x, m, w, y); /* no workspace reserved: slow but correct */
            return;
        }
        jb.kern = m == 1 ? ks.row[NPG_W_F32] : ks.tile[NPG_W_F32];
        jb.src = w;
        jb.scratch = (float *)ws;
        jb.scratch_stride = stride;
        jb.mb = m;
        jb.nb = round_up(BLOCK_N, jb.kern.nr);
        while (jb.nb > jb.kern.nr && (w->n + jb.nb - 1) / jb.nb < 4 * (int64_t)threads)
            jb.nb = round_up(jb.nb / 2, jb.kern.nr);
        npg_threadpool_run(pool, (int)((w->n + jb.nb - 1) / jb.nb), dequant_task, &jb);
        return;
    }

    /* integer weights: quantize activations into the workspace, as many rows at a time as fit */
    int64_t kp = round_up(w->k, NPG_QBLOCK);
    size_t row_bytes = npg_qact_row_bytes(kp);
    panel_scratch(&jb, 1, &ks, ws, &ws_size, threads, row_bytes);
    int64_t fit = (int64_t)(ws_size / row_bytes);
    if (fit < 1) {
        npg_matmul_ref(x, m, w, y);
        return;
    }
    jb.klen = kp;
    jb.kc = kp;
    if (!jb.stream && !jb.panel) {
        jb.kc = CHUNK_Q; /* a multiple of NPG_QBLOCK; kernels find each block's group themselves */
    }
    for (int64_t r0 = 0; r0 < m; r0 += fit) {
        int64_t rows = min64(fit, m - r0);
        npg_qact qa = {.base = ws, .stride = row_bytes, .kp = kp};
        qact_job qj = {.x = x + r0 * w->k, .k = w->k, .m = rows, .qa = &qa, .fn = ks.quantize_act};
        qj.rows_per_task = rows < 4 * (int64_t)threads ? rows : (rows + 4 * threads - 1) / (4 * threads);
        npg_threadpool_run(pool, (int)((rows + qj.rows_per_task - 1) / qj.rows_per_task), qact_task, &qj);
        jb.m = rows;
        jb.args.qa = qa;
        jb.args.y = y + r0 * w->n;
        plan_blocks(&jb, threads);
        int64_t tasks = ((rows + jb.mb - 1) / jb.mb) * jb.n_blocks;
        npg_threadpool_run(pool, (int)tasks, tiles_task, &jb);
    }
}

/* Several weights over the same input in one parallel region: tasks of weight 0, then weight 1, ...,
 * each weight cut into blocks exactly as npg_matmul cuts it alone. */
typedef struct multi_job {
    mm_job jobs[NPG_MATMUL_MULTI_MAX];
    int64_t first[NPG_MATMUL_MULTI_MAX + 1]; /* first task of each weight; first[count] = all tasks */
    int count;
} multi_job;

static void multi_task(void *ctx, int task, int thread) {
    multi_job *mj = ctx; /* read only */
    int i = 0;
    while (task >= mj->first[i + 1])
        i++;
    tiles_task(&mj->jobs[i], (int)(task - mj->first[i]), thread);
}

static int64_t plan_all(multi_job *mj, int threads) {
    mj->first[0] = 0;
    for (int i = 0; i < mj->count; i++) {
        mm_job *jb = &mj->jobs[i];
        plan_blocks(jb, threads);
        mj->first[i + 1] = mj->first[i] + ((jb->m + jb->mb - 1) / jb->mb) * jb->n_blocks;
    }
    return mj->first[mj->count];
}

void npg_matmul_multi(const npg_compute *c, const float *x, int64_t m, const npg_weight *const *w, float *const *y,
                      int count) {
    /* The shared region needs one input layout: the same type and k for every weight (then the
     * activations are quantized once), and a type with a direct kernel. Anything else runs one by one. */
    bool same = count >= 1 && count <= NPG_MATMUL_MULTI_MAX && m > 0;
    for (int i = 0; same && i < count; i++)
        same = w[i]->n > 0 && w[i]->k > 0 && w[i]->type == w[0]->type && w[i]->k == w[0]->k &&
               !(w[i]->type == NPG_W_Q4_G && !npg_q4g_fast(w[i]->group_size)) && !npg_wtype_is_ggml(w[i]->type);
    npg_threadpool *pool = c ? c->pool : NULL;
    size_t ws_size = 0;
    uint8_t *ws = c ? aligned_workspace(c, &ws_size) : NULL;
    /* GGUF block types decode in one region too (gguf_quants.c checks type and k) */
    if (count >= 2 && m > 0 && npg_wtype_is_ggml(w[0]->type) &&
        (m <= 2 ? npg_matmul_ggml_q8_multi(c, x, m, w, y, count, ws, ws_size) : npg_matmul_ggml_gemm(c, x, m, w, y, count)))
        return;
    int64_t k = same ? w[0]->k : 0, kp = round_up(k, NPG_QBLOCK);
    size_t row_bytes = npg_qact_row_bytes(kp);
    bool integer = same && w[0]->type > NPG_W_BF16;
    int64_t fit = integer ? (int64_t)(ws_size / row_bytes) : m;
    if (!same || count == 1 || fit < 1) {
        for (int i = 0; i < count; i++)
            npg_matmul(c, x, m, w[i], y[i]);
        return;
    }
    npg_kernel_set ks;
    kernel_set_for(compute_isa(c), &ks);
    int threads = npg_threadpool_size(pool);
    multi_job mj = {.count = count};
    for (int i = 0; i < count; i++) {
        job_init(&mj.jobs[i], &ks, x, m, w[i], y[i]);
        mj.jobs[i].klen = integer ? kp : k;
        /* as npg_matmul: float weights chunk every m > 1, integer ones all but the streaming kernels */
        mj.jobs[i].kc = integer ? (mj.jobs[i].stream || mj.jobs[i].panel ? kp : CHUNK_Q) : (m == 1 ? k : CHUNK_F);
    }
    if (integer) {
        panel_scratch(mj.jobs, count, &ks, ws, &ws_size, threads, row_bytes);
        fit = (int64_t)(ws_size / row_bytes);
        for (int i = 0; i < count; i++)
            if (!mj.jobs[i].stream && !mj.jobs[i].panel)
                mj.jobs[i].kc = CHUNK_Q;
    }
    if (!integer) {
        npg_threadpool_run(pool, (int)plan_all(&mj, threads), multi_task, &mj);
        return;
    }
    for (int64_t r0 = 0; r0 < m; r0 += fit) {
        int64_t rows = min64(fit, m - r0);
        npg_qact qa = {.base = ws, .stride = row_bytes, .kp = kp};
        qact_job qj = {.x = x + r0 * k, .k = k, .m = rows, .qa = &qa, .fn = ks.quantize_act};
        qj.rows_per_task = rows < 4 * (int64_t)threads ? rows : (rows + 4 * threads - 1) / (4 * threads);
        npg_threadpool_run(pool, (int)((rows + qj.rows_per_task - 1) / qj.rows_per_task), qact_task, &qj);
        for (int i = 0; i < count; i++) {
            mj.jobs[i].m = rows;
            mj.jobs[i].args.qa = qa;
            mj.jobs[i].args.y = y[i] + r0 * w[i]->n;
        }
        npg_threadpool_run(pool, (int)plan_all(&mj, threads), multi_task, &mj);
    }
}
