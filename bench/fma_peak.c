/* fma_peak.c — npg-fma-peak: the machine's f32 FMA peak, the ceiling GEMM-bound work is measured
 * against (the vision tower's GFLOP/s in docs/benchmarks.md).
 *
 *   npg-fma-peak [--threads N] [--isa auto|avx2|avx512] [--json]
 *
 * Each thread runs independent chains of fused multiply-adds on registers (12 accumulators: more than
 * the FMA latency × throughput, so the units never wait), 2 FLOPs per lane; the figure is the fastest
 * of several rounds (the machine may be shared), summed over the threads running at once. */
#include <immintrin.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/threadpool.h"
#include "core/timer.h"
#include "kernels/matmul.h"

#define PROG "npg-fma-peak"

enum { ITERS = 4000000, ROUNDS = 5 };

#define CHAINS(FMA, a, b, c)                                                                                        \
    a##0 = FMA(a##0, b, c); a##1 = FMA(a##1, b, c); a##2 = FMA(a##2, b, c); a##3 = FMA(a##3, b, c);                \
    a##4 = FMA(a##4, b, c); a##5 = FMA(a##5, b, c); a##6 = FMA(a##6, b, c); a##7 = FMA(a##7, b, c);                \
    a##8 = FMA(a##8, b, c); a##9 = FMA(a##9, b, c); a##10 = FMA(a##10, b, c); a##11 = FMA(a##11, b, c)

__attribute__((target("avx512f"))) static float run512(long iters) {
    __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    __m512 x0 = _mm512_set1_ps(1.0f), x1 = x0, x2 = x0, x3 = x0, x4 = x0, x5 = x0, x6 = x0, x7 = x0, x8 = x0,
           x9 = x0, x10 = x0, x11 = x0;
    for (long i = 0; i < iters; i++) {
        CHAINS(_mm512_fmadd_ps, x, b, c);
    }
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(x0, x1), _mm512_add_ps(x2, x3)),
                             _mm512_add_ps(_mm512_add_ps(x4, x5), _mm512_add_ps(x6, x7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(x8, x9), _mm512_add_ps(x10, x11)));
    return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) static float run256(long iters) {
    __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    __m256 x0 = _mm256_set1_ps(1.0f), x1 = x0, x2 = x0, x3 = x0, x4 = x0, x5 = x0, x6 = x0, x7 = x0, x8 = x0,
           x9 = x0, x10 = x0, x11 = x0;
    for (long i = 0; i < iters; i++) {
        CHAINS(_mm256_fmadd_ps, x, b, c);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(x0, x1), _mm256_add_ps(x2, x3)),
                             _mm256_add_ps(_mm256_add_ps(x4, x5), _mm256_add_ps(x6, x7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(x8, x9), _mm256_add_ps(x10, x11)));
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0] + out[7];
}

typedef struct job {
    npg_isa isa;
    double *ms; /* [threads] */
    float sink;
} job;

static void task(void *ctx, int t, int thread) {
    (void)thread;
    job *j = ctx;
    double t0 = npg_now_ms();
    float r = j->isa == NPG_ISA_AVX512 ? run512(ITERS) : run256(ITERS);
    j->ms[t] = npg_now_ms() - t0;
    if (r == 12345.0f) /* keeps the result alive */
        j->sink = r;
}

int main(int argc, char **argv) {
    int threads = 1;
    bool json = false;
    npg_isa isa = npg_isa_detect();
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            threads = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--isa") == 0 && i + 1 < argc) {
            if (npg_isa_parse(argv[++i], &isa) != NPG_OK || isa == NPG_ISA_SCALAR) {
                fprintf(stderr, PROG ": --isa: avx2, avx512 or auto (supported by this CPU)\n");
                return 2;
            }
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else {
            printf("usage: " PROG " [--threads N] [--isa auto|avx2|avx512] [--json]\n");
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    if (isa == NPG_ISA_SCALAR || threads < 1 || threads > 256) {
        fprintf(stderr, PROG ": needs AVX2+FMA or AVX-512 and 1..256 threads\n");
        return 1;
    }
    npg_threadpool *pool = NULL;
    if (npg_threadpool_create(threads, &pool) != NPG_OK) {
        fprintf(stderr, PROG ": cannot start %d threads\n", threads);
        return 1;
    }
    double ms[256], best = 0;
    job j = {isa, ms, 0};
    int lanes = isa == NPG_ISA_AVX512 ? 16 : 8;
    for (int r = 0; r < ROUNDS; r++) {
        npg_threadpool_run(pool, threads, task, &j);
        double total = 0;
        for (int t = 0; t < threads; t++) /* each thread's own rate; they ran at once */
            total += 12.0 * lanes * 2.0 * ITERS / (ms[t] * 1e6);
        if (total > best)
            best = total;
    }
    npg_threadpool_free(pool);
    if (json)
        printf("{\"isa\": \"%s\", \"threads\": %d, \"fma_peak_gflops\": %.1f}\n", npg_isa_name(isa), threads, best);
    else
        printf("f32 FMA peak, %s, %d thread%s: %.1f GFLOP/s\n", npg_isa_name(isa), threads, threads == 1 ? "" : "s",
               best);
    return 0;
}
