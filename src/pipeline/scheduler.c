/* scheduler.c — continuous batching over one pipeline (npg_llm_scheduler_*, npugen.h).
 *
 * State: max_seqs slots, each one sequence of the engine's KV cache; a FIFO queue of requests waiting
 * for a slot. A step, under the lock: admit queued requests into free slots (choosing, with prefix
 * reuse, the slot whose cache shares the longest prefix with the prompt, or copying that prefix from
 * a busy slot), then stage one batch: a decode row for every request past its prompt, then prompt
 * rows of prefilling requests (oldest first) up to prefill_chunk. The forward call runs unlocked, so
 * add and cancel never wait for it; the batch holds copies (ids, positions, sequence ids), and a row
 * whose request was cancelled meanwhile is skipped afterwards (its slot may only be reassigned by the
 * stepping thread, so the row's cache write stays consistent with the slot's bookkeeping).
 *
 * Per request the decoding is the decode session's (sampler with its processors, streamed
 * detokenization, stop ids and strings, length): a request's ids do not depend on its neighbours, as
 * rows of one forward call do not mix (docs/runtime.md). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "core/strbuf.h"
#include "core/timer.h"
#include "pipeline/llm_pipeline.h"
#include "pipeline/sampler.h"
#include "pipeline/stop_strings.h"
#include "tokenizer/tokenizer.h"

enum { DEFAULT_SLOTS = 4, DEFAULT_CHUNK = 64, DEFAULT_QUEUE = 64, DEFAULT_MAX_NEW = 256 };

typedef struct sched_req {
    uint64_t id;
    npg_generation_config *cfg; /* own copy, validated */
    npg_sched_callback cb;
    void *user;
    int32_t *prompt;
    size_t n_prompt;
    size_t max_new;
    bool capped; /* max_new was cut to the context: running out is NPG_FINISH_CONTEXT */
    npg_sampler *sampler;
    npg_detok_stream *detok;
    npg_strbuf text;
    int32_t *gen; /* [max_new + 1] */
    size_t n_gen;
    size_t scanned, emitted;
    size_t n_done;   /* prompt ids in the slot's cache */
    size_t n_reused; /* of which came from a cache (prefix reuse) */
    double t_add, ttft_ms;
    int slot; /* -1 while queued */
    struct sched_req *next;
} sched_req;

typedef struct sched_slot {
    sched_req *req; /* NULL: free */
    int32_t *ids;   /* [ctx]: the ids whose keys/values the slot's cache holds at positions [0, n_ids) */
    size_t n_ids;
} sched_slot;

struct npg_llm_scheduler {
    npg_llm_pipeline *pipe;
    npg_engine *engine;
    npg_llm_scheduler_options o;
    size_t vocab, max_rows;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    sched_slot *slots;
    sched_req *q_head, *q_tail;
    size_t n_queued, n_running;
    uint64_t next_id;
    npg_llm_scheduler_stats st;
    /* batch staging [max_rows] */
    int32_t *b_ids, *b_pos, *b_seq;
    uint8_t *b_want;
    size_t *w_slot;   /* wanted row -> slot */
    uint64_t *w_req;  /* wanted row -> request id (a cancelled request's row is skipped) */
    bool *w_prefill;  /* wanted row is a prompt's last row */
    size_t *pf_slots; /* [max_seqs] prefilling slots of a step, oldest request first */
};

static void req_free(sched_req *r) {
    if (!r)
        return;
    npg_generation_config_free(r->cfg);
    npg_sampler_free(r->sampler);
    npg_detok_stream_free(r->detok);
    npg_strbuf_free(&r->text);
    free(r->prompt);
    free(r->gen);
    free(r);
}

