/* whisper_transcribe.c — transcribe.py's window loop (see whisper_transcribe.h). */
#include "pipeline/whisper_transcribe.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/timer.h"

static void segment_clear(npg_whisper_segment *s) {
    npg_free(s->text);
    free(s->tokens);
    for (size_t i = 0; i < s->n_words; i++)
        free(s->words[i].word);
    free(s->words);
    memset(s, 0, sizeof *s);
}

void npg_whisper_transcript_clear(npg_whisper_transcript *r) {
    if (!r)
        return;
    npg_free(r->text);
    for (size_t i = 0; i < r->n_segments; i++)
        segment_clear(&r->segments[i]);
    free(r->segments);
    for (size_t i = 0; i < r->n_windows; i++)
        npg_whisper_window_clear(&r->windows[i].w);
    free(r->windows);
    memset(r, 0, sizeof *r);
}

/* A growable id list (all_tokens). */
typedef struct ids_t {
    int32_t *v;
    size_t n, cap;
} ids_t;

static npg_status ids_push(ids_t *a, const int32_t *ids, size_t n) {
    if (a->n + n > a->cap) {
        size_t cap = a->cap ? a->cap : 256;
        while (cap < a->n + n)
            cap *= 2;
        int32_t *v = realloc(a->v, cap * sizeof *v);
        NPG_CHECK_ALLOC(v);
        a->v = v;
        a->cap = cap;
    }
    if (n)
        memcpy(a->v + a->n, ids, n * sizeof *ids);
    a->n += n;
    return NPG_OK;
}

static npg_status add_segment(npg_whisper_transcript *r, const npg_tokenizer *tok, const npg_whisper_tokens *t,
                              size_t seek, double start, double end, const int32_t *tokens, size_t n,
                              const npg_whisper_window *w) {
    if (r->n_segments == r->cap_segments) {
        size_t cap = r->cap_segments ? 2 * r->cap_segments : 16;
        npg_whisper_segment *v = realloc(r->segments, cap * sizeof *v);
        NPG_CHECK_ALLOC(v);
        r->segments = v;
        r->cap_segments = cap;
    }
    npg_whisper_segment *s = &r->segments[r->n_segments];
    memset(s, 0, sizeof *s);
    s->seek = seek;
    s->start = start;
    s->end = end;
    s->temperature = w->temperature;
    s->avg_logprob = w->avg_logprob;
    s->compression_ratio = w->compression_ratio;
    s->no_speech_prob = w->no_speech_prob;
    s->tokens = malloc((n ? n : 1) * sizeof *s->tokens);
    NPG_CHECK_ALLOC(s->tokens);
    if (n)
        memcpy(s->tokens, tokens, n * sizeof *tokens);
    s->n_tokens = n;
    r->n_segments++;
    return npg_whisper_text(tok, t, tokens, n, true, &s->text);
}

static bool needs_fallback(const npg_whisper_transcribe_opts *o, const npg_whisper_window *w) {
    bool fb = false;
    if (!isnan(o->compression_ratio_threshold) && w->compression_ratio > o->compression_ratio_threshold)
        fb = true; /* too repetitive */
    if (!isnan(o->logprob_threshold) && w->avg_logprob < o->logprob_threshold)
        fb = true; /* average log probability too low */
    if (!isnan(o->no_speech_threshold) && w->no_speech_prob > o->no_speech_threshold && !isnan(o->logprob_threshold) &&
        w->avg_logprob < o->logprob_threshold)
        fb = false; /* silence */
    return fb;
}

/* decode_with_fallback: the window's encoding is reused by every temperature. */
static npg_status decode_with_fallback(npg_engine *e, const npg_tokenizer *tok, const npg_whisper_transcribe_opts *o,
                                       npg_whisper_window_opts *wo, float *scratch, uint64_t *rng,
                                       npg_whisper_transcript *r, npg_whisper_window *out) {
    static const float greedy = 0.0f;
    const float *temps = o->n_temperatures ? o->temperatures : &greedy;
    size_t n_temps = o->n_temperatures ? o->n_temperatures : 1;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n_temps; i++) {
        npg_whisper_window_clear(out);
        wo->temperature = temps[i];
        wo->rng = rng;
        double t0 = npg_now_ms();
        NPG_TRY(npg_whisper_decode_window(e, tok, wo, scratch, out));
        r->decode_ms += npg_now_ms() - t0;
        r->n_decoded += out->n_tokens + (out->eot ? 1 : 0);
        if (!needs_fallback(o, out))
            break;
    }
    return NPG_OK;
}

