/* eval.c — perplexity / KL divergence / top-1 agreement over a text (convention in eval.h). */
#include "quant/eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/threadpool.h"
#include "models/model.h"

void npg_eval_options_init(npg_eval_options *o) {
    memset(o, 0, sizeof *o);
    o->isa = npg_isa_detect();
}

/* log-softmax of logits[V] into out[V] (double). */
static void log_softmax(const float *logits, int64_t V, double *out) {
    double mx = logits[0];
    for (int64_t v = 1; v < V; v++)
        mx = (double)logits[v] > mx ? (double)logits[v] : mx;
    double sum = 0.0;
    for (int64_t v = 0; v < V; v++)
        sum += exp((double)logits[v] - mx);
    double lse = mx + log(sum);
    for (int64_t v = 0; v < V; v++)
        out[v] = (double)logits[v] - lse;
}

static int64_t argmax(const float *x, int64_t V) {
    int64_t best = 0;
    for (int64_t v = 1; v < V; v++)
        best = x[v] > x[best] ? v : best;
    return best;
}

typedef struct runner {
    npg_model *m;
    npg_forward_state *s;
} runner;

static void runner_free(runner *r) {
    npg_forward_state_free(r->s);
    npg_model_free(r->m);
}

static npg_status runner_open(const char *dir, int64_t ctx, npg_threadpool *pool, npg_isa isa, runner *r) {
    NPG_TRY(npg_model_load(dir, &r->m));
    if (ctx > r->m->cfg.max_pos)
        return npg_fail(NPG_ERR_LIMIT, "%s: --ctx %lld exceeds the model's max_position_embeddings %lld", dir,
                        (long long)ctx, (long long)r->m->cfg.max_pos);
    return npg_forward_state_create(r->m, ctx, ctx, pool, isa, &r->s);
}

typedef struct sums {
    double nll, kl;
    size_t agree, count;
} sums;

/* Scores window `ids` [n] (model logits in a, reference logits in b or NULL). */
static void score_window(const float *a, const float *b, const int32_t *ids, int64_t n, int64_t V, double *la,
                         double *lb, sums *s) {
    for (int64_t i = n / 2; i < n - 1; i++) {
        const float *ra = a + i * V;
        log_softmax(ra, V, la);
        s->nll -= la[ids[i + 1]];
        if (b) {
            const float *rb = b + i * V;
            log_softmax(rb, V, lb);
            double kl = 0.0;
            for (int64_t v = 0; v < V; v++)
                kl += exp(lb[v]) * (lb[v] - la[v]);
            s->kl += kl > 0.0 ? kl : 0.0; /* rounding can leave -1e-17 for identical distributions */
            s->agree += argmax(ra, V) == argmax(rb, V);
        }
        s->count++;
    }
}

static npg_status evaluate(const char *model_dir, const char *ref_dir, const int32_t *ids, size_t n_ids,
                           int32_t bos, const npg_eval_options *o, npg_threadpool *pool, npg_eval_result *out) {
    runner a = {0}, b = {0};
    npg_model *probe = NULL;
    NPG_TRY(npg_model_load(model_dir, &probe));
    int64_t max_pos = probe->cfg.max_pos, V = probe->cfg.vocab;
    npg_model_free(probe);
    int64_t ctx = o->ctx > 0 ? o->ctx : (max_pos < 512 ? max_pos : 512);
    if ((int64_t)n_ids < ctx)
        ctx = (int64_t)n_ids;
    if (ctx < 2)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "--text: %zu token(s) are too few to score (need at least 2)", n_ids);
    npg_status st = runner_open(model_dir, ctx, pool, o->isa, &a);
    if (st == NPG_OK && ref_dir) {
        st = runner_open(ref_dir, ctx, pool, o->isa, &b);
        if (st == NPG_OK && b.m->cfg.vocab != V)
            st = npg_fail(NPG_ERR_INVALID_ARGUMENT, "--reference %s: vocab size %lld differs from the model's %lld", ref_dir,
                          (long long)b.m->cfg.vocab, (long long)V);
    }
    int32_t *win = malloc((size_t)ctx * sizeof *win);
    double *la = malloc((size_t)V * sizeof *la), *lb = malloc((size_t)V * sizeof *lb);
    if (st == NPG_OK && (!win || !la || !lb))
        st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for eval buffers");
    sums s = {0};
    size_t windows = n_ids / (size_t)ctx;
    if (o->chunks > 0 && o->chunks < windows)
        windows = o->chunks;
    for (size_t w = 0; w < windows && st == NPG_OK; w++) {
        memcpy(win, ids + w * (size_t)ctx, (size_t)ctx * sizeof *win);
        if (bos >= 0)
            win[0] = bos;
        st = npg_model_forward(a.m, a.s, win, ctx, 0, true);
        if (st == NPG_OK && ref_dir)
            st = npg_model_forward(b.m, b.s, win, ctx, 0, true);
        if (st == NPG_OK)
            score_window(a.s->logits, ref_dir ? b.s->logits : NULL, win, ctx, V, la, lb, &s);
    }
    free(win);
    free(la);
    free(lb);
    runner_free(&a);
    runner_free(&b);
    if (st != NPG_OK)
        return st;
    out->ctx = ctx;
    out->windows = windows;
    out->tokens = s.count;
    out->text_tokens = n_ids;
    out->perplexity = exp(s.nll / (double)s.count);
    out->has_reference = ref_dir != NULL;
    out->kl_divergence = ref_dir ? s.kl / (double)s.count : 0.0;
    out->top1_agreement = ref_dir ? (double)s.agree / (double)s.count : 0.0;
    return NPG_OK;
}

npg_status npg_eval_text(const char *model_dir, const char *ref_dir, const char *text, const npg_eval_options *o,
                         npg_eval_result *out) {
    if (!model_dir || !text || !o || !out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_eval_text: NULL argument");
    if (o->ctx < 0)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "--ctx %lld: must be >= 2 (or 0 for the default)", (long long)o->ctx);
    npg_tokenizer *tok = NULL;
    NPG_TRY(npg_tokenizer_create(model_dir, &tok));
    int32_t *ids = NULL;
    size_t n = 0;
    npg_status st = npg_tokenizer_encode(tok, text, false, &ids, &n);
    int32_t bos = npg_tokenizer_bos_token_id(tok);
    npg_tokenizer_free(tok);
    if (st != NPG_OK)
        return npg_fail_context(st, "--text");
    npg_threadpool *pool = NULL;
    st = npg_threadpool_create(o->threads, &pool);
    if (st == NPG_OK)
        st = evaluate(model_dir, ref_dir, ids, n, bos, o, pool, out);
    npg_threadpool_free(pool);
    npg_free(ids);
    return st;
}