npg_status npg_llm_scheduler_create(npg_llm_pipeline *pipe, const npg_llm_scheduler_options *o,
                                    npg_llm_scheduler **out) {
    if (!pipe || !out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_llm_scheduler_create: %s is NULL", !pipe ? "pipe" : "out");
    npg_llm_scheduler_options opt = {0};
    if (o)
        opt = *o;
    if (!opt.max_seqs)
        opt.max_seqs = DEFAULT_SLOTS;
    if (!opt.prefill_chunk)
        opt.prefill_chunk = DEFAULT_CHUNK;
    if (!opt.max_queue)
        opt.max_queue = DEFAULT_QUEUE;
    npg_engine *e = pipe->engine;
    size_t rows = npg_engine_max_rows(e);
    if (rows == 0)
        return npg_engine_forward(e, NULL, NULL); /* the device's refusal, naming it */
    if (opt.max_seqs > rows)
        return npg_fail(NPG_ERR_LIMIT, "scheduler: max_seqs %zu exceeds the %zu rows device %s runs at once",
                        opt.max_seqs, rows, e->ops->device);
    size_t limit = e->ops->context_limit(e);
    if (!opt.ctx || opt.ctx > limit)
        opt.ctx = limit;
    if (opt.ctx < 2)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "scheduler: ctx %zu leaves no room for a prompt and a reply", opt.ctx);
    if (atomic_exchange(&pipe->busy, true))
        return npg_fail(NPG_ERR_INVALID_ARGUMENT,
                        "npg_llm_scheduler_create: the pipeline is in use (a call is running, or another scheduler "
                        "holds it)");
    npg_llm_scheduler *s = calloc(1, sizeof *s);
    if (!s) {
        atomic_store(&pipe->busy, false);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for a scheduler");
    }
    s->pipe = pipe;
    s->engine = e;
    s->o = opt;
    s->vocab = (size_t)e->model->cfg.vocab;
    s->max_rows = rows;
    s->next_id = 1;
    s->st.slots = opt.max_seqs;
    s->st.ctx = opt.ctx;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->slots = calloc(opt.max_seqs, sizeof *s->slots);
    s->b_ids = malloc(rows * sizeof *s->b_ids);
    s->b_pos = malloc(rows * sizeof *s->b_pos);
    s->b_seq = malloc(rows * sizeof *s->b_seq);
    s->b_want = malloc(rows);
    s->w_slot = malloc(rows * sizeof *s->w_slot);
    s->w_req = malloc(rows * sizeof *s->w_req);
    s->w_prefill = malloc(rows * sizeof *s->w_prefill);
    s->pf_slots = malloc(opt.max_seqs * sizeof *s->pf_slots);
    npg_status st = NPG_OK;
    if (!s->slots || !s->b_ids || !s->b_pos || !s->b_seq || !s->b_want || !s->w_slot || !s->w_req || !s->w_prefill ||
        !s->pf_slots)
        st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for a scheduler of %zu sequences", opt.max_seqs);
    for (size_t i = 0; st == NPG_OK && i < opt.max_seqs; i++)
        if (!(s->slots[i].ids = malloc(opt.ctx * sizeof *s->slots[i].ids)))
            st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for %zu slots of %zu positions", opt.max_seqs, opt.ctx);
    if (st == NPG_OK) /* the whole cache up front: steps do not allocate */
        st = npg_engine_reserve_seqs(e, opt.max_seqs, opt.ctx);
    if (st != NPG_OK) {
        npg_llm_scheduler_free(s);
        return st;
    }
    *out = s;
    return NPG_OK;
}

void npg_llm_scheduler_free(npg_llm_scheduler *s) {
    if (!s)
        return;
    for (sched_req *r = s->q_head, *n; r; r = n) {
        n = r->next;
        req_free(r);
    }
    for (size_t i = 0; s->slots && i < s->o.max_seqs; i++) {
        req_free(s->slots[i].req);
        free(s->slots[i].ids);
    }
    free(s->slots);
    free(s->b_ids);
    free(s->b_pos);
    free(s->b_seq);
    free(s->b_want);
    free(s->w_slot);
    free(s->w_req);
    free(s->w_prefill);
    free(s->pf_slots);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    atomic_store(&s->pipe->busy, false);
    free(s);
}

npg_status npg_llm_scheduler_get_generation_config(const npg_llm_scheduler *s, npg_generation_config **config) {
    if (!s || !config)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_llm_scheduler_get_generation_config: an argument is NULL");
    return npg_generation_config_clone(s->pipe->config, config); /* read-only while the scheduler lives */
}

