/* serve_job.c — see serve_job.h. Locking: the scheduler calls on_event with its own lock held and
 * on_event takes the job's; the job side never calls the scheduler while holding the job's lock, so
 * the two never wait on each other in opposite orders. After serve_job_free's cancel calls return no
 * callback can reach the job (npg_llm_scheduler_cancel's promise), so it is freed without refcounts. */
#include "serve_job.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static bool grow(char **buf, size_t *cap, size_t need) {
    if (need <= *cap)
        return true;
    size_t nc = *cap ? *cap : 256;
    while (nc < need)
        nc *= 2;
    char *nb = realloc(*buf, nc);
    if (!nb)
        return false;
    *buf = nb;
    *cap = nc;
    return true;
}

static bool append(char **buf, size_t *len, size_t *cap, const char *s, size_t n) {
    if (!grow(buf, cap, *len + n + 1))
        return false;
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
    return true;
}

serve_job *serve_job_create(serve_ctx *ctx, serve_model *model, serve_job_kind kind, size_t n, bool stream) {
    serve_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->ch = calloc(n, sizeof *j->ch);
    if (!j->ch) {
        free(j);
        return NULL;
    }
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    j->ctx = ctx;
    j->model = model;
    j->kind = kind;
    j->n = n;
    j->stream = stream;
    j->fd = -1;
    j->created = (long long)time(NULL);
    j->deadline_ms = now_ms() + 1000.0 * ctx->request_timeout_s;
    uint64_t r = atomic_fetch_add(&ctx->next_seed, 0x9E3779B97F4A7C15ull);
    snprintf(j->id, sizeof j->id, "%s%016llx%08llx", kind == SERVE_JOB_CHAT ? "chatcmpl-" : "cmpl-",
             (unsigned long long)r, (unsigned long long)j->created & 0xffffffffull);
    for (size_t i = 0; i < n; i++) {
        j->ch[i].job = j;
        j->ch[i].index = i;
    }
    return j;
}

static npg_streaming_status on_event(const npg_sched_event *ev, void *user) {
    serve_choice *c = user;
    serve_job *j = c->job;
    npg_streaming_status ret = NPG_STREAMING_RUNNING;
    pthread_mutex_lock(&j->mu);
    c->n_prompt = ev->n_prompt;
    c->n_gen = ev->n_generated;
    if (ev->kind == NPG_SCHED_TEXT) {
        if (c->t_first_ms == 0) {
            c->t_first_ms = now_ms();
            c->ttft_ms = ev->ttft_ms;
        }
        if (!append(&c->text, &c->len, &c->cap, ev->text, strlen(ev->text))) {
            c->done = true;
            c->status = NPG_ERR_OUT_OF_MEMORY;
            snprintf(c->err, sizeof c->err, "out of memory for the reply");
            ret = NPG_STREAMING_CANCEL;
        }
    } else {
        c->done = true;
        c->finish = ev->finish;
        c->status = ev->status;
        c->ttft_ms = ev->ttft_ms;
        c->t_done_ms = now_ms();
        if (ev->status != NPG_OK)
            snprintf(c->err, sizeof c->err, "%s", ev->error);
    }
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    return ret;
}

npg_status serve_job_add(serve_job *job, const npg_chat_history *history, const char *text, const int32_t *ids,
                         size_t n_ids, npg_generation_config *cfg, uint64_t seed) {
    npg_llm_scheduler *s = job->model->sched;
    for (size_t i = 0; i < job->n; i++) {
        serve_choice *c = &job->ch[i];
        npg_status st = npg_generation_config_set_rng_seed(cfg, seed + i);
        uint64_t id = 0;
        if (st == NPG_OK)
            st = history ? npg_llm_scheduler_add_chat(s, history, cfg, on_event, c, &id)
                 : text  ? npg_llm_scheduler_add_text(s, text, cfg, on_event, c, &id)
                         : npg_llm_scheduler_add_ids(s, ids, n_ids, cfg, on_event, c, &id);
        if (st != NPG_OK) {
            for (size_t k = 0; k < i; k++)
                if (npg_llm_scheduler_cancel(s, job->ch[k].sched_id) == NPG_OK)
                    job->ch[k].added = false;
            return st;
        }
        pthread_mutex_lock(&job->mu);
        c->sched_id = id;
        c->added = true;
        pthread_mutex_unlock(&job->mu);
    }
    return NPG_OK;
}

