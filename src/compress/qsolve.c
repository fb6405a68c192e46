/* qsolve.c — the codes and scales of one 4-bit matrix chosen from calibration data: scale estimation
 * and GPTQ (meanings in dataaware.h). Levels and rounding are weights.c's exactly (signed symmetric
 * int4 with round-half-even, NF4 with ties to the lower code), so an unchanged scale gives RTN's codes. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compress/dataaware.h"
#include "core/error.h"
#include "weights/weights.h"

#define GPTQ_BLOCK 128

static int64_t group_len(const npg_export_item *it) { return it->wtype == NPG_W_Q4_G ? it->group_size : it->shape[1]; }

/* The stored code of w under scale s, and the value it stands for. */
static float level(npg_wtype t, float w, float s, uint8_t *code) {
    if (t == NPG_W_NF4_CW) {
        float v = w / s;
        unsigned c = 0;
        for (int i = 0; i < 15; i++)
            c += (npg_nf4_values[i] + npg_nf4_values[i + 1]) * 0.5f < v;
        *code = (uint8_t)c;
        return npg_nf4_values[c] * s;
    }
    float q = nearbyintf(w / s);
    q = q < -8.0f ? -8.0f : q > 7.0f ? 7.0f : q;
    *code = (uint8_t)(q + 8.0f);
    return q * s;
}

/* RTN scales of one row (the writer's quantizer: per row, or per group). */
static npg_status rtn_scales(const npg_export_item *it, const float *row, float *scales) {
    int64_t k = it->shape[1];
    void *tmp = malloc(npg_quant_data_bytes(it->wtype, 1, k));
    NPG_CHECK_ALLOC(tmp);
    npg_status st = npg_quantize_rows(it->wtype, row, 1, k, it->group_size, tmp, scales);
    free(tmp);
    return st;
}

/* Output error (w - v)^T H (w - v) of the group w[g] quantized with scale s, H the group's block of
 * X^T X (leading dimension ldh), hw = H w, whw = w^T H w; *lhw = l^T H w and *lhl = l^T H l for the
 * levels l = v / s (the least-squares scale of these codes is lhw / lhl). */
static double out_err(npg_wtype t, const float *w, int64_t g, float s, const double *H, int64_t ldh, const double *hw,
                      double whw, double *lhw, double *lhl) {
    double lv[4096];
    for (int64_t c = 0; c < g; c++) {
        uint8_t code;
        lv[c] = (double)level(t, w[c], s, &code) / (double)s;
    }
    double a = 0.0, q = 0.0;
    for (int64_t i = 0; i < g; i++) {
        if (lv[i] == 0.0)
            continue;
        const double *h = H + i * ldh;
        double hl = 0.0;
        for (int64_t j = 0; j < g; j++)
            hl += h[j] * lv[j];
        q += lv[i] * hl;
        a += lv[i] * hw[i];
    }
    *lhw = a;
    *lhl = q;
    return whw - 2.0 * (double)s * a + (double)s * (double)s * q;
}

/* Scale estimation of one group w[g] with its Hessian block H: the best of a few shrunk RTN scales,
 * each refined by least-squares rounds. Groups longer than 4096 inputs keep RTN's scale. */
static float estimate_scale(npg_wtype t, const float *w, int64_t g, float s0, const double *H, int64_t ldh, double *hw,
                            bool light) {
    if (!H || g > 4096)
        return s0;
    double whw = 0.0;
    for (int64_t i = 0; i < g; i++) {
        double a = 0.0;
        for (int64_t j = 0; j < g; j++)
            a += H[i * ldh + j] * (double)w[j];
        hw[i] = a;
        whw += a * (double)w[i];
    }
    static const float factors[] = {1.0f, 0.95f, 0.9f, 0.85f, 0.8f, 0.75f, 0.7f};
    double lhw, lhl;
    float best = s0;
    double best_e = out_err(t, w, g, s0, H, ldh, hw, whw, &lhw, &lhl);
    size_t n_f = light ? 3 : sizeof factors / sizeof *factors;
    for (size_t f = 0; f < n_f; f++) {
        float s = s0 * factors[light ? 2 * f : f];
        for (int step = 0; step < (light ? 2 : 4); step++) {
            if (!(fabsf(s) >= FLT_EPSILON) || !isfinite(s))
                break;
            double e = out_err(t, w, g, s, H, ldh, hw, whw, &lhw, &lhl);
            if (e < best_e) {
                best_e = e;
                best = s;
            }
            if (lhl <= 0.0)
                break;
            s = (float)(lhw / lhl); /* least-squares scale for these codes */
        }
    }
    return best;
}

