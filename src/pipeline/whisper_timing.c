/* whisper_timing.c — OpenAI timing.py (see whisper_timing.h). Python's substring tests (`x in
 * "..."`, true for an empty x) are kept as they are: they decide which words merge. */
#include "pipeline/whisper_timing.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

void npg_whisper_median_filter(float *x, size_t rows, size_t cols, size_t width, float *tmp) {
    size_t pad = width / 2;
    if (cols <= pad)
        return;
    float win[64];
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * cols;
        /* reflect padding: row[-k] = row[k], row[cols-1+k] = row[cols-1-k] */
        for (size_t i = 0; i < cols + 2 * pad; i++) {
            long k = (long)i - (long)pad;
            if (k < 0)
                k = -k;
            if (k >= (long)cols)
                k = 2 * ((long)cols - 1) - k;
            tmp[i] = row[k];
        }
        for (size_t i = 0; i < cols; i++) {
            memcpy(win, tmp + i, width * sizeof *win);
            qsort(win, width, sizeof *win, cmp_float);
            row[i] = win[pad];
        }
    }
}

npg_status npg_whisper_dtw(const double *x, size_t n, size_t m, int32_t **path, size_t *len) {
    *path = NULL;
    *len = 0;
    size_t w = m + 1;
    float *cost = malloc((n + 1) * w * sizeof *cost);
    signed char *trace = malloc((n + 1) * w);
    int32_t *p = malloc(2 * (n + m + 2) * sizeof *p);
    if (!cost || !trace || !p) {
        free(cost);
        free(trace);
        free(p);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for the word-timestamp DTW (%zu x %zu)", n, m);
    }
    for (size_t i = 0; i < (n + 1) * w; i++) {
        cost[i] = INFINITY;
        trace[i] = -1;
    }
    cost[0] = 0.0f;
    for (size_t j = 1; j <= m; j++)
        for (size_t i = 1; i <= n; i++) {
            float c0 = cost[(i - 1) * w + j - 1], c1 = cost[(i - 1) * w + j], c2 = cost[i * w + j - 1], c;
            signed char tr;
            if (c0 < c1 && c0 < c2) {
                c = c0;
                tr = 0;
            } else if (c1 < c0 && c1 < c2) {
                c = c1;
                tr = 1;
            } else {
                c = c2;
                tr = 2;
            }
            cost[i * w + j] = (float)(x[(i - 1) * m + (j - 1)] + (double)c); /* float32 cost, as numpy's */
            trace[i * w + j] = tr;
        }
    for (size_t j = 0; j <= m; j++)
        trace[j] = 2;
    for (size_t i = 0; i <= n; i++)
        trace[i * w] = 1;
    size_t i = n, j = m, k = 0, cap = n + m + 2;
    int32_t *ti = p, *tj = p + cap;
    while ((i > 0 || j > 0) && k < cap) {
        ti[k] = (int32_t)i - 1;
        tj[k] = (int32_t)j - 1;
        k++;
        signed char tr = trace[i * w + j];
        if (tr == 0) {
            i--;
            j--;
        } else if (tr == 1) {
            i--;
        } else {
            j--;
        }
    }
    /* reversed into [2 × k] */
    int32_t *out = malloc(2 * (k ? k : 1) * sizeof *out);
    if (!out) {
        free(cost);
        free(trace);
        free(p);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for the word-timestamp DTW path");
    }
    for (size_t q = 0; q < k; q++) {
        out[q] = ti[k - 1 - q];
        out[k + q] = tj[k - 1 - q];
    }
    free(cost);
    free(trace);
    free(p);
    *path = out;
    *len = k;
    return NPG_OK;
}

static bool has_fffd(const char *s) { return strstr(s, "\xef\xbf\xbd") != NULL; }

/* Python `sub in s` for strings (an empty sub is in every string). */
static bool py_in(const char *sub, const char *s) { return strstr(s, sub) != NULL; }

static char *stripped(const char *s) {
    char *c = strdup(s);
    if (c)
        npg_whisper_strip(c);
    return c;
}

