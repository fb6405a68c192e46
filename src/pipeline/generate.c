/* generate.c — one generation request of the LLM pipeline, in named steps: check the request, plan
 * how many ids to generate, decode (a decode session: src/pipeline/decode_session.c), remember what
 * the cache holds for the next chat turn, and build the results with their metrics. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/strbuf.h"
#include "core/timer.h"
#include "pipeline/decode_session.h"
#include "pipeline/llm_pipeline.h"
#include "pipeline/results.h"
#include "tokenizer/tokenizer.h"

enum { DEFAULT_MAX_NEW_TOKENS = 256 };

/* Tokens of `ids` already in the cache that can be kept: the longest common prefix of their cache keys
 * (the ids, or a VLM's keys that tell one image's rows from another's), but always at least one token
 * left to prefill (its logits start the generation), and never part of an image: its rows attend to
 * each other both ways, so they are prefilled together or kept together. */
static size_t reusable_prefix(const npg_llm_pipeline *p, const int32_t *keys, const int32_t *span, size_t n) {
    size_t k = 0;
    while (k < n && k < p->n_cached && p->cached_ids[k] == keys[k])
        k++;
    if (k == n)
        k = n - 1;
    while (span && k > 0 && k < n && span[k] != 0 && span[k - 1] == span[k])
        k--;
    return k;
}

static npg_status remember_cache(npg_llm_pipeline *p, const int32_t *prompt, size_t n_prompt, const int32_t *gen,
                                 size_t n_fed_gen) {
    size_t need = n_prompt + n_fed_gen;
    if (need > p->cap_cached) {
        int32_t *c = realloc(p->cached_ids, need * sizeof *c);
        NPG_CHECK_ALLOC(c);
        p->cached_ids = c;
        p->cap_cached = need;
    }
    memmove(p->cached_ids, prompt, n_prompt * sizeof *prompt);
    memcpy(p->cached_ids + n_prompt, gen, n_fed_gen * sizeof *gen);
    p->n_cached = need;
    return NPG_OK;
}

/* The request's checks before any work: config, prompt ids, the device's limits. */
static npg_status check_request(const npg_llm_pipeline *p, const int32_t *ids, size_t n_ids,
                                const npg_generation_config *cfg, size_t common) {
    NPG_TRY(npg_generation_config_validate(cfg));
    if (n_ids == 0)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT,
                        "the prompt has no tokens (an empty text prompt needs a tokenizer that adds BOS; "
                        "an id prompt needs at least one id): nothing to generate from");
    const npg_model_config *mc = &p->model->cfg;
    for (size_t i = 0; i < n_ids; i++)
        if (ids[i] < 0 || ids[i] >= mc->vocab)
            return npg_fail(NPG_ERR_INVALID_ARGUMENT, "prompt token id %d at index %zu is outside the vocabulary [0, %lld)",
                            ids[i], i, (long long)mc->vocab);
    return p->engine->ops->check_request(p->engine, n_ids, common, cfg);
}

/* Ids to generate per sequence: max_new_tokens, else what max_length leaves, else the default; cut to
 * the device's context (then running out is NPG_FINISH_CONTEXT). */
static size_t plan_max_new(const npg_llm_pipeline *p, size_t n_ids, const npg_generation_config *cfg, bool *capped) {
    size_t limit = p->engine->ops->context_limit(p->engine);
    size_t max_new = DEFAULT_MAX_NEW_TOKENS;
    if (cfg->max_new_tokens != SIZE_MAX)
        max_new = cfg->max_new_tokens;
    else if (cfg->max_length != SIZE_MAX)
        max_new = cfg->max_length > n_ids ? cfg->max_length - n_ids : 0;
    *capped = false;
    if (n_ids + max_new > limit) {
        max_new = limit > n_ids ? limit - n_ids : 0;
        *capped = true;
    }
    return max_new;
}

/* One result sequence from a session sequence: the echoed prompt, then result_len bytes of its text. */
static npg_status build_seq(const npg_decode_seq *q, const char *prompt_text, const npg_generation_config *cfg,
                            npg_decoded_seq *out) {
    npg_strbuf sb = {0};
    npg_status st = NPG_OK;
    if (cfg->echo && prompt_text)
        st = npg_strbuf_append_str(&sb, prompt_text);
    if (st == NPG_OK)
        st = npg_strbuf_append(&sb, q->text.data ? q->text.data : "", q->result_len);
    if (st == NPG_OK)
        st = npg_strbuf_detach(&sb, &out->text);
    npg_strbuf_free(&sb);
    NPG_TRY(st);
    out->text_len = strlen(out->text);
    out->ids = malloc((q->n_gen ? q->n_gen : 1) * sizeof *out->ids);
    if (!out->ids)
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for results");
    memcpy(out->ids, q->gen, q->n_gen * sizeof *out->ids);
    out->n_ids = q->n_gen;
    out->finish = q->finish;
    out->score = (float)q->score;
    return NPG_OK;
}

