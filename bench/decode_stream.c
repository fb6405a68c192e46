/* decode_stream.c — npg-decode-stream: what one core's decode kernel gets from memory, beside a plain
 * read of the same buffer, in one process.
 *
 *   npg-decode-stream [--mb N] [--rounds R] [--file PATH] [--threads T] [--isa avx512|avx2|scalar]
 *                     [--experiment]
 *
 * Decode reads every weight once per token, so its speed is the rate one core's (or T cores') weight
 * stream is fed from DRAM. This program puts an int4 channel-wise weight of N MB (k = 2048: 1 KiB
 * rows, TinyLlama's shape) in three kinds of memory and, per kind and round, times
 *   read   a plain AVX-512 read of the whole buffer (the roofline), then
 *   q4     npg_matmul(m = 1) over the same buffer as one [N MB / 1 KiB, 2048] int4-CW weight,
 * each as GB/s, and prints q4/read of the same round:
 *   anon-4k    anonymous memory with MADV_NOHUGEPAGE (4 KiB pages),
 *   anon-thp   anonymous memory, 2 MiB-aligned, MADV_HUGEPAGE (transparent huge pages),
 *   file       PATH mapped as npg_map_file maps weights (only with --file; its first N MB).
 * The page sizes the kernel actually gave (AnonHugePages / FilePmdMapped of /proc/self/smaps) are
 * printed per kind. --experiment instead times, per round, the read, the library kernel and a copy of
 * its row loop with software prefetch 0-16 KiB ahead and hints T0/T1/T2/NTA. Run it pinned with real-time priority (chrt -f 10 taskset -c 0 ...) so other
 * processes do not take the core: each figure is one pass, not the best of many. */
#include <immintrin.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/error.h"
#include "core/file.h"
#include "core/threadpool.h"
#include "core/timer.h"
#include "kernels/matmul.h"
#include "weights/weights.h"

#define PROG "npg-decode-stream"
enum { K = 2048 };

typedef struct read_job {
    const uint8_t *p;
    size_t per;
    long long sums[64];
} read_job;

__attribute__((target("avx512f,avx512bw"))) static long long read_avx512(const uint8_t *p, size_t n) {
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 256 <= n; i += 256) {
        a0 = _mm512_add_epi64(a0, _mm512_load_si512((const void *)(p + i)));
        a1 = _mm512_add_epi64(a1, _mm512_load_si512((const void *)(p + i + 64)));
        a2 = _mm512_add_epi64(a2, _mm512_load_si512((const void *)(p + i + 128)));
        a3 = _mm512_add_epi64(a3, _mm512_load_si512((const void *)(p + i + 192)));
    }
    return _mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3)));
}

/* --experiment: the software prefetch of a row-after-row int4 stream, varied. rows_seq has the
 * arithmetic of the library's AVX-512 channel-wise decode kernel (per row, per block: two vpdpbusd,
 * one convert, one FMA into the row's accumulator) and reads each 1 KiB row to its end before the
 * next; pf: bytes ahead of the current read to prefetch (0: none); hint 0 = T0, 1 = T1, 2 = T2,
 * 3 = NTA. */
#define EXP_FN __attribute__((target("avx512f,avx512bw,avx512vnni,avx512dq")))
EXP_FN static inline void pf_hint(const char *a, int hint) {
    if (hint == 0)
        _mm_prefetch(a, _MM_HINT_T0);
    else if (hint == 1)
        _mm_prefetch(a, _MM_HINT_T1);
    else if (hint == 2)
        _mm_prefetch(a, _MM_HINT_T2);
    else
        _mm_prefetch(a, _MM_HINT_NTA);
}

EXP_FN static inline __m512 row_blocks(const uint8_t *row, const int8_t *q, const float *sx, int64_t nb, size_t pf,
                                       int hint) {
    const __m512i nib = _mm512_set1_epi8(0x0f);
    __m512 acc = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        if (pf)
            pf_hint((const char *)row + b * 64 + pf, hint);
        __m512i v = _mm512_loadu_si512((const void *)(row + b * 64));
        __m512i lo = _mm512_and_si512(v, nib), hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), nib);
        __m512i ql = _mm512_load_si512((const void *)(q + b * 128)), qh = _mm512_load_si512((const void *)(q + b * 128 + 64));
        __m512i d = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, ql), hi, qh);
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), _mm512_set1_ps(sx[b]), acc);
    }
    return acc;
}

