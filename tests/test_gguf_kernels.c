/* test_gguf_kernels.c — the GGML block types (weights/ggml_blocks.c, kernels/gguf_quants*.c): the
 * scalar reference dot equals dequantize-then-f32-dot exactly; every ISA's kernel matches the
 * reference on random blocks (random bytes with finite scales, and quantized random rows); the
 * quantizers round-trip within their step; npg_matmul over a GGML weight (decode and prefill paths,
 * threaded) matches npg_matmul_ref. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/half.h"
#include "kernels/gguf_quants.h"
#include "kernels/kernel_set.h"
#include "testutil.h"

static uint64_t rng = 88172645463325252ull;
static uint32_t next_u32(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}
static float frand(void) { return (float)(next_u32() % 2000001) / 1000000.0f - 1.0f; }

static const npg_wtype types[] = {NPG_W_GGML_Q8_0, NPG_W_GGML_Q4_0, NPG_W_GGML_Q4_1,
                                  NPG_W_GGML_Q4_K, NPG_W_GGML_Q5_K, NPG_W_GGML_Q6_K};

/* Random bytes, then every f16 field set to a small finite value (offsets per layout). */
static void random_blocks(npg_wtype t, uint8_t *row, int64_t k) {
    size_t bb = npg_ggml_block_bytes(t), n = (size_t)(k / npg_ggml_block_values(t));
    for (size_t i = 0; i < bb * n; i++)
        row[i] = (uint8_t)next_u32();
    for (size_t b = 0; b < n; b++) {
        uint8_t *blk = row + b * bb;
        size_t f16_at[2] = {0, 2};
        int nf = t == NPG_W_GGML_Q4_1 || t == NPG_W_GGML_Q4_K || t == NPG_W_GGML_Q5_K ? 2 : 1;
        if (t == NPG_W_GGML_Q6_K)
            f16_at[0] = 208;
        for (int f = 0; f < nf; f++) {
            uint16_t h = npg_f32_to_f16(frand() * 0.05f);
            memcpy(blk + f16_at[f], &h, 2);
        }
    }
}

/* Extreme blocks: every code byte 0x00 or 0xFF (codes 0 or the type's largest, 6-bit scales and mins
 * 0 or 63, Q6_K's int8 scales 0 or −1), f16 fields ±30000 or ±1e-4 (Q4_K / Q5_K: d and dmin differ
 * by 3×, so the scale and min terms never cancel exactly). */
static void extreme_blocks(npg_wtype t, uint8_t *row, int64_t k) {
    size_t bb = npg_ggml_block_bytes(t), n = (size_t)(k / npg_ggml_block_values(t));
    for (size_t i = 0; i < bb * n; i++)
        row[i] = next_u32() % 4 ? 0xFF : 0x00;
    for (size_t b = 0; b < n; b++) {
        uint8_t *blk = row + b * bb;
        size_t f16_at[2] = {t == NPG_W_GGML_Q6_K ? 208 : 0, 2};
        int nf = t == NPG_W_GGML_Q4_1 || t == NPG_W_GGML_Q4_K || t == NPG_W_GGML_Q5_K ? 2 : 1;
        float big = next_u32() % 2 ? 30000.0f : 1e-4f, sign = next_u32() % 2 ? 1.0f : -1.0f;
        for (int f = 0; f < nf; f++) {
            uint16_t h = npg_f32_to_f16(sign * big / (f ? 3.0f : 1.0f));
            memcpy(blk + f16_at[f], &h, 2);
        }
    }
}

static float abs_dot(npg_wtype t, const uint8_t *row, const float *x, int64_t k) {
    float *w = malloc((size_t)k * sizeof *w), s = 0.0f;
    npg_ggml_dequantize_range(t, row, 0, k, w);
    for (int64_t c = 0; c < k; c++)
        s += fabsf(w[c] * x[c]);
    free(w);
    return s;
}