static npg_status push_window(npg_whisper_transcript *r, size_t seek, size_t segment_size, npg_whisper_window *w) {
    if (r->n_windows == r->cap_windows) {
        size_t cap = r->cap_windows ? 2 * r->cap_windows : 8;
        npg_whisper_window_log *v = realloc(r->windows, cap * sizeof *v);
        NPG_CHECK_ALLOC(v);
        r->windows = v;
        r->cap_windows = cap;
    }
    r->windows[r->n_windows].seek = seek;
    r->windows[r->n_windows].segment_size = segment_size;
    r->windows[r->n_windows].w = *w; /* ownership moves */
    memset(w, 0, sizeof *w);
    r->n_windows++;
    return NPG_OK;
}

/* The segments of one window's tokens (transcribe.py's consecutive-timestamp slicing); returns the
 * new seek. */
static npg_status cut_segments(npg_whisper_transcript *r, const npg_tokenizer *tok, const npg_whisper_tokens *t,
                               const npg_whisper_window *w, size_t seek, size_t segment_size, size_t *new_seek,
                               bool *single_ts_ending) {
    const double time_offset = (double)seek * NPG_WHISPER_HOP / NPG_WHISPER_RATE;
    const double precision = 2.0 * NPG_WHISPER_HOP / NPG_WHISPER_RATE; /* input_stride 2: 0.02 s */
    const int32_t *tk = w->tokens, tb = t->timestamp_begin;
    size_t n = w->n_tokens;
    *single_ts_ending = n >= 2 && tk[n - 2] < tb && tk[n - 1] >= tb;
    size_t n_consecutive = 0;
    for (size_t i = 0; i + 1 < n; i++)
        n_consecutive += tk[i] >= tb && tk[i + 1] >= tb;
    if (n_consecutive > 0) {
        size_t last_slice = 0;
        for (size_t i = 0; i + 1 <= n; i++) {
            bool cut = i + 1 < n && tk[i] >= tb && tk[i + 1] >= tb;
            size_t current = i + 1;
            if (!cut && !(*single_ts_ending && i + 1 == n))
                continue;
            const int32_t *sl = tk + last_slice;
            size_t len = current - last_slice;
            double start = time_offset + (double)(sl[0] - tb) * precision;
            double end = time_offset + (double)(sl[len - 1] - tb) * precision;
            NPG_TRY(add_segment(r, tok, t, seek, start, end, sl, len, w));
            last_slice = current;
        }
        if (*single_ts_ending)
            *new_seek = seek + segment_size; /* no speech after the last timestamp */
        else
            *new_seek = seek + (size_t)(tk[last_slice - 1] - tb) * 2; /* seek to the last timestamp */
    } else {
        double duration = (double)segment_size * NPG_WHISPER_HOP / NPG_WHISPER_RATE;
        for (size_t i = n; i-- > 0;)
            if (tk[i] >= tb) {
                if (tk[i] != tb)
                    duration = (double)(tk[i] - tb) * precision; /* the last timestamp */
                break;
            }
        NPG_TRY(add_segment(r, tok, t, seek, time_offset, time_offset + duration, tk, n, w));
        *new_seek = seek + segment_size;
    }
    return NPG_OK;
}

static bool blank_text(const char *s) {
    char *c = strdup(s);
    if (!c)
        return false;
    npg_whisper_strip(c);
    bool blank = c[0] == '\0';
    free(c);
    return blank;
}

