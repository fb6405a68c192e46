/* serve_openai.c — OpenAI's request and response shapes: POST /v1/chat/completions and
 * /v1/completions (request JSON checked field by field into a generation config, answered whole or
 * as server-sent events), GET /v1/models, POST /v1/audio/transcriptions. Every refusal is OpenAI's
 * error object {"error": {"message", "type", "param", "code"}} naming the field. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve.h"
#include "serve_job.h"

enum { MAX_N = 16, MAX_STOPS = 4 };

void serve_reply_error(serve_reply *r, unsigned status, const char *type, const char *param, const char *code,
                       const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddStringToObject(e, "type", type);
    if (param)
        cJSON_AddStringToObject(e, "param", param);
    else
        cJSON_AddNullToObject(e, "param");
    if (code)
        cJSON_AddStringToObject(e, "code", code);
    else
        cJSON_AddNullToObject(e, "code");
    free(r->body);
    r->body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    r->status = status;
    r->content_type = "application/json";
}

/* A 400 naming the field; false, for `return BAD(...)`. */
static bool bad(serve_reply *r, const char *param, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool bad(serve_reply *r, const char *param, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    serve_reply_error(r, 400, "invalid_request_error", param, NULL, "%s", msg);
    return false;
}
#define BAD(param, ...) bad(r, param, __VA_ARGS__)

static serve_model *find_model(serve_ctx *ctx, const char *name) {
    for (size_t i = 0; i < ctx->n_models; i++)
        if (strcmp(ctx->models[i].name, name) == 0)
            return &ctx->models[i];
    return NULL;
}

/* The request's "model": a served name (a server with one model also takes a missing field). */
static serve_model *pick_model(serve_ctx *ctx, const cJSON *req, serve_reply *r) {
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(req, "model");
    if (!m && ctx->n_models == 1)
        return &ctx->models[0];
    if (!cJSON_IsString(m)) {
        (void)BAD("model", "'model' must be a string naming a served model (GET /v1/models lists them)");
        return NULL;
    }
    serve_model *model = find_model(ctx, m->valuestring);
    if (!model)
        serve_reply_error(r, 400, "invalid_request_error", "model", "model_not_found",
                          "The model '%s' does not exist on this server (GET /v1/models lists the served models)",
                          m->valuestring);
    return model;
}

/* A number field within [lo, hi] (absent: *present false). */
static bool get_number(const cJSON *req, const char *key, double lo, double hi, bool *present, double *out,
                       serve_reply *r) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, key);
    *present = v && !cJSON_IsNull(v);
    if (!*present)
        return true;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return BAD(key, "'%s' must be a number", key);
    if (v->valuedouble < lo || v->valuedouble > hi)
        return BAD(key, "'%s' must be between %g and %g, got %g", key, lo, hi, v->valuedouble);
    *out = v->valuedouble;
    return true;
}

static bool get_int(const cJSON *req, const char *key, double lo, double hi, bool *present, double *out,
                    serve_reply *r) {
    if (!get_number(req, key, lo, hi, present, out, r))
        return false;
    if (*present && *out != floor(*out))
        return BAD(key, "'%s' must be an integer, got %g", key, *out);
    return true;
}

static bool get_bool(const cJSON *req, const char *key, bool *out, serve_reply *r) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, key);
    if (!v || cJSON_IsNull(v))
        return true;
    if (!cJSON_IsBool(v))
        return BAD(key, "'%s' must be true or false", key);
    *out = cJSON_IsTrue(v);
    return true;
}

typedef struct gen_params {
    size_t n;
    bool stream, include_usage, echo;
    uint64_t seed;
} gen_params;