static void fill_perf(const npg_llm_pipeline *p, const npg_decode_session *ds, size_t n_input, double tokenize_ms,
                      double t_start, struct npg_perf_metrics *pm) {
    pm->load_ms = (float)p->load_ms;
    pm->compile_ms = (float)p->compile_ms;
    pm->plan_imported = p->plan_imported;
    pm->ttft_ms = (float)ds->ttft_ms;
    size_t steps = ds->n_steps;
    double sum = 0.0, sq = 0.0;
    for (size_t i = 0; i < steps; i++)
        sum += ds->step_ms[i];
    double mean = steps ? sum / (double)steps : 0.0;
    for (size_t i = 0; i < steps; i++)
        sq += (ds->step_ms[i] - mean) * (ds->step_ms[i] - mean);
    /* ids per step: 1 for one sequence; the number still running for several (aggregate throughput) */
    double per_step = steps ? (double)ds->rows_decoded / (double)steps : 1.0;
    pm->tpot_mean_ms = (float)mean;
    pm->tpot_std_ms = steps ? (float)sqrt(sq / (double)steps) : 0.0f;
    pm->throughput_mean = mean > 0 ? (float)(1000.0 * per_step / mean) : 0.0f;
    pm->throughput_std = mean > 0 ? (float)(1000.0 * per_step * (double)pm->tpot_std_ms / (mean * mean)) : 0.0f;
    pm->tokenize_ms = (float)tokenize_ms;
    pm->detokenize_ms = (float)ds->detok_ms;
    pm->n_input_tokens = n_input;
    pm->n_generated_tokens = 0;
    for (size_t i = 0; i < ds->p.n_seqs; i++)
        pm->n_generated_tokens += ds->seqs[i].n_gen;
    pm->n_sequences = ds->p.n_seqs;
    pm->generate_ms = (float)(npg_now_ms() - t_start + tokenize_ms);
}

static npg_status build_results(const npg_llm_pipeline *p, const npg_decode_session *ds, const char *prompt_text,
                                size_t n_input, double tokenize_ms, double t_start, npg_decoded_results **out) {
    npg_decoded_results *r = calloc(1, sizeof *r);
    NPG_CHECK_ALLOC(r);
    npg_status st = NPG_OK;
    r->seqs = calloc(ds->p.n_seqs, sizeof *r->seqs);
    if (!r->seqs)
        st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for results");
    else
        r->n_seqs = ds->p.n_seqs;
    for (size_t i = 0; i < r->n_seqs && st == NPG_OK; i++)
        st = build_seq(&ds->seqs[i], prompt_text, ds->p.cfg, &r->seqs[i]);
    if (st != NPG_OK) {
        npg_decoded_results_free(r);
        return st;
    }
    r->text = r->seqs[0].text;
    fill_perf(p, ds, n_input, tokenize_ms, t_start, &r->perf);
    *out = r;
    return NPG_OK;
}

npg_status npg_pipeline_run_rows(npg_llm_pipeline *p, const int32_t *ids, size_t n_ids, const npg_prompt_rows *rows,
                                 bool reuse_cache, const char *prompt_text, const npg_generation_config *cfg,
                                 const npg_streamer *streamer, double tokenize_ms, npg_decoded_results **results) {
    double t_start = npg_now_ms();
    if (!cfg)
        cfg = p->config;
    const int32_t *keys = rows && rows->keys ? rows->keys : ids;
    const int32_t *span = rows ? rows->span : NULL;
    size_t common = reuse_cache && n_ids ? reusable_prefix(p, keys, span, n_ids) : 0;
    NPG_TRY(check_request(p, ids, n_ids, cfg, common));
    bool capped = false;
    size_t max_new = plan_max_new(p, n_ids, cfg, &capped);
    npg_decode_params dp = {.engine = p->engine,
                            .tokenizer = p->tokenizer,
                            .cfg = cfg,
                            .prompt = ids,
                            .n_prompt = n_ids,
                            .n_cached = common,
                            .prompt_embeds = rows ? rows->embeds : NULL,
                            .prompt_span = span,
                            .max_new = max_new,
                            .capped_by_context = capped,
                            .n_seqs = cfg->num_return_sequences,
                            .streamer = streamer,
                            .t_start_ms = t_start};
    npg_decode_session *ds = NULL;
    NPG_TRY(npg_decode_session_create(&dp, &ds));
    if (max_new > 0)
        p->n_cached = common; /* the cache is invalid past `common` from here on */
    npg_status st = npg_decode_session_run(ds);
    /* sequence 0's cache holds the prompt and the ids it was fed: the next chat turn may reuse them */
    if (st == NPG_OK && max_new > 0)
        st = remember_cache(p, keys, n_ids, ds->seqs[0].gen, ds->seqs[0].n_fed);
    if (st == NPG_OK && ds->cancelled)
        st = npg_fail(NPG_ERR_CANCELLED, "generation cancelled by the streamer");
    if (st == NPG_OK)
        st = build_results(p, ds, prompt_text, n_ids - common, tokenize_ms, t_start, results);
    if (st != NPG_OK && st != NPG_ERR_CANCELLED)
        p->n_cached = 0; /* a failed run leaves the cache in an unknown state */
    npg_decode_session_free(ds);
    return st;
}

npg_status npg_pipeline_run(npg_llm_pipeline *p, const int32_t *ids, size_t n_ids, bool reuse_cache,
                            const char *prompt_text, const npg_generation_config *cfg, const npg_streamer *streamer,
                            double tokenize_ms, npg_decoded_results **results) {
    return npg_pipeline_run_rows(p, ids, n_ids, NULL, reuse_cache, prompt_text, cfg, streamer, tokenize_ms, results);
}
