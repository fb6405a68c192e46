/* gemm_packed.c — the packed-B GEMM of gemm_packed.h.
 *
 * Blocking (Goto style): a task owns MB_ rows × NB_ columns of C and walks K in KC_ chunks. For each
 * chunk, each 32-column panel of B (KC_ × 32 f32 = 32 KB, contiguous after packing) stays in L1 while
 * every MR-row strip of the block's A (MB_ × KC_ = 120 KB, in L2) streams past it. The AVX-512
 * micro-kernel keeps a 12 × 32 block of C in 24 of the 32 registers: 24 independent FMA chains hide the
 * FMA latency at 2 FMAs per cycle, and each k step loads 2 B vectors and broadcasts 12 A values for 24
 * FMAs. AVX2: 6 × 16 in 12 of 16 registers. Scalar: plain loops (the tests compare all three).
 * Bias (and the residual, accumulate) go into C before the first chunk (AVX-512: into the kernel's
 * accumulators on the first chunk); the activation is applied to
 * the block after the last one, while it is still in L2. */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kernels/avx2_inline.h"
#include "kernels/avx512_inline.h"
#include "kernels/gemm_packed.h"

enum { P_ = NPG_GEMM_PANEL, MR512_ = 12, MR256_ = 6, MB_ = 120, NB_ = 256, KC_ = 256, DQ_ = 64 };

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

size_t npg_gemm_packed_size(int64_t n, int64_t k) { return (size_t)((n + P_ - 1) / P_ * P_ * k); }

/* ---- packing ------------------------------------------------------------------------------------- */

typedef struct pack_job {
    const npg_weight *w;
    int64_t col0, n_total, p0;
    float *packed;
} pack_job;

/* One panel, DQ_ inputs at a time: the panel's 32 weight rows dequantized into t [32][DQ_] (8 KB, in
 * L1), then written out input by input, 32 contiguous floats each (a blocked transpose: writing one
 * weight row at a time would touch a new cache line per value). */
static void pack_task(void *ctx, int task, int thread) {
    (void)thread;
    const pack_job *j = ctx;
    int64_t K = j->w->k, p = j->p0 + task, c0 = p * P_;
    float *panel = j->packed + p * P_ * K;
    int last = j->col0 + j->w->n == j->n_total;
    float t[P_ * DQ_];
    for (int64_t k0 = 0; k0 < K; k0 += DQ_) {
        int64_t kn = min64(DQ_, K - k0);
        int own[P_];
        for (int64_t jj = 0; jj < P_; jj++) {
            int64_t row = c0 + jj - j->col0;
            own[jj] = row >= 0 && row < j->w->n;
            if (own[jj])
                npg_dequantize_range(j->w, row, k0, k0 + kn, t + jj * DQ_);
            else if (last && c0 + jj >= j->n_total) { /* padding columns: zero, so no NaN hides there */
                own[jj] = 1;
                memset(t + jj * DQ_, 0, (size_t)kn * sizeof(float));
            }
        }
        for (int64_t k = 0; k < kn; k++) {
            float *dst = panel + (k0 + k) * P_;
            for (int64_t jj = 0; jj < P_; jj++)
                if (own[jj])
                    dst[jj] = t[jj * DQ_ + k];
        }
    }
}

void npg_gemm_pack(const npg_compute *c, const npg_weight *w, int64_t col0, int64_t n_total, float *packed) {
    if (w->n <= 0 || w->k <= 0)
        return;
    int64_t p0 = col0 / P_, p1 = (col0 + w->n - 1) / P_;
    pack_job j = {.w = w, .col0 = col0, .n_total = n_total, .p0 = p0, .packed = packed};
    npg_threadpool_run(c ? c->pool : NULL, (int)(p1 - p0 + 1), pack_task, &j);
}

/* ---- the GEMM ------------------------------------------------------------------------------------ */

typedef struct gemm_job {
    int64_t M, N, K, lda, ldc;
    const float *A, *B, *bias;
    float *C;
    npg_gemm_act act;
    int accumulate;
    npg_isa isa;
    int64_t n_nblocks;
} gemm_job;