/* The sampling fields into cfg. */
static bool parse_sampling(serve_ctx *ctx, const serve_model *model, const cJSON *req, npg_generation_config *cfg,
                           gen_params *gp, serve_reply *r) {
    bool has;
    double v;
    const char *max_key = cJSON_GetObjectItemCaseSensitive(req, "max_completion_tokens") ? "max_completion_tokens"
                                                                                        : "max_tokens";
    if (!get_int(req, max_key, 1, (double)model->ctx, &has, &v, r))
        return false;
    if (has)
        npg_generation_config_set_max_new_tokens(cfg, (size_t)v);
    double temperature = 1.0; /* OpenAI's default: sampling at temperature 1 */
    if (!get_number(req, "temperature", 0, 2, &has, &temperature, r))
        return false;
    npg_generation_config_set_do_sample(cfg, temperature > 0);
    if (temperature > 0)
        npg_generation_config_set_temperature(cfg, (float)temperature);
    if (!get_number(req, "top_p", 0, 1, &has, &v, r))
        return false;
    if (has && v <= 0)
        return BAD("top_p", "'top_p' must be greater than 0 and at most 1, got %g", v);
    if (has)
        npg_generation_config_set_top_p(cfg, (float)v);
    if (!get_number(req, "presence_penalty", -2, 2, &has, &v, r))
        return false;
    if (has)
        npg_generation_config_set_presence_penalty(cfg, (float)v);
    if (!get_number(req, "frequency_penalty", -2, 2, &has, &v, r))
        return false;
    if (has)
        npg_generation_config_set_frequency_penalty(cfg, (float)v);
    if (!get_int(req, "seed", -9.2e18, 1.8e19, &has, &v, r))
        return false;
    gp->seed = has ? (v < 0 ? (uint64_t)(int64_t)v : (uint64_t)v)
                   : atomic_fetch_add(&ctx->next_seed, 0x9E3779B97F4A7C15ull) ^ (uint64_t)time(NULL);
    if (!get_int(req, "n", 1, MAX_N, &has, &v, r))
        return false;
    gp->n = has ? (size_t)v : 1;
    if (gp->n > 1 && temperature == 0)
        return BAD("n", "'n' > 1 needs sampling (temperature > 0): greedy decoding would return %zu copies", gp->n);
    const cJSON *stop = cJSON_GetObjectItemCaseSensitive(req, "stop");
    if (stop && !cJSON_IsNull(stop)) {
        const char *stops[MAX_STOPS];
        size_t ns = 0;
        if (cJSON_IsString(stop)) {
            stops[ns++] = stop->valuestring;
        } else if (cJSON_IsArray(stop)) {
            const cJSON *it;
            cJSON_ArrayForEach(it, stop) {
                if (!cJSON_IsString(it))
                    return BAD("stop", "'stop' must be a string or an array of strings");
                if (ns == MAX_STOPS)
                    return BAD("stop", "'stop' holds at most %d strings", MAX_STOPS);
                stops[ns++] = it->valuestring;
            }
        } else {
            return BAD("stop", "'stop' must be a string or an array of strings");
        }
        for (size_t i = 0; i < ns; i++)
            if (!stops[i][0])
                return BAD("stop", "'stop' strings must not be empty");
        if (ns && npg_generation_config_set_stop_strings(cfg, stops, ns) != NPG_OK)
            return BAD("stop", "'stop': %s", npg_last_error());
    }
    if (!get_bool(req, "stream", &gp->stream, r))
        return false;
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(req, "stream_options");
    if (so && !cJSON_IsNull(so)) {
        if (!cJSON_IsObject(so))
            return BAD("stream_options", "'stream_options' must be an object");
        if (!gp->stream)
            return BAD("stream_options", "'stream_options' is only allowed with 'stream': true");
        if (!get_bool(so, "include_usage", &gp->include_usage, r))
            return false;
    }
    if (npg_generation_config_validate(cfg) != NPG_OK)
        return BAD(NULL, "%s", npg_last_error());
    return true;
}

/* A content part list: text parts joined; image and audio parts parsed, then refused for a text model. */
typedef struct image_list {
    npg_image *img[SERVE_MAX_IMAGES];
    size_t n;
} image_list;

/* A VLM's image: decoded, and its place in the text marked <ov_genai_image_N> (N over the request). */
static bool add_image(const serve_model *model, image_list *imgs, const unsigned char *data, size_t n,
                      const char *param, char **text, size_t *len, serve_reply *r) {
    if (imgs->n == SERVE_MAX_IMAGES)
        return BAD(param, "a request holds at most %d images", SERVE_MAX_IMAGES);
    if (npg_image_load_memory(data, n, param, &imgs->img[imgs->n]) != NPG_OK)
        return BAD(param, "%s", npg_last_error());
    char tag[48];
    int tl = snprintf(tag, sizeof tag, "<ov_genai_image_%zu>", imgs->n++);
    char *nt = realloc(*text, *len + (size_t)tl + 1);
    if (!nt)
        return BAD(param, "out of memory for model %s's prompt", model->name);
    memcpy(nt + *len, tag, (size_t)tl + 1);
    *len += (size_t)tl;
    *text = nt;
    return true;
}

