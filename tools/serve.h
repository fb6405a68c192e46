/* serve.h — `npugen serve`: an OpenAI-compatible HTTP server over npg_llm_scheduler (docs/server.md).
 *
 * Files: cmd_serve.c (options, models, start/stop), serve_http.c (libmicrohttpd: routing, auth, body
 * limit, responses), serve_openai.c (request JSON -> generation, response JSON), serve_job.c (one HTTP
 * request's scheduler requests: the callback, waiting, the SSE stream), serve_metrics.c (Prometheus
 * text), serve_media.c (data: URLs, multipart uploads), serve_whisper.c (transcriptions), serve_vlm.c
 * (image chat), serve_single.c (the one-request-at-a-time turn of those two), serve_page.html (the
 * chat page at GET /, embedded by CMake). */
#ifndef NPG_TOOLS_SERVE_H
#define NPG_TOOLS_SERVE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "npugen.h"

typedef struct serve_model {
    char *name;
    char *dir;
    npg_llm_pipeline *pipe;        /* a text model's pipeline (NULL for Whisper and VLMs) */
    npg_llm_scheduler *sched;      /* its continuous-batching scheduler */
    npg_whisper_pipeline *whisper; /* a Whisper model: /v1/audio/transcriptions */
    npg_vlm_pipeline *vlm;         /* a VLM: /v1/chat/completions with images */
    /* Whisper and VLM pipelines run one request at a time (no batched scheduler): run_mu serializes
     * them, `pending` counts the requests running or waiting (over 1 + max_queue: 429) */
    pthread_mutex_t run_mu, turn_mu;
    size_t pending;
    pthread_t worker;
    bool worker_started;
    size_t ctx;
    size_t max_queue;
    bool has_chat_template;
    bool supports_images; /* a VLM */
    bool supports_audio;  /* a Whisper model */
    const char *kind;     /* "text", "vlm" or "whisper" (GET /v1/models) */
} serve_model;

enum { SERVE_HIST_BUCKETS = 12, SERVE_MAX_IMAGES = 16 };

typedef struct serve_hist {
    uint64_t counts[SERVE_HIST_BUCKETS + 1]; /* per bucket (non-cumulative), the last is +Inf */
    double sum;
    uint64_t n;
} serve_hist;

typedef struct serve_metrics {
    pthread_mutex_t mu;
    uint64_t by_status[600];
    uint64_t prompt_tokens, completion_tokens;
    serve_hist ttft, tpot;
} serve_metrics;

typedef struct serve_ctx {
    serve_model *models;
    size_t n_models;
    char *api_key; /* NULL: no auth */
    size_t api_key_len;
    size_t max_body;
    unsigned request_timeout_s;
    unsigned idle_timeout_s; /* a connection with nothing to read or write closes after this */
    const char *cors; /* NULL: no CORS headers */
    atomic_bool stopping;
    atomic_uint_fast64_t next_seed;
    serve_metrics metrics;
} serve_ctx;

struct MHD_Connection;
struct serve_job;
struct serve_transcription_form;

/* A response to send: JSON (or text) in body, or a streamed job (SSE). */
typedef struct serve_reply {
    unsigned status;
    char *body; /* malloc'd */
    const char *content_type;
    struct serve_job *stream; /* not NULL: the body is this job's event stream */
    unsigned retry_after;     /* seconds, with 429 */
} serve_reply;

/* serve_openai.c: the endpoints. fd: the client's socket (to notice it leaving). */
void serve_reply_error(serve_reply *r, unsigned status, const char *type, const char *param, const char *code,
                       const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void serve_generate(serve_ctx *ctx, const char *body, size_t len, bool chat, int fd, serve_reply *r);
void serve_list_models(serve_ctx *ctx, const char *one, serve_reply *r);
void serve_transcribe(serve_ctx *ctx, struct MHD_Connection *c, const char *body, size_t len, serve_reply *r);

/* serve_single.c: the pipelines that run one request at a time (Whisper, VLM). serve_single_enter
 * takes the model's turn (false with a 429 in r when 1 + --queue requests are already there). */
bool serve_single_enter(serve_model *model, serve_reply *r);
void serve_single_leave(serve_model *model);
/* POST /v1/chat/completions on a VLM: the parsed request (history with <ov_genai_image_N> tags where
 * the images were, the images in order) generated whole, or streamed as server-sent events. */
void serve_vlm_chat(serve_ctx *ctx, serve_model *model, const npg_chat_history *h, const npg_image *const *images,
                    size_t n_images, npg_generation_config *cfg, bool stream, bool include_usage,
                    serve_reply *r);
/* POST /v1/audio/transcriptions on a Whisper model (the form already checked). */
void serve_whisper_transcribe(serve_model *model, const struct serve_transcription_form *f, serve_reply *r);

/* serve_http.c: starts the daemon on host:port (port 0: any free one, *bound_port tells). */
struct MHD_Daemon *serve_http_start(serve_ctx *ctx, const char *host, unsigned port, unsigned max_conns,
                                    unsigned *bound_port, char *err, size_t err_size);

/* serve_metrics.c */
void serve_metrics_init(serve_metrics *m);
void serve_metrics_destroy(serve_metrics *m);
void serve_metrics_status(serve_metrics *m, unsigned status);
void serve_metrics_tokens(serve_metrics *m, size_t prompt, size_t completion, double ttft_ms, double tpot_ms);
/* The Prometheus text exposition; malloc'd. */
char *serve_metrics_text(serve_ctx *ctx);

/* serve_media.c: a data: URL (RFC 2397) decoded: *mime ("image/png"; "" when absent) and *data
 * (malloc'd). false with *why set when it is not a base64 data: URL or the base64 is malformed. */
bool serve_data_url_decode(const char *url, char *mime, size_t mime_size, unsigned char **data, size_t *len,
                           const char **why);

/* A POST /v1/audio/transcriptions form (multipart/form-data, OpenAI's fields). */
typedef struct serve_transcription_form {
    char model[256];
    char language[32];
    char response_format[32];
    char *prompt;
    unsigned char *file; /* the uploaded audio */
    size_t file_len;
    bool has_file;
    char file_name[256];
    bool words, segments; /* timestamp_granularities[] */
    char temperature[32];   /* "" when absent */
} serve_transcription_form;

/* Parses body[len] (the connection's Content-Type names the boundary). false with err set on a
 * malformed form. Free with serve_transcription_form_free. */
bool serve_transcription_form_parse(struct MHD_Connection *c, const char *body, size_t len,
                                    serve_transcription_form *f, char *err, size_t err_size);
void serve_transcription_form_free(serve_transcription_form *f);

/* The chat page (serve_page.html, embedded by CMake into serve_page_data.c). */
extern const unsigned char serve_page_html[];
extern const unsigned long serve_page_html_len;

#endif
