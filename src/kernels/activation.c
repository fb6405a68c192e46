/* activation.c — SiLU gating over a batch (activation.h): chunks of CHUNK values spread over the
 * pool, 16 lanes at a time with the polynomial exp on AVX-512. */
#include "kernels/activation.h"

#include <math.h>

#include "kernels/avx512_inline.h"

enum { CHUNK = 16384 }; /* values per task: 64 KiB of g, decode (one row) stays one task */

typedef struct silu_job {
    float *g;
    const float *u;
    int64_t n;
    bool avx512;
} silu_job;

static void silu_scalar(float *g, const float *u, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float x = g[i];
        g[i] = x / (1.0f + expf(-x)) * u[i];
    }
}

AVX512_FN static void silu_avx512(float *g, const float *u, int64_t n) {
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int64_t i = 0; i < n; i += 16) {
        int64_t left = n - i;
        __mmask16 m = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u);
        __m512 x = _mm512_maskz_loadu_ps(m, g + i);
        __m512 e = npg_exp512(_mm512_sub_ps(_mm512_setzero_ps(), x));
        __m512 r = _mm512_mul_ps(_mm512_div_ps(x, _mm512_add_ps(one, e)), _mm512_maskz_loadu_ps(m, u + i));
        _mm512_mask_storeu_ps(g + i, m, r);
    }
}

static void silu_task(void *ctx, int task, int thread) {
    (void)thread;
    const silu_job *j = ctx;
    int64_t i0 = (int64_t)task * CHUNK, len = j->n - i0 < CHUNK ? j->n - i0 : CHUNK;
    if (j->avx512)
        silu_avx512(j->g + i0, j->u + i0, len);
    else
        silu_scalar(j->g + i0, j->u + i0, len);
}

void npg_silu_mul_isa(npg_isa isa, float *g, const float *u, int64_t n) {
    npg_isa best = npg_isa_detect();
    if ((isa > best ? best : isa) == NPG_ISA_AVX512)
        silu_avx512(g, u, n);
    else
        silu_scalar(g, u, n);
}

void npg_silu_mul_par(const npg_compute *c, float *g, const float *u, int64_t n) {
    if (n <= 0)
        return;
    npg_isa isa = c ? c->isa : NPG_ISA_SCALAR, best = npg_isa_detect();
    silu_job j = {g, u, n, (isa > best ? best : isa) == NPG_ISA_AVX512};
    npg_threadpool_run(c ? c->pool : NULL, (int)((n + CHUNK - 1) / CHUNK), silu_task, &j);
}
