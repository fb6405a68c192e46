/* gptq.c — GPTQ layers repacked bit-exactly into Q4_G / Q4_CW (conventions in gptq.h). */
#include "compress/gptq.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "core/half.h"
#include "core/json.h"
#include "weights/weights.h"

static npg_status parse_qconfig(const cJSON *q, const char *what, npg_gptq_config *out) {
    const char *method = npg_json_get_string(q, "quant_method");
    if (method && strcmp(method, "gptq") != 0)
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: quant_method '%s' is not supported (pre-quantized checkpoints must be GPTQ)",
                        what, method);
    double v = 0;
    out->present = true;
    out->bits = npg_json_get_number(q, "bits", &v) ? (int64_t)v : 0;
    out->group_size = npg_json_get_number(q, "group_size", &v) ? (int64_t)v : -1;
    out->desc_act = false;
    out->sym = true;
    npg_json_get_bool(q, "desc_act", &out->desc_act);
    npg_json_get_bool(q, "sym", &out->sym);
    const char *fmt = npg_json_get_string(q, "checkpoint_format");
    out->v2 = fmt && strcmp(fmt, "gptq_v2") == 0;
    if (out->bits != 4)
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: GPTQ bits = %lld; npugen exports 4-bit GPTQ checkpoints only", what,
                        (long long)out->bits);
    if (out->group_size == 0 || out->group_size < -1)
        return npg_fail(NPG_ERR_FORMAT, "%s: GPTQ group_size = %lld (expected -1 or a positive size)", what,
                        (long long)out->group_size);
    return NPG_OK;
}

npg_status npg_gptq_config_load(const char *dir, npg_gptq_config *out) {
    memset(out, 0, sizeof *out);
    char *path = npg_path_join(dir, "config.json");
    NPG_CHECK_ALLOC(path);
    cJSON *root = NULL;
    npg_status st = npg_path_exists(path) ? npg_json_parse_file(path, &root) : NPG_OK;
    if (st == NPG_OK && root) {
        const cJSON *q = npg_json_get(root, "quantization_config");
        if (cJSON_IsObject(q)) {
            snprintf(out->source, sizeof out->source, "config.json");
            st = parse_qconfig(q, path, out);
        }
    }
    cJSON_Delete(root);
    free(path);
    if (st != NPG_OK || out->present)
        return st;
    path = npg_path_join(dir, "quantize_config.json");
    NPG_CHECK_ALLOC(path);
    if (npg_path_exists(path)) {
        st = npg_json_parse_file(path, &root);
        if (st == NPG_OK) {
            snprintf(out->source, sizeof out->source, "quantize_config.json");
            st = parse_qconfig(root, path, out);
        }
        cJSON_Delete(root);
    }
    free(path);
    return st;
}

static int32_t i32_at(const npg_tensor_info *t, int64_t i) {
    int32_t v;
    memcpy(&v, t->data + 4 * i, 4);
    return v;
}

static float scale_at(const npg_tensor_info *t, int64_t i) {
    if (t->dtype == NPG_DT_F32) {
        float f;
        memcpy(&f, t->data + 4 * i, 4);
        return f;
    }
    uint16_t h;
    memcpy(&h, t->data + 2 * i, 2);
    return t->dtype == NPG_DT_F16 ? npg_f16_to_f32(h) : npg_bf16_to_f32(h);
}

