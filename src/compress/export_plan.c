/* export_plan.c — decides how `npugen export` stores each tensor.
 *
 * Classes of tensors (by name and shape, like optimum-cli's defaults for decoder LLMs):
 *   - not 2-D (norms, biases, conv kernels): kept in their float dtype, bytes copied;
 *   - embedding-like 2-D (a name containing "embed", lm_head.weight, Whisper's proj_out.weight):
 *     backup precision for 4-bit formats unless --all-layers (NNCF keeps them 8-bit by default);
 *   - every other 2-D float matrix: a 4-bit candidate for int4 / nf4.
 * fp32 / fp16 store every matrix in that type; int8 stores every matrix (embeddings too) as Q8_CW.
 *
 * --ratio R < 1 (NNCF's data-free mixed precision, SensitivityMetric.WEIGHT_QUANTIZATION_ERROR): each
 * candidate gets the score 1 / (e + eps), e = max over output rows of the mean squared error of
 * 8-bit quantization of that row (NNCF uses its default INT8_ASYM for this error; we use our
 * symmetric int8, the only 8-bit we have). Candidates are taken in ascending score (largest error
 * first, ties by order in the file) into 4-bit while the 4-bit share of candidate parameters stays
 * below R; the first one that would reach R stops the walk (NNCF's exact loop). R = 1 takes all.
 *
 * Group size that does not divide a matrix's input size K (NNCF's group_size_fallback "adjust"): the
 * largest divisor of K that is >= 32 and <= the requested size is used instead; when there is none
 * the matrix goes to the backup precision. Both are reported as warnings. optimum-cli's default is to
 * fail; npugen adjusts so that the guide's --group-size 128 works on every model. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/timer.h"
#include "compress/export.h"
#include "compress/calib.h"
#include "compress/dataaware.h"
#include "compress/gptq.h"
#include "weights/weights.h"

static bool ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static bool is_embedding(const char *name) {
    return strstr(name, "embed") != NULL || ends_with(name, "lm_head.weight") || strcmp(name, "proj_out.weight") == 0;
}

static npg_wtype float_wtype(npg_dtype dt) {
    return dt == NPG_DT_F16 ? NPG_W_F16 : dt == NPG_DT_BF16 ? NPG_W_BF16 : NPG_W_F32;
}

static npg_status add_item(npg_export_plan *p, const char *name, npg_export_item **out) {
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        npg_export_item *ni = realloc(p->items, cap * sizeof *ni);
        NPG_CHECK_ALLOC(ni);
        p->items = ni;
        p->cap = cap;
    }
    npg_export_item *it = &p->items[p->n];
    memset(it, 0, sizeof *it);
    it->name = strdup(name);
    NPG_CHECK_ALLOC(it->name);
    p->n++;
    *out = it;
    return NPG_OK;
}

void npg_export_plan_free(npg_export_plan *plan) {
    if (!plan)
        return;
    for (size_t i = 0; i < plan->n; i++) {
        free(plan->items[i].name);
        free(plan->items[i].override);
        free(plan->items[i].codes);
        free(plan->items[i].qscales);
    }
    free(plan->items);
    memset(plan, 0, sizeof *plan);
}

/* Largest divisor of k in [32, g]; 0 when none. */
static int64_t adjusted_group(int64_t k, int64_t g) {
    for (int64_t d = g < k ? g : k; d >= 32; d--)
        if (k % d == 0)
            return d;
    return 0;
}

static void set_backup(npg_export_item *it, const npg_export_options *o) {
    it->kind = NPG_EXPORT_CONVERT;
    it->group_size = 0;
    if (o->backup == NPG_BACKUP_NONE) {
        it->wtype = float_wtype(it->src->dtype);
        it->kind = NPG_EXPORT_COPY;
    } else {
        it->wtype = NPG_W_Q8_CW;
    }
}

