/* test_gemm.c — the outer-product GEMM (B input-major, F32 or F16), the packed GEMM (gemm_packed.h) and
 * the row softmax against double references, at every ISA the CPU has, with odd sizes (partial row
 * strips, partial column vectors, K past one chunk), strides, accumulation and 1 or 3 threads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/half.h"
#include "kernels/gemm.h"
#include "kernels/gemm_packed.h"
#include "testutil.h"

static float frand(uint32_t *s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static void one_case(npg_compute *c, int64_t M, int64_t N, int64_t K, npg_wtype bt, int accumulate, float *worst) {
    int64_t lda = K + 3, ldb = N + 5, ldc = N + 2;
    float *A = malloc(sizeof(float) * (size_t)(M * lda));
    float *Bf = malloc(sizeof(float) * (size_t)(K * ldb));
    uint16_t *Bh = malloc(sizeof(uint16_t) * (size_t)(K * ldb));
    float *C = malloc(sizeof(float) * (size_t)(M * ldc));
    double *ref = malloc(sizeof(double) * (size_t)(M * N));
    REQUIRE(A && Bf && Bh && C && ref);
    uint32_t s = (uint32_t)(M * 131 + N * 7 + K);
    for (int64_t i = 0; i < M * lda; i++)
        A[i] = frand(&s);
    for (int64_t i = 0; i < K * ldb; i++) {
        Bh[i] = npg_f32_to_f16(frand(&s));
        Bf[i] = bt == NPG_W_F16 ? npg_f16_to_f32(Bh[i]) : frand(&s);
    }
    for (int64_t i = 0; i < M * ldc; i++)
        C[i] = frand(&s);
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double acc = accumulate ? (double)C[i * ldc + j] : 0.0;
            for (int64_t k = 0; k < K; k++)
                acc += (double)A[i * lda + k] * (double)Bf[k * ldb + j];
            ref[i * N + j] = acc;
        }
    float guard = C[ldc - 1]; /* past column N: never written */
    npg_gemm_nn(c, M, N, K, A, lda, bt == NPG_W_F16 ? (const void *)Bh : (const void *)Bf, bt, ldb, C, ldc, accumulate);
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            float d = (float)fabs((double)C[i * ldc + j] - ref[i * N + j]);
            *worst = d > *worst ? d : *worst;
        }
    CHECK(C[ldc - 1] == guard);
    free(A);
    free(Bf);
    free(Bh);
    free(C);
    free(ref);
}

static void gemm_matches_reference(void) {
    static const int64_t sizes[][3] = {{1, 1, 1}, {13, 37, 5}, {8, 32, 64}, {100, 300, 300}, {7, 17, 600}, {97, 40, 64}};
    npg_threadpool *pool = NULL;
    REQUIRE_OK(npg_threadpool_create(3, &pool));
    for (int isa = NPG_ISA_SCALAR; isa <= (int)npg_isa_detect(); isa++)
        for (int threaded = 0; threaded < 2; threaded++) {
            npg_compute c = {.pool = threaded ? pool : NULL, .isa = (npg_isa)isa};
            float worst = 0.0f;
            for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++)
                for (int acc = 0; acc < 2; acc++) {
                    one_case(&c, sizes[t][0], sizes[t][1], sizes[t][2], NPG_W_F32, acc, &worst);
                    one_case(&c, sizes[t][0], sizes[t][1], sizes[t][2], NPG_W_F16, acc, &worst);
                }
            fprintf(stderr, "  %s %s: max |diff| %.3g\n", npg_isa_name((npg_isa)isa), threaded ? "3 threads" : "1 thread",
                    (double)worst);
            CHECK(worst < 1e-4f);
        }
    npg_threadpool_free(pool);
}

/* The packed GEMM: two weights of one type packed side by side (the second at an unaligned column
 * offset, as Q/K/V are), every float and int8 weight type, bias, accumulate and each activation, against
 * a double reference over the dequantized weights; odd sizes (row and column tails, K past one chunk). */
static double act_ref(npg_gemm_act act, double x) {
    switch (act) {
    case NPG_GEMM_ACT_GELU_TANH: return 0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
    case NPG_GEMM_ACT_QUICK_GELU: return x / (1.0 + exp(-1.702 * x));
    case NPG_GEMM_ACT_GELU_ERF: return 0.5 * x * (1.0 + erf(x * 0.70710678118654752));
    case NPG_GEMM_ACT_NONE: break;
    }
    return x;
}

