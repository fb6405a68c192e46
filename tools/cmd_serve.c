/* cmd_serve.c — `npugen serve`: options, loading the models (one pipeline and one continuous-batching
 * scheduler each, stepped by its own worker thread), starting the HTTP server, and stopping cleanly
 * on SIGINT / SIGTERM. The endpoints are in serve_openai.c, the HTTP side in serve_http.c. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "serve.h"

static const char *const CMD = "serve";

enum { MAX_MODELS = 16 };

static void usage(FILE *fp) {
    fprintf(fp,
            "usage: npugen serve [MODEL_DIR] [--model NAME=DIR]... [options]\n\n"
            "Serves models over an OpenAI-compatible HTTP API (docs/server.md): POST /v1/chat/completions,\n"
            "POST /v1/completions, GET /v1/models, POST /v1/audio/transcriptions, GET /health, GET /metrics,\n"
            "and a chat page at GET /. Up to --parallel requests per model decode together (continuous\n"
            "batching). MODEL_DIR is served under its folder name; --model serves DIR under NAME. A Whisper\n"
            "folder answers /v1/audio/transcriptions, a vision-language folder (Gemma-3, LLaVA) chat with\n"
            "image parts; those run one request at a time per model.\n\n"
            "  --model NAME=DIR           serve DIR as NAME (repeatable)\n"
            "  --host ADDR                address to listen on (default 127.0.0.1)\n"
            "  --port N                   port (default 8080; 0: any free port, printed)\n"
            "  --device CPU|NPU           device (default CPU; continuous batching needs CPU)\n"
            "  -c, --config KEY=VALUE     pipeline property, e.g. -c NUM_THREADS=2 (repeatable)\n"
            "  --parallel N               sequences decoded together per model (default 4)\n"
            "  --ctx N                    positions per sequence (default: min(model context, 4096))\n"
            "  --queue N                  requests waiting per model before 429 (default 64)\n"
            "  --api-key-file F           require 'Authorization: Bearer KEY', KEY = F's first line\n"
            "  --max-body BYTES           largest request body (default 16777216; else 413)\n"
            "  --request-timeout S        longest request, in seconds; idle connections close after\n"
            "                             min(S, 30) s (default 600)\n"
            "  --cors ORIGIN              send Access-Control-Allow-Origin: ORIGIN\n");
}

typedef struct serve_opts {
    const char *names[MAX_MODELS], *dirs[MAX_MODELS];
    size_t n_models;
    const char *host, *device, *key_file, *cors;
    unsigned port;
    long long parallel, ctx, queue, max_body, timeout;
} serve_opts;

/* The folder's last component: the model's default name. */
static const char *base_name(const char *dir) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    const char *p = dir + n;
    while (p > dir && p[-1] != '/')
        p--;
    static _Thread_local char buf[256]; /* copied into the model before the next call */
    size_t len = (size_t)(dir + n - p);
    if (len >= sizeof buf)
        len = sizeof buf - 1;
    memcpy(buf, p, len);
    buf[len] = '\0';
    return buf;
}

