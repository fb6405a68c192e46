/* eval.c — perplexity / KL divergence / top-1 agreement over a text (convention in eval.h). */
#include "compress/eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/threadpool.h"
#include "models/model.h"

void npg_eval_options_init(npg_eval_options *o) {
    memset(o, 0, sizeof *o);
}

/* log-softmax of logits[V] into out[V] (double). */
static void log_softmax(const float *logits, int64_t V, double *out) {
    double mx = (double)logits[0];
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

/* Creates the forward state once the window is known. */
static npg_status runner_state(const char *dir, runner *r, int64_t ctx, npg_threadpool *pool, npg_isa isa) {
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

/* Evaluates models[0..n) against the optional reference on the same windows; the reference runs once
 * per window whatever n is (the quantization table evaluates seven exports against one fp32 model). */
static npg_status evaluate(const char *const *dirs, size_t n_models, const char *ref_dir, const int32_t *ids,
                           size_t n_ids, int32_t bos, const npg_eval_options *o, npg_threadpool *pool,
                           npg_eval_result *out) {
    runner *a = calloc(n_models, sizeof *a);
    sums *s = calloc(n_models, sizeof *s);
    runner b = {0};
    npg_status st = a && s ? NPG_OK : npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for eval state");
    for (size_t i = 0; i < n_models && st == NPG_OK; i++)
        st = npg_model_load(dirs[i], &a[i].m);
    if (st == NPG_OK && ref_dir)
        st = npg_model_load(ref_dir, &b.m);
    int64_t V = st == NPG_OK ? a[0].m->cfg.vocab : 0, max_pos = st == NPG_OK ? a[0].m->cfg.max_pos : 0;
    int64_t ctx = o->ctx > 0 ? o->ctx : (max_pos < 512 ? max_pos : 512);
    if ((int64_t)n_ids < ctx)
        ctx = (int64_t)n_ids;
    /* a window of n scores tokens n/2+1 .. n-1: at least 3 tokens for one scored token (with 2 the
     * perplexity would be 0/0) */
    if (st == NPG_OK && ctx < 3)
        st = npg_fail(NPG_ERR_INVALID_ARGUMENT,
                      "--text: a window of %lld of the text's %zu token(s) is too short to score (it needs at least "
                      "3 tokens: give a longer --text or a larger --ctx)",
                      (long long)ctx, n_ids);
    for (size_t i = 0; i < n_models && st == NPG_OK; i++) {
        if (a[i].m->cfg.vocab != V)
            st = npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: vocab size %lld differs from %s's %lld", dirs[i],
                          (long long)a[i].m->cfg.vocab, dirs[0], (long long)V);
        else
            st = runner_state(dirs[i], &a[i], ctx, pool, npg_isa_detect());
    }
    if (st == NPG_OK && ref_dir) {
        if (b.m->cfg.vocab != V)
            st = npg_fail(NPG_ERR_INVALID_ARGUMENT, "--reference %s: vocab size %lld differs from the model's %lld", ref_dir,
                          (long long)b.m->cfg.vocab, (long long)V);
        else
            st = runner_state(ref_dir, &b, ctx, pool, npg_isa_detect());
    }
    int32_t *win = malloc((size_t)ctx * sizeof *win);
    double *la = malloc((size_t)V * sizeof *la), *lb = malloc((size_t)V * sizeof *lb);
    if (st == NPG_OK && (!win || !la || !lb))
        st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for eval buffers");
    size_t windows = st == NPG_OK ? n_ids / (size_t)ctx : 0; /* ctx may be 0 after an error */
    if (o->chunks > 0 && o->chunks < windows)
        windows = o->chunks;
    for (size_t w = 0; w < windows && st == NPG_OK; w++) {
        memcpy(win, ids + w * (size_t)ctx, (size_t)ctx * sizeof *win);
        if (bos >= 0)
            win[0] = bos;
        if (ref_dir)
            st = npg_model_forward(b.m, b.s, win, ctx, 0, true);
        for (size_t i = 0; i < n_models && st == NPG_OK; i++) {
            st = npg_model_forward(a[i].m, a[i].s, win, ctx, 0, true);
            if (st == NPG_OK)
                score_window(a[i].s->logits, ref_dir ? b.s->logits : NULL, win, ctx, V, la, lb, &s[i]);
        }
    }
    free(win);
    free(la);
    free(lb);
    for (size_t i = 0; a && i < n_models; i++)
        runner_free(&a[i]);
    runner_free(&b);
    for (size_t i = 0; st == NPG_OK && i < n_models; i++)
        if (s[i].count == 0)
            st = npg_fail(NPG_ERR_INVALID_ARGUMENT, "--text: no token was scored (the text is shorter than a window)");
    for (size_t i = 0; st == NPG_OK && i < n_models; i++) {
        npg_eval_result *r = &out[i];
        r->ctx = ctx;
        r->windows = windows;
        r->tokens = s[i].count;
        r->text_tokens = n_ids;
        r->perplexity = exp(s[i].nll / (double)s[i].count);
        r->has_reference = ref_dir != NULL;
        r->kl_divergence = ref_dir ? s[i].kl / (double)s[i].count : 0.0;
        r->top1_agreement = ref_dir ? (double)s[i].agree / (double)s[i].count : 0.0;
    }
    free(a);
    free(s);
    return st;
}

npg_status npg_eval_text_many(const char *const *model_dirs, size_t n_models, const char *ref_dir, const char *text,
                              const npg_eval_options *o, npg_eval_result *out) {
    if (!model_dirs || n_models == 0 || !text || !o || !out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_eval_text: NULL argument or no model");
    for (size_t i = 0; i < n_models; i++)
        if (!model_dirs[i])
            return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_eval_text: model %zu is NULL", i);
    if (o->ctx < 0 || (o->ctx > 0 && o->ctx < 3))
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "--ctx %lld: must be >= 3 (or 0 for the default)", (long long)o->ctx);
    npg_tokenizer *tok = NULL;
    NPG_TRY(npg_tokenizer_create(model_dirs[0], &tok));
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
        st = evaluate(model_dirs, n_models, ref_dir, ids, n, bos, o, pool, out);
    npg_threadpool_free(pool);
    npg_free(ids);
    return st;
}

npg_status npg_eval_text(const char *model_dir, const char *ref_dir, const char *text, const npg_eval_options *o,
                         npg_eval_result *out) {
    return npg_eval_text_many(&model_dir, 1, ref_dir, text, o, out);
}
