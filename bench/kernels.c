/* kernels.c — npg-kernels: matmul throughput per weight type on TinyLlama-sized matrices.
 *
 *   npg-kernels [--threads N] [--isa auto|scalar|avx2|avx512] [--types f32,q4_cw,...] [--json] [--quick]
 *
 * First a streaming read of a 1 GiB buffer (in 64 MiB slices) measures what memory delivers to these
 * threads (the ceiling for decode). Then, per type and shape (n, k) in {(2048, 2048), (5632, 2048), (2048, 5632)}:
 *  - m = 1 (decode): weight bytes read per second, and that as a share of the measured bandwidth
 *    ("of bw") and of a plain parallel read of as many bytes timed between the calls ("of read": the
 *    same thread pool, the same moment's load — the fairer ratio on a shared machine). Enough copies
 *    of the weight are cycled through (> 256 MiB in all) that every call reads from memory, not from
 *    the last level cache.
 *    "core": the kernel's ceiling, one thread streaming one weight from cache, in CPU time (what a
 *    core could consume if memory kept up; decode is memory-bound when core × threads > bandwidth).
 *  - m = 128 and m = 512 (prefill): GFLOP/s, 2·m·n·k per call.
 * Each number is the fastest single call (or slice) of several rounds after a warm-up call: the
 * machine may be shared, and the fastest call is the one no other process preempted. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "core/threadpool.h"
#include "core/timer.h"
#include "kernels/matmul.h"
#include "weights/weights.h"

#define PROG "npg-kernels"

typedef struct shape {
    int64_t n, k;
} shape;

static const shape shapes[] = {{2048, 2048}, {5632, 2048}, {2048, 5632}};

/* ---------------------------------------------------------------------------------------------- */
/* Memory bandwidth                                                                               */
/* ---------------------------------------------------------------------------------------------- */

typedef struct stream_job {
    const uint64_t *buf;
    size_t words_per_task;
    uint64_t sums[64]; /* one per task, so the reads are not optimised away */
} stream_job;

#if defined(__x86_64__)
#include <immintrin.h>
__attribute__((target("avx2"))) static uint64_t sum_words_avx2(const uint64_t *p, size_t n) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_add_epi64(a0, _mm256_load_si256((const __m256i *)(p + i)));
        a1 = _mm256_add_epi64(a1, _mm256_load_si256((const __m256i *)(p + i + 4)));
        a2 = _mm256_add_epi64(a2, _mm256_load_si256((const __m256i *)(p + i + 8)));
        a3 = _mm256_add_epi64(a3, _mm256_load_si256((const __m256i *)(p + i + 12)));
    }
    __m256i s = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
    uint64_t t[4];
    _mm256_storeu_si256((__m256i *)t, s);
    uint64_t r = t[0] + t[1] + t[2] + t[3];
    for (; i < n; i++)
        r += p[i];
    return r;
}
#endif

static uint64_t sum_words(const uint64_t *p, size_t n) {
#if defined(__x86_64__)
    if (npg_isa_detect() >= NPG_ISA_AVX2)
        return sum_words_avx2(p, n);
#endif
    uint64_t r = 0;
    for (size_t i = 0; i < n; i++)
        r += p[i];
    return r;
}

static void stream_task(void *ctx, int task, int thread) {
    (void)thread;
    stream_job *j = ctx;
    j->sums[task % 64] += sum_words(j->buf + (size_t)task * j->words_per_task, j->words_per_task);
}

enum { STREAM_BYTES = 1 << 30 };

/* Milliseconds of one parallel read of `bytes` (split between the threads) at `p`. */
static double stream_once(npg_threadpool *pool, stream_job *j, const uint64_t *p, size_t bytes) {
    int threads = npg_threadpool_size(pool);
    j->buf = p;
    j->words_per_task = bytes / 8 / (size_t)threads;
    double t0 = npg_now_ms();
    npg_threadpool_run(pool, threads, stream_task, j);
    return npg_now_ms() - t0;
}