static int parse_args(int argc, char **argv, serve_opts *o, npg_properties *props) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        long long n;
        if (cli_is_help(a)) {
            usage(stdout);
            return -1;
        } else if (cli_opt(a, NULL, "--model")) {
            if (!cli_value(CMD, argc, argv, &i, &v))
                return 2;
            const char *eq = strchr(v, '=');
            if (!eq || eq == v || !eq[1]) {
                cli_error(CMD, "--model '%s': expected NAME=DIR", v);
                return 2;
            }
            if (o->n_models == MAX_MODELS) {
                cli_error(CMD, "at most %d models", MAX_MODELS);
                return 2;
            }
            char *name = strndup(v, (size_t)(eq - v));
            if (!name)
                return 1;
            o->names[o->n_models] = name;
            o->dirs[o->n_models++] = eq + 1;
        } else if (cli_opt(a, NULL, "--host")) {
            if (!cli_value(CMD, argc, argv, &i, &o->host))
                return 2;
        } else if (cli_opt(a, NULL, "--port")) {
            if (!cli_value(CMD, argc, argv, &i, &v) || !cli_parse_long(CMD, "--port", v, 0, 65535, &n))
                return 2;
            o->port = (unsigned)n;
        } else if (cli_opt(a, NULL, "--device")) {
            if (!cli_value(CMD, argc, argv, &i, &v))
                return 2;
            if (!(o->device = cli_device_name(v))) {
                cli_error(CMD, "--device '%s': expected CPU or NPU", v);
                return 2;
            }
        } else if (cli_opt(a, "-c", "--config")) {
            if (!cli_value(CMD, argc, argv, &i, &v) || !cli_parse_property(CMD, v, props))
                return 2;
        } else if (cli_opt(a, NULL, "--parallel")) {
            if (!cli_value(CMD, argc, argv, &i, &v) || !cli_parse_long(CMD, "--parallel", v, 1, 256, &o->parallel))
                return 2;
        } else if (cli_opt(a, NULL, "--ctx")) {
            if (!cli_value(CMD, argc, argv, &i, &v) || !cli_parse_long(CMD, "--ctx", v, 2, 1 << 20, &o->ctx))
                return 2;
        } else if (cli_opt(a, NULL, "--queue")) {
            if (!cli_value(CMD, argc, argv, &i, &v) || !cli_parse_long(CMD, "--queue", v, 1, 1 << 16, &o->queue))
                return 2;
        } else if (cli_opt(a, NULL, "--api-key-file")) {
            if (!cli_value(CMD, argc, argv, &i, &o->key_file))
                return 2;
        } else if (cli_opt(a, NULL, "--max-body")) {
            if (!cli_value(CMD, argc, argv, &i, &v) ||
                !cli_parse_long(CMD, "--max-body", v, 1024, 1LL << 32, &o->max_body))
                return 2;
        } else if (cli_opt(a, NULL, "--request-timeout")) {
            if (!cli_value(CMD, argc, argv, &i, &v) ||
                !cli_parse_long(CMD, "--request-timeout", v, 1, 86400, &o->timeout))
                return 2;
        } else if (cli_opt(a, NULL, "--cors")) {
            if (!cli_value(CMD, argc, argv, &i, &o->cors))
                return 2;
        } else if (a[0] == '-' && a[1]) {
            cli_unknown_option(CMD, a, usage);
            return 2;
        } else {
            if (o->n_models == MAX_MODELS) {
                cli_error(CMD, "at most %d models", MAX_MODELS);
                return 2;
            }
            char *name = strdup(base_name(a));
            if (!name)
                return 1;
            o->names[o->n_models] = name;
            o->dirs[o->n_models++] = a;
        }
    }
    if (o->n_models == 0) {
        cli_error(CMD, "no model: give MODEL_DIR or --model NAME=DIR (see npugen serve --help)");
        return 2;
    }
    for (size_t i = 0; i < o->n_models; i++)
        for (size_t k = 0; k < i; k++)
            if (strcmp(o->names[i], o->names[k]) == 0) {
                cli_error(CMD, "two models named '%s': name them with --model NAME=DIR", o->names[i]);
                return 2;
            }
    return 0;
}

/* The key: the file's first line, surrounding whitespace removed. */
static bool read_key(const char *path, serve_ctx *ctx) {
    char *text = NULL;
    if (!cli_read_file(CMD, path, &text))
        return false;
    char *s = text;
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strcspn(s, "\r\n");
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    if (n == 0) {
        cli_error(CMD, "--api-key-file %s: the file holds no key (its first line is empty)", path);
        free(text);
        return false;
    }
    memmove(text, s, n);
    text[n] = '\0';
    ctx->api_key = text;
    ctx->api_key_len = n;
    return true;
}

typedef struct worker_arg {
    serve_ctx *ctx;
    serve_model *model;
} worker_arg;

/* Steps the model's scheduler while there is work; sleeps on it otherwise. */
static void *worker(void *arg) {
    worker_arg *w = arg;
    while (!atomic_load(&w->ctx->stopping)) {
        size_t busy = 0;
        npg_llm_scheduler_step(w->model->sched, &busy);
        if (!busy)
            npg_llm_scheduler_wait(w->model->sched, 200);
    }
    return NULL;
}

