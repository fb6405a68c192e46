/* awq.c — activation-aware weight quantization for data-aware export (meaning in dataaware.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compress/dataaware.h"
#include "core/error.h"
#include "core/timer.h"

#define AWQ_GRID 20 /* alpha = 0, 1/20, ..., 19/20 */
#define AWQ_SE_SEARCH_MAX 1024

static npg_export_item *find_item(npg_export_plan *p, const char *name) {
    if (!name || !name[0])
        return NULL;
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->items[i].name, name) == 0)
            return &p->items[i];
    return NULL;
}

static bool is_4bit(const npg_export_item *it) {
    return it->kind == NPG_EXPORT_CONVERT &&
           (it->wtype == NPG_W_Q4_CW || it->wtype == NPG_W_Q4_G || it->wtype == NPG_W_NF4_CW);
}

typedef struct awq_group {
    npg_export_item *cons[3]; /* matrices reading the scaled input [*, k] */
    int n_cons;
    npg_export_item *norm;   /* a [k] RMSNorm weight producing the input, or */
    npg_export_item *prod;   /* a matrix producing it (up_proj for down_proj, v_proj for o_proj) */
    int64_t head_dim, n_rep; /* v_proj -> o_proj: input c comes from producer row
                              * (c / (head_dim n_rep)) head_dim + c % head_dim (GQA); else n_rep 0 */
} awq_group;

/* The producer row of consumer input c. */
static int64_t prod_row(const awq_group *gr, int64_t c) {
    if (gr->n_rep == 0)
        return c;
    return c / (gr->head_dim * gr->n_rep) * gr->head_dim + c % gr->head_dim;
}

/* f32 copies of H and of the targets C w per consumer, for the losses as matmuls */
typedef struct awq_mats {
    const npg_compute *mm;
    float *hf;       /* [k, k] H (H-form), or NULL */
    float *cw[3];    /* per consumer [n, k]: row r is C w_r (C = X^T X_f; H w_r without C); X-form: [n, m] X_f w_r */
    const npg_calib_slot *sub; /* X-form (inputs wider than NPG_SE_EXACT_MAX): the slot's token subset */
} awq_mats;

/* Output error, up to a constant, of the group's consumers quantized after scaling: per output row
 * v^T H v - 2 v^T C w for the dequantized values v (in unscaled units) and the float row w (H = X^T X,
 * C = X^T X_f over every calibration token: the compressed model's inputs against the float model's).
 * V H is one f32 matmul per consumer (the O(rows k^2) part), summed per row in double. */
static npg_status group_loss(const awq_group *gr, const awq_mats *mt, const double *Hs, const double *Cs, int64_t k,
                             const float *scale, float *tmp, float *deq, double *loss) {
    double e = 0.0;
    for (int i = 0; i < gr->n_cons; i++) {
        const npg_export_item *it = gr->cons[i];
        int64_t n = it->shape[0];
        for (int64_t r = 0; r < n; r++)
            for (int64_t c = 0; c < k; c++)
                tmp[r * k + c] = it->override[r * k + c] * scale[c];
        if (Hs && is_4bit(it))
            NPG_TRY(npg_se_fake_quant(it->wtype, it->group_size, tmp, n, k, Hs, Cs, mt->mm, deq));
        else
            NPG_TRY(npg_fake_quant(it->wtype, it->group_size, tmp, n, k, deq));
        for (int64_t r = 0; r < n; r++) {
            float *v = deq + r * k;
            for (int64_t c = 0; c < k; c++)
                v[c] /= scale[c];
        }
        if (mt->sub) { /* |X_s v|^2 - 2 (X_s v).(X_f w) on the subset: tmp = V X_s^T [n, m] */
            int64_t m = mt->sub->sub_n;
            npg_weight xs = {.type = NPG_W_F32, .n = m, .k = k, .data = mt->sub->sub_x};
            npg_matmul(mt->mm, deq, n, &xs, tmp);
            for (int64_t r = 0; r < n * m; r++)
                e += (double)tmp[r] * ((double)tmp[r] - 2.0 * (double)mt->cw[i][r]);
            continue;
        }
        npg_weight h = {.type = NPG_W_F32, .n = k, .k = k, .data = mt->hf};
        npg_matmul(mt->mm, deq, n, &h, tmp); /* tmp = V H */
        for (int64_t r = 0; r < n; r++) {
            const float *v = deq + r * k, *vh = tmp + r * k, *cw = mt->cw[i] + r * k;
            double a = 0.0;
            for (int64_t c = 0; c < k; c++)
                a += (double)v[c] * ((double)vh[c] - 2.0 * (double)cw[c]);
            e += a;
        }
    }
    *loss = e;
    return NPG_OK;
}

