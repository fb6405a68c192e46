/* generate.c — the generation loop shared by every device: prefill, sample, stream, stop.
 *
 * Everything the per-token loop touches is allocated before the first token (ids, sampler buffers,
 * the detokenizer stream, a text buffer sized for the worst case), so decoding itself does not
 * allocate — the NPU's fixed-plan promise extends through the loop. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/strbuf.h"
#include "core/timer.h"
#include "pipeline/llm_pipeline.h"
#include "pipeline/results.h"
#include "pipeline/stop_strings.h"
#include "tokenizer/tokenizer.h"

enum { DEFAULT_MAX_NEW_TOKENS = 256 };

/* Tokens of `ids` already in the cache that can be kept: the longest common prefix, but always at
 * least one token left to prefill (its logits start the generation). */
static size_t reusable_prefix(const npg_llm_pipeline *p, const int32_t *ids, size_t n) {
    size_t k = 0;
    while (k < n && k < p->n_cached && p->cached_ids[k] == ids[k])
        k++;
    if (k == n)
        k = n - 1;
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

typedef struct gen_loop {
    npg_sampler *sampler;
    npg_detok_stream *detok;
    npg_strbuf text;
    int32_t *gen; /* [max_new] */
    size_t n_gen;
    double *step_ms; /* [max_new] decode step durations */
} gen_loop;

static void loop_free(gen_loop *g) {
    npg_sampler_free(g->sampler);
    npg_detok_stream_free(g->detok);
    npg_strbuf_free(&g->text);
    free(g->gen);
    free(g->step_ms);
}

static npg_status build_results(npg_llm_pipeline *p, gen_loop *g, size_t text_len, const char *prompt_text,
                                const npg_generation_config *cfg, npg_decoded_results **out) {
    npg_decoded_results *r = calloc(1, sizeof *r);
    NPG_CHECK_ALLOC(r);
    npg_strbuf sb = {0};
    npg_status st = NPG_OK;
    if (cfg->echo && prompt_text)
        st = npg_strbuf_append_str(&sb, prompt_text);
    if (st == NPG_OK)
        st = npg_strbuf_append(&sb, g->text.data ? g->text.data : "", text_len);
    if (st == NPG_OK)
        st = npg_strbuf_detach(&sb, &r->text);
    if (st == NPG_OK) {
        r->text_len = strlen(r->text);
        r->ids = malloc((g->n_gen ? g->n_gen : 1) * sizeof *r->ids);
        if (!r->ids)
            st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for results");
    }
    if (st != NPG_OK) {
        npg_strbuf_free(&sb);
        npg_decoded_results_free(r);
        return st;
    }
    memcpy(r->ids, g->gen, g->n_gen * sizeof *r->ids);
    r->n_ids = g->n_gen;
    (void)p;
    *out = r;
    return NPG_OK;
}

npg_status npg_pipeline_run(npg_llm_pipeline *p, const int32_t *ids, size_t n_ids, bool reuse_cache,
                            const char *prompt_text, const npg_generation_config *cfg, const npg_streamer *streamer,
                            double tokenize_ms, npg_decoded_results **results) {
    double t_start = npg_now_ms();
    if (!cfg)
        cfg = p->config;
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
    size_t common = reuse_cache ? reusable_prefix(p, ids, n_ids) : 0;
    NPG_TRY(p->engine->ops->check_request(p->engine, n_ids, common, cfg));

    size_t limit = p->engine->ops->context_limit(p->engine);
    size_t max_new = DEFAULT_MAX_NEW_TOKENS;
    if (cfg->max_new_tokens != SIZE_MAX)
        max_new = cfg->max_new_tokens;
    else if (cfg->max_length != SIZE_MAX)
        max_new = cfg->max_length > n_ids ? cfg->max_length - n_ids : 0;
    bool capped_by_context = false;
    if (n_ids + max_new > limit) {
        max_new = limit > n_ids ? limit - n_ids : 0;
        capped_by_context = true;
    }

    gen_loop g;
    memset(&g, 0, sizeof g);
    npg_status st = npg_sampler_create(cfg, (size_t)mc->vocab, n_ids + max_new + 1, &g.sampler);
    if (st == NPG_OK)
        st = npg_sampler_begin(g.sampler, ids, n_ids);
    if (st == NPG_OK)
        st = npg_detok_stream_create(p->tokenizer, ids, n_ids, true, max_new + 1, &g.detok);
    g.gen = malloc((max_new + 1) * sizeof *g.gen);
    g.step_ms = malloc((max_new + 1) * sizeof *g.step_ms);
    if (st == NPG_OK && (!g.gen || !g.step_ms))
        st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for %zu new tokens", max_new);
    if (st == NPG_OK)
        st = npg_strbuf_append(&g.text, "", 0);
    if (st == NPG_OK && g.text.cap < max_new * 16 + 64) { /* room for the worst case up front */
        char *t = realloc(g.text.data, max_new * 16 + 64);
        if (!t)
            st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for the output text");
        else {
            g.text.data = t;
            g.text.cap = max_new * 16 + 64;
        }
    }
    if (st == NPG_OK)
        st = p->engine->ops->reserve(p->engine, n_ids + max_new);
    if (st != NPG_OK) {
        loop_free(&g);
        return st;
    }

    npg_finish_reason finish = capped_by_context ? NPG_FINISH_CONTEXT : NPG_FINISH_LENGTH;
    size_t emitted = 0, scanned = 0, result_len = 0;
    bool stop_found = false, cancelled = false;
    double detok_ms = 0.0, ttft_ms = 0.0;
    float *logits = NULL;
    size_t n_fed_gen = 0;
    if (max_new > 0) {
        /* the cache is invalid past `common` from here on */
        p->n_cached = common;
        st = p->engine->ops->prefill(p->engine, ids + common, n_ids - common, common, &logits);
    } else {
        finish = capped_by_context ? NPG_FINISH_CONTEXT : NPG_FINISH_LENGTH;
    }
    double t_step = npg_now_ms();
    while (st == NPG_OK && g.n_gen < max_new) {
        int32_t id = npg_sampler_next(g.sampler, logits, g.n_gen);
        npg_sampler_accept(g.sampler, id);
        g.gen[g.n_gen++] = id;
        double now = npg_now_ms();
        if (g.n_gen == 1)
            ttft_ms = now - t_start;
        else
            g.step_ms[g.n_gen - 2] = now - t_step;
        if (npg_generation_config_is_stop_id(cfg, id)) {
            finish = NPG_FINISH_EOS;
            break;
        }
        double td = npg_now_ms();
        const char *piece = NULL;
        st = npg_detok_stream_push(g.detok, id, &piece);
        if (st != NPG_OK)
            break;
        st = npg_strbuf_append_str(&g.text, piece);
        detok_ms += npg_now_ms() - td;
        if (st != NPG_OK)
            break;
        npg_stop_match m;
        npg_stop_strings_scan_config(cfg, g.text.data, g.text.len, scanned, &m);
        scanned = g.text.len;
        if (streamer && streamer->callback && m.safe_len > emitted) {
            char saved = g.text.data[m.safe_len];
            g.text.data[m.safe_len] = '\0';
            npg_streaming_status ss = streamer->callback(g.text.data + emitted, streamer->user_data);
            g.text.data[m.safe_len] = saved;
            emitted = m.safe_len;
            if (ss == NPG_STREAMING_CANCEL) {
                cancelled = true;
                break;
            }
            if (ss == NPG_STREAMING_STOP && !m.found) {
                finish = NPG_FINISH_STOPPED;
                result_len = m.safe_len; /* the result is exactly what was streamed */
                break;
            }
        }
        if (m.found) {
            stop_found = true;
            result_len = m.safe_len;
            finish = NPG_FINISH_EOS;
            break;
        }
        if (g.n_gen == max_new)
            break;
        t_step = npg_now_ms();
        st = p->engine->ops->decode(p->engine, id, n_ids + g.n_gen - 1, &logits);
        if (st == NPG_OK)
            n_fed_gen = g.n_gen;
    }
    if (st == NPG_OK && !cancelled && !stop_found) {
        const char *tail = NULL;
        if (finish != NPG_FINISH_STOPPED) {
            st = npg_detok_stream_flush(g.detok, &tail);
            if (st == NPG_OK && tail && *tail)
                st = npg_strbuf_append_str(&g.text, tail);
            result_len = g.text.len;
        }
        if (st == NPG_OK && streamer && streamer->callback && result_len > emitted) {
            npg_streaming_status ss = streamer->callback(g.text.data + emitted, streamer->user_data);
            if (ss == NPG_STREAMING_CANCEL)
                cancelled = true;
        }
    }
    if (st == NPG_OK && max_new > 0)
        st = remember_cache(p, ids, n_ids, g.gen, n_fed_gen);
    if (st == NPG_OK && cancelled)
        st = npg_fail(NPG_ERR_CANCELLED, "generation cancelled by the streamer");
    if (st == NPG_OK) {
        st = build_results(p, &g, result_len, prompt_text, cfg, results);
        if (st == NPG_OK) {
            npg_decoded_results *r = *results;
            r->finish = finish;
            struct npg_perf_metrics *pm = &r->perf;
            pm->load_ms = (float)p->load_ms;
            pm->compile_ms = (float)p->compile_ms;
            pm->plan_imported = p->plan_imported;
            pm->ttft_ms = (float)ttft_ms;
            size_t steps = g.n_gen > 1 ? g.n_gen - 1 : 0;
            double sum = 0.0, sq = 0.0;
            for (size_t i = 0; i < steps; i++)
                sum += g.step_ms[i];
            double mean = steps ? sum / (double)steps : 0.0;
            for (size_t i = 0; i < steps; i++)
                sq += (g.step_ms[i] - mean) * (g.step_ms[i] - mean);
            pm->tpot_mean_ms = (float)mean;
            pm->tpot_std_ms = steps ? (float)sqrt(sq / (double)steps) : 0.0f;
            pm->throughput_mean = mean > 0 ? (float)(1000.0 / mean) : 0.0f;
            pm->throughput_std = mean > 0 ? (float)(1000.0 * (double)pm->tpot_std_ms / (mean * mean)) : 0.0f;
            pm->tokenize_ms = (float)tokenize_ms;
            pm->detokenize_ms = (float)detok_ms;
            pm->n_input_tokens = n_ids - common;
            pm->n_generated_tokens = g.n_gen;
            pm->generate_ms = (float)(npg_now_ms() - t_start + tokenize_ms);
        }
    }
    if (st != NPG_OK && st != NPG_ERR_CANCELLED)
        p->n_cached = 0; /* a failed run leaves the cache in an unknown state */
    loop_free(&g);
    return st;
}
