/* whisper_run.c — one generate call: options resolved against the tokenizer, the audio's log-mel per
 * window, the transcribe loop, timings. Nothing survives the call (a pipeline holds no state). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/timer.h"
#include "pipeline/whisper_pipeline.h"
#include "models/whisper.h"
#include "pipeline/whisper_timing.h"

/* The audio's windows: a clip of at most 30 s is one window computed as OpenAI's decode() and the
 * Hugging Face feature extractor do (log-mel of the audio zero-padded to 30 s); longer audio is
 * sliced from the log-mel of audio + 30 s of zeros, each slice zero-padded in the mel domain
 * (transcribe.py). */
typedef struct mel_src {
    const float *samples;
    const npg_mel_config *mc;
    size_t n, n_mels, content_frames;
    float *first; /* [n_mels × 3000] log_mel(pad_or_trim(audio)) */
    float *full;  /* [n_mels × n_full] log_mel(audio, padding=480000) */
    size_t n_full;
    const npg_whisper_generation_config *c;
} mel_src;

static npg_status window_mel(void *ctx, size_t seek, size_t segment_size, float *out) {
    mel_src *m = ctx;
    const size_t F = NPG_WHISPER_N_FRAMES;
    if (seek == 0 && m->content_frames <= F) {
        if (!m->first)
            NPG_TRY(npg_log_mel_window(m->mc, m->samples, m->n, &m->first));
        memcpy(out, m->first, m->n_mels * F * sizeof *out);
        return NPG_OK;
    }
    if (!m->full)
        NPG_TRY(npg_log_mel(m->mc, m->samples, m->n, m->mc->n_samples, &m->full, &m->n_full));
    for (size_t b = 0; b < m->n_mels; b++) {
        float *row = out + b * F;
        size_t avail = seek < m->n_full ? m->n_full - seek : 0;
        size_t take = segment_size < avail ? segment_size : avail;
        memcpy(row, m->full + b * m->n_full + seek, take * sizeof *row);
        memset(row + take, 0, (F - take) * sizeof *row);
    }
    return NPG_OK;
}

static void progress(void *ctx, size_t done, size_t total) {
    mel_src *m = ctx;
    if (m->c->progress)
        m->c->progress(m->c->progress_user, (double)done * NPG_WHISPER_HOP / NPG_WHISPER_RATE,
                       (double)total * NPG_WHISPER_HOP / NPG_WHISPER_RATE);
}

/* encode(" " + text.strip()) */
static npg_status prompt_ids(const npg_tokenizer *tok, const char *text, int32_t **ids, size_t *n) {
    *ids = NULL;
    *n = 0;
    if (!text)
        return NPG_OK;
    size_t len = strlen(text);
    char *s = malloc(len + 2);
    NPG_CHECK_ALLOC(s);
    s[0] = ' ';
    memcpy(s + 1, text, len + 1);
    npg_whisper_strip(s + 1);
    npg_status st = npg_tokenizer_encode(tok, s, false, ids, n);
    free(s);
    return st;
}

