/* serve_whisper.c — POST /v1/audio/transcriptions on a Whisper model: the uploaded file decoded from
 * memory (npg_audio_load_memory, 16 kHz mono), transcribed by npg_whisper_pipeline (one request at a
 * time per model), answered in OpenAI's response formats: json {"text"}, text, srt, vtt (the
 * pipeline's own writers, as `npugen transcribe --output-format`) and verbose_json (task, language,
 * duration, text, segments, and words with timestamp_granularities[]=word). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

/* OpenAI's `temperature` (0..1): 0 is greedy decoding, as `npugen transcribe`. A positive T samples
 * at T first and, as openai-whisper's fallback, retries a window that fails the compression-ratio or
 * log-probability thresholds at T + 0.2, T + 0.4, ... up to 1.0 (docs/server.md). */
static npg_status set_temperature(npg_whisper_generation_config *c, double t) {
    if (t <= 0)
        return NPG_OK;
    float temps[16];
    size_t n = 0;
    for (double v = t; v <= 1.0 + 1e-6 && n < 16; v += 0.2)
        temps[n++] = (float)v;
    if (n == 0)
        temps[n++] = (float)t;
    npg_status st = npg_whisper_generation_config_set_temperature_fallback(c, true);
    return st == NPG_OK ? npg_whisper_generation_config_set_temperatures(c, temps, n) : st;
}

/* The transcript as the segments' texts joined (openai-whisper's result["text"]: the special tokens
 * the segments drop stay out), without the first token's leading space; malloc'd. */
static char *joined_text(const npg_whisper_results *res) {
    size_t n = 0, len = 0;
    npg_whisper_results_get_chunk_count(res, &n);
    char *out = calloc(1, 1);
    for (size_t i = 0; out && i < n; i++) {
        npg_whisper_chunk c;
        if (npg_whisper_results_get_chunk(res, i, &c) != NPG_OK || !c.text)
            continue;
        const char *t = len ? c.text : c.text + strspn(c.text, " ");
        size_t tl = strlen(t);
        char *no = realloc(out, len + tl + 1);
        if (!no) {
            free(out);
            return NULL;
        }
        out = no;
        memcpy(out + len, t, tl + 1);
        len += tl;
    }
    return out;
}

static cJSON *verbose_json(const npg_whisper_results *res, const char *text, double duration, bool words) {
    const char *lang = "";
    npg_whisper_results_get_language(res, &lang);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "task", "transcribe");
    cJSON_AddStringToObject(o, "language", lang ? lang : "");
    cJSON_AddNumberToObject(o, "duration", duration);
    cJSON_AddStringToObject(o, "text", text);
    cJSON *segs = cJSON_AddArrayToObject(o, "segments");
    cJSON *ws = words ? cJSON_AddArrayToObject(o, "words") : NULL;
    size_t n = 0;
    npg_whisper_results_get_chunk_count(res, &n);
    for (size_t i = 0; i < n; i++) {
        npg_whisper_chunk c;
        if (npg_whisper_results_get_chunk(res, i, &c) != NPG_OK)
            continue;
        cJSON *s = cJSON_CreateObject();
        cJSON_AddNumberToObject(s, "id", (double)i);
        cJSON_AddNumberToObject(s, "seek", (double)c.seek);
        cJSON_AddNumberToObject(s, "start", c.start);
        cJSON_AddNumberToObject(s, "end", c.end);
        cJSON_AddStringToObject(s, "text", c.text ? c.text : "");
        cJSON *toks = cJSON_AddArrayToObject(s, "tokens");
        for (size_t k = 0; k < c.n_tokens; k++)
            cJSON_AddItemToArray(toks, cJSON_CreateNumber(c.tokens[k]));
        cJSON_AddNumberToObject(s, "temperature", (double)c.temperature);
        cJSON_AddNumberToObject(s, "avg_logprob", isfinite(c.avg_logprob) ? c.avg_logprob : 0);
        cJSON_AddNumberToObject(s, "compression_ratio", isfinite(c.compression_ratio) ? c.compression_ratio : 0);
        cJSON_AddNumberToObject(s, "no_speech_prob", isfinite(c.no_speech_prob) ? c.no_speech_prob : 0);
        cJSON_AddItemToArray(segs, s);
        for (size_t k = 0; ws && k < c.n_words; k++) {
            npg_whisper_word w;
            if (npg_whisper_results_get_word(res, i, k, &w) != NPG_OK)
                continue;
            cJSON *wo = cJSON_CreateObject();
            cJSON_AddStringToObject(wo, "word", w.word ? w.word : "");
            cJSON_AddNumberToObject(wo, "start", w.start);
            cJSON_AddNumberToObject(wo, "end", w.end);
            cJSON_AddItemToArray(ws, wo);
        }
    }
    return o;
}

