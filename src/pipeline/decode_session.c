/* decode_session.c — prefill once, then steps that advance every unfinished sequence together (see
 * decode_session.h). Per step: the engine produces one logits row per unfinished sequence; each
 * sequence runs its processor chain and sampler on its row (choose), the step's time is taken, then
 * each sequence detokenizes, checks its stop criteria and streams (absorb). */
#include "pipeline/decode_session.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/timer.h"
#include "pipeline/stop_strings.h"

/* The processor chain today: the sampler's penalties, then the min_new_tokens mask. Whisper's suppress
 * and timestamp rules and forced prefixes will be further entries. */
static void proc_penalties(const void *ctx, float *logits, size_t n_generated) {
    (void)n_generated;
    npg_sampler_apply_penalties(ctx, logits);
}

static void proc_min_new_tokens(const void *ctx, float *logits, size_t n_generated) {
    npg_sampler_mask_early_stop(ctx, logits, n_generated);
}

static void seq_free(npg_decode_seq *q) {
    npg_sampler_free(q->sampler);
    npg_detok_stream_free(q->detok);
    npg_strbuf_free(&q->text);
    free(q->gen);
}

void npg_decode_session_free(npg_decode_session *s) {
    if (!s)
        return;
    for (size_t i = 0; s->seqs && i < s->p.n_seqs; i++)
        seq_free(&s->seqs[i]);
    free(s->seqs);
    free(s->scratch);
    free(s->b_ids);
    free(s->b_pos);
    free(s->b_seq);
    free(s->b_want);
    free(s->b_owner);
    free(s->step_ms);
    free(s);
}

static npg_status seq_init(npg_decode_session *s, size_t i) {
    const npg_decode_params *p = &s->p;
    npg_decode_seq *q = &s->seqs[i];
    size_t max_new = p->max_new;
    q->finish = p->capped_by_context ? NPG_FINISH_CONTEXT : NPG_FINISH_LENGTH;
    NPG_TRY(npg_sampler_create(p->cfg, s->vocab, p->n_prompt + max_new + 1, &q->sampler));
    NPG_TRY(npg_sampler_begin(q->sampler, p->prompt, p->n_prompt));
    /* sequence i draws from rng_seed + i: the sequences differ, and each equals a one-sequence run
     * with that seed */
    npg_sampler_reseed(q->sampler, p->cfg->rng_seed + i);
    q->procs[q->n_procs++] = (npg_logits_processor){"penalties", proc_penalties, q->sampler};
    q->procs[q->n_procs++] = (npg_logits_processor){"min_new_tokens", proc_min_new_tokens, q->sampler};
    NPG_TRY(npg_detok_stream_create(p->tokenizer, p->prompt, p->n_prompt, true, max_new + 1, &q->detok));
    q->gen = malloc((max_new + 1) * sizeof *q->gen);
    if (!q->gen)
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for %zu new tokens", max_new);
    NPG_TRY(npg_strbuf_append(&q->text, "", 0));
    size_t room = max_new * 16 + 64; /* the worst case up front: no allocation while decoding */
    if (q->text.cap < room) {
        char *t = realloc(q->text.data, room);
        if (!t)
            return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for the output text");
        q->text.data = t;
        q->text.cap = room;
    }
    return NPG_OK;
}

static npg_status check_params(const npg_decode_params *p) {
    if (p->n_seqs == 0)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "decode session: no sequences to decode");
    if (p->n_seqs > 1 && p->streamer && p->streamer->callback)
        return npg_fail(NPG_ERR_UNSUPPORTED,
                        "num_return_sequences %zu with a streamer: streaming follows one sequence; the %zu texts come "
                        "back in the results (pass no streamer, or use num_return_sequences 1)",
                        p->n_seqs, p->n_seqs);
    if (p->n_seqs > 1) {
        size_t rows = npg_engine_max_rows(p->engine);
        if (rows == 0)
            return npg_engine_forward(p->engine, NULL, NULL); /* the device's refusal */
        if (p->n_seqs > rows)
            return npg_fail(NPG_ERR_LIMIT, "num_return_sequences %zu exceeds the %zu rows device %s decodes at once",
                            p->n_seqs, rows, p->engine->ops->device);
    }
    return NPG_OK;
}

