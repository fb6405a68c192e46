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

static int64_t group_len(const npg_export_item *it) { return it->wtype == NPG_W_Q4_G ? it->group_size : it->shape[1]; }

/* The stored code of w under scale s, and the value it stands for. */
float npg_q4_level(npg_wtype t, float w, float s, uint8_t *code) {
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

/* Output error, up to a constant, of the group w[g] quantized with scale s: v^T H v - 2 v^T hw for its
 * values v, H the group's block of X^T X (leading dimension ldh) and hw its target (group_target); lv:
 * g doubles of scratch;
 * *lhw = l^T hw and *lhl = l^T H l for the levels l = v / s (the least-squares scale of these codes is
 * lhw / lhl). */
static double out_err(npg_wtype t, const float *w, int64_t g, float s, const double *H, int64_t ldh, const double *hw,
                      double *lv, double *lhw, double *lhl) {
    for (int64_t c = 0; c < g; c++) {
        uint8_t code;
        lv[c] = (double)npg_q4_level(t, w[c], s, &code) / (double)s;
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
    return -2.0 * (double)s * a + (double)s * (double)s * q;
}

/* The target of the group [g0, g0 + g) of row w [k]: with the rest of the row exact, the output error
 * |X_f w - X v|^2 of the group's values v is v^T H_gg v - 2 v^T hw + const, where
 * hw = (C w)_g - (H w)_g + H_gg w_g (C = X^T X_f; without C, or when X = X_f, hw = H_gg w_g). */
static void group_target(const double *H, const double *C, int64_t k, const float *w, int64_t g0, int64_t g,
                         double *hw) {
    for (int64_t i = 0; i < g; i++) {
        const double *h = H + (g0 + i) * k, *cr = C ? C + (g0 + i) * k : NULL;
        double a = 0.0;
        for (int64_t j = g0; j < g0 + g; j++)
            a += h[j] * (double)w[j];
        if (cr)
            for (int64_t j = 0; j < k; j++)
                a += (cr[j] - h[j]) * (double)w[j];
        hw[i] = a;
    }
}

/* The 16 levels of a 4-bit type (as multiples of the scale) and the 15 thresholds between them: level
 * c is taken for x in (thr[c-1], thr[c]] (int4: round to nearest, -8..7; NF4: nearest code book value). */
static void type_levels(npg_wtype t, double *lv, double *thr) {
    for (int c = 0; c < 16; c++)
        lv[c] = t == NPG_W_NF4_CW ? (double)npg_nf4_values[c] : (double)(c - 8);
    for (int c = 0; c < 15; c++)
        thr[c] = (lv[c] + lv[c + 1]) * 0.5;
}

typedef struct se_event {
    double u; /* 1 / scale at which input i changes code */
    int64_t i;
} se_event;

static int cmp_event(const void *a, const void *b) {
    double x = ((const se_event *)a)->u, y = ((const se_event *)b)->u;
    return x < y ? -1 : x > y;
}

#define SE_MIN 0.5 /* NNCF's grid reaches 1 - 0.05 * (scale_steps - 1) = 0.55 of the RTN scale */
#define SE_MAX 1.25 /* its rectification rounds may raise the scale past RTN's */

/* Scale estimation of one group w[g] (Hessian block H with leading dimension ldh, target hw; see
 * out_err). NNCF's ScaleEstimation looks for the scale of least output error with a grid of shrunk RTN
 * scales (1.0 .. 0.55, scale_steps) and rounds of "codes for this scale, then the importance-weighted
 * scale of those codes" (initial_steps); both explore one variable, the scale s, on which the error is
 * piecewise quadratic: between two values of s where some input changes code, the codes are fixed and
 * the error is -2 s (l.hw) + s^2 (l^T H l). npugen walks every such piece of [0.5, 1.25] x the RTN
 * scale (events sorted by 1/s; one code changes per event, so l.hw, H l and l^T H l update in O(g))
 * and takes the least-squares scale of each piece clipped to it: the exact minimum over that range, at
 * the cost of a few evaluations. ws: 3 g doubles, ev: 16 g events. */
static float estimate_scale(npg_wtype t, const float *w, int64_t g, float s0, const double *H, int64_t ldh,
                            const double *hw, double *ws, se_event *ev) {
    if (!H || !(fabsf(s0) >= FLT_EPSILON) || !isfinite(s0))
        return s0;
    double lv[16], thr[15];
    type_levels(t, lv, thr);
    double sg = s0 < 0.0f ? -1.0 : 1.0; /* a negative scale is the positive one of -w */
    double smax = SE_MAX * fabs((double)s0), smin = SE_MIN * fabs((double)s0);
    double u_lo = 1.0 / smax, u_hi = 1.0 / smin;
    double *l = ws, *hl = ws + g, *code = ws + 2 * g;
    size_t n_ev = 0;
    for (int64_t i = 0; i < g; i++) {
        double wi = sg * (double)w[i], x0 = wi * u_lo, x1 = wi * u_hi;
        int c = 0;
        while (c < 15 && thr[c] < x0)
            c++;
        code[i] = c;
        l[i] = lv[c];
        for (int j = 0; j < 15 && wi != 0.0; j++)
            if ((wi > 0.0 && thr[j] >= x0 && thr[j] < x1) || (wi < 0.0 && thr[j] < x0 && thr[j] >= x1))
                ev[n_ev++] = (se_event){thr[j] / wi, i};
    }
    qsort(ev, n_ev, sizeof *ev, cmp_event);
    double a = 0.0, q = 0.0;
    for (int64_t i = 0; i < g; i++) {
        double v = 0.0;
        for (int64_t j = 0; j < g; j++)
            v += H[i * ldh + j] * l[j];
        hl[i] = v;
        a += l[i] * sg * hw[i];
    }
    for (int64_t i = 0; i < g; i++)
        q += l[i] * hl[i];
    double best_e = (double)INFINITY, best_s = fabs((double)s0);
    for (size_t e = 0; e <= n_ev; e++) {
        double ua = e == 0 ? u_lo : ev[e - 1].u, ub = e == n_ev ? u_hi : ev[e].u;
        if (ub > ua && q > 0.0) { /* the piece s in [1/ub, 1/ua], strictly inside (codes at its ends tie) */
            double lo = 1.0 / ub, hi = 1.0 / ua, span = hi - lo;
            double sv = a / q;
            sv = sv < lo + 1e-6 * span ? lo + 1e-6 * span : sv > hi - 1e-6 * span ? hi - 1e-6 * span : sv;
            double err = -2.0 * sv * a + sv * sv * q;
            if (err < best_e) {
                best_e = err;
                best_s = sv;
            }
        }
        if (e == n_ev)
            break;
        int64_t i = ev[e].i; /* its code moves one level away from zero */
        int c = (int)code[i] + (sg * (double)w[i] > 0.0 ? 1 : -1);
        double d = lv[c] - l[i];
        code[i] = c;
        l[i] = lv[c];
        a += d * sg * hw[i];
        q += 2.0 * d * hl[i] + d * d * H[i * ldh + i];
        for (int64_t j = 0; j < g; j++)
            hl[j] += d * H[i * ldh + j]; /* H is symmetric: row i, contiguous */
    }
    /* the chosen scale against RTN's, both evaluated from the codes npg_q4_level() gives */
    double lhw, lhl;
    float s1 = (float)(sg * best_s);
    return out_err(t, w, g, s1, H, ldh, hw, l, &lhw, &lhl) < out_err(t, w, g, s0, H, ldh, hw, l, &lhw, &lhl) ? s1 : s0;
}

/* Scratch of estimate_scale for groups of g inputs. */
typedef struct se_scratch {
    double *hw, *ws;
    se_event *ev;
} se_scratch;

static npg_status se_scratch_alloc(se_scratch *x, int64_t g) {
    x->hw = malloc((size_t)g * sizeof(double));
    x->ws = malloc((size_t)(3 * g) * sizeof(double));
    x->ev = malloc((size_t)(16 * g) * sizeof(se_event));
    if (!x->hw || !x->ws || !x->ev)
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory (scale estimation of groups of %lld)", (long long)g);
    return NPG_OK;
}

static void se_scratch_free(se_scratch *x) {
    free(x->hw);
    free(x->ws);
    free(x->ev);
}

#define SE_MATMUL_MIN 1024 /* inputs from which the targets' (C - H) w is one f32 matmul (smaller: double) */
#define SE_ROWS 16        /* rows per task */

/* Scale estimation of rows [task * SE_ROWS, ...) of W (threaded over rows: they are independent). */
typedef struct se_job {
    npg_wtype t;
    int64_t g, k, n;
    const float *W;
    const double *H, *C;
    const float *cw; /* [n, k] ((C - H) w_r) when computed as a matmul, else NULL */
    float *scales;   /* [n, k / g]: RTN's on entry */
    bool failed;
} se_job;

static void se_task(void *ctx, int task, int thread) {
    (void)thread;
    se_job *jb = ctx;
    int64_t g = jb->g, k = jb->k, per = k / g;
    int64_t r0 = (int64_t)task * SE_ROWS, r1 = r0 + SE_ROWS < jb->n ? r0 + SE_ROWS : jb->n;
    se_scratch x = {0};
    if (se_scratch_alloc(&x, g) != NPG_OK) {
        se_scratch_free(&x);
        jb->failed = true;
        return;
    }
    for (int64_t r = r0; r < r1; r++)
        for (int64_t gi = 0; gi < per; gi++) {
            const float *w = jb->W + r * k;
            if (jb->cw) { /* hw = ((C - H) w)_g + H_gg w_g */
                group_target(jb->H, NULL, k, w, gi * g, g, x.hw);
                for (int64_t i = 0; i < g; i++)
                    x.hw[i] += (double)jb->cw[r * k + gi * g + i];
            } else {
                group_target(jb->H, jb->C, k, w, gi * g, g, x.hw);
            }
            float *sc = &jb->scales[r * per + gi];
            *sc = estimate_scale(jb->t, w + gi * g, g, *sc, jb->H + gi * g * k + gi * g, k, x.hw, x.ws, x.ev);
        }
    se_scratch_free(&x);
}

/* RTN scales of every row / group of W [n, k], then scale estimation on H (and C) over the rows in
 * parallel on mm's threads (mm NULL: serially). */
static npg_status estimate_rows(npg_wtype t, int64_t group, const float *W, int64_t n, int64_t k, const double *H,
                                const double *C, const npg_compute *mm, float *scales) {
    int64_t g = t == NPG_W_Q4_G ? group : k, per = k / g;
    npg_export_item it = {.wtype = t, .group_size = t == NPG_W_Q4_G ? group : 0, .n_dims = 2, .shape = {1, k}};
    npg_status st = NPG_OK;
    for (int64_t r = 0; r < n && st == NPG_OK; r++)
        st = rtn_scales(&it, W + r * k, scales + r * per);
    if (st != NPG_OK || !H)
        return st;
    float *cw = NULL;
    if (C && mm && k >= SE_MATMUL_MIN) {
        float *d = malloc((size_t)(k * k) * sizeof(float));
        cw = malloc((size_t)(n * k) * sizeof(float));
        if (!d || !cw) {
            free(d);
            free(cw);
            return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory (scale estimation, input size %lld)", (long long)k);
        }
        for (int64_t i = 0; i < k * k; i++)
            d[i] = (float)(C[i] - H[i]);
        npg_weight dw = {.type = NPG_W_F32, .n = k, .k = k, .data = d};
        npg_matmul(mm, W, n, &dw, cw); /* cw[r][i] = sum_j (C - H)[i][j] w_r[j] */
        free(d);
    }
    se_job jb = {t, g, k, n, W, H, C, cw, scales, false};
    npg_threadpool_run(mm ? mm->pool : NULL, (int)((n + SE_ROWS - 1) / SE_ROWS), se_task, &jb);
    free(cw);
    return jb.failed ? npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory (scale estimation of groups of %lld)", (long long)g)
                     : NPG_OK;
}

/* Scales of every row / group: RTN's, refined by scale estimation when asked. W [n, k] row-major. */
npg_status npg_q4_row_scales(const npg_export_item *it, const float *W, const npg_calib_slot *s, bool estimate,
                            const npg_compute *mm, float *scales) {
    bool se = estimate && s && s->hessian;
    return estimate_rows(it->wtype, it->group_size, W, it->shape[0], it->shape[1], se ? s->hessian : NULL,
                         se ? s->cross : NULL, mm, scales);
}

/* The writer's int4 scale of one group (Q4_G's quantizer on the group alone). */
npg_status npg_q4_group_scale(const float *w, int64_t g, float *scale) {
    void *tmp = malloc(npg_quant_data_bytes(NPG_W_Q4_CW, 1, g));
    NPG_CHECK_ALLOC(tmp);
    npg_status st = npg_quantize_rows(NPG_W_Q4_CW, w, 1, g, 0, tmp, scale);
    free(tmp);
    return st;
}

npg_status npg_se_fake_quant(npg_wtype t, int64_t group, const float *w, int64_t n, int64_t k, const double *H,
                             const double *C, const npg_compute *mm, float *out) {
    int64_t g = t == NPG_W_Q4_G ? group : k, per = k / g;
    float *sc = malloc((size_t)(n * per) * sizeof(float));
    NPG_CHECK_ALLOC(sc);
    npg_status st = estimate_rows(t, group, w, n, k, H, C, mm, sc);
    for (int64_t r = 0; r < n && st == NPG_OK; r++)
        for (int64_t c = 0; c < k; c++) {
            uint8_t code;
            out[r * k + c] = npg_q4_level(t, w[r * k + c], sc[r * per + c / g], &code);
        }
    free(sc);
    return st;
}

npg_status npg_q4_alloc_result(npg_export_item *it) {
    int64_t n = it->shape[0], k = it->shape[1];
    free(it->codes);
    free(it->qscales);
    it->codes = malloc((size_t)(n * k));
    it->qscales = malloc((size_t)npg_quant_scale_count(it->wtype, n, k, it->group_size) * sizeof(float));
    if (!it->codes || !it->qscales)
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory quantizing '%s'", it->name);
    return NPG_OK;
}

npg_status npg_scale_estimation(npg_export_item *it, const npg_calib_slot *s, const npg_compute *mm) {
    NPG_TRY(npg_dataaware_load(it));
    NPG_TRY(npg_q4_alloc_result(it));
    int64_t n = it->shape[0], k = it->shape[1], g = group_len(it), per = k / g;
    if (per == 1 && npg_se_subset_usable(s, k)) { /* wide inputs: X-form on the subset */
        NPG_TRY(npg_q4_row_scales(it, it->override, NULL, false, NULL, it->qscales));
        return npg_se_subset(it->wtype, it->override, n, k, s, mm, it->qscales, it->codes);
    }
    NPG_TRY(npg_q4_row_scales(it, it->override, s, true, mm, it->qscales));
    for (int64_t r = 0; r < n; r++)
        for (int64_t c = 0; c < k; c++)
            (void)npg_q4_level(it->wtype, it->override[r * k + c], it->qscales[r * per + c / g], &it->codes[r * k + c]);
    return NPG_OK;
}

npg_status npg_rtn_codes(npg_export_item *it) {
    NPG_TRY(npg_dataaware_load(it));
    NPG_TRY(npg_q4_alloc_result(it));
    int64_t n = it->shape[0], k = it->shape[1], g = group_len(it), per = k / g;
    NPG_TRY(npg_q4_row_scales(it, it->override, NULL, false, NULL, it->qscales));
    for (int64_t r = 0; r < n; r++)
        for (int64_t c = 0; c < k; c++)
            (void)npg_q4_level(it->wtype, it->override[r * k + c], it->qscales[r * per + c / g], &it->codes[r * k + c]);
    return NPG_OK;
}
