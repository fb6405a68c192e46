/* dataaware.c — runs the data-aware steps of `npugen export --dataset` over the plan: AWQ first (it
 * changes the float weights and the calibration statistics), then per 4-bit matrix GPTQ or scale
 * estimation (meanings in dataaware.h). */
#include "compress/dataaware.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "weights/weights.h"

npg_status npg_dataaware_load(npg_export_item *it) {
    if (it->override)
        return NPG_OK;
    int64_t count = it->n_dims == 2 ? it->shape[0] * it->shape[1] : it->shape[0];
    it->override = malloc((size_t)count * sizeof(float));
    if (!it->override)
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory loading '%s'", it->name);
    if (it->n_dims == 2)
        npg_export_read_rows(it->src, 0, it->shape[0], it->override);
    else
        npg_export_read_rows(it->src, 0, 1, it->override); /* a vector: all of it */
    return NPG_OK;
}

npg_status npg_fake_quant(npg_wtype t, int64_t group, const float *w, int64_t n, int64_t k, float *out) {
    const npg_wtype_traits *tr = npg_wtype_traits_of(t);
    if (!tr || !tr->quantized) {
        memcpy(out, w, (size_t)(n * k) * sizeof(float));
        return NPG_OK;
    }
    int64_t ns = npg_quant_scale_count(t, n, k, group);
    void *data = malloc(npg_quant_data_bytes(t, n, k));
    float *scales = malloc((size_t)ns * sizeof(float));
    npg_status st = data && scales ? npg_quantize_rows(t, w, n, k, group, data, scales)
                                   : npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory (fake quantization)");
    if (st == NPG_OK) {
        npg_weight qw = {.type = t, .n = n, .k = k, .group_size = group, .data = data, .scales = scales};
        for (int64_t r = 0; r < n; r++)
            npg_dequantize_row(&qw, r, out + r * k);
    }
    free(data);
    free(scales);
    return st;
}

static bool is_4bit(const npg_export_item *it) {
    return it->kind == NPG_EXPORT_CONVERT &&
           (it->wtype == NPG_W_Q4_CW || it->wtype == NPG_W_Q4_G || it->wtype == NPG_W_NF4_CW);
}

static npg_export_item *find_item(npg_export_plan *p, const char *name) {
    for (size_t i = 0; name[0] && i < p->n; i++)
        if (strcmp(p->items[i].name, name) == 0)
            return &p->items[i];
    return NULL;
}

typedef struct da_state {
    npg_export_plan *p;
    const npg_export_options *o;
    size_t done, total; /* matrices through GPTQ / scale estimation */
    npg_gptq_factor fac; /* GPTQ: the factor of the slot last used (shared by its matrices) */
} da_state;

/* A step of layer l; layer_frac: how far through the layer (after its calibration) the pass is. */
static void report(const da_state *d, const npg_calib *c, const char *phase, const char *unit, size_t done,
                   size_t total, int64_t l, double layer_frac) {
    npg_calib_progress(c, d->o, phase, unit, done, total, l, layer_frac);
}

/* Layer l of the stream: AWQ on its groups, then GPTQ or scale estimation per 4-bit matrix; every 4-bit
 * matrix of the layer leaves with its final codes (AWQ alone: RTN's of the scaled values), so no f32
 * copy outlives its layer, and the source pages read are dropped. */