EXP_FN static void rows_seq(const uint8_t *w, int64_t n, const int8_t *q, const float *sx, float *y, size_t pf,
                            int hint) {
    for (int64_t r = 0; r < n; r++)
        y[r] = _mm512_reduce_add_ps(row_blocks(w + (size_t)r * (K / 2), q, sx, K / 128, pf, hint));
}

static void read_task(void *ctx, int task, int thread) {
    (void)thread;
    read_job *j = ctx;
    j->sums[task % 64] += read_avx512(j->p + (size_t)task * j->per, j->per);
}

/* Sums the smaps field `key` (kB) over the mapping that contains p. */
static long smaps_kb(const void *p, const char *key) {
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return -1;
    char line[512];
    bool in = false;
    long kb = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
            continue;
        }
        if (in && strncmp(line, key, kl) == 0 && line[kl] == ':')
            kb = atol(line + kl + 1);
    }
    fclose(f);
    return kb;
}

static uint8_t *anon(size_t bytes, bool thp, void **base, size_t *base_len) {
    size_t al = (size_t)2 << 20;
    *base_len = bytes + al;
    void *m = mmap(NULL, *base_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    *base = m;
    uint8_t *p = (uint8_t *)(((uintptr_t)m + al - 1) & ~(uintptr_t)(al - 1));
    (void)madvise(p, bytes, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < bytes; i += 8) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        memcpy(p + i, &s, 8);
    }
    return p;
}

