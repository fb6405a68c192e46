/* whisper_decode.c — decoding.py's DecodingTask for one window: initial tokens, no-speech probability
 * at <|startoftranscript|>, the filtered greedy (or temperature) loop with its log-probabilities,
 * sample_len and the n_text_ctx bound, and the result's text and compression ratio. */
#include "pipeline/whisper_decode.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/error.h"

void npg_whisper_window_clear(npg_whisper_window *w) {
    if (!w)
        return;
    free(w->initial);
    free(w->tokens);
    npg_free(w->text);
    memset(w, 0, sizeof *w);
}

static size_t ws_len(const unsigned char *p) {
    /* Python's str.isspace set: ASCII \t\n\v\f\r, \x1c-\x1f, space; U+0085, U+00A0, U+1680,
     * U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000 */
    if (*p == ' ' || (*p >= 0x09 && *p <= 0x0d) || (*p >= 0x1c && *p <= 0x1f))
        return 1;
    if (p[0] == 0xc2 && (p[1] == 0x85 || p[1] == 0xa0))
        return 2;
    if (p[0] == 0xe1 && p[1] == 0x9a && p[2] == 0x80)
        return 3;
    if (p[0] == 0xe2 && p[1] == 0x80 && ((p[2] >= 0x80 && p[2] <= 0x8a) || p[2] == 0xa8 || p[2] == 0xa9 || p[2] == 0xaf))
        return 3;
    if (p[0] == 0xe2 && p[1] == 0x81 && p[2] == 0x9f)
        return 3;
    if (p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80)
        return 3;
    return 0;
}

void npg_whisper_strip(char *s) {
    unsigned char *p = (unsigned char *)s;
    size_t len = strlen(s), start = 0, k;
    while (start < len && (k = ws_len(p + start)) > 0)
        start += k;
    /* trailing: scan forward remembering where the last non-space ended */
    size_t end = start, i = start;
    while (i < len) {
        k = ws_len(p + i);
        if (k) {
            i += k;
        } else {
            i++;
            while (i < len && (p[i] & 0xc0) == 0x80)
                i++;
            end = i;
        }
    }
    memmove(s, s + start, end - start);
    s[end - start] = '\0';
}

double npg_whisper_compression_ratio(const char *text) {
    size_t n = strlen(text);
    uLongf cap = compressBound((uLong)n);
    unsigned char *buf = malloc(cap ? cap : 1);
    if (!buf)
        return 0.0;
    uLongf out = cap;
    int rc = compress2(buf, &out, (const Bytef *)text, (uLong)n, Z_DEFAULT_COMPRESSION);
    free(buf);
    return rc == Z_OK && out > 0 ? (double)n / (double)out : 0.0;
}

npg_status npg_whisper_text(const npg_tokenizer *tok, const npg_whisper_tokens *t, const int32_t *ids, size_t n,
                            bool only_text_tokens, char **out) {
    *out = NULL;
    int32_t *keep = malloc((n ? n : 1) * sizeof *keep);
    NPG_CHECK_ALLOC(keep);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (ids[i] < (only_text_tokens ? t->eot : t->timestamp_begin))
            keep[m++] = ids[i];
    npg_status st = npg_tokenizer_decode(tok, keep, m, false, out);
    free(keep);
    return st;
}

npg_status npg_whisper_sot_logits(npg_engine *e, const npg_whisper_tokens *t, float *out) {
    float *logits = NULL;
    NPG_TRY(e->ops->prefill(e, &t->sot, 1, 0, &logits));
    memcpy(out, logits, t->vocab * sizeof *out);
    return NPG_OK;
}

static uint64_t next_u64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Categorical(logits / temperature).sample() */
static int32_t sample(const float *logits, size_t n, float temperature, uint64_t *rng) {
    float m = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (logits[i] > m)
            m = logits[i];
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += exp(((double)logits[i] - (double)m) / (double)temperature);
    double u = (double)(next_u64(rng) >> 11) * 0x1.0p-53 * s, acc = 0.0;
    int32_t last = npg_whisper_argmax(logits, n);
    for (size_t i = 0; i < n; i++) {
        if (logits[i] == -INFINITY)
            continue;
        acc += exp(((double)logits[i] - (double)m) / (double)temperature);
        if (u < acc)
            return (int32_t)i;
        last = (int32_t)i;
    }
    return last;
}