/* The 4-bit storage of a candidate; false (backup) when the group size has no usable fallback. */
static bool set_4bit(npg_export_item *it, const npg_export_options *o, int64_t group, npg_export_plan *p) {
    int64_t k = it->shape[1];
    it->kind = NPG_EXPORT_CONVERT;
    if (o->format == NPG_EXPORT_NF4 || group == -1 || group == k) {
        it->wtype = o->format == NPG_EXPORT_NF4 ? NPG_W_NF4_CW : NPG_W_Q4_CW;
        it->group_size = 0;
        return true;
    }
    if (k % group == 0) {
        it->wtype = NPG_W_Q4_G;
        it->group_size = group;
        return true;
    }
    int64_t g = adjusted_group(k, group);
    p->n_fallback++;
    if (g == 0) {
        npg_export_log(o, NPG_LOG_WARNING,
                       "%s: group size %lld does not divide its input size %lld and no divisor >= 32 does; "
                       "stored in the backup precision",
                       it->name, (long long)group, (long long)k);
        return false;
    }
    npg_export_log(o, NPG_LOG_WARNING, "%s: group size %lld does not divide its input size %lld; using group size %lld",
                   it->name, (long long)group, (long long)k, (long long)g);
    it->wtype = g == k ? NPG_W_Q4_CW : NPG_W_Q4_G;
    it->group_size = g == k ? 0 : g;
    return true;
}

/* NNCF data-free sensitivity of one matrix: 1 / (max_row mean((deq(q8(w)) - w)^2) + eps). */
static npg_status sensitivity(npg_export_item *it) {
    int64_t n = it->shape[0], k = it->shape[1];
    int64_t rows = (int64_t)(1 << 20) / k;
    rows = rows < 1 ? 1 : rows > n ? n : rows;
    float *w = malloc((size_t)(rows * k) * sizeof(float));
    float *deq = malloc((size_t)k * sizeof(float));
    uint8_t *q = malloc(npg_quant_data_bytes(NPG_W_Q8_CW, rows, k));
    float *sc = malloc((size_t)rows * sizeof(float));
    npg_status st = NPG_OK;
    if (!w || !deq || !q || !sc)
        st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory scoring %s", it->name);
    double worst = 0.0;
    for (int64_t r0 = 0; r0 < n && st == NPG_OK; r0 += rows) {
        int64_t nr = n - r0 < rows ? n - r0 : rows;
        npg_export_read_rows(it->src, r0, nr, w);
        st = npg_quantize_rows(NPG_W_Q8_CW, w, nr, k, 0, q, sc);
        if (st != NPG_OK) {
            st = npg_fail_context(st, "tensor '%s'", it->name);
            break;
        }
        npg_weight qw = {.type = NPG_W_Q8_CW, .n = nr, .k = k, .data = q, .scales = sc};
        for (int64_t r = 0; r < nr; r++) {
            npg_dequantize_row(&qw, r, deq);
            double e = 0.0;
            for (int64_t c = 0; c < k; c++) {
                double d = (double)deq[c] - (double)w[r * k + c];
                e += d * d;
            }
            e /= (double)k;
            worst = e > worst ? e : worst;
        }
    }
    npg_export_release_pages(it->src->data, it->src->n_bytes);
    free(w);
    free(deq);
    free(q);
    free(sc);
    it->sensitivity = 1.0 / (worst + (double)FLT_EPSILON);
    return st;
}

/* NNCF's data-aware sensitivities from the calibration statistics of the matrix's input:
 *   hessian_input_activation   (2 mean over channels of E[x^2]) * ||W - Q4(W)||_F (HAWQ's trace)
 *   mean_activation_variance   mean over channels of Var[x]
 *   max_activation_variance    max over channels of Var[x]
 *   mean_activation_magnitude  mean over channels of E[|x|]
 * (NNCF computes them over per-sample token means; npugen over all calibration tokens.) A candidate
 * without statistics (an embedding under --all-layers) scores +inf: 4-bit last. */
