/* test_se_subset.c — the X-form paths for inputs wider than NPG_SE_EXACT_MAX (stories260K never reaches
 * them): channel-wise scale estimation on the slot's token subset (se_subset.c, through
 * npg_scale_estimation) and GPTQ + scale estimation scoring its candidates on the subset
 * (gptq_solve.c). Checked against RTN on a synthetic matrix and activations with a few strong
 * channels: the subset's output error must not grow for any row and must shrink overall; the stored
 * codes must be valid; GPTQ + SE must lower H's output error against RTN's. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compress/dataaware.h"
#include "core/threadpool.h"
#include "testutil.h"
#include "weights/weights.h"

enum { K = 1100, N = 48, M = 300 };

static unsigned next(unsigned *seed) {
    *seed = *seed * 1103515245u + 12345u;
    return *seed >> 8;
}

static float uniform(unsigned *seed) { return (float)(next(seed) & 0xffff) / 65536.0f - 0.5f; }

/* X [rows, K]: uniform noise with every 17th channel 8x stronger (as LLM activations have). */
static float *make_x(int64_t rows, unsigned seed) {
    float *x = malloc((size_t)(rows * K) * sizeof(float));
    for (int64_t i = 0; x && i < rows * K; i++)
        x[i] = uniform(&seed) * ((i % K) % 17 == 0 ? 8.0f : 1.0f);
    return x;
}

/* |X_f w - X v|^2 over the rows of X (v = codes' levels x scale), double. */
static double out_err(const float *xf, const float *x, int64_t rows, const float *w, const uint8_t *codes, float scale) {
    double e = 0.0;
    for (int64_t j = 0; j < rows; j++) {
        double a = 0.0, b = 0.0;
        for (int64_t c = 0; c < K; c++) {
            a += (double)xf[j * K + c] * (double)w[c];
            b += (double)x[j * K + c] * ((double)codes[c] - 8.0) * (double)scale;
        }
        e += (a - b) * (a - b);
    }
    return e;
}

/* RTN's codes and scale of row w (the writer's quantizer). */
static void rtn_row(const float *w, uint8_t *codes, float *scale) {
    npg_export_item it = {.wtype = NPG_W_Q4_CW, .n_dims = 2, .shape = {1, K}, .override = (float *)w};
    REQUIRE_OK(npg_rtn_codes(&it));
    memcpy(codes, it.codes, K);
    *scale = it.qscales[0];
    free(it.codes);
    free(it.qscales);
}

static void check_subset(bool cross) {
    npg_threadpool *pool = NULL;
    REQUIRE_OK(npg_threadpool_create(2, &pool));
    npg_compute mm = {.pool = pool, .isa = npg_isa_detect()};
    unsigned seed = cross ? 7u : 3u;
    float *w = malloc((size_t)(N * K) * sizeof(float)), *x = make_x(M, seed + 100u), *xf = NULL;
    REQUIRE(w && x);
    for (int64_t i = 0; i < N * K; i++)
        w[i] = uniform(&seed) * 0.1f * (i % 97 == 0 ? 6.0f : 1.0f); /* a few outliers per row */
    if (cross) { /* the float model's inputs: X plus a small difference (the compressed layers' error) */
        xf = malloc((size_t)(M * K) * sizeof(float));
        REQUIRE(xf);
        for (int64_t i = 0; i < M * K; i++)
            xf[i] = x[i] + 0.05f * uniform(&seed);
    }
    npg_calib_slot s = {.k = K, .count = M, .sub_n = M, .sub_stride = 1, .sub_x = x, .sub_xf = xf};
    CHECK(npg_se_subset_usable(&s, K));
    npg_calib_slot narrow = {.k = 1000, .sub_n = M, .sub_x = x};
    CHECK(!npg_se_subset_usable(&narrow, 1000)); /* narrow inputs keep the exact search on H */
    npg_export_item it = {.name = "w", .kind = NPG_EXPORT_CONVERT, .wtype = NPG_W_Q4_CW, .n_dims = 2,
                          .shape = {N, K}, .override = w};
    REQUIRE_OK(npg_scale_estimation(&it, &s, &mm));
    uint8_t rc[K];
    bool codes_ok = true, never_worse = true;
    double e_rtn = 0.0, e_se = 0.0;
    for (int64_t r = 0; r < N; r++) {
        float rs;
        rtn_row(w + r * K, rc, &rs);
        for (int64_t c = 0; c < K; c++)
            codes_ok = codes_ok && it.codes[r * K + c] < 16;
        double a = out_err(xf ? xf : x, x, M, w + r * K, rc, rs);
        double b = out_err(xf ? xf : x, x, M, w + r * K, it.codes + r * K, it.qscales[r]);
        never_worse = never_worse && b <= a * (1.0 + 1e-4);
        e_rtn += a;
        e_se += b;
    }
    fprintf(stderr, "  cross %d: subset output error RTN %.4g, scale estimation %.4g (%.3fx)\n", cross, e_rtn, e_se,
            e_se / e_rtn);
    CHECK(codes_ok);
    CHECK(never_worse);
    CHECK(e_se < 0.95 * e_rtn);
    free(it.codes);
    free(it.qscales);
    free(w);
    free(x);
    free(xf);
    npg_threadpool_free(pool);
}