static int64_t gcd64(int64_t a, int64_t b) {
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static npg_status need(const npg_tensor_store *ts, const char *prefix, const char *part, bool required,
                       const npg_tensor_info **out) {
    char name[1200];
    snprintf(name, sizeof name, "%s%s", prefix, part);
    *out = npg_tensor_store_find(ts, name);
    if (!*out && required)
        return npg_fail(NPG_ERR_NOT_FOUND, "GPTQ layer %s: tensor '%s' is missing", prefix, name);
    return NPG_OK;
}

npg_status npg_gptq_plan_layer(const npg_gptq_config *c, const npg_tensor_store *ts, const char *prefix,
                               npg_export_item *it) {
    NPG_TRY(need(ts, prefix, "qweight", true, &it->qweight));
    NPG_TRY(need(ts, prefix, "qzeros", true, &it->qzeros));
    NPG_TRY(need(ts, prefix, "scales", true, &it->scales));
    NPG_TRY(need(ts, prefix, "g_idx", false, &it->g_idx));
    const npg_tensor_info *qw = it->qweight, *qz = it->qzeros, *sc = it->scales, *gi = it->g_idx;
    if (qw->dtype != NPG_DT_I32 || qw->n_dims != 2 || qz->dtype != NPG_DT_I32 || qz->n_dims != 2 || sc->n_dims != 2 ||
        (sc->dtype != NPG_DT_F16 && sc->dtype != NPG_DT_F32 && sc->dtype != NPG_DT_BF16) ||
        (gi && (gi->dtype != NPG_DT_I32 || gi->n_dims != 1)))
        return npg_fail(NPG_ERR_FORMAT,
                        "GPTQ layer %s: expected int32 qweight [K/8, N], int32 qzeros [G, N/8], float scales [G, N] and "
                        "int32 g_idx [K]",
                        prefix);
    int64_t K = qw->shape[0] * 8, N = qw->shape[1], G = sc->shape[0];
    if (sc->shape[1] != N || qz->shape[0] != G || qz->shape[1] * 8 != N || G < 1 || (gi && gi->shape[0] != K))
        return npg_fail(NPG_ERR_FORMAT,
                        "GPTQ layer %s: shapes disagree (qweight [%lld, %lld], qzeros [%lld, %lld], scales [%lld, %lld]%s)",
                        prefix, (long long)qw->shape[0], (long long)qw->shape[1], (long long)qz->shape[0],
                        (long long)qz->shape[1], (long long)sc->shape[0], (long long)sc->shape[1],
                        gi ? ", g_idx present" : "");
    int64_t gs = c->group_size == -1 ? K : c->group_size;
    if (!gi && (K % gs != 0 || K / gs != G))
        return npg_fail(NPG_ERR_FORMAT, "GPTQ layer %s: %lld groups of scales for K = %lld and group_size %lld (%s)", prefix,
                        (long long)G, (long long)K, (long long)c->group_size, c->source);
    /* zeros: every one must be 8 (symmetric) */
    for (int64_t g = 0; g < G; g++)
        for (int64_t n = 0; n < N; n++) {
            uint32_t word = (uint32_t)i32_at(qz, g * (N / 8) + n / 8);
            int64_t z = (int64_t)((word >> (4 * (n % 8))) & 15u) + (c->v2 ? 0 : 1);
            if (z != 8)
                return npg_fail(NPG_ERR_UNSUPPORTED,
                                "GPTQ layer %s: zero point %lld at group %lld, output %lld — asymmetric 4-bit weights are "
                                "not supported (symmetric GPTQ has zero 8%s)",
                                prefix, (long long)z, (long long)g, (long long)n,
                                c->v2 ? "" : "; qzeros stores zero - 1 in this checkpoint format");
        }
    /* the coarsest exact contiguous grouping of g_idx */
    int64_t run = K;
    for (int64_t k = 0; k < K; k++) {
        int64_t g = gi ? i32_at(gi, k) : k / gs;
        if (g < 0 || g >= G)
            return npg_fail(NPG_ERR_FORMAT, "GPTQ layer %s: g_idx[%lld] = %lld is outside [0, %lld)", prefix, (long long)k,
                            (long long)g, (long long)G);
        if (k > 0 && g != (gi ? i32_at(gi, k - 1) : (k - 1) / gs))
            run = gcd64(run, k);
    }
    it->kind = NPG_EXPORT_GPTQ;
    it->n_dims = 2;
    it->shape[0] = N;
    it->shape[1] = K;
    it->wtype = run == K ? NPG_W_Q4_CW : NPG_W_Q4_G;
    it->group_size = run == K ? 0 : run;
    return NPG_OK;
}

npg_status npg_gptq_write_layer(const npg_export_item *it, npgw_writer *w) {
    const npg_tensor_info *qw = it->qweight, *sc = it->scales, *gi = it->g_idx;
    int64_t N = it->shape[0], K = it->shape[1], G = sc->shape[0];
    int64_t run = it->wtype == NPG_W_Q4_G ? it->group_size : K;
    int64_t gs = K / G; /* only used without g_idx, where K % G == 0 was checked */
    size_t rb = npg_quant_row_bytes(it->wtype, K);
    enum { CHUNK = 64 }; /* output rows per pass: qweight rows are read 64 columns at a time */
    uint8_t *rows = malloc(rb * CHUNK);
    float *scales = malloc((size_t)(N * (K / run)) * sizeof(float));
    if (!rows || !scales) {
        free(rows);
        free(scales);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory repacking GPTQ layer %s", it->name);
    }
    npg_status st = NPG_OK;
    for (int64_t n0 = 0; n0 < N && st == NPG_OK; n0 += CHUNK) {
        int64_t nn = N - n0 < CHUNK ? N - n0 : CHUNK;
        memset(rows, 0, rb * CHUNK);
        for (int64_t r = 0; r < nn; r++)
            for (int64_t c = K; c < npg_quant_row_elems(it->wtype, K); c++) /* padding holds the code of 0 */
                rows[r * (int64_t)rb + (c / 128) * 64 + (c % 64)] |= (uint8_t)((c % 128) < 64 ? 8u : 8u << 4);
        for (int64_t i = 0; i < K / 8; i++)
            for (int64_t r = 0; r < nn; r++) {
                uint32_t word = (uint32_t)i32_at(qw, i * N + n0 + r);
                uint8_t *row = rows + r * (int64_t)rb;
                for (int j = 0; j < 8; j++) {
                    int64_t col = i * 8 + j;
                    unsigned code = (word >> (4 * j)) & 15u;
                    uint8_t *b = &row[(col / 128) * 64 + (col % 64)];
                    *b |= (uint8_t)((col % 128) < 64 ? code : code << 4);
                }
            }
        st = npgw_writer_write(w, rows, rb * (size_t)nn);
    }
    for (int64_t n = 0; n < N; n++)
        for (int64_t b = 0; b < K / run; b++) {
            int64_t k = b * run;
            int64_t g = gi ? i32_at(gi, k) : k / gs;
            scales[n * (K / run) + b] = scale_at(sc, g * N + n);
        }
    if (st == NPG_OK)
        st = npgw_writer_write(w, scales, (size_t)(N * (K / run)) * sizeof(float));
    free(rows);
    free(scales);
    return st;
}