/* The answer body of a finished transcription; NULL with *st set on failure. */
static char *format_reply(const npg_whisper_results *res, const serve_transcription_form *f, double duration,
                          const char **content_type, npg_status *st) {
    const char *fmt = f->response_format;
    *content_type = "text/plain; charset=utf-8";
    char *out = NULL;
    if (strcmp(fmt, "srt") == 0 || strcmp(fmt, "vtt") == 0) {
        char *t = NULL;
        *st = npg_whisper_results_format(res, fmt, &t);
        if (*st == NPG_OK)
            out = strdup(t);
        npg_free(t);
        if (strcmp(fmt, "vtt") == 0)
            *content_type = "text/vtt; charset=utf-8";
        return out;
    }
    char *text = joined_text(res);
    *st = text ? NPG_OK : NPG_ERR_OUT_OF_MEMORY;
    if (!text)
        return NULL;
    if (strcmp(fmt, "text") == 0) {
        size_t n = strlen(text);
        if ((out = malloc(n + 2)))
            snprintf(out, n + 2, "%s\n", text);
        free(text);
        return out;
    }
    cJSON *o;
    if (strcmp(fmt, "verbose_json") == 0) {
        o = verbose_json(res, text, duration, f->words);
    } else {
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "text", text);
    }
    free(text);
    out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    *content_type = "application/json";
    return out;
}

void serve_whisper_transcribe(serve_model *model, const serve_transcription_form *f, serve_reply *r) {
    double temperature = 0;
    if (f->temperature[0]) {
        char *end = NULL;
        temperature = strtod(f->temperature, &end);
        if (end == f->temperature || *end || !isfinite(temperature) || temperature < 0 || temperature > 1) {
            serve_reply_error(r, 400, "invalid_request_error", "temperature", NULL,
                              "'temperature' must be a number between 0 and 1, got '%s'", f->temperature);
            return;
        }
    }
    float *samples = NULL;
    size_t n = 0;
    npg_status st = npg_audio_load_memory(f->file, f->file_len, f->file_name[0] ? f->file_name : "file", 16000,
                                          &samples, &n, NULL);
    if (st != NPG_OK) {
        serve_reply_error(r, 400, "invalid_request_error", "file", "invalid_file", "%s", npg_last_error());
        return;
    }
    bool timestamps = strcmp(f->response_format, "json") != 0 && strcmp(f->response_format, "text") != 0;
    npg_whisper_generation_config *c = NULL;
    st = npg_whisper_generation_config_create(&c);
    if (st == NPG_OK && f->language[0])
        st = npg_whisper_generation_config_set_language(c, f->language);
    if (st == NPG_OK)
        st = npg_whisper_generation_config_set_return_timestamps(c, timestamps);
    if (st == NPG_OK && f->words)
        st = npg_whisper_generation_config_set_word_timestamps(c, true);
    if (st == NPG_OK && f->prompt && f->prompt[0])
        st = npg_whisper_generation_config_set_initial_prompt(c, f->prompt);
    if (st == NPG_OK)
        st = set_temperature(c, temperature);
    npg_whisper_results *res = NULL;
    if (st != NPG_OK) {
        serve_reply_error(r, 400, "invalid_request_error", NULL, NULL, "%s", npg_last_error());
    } else if (serve_single_enter(model, r)) {
        st = npg_whisper_pipeline_generate(model->whisper, samples, n, c, &res);
        serve_single_leave(model);
        const char *ct = NULL;
        char *body = st == NPG_OK ? format_reply(res, f, (double)n / 16000.0, &ct, &st) : NULL;
        if (!body) {
            /* a bad language code is the caller's; anything else the server's */
            bool caller = st == NPG_ERR_INVALID_ARGUMENT || st == NPG_ERR_NOT_FOUND;
            serve_reply_error(r, caller ? 400 : 500, caller ? "invalid_request_error" : "server_error",
                              caller ? "language" : NULL, NULL, "%s", npg_last_error());
        } else {
            free(r->body);
            r->body = body;
            r->status = 200;
            r->content_type = ct;
        }
    }
    npg_whisper_results_free(res);
    npg_whisper_generation_config_free(c);
    npg_audio_free(samples);
}