/* The peer closed its end (or the socket failed): nobody reads the reply any more. */
static bool client_gone(int fd) {
    if (fd < 0)
        return false;
    char b;
    ssize_t r = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (r == 0)
        return true;
    return r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

static bool all_done(const serve_job *j) {
    for (size_t i = 0; i < j->n; i++)
        if (!j->ch[i].done)
            return false;
    return true;
}

/* Waits (job lock held) up to 100 ms for news; the reason to give up, or DONE to go on. */
static serve_wait_result wait_tick(serve_job *j) {
    if (atomic_load(&j->ctx->stopping))
        return SERVE_WAIT_STOPPING;
    if (now_ms() > j->deadline_ms)
        return SERVE_WAIT_TIMEOUT;
    if (client_gone(j->fd))
        return SERVE_WAIT_GONE;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 100 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&j->cv, &j->mu, &ts);
    return SERVE_WAIT_DONE;
}

serve_wait_result serve_job_wait(serve_job *j) {
    pthread_mutex_lock(&j->mu);
    serve_wait_result r = SERVE_WAIT_DONE;
    while (!all_done(j) && (r = wait_tick(j)) == SERVE_WAIT_DONE) {
    }
    pthread_mutex_unlock(&j->mu);
    return r;
}

void serve_job_metrics(serve_job *j) {
    if (j->metrics_done)
        return;
    j->metrics_done = true;
    for (size_t i = 0; i < j->n; i++) {
        serve_choice *c = &j->ch[i];
        if (!c->done || c->status != NPG_OK)
            continue;
        double tpot = c->n_gen > 1 && c->t_first_ms > 0 ? (c->t_done_ms - c->t_first_ms) / (double)(c->n_gen - 1) : -1;
        serve_metrics_tokens(&j->ctx->metrics, i == 0 ? c->n_prompt : 0, c->n_gen, c->n_gen ? c->ttft_ms : -1, tpot);
    }
}

void serve_job_free(serve_job *j) {
    if (!j)
        return;
    for (size_t i = 0; i < j->n; i++) /* no callback can reach the job after this */
        if (j->ch[i].added)
            npg_llm_scheduler_cancel(j->model->sched, j->ch[i].sched_id);
    for (size_t i = 0; i < j->n; i++)
        free(j->ch[i].text);
    free(j->ch);
    free(j->echo);
    free(j->out);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    free(j);
}

const char *serve_finish_reason(npg_finish_reason f) {
    switch (f) {
    case NPG_FINISH_LENGTH:
    case NPG_FINISH_CONTEXT:
        return "length";
    default:
        return "stop";
    }
}

static cJSON *usage_json(const serve_job *j) {
    size_t completion = 0;
    for (size_t i = 0; i < j->n; i++)
        completion += j->ch[i].n_gen;
    cJSON *u = cJSON_CreateObject();
    cJSON_AddNumberToObject(u, "prompt_tokens", (double)j->ch[0].n_prompt);
    cJSON_AddNumberToObject(u, "completion_tokens", (double)completion);
    cJSON_AddNumberToObject(u, "total_tokens", (double)(j->ch[0].n_prompt + completion));
    return u;
}

static cJSON *envelope(const serve_job *j, bool chunk) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", j->id);
    cJSON_AddStringToObject(o, "object",
                            j->kind == SERVE_JOB_CHAT ? (chunk ? "chat.completion.chunk" : "chat.completion")
                                                      : "text_completion");
    cJSON_AddNumberToObject(o, "created", (double)j->created);
    cJSON_AddStringToObject(o, "model", j->model->name);
    cJSON_AddNullToObject(o, "system_fingerprint");
    return o;
}

