/* test_gptq_factor.c — GPTQ's factor (src/compress/gptq_solve.c): U upper with U^T U = A^-1 for the
 * damped, permuted Hessian A, on both paths (all-double for small inputs, blocked with f32 matmuls from
 * 1024 inputs): U A U^T must be the identity. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compress/dataaware.h"
#include "core/threadpool.h"
#include "testutil.h"

/* H = X^T X for X [rows, k] with a few strong channels (as LLM activations have), double. */
static double *make_hessian(int64_t k, int64_t rows, unsigned seed) {
    float *x = malloc((size_t)(rows * k) * sizeof(float));
    double *h = calloc((size_t)(k * k), sizeof(double));
    if (!x || !h) {
        free(x);
        free(h);
        return NULL;
    }
    for (int64_t i = 0; i < rows * k; i++) {
        seed = seed * 1103515245u + 12345u;
        x[i] = ((float)((seed >> 8) & 0xffff) / 65536.0f - 0.5f) * ((i % k) % 17 == 0 ? 8.0f : 1.0f);
    }
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < k; i++)
            for (int64_t j = 0; j < k; j++)
                h[i * k + j] += (double)x[r * k + i] * (double)x[r * k + j];
    free(x);
    return h;
}

static void check_factor(int64_t k, int64_t rows, bool act_order) {
    npg_threadpool *pool = NULL;
    REQUIRE_OK(npg_threadpool_create(2, &pool));
    npg_compute mm = {.pool = pool, .isa = npg_isa_detect()};
    double *h = make_hessian(k, rows, (unsigned)k);
    REQUIRE(h);
    npg_calib_slot s = {.k = k, .count = (uint64_t)rows, .hessian = h};
    npg_gptq_factor f = {0};
    REQUIRE_OK(npg_gptq_factor_make(&s, act_order, &mm, &f));
    CHECK(f.slot == &s && f.k == k);
    /* the order: a permutation, by decreasing diagonal under act-order */
    bool perm_ok = true;
    char *seen = calloc((size_t)k, 1);
    REQUIRE(seen);
    for (int64_t i = 0; i < k; i++) {
        perm_ok = perm_ok && f.perm[i] >= 0 && f.perm[i] < k && !seen[f.perm[i]];
        seen[f.perm[i]] = 1;
        if (i > 0 && act_order)
            perm_ok = perm_ok && h[f.perm[i - 1] * k + f.perm[i - 1]] >= h[f.perm[i] * k + f.perm[i]];
        if (!act_order)
            perm_ok = perm_ok && f.perm[i] == i;
    }
    CHECK(perm_ok);
    /* A = P^T H P + damp I, damp = 0.01 mean diag (no dead channels here) */
    double mean = 0.0;
    for (int64_t i = 0; i < k; i++)
        mean += h[i * k + i];
    double damp = 0.01 * mean / (double)k;
    /* U A U^T = I: rows i, j of U against A; check every (i, j) on a sample of rows */
    double *au = malloc((size_t)k * sizeof(double));
    REQUIRE(au);
    double worst = 0.0;
    bool upper = true;
    for (int64_t i = 0; i < k; i++)
        for (int64_t j = 0; j < i; j++)
            upper = upper && f.u[i * k + j] == 0.0f;
    for (int64_t i = 0; i < k; i += (k > 200 ? 37 : 1)) {
        const float *ui = f.u + i * k;
        for (int64_t c = 0; c < k; c++) { /* (A u_i)[c] */
            double v = 0.0;
            for (int64_t p = 0; p < k; p++)
                v += (h[f.perm[c] * k + f.perm[p]] + (c == p ? damp : 0.0)) * (double)ui[p];
            au[c] = v;
        }
        for (int64_t j = 0; j < k; j++) {
            double v = 0.0;
            for (int64_t c = 0; c < k; c++)
                v += (double)f.u[j * k + c] * au[c];
            double e = fabs(v - (i == j ? 1.0 : 0.0));
            worst = e > worst ? e : worst;
        }
    }
    fprintf(stderr, "  k %lld act_order %d: max |U A U^T - I| = %.2e\n", (long long)k, act_order, worst);
    CHECK(upper);
    CHECK(worst < 2e-3);
    free(au);
    free(seen);
    npg_gptq_factor_free(&f);
    free(h);
    npg_threadpool_free(pool);
}

static void test_factor_small(void) {
    check_factor(100, 400, false);
    check_factor(172, 600, true);
}

static void test_factor_blocked(void) { check_factor(1100, 1500, true); }

int main(void) {
    RUN(test_factor_small);
    RUN(test_factor_blocked);
    return npg_test_summary();
}