static const float *panel_at(const gemm_job *g, int64_t j, int64_t k) { return g->B + (j / P_) * P_ * g->K + k * P_; }

static void block_scalar(const gemm_job *g, int64_t i0, int64_t i1, int64_t j0, int64_t j1, int64_t k0, int64_t k1) {
    for (int64_t i = i0; i < i1; i++) {
        float *c = g->C + i * g->ldc;
        const float *a = g->A + i * g->lda;
        for (int64_t k = k0; k < k1; k++)
            for (int64_t j = j0; j < j1; j++)
                c[j] += a[k] * panel_at(g, j, k)[j % P_];
    }
}

/* A strip of fewer than mr_full rows is copied into a zero-padded [mr_full, KC_] panel so a kernel
 * always reads mr_full rows that exist. */
static const float *strip(const gemm_job *g, int64_t i, int mr, int mr_full, int64_t k0, int64_t kn, float *pad,
                          int64_t *lda) {
    const float *a = g->A + i * g->lda + k0;
    *lda = g->lda;
    if (mr == mr_full)
        return a;
    memset(pad, 0, sizeof(float) * (size_t)(mr_full * KC_));
    for (int r = 0; r < mr; r++)
        memcpy(pad + r * KC_, a + r * g->lda, (size_t)kn * sizeof(float));
    *lda = KC_;
    return pad;
}

/* ---- AVX2: 6 rows × 16 columns (half a panel) --------------------------------------------------- */

AVX2_FN static void mk_avx2(const float *a, int64_t lda, const float *b, int64_t kn, float *c, int64_t ldc) {
    __m256 acc[MR256_][2];
    UNROLL
    for (int r = 0; r < MR256_; r++) {
        acc[r][0] = _mm256_loadu_ps(c + r * ldc);
        acc[r][1] = _mm256_loadu_ps(c + r * ldc + 8);
    }
    for (int64_t k = 0; k < kn; k++) {
        __m256 b0 = _mm256_loadu_ps(b + k * P_), b1 = _mm256_loadu_ps(b + k * P_ + 8);
        UNROLL
        for (int r = 0; r < MR256_; r++) {
            __m256 x = _mm256_broadcast_ss(a + r * lda + k);
            acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
        }
    }
    UNROLL
    for (int r = 0; r < MR256_; r++) {
        _mm256_storeu_ps(c + r * ldc, acc[r][0]);
        _mm256_storeu_ps(c + r * ldc + 8, acc[r][1]);
    }
}

static void block_avx2(const gemm_job *g, int64_t i0, int64_t i1, int64_t j0, int64_t j1, int64_t k0, int64_t k1) {
    float pad[MR256_ * KC_], t[MR256_ * 16];
    int64_t kn = k1 - k0;
    for (int64_t j = j0; j < j1; j += 16) {
        int64_t cols = min64(16, j1 - j);
        const float *b = panel_at(g, j, k0) + j % P_;
        for (int64_t i = i0; i < i1; i += MR256_) {
            int mr = (int)min64(MR256_, i1 - i);
            int64_t lda;
            const float *a = strip(g, i, mr, MR256_, k0, kn, pad, &lda);
            float *c = g->C + i * g->ldc + j;
            if (mr == MR256_ && cols == 16) {
                mk_avx2(a, lda, b, kn, c, g->ldc);
                continue;
            }
            memset(t, 0, sizeof t); /* a partial tile goes through t */
            for (int r = 0; r < mr; r++)
                memcpy(t + r * 16, c + r * g->ldc, (size_t)cols * sizeof(float));
            mk_avx2(a, lda, b, kn, t, 16);
            for (int r = 0; r < mr; r++)
                memcpy(c + r * g->ldc, t + r * 16, (size_t)cols * sizeof(float));
        }
    }
}

/* ---- AVX-512: 12 rows × 32 columns (one panel) -------------------------------------------------- */

static __mmask16 lane_mask(int64_t n) { return n >= 16 ? (__mmask16)0xffff : n <= 0 ? 0 : (__mmask16)((1u << n) - 1u); }