/* Scales of every row / group: RTN's, refined by scale estimation when asked. W [n, k] row-major. */
static npg_status row_scales(const npg_export_item *it, const float *W, const npg_calib_slot *s, bool estimate,
                             float *scales) {
    int64_t n = it->shape[0], k = it->shape[1], g = group_len(it), per = k / g;
    double *hw = malloc((size_t)g * sizeof *hw);
    NPG_CHECK_ALLOC(hw);
    npg_status st = NPG_OK;
    for (int64_t r = 0; r < n && st == NPG_OK; r++) {
        st = rtn_scales(it, W + r * k, scales + r * per);
        for (int64_t gi = 0; st == NPG_OK && estimate && s && s->hessian && gi < per; gi++)
            scales[r * per + gi] = estimate_scale(it->wtype, W + r * k + gi * g, g, scales[r * per + gi],
                                                  s->hessian + gi * g * k + gi * g, k, hw, false);
    }
    free(hw);
    return st;
}

/* The writer's int4 scale of one group (Q4_G's quantizer on the group alone). */
static npg_status rtn_group_scale(const float *w, int64_t g, float *scale) {
    void *tmp = malloc(npg_quant_data_bytes(NPG_W_Q4_CW, 1, g));
    NPG_CHECK_ALLOC(tmp);
    npg_status st = npg_quantize_rows(NPG_W_Q4_CW, w, 1, g, 0, tmp, scale);
    free(tmp);
    return st;
}

npg_status npg_se_fake_quant(npg_wtype t, int64_t group, const float *w, int64_t n, int64_t k, const double *H,
                             float *out) {
    int64_t g = t == NPG_W_Q4_G ? group : k, per = k / g;
    npg_export_item it = {.wtype = t, .group_size = t == NPG_W_Q4_G ? group : 0, .n_dims = 2, .shape = {1, k}};
    float *sc = malloc((size_t)per * sizeof(float));
    double *hw = malloc((size_t)g * sizeof(double));
    npg_status st = sc && hw ? NPG_OK : npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory (scale estimation)");
    for (int64_t r = 0; r < n && st == NPG_OK; r++) {
        st = rtn_scales(&it, w + r * k, sc);
        for (int64_t gi = 0; st == NPG_OK && gi < per; gi++) {
            float s = estimate_scale(t, w + r * k + gi * g, g, sc[gi], H + gi * g * k + gi * g, k, hw, true);
            for (int64_t c = gi * g; c < gi * g + g; c++) {
                uint8_t code;
                out[r * k + c] = level(t, w[r * k + c], s, &code);
            }
        }
    }
    free(sc);
    free(hw);
    return st;
}

static npg_status alloc_result(npg_export_item *it) {
    int64_t n = it->shape[0], k = it->shape[1];
    free(it->codes);
    free(it->qscales);
    it->codes = malloc((size_t)(n * k));
    it->qscales = malloc((size_t)npg_quant_scale_count(it->wtype, n, k, it->group_size) * sizeof(float));
    if (!it->codes || !it->qscales)
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory quantizing '%s'", it->name);
    return NPG_OK;
}

npg_status npg_scale_estimation(npg_export_item *it, const npg_calib_slot *s) {
    NPG_TRY(npg_dataaware_load(it));
    NPG_TRY(alloc_result(it));
    int64_t n = it->shape[0], k = it->shape[1], g = group_len(it), per = k / g;
    NPG_TRY(row_scales(it, it->override, s, true, it->qscales));
    for (int64_t r = 0; r < n; r++)
        for (int64_t c = 0; c < k; c++)
            (void)level(it->wtype, it->override[r * k + c], it->qscales[r * per + c / g], &it->codes[r * k + c]);
    return NPG_OK;
}

/* ---- GPTQ ---------------------------------------------------------------------------------------- */

/* In-place lower Cholesky factor of a[n, n] (upper part zeroed); false if not positive definite. */
static bool chol_lower(double *a, int64_t n) {
    for (int64_t j = 0; j < n; j++) {
        double d = a[j * n + j];
        for (int64_t p = 0; p < j; p++)
            d -= a[j * n + p] * a[j * n + p];
        if (!(d > 0.0))
            return false;
        d = sqrt(d);
        a[j * n + j] = d;
        for (int64_t i = j + 1; i < n; i++) {
            double v = a[i * n + j];
            for (int64_t p = 0; p < j; p++)
                v -= a[i * n + p] * a[j * n + p];
            a[i * n + j] = v / d;
        }
        for (int64_t i = 0; i < j; i++)
            a[i * n + j] = 0.0;
    }
    return true;
}