static void mats_free(awq_mats *mt) {
    free(mt->hf);
    for (int i = 0; i < 3; i++)
        free(mt->cw[i]);
    memset(mt, 0, sizeof *mt);
}

/* H in f32 and C w_r for every consumer row (one matmul each against C, or H without C). */
static npg_status mats_make(const awq_group *gr, const npg_calib_slot *s, const npg_compute *mm, awq_mats *mt) {
    int64_t k = s->k;
    memset(mt, 0, sizeof *mt);
    mt->mm = mm;
    if (npg_se_subset_usable(s, k)) { /* X-form: the targets X_f w_r on the subset */
        mt->sub = s;
        int64_t m = s->sub_n;
        npg_weight xf = {.type = NPG_W_F32, .n = m, .k = k, .data = s->sub_xf ? s->sub_xf : s->sub_x};
        for (int i = 0; i < gr->n_cons; i++) {
            mt->cw[i] = malloc((size_t)(gr->cons[i]->shape[0] * m) * sizeof(float));
            if (!mt->cw[i]) {
                mats_free(mt);
                return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for AWQ (%s)", gr->cons[i]->name);
            }
            npg_matmul(mm, gr->cons[i]->override, gr->cons[i]->shape[0], &xf, mt->cw[i]);
        }
        return NPG_OK;
    }
    mt->hf = malloc((size_t)(k * k) * sizeof(float));
    float *cf = malloc((size_t)(k * k) * sizeof(float));
    npg_status st = mt->hf && cf ? NPG_OK : npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for AWQ (input size %lld)", (long long)k);
    for (int64_t i = 0; st == NPG_OK && i < k * k; i++) {
        mt->hf[i] = (float)s->hessian[i];
        cf[i] = (float)(s->cross ? s->cross[i] : s->hessian[i]);
    }
    for (int i = 0; st == NPG_OK && i < gr->n_cons; i++) {
        int64_t n = gr->cons[i]->shape[0];
        mt->cw[i] = malloc((size_t)(n * k) * sizeof(float));
        if (!mt->cw[i]) {
            st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for AWQ (%s)", gr->cons[i]->name);
            break;
        }
        npg_weight c = {.type = NPG_W_F32, .n = k, .k = k, .data = cf};
        npg_matmul(mm, gr->cons[i]->override, n, &c, mt->cw[i]); /* (W C^T)[r][a] = (C w_r)[a] */
    }
    free(cf);
    if (st != NPG_OK)
        mats_free(mt);
    return st;
}