/* Builds a request (everything it will need is allocated here, on the caller's thread); takes `ids`. */
static npg_status req_create(npg_llm_scheduler *s, int32_t *ids, size_t n, const npg_generation_config *config,
                             sched_req **out) {
    const npg_generation_config *cfg = config ? config : s->pipe->config;
    NPG_TRY(npg_generation_config_validate(cfg));
    if (cfg->num_return_sequences != 1)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT,
                        "scheduler: num_return_sequences %zu: add one request per sequence (seed + i)",
                        cfg->num_return_sequences);
    if (n == 0)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "scheduler: the prompt has no tokens: nothing to generate from");
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || (size_t)ids[i] >= s->vocab)
            return npg_fail(NPG_ERR_INVALID_ARGUMENT, "prompt token id %d at index %zu is outside the vocabulary [0, %zu)",
                            ids[i], i, s->vocab);
    if (n + 1 > s->o.ctx)
        return npg_fail(NPG_ERR_LIMIT,
                        "the prompt has %zu tokens; the context holds %zu positions, so no room is left for a reply",
                        n, s->o.ctx);
    NPG_TRY(s->engine->ops->check_request(s->engine, n, 0, cfg));
    size_t max_new = DEFAULT_MAX_NEW;
    if (cfg->max_new_tokens != SIZE_MAX)
        max_new = cfg->max_new_tokens;
    else if (cfg->max_length != SIZE_MAX)
        max_new = cfg->max_length > n ? cfg->max_length - n : 0;
    bool capped = false;
    if (n + max_new > s->o.ctx) {
        max_new = s->o.ctx - n;
        capped = true;
    }
    sched_req *r = calloc(1, sizeof *r);
    NPG_CHECK_ALLOC(r);
    r->slot = -1;
    r->max_new = max_new;
    r->capped = capped;
    npg_status st = npg_generation_config_clone(cfg, &r->cfg);
    if (st == NPG_OK)
        st = npg_sampler_create(r->cfg, s->vocab, n + max_new + 1, &r->sampler);
    if (st == NPG_OK)
        st = npg_sampler_begin(r->sampler, ids, n);
    if (st == NPG_OK)
        st = npg_detok_stream_create(s->pipe->tokenizer, ids, n, true, max_new + 1, &r->detok);
    if (st == NPG_OK && !(r->gen = malloc((max_new + 1) * sizeof *r->gen)))
        st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for %zu new tokens", max_new);
    if (st == NPG_OK)
        st = npg_strbuf_append(&r->text, "", 0);
    if (st != NPG_OK) {
        req_free(r);
        return st;
    }
    r->prompt = ids;
    r->n_prompt = n;
    *out = r;
    return NPG_OK;
}

/* Queues r (taking it) or refuses with the queue full. */
static npg_status enqueue(npg_llm_scheduler *s, sched_req *r, npg_sched_callback cb, void *user, uint64_t *request) {
    r->cb = cb;
    r->user = user;
    r->t_add = npg_now_ms();
    pthread_mutex_lock(&s->mu);
    if (s->n_queued >= s->o.max_queue) {
        size_t q = s->n_queued;
        pthread_mutex_unlock(&s->mu);
        req_free(r);
        return npg_fail(NPG_ERR_BUSY, "scheduler: the queue is full (%zu requests waiting); try again later", q);
    }
    r->id = s->next_id++;
    if (s->q_tail)
        s->q_tail->next = r;
    else
        s->q_head = r;
    s->q_tail = r;
    s->n_queued++;
    *request = r->id;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NPG_OK;
}

static npg_status add_owned(npg_llm_scheduler *s, int32_t *ids, size_t n, const npg_generation_config *config,
                            npg_sched_callback cb, void *user, uint64_t *request) {
    sched_req *r = NULL;
    npg_status st = req_create(s, ids, n, config, &r);
    if (st != NPG_OK) {
        free(ids);
        return st;
    }
    return enqueue(s, r, cb, user, request);
}