npg_status npg_whisper_split_words(const npg_tokenizer *tok, const npg_whisper_tokens *t, const char *language,
                                   const int32_t *ids, size_t n, char ***words_out, size_t **bounds_out,
                                   size_t *n_out) {
    *words_out = NULL;
    *bounds_out = NULL;
    *n_out = 0;
    char **words = calloc(n + 1, sizeof *words);
    size_t *bounds = calloc(n + 2, sizeof *bounds);
    char *full = NULL;
    npg_status st = words && bounds ? NPG_OK : npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory splitting words");
    if (st == NPG_OK)
        st = npg_tokenizer_decode(tok, ids, n, false, &full);
    /* split_tokens_on_unicode: a piece ends where its text has no incomplete character */
    size_t n_sub = 0, start = 0, offset = 0;
    for (size_t i = 0; st == NPG_OK && i < n; i++) {
        char *dec = NULL;
        st = npg_tokenizer_decode(tok, ids + start, i + 1 - start, false, &dec);
        if (st != NPG_OK)
            break;
        const char *bad = strstr(dec, "\xef\xbf\xbd");
        size_t full_len = strlen(full);
        bool complete = !bad || (offset + (size_t)(bad - dec) + 3 <= full_len &&
                                 memcmp(full + offset + (size_t)(bad - dec), "\xef\xbf\xbd", 3) == 0);
        if (complete) {
            bounds[n_sub] = start;
            words[n_sub++] = dec;
            offset += strlen(dec);
            start = i + 1;
        } else {
            npg_free(dec);
        }
    }
    npg_free(full);
    (void)has_fffd;
    size_t n_words = n_sub;
    bool unicode_only = language && (strcmp(language, "zh") == 0 || strcmp(language, "ja") == 0 ||
                                     strcmp(language, "th") == 0 || strcmp(language, "lo") == 0 ||
                                     strcmp(language, "my") == 0 || strcmp(language, "yue") == 0);
    if (st == NPG_OK && !unicode_only) {
        /* split_tokens_on_spaces: a subword joins the previous word unless special, spaced or punctuation */
        static const char punct[] = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
        n_words = 0;
        for (size_t k = 0; k < n_sub && st == NPG_OK; k++) {
            char *sw = words[k];
            words[k] = NULL;
            char *s = stripped(sw);
            if (!s) {
                npg_free(sw);
                st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory splitting words");
                break;
            }
            bool special = ids[bounds[k]] >= t->eot, spaced = sw[0] == ' ', is_punct = py_in(s, punct);
            free(s);
            if (special || spaced || is_punct || n_words == 0) {
                bounds[n_words] = bounds[k];
                words[n_words++] = sw;
            } else {
                size_t a = strlen(words[n_words - 1]), b = strlen(sw);
                char *joined = realloc(words[n_words - 1], a + b + 1);
                if (!joined) {
                    npg_free(sw);
                    st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory splitting words");
                    break;
                }
                memcpy(joined + a, sw, b + 1);
                words[n_words - 1] = joined;
                npg_free(sw);
            }
        }
    }
    if (st != NPG_OK) {
        for (size_t k = 0; words && k <= n; k++)
            npg_free(words[k]);
        free(words);
        free(bounds);
        return st;
    }
    bounds[n_words] = n;
    *words_out = words;
    *bounds_out = bounds;
    *n_out = n_words;
    return NPG_OK;
}

typedef struct timing {
    char *word;
    size_t n_tokens;
    double start, end, probability;
} timing;