static void packed_case(npg_compute *c, int64_t M, int64_t N1, int64_t N2, int64_t K, npg_wtype wt, int accumulate,
                        npg_gemm_act act, float *worst) {
    int64_t N = N1 + N2, lda = K + 3, ldc = N + 2;
    float *A = malloc(sizeof(float) * (size_t)(M * lda)), *C = malloc(sizeof(float) * (size_t)(M * ldc));
    float *Wf = malloc(sizeof(float) * (size_t)(N * K)), *bias = malloc(sizeof(float) * (size_t)N);
    float *packed = malloc(sizeof(float) * npg_gemm_packed_size(N, K));
    size_t rb = npg_quant_row_bytes(wt, K);
    uint8_t *data = malloc(rb * (size_t)N);
    float *scales = malloc(sizeof(float) * (size_t)N * 64);
    REQUIRE(A && C && Wf && bias && packed && data && scales);
    uint32_t s = (uint32_t)(M * 131 + N * 7 + K + wt);
    for (int64_t i = 0; i < M * lda; i++)
        A[i] = frand(&s);
    for (int64_t i = 0; i < N * K; i++)
        Wf[i] = frand(&s);
    for (int64_t j = 0; j < N; j++)
        bias[j] = frand(&s);
    const npg_wtype_traits *tr = npg_wtype_traits_of(wt);
    for (int64_t j = 0; j < N; j++) /* quantize, then the reference uses the dequantized values */
        tr->quantize_row(Wf + j * K, K, 0, data + (size_t)j * rb, scales + j);
    npg_weight w1 = {.type = wt, .n = N1, .k = K, .data = data, .scales = scales};
    npg_weight w2 = {.type = wt, .n = N2, .k = K, .data = data + (size_t)N1 * rb, .scales = scales + N1};
    for (int64_t j = 0; j < N1; j++)
        npg_dequantize_row(&w1, j, Wf + j * K);
    for (int64_t j = 0; j < N2; j++)
        npg_dequantize_row(&w2, j, Wf + (N1 + j) * K);
    for (int64_t i = 0; i < M * ldc; i++)
        C[i] = frand(&s);
    double *ref = malloc(sizeof(double) * (size_t)(M * N));
    REQUIRE(ref);
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double acc = (accumulate ? (double)C[i * ldc + j] : 0.0) + (double)bias[j];
            for (int64_t k = 0; k < K; k++)
                acc += (double)A[i * lda + k] * (double)Wf[j * K + k];
            ref[i * N + j] = act_ref(act, acc);
        }
    float guard = C[ldc - 1];
    npg_gemm_pack(c, &w1, 0, N, packed);
    npg_gemm_pack(c, &w2, N1, N, packed);
    npg_gemm_packed(c, M, N, K, A, lda, packed, bias, act, C, ldc, accumulate);
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            float d = (float)fabs((double)C[i * ldc + j] - ref[i * N + j]);
            *worst = d > *worst ? d : *worst;
        }
    CHECK(C[ldc - 1] == guard);
    free(A);
    free(C);
    free(Wf);
    free(bias);
    free(packed);
    free(data);
    free(scales);
    free(ref);
}

static void packed_matches_reference(void) {
    static const int64_t sizes[][4] = {{1, 1, 0, 1}, {13, 37, 5, 5}, {12, 32, 32, 64}, {100, 300, 17, 300},
                                       {7, 17, 40, 600}, {130, 40, 24, 64}};
    static const npg_wtype types[] = {NPG_W_F32, NPG_W_F16, NPG_W_BF16, NPG_W_Q8_CW};
    npg_threadpool *pool = NULL;
    REQUIRE_OK(npg_threadpool_create(3, &pool));
    for (int isa = NPG_ISA_SCALAR; isa <= (int)npg_isa_detect(); isa++)
        for (int threaded = 0; threaded < 2; threaded++) {
            npg_compute c = {.pool = threaded ? pool : NULL, .isa = (npg_isa)isa};
            float worst = 0.0f;
            for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++)
                for (size_t ty = 0; ty < sizeof types / sizeof types[0]; ty++)
                    for (int acc = 0; acc < 2; acc++)
                        packed_case(&c, sizes[t][0], sizes[t][1], sizes[t][2], sizes[t][3], types[ty], acc,
                                    (npg_gemm_act)((t + ty + (size_t)acc) % 4), &worst);
            fprintf(stderr, "  packed %s %s: max |diff| %.3g\n", npg_isa_name((npg_isa)isa),
                    threaded ? "3 threads" : "1 thread", (double)worst);
            CHECK(worst < 1e-4f);
        }
    npg_threadpool_free(pool);
}

static void softmax_matches_reference(void) {
    enum { ROWS = 5, LD = 1601 };
    static const int64_t lens[] = {1, 15, 17, 1500};
    float *x = malloc(sizeof(float) * ROWS * LD);
    REQUIRE(x);
    for (int isa = NPG_ISA_SCALAR; isa <= (int)npg_isa_detect(); isa++)
        for (size_t t = 0; t < sizeof lens / sizeof lens[0]; t++) {
            int64_t n = lens[t];
            uint32_t s = 7;
            for (int i = 0; i < ROWS * LD; i++)
                x[i] = 12.0f * frand(&s);
            x[2 * LD] = -200.0f; /* underflow to 0 */
            float before = x[LD - 1];
            double ref[1500];
            float worst = 0.0f;
            for (int r = 0; r < ROWS; r++) {
                double mx = -(double)INFINITY, sum = 0;
                for (int64_t i = 0; i < n; i++)
                    mx = fmax(mx, (double)x[r * LD + i]);
                for (int64_t i = 0; i < n; i++)
                    sum += exp((double)x[r * LD + i] - mx);
                if (r == 0)
                    for (int64_t i = 0; i < n; i++)
                        ref[i] = exp((double)x[i] - mx) / sum;
            }
            npg_compute c = {.isa = (npg_isa)isa};
            npg_softmax_rows(&c, x, ROWS, n, LD);
            for (int64_t i = 0; i < n; i++) {
                float d = (float)fabs((double)x[i] - ref[i]);
                worst = d > worst ? d : worst;
            }
            double sum2 = 0;
            for (int64_t i = 0; i < n; i++)
                sum2 += (double)x[2 * LD + i];
            CHECK(fabs(sum2 - 1.0) < 1e-5);
            CHECK(worst < 1e-6f);
            CHECK(n == LD || x[LD - 1] == before);
        }
    free(x);
}

int main(void) {
    RUN(gemm_matches_reference);
    RUN(packed_matches_reference);
    RUN(softmax_matches_reference);
    return npg_test_summary();
}
