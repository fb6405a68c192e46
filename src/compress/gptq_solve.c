/* gptq_solve.c — GPTQ on one 4-bit matrix from its input slot's Hessian (meaning in dataaware.h), as
 * the paper's blocked algorithm ("lazy batch updates"): the Cholesky factor U of H^-1 is computed once
 * per input slot (q/k/v share one, gate/up another), columns are quantized one 128-column block at a
 * time with the error spread inside the block row by row, and the rest of the matrix gets the block's
 * error in one rank-128 update, an f32 matmul on the export's threadpool. The O(rows k^2) parts are
 * therefore GEMMs (the update, the output errors of the scale candidates) and the O(k^3) factor is a
 * vectorisable double-precision Cholesky and triangular inverse split over the threads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compress/dataaware.h"
#include "core/error.h"
#include "weights/weights.h"

#define GPTQ_BLOCK 128
#define GPTQ_ROWS 32
#define GPTQ_SE_ROUNDS 3 /* rows per task of the in-block sweep */

static int64_t group_len(const npg_export_item *it) { return it->wtype == NPG_W_Q4_G ? it->group_size : it->shape[1]; }

/* ---- the factor ------------------------------------------------------------------------------------ */

typedef struct chol_job {
    double *a;
    int64_t n, j, lo, hi; /* rows (Cholesky) or columns (inverse) [lo, hi) of this step */
    int tasks;
    double *tmp; /* inverse: [n] */
} chol_job;

/* Cholesky step j, trailing rows i in (j, n) of this task: row i -= a[j][i] * row j (upper storage,
 * contiguous axpy over the columns c >= i). */
static void chol_task(void *ctx, int task, int thread) {
    (void)thread;
    const chol_job *jb = ctx;
    int64_t span = jb->hi - jb->lo, i0 = jb->lo + span * task / jb->tasks, i1 = jb->lo + span * (task + 1) / jb->tasks;
    const double *rj = jb->a + jb->j * jb->n;
    for (int64_t i = i0; i < i1; i++) {
        double f = rj[i];
        double *ri = jb->a + i * jb->n;
        for (int64_t c = i; c < jb->n; c++)
            ri[c] -= f * rj[c];
    }
}

/* Inverse row i (rows below already inverted in place): tmp[c] = sum_{p > i} R[i][p] X[p][c], columns
 * [lo, hi) of this task's share. */
static void inv_task(void *ctx, int task, int thread) {
    (void)thread;
    const chol_job *jb = ctx;
    int64_t n = jb->n, i = jb->j, span = jb->hi - jb->lo;
    int64_t c0 = jb->lo + span * task / jb->tasks, c1 = jb->lo + span * (task + 1) / jb->tasks;
    const double *ri = jb->a + i * n;
    for (int64_t c = c0; c < c1; c++)
        jb->tmp[c] = 0.0;
    for (int64_t p = i + 1; p < c1; p++) {
        double f = ri[p];
        const double *xp = jb->a + p * n;
        for (int64_t c = p > c0 ? p : c0; c < c1; c++)
            jb->tmp[c] += f * xp[c];
    }
}

static int tasks_for(npg_threadpool *pool, int64_t work) {
    int t = npg_threadpool_size(pool);
    return work < 4096 || t < 1 ? 1 : t;
}

/* Upper R with R^T R = a (in place, row-major, lower part ignored); false if not positive definite. */
static bool chol_upper(double *a, int64_t n, npg_threadpool *pool) {
    for (int64_t j = 0; j < n; j++) {
        double d = a[j * n + j];
        if (!(d > 0.0))
            return false;
        d = sqrt(d);
        a[j * n + j] = d;
        for (int64_t c = j + 1; c < n; c++)
            a[j * n + c] /= d;
        int64_t rows = n - j - 1;
        chol_job jb = {.a = a, .n = n, .j = j, .lo = j + 1, .hi = n, .tasks = tasks_for(pool, rows * rows / 2)};
        if (rows > 0)
            npg_threadpool_run(jb.tasks > 1 ? pool : NULL, jb.tasks, chol_task, &jb);
    }
    return true;
}

