/* calib.c — runs the float model over the calibration text and gathers each linear layer's input
 * statistics (convention in calib.h). */
#include "compress/calib.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compress/dataaware.h"
#include "compress/export.h"
#include "core/error.h"
#include "core/file.h"
#include "core/threadpool.h"
#include "core/timer.h"
#include "models/model.h"
#include "weights/weights.h"

static const npg_tensor_role name_roles[NPG_CN_COUNT] = {NPG_TENSOR_WQ,     NPG_TENSOR_WK,        NPG_TENSOR_WV,
                                                         NPG_TENSOR_WO,     NPG_TENSOR_W_GATE,    NPG_TENSOR_W_UP,
                                                         NPG_TENSOR_W_DOWN, NPG_TENSOR_ATTN_NORM, NPG_TENSOR_FFN_NORM};

static const int name_slot[NPG_CN_COUNT] = {
    NPG_SLOT_ATTN, NPG_SLOT_ATTN, NPG_SLOT_ATTN, NPG_SLOT_O, NPG_SLOT_FFN, NPG_SLOT_FFN, NPG_SLOT_DOWN, -1, -1};

static void slot_free(npg_calib_slot *s) {
    free(s->sum);
    free(s->sumsq);
    free(s->sum_abs);
    free(s->max_abs);
    free(s->hessian);
    free(s->cross);
    free(s->sub_x);
    free(s->sub_xf);
    int64_t k = s->k;
    memset(s, 0, sizeof *s);
    s->k = k;
}

/* products: H (and C with cross); subset: the token rows (and X_f's with cross). */
static npg_status slot_alloc(npg_calib_slot *s, bool products, bool subset, bool cross, uint64_t n_tokens) {
    int64_t k = s->k;
    s->count = 0;
    s->sub_n = 0;
    s->sub_stride = (int64_t)((n_tokens + NPG_CALIB_SUBSET - 1) / NPG_CALIB_SUBSET);
    s->sub_stride = s->sub_stride < 1 ? 1 : s->sub_stride;
    if (subset) {
        s->sub_x = malloc((size_t)(NPG_CALIB_SUBSET * k) * sizeof(float));
        s->sub_xf = cross ? malloc((size_t)(NPG_CALIB_SUBSET * k) * sizeof(float)) : NULL;
        if (!s->sub_x || (cross && !s->sub_xf))
            return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for calibration rows (input size %lld)", (long long)k);
    }
    s->sum = calloc((size_t)k, sizeof(double));
    s->sumsq = calloc((size_t)k, sizeof(double));
    s->sum_abs = calloc((size_t)k, sizeof(double));
    s->max_abs = calloc((size_t)k, sizeof(float));
    s->hessian = products ? calloc((size_t)(k * k), sizeof(double)) : NULL;
    s->cross = products && cross ? calloc((size_t)(k * k), sizeof(double)) : NULL;
    if (!s->sum || !s->sumsq || !s->sum_abs || !s->max_abs || (products && !s->hessian) ||
        (products && cross && !s->cross))
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for calibration statistics (input size %lld)",
                        (long long)k);
    return NPG_OK;
}

void npg_calib_free(npg_calib *c) {
    if (!c)
        return;
    for (int64_t i = 0; c->slots && i < c->n_layers * NPG_SLOT_COUNT; i++)
        slot_free(&c->slots[i]);
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
    for (int64_t i = 0; i < k; i++)
        for (int64_t j = 0; j < k; j++) {
            double d = (double)scale[i] * (double)scale[j];
            if (s->hessian)
                s->hessian[i * k + j] /= d;
            if (s->cross)
                s->cross[i * k + j] /= d;
        }
    for (int64_t r = 0; r < s->sub_n; r++)
        for (int64_t c = 0; c < k; c++) {
            s->sub_x[r * k + c] /= scale[c];
            if (s->sub_xf)
                s->sub_xf[r * k + c] /= scale[c];
        }
}

typedef struct tap_ctx {
    npg_calib *c;
    int64_t layer;                /* streaming: the layer being gathered; -1: every layer */
    bool store;                   /* streaming, float stream: keep the rows in keep[] for the pass after */
    float *keep[NPG_SLOT_COUNT];  /* [ctx, k]: the float model's rows of the current window, per slot */
    float *xt, *yt, *g;           /* scratch: X^T, X_f^T [k, ctx], a product [k, k] */
    npg_compute mm;               /* the products as f32 matmuls (threaded), summed into doubles */
} tap_ctx;