static npg_status awq_group_apply(const awq_group *gr, npg_calib_slot *s, bool plus_one, const npg_export_options *o,
                                  const npg_compute *mm, bool *applied) {
    *applied = false;
    if (s->count == 0 || (!s->hessian && !npg_se_subset_usable(s, s->k)))
        return NPG_OK;
    /* with --scale-estimation the search scores each alpha by the layer scale estimation will give */
    /* ... for inputs under AWQ_SE_SEARCH_MAX only: the scale search costs about 2.4 k^2 per row and
     * alpha (a 1.1B model: ~20 min per layer); larger inputs search with RTN, as NNCF's AWQ does */
    bool se = o->scale_estimation && s->k < AWQ_SE_SEARCH_MAX;
    double *hs = se ? malloc((size_t)(s->k * s->k) * sizeof(double)) : NULL;
    double *cs = se && s->cross ? malloc((size_t)(s->k * s->k) * sizeof(double)) : NULL;
    if (se && (!hs || (s->cross && !cs))) {
        free(hs);
        free(cs);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for AWQ");
    }
    int64_t k = s->k, max_n = 0;
    for (int i = 0; i < gr->n_cons; i++) {
        npg_status ls = npg_dataaware_load(gr->cons[i]);
        if (ls != NPG_OK) {
            free(hs);
            free(cs);
            return ls;
        }
        max_n = gr->cons[i]->shape[0] > max_n ? gr->cons[i]->shape[0] : max_n;
    }
    float *tmp = malloc((size_t)(max_n * k) * sizeof(float)), *deq = malloc((size_t)(max_n * k) * sizeof(float));
    float *scale = malloc((size_t)k * sizeof(float)), *best = malloc((size_t)k * sizeof(float));
    npg_status st = tmp && deq && scale && best ? NPG_OK : npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for AWQ");
    awq_mats mt = {0};
    if (st == NPG_OK)
        st = mats_make(gr, s, mm, &mt);
    double best_loss = (double)INFINITY;
    int best_i = 0;
    /* mean |x| per input channel; channels fed by one producer row share it (one scale per row) */
    double *mean_abs = calloc((size_t)k, sizeof(double)), *acc = calloc((size_t)k, sizeof(double));
    if (st == NPG_OK && (!mean_abs || !acc))
        st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for AWQ");
    for (int64_t c = 0; st == NPG_OK && c < k; c++)
        acc[prod_row(gr, c)] += s->sum_abs[c] / (double)s->count / (double)(gr->n_rep ? gr->n_rep : 1);
    for (int64_t c = 0; st == NPG_OK && c < k; c++)
        mean_abs[c] = acc[prod_row(gr, c)];
    /* coarse to fine: the even grid points, then the two neighbours of the best one */
    int cand[AWQ_GRID], n_cand = 0;
    for (int gi = 0; gi < AWQ_GRID; gi += 2)
        cand[n_cand++] = gi;
    for (int ci = 0; ci < n_cand && st == NPG_OK; ci++) {
        int gi = cand[ci];
        double alpha = (double)gi / AWQ_GRID, mx = 0.0, mn = (double)INFINITY;
        for (int64_t c = 0; c < k; c++) {
            double m = mean_abs[c];
            double v = pow(m > 1e-8 ? m : 1e-8, alpha);
            v = v > 1e-4 ? v : 1e-4;
            scale[c] = (float)v;
            mx = v > mx ? v : mx;
            mn = v < mn ? v : mn;
        }
        double norm = sqrt(mx * mn); /* keeps the scales centred on 1 */
        for (int64_t c = 0; c < k; c++)
            scale[c] = (float)((double)scale[c] / norm);
        double loss = 0.0;
        if (hs) /* the products the scaled layer sees: H / (s s^T), C / (s s^T) */
            for (int64_t i = 0; i < k; i++)
                for (int64_t j = 0; j < k; j++) {
                    double d = (double)scale[i] * (double)scale[j];
                    hs[i * k + j] = s->hessian[i * k + j] / d;
                    if (cs)
                        cs[i * k + j] = s->cross[i * k + j] / d;
                }
        st = group_loss(gr, &mt, hs, cs, k, scale, tmp, deq, &loss);
        if (st == NPG_OK && loss < best_loss) {
            best_loss = loss;
            best_i = gi;
            memcpy(best, scale, (size_t)k * sizeof(float));
        }
        if (ci == AWQ_GRID / 2 - 1) {
            if (best_i > 0)
                cand[n_cand++] = best_i - 1;
            if (best_i + 1 < AWQ_GRID)
                cand[n_cand++] = best_i + 1;
        }
    }
    if (st == NPG_OK && best_i > 0) { /* alpha 0 is the unscaled layer: nothing to fold */
        for (int i = 0; i < gr->n_cons; i++) {
            npg_export_item *it = gr->cons[i];
            for (int64_t r = 0; r < it->shape[0]; r++)
                for (int64_t c = 0; c < k; c++)
                    it->override[r * k + c] *= best[c];
        }
        if (gr->norm) {
            st = npg_dataaware_load(gr->norm);
            for (int64_t c = 0; st == NPG_OK && c < k; c++)
                gr->norm->override[c] =
                    plus_one ? (1.0f + gr->norm->override[c]) / best[c] - 1.0f : gr->norm->override[c] / best[c];
        } else {
            st = npg_dataaware_load(gr->prod);
            int64_t pk = gr->prod->shape[1];
            for (int64_t c = 0; st == NPG_OK && c < k; c++) {
                int64_t r = prod_row(gr, c);
                if (gr->n_rep && c % (gr->head_dim * gr->n_rep) >= gr->head_dim)
                    continue; /* the row was scaled through the group's first head */
                for (int64_t j = 0; j < pk; j++)
                    gr->prod->override[r * pk + j] /= best[c];
            }
        }
        if (st == NPG_OK) {
            npg_calib_slot_divide(s, best);
            *applied = true;
            npg_export_log(o, NPG_LOG_INFO, "AWQ: %s%s: alpha %.2f", gr->cons[0]->name,
                           gr->n_cons > 1 ? " (+group)" : "", (double)best_i / AWQ_GRID);
        }
    }
    mats_free(&mt);
    free(tmp);
    free(deq);
    free(scale);
    free(best);
    free(hs);
    free(cs);
    free(mean_abs);
    free(acc);
    return st;
}