/* In-place inverse of the upper R (row-major), bottom row first. */
static void inv_upper(double *a, int64_t n, double *tmp, npg_threadpool *pool) {
    for (int64_t i = n - 1; i >= 0; i--) {
        double d = a[i * n + i];
        int64_t cols = n - i - 1;
        if (cols > 0) {
            chol_job jb = {.a = a, .n = n, .j = i, .lo = i + 1, .hi = n, .tasks = tasks_for(pool, cols * cols / 2),
                           .tmp = tmp};
            npg_threadpool_run(jb.tasks > 1 ? pool : NULL, jb.tasks, inv_task, &jb);
            for (int64_t c = i + 1; c < n; c++)
                a[i * n + c] = -tmp[c] / d;
        }
        a[i * n + i] = 1.0 / d;
    }
}

/* ---- blocked factor for large inputs: the O(k^3) work as f32 matmuls ------------------------------- */

#define FACTOR_NB 128
#define FACTOR_BLOCKED_MIN 1024 /* smaller inputs keep the all-double path above */

/* Upper Cholesky of the diagonal block a [n, n] with leading dimension lda (double, serial). */
static bool chol_block(double *a, int64_t n, int64_t lda) {
    for (int64_t j = 0; j < n; j++) {
        double d = a[j * lda + j];
        if (!(d > 0.0))
            return false;
        d = sqrt(d);
        a[j * lda + j] = d;
        for (int64_t c = j + 1; c < n; c++)
            a[j * lda + c] /= d;
        for (int64_t i = j + 1; i < n; i++)
            for (int64_t c = i; c < n; c++)
                a[i * lda + c] -= a[j * lda + i] * a[j * lda + c];
    }
    return true;
}

/* In-place inverse of the upper diagonal block a [n, n] (leading dimension lda), bottom row first. */
static void inv_block(double *a, int64_t n, int64_t lda, double *tmp) {
    for (int64_t i = n - 1; i >= 0; i--) {
        double d = a[i * lda + i];
        for (int64_t c = i + 1; c < n; c++)
            tmp[c] = 0.0;
        for (int64_t p = i + 1; p < n; p++)
            for (int64_t c = p; c < n; c++)
                tmp[c] += a[i * lda + p] * a[p * lda + c];
        for (int64_t c = i + 1; c < n; c++)
            a[i * lda + c] = -tmp[c] / d;
        a[i * lda + i] = 1.0 / d;
    }
}

/* Right-looking blocked upper Cholesky of a [k, k] (row-major, upper part): per 128 rows, the diagonal
 * block in double, the panel by substitution, and the trailing update A22 -= P^T P as one f32 matmul
 * (P^T [rest, 128] times itself) subtracted in double. f32 products are what GPTQ's reference uses
 * throughout; the factor stays double. x: [k * 128] f32, t: [k * k] f32 scratch. */
static bool chol_blocked(double *a, int64_t k, const npg_compute *mm, float *x, float *t) {
    for (int64_t j0 = 0; j0 < k; j0 += FACTOR_NB) {
        int64_t j1 = j0 + FACTOR_NB < k ? j0 + FACTOR_NB : k, nb = j1 - j0, rest = k - j1;
        if (!chol_block(a + j0 * k + j0, nb, k))
            return false;
        if (rest == 0)
            break;
        for (int64_t p = j0; p < j1; p++) { /* panel rows: R_jj^-T A[j, j1:] */
            double *rp = a + p * k + j1, d = a[p * k + p];
            for (int64_t c = 0; c < rest; c++)
                rp[c] /= d;
            for (int64_t i = p + 1; i < j1; i++) {
                double f = a[p * k + i];
                double *ri = a + i * k + j1;
                for (int64_t c = 0; c < rest; c++)
                    ri[c] -= f * rp[c];
            }
        }
        for (int64_t c = 0; c < rest; c++) /* P^T, [rest, nb] */
            for (int64_t p = 0; p < nb; p++)
                x[c * nb + p] = (float)a[(j0 + p) * k + j1 + c];
        npg_weight w = {.type = NPG_W_F32, .n = rest, .k = nb, .data = x};
        npg_matmul(mm, x, rest, &w, t);
        for (int64_t i = 0; i < rest; i++) {
            double *ri = a + (j1 + i) * k + j1;
            const float *ti = t + i * rest;
            for (int64_t c = i; c < rest; c++)
                ri[c] -= (double)ti[c];
        }
    }
    return true;
}