static bool content_text(const serve_model *model, const cJSON *content, size_t i, image_list *imgs, char **out,
                         serve_reply *r) {
    char param[64];
    snprintf(param, sizeof param, "messages[%zu].content", i);
    if (cJSON_IsString(content)) {
        *out = strdup(content->valuestring);
        return *out != NULL;
    }
    if (!content || cJSON_IsNull(content)) {
        *out = strdup("");
        return *out != NULL;
    }
    if (!cJSON_IsArray(content))
        return BAD(param, "'%s' must be a string or an array of content parts", param);
    size_t len = 0, k = 0;
    char *text = calloc(1, 1);
    const cJSON *part;
    cJSON_ArrayForEach(part, content) {
        snprintf(param, sizeof param, "messages[%zu].content[%zu]", i, k++);
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type");
        if (!text || !cJSON_IsString(type)) {
            free(text);
            return BAD(param, "'%s' must be an object with a string 'type'", param);
        }
        if (strcmp(type->valuestring, "text") == 0) {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
            if (!cJSON_IsString(t)) {
                free(text);
                return BAD(param, "'%s.text' must be a string", param);
            }
            size_t tl = strlen(t->valuestring);
            char *nt = realloc(text, len + tl + 1);
            if (!nt) {
                free(text);
                return false;
            }
            text = nt;
            memcpy(text + len, t->valuestring, tl + 1);
            len += tl;
        } else if (strcmp(type->valuestring, "image_url") == 0) {
            const cJSON *iu = cJSON_GetObjectItemCaseSensitive(part, "image_url");
            const cJSON *url = cJSON_IsObject(iu) ? cJSON_GetObjectItemCaseSensitive(iu, "url") : iu;
            if (!cJSON_IsString(url)) {
                free(text);
                return BAD(param, "'%s.image_url.url' must be a string", param);
            }
            char mime[64];
            unsigned char *data = NULL;
            size_t n = 0;
            const char *why = NULL;
            if (!serve_data_url_decode(url->valuestring, mime, sizeof mime, &data, &n, &why)) {
                free(text);
                return BAD(param, "'%s.image_url.url': %s", param, why);
            }
            bool ok = model->supports_images && add_image(model, imgs, data, n, param, &text, &len, r);
            free(data);
            if (!ok && model->supports_images) {
                free(text);
                return false;
            }
            if (!model->supports_images) {
                free(text);
                serve_reply_error(r, 400, "invalid_request_error", param, "model_not_supported",
                                  "model %s does not support images (it is a text model)", model->name);
                return false;
            }
        } else if (strcmp(type->valuestring, "input_audio") == 0) {
            free(text);
            serve_reply_error(r, 400, "invalid_request_error", param, "model_not_supported",
                              "model %s does not support audio input", model->name);
            return false;
        } else {
            free(text);
            return BAD(param, "'%s.type' '%s' is not one of text, image_url, input_audio", param, type->valuestring);
        }
    }
    *out = text;
    return true;
}

static bool parse_messages(const serve_model *model, const cJSON *req, npg_chat_history *h, image_list *imgs,
                           serve_reply *r) {
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(req, "messages");
    if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0)
        return BAD("messages", "'messages' must be a non-empty array of {\"role\", \"content\"} objects");
    size_t i = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs) {
        char param[48];
        snprintf(param, sizeof param, "messages[%zu].role", i);
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (!cJSON_IsString(role))
            return BAD(param, "'%s' must be a string (system, user, assistant, ...)", param);
        const char *rs = role->valuestring;
        if (strcmp(rs, "system") && strcmp(rs, "user") && strcmp(rs, "assistant") && strcmp(rs, "developer") &&
            strcmp(rs, "tool"))
            return BAD(param, "'%s' must be one of system, developer, user, assistant, tool; got '%s'", param, rs);
        char *text = NULL;
        if (!content_text(model, cJSON_GetObjectItemCaseSensitive(m, "content"), i, imgs, &text, r))
            return false;
        npg_status st = npg_chat_history_push(h, strcmp(rs, "developer") == 0 ? "system" : rs, text);
        free(text);
        if (st != NPG_OK)
            return BAD("messages", "%s", npg_last_error());
        i++;
    }
    return true;
}

/* The completion prompt: a string, [string], or token ids ([int, ...]). */
static bool parse_prompt(const cJSON *req, const char **text, int32_t **ids, size_t *n_ids, serve_reply *r) {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(req, "prompt");
    if (cJSON_IsArray(p) && cJSON_GetArraySize(p) == 1 && cJSON_IsString(cJSON_GetArrayItem(p, 0)))
        p = cJSON_GetArrayItem(p, 0);
    if (cJSON_IsString(p)) {
        *text = p->valuestring;
        return true;
    }
    if (cJSON_IsArray(p) && cJSON_GetArraySize(p) > 0) {
        size_t n = (size_t)cJSON_GetArraySize(p), k = 0;
        *ids = malloc(n * sizeof **ids);
        if (!*ids)
            return false;
        const cJSON *it;
        cJSON_ArrayForEach(it, p) {
            if (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble) || it->valuedouble < 0 ||
                it->valuedouble > 2147483647.0)
                return BAD("prompt", "'prompt' must be a string, an array of one string or an array of token ids");
            (*ids)[k++] = (int32_t)it->valuedouble;
        }
        *n_ids = n;
        return true;
    }
    return BAD("prompt", "'prompt' must be a string, an array of one string or an array of token ids");
}