/* One group from calib names; false when AWQ does not apply (no 4-bit consumer, missing producer). */
static bool make_group(npg_export_plan *p, const char (*names)[256], const int *cons, int n_cons, int norm, int prod,
                       int64_t k, const npg_calib *c, awq_group *gr) {
    memset(gr, 0, sizeof *gr);
    if (prod == NPG_CN_V) {
        gr->head_dim = c->head_dim;
        gr->n_rep = c->n_rep;
        if (gr->head_dim < 1 || gr->n_rep < 1 || k % (gr->head_dim * gr->n_rep) != 0)
            return false;
    }
    bool any4 = false;
    for (int i = 0; i < n_cons; i++) {
        npg_export_item *it = find_item(p, names[cons[i]]);
        if (!it || it->n_dims != 2 || it->shape[1] != k || it->kind != NPG_EXPORT_CONVERT)
            return false; /* every reader of the input must take the scale */
        any4 = any4 || is_4bit(it);
        gr->cons[gr->n_cons++] = it;
    }
    if (norm >= 0) {
        gr->norm = find_item(p, names[norm]);
        if (!gr->norm || gr->norm->n_dims != 1 || gr->norm->shape[0] != k || gr->norm->kind != NPG_EXPORT_COPY)
            return false;
    } else {
        gr->prod = find_item(p, names[prod]);
        if (!gr->prod || gr->prod->n_dims != 2 || gr->prod->shape[0] != (gr->n_rep ? k / gr->n_rep : k) ||
            gr->prod->kind != NPG_EXPORT_CONVERT)
            return false;
    }
    return any4;
}

npg_status npg_awq_layer(npg_export_plan *p, npg_calib *c, const npg_export_options *o, int64_t l) {
    static const int attn[] = {NPG_CN_Q, NPG_CN_K, NPG_CN_V}, ffn[] = {NPG_CN_GATE, NPG_CN_UP}, down[] = {NPG_CN_DOWN},
                     oproj[] = {NPG_CN_O};
    npg_calib_slot *sl = &c->slots[l * NPG_SLOT_COUNT];
    awq_group gr;
    bool done = false;
    if (make_group(p, c->names[l], attn, 3, NPG_CN_ATTN_NORM, -1, sl[NPG_SLOT_ATTN].k, c, &gr))
        NPG_TRY(awq_group_apply(&gr, &sl[NPG_SLOT_ATTN], c->norm_plus_one, o, c->compute, &done));
    if (make_group(p, c->names[l], ffn, 2, NPG_CN_FFN_NORM, -1, sl[NPG_SLOT_FFN].k, c, &gr))
        NPG_TRY(awq_group_apply(&gr, &sl[NPG_SLOT_FFN], c->norm_plus_one, o, c->compute, &done));
    if (make_group(p, c->names[l], oproj, 1, -1, NPG_CN_V, sl[NPG_SLOT_O].k, c, &gr))
        NPG_TRY(awq_group_apply(&gr, &sl[NPG_SLOT_O], c->norm_plus_one, o, c->compute, &done));
    if (make_group(p, c->names[l], down, 1, -1, NPG_CN_UP, sl[NPG_SLOT_DOWN].k, c, &gr))
        NPG_TRY(awq_group_apply(&gr, &sl[NPG_SLOT_DOWN], c->norm_plus_one, o, c->compute, &done));
    return NPG_OK;
}