npg_status npg_llm_scheduler_add_ids(npg_llm_scheduler *s, const int32_t *ids, size_t n_ids,
                                     const npg_generation_config *config, npg_sched_callback callback, void *user_data,
                                     uint64_t *request) {
    if (!s || (!ids && n_ids) || !callback || !request)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_llm_scheduler_add_ids: %s is NULL",
                        !s ? "scheduler" : !callback ? "callback" : !request ? "request" : "ids");
    int32_t *copy = malloc((n_ids ? n_ids : 1) * sizeof *copy);
    NPG_CHECK_ALLOC(copy);
    if (n_ids)
        memcpy(copy, ids, n_ids * sizeof *ids);
    return add_owned(s, copy, n_ids, config, callback, user_data, request);
}

npg_status npg_llm_scheduler_add_text(npg_llm_scheduler *s, const char *prompt, const npg_generation_config *config,
                                      npg_sched_callback callback, void *user_data, uint64_t *request) {
    if (!s || !prompt || !callback || !request)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_llm_scheduler_add_text: %s is NULL",
                        !s ? "scheduler" : !prompt ? "prompt" : !callback ? "callback" : "request");
    int32_t *ids = NULL;
    size_t n = 0;
    NPG_TRY(npg_tokenizer_encode(s->pipe->tokenizer, prompt, true, &ids, &n));
    return add_owned(s, ids, n, config, callback, user_data, request);
}

npg_status npg_llm_scheduler_add_chat(npg_llm_scheduler *s, const npg_chat_history *history,
                                      const npg_generation_config *config, npg_sched_callback callback,
                                      void *user_data, uint64_t *request) {
    if (!s || !history || !callback || !request)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_llm_scheduler_add_chat: %s is NULL",
                        !s ? "scheduler" : !history ? "history" : !callback ? "callback" : "request");
    int32_t *ids = NULL;
    size_t n = 0;
    NPG_TRY(npg_pipeline_render_history_ids(s->pipe, history, &ids, &n));
    return add_owned(s, ids, n, config, callback, user_data, request);
}

/* Removes a request from wherever it is (queue or slot); the caller holds the lock. */
static bool detach(npg_llm_scheduler *s, uint64_t id, sched_req **out) {
    for (sched_req **pp = &s->q_head, *prev = NULL; *pp; prev = *pp, pp = &(*pp)->next)
        if ((*pp)->id == id) {
            sched_req *r = *pp;
            *pp = r->next;
            if (s->q_tail == r)
                s->q_tail = prev;
            s->n_queued--;
            *out = r;
            return true;
        }
    for (size_t i = 0; i < s->o.max_seqs; i++)
        if (s->slots[i].req && s->slots[i].req->id == id) {
            *out = s->slots[i].req;
            s->slots[i].req = NULL;
            s->n_running--;
            return true;
        }
    return false;
}

npg_status npg_llm_scheduler_cancel(npg_llm_scheduler *s, uint64_t request) {
    if (!s)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_llm_scheduler_cancel: scheduler is NULL");
    sched_req *r = NULL;
    pthread_mutex_lock(&s->mu);
    bool found = detach(s, request, &r);
    pthread_mutex_unlock(&s->mu);
    if (!found)
        return npg_fail(NPG_ERR_NOT_FOUND, "scheduler: request %llu is not queued or running (it ended)",
                        (unsigned long long)request);
    req_free(r);
    return NPG_OK;
}

npg_status npg_llm_scheduler_wait(npg_llm_scheduler *s, unsigned timeout_ms) {
    if (!s)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_llm_scheduler_wait: scheduler is NULL");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    while (!s->q_head && !s->n_running)
        if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) != 0)
            break;
    pthread_mutex_unlock(&s->mu);
    return NPG_OK;
}