static void test_ref_is_dequant_dot(void) {
    const int64_t k = 512;
    float x[512], w[512];
    uint8_t row[512 * 2];
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        npg_wtype t = types[ti];
        npg_ggml_dot_fn ref[NPG_GGML_NTYPES] = {0};
        npg_ggml_dots_ref(ref);
        for (int rep = 0; rep < 20; rep++) {
            random_blocks(t, row, k);
            for (int64_t c = 0; c < k; c++)
                x[c] = frand();
            npg_ggml_dequantize_range(t, row, 0, k, w);
            float want = 0.0f;
            for (int64_t c = 0; c < k; c++)
                want += w[c] * x[c];
            CHECK(ref[t - NPG_W_GGML_Q8_0](row, x, k) == want);
            /* a sub-range equals the same values of the whole row */
            float part[100];
            npg_ggml_dequantize_range(t, row, 37, 137, part);
            CHECK(memcmp(part, w + 37, sizeof part) == 0);
        }
    }
}

static void test_isa_kernels(void) {
    const int64_t k = 1024;
    float x[1024], src[1024];
    uint8_t row[1024 * 2];
    for (int isa = NPG_ISA_AVX2; isa <= NPG_ISA_AVX512; isa++) {
        if (npg_isa_detect() < (npg_isa)isa)
            continue;
        npg_ggml_dot_fn tab[NPG_GGML_NTYPES] = {0}, ref[NPG_GGML_NTYPES] = {0};
        npg_ggml_dots_ref(ref);
        if (isa == NPG_ISA_AVX2)
            npg_ggml_dots_avx2(tab);
        else
            npg_ggml_dots_avx512(tab);
        for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
            npg_wtype t = types[ti];
            int i = t - NPG_W_GGML_Q8_0;
            REQUIRE(tab[i] != NULL);
            CHECK(npg_ggml_dot_for((npg_isa)isa, t) == tab[i]);
            for (int rep = 0; rep < 40; rep++) {
                if (rep % 2) {
                    random_blocks(t, row, k);
                } else {
                    for (int64_t c = 0; c < k; c++)
                        src[c] = frand() * (c % 97 == 0 ? 4.0f : 1.0f);
                    npg_ggml_quantize_row(t, src, k, row);
                }
                for (int64_t c = 0; c < k; c++)
                    x[c] = frand();
                float a = tab[i](row, x, k), b = ref[i](row, x, k), scale = abs_dot(t, row, x, k);
                if (!(fabsf(a - b) <= 1e-5f * scale + 1e-6f)) {
                    fprintf(stderr, "%s isa %d rep %d: kernel %.9g reference %.9g (Σ|w·x| %.6g)\n",
                            npg_wtype_name(t), isa, rep, (double)a, (double)b, (double)scale);
                    CHECK(0);
                }
            }
        }
    }
}

/* quantize then dequantize: within the type's step of the block's range */
static void test_quantizers(void) {
    const int64_t k = 512;
    float src[512], back[512];
    uint8_t row[512 * 2];
    const float tol[] = {0.02f, 0.15f, 0.08f, 0.15f, 0.08f, 0.05f}; /* of the block absmax (1.0) */
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        npg_wtype t = types[ti];
        for (int64_t c = 0; c < k; c++)
            src[c] = frand();
        npg_ggml_quantize_row(t, src, k, row);
        npg_ggml_dequantize_range(t, row, 0, k, back);
        float worst = 0.0f;
        for (int64_t c = 0; c < k; c++)
            worst = fabsf(back[c] - src[c]) > worst ? fabsf(back[c] - src[c]) : worst;
        if (!(worst <= tol[ti])) {
            fprintf(stderr, "%s: round trip error %g\n", npg_wtype_name(t), (double)worst);
            CHECK(0);
        }
    }
}