npg_status npg_decode_session_create(const npg_decode_params *p, npg_decode_session **out) {
    NPG_TRY(check_params(p));
    npg_decode_session *s = calloc(1, sizeof *s);
    NPG_CHECK_ALLOC(s);
    s->p = *p;
    s->vocab = (size_t)p->engine->model->cfg.vocab;
    size_t n = p->n_seqs;
    s->seqs = calloc(n, sizeof *s->seqs);
    s->scratch = malloc(s->vocab * sizeof *s->scratch);
    s->b_ids = malloc(n * sizeof *s->b_ids);
    s->b_pos = malloc(n * sizeof *s->b_pos);
    s->b_seq = malloc(n * sizeof *s->b_seq);
    s->b_want = malloc(n * sizeof *s->b_want);
    s->b_owner = malloc(n * sizeof *s->b_owner);
    s->step_ms = malloc((p->max_new + 1) * sizeof *s->step_ms);
    npg_status st = NPG_OK;
    if (!s->seqs || !s->scratch || !s->b_ids || !s->b_pos || !s->b_seq || !s->b_want || !s->b_owner || !s->step_ms)
        st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for a decode session of %zu sequences", n);
    for (size_t i = 0; i < n && st == NPG_OK; i++)
        st = seq_init(s, i);
    if (st == NPG_OK)
        st = n > 1 ? npg_engine_reserve_seqs(p->engine, n, p->n_prompt + p->max_new)
                   : p->engine->ops->reserve(p->engine, p->n_prompt + p->max_new);
    if (st != NPG_OK) {
        npg_decode_session_free(s);
        return st;
    }
    *out = s;
    return NPG_OK;
}

/* log softmax(logits)[id], in double; -inf when id was masked. */
static double log_prob(const float *logits, size_t vocab, int32_t id) {
    float mx = -INFINITY;
    for (size_t i = 0; i < vocab; i++)
        mx = logits[i] > mx ? logits[i] : mx;
    if (!isfinite(mx) || !(logits[id] > -INFINITY))
        return -(double)INFINITY;
    double sum = 0.0;
    for (size_t i = 0; i < vocab; i++)
        sum += exp((double)(logits[i] - mx));
    return (double)(logits[id] - mx) - log(sum);
}

/* Sequence i's processors and sampler over its logits row; the id is appended to its ids. */
static void choose(npg_decode_session *s, size_t i, float *logits) {
    npg_decode_seq *q = &s->seqs[i];
    if (s->p.n_seqs > 1) { /* rows may be shared (the prefill's) or read again: work on a copy */
        memcpy(s->scratch, logits, s->vocab * sizeof *logits);
        logits = s->scratch;
    }
    for (size_t k = 0; k < q->n_procs; k++)
        q->procs[k].apply(q->procs[k].ctx, logits, q->n_gen);
    int32_t id = npg_sampler_pick(q->sampler, logits);
    q->score += log_prob(logits, s->vocab, id);
    npg_sampler_accept(q->sampler, id);
    q->gen[q->n_gen++] = id;
}

/* Sequence i's newest id: stop ids, detokenization, stop strings, streaming, the length limit. */
static npg_status absorb(npg_decode_session *s, size_t i) {
    npg_decode_seq *q = &s->seqs[i];
    const npg_generation_config *cfg = s->p.cfg;
    const npg_streamer *streamer = s->p.streamer;
    int32_t id = q->gen[q->n_gen - 1];
    if (npg_generation_config_is_stop_id(cfg, id)) {
        q->finish = NPG_FINISH_EOS;
        q->done = true;
        return NPG_OK;
    }
    double td = npg_now_ms();
    const char *piece = NULL;
    NPG_TRY(npg_detok_stream_push(q->detok, id, &piece));
    npg_status st = npg_strbuf_append_str(&q->text, piece);
    s->detok_ms += npg_now_ms() - td;
    NPG_TRY(st);
    npg_stop_match m;
    npg_stop_strings_scan_config(cfg, q->text.data, q->text.len, q->scanned, &m);
    q->scanned = q->text.len;
    if (streamer && streamer->callback && m.safe_len > q->emitted) {
        char saved = q->text.data[m.safe_len];
        q->text.data[m.safe_len] = '\0';
        npg_streaming_status ss = streamer->callback(q->text.data + q->emitted, streamer->user_data);
        q->text.data[m.safe_len] = saved;
        q->emitted = m.safe_len;
        if (ss == NPG_STREAMING_CANCEL) {
            s->cancelled = true;
            q->done = true;
            return NPG_OK;
        }
        if (ss == NPG_STREAMING_STOP && !m.found) {
            q->finish = NPG_FINISH_STOPPED;
            q->result_len = m.safe_len; /* the result is exactly what was streamed */
            q->done = true;
            return NPG_OK;
        }
    }
    if (m.found) {
        q->stop_found = true;
        q->result_len = m.safe_len;
        q->finish = NPG_FINISH_EOS;
        q->done = true;
        return NPG_OK;
    }
    if (q->n_gen == s->p.max_new)
        q->done = true;
    return NPG_OK;
}

