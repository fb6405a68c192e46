/* gemm.c — outer-product GEMM (B input-major) and row softmax with a vectorised exp; see gemm.h.
 *
 * Blocking: a task owns a block of MB_ rows × NB_ columns; inside it, the K dimension is cut into KC_
 * chunks so the B panel a chunk reads (KC_ × 32 floats) stays in L1/L2 while every MR-row strip of the
 * block streams past it. The AVX-512 micro-kernel keeps an 8 × 32 block of C in 16 registers; the
 * AVX2 one a 6 × 16 block in 12; the scalar path is plain loops (tests compare all three). */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kernels/avx2_inline.h"
#include "kernels/avx512_inline.h"
#include "core/half.h"
#include "kernels/gemm.h"

enum { MB_ = 96, NB_ = 256, KC_ = 256 };

typedef struct gemm_job {
    int64_t M, N, K, lda, ldb, ldc;
    const float *A;
    const void *B;
    npg_wtype bt;
    float *C;
    int accumulate;
    npg_isa isa;
    int64_t n_nblocks;
} gemm_job;

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* ---- scalar -------------------------------------------------------------------------------------- */

static float b_at(const gemm_job *g, int64_t k, int64_t j) {
    if (g->bt == NPG_W_F16)
        return npg_f16_to_f32(((const uint16_t *)g->B)[k * g->ldb + j]);
    return ((const float *)g->B)[k * g->ldb + j];
}

static void block_scalar(const gemm_job *g, int64_t i0, int64_t i1, int64_t j0, int64_t j1, int64_t k0, int64_t k1,
                         int load) {
    for (int64_t i = i0; i < i1; i++) {
        float *c = g->C + i * g->ldc;
        const float *a = g->A + i * g->lda;
        if (!load)
            memset(c + j0, 0, (size_t)(j1 - j0) * sizeof(float));
        for (int64_t k = k0; k < k1; k++) {
            float av = a[k];
            for (int64_t j = j0; j < j1; j++)
                c[j] += av * b_at(g, k, j);
        }
    }
}

/* ---- AVX2: 6 rows × 16 columns ------------------------------------------------------------------- */

AVX2_INLINE __m256 avx2_b8(const gemm_job *g, int64_t k, int64_t j) {
    if (g->bt == NPG_W_F16)
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)g->B + k * g->ldb + j)));
    return _mm256_loadu_ps((const float *)g->B + k * g->ldb + j);
}

AVX2_FN static void block_avx2(const gemm_job *g, int64_t i0, int64_t i1, int64_t j0, int64_t j1, int64_t k0,
                               int64_t k1, int load) {
    int64_t jfull = j0 + (j1 - j0) / 16 * 16;
    for (int64_t j = j0; j < jfull; j += 16)
        for (int64_t i = i0; i < i1; i += 6) {
            int mr = (int)min64(6, i1 - i);
            const float *a[6];
            for (int r = 0; r < 6; r++)
                a[r] = g->A + (i + (r < mr ? r : mr - 1)) * g->lda;
            __m256 acc[6][2];
            for (int r = 0; r < 6; r++) {
                float *c = g->C + (i + (r < mr ? r : mr - 1)) * g->ldc + j;
                acc[r][0] = load ? _mm256_loadu_ps(c) : _mm256_setzero_ps();
                acc[r][1] = load ? _mm256_loadu_ps(c + 8) : _mm256_setzero_ps();
            }
            for (int64_t k = k0; k < k1; k++) {
                __m256 b0 = avx2_b8(g, k, j), b1 = avx2_b8(g, k, j + 8);
                UNROLL
                for (int r = 0; r < 6; r++) {
                    __m256 av = _mm256_broadcast_ss(a[r] + k);
                    acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
                    acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
                }
            }
            for (int r = 0; r < mr; r++) {
                float *c = g->C + (i + r) * g->ldc + j;
                _mm256_storeu_ps(c, acc[r][0]);
                _mm256_storeu_ps(c + 8, acc[r][1]);
            }
        }
    if (jfull < j1)
        block_scalar(g, i0, i1, jfull, j1, k0, k1, load);
}

/* ---- AVX-512: 8 rows × 32 columns ---------------------------------------------------------------- */

static __mmask16 lane_mask(int64_t n) { return n >= 16 ? (__mmask16)0xffff : n <= 0 ? 0 : (__mmask16)((1u << n) - 1u); }

