/* se_subset.c — channel-wise scale estimation in X-form on the calibration's token subset (NNCF's
 * way: its ScaleEstimation works on a subset of the activations, not on H): for a wide input the exact
 * piecewise search of qsolve.c costs about 2.4 k^2 doubles per row (a 1.1B model's down_proj: minutes
 * per matrix), while the output error of a candidate over m sampled rows, |X_f w - s X_s l|^2, is one
 * f32 matmul of rows x k x m for the whole matrix.
 *
 * Candidates per row, as NNCF's scale_steps and initial_steps: the codes of the RTN scale times each
 * factor of a grid covering the exact search's range (0.5 .. 1.2), each scored with the least-squares
 * scale of its codes (s = (X_s l . X_f w) / |X_s l|^2, so the RTN codes with their refit scale are
 * always a candidate and the result is never worse than RTN on the subset), then rounds of "codes of
 * the best scale, refit" kept per row when they lower the error. The stored codes are the chosen
 * candidate's. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compress/dataaware.h"
#include "core/error.h"
#include "weights/weights.h"

#define SE_SUBSET_ROUNDS 2

static const float se_factors[] = {1.2f, 1.1f, 1.0f, 0.95f, 0.9f, 0.85f, 0.8f,
                                   0.75f, 0.7f, 0.65f, 0.6f, 0.55f, 0.5f};

bool npg_se_subset_usable(const npg_calib_slot *s, int64_t k) {
    return s && s->sub_x && s->sub_n > 0 && s->k == k && k > NPG_SE_EXACT_MAX;
}

typedef struct subset_work {
    float *lv, *y, *t; /* [n, k] levels, [n, m] X_s l and X_f w */
    uint8_t *cand;     /* [n, k] the candidate's codes */
    double *tt;        /* [n] |X_f w|^2 */
} subset_work;

/* Codes of every row of W under scale[r] (levels into lv), then X_s l for all rows and each row's
 * error with its least-squares scale (written to fit[r]). */
static void score(npg_wtype t, const float *W, int64_t n, int64_t k, const float *scale, const npg_calib_slot *s,
                  const npg_compute *mm, subset_work *x, float *fit, double *err) {
    int64_t m = s->sub_n;
    for (int64_t r = 0; r < n; r++)
        for (int64_t c = 0; c < k; c++) {
            float v = npg_q4_level(t, W[r * k + c], scale[r], &x->cand[r * k + c]);
            x->lv[r * k + c] = scale[r] != 0.0f ? v / scale[r] : 0.0f;
        }
    npg_weight xs = {.type = NPG_W_F32, .n = m, .k = k, .data = s->sub_x};
    npg_matmul(mm, x->lv, n, &xs, x->y); /* y[r][j] = X_s[j] . l_r */
    for (int64_t r = 0; r < n; r++) {
        double a = 0.0, q = 0.0;
        const float *yr = x->y + r * m, *tr = x->t + r * m;
        for (int64_t j = 0; j < m; j++) {
            a += (double)yr[j] * (double)tr[j];
            q += (double)yr[j] * (double)yr[j];
        }
        double sc = q > 0.0 && a / q > 0.0 ? a / q : (double)scale[r];
        fit[r] = (float)sc;
        err[r] = x->tt[r] - 2.0 * sc * a + sc * sc * q;
    }
}

npg_status npg_se_subset(npg_wtype t, const float *W, int64_t n, int64_t k, const npg_calib_slot *s,
                         const npg_compute *mm, float *scales, uint8_t *codes) {
    int64_t m = s->sub_n;
    subset_work x = {0};
    x.lv = malloc((size_t)(n * k) * sizeof(float));
    x.y = malloc((size_t)(n * m) * sizeof(float));
    x.t = malloc((size_t)(n * m) * sizeof(float));
    x.cand = malloc((size_t)(n * k));
    x.tt = malloc((size_t)n * sizeof(double));
    float *sc = malloc((size_t)n * sizeof(float)), *fit = malloc((size_t)n * sizeof(float));
    float *bs = malloc((size_t)n * sizeof(float));
    double *err = malloc((size_t)n * sizeof(double)), *best = malloc((size_t)n * sizeof(double));
    npg_status st = NPG_OK;
    if (!x.lv || !x.y || !x.t || !x.cand || !x.tt || !sc || !fit || !bs || !err || !best)
        st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory (scale estimation on %lld x %lld)", (long long)n,
                      (long long)k);
    if (st == NPG_OK) {
        npg_weight xf = {.type = NPG_W_F32, .n = m, .k = k, .data = s->sub_xf ? s->sub_xf : s->sub_x};
        npg_matmul(mm, W, n, &xf, x.t); /* the float model's outputs on the subset */
        for (int64_t r = 0; r < n; r++) {
            double a = 0.0;
            for (int64_t j = 0; j < m; j++)
                a += (double)x.t[r * m + j] * (double)x.t[r * m + j];
            x.tt[r] = a;
            best[r] = (double)INFINITY;
        }
        int n_f = (int)(sizeof se_factors / sizeof *se_factors);
        for (int fi = 0; fi < n_f + SE_SUBSET_ROUNDS; fi++) {
            for (int64_t r = 0; r < n; r++) /* a factor of RTN's scale; then rounds from the best so far */
                sc[r] = fi < n_f ? scales[r] * se_factors[fi] : bs[r];
            score(t, W, n, k, sc, s, mm, &x, fit, err);
            for (int64_t r = 0; r < n; r++)
                if (err[r] < best[r] && isfinite(fit[r]) && fit[r] != 0.0f) {
                    best[r] = err[r];
                    bs[r] = fit[r];
                    memcpy(codes + r * k, x.cand + r * k, (size_t)k);
                }
        }
        for (int64_t r = 0; r < n; r++)
            if (best[r] < (double)INFINITY)
                scales[r] = bs[r];
            else /* nothing usable (an all-zero row): RTN's */
                for (int64_t c = 0; c < k; c++)
                    (void)npg_q4_level(t, W[r * k + c], scales[r], &codes[r * k + c]);
    }
    free(x.lv);
    free(x.y);
    free(x.t);
    free(x.cand);
    free(x.tt);
    free(sc);
    free(fit);
    free(bs);
    free(err);
    free(best);
    return st;
}