static npg_status build_initial(const npg_whisper_window_opts *o, npg_whisper_window *w, size_t *sot_index) {
    const npg_whisper_tokens *t = o->t;
    size_t keep = o->n_prompt;
    size_t max_prev = o->n_text_ctx / 2 - 1; /* prompt_tokens[-(n_ctx // 2 - 1):] */
    if (keep > max_prev)
        keep = max_prev;
    w->initial = malloc((keep + 5) * sizeof *w->initial);
    NPG_CHECK_ALLOC(w->initial);
    size_t n = 0;
    if (o->prompt && o->n_prompt) {
        w->initial[n++] = t->sot_prev;
        memcpy(w->initial + n, o->prompt + (o->n_prompt - keep), keep * sizeof *w->initial);
        n += keep;
    }
    *sot_index = n;
    w->initial[n++] = t->sot;
    if (t->multilingual) {
        w->initial[n++] = o->language;
        w->initial[n++] = o->translate ? t->translate : t->transcribe;
    }
    if (!o->timestamps)
        w->initial[n++] = t->no_timestamps;
    w->n_initial = n;
    return NPG_OK;
}

npg_status npg_whisper_decode_window(npg_engine *e, const npg_tokenizer *tok, const npg_whisper_window_opts *o,
                                     float *scratch, npg_whisper_window *w) {
    const npg_whisper_tokens *t = o->t;
    memset(w, 0, sizeof *w);
    w->temperature = o->temperature;
    size_t sot_index = 0;
    npg_status st = build_initial(o, w, &sot_index);
    if (st != NPG_OK)
        return st;
    size_t sample_begin = w->n_initial;
    if (sample_begin >= o->n_text_ctx) {
        npg_whisper_window_clear(w);
        return npg_fail(NPG_ERR_LIMIT, "whisper prompt of %zu ids does not fit the decoder's %zu positions", sample_begin,
                        o->n_text_ctx);
    }
    w->tokens = malloc((o->sample_len + 1) * sizeof *w->tokens);
    if (!w->tokens) {
        npg_whisper_window_clear(w);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for the whisper window");
    }
    npg_whisper_filters f = o->filters;
    f.t = t;
    f.timestamps = o->timestamps;
    float *logits = NULL;
    /* two prefills so the no-speech probability comes from the raw logits at <|startoftranscript|> */
    st = e->ops->prefill(e, w->initial, sot_index + 1, 0, &logits);
    if (st == NPG_OK) {
        w->no_speech_prob = t->no_speech >= 0 ? npg_whisper_prob(logits, t->vocab, t->no_speech) : (double)NAN;
        st = e->ops->prefill(e, w->initial + sot_index + 1, w->n_initial - sot_index - 1, sot_index + 1, &logits);
    }
    size_t n = 0;
    for (size_t i = 0; st == NPG_OK && i < o->sample_len; i++) {
        memcpy(scratch, logits, t->vocab * sizeof *scratch);
        npg_whisper_filters_apply(&f, scratch, w->tokens, n);
        int32_t id = o->temperature > 0.0f && o->rng ? sample(scratch, t->vocab, o->temperature, o->rng)
                                                     : npg_whisper_argmax(scratch, t->vocab);
        w->sum_logprob += npg_whisper_logprob(scratch, t->vocab, id);
        w->tokens[n++] = id;
        if (id == t->eot) {
            w->eot = true;
            break;
        }
        if (sample_begin + n > o->n_text_ctx)
            break; /* tokens.shape[-1] > n_ctx */
        if (i + 1 < o->sample_len)
            st = e->ops->decode(e, id, sample_begin + n - 1, &logits);
    }
    if (st != NPG_OK) {
        npg_whisper_window_clear(w);
        return st;
    }
    w->n_tokens = w->eot ? n - 1 : n;
    w->avg_logprob = w->sum_logprob / (double)(w->n_tokens + 1);
    st = npg_whisper_text(tok, t, w->tokens, w->n_tokens, false, &w->text);
    if (st != NPG_OK) {
        npg_whisper_window_clear(w);
        return st;
    }
    npg_whisper_strip(w->text);
    w->compression_ratio = npg_whisper_compression_ratio(w->text);
    return NPG_OK;
}
