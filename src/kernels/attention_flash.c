/* attention_flash.c — flash-style full attention; see attention_flash.h. */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kernels/attention_flash.h"
#include "kernels/avx512_inline.h"
#include "kernels/gemm_packed.h"

/* QB queries × KT keys per tile: Sᵀ is 64 KB and Qᵀ, Oᵀ (d × QB) 18 KB each at d = 72, so a tile's
 * working set stays in L2 while K and V stream through once per query block. */
enum { P_ = NPG_GEMM_PANEL, QB_ = 64, KT_ = 240 };

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

static size_t per_thread(int64_t T, int64_t d) { return (size_t)(2 * d * T + 2 * d * QB_ + KT_ * QB_ + 3 * QB_); }

size_t npg_attention_full_scratch(int64_t T, int64_t d, int threads) {
    return per_thread(T, d) * (size_t)(threads > 0 ? threads : 1);
}

/* One key tile's online-softmax step over one 32-query panel st [kn, P] (row r = key k0 + r): m (running
 * max), l (running sum) and the panel's output ot [d, P] are rescaled by exp(m_old - m_new), and st
 * becomes the weights exp(s - m_new). */
static void softmax_step_scalar(float *st, int64_t kn, float *m, float *l, float *ot, int64_t d) {
    for (int64_t c = 0; c < P_; c++) {
        float mx = m[c];
        for (int64_t r = 0; r < kn; r++)
            mx = st[r * P_ + c] > mx ? st[r * P_ + c] : mx;
        float alpha = expf(m[c] - mx), sum = 0.0f;
        for (int64_t r = 0; r < kn; r++) {
            float e = expf(st[r * P_ + c] - mx);
            st[r * P_ + c] = e;
            sum += e;
        }
        l[c] = l[c] * alpha + sum;
        m[c] = mx;
        for (int64_t i = 0; i < d; i++)
            ot[i * P_ + c] *= alpha;
    }
}

AVX512_FN static void softmax_step_avx512(float *st, int64_t kn, float *m, float *l, float *ot, int64_t d) {
    for (int64_t c = 0; c < P_; c += 16) {
        __m512 mo = _mm512_loadu_ps(m + c), mx = mo;
        for (int64_t r = 0; r < kn; r++)
            mx = _mm512_max_ps(mx, _mm512_loadu_ps(st + r * P_ + c));
        /* the first tile: m = -inf, exp(-inf - mx) → 0 (npg_exp512 clamps to ~1e-38; l and O are 0) */
        __m512 alpha = npg_exp512(_mm512_sub_ps(mo, mx)), s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
        int64_t r = 0;
        for (; r + 1 < kn; r += 2) {
            __m512 e0 = npg_exp512(_mm512_sub_ps(_mm512_loadu_ps(st + r * P_ + c), mx));
            __m512 e1 = npg_exp512(_mm512_sub_ps(_mm512_loadu_ps(st + (r + 1) * P_ + c), mx));
            _mm512_storeu_ps(st + r * P_ + c, e0);
            _mm512_storeu_ps(st + (r + 1) * P_ + c, e1);
            s0 = _mm512_add_ps(s0, e0);
            s1 = _mm512_add_ps(s1, e1);
        }
        if (r < kn) {
            __m512 e0 = npg_exp512(_mm512_sub_ps(_mm512_loadu_ps(st + r * P_ + c), mx));
            _mm512_storeu_ps(st + r * P_ + c, e0);
            s0 = _mm512_add_ps(s0, e0);
        }
        _mm512_storeu_ps(l + c, _mm512_fmadd_ps(_mm512_loadu_ps(l + c), alpha, _mm512_add_ps(s0, s1)));
        _mm512_storeu_ps(m + c, mx);
        for (int64_t i = 0; i < d; i++)
            _mm512_storeu_ps(ot + i * P_ + c, _mm512_mul_ps(_mm512_loadu_ps(ot + i * P_ + c), alpha));
    }
}

typedef struct flash_job {
    const npg_compute *c;
    const float *q, *k, *v;
    int64_t ld, T, d, ldo;
    float scale;
    float *out, *scratch;
} flash_job;