/* GB/s (1e9 bytes) of a parallel streaming read: the 1 GiB buffer is read in 64 MiB slices, each
 * slice split between the threads; the fastest slice counts (the machine is shared: a slice that ran
 * without being preempted shows what memory delivers, and decode calls are timed the same way). */
static double measure_bandwidth(npg_threadpool *pool, const uint64_t *buf, stream_job *j, int reps) {
    size_t slice = (size_t)64 << 20;
    double best = 1e30;
    for (int r = 0; r < reps; r++)
        for (size_t off = 0; off < STREAM_BYTES; off += slice) {
            double t = stream_once(pool, j, buf + off / 8, slice);
            best = t < best ? t : best;
        }
    return (double)slice / (best * 1e-3) / 1e9;
}

/* ---------------------------------------------------------------------------------------------- */
/* Matmul timing                                                                                  */
/* ---------------------------------------------------------------------------------------------- */

enum { MAX_COPIES = 256 }; /* 256 MiB of int4 [2048, 2048] copies needs 128 */

typedef struct weight_copies {
    int count;
    npg_weight w[MAX_COPIES];
    void *data[MAX_COPIES];
    float *scales[MAX_COPIES];
    size_t bytes; /* data + scales of one copy */
} weight_copies;

static void free_copies(weight_copies *c) {
    for (int i = 0; i < c->count; i++) {
        free(c->data[i]);
        free(c->scales[i]);
    }
    c->count = 0;
}

static npg_status make_copies(npg_wtype type, shape s, int64_t gs, const float *src, size_t min_total,
                              weight_copies *out) {
    memset(out, 0, sizeof *out);
    size_t db = npg_quant_data_bytes(type, s.n, s.k);
    int64_t ns = npg_quant_scale_count(type, s.n, s.k, gs);
    out->bytes = db + (size_t)ns * sizeof(float);
    int want = (int)((min_total + out->bytes - 1) / out->bytes);
    want = want < 1 ? 1 : want > MAX_COPIES ? MAX_COPIES : want;
    for (int i = 0; i < want; i++) {
        out->data[i] = aligned_alloc(64, (db + 63) / 64 * 64);
        out->scales[i] = malloc((size_t)(ns > 0 ? ns : 1) * sizeof(float));
        out->count = i + 1;
        if (!out->data[i] || !out->scales[i]) {
            free_copies(out);
            return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for %d copies of a %s [%lld, %lld] weight", want,
                            npg_wtype_name(type), (long long)s.n, (long long)s.k);
        }
        if (i == 0) {
            NPG_TRY(npg_quantize_rows(type, src, s.n, s.k, gs, out->data[0], out->scales[0]));
        } else {
            memcpy(out->data[i], out->data[0], db);
            memcpy(out->scales[i], out->scales[0], (size_t)(ns > 0 ? ns : 1) * sizeof(float));
        }
        out->w[i] = (npg_weight){type, s.n, s.k, gs, out->data[i], out->scales[i]};
    }
    return NPG_OK;
}

/* Best milliseconds of one call over `reps` rounds through every copy (each call timed alone: on a
 * shared machine the fastest call is the one nobody preempted). With `sj`, each decode call is
 * followed by a parallel read of as many bytes elsewhere in the stream buffer, and *read_ms gets the
 * fastest of those: a roofline for this call size measured under the same load, moment by moment. */
static double time_matmul(const npg_compute *c, const float *x, int64_t m, const weight_copies *wc, float *y,
                          int reps, stream_job *sj, const uint64_t *sbuf, double *read_ms) {
    npg_matmul(c, x, m, &wc->w[0], y); /* warm-up */
    double best = 1e30, best_read = 1e30;
    size_t rbytes = wc->bytes / 4096 * 4096, off = 0;
    for (int r = 0; r < reps; r++)
        for (int i = 0; i < wc->count; i++) {
            double t0 = npg_now_ms();
            npg_matmul(c, x, m, &wc->w[i], y);
            double t = npg_now_ms() - t0;
            best = t < best ? t : best;
            if (sj) {
                if (off + rbytes > STREAM_BYTES)
                    off = 0;
                t = stream_once(c->pool, sj, sbuf + off / 8, rbytes);
                best_read = t < best_read ? t : best_read;
                off += rbytes;
            }
        }
    if (read_ms)
        *read_ms = best_read * (double)wc->bytes / (double)rbytes;
    return best;
}