static void test_matmul(void) {
    const int64_t n = 67, k = 768, ms[] = {1, 2, 7};
    float *src = malloc((size_t)(n * k) * sizeof *src), *x = malloc((size_t)(7 * k) * sizeof *x);
    float *y = malloc((size_t)(7 * n) * sizeof *y), *yr = malloc((size_t)(7 * n) * sizeof *yr);
    uint8_t *data = malloc((size_t)n * 2 * (size_t)k);
    npg_threadpool *pool = NULL;
    REQUIRE(src && x && y && yr && data);
    REQUIRE_OK(npg_threadpool_create(2, &pool));
    for (int64_t i = 0; i < n * k; i++)
        src[i] = frand();
    for (int64_t i = 0; i < 7 * k; i++)
        x[i] = frand();
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        npg_wtype t = types[ti];
        int64_t kk = npg_ggml_block_values(t) == 256 ? 768 : k;
        for (int64_t r = 0; r < n; r++)
            npg_ggml_quantize_row(t, src + r * kk, kk, data + (size_t)r * npg_ggml_row_bytes(t, kk));
        npg_weight w = {.type = t, .n = n, .k = kk, .data = data};
        for (int isa = NPG_ISA_SCALAR; isa <= (int)npg_isa_detect(); isa++) {
            npg_compute c = {.pool = pool, .isa = (npg_isa)isa};
            REQUIRE_OK(npg_compute_reserve(&c, 7, kk));
            for (size_t mi = 0; mi < 3; mi++) {
                int64_t m = ms[mi];
                npg_matmul(&c, x, m, &w, y);
                npg_matmul_ref(x, m, &w, yr);
                bool q8 = (m <= 2 && isa >= NPG_ISA_AVX2 && (t == NPG_W_GGML_Q8_0 || t == NPG_W_GGML_Q4_0)) ||
                          (m <= 2 && isa == NPG_ISA_AVX512 && npg_cpu_has_vnni() && npg_ggml_qdot_vnni(t, kk)) ||
                          (m > 2 && isa == NPG_ISA_AVX512 && npg_cpu_has_vnni() && npg_ggml_gemm_type(t));
                for (int64_t i = 0; i < m * n; i++)
                    if (!(fabsf(y[i] - yr[i]) <= (q8 ? 1e-2f * sqrtf((float)kk) : 1e-4f * (1.0f + fabsf(yr[i]))))) {
                        fprintf(stderr, "%s isa %d m %lld: y[%lld] %g, reference %g\n", npg_wtype_name(t), isa,
                                (long long)m, (long long)i, (double)y[i], (double)yr[i]);
                        CHECK(0);
                        break;
                    }
            }
            npg_compute_release(&c);
        }
    }
    npg_threadpool_free(pool);
    free(src), free(x), free(y), free(yr), free(data);
}

/* int8-activation kernels: SIMD equals the scalar integer reference closely; that reference is
 * within the activation rounding (0.5/127 of each block's max |x|) of the f32 reference */
static void test_q8_act(void) {
    const int64_t k = 1024;
    float x[1024], src[1024];
    int8_t xq[1024];
    float xd[32];
    uint8_t row[1024 * 2];
    const npg_wtype qt[] = {NPG_W_GGML_Q8_0, NPG_W_GGML_Q4_0, NPG_W_GGML_Q4_1,
                            NPG_W_GGML_Q4_K, NPG_W_GGML_Q5_K, NPG_W_GGML_Q6_K};
    npg_ggml_dot_fn ref[NPG_GGML_NTYPES] = {0};
    npg_ggml_dots_ref(ref);
    for (size_t ti = 0; ti < sizeof qt / sizeof qt[0]; ti++) {
        npg_wtype t = qt[ti];
        npg_ggml_qdot_fn sref = npg_ggml_qdot_for(NPG_ISA_SCALAR, t);
        REQUIRE(sref != NULL);
        for (int rep = 0; rep < 40; rep++) {
            bool extreme = rep % 5 == 4;
            if (extreme) {
                extreme_blocks(t, row, k);
            } else if (rep % 2) {
                random_blocks(t, row, k);
            } else {
                for (int64_t c = 0; c < k; c++)
                    src[c] = frand();
                npg_ggml_quantize_row(t, src, k, row);
            }
            for (int64_t c = 0; c < k; c++) /* extreme: every code ±127 */
                x[c] = extreme ? (next_u32() % 2 ? 1.0f : -1.0f) : frand() * (c % 50 == 0 ? 5.0f : 1.0f);
            npg_ggml_quantize_act(x, k, xq, xd);
            float exact = ref[t - NPG_W_GGML_Q8_0](row, x, k), q = sref(row, xq, xd, k);
            float w[1024], bound = 0.0f;
            npg_ggml_dequantize_range(t, row, 0, k, w);
            for (int64_t c = 0; c < k; c++)
                bound += fabsf(w[c]) * (0.5f * xd[c / 32] + 1e-6f);
            CHECK(fabsf(q - exact) <= bound);
            if (npg_isa_detect() >= NPG_ISA_AVX512 && npg_cpu_has_vnni() && npg_ggml_qdot_vnni(t, k)) {
                /* the VNNI kernel reads its own layout of the same codes; k = 1024 - 64 leaves a pair
                 * after the pair kernel's groups of 8 blocks (and is not for the 8-block kernel) */
                int64_t kv = rep % 3 == 0 && npg_ggml_block_values(t) == 32 ? k - 64 : k;
                uint8_t lay[1024 * 2 + 32 * 8];
                npg_ggml_vnni_layout(xq, xd, kv, npg_ggml_vnni_order_for(t, kv), lay);
                float v = npg_ggml_qdot_vnni(t, kv)(row, (const int8_t *)lay, NULL, kv), q2 = sref(row, xq, xd, kv);
                if (!(fabsf(v - q2) <= 1e-5f * abs_dot(t, row, x, kv) + 1e-6f)) {
                    fprintf(stderr, "%s q8 act rep %d: vnni %.9g scalar %.9g\n", npg_wtype_name(t), rep, (double)v,
                            (double)q2);
                    CHECK(0);
                }
            }
            if (npg_isa_detect() >= NPG_ISA_AVX2 && npg_ggml_qdot_for(NPG_ISA_AVX2, t)) {
                float v = npg_ggml_qdot_for(NPG_ISA_AVX2, t)(row, xq, xd, k);
                if (!(fabsf(v - q) <= 1e-5f * abs_dot(t, row, x, k) + 1e-6f)) {
                    fprintf(stderr, "%s q8 act rep %d: avx2 %.9g scalar %.9g\n", npg_wtype_name(t), rep, (double)v,
                            (double)q);
                    CHECK(0);
                }
            }
        }
    }
}

