/* serve_job.h — one HTTP generation request: its n scheduler requests (choices), the text they
 * stream, waiting for them (noticing a client that went away or the request timeout), and the
 * server-sent-events body of a streamed response. */
#ifndef NPG_TOOLS_SERVE_JOB_H
#define NPG_TOOLS_SERVE_JOB_H

#include <stdint.h>
#include <sys/types.h>

#include "serve.h"

typedef struct serve_choice {
    struct serve_job *job;
    size_t index;
    uint64_t sched_id;
    bool added, done;
    bool final_sent; /* its last SSE chunk (finish_reason or error) is staged */
    char *text; /* everything streamed so far */
    size_t len, cap;
    size_t sent; /* bytes already put into the SSE body */
    npg_finish_reason finish;
    npg_status status;
    char err[256];
    size_t n_prompt, n_gen;
    double ttft_ms, t_first_ms, t_done_ms;
} serve_choice;

typedef enum serve_job_kind { SERVE_JOB_CHAT, SERVE_JOB_COMPLETION } serve_job_kind;

typedef enum serve_wait_result { SERVE_WAIT_DONE, SERVE_WAIT_GONE, SERVE_WAIT_TIMEOUT, SERVE_WAIT_STOPPING } serve_wait_result;

typedef struct serve_job {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    serve_ctx *ctx;
    serve_model *model;
    serve_job_kind kind;
    serve_choice *ch;
    size_t n;
    bool stream, include_usage;
    char id[48];
    long long created;
    char *echo; /* completions with echo: the prompt, put before the text */
    int fd;     /* the client's socket (-1: unknown) */
    struct MHD_Connection *conn; /* its idle timeout is off while the job runs, back on at the end */
    double deadline_ms;
    bool metrics_done;
    /* the SSE body: staged bytes and how far the reader has taken them */
    char *out;
    size_t out_len, out_cap, out_off;
    int phase; /* 0: role chunk next, 1: streaming, 2: final chunks sent, 3: [DONE] sent */
} serve_job;

serve_job *serve_job_create(serve_ctx *ctx, serve_model *model, serve_job_kind kind, size_t n, bool stream);
/* Queues the n choices (choice i seeded seed + i) from a history, a text or ids (one of them). On a
 * failure the choices already queued are cancelled. */
npg_status serve_job_add(serve_job *job, const npg_chat_history *history, const char *text, const int32_t *ids,
                         size_t n_ids, npg_generation_config *cfg, uint64_t seed);
/* Blocks until every choice ended, the client went away, the deadline passed or the server stops. */
serve_wait_result serve_job_wait(serve_job *job);
/* Cancels the choices still running and frees everything (no callback can follow). NULL is ok. */
void serve_job_free(serve_job *job);
/* The OpenAI finish_reason of a choice. */
const char *serve_finish_reason(npg_finish_reason f);
/* The response body of a finished non-streamed job (chat.completion / text_completion); malloc'd. */
char *serve_job_response_json(serve_job *job);
/* libmicrohttpd content reader for the SSE body; the job is freed by serve_job_sse_free. */
ssize_t serve_job_sse_read(void *cls, uint64_t pos, char *buf, size_t max);
void serve_job_sse_free(void *cls);
/* Records the job's tokens and latencies in the server metrics (once). */
void serve_job_metrics(serve_job *job);

#endif