/* A scheduler refusal as an HTTP answer: a full queue (NPG_ERR_BUSY, decided under the scheduler's
 * lock: the queue may have drained by the time we look) is 429, the rest 400. */
static void add_failed(serve_model *model, npg_status st, bool chat, serve_reply *r) {
    npg_llm_scheduler_stats s;
    memset(&s, 0, sizeof s);
    npg_llm_scheduler_get_stats(model->sched, &s);
    if (st == NPG_ERR_BUSY) {
        serve_reply_error(r, 429, "rate_limit_exceeded", NULL, "rate_limit_exceeded",
                          "model %s is busy: %zu requests are waiting (--queue); retry after a moment", model->name,
                          s.queued);
        r->retry_after = 1;
    } else if (st == NPG_ERR_LIMIT) {
        serve_reply_error(r, 400, "invalid_request_error", chat ? "messages" : "prompt", "context_length_exceeded",
                          "%s", npg_last_error());
    } else {
        serve_reply_error(r, 400, "invalid_request_error", NULL, NULL, "%s", npg_last_error());
    }
}

void serve_generate(serve_ctx *ctx, const char *body, size_t len, bool chat, int fd, serve_reply *r) {
    cJSON *req = cJSON_ParseWithLength(body, len);
    if (!cJSON_IsObject(req)) {
        cJSON_Delete(req);
        serve_reply_error(r, 400, "invalid_request_error", NULL, "invalid_json",
                          "the request body is not a JSON object (malformed JSON)");
        return;
    }
    npg_generation_config *cfg = NULL;
    npg_chat_history *h = NULL;
    int32_t *ids = NULL;
    size_t n_ids = 0;
    const char *text = NULL;
    serve_job *job = NULL;
    gen_params gp = {0};
    image_list imgs = {.n = 0};
    serve_model *model = pick_model(ctx, req, r);
    if (!model)
        goto done;
    if (model->whisper) {
        serve_reply_error(r, 400, "invalid_request_error", "model", "model_not_supported",
                          "model %s is a Whisper model: it answers POST /v1/audio/transcriptions, not %s",
                          model->name, chat ? "/v1/chat/completions" : "/v1/completions");
        goto done;
    }
    if (model->vlm && !chat) {
        serve_reply_error(r, 400, "invalid_request_error", "model", "model_not_supported",
                          "model %s is a vision-language model: it answers POST /v1/chat/completions only",
                          model->name);
        goto done;
    }
    npg_status gst = model->vlm ? npg_vlm_pipeline_get_generation_config(model->vlm, &cfg)
                                : npg_llm_scheduler_get_generation_config(model->sched, &cfg);
    if (gst != NPG_OK) {
        serve_reply_error(r, 500, "server_error", NULL, NULL, "%s", npg_last_error());
        goto done;
    }
    if (!parse_sampling(ctx, model, req, cfg, &gp, r))
        goto done;
    if (chat) {
        if (npg_chat_history_create(&h) != NPG_OK || !parse_messages(model, req, h, &imgs, r))
            goto done;
        if (model->vlm) {
            if (gp.n > 1) {
                (void)BAD("n", "model %s (a vision-language model) answers one choice per request ('n': 1)",
                          model->name);
                goto done;
            }
            npg_generation_config_set_rng_seed(cfg, gp.seed);
            serve_vlm_chat(ctx, model, h, (const npg_image *const *)imgs.img, imgs.n, cfg, gp.stream,
                           gp.include_usage, r);
            goto done;
        }
    } else {
        if (!parse_prompt(req, &text, &ids, &n_ids, r) || !get_bool(req, "echo", &gp.echo, r))
            goto done;
    }
    job = serve_job_create(ctx, model, chat ? SERVE_JOB_CHAT : SERVE_JOB_COMPLETION, gp.n, gp.stream);
    if (!job || (gp.echo && text && !(job->echo = strdup(text)))) {
        serve_reply_error(r, 500, "server_error", NULL, NULL, "out of memory");
        goto done;
    }
    job->include_usage = gp.include_usage;
    job->fd = fd;
    npg_status st = serve_job_add(job, h, text, ids, n_ids, cfg, gp.seed);
    if (st != NPG_OK) {
        add_failed(model, st, chat, r);
        goto done;
    }
    if (gp.stream) {
        r->status = 200;
        r->stream = job;
        job = NULL;
        goto done;
    }
    serve_wait_result w = serve_job_wait(job);
    if (w == SERVE_WAIT_TIMEOUT) {
        serve_reply_error(r, 504, "timeout_error", NULL, "request_timeout",
                          "the request ran past --request-timeout (%u s) and was cancelled", ctx->request_timeout_s);
    } else if (w != SERVE_WAIT_DONE) {
        serve_reply_error(r, 503, "server_error", NULL, NULL, "the client went away or the server is stopping");
    } else {
        for (size_t i = 0; i < job->n; i++)
            if (job->ch[i].status != NPG_OK) {
                serve_reply_error(r, 500, "server_error", NULL, "generation_failed", "%s", job->ch[i].err);
                goto done;
            }
        serve_job_metrics(job);
        free(r->body);
        r->body = serve_job_response_json(job);
        r->status = r->body ? 200 : 500;
        r->content_type = "application/json";
    }
done:
    for (size_t i = 0; i < imgs.n; i++)
        npg_image_free(imgs.img[i]);
    serve_job_free(job);
    npg_chat_history_free(h);
    npg_generation_config_free(cfg);
    free(ids);
    cJSON_Delete(req);
}