/* U (upper) with U^T U = H^-1, from the damped H [n, n] (overwritten). false if H is singular. */
static bool inverse_upper_factor(double *h, int64_t n, double *u) {
    if (!chol_lower(h, n))
        return false;
    /* Linv (lower) into u, column by column: L x = e_j */
    memset(u, 0, (size_t)(n * n) * sizeof *u);
    for (int64_t j = 0; j < n; j++)
        for (int64_t i = j; i < n; i++) {
            double v = i == j ? 1.0 : 0.0;
            for (int64_t p = j; p < i; p++)
                v -= h[i * n + p] * u[p * n + j];
            u[i * n + j] = v / h[i * n + i];
        }
    /* H^-1 = Linv^T Linv into h */
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = i; j < n; j++) {
            double v = 0.0;
            for (int64_t p = j; p < n; p++)
                v += u[p * n + i] * u[p * n + j];
            h[i * n + j] = h[j * n + i] = v;
        }
    if (!chol_lower(h, n))
        return false;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++)
            u[i * n + j] = j >= i ? h[j * n + i] : 0.0;
    return true;
}

static int cmp_diag_desc(const void *a, const void *b, void *ctx) {
    const double *d = ctx;
    int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
    if (d[i] != d[j])
        return d[i] > d[j] ? -1 : 1;
    return i < j ? -1 : i > j;
}

typedef struct gptq_buf {
    double *h, *u, *diag;
    float *w, *err;
    int64_t *perm;
} gptq_buf;

static void gptq_buf_free(gptq_buf *b) {
    free(b->h);
    free(b->u);
    free(b->diag);
    free(b->w);
    free(b->err);
    free(b->perm);
}

/* One GPTQ sweep over the columns of b->w (the permuted weights, reloaded here) with it->qscales. */
static npg_status gptq_pass(npg_export_item *it, gptq_buf *bb, bool dynamic_groups) {
    gptq_buf b = *bb;
    int64_t n = it->shape[0], k = it->shape[1], g = group_len(it), per = k / g;
    npg_status st = NPG_OK;
    for (int64_t r = 0; r < n; r++)
        for (int64_t j = 0; j < k; j++)
            b.w[r * k + j] = it->override[r * k + b.perm[j]];
    for (int64_t i1 = 0; i1 < k; i1 += GPTQ_BLOCK) {
        int64_t i2 = i1 + GPTQ_BLOCK < k ? i1 + GPTQ_BLOCK : k, bw = i2 - i1;
        for (int64_t j = i1; j < i2; j++) {
            int64_t col = b.perm[j];
            if (dynamic_groups && col % g == 0)
                for (int64_t r = 0; r < n && st == NPG_OK; r++) /* RTN's scale of the updated group */
                    st = rtn_group_scale(b.w + r * k + j, g, &it->qscales[r * per + col / g]);
            double d = b.u[j * k + j];
            for (int64_t r = 0; r < n; r++) {
                float *wr = b.w + r * k;
                float v = level(it->wtype, wr[j], it->qscales[r * per + col / g], &it->codes[r * k + col]);
                float e = (float)((double)(wr[j] - v) / d);
                b.err[r * GPTQ_BLOCK + (j - i1)] = e;
                const double *ur = b.u + j * k;
                for (int64_t jj = j + 1; jj < i2; jj++)
                    wr[jj] -= e * (float)ur[jj];
            }
        }
        for (int64_t r = 0; r < n; r++) { /* the block's error onto the columns after it */
            float *wr = b.w + r * k;
            const float *er = b.err + r * GPTQ_BLOCK;
            for (int64_t t = 0; t < bw; t++) {
                const double *ur = b.u + (i1 + t) * k;
                float e = er[t];
                for (int64_t jj = i2; jj < k; jj++)
                    wr[jj] -= e * (float)ur[jj];
            }
        }
    }
    return st;
}