/* The kernel's own speed, memory aside: one thread, the same weight over and over (from cache),
 * timed in CPU time of the calling thread (preemption does not count), best call. GB/s of weight
 * bytes: what one core could stream if memory kept up. */
static double core_ceiling_gbs(npg_isa isa, const float *x, const npg_weight *w, size_t bytes, int reps) {
    npg_compute c1 = {.pool = NULL, .isa = isa};
    if (npg_compute_reserve(&c1, 1, w->k) != NPG_OK)
        return 0;
    float *y = malloc((size_t)w->n * sizeof(float));
    double best = 1e30;
    for (int r = 0; y && r < reps; r++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
        npg_matmul(&c1, x, 1, w, y);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
        double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-6;
        best = ms < best ? ms : best;
    }
    free(y);
    npg_compute_release(&c1);
    return (double)bytes / (best * 1e-3) / 1e9;
}

typedef struct options {
    int threads;
    npg_isa isa;
    bool json, quick;
    bool types[NPG_W_COUNT];
    int64_t group_size;
} options;

static int usage(void) {
    fprintf(stderr, "usage: " PROG " [--threads N] [--isa auto|scalar|avx2|avx512] [--types t1,t2,...] "
                    "[--group-size G] [--json] [--quick]\n  types: f32 f16 bf16 int8_cw int4_cw int4_g nf4_cw\n");
    return 2;
}

static bool parse_types(const char *list, bool *types) {
    memset(types, 0, sizeof(bool) * NPG_W_COUNT);
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        bool found = false;
        for (int i = 0; i < NPG_W_COUNT; i++)
            if (strcmp(t, npg_wtype_name((npg_wtype)i)) == 0)
                types[i] = found = true;
        if (!found) {
            fprintf(stderr, PROG ": unknown type '%s'\n", t);
            return false;
        }
    }
    return true;
}

static bool parse_args(int argc, char **argv, options *o) {
    *o = (options){.threads = 0, .isa = npg_isa_detect(), .group_size = 128};
    for (int i = 0; i < NPG_W_COUNT; i++)
        o->types[i] = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0)
            o->json = true;
        else if (strcmp(a, "--quick") == 0)
            o->quick = true;
        else if (strcmp(a, "--threads") == 0 && v)
            o->threads = atoi(argv[++i]);
        else if (strcmp(a, "--group-size") == 0 && v)
            o->group_size = atoll(argv[++i]);
        else if (strcmp(a, "--isa") == 0 && v) {
            if (npg_isa_parse(argv[++i], &o->isa) != NPG_OK) {
                fprintf(stderr, PROG ": %s\n", npg_last_error());
                return false;
            }
        } else if (strcmp(a, "--types") == 0 && v) {
            if (!parse_types(argv[++i], o->types))
                return false;
        } else {
            return false;
        }
    }
    return true;
}