static npg_status compress_layer(void *user, npg_calib *c, int64_t l) {
    da_state *d = user;
    const npg_export_options *o = d->o;
    if (o->awq) {
        NPG_TRY(npg_awq_layer(d->p, c, o, l));
        report(d, c, "awq", "layers", (size_t)l + 1, (size_t)c->n_layers, l, 0.4);
    }
    const char *phase = o->gptq ? "gptq" : "scale-estimation";
    for (int r = 0; r < NPG_CN_COUNT; r++) {
        npg_export_item *it = find_item(d->p, c->names[l][r]);
        int64_t layer = -1;
        npg_calib_slot *s = it && is_4bit(it) ? npg_calib_find(c, it->name, &layer) : NULL;
        if (!s || layer != l)
            continue;
        npg_status st = NPG_OK;
        if (o->gptq || o->scale_estimation) {
            if (o->gptq && d->fac.slot != s)
                st = npg_gptq_factor_make(s, !o->gptq_natural_order, c->compute, &d->fac);
            if (st == NPG_OK)
                st = o->gptq ? npg_gptq_quantize(it, s, &d->fac, c->compute, !o->gptq_natural_order,
                                                   o->scale_estimation)
                             : npg_scale_estimation(it, s, c->compute);
            d->done++;
        } else if (it->override) {
            st = npg_rtn_codes(it);
        }
        if (st != NPG_OK)
            return npg_fail_context(st, "%s of '%s'", o->gptq || o->scale_estimation ? phase : "awq", it->name);
        free(it->override); /* the codes replace it */
        it->override = NULL;
        npg_export_release_pages(it->src->data, it->src->n_bytes);
        if (o->gptq || o->scale_estimation)
            report(d, c, phase, "matrices", d->done, d->total, l,
                   (o->awq ? 0.4 : 0.1) + (o->awq ? 0.6 : 0.9) * (double)(r + 1) / (double)(NPG_CN_DOWN + 1));
    }
    npg_gptq_factor_free(&d->fac); /* the slots are freed with their layer */
    return NPG_OK;
}

npg_status npg_dataaware_stored(npg_export_plan *p, const char *name, float *out, int64_t count) {
    npg_export_item *it = find_item(p, name);
    int64_t n = it && it->n_dims == 2 ? it->shape[0] : 1, k = it ? it->shape[it->n_dims - 1] : 0;
    if (!it || n * k != count || it->kind == NPG_EXPORT_GPTQ)
        return npg_fail(NPG_ERR_INTERNAL, "data-aware export: no stored values of %lld for '%s'", (long long)count,
                        name);
    if (it->codes) {
        int64_t g = it->wtype == NPG_W_Q4_G ? it->group_size : k, per = k / g;
        for (int64_t r = 0; r < n; r++)
            for (int64_t c = 0; c < k; c++) {
                unsigned code = it->codes[r * k + c];
                float sc = it->qscales[r * per + c / g];
                out[r * k + c] = it->wtype == NPG_W_NF4_CW ? npg_nf4_values[code] * sc : ((float)code - 8.0f) * sc;
            }
        return NPG_OK;
    }
    if (it->override)
        memcpy(out, it->override, (size_t)count * sizeof(float));
    else
        npg_export_read_rows(it->src, 0, n, out);
    const npg_wtype_traits *tr = npg_wtype_traits_of(it->wtype);
    if (it->kind != NPG_EXPORT_CONVERT || it->n_dims != 2 || !tr || !tr->quantized)
        return NPG_OK;
    float *w = malloc((size_t)count * sizeof(float));
    NPG_CHECK_ALLOC(w);
    memcpy(w, out, (size_t)count * sizeof(float));
    npg_status st = npg_fake_quant(it->wtype, it->group_size, w, n, k, out);
    free(w);
    return st;
}

static npg_status stored_values(void *user, const char *name, float *out, int64_t count) {
    da_state *d = user;
    return npg_dataaware_stored(d->p, name, out, count);
}

npg_status npg_dataaware_apply(npg_export_plan *p, const char *src_dir, const npg_export_options *o) {
    da_state d = {.p = p, .o = o};
    for (size_t i = 0; i < p->n; i++)
        d.total += is_4bit(&p->items[i]) && !p->items[i].embedding;
    npg_calib_layer_ops ops = {compress_layer, stored_values, &d};
    npg_status st = npg_calib_stream(src_dir, o, &ops);
    npg_gptq_factor_free(&d.fac);
    return st;
}
