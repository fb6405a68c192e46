/* whisper_results.c — the Whisper results handle: getters, and openai-whisper's output writers
 * (utils.py WriteTXT, WriteSRT, WriteVTT, WriteJSON) at segment level. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/json.h"
#include "core/strbuf.h"
#include "pipeline/whisper_pipeline.h"

void npg_whisper_results_free(npg_whisper_results *r) {
    if (!r)
        return;
    npg_whisper_transcript_clear(&r->tr);
    free(r);
}

#define NEED_R(r)                                                                            \
    do {                                                                                     \
        if (!(r))                                                                            \
            return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: the results are NULL", __func__); \
    } while (0)

npg_status npg_whisper_results_get_text(const npg_whisper_results *r, const char **text) {
    NEED_R(r);
    *text = r->tr.text ? r->tr.text : "";
    return NPG_OK;
}

npg_status npg_whisper_results_get_language(const npg_whisper_results *r, const char **code) {
    NEED_R(r);
    *code = r->tr.language;
    return NPG_OK;
}

npg_status npg_whisper_results_get_chunk_count(const npg_whisper_results *r, size_t *n) {
    NEED_R(r);
    *n = r->tr.n_segments;
    return NPG_OK;
}

npg_status npg_whisper_results_get_chunk(const npg_whisper_results *r, size_t i, npg_whisper_chunk *out) {
    NEED_R(r);
    if (!out || i >= r->tr.n_segments)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "chunk %zu of %zu", i, r->tr.n_segments);
    const npg_whisper_segment *s = &r->tr.segments[i];
    *out = (npg_whisper_chunk){.start = s->start, .end = s->end, .text = s->text, .tokens = s->tokens,
                               .n_tokens = s->n_tokens, .seek = s->seek, .temperature = s->temperature,
                               .avg_logprob = s->avg_logprob, .compression_ratio = s->compression_ratio,
                               .no_speech_prob = s->no_speech_prob, .n_words = s->n_words};
    return NPG_OK;
}

npg_status npg_whisper_results_get_word(const npg_whisper_results *r, size_t chunk, size_t i, npg_whisper_word *out) {
    NEED_R(r);
    if (!out || chunk >= r->tr.n_segments || i >= r->tr.segments[chunk].n_words)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "word %zu of chunk %zu: out of range", i, chunk);
    const npg_whisper_word_t *w = &r->tr.segments[chunk].words[i];
    *out = (npg_whisper_word){.word = w->word, .start = w->start, .end = w->end, .probability = w->probability};
    return NPG_OK;
}

npg_status npg_whisper_results_get_window_count(const npg_whisper_results *r, size_t *n) {
    NEED_R(r);
    *n = r->tr.n_windows;
    return NPG_OK;
}

npg_status npg_whisper_results_get_window_ids(const npg_whisper_results *r, size_t i, const int32_t **ids, size_t *n,
                                              size_t *seek) {
    NEED_R(r);
    if (!ids || !n || i >= r->tr.n_windows)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "window %zu of %zu", i, r->tr.n_windows);
    *ids = r->tr.windows[i].w.tokens;
    *n = r->tr.windows[i].w.n_tokens;
    if (seek)
        *seek = r->tr.windows[i].seek;
    return NPG_OK;
}

npg_status npg_whisper_results_get_perf(const npg_whisper_results *r, npg_whisper_perf *out) {
    NEED_R(r);
    if (!out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_whisper_results_get_perf: out is NULL");
    *out = r->perf;
    return NPG_OK;
}

/* utils.py format_timestamp: Python's round() is half-to-even, as nearbyint. */
static npg_status timestamp(npg_strbuf *sb, double seconds, bool hours_always, char marker) {
    long long ms = (long long)nearbyint((seconds > 0 ? seconds : 0.0) * 1000.0);
    long long h = ms / 3600000;
    ms -= h * 3600000;
    long long m = ms / 60000;
    ms -= m * 60000;
    long long s = ms / 1000;
    ms -= s * 1000;
    if (hours_always || h > 0)
        NPG_TRY(npg_strbuf_printf(sb, "%02lld:", h));
    return npg_strbuf_printf(sb, "%02lld:%02lld%c%03lld", m, s, marker, ms);
}

/* segment["text"].strip(), with "-->" written "->" in subtitles */
static npg_status seg_text(npg_strbuf *sb, const char *text, bool subtitle) {
    char *c = strdup(text ? text : "");
    NPG_CHECK_ALLOC(c);
    npg_whisper_strip(c);
    npg_status st = NPG_OK;
    for (const char *p = c; *p && st == NPG_OK;) {
        if (subtitle && strncmp(p, "-->", 3) == 0) {
            st = npg_strbuf_append_str(sb, "->");
            p += 3;
        } else {
            st = npg_strbuf_append_char(sb, *p++);
        }
    }
    free(c);
    return st;
}