/* Blocked in-place inverse of the upper a [k, k], bottom block row first: X_II = R_II^-1 and
 * X[I, i1:] = -X_II (R[I, i1:] X[i1:, i1:]), the product an f32 matmul against X's trailing columns
 * (kept transposed in xt [k, k] f32, copied contiguous into t). x: [128 * k] f32, y: [128 * k] f32. */
static void inv_blocked(double *a, int64_t k, const npg_compute *mm, float *xt, float *t, float *x, float *y,
                        double *tmp) {
    int64_t nblk = (k + FACTOR_NB - 1) / FACTOR_NB;
    for (int64_t bi = nblk - 1; bi >= 0; bi--) {
        int64_t i0 = bi * FACTOR_NB, i1 = i0 + FACTOR_NB < k ? i0 + FACTOR_NB : k, nb = i1 - i0, rest = k - i1;
        if (rest > 0) {
            for (int64_t p = 0; p < nb; p++) /* R[I, i1:] */
                for (int64_t c = 0; c < rest; c++)
                    x[p * rest + c] = (float)a[(i0 + p) * k + i1 + c];
            for (int64_t c = 0; c < rest; c++) /* X[i1:, i1:]^T, contiguous */
                memcpy(t + c * rest, xt + (i1 + c) * k + i1, (size_t)rest * sizeof(float));
            npg_weight w = {.type = NPG_W_F32, .n = rest, .k = rest, .data = t};
            npg_matmul(mm, x, nb, &w, y); /* y [nb, rest] = R[I, i1:] X[i1:, i1:] */
        }
        inv_block(a + i0 * k + i0, nb, k, tmp);
        for (int64_t p = 0; p < nb && rest > 0; p++) { /* X[I, i1:] = -X_II y */
            double *rp = a + (i0 + p) * k + i1;
            for (int64_t c = 0; c < rest; c++)
                rp[c] = 0.0;
            for (int64_t q = p; q < nb; q++) {
                double f = -a[(i0 + p) * k + i0 + q];
                const float *yq = y + q * rest;
                for (int64_t c = 0; c < rest; c++)
                    rp[c] += f * (double)yq[c];
            }
        }
        for (int64_t p = i0; p < i1; p++) /* the block rows into X^T */
            for (int64_t c = p; c < k; c++)
                xt[c * k + p] = (float)a[p * k + c];
    }
}

static int cmp_diag_desc(const void *a, const void *b, void *ctx) {
    const double *d = ctx;
    int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
    if (d[i] != d[j])
        return d[i] > d[j] ? -1 : 1;
    return i < j ? -1 : i > j;
}

void npg_gptq_factor_free(npg_gptq_factor *f) {
    free(f->perm);
    free(f->u);
    free(f->hf);
    memset(f, 0, sizeof *f);
}

/* U with U^T U = A^-1 for A = P^T H P + damp I, from one Cholesky: with J the order reversal,
 * J A J = R^T R (R upper) gives A^-1 = J R^-1 R^-T J, so U = J R^-T J is upper. Dampening 0.01 x mean
 * diag H (the paper's and AutoGPTQ's percdamp), raised tenfold while A is not positive definite. */