/* Picks every listed sequence's next id from its row, times the step, then absorbs the ids. */
static npg_status advance(npg_decode_session *s, float *logits, size_t rows, bool shared_row, double t_step) {
    for (size_t r = 0; r < rows; r++)
        choose(s, s->b_owner[r], shared_row ? logits : logits + r * s->vocab);
    double now = npg_now_ms();
    if (!s->prefilled)
        s->ttft_ms = now - s->p.t_start_ms;
    else
        s->step_ms[s->n_steps++] = now - t_step;
    s->prefilled = true;
    for (size_t r = 0; r < rows; r++) {
        NPG_TRY(absorb(s, s->b_owner[r]));
        if (s->cancelled)
            break;
    }
    return NPG_OK;
}

/* One decode step: the newest id of every unfinished sequence fed at its next position. */
static npg_status step(npg_decode_session *s, size_t *rows) {
    const npg_decode_params *p = &s->p;
    size_t n = 0;
    for (size_t i = 0; i < p->n_seqs; i++) {
        npg_decode_seq *q = &s->seqs[i];
        if (q->done)
            continue;
        s->b_ids[n] = q->gen[q->n_gen - 1];
        s->b_pos[n] = (int32_t)(p->n_prompt + q->n_gen - 1);
        s->b_seq[n] = (int32_t)i;
        s->b_want[n] = 1;
        s->b_owner[n++] = i;
    }
    *rows = n;
    if (n == 0)
        return NPG_OK;
    double t_step = npg_now_ms();
    float *logits = NULL;
    if (p->n_seqs == 1) {
        NPG_TRY(p->engine->ops->decode(p->engine, s->b_ids[0], (size_t)s->b_pos[0], &logits));
    } else {
        npg_batch b = {.n = (int64_t)n, .ids = s->b_ids, .pos = s->b_pos, .seq = s->b_seq, .want_logits = s->b_want};
        NPG_TRY(npg_engine_forward(p->engine, &b, &logits));
    }
    for (size_t r = 0; r < n; r++)
        s->seqs[s->b_owner[r]].n_fed = s->seqs[s->b_owner[r]].n_gen;
    s->rows_decoded += n;
    return advance(s, logits, n, false, t_step);
}

/* After the loop: the detokenizer's tail, and the last streamed piece. */
static npg_status finish(npg_decode_session *s) {
    const npg_streamer *streamer = s->p.streamer;
    for (size_t i = 0; i < s->p.n_seqs && !s->cancelled; i++) {
        npg_decode_seq *q = &s->seqs[i];
        if (q->stop_found)
            continue;
        if (q->finish != NPG_FINISH_STOPPED) {
            const char *tail = NULL;
            NPG_TRY(npg_detok_stream_flush(q->detok, &tail));
            if (tail && *tail)
                NPG_TRY(npg_strbuf_append_str(&q->text, tail));
            q->result_len = q->text.len;
        }
        if (streamer && streamer->callback && q->result_len > q->emitted) {
            npg_streaming_status ss = streamer->callback(q->text.data + q->emitted, streamer->user_data);
            if (ss == NPG_STREAMING_CANCEL)
                s->cancelled = true;
        }
    }
    return NPG_OK;
}

npg_status npg_decode_session_run(npg_decode_session *s) {
    const npg_decode_params *p = &s->p;
    if (p->max_new == 0)
        return finish(s);
    float *logits = NULL;
    size_t fresh = p->n_prompt - p->n_cached;
    if (p->prompt_embeds) {
        if (!p->engine->ops->prefill_embeds)
            return npg_fail(NPG_ERR_UNSUPPORTED, "device %s takes no input embeddings (a VLM prompt)",
                            p->engine->ops->device);
        size_t H = (size_t)p->engine->model->cfg.hidden;
        NPG_TRY(p->engine->ops->prefill_embeds(p->engine, p->prompt_embeds + p->n_cached * H,
                                               p->prompt_span ? p->prompt_span + p->n_cached : NULL, fresh,
                                               p->n_cached, &logits));
    } else {
        NPG_TRY(p->engine->ops->prefill(p->engine, p->prompt + p->n_cached, fresh, p->n_cached, &logits));
    }
    for (size_t i = 1; i < p->n_seqs; i++)
        NPG_TRY(npg_engine_copy_seq(p->engine, 0, (int32_t)i, p->n_prompt));
    /* the first id of every sequence comes from the one prefill row */
    for (size_t i = 0; i < p->n_seqs; i++)
        s->b_owner[i] = i;
    NPG_TRY(advance(s, logits, p->n_seqs, true, 0.0));
    for (size_t rows = 1; rows > 0 && !s->cancelled;)
        NPG_TRY(step(s, &rows));
    return finish(s);
}