static void test_subset_plain(void) { check_subset(false); }
static void test_subset_cross(void) { check_subset(true); }

/* GPTQ + SE on a wide input: H from all rows, candidates scored on a subset of them. */
static void test_gptq_se_subset(void) {
    npg_threadpool *pool = NULL;
    REQUIRE_OK(npg_threadpool_create(2, &pool));
    npg_compute mm = {.pool = pool, .isa = npg_isa_detect()};
    enum { ROWS = 1400, NR = 16 };
    unsigned seed = 11u;
    float *x = make_x(ROWS, 5u), *w = malloc((size_t)(NR * K) * sizeof(float)), *sub = malloc((size_t)(M * K) * sizeof(float));
    double *h = calloc((size_t)K * K, sizeof(double));
    REQUIRE(x && w && sub && h);
    for (int64_t i = 0; i < NR * K; i++)
        w[i] = uniform(&seed) * 0.1f * (i % 97 == 0 ? 6.0f : 1.0f);
    for (int64_t r = 0; r < ROWS; r++)
        for (int64_t i = 0; i < K; i++) {
            double xi = (double)x[r * K + i];
            for (int64_t j = 0; j < K; j++)
                h[i * K + j] += xi * (double)x[r * K + j];
        }
    for (int64_t j = 0; j < M; j++) /* every 4th row, as the calibration's stride keeps them */
        memcpy(sub + j * K, x + (j * 4) * K, K * sizeof(float));
    npg_calib_slot s = {.k = K, .count = ROWS, .hessian = h, .sub_n = M, .sub_stride = 4, .sub_x = sub};
    npg_gptq_factor f = {0};
    REQUIRE_OK(npg_gptq_factor_make(&s, true, &mm, &f));
    npg_export_item it = {.name = "w", .kind = NPG_EXPORT_CONVERT, .wtype = NPG_W_Q4_CW, .n_dims = 2,
                          .shape = {NR, K}, .override = w};
    REQUIRE_OK(npg_gptq_quantize(&it, &s, &f, &mm, true, true));
    /* H's output error (w - v)^T H (w - v), GPTQ + SE against RTN, summed over the rows */
    double e_rtn = 0.0, e_g = 0.0;
    double *d = malloc(K * sizeof(double)), *d2 = malloc(K * sizeof(double));
    REQUIRE(d && d2);
    for (int64_t r = 0; r < NR; r++) {
        uint8_t rc[K];
        float rs;
        rtn_row(w + r * K, rc, &rs);
        for (int64_t c = 0; c < K; c++) {
            d[c] = (double)w[r * K + c] - ((double)rc[c] - 8.0) * (double)rs;
            d2[c] = (double)w[r * K + c] - ((double)it.codes[r * K + c] - 8.0) * (double)it.qscales[r];
        }
        for (int64_t i = 0; i < K; i++)
            for (int64_t j = 0; j < K; j++) {
                e_rtn += d[i] * h[i * K + j] * d[j];
                e_g += d2[i] * h[i * K + j] * d2[j];
            }
    }
    fprintf(stderr, "  GPTQ + SE (subset scoring): H error %.4g against RTN's %.4g (%.3fx)\n", e_g, e_rtn, e_g / e_rtn);
    CHECK(e_g < 0.8 * e_rtn);
    free(d);
    free(d2);
    free(it.codes);
    free(it.qscales);
    npg_gptq_factor_free(&f);
    free(x);
    free(w);
    free(sub);
    free(h);
    npg_threadpool_free(pool);
}

int main(void) {
    RUN(test_subset_plain);
    RUN(test_subset_cross);
    RUN(test_gptq_se_subset);
    return npg_test_summary();
}