npg_status npg_gptq_factor_make(const npg_calib_slot *s, bool act_order, const npg_compute *mm, npg_gptq_factor *f) {
    npg_threadpool *pool = mm ? mm->pool : NULL;
    npg_gptq_factor_free(f);
    int64_t k = s->k;
    if (!s->hessian)
        return npg_fail(NPG_ERR_INTERNAL, "GPTQ: no Hessian for an input of size %lld", (long long)k);
    f->k = k;
    f->perm = malloc((size_t)k * sizeof *f->perm);
    f->u = malloc((size_t)(k * k) * sizeof(float));
    f->hf = malloc((size_t)(k * k) * sizeof(float));
    double *a = malloc((size_t)(k * k) * sizeof(double)), *diag = malloc((size_t)k * sizeof(double));
    double *tmp = malloc((size_t)k * sizeof(double));
    bool blocked = k >= FACTOR_BLOCKED_MIN;
    /* blocked scratch: t [k, k] (f->u's buffer until the end), x and y [128 k] */
    float *bx = blocked ? malloc((size_t)(FACTOR_NB * k) * sizeof(float)) : NULL;
    float *by = blocked ? malloc((size_t)(FACTOR_NB * k) * sizeof(float)) : NULL;
    npg_status st = NPG_OK;
    if (!f->perm || !f->u || !f->hf || !a || !diag || !tmp || (blocked && (!bx || !by)))
        st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for GPTQ's factor (input size %lld)", (long long)k);
    double mean = 0.0;
    for (int64_t i = 0; st == NPG_OK && i < k; i++) {
        f->perm[i] = i;
        diag[i] = s->hessian[i * k + i];
        mean += diag[i];
    }
    if (st == NPG_OK && act_order)
        qsort_r(f->perm, (size_t)k, sizeof *f->perm, cmp_diag_desc, diag);
    mean /= (double)(k > 0 ? k : 1);
    double damp = 0.01 * (mean > 0.0 ? mean : 1.0);
    bool ok = false;
    for (int attempt = 0; attempt < 6 && !ok && st == NPG_OK; attempt++, damp *= 10.0) {
        /* a channel never seen (diag 0) gets 1 so it is quantized plainly */
        for (int64_t i = 0; i < k; i++)
            for (int64_t j = i; j < k; j++) {
                double v = s->hessian[f->perm[k - 1 - i] * k + f->perm[k - 1 - j]];
                if (i == j)
                    v = (v > 0.0 ? v : 1.0) + damp;
                a[i * k + j] = v;
            }
        f->damp = damp;
        ok = blocked ? chol_blocked(a, k, mm, bx, f->u) : chol_upper(a, k, pool);
    }
    if (st == NPG_OK && !ok)
        st = npg_fail(NPG_ERR_INTERNAL, "GPTQ: a Hessian of input size %lld stays singular after dampening", (long long)k);
    if (st == NPG_OK && blocked) {
        /* X^T into hf (free until H is copied below), the trailing copies in u */
        inv_blocked(a, k, mm, f->hf, f->u, bx, by, tmp);
    } else if (st == NPG_OK) {
        inv_upper(a, k, tmp, pool);
    }
    if (st == NPG_OK) {
        for (int64_t i = 0; i < k; i++) /* U[i][j] = X[k-1-j][k-1-i] */
            for (int64_t j = 0; j < k; j++)
                f->u[i * k + j] = j >= i ? (float)a[(k - 1 - j) * k + (k - 1 - i)] : 0.0f;
        for (int64_t i = 0; i < k * k; i++)
            f->hf[i] = (float)s->hessian[i];
        f->slot = s;
    }
    free(a);
    free(diag);
    free(tmp);
    free(bx);
    free(by);
    if (st != NPG_OK)
        npg_gptq_factor_free(f);
    return st;
}

/* ---- one sweep ------------------------------------------------------------------------------------- */

typedef struct sweep_job {
    npg_export_item *it;
    const npg_gptq_factor *f;
    float *w;   /* [n, k] permuted weights being updated */
    float *err; /* [n, GPTQ_BLOCK] the block's scaled errors */
    double *loss; /* [n] sum of the squared scaled errors so far: the row's output error */
    int64_t i1, i2;
    bool dynamic_groups;
    npg_status st; /* first failure (rtn scale allocation), written by task 0's rows only on failure */
} sweep_job;

/* Columns [i1, i2) of rows [r0, r1): quantize, and spread each error over the block's later columns. */
static void sweep_task(void *ctx, int task, int thread) {
    (void)thread;
    sweep_job *jb = ctx;
    npg_export_item *it = jb->it;
    int64_t n = it->shape[0], k = it->shape[1], g = group_len(it), per = k / g;
    int64_t r0 = (int64_t)task * GPTQ_ROWS, r1 = r0 + GPTQ_ROWS < n ? r0 + GPTQ_ROWS : n;
    const float *u = jb->f->u;
    for (int64_t r = r0; r < r1; r++) {
        float *wr = jb->w + r * k, *er = jb->err + r * GPTQ_BLOCK;
        for (int64_t j = jb->i1; j < jb->i2; j++) {
            int64_t col = jb->f->perm[j];
            float *sc = &it->qscales[r * per + col / g];
            if (jb->dynamic_groups && col % g == 0 && npg_q4_group_scale(wr + j, g, sc) != NPG_OK)
                jb->st = NPG_ERR_OUT_OF_MEMORY; /* RTN's scale of the updated group */
            float v = npg_q4_level(it->wtype, wr[j], *sc, &it->codes[r * k + col]);
            const float *uj = u + j * k;
            float e = (wr[j] - v) / uj[j];
            er[j - jb->i1] = e;
            jb->loss[r] += (double)e * (double)e;
            for (int64_t c = j + 1; c < jb->i2; c++)
                wr[c] -= e * uj[c];
        }
    }
}

