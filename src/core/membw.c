#include "core/membw.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/timer.h"

typedef struct bw_job {
    const uint64_t *data;
    size_t n_words;
    int n_tasks;
    uint64_t sums[256];
} bw_job;

#if defined(__x86_64__)
__attribute__((target("avx2"))) static uint64_t sum_avx2(const uint64_t *p, size_t n) {
    uint64_t a = 0, b = 0, c = 0, d = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        a ^= p[i];
        b ^= p[i + 1];
        c ^= p[i + 2];
        d ^= p[i + 3];
    }
    for (; i < n; i++)
        a ^= p[i];
    return a ^ b ^ c ^ d;
}
#endif

static uint64_t sum_plain(const uint64_t *p, size_t n) {
    uint64_t a = 0, b = 0;
    size_t i = 0;
    for (; i + 2 <= n; i += 2) {
        a ^= p[i];
        b ^= p[i + 1];
    }
    for (; i < n; i++)
        a ^= p[i];
    return a ^ b;
}

static void bw_task(void *ctx, int task, int thread) {
    bw_job *j = ctx;
    size_t per = j->n_words / (size_t)j->n_tasks;
    const uint64_t *p = j->data + (size_t)task * per;
    uint64_t s;
#if defined(__x86_64__)
    __builtin_cpu_init();
    s = __builtin_cpu_supports("avx2") ? sum_avx2(p, per) : sum_plain(p, per);
#else
    s = sum_plain(p, per);
#endif
    j->sums[thread & 255] ^= s;
}

double npg_measure_read_bandwidth(npg_threadpool *pool, size_t bytes, int reps) {
    void *buf = NULL;
    if (posix_memalign(&buf, 64, bytes) != 0)
        return 0.0;
    memset(buf, 1, bytes); /* fault every page in before timing */
    bw_job job;
    memset(&job, 0, sizeof job);
    job.data = buf;
    job.n_words = bytes / 8;
    job.n_tasks = npg_threadpool_size(pool);
    double best = 0.0;
    for (int r = 0; r < reps; r++) {
        double t0 = npg_now_ms();
        npg_threadpool_run(pool, job.n_tasks, bw_task, &job);
        double ms = npg_now_ms() - t0;
        double gbs = (double)bytes / (ms * 1e6);
        if (gbs > best)
            best = gbs;
    }
    free(buf);
    return best;
}