static npg_status data_sensitivity(npg_export_item *it, npg_calib *calib, const npg_export_options *o,
                                   npg_export_sensitivity m, int64_t group) {
    npg_calib_slot *s = npg_calib_find(calib, it->name, NULL);
    if (!s || s->count == 0 || s->k != it->shape[1]) {
        it->sensitivity = (double)INFINITY;
        return NPG_OK;
    }
    double cnt = (double)s->count, acc = 0.0, mx = 0.0;
    for (int64_t c = 0; c < s->k; c++) {
        double mean = s->sum[c] / cnt, var = s->sumsq[c] / cnt - mean * mean;
        double v = m == NPG_SENS_MEAN_ACTIVATION_MAGNITUDE ? s->sum_abs[c] / cnt
                   : m == NPG_SENS_HESSIAN_INPUT_ACTIVATION ? s->sumsq[c] / cnt
                                                            : (var > 0.0 ? var : 0.0);
        acc += v;
        mx = v > mx ? v : mx;
    }
    it->sensitivity = m == NPG_SENS_MAX_ACTIVATION_VARIANCE ? mx : acc / (double)s->k;
    if (m != NPG_SENS_HESSIAN_INPUT_ACTIVATION)
        return NPG_OK;
    int64_t n = it->shape[0], k = it->shape[1];
    npg_wtype t = o->format == NPG_EXPORT_NF4 ? NPG_W_NF4_CW : group > 0 && k % group == 0 && group < k ? NPG_W_Q4_G : NPG_W_Q4_CW;
    float *w = malloc((size_t)(n * k) * sizeof(float)), *q = malloc((size_t)(n * k) * sizeof(float));
    npg_status st = w && q ? NPG_OK : npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory scoring %s", it->name);
    if (st == NPG_OK) {
        npg_export_read_rows(it->src, 0, n, w);
        st = npg_fake_quant(t, t == NPG_W_Q4_G ? group : 0, w, n, k, q);
    }
    double err = 0.0;
    for (int64_t i = 0; st == NPG_OK && i < n * k; i++)
        err += ((double)w[i] - (double)q[i]) * ((double)w[i] - (double)q[i]);
    free(w);
    free(q);
    it->sensitivity *= 2.0 * sqrt(err);
    return st;
}

static int cmp_score(const void *a, const void *b, void *items) {
    const npg_export_item *it = items;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    if (it[i].sensitivity != it[j].sensitivity)
        return it[i].sensitivity < it[j].sensitivity ? -1 : 1;
    return i < j ? -1 : i > j;
}

static npg_status mixed_precision(npg_export_plan *p, const npg_export_options *o, int64_t group, npg_calib *calib) {
    npg_export_sensitivity metric = o->sensitivity;
    if (metric == NPG_SENS_DEFAULT)
        metric = calib ? NPG_SENS_MAX_ACTIVATION_VARIANCE : NPG_SENS_WEIGHT_QUANTIZATION_ERROR;
    size_t n_cand = 0;
    for (size_t i = 0; i < p->n; i++)
        n_cand += p->items[i].eligible4;
    size_t *order = malloc((n_cand ? n_cand : 1) * sizeof *order);
    NPG_CHECK_ALLOC(order);
    double t0 = npg_now_ms();
    uint64_t done_bytes = 0, cand_bytes = 0;
    for (size_t i = 0; i < p->n; i++)
        if (p->items[i].eligible4)
            cand_bytes += p->items[i].src->n_bytes;
    size_t c = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (!p->items[i].eligible4)
            continue;
        npg_status st = metric == NPG_SENS_WEIGHT_QUANTIZATION_ERROR || !calib
                            ? sensitivity(&p->items[i])
                            : data_sensitivity(&p->items[i], calib, o, metric, group);
        if (st != NPG_OK) {
            free(order);
            return st;
        }
        order[c++] = i;
        done_bytes += p->items[i].src->n_bytes;
        if (o->progress) {
            double el = npg_now_ms() - t0;
            npg_export_progress pr = {.phase = "sensitivity", .tensor = c, .n_tensors = n_cand,
                                      .bytes_done = done_bytes, .bytes_total = cand_bytes, .elapsed_ms = el,
                                      .unit = "tensors", .eta_ms = npg_export_eta_ms(el, done_bytes, cand_bytes)};
            o->progress(o->progress_user, &pr);
        }
    }
    qsort_r(order, n_cand, sizeof *order, cmp_score, p->items);
    uint64_t in4 = 0;
    for (size_t j = 0; j < n_cand; j++) {
        npg_export_item *it = &p->items[order[j]];
        uint64_t nw = (uint64_t)(it->shape[0] * it->shape[1]);
        if ((double)(in4 + nw) / (double)p->weights_eligible >= (double)o->ratio)
            break;
        it->eligible4 = false; /* decided */
        if (set_4bit(it, o, group, p))
            in4 += nw;
        else
            set_backup(it, o);
    }
    for (size_t i = 0; i < p->n; i++)
        if (p->items[i].eligible4) { /* not chosen: backup */
            p->items[i].eligible4 = false;
            set_backup(&p->items[i], o);
        }
    free(order);
    return NPG_OK;
}