typedef struct gptq_work {
    float *w0;  /* [n, k] the permuted source weights */
    float *w;   /* [n, k] the sweep's copy */
    float *err; /* [n, GPTQ_BLOCK] */
    float *bt;  /* [k, GPTQ_BLOCK] U's block rows, transposed */
    float *t;   /* [n, k] product scratch */
    double *loss; /* [n] */
} gptq_work;

static npg_status sweep(npg_export_item *it, const npg_gptq_factor *f, const npg_compute *mm, gptq_work *x,
                        bool dynamic_groups) {
    int64_t n = it->shape[0], k = it->shape[1];
    memcpy(x->w, x->w0, (size_t)(n * k) * sizeof(float));
    memset(x->loss, 0, (size_t)n * sizeof(double));
    npg_threadpool *pool = mm ? mm->pool : NULL;
    for (int64_t i1 = 0; i1 < k; i1 += GPTQ_BLOCK) {
        int64_t i2 = i1 + GPTQ_BLOCK < k ? i1 + GPTQ_BLOCK : k, bw = i2 - i1, rest = k - i2;
        sweep_job jb = {it, f, x->w, x->err, x->loss, i1, i2, dynamic_groups, NPG_OK};
        npg_threadpool_run(pool, (int)((n + GPTQ_ROWS - 1) / GPTQ_ROWS), sweep_task, &jb);
        if (jb.st != NPG_OK)
            return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory in GPTQ of '%s'", it->name);
        if (rest == 0)
            break;
        /* the block's error onto the columns after it: W[:, i2:] -= E U[i1:i2, i2:] */
        for (int64_t c = 0; c < rest; c++)
            for (int64_t t = 0; t < bw; t++)
                x->bt[c * bw + t] = f->u[(i1 + t) * k + i2 + c];
        float *e = x->err;
        if (bw < GPTQ_BLOCK) /* the last block: pack its errors densely (stride bw) */
            for (int64_t r = 0; r < n; r++)
                memmove(e + r * bw, x->err + r * GPTQ_BLOCK, (size_t)bw * sizeof(float));
        npg_weight b = {.type = NPG_W_F32, .n = rest, .k = bw, .data = x->bt};
        npg_matmul(mm, e, n, &b, x->t);
        for (int64_t r = 0; r < n; r++) {
            float *wr = x->w + r * k + i2;
            const float *tr = x->t + r * rest;
            for (int64_t c = 0; c < rest; c++)
                wr[c] -= tr[c];
        }
    }
    return NPG_OK;
}

/* ---- the driver ------------------------------------------------------------------------------------ */

static float code_level(npg_wtype t, unsigned code) {
    return t == NPG_W_NF4_CW ? npg_nf4_values[code] : (float)code - 8.0f;
}

static double dotf(const float *a, const float *b, int64_t k) {
    double s = 0.0;
    for (int64_t i = 0; i < k; i++)
        s += (double)a[i] * (double)b[i];
    return s;
}

/* Per-row output error (w - v)^T H (w - v) of the codes / scales in it (original column order), up to
 * the constant w^T H w; with refit (channel-wise only) each row's scale becomes the least-squares scale
 * of its codes, l^T H w / l^T H l, when that lowers the error (it always does, or ties). hw: [n, k]
 * the source rows times H. */
static void row_losses(npg_export_item *it, const npg_gptq_factor *f, const npg_compute *mm, const float *hw,
                       const npg_calib_slot *sub, float *lv, float *t, bool refit, double *loss) {
    int64_t n = it->shape[0], k = it->shape[1], g = group_len(it), per = k / g, m = sub ? sub->sub_n : k;
    for (int64_t r = 0; r < n; r++)
        for (int64_t c = 0; c < k; c++) /* values in units of their scale (channel-wise) or values */
            lv[r * k + c] = code_level(it->wtype, it->codes[r * k + c]) * (per == 1 ? 1.0f : it->qscales[r * per + c / g]);
    /* H-form: t = L H, a = l.(H w), q = l.(H l); X-form on the subset (sub): t = L X_s^T, a = (X_s l).(X_s w),
     * q = |X_s l|^2 (hw is then X_s w, [n, m]) */
    npg_weight h = {.type = NPG_W_F32, .n = m, .k = k, .data = sub ? sub->sub_x : f->hf};
    npg_matmul(mm, lv, n, &h, t);
    for (int64_t r = 0; r < n; r++) {
        double a = sub ? dotf(t + r * m, hw + r * m, m) : dotf(lv + r * k, hw + r * k, k);
        double q = sub ? dotf(t + r * m, t + r * m, m) : dotf(lv + r * k, t + r * k, k);
        double s = per == 1 ? (double)it->qscales[r] : 1.0;
        if (refit && per == 1 && q > 0.0 && a / q > 0.0)
            s = a / q, it->qscales[r] = (float)s;
        loss[r] = -2.0 * s * a + s * s * q;
    }
}