static npg_status write_subtitles(const npg_whisper_transcript *tr, npg_strbuf *sb, bool srt) {
    if (!srt)
        NPG_TRY(npg_strbuf_append_str(sb, "WEBVTT\n\n"));
    for (size_t i = 0; i < tr->n_segments; i++) {
        const npg_whisper_segment *s = &tr->segments[i];
        if (srt)
            NPG_TRY(npg_strbuf_printf(sb, "%zu\n", i + 1));
        NPG_TRY(timestamp(sb, s->start, srt, srt ? ',' : '.'));
        NPG_TRY(npg_strbuf_append_str(sb, " --> "));
        NPG_TRY(timestamp(sb, s->end, srt, srt ? ',' : '.'));
        NPG_TRY(npg_strbuf_append_char(sb, '\n'));
        NPG_TRY(seg_text(sb, s->text, true));
        NPG_TRY(npg_strbuf_append_str(sb, "\n\n"));
    }
    return NPG_OK;
}

/* A number as Python's repr writes it: the shortest digits that read back exactly (cJSON's own
 * printing stops at 15 digits when they are merely close, so 14.639999999999999 would become 14.64). */
static cJSON *num(double v) {
    if (!isfinite(v))
        return cJSON_CreateNull(); /* NaN (no no-speech token) is not a JSON number */
    char buf[40];
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    if (!strpbrk(buf, ".eEn") && fabs(v) < 1e16 && v != floor(v))
        strcat(buf, ".0");
    return cJSON_CreateRaw(buf);
}

/* openai-whisper's result dict: {"text", "segments": [...], "language"} */
static npg_status write_json(const npg_whisper_transcript *tr, char **out) {
    cJSON *root = cJSON_CreateObject();
    cJSON *segs = cJSON_CreateArray();
    bool ok = root && segs && cJSON_AddStringToObject(root, "text", tr->text ? tr->text : "");
    if (ok)
        cJSON_AddItemToObject(root, "segments", segs);
    else
        cJSON_Delete(segs);
    for (size_t i = 0; ok && i < tr->n_segments; i++) {
        const npg_whisper_segment *s = &tr->segments[i];
        cJSON *o = cJSON_CreateObject();
        ok = o != NULL;
        if (!ok)
            break;
        cJSON_AddItemToArray(segs, o);
        cJSON_AddItemToObject(o, "id", num((double)i));
        cJSON_AddItemToObject(o, "seek", num((double)s->seek));
        cJSON_AddItemToObject(o, "start", num(s->start));
        cJSON_AddItemToObject(o, "end", num(s->end));
        ok = cJSON_AddStringToObject(o, "text", s->text ? s->text : "") != NULL;
        cJSON *toks = cJSON_CreateArray();
        for (size_t k = 0; toks && k < s->n_tokens; k++)
            cJSON_AddItemToArray(toks, num(s->tokens[k]));
        cJSON_AddItemToObject(o, "tokens", toks);
        cJSON_AddItemToObject(o, "temperature", num(nearbyint((double)s->temperature * 1e6) / 1e6)); /* 0.2f as 0.2 */
        cJSON_AddItemToObject(o, "avg_logprob", num(s->avg_logprob));
        cJSON_AddItemToObject(o, "compression_ratio", num(s->compression_ratio));
        cJSON_AddItemToObject(o, "no_speech_prob", num(s->no_speech_prob));
        if (s->words) {
            cJSON *words = cJSON_CreateArray();
            for (size_t k = 0; words && k < s->n_words; k++) {
                cJSON *w = cJSON_CreateObject();
                if (!w)
                    break;
                cJSON_AddStringToObject(w, "word", s->words[k].word ? s->words[k].word : "");
                cJSON_AddItemToObject(w, "start", num(s->words[k].start));
                cJSON_AddItemToObject(w, "end", num(s->words[k].end));
                cJSON_AddItemToObject(w, "probability", num(s->words[k].probability));
                cJSON_AddItemToArray(words, w);
            }
            cJSON_AddItemToObject(o, "words", words);
        }
    }
    if (ok)
        ok = cJSON_AddStringToObject(root, "language", tr->language) != NULL;
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!text)
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory writing the whisper json");
    npg_strbuf sb = {0};
    npg_status st = npg_strbuf_append_str(&sb, text);
    if (st == NPG_OK)
        st = npg_strbuf_append_char(&sb, '\n');
    cJSON_free(text);
    if (st == NPG_OK)
        st = npg_strbuf_detach(&sb, out);
    npg_strbuf_free(&sb);
    return st;
}

npg_status npg_whisper_results_format(const npg_whisper_results *r, const char *format, char **out) {
    NEED_R(r);
    if (!format || !out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_whisper_results_format: %s is NULL", !format ? "format" : "out");
    *out = NULL;
    if (strcmp(format, "json") == 0)
        return write_json(&r->tr, out);
    npg_strbuf sb = {0};
    npg_status st = NPG_OK;
    if (strcmp(format, "txt") == 0) {
        for (size_t i = 0; i < r->tr.n_segments && st == NPG_OK; i++) {
            st = seg_text(&sb, r->tr.segments[i].text, false);
            if (st == NPG_OK)
                st = npg_strbuf_append_char(&sb, '\n');
        }
    } else if (strcmp(format, "srt") == 0 || strcmp(format, "vtt") == 0) {
        st = write_subtitles(&r->tr, &sb, strcmp(format, "srt") == 0);
    } else {
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "output format \"%s\": expected txt, srt, vtt or json", format);
    }
    if (st == NPG_OK)
        st = npg_strbuf_detach(&sb, out);
    npg_strbuf_free(&sb);
    return st;
}