/* C[0..mr) rows × 32 columns (lanes m0, m1) = (load ? C : 0) (+ bias) + A[12 rows, kn] · B[kn, 32 packed].
 * The bias is added in registers on the first K chunk (bias non-NULL only then), in the order the
 * separate pass used (C + bias, then the products), so results are unchanged; the separate pass was a
 * scalar read-modify-write of all of C per GEMM, ~2.5% of the vision tower. A's rows are addressed
 * from three bases (rows 0-3, 4-7, 8-11) with small lda multiples. */
AVX512_FN static void mk_avx512(const float *a, int64_t lda, const float *b, int64_t kn, float *c, int64_t ldc, int mr,
                                __mmask16 m0, __mmask16 m1, int load, const float *bias) {
    __m512 acc[MR512_][2];
    __m512 bv0 = _mm512_setzero_ps(), bv1 = bv0;
    if (bias) {
        bv0 = _mm512_maskz_loadu_ps(m0, bias);
        bv1 = _mm512_maskz_loadu_ps(m1, bias + 16);
    }
    UNROLL
    for (int r = 0; r < MR512_; r++) {
        acc[r][0] = _mm512_maskz_loadu_ps(load && r < mr ? m0 : 0, c + r * ldc);
        acc[r][1] = _mm512_maskz_loadu_ps(load && r < mr ? m1 : 0, c + r * ldc + 16);
        if (bias) {
            acc[r][0] = _mm512_add_ps(acc[r][0], bv0);
            acc[r][1] = _mm512_add_ps(acc[r][1], bv1);
        }
    }
    const float *a0 = a, *a4 = a + 4 * lda, *a8 = a + 8 * lda;
    for (int64_t k = 0; k < kn; k++) {
        __m512 b0 = _mm512_loadu_ps(b + k * P_), b1 = _mm512_loadu_ps(b + k * P_ + 16);
        UNROLL
        for (int r = 0; r < 4; r++) {
            __m512 x = _mm512_set1_ps(a0[r * lda + k]), y = _mm512_set1_ps(a4[r * lda + k]),
                   z = _mm512_set1_ps(a8[r * lda + k]);
            acc[r][0] = _mm512_fmadd_ps(x, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(x, b1, acc[r][1]);
            acc[r + 4][0] = _mm512_fmadd_ps(y, b0, acc[r + 4][0]);
            acc[r + 4][1] = _mm512_fmadd_ps(y, b1, acc[r + 4][1]);
            acc[r + 8][0] = _mm512_fmadd_ps(z, b0, acc[r + 8][0]);
            acc[r + 8][1] = _mm512_fmadd_ps(z, b1, acc[r + 8][1]);
        }
    }
    UNROLL
    for (int r = 0; r < MR512_; r++)
        if (r < mr) {
            _mm512_mask_storeu_ps(c + r * ldc, m0, acc[r][0]);
            _mm512_mask_storeu_ps(c + r * ldc + 16, m1, acc[r][1]);
        }
}

static void block_avx512(const gemm_job *g, int64_t i0, int64_t i1, int64_t j0, int64_t j1, int64_t k0, int64_t k1,
                         int load, const float *bias) {
    float pad[MR512_ * KC_];
    int64_t kn = k1 - k0;
    for (int64_t j = j0; j < j1; j += P_) {
        __mmask16 m0 = lane_mask(j1 - j), m1 = lane_mask(j1 - j - 16);
        const float *b = panel_at(g, j, k0);
        for (int64_t i = i0; i < i1; i += MR512_) {
            int mr = (int)min64(MR512_, i1 - i);
            int64_t lda;
            const float *a = strip(g, i, mr, MR512_, k0, kn, pad, &lda);
            mk_avx512(a, lda, b, kn, g->C + i * g->ldc + j, g->ldc, mr, m0, m1, load, bias ? bias + j : NULL);
        }
    }
}

/* ---- activations --------------------------------------------------------------------------------- */

static float act_scalar(npg_gemm_act act, float x) {
    switch (act) {
    case NPG_GEMM_ACT_GELU_TANH: return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
    case NPG_GEMM_ACT_QUICK_GELU: return x / (1.0f + expf(-1.702f * x));
    case NPG_GEMM_ACT_GELU_ERF: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case NPG_GEMM_ACT_NONE: break;
    }
    return x;
}

/* The sigmoid forms, x · σ(s(x)) = x / (1 + exp(-s(x))), with the vectorised exp (GELU-tanh's
 * 0.5 (1 + tanh u) is σ(2u)); GELU-erf stays scalar. */
AVX512_FN static void act_row_avx512(npg_gemm_act act, float *x, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = lane_mask(n - i);
        __m512 v = _mm512_maskz_loadu_ps(m, x + i), s;
        if (act == NPG_GEMM_ACT_GELU_TANH) {
            __m512 v3 = _mm512_mul_ps(_mm512_mul_ps(v, v), v);
            s = _mm512_mul_ps(_mm512_set1_ps(-2.0f * 0.7978845608028654f),
                              _mm512_fmadd_ps(_mm512_set1_ps(0.044715f), v3, v));
        } else {
            s = _mm512_mul_ps(_mm512_set1_ps(-1.702f), v);
        }
        __m512 y = _mm512_div_ps(v, _mm512_add_ps(_mm512_set1_ps(1.0f), npg_exp512(s)));
        _mm512_mask_storeu_ps(x + i, m, y);
    }
}