npg_status npg_whisper_run(npg_engine *e, const npg_tokenizer *tok, const npg_whisper_tokens *t,
                           const npg_mel_config *mc, size_t n_text_ctx, size_t n_align, const float *samples, size_t n,
                           const npg_whisper_generation_config *cfg, npg_whisper_results **out) {
    size_t n_mels = mc->n_mels;
    if (!samples || n == 0 || !out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "whisper generate: %s", !out ? "results is NULL" : "no audio samples");
    *out = NULL;
    double t_start = npg_now_ms();
    npg_whisper_generation_config *defaults = NULL;
    if (!cfg) {
        NPG_TRY(npg_whisper_generation_config_create(&defaults));
        cfg = defaults;
    }
    npg_whisper_transcribe_opts o = {
        .t = t, .language = -1, .translate = cfg->translate, .timestamps = cfg->timestamps,
        .sample_len = cfg->sample_len ? cfg->sample_len : n_text_ctx / 2, .n_text_ctx = n_text_ctx,
        .suppress_blank = cfg->suppress_blank, .condition_on_previous_text = cfg->condition_on_previous_text,
        .temperatures = cfg->temperatures, .n_temperatures = cfg->n_temperatures,
        .compression_ratio_threshold = (double)cfg->compression_ratio_threshold,
        .logprob_threshold = (double)cfg->logprob_threshold, .no_speech_threshold = (double)cfg->no_speech_threshold,
        .seed = cfg->seed, .n_mels = n_mels, .content_frames = n / NPG_WHISPER_HOP, .mel = window_mel,
        .progress = progress,
    };
    /* max_initial_timestamp_index = round(max_initial_timestamp / 0.02) when max_initial_timestamp */
    o.max_initial_timestamp_index = cfg->max_initial_timestamp > 0.0f
                                        ? (int)nearbyint((double)cfg->max_initial_timestamp / 0.02) : -1;
    npg_status st = NPG_OK;
    if (cfg->language) {
        o.language = npg_whisper_lang_token(t, cfg->language);
        if (o.language < 0)
            st = npg_fail(NPG_ERR_INVALID_ARGUMENT, "language \"%s\": not one of the model's %zu languages",
                          cfg->language, t->n_langs);
    } else if (!t->multilingual) {
        o.language = t->n_langs ? t->lang_ids[0] : -1; /* English-only: no language token is fed */
    }
    if (o.content_frames == 0 && st == NPG_OK)
        st = npg_fail(NPG_ERR_INVALID_ARGUMENT, "whisper generate: %zu samples is less than one 10 ms frame", n);
    int32_t *sup = NULL, *initial = NULL, *hot = NULL;
    size_t n_sup = 0, n_initial = 0, n_hot = 0;
    if (st == NPG_OK && !(cfg->suppress_tokens && cfg->suppress_tokens[0] == '\0'))
        st = npg_whisper_suppress_set(t, cfg->suppress_tokens, &sup, &n_sup);
    if (st == NPG_OK)
        st = prompt_ids(tok, cfg->initial_prompt, &initial, &n_initial);
    if (st == NPG_OK)
        st = prompt_ids(tok, cfg->hotwords, &hot, &n_hot);
    mel_src m = {.samples = samples, .mc = mc, .n = n, .n_mels = n_mels, .content_frames = o.content_frames, .c = cfg};
    o.ctx = &m;
    o.suppress = sup;
    o.n_suppress = n_sup;
    o.initial_prompt = initial;
    o.n_initial_prompt = n_initial;
    o.hotwords = hot;
    o.n_hotwords = n_hot;
    npg_whisper_results *r = NULL;
    if (st == NPG_OK) {
        r = calloc(1, sizeof *r);
        if (!r)
            st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for whisper results");
    }
    npg_whisper_timing_ctx words = {.e = e, .tok = tok, .t = t, .mel = &m, .window_mel = window_mel,
                                    .align = n_align ? npg_whisper_alignment_weights : NULL, .n_heads = n_align};
    if (st == NPG_OK && cfg->word_timestamps) {
        o.words = npg_whisper_add_word_timestamps;
        o.words_ctx = &words;
    }
    if (st == NPG_OK)
        st = npg_whisper_transcribe(e, tok, &o, &r->tr);
    if (st == NPG_OK) {
        npg_whisper_perf *p = &r->perf;
        p->features_ms = r->tr.mel_ms;
        p->encode_ms = r->tr.encode_ms;
        p->decode_ms = r->tr.decode_ms;
        p->n_windows = r->tr.n_encodes;
        p->n_decoded_tokens = r->tr.n_decoded;
        p->total_ms = npg_now_ms() - t_start;
        p->audio_s = (double)n / NPG_WHISPER_RATE;
        p->rtf = p->total_ms / 1000.0 / p->audio_s;
        *out = r;
        r = NULL;
    }
    npg_whisper_results_free(r);
    npg_free(m.first);
    npg_free(m.full);
    free(sup);
    npg_free(initial);
    npg_free(hot);
    npg_whisper_generation_config_free(defaults);
    return st;
}
