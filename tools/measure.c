/* measure.c — CPU count and memory read bandwidth for the CLI (see measure.h). */
#include "measure.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "npugen.h"

int cli_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

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

/* One thread's share of one pass; the XOR keeps the reads from being optimised away. */
typedef struct bw_part {
    const uint64_t *p;
    size_t n;
    uint64_t sum;
} bw_part;

static void *bw_thread(void *arg) {
    bw_part *part = arg;
#if defined(__x86_64__)
    __builtin_cpu_init();
    part->sum ^= __builtin_cpu_supports("avx2") ? sum_avx2(part->p, part->n) : sum_plain(part->p, part->n);
#else
    part->sum ^= sum_plain(part->p, part->n);
#endif
    return NULL;
}

double cli_measure_read_bandwidth(int threads, size_t bytes, int reps) {
    if (threads <= 0)
        threads = cli_cpu_count();
    if (threads > 256)
        threads = 256;
    void *buf = NULL;
    if (posix_memalign(&buf, 64, bytes) != 0)
        return 0.0;
    memset(buf, 1, bytes); /* fault every page in before timing */
    bw_part parts[256];
    pthread_t tids[256];
    size_t per = bytes / 8 / (size_t)threads;
    for (int t = 0; t < threads; t++)
        parts[t] = (bw_part){(const uint64_t *)buf + (size_t)t * per, per, 0};
    double best = 0.0;
    for (int r = 0; r < reps; r++) {
        double t0 = npg_now_ms();
        int started = 0;
        for (; started < threads; started++)
            if (pthread_create(&tids[started], NULL, bw_thread, &parts[started]) != 0)
                break;
        for (int t = 0; t < started; t++)
            pthread_join(tids[t], NULL);
        if (started < threads) {
            best = 0.0;
            break;
        }
        double ms = npg_now_ms() - t0;
        double gbs = (double)(per * 8 * (size_t)threads) / (ms * 1e6);
        if (gbs > best)
            best = gbs;
    }
    free(buf);
    return best;
}