static void activate(const gemm_job *g, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    for (int64_t i = i0; i < i1; i++) {
        float *c = g->C + i * g->ldc;
        if (g->isa == NPG_ISA_AVX512 && g->act != NPG_GEMM_ACT_GELU_ERF) {
            act_row_avx512(g->act, c + j0, j1 - j0);
            continue;
        }
        for (int64_t j = j0; j < j1; j++)
            c[j] = act_scalar(g->act, c[j]);
    }
}

static void gemm_task(void *ctx, int task, int thread) {
    (void)thread;
    const gemm_job *g = ctx;
    int64_t i0 = (task / g->n_nblocks) * MB_, i1 = min64(i0 + MB_, g->M);
    int64_t j0 = (task % g->n_nblocks) * NB_, j1 = min64(j0 + NB_, g->N);
    /* C = bias (+ C) before the first chunk; the AVX-512 kernel does that itself on its first chunk */
    int in_kernel = g->isa == NPG_ISA_AVX512;
    for (int64_t i = i0; i < i1 && !in_kernel && !(g->accumulate && !g->bias); i++) {
        float *c = g->C + i * g->ldc;
        if (!g->accumulate)
            memset(c + j0, 0, (size_t)(j1 - j0) * sizeof(float));
        if (g->bias)
            for (int64_t j = j0; j < j1; j++)
                c[j] += g->bias[j];
    }
    for (int64_t k0 = 0; k0 < g->K || (k0 == 0 && in_kernel); k0 += KC_) {
        int64_t k1 = min64(k0 + KC_, g->K);
        if (g->isa == NPG_ISA_AVX512)
            block_avx512(g, i0, i1, j0, j1, k0, k1, k0 > 0 || g->accumulate, k0 == 0 ? g->bias : NULL);
        else if (g->isa == NPG_ISA_AVX2)
            block_avx2(g, i0, i1, j0, j1, k0, k1);
        else
            block_scalar(g, i0, i1, j0, j1, k0, k1);
    }
    if (g->act != NPG_GEMM_ACT_NONE)
        activate(g, i0, i1, j0, j1);
}

void npg_gemm_packed(const npg_compute *c, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                     const float *packed, const float *bias, npg_gemm_act act, float *C, int64_t ldc, int accumulate) {
    if (M <= 0 || N <= 0)
        return;
    npg_isa isa = c ? c->isa : NPG_ISA_SCALAR, best = npg_isa_detect();
    gemm_job g = {.M = M, .N = N, .K = K, .lda = lda, .ldc = ldc, .A = A, .B = packed, .bias = bias, .C = C,
                  .act = act, .accumulate = accumulate, .isa = isa > best ? best : isa};
    g.n_nblocks = (N + NB_ - 1) / NB_;
    int64_t tasks = ((M + MB_ - 1) / MB_) * g.n_nblocks;
    npg_threadpool_run(c ? c->pool : NULL, (int)tasks, gemm_task, &g);
}
