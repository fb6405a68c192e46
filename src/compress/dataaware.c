/* dataaware.c — runs the data-aware steps of `npugen export --dataset` over the plan: AWQ first (it
 * changes the float weights and the calibration statistics), then per 4-bit matrix GPTQ or scale
 * estimation (meanings in dataaware.h). */
#include "compress/dataaware.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/timer.h"
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

npg_status npg_dataaware_apply(npg_export_plan *p, npg_calib *c, const npg_export_options *o) {
    if (o->awq)
        NPG_TRY(npg_awq_apply(p, c, o));
    if (!o->gptq && !o->scale_estimation)
        return NPG_OK;
    const char *phase = o->gptq ? "gptq" : "scale-estimation";
    size_t total = 0, done = 0;
    for (size_t i = 0; i < p->n; i++)
        total += is_4bit(&p->items[i]) && npg_calib_find(c, p->items[i].name, NULL);
    double t0 = npg_now_ms();
    for (size_t i = 0; i < p->n; i++) {
        npg_export_item *it = &p->items[i];
        npg_calib_slot *s = is_4bit(it) ? npg_calib_find(c, it->name, NULL) : NULL;
        if (!s)
            continue; /* embeddings / lm_head in 4-bit (--all-layers) keep RTN */
        npg_status st =
            o->gptq ? npg_gptq_quantize(it, s, o->gptq_act_order, o->scale_estimation) : npg_scale_estimation(it, s);
        if (st != NPG_OK)
            return npg_fail_context(st, "%s of '%s'", phase, it->name);
        free(it->override); /* the codes replace it */
        it->override = NULL;
        done++;
        if (o->progress) {
            npg_export_progress pr = {phase, done, total, done, total, npg_now_ms() - t0};
            o->progress(o->progress_user, &pr);
        }
    }
    return NPG_OK;
}