/* C[0..mr) rows × 32 columns (lanes m0, m1) += A[8 rows, kn] · B[kn, 32]. A's 8 rows are addressed from
 * two bases (rows 0-3, 4-7) with lda multiples, B advances one row per step; F16 is a constant so each
 * instantiation has one load form in its loop. load = 0: C starts from zero (not read). */
AVX512_INLINE void mk_8x32(const float *a, int64_t lda, const void *b, int64_t ldb, int64_t kn, float *c,
                           int64_t ldc, int mr, __mmask16 m0, __mmask16 m1, int load, const int F16) {
    __m512 acc[8][2];
    UNROLL
    for (int r = 0; r < 8; r++) {
        __mmask16 l0 = load && r < mr ? m0 : 0, l1 = load && r < mr ? m1 : 0;
        acc[r][0] = _mm512_maskz_loadu_ps(l0, c + r * ldc);
        acc[r][1] = _mm512_maskz_loadu_ps(l1, c + r * ldc + 16);
    }
    const float *a0 = a, *a4 = a + 4 * lda;
    for (int64_t k = 0; k < kn; k++) {
        __m512 b0, b1;
        if (F16) {
            const uint16_t *bp = (const uint16_t *)b + k * ldb;
            b0 = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m0, bp));
            b1 = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m1, bp + 16));
        } else {
            const float *bp = (const float *)b + k * ldb;
            b0 = _mm512_maskz_loadu_ps(m0, bp);
            b1 = _mm512_maskz_loadu_ps(m1, bp + 16);
        }
        UNROLL
        for (int r = 0; r < 4; r++) {
            __m512 x = _mm512_set1_ps(a0[r * lda + k]), y = _mm512_set1_ps(a4[r * lda + k]);
            acc[r][0] = _mm512_fmadd_ps(x, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(x, b1, acc[r][1]);
            acc[r + 4][0] = _mm512_fmadd_ps(y, b0, acc[r + 4][0]);
            acc[r + 4][1] = _mm512_fmadd_ps(y, b1, acc[r + 4][1]);
        }
    }
    UNROLL
    for (int r = 0; r < 8; r++)
        if (r < mr) {
            _mm512_mask_storeu_ps(c + r * ldc, m0, acc[r][0]);
            _mm512_mask_storeu_ps(c + r * ldc + 16, m1, acc[r][1]);
        }
}

AVX512_FN static void mk_f32(const float *a, int64_t lda, const void *b, int64_t ldb, int64_t kn, float *c,
                             int64_t ldc, int mr, __mmask16 m0, __mmask16 m1, int load) {
    mk_8x32(a, lda, b, ldb, kn, c, ldc, mr, m0, m1, load, 0);
}

AVX512_FN static void mk_f16(const float *a, int64_t lda, const void *b, int64_t ldb, int64_t kn, float *c,
                             int64_t ldc, int mr, __mmask16 m0, __mmask16 m1, int load) {
    mk_8x32(a, lda, b, ldb, kn, c, ldc, mr, m0, m1, load, 1);
}

/* A last strip of fewer than 8 rows is copied into a zero-padded [8, KC_] panel so the kernel always
 * reads 8 rows that exist. */
static void block_avx512(const gemm_job *g, int64_t i0, int64_t i1, int64_t j0, int64_t j1, int64_t k0, int64_t k1,
                         int load) {
    float pad[8 * KC_];
    int64_t kn = k1 - k0;
    int f16 = g->bt == NPG_W_F16;
    size_t esz = f16 ? 2 : 4;
    for (int64_t j = j0; j < j1; j += 32) {
        __mmask16 m0 = lane_mask(j1 - j), m1 = lane_mask(j1 - j - 16);
        const void *b = (const uint8_t *)g->B + ((size_t)(k0 * g->ldb + j)) * esz;
        for (int64_t i = i0; i < i1; i += 8) {
            int mr = (int)min64(8, i1 - i);
            const float *a = g->A + i * g->lda + k0;
            int64_t lda = g->lda;
            if (mr < 8) {
                memset(pad, 0, sizeof pad);
                for (int r = 0; r < mr; r++)
                    memcpy(pad + r * KC_, a + r * g->lda, (size_t)kn * sizeof(float));
                a = pad;
                lda = KC_;
            }
            float *c = g->C + i * g->ldc + j;
            if (f16)
                mk_f16(a, lda, b, g->ldb, kn, c, g->ldc, mr, m0, m1, load);
            else
                mk_f32(a, lda, b, g->ldb, kn, c, g->ldc, mr, m0, m1, load);
        }
    }
}