npg_status npg_whisper_transcribe(npg_engine *e, const npg_tokenizer *tok, const npg_whisper_transcribe_opts *o,
                                  npg_whisper_transcript *r) {
    const npg_whisper_tokens *t = o->t;
    memset(r, 0, sizeof *r);
    float *mel = malloc(o->n_mels * NPG_WHISPER_N_FRAMES * sizeof *mel);
    float *scratch = malloc(t->vocab * sizeof *scratch);
    ids_t all = {0}, prompt = {0};
    npg_whisper_window w = {0};
    npg_status st = mel && scratch ? NPG_OK : npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for a whisper window");
    uint64_t rng = o->seed;
    size_t seek = 0, prompt_reset_since = 0, n_initial = o->n_initial_prompt;
    int32_t language = o->language;
    if (st == NPG_OK)
        st = ids_push(&all, o->initial_prompt, o->n_initial_prompt);
    npg_whisper_window_opts wo = {
        .t = t, .translate = o->translate, .timestamps = o->timestamps, .sample_len = o->sample_len,
        .n_text_ctx = o->n_text_ctx,
        .filters = {.suppress_blank = o->suppress_blank, .suppress = o->suppress, .n_suppress = o->n_suppress,
                    .max_initial_timestamp_index = o->max_initial_timestamp_index},
    };
    /* the hotwords take their room first; the previous text fills what is left of n_text_ctx/2 - 1 */
    size_t room = o->n_text_ctx / 2 - 1;
    size_t n_hot = o->n_hotwords < room ? o->n_hotwords : room;
    while (st == NPG_OK && seek < o->content_frames) {
        size_t segment_size = o->content_frames - seek < NPG_WHISPER_N_FRAMES ? o->content_frames - seek
                                                                               : NPG_WHISPER_N_FRAMES;
        double t0 = npg_now_ms();
        st = o->mel(o->ctx, seek, segment_size, mel);
        r->mel_ms += npg_now_ms() - t0;
        if (st != NPG_OK)
            break;
        t0 = npg_now_ms();
        st = e->ops->encode(e, mel, NPG_WHISPER_N_FRAMES, 0);
        r->encode_ms += npg_now_ms() - t0;
        r->n_encodes++;
        if (st != NPG_OK)
            break;
        if (language < 0) {
            /* transcribe.py detects once, on the first 30 s: this window's encoding */
            st = npg_whisper_sot_logits(e, t, scratch);
            if (st != NPG_OK)
                break;
            language = t->n_langs ? t->lang_ids[npg_whisper_detect_language(t, scratch, NULL)] : -1;
        }
        wo.language = language;
        prompt.n = 0;
        const int32_t *prev = all.v + prompt_reset_since;
        size_t n_prev = all.n - prompt_reset_since;
        if (n_hot && n_prev > room - n_hot) {
            prev += n_prev - (room - n_hot);
            n_prev = room - n_hot;
        }
        st = ids_push(&prompt, o->hotwords, n_hot);
        if (st == NPG_OK)
            st = ids_push(&prompt, prev, n_prev);
        if (st != NPG_OK)
            break;
        wo.prompt = prompt.n ? prompt.v : NULL;
        wo.n_prompt = prompt.n;
        st = decode_with_fallback(e, tok, o, &wo, scratch, &rng, r, &w);
        if (st != NPG_OK)
            break;
        if (!isnan(o->no_speech_threshold)) {
            bool skip = w.no_speech_prob > o->no_speech_threshold;
            if (!isnan(o->logprob_threshold) && w.avg_logprob > o->logprob_threshold)
                skip = false; /* confident enough despite the no-speech probability */
            if (skip) {
                st = push_window(r, seek, segment_size, &w);
                seek += segment_size;
                continue;
            }
        }
        size_t previous_seek = seek, first_seg = r->n_segments, new_seek = seek;
        bool single_ts_ending = false;
        st = cut_segments(r, tok, t, &w, seek, segment_size, &new_seek, &single_ts_ending);
        if (st != NPG_OK)
            break;
        /* a window always moves the seek forward (OpenAI would loop forever on a zero advance) */
        seek = new_seek > seek ? new_seek : seek + segment_size;
        st = push_window(r, previous_seek, segment_size, &w);
        if (st != NPG_OK)
            break;
        if (o->words) {
            double time_offset = (double)previous_seek * NPG_WHISPER_HOP / NPG_WHISPER_RATE;
            st = o->words(o->words_ctx, &r->windows[r->n_windows - 1], r->segments + first_seg, r->n_segments - first_seg,
                          time_offset);
            if (st != NPG_OK)
                break;
            if (!single_ts_ending && r->n_segments > first_seg) {
                /* get_end: the last word's end, else the last segment's end; seek there */
                double last_end = r->segments[r->n_segments - 1].end;
                for (size_t i = r->n_segments; i-- > first_seg;)
                    if (r->segments[i].n_words) {
                        last_end = r->segments[i].words[r->segments[i].n_words - 1].end;
                        break;
                    }
                if (last_end > time_offset)
                    seek = (size_t)nearbyint(last_end * 100.0);
            }
        }
        /* an instantaneous segment or one without text is emptied */
        for (size_t i = first_seg; i < r->n_segments; i++) {
            npg_whisper_segment *s = &r->segments[i];
            if (s->start == s->end || blank_text(s->text)) {
                s->text[0] = '\0';
                s->n_tokens = 0;
                for (size_t k = 0; k < s->n_words; k++)
                    free(s->words[k].word);
                s->n_words = 0;
            }
            if (st == NPG_OK)
                st = ids_push(&all, s->tokens, s->n_tokens);
        }
        if (st != NPG_OK)
            break;
        if (!o->condition_on_previous_text || r->windows[r->n_windows - 1].w.temperature > 0.5f)
            prompt_reset_since = all.n; /* no prompt after a hot sample */
        if (o->progress)
            o->progress(o->ctx, seek < o->content_frames ? seek : o->content_frames, o->content_frames);
    }
    if (st == NPG_OK && language >= 0) {
        const char *code = npg_whisper_lang_code(t, language);
        snprintf(r->language, sizeof r->language, "%s", code ? code : "");
    }
    if (st == NPG_OK)
        st = npg_whisper_text(tok, t, all.v + n_initial, all.n - n_initial, false, &r->text);
    npg_whisper_window_clear(&w);
    free(all.v);
    free(prompt.v);
    free(mel);
    free(scratch);
    if (st != NPG_OK)
        npg_whisper_transcript_clear(r);
    return st;
}