int main(int argc, char **argv) {
    size_t mb = 600;
    int rounds = 4, threads = 1;
    const char *file = NULL;
    bool exp_mode = false;
    npg_isa isa = NPG_ISA_AVX512;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--mb") == 0 && v)
            mb = (size_t)atol(argv[++i]);
        else if (strcmp(argv[i], "--rounds") == 0 && v)
            rounds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0 && v)
            threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--isa") == 0 && v) {
            if (npg_isa_parse(argv[++i], &isa) != NPG_OK) {
                fprintf(stderr, PROG ": %s\n", npg_last_error());
                return 2;
            }
        } else if (strcmp(argv[i], "--experiment") == 0)
            exp_mode = true;
        else if (strcmp(argv[i], "--file") == 0 && v)
            file = argv[++i];
        else {
            fprintf(stderr, "usage: " PROG " [--mb N] [--rounds R] [--file PATH] [--threads T] [--isa ISA] [--experiment]\n");
            return 2;
        }
    }
    if (npg_isa_detect() < NPG_ISA_AVX512 || mb < 16 || rounds < 1 || threads < 1 || threads > 64) {
        fprintf(stderr, PROG ": needs AVX-512, --mb >= 16, --rounds >= 1, 1 <= --threads <= 64\n");
        return 2;
    }
    npg_threadpool *pool = NULL;
    if (threads > 1 && npg_threadpool_create(threads, &pool) != NPG_OK) {
        fprintf(stderr, PROG ": %s\n", npg_last_error());
        return 1;
    }
    size_t bytes = mb * 1000000 / ((size_t)K / 2 * 64) * ((size_t)K / 2 * 64); /* whole 64-row groups */
    int64_t n = (int64_t)(bytes / (K / 2));
    float *scales = malloc((size_t)n * sizeof(float));
    float *x = malloc(K * sizeof(float));
    float *y = malloc((size_t)n * sizeof(float));
    npg_compute c = {.pool = pool, .isa = isa};
    if (!scales || !x || !y || npg_compute_reserve(&c, 1, K) != NPG_OK) {
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }
    for (int64_t i = 0; i < n; i++)
        scales[i] = 1e-3f;
    for (int i = 0; i < K; i++)
        x[i] = (float)((i * 37) % 101 - 50) / 50.0f;
    printf(PROG ": %zu MB int4-CW weight [%lld, %d], %d thread(s), %d rounds, isa %s\n", bytes / 1000000, (long long)n,
           K, threads, rounds, npg_isa_name(isa));
    const char *kinds[] = {"anon-4k", "anon-thp", "file"};
    for (int kind = 0; kind < 3; kind++) {
        void *base = NULL;
        size_t base_len = 0;
        npg_mapped_file mf = {0};
        const uint8_t *p = NULL;
        if (kind < 2) {
            p = anon(bytes, kind == 1, &base, &base_len);
        } else if (file) {
            if (npg_map_file(file, &mf) != NPG_OK || mf.size < bytes) {
                fprintf(stderr, PROG ": %s\n", mf.size < bytes ? "file smaller than --mb" : npg_last_error());
                return 1;
            }
            p = mf.data;
        }
        if (!p)
            continue;
        long huge = smaps_kb(p, kind < 2 ? "AnonHugePages" : "FilePmdMapped");
        printf("%-9s huge-mapped %ld of %zu MB\n", kinds[kind], huge / 1000, bytes / 1000000);
        npg_weight w = {NPG_W_Q4_CW, n, K, 0, p, scales};
        read_job rj = {.p = p, .per = bytes / (size_t)threads};
        if (exp_mode) {
            static const struct {
                const char *name;
                size_t pf;
                int hint;
            } ex[] = {{"pf0", 0, 0},          {"pf1K T0", 1024, 0}, {"pf2K T0", 2048, 0}, {"pf4K T0", 4096, 0},
                      {"pf8K T0", 8192, 0},   {"pf16K T0", 16384, 0}, {"pf4K T1", 4096, 1}, {"pf4K T2", 4096, 2},
                      {"pf4K NTA", 4096, 3}};
            int8_t *qx = aligned_alloc(64, K);
            float sxs[K / 128];
            for (int i = 0; i < K; i++)
                qx[i] = (int8_t)((i * 37) % 255 - 127);
            for (int i = 0; i < K / 128; i++)
                sxs[i] = 0.01f;
            for (int r = 0; r < rounds; r++) {
                double t0 = npg_now_ms();
                read_task(&rj, 0, 0);
                double gr = (double)bytes / ((npg_now_ms() - t0) * 1e6);
                t0 = npg_now_ms();
                npg_matmul(&c, x, 1, &w, y);
                double gl = (double)bytes / ((npg_now_ms() - t0) * 1e6);
                printf("  round %d  read %6.2f  lib %6.2f (%.3f)", r, gr, gl, gl / gr);
                for (size_t e = 0; e < sizeof ex / sizeof ex[0]; e++) {
                    t0 = npg_now_ms();
                    rows_seq(p, n, qx, sxs, y, ex[e].pf, ex[e].hint);
                    double g = (double)bytes / ((npg_now_ms() - t0) * 1e6);
                    printf(" | %s %.2f (%.3f)", ex[e].name, g, g / gr);
                }
                printf("\n");
                fflush(stdout);
            }
            free(qx);
            if (base)
                munmap(base, base_len);
            npg_unmap_file(&mf);
            continue;
        }
        double sr = 0, sq = 0;
        for (int r = 0; r < rounds; r++) {
            double t0 = npg_now_ms();
            if (pool)
                npg_threadpool_run(pool, threads, read_task, &rj);
            else
                read_task(&rj, 0, 0);
            double t1 = npg_now_ms();
            npg_matmul(&c, x, 1, &w, y);
            double t2 = npg_now_ms();
            double gr = (double)bytes / ((t1 - t0) * 1e6), gq = (double)bytes / ((t2 - t1) * 1e6);
            sr += gr;
            sq += gq;
            printf("  round %d  read %6.2f GB/s  q4 %6.2f GB/s  q4/read %.3f\n", r, gr, gq, gq / gr);
        }
        printf("%-9s mean     read %6.2f GB/s  q4 %6.2f GB/s  q4/read %.3f   (sum %lld, y0 %g)\n", kinds[kind],
               sr / rounds, sq / rounds, sq / sr, rj.sums[0], (double)y[0]);
        fflush(stdout);
        if (base)
            munmap(base, base_len);
        npg_unmap_file(&mf);
    }
    npg_compute_release(&c);
    npg_threadpool_free(pool);
    free(scales);
    free(x);
    free(y);
    return 0;
}