static int slot_of(npg_tensor_role role) {
    return role == NPG_TENSOR_WQ       ? NPG_SLOT_ATTN
           : role == NPG_TENSOR_WO     ? NPG_SLOT_O
           : role == NPG_TENSOR_W_GATE ? NPG_SLOT_FFN
                                       : NPG_SLOT_DOWN;
}

/* dst [k, k] += a^T b for a, b [n, k] given transposed (at, bt [k, n]): one matmul. */
static void add_products(tap_ctx *t, const float *at, const float *bt, int64_t n, int64_t k, double *dst) {
    npg_weight w = {.type = NPG_W_F32, .n = k, .k = n, .data = bt};
    npg_matmul(&t->mm, at, k, &w, t->g);
    for (int64_t i = 0; i < k * k; i++)
        dst[i] += (double)t->g[i];
}

static void transpose(const float *x, int64_t n, int64_t k, float *xt) {
    for (int64_t r = 0; r < n; r++)
        for (int64_t c = 0; c < k; c++)
            xt[c * n + r] = x[r * k + c];
}

static void on_linear(void *user, int64_t layer, npg_tensor_role role, const float *x, int64_t n, int64_t k) {
    tap_ctx *t = user;
    int slot = slot_of(role);
    if (t->layer >= 0 && layer != t->layer)
        return;
    npg_calib_slot *s = &t->c->slots[layer * NPG_SLOT_COUNT + slot];
    if (s->k != k || !s->sum)
        return; /* never for the families calibrated (shapes come from the same config) */
    if (t->store) {
        memcpy(t->keep[slot], x, (size_t)(n * k) * sizeof(float));
        return;
    }
    for (int64_t r = 0; r < n; r++) {
        const float *xr = x + r * k;
        for (int64_t c = 0; c < k; c++) {
            double v = (double)xr[c];
            s->sum[c] += v;
            s->sumsq[c] += v * v;
            s->sum_abs[c] += fabs(v);
            s->max_abs[c] = fabsf(xr[c]) > s->max_abs[c] ? fabsf(xr[c]) : s->max_abs[c];
        }
    }
    for (int64_t r = 0; s->sub_x && r < n; r++) /* the subset: every sub_stride-th token row */
        if ((int64_t)((s->count + (uint64_t)r) % (uint64_t)s->sub_stride) == 0 && s->sub_n < NPG_CALIB_SUBSET) {
            memcpy(s->sub_x + s->sub_n * k, x + r * k, (size_t)k * sizeof(float));
            if (s->sub_xf)
                memcpy(s->sub_xf + s->sub_n * k, t->keep[slot] + r * k, (size_t)k * sizeof(float));
            s->sub_n++;
        }
    s->count += (uint64_t)n;
    if (s->hessian) {
        transpose(x, n, k, t->xt);
        add_products(t, t->xt, t->xt, n, k, s->hessian);
        if (s->cross) {
            transpose(t->keep[slot], n, k, t->yt);
            add_products(t, t->xt, t->yt, n, k, s->cross);
        }
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

/* Names and slot sizes of every layer; the slots' buffers are allocated by the callers (all layers at
 * once for npg_calib_run, one layer at a time for npg_calib_stream). */
static npg_status calib_init(npg_calib *c, const npg_model_config *cfg) {
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
        for (int sl = 0; sl < NPG_SLOT_COUNT; sl++)
            c->slots[l * NPG_SLOT_COUNT + sl].k = ks[sl];
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

/* The model, its calibration windows, a threadpool and a forward state sized for one window. */
typedef struct calib_env {
    npg_model *m;
    npg_forward_state *fs;
    npg_threadpool *pool;
    int32_t *ids;
    window *w;
    size_t nw;
    int64_t ctx;
} calib_env;

static void env_free(calib_env *e) {
    npg_forward_state_free(e->fs);
    npg_threadpool_free(e->pool);
    npg_model_free(e->m);
    free(e->ids);
    free(e->w);
}

static npg_status env_open(const char *src_dir, const npg_export_options *o, npg_calib *c, calib_env *e) {
    memset(e, 0, sizeof *e);
    NPG_TRY(npg_model_load_lazy(src_dir, &e->m)); /* layer by layer: pages come in as each layer runs */
    e->ctx = e->m->cfg.max_pos < 512 ? e->m->cfg.max_pos : 512;
    NPG_TRY(calib_init(c, &e->m->cfg));
    NPG_TRY(make_windows(src_dir, o, e->ctx, &e->ids, &e->w, &e->nw, &c->n_tokens));
    c->n_samples = e->nw;
    NPG_TRY(npg_threadpool_create(0, &e->pool));
    return npg_forward_state_create(e->m, e->ctx, e->ctx, e->pool, npg_isa_detect(), &e->fs);
}

static void report(const npg_export_options *o, size_t done, size_t total, double t0) {
    if (o->progress) {
        double el = npg_now_ms() - t0;
        npg_export_progress pr = {.phase = "calibration", .tensor = done, .n_tensors = total, .elapsed_ms = el,
                                  .unit = "samples", .eta_ms = npg_export_eta_ms(el, done, total)};
        o->progress(o->progress_user, &pr);
    }
}

void npg_calib_progress(const npg_calib *c, const npg_export_options *o, const char *phase, const char *unit,
                        size_t done, size_t total, int64_t layer, double layer_frac) {
    if (!o->progress)
        return;
    double el = npg_now_ms() - c->t0_ms;
    double f = ((double)layer + layer_frac) / (double)(c->n_layers > 0 ? c->n_layers : 1);
    npg_export_progress pr = {.phase = phase, .tensor = done, .n_tensors = total, .elapsed_ms = el, .unit = unit,
                              .layer = layer + 1, .n_layers = c->n_layers,
                              .eta_ms = f > 0.0 ? el * (1.0 - f) / f : -1.0};
    o->progress(o->progress_user, &pr);
}

npg_status npg_calib_run(const char *src_dir, const npg_export_options *o, npg_calib **out) {
    *out = NULL;
    npg_calib *c = calloc(1, sizeof *c);
    NPG_CHECK_ALLOC(c);
    calib_env e;
    npg_status st = env_open(src_dir, o, c, &e);
    for (int64_t i = 0; st == NPG_OK && i < c->n_layers * NPG_SLOT_COUNT; i++)
        st = slot_alloc(&c->slots[i], false, false, false, 0);
    tap_ctx t = {.c = c, .layer = -1};
    if (st == NPG_OK) {
        e.fs->linear_tap = on_linear;
        e.fs->linear_tap_user = &t;
    }
    double t0 = npg_now_ms();
    for (size_t i = 0; i < e.nw && st == NPG_OK; i++) {
        st = npg_model_forward(e.m, e.fs, e.ids + e.w[i].off, (int64_t)e.w[i].n, 0, false);
        if (st != NPG_OK)
            st = npg_fail_context(st, "--dataset %s: calibration sample %zu", o->dataset, i + 1);
        report(o, i + 1, e.nw, t0);
    }
    if (st == NPG_OK)
        npg_export_log(o, NPG_LOG_INFO, "calibration: %zu sample(s), %llu tokens from %s", e.nw,
                       (unsigned long long)c->n_tokens, o->dataset);
    env_free(&e);
    if (st != NPG_OK) {
        npg_calib_free(c);
        return st;
    }
    *out = c;
    return NPG_OK;
}

/* Matrices and norms of one layer whose stored values replace the float ones for the pass that makes
 * the next layer's inputs (the norms: AWQ divides them). */
static const npg_tensor_role swap_roles[] = {NPG_TENSOR_WQ,     NPG_TENSOR_WK,        NPG_TENSOR_WV,
                                             NPG_TENSOR_WQKV,   NPG_TENSOR_WO,        NPG_TENSOR_W_GATE,
                                             NPG_TENSOR_W_UP,   NPG_TENSOR_W_GATE_UP, NPG_TENSOR_W_DOWN,
                                             NPG_TENSOR_ATTN_NORM, NPG_TENSOR_FFN_NORM};
enum { N_SWAP = sizeof swap_roles / sizeof swap_roles[0] };

typedef struct layer_swap {
    npg_weight saved_w[N_SWAP];
    float *saved_v[N_SWAP];
    float *values[N_SWAP];
} layer_swap;

/* Puts the stored values of layer l into the model (f32 matrices), keeping the float ones to restore. */
static npg_status swap_in(npg_model *m, int64_t l, const npg_calib_layer_ops *ops, layer_swap *sw) {
    for (int i = 0; i < N_SWAP; i++) {
        npg_tensor_role r = swap_roles[i];
        char name[256];
        if (npg_tensor_needed(&m->cfg, r) == NPG_TENSOR_ABSENT || npg_tensor_name(&m->cfg, r, l, name, sizeof name) != NPG_OK)
            continue;
        npg_weight *w = npg_tensor_role_is_matrix(r) ? npg_model_matrix(m, r, l) : NULL;
        float **v = w ? NULL : npg_model_vector(m, r, l);
        if ((w && !w->data) || (!w && (!v || !*v)))
            continue;
        int64_t count = w ? w->n * w->k : m->cfg.hidden;
        float *vals = malloc((size_t)count * sizeof(float));
        NPG_CHECK_ALLOC(vals);
        npg_status st = ops->stored(ops->user, name, vals, count);
        if (st != NPG_OK) {
            free(vals);
            return st;
        }
        sw->values[i] = vals;
        if (w) {
            sw->saved_w[i] = *w;
            *w = (npg_weight){.type = NPG_W_F32, .n = w->n, .k = w->k, .data = sw->values[i]};
        } else {
            sw->saved_v[i] = *v;
            *v = sw->values[i];
        }
    }
    return NPG_OK;
}

/* Whether w's storage is one of the model's own heap copies (never handed to madvise). */
static bool model_owned(const npg_model *m, const void *p) {
    for (size_t i = 0; i < m->n_owned; i++)
        if ((const void *)m->owned[i] == p)
            return true;
    return false;
}

/* Lets the kernel drop the mapped pages of every matrix of the model (a container source is mapped
 * with MAP_POPULATE, and a layer once run keeps its pages): each layer's pages come back when it runs
 * and leave again after (swap_out). */
static void release_model_pages(npg_model *m) {
    for (int r = 0; r < NPG_TENSOR_ROLE_COUNT; r++) {
        if (!npg_tensor_role_is_matrix((npg_tensor_role)r))
            continue;
        int64_t n_l = npg_tensor_role_per_layer((npg_tensor_role)r) ? m->cfg.n_layers : 1;
        for (int64_t l = 0; l < n_l; l++) {
            const npg_weight *w = npg_model_matrix(m, (npg_tensor_role)r, l);
            if (w && w->data && !npg_wtype_traits_of(w->type)->quantized && !model_owned(m, w->data))
                npg_export_release_pages(w->data, npg_quant_data_bytes(w->type, w->n, w->k));
        }
    }
}

/* Restores the float weights of layer l and lets the kernel drop their mapped pages (the layer is not
 * run again, so the source model's resident size stays near one layer). */
static void swap_out(npg_model *m, int64_t l, layer_swap *sw) {
    for (int i = 0; i < N_SWAP; i++) {
        if (!sw->values[i])
            continue;
        npg_tensor_role r = swap_roles[i];
        if (npg_tensor_role_is_matrix(r)) {
            npg_weight *w = npg_model_matrix(m, r, l);
            *w = sw->saved_w[i];
            if (!npg_wtype_traits_of(w->type)->quantized && !model_owned(m, w->data))
                npg_export_release_pages(w->data, npg_quant_data_bytes(w->type, w->n, w->k));
        } else {
            *npg_model_vector(m, r, l) = sw->saved_v[i];
        }
        free(sw->values[i]);
        sw->values[i] = NULL;
    }
}

npg_status npg_calib_stream(const char *src_dir, const npg_export_options *o, const npg_calib_layer_ops *ops) {
    npg_calib *c = calloc(1, sizeof *c);
    NPG_CHECK_ALLOC(c);
    calib_env e;
    npg_status st = env_open(src_dir, o, c, &e);
    if (st == NPG_OK)
        release_model_pages(e.m);
    int64_t H = st == NPG_OK ? e.m->cfg.hidden : 0, max_k = 0;
    for (int sl = 0; st == NPG_OK && sl < NPG_SLOT_COUNT; sl++)
        max_k = c->slots[sl].k > max_k ? c->slots[sl].k : max_k;
    size_t n_tok = (size_t)c->n_tokens;
    /* C (the float model's inputs) for AWQ's and scale estimation's searches; GPTQ uses H alone, its
     * scales too (aiming its w at the float model's output through C, w* = w + H^-1 (C - H) w, was
     * tried: KL 0.106 against 0.080 on stories260K) */
    bool cross = o->awq || (o->scale_estimation && !o->gptq);
    /* hq: the compressed model's hidden states, hf: the float model's, both [tokens, hidden] */
    float *hq = st == NPG_OK ? malloc(n_tok * (size_t)H * sizeof(float)) : NULL;
    float *hf = st == NPG_OK && cross ? malloc(n_tok * (size_t)H * sizeof(float)) : NULL;
    tap_ctx t = {.c = c, .layer = 0};
    if (st == NPG_OK) {
        t.mm = (npg_compute){.pool = e.pool, .isa = npg_isa_detect()};
        c->compute = &t.mm;
        t.xt = malloc((size_t)(max_k * e.ctx) * sizeof(float));
        t.yt = malloc((size_t)(max_k * e.ctx) * sizeof(float));
        t.g = malloc((size_t)(max_k * max_k) * sizeof(float));
        for (int sl = 0; sl < NPG_SLOT_COUNT && cross; sl++)
            t.keep[sl] = malloc((size_t)(c->slots[sl].k * e.ctx) * sizeof(float));
        bool ok = hq && (hf || !cross) && t.xt && t.yt && t.g;
        for (int sl = 0; sl < NPG_SLOT_COUNT && cross; sl++)
            ok = ok && t.keep[sl];
        st = ok ? npg_compute_reserve(&t.mm, max_k, e.ctx)
                : npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for the calibration's hidden states (%zu tokens)", n_tok);
    }
    /* layer 0's input: the token embeddings */
    for (size_t i = 0; st == NPG_OK && i < n_tok; i++) {
        int32_t id = e.ids[i];
        if (id < 0 || id >= e.m->cfg.vocab) {
            st = npg_fail(NPG_ERR_INVALID_ARGUMENT, "--dataset %s: token id %d is outside the vocabulary", o->dataset, id);
            break;
        }
        npg_weight_get_row(&e.m->embed, id, hq + i * (size_t)H);
        for (int64_t j = 0; j < H; j++)
            hq[i * (size_t)H + (size_t)j] *= e.m->cfg.embed_scale;
    }
    if (st == NPG_OK) {
        if (hf)
            memcpy(hf, hq, n_tok * (size_t)H * sizeof(float));
        e.fs->linear_tap_user = &t;
    }
    c->t0_ms = npg_now_ms();
    size_t steps = (size_t)c->n_layers * e.nw;
    for (int64_t l = 0; st == NPG_OK && l < c->n_layers; l++) {
        t.layer = l;
        npg_calib_slot *sl = &c->slots[l * NPG_SLOT_COUNT];
        for (int i = 0; st == NPG_OK && i < NPG_SLOT_COUNT; i++)
            /* H and C are what GPTQ, group-wise scale estimation and the exact searches of narrow inputs
             * need; channel-wise AWQ / SE on wider inputs search on the subset alone (their H and C were
             * half of a 1.1B AWQ + SE export's calibration, and 0.7 GB) */
            st = slot_alloc(&sl[i], o->gptq || o->group_size != -1 || sl[i].k <= NPG_SE_EXACT_MAX, true, cross,
                            c->n_tokens);
        e.fs->linear_tap = on_linear;
        for (size_t i = 0; st == NPG_OK && i < e.nw; i++) {
            float *xq = hq + e.w[i].off * (size_t)H;
            int64_t n = (int64_t)e.w[i].n;
            if (hf) { /* the float model's inputs of this window, and its next hidden states */
                t.store = true;
                st = npg_model_forward_layer(e.m, e.fs, l, hf + e.w[i].off * (size_t)H, hf + e.w[i].off * (size_t)H, n);
                t.store = false;
            }
            /* the compressed model's inputs through the float layer: H, C, statistics */
            if (st == NPG_OK)
                st = npg_model_forward_layer(e.m, e.fs, l, xq, NULL, n);
            /* the layer runs are a small share of a layer's time next to the methods' */
            npg_calib_progress(c, o, "calibration", "samples", (size_t)l * e.nw + i + 1, steps, l,
                               0.1 * (double)(i + 1) / (double)e.nw);
        }
        if (st == NPG_OK)
            st = ops->compress(ops->user, c, l);
        e.fs->linear_tap = NULL;
        layer_swap sw;
        memset(&sw, 0, sizeof sw);
        if (st == NPG_OK)
            st = swap_in(e.m, l, ops, &sw);
        for (size_t i = 0; st == NPG_OK && i < e.nw; i++) {
            float *xq = hq + e.w[i].off * (size_t)H;
            st = npg_model_forward_layer(e.m, e.fs, l, xq, xq, (int64_t)e.w[i].n);
        }
        swap_out(e.m, l, &sw);
        for (int i = 0; i < NPG_SLOT_COUNT; i++)
            slot_free(&sl[i]);
        if (st != NPG_OK)
            st = npg_fail_context(st, "--dataset %s: calibration of layer %lld", o->dataset, (long long)l);
    }
    if (st == NPG_OK)
        npg_export_log(o, NPG_LOG_INFO, "calibration: %zu sample(s), %llu tokens from %s, layer by layer", e.nw,
                       (unsigned long long)c->n_tokens, o->dataset);
    npg_compute_release(&t.mm);
    free(t.xt);
    free(t.yt);
    free(t.g);
    for (int sl = 0; sl < NPG_SLOT_COUNT; sl++)
        free(t.keep[sl]);
    free(hq);
    free(hf);
    env_free(&e);
    npg_calib_free(c);
    return st;
}