/* The VNNI prefill GEMM: every output within the activation rounding of the f32 reference — per input
 * |w|·dx/2, dx = the 32-block's max|x| / 127 — for m across the 4-row tile's tails, n across the
 * 32-row panel's tails and tasks of two panels, k of odd block counts; npg_matmul_multi over two weights
 * equals npg_matmul of each bit for bit. */
static void test_gemm(void) {
    if (npg_isa_detect() < NPG_ISA_AVX512 || !npg_cpu_has_vnni()) {
        printf("no AVX-512 VNNI: the GEMM is not run on this CPU\n");
        return;
    }
    const int64_t ns[] = {1, 31, 67, 130}, ms[] = {3, 4, 5, 6, 9, 13};
    const npg_wtype gt[] = {NPG_W_GGML_Q8_0, NPG_W_GGML_Q4_0, NPG_W_GGML_Q4_1, NPG_W_GGML_Q4_K, NPG_W_GGML_Q5_K};
    npg_threadpool *pool = NULL;
    REQUIRE_OK(npg_threadpool_create(2, &pool));
    npg_compute c = {.pool = pool, .isa = NPG_ISA_AVX512};
    for (size_t ti = 0; ti < sizeof gt / sizeof gt[0]; ti++) {
        npg_wtype t = gt[ti];
        CHECK(npg_ggml_gemm_type(t));
        int64_t k = npg_ggml_block_values(t) == 256 ? 512 : 96;
        size_t rb = npg_ggml_row_bytes(t, k);
        float *x = malloc((size_t)(13 * k) * sizeof *x), *wf = malloc((size_t)(130 * k) * sizeof *wf);
        float *y = malloc(13 * 130 * sizeof *y), *y2 = malloc(13 * 130 * sizeof *y2), *yr = malloc(13 * 130 * sizeof *yr);
        uint8_t *data = malloc(130 * rb), *data2 = malloc(130 * rb);
        REQUIRE(x && wf && y && y2 && yr && data && data2);
        for (int64_t r = 0; r < 130; r++) {
            if (r % 2)
                random_blocks(t, data + (size_t)r * rb, k);
            else {
                for (int64_t c0 = 0; c0 < k; c0++)
                    wf[c0] = frand();
                npg_ggml_quantize_row(t, wf, k, data + (size_t)r * rb);
            }
            npg_ggml_dequantize_range(t, data + (size_t)r * rb, 0, k, wf + r * k);
        }
        for (int64_t i = 0; i < 13 * k; i++)
            x[i] = frand() * (i % 37 == 0 ? 4.0f : 1.0f);
        for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++)
            for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++) {
                int64_t n = ns[ni], m = ms[mi];
                npg_weight w = {.type = t, .n = n, .k = k, .data = data};
                const npg_weight *wp = &w;
                float *yp = y;
                REQUIRE(npg_matmul_ggml_gemm(&c, x, m, &wp, &yp, 1));
                npg_matmul_ref(x, m, &w, yr);
                for (int64_t i = 0; i < m; i++)
                    for (int64_t r = 0; r < n; r++) {
                        float bound = 1e-5f;
                        for (int64_t b = 0; b < k / 32; b++) {
                            float amax = 0.0f;
                            for (int j = 0; j < 32; j++)
                                amax = fmaxf(amax, fabsf(x[i * k + 32 * b + j]));
                            for (int j = 0; j < 32; j++)
                                bound += fabsf(wf[r * k + 32 * b + j]) * (0.5f * amax / 127.0f) * 1.001f +
                                         1e-6f * fabsf(wf[r * k + 32 * b + j] * x[i * k + 32 * b + j]);
                        }
                        float got = y[i * n + r], want = yr[i * n + r];
                        if (!(fabsf(got - want) <= bound)) {
                            fprintf(stderr, "%s gemm m %lld n %lld: y[%lld][%lld] %.7g, reference %.7g, bound %.3g\n",
                                    npg_wtype_name(t), (long long)m, (long long)n, (long long)i, (long long)r,
                                    (double)got, (double)want, (double)bound);
                            CHECK(0);
                            i = m;
                            break;
                        }
                    }
                /* two weights in one region: each equals the single call bit for bit */
                if (n == 67) {
                    memcpy(data2, data + 63 * rb, 67 * rb);
                    npg_weight w2 = {.type = t, .n = 67, .k = k, .data = data2};
                    const npg_weight *ww[2] = {&w, &w2};
                    float *yy[2] = {y, y2};
                    npg_matmul_multi(&c, x, m, ww, yy, 2);
                    float *single = malloc((size_t)(m * 67) * sizeof *single);
                    REQUIRE(single);
                    REQUIRE_OK(npg_compute_reserve(&c, 13, k));
                    npg_matmul(&c, x, m, &w2, single);
                    CHECK(memcmp(single, y2, (size_t)(m * 67) * sizeof *single) == 0);
                    npg_matmul(&c, x, m, &w, single);
                    CHECK(memcmp(single, y, (size_t)(m * 67) * sizeof *single) == 0);
                    free(single);
                }
            }
        free(x), free(wf), free(y), free(y2), free(yr), free(data), free(data2);
    }
    npg_compute_release(&c);
    npg_threadpool_free(pool);
}

