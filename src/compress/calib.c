/* calib.c — runs the float model over the calibration text and gathers each linear layer's input
 * statistics (convention in calib.h). */
#include "compress/calib.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compress/export.h"
#include "core/error.h"
#include "core/file.h"
#include "core/threadpool.h"
#include "core/timer.h"
#include "models/model.h"

static const npg_tensor_role name_roles[NPG_CN_COUNT] = {NPG_TENSOR_WQ,     NPG_TENSOR_WK,        NPG_TENSOR_WV,
                                                         NPG_TENSOR_WO,     NPG_TENSOR_W_GATE,    NPG_TENSOR_W_UP,
                                                         NPG_TENSOR_W_DOWN, NPG_TENSOR_ATTN_NORM, NPG_TENSOR_FFN_NORM};

static const int name_slot[NPG_CN_COUNT] = {
    NPG_SLOT_ATTN, NPG_SLOT_ATTN, NPG_SLOT_ATTN, NPG_SLOT_O, NPG_SLOT_FFN, NPG_SLOT_FFN, NPG_SLOT_DOWN, -1, -1};

void npg_calib_free(npg_calib *c) {
    if (!c)
        return;
    for (int64_t i = 0; c->slots && i < c->n_layers * NPG_SLOT_COUNT; i++) {
        npg_calib_slot *s = &c->slots[i];
        free(s->sum);
        free(s->sumsq);
        free(s->sum_abs);
        free(s->max_abs);
        free(s->hessian);
        free(s->rows);
    }
    free(c->slots);
    free(c->names);
    free(c);
}

npg_calib_slot *npg_calib_find(npg_calib *c, const char *name, int64_t *layer) {
    for (int64_t l = 0; l < c->n_layers; l++)
        for (int r = 0; r < NPG_CN_COUNT; r++)
            if (name_slot[r] >= 0 && c->names[l][r][0] && strcmp(c->names[l][r], name) == 0) {
                if (layer)
                    *layer = l;
                return &c->slots[l * NPG_SLOT_COUNT + name_slot[r]];
            }
    return NULL;
}

void npg_calib_slot_divide(npg_calib_slot *s, const float *scale) {
    int64_t k = s->k;
    for (int64_t c = 0; c < k; c++) {
        double d = (double)scale[c];
        s->sum[c] /= d;
        s->sum_abs[c] /= fabs(d);
        s->sumsq[c] /= d * d;
        s->max_abs[c] /= fabsf(scale[c]);
    }
    if (s->hessian)
        for (int64_t i = 0; i < k; i++)
            for (int64_t j = 0; j < k; j++)
                s->hessian[i * k + j] /= (double)scale[i] * (double)scale[j];
    for (int64_t r = 0; r < s->n_rows; r++)
        for (int64_t c = 0; c < k; c++)
            s->rows[r * k + c] /= scale[c];
}

typedef struct tap_ctx {
    npg_calib *c;
    uint64_t stride; /* keep every stride-th token row */
} tap_ctx;

static void on_linear(void *user, int64_t layer, npg_tensor_role role, const float *x, int64_t n, int64_t k) {
    tap_ctx *t = user;
    int slot = role == NPG_TENSOR_WQ       ? NPG_SLOT_ATTN
               : role == NPG_TENSOR_WO     ? NPG_SLOT_O
               : role == NPG_TENSOR_W_GATE ? NPG_SLOT_FFN
                                           : NPG_SLOT_DOWN;
    npg_calib_slot *s = &t->c->slots[layer * NPG_SLOT_COUNT + slot];
    if (s->k != k)
        return; /* never for the families calibrated (shapes come from the same config) */
    for (int64_t r = 0; r < n; r++) {
        const float *xr = x + r * k;
        for (int64_t c = 0; c < k; c++) {
            double v = (double)xr[c];
            s->sum[c] += v;
            s->sumsq[c] += v * v;
            s->sum_abs[c] += fabs(v);
            s->max_abs[c] = fabsf(xr[c]) > s->max_abs[c] ? fabsf(xr[c]) : s->max_abs[c];
        }
        if (s->hessian)
            for (int64_t i = 0; i < k; i++) {
                double xi = (double)xr[i];
                double *h = s->hessian + i * k;
                for (int64_t j = i; j < k; j++)
                    h[j] += xi * (double)xr[j];
            }
        if (s->count % t->stride == 0 && s->n_rows < s->cap)
            memcpy(s->rows + (s->n_rows++) * k, xr, (size_t)k * sizeof(float));
        s->count++;
    }
}