static npg_status plan_gptq_tensor(npg_export_plan *p, const npg_tensor_store *ts, const npg_gptq_config *gq,
                                   const npg_tensor_info *t, bool *handled) {
    *handled = false;
    static const char *const parts[] = {".qweight", ".qzeros", ".scales", ".g_idx"};
    for (int k = 0; k < 4; k++) {
        if (!ends_with(t->name, parts[k]))
            continue;
        size_t plen = strlen(t->name) - strlen(parts[k]) + 1; /* keeps the dot */
        char prefix[1100];
        if (plen >= sizeof prefix - 16)
            return npg_fail(NPG_ERR_FORMAT, "tensor name '%s' is too long", t->name);
        memcpy(prefix, t->name, plen);
        prefix[plen] = '\0';
        char qw[1200];
        snprintf(qw, sizeof qw, "%sqweight", prefix);
        if (!npg_tensor_store_find(ts, qw)) {
            if (k == 2)
                return NPG_OK; /* some other tensor that happens to be called *.scales */
            return npg_fail(NPG_ERR_FORMAT, "GPTQ checkpoint: '%s' has no matching '%s'", t->name, qw);
        }
        *handled = true;
        if (k != 0)
            return NPG_OK; /* consumed by the layer of its qweight */
        char wname[1200];
        snprintf(wname, sizeof wname, "%sweight", prefix);
        npg_export_item *it = NULL;
        NPG_TRY(add_item(p, wname, &it));
        NPG_TRY(npg_gptq_plan_layer(gq, ts, prefix, it));
        p->n_gptq++;
        p->source_bytes += it->qweight->n_bytes + it->scales->n_bytes + it->qzeros->n_bytes +
                           (it->g_idx ? it->g_idx->n_bytes : 0);
        return NPG_OK;
    }
    return NPG_OK;
}

/* A VLM's vision tower or projector tensor (Hub or transformers >= 4.52 spelling). */
static bool is_vision(const char *name) {
    if (strncmp(name, "model.", 6) == 0)
        name += 6;
    return strncmp(name, "vision_tower.", 13) == 0 || strncmp(name, "multi_modal_projector.", 22) == 0;
}

/* The vision side's storage: its nn.Linear weights (what the tower runs through the GEMM kernels) in
 * vision_format; everything else float, fp16 unless fp32 was asked (the tower reads those as f32). */
static npg_status set_vision(npg_export_item *it, const npg_export_options *o) {
    if (o->vision_format != NPG_EXPORT_FP16 && o->vision_format != NPG_EXPORT_INT8 &&
        o->vision_format != NPG_EXPORT_FP32)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "--vision-format: '%s' is not one of fp16, int8, fp32",
                        npg_export_format_name(o->vision_format));
    bool linear = it->n_dims == 2 && (ends_with(it->name, "_proj.weight") || ends_with(it->name, "fc1.weight") ||
                                      ends_with(it->name, "fc2.weight") || ends_with(it->name, "linear_1.weight") ||
                                      ends_with(it->name, "linear_2.weight"));
    if (linear && o->vision_format == NPG_EXPORT_INT8)
        it->wtype = NPG_W_Q8_CW;
    else if (it->n_dims == 2)
        it->wtype = o->vision_format == NPG_EXPORT_FP32 ? NPG_W_F32 : NPG_W_F16;
    it->kind = it->wtype == float_wtype(it->src->dtype) ? NPG_EXPORT_COPY : NPG_EXPORT_CONVERT;
    return NPG_OK;
}