/* the AVX-512 activation quantizer equals the scalar one bit for bit, exact halves included */
static void test_quantize_act_avx512(void) {
    if (npg_isa_detect() < NPG_ISA_AVX512)
        return;
    enum { K = 256 };
    float x[K], d1[K / 32], d2[K / 32];
    int8_t q1[K], q2[K];
    for (int rep = 0; rep < 50; rep++) {
        for (int c = 0; c < K; c++)
            x[c] = frand() * (rep % 5 == 0 ? 100.0f : 1.0f);
        if (rep % 2) /* blocks whose max is 127: d = 1, so x = ±n.5 lands on exact ties */
            for (int c = 0; c < K; c++)
                x[c] = c % 32 == 0 ? 127.0f : (float)((int)(x[c] * 100.0f)) + (c % 3 ? 0.5f : -0.5f);
        if (rep == 4)
            memset(x, 0, sizeof x); /* all-zero blocks: scale 0, codes 0 */
        npg_ggml_quantize_act(x, K, q1, d1);
        npg_ggml_quantize_act_avx512(x, K, q2, d2);
        CHECK(memcmp(q1, q2, sizeof q1) == 0 && memcmp(d1, d2, sizeof d1) == 0);
    }
}

int main(void) {
    RUN(test_ref_is_dequant_dot);
    RUN(test_isa_kernels);
    RUN(test_quantizers);
    RUN(test_q8_act);
    RUN(test_quantize_act_avx512);
    RUN(test_matmul);
    RUN(test_gemm);
    return npg_test_summary();
}