/* Blank-line-separated pieces of text: [start, end) offsets, at most max pieces. */
static size_t split_samples(const char *text, size_t len, size_t *starts, size_t *ends, size_t max) {
    size_t n = 0, i = 0;
    while (i < len && n < max) {
        while (i < len && isspace((unsigned char)text[i]))
            i++;
        if (i >= len)
            break;
        size_t s = i;
        /* a blank line: "\n" followed by only spaces/tabs/\r and another "\n" */
        size_t e = len;
        for (size_t j = i; j < len; j++) {
            if (text[j] != '\n')
                continue;
            size_t m = j + 1;
            while (m < len && (text[m] == ' ' || text[m] == '\t' || text[m] == '\r'))
                m++;
            if (m < len && text[m] == '\n') {
                e = j;
                break;
            }
        }
        starts[n] = s;
        ends[n] = e;
        n++;
        i = e;
    }
    return n;
}

static npg_status alloc_slots(npg_calib *c, const npg_model_config *cfg, bool hessian) {
    c->n_layers = cfg->n_layers;
    c->norm_plus_one = cfg->norm_plus_one;
    c->head_dim = cfg->head_dim;
    c->n_rep = cfg->n_kv_heads > 0 ? cfg->n_heads / cfg->n_kv_heads : 1;
    c->slots = calloc((size_t)(c->n_layers * NPG_SLOT_COUNT), sizeof *c->slots);
    c->names = calloc((size_t)c->n_layers, sizeof *c->names);
    NPG_CHECK_ALLOC(c->slots && c->names ? (void *)c : NULL);
    int64_t ks[NPG_SLOT_COUNT] = {cfg->hidden, cfg->n_heads * cfg->head_dim, cfg->hidden, cfg->ffn};
    for (int64_t l = 0; l < c->n_layers; l++) {
        for (int r = 0; r < NPG_CN_COUNT; r++)
            if (npg_tensor_needed(cfg, name_roles[r]) == NPG_TENSOR_ABSENT ||
                npg_tensor_name(cfg, name_roles[r], l, c->names[l][r], sizeof c->names[l][r]) != NPG_OK)
                c->names[l][r][0] = '\0';
        for (int sl = 0; sl < NPG_SLOT_COUNT; sl++) {
            npg_calib_slot *s = &c->slots[l * NPG_SLOT_COUNT + sl];
            int64_t k = ks[sl];
            s->k = k;
            s->cap = NPG_CALIB_ROWS;
            s->sum = calloc((size_t)k, sizeof(double));
            s->sumsq = calloc((size_t)k, sizeof(double));
            s->sum_abs = calloc((size_t)k, sizeof(double));
            s->max_abs = calloc((size_t)k, sizeof(float));
            s->rows = calloc((size_t)(s->cap * k), sizeof(float));
            s->hessian = hessian ? calloc((size_t)(k * k), sizeof(double)) : NULL;
            if (!s->sum || !s->sumsq || !s->sum_abs || !s->max_abs || !s->rows || (hessian && !s->hessian))
                return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for calibration statistics (layer %lld)",
                                (long long)l);
        }
    }
    return NPG_OK;
}

typedef struct window {
    size_t off, n; /* into the token buffer */
} window;