char *serve_job_response_json(serve_job *j) {
    cJSON *o = envelope(j, false);
    cJSON *choices = cJSON_AddArrayToObject(o, "choices");
    for (size_t i = 0; i < j->n; i++) {
        serve_choice *c = &j->ch[i];
        cJSON *ch = cJSON_CreateObject();
        cJSON_AddNumberToObject(ch, "index", (double)i);
        const char *text = c->text ? c->text : "";
        if (j->kind == SERVE_JOB_CHAT) {
            cJSON *m = cJSON_AddObjectToObject(ch, "message");
            cJSON_AddStringToObject(m, "role", "assistant");
            cJSON_AddStringToObject(m, "content", text);
            cJSON_AddNullToObject(m, "refusal");
        } else {
            size_t el = j->echo ? strlen(j->echo) : 0, tl = strlen(text);
            char *full = malloc(el + tl + 1);
            if (full) {
                memcpy(full, j->echo ? j->echo : "", el);
                memcpy(full + el, text, tl + 1);
            }
            cJSON_AddStringToObject(ch, "text", full ? full : text);
            free(full);
        }
        cJSON_AddNullToObject(ch, "logprobs");
        cJSON_AddStringToObject(ch, "finish_reason", serve_finish_reason(c->finish));
        cJSON_AddItemToArray(choices, ch);
    }
    cJSON_AddItemToObject(o, "usage", usage_json(j));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* ---- the SSE body ----------------------------------------------------------------------------- */

static void stage_event(serve_job *j, cJSON *o) {
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        return;
    append(&j->out, &j->out_len, &j->out_cap, "data: ", 6);
    append(&j->out, &j->out_len, &j->out_cap, s, strlen(s));
    append(&j->out, &j->out_len, &j->out_cap, "\n\n", 2);
    free(s);
}

/* One chunk for choice i: a delta (text, role) and/or a finish reason. */
static void stage_chunk(serve_job *j, size_t i, const char *text, bool role, const char *finish) {
    cJSON *o = envelope(j, true);
    cJSON *choices = cJSON_AddArrayToObject(o, "choices");
    cJSON *ch = cJSON_CreateObject();
    cJSON_AddNumberToObject(ch, "index", (double)i);
    if (j->kind == SERVE_JOB_CHAT) {
        cJSON *d = cJSON_AddObjectToObject(ch, "delta");
        if (role)
            cJSON_AddStringToObject(d, "role", "assistant");
        if (text)
            cJSON_AddStringToObject(d, "content", text);
    } else {
        cJSON_AddStringToObject(ch, "text", text ? text : "");
    }
    cJSON_AddNullToObject(ch, "logprobs");
    if (finish)
        cJSON_AddStringToObject(ch, "finish_reason", finish);
    else
        cJSON_AddNullToObject(ch, "finish_reason");
    cJSON_AddItemToArray(choices, ch);
    if (j->include_usage)
        cJSON_AddNullToObject(o, "usage");
    stage_event(j, o);
}

static void stage_error(serve_job *j, const char *message, const char *type, const char *code) {
    cJSON *o = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "message", message);
    cJSON_AddStringToObject(e, "type", type);
    cJSON_AddNullToObject(e, "param");
    cJSON_AddStringToObject(e, "code", code);
    stage_event(j, o);
}

/* Stages what is new (job lock held); true when anything was staged. */
static bool stage_news(serve_job *j) {
    size_t before = j->out_len;
    if (j->phase == 0) {
        for (size_t i = 0; i < j->n; i++) {
            if (j->kind == SERVE_JOB_CHAT)
                stage_chunk(j, i, "", true, NULL);
            else if (j->echo)
                stage_chunk(j, i, j->echo, false, NULL);
        }
        j->phase = 1;
    }
    for (size_t i = 0; i < j->n; i++) {
        serve_choice *c = &j->ch[i];
        if (c->len > c->sent) {
            stage_chunk(j, i, c->text + c->sent, false, NULL);
            c->sent = c->len;
        }
        if (c->done && !c->final_sent) {
            if (c->status != NPG_OK)
                stage_error(j, c->err, "server_error", "generation_failed");
            else
                stage_chunk(j, i, NULL, false, serve_finish_reason(c->finish));
            c->final_sent = true;
        }
    }
    if (j->phase == 1 && all_done(j)) {
        if (j->include_usage) {
            cJSON *o = envelope(j, true);
            cJSON_AddArrayToObject(o, "choices");
            cJSON_AddItemToObject(o, "usage", usage_json(j));
            stage_event(j, o);
        }
        append(&j->out, &j->out_len, &j->out_cap, "data: [DONE]\n\n", 14);
        j->phase = 3;
        serve_job_metrics(j);
        if (j->conn) /* the reply is complete: an idle keep-alive connection may time out again */
            MHD_set_connection_option(j->conn, MHD_CONNECTION_OPTION_TIMEOUT, j->ctx->idle_timeout_s);
    }
    return j->out_len > before;
}

ssize_t serve_job_sse_read(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    serve_job *j = cls;
    for (;;) {
        if (j->out_off < j->out_len) {
            size_t n = j->out_len - j->out_off;
            if (n > max)
                n = max;
            memcpy(buf, j->out + j->out_off, n);
            j->out_off += n;
            return (ssize_t)n;
        }
        j->out_len = j->out_off = 0;
        if (j->phase == 3)
            return MHD_CONTENT_READER_END_OF_STREAM;
        pthread_mutex_lock(&j->mu);
        serve_wait_result r = SERVE_WAIT_DONE;
        while (!stage_news(j) && (r = wait_tick(j)) == SERVE_WAIT_DONE) {
        }
        pthread_mutex_unlock(&j->mu);
        if (r == SERVE_WAIT_GONE || r == SERVE_WAIT_STOPPING)
            return MHD_CONTENT_READER_END_WITH_ERROR; /* serve_job_sse_free cancels the choices */
        if (r == SERVE_WAIT_TIMEOUT) {
            char msg[128];
            snprintf(msg, sizeof msg, "the request ran past --request-timeout (%u s) and was cancelled",
                     j->ctx->request_timeout_s);
            stage_error(j, msg, "timeout_error", "request_timeout");
            append(&j->out, &j->out_len, &j->out_cap, "data: [DONE]\n\n", 14);
            j->phase = 3;
        }
    }
}

void serve_job_sse_free(void *cls) { serve_job_free(cls); }