/* merge_punctuations */
static npg_status merge_punctuations(timing *a, size_t n) {
    static const char prepended[] = "\"'\xe2\x80\x9c\xc2\xbf([{-";
    static const char appended[] = "\"'.\xe3\x80\x82,\xef\xbc\x8c!\xef\xbc\x81?\xef\xbc\x9f:\xef\xbc\x9a\xe2\x80\x9d)]}\xe3\x80\x81";
    if (n < 2)
        return NPG_OK;
    for (long i = (long)n - 2, j = (long)n - 1; i >= 0; i--) {
        char *s = stripped(a[i].word);
        NPG_CHECK_ALLOC(s);
        bool merge = a[i].word[0] == ' ' && py_in(s, prepended);
        free(s);
        if (merge) {
            size_t la = strlen(a[i].word), lb = strlen(a[j].word);
            char *w = malloc(la + lb + 1);
            NPG_CHECK_ALLOC(w);
            memcpy(w, a[i].word, la);
            memcpy(w + la, a[j].word, lb + 1);
            free(a[j].word);
            a[j].word = w;
            a[j].n_tokens += a[i].n_tokens;
            a[i].word[0] = '\0';
            a[i].n_tokens = 0;
        } else {
            j = i;
        }
    }
    for (size_t i = 0, j = 1; j < n; j++) {
        size_t la = strlen(a[i].word);
        bool merge = !(la > 0 && a[i].word[la - 1] == ' ') && py_in(a[j].word, appended);
        if (merge) {
            size_t lb = strlen(a[j].word);
            char *w = realloc(a[i].word, la + lb + 1);
            NPG_CHECK_ALLOC(w);
            memcpy(w + la, a[j].word, lb + 1);
            a[i].word = w;
            a[i].n_tokens += a[j].n_tokens;
            a[j].word[0] = '\0';
            a[j].n_tokens = 0;
        } else {
            i = j;
        }
    }
    return NPG_OK;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double round2(double x) { return nearbyint(x * 100.0) / 100.0; }

/* find_alignment: the timings of the words of text[0..n_text) (empty when fewer than one word). */
static npg_status find_alignment(npg_whisper_timing_ctx *c, const npg_whisper_window_log *win, const int32_t *text,
                                 size_t n_text, timing **out, size_t *n_out) {
    const npg_whisper_tokens *t = c->t;
    *out = NULL;
    *n_out = 0;
    /* [*sot_sequence, no_timestamps, *text, eot] */
    size_t s = 0;
    while (s < win->w.n_initial && win->w.initial[s] != t->sot)
        s++;
    size_t n_sot = t->multilingual ? 3 : 1;
    if (s + n_sot > win->w.n_initial)
        return npg_fail(NPG_ERR_INTERNAL, "word timestamps: the window's prompt has no start-of-transcript sequence");
    const char *language = t->multilingual ? npg_whisper_lang_code(t, win->w.initial[s + 1]) : "en";
    size_t N = n_sot + 1 + n_text + 1, nf = win->segment_size / 2, F = 1500, H = c->n_heads;
    if (nf == 0)
        nf = 1;
    if (nf > F)
        nf = F;
    int32_t *seq = malloc(N * sizeof *seq);
    float *W = malloc(H * N * F * sizeof *W), *probs = malloc((n_text + 1) * sizeof *probs);
    float *tmp = malloc((F + 16) * sizeof *tmp);
    double *matrix = malloc((n_text + 1) * nf * sizeof *matrix);
    int32_t *path = NULL;
    size_t path_len = 0, n_words = 0, *bounds = NULL;
    char **words = NULL;
    timing *tm = NULL;
    npg_status st = seq && W && probs && tmp && matrix ? NPG_OK
                                                       : npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for word timestamps");
    if (st == NPG_OK) {
        memcpy(seq, win->w.initial + s, n_sot * sizeof *seq);
        seq[n_sot] = t->no_timestamps;
        memcpy(seq + n_sot + 1, text, n_text * sizeof *seq);
        seq[N - 1] = t->eot;
        st = c->align(c->e, seq, N, W);
    }
    /* text token probabilities: softmax over the ids before end-of-text, one position per text id */
    float *logits = NULL;
    if (st == NPG_OK)
        st = c->e->ops->prefill(c->e, seq, n_sot + 1, 0, &logits);
    for (size_t k = 0; st == NPG_OK && k < n_text; k++) {
        probs[k] = (float)npg_whisper_prob(logits, (size_t)t->eot, text[k]);
        if (k + 1 < n_text)
            st = c->e->ops->decode(c->e, text[k], n_sot + 1 + k, &logits);
    }
    if (st == NPG_OK) {
        /* softmax over the content frames only: renormalise the model's 1500-frame softmax */
        for (size_t h = 0; h < H; h++)
            for (size_t i = 0; i < N; i++) {
                float *row = W + (h * N + i) * F;
                double sum = 0.0;
                for (size_t j = 0; j < nf; j++)
                    sum += (double)row[j];
                for (size_t j = 0; j < nf; j++)
                    row[j] = sum > 0.0 ? (float)((double)row[j] / sum) : 0.0f;
            }
        /* standardise each frame across tokens (population std), then the median filter */
        for (size_t h = 0; h < H; h++) {
            for (size_t j = 0; j < nf; j++) {
                double mean = 0.0, var = 0.0;
                for (size_t i = 0; i < N; i++)
                    mean += (double)W[(h * N + i) * F + j];
                mean /= (double)N;
                for (size_t i = 0; i < N; i++) {
                    double d = (double)W[(h * N + i) * F + j] - mean;
                    var += d * d;
                }
                double sd = sqrt(var / (double)N);
                for (size_t i = 0; i < N; i++)
                    W[(h * N + i) * F + j] = (float)(((double)W[(h * N + i) * F + j] - mean) / sd);
            }
            for (size_t i = 0; i < N; i++)
                npg_whisper_median_filter(W + (h * N + i) * F, 1, nf, 7, tmp);
        }
        /* mean over heads, rows of no_timestamps and the text ids; DTW on the negation */
        for (size_t i = 0; i < n_text + 1; i++)
            for (size_t j = 0; j < nf; j++) {
                double m = 0.0;
                for (size_t h = 0; h < H; h++)
                    m += (double)W[(h * N + n_sot + i) * F + j];
                matrix[i * nf + j] = -(m / (double)H);
            }
        st = npg_whisper_dtw(matrix, n_text + 1, nf, &path, &path_len);
    }
    if (st == NPG_OK) {
        memcpy(seq, text, n_text * sizeof *seq);
        seq[n_text] = t->eot;
        st = npg_whisper_split_words(c->tok, t, language, seq, n_text + 1, &words, &bounds, &n_words);
    }
    if (st == NPG_OK && n_words > 1) {
        /* jump_times: the time index where the text index changes, per text row */
        double *jump = malloc((path_len + 1) * sizeof *jump);
        tm = calloc(n_words, sizeof *tm);
        size_t n_jump = 0;
        if (!jump || !tm) {
            st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for word timestamps");
        } else {
            for (size_t k = 0; k < path_len; k++)
                if (k == 0 || path[k] != path[k - 1])
                    jump[n_jump++] = (double)path[path_len + k] / 50.0;
            for (size_t w = 0; w + 1 < n_words; w++) {
                size_t a = bounds[w], b = bounds[w + 1];
                tm[w].word = words[w];
                words[w] = NULL;
                tm[w].n_tokens = b - a;
                tm[w].start = a < n_jump ? jump[a] : 0.0;
                tm[w].end = b < n_jump ? jump[b] : tm[w].start;
                double sum = 0.0;
                for (size_t k = a; k < b && k < n_text; k++)
                    sum += (double)probs[k];
                tm[w].probability = b > a ? sum / (double)(b - a) : (double)NAN;
            }
            *out = tm;
            *n_out = n_words - 1;
            tm = NULL;
        }
        free(jump);
    }
    for (size_t w = 0; words && w < n_words; w++)
        npg_free(words[w]);
    free(words);
    free(bounds);
    free(tm);
    free(path);
    free(seq);
    free(W);
    free(probs);
    free(tmp);
    free(matrix);
    return st;
}

npg_status npg_whisper_add_word_timestamps(void *ctx, const npg_whisper_window_log *win, npg_whisper_segment *segs,
                                           size_t n_segs, double time_offset) {
    npg_whisper_timing_ctx *c = ctx;
    const npg_whisper_tokens *t = c->t;
    if (!c->align || c->n_heads == 0)
        return npg_fail(NPG_ERR_UNSUPPORTED, "word timestamps: the model gives no alignment heads' cross-attention "
                        "on device %s", c->e->ops->device);
    for (size_t i = 0; i < n_segs; i++) {
        segs[i].words = calloc(1, sizeof *segs[i].words); /* "words": [] even when empty */
        NPG_CHECK_ALLOC(segs[i].words);
        segs[i].n_words = 0;
    }
    if (n_segs == 0)
        return NPG_OK;
    size_t n_text = 0;
    for (size_t i = 0; i < n_segs; i++)
        for (size_t k = 0; k < segs[i].n_tokens; k++)
            n_text += segs[i].tokens[k] < t->eot;
    int32_t *text = malloc((n_text ? n_text : 1) * sizeof *text);
    NPG_CHECK_ALLOC(text);
    n_text = 0;
    for (size_t i = 0; i < n_segs; i++)
        for (size_t k = 0; k < segs[i].n_tokens; k++)
            if (segs[i].tokens[k] < t->eot)
                text[n_text++] = segs[i].tokens[k];
    timing *al = NULL;
    size_t n_al = 0;
    npg_status st = n_text ? find_alignment(c, win, text, n_text, &al, &n_al) : NPG_OK;
    free(text);
    if (st != NPG_OK)
        return st;
    /* median word duration (nonzero durations), capped at 0.7 s */
    double *dur = malloc((n_al ? n_al : 1) * sizeof *dur), median = 0.0;
    if (!dur) {
        for (size_t i = 0; i < n_al; i++)
            free(al[i].word);
        free(al);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for word timestamps");
    }
    size_t n_dur = 0;
    for (size_t i = 0; i < n_al; i++)
        if (al[i].end - al[i].start != 0.0)
            dur[n_dur++] = al[i].end - al[i].start;
    if (n_dur) {
        qsort(dur, n_dur, sizeof *dur, cmp_double);
        median = n_dur % 2 ? dur[n_dur / 2] : (dur[n_dur / 2 - 1] + dur[n_dur / 2]) / 2.0;
    }
    free(dur);
    median = median < 0.7 ? median : 0.7;
    double max_duration = median * 2;
    if (n_dur) { /* words at sentence boundaries are no longer than twice the median */
        static const char marks[] = ".\xe3\x80\x82!\xef\xbc\x81?\xef\xbc\x9f";
        for (size_t i = 1; i < n_al; i++)
            if (al[i].end - al[i].start > max_duration) {
                if (py_in(al[i].word, marks))
                    al[i].end = al[i].start + max_duration;
                else if (py_in(al[i - 1].word, marks))
                    al[i].start = al[i].end - max_duration;
            }
    }
    st = merge_punctuations(al, n_al);
    size_t wi = 0;
    for (size_t si = 0; st == NPG_OK && si < n_segs; si++) {
        npg_whisper_segment *seg = &segs[si];
        size_t seg_text = 0, saved = 0;
        for (size_t k = 0; k < seg->n_tokens; k++)
            seg_text += seg->tokens[k] < t->eot;
        npg_whisper_word_t *words = realloc(seg->words, (n_al + 1) * sizeof *words);
        if (!words) {
            st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for word timestamps");
            break;
        }
        seg->words = words;
        size_t nw = 0;
        while (wi < n_al && saved < seg_text) {
            timing *tmg = &al[wi];
            if (tmg->word[0]) {
                words[nw].word = tmg->word;
                tmg->word = NULL;
                words[nw].start = round2(time_offset + tmg->start);
                words[nw].end = round2(time_offset + tmg->end);
                words[nw].probability = tmg->probability;
                nw++;
            }
            saved += tmg->n_tokens;
            wi++;
        }
        seg->n_words = nw;
        if (nw == 0)
            continue;
        /* the first and second word after a pause are no longer than twice the median */
        double lst = c->last_speech_timestamp;
        if (words[0].end - lst > median * 4 &&
            (words[0].end - words[0].start > max_duration || (nw > 1 && words[1].end - words[0].start > max_duration * 2))) {
            if (nw > 1 && words[1].end - words[1].start > max_duration) {
                double boundary = fmax(words[1].end / 2, words[1].end - max_duration);
                words[0].end = words[1].start = boundary;
            }
            words[0].start = fmax(0.0, words[0].end - max_duration);
        }
        /* the segment's own timestamps win over a too-long first or last word */
        if (seg->start < words[0].end && seg->start - 0.5 > words[0].start)
            words[0].start = fmax(0.0, fmin(words[0].end - median, seg->start));
        else
            seg->start = words[0].start;
        if (seg->end > words[nw - 1].start && seg->end + 0.5 < words[nw - 1].end)
            words[nw - 1].end = fmax(words[nw - 1].start + median, seg->end);
        else
            seg->end = words[nw - 1].end;
        c->last_speech_timestamp = seg->end;
    }
    for (size_t i = 0; i < n_al; i++)
        free(al[i].word);
    free(al);
    return st;
}