npg_status npg_export_plan_build(const npg_tensor_store *ts, const npg_gptq_config *gq, const npg_export_options *o,
                                 struct npg_calib *calib, npg_export_plan *p) {
    memset(p, 0, sizeof *p);
    bool four_bit = o->format == NPG_EXPORT_INT4 || o->format == NPG_EXPORT_NF4;
    int64_t group = o->group_size;
    if (group == NPG_EXPORT_GROUP_DEFAULT)
        group = o->format == NPG_EXPORT_INT4 ? 128 : -1;
    for (size_t i = 0; i < npg_tensor_store_count(ts); i++) {
        const npg_tensor_info *t = npg_tensor_store_at(ts, i);
        if (gq->present) {
            bool handled = false;
            NPG_TRY(plan_gptq_tensor(p, ts, gq, t, &handled));
            if (handled)
                continue;
        }
        if (t->dtype != NPG_DT_F32 && t->dtype != NPG_DT_F16 && t->dtype != NPG_DT_BF16)
            return npg_fail(NPG_ERR_UNSUPPORTED, "%s: tensor '%s' has dtype %s; export reads F32, F16 and BF16 tensors%s",
                            npg_tensor_store_shard_path(ts, t->shard), t->name, npg_dtype_name(t->dtype),
                            gq->present ? " and GPTQ layers" : "");
        if (t->n_dims > 4)
            return npg_fail(NPG_ERR_UNSUPPORTED, "tensor '%s' has %d dimensions (at most 4 are stored)", t->name,
                            t->n_dims);
        npg_export_item *it = NULL;
        NPG_TRY(add_item(p, t->name, &it));
        it->src = t;
        it->n_dims = t->n_dims ? t->n_dims : 1;
        for (int d = 0; d < t->n_dims; d++)
            it->shape[d] = t->shape[d];
        if (t->n_dims == 0)
            it->shape[0] = 1;
        it->wtype = float_wtype(t->dtype);
        it->kind = NPG_EXPORT_COPY;
        p->source_bytes += t->n_bytes;
        for (int d = 0; d < it->n_dims; d++)
            if (it->shape[d] < 1)
                return npg_fail(NPG_ERR_UNSUPPORTED, "tensor '%s' is empty (dimension %d is 0)", t->name, d);
        if (is_vision(t->name) && !gq->present) {
            NPG_TRY(set_vision(it, o));
            p->n_float++;
            continue;
        }
        if (it->n_dims != 2 || gq->present) {
            p->n_float++;
            continue;
        }
        it->embedding = is_embedding(t->name);
        switch (o->format) {
        case NPG_EXPORT_FP32:
        case NPG_EXPORT_FP16:
            it->wtype = o->format == NPG_EXPORT_FP32 ? NPG_W_F32 : NPG_W_F16;
            it->kind = it->wtype == float_wtype(t->dtype) ? NPG_EXPORT_COPY : NPG_EXPORT_CONVERT;
            break;
        case NPG_EXPORT_INT8:
            it->wtype = NPG_W_Q8_CW;
            it->kind = NPG_EXPORT_CONVERT;
            break;
        case NPG_EXPORT_INT4:
        case NPG_EXPORT_NF4:
            it->eligible4 = !it->embedding || o->all_layers;
            if (it->eligible4)
                p->weights_eligible += (uint64_t)(it->shape[0] * it->shape[1]);
            else
                set_backup(it, o);
            break;
        }
    }
    if (four_bit && !gq->present) {
        if (o->ratio >= 1.0f) {
            for (size_t i = 0; i < p->n; i++) {
                npg_export_item *it = &p->items[i];
                if (!it->eligible4)
                    continue;
                it->eligible4 = false;
                if (!set_4bit(it, o, group, p))
                    set_backup(it, o);
            }
        } else {
            NPG_TRY(mixed_precision(p, o, group, calib));
        }
    }
    for (size_t i = 0; i < p->n; i++) {
        const npg_export_item *it = &p->items[i];
        bool q4 = it->wtype == NPG_W_Q4_CW || it->wtype == NPG_W_Q4_G || it->wtype == NPG_W_NF4_CW;
        if (q4 && it->kind != NPG_EXPORT_GPTQ) {
            p->n_4bit++;
            p->weights_4bit += (uint64_t)(it->shape[0] * it->shape[1]);
        } else if (it->n_dims == 2 && four_bit && !gq->present) {
            p->n_backup++;
        }
    }
    return NPG_OK;
}