npg_status npg_gptq_quantize(npg_export_item *it, const npg_calib_slot *s, bool act_order, bool estimate_scales) {
    NPG_TRY(npg_dataaware_load(it));
    NPG_TRY(alloc_result(it));
    int64_t n = it->shape[0], k = it->shape[1], g = group_len(it), per = k / g;
    if (!s->hessian || s->k != k)
        return npg_fail(NPG_ERR_INTERNAL, "GPTQ: no Hessian of input size %lld for '%s'", (long long)k, it->name);
    gptq_buf b = {0};
    b.h = malloc((size_t)(k * k) * sizeof(double));
    b.u = malloc((size_t)(k * k) * sizeof(double));
    b.diag = malloc((size_t)k * sizeof(double));
    b.w = malloc((size_t)(n * k) * sizeof(float));
    b.err = malloc((size_t)(n * GPTQ_BLOCK) * sizeof(float));
    b.perm = malloc((size_t)k * sizeof(int64_t));
    if (!b.h || !b.u || !b.diag || !b.w || !b.err || !b.perm) {
        gptq_buf_free(&b);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for GPTQ of '%s' (input size %lld)", it->name,
                        (long long)k);
    }
    /* scales fixed up front: per row always; per group under act-order or scale estimation (static
     * groups); otherwise each group's scale is taken from the updated weights when it starts */
    bool dynamic_groups = g < k && !act_order && !estimate_scales;
    npg_status st = row_scales(it, it->override, s, estimate_scales, it->qscales);
    for (int64_t i = 0; i < k; i++) {
        b.perm[i] = i;
        b.diag[i] = s->hessian[i * k + i];
    }
    if (act_order)
        qsort_r(b.perm, (size_t)k, sizeof *b.perm, cmp_diag_desc, b.diag);
    /* permuted, damped Hessian; a channel never seen (diag 0) gets 1 so it is quantized plainly */
    double mean = 0.0;
    for (int64_t i = 0; i < k; i++)
        mean += b.diag[i];
    mean /= (double)k;
    double damp = 0.01 * (mean > 0.0 ? mean : 1.0);
    bool ok = false;
    for (int attempt = 0; attempt < 6 && !ok && st == NPG_OK; attempt++, damp *= 10.0) {
        for (int64_t i = 0; i < k; i++)
            for (int64_t j = 0; j < k; j++) {
                double v = s->hessian[b.perm[i] * k + b.perm[j]];
                if (i == j)
                    v = (v > 0.0 ? v : 1.0) + damp;
                b.h[i * k + j] = v;
            }
        ok = inverse_upper_factor(b.h, k, b.u);
    }
    if (st == NPG_OK && !ok)
        st = npg_fail(NPG_ERR_INTERNAL, "GPTQ: the Hessian of '%s' stays singular after dampening", it->name);
    /* Channel-wise or static scales: each row also tries its scale shrunk by a few factors and keeps
     * the GPTQ result with the smallest output error (w - q)^T H (w - q) (rows are independent). */
    static const float factors[] = {1.0f,   0.975f, 0.95f,  0.925f, 0.9f,   0.875f, 0.85f,
                                    0.825f, 0.8f,   0.775f, 0.75f,  0.725f, 0.7f};
    int n_f = dynamic_groups ? 1 : (int)(sizeof factors / sizeof *factors);
    int64_t ns = n * per;
    float *base = malloc((size_t)ns * sizeof(float)), *best_s = malloc((size_t)ns * sizeof(float));
    uint8_t *best_c = malloc((size_t)(n * k));
    double *best_l = malloc((size_t)n * sizeof(double));
    float *d = malloc((size_t)k * sizeof(float));
    if (st == NPG_OK && (!base || !best_s || !best_c || !best_l || !d))
        st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for GPTQ of '%s'", it->name);
    if (st == NPG_OK)
        memcpy(base, it->qscales, (size_t)ns * sizeof(float));
    for (int f = 0; f < n_f && st == NPG_OK; f++) {
        for (int64_t i = 0; i < ns; i++)
            it->qscales[i] = base[i] * factors[f];
        st = gptq_pass(it, &b, dynamic_groups);
        for (int64_t r = 0; r < n && st == NPG_OK; r++) {
            for (int64_t c = 0; c < k; c++) {
                float sc = it->qscales[r * per + c / g];
                unsigned code = it->codes[r * k + c];
                float v = it->wtype == NPG_W_NF4_CW ? npg_nf4_values[code] * sc : ((float)code - 8.0f) * sc;
                d[c] = it->override[r * k + c] - v;
            }
            double loss = 0.0;
            for (int64_t i = 0; i < k; i++) {
                const double *h = s->hessian + i * k;
                double a = 0.0;
                for (int64_t j = 0; j < k; j++)
                    a += h[j] * (double)d[j];
                loss += a * (double)d[i];
            }
            if (f == 0 || loss < best_l[r]) {
                best_l[r] = loss;
                memcpy(best_c + r * k, it->codes + r * k, (size_t)k);
                memcpy(best_s + r * per, it->qscales + r * per, (size_t)per * sizeof(float));
            }
        }
    }
    if (st == NPG_OK) {
        memcpy(it->codes, best_c, (size_t)(n * k));
        memcpy(it->qscales, best_s, (size_t)ns * sizeof(float));
    }
    free(base);
    free(best_s);
    free(best_c);
    free(best_l);
    free(d);
    gptq_buf_free(&b);
    return st;
}