static void gemm_task(void *ctx, int task, int thread) {
    (void)thread;
    const gemm_job *g = ctx;
    int64_t i0 = (task / g->n_nblocks) * MB_, i1 = min64(i0 + MB_, g->M);
    int64_t j0 = (task % g->n_nblocks) * NB_, j1 = min64(j0 + NB_, g->N);
    for (int64_t k0 = 0; k0 < g->K || k0 == 0; k0 += KC_) {
        int64_t k1 = min64(k0 + KC_, g->K);
        int load = k0 > 0 || g->accumulate; /* C already holds a partial sum to add to */
        if (g->isa == NPG_ISA_AVX512)
            block_avx512(g, i0, i1, j0, j1, k0, k1, load);
        else if (g->isa == NPG_ISA_AVX2)
            block_avx2(g, i0, i1, j0, j1, k0, k1, load);
        else
            block_scalar(g, i0, i1, j0, j1, k0, k1, load);
    }
}

void npg_gemm_nn(const npg_compute *c, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const void *B,
                 npg_wtype btype, int64_t ldb, float *C, int64_t ldc, int accumulate) {
    if (M <= 0 || N <= 0)
        return;
    npg_isa isa = c ? c->isa : NPG_ISA_SCALAR, best = npg_isa_detect();
    gemm_job g = {.M = M, .N = N, .K = K, .lda = lda, .ldb = ldb, .ldc = ldc, .A = A, .B = B, .bt = btype, .C = C,
                  .accumulate = accumulate, .isa = isa > best ? best : isa};
    g.n_nblocks = (N + NB_ - 1) / NB_;
    int64_t tasks = ((M + MB_ - 1) / MB_) * g.n_nblocks;
    npg_threadpool_run(c ? c->pool : NULL, (int)tasks, gemm_task, &g);
}

/* ---- softmax ------------------------------------------------------------------------------------- */

AVX512_FN static void softmax_avx512(float *x, int64_t n) {
    __m512 mx = _mm512_set1_ps(-INFINITY);
    for (int64_t i = 0; i < n; i += 16)
        mx = _mm512_max_ps(mx, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), lane_mask(n - i), x + i));
    __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
    __m512 sum = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 k = lane_mask(n - i);
        __m512 e = npg_exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), m));
        sum = _mm512_add_ps(sum, _mm512_maskz_mov_ps(k, e));
        _mm512_mask_storeu_ps(x + i, k, e);
    }
    __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 k = lane_mask(n - i);
        _mm512_mask_storeu_ps(x + i, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + i), inv));
    }
}

static void softmax_scalar(float *x, int64_t n) {
    float mx = x[0], sum = 0.0f;
    for (int64_t i = 1; i < n; i++)
        mx = x[i] > mx ? x[i] : mx;
    for (int64_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    float inv = 1.0f / sum;
    for (int64_t i = 0; i < n; i++)
        x[i] *= inv;
}

typedef struct softmax_job {
    float *x;
    int64_t rows, n, ld, per;
    npg_isa isa;
} softmax_job;

static void softmax_task(void *ctx, int task, int thread) {
    (void)thread;
    const softmax_job *j = ctx;
    int64_t r1 = min64((int64_t)(task + 1) * j->per, j->rows);
    for (int64_t r = (int64_t)task * j->per; r < r1; r++) {
        if (j->isa == NPG_ISA_AVX512)
            softmax_avx512(j->x + r * j->ld, j->n);
        else
            softmax_scalar(j->x + r * j->ld, j->n);
    }
}

void npg_softmax_rows(const npg_compute *c, float *x, int64_t rows, int64_t n, int64_t ld) {
    if (rows <= 0 || n <= 0)
        return;
    npg_isa isa = c ? c->isa : NPG_ISA_SCALAR, best = npg_isa_detect();
    softmax_job j = {x, rows, n, ld, 16, isa > best ? best : isa};
    npg_threadpool_run(c ? c->pool : NULL, (int)((rows + j.per - 1) / j.per), softmax_task, &j);
}