npg_status npg_llm_scheduler_get_stats(const npg_llm_scheduler *s, npg_llm_scheduler_stats *out) {
    if (!s || !out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_llm_scheduler_get_stats: an argument is NULL");
    npg_llm_scheduler *m = (npg_llm_scheduler *)s; /* the lock is mutable state of a const-used handle */
    pthread_mutex_lock(&m->mu);
    *out = m->st;
    out->running = m->n_running;
    out->queued = m->n_queued;
    pthread_mutex_unlock(&m->mu);
    return NPG_OK;
}

/* ---- a step ----------------------------------------------------------------------------------- */

static size_t common_prefix(const int32_t *a, size_t na, const int32_t *b, size_t nb) {
    size_t k = 0;
    while (k < na && k < nb && a[k] == b[k])
        k++;
    return k;
}

/* Puts the oldest queued request into a free slot, reusing the longest cached prefix. */
static npg_status admit_one(npg_llm_scheduler *s, bool *admitted) {
    *admitted = false;
    sched_req *r = s->q_head;
    if (!r || s->n_running == s->o.max_seqs)
        return NPG_OK;
    size_t best_free = SIZE_MAX, best_free_k = 0, best_src = SIZE_MAX, best_src_k = 0;
    for (size_t i = 0; i < s->o.max_seqs; i++) {
        sched_slot *sl = &s->slots[i];
        size_t k = s->o.prefix_reuse ? common_prefix(sl->ids, sl->n_ids, r->prompt, r->n_prompt) : 0;
        if (!sl->req && (best_free == SIZE_MAX || k > best_free_k)) {
            best_free = i;
            best_free_k = k;
        }
        if (k > best_src_k) {
            best_src = i;
            best_src_k = k;
        }
    }
    s->q_head = r->next;
    if (!s->q_head)
        s->q_tail = NULL;
    r->next = NULL;
    s->n_queued--;
    sched_slot *sl = &s->slots[best_free];
    size_t reuse = best_free_k;
    if (best_src != SIZE_MAX && best_src_k > best_free_k) { /* another slot holds more: copy its prefix */
        npg_status st = npg_engine_copy_seq(s->engine, (int32_t)best_src, (int32_t)best_free, best_src_k);
        if (st == NPG_OK) {
            memcpy(sl->ids, s->slots[best_src].ids, best_src_k * sizeof *sl->ids);
            reuse = best_src_k;
        }
    }
    if (reuse >= r->n_prompt) /* one prompt id is always fed: its logits start the reply */
        reuse = r->n_prompt - 1;
    sl->n_ids = reuse;
    sl->req = r;
    r->slot = (int)best_free;
    r->n_done = r->n_reused = reuse;
    s->n_running++;
    s->st.prompt_tokens += r->n_prompt;
    s->st.reused_tokens += reuse;
    *admitted = true;
    return NPG_OK;
}

static void stage_row(npg_llm_scheduler *s, size_t *n, size_t *n_want, size_t slot, int32_t id, size_t pos,
                      bool want, bool last_prompt_row) {
    sched_slot *sl = &s->slots[slot];
    s->b_ids[*n] = id;
    s->b_pos[*n] = (int32_t)pos;
    s->b_seq[*n] = (int32_t)slot;
    s->b_want[*n] = want;
    sl->ids[pos] = id; /* the forward call writes this position of the slot's cache */
    if (pos + 1 > sl->n_ids)
        sl->n_ids = pos + 1;
    (*n)++;
    if (want) {
        s->w_slot[*n_want] = slot;
        s->w_req[*n_want] = sl->req->id;
        s->w_prefill[*n_want] = last_prompt_row;
        (*n_want)++;
    }
}

/* The batch of this step: decode rows, then prompt rows (oldest request first) up to the chunk. */
static size_t stage(npg_llm_scheduler *s, size_t *n_want) {
    size_t n = 0, n_pf = 0;
    *n_want = 0;
    for (size_t i = 0; i < s->o.max_seqs; i++) {
        sched_req *r = s->slots[i].req;
        if (!r)
            continue;
        if (r->n_done < r->n_prompt) {
            size_t k = n_pf++;
            while (k > 0 && s->slots[s->pf_slots[k - 1]].req->id > r->id) {
                s->pf_slots[k] = s->pf_slots[k - 1];
                k--;
            }
            s->pf_slots[k] = i;
        } else {
            stage_row(s, &n, n_want, i, r->gen[r->n_gen - 1], r->n_prompt + r->n_gen - 1, true, false);
        }
    }
    size_t budget = s->o.prefill_chunk;
    if (budget > s->max_rows - n)
        budget = s->max_rows - n;
    for (size_t j = 0; j < n_pf && budget > 0; j++) {
        sched_req *r = s->slots[s->pf_slots[j]].req;
        size_t take = r->n_prompt - r->n_done;
        if (take > budget)
            take = budget;
        for (size_t k = 0; k < take; k++) {
            size_t pos = r->n_done + k;
            bool last = pos + 1 == r->n_prompt;
            stage_row(s, &n, n_want, s->pf_slots[j], r->prompt[pos], pos, last, last);
        }
        r->n_done += take;
        budget -= take;
    }
    return n;
}

static npg_streaming_status emit(npg_llm_scheduler *s, sched_req *r, npg_sched_event_kind kind, const char *text,
                                 npg_finish_reason finish, npg_status status, const char *error) {
    (void)s;
    npg_sched_event ev = {.kind = kind,
                          .request = r->id,
                          .text = text,
                          .finish = finish,
                          .status = status,
                          .error = error ? error : "",
                          .n_prompt = r->n_prompt,
                          .n_reused = r->n_reused,
                          .n_generated = r->n_gen,
                          .ttft_ms = r->ttft_ms};
    return r->cb(&ev, r->user);
}

/* Streams text[emitted, upto) as one TEXT event. */
static npg_streaming_status stream_to(npg_llm_scheduler *s, sched_req *r, size_t upto) {
    if (upto <= r->emitted)
        return NPG_STREAMING_RUNNING;
    char saved = r->text.data[upto];
    r->text.data[upto] = '\0';
    npg_streaming_status ss = emit(s, r, NPG_SCHED_TEXT, r->text.data + r->emitted, NPG_FINISH_NONE, NPG_OK, NULL);
    r->text.data[upto] = saved;
    r->emitted = upto;
    return ss;
}

/* Ends the request in `slot`: DONE (unless the callback cancelled), slot freed. */
static void finish_req(npg_llm_scheduler *s, size_t slot, npg_finish_reason why, npg_status status, const char *error,
                       bool silent) {
    sched_req *r = s->slots[slot].req;
    if (!silent)
        emit(s, r, NPG_SCHED_DONE, NULL, why, status, error);
    s->slots[slot].req = NULL;
    s->n_running--;
    req_free(r);
}

/* The request's newest logits row: choose an id, then its stop criteria and streaming. */
static void advance(npg_llm_scheduler *s, size_t slot, float *logits) {
    sched_req *r = s->slots[slot].req;
    npg_sampler_apply_penalties(r->sampler, logits);
    npg_sampler_mask_early_stop(r->sampler, logits, r->n_gen);
    int32_t id = npg_sampler_pick(r->sampler, logits);
    npg_sampler_accept(r->sampler, id);
    r->gen[r->n_gen++] = id;
    if (r->n_gen == 1)
        r->ttft_ms = npg_now_ms() - r->t_add;
    s->st.generated_tokens++;
    if (npg_generation_config_is_stop_id(r->cfg, id)) {
        const char *tail = NULL;
        npg_status st = npg_detok_stream_flush(r->detok, &tail);
        if (st == NPG_OK && tail && *tail)
            st = npg_strbuf_append_str(&r->text, tail);
        if (st != NPG_OK) {
            finish_req(s, slot, NPG_FINISH_NONE, st, npg_last_error(), false);
            return;
        }
        npg_stop_match m;
        npg_stop_strings_scan_config(r->cfg, r->text.data, r->text.len, r->scanned, &m);
        if (stream_to(s, r, m.found ? m.safe_len : r->text.len) == NPG_STREAMING_CANCEL)
            finish_req(s, slot, NPG_FINISH_NONE, NPG_OK, NULL, true);
        else
            finish_req(s, slot, NPG_FINISH_EOS, NPG_OK, NULL, false);
        return;
    }
    const char *piece = NULL;
    npg_status st = npg_detok_stream_push(r->detok, id, &piece);
    if (st == NPG_OK)
        st = npg_strbuf_append_str(&r->text, piece);
    if (st != NPG_OK) {
        finish_req(s, slot, NPG_FINISH_NONE, st, npg_last_error(), false);
        return;
    }
    npg_stop_match m;
    npg_stop_strings_scan_config(r->cfg, r->text.data, r->text.len, r->scanned, &m);
    r->scanned = r->text.len;
    bool last = m.found || r->n_gen == r->max_new;
    if (last && !m.found) { /* the detokenizer's tail and the held-back rest are final now */
        const char *tail = NULL;
        st = npg_detok_stream_flush(r->detok, &tail);
        if (st == NPG_OK && tail && *tail)
            st = npg_strbuf_append_str(&r->text, tail);
        if (st != NPG_OK) {
            finish_req(s, slot, NPG_FINISH_NONE, st, npg_last_error(), false);
            return;
        }
        npg_stop_strings_scan_config(r->cfg, r->text.data, r->text.len, 0, &m);
        if (!m.found)
            m.safe_len = r->text.len;
    }
    npg_streaming_status ss = stream_to(s, r, m.safe_len);
    if (ss == NPG_STREAMING_CANCEL)
        finish_req(s, slot, NPG_FINISH_NONE, NPG_OK, NULL, true);
    else if (ss == NPG_STREAMING_STOP)
        finish_req(s, slot, NPG_FINISH_STOPPED, NPG_OK, NULL, false);
    else if (m.found)
        finish_req(s, slot, NPG_FINISH_EOS, NPG_OK, NULL, false);
    else if (r->n_gen == r->max_new)
        finish_req(s, slot, r->capped ? NPG_FINISH_CONTEXT : NPG_FINISH_LENGTH, NPG_OK, NULL, false);
}

npg_status npg_llm_scheduler_step(npg_llm_scheduler *s, size_t *n_busy) {
    if (!s)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_llm_scheduler_step: scheduler is NULL");
    pthread_mutex_lock(&s->mu);
    for (bool more = true; more;)
        admit_one(s, &more);
    /* a request with nothing to generate ends at once */
    for (size_t i = 0; i < s->o.max_seqs; i++)
        if (s->slots[i].req && s->slots[i].req->max_new == 0)
            finish_req(s, i, s->slots[i].req->capped ? NPG_FINISH_CONTEXT : NPG_FINISH_LENGTH, NPG_OK, NULL, false);
    size_t n_want = 0, n = stage(s, &n_want);
    pthread_mutex_unlock(&s->mu);
    float *logits = NULL;
    npg_status st = NPG_OK;
    if (n > 0) {
        npg_batch b = {.n = (int64_t)n, .ids = s->b_ids, .pos = s->b_pos, .seq = s->b_seq, .want_logits = s->b_want};
        st = npg_engine_forward(s->engine, &b, &logits);
    }
    pthread_mutex_lock(&s->mu);
    if (n > 0)
        s->st.steps++;
    char err[512] = "";
    if (st != NPG_OK) /* every request with a row in the failed call ends with the failure */
        snprintf(err, sizeof err, "%s", npg_last_error());
    for (size_t w = 0; w < n_want && st == NPG_OK; w++) {
        size_t slot = s->w_slot[w];
        sched_req *r = s->slots[slot].req;
        if (r && r->id == s->w_req[w]) /* else cancelled during the forward call */
            advance(s, slot, logits + w * s->vocab);
    }
    for (size_t i = 0; i < n && st != NPG_OK; i++) {
        size_t slot = (size_t)s->b_seq[i];
        s->slots[slot].n_ids = 0; /* what the failed call wrote is unknown */
        if (s->slots[slot].req)
            finish_req(s, slot, NPG_FINISH_NONE, st, err, false);
    }
    if (n_busy)
        *n_busy = s->n_running + s->n_queued;
    pthread_mutex_unlock(&s->mu);
    return NPG_OK;
}