static bool has_chat_template(const npg_llm_pipeline *pipe) {
    const npg_tokenizer *tok = NULL;
    npg_chat_history *h = NULL;
    char *out = NULL;
    bool yes = npg_llm_pipeline_get_tokenizer(pipe, &tok) == NPG_OK && npg_chat_history_create(&h) == NPG_OK &&
               npg_chat_history_push(h, "user", "hi") == NPG_OK &&
               npg_tokenizer_apply_chat_template(tok, h, true, NULL, &out) == NPG_OK;
    npg_free(out);
    npg_chat_history_free(h);
    return yes;
}

/* Whether dir's config.json names a Whisper model (model_type "whisper"). */
static bool is_whisper(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return false;
    char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    cJSON *cfg = cJSON_ParseWithLength(buf, n);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(cfg, "model_type");
    bool yes = cJSON_IsString(t) && strcmp(t->valuestring, "whisper") == 0;
    cJSON_Delete(cfg);
    return yes;
}

/* A Whisper model or a VLM: its own pipeline, one request at a time (serve_single.c). */
static int load_single(serve_model *m, const serve_opts *o, const npg_properties *props, bool whisper) {
    npg_status st = whisper ? npg_whisper_pipeline_create_with_properties(m->dir, o->device, props, &m->whisper)
                            : npg_vlm_pipeline_create_with_properties(m->dir, o->device, props, &m->vlm);
    if (st != NPG_OK)
        return cli_fail_model(CMD, st, m->dir);
    m->kind = whisper ? "whisper" : "vlm";
    m->supports_audio = whisper;
    m->supports_images = !whisper;
    m->max_queue = (size_t)o->queue;
    if (!whisper) {
        const npg_llm_pipeline *llm = NULL;
        size_t limit = 0;
        npg_vlm_pipeline_get_llm(m->vlm, &llm);
        npg_llm_pipeline_get_context_length(llm, &limit);
        m->ctx = o->ctx ? (size_t)o->ctx : limit;
        m->has_chat_template = has_chat_template(llm);
    }
    return 0;
}

static int load_models(serve_ctx *ctx, const serve_opts *o, const npg_properties *props) {
    for (size_t i = 0; i < o->n_models; i++) {
        serve_model *m = &ctx->models[i];
        m->name = (char *)o->names[i];
        m->dir = (char *)o->dirs[i];
        m->kind = "text";
        bool vlm = false;
        if (is_whisper(m->dir) || (npg_model_is_vlm(m->dir, &vlm) == NPG_OK && vlm)) {
            int rc = load_single(m, o, props, !vlm);
            if (rc)
                return rc;
            continue;
        }
        npg_status st = npg_llm_pipeline_create_with_properties(m->dir, o->device, props, &m->pipe);
        if (st != NPG_OK)
            return cli_fail_model(CMD, st, m->dir);
        npg_llm_scheduler_options so = {.max_seqs = (size_t)o->parallel,
                                        .ctx = (size_t)o->ctx,
                                        .max_queue = (size_t)o->queue,
                                        .prefix_reuse = true};
        if (!so.ctx) {
            size_t limit = 0;
            npg_llm_pipeline_get_context_length(m->pipe, &limit);
            so.ctx = limit < 4096 ? limit : 4096;
        }
        st = npg_llm_scheduler_create(m->pipe, &so, &m->sched);
        if (st != NPG_OK) {
            cli_error(CMD, "model %s (%s): %s", m->name, m->dir, npg_last_error());
            return 1;
        }
        npg_llm_scheduler_stats s;
        npg_llm_scheduler_get_stats(m->sched, &s);
        m->ctx = s.ctx;
        m->max_queue = so.max_queue;
        m->has_chat_template = has_chat_template(m->pipe);
    }
    return 0;
}

static bool is_loopback(const char *host) {
    return strcmp(host, "127.0.0.1") == 0 || strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0 ||
           strncmp(host, "127.", 4) == 0;
}