/* A sweep's errors are the damped A's; H's are those less damp |w - v|^2 (cheap: no k x k product). */
static void undamp(const npg_export_item *it, const npg_gptq_factor *f, double *loss) {
    int64_t n = it->shape[0], k = it->shape[1], g = group_len(it), per = k / g;
    for (int64_t r = 0; r < n; r++) {
        double d2 = 0.0;
        for (int64_t c = 0; c < k; c++) {
            double d = (double)it->override[r * k + c] -
                       (double)code_level(it->wtype, it->codes[r * k + c]) * (double)it->qscales[r * per + c / g];
            d2 += d * d;
        }
        loss[r] -= f->damp * d2;
    }
}

npg_status npg_gptq_quantize(npg_export_item *it, const npg_calib_slot *s, const npg_gptq_factor *f,
                             const npg_compute *mm, bool act_order, bool estimate_scales) {
    NPG_TRY(npg_dataaware_load(it));
    NPG_TRY(npg_q4_alloc_result(it));
    int64_t n = it->shape[0], k = it->shape[1], g = group_len(it), per = k / g;
    if (!s->hessian || s->k != k || f->k != k || f->slot != s)
        return npg_fail(NPG_ERR_INTERNAL, "GPTQ: no factor of input size %lld for '%s'", (long long)k, it->name);
    /* scales fixed up front: per row always; per group under act-order or scale estimation (static
     * groups); otherwise each group's scale is taken from the updated weights when it starts */
    bool dynamic_groups = g < k && !act_order && !estimate_scales;
    const npg_calib_slot *sub = estimate_scales && per == 1 && npg_se_subset_usable(s, k) ? s : NULL;
    npg_calib_slot hs = *s; /* GPTQ's objective is H's: its scales aim at the same target */
    hs.cross = NULL;
    gptq_work x = {0};
    int64_t ns = n * per;
    x.w0 = malloc((size_t)(n * k) * sizeof(float));
    x.w = malloc((size_t)(n * k) * sizeof(float));
    x.err = malloc((size_t)(n * GPTQ_BLOCK) * sizeof(float));
    x.bt = malloc((size_t)(k * GPTQ_BLOCK) * sizeof(float));
    x.t = malloc((size_t)(n * k) * sizeof(float));
    float *hw = malloc((size_t)(n * k) * sizeof(float)), *lv = malloc((size_t)(n * k) * sizeof(float));
    float *base = malloc((size_t)ns * sizeof(float)), *best_s = malloc((size_t)ns * sizeof(float));
    uint8_t *best_c = malloc((size_t)(n * k));
    double *best_l = malloc((size_t)n * sizeof(double)), *loss = malloc((size_t)n * sizeof(double));
    x.loss = malloc((size_t)n * sizeof(double));
    npg_status st = NPG_OK;
    if (!x.w0 || !x.w || !x.err || !x.bt || !x.t || !hw || !lv || !base || !best_s || !best_c || !best_l || !loss || !x.loss)
        st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for GPTQ of '%s' (%lld x %lld)", it->name, (long long)n,
                      (long long)k);
    if (st == NPG_OK)
        st = npg_q4_row_scales(it, it->override, &hs, estimate_scales && per > 1, mm, base);
    if (st == NPG_OK) {
        for (int64_t r = 0; r < n; r++)
            for (int64_t j = 0; j < k; j++)
                x.w0[r * k + j] = it->override[r * k + f->perm[j]];
        /* scale estimation's errors: on the token subset for wide inputs (X_s w), else on H (H w) */
        npg_weight h = {.type = NPG_W_F32, .n = sub ? sub->sub_n : k, .k = k, .data = sub ? sub->sub_x : f->hf};
        if (estimate_scales && per == 1)
            npg_matmul(mm, it->override, n, &h, hw);
    }
    /* Channel-wise or static scales: each row also tries its scale shrunk by factors in [0.7, 1] and
     * keeps the GPTQ result with the smallest output error. A sweep gives every row's error for free:
     * (w - q)^T A (w - q) is the sum of its squared scaled errors (A the damped H; the paper's
     * "Losses"), and H's error is that less damp |w - q|^2. The grid is 1, 0.975, ..., 0.7, one sweep
     * each (searching it coarse to fine per row, 8 sweeps, gave 0.49x RTN's KL on stories260K against
     * 0.47x). With scale estimation, channel-wise: the candidates start from RTN's scale and each one's
     * scale is refit to its codes by least squares before they are compared (one L H product per
     * candidate, so --scale-estimation costs about 3.5x plain GPTQ); then GPTQ runs again from each
     * row's refit scale and is refit again, a few rounds, each kept per row only where it lowers the
     * error (0.45x RTN's KL on stories260K, against 0.52x when GPTQ took scale estimation's
     * RTN-optimal scales). Group-wise: the candidates start from scale estimation's scales. */
    static const float factors[] = {1.0f,   0.975f, 0.95f,  0.925f, 0.9f,   0.875f, 0.85f,
                                    0.825f, 0.8f,   0.775f, 0.75f,  0.725f, 0.7f};
    int n_f = dynamic_groups ? 1 : (int)(sizeof factors / sizeof *factors);
    /* wide inputs under scale estimation (X-form on the subset): every other factor, 1 .. 0.7 in steps of
     * 0.05, and one round fewer; each candidate's scale is refit anyway, and a sweep costs rows x k^2
     * (GPTQ + SE on a 1.1B model: 16 sweeps per matrix ~ 35 CPU-minutes, 9 sweeps ~ 20) */
    int f_step = sub ? 2 : 1, rounds = sub ? GPTQ_SE_ROUNDS - 1 : GPTQ_SE_ROUNDS;
    for (int fi = 0; fi < n_f && st == NPG_OK; fi += f_step) {
        for (int64_t i = 0; i < ns; i++)
            it->qscales[i] = base[i] * factors[fi];
        st = sweep(it, f, mm, &x, dynamic_groups);
        if (st != NPG_OK || n_f == 1)
            break; /* one pass: nothing to choose */
        if (estimate_scales && per == 1) /* each candidate refit to its codes, H's error exact */
            row_losses(it, f, mm, hw, sub, lv, x.t, true, x.loss);
        else
            undamp(it, f, x.loss);
        for (int64_t r = 0; r < n; r++)
            if (fi == 0 || x.loss[r] < best_l[r]) {
                best_l[r] = x.loss[r];
                memcpy(best_c + r * k, it->codes + r * k, (size_t)k);
                memcpy(best_s + r * per, it->qscales + r * per, (size_t)per * sizeof(float));
            }
    }
    if (st == NPG_OK && n_f > 1) {
        memcpy(it->codes, best_c, (size_t)(n * k));
        memcpy(it->qscales, best_s, (size_t)ns * sizeof(float));
    }
    if (st == NPG_OK && estimate_scales && per == 1) {
        for (int ri = 0; ri < rounds && st == NPG_OK; ri++) {
            st = sweep(it, f, mm, &x, false);
            if (st == NPG_OK)
                row_losses(it, f, mm, hw, sub, lv, x.t, true, loss);
            for (int64_t r = 0; r < n && st == NPG_OK; r++)
                if (loss[r] < best_l[r]) {
                    best_l[r] = loss[r];
                    memcpy(best_c + r * k, it->codes + r * k, (size_t)k);
                    best_s[r] = it->qscales[r];
                }
            memcpy(it->qscales, best_s, (size_t)ns * sizeof(float)); /* the next round starts from these */
        }
        memcpy(it->codes, best_c, (size_t)(n * k));
    }
    free(x.w0);
    free(x.w);
    free(x.err);
    free(x.bt);
    free(x.t);
    free(hw);
    free(lv);
    free(base);
    free(best_s);
    free(best_c);
    free(best_l);
    free(loss);
    free(x.loss);
    return st;
}