/* Vᵀ of one head, [d, T], in blocks of 16 rows so both sides stay in L1. */
static void transpose_v(const float *vh, int64_t ld, int64_t T, int64_t d, float *vt) {
    for (int64_t t0 = 0; t0 < T; t0 += 16) {
        int64_t t1 = min64(t0 + 16, T);
        for (int64_t i = 0; i < d; i++)
            for (int64_t t = t0; t < t1; t++)
                vt[i * T + t] = vh[t * ld + i];
    }
}

static void head_task(void *ctx, int task, int thread) {
    const flash_job *j = ctx;
    int64_t T = j->T, d = j->d, ld = j->ld, h = task;
    float *vt = j->scratch + per_thread(T, d) * (size_t)thread;
    float *kc = vt + d * T, *qt = kc + d * T, *ot = qt + d * QB_, *st = ot + d * QB_, *m = st + KT_ * QB_, *l = m + QB_;
    /* the GEMMs run on this thread alone: the heads are the parallel loop */
    npg_compute one = {.pool = NULL, .isa = j->c->isa};
    const float *qh = j->q + h * d;
    transpose_v(j->v + h * d, ld, T, d, vt);
    /* K of this head made contiguous [T, d]: read in place, each key is a short run (d floats) in a
     * row of 3·H, so the 12 rows a kernel call reads are 12 short streams the prefetchers miss; one
     * copy per head is read T / QB times from then on as one sequential stream */
    for (int64_t t = 0; t < T; t++)
        memcpy(kc + t * d, j->k + t * ld + h * d, (size_t)d * sizeof(float));
    for (int64_t q0 = 0; q0 < T; q0 += QB_) {
        int64_t qn = min64(QB_, T - q0);
        /* Qᵀ as packed panels [QB / P][d][P], the scale folded in; missing queries are zero columns */
        for (int64_t c = 0; c < QB_; c++) {
            float *dst = qt + (c / P_) * d * P_ + c % P_;
            const float *src = qh + (q0 + c) * ld;
            for (int64_t i = 0; i < d; i++)
                dst[i * P_] = c < qn ? j->scale * src[i] : 0.0f;
        }
        for (int64_t c = 0; c < QB_; c++) {
            m[c] = -INFINITY;
            l[c] = 0.0f;
        }
        memset(ot, 0, sizeof(float) * (size_t)(d * QB_));
        for (int64_t k0 = 0; k0 < T; k0 += KT_) {
            int64_t kn = min64(KT_, T - k0);
            for (int64_t p = 0; p < QB_ / P_; p++) {
                float *sp = st + p * KT_ * P_, *op = ot + p * d * P_;
                npg_gemm_packed(&one, kn, P_, d, kc + k0 * d, d, qt + p * d * P_, NULL, NPG_GEMM_ACT_NONE, sp, P_, 0);
                if (one.isa == NPG_ISA_AVX512)
                    softmax_step_avx512(sp, kn, m + p * P_, l + p * P_, op, d);
                else
                    softmax_step_scalar(sp, kn, m + p * P_, l + p * P_, op, d);
                npg_gemm_packed(&one, d, P_, kn, vt + k0, T, sp, NULL, NPG_GEMM_ACT_NONE, op, P_, 1);
            }
        }
        for (int64_t c = 0; c < qn; c++) {
            float inv = 1.0f / l[c], *o = j->out + (q0 + c) * j->ldo + h * d;
            const float *oc = ot + (c / P_) * d * P_ + c % P_;
            for (int64_t i = 0; i < d; i++)
                o[i] = oc[i * P_] * inv;
        }
    }
}

void npg_attention_full(const npg_compute *c, const float *q, const float *k, const float *v, int64_t ld, int64_t T,
                        int64_t heads, int64_t d, float scale, float *out, int64_t ldo, float *scratch) {
    if (T <= 0 || heads <= 0 || d <= 0)
        return;
    npg_isa best = npg_isa_detect();
    npg_compute cc = {.pool = c->pool, .isa = c->isa > best ? best : c->isa};
    flash_job j = {.c = &cc, .q = q, .k = k, .v = v, .ld = ld, .T = T, .d = d, .ldo = ldo, .scale = scale,
                   .out = out, .scratch = scratch};
    npg_threadpool_run(c->pool, (int)heads, head_task, &j);
}