int main(int argc, char **argv) {
    options o;
    if (!parse_args(argc, argv, &o))
        return usage();
    npg_threadpool *pool = NULL;
    if (npg_threadpool_create(o.threads, &pool) != NPG_OK) {
        fprintf(stderr, PROG ": %s\n", npg_last_error());
        return 1;
    }
    int threads = npg_threadpool_size(pool);
    int reps = o.quick ? 2 : 5;
    uint64_t *sbuf = aligned_alloc(64, STREAM_BYTES);
    if (!sbuf) {
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < STREAM_BYTES / 8; i++)
        sbuf[i] = i;
    stream_job sj = {0};
    double bw = measure_bandwidth(pool, sbuf, &sj, reps);
    npg_compute c = {.pool = pool, .isa = o.isa};
    const int64_t ms[] = {1, 128, 512};
    int64_t kmax = 5632, nmax = 5632;
    float *x = malloc((size_t)(512 * kmax) * sizeof(float));
    float *y = malloc((size_t)(512 * nmax) * sizeof(float));
    float *src = malloc((size_t)(nmax * kmax) * sizeof(float));
    if (!x || !y || !src || npg_compute_reserve(&c, 512, kmax) != NPG_OK) {
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }
    uint64_t s = 0x1234567u;
    for (int64_t i = 0; i < 512 * kmax; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((int64_t)(s >> 40) - (1 << 23)) / (float)(1 << 23);
    }
    for (int64_t i = 0; i < nmax * kmax; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        src[i] = (float)((int64_t)(s >> 40) - (1 << 23)) / (float)(1 << 23) * 0.02f;
    }
    if (o.json)
        printf("{\"threads\": %d, \"isa\": \"%s\", \"bandwidth_gbs\": %.2f, \"results\": [", threads,
               npg_isa_name(o.isa), bw);
    else {
        printf("npg-kernels: %d threads, isa %s, streaming read %.1f GB/s\n", threads, npg_isa_name(o.isa), bw);
        printf("%-8s %11s | %8s %8s %6s %7s %7s | %9s %9s\n", "type", "n x k", "m=1 ms", "GB/s", "of bw", "of read",
               "core", "m=128", "m=512");
        printf("%-8s %11s | %8s %8s %6s %7s %7s | %9s %9s\n", "", "", "", "", "", "", "GB/s", "GFLOP/s", "GFLOP/s");
    }
    int status = 0;
    bool first = true;
    for (int t = 0; t < NPG_W_COUNT; t++) {
        if (!o.types[t])
            continue;
        for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
            shape sh = shapes[si];
            weight_copies wc;
            int64_t gs = t == NPG_W_Q4_G ? o.group_size : 0;
            if (make_copies((npg_wtype)t, sh, gs, src, (size_t)256 << 20, &wc) != NPG_OK) {
                fprintf(stderr, PROG ": %s\n", npg_last_error());
                status = 1;
                continue;
            }
            double read_ms = 0;
            double ms1 = time_matmul(&c, x, 1, &wc, y, reps, &sj, sbuf, &read_ms);
            double gbs = (double)wc.bytes / (ms1 * 1e-3) / 1e9;
            double core = core_ceiling_gbs(o.isa, x, &wc.w[0], wc.bytes, o.quick ? 20 : 60);
            weight_copies one = wc;
            one.count = 1; /* prefill reuses one copy: it is compute-bound */
            double gf[2];
            for (int mi = 1; mi < 3; mi++) {
                double tms = time_matmul(&c, x, ms[mi], &one, y, o.quick ? 2 : 6, NULL, NULL, NULL);
                gf[mi - 1] = 2.0 * (double)ms[mi] * (double)sh.n * (double)sh.k / (tms * 1e-3) / 1e9;
            }
            if (o.json) {
                printf("%s\n  {\"type\": \"%s\", \"n\": %lld, \"k\": %lld, \"group_size\": %lld, \"m1_ms\": %.4f, "
                       "\"m1_gbs\": %.2f, \"m1_of_bandwidth\": %.3f, \"m1_of_same_read\": %.3f, \"m1_core_ceiling_gbs\": %.2f, \"m128_gflops\": %.1f, "
                       "\"m512_gflops\": %.1f}",
                       first ? "" : ",", npg_wtype_name((npg_wtype)t), (long long)sh.n, (long long)sh.k,
                       (long long)gs, ms1, gbs, gbs / bw, read_ms / ms1, core, gf[0], gf[1]);
            } else {
                char dims[32];
                snprintf(dims, sizeof dims, "%lldx%lld", (long long)sh.n, (long long)sh.k);
                printf("%-8s %11s | %8.3f %8.1f %5.0f%% %6.0f%% %7.1f | %9.1f %9.1f\n", npg_wtype_name((npg_wtype)t),
                       dims, ms1, gbs, 100.0 * gbs / bw, 100.0 * read_ms / ms1, core, gf[0], gf[1]);
            }
            fflush(stdout);
            first = false;
            free_copies(&wc);
        }
    }
    if (o.json)
        printf("\n]}\n");
    npg_compute_release(&c);
    npg_threadpool_free(pool);
    free(x);
    free(y);
    free(src);
    free(sbuf);
    return status;
}