static int run(serve_ctx *ctx, const serve_opts *o) {
    /* the signals are taken by sigwait below, never by a worker or connection thread */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    worker_arg args[MAX_MODELS];
    for (size_t i = 0; i < ctx->n_models; i++) {
        args[i] = (worker_arg){ctx, &ctx->models[i]};
        if (!ctx->models[i].sched)
            continue; /* Whisper and VLMs run in the request's own thread */
        if (pthread_create(&ctx->models[i].worker, NULL, worker, &args[i]) != 0) {
            cli_error(CMD, "cannot start a worker thread");
            atomic_store(&ctx->stopping, true);
            break;
        }
        ctx->models[i].worker_started = true;
    }
    int rc = 0;
    unsigned port = 0;
    char err[256];
    size_t conns = ((size_t)o->parallel + (size_t)o->queue) * ctx->n_models + 32;
    struct MHD_Daemon *d = atomic_load(&ctx->stopping)
                               ? NULL
                               : serve_http_start(ctx, o->host, o->port, (unsigned)conns, &port, err, sizeof err);
    if (!d) {
        if (!atomic_load(&ctx->stopping))
            cli_error(CMD, "%s", err);
        rc = 1;
    } else {
        if (!ctx->api_key && !is_loopback(o->host))
            cli_error(CMD, "warning: listening on %s without --api-key-file: anyone who can reach port %u can use "
                           "the models",
                      o->host, port);
        printf("npugen serve: listening on http://%s%s%s:%u/ (", strchr(o->host, ':') ? "[" : "", o->host,
               strchr(o->host, ':') ? "]" : "", port);
        for (size_t i = 0; i < ctx->n_models; i++)
            printf("%s%s", i ? ", " : "", ctx->models[i].name);
        printf(")\n");
        fflush(stdout);
        int sig = 0;
        sigwait(&set, &sig);
        fprintf(stderr, "npugen serve: stopping (signal %d)\n", sig);
    }
    atomic_store(&ctx->stopping, true);
    if (d)
        MHD_stop_daemon(d); /* connection threads see `stopping` within 100 ms and end */
    for (size_t i = 0; i < ctx->n_models; i++)
        if (ctx->models[i].worker_started)
            pthread_join(ctx->models[i].worker, NULL);
    return rc;
}

int npg_cmd_serve(int argc, char **argv) {
    serve_opts o = {.host = "127.0.0.1", .device = "CPU", .port = 8080, .parallel = 4, .queue = 64,
                    .max_body = 16 << 20, .timeout = 600};
    npg_properties *props = NULL;
    if (npg_properties_create(&props) != NPG_OK)
        return cli_fail(CMD, NPG_ERR_OUT_OF_MEMORY);
    npg_properties_set_log_callback(props, cli_log_warnings, (void *)CMD);
    int rc = parse_args(argc, argv, &o, props);
    serve_ctx ctx = {0};
    serve_model models[MAX_MODELS];
    memset(models, 0, sizeof models);
    for (size_t i = 0; i < MAX_MODELS; i++) {
        pthread_mutex_init(&models[i].run_mu, NULL);
        pthread_mutex_init(&models[i].turn_mu, NULL);
    }
    serve_metrics_init(&ctx.metrics);
    ctx.models = models;
    ctx.n_models = o.n_models;
    ctx.max_body = (size_t)o.max_body;
    ctx.request_timeout_s = (unsigned)o.timeout;
    ctx.cors = o.cors;
    atomic_store(&ctx.next_seed, 0x243F6A8885A308D3ull);
    if (rc == 0 && o.key_file && !read_key(o.key_file, &ctx))
        rc = 1;
    if (rc == 0)
        rc = load_models(&ctx, &o, props);
    if (rc == 0)
        rc = run(&ctx, &o);
    for (size_t i = 0; i < o.n_models; i++) {
        npg_llm_scheduler_free(models[i].sched);
        npg_llm_pipeline_free(models[i].pipe);
        npg_whisper_pipeline_free(models[i].whisper);
        npg_vlm_pipeline_free(models[i].vlm);
        free((char *)o.names[i]);
    }
    for (size_t i = 0; i < MAX_MODELS; i++) {
        pthread_mutex_destroy(&models[i].run_mu);
        pthread_mutex_destroy(&models[i].turn_mu);
    }
    serve_metrics_destroy(&ctx.metrics);
    free(ctx.api_key);
    npg_properties_free(props);
    return rc < 0 ? 0 : rc;
}