static cJSON *model_json(const serve_model *m) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", m->name);
    cJSON_AddStringToObject(o, "object", "model");
    cJSON_AddNumberToObject(o, "created", 0);
    cJSON_AddStringToObject(o, "owned_by", "npugen");
    cJSON *x = cJSON_AddObjectToObject(o, "npugen"); /* what the chat page needs to know */
    cJSON_AddNumberToObject(x, "context_length", (double)m->ctx);
    cJSON_AddBoolToObject(x, "chat_template", m->has_chat_template);
    cJSON_AddBoolToObject(x, "images", m->supports_images);
    cJSON_AddBoolToObject(x, "audio", m->supports_audio);
    cJSON_AddStringToObject(x, "kind", m->kind);
    return o;
}

void serve_list_models(serve_ctx *ctx, const char *one, serve_reply *r) {
    cJSON *o;
    if (one) {
        serve_model *m = find_model(ctx, one);
        if (!m) {
            serve_reply_error(r, 404, "invalid_request_error", "model", "model_not_found",
                              "The model '%s' does not exist on this server", one);
            return;
        }
        o = model_json(m);
    } else {
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "object", "list");
        cJSON *data = cJSON_AddArrayToObject(o, "data");
        for (size_t i = 0; i < ctx->n_models; i++)
            cJSON_AddItemToArray(data, model_json(&ctx->models[i]));
    }
    r->body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    r->status = 200;
    r->content_type = "application/json";
}

void serve_transcribe(serve_ctx *ctx, struct MHD_Connection *c, const char *body, size_t len, serve_reply *r) {
    serve_transcription_form f;
    char err[256];
    if (!serve_transcription_form_parse(c, body, len, &f, err, sizeof err)) {
        serve_reply_error(r, 400, "invalid_request_error", NULL, NULL, "%s", err);
        return;
    }
    static const char *const formats[] = {"json", "text", "srt", "vtt", "verbose_json"};
    bool format_ok = false;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        format_ok |= strcmp(f.response_format, formats[i]) == 0;
    serve_model *model = f.model[0] ? find_model(ctx, f.model) : NULL;
    if (!f.model[0])
        serve_reply_error(r, 400, "invalid_request_error", "model", NULL, "the form needs a 'model' field");
    else if (!model)
        serve_reply_error(r, 400, "invalid_request_error", "model", "model_not_found",
                          "The model '%s' does not exist on this server", f.model);
    else if (!f.has_file || f.file_len == 0)
        serve_reply_error(r, 400, "invalid_request_error", "file", NULL, "the form needs a non-empty 'file' upload");
    else if (!format_ok)
        serve_reply_error(r, 400, "invalid_request_error", "response_format", NULL,
                          "'response_format' must be one of json, text, srt, vtt, verbose_json; got '%s'",
                          f.response_format);
    else if (!model->supports_audio)
        serve_reply_error(r, 400, "invalid_request_error", "model", "model_not_supported",
                          "model %s does not support audio transcription (it is a %s model)", model->name,
                          model->kind);
    else
        serve_whisper_transcribe(model, &f, r);
    serve_transcription_form_free(&f);
}
