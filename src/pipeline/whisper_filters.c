/* whisper_filters.c — decoding.py's SuppressBlank, SuppressTokens and ApplyTimestampRules. */
#include "pipeline/whisper_filters.h"

#include <math.h>

static void mask_range(float *logits, size_t from, size_t to) {
    for (size_t i = from; i < to; i++)
        logits[i] = -INFINITY;
}

/* ApplyTimestampRules.apply for one sequence. */
static void timestamp_rules(const npg_whisper_filters *f, float *logits, const int32_t *seq, size_t n) {
    const npg_whisper_tokens *t = f->t;
    size_t vocab = t->vocab, tb = (size_t)t->timestamp_begin, eot = (size_t)t->eot;
    if (t->no_timestamps >= 0)
        logits[t->no_timestamps] = -INFINITY;
    /* timestamps come in pairs, except directly before end-of-text */
    bool last_ts = n >= 1 && seq[n - 1] >= t->timestamp_begin;
    bool penult_ts = n < 2 || seq[n - 2] >= t->timestamp_begin;
    if (last_ts) {
        if (penult_ts)
            mask_range(logits, tb, vocab); /* has to be non-timestamp */
        else
            mask_range(logits, 0, eot); /* cannot be normal text */
    }
    /* timestamps never decrease; after a closed pair the next one must be strictly later */
    int32_t ts_last = -1;
    for (size_t i = n; i-- > 0;)
        if (seq[i] >= t->timestamp_begin) {
            ts_last = seq[i];
            break;
        }
    if (ts_last >= 0) {
        size_t upto = last_ts && !penult_ts ? (size_t)ts_last : (size_t)ts_last + 1;
        mask_range(logits, tb, upto < vocab ? upto : vocab);
    }
    if (n == 0) {
        /* the first sampled token is a timestamp, not later than max_initial_timestamp */
        mask_range(logits, 0, tb);
        if (f->max_initial_timestamp_index >= 0) {
            size_t last_allowed = tb + (size_t)f->max_initial_timestamp_index;
            if (last_allowed + 1 < vocab)
                mask_range(logits, last_allowed + 1, vocab);
        }
    }
    /* when the timestamps together are likelier than any single text token, sample a timestamp */
    float ts_max = -INFINITY;
    for (size_t i = tb; i < vocab; i++)
        if (logits[i] > ts_max)
            ts_max = logits[i];
    float text_max = -INFINITY;
    for (size_t i = 0; i < tb; i++)
        if (logits[i] > text_max)
            text_max = logits[i];
    if (ts_max == -INFINITY)
        return;
    double s = 0.0;
    for (size_t i = tb; i < vocab; i++)
        s += exp((double)logits[i] - (double)ts_max);
    double ts_lse = (double)ts_max + log(s);
    /* log-probabilities share the normaliser, so comparing logits decides the same */
    if (ts_lse > (double)text_max)
        mask_range(logits, 0, tb);
}

void npg_whisper_filters_apply(const npg_whisper_filters *f, float *logits, const int32_t *sampled, size_t n_sampled) {
    const npg_whisper_tokens *t = f->t;
    if (f->suppress_blank && n_sampled == 0) {
        if (t->space >= 0)
            logits[t->space] = -INFINITY;
        logits[t->eot] = -INFINITY;
    }
    for (size_t i = 0; i < f->n_suppress; i++)
        if (f->suppress[i] >= 0 && (size_t)f->suppress[i] < t->vocab)
            logits[f->suppress[i]] = -INFINITY;
    if (f->timestamps)
        timestamp_rules(f, logits, sampled, n_sampled);
}

int32_t npg_whisper_argmax(const float *logits, size_t n) {
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (logits[i] > logits[best])
            best = i;
    return (int32_t)best;
}

static double log_sum_exp(const float *logits, size_t n) {
    float m = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (logits[i] > m)
            m = logits[i];
    if (m == -INFINITY)
        return (double)m;
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += exp((double)logits[i] - (double)m);
    return (double)m + log(s);
}

double npg_whisper_logprob(const float *logits, size_t n, int32_t id) {
    return (double)logits[id] - log_sum_exp(logits, n);
}

double npg_whisper_prob(const float *logits, size_t n, int32_t id) {
    return exp(npg_whisper_logprob(logits, n, id));
}

size_t npg_whisper_detect_language(const npg_whisper_tokens *t, const float *logits, float *probs) {
    size_t best = 0;
    float m = -INFINITY;
    for (size_t i = 0; i < t->n_langs; i++)
        if (logits[t->lang_ids[i]] > m) {
            m = logits[t->lang_ids[i]];
            best = i;
        }
    if (probs) {
        double s = 0.0;
        for (size_t i = 0; i < t->n_langs; i++)
            s += exp((double)logits[t->lang_ids[i]] - (double)m);
        for (size_t i = 0; i < t->n_langs; i++)
            probs[i] = (float)(exp((double)logits[t->lang_ids[i]] - (double)m) / s);
    }
    return best;
}