/* Tokenizes the samples into windows of at most ctx tokens; *ids holds them back to back. */
static npg_status make_windows(const char *src_dir, const npg_export_options *o, int64_t ctx, int32_t **ids_out,
                               window **win_out, size_t *n_win, uint64_t *n_tok) {
    char *text = NULL;
    size_t len = 0;
    NPG_TRY(npg_read_file(o->dataset, &text, &len));
    size_t want = o->num_samples > 0 ? (size_t)o->num_samples : 128;
    size_t *st = malloc(want * sizeof *st), *en = malloc(want * sizeof *en);
    npg_tokenizer *tok = NULL;
    npg_status s = st && en ? npg_tokenizer_create(src_dir, &tok) : npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
    size_t n_pieces = s == NPG_OK ? split_samples(text, len, st, en, want) : 0;
    if (s == NPG_OK && n_pieces == 0)
        s = npg_fail(NPG_ERR_INVALID_ARGUMENT, "--dataset %s: no text (the file is empty or blank)", o->dataset);
    int32_t *all = NULL;
    window *w = NULL;
    size_t n_all = 0, nw = 0;
    int32_t bos = s == NPG_OK ? npg_tokenizer_bos_token_id(tok) : -1;
    for (size_t p = 0; p < n_pieces && s == NPG_OK && nw < want; p++) {
        int32_t *ids = NULL;
        size_t n = 0;
        s = npg_tokenizer_encode_n(tok, text + st[p], en[p] - st[p], true, &ids, &n);
        if (s != NPG_OK) {
            s = npg_fail_context(s, "--dataset %s (sample %zu)", o->dataset, p + 1);
            break;
        }
        int32_t *na = realloc(all, (n_all + n + 1) * sizeof *na);
        window *nwp = realloc(w, (nw + n / (size_t)ctx + 2) * sizeof *nwp);
        if (na)
            all = na;
        if (nwp)
            w = nwp;
        if (!na || !nwp) {
            npg_free(ids);
            s = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory tokenizing the dataset");
            break;
        }
        memcpy(all + n_all, ids, n * sizeof *ids);
        npg_free(ids);
        for (size_t off = 0; off < n && nw < want; off += (size_t)ctx) {
            size_t m = n - off < (size_t)ctx ? n - off : (size_t)ctx;
            if (off > 0 && bos >= 0)
                all[n_all + off] = bos;
            w[nw++] = (window){n_all + off, m};
            *n_tok += m;
        }
        n_all += n;
    }
    npg_tokenizer_free(tok);
    free(text);
    free(st);
    free(en);
    if (s != NPG_OK) {
        free(all);
        free(w);
        return s;
    }
    *ids_out = all;
    *win_out = w;
    *n_win = nw;
    return NPG_OK;
}

npg_status npg_calib_run(const char *src_dir, const npg_export_options *o, bool hessian, npg_calib **out) {
    *out = NULL;
    npg_calib *c = calloc(1, sizeof *c);
    NPG_CHECK_ALLOC(c);
    npg_model *m = NULL;
    npg_forward_state *fs = NULL;
    npg_threadpool *pool = NULL;
    int32_t *ids = NULL;
    window *w = NULL;
    size_t nw = 0;
    npg_status st = npg_model_load(src_dir, &m);
    int64_t ctx = 0;
    if (st == NPG_OK) {
        ctx = m->cfg.max_pos < 512 ? m->cfg.max_pos : 512;
        st = alloc_slots(c, &m->cfg, hessian);
    }
    if (st == NPG_OK)
        st = make_windows(src_dir, o, ctx, &ids, &w, &nw, &c->n_tokens);
    if (st == NPG_OK)
        st = npg_threadpool_create(0, &pool);
    if (st == NPG_OK)
        st = npg_forward_state_create(m, ctx, ctx, pool, npg_isa_detect(), &fs);
    tap_ctx t = {c, c->n_tokens / NPG_CALIB_ROWS + 1};
    if (st == NPG_OK) {
        fs->linear_tap = on_linear;
        fs->linear_tap_user = &t;
    }
    double t0 = npg_now_ms();
    for (size_t i = 0; i < nw && st == NPG_OK; i++) {
        st = npg_model_forward(m, fs, ids + w[i].off, (int64_t)w[i].n, 0, false);
        if (st != NPG_OK)
            st = npg_fail_context(st, "--dataset %s: calibration sample %zu", o->dataset, i + 1);
        if (o->progress) {
            npg_export_progress pr = {"calibration", i + 1, nw, i + 1, nw, npg_now_ms() - t0};
            o->progress(o->progress_user, &pr);
        }
    }
    c->n_samples = nw;
    /* mirror the Hessians' upper triangles */
    for (int64_t i = 0; st == NPG_OK && hessian && i < c->n_layers * NPG_SLOT_COUNT; i++) {
        npg_calib_slot *s = &c->slots[i];
        for (int64_t a = 0; a < s->k; a++)
            for (int64_t b = a + 1; b < s->k; b++)
                s->hessian[b * s->k + a] = s->hessian[a * s->k + b];
    }
    if (st == NPG_OK)
        npg_export_log(o, NPG_LOG_INFO, "calibration: %zu sample(s), %llu tokens from %s", nw,
                       (unsigned long long)c->n_tokens, o->dataset);
    npg_forward_state_free(fs);
    npg_threadpool_free(pool);
    npg_model_free(m);
    free(ids);
    free(w);
    if (st != NPG_OK) {
        npg_calib_free(c);
        return st;
    }
    *out = c;
    return NPG_OK;
}
